//! The Lua scripts Redis runs for a session, each atomic on the session's
//! shard. The scripts are the `.lua` files beside this one; what each takes
//! and returns is said here.

/// Claims an expired session for one node: if the code's last activity is
/// at or before ARGV[2], moves it to ARGV[3] (so that, should this node
/// fail to delete it, another node tries again once that is past too).
/// KEYS: the activity set. ARGV: code, cut-off, claim. Returns 1 if claimed.
pub(super) const CLAIM_EXPIRED: &str = include_str!("claim_expired.lua");

/// Records a node's audience of a session and returns every node's, unless
/// the session's log is gone (deleted): then records nothing.
/// KEYS: presence, log. ARGV: node, "count:ms", expiry (ms).
pub(super) const PRESENCE: &str = include_str!("presence.lua");

/// Deletes every key of a session on its log's slot (the other slots'
/// keys go with `SLOT`'s `purge`). KEYS: log, base, snapshot, open,
/// questions, claim, presence, generations, slots. ARGV: code.
pub(super) const PURGE: &str = include_str!("purge.lua");

/// Appends one event to a session's log, with the side effects on the vote
/// keys that must happen at the same point of the order. Each entry is its
/// position (from 1, counting the entries compaction cut off), a space and
/// the event: a reader that finds another position than the one it expects
/// knows the log changed under it (Redis lost writes and restarted) and
/// reads the session again.
///
/// KEYS: log, open, questions, ballots of q, counts of q, base, snapshot,
/// compaction claim, generations, slots.
/// ARGV: event JSON, op, question id, argument, code, how long an ended
/// session's keys are kept (s), the list length at which to compact, the
/// claim's lease (ms), the generation of an open or close with several
/// slots (else ""), the session's slots (kept at `create` when over 1).
/// Returns {the event's position, 1 if this node is to compact the log},
/// {0, 0} when `create` finds the code taken, {0, 1} when any other event
/// finds no log (the session was deleted), or {0, 2} when another open or
/// close of the question came after this one's generation (see `slots`).
pub(super) const APPEND: &str = include_str!("append.lua");

/// Reads entries of a log by position, with where the list starts.
///
/// KEYS: log, base. ARGV: entries already read (the position to read
/// after), how many at most.
/// Returns {base, the log's last position, entries...}; no entries when
/// the ones asked for were cut off (position < base).
pub(super) const READ: &str = include_str!("read.lua");

/// Stores a snapshot covering the log up to a position and cuts off the
/// list's head up to `keep` entries before it; releases the claim.
///
/// KEYS: log, base, snapshot, claim. ARGV: position, snapshot JSON, keep.
/// Returns 1 when done, 0 when a newer snapshot is there, the log is
/// shorter than the position (Redis lost writes) or the session ended.
pub(super) const COMPACT: &str = include_str!("compact.lua");

/// Does an event's side on one slot of a session spread over several
/// (see `slots`): opens or closes a question if the generation given is
/// newer than the slot's, closes on the timer, resets, deletes, hides an
/// answer, or ends or purges the slot's keys.
///
/// KEYS: the slot's open, generations, ballots of q, counts of q. ARGV: op,
/// question id, argument, generation, how long an ended session's keys are
/// kept (s), the slot's hash tag, then (end, purge) every question id.
/// Returns 1.
pub(super) const SLOT: &str = include_str!("slot.lua");

/// Casts, replaces or (with an empty ballot) retracts one ballot.
///
/// KEYS: open, ballots of q, counts of q (of the participant's slot).
/// ARGV: question id, participant,
/// ballot JSON (see `ballot`: `{"c", "d": [name, amount, ...], ...}`) or "".
/// Returns 0 when the question takes no votes, 1 when done, 2 when there
/// was nothing to retract.
///
/// A question whose timer has run out takes no votes even before a node's
/// timer closes it. The time is Redis's own (`TIME`): every node's votes
/// meet the same cut-off whatever the nodes' clocks say; the end itself
/// was set by the opening node's clock.
pub(super) const VOTE: &str = include_str!("vote.lua");
