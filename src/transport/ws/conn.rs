//! One connection's loop, over any `Sink` of frames and `Stream` of read
//! results (the axum socket, or channels in tests): hello within the
//! deadline, then a writer task (see `writer`) and a reader that turns each
//! frame into an action and answers with an ack or an error.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::time::{interval_at, timeout, timeout_at, Instant};

use super::writer::{close_message, write_loop, WriterEnd, Writes};
use crate::domain::links::Access;
use crate::error::{Error, ErrorCode, Result};
use crate::live::outbox::{Close, Outbox};
use crate::live::registry::Hub;
use crate::live::session::LiveSession;
use crate::protocol::{self, ClientMsg, Hello, Presentation, QuestionAction, Role};
use crate::rate::{Bucket, Take};
use crate::transport::scope;
use crate::transport::serve::ConnWatch;

pub(super) const CLOSE_TOO_BIG: Close = Close {
    code: 1009,
    reason: "frame too large",
};
pub(super) const CLOSE_FLOOD: Close = Close {
    code: 1008,
    reason: "too many messages",
};
pub(super) const CLOSE_UNAUTHORIZED: Close = Close {
    code: 4401,
    reason: "unauthorized",
};
/// A link whose role has no socket (`results`).
pub(super) const CLOSE_FORBIDDEN: Close = Close {
    code: 4403,
    reason: "forbidden",
};
pub(super) const CLOSE_HELLO_TIMEOUT: Close = Close {
    code: 4408,
    reason: "no hello in time",
};
pub(super) const CLOSE_SILENT: Close = Close {
    code: 1001,
    reason: "no pong in time",
};
pub(super) const CLOSE_UNAVAILABLE: Close = Close {
    code: 1013,
    reason: "try again later",
};

/// How long a closing socket waits for the peer's close before dropping it.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Did a read fail because the peer's frame was over the transport's
/// limit? Told by the error's kind, wherever it sits in the source chain.
fn too_big(e: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(e), |e| e.source()).any(|e| {
        matches!(
            e.downcast_ref::<tungstenite::Error>(),
            Some(tungstenite::Error::Capacity(_))
        )
    })
}

/// Sends a close and reads until the peer answers or the grace runs out.
async fn close_now<W, R, E>(sink: &mut W, stream: &mut R, c: &Close, writes: &Writes)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = std::result::Result<Message, E>> + Unpin,
{
    if writes.run(sink.send(close_message(c))).await.is_err() {
        return;
    }
    let _ = timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
}

/// Where a connection comes from and what it serves.
pub(crate) struct Peer {
    /// The session of the socket's `/ws/{code}`.
    pub session: Arc<LiveSession>,
    /// The join link the welcome carries.
    pub join_url: String,
    /// The client's address, for the per-address limit on new participants.
    pub ip: std::net::IpAddr,
    /// The TCP connection's watch, where the server has one (not in tests).
    pub watch: Option<Arc<ConnWatch>>,
}

