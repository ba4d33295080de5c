//! Opening the server's storage at start: the journal replayed into live
//! sessions (and compacted), or the link to Redis and its listener; and the
//! journal's compactions after that.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use uuid::Uuid;

use crate::config::Config;
use crate::live::session::LiveSession;
use crate::store::journal::{self, Journal};
use crate::store::redis::{Notices, Redis};
use crate::store::Storage;

use super::Hub;

impl Hub {
    /// Opens the server's state in the mode the configuration names: Redis
    /// with `--redis`, nothing with `--in-memory`, else the journal.
    pub async fn open(config: Config) -> std::io::Result<Arc<Hub>> {
        if !config.redis_urls.is_empty() {
            return Self::open_redis(config);
        }
        if config.in_memory {
            let hub = Arc::new(Hub::with_storage(config, Storage::Memory));
            Hub::sweep_every_minute(Arc::downgrade(&hub));
            return Ok(hub);
        }
        Self::open_journal(config).await
    }

    /// Cluster mode: links to Redis (connecting on first use) and listens
    /// to the other nodes; sessions are loaded when first asked for.
    fn open_redis(config: Config) -> std::io::Result<Arc<Hub>> {
        let redis = Redis::connect(
            &config.redis_urls,
            config.redis_cluster,
            config.redis_compact_every,
            config.redis_slots,
        )
        .map_err(|e| std::io::Error::other(format!("cannot use the Redis URL: {e}")))?;
        tracing::info!("cluster mode: sessions live in Redis and are shared with other nodes");
        let hub = Arc::new(Hub::with_storage(config, Storage::Redis(redis.clone())));
        let notices: Weak<dyn Notices> = Arc::downgrade(&hub) as Weak<dyn Notices>;
        redis.listen(notices);
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
        Ok(hub)
    }

    /// With a journal: replays it (cutting off a damaged tail), closes the
    /// questions whose timer ran out while the server was down, and
    /// compacts what was read into a fresh segment.
    async fn open_journal(config: Config) -> std::io::Result<Arc<Hub>> {
        let dir = config.data_dir.clone();
        let started = std::time::Instant::now();
        let replay = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || journal::replay(&dir, true, false))
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
        let hub = Arc::new(Hub::with_storage(config, Storage::Journal(j)));
        let events = hub.shared.events.load_from(&dir)?;
        if events > 0 {
            tracing::info!(events, "events read");
        }
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
        // An event keeps only the sessions the journal still holds.
        hub.shared
            .events
            .retain_sessions(|code| hub.sessions.contains_key(code));
        // Sessions idle past their time go before the compaction, so that
        // it drops their records.
        hub.sweep().await;
        // Everything read now lives in snapshots in the new segment.
        hub.compact(replay.last_segment + 1).await;
        Hub::sweep_every_minute(Arc::downgrade(&hub));
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            // The writer asks once the journal has grown enough.
            while compact_rx.recv().await.is_some() {
                let Some(hub) = weak.upgrade() else { return };
                let shared = hub.shared.clone();
                let rotated = tokio::task::spawn_blocking(move || match &shared.storage {
                    Storage::Journal(j) => Some(j.rotate()),
                    Storage::Memory | Storage::Redis(_) => None,
                })
                .await;
                if let Ok(Some(segment)) = rotated {
                    hub.compact(segment).await;
                }
            }
        });
        Ok(hub)
    }

    /// Writes a snapshot of every session into `segment` (the current one),
    /// each unless it has one there already; once all are durable, the
    /// segments before it are deleted.
    pub async fn compact(&self, segment: u64) {
        let Storage::Journal(j) = &self.shared.storage else {
            return;
        };
        let started = std::time::Instant::now();
        let sessions = self.sessions();
        let n = sessions.len();
        for s in sessions {
            if let Err(e) = s.snapshot() {
                tracing::error!(error = %e.message, "journal: compaction failed; older segments kept");
                return;
            }
            // Let the sessions' changes through between snapshots.
            tokio::task::yield_now().await;
        }
        if let Err(e) = j.sync().wait().await {
            tracing::error!(error = %e.message, "journal: compaction failed; older segments kept");
            return;
        }
        j.compacted(segment);
        crate::live::shared::release_freed_memory();
        tracing::info!(
            sessions = n,
            ms = started.elapsed().as_millis() as u64,
            "journal compacted"
        );
    }
}
