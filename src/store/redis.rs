//! Cluster mode: several nodes share their sessions through Redis.
//!
//! Each session is a Redis list of events, `{CODE}:log`, in the journal's
//! format: creation, questions, state changes, participants and Q&A. Every
//! node that serves the session replays the list in order into its own copy
//! of the session, so all copies agree, and a change made on any node is
//! acknowledged once it is in the list and applied.
//!
//! Ballots do not go through the list. A vote is one Lua script, run
//! atomically by Redis: it checks that the question takes votes, replaces
//! the participant's ballot and moves the question's counts (the sums of
//! `Choice::contributions`). So a participant voting again through another
//! node is counted once, and Redis work per vote is constant however many
//! nodes there are. Nodes learn that counts moved through pub/sub, coalesced
//! to one notice per session and node per quarter tally interval, and re-read
//! the counts of open questions every second anyway: a lost notice delays a
//! view, it never leaves it wrong.
//!
//! Every key of a session carries the hash tag `{CODE}`, so Redis Cluster
//! keeps a session on one shard and its scripts stay atomic.
//!
//! The list does not grow without bound: once it holds `compact_every` and
//! a half entries, the node that appended past that writes a snapshot of its
//! copy (`{CODE}:snap`, with the position it covers) and the list's head is
//! cut off, keeping half an interval before the snapshot for nodes a little
//! behind. Positions stay those of the whole log: `{CODE}:base` counts the
//! entries cut off, so entry `n` is at index `n - base - 1` of the list.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use uuid::Uuid;

use crate::error::{Error, ErrorCode, Result};
use crate::live::registry::Hub;
use crate::store::journal::Event;

/// The pub/sub channel that says a session's log grew (payload: the code).
pub const LOG_CHANNEL: &str = "handsup:log";
/// The pub/sub channel that says a session's counts moved (payload: the code).
pub const TALLY_CHANNEL: &str = "handsup:tally";
/// A node's audience count older than this no longer counts (ms).
const PRESENCE_TTL_MS: i64 = 5000;
/// How long the keys of an ended session are kept.
const ENDED_TTL_S: i64 = 7 * 24 * 3600;
/// A sorted set outside every session: each session's code, scored by its
/// last activity (ms), for `--session-ttl-days`. Only ever touched in
/// commands of its own, never inside a session's scripts (in a Redis
/// Cluster it sits in another slot).
pub const ACTIVE_KEY: &str = "handsup:active";

/// Claims an expired session for one node: if the code's last activity is
/// at or before ARGV[2], moves it to ARGV[3] (so that, should this node
/// fail to delete it, another node tries again once that is past too).
/// KEYS: the activity set. ARGV: code, cut-off, claim. Returns 1 if claimed.
const CLAIM_EXPIRED: &str = r#"
local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not at or tonumber(at) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"#;

/// Records a node's audience of a session and returns every node's, unless
/// the session's log is gone (deleted): then records nothing.
/// KEYS: presence, log. ARGV: node, "count:ms", expiry (ms).
const PRESENCE: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 0 then return {} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('HGETALL', KEYS[1])
"#;

/// Deletes every key of a session. KEYS: log, base, snapshot, open,
/// questions, claim, presence. ARGV: code.
const PURGE: &str = r#"
local tag = '{' .. ARGV[1] .. '}'
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('DEL', tag .. ':b:' .. id, tag .. ':t:' .. id)
end
redis.call('DEL', tag .. ':b:-', tag .. ':t:-')
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
"#;
/// How long a node may take to write the snapshot it claimed before another
/// node may claim it (ms).
const COMPACT_LEASE_MS: u64 = 30_000;

