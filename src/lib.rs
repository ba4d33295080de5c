//! handsup: a live audience polling server.
//!
//! A moderator prepares questions and opens them one at a time; phones in the
//! room join by a six-digit code and vote; the projector shows the live
//! results. A session is run in memory, behind one lock per session, and kept
//! in an on-disk journal (or in Redis, for several nodes); tallies are
//! pushed over websockets, coalesced per interval.
//!
//! Layout, each layer depending only on the ones above it:
//! - `domain`: the poll model (sessions, questions, ballots, tallies, Q&A);
//!   pure, no I/O
//! - `protocol`: the wire messages of `docs/api.md`, parsed and rendered,
//!   and the deck file format
//! - `export`: results rendered for download (CSV, the HTML report)
//! - `store`: where sessions are kept, as one `Storage` type: in memory,
//!   the journal on disk, or Redis
//! - `live`: the sessions being run: the registry of sessions by code, what
//!   they share, one live session (commands, connections, fan-out, timers,
//!   cluster follower), a connection's outbox
//! - `transport`: the accept loop, HTTP routes, the websocket connection,
//!   pages and QR codes
//! - `cli`: the command line (`serve`, `demo`, `verify`), links printed at
//!   start
//!
//! Shared by all: `config` (command line and environment, every default in
//! one place), `error` (the contract's error codes), `metrics` (counters for
//! `/metrics`), `rate` (token buckets and per-address limits).

pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod export;
pub mod live;
pub mod metrics;
pub mod protocol;
pub mod rate;
pub mod store;
pub mod transport;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::live::registry::Hub;

/// Serves `hub` on `listener` until `shutdown` resolves; then stops taking
/// connections, closes every socket with 1001 and returns within
/// `--shutdown-timeout-s`, whatever clients do (see `serve`).
pub async fn run(
    listener: TcpListener,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    transport::serve::run(listener, hub, shutdown).await
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
