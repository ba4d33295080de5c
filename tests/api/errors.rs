//! Every row of the contract's error table, over HTTP and over the socket,
//! where the connection must survive each bad message; floods, oversized
//! frames, a socket without hello and an unknown code.

use std::time::Duration;

use crate::support::*;
use futures_util::SinkExt;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn every_error_code_over_http() {
    let app = spawn_app_with(&["--rate-per-sec", "20"]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (_, p) = app.add_participant(&s.code, None).await;
    let pt = p["participant_token"].as_str().unwrap().to_owned();

    // bad_request: malformed JSON, missing and ill-typed fields.
    assert_error(
        app.create_session_from_text("{\"title\": ").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        app.try_create_session(json!({"title": 7}), None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        app.try_create_session(json!({"questions": []}), None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    // unauthorized: no token, wrong token.
    assert_error(
        app.results_as(&s.code, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        app.results_as(&s.code, Some("nope")).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    // forbidden: a participant's token on a moderator call.
    assert_error(
        app.question_action_as(&s.code, &qid, "close", Some(&pt), None)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // not_found: session, question, action.
    assert_error(
        app.session_view("000000", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        app.put_ballot(&s.code, uuid_like(), &pt, json!({"choice": 0}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        app.question_action(&s, &qid, "explode").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // invalid_choice: out of range, wrong shape.
    assert_error(
        app.put_ballot(&s.code, &qid, &pt, json!({"choice": 5}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_choice",
    );
    assert_error(
        app.put_ballot(&s.code, &qid, &pt, json!({"choice": [0]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_choice",
    );
    // too_large: a field over its limit, and a body over the limit.
    assert_error(
        app.add_question(&s, single(&"x".repeat(501), &["a", "b"]))
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    );
    let huge = json!({"title": "t".repeat(70 * 1024)});
    assert_error(
        app.try_create_session(huge, None).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    );
    // not_open: the question is closed.
    app.question_action(&s, &qid, "close").await;
    assert_error(
        app.put_ballot(&s.code, &qid, &pt, json!({"choice": 0}))
            .await,
        StatusCode::CONFLICT,
        "not_open",
    );
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
    let e = phone.act("close", &qid).await;
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
    moderator.act("close", &qid).await;
    let e = phone.vote(&qid, json!(0)).await;
    assert_eq!(e["code"], "not_open");
    moderator.act("open", &qid).await;
    // After all that, the same socket still votes.
    assert_eq!(phone.vote(&qid, json!(1)).await["type"], "ack");
    // unauthorized: a wrong moderator token gets the error and close 4401.
    let mut intruder = app.ws(&s.code).await;
    intruder.hello("moderator", Some("guess")).await;
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
    assert_eq!(app.try_ws("999999").await.err(), Some(404));
}
