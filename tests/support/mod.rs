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
    spawn_app, spawn_app_with, spawn_durable, spawn_process, spawn_process_with, temp_dir,
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
