//! The socket loop: hello within the deadline, then a writer task that
//! drains the connection's outbox and watches its tally board, and a reader
//! that turns each frame into an action and answers with an ack or an error.
//! A bad message never ends the connection; only an oversized frame (1009),
//! sustained flooding of text or binary frames (1008), silence past the pong
//! timeout, a slow reader (1013: its queue overflowed, or its writes made no
//! progress for the write timeout, in which case the socket is reset) or the
//! server's stop (1001) do.
//!
//! Each socket holds a place under the server's cap and its address's,
//! taken before the upgrade (`Place`). Server frames have no size cap: a
//! big deck's welcome goes through, one write buffer at a time.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use dashmap::DashMap;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{interval_at, timeout, timeout_at, Instant};

use crate::error::{Error, ErrorCode, Result};
use crate::live::outbox::{Close, Next, Outbox, CLOSE_SLOW};
use crate::live::registry::{Hub, Shared};
use crate::live::session::{board_news, Attached, LiveSession};
use crate::protocol::{self, ClientMsg, Hello, Presentation, QuestionAction, Role};
use crate::rate::{Bucket, Take};
use crate::transport::serve::ConnWatch;

const CLOSE_TOO_BIG: Close = Close {
    code: 1009,
    reason: "frame too large",
};
const CLOSE_FLOOD: Close = Close {
    code: 1008,
    reason: "too many messages",
};
const CLOSE_UNAUTHORIZED: Close = Close {
    code: 4401,
    reason: "unauthorized",
};
const CLOSE_HELLO_TIMEOUT: Close = Close {
    code: 4408,
    reason: "no hello in time",
};
const CLOSE_SILENT: Close = Close {
    code: 1001,
    reason: "no pong in time",
};
const CLOSE_UNAVAILABLE: Close = Close {
    code: 1013,
    reason: "try again later",
};

/// How long a closing socket waits for the peer's close before dropping it.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// `GET /ws/{code}`: upgrades to the socket protocol.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    Path(code): Path<String>,
    State(hub): State<Arc<Hub>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    watch: Option<Extension<Arc<ConnWatch>>>,
    headers: HeaderMap,
) -> Response {
    let session = match hub.get(&code).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let shared = &hub.shared;
    let ip = crate::rate::client_ip(peer, &headers, &shared.config.trusted_proxies);
    // The place is held from here: parallel upgrades cannot pass the caps.
    let place = match Place::take(&hub.shared, ip) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(%ip, reason = %e.message, "connection refused");
            return e.into_response();
        }
    };
    if let Err(secs) = shared.ip_connections.take(ip) {
        tracing::warn!(%ip, "connection refused: too many new connections from this address");
        return Error::rate_limited("too many new connections from this address; retry shortly")
            .retry_after(secs)
            .into_response();
    }
    let host = headers.get("host").and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get("origin") {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(origin, host, &shared.config) {
            tracing::warn!(%peer, origin, "websocket refused: cross-site origin");
            return Error::forbidden("this page's origin may not open a socket here")
                .into_response();
        }
    }
    let join_url = format!("{}/{}", hub.base_url(host), code);
    let frame_limit = shared.config.max_frame_bytes;
    let watch = watch.map(|Extension(w)| w);
    ws
        // Phones send small frames: a small read buffer keeps each socket light.
        .read_buffer_size(4 * 1024)
        // Writes leave in pieces of 8 KiB; a larger frame (a big deck's
        // welcome) is written through, never refused: no cap on the write
        // buffer. What waits for a slow socket is bounded by its outbox and
        // by one frame at a time.
        .write_buffer_size(8 * 1024)
        // Frames a little over the limit are read and refused with 1009 by
        // us; the transport itself stops anything twice the limit.
        .max_message_size(frame_limit * 2)
        .max_frame_size(frame_limit * 2)
        .on_upgrade(move |socket| async move {
            // Given back when the socket ends, or here if the upgrade fails
            // (the closure is then dropped unrun).
            let _place = place;
            serve_socket(socket, hub.clone(), session, join_url, ip, watch).await;
        })
}

/// A browser's socket from another site could act with the phone's stored
/// token (cross-site websocket hijacking): only the server's own origin,
/// the public URL's and the configured ones may connect. Clients that send
/// no Origin (scripts, the load generator) are not browsers and pass.
fn origin_allowed(origin: &str, host: Option<&str>, config: &crate::config::Config) -> bool {
    let authority = |url: &str| {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        rest.split('/').next().unwrap_or("").to_ascii_lowercase()
    };
    let given = authority(origin);
    if host.is_some_and(|h| h.eq_ignore_ascii_case(&given)) {
        return true;
    }
    config
        .public_url
        .iter()
        .chain(&config.allowed_origins)
        .any(|o| {
            let o = o.trim();
            o == "*" || (!o.is_empty() && authority(o) == given)
        })
}

