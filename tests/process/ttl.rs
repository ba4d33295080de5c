//! A session's time-to-live across a restart of the real binary.

use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Instant;

async fn status_of(app: &TestApp, code: &str) -> StatusCode {
    app.session_view(code, None).await.0
}

#[tokio::test]
async fn a_session_idle_past_its_time_to_live_is_deleted_for_good() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &["--session-ttl-s", "2"]);
    let idle = app.create_session(json!({"title": "Forgotten test"})).await;
    let held = app.create_session(json!({"title": "Plenary"})).await;
    let (mut projector, _) = app.join(&held.code, "projector", None).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while status_of(&app, &idle.code).await != StatusCode::NOT_FOUND {
        assert!(
            Instant::now() < deadline,
            "the idle session was not deleted"
        );
        projector
            .assert_none(Duration::from_millis(200), |v| v["type"] == "ended")
            .await;
    }
    // Past the time-to-live twice over, the one with a connection stays.
    projector
        .assert_none(Duration::from_secs(4), |v| v["type"] == "ended")
        .await;
    assert_eq!(status_of(&app, &held.code).await, StatusCode::OK);
    drop(projector);
    app.terminate();
    let app = spawn_durable(&dir, &["--session-ttl-days", "30"]);
    assert_eq!(status_of(&app, &idle.code).await, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&app, &held.code).await, StatusCode::OK);
    let _ = std::fs::remove_dir_all(&dir);
}
