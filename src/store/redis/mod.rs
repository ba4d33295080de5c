//! Cluster mode: several nodes share their sessions through Redis.
//!
//! Each session is a Redis list of events, `{CODE}:log`, as the journal
//! writes them (`store::records`): creation, questions, state changes, participants and Q&A. Every
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
//! The scripts are in `scripts` (their Lua in `.lua` files), the ballot
//! format in `ballot`, the offline check of a session in `verify`.
//!
//! Every key of a session carries the hash tag `{CODE}`, so Redis Cluster
//! keeps a session on one shard and its scripts stay atomic; with
//! `--redis-slots S`, its ballots and counts spread over S more tags,
//! `{CODE.k}`, by participant (see `slots`).
//!
//! The list does not grow without bound: once it holds `compact_every` and
//! a half entries, the node that appended past that writes a snapshot of its
//! copy (`{CODE}:snap`, with the position it covers) and the list's head is
//! cut off, keeping half an interval before the snapshot for nodes a little
//! behind. Positions stay those of the whole log: `{CODE}:base` counts the
//! entries cut off, so entry `n` is at index `n - base - 1` of the list.

pub mod ballot;
mod scripts;
mod slots;
pub mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use uuid::Uuid;

use crate::domain::Event;
use crate::error::{Error, ErrorCode, Result};
use scripts::*;

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

/// How long a node may take to write the snapshot it claimed before another
/// node may claim it (ms).
const COMPACT_LEASE_MS: u64 = 30_000;

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

/// A request gives up (and the change is answered `unavailable`) once Redis
/// has answered nothing at all, to this node, for this long. A request
/// queued behind thousands of others (a burst) waits on while answers flow:
/// a busy Redis is not a missing one, and a false `unavailable` costs the
/// phone a retry and Redis the same work again.
const STALL: Duration = Duration::from_secs(2);
/// However answers flow, no request waits longer than this. It is also how
/// long a connection that stays open but carries nothing (a network cut)
/// takes to be found dead and made again.
const REQUEST_CEILING: Duration = Duration::from_secs(10);

/// Milliseconds since the first call: the clock of `Conn::answered`.
fn mono_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

/// The connection requests go through: to one Redis server, or to a Redis
/// Cluster (requests routed by the session's hash tag). Every request is
/// bounded by `STALL` without an answer, whoever's request it was.
#[derive(Clone)]
struct Conn {
    link: Link,
    /// When Redis last answered a request (`mono_ms`).
    answered: Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Clone)]
enum Link {
    One(ConnectionManager),
    Sharded(redis::cluster_async::ClusterConnection),
}

/// Runs one request until it is answered, or until Redis has answered
/// nothing for `STALL` since the later of the request's start and the last
/// answer.
async fn bounded<T>(
    request: redis::RedisFuture<'_, T>,
    answered: &std::sync::atomic::AtomicU64,
) -> redis::RedisResult<T> {
    use std::sync::atomic::Ordering::Relaxed;
    let started = mono_ms();
    let stall = STALL.as_millis() as u64;
    let mut request = request;
    let mut wait = STALL;
    loop {
        tokio::select! {
            biased;
            r = &mut request => {
                // An error reply is an answer too: Redis is there.
                if r.as_ref().map_or_else(|e| e.code().is_some(), |_| true) {
                    answered.fetch_max(mono_ms(), Relaxed);
                }
                return r;
            }
            _ = tokio::time::sleep(wait) => {
                let quiet = mono_ms().saturating_sub(answered.load(Relaxed).max(started));
                if quiet >= stall {
                    return Err(redis::RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "Redis answered nothing in time",
                    )));
                }
                wait = Duration::from_millis(stall - quiet);
            }
        }
    }
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        let request = match &mut self.link {
            Link::One(c) => c.req_packed_command(cmd),
            Link::Sharded(c) => c.req_packed_command(cmd),
        };
        let answered = &self.answered;
        Box::pin(bounded(request, answered))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        let request = match &mut self.link {
            Link::One(c) => c.req_packed_commands(pipeline, offset, count),
            Link::Sharded(c) => c.req_packed_commands(pipeline, offset, count),
        };
        let answered = &self.answered;
        Box::pin(bounded(request, answered))
    }

    fn get_db(&self) -> i64 {
        match &self.link {
            Link::One(c) => c.get_db(),
            Link::Sharded(c) => c.get_db(),
        }
    }
}

/// A node's link to Redis.
pub struct Redis {
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
    slot: Script,
    /// The log is compacted every this many entries.
    compact_every: u64,
    /// The slots a session created by this node spreads its ballots over
    /// (see `slots`).
    slots: u32,
    /// The hash tags of each session's slots this node has used: read
    /// once, then kept.
    layouts: parking_lot::Mutex<HashMap<String, Arc<Vec<String>>>>,
}

