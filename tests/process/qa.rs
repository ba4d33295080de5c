//! The Q&A board across a process's end: it survives kill -9 and reaches
//! the exports, hidden authors and answers stay hidden after a restart, and
//! in cluster mode every node holds the same board.

use crate::redis::{spawn_node, Redis};
use crate::support::*;
use serde_json::{json, Value};

async fn moderated_session(app: &TestApp, moderation: bool) -> Session {
    app.create_session(json!({"title": "Panel", "settings": {"qa_moderation": moderation}}))
        .await
}

fn item_of(v: &Value) -> &Value {
    &v["item"]
}

/// Waits for the next `qa_item` of a hidden item on `ws`, checks that it
/// went without its text and name, and returns the item's id.
async fn recv_hidden_item(ws: &mut Ws) -> String {
    let m = ws
        .recv_until("a hidden item", |v| {
            v["type"] == "qa_item" && v["item"]["status"] == "hidden"
        })
        .await;
    assert_eq!(
        (m["item"]["text"].as_str(), m["item"]["name"].as_str()),
        (Some(""), Some("")),
        "{m}"
    );
    m["item"]["id"].as_str().unwrap().to_owned()
}

/// Fetches a page of the board with `token`.
async fn page(app: &TestApp, code: &str, token: Option<&str>, query: &str) -> (u16, Value) {
    let (status, v) = app.qa_page(code, token, query).await;
    (status.as_u16(), v)
}

/// The entries of an `open` question in the results.
fn entries(results: &Value, q: usize) -> Vec<(String, String)> {
    results["questions"][q]["tally"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
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
    let mine: Vec<bool> = w["session"]["qa"]
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
    let resp = app.export_csv(&s.code, Some(&s.token)).await;
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
        .report_html(&s.code, Some(&s.token))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("What about &quot;local&quot;, levels?"));
}

// ---- v1.1: what grows with the audience is bounded -------------------------

#[tokio::test]
async fn hide_author_takes_every_item_of_one_author_off_the_board_for_good() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let s = moderated_session(&app, false).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    let (mut spammer, w) = app.join(&s.code, "audience", None).await;
    let spammer_token = w["participant_token"].as_str().unwrap().to_owned();
    let (mut honest, _) = app.join(&s.code, "audience", None).await;
    let spam: Vec<String> = (0..5).map(|i| format!("Buy now {i}")).collect();
    spammer.ask_all(&spam, "Spammer").await;
    honest
        .call(json!({"type": "ask", "text": "A real question", "name": "Ana"}))
        .await;
    let mut spam_ids = Vec::new();
    while spam_ids.len() < 5 {
        let m = moderator.recv_type("qa_item").await;
        if m["item"]["name"] == "Spammer" {
            spam_ids.push(m["item"]["id"].as_str().unwrap().to_owned());
        }
    }
    // Anyone but the moderator is refused.
    let _path = format!("/api/sessions/{}/qa/{}/hide-author", s.code, spam_ids[0]);
    let (status, _) = app
        .hide_author(&s.code, &spam_ids[0], Some(&spammer_token))
        .await;
    assert_eq!(status.as_u16(), 403);
    let e = spammer
        .call(json!({"type": "qa_hide_author", "item_id": spam_ids[0]}))
        .await;
    assert_eq!(e["code"], "forbidden");

    // One action over the socket hides all five; the views get them
    // without text or name.
    let ack = moderator
        .call(json!({"type": "qa_hide_author", "item_id": spam_ids[3]}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let mut hidden = std::collections::HashSet::new();
    while hidden.len() < 5 {
        hidden.insert(recv_hidden_item(&mut projector).await);
    }
    recv_hidden_item(&mut moderator).await;
    // Over HTTP: nothing left to hide; an unknown item is not found.
    let (status, v) = app.hide_author(&s.code, &spam_ids[0], Some(&s.token)).await;
    assert_eq!((status.as_u16(), v), (200, json!({"hidden": 0})));
    let (status, _) = app
        .hide_author(
            &s.code,
            "6f1c2a56-0000-4000-8000-000000000000",
            Some(&s.token),
        )
        .await;
    assert_eq!(status.as_u16(), 404);
    app.kill9();

    // After a restart the board is as it was: one public item; the
    // moderator sees the five hidden, empty.
    let app = spawn_durable(&dir, &[]);
    let (_, v) = page(&app, &s.code, None, "").await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["text"], "A real question");
    let (_, v) = page(&app, &s.code, Some(&s.token), "").await;
    assert_eq!(v["total"], 6);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items[0]["text"], "A real question");
    assert!(items[1..]
        .iter()
        .all(|i| i["status"] == "hidden" && i["text"] == "" && i["name"] == ""));
    let (_, w) = app.join(&s.code, "audience", Some(&spammer_token)).await;
    assert_eq!(w["session"]["qa_total"], 1);
    // And over HTTP on a live board: the honest phone's item goes, with a count.
    let honest_id = items[0]["id"].as_str().unwrap();
    let (status, v) = app.hide_author(&s.code, honest_id, Some(&s.token)).await;
    assert_eq!((status.as_u16(), v), (200, json!({"hidden": 1})));
    let (_, v) = page(&app, &s.code, None, "").await;
    assert_eq!(v["total"], 0);
}

