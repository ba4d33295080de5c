//! The websocket side: the upgrade of `GET /ws/{code}` (caps, origin), and
//! the connection it hands to `conn`: hello within the deadline, then a
//! writer that drains the connection's outbox and watches its tally board
//! (`writer`), and a reader that turns each frame into an action and
//! answers with an ack or an error.
//!
//! A bad message never ends the connection; only an oversized frame (1009),
//! sustained flooding of text or binary frames (1008), silence past the pong
//! timeout, a slow reader (1013: its queue overflowed, or its writes made no
//! progress for the write timeout, in which case the socket is reset) or the
//! server's stop (1001) do.
//!
//! Each socket holds a place under the server's cap and its address's,
//! taken before the upgrade (`Place`). Server frames have no size cap: a
//! big deck's welcome goes through, one write buffer at a time.

mod conn;
pub mod event;
mod writer;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::StreamExt;

use crate::error::{Error, ErrorCode, Result};
use crate::live::registry::{Hub, Shared};
use crate::transport::serve::ConnWatch;
use conn::Peer;

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
        // Phones send small frames (a vote is under 200 bytes): a small read
        // buffer keeps each idle socket light. It grows for a larger frame.
        .read_buffer_size(READ_BUFFER_BYTES)
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
            let (sink, stream) = socket.split();
            let peer = Peer {
                session,
                join_url,
                ip,
                watch,
            };
            conn::serve(sink, stream, hub, peer).await;
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

/// What each socket keeps to read into (the transport's default is 128 KiB,
/// touched on the first read): it holds any vote or hello whole.
const READ_BUFFER_BYTES: usize = 512;

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
        if shared.socket_places.take(ip, shared.config.ip_max_sockets) {
            return Ok(Place {
                shared: shared.clone(),
                ip,
            });
        }
        shared.open_sockets.fetch_sub(1, Ordering::AcqRel);
        Err(Error::rate_limited(
            "this address holds as many sockets as it may; close one or retry shortly",
        )
        .retry_after(RETRY_AFTER_S))
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.shared.socket_places.give_back(self.ip);
        self.shared.open_sockets.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests;
