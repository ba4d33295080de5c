//! A typed websocket client: hello, calls answered by ref, votes and
//! moderator actions, and waits for a kind of message or for the close.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ref: u64,
    /// Messages that arrived while `call` waited for its answer, in order;
    /// the next waits look at them first.
    backlog: std::collections::VecDeque<Value>,
}

pub const WAIT: Duration = Duration::from_secs(5);

pub enum Event {
    Msg(Value),
    Closed(Option<u16>),
}

impl Ws {
    pub fn from_stream(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Ws {
        Ws {
            stream,
            next_ref: 0,
            backlog: Default::default(),
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_text(&mut self, t: String) {
        self.stream
            .send(Message::Text(t.into()))
            .await
            .expect("send");
    }

    /// The next message or close, within `WAIT`.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Event> {
        loop {
            let m = tokio::time::timeout(wait, self.stream.next()).await.ok()?;
            match m {
                None | Some(Err(_)) => return Some(Event::Closed(None)),
                Some(Ok(Message::Text(t))) => {
                    return Some(Event::Msg(serde_json::from_str(&t).expect("JSON")))
                }
                Some(Ok(Message::Close(f))) => {
                    return Some(Event::Closed(f.map(|f| u16::from(f.code))))
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        match self.next_event(WAIT).await {
            Some(Event::Msg(v)) => v,
            Some(Event::Closed(c)) => panic!("socket closed ({c:?}) while waiting for a message"),
            None => panic!("no message within {WAIT:?}"),
        }
    }

    /// Skips messages until one matches.
    pub async fn recv_until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        while let Some(v) = self.backlog.pop_front() {
            if pred(&v) {
                return v;
            }
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(Event::Msg(v)) if pred(&v) => return v,
                Some(Event::Msg(_)) => continue,
                Some(Event::Closed(c)) => panic!("socket closed ({c:?}) while waiting for {what}"),
                None => panic!("no {what} within {WAIT:?}"),
            }
        }
    }

    pub async fn recv_type(&mut self, t: &str) -> Value {
        self.recv_until(t, |v| v["type"] == t).await
    }

    /// Waits for the tally of `qid` that satisfies `pred`.
    pub async fn tally_where(&mut self, qid: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.recv_until("a matching tally", |v| {
            v["type"] == "tally" && v["question_id"] == qid && pred(v)
        })
        .await
    }

    /// Sends without panicking when the server is gone.
    pub async fn stream_send(&mut self, v: Value) -> Result<(), ()> {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .map_err(drop)
    }

    /// The ack or error for `r`; None when the socket ends first.
    pub async fn answer(&mut self, r: &str) -> Option<Value> {
        loop {
            match self.next_event(WAIT).await {
                Some(Event::Msg(v))
                    if (v["type"] == "ack" || v["type"] == "error") && v["ref"] == r =>
                {
                    return Some(v)
                }
                Some(Event::Msg(_)) => continue,
                Some(Event::Closed(_)) | None => return None,
            }
        }
    }

    /// Sends a message with a fresh ref and returns the ack or error for it.
    pub async fn call(&mut self, mut msg: Value) -> Value {
        self.next_ref += 1;
        let r = format!("r{}", self.next_ref);
        msg["ref"] = json!(r);
        self.send(msg).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(Event::Msg(v))
                    if (v["type"] == "ack" || v["type"] == "error") && v["ref"] == r =>
                {
                    return v
                }
                Some(Event::Msg(v)) => self.backlog.push_back(v),
                Some(Event::Closed(c)) => {
                    panic!("socket closed ({c:?}) while waiting for the answer to {r}")
                }
                None => panic!("no answer to {r} within {WAIT:?}"),
            }
        }
    }

    pub async fn vote(&mut self, qid: &str, choice: Value) -> Value {
        self.call(json!({"type": "vote", "question_id": qid, "choice": choice}))
            .await
    }

    /// Waits for the socket to be closed, returning the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(Event::Closed(c)) => return c,
                Some(Event::Msg(_)) => continue,
                None => panic!("socket still open after {WAIT:?}"),
            }
        }
    }

    /// Asserts that no message matching `pred` arrives within `wait`.
    pub async fn assert_none(&mut self, wait: Duration, pred: impl Fn(&Value) -> bool) {
        for v in self.backlog.drain(..) {
            assert!(!pred(&v), "unexpected message {v}");
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.next_event(left).await {
                Some(Event::Msg(v)) => assert!(!pred(&v), "unexpected message {v}"),
                Some(Event::Closed(c)) => panic!("socket closed ({c:?})"),
                None => return,
            }
        }
    }
}

pub fn close_code(c: CloseCode) -> u16 {
    u16::from(c)
}

impl Ws {
    /// Sends `hello` for `role` (with `token` if given).
    pub async fn hello(&mut self, role: &str, token: Option<&str>) {
        self.send(json!({"type": "hello", "role": role, "token": token}))
            .await;
    }

    /// A moderator's question action (`open`, `close`, `reveal`, ...) on
    /// `qid`; the ack or error.
    pub async fn act(&mut self, action: &str, qid: &str) -> Value {
        self.call(json!({"type": action, "question_id": qid})).await
    }

    /// Takes back this phone's ballot on `qid`; the ack or error.
    pub async fn retract(&mut self, qid: &str) -> Value {
        self.call(json!({"type": "retract", "question_id": qid}))
            .await
    }

    /// Sends `texts` as asks at once (under the burst) and returns each
    /// answer, in order; every other message is dropped as it comes.
    pub async fn ask_all(&mut self, texts: &[String], name: &str) -> Vec<Value> {
        for (i, text) in texts.iter().enumerate() {
            self.send(json!({"type": "ask", "text": text, "name": name, "ref": format!("a{i}")}))
                .await;
        }
        let mut answers = vec![Value::Null; texts.len()];
        for (i, slot) in answers.iter_mut().enumerate() {
            *slot = self
                .answer(&format!("a{i}"))
                .await
                .expect("an answer to every ask");
        }
        answers
    }
}