#[tokio::test]
async fn a_hidden_open_answer_stays_hidden_when_its_author_sends_it_again() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let s = app
        .create_session(
            json!({"title": "Panel", "questions": [{"kind": "open", "prompt": "One word?"}]}),
        )
        .await;
    let qid = app.question_id(&s, 0).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    moderator.act("open", &qid).await;
    let (mut troll, w) = app.join(&s.code, "audience", None).await;
    let troll_token = w["participant_token"].as_str().unwrap().to_owned();
    let (mut other, _) = app.join(&s.code, "audience", None).await;
    assert_eq!(troll.vote(&qid, json!("Rude  words")).await["type"], "ack");
    let (id, _) = entries(&app.results(&s).await, 0).remove(0);
    moderator
        .call(json!({"type": "hide_entry", "question_id": qid, "entry_id": id}))
        .await;
    assert!(entries(&app.results(&s).await, 0).is_empty());
    // The same text again, spelled a little differently: still hidden.
    for again in ["Rude  words", " rude WORDS "] {
        assert_eq!(troll.vote(&qid, json!(again)).await["type"], "ack");
        let r = app.results(&s).await;
        assert!(entries(&r, 0).is_empty(), "{again:?} came back: {r}");
        assert_eq!(r["questions"][0]["tally"]["voters"], 0);
    }
    // Another phone's same text, and the troll's other text, are shown.
    other.vote(&qid, json!("rude words")).await;
    troll.vote(&qid, json!("Sorry")).await;
    assert_eq!(entries(&app.results(&s).await, 0).len(), 2);
    troll.vote(&qid, json!("RUDE words")).await;
    assert_eq!(entries(&app.results(&s).await, 0).len(), 1);
    app.kill9();

    // A restart replays the same: still hidden, and hidden when sent again.
    let app = spawn_durable(&dir, &[]);
    let r = app.results(&s).await;
    let texts: Vec<String> = entries(&r, 0).into_iter().map(|e| e.1).collect();
    assert_eq!(texts, ["rude words"]);
    let (mut troll, _) = app.join(&s.code, "audience", Some(&troll_token)).await;
    troll.vote(&qid, json!("rude words")).await;
    assert_eq!(entries(&app.results(&s).await, 0).len(), 1);
}

// ---- cluster mode: the same bounds through the shared log ------------------

#[tokio::test]
async fn in_cluster_mode_hide_author_the_cap_and_hidden_answers_hold_on_every_node() {
    let redis = Redis::start();
    let args = ["--max-qa-per-participant", "3"];
    let a = spawn_node(&redis, &args);
    let b = spawn_node(&redis, &args);
    let s = a
        .create_session(
            json!({"title": "Panel", "questions": [{"kind": "open", "prompt": "One word?"}]}),
        )
        .await;
    let (mut moderator, w) = b.join(&s.code, "moderator", Some(&s.token)).await;
    let qid = w["session"]["questions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Opened first: this test is about hiding, not about phones joining
    // before any question is public.
    moderator.act("open", &qid).await;
    let (mut projector, _) = a.join(&s.code, "projector", None).await;
    let (mut spammer, w) = a.join(&s.code, "audience", None).await;
    let spammer_token = w["participant_token"].as_str().unwrap().to_owned();
    let (mut honest, _) = b.join(&s.code, "audience", None).await;

    // The cap per participant holds across nodes: 3 through a, the 4th refused.
    let spam: Vec<String> = (0..3).map(|i| format!("Spam {i}")).collect();
    for ack in spammer.ask_all(&spam, "Spammer").await {
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    let e = spammer.call(json!({"type": "ask", "text": "Spam 3"})).await;
    assert_eq!(e["code"], "limit_reached", "{e}");
    honest
        .call(json!({"type": "ask", "text": "A real question"}))
        .await;
    let spam_id = loop {
        let m = moderator.recv_type("qa_item").await;
        if m["item"]["name"] == "Spammer" {
            break m["item"]["id"].as_str().unwrap().to_owned();
        }
    };
    // Hidden through node b, in one action; node a's projector drops all three.
    let (status, v) = b.hide_author(&s.code, &spam_id, Some(&s.token)).await;
    assert_eq!((status.as_u16(), v), (200, json!({"hidden": 3})));
    let mut hidden = std::collections::HashSet::new();
    while hidden.len() < 3 {
        hidden.insert(recv_hidden_item(&mut projector).await);
    }
    let (_, v) = page(&a, &s.code, None, "").await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["text"], "A real question");
    let (_, v) = page(&a, &s.code, Some(&spammer_token), "").await;
    assert_eq!(
        v["total"], 1,
        "the author's own hidden items are gone for them too"
    );

    // An open answer hidden through node b stays hidden when sent again
    // through node a, and through a node started afterwards.
    assert_eq!(spammer.vote(&qid, json!("Rude words")).await["type"], "ack");
    let r = b.results_until(&s, |r| entries(r, 0).len() == 1).await;
    let (id, _) = entries(&r, 0).remove(0);
    let ack = moderator
        .call(json!({"type": "hide_entry", "question_id": qid, "entry_id": id}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    // Node a has read the hide (its results read the log).
    a.results_until(&s, |r| entries(r, 0).is_empty()).await;
    assert_eq!(
        spammer.vote(&qid, json!(" RUDE  words")).await["type"],
        "ack"
    );
    honest.vote(&qid, json!("rude words")).await;
    let r = b
        .results_until(&s, |r| r["questions"][0]["tally"]["voters"] == 1)
        .await;
    assert_eq!(entries(&r, 0).len(), 1, "{r}");
    let c = spawn_node(&redis, &args);
    let (mut again, _) = c.join(&s.code, "audience", Some(&spammer_token)).await;
    assert_eq!(again.vote(&qid, json!("rude words")).await["type"], "ack");
    let r = c.results(&s).await;
    assert_eq!(r["questions"][0]["tally"]["voters"], 1, "{r}");
    assert_eq!(entries(&r, 0).len(), 1);
}
