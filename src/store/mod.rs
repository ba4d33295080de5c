//! Where sessions are kept, as one type: `Storage`. A server runs in one of
//! three modes, fixed at start: in memory (nothing lasts), with the on-disk
//! journal (one binary, no other service), or with Redis (several nodes
//! sharing sessions). The live layer asks the storage, and matches on the
//! mode where the three differ in more than where a record goes.
//!
//! - `journal`: the on-disk journal: records, replay, verify, compaction
//! - `redis`: the Redis client, the shared log, ballots and counts, and the
//!   notices from the other nodes

pub mod journal;
pub mod records;
pub mod redis;

use std::sync::Arc;

use self::journal::{Durable, Hash, Journal};
use self::records::Record;
use self::redis::Redis;

/// Where this server's sessions are kept.
pub enum Storage {
    /// `--in-memory`: nothing is written; sessions go when the server stops.
    Memory,
    /// Every change is appended to the on-disk journal before it is
    /// acknowledged, and replayed at start.
    Journal(Journal),
    /// Cluster mode: each session's changes go to its shared log in Redis,
    /// and ballots and counts live there; every node follows the log.
    Redis(Arc<Redis>),
}

impl Storage {
    /// Writes a change made on this node, under the session's lock (so its
    /// records keep the order of the changes), and moves the session's chain
    /// when the record is written here. In cluster mode changes go through
    /// the shared log instead (see `LiveSession::commit`): nothing to write.
    pub fn log(&self, rec: &Record, chain: &mut Hash) -> Durable {
        match self {
            Storage::Journal(j) => j.append(rec, chain),
            Storage::Memory | Storage::Redis(_) => Durable::done(),
        }
    }

    /// Whether records are written on this node (the journal), so a change
    /// needs what only its record carries.
    pub fn writes_records(&self) -> bool {
        matches!(self, Storage::Journal(_))
    }

    /// Whether the sessions are shared with other nodes (cluster mode):
    /// ballots and counts are then in Redis, not in this node's copy.
    pub fn is_shared(&self) -> bool {
        matches!(self, Storage::Redis(_))
    }

    /// The shared store, in cluster mode.
    pub fn redis(&self) -> Option<&Arc<Redis>> {
        match self {
            Storage::Redis(r) => Some(r),
            Storage::Memory | Storage::Journal(_) => None,
        }
    }

    /// What the health check reports of the storage: in cluster mode,
    /// whether Redis answers; None where there is nothing to ask.
    pub async fn reachable(&self) -> Option<bool> {
        match self {
            Storage::Redis(r) => Some(r.ping().await),
            Storage::Memory | Storage::Journal(_) => None,
        }
    }

    /// At stop: writes and syncs what the journal has queued. Nothing to do
    /// in the other modes (Redis acknowledged every change already).
    pub fn close(&self) {
        if let Storage::Journal(j) = self {
            j.close();
            tracing::info!("journal flushed");
        }
    }
}
