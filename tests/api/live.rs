//! The live poll over websockets, as the room lives it.

use std::time::Duration;

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn audience_votes_reach_the_moderator_tally_exactly() {
    let app = spawn_app();
    let (s, qid) = app
        .session_with_open_question(&["Peer exchange", "Training", "Funding"])
        .await;
    let (mut moderator, welcome) = app.join(&s.code, "moderator", Some(&s.token)).await;
    assert_eq!(welcome["role"], "moderator");
    let mut phones = Vec::new();
    for choice in [0, 0, 1] {
        let (mut phone, _) = app.join(&s.code, "audience", None).await;
        assert_eq!(phone.vote(&qid, json!(choice)).await["type"], "ack");
        phones.push(phone);
    }
    let t = moderator.tally_where(&qid, |t| t["voters"] == 3).await;
    assert_eq!(counts(&t), vec![2, 1, 0]);
    let results = app.results(&s).await;
    assert_eq!(counts(&results["questions"][0]["tally"]), vec![2, 1, 0]);
}

#[tokio::test]
async fn the_projector_sees_nothing_before_reveal_and_the_exact_counts_after() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["Yes", "No"]).await;
    let (mut projector, welcome) = app.join(&s.code, "projector", None).await;
    assert_eq!(welcome["session"]["tallies"], json!({}));
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&qid, json!(1)).await;
    let (mut phone2, _) = app.join(&s.code, "audience", None).await;
    phone2.vote(&qid, json!(1)).await;
    // Several staff intervals pass: no tally may reach the projector.
    projector
        .assert_none(Duration::from_millis(500), |v| v["type"] == "tally")
        .await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    assert_eq!(moderator.act("reveal", &qid).await["type"], "ack");
    let q = projector.recv_type("question").await;
    assert_eq!(q["question"]["results_visible"], true);
    let t = projector.tally_where(&qid, |_| true).await;
    assert_eq!(counts(&t), vec![0, 2]);
    assert_eq!(t["voters"], 2);
    // The phones get it too, within their (slower) interval.
    let t = phone.tally_where(&qid, |_| true).await;
    assert_eq!(counts(&t), vec![0, 2]);
}

#[tokio::test]
async fn a_new_vote_moves_the_count_and_retract_removes_it() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B", "C"]).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&qid, json!(0)).await;
    moderator
        .tally_where(&qid, |t| counts(t) == vec![1, 0, 0])
        .await;
    phone.vote(&qid, json!(2)).await;
    let t = moderator
        .tally_where(&qid, |t| counts(t) == vec![0, 0, 1])
        .await;
    assert_eq!(t["voters"], 1);
    assert_eq!(phone.retract(&qid).await["type"], "ack");
    let t = moderator.tally_where(&qid, |t| t["voters"] == 0).await;
    assert_eq!(counts(&t), vec![0, 0, 0]);
}

#[tokio::test]
async fn a_reconnect_with_the_token_keeps_identity_and_ballots() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, welcome) = app.join(&s.code, "audience", None).await;
    let id = welcome["participant_id"].clone();
    let token = welcome["participant_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 22, "a token of at least 128 bits");
    phone.vote(&qid, json!(1)).await;
    drop(phone);

    let (mut again, welcome) = app.join(&s.code, "audience", Some(&token)).await;
    assert_eq!(welcome["participant_id"], id);
    assert_eq!(welcome["ballots"][&qid], json!(1));
    again.vote(&qid, json!(1)).await;
    let results = app.results(&s).await;
    assert_eq!(
        results["questions"][0]["tally"]["voters"], 1,
        "still one voter"
    );
    // An unknown token makes a new participant rather than failing.
    let (_, fresh) = app.join(&s.code, "audience", Some("not-a-token")).await;
    assert_ne!(fresh["participant_id"], id);
}

#[tokio::test]
async fn a_closed_question_refuses_votes_and_keeps_the_connection() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&qid, json!(0)).await;
    moderator.act("close", &qid).await;
    let q = phone.recv_type("question").await;
    assert_eq!(q["question"]["state"], "closed");
    let e = phone.vote(&qid, json!(1)).await;
    assert_eq!(e["code"], "not_open");
    // Reopened, it keeps its ballots and takes votes again on the same socket.
    moderator.act("open", &qid).await;
    assert_eq!(phone.vote(&qid, json!(1)).await["type"], "ack");
    assert_eq!(
        counts(&app.results(&s).await["questions"][0]["tally"]),
        vec![0, 1]
    );
}

