//! The connection driven through channels, no TCP: what a client sends goes
//! in as stream items, what the server writes comes out of a channel.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_channel::mpsc;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::conn::{serve, Peer};
use super::*;
use crate::config::Config;
use crate::live::session::LiveSession;
use crate::protocol::QuestionAction;

/// A client at the far end of the channels.
struct Client {
    to_server: mpsc::UnboundedSender<std::result::Result<Message, axum::Error>>,
    from_server: mpsc::Receiver<Message>,
    task: JoinHandle<()>,
}

/// Generous: the bound on how long a test waits for the server's answer;
/// longer than the hello timeout, which one test waits out.
const WAIT: Duration = Duration::from_secs(30);

impl Client {
    fn connect(hub: &Arc<Hub>, session: &Arc<LiveSession>) -> Client {
        let (to_server, stream) = mpsc::unbounded();
        let (sink, from_server) = mpsc::channel(64);
        let peer = Peer {
            session: session.clone(),
            join_url: format!("http://handsup.test/{}", session.code),
            ip: "192.0.2.10".parse().unwrap(),
            watch: None,
        };
        let task = tokio::spawn(serve(sink, stream, hub.clone(), peer));
        Client {
            to_server,
            from_server,
            task,
        }
    }

    fn send(&mut self, message: Message) {
        self.to_server.unbounded_send(Ok(message)).unwrap();
    }

    fn send_json(&mut self, v: Value) {
        self.send(Message::Text(v.to_string().into()));
    }

    /// The next frame the server writes, pings skipped.
    async fn next(&mut self) -> Message {
        loop {
            let m = tokio::time::timeout(WAIT, self.from_server.next())
                .await
                .expect("the server answers in time")
                .expect("the server's side is still open");
            if !matches!(m, Message::Ping(_)) {
                return m;
            }
        }
    }

    /// The next message of type `kind`, others skipped.
    async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            match self.next().await {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    if v["type"] == kind {
                        return v;
                    }
                }
                other => panic!("expected a {kind} message, got {other:?}"),
            }
        }
    }

    /// The close frame the server sends, text before it skipped.
    async fn close_code(&mut self) -> u16 {
        loop {
            match self.next().await {
                Message::Close(Some(CloseFrame { code, .. })) => return code,
                Message::Text(_) => {}
                other => panic!("expected a close, got {other:?}"),
            }
        }
    }

    /// Hangs up and waits for the server's side to end.
    async fn hang_up(self) {
        drop(self.to_server);
        drop(self.from_server);
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the connection ends once the peer is gone")
            .unwrap();
    }
}

fn hub_with(f: impl FnOnce(&mut Config)) -> Arc<Hub> {
    let mut config = Config::defaults();
    f(&mut config);
    Arc::new(Hub::new(config))
}

/// A session with one single-choice question, open.
async fn session_with_open_question(hub: &Hub) -> (Arc<LiveSession>, uuid::Uuid) {
    let spec = crate::protocol::parse_question_spec(
        &json!({"kind": "single", "prompt": "Tea or coffee?", "options": ["tea", "coffee"]}),
    )
    .unwrap();
    let s = hub
        .create_session("Morning".into(), Default::default(), vec![spec])
        .await
        .unwrap();
    let qid = s.view(true, "").questions[0].id;
    s.act(qid, QuestionAction::Open { duration_s: None })
        .await
        .unwrap();
    (s, qid)
}

async fn audience(hub: &Arc<Hub>, s: &Arc<LiveSession>) -> Client {
    let mut c = Client::connect(hub, s);
    c.send_json(json!({"type": "hello", "role": "audience"}));
    c.recv_type("welcome").await;
    c
}

#[tokio::test]
async fn hello_is_answered_with_a_welcome() {
    let hub = hub_with(|_| {});
    let (s, qid) = session_with_open_question(&hub).await;
    let mut c = Client::connect(&hub, &s);
    c.send_json(json!({"type": "hello", "role": "audience"}));
    let w = c.recv_type("welcome").await;
    assert_eq!(w["session"]["code"], s.code.as_str(), "{w}");
    assert!(w.to_string().contains(&qid.to_string()), "{w}");
    c.hang_up().await;
}

#[tokio::test]
async fn a_vote_is_acked_with_its_ref_and_counted() {
    let hub = hub_with(|_| {});
    let (s, qid) = session_with_open_question(&hub).await;
    let mut c = audience(&hub, &s).await;
    c.send_json(json!({"type": "vote", "ref": "v1", "question_id": qid, "choice": 1}));
    let ack = c.recv_type("ack").await;
    assert_eq!(ack["ref"], "v1");
    let results = serde_json::to_string(&s.results().await.unwrap()).unwrap();
    assert!(results.contains("\"voters\":1"), "{results}");
    c.hang_up().await;
}

