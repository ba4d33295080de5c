//! Sessions and questions over HTTP: a session is created with its code,
//! token and links; a question goes from draft to open, revealed, closed,
//! reset, presented and deleted; a ballot over HTTP and one over the socket
//! are the same ballot; specs and the admin token are checked.

use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn creating_a_session_returns_its_code_token_and_links() {
    let app = spawn_app();
    let s = app
        .create_session(
            json!({"title": "  Capacity building  ", "settings": {"qa_moderation": true}}),
        )
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
    let (status, view) = app.session_view(&s.code, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["code"], s.code.as_str());
    assert_eq!(view["settings"]["qa_moderation"], true);
    assert!(view["current"].is_null());
}

#[tokio::test]
async fn the_question_life_cycle_over_http() {
    let app = spawn_app();
    let s = app.create_session(json!({"title": "Panel"})).await;
    let _t = Some(s.token.as_str());
    let (status, q) = app
        .add_question(&s, single("Which works?", &["A", "B"]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(q["state"], "draft");
    assert_eq!(q["results_visible"], false);
    let qid = q["id"].as_str().unwrap().to_owned();
    let (_, q) = app
        .open_question_with(&s, &qid, json!({"duration_s": 60}))
        .await;
    assert_eq!(q["state"], "open");
    assert!(q["closes_at"].as_i64().unwrap() > 0);
    let (status, p) = app.add_participant(&s.code, Some(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let pt = p["participant_token"].as_str().unwrap().to_owned();
    let (status, v) = app
        .put_ballot(&s.code, &qid, &pt, json!({"choice": 1}))
        .await;
    assert_eq!((status, v), (StatusCode::OK, json!({"accepted": true})));
    let (_, q) = app.question_action(&s, &qid, "reveal").await;
    assert_eq!(q["results_visible"], true);
    // Revealed, the public view carries the tally once it is published.
    let mut shown = Value::Null;
    for _ in 0..50 {
        let (_, view) = app.session_view(&s.code, None).await;
        shown = view["tallies"][&qid].clone();
        if !shown.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counts(&shown), vec![0, 1]);
    let (_, q) = app.question_action(&s, &qid, "close").await;
    assert_eq!(q["state"], "closed");
    assert_error(
        app.put_ballot(&s.code, &qid, &pt, json!({"choice": 0}))
            .await,
        StatusCode::CONFLICT,
        "not_open",
    );
    let results = app.results(&s).await;
    assert_eq!(counts(&results["questions"][0]["tally"]), vec![0, 1]);
    let (_, q) = app.question_action(&s, &qid, "reset").await;
    assert_eq!(q["state"], "closed");
    assert_eq!(
        counts(&app.results(&s).await["questions"][0]["tally"]),
        vec![0, 0]
    );
    let (status, _) = app.present(&s, json!({"question_id": qid})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, view) = app.session_view(&s.code, None).await;
    assert_eq!(view["current"], qid.as_str());
    let (status, _) = app.delete_question(&s, &qid).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, view) = app.session_view(&s.code, None).await;
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
    app.put_ballot(&s.code, &qid, &pt, json!({"choice": 1}))
        .await;
    let t = &app.results(&s).await["questions"][0]["tally"];
    assert_eq!((counts(t), t["voters"].as_u64()), (vec![0, 1], Some(1)));
    let (status, _) = app.delete_ballot(&s.code, &qid, &pt).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.results(&s).await["questions"][0]["tally"]["voters"], 0);
}

#[tokio::test]
async fn an_admin_token_restricts_session_creation() {
    let app = spawn_app_with(&["--admin-token", "let-me-in"]);
    assert_error(
        app.try_create_session(json!({"title": "x"}), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let (status, _) = app
        .try_create_session(json!({"title": "x"}), Some("let-me-in"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn specs_are_validated_with_precise_errors() {
    let app = spawn_app();
    let s = app.create_session(json!({"title": "Panel"})).await;
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
        let (_, e) = app.add_question(&s, spec.clone()).await;
        assert_eq!(error_code(&e), code, "{spec}: {e}");
    }
}

#[tokio::test]
async fn show_digest_puts_the_current_digest_in_the_session_view() {
    let dir = temp_dir();
    let app = spawn_app_durable(&dir);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (status, view) = app.session_view(&s.code, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["settings"]["show_digest"], false);
    assert!(view.get("digest").is_none(), "off: no digest: {view}");

    let (status, view) = app
        .patch_session(
            &s.code,
            Some(&s.token),
            json!({"settings": {"show_digest": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["settings"]["show_digest"], true);
    assert_eq!(view["settings"]["qa_moderation"], false, "left as it was");
    let (mut phone, w) = app.join(&s.code, "audience", None).await;
    assert_eq!(
        w["session"]["digest"],
        app.results(&s).await["session"]["digest"],
        "the welcome carries the digest"
    );
    assert_eq!(phone.vote(&qid, json!(1)).await["type"], "ack");
    let digest = app.results(&s).await["session"]["digest"].clone();
    assert_ne!(w["session"]["digest"], digest, "a vote moves it");
    let (_, view) = app.session_view(&s.code, None).await;
    assert_eq!(
        view["digest"], digest,
        "the public view has the current one"
    );

    let (status, body) = app
        .patch_session(
            &s.code,
            Some(&s.token),
            json!({"settings": {"show_digest": "yes"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = app
        .patch_session(&s.code, None, json!({"settings": {"show_digest": false}}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn in_memory_show_digest_shows_no_digest() {
    let app = spawn_app();
    let s = app
        .create_session(json!({"title": "T", "settings": {"show_digest": true}}))
        .await;
    let (_, view) = app.session_view(&s.code, None).await;
    assert_eq!(view["settings"]["show_digest"], true);
    assert!(view.get("digest").is_none(), "nothing is chained: {view}");
    let (status, body) = app
        .try_create_session(json!({"title": "T", "settings": {"show_digest": 1}}), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("settings.show_digest"), "{body}");
}
