//! One live session driven directly, in memory: connections of each role
//! attached with their welcome, ballots reaching the boards, commands and
//! Q&A moderation reaching the roles that may see them. Time is paused, so
//! the publishers' intervals pass only when the test waits for them.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Attached, LiveSession};
use crate::config::Config;
use crate::domain::{RawChoice, Settings};
use crate::error::ErrorCode;
use crate::live::outbox::Next;
use crate::live::registry::Hub;
use crate::protocol::{parse_question_spec, QuestionAction, Role};
use crate::store::Storage;

const JOIN_URL: &str = "http://192.0.2.1:8080/123456";

/// A session in memory with one draft single-choice question; the hub is
/// kept so the session's shared state lives on.
async fn session(qa_moderation: bool) -> (Hub, Arc<LiveSession>, Uuid) {
    let hub = Hub::new(Config::defaults());
    assert!(matches!(hub.shared.storage, Storage::Memory));
    let spec = parse_question_spec(&json!({
        "kind": "single",
        "prompt": "Tea or coffee?",
        "options": ["Tea", "Coffee"],
    }))
    .unwrap();
    let live = hub
        .create_session(
            "Standup".into(),
            Settings {
                qa_moderation,
                ..Settings::default()
            },
            vec![spec],
        )
        .await
        .unwrap();
    let q = live.read(|s, _| s.questions()[0].id);
    (hub, live, q)
}

fn moderator_token(live: &LiveSession) -> String {
    live.secrets().0
}

async fn attach(live: &Arc<LiveSession>, role: Role) -> Attached {
    let token = (role == Role::Moderator).then(|| moderator_token(live));
    live.attach(role, token.as_deref(), JOIN_URL).await.unwrap()
}

/// The frames queued for a connection now, parsed; waits for none.
fn frames(a: &Attached) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(Next::Frames(batch)) = a.outbox.next().now_or_never() {
        out.extend(batch.iter().map(|f| serde_json::from_str(f).unwrap()));
    }
    out
}

/// The frames of one type queued for a connection now.
fn of_type(a: &Attached, kind: &str) -> Vec<Value> {
    frames(a)
        .into_iter()
        .filter(|f| f["type"] == kind)
        .collect()
}

/// The welcome, which is the first frame a connection gets.
fn welcome(a: &Attached) -> Value {
    let all = frames(a);
    assert_eq!(all[0]["type"], "welcome", "{all:?}");
    all[0].clone()
}

/// The tally of `q` on a connection's board now, if the board shows it.
fn board_tally(a: &Attached, q: Uuid) -> Option<Value> {
    let board = a.board.borrow().clone();
    let t = board.tallies.iter().find(|t| t.question_id == q)?;
    Some(serde_json::from_str(&t.frame).unwrap())
}

/// Lets the publishers run past both tally intervals.
async fn publish() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