/// Open sockets by client address, against `--ip-max-sockets`.
#[derive(Default)]
pub struct SocketPlaces {
    by_ip: DashMap<IpAddr, usize>,
}

impl SocketPlaces {
    /// Sockets `ip` holds now.
    pub fn held(&self, ip: IpAddr) -> usize {
        self.by_ip.get(&ip).map_or(0, |n| *n)
    }
}

/// How long a refused client is told to wait before trying again.
const RETRY_AFTER_S: u64 = 5;

/// A socket's place under the server's cap (`--max-connections`) and its
/// address's (`--ip-max-sockets`), taken before the upgrade and given back
/// when dropped, whatever way the socket's task ends (even by a panic), so
/// the caps never leak and parallel upgrades never pass them.
pub struct Place {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Place {
    pub fn take(shared: &Arc<Shared>, ip: IpAddr) -> Result<Place> {
        // An IPv6 client counts by its /64, as in every per-address limit.
        let ip = crate::rate::ip_key(ip);
        let max = shared.config.max_connections;
        if shared
            .open_sockets
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_err()
        {
            return Err(Error::new(
                ErrorCode::Unavailable,
                "this server is at its connection limit; retry shortly",
            )
            .retry_after(RETRY_AFTER_S));
        }
        {
            let mut n = shared.socket_places.by_ip.entry(ip).or_insert(0);
            if *n < shared.config.ip_max_sockets {
                *n += 1;
                return Ok(Place {
                    shared: shared.clone(),
                    ip,
                });
            }
        }
        shared.socket_places.by_ip.remove_if(&ip, |_, n| *n == 0);
        shared.open_sockets.fetch_sub(1, Ordering::AcqRel);
        Err(Error::rate_limited(
            "this address holds as many sockets as it may; close one or retry shortly",
        )
        .retry_after(RETRY_AFTER_S))
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let places = &self.shared.socket_places.by_ip;
        if let Some(mut n) = places.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
        }
        places.remove_if(&self.ip, |_, n| *n == 0);
        self.shared.open_sockets.fetch_sub(1, Ordering::AcqRel);
    }
}

type Sink = SplitSink<WebSocket, Message>;
type Stream = SplitStream<WebSocket>;

fn close_message(c: &Close) -> Message {
    Message::Close(Some(CloseFrame {
        code: c.code,
        reason: Utf8Bytes::from_static(c.reason),
    }))
}

/// Why a write gave up.
enum WriteError {
    /// The socket failed or was closed.
    Failed,
    /// The peer took nothing for the write timeout.
    Stalled,
}

/// Where a socket's writes stand: the deadline, and the connection's watch
/// (which sees every byte the kernel takes) where the server has one.
#[derive(Clone)]
struct Writes {
    limit: Duration,
    watch: Option<Arc<ConnWatch>>,
}

