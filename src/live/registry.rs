//! The server's sessions, by join code, and what every session shares: the
//! configuration, the limits, the counters, the clock and the shutdown signal.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::Config;
use crate::domain::{Limits, QuestionSpec, Session, Settings};
use crate::error::{Error, Result};
use crate::live::outbox::CLOSE_GOING_AWAY;
use crate::live::session::LiveSession;
use crate::metrics::Metrics;
use crate::rate::PerIp;
use crate::store::journal::{self, Journal};
use crate::store::redis::Cluster;

/// Wall-clock milliseconds that advance with tokio's clock, so that timers
/// and the times they compare against agree (and tests can pause time).
#[derive(Clone, Debug)]
pub struct Clock {
    wall_at_start: i64,
    start: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Clock {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Clock {
            wall_at_start: wall,
            start: tokio::time::Instant::now(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.wall_at_start + self.start.elapsed().as_millis() as i64
    }

    /// The tokio instant at which `now_ms()` reaches `ms`.
    pub fn instant_at(&self, ms: i64) -> tokio::time::Instant {
        let offset = (ms - self.wall_at_start).max(0) as u64;
        self.start + std::time::Duration::from_millis(offset)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// What every session of this server shares.
pub struct Shared {
    pub config: Config,
    pub limits: Limits,
    pub metrics: Metrics,
    pub clock: Clock,
    /// Cancelled when the server stops; each session's token is a child.
    pub shutdown: CancellationToken,
    /// The machine's LAN address, for links phones in the room can open.
    pub lan_addr: Option<IpAddr>,
    /// Websockets open now, against `config.max_connections`.
    pub open_sockets: AtomicUsize,
    /// Websockets open now by client address, against `config.ip_max_sockets`.
    pub socket_places: crate::transport::ws::SocketPlaces,
    /// Where changes are made durable; None with `--in-memory` or `--redis`.
    pub journal: Option<Journal>,
    /// Cluster mode: the Redis every node shares.
    pub cluster: Option<Arc<Cluster>>,
    /// New sockets per client address.
    pub ip_connections: PerIp,
    /// New participants per client address.
    pub ip_participants: PerIp,
    /// New sessions per client address (without the admin token).
    pub ip_sessions: PerIp,
    /// Lookups of codes that do not exist (and wrong admin tokens) per
    /// client address.
    pub ip_misses: PerIp,
}

/// A fresh secret: 256 bits from the operating system's CSPRNG, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn token_eq(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Is `code` six ASCII digits?
pub fn is_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

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

pub struct Hub {
    sessions: DashMap<String, Arc<LiveSession>>,
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
    /// A hub with nothing in it and no journal, whatever the configuration
    /// says (for tests).
    pub fn new(config: Config) -> Hub {
        Self::with_journal(config, None, None)
    }

    fn with_journal(
        config: Config,
        journal: Option<Journal>,
        cluster: Option<Arc<Cluster>>,
    ) -> Hub {
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
                journal,
                cluster,
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

    /// Opens the server's state: with a journal, replays it (cutting off a
    /// damaged tail), closes the questions whose timer ran out while the
    /// server was down, and compacts what was read into a fresh segment.
    pub async fn open(config: Config) -> std::io::Result<Arc<Hub>> {
        if !config.redis_urls.is_empty() {
            let cluster = Cluster::connect(
                &config.redis_urls,
                config.redis_cluster,
                config.redis_compact_every,
            )
            .map_err(|e| std::io::Error::other(format!("cannot use the Redis URL: {e}")))?;
            tracing::info!("cluster mode: sessions live in Redis and are shared with other nodes");
            let hub = Arc::new(Hub::with_journal(config, None, Some(cluster.clone())));
            cluster.listen(Arc::downgrade(&hub));
            Hub::unload_idle(Arc::downgrade(&hub));
            // Sessions idle past their time go at start too (Redis may
            // still be away: then at the next sweep).
            let weak = Arc::downgrade(&hub);
            tokio::spawn(async move {
                if let Some(h) = weak.upgrade() {
                    h.sweep().await;
                }
            });
            Hub::sweep_every_minute(Arc::downgrade(&hub));
            return Ok(hub);
        }
        if config.in_memory {
            let hub = Arc::new(Hub::new(config));
            Hub::sweep_every_minute(Arc::downgrade(&hub));
            return Ok(hub);
        }
        let limits = config.limits();
        let dir = config.data_dir.clone();
        let started = std::time::Instant::now();
        let replay = {
            let (dir, limits) = (dir.clone(), limits.clone());
            tokio::task::spawn_blocking(move || journal::replay(&dir, &limits, true, false))
                .await
                .map_err(std::io::Error::other)??
        };
        for p in &replay.problems {
            tracing::warn!("journal: {p}");
        }
        tracing::info!(
            sessions = replay.sessions.len(),
            records = replay.records,
            ms = started.elapsed().as_millis() as u64,
            data_dir = %dir.display(),
            "journal replayed"
        );
        let (compact_tx, mut compact_rx) = tokio::sync::mpsc::unbounded_channel();
        let segment_limit = config.journal_segment_mb.max(1) * 1024 * 1024;
        let j = Journal::start(&dir, replay.last_segment, segment_limit, compact_tx)?;
        let hub = Arc::new(Hub::with_journal(config, Some(j), None));
        for (code, r) in replay.sessions {
            let open_timers: Vec<(Uuid, i64)> = r
                .session
                .questions()
                .iter()
                .filter_map(|q| Some((q.id, q.closes_at?)))
                .collect();
            let live = LiveSession::start(r.session, r.chain, hub.shared.clone());
            live.set_last_active(r.active);
            for (q, at) in open_timers {
                // A timer that ran out while the server was down closes now.
                live.schedule_close(q, at);
            }
            hub.sessions.insert(code, live);
            hub.shared.metrics.sessions.fetch_add(1, Ordering::Relaxed);
        }
        // Sessions idle past their time go before the compaction, so that
        // it drops their records.
        hub.sweep().await;
        // Everything read now lives in snapshots in the new segment.
        hub.compact(replay.last_segment + 1).await;
        Hub::sweep_every_minute(Arc::downgrade(&hub));
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            while let Some(segment) = compact_rx.recv().await {
                let Some(hub) = weak.upgrade() else { return };
                hub.compact(segment).await;
            }
        });
        Ok(hub)
    }

    /// Writes a snapshot of every session into `segment`; once all are
    /// durable, the segments before it are deleted.
    pub async fn compact(&self, segment: u64) {
        let Some(j) = &self.shared.journal else {
            return;
        };
        let started = std::time::Instant::now();
        let pending: Vec<_> = self.sessions.iter().map(|s| s.snapshot()).collect();
        let n = pending.len();
        for d in pending {
            if let Err(e) = d.wait().await {
                tracing::error!(error = %e.message, "journal: compaction failed; older segments kept");
                return;
            }
        }
        j.compacted(segment);
        tracing::info!(
            sessions = n,
            ms = started.elapsed().as_millis() as u64,
            "journal compacted"
        );
    }

    /// Every session held now.
    pub fn sessions(&self) -> Vec<Arc<LiveSession>> {
        self.sessions.iter().map(|s| s.clone()).collect()
    }

    /// Creates a session under a fresh random code, with its questions.
    pub async fn create_session(
        &self,
        title: String,
        settings: Settings,
        questions: Vec<QuestionSpec>,
    ) -> Result<Arc<LiveSession>> {
        let limits = &self.shared.limits;
        let now = self.shared.clock.now_ms();
        let mut session = Session::new(
            Uuid::new_v4(),
            String::new(),
            title,
            new_token(),
            settings,
            now,
            limits,
        )?;
        for (i, spec) in questions.into_iter().enumerate() {
            session
                .add_question(Uuid::new_v4(), spec, limits)
                .map_err(|e| Error::new(e.code, format!("questions[{i}]: {}", e.message)))?;
        }
        if let Some(c) = &self.shared.cluster {
            return self.create_shared(c, session).await;
        }
        for _ in 0..100 {
            let code = format!("{:06}", OsRng.gen_range(0..1_000_000u32));
            if let Entry::Vacant(slot) = self.sessions.entry(code.clone()) {
                session.code = code;
                let live = LiveSession::start(session, [0; 32], self.shared.clone());
                slot.insert(live.clone());
                let durable = live.log_creation();
                self.shared.metrics.sessions.fetch_add(1, Ordering::Relaxed);
                tracing::info!(code = %live.code, id = %live.id, "session created");
                durable.wait().await?;
                return Ok(live);
            }
        }
        Err(no_free_code())
    }

    /// Cluster mode: claims a free code in Redis with the creation event,
    /// then adds the questions through the shared log.
    async fn create_shared(&self, c: &Cluster, mut session: Session) -> Result<Arc<LiveSession>> {
        let questions: Vec<QuestionSpec> =
            session.questions().iter().map(|q| q.spec.clone()).collect();
        for _ in 0..100 {
            let code = format!("{:06}", OsRng.gen_range(0..1_000_000u32));
            session.code = code.clone();
            let created = journal::snapshot_events(&session)
                .into_iter()
                .next()
                .ok_or_else(|| Error::internal("a session without its creation"))?;
            let json =
                serde_json::to_string(&created).map_err(|e| Error::internal(e.to_string()))?;
            if c.append(&code, &created, &json).await?.is_none() {
                continue;
            }
            // A miss remembered here must not hide the new session.
            self.misses.lock().remove(&code);
            let bare = Session::new(
                session.id,
                code.clone(),
                session.title.clone(),
                session.moderator_token.clone(),
                session.settings.clone(),
                session.created_at,
                &self.shared.limits,
            )?;
            let live = LiveSession::start(bare, [0; 32], self.shared.clone());
            self.sessions.insert(code, live.clone());
            self.shared.metrics.sessions.fetch_add(1, Ordering::Relaxed);
            for spec in questions {
                live.add_question(spec).await?;
            }
            live.catch_up(None).await?;
            tracing::info!(code = %live.code, id = %live.id, "session created in Redis");
            return Ok(live);
        }
        Err(no_free_code())
    }

    /// Cluster mode: lets go of the sessions no socket has used for
    /// `--unload-idle-after-s`; Redis keeps them, and the next request for
    /// one reads it again.
    fn unload_idle(hub: std::sync::Weak<Hub>) {
        tokio::spawn(async move {
            let mut idle: std::collections::HashMap<String, std::time::Instant> =
                Default::default();
            loop {
                let (limit, every) = match hub.upgrade() {
                    Some(h) => {
                        let limit = Duration::from_secs(h.shared.config.unload_idle_after_s);
                        (
                            limit,
                            (limit / 4).clamp(Duration::from_millis(250), Duration::from_secs(30)),
                        )
                    }
                    None => return,
                };
                tokio::time::sleep(every).await;
                let Some(h) = hub.upgrade() else { return };
                let now = std::time::Instant::now();
                for s in h.sessions() {
                    if s.lost.load(Ordering::Acquire) {
                        // Read again on the next request; nothing to hold meanwhile.
                        h.forget(&s);
                        continue;
                    }
                    if s.connection_count() > 0 {
                        idle.remove(&s.code);
                        continue;
                    }
                    let since = *idle.entry(s.code.clone()).or_insert(now);
                    if now.duration_since(since) >= limit {
                        idle.remove(&s.code);
                        if s.ended.is_cancelled() {
                            // An ended session's record: read again if asked for.
                            h.forget(&s);
                        } else if s.unload_if_idle() {
                            h.forget(&s);
                            s.ended.cancel();
                            tracing::info!(code = %s.code, "idle session let go (it stays in Redis)");
                        }
                    }
                }
                idle.retain(|code, _| h.sessions.contains_key(code));
            }
        });
    }

    /// Every minute (sooner with a time-to-live under four minutes, for
    /// tests): forgets the idle rate buckets and deletes the sessions idle
    /// past `--session-ttl-days`.
    fn sweep_every_minute(hub: std::sync::Weak<Hub>) {
        tokio::spawn(async move {
            loop {
                let every = match hub.upgrade() {
                    Some(h) => h.shared.config.session_ttl().map_or(SWEEP_EVERY, |ttl| {
                        (ttl / 4).clamp(Duration::from_millis(250), SWEEP_EVERY)
                    }),
                    None => return,
                };
                tokio::time::sleep(every).await;
                let Some(h) = hub.upgrade() else { return };
                if h.shared.shutdown.is_cancelled() {
                    return;
                }
                h.sweep().await;
            }
        });
    }

    /// One sweep: rate buckets that are full again are forgotten, and
    /// sessions with no connection and no change for the time-to-live are
    /// deleted as by `DELETE` (their journal records go at the next
    /// compaction).
    pub async fn sweep(&self) {
        let shared = &self.shared;
        for limits in [
            &shared.ip_connections,
            &shared.ip_participants,
            &shared.ip_sessions,
            &shared.ip_misses,
        ] {
            limits.sweep();
        }
        for s in self.sessions() {
            s.sweep_rates();
        }
        if let Some(c) = &shared.cluster {
            return self.sweep_redis(c).await;
        }
        let Some(ttl) = shared.config.session_ttl() else {
            return;
        };
        let before = shared.clock.now_ms() - ttl.as_millis() as i64;
        for s in self.sessions() {
            if s.ended.is_cancelled() || !s.idle_since_before(before) {
                continue;
            }
            match self.delete(&s.code).await {
                Ok(()) => {
                    tracing::info!(code = %s.code, "session expired: no activity for its time-to-live")
                }
                Err(e) => {
                    tracing::warn!(code = %s.code, error = %e.message, "an expired session could not be deleted")
                }
            }
        }
    }

    /// Cluster mode: the sweep of sessions. Activity is kept in Redis
    /// (`handsup:active`, code → last activity in ms), where every node sees
    /// it: each append records it, and every sweep each node records it for
    /// the sessions it holds sockets of. A session recorded idle past the
    /// time-to-live is claimed by one node, ended as by `DELETE` (phones on
    /// every node get `ended`), and its keys are deleted.
    async fn sweep_redis(&self, c: &Cluster) {
        let now = self.shared.clock.now_ms();
        let held: Vec<Arc<LiveSession>> = self
            .sessions()
            .into_iter()
            .filter(|s| !s.ended.is_cancelled() && s.connection_count() > 0)
            .collect();
        let codes: Vec<&str> = held.iter().map(|s| s.code.as_str()).collect();
        for some in codes.chunks(1000) {
            if let Err(e) = c.touch(some, now, false).await {
                tracing::warn!(error = %e.message, "redis: activity of held sessions not recorded");
                break;
            }
        }
        let Some(ttl) = self.shared.config.session_ttl() else {
            return;
        };
        let before = now - ttl.as_millis() as i64;
        // A claimed session is tried again once this is past, should the
        // node that claimed it fail to delete it.
        let claim = before + ttl.min(SWEEP_EVERY).as_millis() as i64;
        for _ in 0..100 {
            let codes = match c.expired(before, 100).await {
                Ok(codes) if !codes.is_empty() => codes,
                Ok(_) => return,
                Err(_) => return,
            };
            for code in codes {
                match c.claim_expired(&code, before, claim).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => return,
                }
                match self.delete(&code).await {
                    Ok(()) => {}
                    // Already ended, or already gone: its keys go all the same.
                    Err(e) if e.code == crate::error::ErrorCode::NotFound => {}
                    Err(e) => {
                        tracing::warn!(code = %code, error = %e.message, "an expired session could not be ended");
                        continue;
                    }
                }
                if let Err(e) = c.purge(&code).await {
                    tracing::warn!(code = %code, error = %e.message, "the keys of an expired session could not be deleted");
                    continue;
                }
                // Asked again, Redis answers that it is gone.
                if let Some(s) = self.sessions.get(&code).map(|s| s.clone()) {
                    if s.ended.is_cancelled() {
                        self.forget(&s);
                    }
                }
                tracing::info!(code = %code, "session expired: no activity for its time-to-live");
            }
        }
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
        let Some(c) = &self.shared.cluster else {
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

    /// Cluster mode: a copy of a session from Redis, from its snapshot if the
    /// log was compacted, else from the log's first entry; the caller reads
    /// the rest of the log. None: Redis does not know the code.
    async fn load(&self, c: &Cluster, code: &str) -> Result<Option<Arc<LiveSession>>> {
        let limits = &self.shared.limits;
        // A compaction may cut the log's head off between the two reads:
        // then the snapshot it wrote is read.
        for _ in 0..3 {
            if let Some((at, json)) = c.snapshot(code).await? {
                let (session, chain) = journal::session_from_snapshot(&json, limits)?;
                let timers: Vec<(Uuid, i64)> = session
                    .questions()
                    .iter()
                    .filter_map(|q| Some((q.id, q.closes_at?)))
                    .collect();
                let live = LiveSession::start_at(session, chain, at, self.shared.clone());
                for (q, at) in timers {
                    live.schedule_close(q, at);
                }
                return Ok(Some(live));
            }
            let first = c.read_log(code, 0, 1).await?;
            if first.base > 0 {
                continue;
            }
            let Some((1, first)) = first
                .entries
                .first()
                .and_then(|e| crate::store::redis::entry(e))
            else {
                return Ok(None);
            };
            let Ok(journal::Event::Created {
                id,
                code: _,
                title,
                token,
                qa_moderation,
                at,
            }) = serde_json::from_str(first)
            else {
                return Err(Error::internal(format!(
                    "the log of {code} does not start with its creation"
                )));
            };
            let session = Session::new(
                id,
                code.to_owned(),
                title,
                token,
                Settings { qa_moderation },
                at,
                limits,
            )?;
            return Ok(Some(LiveSession::start(
                session,
                [0; 32],
                self.shared.clone(),
            )));
        }
        Err(Error::new(
            crate::error::ErrorCode::Unavailable,
            "this session is being compacted; retry",
        ))
    }

    /// Deletes a session: its connections get `ended` and are closed.
    pub async fn delete(&self, code: &str) -> Result<()> {
        if self.shared.cluster.is_some() {
            // Held as ended until the idle sweep lets it go.
            let live = self.get(code).await?;
            live.end().await?;
            tracing::info!(code = %code, "session deleted");
            return Ok(());
        }
        let (_, live) = self
            .sessions
            .remove(code)
            .ok_or_else(|| Error::not_found(format!("no session with code {code}")))?;
        live.end().await?;
        self.shared.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
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

    #[test]
    fn tokens_are_long_url_safe_and_distinct() {
        let a = new_token();
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(a, new_token());
        assert!(token_eq(&a, &a.clone()));
        assert!(!token_eq(&a, &new_token()));
        assert!(!token_eq(&a, "short"));
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(is_code("012345"));
        assert!(!is_code("12345"));
        assert!(!is_code("12345a"));
        assert!(!is_code("1234567"));
    }

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
}