/// Runs one connection until it ends: `sink` takes the server's frames,
/// `stream` gives the client's.
pub(crate) async fn serve<W, R, E>(sink: W, stream: R, hub: Arc<Hub>, peer: Peer)
where
    W: Sink<Message> + Unpin + Send + 'static,
    R: Stream<Item = std::result::Result<Message, E>> + Unpin,
    E: std::error::Error + 'static,
{
    let Peer {
        session,
        join_url,
        ip,
        watch,
    } = peer;
    let writes = Writes {
        limit: hub.shared.config.write_timeout(),
        watch,
    };
    let (mut sink, mut stream) = (sink, stream);
    let mut bucket = Bucket::new(hub.shared.config.rate_per_sec, hub.shared.config.rate_burst);
    // The hello, the attach and the close on a refusal run once: boxed, their
    // state is freed when they end instead of sizing the connection's task
    // for its whole life.
    let Some(hello) = Box::pin(read_hello(
        &hub,
        &session,
        &mut sink,
        &mut stream,
        &writes,
        &mut bucket,
    ))
    .await
    else {
        return;
    };
    // A phone that brings no known token becomes a new participant: that is
    // what the per-address limit counts, not a phone coming back.
    let known = match hello.token.as_deref() {
        Some(t) if hello.role == Role::Audience => Box::pin(session.find_participant(t)).await,
        _ => Ok(None),
    };
    let joins = hello.role == Role::Audience && matches!(known, Ok(None));
    let attached = if joins && !hub.shared.ip_participants.allow(ip) {
        Err(Error::new(
            ErrorCode::RateLimited,
            "too many new participants from this address; retry shortly",
        ))
    } else {
        Box::pin(session.attach(hello.role, hello.token.as_deref(), &join_url)).await
    };
    let attached = match attached {
        Ok(a) => a,
        Err(e) => {
            let _ = writes
                .run(sink.send(Message::Text(protocol::error_frame(None, &e))))
                .await;
            let close = match e.code {
                ErrorCode::Unauthorized => CLOSE_UNAUTHORIZED,
                ErrorCode::Forbidden => CLOSE_FORBIDDEN,
                _ => CLOSE_UNAVAILABLE,
            };
            Box::pin(close_now(&mut sink, &mut stream, &close, &writes)).await;
            return;
        }
    };
    let conn_id = attached.conn_id;
    let outbox = attached.outbox.clone();
    let participant = attached.participant;
    let access = attached.access.clone();
    let last_seen = Arc::new(AtomicI64::new(hub.shared.clock.now_ms()));
    let mut writer = tokio::spawn(write_loop(sink, attached, hub.clone(), writes.clone()));

    let conn = Conn {
        hub: &hub,
        session: &session,
        role: hello.role,
        participant,
        access,
        outbox: &outbox,
        bucket,
    };
    let writer_end = read_loop(conn, &mut stream, &mut writer, &last_seen).await;

    session.detach(conn_id);
    outbox.close(crate::live::outbox::CLOSE_NORMAL);
    match writer_end {
        // The peer took nothing: nothing more is owed to it. Dropping both
        // halves here frees the socket and all it held.
        Some(WriterEnd::Stalled) | Some(WriterEnd::Failed) => {}
        // Let the writer send what is queued and the close, then read until
        // the peer's close arrives (a clean close handshake), within the grace.
        _ => {
            let _ = timeout(CLOSE_GRACE, async {
                // A finished task must not be awaited again.
                if writer_end.is_none() {
                    let _ = (&mut writer).await;
                }
                while let Some(Ok(_)) = stream.next().await {}
            })
            .await;
        }
    }
    writer.abort();
}

/// Takes a token for one frame from the client; None when the client is
/// flooding and is to be closed.
fn count_frame(bucket: &mut Bucket, code: &str) -> Option<Take> {
    match bucket.take() {
        Take::Flood => {
            tracing::warn!(code = %code, "closing a flooding connection");
            None
        }
        t => Some(t),
    }
}

async fn read_hello<W, R, E>(
    hub: &Hub,
    session: &LiveSession,
    sink: &mut W,
    stream: &mut R,
    writes: &Writes,
    bucket: &mut Bucket,
) -> Option<Hello>
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = std::result::Result<Message, E>> + Unpin,
{
    let deadline = Instant::now() + hub.shared.config.hello_timeout();
    loop {
        let next = tokio::select! {
            n = timeout_at(deadline, stream.next()) => n,
            _ = session.ended.cancelled() => return None,
        };
        let reply = match next {
            Err(_) => {
                close_now(sink, stream, &CLOSE_HELLO_TIMEOUT, writes).await;
                return None;
            }
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return None,
            Ok(Some(Ok(Message::Text(t)))) => {
                if t.len() > hub.shared.config.max_frame_bytes {
                    close_now(sink, stream, &CLOSE_TOO_BIG, writes).await;
                    return None;
                }
                let Some(_) = count_frame(bucket, &session.code) else {
                    close_now(sink, stream, &CLOSE_FLOOD, writes).await;
                    return None;
                };
                match protocol::parse_hello(&t) {
                    Ok(h) => return Some(h),
                    Err(e) => {
                        let (r, _) = protocol::parse_client(&t);
                        protocol::error_frame(r.as_deref(), &e)
                    }
                }
            }
            Ok(Some(Ok(Message::Binary(_)))) => {
                let Some(_) = count_frame(bucket, &session.code) else {
                    close_now(sink, stream, &CLOSE_FLOOD, writes).await;
                    return None;
                };
                let e = Error::bad_request(
                    "binary frames are not part of the protocol; send JSON text",
                );
                protocol::error_frame(None, &e)
            }
            Ok(Some(Ok(_))) => continue,
        };
        if writes.run(sink.send(Message::Text(reply))).await.is_err() {
            return None;
        }
    }
}

