//! The Q&A board: the room asks and upvotes, the chair moderates and shows it.
//! Across a restart and in cluster mode: `tests/process/qa.rs`.

use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn moderated_session(app: &TestApp, moderation: bool) -> Session {
    app.create_session(json!({"title": "Panel", "settings": {"qa_moderation": moderation}}))
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
    assert_eq!(w["session"]["qa"][0]["upvotes"], 1);
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
    assert_eq!(w["session"]["qa"], json!([]));

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
    let statuses: Vec<(String, String)> = w["session"]["qa"]
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
    let (_, view) = app.session_view(&s.code, None).await;
    assert_eq!(view["qa_on_screen"], true);
    assert!(
        view.get("qa").is_none(),
        "the board is paged, not in the view"
    );
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
    assert_eq!(e["code"], "limit_reached");
    // The projector and the moderator do not ask.
    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    assert_eq!(
        projector.call(json!({"type": "ask", "text": "hi"})).await["code"],
        "forbidden"
    );
}

/// A Q&A text of the largest size, numbered.
fn long_text(n: usize) -> String {
    let head = format!("Question {n}: ");
    format!("{head}{}", "x".repeat(500 - head.len()))
}

/// Connects with a hello and times the welcome; returns its raw text too.
async fn timed_welcome(
    app: &TestApp,
    code: &str,
    role: &str,
    token: Option<&str>,
) -> (Ws, Value, usize, Duration) {
    let start = std::time::Instant::now();
    let mut ws = app.ws(code).await;
    ws.hello(role, token).await;
    let raw = loop {
        match ws.next_event(WAIT).await {
            Some(Event::Msg(v)) if v["type"] == "welcome" => break v,
            Some(Event::Msg(_)) => continue,
            Some(Event::Closed(c)) => panic!("{role}: closed ({c:?}) before its welcome"),
            None => panic!("{role}: no welcome within {WAIT:?}"),
        }
    };
    let took = start.elapsed();
    let size = raw.to_string().len();
    (ws, raw, size, took)
}

#[tokio::test]
async fn a_flood_of_asks_locks_no_one_out_of_the_session() {
    let app = spawn_app();
    let s = moderated_session(&app, false).await;
    // 80 phones ask 20 questions each at the largest size: 1,600 items,
    // about 1.1 MB of text, eight phones at a time.
    let mut tokens = Vec::new();
    for wave in 0..10 {
        let mut phones = Vec::new();
        for _ in 0..8 {
            let (ws, w) = app.join(&s.code, "audience", None).await;
            tokens.push(w["participant_token"].as_str().unwrap().to_owned());
            phones.push(ws);
        }
        let asks = phones.iter_mut().enumerate().map(|(k, ws)| async move {
            let base = (wave * 8 + k) * 20;
            let texts: Vec<String> = (base..base + 20).map(long_text).collect();
            let answers = ws.ask_all(&texts, &"n".repeat(60)).await;
            for a in &answers {
                assert_eq!(a["type"], "ack", "{a}");
            }
            // The 21st from the same phone is refused: one phone holds 20.
            let e = ws.call(json!({"type": "ask", "text": "one more"})).await;
            assert_eq!(e["code"], "limit_reached", "{e}");
        });
        futures_util::future::join_all(asks).await;
    }
    // With moderation on, a new phone's question waits: its author and the
    // moderator see one more item than the others.
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    moderator
        .call(json!({"type": "settings", "qa_moderation": true}))
        .await;
    let (mut late, w) = app.join(&s.code, "audience", None).await;
    let late_token = w["participant_token"].as_str().unwrap().to_owned();
    assert_eq!(
        late.call(json!({"type": "ask", "text": "A real question?"}))
            .await["type"],
        "ack"
    );
    drop((moderator, late));

    for (role, token, total) in [
        ("audience", None, 1600),
        ("audience", Some(tokens[17].as_str()), 1600),
        ("audience", Some(late_token.as_str()), 1601),
        ("projector", None, 1600),
        ("moderator", Some(s.token.as_str()), 1601),
    ] {
        let (_ws, w, size, took) = timed_welcome(&app, &s.code, role, token).await;
        assert!(
            took < Duration::from_secs(2),
            "{role}: welcome after {took:?}"
        );
        assert!(size <= 256 * 1024, "{role}: a welcome of {size} bytes");
        let qa = w["session"]["qa"].as_array().unwrap();
        assert_eq!(qa.len(), 100, "{role}");
        assert_eq!(w["session"]["qa_total"], total, "{role}");
        // The board's order: newest first when no one upvoted.
        let ats: Vec<i64> = qa.iter().map(|i| i["at"].as_i64().unwrap()).collect();
        assert!(ats.windows(2).all(|w| w[0] >= w[1]), "{role}: {ats:?}");
        if token == Some(late_token.as_str()) || role == "moderator" {
            assert_eq!(qa[0]["text"], "A real question?", "{role}");
            assert_eq!(qa[0]["status"], "pending");
        }
    }
}

