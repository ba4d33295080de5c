//! The durable journal: every change of state, appended to a file in the
//! data directory, so that a restart (or a crash) comes back where it was.
//!
//! - `segments`: the files, the framing of records (length, CRC, chain
//!   hash) and the hash chain, whose last link is a session's digest, which
//!   results and reports carry and `handsup verify` recomputes;
//! - `writer`: appends with group commit (a vote is acked once its record
//!   is synced) and rotates segments;
//! - `replay`: rebuilds the sessions from the records at start;
//! - `verify`: the offline check behind `handsup verify`;
//! - `export`: one session's records as a file of their own, for download.
//!
//! What a record holds is `store::records`.
//!
//! Compaction: when the current segment has grown by more than the limit
//! (and more than the live state it started with) since the last
//! compaction, the next segment is started and every session writes its
//! snapshot there, before any other record of it: a snapshot (in parts of
//! bounded size) replaces its session on replay and carries the chain head
//! it covers, from which the session's later records chain on. Once every
//! snapshot is durable the older segments are deleted. Replay reads every
//! segment in order, so a compaction cut short by a crash loses nothing.
//!
//! Nothing is deleted for being unreadable: replay cuts only a torn tail
//! (the incomplete last record a crash leaves); a segment damaged in any
//! other way is copied to `damaged/` in the data directory, and replay
//! goes on with its sound records.

mod export;
mod replay;
mod segments;
mod verify;
mod writer;

pub use export::session_journal;
pub use replay::{replay, replay_files, session_from_snapshot, Replay, Restored};
pub use segments::{chain, encode, hex, read_segment, segments, Damage, Frame, Hash, MAX_RECORD};
pub use verify::{verify, Verification};
pub use writer::{Ack, Durable, Journal, Place, Turn};

#[cfg(test)]
mod tests;