impl Redis {
    /// Prepares the connection; it is made on first use and made again after
    /// every failure, so a node starts, and goes on, while Redis is away.
    /// `urls`: one Redis server, or with `sharded` some nodes of a Redis
    /// Cluster (the others are found from them). The log of a session is
    /// compacted every `compact_every` entries; the sessions this node
    /// creates spread their ballots over `slots` hash slots.
    pub fn connect(
        urls: &[String],
        sharded: bool,
        compact_every: u64,
        slots: u32,
    ) -> std::result::Result<Arc<Redis>, redis::RedisError> {
        let listen_on = urls
            .iter()
            .map(|u| redis::Client::open(u.as_str()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let link = if sharded {
            let client = redis::cluster::ClusterClientBuilder::new(urls.to_vec())
                .connection_timeout(Duration::from_secs(1))
                .response_timeout(REQUEST_CEILING)
                .retries(2)
                .build()?;
            Link::Sharded(client.get_pending_async_connection_with_config(Default::default()))
        } else {
            let [one] = listen_on.as_slice() else {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "several Redis URLs name a Redis Cluster: add --redis-cluster",
                )));
            };
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(1)))
                .set_response_timeout(Some(REQUEST_CEILING))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            Link::One(ConnectionManager::new_lazy_with_config(
                one.clone(),
                config,
            )?)
        };
        let conn = Conn {
            link,
            answered: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        };
        Ok(Arc::new(Redis {
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
            slot: Script::new(SLOT),
            compact_every: compact_every.max(2),
            slots: slots.max(1),
            layouts: Default::default(),
        }))
    }

    /// Appends an event (`json` is the event as JSON, as the log keeps it)
    /// to its session's log; returns the event's position (from 1), and
    /// whether this node is to compact the log now (see `compact`). `None`:
    /// creation found the code taken.
    pub async fn append(&self, code: &str, ev: &Event, json: &str) -> Result<Option<(u64, bool)>> {
        let side = Side::of(ev);
        let (op, q, arg) = side.args();
        let slots = match side {
            Side::Create => self.slots,
            _ => self.tags_of(code).await?.len() as u32,
        };
        // With several slots, the event's side on them comes first (see
        // `slots` for why in this order).
        let mut gen = None;
        if slots > 1 {
            if let Side::Open(q, _) | Side::Close(q) = &side {
                gen = Some(self.next_gen(code, *q).await?);
            }
            let participant = match ev {
                Event::HideEntry { p, .. } => *p,
                _ => None,
            };
            self.slot_side(code, &side, gen, participant).await?;
        }
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
            .key(slots::gen_key(code))
            .key(slots::slots_key(code))
            .arg(json)
            .arg(op)
            .arg(q.map(|q| q.to_string()).unwrap_or_default())
            .arg(arg)
            .arg(code)
            .arg(ENDED_TTL_S)
            .arg(self.compact_every + self.keep())
            .arg(COMPACT_LEASE_MS)
            .arg(gen.map(|g| g.to_string()).unwrap_or_default())
            .arg(slots)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        if n == 0 && due == 1 {
            return Err(Error::not_found(format!("no session with code {code}")));
        }
        if n == 0 && due == 2 {
            return Err(Error::new(
                ErrorCode::Unavailable,
                "another node opened or closed this question at the same moment; retry",
            ));
        }
        if n > 0 && side == Side::Create {
            self.created_with(code, slots);
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
        self.purge_slots(code).await?;
        self.purge
            .key(log_key(code))
            .key(base_key(code))
            .key(snap_key(code))
            .key(open_key(code))
            .key(questions_key(code))
            .key(claim_key(code))
            .key(presence_key(code))
            .key(slots::gen_key(code))
            .key(slots::slots_key(code))
            .key(slots::slot_versions_key(&format!("{{{code}}}")))
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

    /// Listens to the other nodes for as long as `to` lives, connecting
    /// again after every loss, and hands each notice to `to`. After each
    /// (re)connection `to` hears `resubscribed`, since notices sent
    /// meanwhile are lost.
    pub fn listen(self: &Arc<Self>, to: Weak<dyn Notices>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            for turn in 0.. {
                if to.strong_count() == 0 {
                    return;
                }
                let client = &me.listen_on[turn % me.listen_on.len()];
                match client.get_async_pubsub().await {
                    Ok(mut ps) => {
                        if ps.subscribe(&[LOG_CHANNEL, TALLY_CHANNEL]).await.is_ok() {
                            delay = Duration::from_millis(100);
                            tracing::info!("redis: listening to the other nodes");
                            if let Some(to) = to.upgrade() {
                                to.resubscribed();
                            }
                            let mut messages = ps.on_message();
                            while let Some(msg) = messages.next().await {
                                let Some(to) = to.upgrade() else { return };
                                let Ok(code) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                let log = msg.get_channel_name() == LOG_CHANNEL;
                                to.changed(&code, log, !log);
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

/// Who hears the other nodes' notices (the registry of live sessions):
/// the Redis side knows nothing of live sessions, it only hands these on.
pub trait Notices: Send + Sync {
    /// The subscription was made (again): every session held reads its log
    /// and counts again, since notices may have been missed.
    fn resubscribed(&self);
    /// Another node changed the session `code`: its log grew (`log`), or
    /// its counts moved (`counts`). Codes not held here are ignored.
    fn changed(&self, code: &str, log: bool, counts: bool);
}

#[cfg(test)]
mod tests;
