//! `GET /ws/events/{id}`: the organiser's overview of an event over one
//! socket, however many rooms it has. After `{"type": "hello", "role":
//! "organiser", "token"}` the socket gets `{"type": "event", "event"}` (the
//! shape of `GET /api/events/{id}`), then the same again whenever anything
//! in it changed: the rooms are looked at four times a second and a frame
//! leaves only when the view moved, so a busy event costs at most four
//! frames a second, and a change shows within a quarter of a second. When the event ends the socket gets `{"type":
//! "ended"}` and is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{origin_allowed, Place};
use crate::error::Error;
use crate::live::registry::Hub;
use crate::transport::http::{event_view, standalone_only};

/// How often the rooms are looked at.
const EVERY: Duration = Duration::from_millis(250);
/// The largest frame an organiser's socket reads (a hello).
const MAX_FRAME: usize = 4096;

/// `GET /ws/events/{id}`.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    Path(id): Path<String>,
    State(hub): State<Arc<Hub>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = standalone_only(&hub) {
        return e.into_response();
    }
    let Some(id) = id
        .parse::<Uuid>()
        .ok()
        .filter(|id| hub.shared.events.event_by_id(*id).is_some())
    else {
        return Error::not_found(format!("no event {id:?}")).into_response();
    };
    let shared = &hub.shared;
    let ip = crate::rate::client_ip(peer, &headers, &shared.config.trusted_proxies);
    let place = match Place::take(shared, ip) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if let Err(secs) = shared.ip_connections.take(ip) {
        return Error::rate_limited("too many new connections from this address; retry shortly")
            .retry_after(secs)
            .into_response();
    }
    let host = headers.get("host").and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get("origin") {
        if !origin_allowed(origin.to_str().unwrap_or(""), host, &shared.config) {
            return Error::forbidden("this page's origin may not open a socket here")
                .into_response();
        }
    }
    let base = hub.base_url(host);
    ws.max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            let _place = place;
            serve(socket, hub, id, base).await;
        })
}

fn frame(v: &Value) -> Message {
    Message::Text(v.to_string().into())
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Reads the hello; the organiser token it carries, if it is one.
async fn hello(socket: &mut WebSocket, wait: Duration) -> Option<String> {
    let msg = tokio::time::timeout(wait, socket.next())
        .await
        .ok()??
        .ok()?;
    let Message::Text(text) = msg else {
        return None;
    };
    let v: Value = serde_json::from_str(text.as_str()).ok()?;
    (v["type"] == "hello" && v["role"] == "organiser")
        .then(|| v["token"].as_str().map(str::to_owned))
        .flatten()
}

async fn serve(mut socket: WebSocket, hub: Arc<Hub>, id: Uuid, base: String) {
    let shared = hub.shared.clone();
    let token = hello(&mut socket, shared.config.hello_timeout()).await;
    if let Err(e) = shared.events.organised(id, token.as_deref()) {
        let _ = socket
            .send(frame(
                &json!({"type": "error", "code": e.code.as_str(), "message": e.message}),
            ))
            .await;
        let _ = socket.send(close(4401, "unauthorized")).await;
        return;
    }
    let token = token.unwrap_or_default();
    let (mut sink, mut stream) = socket.split();
    let mut last = String::new();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let Ok(event) = shared.events.organised(id, Some(&token)) else {
                    let _ = sink.send(frame(&json!({"type": "ended"}))).await;
                    let _ = sink.send(close(1000, "event ended")).await;
                    return;
                };
                let view = event_view(&hub, &event, &base);
                let text = json!({"type": "event", "event": view}).to_string();
                if text != last {
                    if tokio::time::timeout(Duration::from_secs(10), sink.send(Message::Text(text.clone().into())))
                        .await
                        .map_or(true, |r| r.is_err())
                    {
                        return;
                    }
                    last = text;
                }
            }
            msg = stream.next() => match msg {
                // The organiser sends nothing after hello but pings and the close.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = shared.shutdown.cancelled() => {
                let _ = sink.send(close(1001, "server stopping")).await;
                return;
            }
        }
    }
}