/// Appends one event to a session's log, with the side effects on the vote
/// keys that must happen at the same point of the order. Each entry is its
/// position (from 1, counting the entries compaction cut off), a space and
/// the event: a reader that finds another position than the one it expects
/// knows the log changed under it (Redis lost writes and restarted) and
/// reads the session again.
///
/// KEYS: log, open, questions, ballots of q, counts of q, base, snapshot,
/// compaction claim.
/// ARGV: event JSON, op, question id, argument, code, how long an ended
/// session's keys are kept (s), the list length at which to compact, the
/// claim's lease (ms).
/// Returns {the event's position, 1 if this node is to compact the log},
/// {0, 0} when `create` finds the code taken, or {0, 1} when any other event
/// finds no log (the session was deleted).
const APPEND: &str = r#"
local op, q, arg = ARGV[2], ARGV[3], ARGV[4]
if op ~= 'create' and redis.call('EXISTS', KEYS[1]) == 0 then return {0, 1} end
local function move(d, sign)
  for i = 1, #d, 2 do
    local n = redis.call('HINCRBY', KEYS[5], d[i], sign * d[i + 1])
    if n == 0 then redis.call('HDEL', KEYS[5], d[i]) end
  end
end
if op == 'create' then
  if redis.call('EXISTS', KEYS[1], KEYS[6], KEYS[7]) > 0 then return {0, 0} end
elseif op == 'add' then
  redis.call('SADD', KEYS[3], q)
elseif op == 'delete' then
  redis.call('SREM', KEYS[3], q)
  redis.call('HDEL', KEYS[2], q)
  redis.call('DEL', KEYS[4], KEYS[5])
elseif op == 'open' then
  if redis.call('SISMEMBER', KEYS[3], q) == 1 then redis.call('HSET', KEYS[2], q, arg) end
elseif op == 'close' then
  redis.call('HDEL', KEYS[2], q)
elseif op == 'timer' then
  local at = tonumber(redis.call('HGET', KEYS[2], q) or '0')
  if at > 0 and at <= tonumber(arg) then redis.call('HDEL', KEYS[2], q) end
elseif op == 'reset' then
  redis.call('DEL', KEYS[4], KEYS[5])
elseif op == 'hide' then
  local all = redis.call('HGETALL', KEYS[4])
  for i = 1, #all, 2 do
    local b = cjson.decode(all[i + 1])
    if b.e and b.e[1] == arg and not b.h then
      move(b.d, -1)
      b.d = {}
      b.h = true
      redis.call('HSET', KEYS[4], all[i], cjson.encode(b))
    end
  end
elseif op == 'end' then
  redis.call('DEL', KEYS[2])
  local tag = '{' .. ARGV[5] .. '}'
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    redis.call('EXPIRE', tag .. ':b:' .. id, ARGV[6])
    redis.call('EXPIRE', tag .. ':t:' .. id, ARGV[6])
  end
  redis.call('EXPIRE', KEYS[3], ARGV[6])
end
local base = tonumber(redis.call('GET', KEYS[6]) or '0')
local n = base + redis.call('LLEN', KEYS[1]) + 1
local len = redis.call('RPUSH', KEYS[1], n .. ' ' .. ARGV[1])
local due = 0
if op == 'end' then
  for _, k in ipairs({KEYS[1], KEYS[6], KEYS[7]}) do redis.call('EXPIRE', k, ARGV[6]) end
elseif len >= tonumber(ARGV[7]) and redis.call('SET', KEYS[8], '1', 'NX', 'PX', ARGV[8]) then
  due = 1
end
redis.call('PUBLISH', 'handsup:log', ARGV[5])
return {n, due}
"#;

/// Reads entries of a log by position, with where the list starts.
///
/// KEYS: log, base. ARGV: entries already read (the position to read
/// after), how many at most.
/// Returns {base, the log's last position, entries...}; no entries when
/// the ones asked for were cut off (position < base).
const READ: &str = r#"
local base = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
local from, max = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {tostring(base), tostring(base + len)}
if from >= base and max > 0 then
  local got = redis.call('LRANGE', KEYS[1], from - base, from - base + max - 1)
  for i = 1, #got do out[#out + 1] = got[i] end
end
return out
"#;

