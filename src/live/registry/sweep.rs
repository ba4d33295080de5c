//! What runs on timers: rate buckets forgotten, sessions idle past their
//! time-to-live deleted (in cluster mode, claimed by one node in Redis), and
//! in cluster mode copies no socket uses let go.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::live::session::LiveSession;
use crate::store::redis::Redis;
use crate::store::Storage;

use super::{Hub, SWEEP_EVERY};

impl Hub {
    /// Cluster mode: lets go of the sessions no socket has used for
    /// `--unload-idle-after-s`; Redis keeps them, and the next request for
    /// one reads it again.
    pub(super) fn unload_idle(hub: std::sync::Weak<Hub>) {
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
    pub(super) fn sweep_every_minute(hub: std::sync::Weak<Hub>) {
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
    /// compaction); the sessions of an event go together, once none of
    /// them has been active for the time-to-live, and the event with them.
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
        if let Storage::Redis(r) = &shared.storage {
            return self.sweep_redis(r).await;
        }
        let Some(ttl) = shared.config.session_ttl() else {
            return;
        };
        let before = shared.clock.now_ms() - ttl.as_millis() as i64;
        for s in self.sessions() {
            if s.ended.is_cancelled() || !s.idle_since_before(before) {
                continue;
            }
            // The time-to-live applies to an event as a whole: none of its
            // sessions goes while another of them is active.
            if let Some(event) = shared.events.event_of(&s.code) {
                let active = event
                    .sessions
                    .iter()
                    .filter_map(|c| self.loaded(c))
                    .any(|other| !other.idle_since_before(before));
                if active {
                    continue;
                }
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
        // An event goes when all its sessions have.
        shared
            .events
            .prune(|code| self.loaded(code).is_some(), before);
    }

    /// Cluster mode: the sweep of sessions. Activity is kept in Redis
    /// (`handsup:active`, code → last activity in ms), where every node sees
    /// it: each append records it, and every sweep each node records it for
    /// the sessions it holds sockets of. A session recorded idle past the
    /// time-to-live is claimed by one node, ended as by `DELETE` (phones on
    /// every node get `ended`), and its keys are deleted.
    async fn sweep_redis(&self, c: &Redis) {
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
}
