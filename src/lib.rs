//! handsup: a live audience polling server.
//!
//! A moderator prepares questions and opens them one at a time; phones in the
//! room join by a six-digit code and vote; the projector shows the live
//! results. A session is run in memory, behind one lock per session, and kept
//! in an on-disk journal (or in Redis, for several nodes); tallies are
//! pushed over websockets, coalesced per interval.
//!
//! Layout. Each layer depends only on the layers listed before it; the
//! shared utilities at the end may be used by any.
//!
//! - `domain`: the poll model; pure, no I/O, no clock, no JSON values
//!   - `question`: kinds, options, the spec validated on the way in
//!   - `choice`: what a phone may answer to each kind; word normalisation
//!   - `tally`: the running counts of a question
//!   - `session`: a session's questions, participants, ballots and rules
//!   - `qa`: the Q&A board
//!   - `links`: links for every role: scopes and the one table of what
//!     each may do (`Scope::may`)
//!   - `event`: every change as a typed event, and `Session::apply`, used by
//!     live changes and replay alike
//! - `protocol`: the wire of `docs/api.md`
//!   - `client`: messages phones and consoles send; `server`: messages sent
//!     to them; `views`: the JSON views of sessions, questions, results
//!   - `spec`: question specs as JSON, with errors naming the field's path
//!   - `deck`: the deck file format (TOML), read and written
//! - `export`: results for download: the CSV and the HTML report
//! - `store`: where sessions are kept, as one `Storage` type
//!   - `records`: the journal's own versioned record types
//!   - `journal`: segment files and the hash chain (`segments`), the group
//!     commit (`writer`), `replay`, `verify`
//!   - `redis`: cluster mode's shared log, ballots (`ballot`), Lua `scripts`,
//!     a session's ballots spread over hash slots (`slots`)
//! - `live`: the sessions being run
//!   - `registry`: sessions by code: `create`, `open` (load, replay, Redis),
//!     `sweep` (expiry, unloading)
//!   - `session`: one live session: `commands`, `ballots`, `qa`, `changes`
//!     (apply, log, broadcast), `connect` (attach, welcome), `fanout`
//!     (tally boards), `views`, `follower` (cluster mode), `links` (who a
//!     token is, links made and revoked, translations)
//!   - `shared`: what every session shares (config, storage, clock,
//!     metrics); `secrets`: tokens and codes; `outbox`: a connection's queue
//!   - `events`: events of many sessions, their organiser tokens, kept in
//!     `events.json` beside the journal
//! - `transport`: the network side
//!   - `serve`: the accept loop, HTTP deadlines, the stop
//!   - `http`: routes by resource (`sessions`, `events`, `questions`,
//!     `ballots`, `qa`, `results`, `decks`, `links`, `health`), `auth`
//!     extractors, the `guard`
//!   - `scope`: the action each route and socket message asks of a staff
//!     caller
//!   - `ws`: the websocket: upgrade and places, `conn` (the reader, generic
//!     over any sink and stream), `writer`, `event` (the organiser's
//!     overview of an event)
//!   - `pages`: the embedded web pages; `qr`: QR codes
//! - `cli`: `serve`, `demo` and `verify`; `links` printed at start; the
//!   `deck` read at start
//!
//! Shared by all: `config` (command line and environment, every default in
//! one place), `error` (the contract's error codes), `metrics` (`/metrics`),
//! `rate` (token buckets, per-address limits, socket places).

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
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::live::registry::Hub;

/// A server started by [`start`]: where it listens, its sessions, and the
/// means to stop it. Dropping it stops the server too.
pub struct Running {
    /// The address actually bound (with port 0, the port the system chose).
    pub addr: SocketAddr,
    /// The server's sessions.
    pub hub: Arc<Hub>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops the server as a signal would: no new connections, every socket
    /// closed with 1001, the journal flushed; returns once it has stopped.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.stopped().await
    }

    /// Serves until `signal` resolves, then stops as [`Running::stop`] does.
    /// Returns early if the server fails on its own.
    pub async fn serve_until(mut self, signal: impl Future<Output = ()>) -> std::io::Result<()> {
        tokio::select! {
            r = &mut self.task => {
                self.stop.take();
                return r.unwrap_or_else(|e| Err(std::io::Error::other(e)));
            }
            _ = signal => {}
        }
        self.stop().await
    }

    async fn stopped(&mut self) -> std::io::Result<()> {
        (&mut self.task)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `config.addr`, opens the sessions (journal, Redis or memory, as
/// configured) and serves them in a task of the current runtime. The one
/// way the server starts: `handsup serve` and the tests both use it
/// (`serve` through [`bind`], to add a deck or demo session before the
/// first request).
pub async fn start(config: Config) -> std::io::Result<Running> {
    Ok(bind(config).await?.serve())
}

/// A server bound and with its sessions open, not yet taking requests:
/// connections wait in the accept queue until [`Bound::serve`].
pub struct Bound {
    /// The address actually bound (with port 0, the port the system chose).
    pub addr: SocketAddr,
    /// The server's sessions.
    pub hub: Arc<Hub>,
    listener: TcpListener,
}

/// The first half of [`start`]: binds and opens the sessions.
pub async fn bind(mut config: Config) -> std::io::Result<Bound> {
    let listener = listen(config.addr).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.addr))
    })?;
    let addr = listener.local_addr()?;
    // With port 0 the links must carry the port actually bound.
    config.addr = addr;
    if config.in_memory {
        tracing::warn!("running in memory: sessions and votes are lost when the server stops");
    }
    // Each phone is a socket, and each socket a file descriptor.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::info!(
            open_files = n,
            "open-file limit raised: about {} connections fit",
            n.saturating_sub(64)
        ),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
    let hub = Hub::open(config)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot open the journal: {e}")))?;
    Ok(Bound {
        addr,
        hub,
        listener,
    })
}

impl Bound {
    /// Starts taking requests in a task of the current runtime.
    pub fn serve(self) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let hub = self.hub.clone();
        let task = tokio::spawn(async move {
            run(self.listener, hub.clone(), async {
                let _ = stopped.await;
            })
            .await?;
            hub.shared.storage.close();
            Ok(())
        });
        Running {
            addr: self.addr,
            hub: self.hub,
            stop: Some(stop),
            task,
        }
    }
}

/// Binds with a deep accept queue: when a whole room joins at once (or
/// reconnects after the Wi-Fi drops), a short queue overflows and each
/// overflow costs a phone a one-second SYN retry.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

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

/// Resolves on SIGINT or SIGTERM. The handlers are in place once this
/// returns, not at the first poll: a signal that arrives between the
/// "listening on" line and the serving loop stops the server cleanly
/// instead of killing it.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (int, term) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(int) => {},
                _ = wait(term) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