/// Stores a snapshot covering the log up to a position and cuts off the
/// list's head up to `keep` entries before it; releases the claim.
///
/// KEYS: log, base, snapshot, claim. ARGV: position, snapshot JSON, keep.
/// Returns 1 when done, 0 when a newer snapshot is there, the log is
/// shorter than the position (Redis lost writes) or the session ended.
const COMPACT: &str = r#"
redis.call('DEL', KEYS[4])
local base = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
local at, keep = tonumber(ARGV[1]), tonumber(ARGV[3])
if len == 0 or at > base + len or redis.call('TTL', KEYS[1]) >= 0 then return 0 end
local cur = redis.call('GET', KEYS[3])
if cur and tonumber(string.match(cur, '^(%d+) ')) >= at then return 0 end
redis.call('SET', KEYS[3], ARGV[1] .. ' ' .. ARGV[2])
local cut = at - keep
if cut > base then
  redis.call('LTRIM', KEYS[1], cut - base, -1)
  redis.call('SET', KEYS[2], cut)
end
return 1
"#;

/// Casts, replaces or (with an empty ballot) retracts one ballot.
///
/// KEYS: open, ballots of q, counts of q. ARGV: question id, participant,
/// ballot JSON (`{"c", "e"?, "d": [name, amount, ...]}`) or "".
/// Returns 0 when the question takes no votes, 1 when done, 2 when there
/// was nothing to retract.
///
/// A question whose timer has run out takes no votes even before a node's
/// timer closes it. The time is Redis's own (`TIME`): every node's votes
/// meet the same cut-off whatever the nodes' clocks say; the end itself
/// was set by the opening node's clock.
const VOTE: &str = r#"
local ends = redis.call('HGET', KEYS[1], ARGV[1])
if not ends then return 0 end
ends = tonumber(ends) or 0
if ends > 0 then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) >= ends then return 0 end
end
local function move(d, sign)
  for i = 1, #d, 2 do
    local n = redis.call('HINCRBY', KEYS[3], d[i], sign * d[i + 1])
    if n == 0 then redis.call('HDEL', KEYS[3], d[i]) end
  end
end
local old = redis.call('HGET', KEYS[2], ARGV[2])
if old then move(cjson.decode(old).d, -1) end
if ARGV[3] == '' then
  if not old then return 2 end
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
move(cjson.decode(ARGV[3]).d, 1)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"#;

/// What an appended event does to the keys votes read.
#[derive(Clone, Debug, PartialEq)]
enum Side {
    None,
    Create,
    Add(Uuid),
    Delete(Uuid),
    /// Opens for votes; the timer's end (ms) or 0.
    Open(Uuid, i64),
    Close(Uuid),
    /// Closes if the timer set at opening has run out by then.
    Timer(Uuid, i64),
    Reset(Uuid),
    Hide(Uuid, Uuid),
    End,
}

impl Side {
    fn of(ev: &Event) -> Side {
        match ev {
            Event::Created { .. } => Side::Create,
            Event::Added { q, .. } => Side::Add(*q),
            Event::Deleted { q, .. } => Side::Delete(*q),
            Event::Opened {
                q, at, duration_ms, ..
            } => Side::Open(*q, duration_ms.map_or(0, |d| at + d)),
            Event::Closed { q, .. } => Side::Close(*q),
            Event::TimerClosed { q, at, .. } => Side::Timer(*q, *at),
            Event::Reset { q, .. } => Side::Reset(*q),
            Event::HideEntry { q, entry, .. } => Side::Hide(*q, *entry),
            Event::Ended { .. } => Side::End,
            _ => Side::None,
        }
    }

    /// (op, question, argument) for the script.
    fn args(&self) -> (&'static str, Option<Uuid>, String) {
        match self {
            Side::None => ("", None, String::new()),
            Side::Create => ("create", None, String::new()),
            Side::Add(q) => ("add", Some(*q), String::new()),
            Side::Delete(q) => ("delete", Some(*q), String::new()),
            Side::Open(q, at) => ("open", Some(*q), at.to_string()),
            Side::Close(q) => ("close", Some(*q), String::new()),
            Side::Timer(q, at) => ("timer", Some(*q), at.to_string()),
            Side::Reset(q) => ("reset", Some(*q), String::new()),
            Side::Hide(q, e) => ("hide", Some(*q), e.to_string()),
            Side::End => ("end", None, String::new()),
        }
    }
}

