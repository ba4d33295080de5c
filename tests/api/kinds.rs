//! Every question kind, voted over the socket, with the contract's checks.

use crate::support::*;
use serde_json::{json, Value};

async fn open_questions(app: &TestApp, specs: Value) -> (Session, Vec<String>, Ws) {
    let s = app
        .create_session(json!({"title": "Kinds", "questions": specs}))
        .await;
    let (mut moderator, w) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let ids = question_ids(&w);
    for id in &ids {
        assert_eq!(moderator.act("open", id).await["type"], "ack");
    }
    (s, ids, moderator)
}

#[tokio::test]
async fn each_kind_tallies_as_the_contract_says() {
    let app = spawn_app();
    let (s, ids, mut moderator) = open_questions(
        &app,
        json!([
            {"kind": "multiple", "prompt": "Which?", "options": ["a", "b", "c"], "max_choices": 2},
            {"kind": "scale", "prompt": "How much?", "min": 0, "max": 4, "min_label": "none", "max_label": "all"},
            {"kind": "wordcloud", "prompt": "Words?", "max_words": 2},
            {"kind": "open", "prompt": "Say it"},
            {"kind": "ranking", "prompt": "Rank", "options": ["x", "y", "z"]}
        ]),
    )
    .await;
    for ballot in five_kind_ballots() {
        let (mut phone, _) = app.join(&s.code, "audience", None).await;
        for (id, c) in ids.iter().zip(ballot) {
            assert_eq!(phone.vote(id, c).await["type"], "ack");
        }
    }
    assert_five_kind_tallies(&mut moderator, &ids).await;

    // The moderator hides an open answer: it leaves every view and the tally.
    let open_t = app.results(&s).await["questions"][3]["tally"].clone();
    let second = open_t["entries"][1]["id"].as_str().unwrap().to_owned();
    let ack = moderator
        .call(json!({"type": "hide_entry", "question_id": ids[3], "entry_id": second}))
        .await;
    assert_eq!(ack["type"], "ack");
    let t = moderator.tally_where(&ids[3], |t| t["voters"] == 2).await;
    assert_eq!(entry_texts(&t), ["third", "first"]);
}

#[tokio::test]
async fn choices_that_do_not_fit_are_refused() {
    let app = spawn_app();
    let (s, ids, _) = open_questions(
        &app,
        json!([
            {"kind": "ranking", "prompt": "Rank", "options": ["x", "y", "z"]},
            {"kind": "scale", "prompt": "How much?"},
            {"kind": "wordcloud", "prompt": "Words?", "max_words": 2},
            {"kind": "open", "prompt": "Say it"},
            {"kind": "multiple", "prompt": "Which?", "options": ["a", "b", "c"], "max_choices": 2}
        ]),
    )
    .await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    for (i, choice, code) in [
        (0, json!([0, 0, 1]), "invalid_choice"),
        (0, json!([0, 1]), "invalid_choice"),
        (1, json!(6), "invalid_choice"),
        (1, json!(0), "invalid_choice"),
        (2, json!(["a", "b", "c"]), "invalid_choice"),
        (2, json!(["x".repeat(41)]), "too_large"),
        (3, json!("x".repeat(281)), "too_large"),
        (3, json!("   "), "invalid_choice"),
        (4, json!([0, 1, 2]), "invalid_choice"),
        (4, json!(1), "invalid_choice"),
    ] {
        let e = phone.vote(&ids[i], choice.clone()).await;
        assert_eq!(e["code"], code, "question {i}, choice {choice}: {e}");
    }
    // Nothing was counted, and the socket still votes.
    assert_eq!(phone.vote(&ids[1], json!(3)).await["type"], "ack");
    let r = app.results(&s).await;
    let voters: Vec<u64> = (0..5)
        .map(|i| r["questions"][i]["tally"]["voters"].as_u64().unwrap())
        .collect();
    assert_eq!(voters, vec![0, 1, 0, 0, 0]);
}
