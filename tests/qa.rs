//! The Q&A board: the room asks and upvotes, the chair moderates and shows it.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn moderated_session(app: &TestApp, moderation: bool) -> Created {
    app.create(json!({"title": "Panel", "settings": {"qa_moderation": moderation}}))
        .await
}

fn item_of(v: &Value) -> &Value {
    &v["item"]
}

#[tokio::test]
async fn phones_ask_and_upvote_once_each_and_take_it_back() {
    let app = spawn_app();
    let s = moderated_session(&app, false).await;
    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    let (mut alice, _) = app.join(&s.code, "audience", None).await;
    let (mut bob, _) = app.join(&s.code, "audience", None).await;
    let ack = alice.call(json!({"type": "ask", "text": "  How do we keep ownership after the project ends?  ", "name": "Alice"})).await;
    assert_eq!(ack["type"], "ack");
    let mine = alice.recv_type("qa_item").await;
    assert_eq!(item_of(&mine)["mine"], true);
    assert_eq!(
        item_of(&mine)["text"],
        "How do we keep ownership after the project ends?"
    );
    assert_eq!(item_of(&mine)["status"], "approved");
    let seen = projector.recv_type("qa_item").await;
    assert_eq!(item_of(&seen)["mine"], false);
    assert_eq!(item_of(&seen)["name"], "Alice");
    let id = item_of(&seen)["id"].as_str().unwrap().to_owned();

    for _ in 0..3 {
        assert_eq!(
            bob.call(json!({"type": "upvote", "item_id": id})).await["type"],
            "ack"
        );
    }
    alice.call(json!({"type": "upvote", "item_id": id})).await;
    projector
        .recv_until("two upvotes", |v| {
            v["type"] == "qa_item" && v["item"]["upvotes"] == 2
        })
        .await;
    bob.call(json!({"type": "unupvote", "item_id": id})).await;
    projector
        .recv_until("one upvote", |v| {
            v["type"] == "qa_item" && v["item"]["upvotes"] == 1
        })
        .await;
    // A late projector gets the board in its welcome.
    let (_, w) = app.join(&s.code, "projector", None).await;
    assert_eq!(w["session"]["qa_items"][0]["upvotes"], 1);
    let results = app.results(&s).await;
    assert_eq!(results["qa"][0]["upvotes"], 1);
}

#[tokio::test]
async fn pending_items_are_seen_by_the_moderator_and_their_author_only() {
    let app = spawn_app();
    let s = moderated_session(&app, true).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    let (mut author, _) = app.join(&s.code, "audience", None).await;
    let (mut other, _) = app.join(&s.code, "audience", None).await;
    author
        .call(json!({"type": "ask", "text": "Is funding the bottleneck?"}))
        .await;
    let m = moderator.recv_type("qa_item").await;
    assert_eq!(item_of(&m)["status"], "pending");
    assert!(item_of(&m)["name"].is_null(), "anonymous by default");
    let a = author.recv_type("qa_item").await;
    assert_eq!(
        (
            item_of(&a)["status"].as_str(),
            item_of(&a)["mine"].as_bool()
        ),
        (Some("pending"), Some(true))
    );
    let id = item_of(&m)["id"].as_str().unwrap().to_owned();
    projector
        .assert_none(Duration::from_millis(300), |v| v["type"] == "qa_item")
        .await;
    other
        .assert_none(Duration::from_millis(100), |v| v["type"] == "qa_item")
        .await;
    let e = other.call(json!({"type": "upvote", "item_id": id})).await;
    assert_eq!(e["code"], "not_found");
    let (_, w) = app.join(&s.code, "audience", None).await;
    assert_eq!(w["session"]["qa_items"], json!([]));

    assert_eq!(
        moderator
            .call(json!({"type": "qa_status", "item_id": id, "status": "approved"}))
            .await["type"],
        "ack"
    );
    let p = projector.recv_type("qa_item").await;
    assert_eq!(item_of(&p)["status"], "approved");
    assert_eq!(
        item_of(&other.recv_type("qa_item").await)["status"],
        "approved"
    );
    // The audience may not moderate.
    let e = other
        .call(json!({"type": "qa_status", "item_id": id, "status": "hidden"}))
        .await;
    assert_eq!(e["code"], "forbidden");
    // Hidden: every view drops it, and its text is not sent again.
    moderator
        .call(json!({"type": "qa_status", "item_id": id, "status": "hidden"}))
        .await;
    let p = projector.recv_type("qa_item").await;
    assert_eq!(
        (item_of(&p)["status"].as_str(), item_of(&p)["text"].as_str()),
        (Some("hidden"), Some(""))
    );
    let e = moderator
        .call(json!({"type": "qa_status", "item_id": id, "status": "pending"}))
        .await;
    assert_eq!(e["code"], "bad_request");
}