struct Conn<'a> {
    hub: &'a Hub,
    session: &'a Arc<LiveSession>,
    role: Role,
    participant: Option<u32>,
    /// A staff connection's scope and link, checked with every message.
    access: Option<Access>,
    outbox: &'a Outbox,
    bucket: Bucket,
}

/// Reads until the peer or the writer ends, or the peer falls silent past
/// the pong timeout; how the writer ended, if it did.
async fn read_loop<R, E>(
    mut conn: Conn<'_>,
    stream: &mut R,
    writer: &mut tokio::task::JoinHandle<WriterEnd>,
    last_seen: &AtomicI64,
) -> Option<WriterEnd>
where
    R: Stream<Item = std::result::Result<Message, E>> + Unpin,
    E: std::error::Error + 'static,
{
    let shared = &conn.hub.shared;
    let every = shared.config.ping_interval();
    let silent_after = shared.config.pong_timeout().as_millis() as i64;
    let mut check = interval_at(Instant::now() + every, every);
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            end = &mut *writer => return Some(end.unwrap_or(WriterEnd::Failed)),
            _ = check.tick() => {
                if shared.clock.now_ms() - last_seen.load(Ordering::Relaxed) > silent_after {
                    conn.outbox.close(CLOSE_SILENT);
                    return None;
                }
                continue;
            }
        };
        last_seen.store(shared.clock.now_ms(), Ordering::Relaxed);
        match msg {
            None => return None,
            Some(Err(e)) => {
                if too_big(&e) {
                    conn.outbox.close(CLOSE_TOO_BIG);
                }
                tracing::debug!(error = %e, "socket read failed");
                return None;
            }
            Some(Ok(Message::Text(t))) => {
                let read_at = std::time::Instant::now();
                if t.len() > shared.config.max_frame_bytes {
                    conn.outbox.close(CLOSE_TOO_BIG);
                    return None;
                }
                shared
                    .metrics
                    .messages_received
                    .fetch_add(1, Ordering::Relaxed);
                // The socket's own bucket finds floods; a participant's
                // messages also draw on the bucket its other sockets and its
                // HTTP calls share.
                let take = match (
                    count_frame(&mut conn.bucket, &conn.session.code),
                    conn.participant,
                ) {
                    (Some(Take::Ok), Some(p)) if conn.session.take_rate(p).is_err() => {
                        Some(Take::Limited)
                    }
                    (take, _) => take,
                };
                let (reply, acked_vote) = match take {
                    Some(Take::Ok) => handle_text(&conn, &t).await,
                    Some(_) => {
                        let (r, _) = protocol::parse_client(&t);
                        let e = Error::new(ErrorCode::RateLimited, "too many messages; slow down");
                        (protocol::error_frame(r.as_deref(), &e), false)
                    }
                    None => {
                        conn.outbox.close(CLOSE_FLOOD);
                        return None;
                    }
                };
                conn.outbox.push(reply);
                if acked_vote {
                    shared.metrics.vote_acked(read_at.elapsed());
                }
            }
            // Binary frames are refused, and draw on the same bucket as
            // text: a flood of them is closed like any other.
            Some(Ok(Message::Binary(_))) => {
                shared
                    .metrics
                    .messages_received
                    .fetch_add(1, Ordering::Relaxed);
                let e = match count_frame(&mut conn.bucket, &conn.session.code) {
                    Some(Take::Ok) => Error::bad_request(
                        "binary frames are not part of the protocol; send JSON text",
                    ),
                    Some(_) => Error::new(ErrorCode::RateLimited, "too many messages; slow down"),
                    None => {
                        conn.outbox.close(CLOSE_FLOOD);
                        return None;
                    }
                };
                conn.outbox.push(protocol::error_frame(None, &e));
            }
            // The transport answers pings itself; a close is answered by it
            // too, and the stream then ends.
            Some(Ok(_)) => {}
        }
    }
}

/// Parses and applies one message; the ack or error to send back, and
/// whether it acks a vote (for the vote→ack latency metric).
async fn handle_text(conn: &Conn<'_>, text: &str) -> (Utf8Bytes, bool) {
    let (reference, parsed) = protocol::parse_client(text);
    let vote = matches!(parsed, Ok(ClientMsg::Vote { .. }));
    let result = match parsed {
        Ok(msg) if !msg.allowed(conn.role) => Err(Error::forbidden(format!(
            "a {} connection may not send this message",
            conn.role.as_str()
        ))),
        Ok(msg) if conn.access.is_some() => match staff_check(conn, &msg, text) {
            Ok(()) => Box::pin(apply(conn, msg)).await,
            Err(e) => Err(e),
        },
        // Votes, the one message sent by the thousand, run in place; the
        // others are boxed so that the largest of their futures does not
        // size every connection's task.
        Ok(ClientMsg::Vote {
            question_id,
            choice,
        }) => cast(conn, question_id, choice).await,
        Ok(msg) => Box::pin(apply(conn, msg)).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => (protocol::ack_frame(reference.as_deref()), vote),
        Err(e) => (protocol::error_frame(reference.as_deref(), &e), false),
    }
}

