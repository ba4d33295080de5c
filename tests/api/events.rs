//! Events: an organiser creates one, sessions join it at creation, the
//! organiser token acts as moderator on each of them (over HTTP and the
//! socket) and on nothing else, the event lists its rooms live, and ending
//! it ends them. Across a restart: `tests/process/events.rs`.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// An event as the 201 answer: its id, its organiser token, the whole body.
pub struct Event {
    pub id: String,
    pub token: String,
    pub body: Value,
}

pub async fn create_event(app: &TestApp, title: &str, admin: Option<&str>) -> Event {
    let (status, body) = app
        .json(
            Method::POST,
            "/api/events",
            admin,
            Some(json!({ "title": title })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Event {
        id: body["id"].as_str().unwrap().to_owned(),
        token: body["organiser_token"].as_str().unwrap().to_owned(),
        body,
    }
}

/// A session of the event, with one question.
pub async fn room(app: &TestApp, e: &Event, title: &str) -> Session {
    app.create_session(json!({
        "title": title,
        "questions": [single("Tea or coffee?", &["Tea", "Coffee"])],
        "event": {"id": e.id, "organiser_token": e.token},
    }))
    .await
}

pub async fn get_event(app: &TestApp, id: &str, token: Option<&str>) -> Reply {
    app.json(Method::GET, &format!("/api/events/{id}"), token, None)
        .await
}

#[tokio::test]
async fn an_event_is_created_and_lists_its_rooms() {
    let app = spawn_app();
    let e = create_event(&app, "Side events", None).await;
    assert_eq!(e.body["title"], "Side events");
    assert_eq!(e.token.len(), 43);
    let url = e.body["url"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/events/{}#token={}", e.id, e.token)),
        "{url}"
    );

    let a = room(&app, &e, "Room A").await;
    let b = room(&app, &e, "Room B").await;
    // A session of its own is no room of the event.
    app.create_session(json!({"title": "Elsewhere"})).await;

    let (status, v) = get_event(&app, &e.id, Some(&e.token)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["title"], "Side events");
    let rooms = v["sessions"].as_array().unwrap();
    let codes: Vec<&str> = rooms.iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, [a.code.as_str(), b.code.as_str()]);
    assert_eq!(rooms[0]["title"], "Room A");
    assert_eq!(rooms[0]["audience"], 0);
    assert_eq!(rooms[0]["current"], Value::Null);
    assert_eq!(rooms[0]["qa_pending"], 0);
    let console = rooms[0]["urls"]["moderator"].as_str().unwrap();
    assert!(
        console.ends_with(&format!("/{}/moderate#token={}", a.code, e.token)),
        "{console}"
    );

    // A phone connects to A, the question opens and gets a vote; a question
    // waits for moderation in B.
    let qid = app.question_id(&a, 0).await;
    assert_eq!(
        app.question_action(&a, &qid, "open").await.0,
        StatusCode::OK
    );
    let (mut phone, _) = app.join(&a.code, "audience", None).await;
    assert_eq!(phone.vote(&qid, json!(1)).await["type"], "ack");
    app.patch_session(
        &b.code,
        Some(&b.token),
        json!({"settings": {"qa_moderation": true}}),
    )
    .await;
    let (mut asker, _) = app.join(&b.code, "audience", None).await;
    let asked = asker
        .call(json!({"type": "ask", "text": "When is lunch?"}))
        .await;
    assert_eq!(asked["type"], "ack", "{asked}");

    let (_, v) = get_event(&app, &e.id, Some(&e.token)).await;
    let a_room = &v["sessions"][0];
    assert_eq!(a_room["audience"], 1);
    assert_eq!(a_room["current"]["id"], qid.as_str());
    assert_eq!(a_room["current"]["state"], "open");
    assert_eq!(a_room["current"]["prompt"], "Tea or coffee?");
    assert_eq!(a_room["current"]["voters"], 1);
    assert_eq!(a_room["current"]["on_screen"], false);
    // Once on screen, it says so.
    app.present(&a, json!({"question_id": qid})).await;
    let (_, v) = get_event(&app, &e.id, Some(&e.token)).await;
    assert_eq!(v["sessions"][0]["current"]["on_screen"], true);
    assert_eq!(v["sessions"][1]["qa_pending"], 1);
}

#[tokio::test]
async fn the_organiser_token_is_a_moderator_on_the_rooms_of_its_event_only() {
    let app = spawn_app();
    let e = create_event(&app, "Forum", None).await;
    let other = create_event(&app, "Another forum", None).await;
    let a = room(&app, &e, "Room A").await;
    let outside = app.create_session(json!({"title": "Alone"})).await;

    // HTTP: the organiser adds a question, opens it, mints a chair's link.
    let (status, q) = app
        .add_question_as(&a.code, Some(&e.token), single("Yes?", &["Yes", "No"]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{q}");
    let (status, link) = app
        .json(
            Method::POST,
            &format!("/api/sessions/{}/links", a.code),
            Some(&e.token),
            Some(json!({"role": "presenter", "label": "Chair"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let (status, view) = app.session_view(&a.code, Some(&e.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        view["questions"].as_array().unwrap().len(),
        2,
        "drafts seen"
    );

    // The socket: hello as moderator with the organiser token.
    let (_, welcome) = app.join(&a.code, "moderator", Some(&e.token)).await;
    assert_eq!(welcome["role"], "moderator");

    // Not on a session outside the event, nor with another event's token.
    assert_error(
        app.add_question_as(&outside.code, Some(&e.token), single("No", &["a", "b"]))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        app.add_question_as(&a.code, Some(&other.token), single("No", &["a", "b"]))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let mut ws = app.ws(&outside.code).await;
    ws.hello("moderator", Some(&e.token)).await;
    assert_eq!(ws.recv_type("error").await["code"], "unauthorized");
    assert_eq!(ws.closed().await, Some(4401));
}

#[tokio::test]
async fn event_errors_are_the_contracts() {
    let app = spawn_app();
    let e = create_event(&app, "Forum", None).await;
    let missing = "6f1d1b7e-0000-4000-8000-000000000000";
    assert_error(
        get_event(&app, &e.id, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        get_event(&app, &e.id, Some("wrong")).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        get_event(&app, missing, Some(&e.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        get_event(&app, "not-an-id", Some(&e.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    for body in [json!({}), json!({"title": 3}), json!({"title": "  "})] {
        assert_error(
            app.json(Method::POST, "/api/events", None, Some(body))
                .await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
    }
    // Joining: a wrong token creates no session.
    let before = app.metrics().await;
    let join =
        |token: Value| json!({"title": "R", "event": {"id": e.id, "organiser_token": token}});
    assert_error(
        app.try_create_session(join(json!("wrong")), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        app.try_create_session(join(Value::Null), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        app.try_create_session(
            json!({"title": "R", "event": {"id": missing, "organiser_token": e.token}}),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        app.try_create_session(json!({"title": "R", "event": "x"}), None)
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let sessions = |m: &str| {
        m.lines()
            .find(|l| l.starts_with("handsup_sessions "))
            .map(str::to_owned)
    };
    assert_eq!(sessions(&app.metrics().await), sessions(&before));
    let (_, v) = get_event(&app, &e.id, Some(&e.token)).await;
    assert_eq!(v["sessions"], json!([]));
}

#[tokio::test]
async fn creating_an_event_needs_the_admin_token_where_the_server_has_one() {
    let app = spawn_app_with(&["--admin-token", "sesame"]);
    assert_error(
        app.json(
            Method::POST,
            "/api/events",
            None,
            Some(json!({"title": "F"})),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        app.json(
            Method::POST,
            "/api/events",
            Some("open up"),
            Some(json!({"title": "F"})),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    create_event(&app, "F", Some("sesame")).await;
}

#[tokio::test]
async fn ending_an_event_ends_its_sessions() {
    let app = spawn_app();
    let e = create_event(&app, "Forum", None).await;
    let a = room(&app, &e, "Room A").await;
    let b = room(&app, &e, "Room B").await;
    let alone = app.create_session(json!({"title": "Alone"})).await;
    let (mut phone, _) = app.join(&a.code, "audience", None).await;

    assert_error(
        app.json(
            Method::DELETE,
            &format!("/api/events/{}", e.id),
            Some(&a.token),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let (status, _) = app
        .json(
            Method::DELETE,
            &format!("/api/events/{}", e.id),
            Some(&e.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let ended = phone.recv_type("ended").await;
    assert_eq!(ended["type"], "ended");
    for s in [&a, &b] {
        assert_error(
            app.session_view(&s.code, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    assert_eq!(app.session_view(&alone.code, None).await.0, StatusCode::OK);
    assert_error(
        get_event(&app, &e.id, Some(&e.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[tokio::test]
async fn the_time_to_live_applies_to_the_event_as_a_whole() {
    let app = spawn_app_with(&["--session-ttl-s", "2"]);
    let e = create_event(&app, "Forum", None).await;
    let busy = room(&app, &e, "Busy").await;
    let idle = room(&app, &e, "Idle").await;
    let alone = app.create_session(json!({"title": "Alone"})).await;
    let (projector, _) = app.join(&busy.code, "projector", None).await;
    // The session outside the event goes; the idle room stays while the
    // busy one is active.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.session_view(&alone.code, None).await.0 != StatusCode::NOT_FOUND {
        assert!(std::time::Instant::now() < deadline, "never expired");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(app.session_view(&idle.code, None).await.0, StatusCode::OK);
    let (status, v) = get_event(&app, &e.id, Some(&e.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["sessions"].as_array().unwrap().len(), 2);
    // Once the last phone leaves, the whole event goes.
    drop(projector);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while get_event(&app, &e.id, Some(&e.token)).await.0 != StatusCode::NOT_FOUND {
        assert!(
            std::time::Instant::now() < deadline,
            "the event never expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for s in [&busy, &idle] {
        assert_eq!(
            app.session_view(&s.code, None).await.0,
            StatusCode::NOT_FOUND
        );
    }
}

/// Phones vote over HTTP: each answers `choices` in question order.
async fn vote_as_phone(app: &TestApp, code: &str, qids: &[String], choices: &[Value]) {
    let (status, p) = app.add_participant(code, None).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let token = p["participant_token"].as_str().unwrap();
    for (q, c) in qids.iter().zip(choices) {
        let (status, v) = app.put_ballot(code, q, token, json!({ "choice": c })).await;
        assert!(status.is_success(), "{v}");
    }
}

/// An event of two rooms with votes: a forum room broken down by group (6
/// governments, 7 civil society, 2 private sector: the last under the
/// floor of 5) with a question from the room, and a small room.
async fn event_with_votes(app: &TestApp) -> (Event, Session, Session) {
    let e = create_event(app, "Forum side events", None).await;
    let forum = app
        .create_session(json!({
            "title": "Digital rights",
            "questions": [
                {"kind": "single", "prompt": "Which group are you?", "segment": true,
                 "options": ["Government", "Civil society", "Private sector"]},
                {"kind": "single", "prompt": "Support the text?", "options": ["Yes", "No"]},
            ],
            "event": {"id": e.id, "organiser_token": e.token},
        }))
        .await;
    let small = app
        .create_session(json!({
            "title": "=Water, and <b>oceans</b>",
            "questions": [{"kind": "scale", "prompt": "How urgent?", "min": -2, "max": 2}],
            "event": {"id": e.id, "organiser_token": e.token},
        }))
        .await;
    let forum_q: Vec<String> = {
        let (_, v) = app.session_view(&forum.code, Some(&forum.token)).await;
        (0..2).map(|i| forum.qid(&v, i)).collect()
    };
    let small_q = app.question_id(&small, 0).await;
    for q in &forum_q {
        app.question_action(&forum, q, "open").await;
    }
    app.question_action(&small, &small_q, "open").await;
    for (group, n, yes) in [(0, 6, 0), (1, 7, 1), (2, 2, 0)] {
        for _ in 0..n {
            vote_as_phone(app, &forum.code, &forum_q, &[json!(group), json!(yes)]).await;
        }
    }
    for v in [-2, 2, 2] {
        vote_as_phone(
            app,
            &small.code,
            std::slice::from_ref(&small_q),
            &[json!(v)],
        )
        .await;
    }
    let (mut asker, _) = app.join(&forum.code, "audience", None).await;
    let asked = asker
        .call(json!({"type": "ask", "text": "Who drafted the text?"}))
        .await;
    assert_eq!(asked["type"], "ack", "{asked}");
    (e, forum, small)
}

#[tokio::test]
async fn the_event_report_holds_every_session_with_its_floors() {
    let app = spawn_app();
    let (e, forum, small) = event_with_votes(&app).await;
    let res = app
        .get(&format!("/api/events/{}/report.html", e.id))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>Forum side events</h1>"));
    // The table of contents links to each session, in the order they joined.
    let toc_forum = html
        .find(&format!("href=\"#s-{}\"", forum.code))
        .expect("the forum room in the contents");
    let toc_small = html
        .find(&format!("href=\"#s-{}\"", small.code))
        .expect("the small room in the contents");
    assert!(toc_forum < toc_small);
    let part_forum = html.find(&format!("id=\"s-{}\"", forum.code)).unwrap();
    let part_small = html.find(&format!("id=\"s-{}\"", small.code)).unwrap();
    assert!(toc_small < part_forum && part_forum < part_small);
    // Titles are escaped.
    assert!(html.contains("=Water, and &lt;b&gt;oceans&lt;/b&gt;"));
    assert!(!html.contains("<b>oceans</b>"));
    // The forum's breakdown, its floor applied.
    let forum_part = &html[part_forum..part_small];
    assert!(forum_part.contains("Support the text?"));
    assert!(forum_part.contains("Civil society \u{b7} n = 7"));
    assert!(forum_part.contains("Not shown (anonymity floor of 5 voters)."));
    assert!(!forum_part.contains("Private sector \u{b7} n = 2"));
    assert!(forum_part.contains("Who drafted the text?"));
    // Each session has its participation and its digest.
    for part in [forum_part, &html[part_small..]] {
        assert!(part.contains("<h2>Participation</h2>"));
        assert!(part.contains("<h2>Audit</h2>"));
    }
    assert!(html[part_small..].contains("How urgent?"));
    assert!(html[part_small..].contains("n = 3") || html[part_small..].contains("3 voters"));

    // Only the organiser.
    let res = app
        .get(&format!("/api/events/{}/report.html", e.id))
        .bearer_auth(&forum.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_event_csv_has_a_session_column_first() {
    let app = spawn_app();
    let (e, forum, small) = event_with_votes(&app).await;
    let res = app
        .get(&format!("/api/events/{}/export.csv", e.id))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'), "a byte-order mark");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "session");
    assert_eq!(&header[1], "session_title");
    assert_eq!(&header[2], "question");
    assert_eq!(header.len(), 15);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // Each session's rows are its own CSV's, led by its code and title.
    for s in [&forum, &small] {
        let own = app
            .export_csv(&s.code, Some(&s.token))
            .await
            .text()
            .await
            .unwrap();
        let mut own = csv::Reader::from_reader(own.trim_start_matches('\u{feff}').as_bytes());
        let own: Vec<csv::StringRecord> = own.records().map(|r| r.unwrap()).collect();
        let mine: Vec<&csv::StringRecord> = rows.iter().filter(|r| r[0] == s.code).collect();
        assert_eq!(mine.len(), own.len());
        for (m, o) in mine.iter().zip(&own) {
            assert_eq!(
                m.iter().skip(2).collect::<Vec<_>>(),
                o.iter().collect::<Vec<_>>()
            );
        }
    }
    // The small room's title is defused as a formula; its scale values stay numbers.
    let small_rows: Vec<&csv::StringRecord> = rows.iter().filter(|r| r[0] == small.code).collect();
    assert_eq!(&small_rows[0][1], "'=Water, and <b>oceans</b>");
    assert!(small_rows.iter().any(|r| &r[8] == "-2" && &r[10] == "1"));
    // The floor: the private sector's row carries no number.
    let private: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| r[0] == forum.code && &r[2] == "2" && &r[14] == "Private sector")
        .collect();
    assert_eq!(private.len(), 1);
    assert!(private[0][7].is_empty() && private[0][10].is_empty());
    assert!(private[0][9].starts_with("suppressed"));
    // The question from the room.
    assert!(rows
        .iter()
        .any(|r| r[0] == forum.code && &r[4] == "qa" && &r[5] == "Who drafted the text?"));
}

/// The organiser's socket to event `id`, past hello.
async fn overview_socket(app: &TestApp, id: &str, token: &str) -> Ws {
    let (stream, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/events/{id}", app.port))
            .await
            .expect("the overview socket connects");
    let mut ws = Ws::from_stream(stream);
    ws.send(json!({"type": "hello", "role": "organiser", "token": token}))
        .await;
    ws
}

#[tokio::test]
async fn the_overview_socket_pushes_every_room_when_it_changes() {
    let app = spawn_app();
    let e = create_event(&app, "Forum", None).await;
    let a = room(&app, &e, "Room A").await;
    let b = room(&app, &e, "Room B").await;
    let mut overview = overview_socket(&app, &e.id, &e.token).await;
    let first = overview.recv_type("event").await;
    assert_eq!(first["event"]["title"], "Forum");
    assert_eq!(first["event"]["sessions"].as_array().unwrap().len(), 2);

    // A vote in each room reaches the one socket.
    for s in [&a, &b] {
        let q = app.question_id(s, 0).await;
        app.question_action(s, &q, "open").await;
        let (_, p) = app.add_participant(&s.code, None).await;
        let pt = p["participant_token"].as_str().unwrap();
        assert!(app
            .put_ballot(&s.code, &q, pt, json!({"choice": 0}))
            .await
            .0
            .is_success());
    }
    let both = overview
        .recv_until("event", |v| {
            v["event"]["sessions"]
                .as_array()
                .is_some_and(|r| r.iter().all(|r| r["current"]["voters"] == 1))
        })
        .await;
    assert_eq!(both["event"]["sessions"][1]["code"], b.code.as_str());
    // Twenty votes in a row: a few frames, the last with every vote.
    let qa = app.question_id(&a, 0).await;
    let started = std::time::Instant::now();
    for _ in 0..20 {
        let (_, p) = app.add_participant(&a.code, None).await;
        let pt = p["participant_token"].as_str().unwrap();
        app.put_ballot(&a.code, &qa, pt, json!({"choice": 1})).await;
    }
    let mut frames = 0;
    loop {
        let f = overview.recv_type("event").await;
        frames += 1;
        if f["event"]["sessions"][0]["current"]["voters"] == 21 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    assert!(
        (frames as f64) <= secs * 4.0 + 2.0,
        "{frames} frames in {secs:.2} s: not coalesced"
    );
    // Nothing changes, nothing is sent.
    overview
        .assert_none(std::time::Duration::from_millis(1200), |v| {
            v["type"] == "event"
        })
        .await;

    // A wrong token is refused and closed; an unknown event is 404.
    let mut wrong = overview_socket(&app, &e.id, &a.token).await;
    assert_eq!(wrong.recv_type("error").await["code"], "unauthorized");
    assert_eq!(wrong.closed().await, Some(4401));
    let unknown = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{}/ws/events/6f1d1b7e-0000-4000-8000-000000000000",
        app.port
    ))
    .await;
    match unknown {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 404),
        other => panic!("expected 404, got {other:?}"),
    }

    // Ending the event ends the overview too.
    app.json(
        Method::DELETE,
        &format!("/api/events/{}", e.id),
        Some(&e.token),
        None,
    )
    .await;
    overview.recv_type("ended").await;
    assert_eq!(overview.closed().await, Some(1000));
}

#[tokio::test]
async fn an_event_deck_posted_creates_the_event_and_its_rooms() {
    let app = spawn_app();
    let deck = include_str!("../../decks/side-events.toml").to_owned();
    let (status, v) = app.post_deck(deck, None).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["event"]["title"], "Forum side events, Tuesday afternoon");
    let id = v["event"]["id"].as_str().unwrap();
    let token = v["event"]["organiser_token"].as_str().unwrap();
    let created: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(created.len(), 3);
    assert!(v["sessions"][0]["moderator_token"].is_string());
    let (_, e) = get_event(&app, id, Some(token)).await;
    let listed: Vec<&str> = e["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(listed, created);
    assert_eq!(e["sessions"][2]["title"], "Health workforce");
    assert_eq!(e["sessions"][2]["questions"], 2);
    // A mistake in one room creates nothing at all.
    let before = app.metrics().await;
    let (status, v) = app
        .post_deck(
            "event = \"F\"\n[[session]]\ntitle = \"A\"\n[[session]]\ntitle = \"B\"\n[[session.question]]\nkind = \"nope\"\nprompt = \"x\"\n".into(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("session 2 (\"B\"): question 1"));
    let sessions = |m: &str| {
        m.lines()
            .find(|l| l.starts_with("handsup_sessions "))
            .map(str::to_owned)
    };
    assert_eq!(sessions(&app.metrics().await), sessions(&before));
}

#[tokio::test]
async fn a_room_deleted_on_its_own_leaves_its_event() {
    let app = spawn_app();
    let e = create_event(&app, "Forum", None).await;
    let a = room(&app, &e, "Room A").await;
    let b = room(&app, &e, "Room B").await;
    let (status, _) = app.delete_session(&a.code, Some(&e.token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, v) = get_event(&app, &e.id, Some(&e.token)).await;
    let codes: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [b.code.as_str()]);
    // The report and the CSV hold the rooms left.
    let csv = app
        .get(&format!("/api/events/{}/export.csv", e.id))
        .bearer_auth(&e.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains(&b.code) && !csv.contains(&a.code));
}