impl Writes {
    /// Runs one write (a frame, a flush, a close) unless it makes no
    /// progress for the write timeout. Progress is what counts: a big frame
    /// to a slow phone that keeps reading goes through, however long it
    /// takes; a peer that reads nothing is given up on.
    async fn run<F>(&self, op: F) -> std::result::Result<(), WriteError>
    where
        F: std::future::Future<Output = std::result::Result<(), axum::Error>>,
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

/// Sends a close and reads until the peer answers or the grace runs out.
async fn close_now(sink: &mut Sink, stream: &mut Stream, c: &Close, writes: &Writes) {
    if writes.run(sink.send(close_message(c))).await.is_err() {
        return;
    }
    let _ = timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
}

async fn serve_socket(
    socket: WebSocket,
    hub: Arc<Hub>,
    session: Arc<LiveSession>,
    join_url: String,
    ip: std::net::IpAddr,
    watch: Option<Arc<ConnWatch>>,
) {
    let writes = Writes {
        limit: hub.shared.config.write_timeout(),
        watch,
    };
    let (mut sink, mut stream) = socket.split();
    let mut bucket = Bucket::new(hub.shared.config.rate_per_sec, hub.shared.config.rate_burst);
    let Some(hello) =
        read_hello(&hub, &session, &mut sink, &mut stream, &writes, &mut bucket).await
    else {
        return;
    };
    // A phone that brings no known token becomes a new participant: that is
    // what the per-address limit counts, not a phone coming back.
    let known = match hello.token.as_deref() {
        Some(t) if hello.role == Role::Audience => session.find_participant(t).await,
        _ => Ok(None),
    };
    let joins = hello.role == Role::Audience && matches!(known, Ok(None));
    let attached = if joins && !hub.shared.ip_participants.allow(ip) {
        Err(Error::new(
            ErrorCode::RateLimited,
            "too many new participants from this address; retry shortly",
        ))
    } else {
        session
            .attach(hello.role, hello.token.as_deref(), &join_url)
            .await
    };
    let attached = match attached {
        Ok(a) => a,
        Err(e) => {
            let _ = writes
                .run(sink.send(Message::Text(protocol::error_frame(None, &e))))
                .await;
            let close = if e.code == ErrorCode::Unauthorized {
                CLOSE_UNAUTHORIZED
            } else {
                CLOSE_UNAVAILABLE
            };
            close_now(&mut sink, &mut stream, &close, &writes).await;
            return;
        }
    };
    let conn_id = attached.conn_id;
    let outbox = attached.outbox.clone();
    let participant = attached.participant;
    let last_seen = Arc::new(AtomicI64::new(hub.shared.clock.now_ms()));
    let mut writer = tokio::spawn(write_loop(sink, attached, hub.clone(), writes.clone()));

    let conn = Conn {
        hub: &hub,
        session: &session,
        role: hello.role,
        participant,
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

async fn read_hello(
    hub: &Hub,
    session: &LiveSession,
    sink: &mut Sink,
    stream: &mut Stream,
    writes: &Writes,
    bucket: &mut Bucket,
) -> Option<Hello> {
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

/// How the writer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriterEnd {
    /// It sent a close frame.
    Closed,
    /// The socket failed.
    Failed,
    /// The peer took nothing for the write timeout.
    Stalled,
}

/// Writes queued events and board news until the outbox closes, the socket
/// fails or the peer stops taking what is written; pings on the way. Every
/// write has a deadline (see `Writes::run`); the liveness check (pongs) is
/// the reader's, so it runs even while a write waits.
async fn write_loop(mut sink: Sink, att: Attached, hub: Arc<Hub>, writes: Writes) -> WriterEnd {
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
                let news = board_news(&b, &mut sent, &mut presence_sent);
                writes.run(async {
                    for f in news {
                        if f.as_str().starts_with(r#"{"type":"tally""#) {
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
async fn stalled_or_failed(
    e: WriteError,
    shared: &Shared,
    writes: &Writes,
    sink: &mut Sink,
) -> WriterEnd {
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

struct Conn<'a> {
    hub: &'a Hub,
    session: &'a Arc<LiveSession>,
    role: Role,
    participant: Option<u32>,
    outbox: &'a Outbox,
    bucket: Bucket,
}

/// Reads until the peer or the writer ends, or the peer falls silent past
/// the pong timeout; how the writer ended, if it did.
async fn read_loop(
    mut conn: Conn<'_>,
    stream: &mut Stream,
    writer: &mut tokio::task::JoinHandle<WriterEnd>,
    last_seen: &AtomicI64,
) -> Option<WriterEnd> {
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
                let text = e.to_string();
                if text.contains("too long") || text.contains("Space limit") {
                    conn.outbox.close(CLOSE_TOO_BIG);
                }
                tracing::debug!(error = %text, "socket read failed");
                return None;
            }
            Some(Ok(Message::Text(t))) => {
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
                let reply = match take {
                    Some(Take::Ok) => handle_text(&conn, &t).await,
                    Some(_) => {
                        let (r, _) = protocol::parse_client(&t);
                        let e = Error::new(ErrorCode::RateLimited, "too many messages; slow down");
                        protocol::error_frame(r.as_deref(), &e)
                    }
                    None => {
                        conn.outbox.close(CLOSE_FLOOD);
                        return None;
                    }
                };
                conn.outbox.push(reply);
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

/// Parses and applies one message; the ack or error to send back.
async fn handle_text(conn: &Conn<'_>, text: &str) -> Utf8Bytes {
    let (reference, parsed) = protocol::parse_client(text);
    let result = match parsed {
        Ok(msg) if !msg.allowed(conn.role) => Err(Error::forbidden(format!(
            "a {} connection may not send this message",
            conn.role.as_str()
        ))),
        Ok(msg) => apply(conn, msg).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => protocol::ack_frame(reference.as_deref()),
        Err(e) => protocol::error_frame(reference.as_deref(), &e),
    }
}

async fn apply(conn: &Conn<'_>, msg: ClientMsg) -> Result<()> {
    let s = conn.session;
    let participant = || {
        conn.participant
            .ok_or_else(|| Error::forbidden("only the audience votes"))
    };
    let act = |question_id, action| async move { s.act(question_id, action).await.map(drop) };
    match msg {
        ClientMsg::Hello {} => Err(Error::bad_request("hello was already received")),
        ClientMsg::Vote {
            question_id,
            choice,
        } => s.vote(participant()?, question_id, choice.get()?).await,
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
        ClientMsg::Present { question_id, qa } => {
            s.present(Presentation::of(question_id, qa)).await
        }
        ClientMsg::Settings { qa_moderation } => s.update(None, qa_moderation).await,
        ClientMsg::HideEntry {
            question_id,
            entry_id,
        } => s.hide_entry(question_id, entry_id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

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
        assert!(
            shared.socket_places.by_ip.is_empty(),
            "no entry left behind"
        );
    }
}