fn log_key(code: &str) -> String {
    format!("{{{code}}}:log")
}
fn open_key(code: &str) -> String {
    format!("{{{code}}}:open")
}
fn questions_key(code: &str) -> String {
    format!("{{{code}}}:qs")
}
fn base_key(code: &str) -> String {
    format!("{{{code}}}:base")
}
fn snap_key(code: &str) -> String {
    format!("{{{code}}}:snap")
}
fn claim_key(code: &str) -> String {
    format!("{{{code}}}:compacting")
}
fn presence_key(code: &str) -> String {
    format!("{{{code}}}:here")
}
/// Wall-clock milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
fn ballots_key(code: &str, q: Option<Uuid>) -> String {
    match q {
        Some(q) => format!("{{{code}}}:b:{q}"),
        None => format!("{{{code}}}:b:-"),
    }
}
fn counts_key(code: &str, q: Option<Uuid>) -> String {
    match q {
        Some(q) => format!("{{{code}}}:t:{q}"),
        None => format!("{{{code}}}:t:-"),
    }
}

/// One entry of a log: its position (from 1) and the event's JSON.
pub fn entry(e: &str) -> Option<(u64, &str)> {
    let (n, json) = e.split_once(' ')?;
    Some((n.parse().ok()?, json))
}

/// What a read of a log found.
#[derive(Debug, Default)]
pub struct LogRead {
    /// Entries cut off the list's head (compaction): positions up to here
    /// are only in the snapshot.
    pub base: u64,
    /// The log's last position.
    pub last: u64,
    /// The entries asked for, from the position asked; none when they were
    /// cut off.
    pub entries: Vec<String>,
}

/// The error every change gets while Redis cannot be reached: retryable.
fn unreachable(e: redis::RedisError) -> Error {
    tracing::warn!(error = %e, "redis: request failed");
    Error::new(
        ErrorCode::Unavailable,
        "the shared store is out of reach for a moment; retry shortly",
    )
}