#[tokio::test]
async fn drafts_are_seen_by_the_moderator_alone() {
    let app = spawn_app();
    let s = app
        .create_session(
            json!({"title": "Panel", "questions": [single("Secret draft?", &["a", "b"])]}),
        )
        .await;
    let (mut phone, welcome) = app.join(&s.code, "audience", None).await;
    assert_eq!(welcome["session"]["questions"], json!([]));
    let (_, proj) = app.join(&s.code, "projector", None).await;
    assert_eq!(proj["session"]["questions"], json!([]));
    let (mut moderator, mw) = app.join(&s.code, "moderator", Some(&s.token)).await;
    assert_eq!(mw["session"]["questions"].as_array().unwrap().len(), 1);
    let ack = moderator
        .call(json!({"type": "add_question", "question": single("Another draft", &["x", "y"])}))
        .await;
    assert_eq!(ack["type"], "ack");
    phone
        .assert_none(Duration::from_millis(300), |v| v["type"] == "question")
        .await;
    // A presented draft is not shown either, until it opens.
    let qid = mw["session"]["questions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    moderator.act("present", &qid).await;
    phone
        .assert_none(Duration::from_millis(300), |v| {
            v["type"] == "present" || v["type"] == "question"
        })
        .await;
    moderator.act("open", &qid).await;
    let q = phone.recv_type("question").await;
    assert_eq!(q["question"]["id"], qid.as_str());
    let p = phone.recv_type("present").await;
    assert_eq!(p["question_id"], qid.as_str());
    let (_, view) = app.session_view(&s.code, None).await;
    assert_eq!(
        view["questions"].as_array().unwrap().len(),
        1,
        "the other draft stays hidden"
    );
}

#[tokio::test]
async fn quiz_answers_stay_secret_until_closed_and_revealed() {
    let app = spawn_app();
    let quiz = json!({"kind": "single", "prompt": "Which objective?", "options": ["1", "17", "23"], "correct": [2]});
    let s = app
        .create_session(json!({"title": "Quiz", "questions": [quiz]}))
        .await;
    let (mut moderator, mw) = app.join(&s.code, "moderator", Some(&s.token)).await;
    assert_eq!(mw["session"]["questions"][0]["correct"], json!([2]));
    let qid = mw["session"]["questions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    moderator.act("open", &qid).await;
    let q = phone.recv_type("question").await;
    assert!(q["question"].get("correct").is_none(), "{q}");
    moderator.act("reveal", &qid).await;
    let q = phone.recv_type("question").await;
    assert!(
        q["question"].get("correct").is_none(),
        "open and revealed: still secret"
    );
    moderator.act("close", &qid).await;
    let q = phone.recv_type("question").await;
    assert_eq!(q["question"]["correct"], json!([2]));
}

#[tokio::test]
async fn reset_clears_the_tally_and_the_phones_ballot() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&qid, json!(0)).await;
    moderator.tally_where(&qid, |t| t["voters"] == 1).await;
    moderator.act("reset", &qid).await;
    let t = moderator.tally_where(&qid, |t| t["voters"] == 0).await;
    assert_eq!(counts(&t), vec![0, 0]);
    let b = phone.recv_type("ballot").await;
    assert_eq!(b["question_id"], qid.as_str());
    assert!(b["choice"].is_null());
}

#[tokio::test]
async fn presence_counts_the_connected_phones() {
    let app = spawn_app();
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    projector
        .recv_until("presence 0", |v| {
            v["type"] == "presence" && v["audience"] == 0
        })
        .await;
    let (a, _) = app.join(&s.code, "audience", None).await;
    let (_b, _) = app.join(&s.code, "audience", None).await;
    projector
        .recv_until("presence 2", |v| {
            v["type"] == "presence" && v["audience"] == 2
        })
        .await;
    drop(a);
    projector
        .recv_until("presence 1", |v| {
            v["type"] == "presence" && v["audience"] == 1
        })
        .await;
}

#[tokio::test]
async fn tallies_are_coalesced_and_the_last_one_is_exact() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B", "C", "D"]).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let mut phones = Vec::new();
    for _ in 0..30 {
        phones.push(app.join(&s.code, "audience", None).await.0);
    }
    let mut expected = [0u64; 4];
    for (i, p) in phones.iter_mut().enumerate() {
        let choice = (i * 7) % 4;
        expected[choice] += 1;
        p.vote(&qid, json!(choice)).await;
    }
    let mut last_seq = 0;
    let final_tally = moderator
        .recv_until("the exact final tally", |v| {
            v["type"] == "tally" && counts(v) == expected.to_vec()
        })
        .await;
    assert!(final_tally["seq"].as_u64().unwrap() > last_seq);
    last_seq = final_tally["seq"].as_u64().unwrap();
    // Nothing else changes: no further tally arrives.
    moderator
        .assert_none(Duration::from_millis(400), |v| v["type"] == "tally")
        .await;
    // A late moderator gets the current tally right after its welcome.
    let (mut late, welcome) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let t = &welcome["session"]["tallies"][&qid];
    assert_eq!(counts(t), expected.to_vec());
    assert_eq!(t["seq"].as_u64().unwrap(), last_seq);
    late.assert_none(Duration::from_millis(300), |v| v["type"] == "tally")
        .await;
}

#[tokio::test]
async fn deleting_the_session_ends_every_connection() {
    let app = spawn_app();
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    let (status, _) = app.delete_session(&s.code, Some(&s.token)).await;
    assert_eq!(status, 204);
    phone.recv_type("ended").await;
    assert_eq!(phone.closed().await, Some(1000));
    projector.recv_type("ended").await;
    let (status, _) = app.session_view(&s.code, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_timer_closes_the_question_on_the_server() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    moderator
        .call(json!({"type": "open", "question_id": qid, "duration_s": 1}))
        .await;
    let q = phone.recv_type("question").await;
    assert!(q["question"]["closes_at"].as_i64().is_some());
    let q = phone
        .recv_until("the close", |v| {
            v["type"] == "question" && v["question"]["state"] == "closed"
        })
        .await;
    assert!(q["question"]["closes_at"].is_null());
    assert_eq!(phone.vote(&qid, json!(0)).await["code"], "not_open");
}
