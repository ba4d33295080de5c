//! The timer on the server's own clock, with tokio's time paused: no real
//! waiting, and the close happens exactly when due.

use std::time::Duration;

use handsup::config::Config;
use handsup::domain::{QuestionState, Settings};
use handsup::live::registry::Hub;
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
    let q: Uuid = live.view(true, "").questions[0].id;
    let opened = live
        .act(
            q,
            QuestionAction::Open {
                duration_s: Some(90),
            },
        )
        .await
        .unwrap();
    let closes_at = opened.closes_at.unwrap();
    let state = |live: &handsup::live::session::LiveSession| {
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
    let q: Uuid = live.view(true, "").questions[0].id;
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

/// A vote that arrives after `closes_at` is refused even when the timer task
/// that closes the question has not run yet (a busy server): the domain
/// checks the time of the ballot, not only the state.
#[test]
fn a_ballot_after_closes_at_is_refused_before_the_timer_closes_the_question() {
    use handsup::domain::{Limits, RawChoice, Session};
    let limits = Limits::default();
    let mut s = Session::new(
        Uuid::new_v4(),
        "123456".into(),
        "Panel".into(),
        "token".into(),
        Settings::default(),
        0,
        &limits,
    )
    .unwrap();
    let spec = parse_question_spec(
        &json!({"kind": "single", "prompt": "Ready?", "options": ["Yes", "No"]}),
    )
    .unwrap();
    let q = Uuid::new_v4();
    s.add_question(q, spec, &limits).unwrap();
    let p = s.join(Uuid::new_v4(), "p".into(), 0, &limits).unwrap();
    s.open(q, 1000, Some(500)).unwrap();
    let at = |t: i64| (Uuid::nil(), t);
    s.vote(p, q, RawChoice::Int(0), at(1499)).unwrap();
    // 1 ms late: the question is still open in the state, but its time is up.
    let e = s.vote(p, q, RawChoice::Int(1), at(1500)).unwrap_err();
    assert_eq!(e.code, handsup::error::ErrorCode::NotOpen, "{}", e.message);
    let e = s.retract_at(p, q, 1500).unwrap_err();
    assert_eq!(e.code, handsup::error::ErrorCode::NotOpen);
    assert_eq!(s.question(q).unwrap().state, QuestionState::Open);
    // The ballot cast in time stands.
    let ballots: Vec<_> = s.ballots_of(p).collect();
    assert_eq!(ballots.len(), 1);
    // A question without a timer takes votes whatever the time.
    s.open(q, 1000, None).unwrap();
    s.vote(p, q, RawChoice::Int(1), at(i64::MAX)).unwrap();
    assert!(s.retract_at(p, q, i64::MAX).unwrap());
}
