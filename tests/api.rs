//! The HTTP API and every row of the contract's error table, over HTTP and
//! over the socket, where the connection must survive each bad message.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn error_code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {v}"))
}

#[tokio::test]
async fn creating_a_session_returns_its_code_token_and_links() {
    let app = spawn_app();
    let s = app
        .create(json!({"title": "  Capacity building  ", "settings": {"qa_moderation": true}}))
        .await;
    assert_eq!(s.code.len(), 6);
    assert!(s.code.bytes().all(|b| b.is_ascii_digit()));
    assert!(s.token.len() >= 22);
    assert_eq!(s.body["title"], "Capacity building");
    let urls = &s.body["urls"];
    assert!(urls["audience"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/{}", s.code)));
    assert!(urls["projector"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/{}/screen", s.code)));
    assert!(urls["moderator"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/{}/moderate#token={}", s.code, s.token)));
    let (status, view) = app
        .request(
            Method::GET,
            &format!("/api/sessions/{}", s.code),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["code"], s.code.as_str());
    assert_eq!(view["settings"]["qa_moderation"], true);
    assert!(view["current"].is_null());
}

#[tokio::test]
async fn the_question_life_cycle_over_http() {
    let app = spawn_app();
    let s = app.create(json!({"title": "Panel"})).await;
    let base = format!("/api/sessions/{}", s.code);
    let t = Some(s.token.as_str());
    let (status, q) = app
        .request(
            Method::POST,
            &format!("{base}/questions"),
            t,
            Some(single("Which works?", &["A", "B"])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(q["state"], "draft");
    assert_eq!(q["results_visible"], false);
    let qid = q["id"].as_str().unwrap().to_owned();
    let (_, q) = app
        .request(
            Method::POST,
            &format!("{base}/questions/{qid}/open"),
            t,
            Some(json!({"duration_s": 60})),
        )
        .await;
    assert_eq!(q["state"], "open");
    assert!(q["closes_at"].as_i64().unwrap() > 0);
    let (status, p) = app
        .request(
            Method::POST,
            &format!("{base}/participants"),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let pt = p["participant_token"].as_str().unwrap().to_owned();
    let ballot = format!("{base}/questions/{qid}/ballot");
    let (status, v) = app
        .request(Method::PUT, &ballot, Some(&pt), Some(json!({"choice": 1})))
        .await;
    assert_eq!((status, v), (StatusCode::OK, json!({"accepted": true})));
    let (_, q) = app
        .request(
            Method::POST,
            &format!("{base}/questions/{qid}/reveal"),
            t,
            None,
        )
        .await;
    assert_eq!(q["results_visible"], true);
    // Revealed, the public view carries the tally once it is published.
    let mut shown = Value::Null;
    for _ in 0..50 {
        let (_, view) = app.request(Method::GET, &base, None, None).await;
        shown = view["tallies"][&qid].clone();
        if !shown.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counts(&shown), vec![0, 1]);
    let (_, q) = app
        .request(
            Method::POST,
            &format!("{base}/questions/{qid}/close"),
            t,
            None,
        )
        .await;
    assert_eq!(q["state"], "closed");
    let (status, e) = app
        .request(Method::PUT, &ballot, Some(&pt), Some(json!({"choice": 0})))
        .await;
    assert_eq!((status, error_code(&e)), (StatusCode::CONFLICT, "not_open"));
    let results = app.results(&s).await;
    assert_eq!(counts(&results["questions"][0]["tally"]), vec![0, 1]);
    let (_, q) = app
        .request(
            Method::POST,
            &format!("{base}/questions/{qid}/reset"),
            t,
            None,
        )
        .await;
    assert_eq!(q["state"], "closed");
    assert_eq!(
        counts(&app.results(&s).await["questions"][0]["tally"]),
        vec![0, 0]
    );
    let (status, _) = app
        .request(
            Method::POST,
            &format!("{base}/present"),
            t,
            Some(json!({"question_id": qid})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, view) = app.request(Method::GET, &base, None, None).await;
    assert_eq!(view["current"], qid.as_str());
    let (status, _) = app
        .request(Method::DELETE, &format!("{base}/questions/{qid}"), t, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, view) = app.request(Method::GET, &base, None, None).await;
    assert!(view["current"].is_null());
    assert_eq!(view["questions"], json!([]));
}

#[tokio::test]
async fn a_ballot_over_http_and_one_over_the_socket_are_the_same_ballot() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, welcome) = app.join(&s.code, "audience", None).await;
    let pt = welcome["participant_token"].as_str().unwrap().to_owned();
    phone.vote(&qid, json!(0)).await;
    let ballot = format!("/api/sessions/{}/questions/{qid}/ballot", s.code);
    app.request(Method::PUT, &ballot, Some(&pt), Some(json!({"choice": 1})))
        .await;
    let t = &app.results(&s).await["questions"][0]["tally"];
    assert_eq!((counts(t), t["voters"].as_u64()), (vec![0, 1], Some(1)));
    let (status, _) = app.request(Method::DELETE, &ballot, Some(&pt), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.results(&s).await["questions"][0]["tally"]["voters"], 0);
}

#[tokio::test]
async fn every_error_code_over_http() {
    let app = spawn_app_with(&["--rate-per-sec", "20"]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let base = format!("/api/sessions/{}", s.code);
    let (_, p) = app
        .request(Method::POST, &format!("{base}/participants"), None, None)
        .await;
    let pt = p["participant_token"].as_str().unwrap().to_owned();
    let ballot = format!("{base}/questions/{qid}/ballot");

    // bad_request: malformed JSON, missing and ill-typed fields.
    let (status, e) = app
        .raw(Method::POST, "/api/sessions", None, "{\"title\": ")
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let (status, e) = app
        .request(
            Method::POST,
            "/api/sessions",
            None,
            Some(json!({"title": 7})),
        )
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let (status, e) = app
        .request(
            Method::POST,
            "/api/sessions",
            None,
            Some(json!({"questions": []})),
        )
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    // unauthorized: no token, wrong token.
    let (status, e) = app
        .request(Method::GET, &format!("{base}/results"), None, None)
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, e) = app
        .request(Method::GET, &format!("{base}/results"), Some("nope"), None)
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    // forbidden: a participant's token on a moderator call.
    let (status, e) = app
        .request(
            Method::POST,
            &format!("{base}/questions/{qid}/close"),
            Some(&pt),
            None,
        )
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    // not_found: session, question, action.
    let (status, e) = app
        .request(Method::GET, "/api/sessions/000000", None, None)
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let missing = format!("{base}/questions/{}/ballot", uuid_like());
    let (status, e) = app
        .request(Method::PUT, &missing, Some(&pt), Some(json!({"choice": 0})))
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, e) = app
        .request(
            Method::POST,
            &format!("{base}/questions/{qid}/explode"),
            Some(&s.token),
            None,
        )
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    // invalid_choice: out of range, wrong shape.
    let (status, e) = app
        .request(Method::PUT, &ballot, Some(&pt), Some(json!({"choice": 5})))
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_choice")
    );
    let (status, e) = app
        .request(
            Method::PUT,
            &ballot,
            Some(&pt),
            Some(json!({"choice": [0]})),
        )
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_choice")
    );
    // too_large: a field over its limit, and a body over the limit.
    let (status, e) = app
        .request(
            Method::POST,
            &format!("{base}/questions"),
            Some(&s.token),
            Some(single(&"x".repeat(501), &["a", "b"])),
        )
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );
    let huge = json!({"title": "t".repeat(70 * 1024)});
    let (status, e) = app
        .request(Method::POST, "/api/sessions", None, Some(huge))
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );
    // not_open: the question is closed.
    app.request(
        Method::POST,
        &format!("{base}/questions/{qid}/close"),
        Some(&s.token),
        None,
    )
    .await;
    let (status, e) = app
        .request(Method::PUT, &ballot, Some(&pt), Some(json!({"choice": 0})))
        .await;
    assert_eq!((status, error_code(&e)), (StatusCode::CONFLICT, "not_open"));
}

fn uuid_like() -> &'static str {
    "6f1c2a56-0000-4000-8000-000000000000"
}

#[tokio::test]
async fn every_error_code_over_the_socket_and_the_connection_survives() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;

    // bad_request: malformed JSON (with and without a readable ref), unknown type, missing field.
    phone.send_text("{not json".into()).await;
    assert_eq!(phone.recv_type("error").await["code"], "bad_request");
    let e = phone.call(json!({"type": "teleport"})).await;
    assert_eq!(e["code"], "bad_request");
    let e = phone.call(json!({"type": "vote", "choice": 1})).await;
    assert_eq!(e["code"], "bad_request");
    phone
        .send(json!({"type": "vote", "question_id": qid, "choice": 1, "ref": 5}))
        .await;
    assert_eq!(phone.recv_type("error").await["code"], "bad_request");
    phone
        .stream
        .send(tokio_tungstenite::tungstenite::Message::Binary(
            vec![1, 2, 3].into(),
        ))
        .await
        .unwrap();
    assert_eq!(phone.recv_type("error").await["code"], "bad_request");
    // forbidden: the audience may not act as moderator, nor the moderator vote.
    let e = phone
        .call(json!({"type": "close", "question_id": qid}))
        .await;
    assert_eq!(e["code"], "forbidden");
    let e = moderator.vote(&qid, json!(0)).await;
    assert_eq!(e["code"], "forbidden");
    // not_found: no such question.
    let e = phone.vote(uuid_like(), json!(0)).await;
    assert_eq!(e["code"], "not_found");
    // invalid_choice.
    let e = phone.vote(&qid, json!(9)).await;
    assert_eq!(e["code"], "invalid_choice");
    let e = phone.vote(&qid, json!(1e300)).await;
    assert_eq!(e["code"], "invalid_choice");
    // too_large: a field over its limit, and a ref over 64 characters.
    let e = moderator
        .call(json!({"type": "add_question", "question": single(&"p".repeat(501), &["a", "b"])}))
        .await;
    assert_eq!(e["code"], "too_large");
    phone
        .send(json!({"type": "retract", "question_id": qid, "ref": "r".repeat(65)}))
        .await;
    assert_eq!(phone.recv_type("error").await["code"], "too_large");
    // not_open.
    moderator
        .call(json!({"type": "close", "question_id": qid}))
        .await;
    let e = phone.vote(&qid, json!(0)).await;
    assert_eq!(e["code"], "not_open");
    moderator
        .call(json!({"type": "open", "question_id": qid}))
        .await;
    // After all that, the same socket still votes.
    assert_eq!(phone.vote(&qid, json!(1)).await["type"], "ack");
    // unauthorized: a wrong moderator token gets the error and close 4401.
    let mut intruder = app.ws(&s.code).await;
    intruder
        .send(json!({"type": "hello", "role": "moderator", "token": "guess"}))
        .await;
    assert_eq!(intruder.recv_type("error").await["code"], "unauthorized");
    assert_eq!(intruder.closed().await, Some(4401));
}

#[tokio::test]
async fn flooding_is_rate_limited_then_closed_and_honest_pacing_is_not() {
    let app = spawn_app_with(&["--rate-per-sec", "20", "--rate-burst", "40"]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    for i in 0..60 {
        phone.send(json!({"type": "vote", "question_id": qid, "choice": i % 2, "ref": format!("f{i}")})).await;
    }
    let limited = phone
        .recv_until("rate_limited", |v| v["code"] == "rate_limited")
        .await;
    assert!(limited["ref"].as_str().unwrap().starts_with('f'));
    // Wait for the bucket to refill: the socket works again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(phone.vote(&qid, json!(1)).await["type"], "ack");

    // Sustained flooding ends with close 1008.
    let (mut flood, _) = app.join(&s.code, "audience", None).await;
    for _ in 0..400 {
        if flood
            .stream
            .send(tokio_tungstenite::tungstenite::Message::Text(
                json!({"type": "retract", "question_id": qid})
                    .to_string()
                    .into(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(flood.closed().await, Some(1008));
    // Nobody else noticed.
    assert_eq!(phone.vote(&qid, json!(0)).await["type"], "ack");
}

#[tokio::test]
async fn a_frame_over_the_limit_closes_with_1009() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    let big = json!({"type": "ask", "text": "x".repeat(17 * 1024)}).to_string();
    phone.send_text(big).await;
    assert_eq!(phone.closed().await, Some(1009));
    let (mut other, _) = app.join(&s.code, "audience", None).await;
    assert_eq!(other.vote(&qid, json!(0)).await["type"], "ack");
}

#[tokio::test]
async fn a_socket_without_hello_is_closed_with_4408() {
    let app = spawn_app_with(&["--hello-timeout-s", "1"]);
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    let mut ws = app.ws(&s.code).await;
    ws.send(json!({"type": "vote"})).await;
    assert_eq!(ws.recv_type("error").await["code"], "bad_request");
    assert_eq!(ws.closed().await, Some(4408));
}

#[tokio::test]
async fn an_unknown_code_refuses_the_upgrade_with_404() {
    let app = spawn_app();
    let err = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/999999", app.port))
        .await
        .unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 404),
        other => panic!("expected a 404, got {other:?}"),
    }
}

#[tokio::test]
async fn an_admin_token_restricts_session_creation() {
    let app = spawn_app_with(&["--admin-token", "let-me-in"]);
    let (status, e) = app
        .request(
            Method::POST,
            "/api/sessions",
            None,
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, _) = app
        .request(
            Method::POST,
            "/api/sessions",
            Some("let-me-in"),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn specs_are_validated_with_precise_errors() {
    let app = spawn_app();
    let s = app.create(json!({"title": "Panel"})).await;
    let path = format!("/api/sessions/{}/questions", s.code);
    let thirteen: Vec<String> = (0..13).map(|i| format!("o{i}")).collect();
    for (spec, code) in [
        (
            json!({"kind": "single", "prompt": "p", "options": ["only"]}),
            "bad_request",
        ),
        (
            json!({"kind": "single", "prompt": "p", "options": thirteen}),
            "too_large",
        ),
        (
            json!({"kind": "single", "prompt": "p", "options": ["Same", "same"]}),
            "bad_request",
        ),
        (
            json!({"kind": "single", "prompt": " ", "options": ["a", "b"]}),
            "bad_request",
        ),
        (
            json!({"kind": "scale", "prompt": "p", "min": 5, "max": 1}),
            "bad_request",
        ),
        (json!({"kind": "teleport", "prompt": "p"}), "bad_request"),
        (
            json!({"kind": "single", "prompt": "p", "options": ["a", "b"], "correct": [2]}),
            "bad_request",
        ),
        (
            json!({"kind": "single", "prompt": "p", "options": ["a", "b"], "translations": {"fr": {"prompt": "q", "options": ["x"]}}}),
            "bad_request",
        ),
    ] {
        let (_, e) = app
            .request(Method::POST, &path, Some(&s.token), Some(spec.clone()))
            .await;
        assert_eq!(error_code(&e), code, "{spec}: {e}");
    }
}

#[tokio::test]
async fn health_metrics_qr_and_pages_are_served() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&qid, json!(0)).await;
    phone.vote(&qid, json!(5)).await;
    let (status, _) = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, Value::String(metrics)) = app.request(Method::GET, "/metrics", None, None).await else {
        panic!("metrics are text")
    };
    assert!(
        metrics.contains("handsup_connections{role=\"audience\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("handsup_votes_accepted_total 1"));
    assert!(metrics.contains("handsup_votes_rejected_total{reason=\"invalid_choice\"} 1"));
    // The accepted vote's ack is timed; the refused one is not.
    assert!(
        metrics.contains("handsup_vote_ack_seconds_count 1"),
        "{metrics}"
    );
    let resp = app
        .http
        .get(format!("{}/api/sessions/{}/qr.svg", app.base, s.code))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    assert!(resp.text().await.unwrap().contains("<svg"));
    for path in [
        "/".to_owned(),
        format!("/{}", s.code),
        format!("/{}/screen", s.code),
        format!("/{}/moderate", s.code),
    ] {
        let resp = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!csp.contains("unsafe-inline"));
        assert!(
            resp.text()
                .await
                .unwrap()
                .to_lowercase()
                .contains("<!doctype html"),
            "{path}"
        );
    }
    let resp = app
        .http
        .get(format!("{}/12345x/screen", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

async fn ws_with_origin(app: &TestApp, code: &str, origin: &str) -> Result<(), u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://127.0.0.1:{}/ws/{code}", app.port)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("origin", origin.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn sockets_from_another_site_are_refused() {
    let app = spawn_app_with(&["--allowed-origins", "https://intranet.example.org"]);
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    assert_eq!(
        ws_with_origin(&app, &s.code, "https://evil.example").await,
        Err(403)
    );
    assert_eq!(
        ws_with_origin(
            &app,
            &s.code,
            &format!("http://127.0.0.1:{}.evil.example", app.port)
        )
        .await,
        Err(403)
    );
    assert_eq!(
        ws_with_origin(&app, &s.code, &format!("http://127.0.0.1:{}", app.port)).await,
        Ok(())
    );
    assert_eq!(
        ws_with_origin(&app, &s.code, "https://intranet.example.org").await,
        Ok(())
    );
}

#[tokio::test]
async fn sockets_closed_by_the_server_free_their_place_under_the_cap() {
    let app = spawn_app_with(&["--max-connections", "3"]);
    for round in 0..3 {
        let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
        let mut phones = Vec::new();
        for _ in 0..3 {
            phones.push(app.join(&s.code, "audience", None).await.0);
        }
        assert_eq!(phones[0].vote(&qid, json!(0)).await["type"], "ack");
        // A fourth is refused, clearly.
        let err =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/{}", app.port, s.code))
                .await
                .unwrap_err();
        match err {
            tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 503),
            other => panic!("expected 503, got {other:?}"),
        }
        // The server closes them all: the session ends.
        let (status, _) = app
            .request(
                Method::DELETE,
                &format!("/api/sessions/{}", s.code),
                Some(&s.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        for p in phones.iter_mut() {
            assert_eq!(p.closed().await, Some(1000), "round {round}");
        }
        drop(phones);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, Value::String(metrics)) = app.request(Method::GET, "/metrics", None, None).await else {
        panic!("metrics are text")
    };
    assert!(
        metrics.contains("handsup_connections{role=\"audience\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_projector_may_be_framed_by_a_configured_origin_only() {
    let app = spawn_app_with(&["--frame-ancestors", "https://stream.example.org"]);
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    let resp = app
        .http
        .get(format!("{}/{}/screen", app.base, s.code))
        .send()
        .await
        .unwrap();
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'self' https://stream.example.org"),
        "{csp}"
    );
    assert!(resp.headers().get("x-frame-options").is_none());
    let plain = spawn_app();
    let resp = plain
        .http
        .get(format!("{}/", plain.base))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .ends_with("frame-ancestors 'self'"));
    assert_eq!(resp.headers()["x-frame-options"], "SAMEORIGIN");
}