/// A staff message is checked against the connection's scope, and its
/// link against revocation (the socket is being closed then, but a frame
/// read meanwhile must not act).
fn staff_check(conn: &Conn<'_>, msg: &ClientMsg, text: &str) -> Result<()> {
    let Some(access) = &conn.access else {
        return Ok(());
    };
    if !conn.session.still_holds(access) {
        return Err(Error::unauthorized("this link was revoked"));
    }
    access.check(&scope::message_actions(msg, text))
}

/// A vote: the one message sent by the thousand, run in place (unboxed).
async fn cast(
    conn: &Conn<'_>,
    question_id: uuid::Uuid,
    choice: protocol::Checked<crate::domain::RawChoice>,
) -> Result<()> {
    conn.session
        .vote(audience(conn)?, question_id, choice.get()?)
        .await
}

/// The participant a message acts for: only the audience's sockets have one.
fn audience(conn: &Conn<'_>) -> Result<u32> {
    conn.participant
        .ok_or_else(|| Error::forbidden("only the audience votes"))
}

async fn apply(conn: &Conn<'_>, msg: ClientMsg) -> Result<()> {
    let s = conn.session;
    let participant = || audience(conn);
    let act = |question_id, action| async move { s.act(question_id, action).await.map(drop) };
    match msg {
        ClientMsg::Hello {} => Err(Error::bad_request("hello was already received")),
        ClientMsg::Vote {
            question_id,
            choice,
        } => cast(conn, question_id, choice).await,
        ClientMsg::Retract { question_id } => s.retract(participant()?, question_id).await,
        ClientMsg::Ask { text, name } => s.ask(participant()?, &text, name.as_deref()).await,
        ClientMsg::Upvote { item_id } => s.upvote(participant()?, item_id, true).await,
        ClientMsg::Unupvote { item_id } => s.upvote(participant()?, item_id, false).await,
        ClientMsg::QaStatus { item_id, status } => s.set_qa_status(item_id, &status).await,
        ClientMsg::QaHideAuthor { item_id } => s.qa_hide_author(item_id).await.map(drop),
        ClientMsg::AddQuestion { question } => s.add_question(question.get()?).await.map(drop),
        ClientMsg::UpdateQuestion {
            question_id,
            question,
        } => s
            .update_question(question_id, question.get()?)
            .await
            .map(drop),
        ClientMsg::MoveQuestion { question_id, index } => s.move_question(question_id, index).await,
        ClientMsg::Open {
            question_id,
            duration_s,
        } => act(question_id, QuestionAction::Open { duration_s }).await,
        ClientMsg::Close { question_id } => act(question_id, QuestionAction::Close).await,
        ClientMsg::Reveal { question_id } => act(question_id, QuestionAction::Reveal).await,
        ClientMsg::Hide { question_id } => act(question_id, QuestionAction::Hide).await,
        ClientMsg::Reset { question_id } => act(question_id, QuestionAction::Reset).await,
        ClientMsg::DeleteQuestion { question_id } => s.delete_question(question_id).await,
        ClientMsg::Breakdown { question_id, by } => {
            act(question_id, QuestionAction::Breakdown { by }).await
        }
        ClientMsg::Present { question_id, qa } => {
            s.present(Presentation::of(question_id, qa)).await
        }
        ClientMsg::Settings {
            qa_moderation,
            show_digest,
            min_group,
            public_summary,
        } => {
            let change = crate::domain::SettingsChange {
                qa_moderation,
                show_digest,
                min_group,
                public_summary,
            };
            s.update(None, change).await
        }
        ClientMsg::HideEntry {
            question_id,
            entry_id,
        } => s.hide_entry(question_id, entry_id).await,
        ClientMsg::QaTranslate {
            item_id,
            text,
            lang,
        } => match &conn.access {
            Some(a) => s.translate(a, item_id, lang.as_deref(), &text).await,
            None => Err(Error::forbidden("only staff translate")),
        },
    }
}