#[tokio::test]
async fn bad_json_is_a_bad_request_and_the_connection_goes_on() {
    let hub = hub_with(|_| {});
    let (s, qid) = session_with_open_question(&hub).await;
    let mut c = audience(&hub, &s).await;
    c.send(Message::Text("{not json".into()));
    assert_eq!(c.recv_type("error").await["code"], "bad_request");
    c.send(Message::Binary(vec![1, 2, 3].into()));
    assert_eq!(c.recv_type("error").await["code"], "bad_request");
    c.send_json(json!({"type": "close", "ref": "m", "question_id": qid}));
    let e = c.recv_type("error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("forbidden"), Some("m"))
    );
    c.send_json(json!({"type": "vote", "ref": "v2", "question_id": qid, "choice": 0}));
    assert_eq!(c.recv_type("ack").await["ref"], "v2");
    c.hang_up().await;
}

#[tokio::test]
async fn a_wrong_moderator_token_is_refused_and_closed_with_4401() {
    let hub = hub_with(|_| {});
    let (s, _) = session_with_open_question(&hub).await;
    let mut c = Client::connect(&hub, &s);
    c.send_json(json!({"type": "hello", "role": "moderator", "token": "not-the-token"}));
    assert_eq!(c.recv_type("error").await["code"], "unauthorized");
    assert_eq!(c.close_code().await, 4401);
    c.hang_up().await;
}

#[tokio::test]
async fn a_flood_is_closed_with_1008() {
    let hub = hub_with(|c| {
        c.rate_per_sec = 1;
        c.rate_burst = 2;
    });
    let (s, qid) = session_with_open_question(&hub).await;
    let mut c = audience(&hub, &s).await;
    // Within the burst: acks; past it: rate_limited; far past it: closed.
    for _ in 0..20 {
        c.send_json(json!({"type": "vote", "question_id": qid, "choice": 0}));
    }
    assert_eq!(c.recv_type("ack").await["type"], "ack");
    assert_eq!(c.recv_type("error").await["code"], "rate_limited");
    assert_eq!(c.close_code().await, 1008);
    c.hang_up().await;
}

#[tokio::test]
async fn an_oversized_frame_is_closed_with_1009() {
    let hub = hub_with(|c| c.max_frame_bytes = 1024);
    let (s, _) = session_with_open_question(&hub).await;
    let mut c = audience(&hub, &s).await;
    c.send(Message::Text("x".repeat(1025).into()));
    assert_eq!(c.close_code().await, 1009);
    c.hang_up().await;
}

#[tokio::test]
async fn a_frame_the_transport_refuses_as_too_long_is_closed_with_1009() {
    let hub = hub_with(|_| {});
    let (s, _) = session_with_open_question(&hub).await;
    let mut c = audience(&hub, &s).await;
    let too_long =
        tungstenite::Error::Capacity(tungstenite::error::CapacityError::MessageTooLong {
            size: 1 << 20,
            max_size: 1 << 16,
        });
    c.to_server
        .unbounded_send(Err(axum::Error::new(too_long)))
        .unwrap();
    assert_eq!(c.close_code().await, 1009);
    c.hang_up().await;
}

#[tokio::test]
async fn another_read_failure_ends_the_connection_without_1009() {
    let hub = hub_with(|_| {});
    let (s, _) = session_with_open_question(&hub).await;
    let mut c = audience(&hub, &s).await;
    c.to_server
        .unbounded_send(Err(axum::Error::new(tungstenite::Error::ConnectionClosed)))
        .unwrap();
    // The normal close, not 1009.
    assert_eq!(c.close_code().await, 1000);
    c.hang_up().await;
}

#[tokio::test(start_paused = true)]
async fn no_hello_in_time_is_closed_with_4408() {
    let hub = hub_with(|_| {});
    let (s, _) = session_with_open_question(&hub).await;
    let mut c = Client::connect(&hub, &s);
    assert_eq!(c.close_code().await, 4408);
    c.hang_up().await;
}

#[test]
fn places_hold_both_caps_and_come_back_when_dropped() {
    let mut config = Config::defaults();
    config.max_connections = 3;
    config.ip_max_sockets = 2;
    let hub = Hub::new(config);
    let shared = &hub.shared;
    let a: IpAddr = "192.0.2.1".parse().unwrap();
    let b: IpAddr = "192.0.2.2".parse().unwrap();
    let a1 = Place::take(shared, a).unwrap();
    let a2 = Place::take(shared, a).unwrap();
    let refused = Place::take(shared, a).err().unwrap();
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert!(refused.retry_after_s.is_some());
    let b1 = Place::take(shared, b).unwrap();
    // The server is full: anyone is refused, with 503.
    let full = Place::take(shared, "192.0.2.3".parse().unwrap())
        .err()
        .unwrap();
    assert_eq!(full.code, ErrorCode::Unavailable);
    assert_eq!(shared.open_sockets.load(Ordering::Relaxed), 3);
    drop(a1);
    assert_eq!(shared.socket_places.held(a), 1);
    let a3 = Place::take(shared, a).unwrap();
    drop((a2, a3, b1));
    assert_eq!(shared.open_sockets.load(Ordering::Relaxed), 0);
    assert_eq!(shared.socket_places.held(a), 0);
    assert_eq!(shared.socket_places.addresses(), 0, "no entry left behind");
}
