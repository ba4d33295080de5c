//! What both test binaries share: a typed client for the HTTP API
//! (`TestApp`), a typed websocket client (`Ws`), and the two ways to start
//! a server for a test: in this process (`spawn_app`) or as the real binary
//! (`spawn_process`), for what only a process can show. Set `TEST_LOG=1`
//! to see the server's log.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod server;
pub mod ws;

pub use app::{Reply, Session, TestApp};
pub use server::{
    spawn_app, spawn_app_durable, spawn_app_with, spawn_durable, spawn_process, spawn_process_with,
    temp_dir,
};
pub use ws::{close_code, Event, Ws, WAIT};

use reqwest::StatusCode;
use serde_json::{json, Value};

/// A `single` question spec.
pub fn single(prompt: &str, options: &[&str]) -> Value {
    json!({"kind": "single", "prompt": prompt, "options": options})
}

/// The counts of a tally.
pub fn counts(v: &Value) -> Vec<u64> {
    v["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect()
}

/// The error code of an error body.
pub fn error_code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {v}"))
}

/// Asserts that an HTTP answer is the contract's error `code` with `status`.
#[track_caller]
pub fn assert_error(reply: Reply, status: StatusCode, code: &str) {
    let (got, body) = reply;
    assert_eq!(
        (got, body["error"]["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
}

/// The ids of the questions in a welcome, in order.
pub fn question_ids(welcome: &Value) -> Vec<String> {
    welcome["session"]["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The texts of an `open` tally's entries, in the tally's order.
pub fn entry_texts(t: &Value) -> Vec<String> {
    t["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect()
}

/// The five kinds of `five_kind_ballots`, as a session's `questions`.
pub fn five_kind_questions() -> Value {
    serde_json::json!([
        {"kind": "multiple", "prompt": "Which?", "options": ["a", "b", "c"], "max_choices": 2},
        {"kind": "scale", "prompt": "How much?", "min": 0, "max": 4},
        {"kind": "wordcloud", "prompt": "Words?", "max_words": 2},
        {"kind": "open", "prompt": "Say it"},
        {"kind": "ranking", "prompt": "Rank", "options": ["x", "y", "z"]}
    ])
}

/// Three phones' ballots for the five kinds of `assert_five_kind_tallies`
/// (multiple of a, b, c with 2 choices; scale 0–4; wordcloud of 2 words;
/// open; ranking of x, y, z), one array per phone, in question order.
pub fn five_kind_ballots() -> [[Value; 5]; 3] {
    [
        [
            json!([0, 2]),
            json!(4),
            json!(["Éducation", "trust"]),
            json!("first"),
            json!([2, 0, 1]),
        ],
        [
            json!([2]),
            json!(1),
            json!(["e\u{301}ducation  ", "TRUST"]),
            json!("second"),
            json!([2, 1, 0]),
        ],
        [
            json!([0, 1]),
            json!(4),
            json!(["ÉDUCATION"]),
            json!("third"),
            json!([0, 2, 1]),
        ],
    ]
}

/// Waits for the moderator to see the tallies `five_kind_ballots` add up to,
/// and checks each as the contract says.
pub async fn assert_five_kind_tallies(moderator: &mut Ws, ids: &[String]) {
    let t = moderator.tally_where(&ids[0], |t| t["voters"] == 3).await;
    assert_eq!(counts(&t), vec![2, 1, 2]);
    let t = moderator.tally_where(&ids[1], |t| t["voters"] == 3).await;
    assert_eq!(counts(&t), vec![0, 1, 0, 0, 2]);
    assert_eq!(t["mean"].as_f64().unwrap(), 3.0);
    let t = moderator.tally_where(&ids[2], |t| t["voters"] == 3).await;
    // Three spellings of one word, NFC and case folded; ties show the first in order.
    assert_eq!(t["words"][0]["count"], 3);
    assert_eq!(t["words"][0]["text"], "ÉDUCATION", "shown composed (NFC)");
    assert_eq!(t["words"][1], json!({"text": "TRUST", "count": 2}));
    let t = moderator.tally_where(&ids[3], |t| t["voters"] == 3).await;
    assert_eq!(
        entry_texts(&t),
        ["third", "second", "first"],
        "newest first"
    );
    let t = moderator.tally_where(&ids[4], |t| t["voters"] == 3).await;
    assert_eq!(t["scores"], json!([3, 1, 5]));
}
