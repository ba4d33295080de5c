//! handsup: a live audience polling server.
//!
//! A moderator prepares questions and opens them one at a time; phones in the
//! room join by a six-digit code and vote; the projector shows the live
//! results. State is held in memory, per session, behind one lock per
//! session; tallies are pushed over websockets, coalesced per interval.
//!
//! Layout:
//! - `config`: command line and environment, every default in one place
//! - `domain`: the poll model (sessions, questions, ballots, tallies); no I/O
//! - `protocol`: the wire messages of `docs/api.md`, parsed and rendered
//! - `session`: one live session: its lock, its connections, tally fan-out
//! - `outbox`: a connection's bounded queue of outgoing events
//! - `hub`: the server's sessions by code, tokens, codes, the shared clock
//! - `ws`: the socket loop (hello, reader, writer, limits)
//! - `http`: the HTTP API and the pages, in one router
//! - `serve`: the accept loop, the HTTP deadlines and the stop
//! - `web`: the embedded page files
//! - `qr`: QR codes of the audience link
//! - `metrics`: counters for `/metrics`
//! - `error`: the contract's error codes and their rendering

pub mod cluster;
pub mod config;
pub mod deck;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod http;
pub mod hub;
pub mod journal;
pub mod metrics;
pub mod outbox;
pub mod protocol;
pub mod qr;
pub mod rate;
pub mod serve;
pub mod session;
pub mod web;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::hub::Hub;

/// Serves `hub` on `listener` until `shutdown` resolves; then stops taking
/// connections, closes every socket with 1001 and returns within
/// `--shutdown-timeout-s`, whatever clients do (see `serve`).
pub async fn run(
    listener: TcpListener,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve::run(listener, hub, shutdown).await
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