/// Fetches a page of the board with `token`.
async fn page(app: &TestApp, code: &str, token: Option<&str>, query: &str) -> (u16, Value) {
    let (status, v) = app.qa_page(code, token, query).await;
    (status.as_u16(), v)
}

#[tokio::test]
async fn the_board_is_paged_and_every_item_comes_exactly_once() {
    let app = spawn_app();
    let s = moderated_session(&app, false).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    // 13 phones × 20 questions; then moderation on and one pending each
    // from two fresh phones.
    for k in 0..13 {
        let (mut ws, _) = app.join(&s.code, "audience", None).await;
        let texts: Vec<String> = (0..20).map(|i| format!("q{k}-{i}")).collect();
        for a in ws.ask_all(&texts, "Asker").await {
            assert_eq!(a["type"], "ack");
        }
    }
    let mut first_ids = Vec::new();
    for n in 0..260 {
        let m = moderator.recv_type("qa_item").await;
        if n % 20 == 0 {
            first_ids.push(m["item"]["id"].as_str().unwrap().to_owned());
        }
    }
    // Upvotes and a pin reorder the top; one item is hidden.
    let (mut voter, _) = app.join(&s.code, "audience", None).await;
    voter
        .call(json!({"type": "upvote", "item_id": first_ids[5]}))
        .await;
    moderator
        .call(json!({"type": "qa_status", "item_id": first_ids[9], "status": "pinned"}))
        .await;
    moderator
        .call(json!({"type": "qa_status", "item_id": first_ids[2], "status": "hidden"}))
        .await;
    moderator
        .call(json!({"type": "settings", "qa_moderation": true}))
        .await;
    let (mut author, w) = app.join(&s.code, "audience", None).await;
    let author_token = w["participant_token"].as_str().unwrap().to_owned();
    author
        .call(json!({"type": "ask", "text": "Mine, pending"}))
        .await;
    let (mut other, _) = app.join(&s.code, "audience", None).await;
    other
        .call(json!({"type": "ask", "text": "Someone else's, pending"}))
        .await;

    // The moderator pages through all 262, any status, each once.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let (status, v) = page(
            &app,
            &s.code,
            Some(&s.token),
            &format!("?offset={offset}&limit=100"),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["total"], 262);
        let items = v["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        assert!(items.len() <= 100);
        seen.extend(items.iter().cloned());
        offset += items.len();
    }
    let mut ids: Vec<&str> = seen.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 262);
    assert_eq!(seen[0]["id"], first_ids[9].as_str(), "the pinned one first");
    assert_eq!(seen[1]["id"], first_ids[5].as_str(), "then by upvotes");
    let last = &seen[261];
    assert_eq!(last["id"], first_ids[2].as_str(), "the hidden one last");
    assert_eq!(
        (last["text"].as_str(), last["name"].as_str()),
        (Some(""), Some(""))
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 262, "no item twice");
    // The default page is 50 long; the welcome holds the first 100 of them.
    let (_, v) = page(&app, &s.code, Some(&s.token), "").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 50);
    assert_eq!(v["items"], json!(seen[..50]));

    // A participant: the public items and their own pending one, marked mine.
    let (status, v) = page(&app, &s.code, Some(&author_token), "?limit=100").await;
    assert_eq!(status, 200);
    assert_eq!(v["total"], 260);
    let mine: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["mine"] == true)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["text"], "Mine, pending");
    // No token: the public items only.
    let (status, v) = page(&app, &s.code, None, "?offset=250").await;
    assert_eq!(status, 200);
    assert_eq!(v["total"], 259);
    assert_eq!(v["items"].as_array().unwrap().len(), 9);
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] == "approved" && i["mine"] == false));

    // Bad paging is a bad request; a wrong token is refused.
    for q in [
        "?limit=0",
        "?limit=101",
        "?offset=-1",
        "?offset=x",
        "?limit=1.5",
    ] {
        let (status, v) = page(&app, &s.code, None, q).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some("bad_request")),
            "{q}"
        );
    }
    let (status, v) = page(&app, &s.code, Some("not-a-token"), "").await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = page(&app, "999999", None, "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_question_cap_answers_limit_reached() {
    let app = spawn_app_with(&["--max-questions", "2"]);
    let s = app.create_session(json!({"title": "Panel"})).await;
    for _ in 0..2 {
        let (status, _) = app.add_question(&s, single("Q?", &["a", "b"])).await;
        assert_eq!(status.as_u16(), 201);
    }
    assert_error(
        app.add_question(&s, single("Q?", &["a", "b"])).await,
        StatusCode::CONFLICT,
        "limit_reached",
    );
    let deck = "title = \"P\"\n[[question]]\nkind = \"open\"\nprompt = \"a\"\n[[question]]\nkind = \"open\"\nprompt = \"b\"\n[[question]]\nkind = \"open\"\nprompt = \"c\"\n";
    assert_error(
        app.post_deck(deck.to_owned(), None).await,
        StatusCode::CONFLICT,
        "limit_reached",
    );
}
