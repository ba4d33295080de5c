//! The server's sessions, by join code: finding one (in cluster mode,
//! loading it from Redis), deleting one, stopping them all, and the base URL
//! of links. Opening the storage is in `open`, creating sessions in
//! `create`, the timed sweeps in `sweep`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::live::outbox::CLOSE_GOING_AWAY;
use crate::live::session::LiveSession;
use crate::metrics::Metrics;
use crate::rate::PerIp;
use crate::store::redis::Notices;
use crate::store::Storage;

pub use crate::live::secrets::{is_code, new_token, token_eq};
pub use crate::live::shared::{Clock, Shared};

mod create;
mod open;
mod sweep;

/// This machine's IPv4 addresses that phones on a local network could
/// reach, private ranges (a venue network or a laptop hotspot) first.
pub fn lan_addresses() -> Vec<IpAddr> {
    let Ok(addrs) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut found: Vec<IpAddr> = addrs
        .into_iter()
        .filter(|i| !i.is_loopback())
        .map(|i| i.ip())
        .filter(|ip| matches!(ip, IpAddr::V4(v4) if !v4.is_link_local()))
        .collect();
    found.sort_by_key(|ip| match ip {
        IpAddr::V4(v4) if v4.is_private() => 0,
        _ => 1,
    });
    found.dedup();
    found
}

/// The address links and QR codes use when none is configured.
pub fn lan_address() -> Option<IpAddr> {
    lan_addresses().into_iter().next()
}

/// The sessions this node holds, and what they share.
pub struct Hub {
    /// The sessions held here, by code. In cluster mode an ended session
    /// stays as ended until the sweep lets it go.
    sessions: DashMap<String, Arc<LiveSession>>,
    /// What every session shares (one `Arc`, cloned into each).
    pub shared: Arc<Shared>,
    /// Cluster mode: one session is loaded from Redis at a time.
    loading: tokio::sync::Mutex<()>,
    /// Cluster mode: codes Redis did not know lately, with when it said so.
    misses: parking_lot::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// Cluster mode: how long a code Redis does not know is answered 404 without
/// asking Redis again. A session created on another node meanwhile is
/// reachable here at most this long after its creation.
const MISS_TTL: Duration = Duration::from_secs(2);
/// Cluster mode: the unknown codes remembered at most.
const MISS_MAX: usize = 10_000;

impl Hub {
    /// A hub with nothing in it, kept in memory whatever the configuration
    /// says (for tests).
    pub fn new(config: Config) -> Hub {
        Self::with_storage(config, Storage::Memory)
    }

    /// A hub with nothing in it yet, keeping its sessions in `storage`.
    pub(crate) fn with_storage(config: Config, storage: Storage) -> Hub {
        let lan_addr = lan_address();
        let ip_connections = PerIp::new(config.ip_connections_per_sec, config.ip_connections_burst);
        let ip_participants =
            PerIp::new(config.ip_participants_per_sec, config.ip_participants_burst);
        let ip_sessions = PerIp::with_rate(
            config.ip_sessions_per_min as f64 / 60.0,
            config.ip_sessions_burst,
        );
        let ip_misses = PerIp::new(config.ip_misses_per_sec, config.ip_misses_burst);
        Hub {
            sessions: DashMap::new(),
            shared: Arc::new(Shared {
                limits: config.limits(),
                config,
                metrics: Metrics::default(),
                clock: Clock::new(),
                shutdown: CancellationToken::new(),
                lan_addr,
                open_sockets: AtomicUsize::new(0),
                socket_places: Default::default(),
                ip_connections,
                ip_participants,
                ip_sessions,
                ip_misses,
                storage,
                events: Default::default(),
            }),
            loading: tokio::sync::Mutex::new(()),
            misses: Default::default(),
        }
    }

    /// Cluster mode: whether Redis said lately that it does not know `code`.
    fn missed_lately(&self, code: &str) -> bool {
        let mut misses = self.misses.lock();
        match misses.get(code) {
            Some(at) if at.elapsed() < MISS_TTL => true,
            Some(_) => {
                misses.remove(code);
                false
            }
            None => false,
        }
    }

    /// Cluster mode: remembers that Redis does not know `code`.
    fn missed(&self, code: &str) {
        let mut misses = self.misses.lock();
        if misses.len() >= MISS_MAX {
            misses.retain(|_, at| at.elapsed() < MISS_TTL);
            if misses.len() >= MISS_MAX {
                misses.clear();
            }
        }
        misses.insert(code.to_owned(), std::time::Instant::now());
    }

    /// Every session held now.
    pub fn sessions(&self) -> Vec<Arc<LiveSession>> {
        self.sessions.iter().map(|s| s.clone()).collect()
    }

