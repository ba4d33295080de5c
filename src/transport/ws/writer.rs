//! A socket's writing side: the deadline on every write, and the writer
//! task that drains the connection's outbox, sends its board's news and
//! pings.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures_util::{Sink, SinkExt};
use tokio::time::{interval_at, timeout, Instant};
use uuid::Uuid;

use crate::live::outbox::{Close, Next, CLOSE_SLOW};
use crate::live::registry::{Hub, Shared};
use crate::live::session::{board_news, Attached, Board};
use crate::transport::serve::ConnWatch;

pub(super) fn close_message(c: &Close) -> Message {
    Message::Close(Some(CloseFrame {
        code: c.code,
        reason: Utf8Bytes::from_static(c.reason),
    }))
}

/// Why a write gave up.
pub(super) enum WriteError {
    /// The socket failed or was closed.
    Failed,
    /// The peer took nothing for the write timeout.
    Stalled,
}

/// Where a socket's writes stand: the deadline, and the connection's watch
/// (which sees every byte the kernel takes) where the server has one.
#[derive(Clone)]
pub(super) struct Writes {
    pub(super) limit: Duration,
    pub(super) watch: Option<Arc<ConnWatch>>,
}

impl Writes {
    /// Runs one write (a frame, a flush, a close) unless it makes no
    /// progress for the write timeout. Progress is what counts: a big frame
    /// to a slow phone that keeps reading goes through, however long it
    /// takes; a peer that reads nothing is given up on.
    pub(super) async fn run<F, E>(&self, op: F) -> Result<(), WriteError>
    where
        F: Future<Output = Result<(), E>>,
    {
        let Some(watch) = &self.watch else {
            return match timeout(self.limit, op).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(WriteError::Failed),
                Err(_) => Err(WriteError::Stalled),
            };
        };
        let mut op = std::pin::pin!(op);
        let mut wait = self.limit;
        loop {
            tokio::select! {
                biased;
                r = &mut op => return r.map_err(|_| WriteError::Failed),
                _ = tokio::time::sleep(wait) => {}
            }
            let stalled = watch.write_stalled_for();
            if stalled >= self.limit {
                return Err(WriteError::Stalled);
            }
            wait = self.limit - stalled;
        }
    }
}

/// How the writer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WriterEnd {
    /// It sent a close frame.
    Closed,
    /// The socket failed.
    Failed,
    /// The peer took nothing for the write timeout.
    Stalled,
}

/// What a board has that this writer has not sent, and how many of those
/// frames are tally entries: they come first, the presence entry (if it
/// moved) last.
fn news(
    board: &Board,
    sent: &mut Vec<(Uuid, u64)>,
    presence_sent: &mut Option<u64>,
) -> (Vec<Utf8Bytes>, usize) {
    let presence_before = *presence_sent;
    let frames = board_news(board, sent, presence_sent);
    let presence = usize::from(*presence_sent != presence_before);
    let tallies = frames.len() - presence;
    (frames, tallies)
}

/// Writes queued events and board news until the outbox closes, the socket
/// fails or the peer stops taking what is written; pings on the way. Every
/// write has a deadline (see `Writes::run`); the liveness check (pongs) is
/// the reader's, so it runs even while a write waits.
pub(super) async fn write_loop<W>(
    mut sink: W,
    att: Attached,
    hub: Arc<Hub>,
    writes: Writes,
) -> WriterEnd
where
    W: Sink<Message> + Unpin,
{
    let Attached {
        outbox,
        mut board,
        mut sent,
        ..
    } = att;
    let shared = &hub.shared;
    let every = shared.config.ping_interval();
    let mut ping = interval_at(Instant::now() + every, every);
    let mut presence_sent = None;
    let mut board_open = true;
    loop {
        let result = tokio::select! {
            biased;
            next = outbox.next() => match next {
                Next::Frames(frames) => {
                    writes.run(async {
                        for f in frames {
                            sink.feed(Message::Text(f)).await?;
                        }
                        sink.flush().await
                    }).await
                }
                Next::Close(c) => {
                    return match writes.run(sink.send(close_message(&c))).await {
                        Ok(()) => WriterEnd::Closed,
                        Err(e) => stalled_or_failed(e, shared, &writes, &mut sink).await,
                    };
                }
            },
            changed = board.changed(), if board_open => {
                if changed.is_err() {
                    board_open = false;
                    continue;
                }
                let b = board.borrow_and_update().clone();
                let (frames, tallies) = news(&b, &mut sent, &mut presence_sent);
                writes.run(async {
                    for (i, f) in frames.into_iter().enumerate() {
                        if i < tallies {
                            shared.metrics.tally_messages.fetch_add(1, Ordering::Relaxed);
                        }
                        sink.feed(Message::Text(f)).await?;
                    }
                    sink.flush().await
                }).await
            }
            _ = ping.tick() => writes.run(sink.send(Message::Ping(Default::default()))).await,
        };
        if let Err(e) = result {
            return stalled_or_failed(e, shared, &writes, &mut sink).await;
        }
    }
}

/// Ends a writer whose write gave up. A stalled peer is told 1013 if it
/// takes the close at once, and its socket is reset on drop, so the kernel
/// drops what it never read.
async fn stalled_or_failed<W>(
    e: WriteError,
    shared: &Shared,
    writes: &Writes,
    sink: &mut W,
) -> WriterEnd
where
    W: Sink<Message> + Unpin,
{
    match e {
        WriteError::Failed => WriterEnd::Failed,
        WriteError::Stalled => {
            tracing::info!("dropping a socket that takes nothing written to it");
            shared
                .metrics
                .slow_consumers_dropped
                .fetch_add(1, Ordering::Relaxed);
            if let Some(w) = &writes.watch {
                w.reset_on_close();
            }
            let _ = timeout(
                Duration::from_millis(100),
                sink.send(close_message(&CLOSE_SLOW)),
            )
            .await;
            WriterEnd::Stalled
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::session::BoardTally;

    fn tally(q: Uuid, seq: u64) -> BoardTally {
        BoardTally {
            question_id: q,
            seq,
            frame: Utf8Bytes::from(format!(r#"{{"type":"tally","seq":{seq}}}"#)),
        }
    }

    #[test]
    fn news_counts_tally_entries_apart_from_presence() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let board = Board {
            tallies: vec![tally(a, 1), tally(b, 2)],
            presence: Some((1, Utf8Bytes::from_static(r#"{"type":"presence"}"#))),
        };
        let (mut sent, mut presence) = (Vec::new(), None);
        let (frames, tallies) = news(&board, &mut sent, &mut presence);
        assert_eq!((frames.len(), tallies), (3, 2));
        assert_eq!(
            frames[2].as_str(),
            r#"{"type":"presence"}"#,
            "presence last"
        );
        // Nothing moved: nothing to send, no tally counted.
        assert_eq!(news(&board, &mut sent, &mut presence).1, 0);
        // Only presence moved.
        let board = Board {
            tallies: board.tallies,
            presence: Some((2, Utf8Bytes::from_static(r#"{"type":"presence"}"#))),
        };
        let (frames, tallies) = news(&board, &mut sent, &mut presence);
        assert_eq!((frames.len(), tallies), (1, 0));
    }
}
