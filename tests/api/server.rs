//! What the server offers besides the API: health, metrics, the QR code and
//! the pages with their security headers; sockets from other sites; the
//! connection cap giving back the places of closed sockets.

use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn health_metrics_qr_and_pages_are_served() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&qid, json!(0)).await;
    phone.vote(&qid, json!(5)).await;
    assert_eq!(app.healthz().await, StatusCode::OK);
    let metrics = app.metrics().await;
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
    let resp = app.page(&format!("/api/sessions/{}/qr.svg", s.code)).await;
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    assert!(resp.text().await.unwrap().contains("<svg"));
    for path in [
        "/".to_owned(),
        format!("/{}", s.code),
        format!("/{}/screen", s.code),
        format!("/{}/moderate", s.code),
    ] {
        let resp = app.page(&path).await;
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
    let resp = app.page("/12345x/screen").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

async fn ws_with_origin(app: &TestApp, code: &str, origin: &str) -> Result<(), u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = app.ws_url(code).into_client_request().unwrap();
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
        assert_eq!(app.try_ws(&s.code).await.err(), Some(503));
        // The server closes them all: the session ends.
        let (status, _) = app.delete_session(&s.code, Some(&s.token)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        for p in phones.iter_mut() {
            assert_eq!(p.closed().await, Some(1000), "round {round}");
        }
        drop(phones);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("handsup_connections{role=\"audience\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_projector_may_be_framed_by_a_configured_origin_only() {
    let app = spawn_app_with(&["--frame-ancestors", "https://stream.example.org"]);
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    let resp = app.page(&format!("/{}/screen", s.code)).await;
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
    let resp = plain.page("/").await;
    assert!(resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .ends_with("frame-ancestors 'self'"));
    assert_eq!(resp.headers()["x-frame-options"], "SAMEORIGIN");
}