#[tokio::test(start_paused = true)]
async fn each_role_is_welcomed_with_what_it_may_see() {
    let (_hub, live, q) = session(false).await;
    let moderator = attach(&live, Role::Moderator).await;
    let projector = attach(&live, Role::Projector).await;
    let phone = attach(&live, Role::Audience).await;

    let w = welcome(&moderator);
    assert_eq!(w["role"], "moderator");
    assert_eq!(w["session"]["code"], live.code.as_str());
    assert_eq!(w["session"]["join_url"], JOIN_URL);
    // The draft is the moderator's alone.
    assert_eq!(w["session"]["questions"][0]["id"], q.to_string());
    assert!(w.get("participant_token").is_none());

    let w = welcome(&projector);
    assert_eq!(w["role"], "projector");
    assert_eq!(w["session"]["questions"], json!([]));
    assert!(w.get("participant_token").is_none());

    let w = welcome(&phone);
    assert_eq!(w["role"], "audience");
    assert_eq!(w["session"]["questions"], json!([]));
    let token = w["participant_token"].as_str().unwrap();
    assert_eq!(live.participant_by_token(token), phone.participant);
    assert_eq!(w["ballots"], json!({}));
    assert_eq!(live.connection_count(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_wrong_moderator_token_is_refused_and_a_known_phone_comes_back() {
    let (_hub, live, _q) = session(false).await;
    let refused = live
        .attach(Role::Moderator, Some("not-the-token"), JOIN_URL)
        .await
        .err()
        .unwrap();
    assert_eq!(refused.code, ErrorCode::Unauthorized);
    assert_eq!(live.connection_count(), 0);

    let first = attach(&live, Role::Audience).await;
    let token = welcome(&first)["participant_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = live
        .attach(Role::Audience, Some(&token), JOIN_URL)
        .await
        .unwrap();
    assert_eq!(again.participant, first.participant);
    assert_eq!(welcome(&again)["participant_token"], token.as_str());
}

#[tokio::test(start_paused = true)]
async fn a_vote_reaches_the_moderator_board_and_the_public_ones_once_revealed() {
    let (_hub, live, q) = session(false).await;
    let moderator = attach(&live, Role::Moderator).await;
    let projector = attach(&live, Role::Projector).await;
    let phone = attach(&live, Role::Audience).await;
    live.act(q, QuestionAction::Open { duration_s: None })
        .await
        .unwrap();
    live.vote(phone.participant.unwrap(), q, RawChoice::Int(1))
        .await
        .unwrap();
    publish().await;

    let t = board_tally(&moderator, q).expect("the moderator sees the tally");
    assert_eq!(t["type"], "tally");
    assert_eq!(t["voters"], 1);
    assert_eq!(t["counts"], json!([0, 1]));
    // Results are hidden from the room until revealed.
    assert!(board_tally(&projector, q).is_none());
    assert!(board_tally(&phone, q).is_none());

    live.act(q, QuestionAction::Reveal).await.unwrap();
    publish().await;
    assert_eq!(board_tally(&projector, q).unwrap()["counts"], json!([0, 1]));
    assert_eq!(board_tally(&phone, q).unwrap()["counts"], json!([0, 1]));
}

#[tokio::test(start_paused = true)]
async fn a_vote_on_a_draft_is_refused_and_counts_nothing() {
    let (_hub, live, q) = session(false).await;
    let moderator = attach(&live, Role::Moderator).await;
    let phone = attach(&live, Role::Audience).await;
    let refused = live
        .vote(phone.participant.unwrap(), q, RawChoice::Int(0))
        .await
        .err()
        .unwrap();
    assert_eq!(refused.code, ErrorCode::NotOpen);
    publish().await;
    assert!(board_tally(&moderator, q).is_none());
}

#[tokio::test(start_paused = true)]
async fn commands_reach_the_roles_that_may_see_them() {
    let (_hub, live, q) = session(false).await;
    let moderator = attach(&live, Role::Moderator).await;
    let projector = attach(&live, Role::Projector).await;
    let phone = attach(&live, Role::Audience).await;
    for a in [&moderator, &projector, &phone] {
        frames(a);
    }

    // A new draft: the moderator's alone.
    let spec = parse_question_spec(&json!({
        "kind": "single", "prompt": "Lunch?", "options": ["Yes", "No"],
    }))
    .unwrap();
    live.add_question(spec).await.unwrap();
    assert_eq!(of_type(&moderator, "question").len(), 1);
    assert!(of_type(&projector, "question").is_empty());
    assert!(of_type(&phone, "question").is_empty());

    // Opened: everyone sees the question, open.
    live.act(q, QuestionAction::Open { duration_s: None })
        .await
        .unwrap();
    for a in [&moderator, &projector, &phone] {
        let got = of_type(a, "question");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["question"]["id"], q.to_string());
        assert_eq!(got[0]["question"]["state"], "open");
    }

    // Closed: everyone sees it closed.
    live.act(q, QuestionAction::Close).await.unwrap();
    for a in [&moderator, &projector, &phone] {
        let got = of_type(a, "question");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["question"]["state"], "closed");
    }

    // Revealed: everyone is told the results are visible.
    live.act(q, QuestionAction::Reveal).await.unwrap();
    for a in [&moderator, &projector, &phone] {
        let got = of_type(a, "question");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["question"]["results_visible"], true, "{got:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn moderated_questions_reach_the_room_only_once_approved() {
    let (_hub, live, _q) = session(true).await;
    let moderator = attach(&live, Role::Moderator).await;
    let projector = attach(&live, Role::Projector).await;
    let author = attach(&live, Role::Audience).await;
    let neighbour = attach(&live, Role::Audience).await;
    for a in [&moderator, &projector, &author, &neighbour] {
        frames(a);
    }

    live.ask(author.participant.unwrap(), "Where are the slides?", None)
        .await
        .unwrap();
    // Pending: the moderator and its author see it, no one else.
    let seen = of_type(&moderator, "qa_item");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["item"]["status"], "pending");
    let item: Uuid = seen[0]["item"]["id"].as_str().unwrap().parse().unwrap();
    let mine = of_type(&author, "qa_item");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["item"]["text"], "Where are the slides?");
    assert!(of_type(&projector, "qa_item").is_empty());
    assert!(of_type(&neighbour, "qa_item").is_empty());

    live.set_qa_status(item, "approved").await.unwrap();
    for a in [&moderator, &projector, &author, &neighbour] {
        let got = of_type(a, "qa_item");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["item"]["status"], "approved");
        assert_eq!(got[0]["item"]["text"], "Where are the slides?");
    }

    // Hidden: every view is told, without the text, so it drops the item.
    live.set_qa_status(item, "hidden").await.unwrap();
    let staff = of_type(&moderator, "qa_item");
    assert_eq!(staff[0]["item"]["status"], "hidden");
    for a in [&projector, &neighbour] {
        let got = of_type(a, "qa_item");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["item"]["status"], "hidden");
        assert_eq!(got[0]["item"]["text"], "", "{got:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_detached_phone_leaves_the_count_and_the_presence() {
    let (_hub, live, _q) = session(false).await;
    let moderator = attach(&live, Role::Moderator).await;
    let phone = attach(&live, Role::Audience).await;
    publish().await;
    let presence = |a: &Attached| -> Value {
        let board = a.board.borrow().clone();
        serde_json::from_str(&board.presence.as_ref().unwrap().1).unwrap()
    };
    assert_eq!(presence(&moderator)["audience"], 1);

    live.detach(phone.conn_id);
    assert_eq!(live.connection_count(), 1);
    publish().await;
    assert_eq!(presence(&moderator)["audience"], 0);
    // Detaching again changes nothing.
    live.detach(phone.conn_id);
    assert_eq!(live.connection_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn ending_the_session_tells_and_closes_every_connection() {
    let (_hub, live, _q) = session(false).await;
    let moderator = attach(&live, Role::Moderator).await;
    let phone = attach(&live, Role::Audience).await;
    frames(&moderator);
    frames(&phone);
    live.end().await.unwrap();
    assert!(live.ended.is_cancelled());
    for a in [&moderator, &phone] {
        assert_eq!(of_type(a, "ended").len(), 1);
        assert!(a.outbox.is_closing());
    }
}