/// The connection requests go through: to one Redis server, or to a Redis
/// Cluster (requests routed by the session's hash tag).
#[derive(Clone)]
enum Conn {
    One(ConnectionManager),
    Sharded(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::One(c) => c.req_packed_command(cmd),
            Conn::Sharded(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::One(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sharded(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::One(c) => c.get_db(),
            Conn::Sharded(c) => c.get_db(),
        }
    }
}

/// A node's link to Redis.
pub struct Cluster {
    /// This node's name in the presence records.
    node: String,
    /// Where pub/sub listens: the server, or each cluster node in turn (a
    /// message published on any node of a Redis Cluster reaches them all).
    listen_on: Vec<redis::Client>,
    conn: Conn,
    append: Script,
    read: Script,
    compact: Script,
    vote: Script,
    claim_expired: Script,
    purge: Script,
    presence: Script,
    /// The log is compacted every this many entries.
    compact_every: u64,
}

impl Cluster {
    /// Prepares the connection; it is made on first use and made again after
    /// every failure, so a node starts, and goes on, while Redis is away.
    /// `urls`: one Redis server, or with `sharded` some nodes of a Redis
    /// Cluster (the others are found from them). The log of a session is
    /// compacted every `compact_every` entries.
    pub fn connect(
        urls: &[String],
        sharded: bool,
        compact_every: u64,
    ) -> std::result::Result<Arc<Cluster>, redis::RedisError> {
        let listen_on = urls
            .iter()
            .map(|u| redis::Client::open(u.as_str()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let conn = if sharded {
            let client = redis::cluster::ClusterClientBuilder::new(urls.to_vec())
                .connection_timeout(Duration::from_secs(1))
                .response_timeout(Duration::from_secs(2))
                .retries(2)
                .build()?;
            Conn::Sharded(client.get_pending_async_connection_with_config(Default::default()))
        } else {
            let [one] = listen_on.as_slice() else {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "several Redis URLs name a Redis Cluster: add --redis-cluster",
                )));
            };
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(1)))
                .set_response_timeout(Some(Duration::from_secs(2)))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            Conn::One(ConnectionManager::new_lazy_with_config(
                one.clone(),
                config,
            )?)
        };
        Ok(Arc::new(Cluster {
            node: Uuid::new_v4().to_string(),
            listen_on,
            conn,
            append: Script::new(APPEND),
            read: Script::new(READ),
            compact: Script::new(COMPACT),
            vote: Script::new(VOTE),
            claim_expired: Script::new(CLAIM_EXPIRED),
            purge: Script::new(PURGE),
            presence: Script::new(PRESENCE),
            compact_every: compact_every.max(2),
        }))
    }

    /// Appends an event (`json` is the event as JSON, as the log keeps it)
    /// to its session's log; returns the event's position (from 1), and
    /// whether this node is to compact the log now (see `compact`). `None`:
    /// creation found the code taken.
    pub async fn append(&self, code: &str, ev: &Event, json: &str) -> Result<Option<(u64, bool)>> {
        let side = Side::of(ev);
        let (op, q, arg) = side.args();
        let (n, due): (u64, u64) = self
            .append
            .key(log_key(code))
            .key(open_key(code))
            .key(questions_key(code))
            .key(ballots_key(code, q))
            .key(counts_key(code, q))
            .key(base_key(code))
            .key(snap_key(code))
            .key(claim_key(code))
            .arg(json)
            .arg(op)
            .arg(q.map(|q| q.to_string()).unwrap_or_default())
            .arg(arg)
            .arg(code)
            .arg(ENDED_TTL_S)
            .arg(self.compact_every + self.keep())
            .arg(COMPACT_LEASE_MS)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        if n == 0 && due == 1 {
            return Err(Error::not_found(format!("no session with code {code}")));
        }
        if n > 0 && side != Side::End {
            // The session's time-to-live starts again (a command of its own:
            // the set is in another slot than the session's keys).
            if let Err(e) = self.touch(&[code], now_ms(), false).await {
                tracing::warn!(code = %code, error = %e.message, "redis: activity not recorded");
            }
        }
        Ok((n > 0).then_some((n, due == 1)))
    }

    /// Records activity at `at` (ms) for sessions; with `only_new`, only for
    /// those not recorded yet (sessions made before activity was kept).
    pub async fn touch(&self, codes: &[&str], at: i64, only_new: bool) -> Result<()> {
        if codes.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(ACTIVE_KEY);
        if only_new {
            cmd.arg("NX");
        }
        for code in codes {
            cmd.arg(at).arg(*code);
        }
        cmd.query_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        Ok(())
    }

    /// Up to `max` sessions with no activity recorded since `before` (ms).
    pub async fn expired(&self, before: i64, max: usize) -> Result<Vec<String>> {
        redis::cmd("ZRANGEBYSCORE")
            .arg(ACTIVE_KEY)
            .arg("-inf")
            .arg(before)
            .arg("LIMIT")
            .arg(0)
            .arg(max)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)
    }

    /// Claims an expired session for deletion by this node (see
    /// `CLAIM_EXPIRED`); false if it was active since `before` or another
    /// node claimed it first.
    pub async fn claim_expired(&self, code: &str, before: i64, claim: i64) -> Result<bool> {
        let got: i64 = self
            .claim_expired
            .key(ACTIVE_KEY)
            .arg(code)
            .arg(before)
            .arg(claim)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        Ok(got == 1)
    }

    /// Deletes every key of a session, then its activity record.
    pub async fn purge(&self, code: &str) -> Result<()> {
        self.purge
            .key(log_key(code))
            .key(base_key(code))
            .key(snap_key(code))
            .key(open_key(code))
            .key(questions_key(code))
            .key(claim_key(code))
            .key(presence_key(code))
            .arg(code)
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        redis::cmd("ZREM")
            .arg(ACTIVE_KEY)
            .arg(code)
            .query_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        Ok(())
    }

    /// Entries kept before the snapshot for the nodes a little behind.
    fn keep(&self) -> u64 {
        self.compact_every / 2
    }

    /// The log's last position (its length, counting what compaction cut off).
    pub async fn log_len(&self, code: &str) -> Result<u64> {
        Ok(self.read_log(code, 0, 0).await?.last)
    }

    /// Entries of a session's log after the first `from`, at most `max`; see
    /// `entry` to read one.
    pub async fn read_log(&self, code: &str, from: u64, max: u64) -> Result<LogRead> {
        let mut got: Vec<String> = self
            .read
            .key(log_key(code))
            .key(base_key(code))
            .arg(from)
            .arg(max)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        let bad = || Error::internal("an unreadable answer from the log");
        if got.len() < 2 {
            return Err(bad());
        }
        let entries = got.split_off(2);
        Ok(LogRead {
            base: got[0].parse().map_err(|_| bad())?,
            last: got[1].parse().map_err(|_| bad())?,
            entries,
        })
    }

    /// The session's latest snapshot: the position it covers and the
    /// `Event::Snapshot` JSON.
    pub async fn snapshot(&self, code: &str) -> Result<Option<(u64, String)>> {
        let got: Option<String> = redis::cmd("GET")
            .arg(snap_key(code))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        let Some(got) = got else { return Ok(None) };
        let (at, json) = got
            .split_once(' ')
            .and_then(|(at, json)| Some((at.parse().ok()?, json.to_owned())))
            .ok_or_else(|| Error::internal(format!("an unreadable snapshot of {code}")))?;
        Ok(Some((at, json)))
    }

    /// Stores a snapshot (`Event::Snapshot` JSON) covering the log up to
    /// position `at`, and cuts the list's head off, keeping half an interval
    /// before `at`. False: not done (a newer snapshot is there, or the log
    /// is not what the snapshot was made from).
    pub async fn compact(&self, code: &str, at: u64, json: &str) -> Result<bool> {
        let done: i64 = self
            .compact
            .key(log_key(code))
            .key(base_key(code))
            .key(snap_key(code))
            .key(claim_key(code))
            .arg(at)
            .arg(json)
            .arg(self.keep())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        Ok(done == 1)
    }

    /// Casts or replaces a ballot (`Some`) or retracts it (`None`). Ok(false):
    /// the question takes no votes.
    pub async fn vote(
        &self,
        code: &str,
        q: Uuid,
        participant: u32,
        ballot: Option<String>,
    ) -> Result<bool> {
        let r: i64 = self
            .vote
            .key(open_key(code))
            .key(ballots_key(code, Some(q)))
            .key(counts_key(code, Some(q)))
            .arg(q.to_string())
            .arg(participant)
            .arg(ballot.unwrap_or_default())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        Ok(r != 0)
    }

    /// The counts of each question, in order.
    pub async fn counts(&self, code: &str, qs: &[Uuid]) -> Result<Vec<Vec<(String, i64)>>> {
        // An empty pipeline is an error to Redis's client: nothing to ask.
        if qs.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for q in qs {
            pipe.cmd("HGETALL").arg(counts_key(code, Some(*q)));
        }
        pipe.query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)
    }

    /// One participant's ballot on each question, in order.
    pub async fn ballots_of(
        &self,
        code: &str,
        qs: &[Uuid],
        participant: u32,
    ) -> Result<Vec<Option<String>>> {
        // An empty pipeline is an error to Redis's client: nothing to ask.
        if qs.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for q in qs {
            pipe.cmd("HGET")
                .arg(ballots_key(code, Some(*q)))
                .arg(participant);
        }
        pipe.query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)
    }

    /// Every ballot of each question, by participant.
    pub async fn ballots(&self, code: &str, qs: &[Uuid]) -> Result<Vec<Vec<(u32, String)>>> {
        // An empty pipeline is an error to Redis's client: nothing to ask.
        if qs.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for q in qs {
            pipe.cmd("HGETALL").arg(ballots_key(code, Some(*q)));
        }
        pipe.query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)
    }

    /// Records how many phones of a session this node holds, and returns how
    /// many the other nodes hold. A node that stopped writing for
    /// `PRESENCE_TTL_MS` (killed, cut off) no longer counts.
    pub async fn presence(&self, code: &str, here: usize) -> Result<usize> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let all: Vec<(String, String)> = self
            .presence
            .key(presence_key(code))
            .key(log_key(code))
            .arg(&self.node)
            .arg(format!("{here}:{now}"))
            .arg(PRESENCE_TTL_MS * 10)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        Ok(all
            .iter()
            .filter(|(node, _)| *node != self.node)
            .filter_map(|(_, v)| {
                let (n, at) = v.split_once(':')?;
                let at: i64 = at.parse().ok()?;
                (now - at < PRESENCE_TTL_MS).then(|| n.parse::<usize>().ok())?
            })
            .sum())
    }

    /// A plain string value (outside any session).
    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)
    }

    /// Sets a plain string value.
    pub async fn set(&self, key: &str, value: &str) -> Result<()> {
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unreachable)
    }

    /// Sets a plain string value unless the key exists; true if it was set.
    pub async fn set_if_new(&self, key: &str, value: &str) -> Result<bool> {
        let r: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("NX")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        Ok(r.is_some())
    }

    /// Tells every node that a session's counts (or audience) moved.
    pub async fn counts_moved(&self, code: &str) -> Result<()> {
        redis::cmd("PUBLISH")
            .arg(TALLY_CHANNEL)
            .arg(code)
            .query_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        Ok(())
    }

    /// Answers PING: is Redis there (for the health check).
    pub async fn ping(&self) -> bool {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await
            .is_ok()
    }

    /// Listens to the other nodes for as long as the hub lives, connecting
    /// again after every loss; after each (re)connection every session held
    /// catches up, since notices sent meanwhile are lost.
    pub fn listen(self: &Arc<Self>, hub: Weak<Hub>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            for turn in 0.. {
                if hub.strong_count() == 0 {
                    return;
                }
                let client = &me.listen_on[turn % me.listen_on.len()];
                match client.get_async_pubsub().await {
                    Ok(mut ps) => {
                        if ps.subscribe(&[LOG_CHANNEL, TALLY_CHANNEL]).await.is_ok() {
                            delay = Duration::from_millis(100);
                            tracing::info!("redis: listening to the other nodes");
                            if let Some(h) = hub.upgrade() {
                                for s in h.sessions() {
                                    s.remote_change(true, true);
                                }
                            }
                            let mut messages = ps.on_message();
                            while let Some(msg) = messages.next().await {
                                let Some(h) = hub.upgrade() else { return };
                                let Ok(code) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                if let Some(s) = h.loaded(&code) {
                                    let log = msg.get_channel_name() == LOG_CHANNEL;
                                    s.remote_change(log, !log);
                                }
                            }
                            tracing::warn!("redis: lost the subscription; connecting again");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "redis: cannot subscribe yet"),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entries_carry_their_position() {
        assert_eq!(
            entry(r#"12 {"e":"closed"}"#),
            Some((12, r#"{"e":"closed"}"#))
        );
        assert_eq!(entry(r#"{"e":"closed"}"#), None);
        assert_eq!(entry("x {}"), None);
    }

    #[test]
    fn keys_share_the_session_hash_tag() {
        let q = Uuid::nil();
        for k in [
            log_key("123456"),
            open_key("123456"),
            questions_key("123456"),
            ballots_key("123456", Some(q)),
            counts_key("123456", None),
            base_key("123456"),
            snap_key("123456"),
            claim_key("123456"),
        ] {
            assert!(k.starts_with("{123456}:"), "{k}");
        }
    }

    #[test]
    fn timers_close_only_what_they_opened() {
        let q = Uuid::new_v4();
        let ev = Event::Opened {
            code: "1".into(),
            q,
            at: 1000,
            duration_ms: Some(500),
        };
        assert_eq!(Side::of(&ev), Side::Open(q, 1500));
        let ev = Event::Opened {
            code: "1".into(),
            q,
            at: 1000,
            duration_ms: None,
        };
        assert_eq!(Side::of(&ev).args(), ("open", Some(q), "0".into()));
    }
}