    /// Sessions held now, against `--max-sessions`.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Drops this very copy of a session from the ones held.
    fn forget(&self, s: &Arc<LiveSession>) {
        if self
            .sessions
            .remove_if(&s.code, |_, held| Arc::ptr_eq(held, s))
            .is_some()
        {
            self.shared.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A session held here now, if any (cluster notices for the others are
    /// ignored).
    pub fn loaded(&self, code: &str) -> Option<Arc<LiveSession>> {
        self.sessions
            .get(code)
            .map(|s| s.clone())
            .filter(|s| !s.ended.is_cancelled())
    }

    /// The session of a code. In cluster mode a session this node does not
    /// hold yet is loaded from Redis, and an ended one is let go.
    pub async fn get(&self, code: &str) -> Result<Arc<LiveSession>> {
        let missing = || Error::not_found(format!("no session with code {code}"));
        // An ended session stays known as ended, without reading its log
        // again; a copy dropped because Redis lost its log is read again.
        let held = || {
            let s = self.sessions.get(code)?.clone();
            if s.lost.load(Ordering::Acquire) {
                self.forget(&s);
                return None;
            }
            Some((!s.ended.is_cancelled()).then_some(s).ok_or_else(missing))
        };
        if let Some(found) = held() {
            return found;
        }
        let Storage::Redis(c) = &self.shared.storage else {
            return Err(missing());
        };
        if !is_code(code) {
            return Err(missing());
        }
        if self.missed_lately(code) {
            return Err(missing());
        }
        let _one_at_a_time = self.loading.lock().await;
        if let Some(found) = held() {
            return found;
        }
        if self.missed_lately(code) {
            return Err(missing());
        }
        let live = match self.load(c, code).await? {
            Some(live) => live,
            None => {
                self.missed(code);
                return Err(missing());
            }
        };
        if let Err(e) = live.catch_up(None).await {
            live.ended.cancel();
            return Err(e);
        }
        self.sessions.insert(code.to_owned(), live.clone());
        self.shared.metrics.sessions.fetch_add(1, Ordering::Relaxed);
        if live.ended.is_cancelled() {
            // Held as ended until swept, so asking again reads nothing.
            return Err(missing());
        }
        // A session from before activity was kept in Redis gets a record.
        if let Err(e) = c.touch(&[code], self.shared.clock.now_ms(), true).await {
            tracing::warn!(code = %code, error = %e.message, "redis: activity not recorded");
        }
        // Replaying the log set the timers of open questions, as on the other
        // nodes: the first to fire closes the question.
        tracing::info!(code = %code, "session loaded from Redis");
        Ok(live)
    }

    /// Deletes a session: its connections get `ended` and are closed.
    pub async fn delete(&self, code: &str) -> Result<()> {
        if self.shared.storage.is_shared() {
            // Held as ended until the idle sweep lets it go.
            let live = self.get(code).await?;
            live.end().await?;
            tracing::info!(code = %code, "session deleted");
            return Ok(());
        }
        if let Some(why) = self.shared.storage.failure() {
            // The end could not be written: the session stays as it is.
            return Err(Error::new(
                crate::error::ErrorCode::Unavailable,
                format!("the journal stopped after a failed write ({why}); this server takes no more changes"),
            ));
        }
        let (_, live) = self
            .sessions
            .remove(code)
            .ok_or_else(|| Error::not_found(format!("no session with code {code}")))?;
        live.end().await?;
        self.shared.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
        self.shared.events.forget_session(code);
        tracing::info!(code = %code, "session deleted");
        Ok(())
    }

    /// Starts the stop: every socket gets close 1001.
    pub fn shutdown(&self) {
        for s in self.sessions.iter() {
            s.close_all(None, CLOSE_GOING_AWAY);
        }
        self.shared.shutdown.cancel();
    }

    /// The base URL phones should use: the configured public URL; else the
    /// host the request came to, unless that is loopback and the server
    /// listens on every interface, in which case the LAN address.
    pub fn base_url(&self, host: Option<&str>) -> String {
        let cfg = &self.shared.config;
        if let Some(u) = &cfg.public_url {
            return u.trim_end_matches('/').to_owned();
        }
        let port = cfg.addr.port();
        let loopback = |h: &str| {
            let name = h.rsplit_once(':').map_or(h, |(n, _)| n);
            name == "localhost" || name.starts_with("127.") || name == "[::1]"
        };
        match (host, self.shared.lan_addr) {
            (Some(h), Some(lan)) if loopback(h) && cfg.addr.ip().is_unspecified() => {
                let port = h
                    .rsplit_once(':')
                    .map_or(port.to_string(), |(_, p)| p.to_owned());
                format!("http://{lan}:{port}")
            }
            (Some(h), _) => format!("http://{h}"),
            (None, Some(lan)) if cfg.addr.ip().is_unspecified() => format!("http://{lan}:{port}"),
            (None, _) => format!("http://{}", cfg.addr),
        }
    }
}

impl Notices for Hub {
    fn resubscribed(&self) {
        for s in self.sessions() {
            s.remote_change(true, true);
        }
    }

    fn changed(&self, code: &str, log: bool, counts: bool) {
        if let Some(s) = self.loaded(code) {
            s.remote_change(log, counts);
        }
    }
}

/// How often idle rate buckets and expired sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

fn no_free_code() -> Error {
    Error::new(
        crate::error::ErrorCode::Unavailable,
        "no free session code; try again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Settings;

    #[tokio::test]
    async fn a_configured_public_url_wins() {
        let mut c = Config::defaults();
        c.public_url = Some("https://vote.example.org/".into());
        let hub = Hub::new(c);
        assert_eq!(
            hub.base_url(Some("localhost:8080")),
            "https://vote.example.org"
        );
    }

    #[tokio::test]
    async fn a_request_host_that_is_not_loopback_is_kept() {
        let hub = Hub::new(Config::defaults());
        assert_eq!(
            hub.base_url(Some("192.168.4.2:8080")),
            "http://192.168.4.2:8080"
        );
    }

    #[tokio::test]
    async fn session_codes_are_unique() {
        let hub = Hub::new(Config::defaults());
        let mut codes = std::collections::HashSet::new();
        for _ in 0..200 {
            let s = hub
                .create_session("t".into(), Settings::default(), vec![])
                .await
                .unwrap();
            assert!(is_code(&s.code));
            assert!(codes.insert(s.code.clone()));
        }
    }

    /// After a journal write failed, every change is refused, `/healthz`
    /// says 503 and why, and the journal on disk holds exactly what was
    /// acknowledged before.
    #[tokio::test]
    async fn after_a_failed_write_changes_are_refused_and_health_says_so() {
        use tower::ServiceExt;

        use crate::store::journal::{self, Journal};

        let dir = std::env::temp_dir().join(format!("handsup-failed-{}", uuid::Uuid::new_v4()));
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let j = Journal::start(&dir, 0, u64::MAX, tx).unwrap();
        let mut config = Config::defaults();
        config.data_dir = dir.clone();
        let hub = Arc::new(Hub::with_storage(config, Storage::Journal(j)));
        let spec = crate::protocol::parse_question_spec(&serde_json::json!({
            "kind": "single", "prompt": "Tea or coffee?", "options": ["Tea", "Coffee"],
        }))
        .unwrap();
        let live = hub
            .create_session("Standup".into(), Settings::default(), vec![spec])
            .await
            .unwrap();
        let q = live.read(|s, _| s.questions()[0].id);
        live.act(
            q,
            crate::protocol::QuestionAction::Open { duration_s: None },
        )
        .await
        .unwrap();
        let (_, first) = live.join().await.unwrap();
        let first = live.participant_by_token(&first).unwrap();
        live.vote(first, q, crate::domain::RawChoice::Int(0))
            .await
            .unwrap();

        // The disk fills up: the next segment is /dev/full.
        let Storage::Journal(j) = &hub.shared.storage else {
            unreachable!()
        };
        std::os::unix::fs::symlink("/dev/full", dir.join("journal-00000002.log")).unwrap();
        assert_eq!(j.rotate(), 2);
        let e = live
            .vote(first, q, crate::domain::RawChoice::Int(1))
            .await
            .unwrap_err();
        assert_eq!(
            e.code,
            crate::error::ErrorCode::Unavailable,
            "{}",
            e.message
        );
        // From now on nothing is taken, not even what needs no new segment.
        let e = live.join().await.unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::Unavailable);
        assert!(e.message.contains("no more changes"), "{}", e.message);
        let e = hub
            .create_session("Another".into(), Settings::default(), vec![])
            .await
            .err()
            .expect("refused");
        assert_eq!(e.code, crate::error::ErrorCode::Unavailable);
        let e = hub.delete(&live.code).await.unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::Unavailable);
        assert!(
            hub.loaded(&live.code).is_some(),
            "not deleted in memory only"
        );

        let app = crate::transport::http::app(hub.clone());
        let res = app
            .oneshot(
                axum::http::Request::get("/healthz")
                    .header("host", "127.0.0.1")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 503);
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], "failed");
        assert!(body["journal"].as_str().unwrap().len() > 3, "{body}");

        // What is on disk is what was acknowledged: the first vote.
        hub.shared.storage.close();
        std::fs::remove_file(dir.join("journal-00000002.log")).unwrap();
        let r = journal::replay(&dir, false, true).unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let s = &r.sessions[&live.code].session;
        assert_eq!(s.participants().len(), 1);
        assert_eq!(
            s.questions()[0].ballot(0),
            Some(&crate::domain::Choice::Index(0))
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
