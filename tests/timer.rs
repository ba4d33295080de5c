//! The timer on the server's own clock, with tokio's time paused: no real
//! waiting, and the close happens exactly when due.

use std::time::Duration;

use handsup::config::Config;
use handsup::domain::{QuestionState, Settings};
use handsup::hub::Hub;
use handsup::protocol::{parse_question_spec, QuestionAction};
use serde_json::json;
use uuid::Uuid;

#[tokio::test(start_paused = true)]
async fn an_open_question_with_a_duration_closes_by_itself_when_due() {
    let hub = Hub::new(Config::defaults());
    let spec = parse_question_spec(
        &json!({"kind": "single", "prompt": "Ready?", "options": ["Yes", "No"]}),
    )
    .unwrap();
    let live = hub
        .create_session("Panel".into(), Settings::default(), vec![spec])
        .await
        .unwrap();
    let q: Uuid = live.view(true, "")["questions"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let opened = live
        .act(
            q,
            QuestionAction::Open {
                duration_s: Some(90),
            },
        )
        .await
        .unwrap();
    let closes_at = opened["closes_at"].as_i64().unwrap();
    let state = |live: &handsup::session::LiveSession| {
        live.read(|s, _| s.question(q).map(|q| q.state).unwrap())
    };

    tokio::time::sleep(Duration::from_millis(89_900)).await;
    assert_eq!(state(&live), QuestionState::Open, "not before closes_at");
    assert!(live.now_ms() < closes_at);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(state(&live), QuestionState::Closed);
    assert!(live.now_ms() >= closes_at);

    // Reopened without a duration, it stays open.
    live.act(q, QuestionAction::Open { duration_s: None })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(state(&live), QuestionState::Open);
}

#[tokio::test(start_paused = true)]
async fn reopening_with_a_new_duration_replaces_the_old_timer() {
    let hub = Hub::new(Config::defaults());
    let spec = parse_question_spec(&json!({"kind": "scale", "prompt": "How useful?"})).unwrap();
    let live = hub
        .create_session("Panel".into(), Settings::default(), vec![spec])
        .await
        .unwrap();
    let q: Uuid = live.view(true, "")["questions"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    live.act(
        q,
        QuestionAction::Open {
            duration_s: Some(10),
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    live.act(
        q,
        QuestionAction::Open {
            duration_s: Some(60),
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let open = live.read(|s, _| s.question(q).unwrap().state);
    assert_eq!(
        open,
        QuestionState::Open,
        "the first timer no longer closes it"
    );
    tokio::time::sleep(Duration::from_secs(56)).await;
    assert_eq!(
        live.read(|s, _| s.question(q).unwrap().state),
        QuestionState::Closed
    );
}
