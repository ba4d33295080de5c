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
//! Compaction: when a segment grows past its limit, the writer starts the
//! next segment and asks for a snapshot of every session; each snapshot is a
//! record that replaces its session on replay. Once every snapshot is durable
//! the older segments are deleted. Replay reads every segment in order, so a
//! compaction cut short by a crash loses nothing.

mod export;
mod replay;
mod segments;
mod verify;
mod writer;

pub use export::session_journal;
pub use replay::{replay, replay_limits, session_from_snapshot, Replay, Restored};
pub use segments::{chain, encode, hex, read_segment, segments, Damage, Frame, Hash};
pub use verify::{segment_paths, verify, Verification};
pub use writer::{Ack, Durable, Journal};

#[cfg(test)]
mod tests;
