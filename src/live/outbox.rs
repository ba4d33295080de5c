//! A connection's queue of outgoing messages.
//!
//! Events (question changes, acks, errors) queue here in order, up to a
//! bound; a connection that lets more pile up is not reading, so it is
//! closed and catches up from the current state when it reconnects. Tallies
//! and presence never queue: they travel as latest-state boards (see
//! `session.rs`), so a slow reader costs nothing for them.

use std::collections::VecDeque;

use axum::extract::ws::Utf8Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// Why and how a connection is to be closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: &'static str,
}

pub const CLOSE_NORMAL: Close = Close {
    code: 1000,
    reason: "session ended",
};
pub const CLOSE_GOING_AWAY: Close = Close {
    code: 1001,
    reason: "server shutting down",
};
pub const CLOSE_RESYNC: Close = Close {
    code: 1012,
    reason: "session being read again; reconnect",
};
pub const CLOSE_SLOW: Close = Close {
    code: 1013,
    reason: "not reading fast enough; reconnect",
};

#[derive(Default)]
struct Queue {
    frames: VecDeque<Utf8Bytes>,
    close: Option<Close>,
}

/// What the writer should do next.
pub enum Next {
    Frames(Vec<Utf8Bytes>),
    Close(Close),
}

pub struct Outbox {
    /// Held only to push or drain; never across an await.
    queue: Mutex<Queue>,
    notify: Notify,
    capacity: usize,
}

impl Outbox {
    pub fn new(capacity: usize) -> Outbox {
        Outbox {
            queue: Mutex::new(Queue::default()),
            notify: Notify::new(),
            capacity,
        }
    }

    /// Queues a frame; false if the queue overflowed and the connection is
    /// now being closed as too slow.
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        let mut q = self.queue.lock();
        if q.close.is_some() {
            return true;
        }
        if q.frames.len() >= self.capacity {
            q.frames.clear();
            q.close = Some(CLOSE_SLOW);
            drop(q);
            self.notify.notify_one();
            return false;
        }
        q.frames.push_back(frame);
        drop(q);
        self.notify.notify_one();
        true
    }

    /// Closes after the frames already queued are sent.
    pub fn close(&self, close: Close) {
        let mut q = self.queue.lock();
        if q.close.is_none() {
            q.close = Some(close);
        }
        drop(q);
        self.notify.notify_one();
    }

    pub fn is_closing(&self) -> bool {
        self.queue.lock().close.is_some()
    }

    /// Waits for frames to send, or for the close once the queue is empty.
    pub async fn next(&self) -> Next {
        loop {
            {
                let mut q = self.queue.lock();
                if !q.frames.is_empty() {
                    return Next::Frames(q.frames.drain(..).collect());
                }
                if let Some(c) = &q.close {
                    return Next::Close(c.clone());
                }
            }
            self.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_come_out_in_order_then_the_close() {
        let o = Outbox::new(8);
        o.push("a".into());
        o.push("b".into());
        o.close(CLOSE_NORMAL);
        o.push("ignored".into());
        match o.next().await {
            Next::Frames(f) => assert_eq!(f, vec![Utf8Bytes::from("a"), Utf8Bytes::from("b")]),
            Next::Close(_) => panic!("frames first"),
        }
        assert!(matches!(o.next().await, Next::Close(c) if c == CLOSE_NORMAL));
    }

    #[tokio::test]
    async fn an_overflowing_queue_drops_its_frames_and_closes_as_slow() {
        let o = Outbox::new(2);
        assert!(o.push("1".into()));
        assert!(o.push("2".into()));
        assert!(!o.push("3".into()));
        assert!(matches!(o.next().await, Next::Close(c) if c == CLOSE_SLOW));
    }
}