#[tokio::test]
async fn one_item_at_most_is_pinned_and_the_projector_shows_the_board() {
    let app = spawn_app();
    let s = moderated_session(&app, false).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    phone.call(json!({"type": "ask", "text": "First?"})).await;
    phone.call(json!({"type": "ask", "text": "Second?"})).await;
    let x = item_of(&moderator.recv_type("qa_item").await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let y = item_of(&moderator.recv_type("qa_item").await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    moderator
        .call(json!({"type": "qa_status", "item_id": x, "status": "pinned"}))
        .await;
    moderator
        .call(json!({"type": "qa_status", "item_id": y, "status": "pinned"}))
        .await;
    projector
        .recv_until("y pinned", |v| {
            v["type"] == "qa_item"
                && v["item"]["id"] == y.as_str()
                && v["item"]["status"] == "pinned"
        })
        .await;
    let (_, w) = app.join(&s.code, "projector", None).await;
    let statuses: Vec<(String, String)> = w["session"]["qa_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(x.clone(), "approved".into())),
        "{statuses:?}"
    );
    assert!(statuses.contains(&(y.clone(), "pinned".into())));
    moderator
        .call(json!({"type": "qa_status", "item_id": y, "status": "answered"}))
        .await;
    moderator.call(json!({"type": "present", "qa": true})).await;
    let p = projector.recv_type("present").await;
    assert_eq!(p["qa"], true);
    let (_, view) = app
        .request(
            Method::GET,
            &format!("/api/sessions/{}", s.code),
            None,
            None,
        )
        .await;
    assert_eq!(view["qa"], true);
}

#[tokio::test]
async fn the_limits_of_the_board_hold() {
    let app = spawn_app_with(&["--max-qa-items", "2"]);
    let s = moderated_session(&app, false).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    let e = phone
        .call(json!({"type": "ask", "text": "x".repeat(501)}))
        .await;
    assert_eq!(e["code"], "too_large");
    let e = phone
        .call(json!({"type": "ask", "text": "ok", "name": "n".repeat(61)}))
        .await;
    assert_eq!(e["code"], "too_large");
    let e = phone.call(json!({"type": "ask", "text": "   "})).await;
    assert_eq!(e["code"], "bad_request");
    let e = phone
        .call(json!({"type": "upvote", "item_id": "6f1c2a56-0000-4000-8000-000000000000"}))
        .await;
    assert_eq!(e["code"], "not_found");
    phone.call(json!({"type": "ask", "text": "one"})).await;
    phone.call(json!({"type": "ask", "text": "two"})).await;
    let e = phone.call(json!({"type": "ask", "text": "three"})).await;
    assert_eq!(e["code"], "too_large");
    // The projector and the moderator do not ask.
    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    assert_eq!(
        projector.call(json!({"type": "ask", "text": "hi"})).await["code"],
        "forbidden"
    );
}

#[tokio::test]
async fn the_board_survives_a_restart_and_reaches_the_exports() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let s = moderated_session(&app, true).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let (mut asker, w) = app.join(&s.code, "audience", None).await;
    let token = w["participant_token"].as_str().unwrap().to_owned();
    asker
        .call(json!({"type": "ask", "text": "What about \"local\", levels?", "name": "Oleg"}))
        .await;
    asker
        .call(json!({"type": "ask", "text": "Still pending"}))
        .await;
    let id = item_of(&moderator.recv_type("qa_item").await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    moderator
        .call(json!({"type": "qa_status", "item_id": id, "status": "approved"}))
        .await;
    for _ in 0..2 {
        let (mut p, _) = app.join(&s.code, "audience", None).await;
        p.call(json!({"type": "upvote", "item_id": id})).await;
    }
    moderator
        .call(json!({"type": "qa_status", "item_id": id, "status": "pinned"}))
        .await;
    app.kill9();

    let app = spawn_durable(&dir, &[]);
    let results = app.results(&s).await;
    assert_eq!(results["qa"][0]["upvotes"], 2);
    assert_eq!(results["qa"][0]["status"], "pinned");
    assert_eq!(results["qa"][1]["status"], "pending");
    let (_, w) = app.join(&s.code, "audience", Some(&token)).await;
    let mine: Vec<bool> = w["session"]["qa_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["mine"].as_bool().unwrap())
        .collect();
    assert_eq!(
        mine,
        vec![true, true],
        "the author still sees both, the pending one too"
    );
    let resp = app
        .http
        .get(format!("{}/api/sessions/{}/export.csv", app.base, s.code))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    let body = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let qa: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[0] == "Q&A")
        .collect();
    assert_eq!(qa.len(), 2);
    assert_eq!(
        (&qa[0][3], &qa[0][4], &qa[0][7], &qa[0][8]),
        ("What about \"local\", levels?", "pinned", "Oleg", "2")
    );
    let html = app
        .http
        .get(format!("{}/api/sessions/{}/report.html", app.base, s.code))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("What about &quot;local&quot;, levels?"));
}
