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

use self::journal::{Durable, Journal, Place, Turn};
use self::redis::Redis;
use crate::domain::{Event, Session};
use crate::error::Result;

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
    /// Takes a session's turn to write, under its lock and before its
    /// change is applied (see `Journal::turn`); refused once the journal
    /// has stopped after a failed write. In cluster mode changes go through
    /// the shared log instead (see `LiveSession::commit`): nothing to write.
    pub fn turn(&self, at: &mut Place, session: &Session, active: i64) -> Result<Turn<'_>> {
        match self {
            Storage::Journal(j) => j.turn(at, session, active),
            Storage::Memory | Storage::Redis(_) => Ok(Turn::none()),
        }
    }

    /// The turn of a session being created (see `Journal::turn_new`).
    pub fn turn_new(&self, at: &mut Place) -> Result<Turn<'_>> {
        match self {
            Storage::Journal(j) => j.turn_new(at),
            Storage::Memory | Storage::Redis(_) => Ok(Turn::none()),
        }
    }

    /// Writes a change made on this node during the session's turn (so its
    /// records keep the order of the changes), and moves the session's
    /// chain when the record is written here.
    pub fn log(&self, turn: &Turn, at: &mut Place, session: &Session, ev: &Event) -> Durable {
        match self {
            Storage::Journal(j) => j.append(turn, at, session, ev),
            Storage::Memory | Storage::Redis(_) => Durable::done(),
        }
    }

    /// Why the storage stopped taking changes (a journal write failed), if
    /// it did: the health check reports it.
    pub fn failure(&self) -> Option<String> {
        match self {
            Storage::Journal(j) => j.failure(),
            Storage::Memory | Storage::Redis(_) => None,
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
