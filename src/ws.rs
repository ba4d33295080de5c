//! The socket loop: hello within the deadline, then a writer task that
//! drains the connection's outbox and watches its tally board, and a reader
//! that turns each frame into an action and answers with an ack or an error.
//! A bad message never ends the connection; only an oversized frame (1009),
//! sustained flooding (1008), silence past the pong timeout, a slow reader
//! (1013) or the server's stop (1001) do.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{interval_at, timeout, timeout_at, Instant};

use crate::error::{Error, ErrorCode, Result};
use crate::hub::Hub;
use crate::outbox::{Close, Next, Outbox};
use crate::protocol::{self, ClientMsg, Hello, Role};
use crate::rate::{Bucket, Take};
use crate::session::{board_news, Attached, LiveSession};

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
    headers: HeaderMap,
) -> Response {
    let session = match hub.get(&code).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let shared = &hub.shared;
    if shared.open_sockets.load(Ordering::Relaxed) >= shared.config.max_connections {
        tracing::warn!(%peer, "connection refused: the server holds its maximum of sockets");
        return Error::new(
            ErrorCode::Unavailable,
            "this server is at its connection limit; retry shortly",
        )
        .into_response();
    }
    let ip = crate::rate::client_ip(peer, &headers, &shared.config.trusted_proxies);
    if !shared.ip_connections.allow(ip) {
        tracing::warn!(%ip, "connection refused: too many new connections from this address");
        return Error::new(
            ErrorCode::RateLimited,
            "too many new connections from this address; retry shortly",
        )
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
    ws
        // Phones send small frames: a small read buffer keeps each socket light.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(1024 * 1024)
        // Frames a little over the limit are read and refused with 1009 by
        // us; the transport itself stops anything twice the limit.
        .max_message_size(frame_limit * 2)
        .max_frame_size(frame_limit * 2)
        .on_upgrade(move |socket| async move {
            let _open = OpenSocket::count(hub.clone());
            serve_socket(socket, hub.clone(), session, join_url, ip).await;
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

/// Counts a socket as open for as long as it lives, whatever way its task
/// ends (even by a panic), so the connection cap never leaks.
struct OpenSocket(Arc<Hub>);

impl OpenSocket {
    fn count(hub: Arc<Hub>) -> OpenSocket {
        hub.shared.open_sockets.fetch_add(1, Ordering::Relaxed);
        OpenSocket(hub)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.shared.open_sockets.fetch_sub(1, Ordering::Relaxed);
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

/// Sends a close and reads until the peer answers or the grace runs out.
async fn close_now(sink: &mut Sink, stream: &mut Stream, c: &Close) {
    let _ = sink.send(close_message(c)).await;
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
) {
    let (mut sink, mut stream) = socket.split();
    let Some(hello) = read_hello(&hub, &session, &mut sink, &mut stream).await else {
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
            let _ = sink
                .send(Message::Text(protocol::error_frame(None, &e)))
                .await;
            let close = if e.code == ErrorCode::Unauthorized {
                CLOSE_UNAUTHORIZED
            } else {
                CLOSE_UNAVAILABLE
            };
            close_now(&mut sink, &mut stream, &close).await;
            return;
        }
    };
    let conn_id = attached.conn_id;
    let outbox = attached.outbox.clone();
    let participant = attached.participant;
    let last_seen = Arc::new(AtomicI64::new(hub.shared.clock.now_ms()));
    let mut writer = tokio::spawn(write_loop(sink, attached, hub.clone(), last_seen.clone()));

    let conn = Conn {
        hub: &hub,
        session: &session,
        role: hello.role,
        participant,
        outbox: &outbox,
        bucket: Bucket::new(hub.shared.config.rate_per_sec, hub.shared.config.rate_burst),
    };
    let writer_done = read_loop(conn, &mut stream, &mut writer, &last_seen).await;

    session.detach(conn_id);
    outbox.close(crate::outbox::CLOSE_NORMAL);
    // Let the writer send what is queued and the close, then read until the
    // peer's close arrives (a clean close handshake), within the grace.
    let _ = timeout(CLOSE_GRACE, async {
        // A finished task must not be awaited again.
        if !writer_done {
            let _ = (&mut writer).await;
        }
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
    writer.abort();
}

async fn read_hello(
    hub: &Hub,
    session: &LiveSession,
    sink: &mut Sink,
    stream: &mut Stream,
) -> Option<Hello> {
    let deadline = Instant::now() + hub.shared.config.hello_timeout();
    loop {
        let next = tokio::select! {
            n = timeout_at(deadline, stream.next()) => n,
            _ = session.ended.cancelled() => return None,
        };
        match next {
            Err(_) => {
                close_now(sink, stream, &CLOSE_HELLO_TIMEOUT).await;
                return None;
            }
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return None,
            Ok(Some(Ok(Message::Text(t)))) => {
                if t.len() > hub.shared.config.max_frame_bytes {
                    close_now(sink, stream, &CLOSE_TOO_BIG).await;
                    return None;
                }
                match protocol::parse_hello(&t) {
                    Ok(h) => return Some(h),
                    Err(e) => {
                        let (r, _) = protocol::parse_client(&t);
                        let _ = sink
                            .send(Message::Text(protocol::error_frame(r.as_deref(), &e)))
                            .await;
                    }
                }
            }
            Ok(Some(Ok(Message::Binary(_)))) => {
                let e = Error::bad_request(
                    "binary frames are not part of the protocol; send JSON text",
                );
                let _ = sink
                    .send(Message::Text(protocol::error_frame(None, &e)))
                    .await;
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Writes queued events and board news until the outbox closes or the peer
/// falls silent; pings on the way.
async fn write_loop(mut sink: Sink, att: Attached, hub: Arc<Hub>, last_seen: Arc<AtomicI64>) {
    let Attached {
        outbox,
        mut board,
        mut sent,
        ..
    } = att;
    let shared = &hub.shared;
    let every = shared.config.ping_interval();
    let silent_after = shared.config.pong_timeout().as_millis() as i64;
    let mut ping = interval_at(Instant::now() + every, every);
    let mut presence_sent = None;
    let mut board_open = true;
    loop {
        let result = tokio::select! {
            biased;
            next = outbox.next() => match next {
                Next::Frames(frames) => {
                    let mut r = Ok(());
                    for f in frames {
                        r = sink.feed(Message::Text(f)).await;
                        if r.is_err() { break; }
                    }
                    match r { Ok(()) => sink.flush().await, e => e }
                }
                Next::Close(c) => {
                    let _ = sink.send(close_message(&c)).await;
                    return;
                }
            },
            changed = board.changed(), if board_open => {
                if changed.is_err() {
                    board_open = false;
                    continue;
                }
                let b = board.borrow_and_update().clone();
                let news = board_news(&b, &mut sent, &mut presence_sent);
                let mut r = Ok(());
                for f in news {
                    if f.as_str().starts_with(r#"{"type":"tally""#) {
                        shared.metrics.tally_messages.fetch_add(1, Ordering::Relaxed);
                    }
                    r = sink.feed(Message::Text(f)).await;
                    if r.is_err() { break; }
                }
                match r { Ok(()) => sink.flush().await, e => e }
            }
            _ = ping.tick() => {
                if shared.clock.now_ms() - last_seen.load(Ordering::Relaxed) > silent_after {
                    let _ = sink.send(close_message(&CLOSE_SILENT)).await;
                    return;
                }
                sink.send(Message::Ping(Default::default())).await
            }
        };
        if result.is_err() {
            return;
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

/// Reads until the peer or the writer ends; true if the writer ended.
async fn read_loop(
    mut conn: Conn<'_>,
    stream: &mut Stream,
    writer: &mut tokio::task::JoinHandle<()>,
    last_seen: &AtomicI64,
) -> bool {
    let shared = &conn.hub.shared;
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = &mut *writer => return true,
        };
        last_seen.store(shared.clock.now_ms(), Ordering::Relaxed);
        match msg {
            None => return false,
            Some(Err(e)) => {
                let text = e.to_string();
                if text.contains("too long") || text.contains("Space limit") {
                    conn.outbox.close(CLOSE_TOO_BIG);
                }
                tracing::debug!(error = %text, "socket read failed");
                return false;
            }
            Some(Ok(Message::Text(t))) => {
                if t.len() > shared.config.max_frame_bytes {
                    conn.outbox.close(CLOSE_TOO_BIG);
                    return false;
                }
                shared
                    .metrics
                    .messages_received
                    .fetch_add(1, Ordering::Relaxed);
                let reply = match conn.bucket.take() {
                    Take::Ok => handle_text(&conn, &t).await,
                    Take::Limited => {
                        let (r, _) = protocol::parse_client(&t);
                        let e = Error::new(ErrorCode::RateLimited, "too many messages; slow down");
                        protocol::error_frame(r.as_deref(), &e)
                    }
                    Take::Flood => {
                        tracing::warn!(code = %conn.session.code, "closing a flooding connection");
                        conn.outbox.close(CLOSE_FLOOD);
                        return false;
                    }
                };
                conn.outbox.push(reply);
            }
            Some(Ok(Message::Binary(_))) => {
                let e = Error::bad_request(
                    "binary frames are not part of the protocol; send JSON text",
                );
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
    match msg {
        ClientMsg::Hello => Err(Error::bad_request("hello was already received")),
        ClientMsg::Vote {
            question_id,
            choice,
        } => s.vote(participant()?, question_id, choice).await,
        ClientMsg::Retract { question_id } => s.retract(participant()?, question_id).await,
        ClientMsg::Ask { text, name } => s.ask(participant()?, &text, name.as_deref()).await,
        ClientMsg::Upvote { item_id, up } => s.upvote(participant()?, item_id, up).await,
        ClientMsg::QaStatus { item_id, status } => s.set_qa_status(item_id, &status).await,
        ClientMsg::QaHideAuthor { item_id } => s.qa_hide_author(item_id).await.map(drop),
        ClientMsg::AddQuestion { question } => s.add_question(question).await.map(drop),
        ClientMsg::UpdateQuestion {
            question_id,
            question,
        } => s.update_question(question_id, question).await.map(drop),
        ClientMsg::MoveQuestion { question_id, index } => s.move_question(question_id, index).await,
        ClientMsg::Act {
            question_id,
            action,
        } => s.act(question_id, action).await.map(drop),
        ClientMsg::DeleteQuestion { question_id } => s.delete_question(question_id).await,
        ClientMsg::Present(p) => s.present(p).await,
        ClientMsg::Settings { qa_moderation } => s.update(None, qa_moderation).await,
        ClientMsg::HideEntry {
            question_id,
            entry_id,
        } => s.hide_entry(question_id, entry_id).await,
    }
}
