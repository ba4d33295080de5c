//! Decks over HTTP: a session made from a deck file, the deck downloaded
//! back, the errors a chair sees for a deck with a mistake, and the admin
//! token. Decks given at start-up are in `tests/process/startup.rs`.

use crate::support::{spawn_app, spawn_app_with, TestApp};
use reqwest::{header, StatusCode};
use serde_json::Value;

const EXAMPLE: &str = include_str!("../../decks/capacity-building.toml");

/// POSTs a deck (as plain text, no JSON content type) to `/api/decks`.
async fn post_deck(app: &TestApp, deck: String, token: Option<&str>) -> (StatusCode, Value) {
    app.post_deck(deck, token).await
}

fn error_of(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or_default(),
        body["error"]["message"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_deck_makes_a_session_and_comes_back_the_same() {
    let app = spawn_app();
    let (status, created) = post_deck(&app, EXAMPLE.to_owned(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // The same answer as POST /api/sessions.
    for field in ["id", "code", "title", "moderator_token"] {
        assert!(created[field].is_string(), "{field} in {created}");
    }
    let code = created["code"].as_str().unwrap();
    let token = created["moderator_token"].as_str().unwrap();
    assert!(created["urls"]["moderator"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/{code}/moderate#token={token}")));
    assert!(created["title"]
        .as_str()
        .unwrap()
        .starts_with("What role for capacity building"));

    // The session holds the deck's questions, as drafts.
    let (status, view) = app.session_view(code, Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    let questions = view["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 7);
    assert!(questions.iter().all(|q| q["state"] == "draft"));
    assert_eq!(questions[2]["correct"], serde_json::json!([2]));
    assert_eq!(
        questions[0]["translations"]["fr"]["prompt"],
        "Où travaillez-vous sur les migrations ?"
    );

    // Download it back: a TOML attachment that reads as the same deck.
    let resp = app.deck_toml(code, Some(token)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "application/toml; charset=utf-8"
    );
    let disposition = resp.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment") && disposition.contains(".toml"),
        "{disposition}"
    );
    let text = resp.text().await.unwrap();
    let original = handsup::protocol::deck::parse(EXAMPLE).unwrap();
    let back = handsup::protocol::deck::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, original, "{text}");

    // And the download is the moderator's alone.
    let resp = app.deck_toml(code, None).await;
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let status = app.deck_toml(code, Some("not-the-token")).await.status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let status = app.deck_toml("000000", Some(token)).await.status();
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_deck_with_a_mistake_gets_a_precise_error() {
    let app = spawn_app();

    let (status, body) = post_deck(
        &app,
        "title = \"Panel\"\n\n[[question]]\nkind = single\nprompt = \"Which?\"\n".into(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (code, message) = error_of(&body);
    assert_eq!(code, "bad_request");
    assert!(message.contains("line 4"), "{message}");

    let one_option = r#"
title = "Panel"

[[question]]
kind = "open"
prompt = "What should we discuss?"

[[question]]
kind = "scale"
prompt = "How useful was it?"

[[question]]
kind = "single"
prompt = "Coffee or tea?"
options = ["Coffee"]
"#;
    let (status, body) = post_deck(&app, one_option.into(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (code, message) = error_of(&body);
    assert_eq!(code, "bad_request");
    assert!(
        message.starts_with("question 3: options: a question needs at least 2 options"),
        "{message}"
    );

    // Over a field's limit is too_large, as for JSON.
    let long = format!(
        "title = \"Panel\"\n[[question]]\nkind = \"open\"\nprompt = \"{}\"\n",
        "x".repeat(501)
    );
    let (status, body) = post_deck(&app, long, None).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(&body).0, "too_large");
    assert!(
        error_of(&body).1.starts_with("question 1: prompt"),
        "{body}"
    );

    // A body over the limit is too_large too.
    let huge = format!("title = \"Panel\"\n# {}\n", "x".repeat(70 * 1024));
    let (status, body) = post_deck(&app, huge, None).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_of(&body).0, "too_large");

    // A typo is not silently dropped.
    let (status, body) = post_deck(
        &app,
        "title = \"Panel\"\n[[questions]]\nkind = \"open\"\nprompt = \"x\"\n".into(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).1.contains("\"questions\""), "{body}");

    // Not UTF-8.
    let resp = app
        .post_deck_request(None)
        .body(vec![b't', b'=', 0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn creating_from_a_deck_needs_the_admin_token_where_there_is_one() {
    let app = spawn_app_with(&["--admin-token", "chair-secret"]);
    let (status, body) = post_deck(&app, EXAMPLE.to_owned(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = post_deck(&app, EXAMPLE.to_owned(), Some("guess")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = post_deck(&app, EXAMPLE.to_owned(), Some("chair-secret")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
