//! An event and its rooms across a restart of the real binary: the event,
//! its membership and its organiser token come back, even after kill -9.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn an_event_and_its_rooms_survive_a_restart() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (status, e) = app
        .json(
            Method::POST,
            "/api/events",
            None,
            Some(json!({"title": "Side events"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let (id, token) = (
        e["id"].as_str().unwrap().to_owned(),
        e["organiser_token"].as_str().unwrap().to_owned(),
    );
    let mut codes = Vec::new();
    for title in ["Room A", "Room B"] {
        let s = app
            .create_session(json!({
                "title": title,
                "questions": [single("Tea?", &["Tea", "Coffee"])],
                "event": {"id": id, "organiser_token": token},
            }))
            .await;
        codes.push(s.code);
    }
    app.kill9();

    let mut app = spawn_durable(&dir, &[]);
    let (status, v) = app
        .json(
            Method::GET,
            &format!("/api/events/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["title"], "Side events");
    let listed: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(listed, codes.iter().map(String::as_str).collect::<Vec<_>>());
    // The organiser token still acts as moderator, over HTTP and the socket.
    let (status, _) = app
        .add_question_as(&codes[1], Some(&token), single("More?", &["Yes", "No"]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, welcome) = app.join(&codes[0], "moderator", Some(&token)).await;
    assert_eq!(welcome["role"], "moderator");
    // Ended, then restarted: the event stays gone.
    let (status, _) = app
        .json(
            Method::DELETE,
            &format!("/api/events/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.terminate();
    let app = spawn_durable(&dir, &[]);
    let (status, body): (StatusCode, Value) = app
        .json(
            Method::GET,
            &format!("/api/events/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        app.session_view(&codes[0], None).await.0,
        StatusCode::NOT_FOUND
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Cluster mode has no events yet: creating one, or a session that joins
/// one, is refused clearly, and nothing is half made.
#[tokio::test]
async fn cluster_mode_refuses_events_clearly() {
    let redis = crate::redis::Redis::start();
    let node = crate::redis::spawn_node(&redis, &[]);
    let (status, body) = node
        .json(
            Method::POST,
            "/api/events",
            None,
            Some(json!({"title": "F"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("standalone"),
        "{body}"
    );
    let (status, body) = node
        .try_create_session(
            json!({"title": "R", "event": {"id": "6f1d1b7e-0000-4000-8000-000000000000", "organiser_token": "x"}}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("standalone"));
    let (status, _) = node
        .json(
            Method::GET,
            "/api/events/6f1d1b7e-0000-4000-8000-000000000000",
            Some("x"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
