//! Cluster mode: following the session's shared log and counts in Redis,
//! and telling the other nodes of changes made here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::Notify;
use tokio::time::{sleep_until, Instant};
use uuid::Uuid;

use std::collections::{HashMap, HashSet};

use crate::domain::Event;
use crate::domain::{count_groups, Choice, Kind, Session, Tally};
use crate::error::{Error, ErrorCode, Result};
use crate::live::outbox::CLOSE_NORMAL;
use crate::protocol::{self, choice_json};
use crate::store::journal;
use crate::store::records::{self, Record};
use crate::store::redis::ballot::Ballot;
use crate::store::redis::Redis;
use crate::store::Storage;

use super::*;

/// Cluster mode: what keeps a copy in step with the shared log: how far it
/// read, and the flags that wake its `follow` task.
pub(super) struct Follower {
    /// The log applied so far; one reader at a time.
    pub(super) cursor: tokio::sync::Mutex<Cursor>,
    /// Ballots went through this node since the last notice.
    pub(super) voted_here: AtomicBool,
    /// The counts moved (here or elsewhere).
    pub(super) counts_stale: AtomicBool,
    /// Another node wrote to the log.
    pub(super) log_stale: AtomicBool,
    /// Wakes `follow` (a flag above was raised, or the audience here changed).
    pub(super) wake: Notify,
}

/// Cluster mode: what a copy last read from Redis to count groups.
#[derive(Default)]
pub(super) struct Grouped {
    /// The members of each segment question: by participant, the group
    /// their ballot puts them in (`NO_GROUP`: none).
    members: HashMap<Uuid, Vec<u16>>,
    /// The versions of each question's ballots (by slot) when last read.
    versions: HashMap<Uuid, Vec<i64>>,
}

/// A count of groups waits at least this many times the last one's own
/// time before the next: counts of a large room's groups then take at most
/// a fifth of a node's time, at the price of groups that trail the counts
/// (see BENCHMARKS.md).
const GROUP_COUNT_PAUSE: u32 = 4;

/// In `Grouped::members`: no ballot on the segment.
const NO_GROUP: u16 = u16::MAX;

/// Members without the trailing participants who are in no group.
fn trimmed(members: &[u16]) -> &[u16] {
    let end = members
        .iter()
        .rposition(|g| *g != NO_GROUP)
        .map_or(0, |i| i + 1);
    &members[..end]
}

/// What a read of the counts did.
#[derive(Default)]
pub(super) struct Recounted {
    /// The questions read.
    qs: Vec<Uuid>,
    /// Of them, those a change touched (a reset, a close).
    touched: Vec<Uuid>,
    /// A tally moved.
    moved: bool,
}

/// How far this copy has applied the session's shared log.
#[derive(Default)]
pub(super) struct Cursor {
    /// Events applied, from the log's start.
    pub(super) applied: u64,
    /// The outcome of the latest events, by position, with the checksum of
    /// each event, for the changes made here that wait for theirs.
    outcomes: std::collections::VecDeque<(u64, u64, Result<()>)>,
}

impl Follower {
    /// A copy that has applied the log up to position `applied`; every
    /// question's counts are read once at the start.
    pub(super) fn at(applied: u64) -> Follower {
        Follower {
            cursor: tokio::sync::Mutex::new(Cursor {
                applied,
                ..Default::default()
            }),
            voted_here: AtomicBool::new(false),
            counts_stale: AtomicBool::new(true),
            log_stale: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }
}

impl LiveSession {
    // ---- cluster mode ------------------------------------------------------------

    /// Reads the session's shared log past what this copy has applied and
    /// applies it. With `want` (a position and the `checksum` of the event
    /// appended there), goes on until that event is applied and returns its
    /// outcome (the outcome of a change made here).
    pub async fn catch_up(self: &Arc<Self>, want: Option<(u64, u64)>) -> Result<()> {
        let Storage::Redis(c) = &self.shared.storage else {
            return Ok(());
        };
        const BATCH: u64 = 512;
        let mut cur = self.follower.cursor.lock().await;
        loop {
            if let Some((n, sum)) = want.filter(|(n, _)| *n <= cur.applied) {
                return match cur.outcomes.iter().find(|(i, _, _)| *i == n) {
                    Some((_, s, r)) if *s == sum => r.clone(),
                    // Another event holds that place: the log was rewritten.
                    Some(_) => Err(self.lost("an appended event was not found in its place")),
                    None => Ok(()),
                };
            }
            let read = c.read_log(&self.code, cur.applied, BATCH).await?;
            if read.base > cur.applied {
                // The log was compacted past this copy: it is read again,
                // from the snapshot.
                return Err(self.lost("the log was compacted past what this copy read"));
            }
            let batch = read.entries;
            let full = batch.len() as u64 == BATCH;
            if batch.is_empty() && want.is_some() {
                return Err(self.lost("the log is shorter than an event appended to it"));
            }
            for e in batch {
                let n = cur.applied + 1;
                let Some(json) = crate::store::redis::entry(&e)
                    .filter(|(at, _)| *at == n)
                    .map(|e| e.1)
                else {
                    return Err(self.lost(&format!("entry {n} of the log is not where it was")));
                };
                cur.applied = n;
                let sum = checksum(json);
                let r = self.apply_logged(json);
                if let Err(e) = &r {
                    tracing::debug!(code = %self.code, n, error = %e.message, "log: event refused");
                }
                if cur.outcomes.len() >= 1024 {
                    cur.outcomes.pop_front();
                }
                cur.outcomes.push_back((n, sum, r));
            }
            if want.is_none() && !full {
                return Ok(());
            }
        }
    }

    /// Cluster mode: the shared log no longer matches this copy (Redis lost
    /// writes, or the session): the copy is dropped, its sockets are told to
    /// reconnect, and the next request reads the session again from Redis.
    pub(super) fn lost(&self, why: &str) -> Error {
        if !self.lost.swap(true, Ordering::AcqRel) {
            tracing::error!(code = %self.code, why, "the session in Redis changed under this copy; reading it again");
            self.close_all(None, crate::live::outbox::CLOSE_RESYNC);
            self.ended.cancel();
        }
        Error::new(
            ErrorCode::Unavailable,
            "this session is being read again from the shared store; retry",
        )
    }

    /// Cluster mode: the log is shorter than what this copy applied.
    pub(super) async fn check_log_len(&self, c: &Redis) -> Result<()> {
        let applied = self.follower.cursor.lock().await.applied;
        if c.log_len(&self.code).await? < applied {
            return Err(self.lost("the log is shorter than what was read"));
        }
        Ok(())
    }

    /// Applies one event read from the shared log.
    pub(super) fn apply_logged(self: &Arc<Self>, json: &str) -> Result<()> {
        let ev = match records::decode(json.as_bytes()) {
            Ok(Record::Event(ev)) => ev,
            Ok(_) => return Err(Error::internal("a snapshot in the log")),
            Err(e) => {
                return Err(Error::internal(format!(
                    "an unreadable event in the log: {}",
                    e.message
                )))
            }
        };
        match ev {
            // The copy was made from it.
            Event::Created { .. } => {
                let mut st = self.state.lock();
                st.place.chain = journal::chain(&st.place.chain, json.as_bytes());
                Ok(())
            }
            Event::Ended { .. } => {
                self.close_all(Some(protocol::ServerMsg::Ended.frame()), CLOSE_NORMAL);
                self.ended.cancel();
                Ok(())
            }
            ev => {
                let mut st = self.state.lock();
                st.place.chain = journal::chain(&st.place.chain, json.as_bytes());
                self.apply_live(&mut st, &ev).map(|_| ())
            }
        }
    }

    /// The counts of a question are read again at the next tick.
    pub(super) fn recount_later(&self, st: &mut State, q: Uuid) {
        if self.shared.storage.is_shared() {
            st.recount.insert(q);
            self.follow_up(&self.follower.counts_stale);
        }
    }

    /// Another node changed the session: its log grew, or its counts moved.
    pub fn remote_change(&self, log: bool, counts: bool) {
        if log {
            self.follow_up(&self.follower.log_stale);
        }
        if counts {
            self.follow_up(&self.follower.counts_stale);
        }
    }

    /// Reads the counts of the open questions (and of those a change touched)
    /// from Redis into this copy's tallies.
    pub(super) async fn recount(&self, c: &Redis) -> Result<Recounted> {
        let (qs, touched) = {
            let mut st = self.state.lock();
            let mut qs: Vec<Uuid> = st.recount.drain().collect();
            let touched = qs.clone();
            for q in st.session.questions() {
                if q.state == crate::domain::QuestionState::Open && !qs.contains(&q.id) {
                    qs.push(q.id);
                }
            }
            (qs, touched)
        };
        if qs.is_empty() {
            return Ok(Recounted::default());
        }
        let counts = match c.counts(&self.code, &qs).await {
            Ok(counts) => counts,
            Err(e) => {
                self.state.lock().recount.extend(qs);
                return Err(e);
            }
        };
        let moved = {
            let mut st = self.state.lock();
            let mut moved = false;
            for (q, counts) in qs.iter().zip(counts) {
                let Ok(kind) = st.session.question(*q).map(|q| q.spec.kind.clone()) else {
                    continue;
                };
                let t = Tally::from_counts(&kind, counts.iter().map(|(k, v)| (k.as_str(), *v)));
                moved |= st.session.set_tally(*q, t);
            }
            moved
        };
        if moved {
            self.dirty.notify_one();
        }
        Ok(Recounted { qs, touched, moved })
    }

    /// Counts the groups of the questions `qs` again from their ballots in
    /// Redis (every slot), by every segment question, into this copy.
    ///
    /// Redis keeps one set of counts per question, not per group: a
    /// participant changing their segment answer moves every other ballot
    /// of theirs from one group to another, on whichever node, so the
    /// groups are counted here from the ballots themselves. A question's
    /// ballots are read only when they changed since the last read (each
    /// slot counts the changes of each question's ballots), or when it is in
    /// `forced` (a reset, which the log tells, or a count made whatever
    /// changed); a segment's members are read when it is in `qs` or not
    /// known yet, and when they moved every question is grouped again,
    /// closed ones too.
    pub(super) async fn regroup(
        &self,
        c: &Redis,
        qs: &HashSet<Uuid>,
        forced: &HashSet<Uuid>,
        known: &mut Grouped,
    ) -> Result<()> {
        let (segs, kinds) = {
            let st = self.state.lock();
            let s = &st.session;
            let segs: Vec<(Uuid, usize)> = s
                .segments()
                .map(|q| (q.id, q.spec.kind.options().map_or(0, <[_]>::len)))
                .collect();
            let kinds: HashMap<Uuid, Kind> = s
                .questions()
                .iter()
                .filter(|q| q.groupable())
                .map(|q| (q.id, q.spec.kind.clone()))
                .collect();
            (segs, kinds)
        };
        known
            .members
            .retain(|id, _| segs.iter().any(|(s, _)| s == id));
        known.versions.retain(|id, _| kinds.contains_key(id));
        if segs.is_empty() {
            return Ok(());
        }
        let is_seg = |q: &Uuid| segs.iter().any(|(s, _)| s == q);
        let candidates: Vec<Uuid> = kinds
            .keys()
            .filter(|q| qs.contains(*q) || (is_seg(q) && !known.members.contains_key(*q)))
            .copied()
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let versions = c.versions(&self.code, &candidates).await?;
        let mut want = Vec::new();
        for (q, v) in candidates.into_iter().zip(versions) {
            let unknown = is_seg(&q) && !known.members.contains_key(&q);
            if forced.contains(&q) || unknown || known.versions.get(&q) != Some(&v) {
                want.push(q);
                // Read before the ballots: a vote in between is read again.
                known.versions.insert(q, v);
            }
        }
        if want.is_empty() {
            return Ok(());
        }
        let mut ballots = HashMap::new();
        let mut read = self.read_ballots(c, &want, &kinds, &mut ballots).await?;
        let mut moved_segs = false;
        for s in want.iter().filter(|q| is_seg(q)) {
            let mut now = Vec::new();
            for (p, choice) in ballots.get(s).map(Vec::as_slice).unwrap_or_default() {
                if let Some(g) = crate::domain::group_of(Some(choice)) {
                    let p = *p as usize;
                    if now.len() <= p {
                        now.resize(p + 1, NO_GROUP);
                    }
                    now[p] = u16::try_from(g).unwrap_or(NO_GROUP);
                }
            }
            let before = known.members.get(s).map(Vec::as_slice).unwrap_or_default();
            if trimmed(before) != trimmed(&now) {
                moved_segs = true;
            }
            known.members.insert(*s, now);
        }
        let targets: Vec<Uuid> = if moved_segs {
            // Every ballot of a member that moved changes group.
            let rest: Vec<Uuid> = kinds
                .keys()
                .filter(|q| !ballots.contains_key(*q))
                .copied()
                .collect();
            read += self.read_ballots(c, &rest, &kinds, &mut ballots).await?;
            kinds.keys().copied().collect()
        } else {
            want
        };
        let mut counted = Vec::new();
        for q in targets {
            let (Some(kind), Some(bs)) = (kinds.get(&q), ballots.get(&q)) else {
                continue;
            };
            for (seg, n) in segs.iter().filter(|(s, _)| *s != q) {
                let of = known
                    .members
                    .get(seg)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let group = |p: u32| {
                    of.get(p as usize)
                        .filter(|g| **g != NO_GROUP)
                        .map(|g| usize::from(*g))
                };
                let groups = count_groups(kind, *n, bs.iter().map(|(p, c)| (*p, c)), group);
                counted.push((q, *seg, groups));
            }
        }
        let moved = {
            let mut st = self.state.lock();
            let mut moved = false;
            for (q, seg, groups) in counted {
                // A segment deleted meanwhile has no groups to keep.
                if st.session.question(seg).is_ok_and(|s| s.spec.segment) {
                    moved |= st.session.set_groups(q, seg, groups);
                }
            }
            moved
        };
        if moved {
            self.dirty.notify_one();
        }
        self.shared.metrics.group_recount(started.elapsed(), read);
        Ok(())
    }

    /// Reads the ballots of questions `qs` from every slot, checked against
    /// their kinds, into `into`; the number of ballots read.
    async fn read_ballots(
        &self,
        c: &Redis,
        qs: &[Uuid],
        kinds: &HashMap<Uuid, Kind>,
        into: &mut HashMap<Uuid, Vec<(u32, Choice)>>,
    ) -> Result<u64> {
        let all = c.ballots(&self.code, qs).await?;
        let mut read = 0;
        for (q, ballots) in qs.iter().zip(all) {
            let Some(kind) = kinds.get(q) else {
                continue;
            };
            read += ballots.len() as u64;
            let checked = ballots
                .into_iter()
                .filter_map(|(p, b)| Some((p, Ballot::choice_of(&b, kind)?)))
                .collect();
            into.insert(*q, checked);
        }
        Ok(read)
    }

    /// Cluster mode: keeps this copy in step. It tells the other nodes when
    /// ballots went through here or its audience changed, reads the log when
    /// another node wrote to it, and reads the counts and the other nodes'
    /// audience when they moved: at once when the last time is an interval
    /// old, else at the end of that interval, so notices and reads stay
    /// coalesced to one per interval however many votes come. Once a second
    /// it does all of it whatever it heard, so a lost notice costs a second
    /// at most.
    pub(super) async fn follow(self: Arc<Self>, c: Arc<Redis>) {
        // Notices and count reads run four times per tally interval: a vote
        // crosses both before the projector's node publishes, so each adds
        // at most a quarter interval. The audience is written and read at
        // the interval itself.
        let presence_every = self.shared.config.staff_tally_interval();
        let every = presence_every / 4;
        let second = std::time::Duration::from_secs(1);
        let start = Instant::now();
        let long_ago = start.checked_sub(presence_every).unwrap_or(start);
        let (mut last_notice, mut last_read, mut last_presence) = (long_ago, long_ago, long_ago);
        let mut last_full = start;
        // The audience count this node last wrote to Redis.
        let mut told = usize::MAX;
        // Groups are counted from every ballot of a question (see
        // `regroup`): the questions whose counts were read since, counted
        // at most once per interval, and no more often than four times the
        // last count took, so a large room's counts take at most a fifth of
        // the time.
        let mut grouped = Grouped::default();
        let (mut regroup, mut forced) = (HashSet::new(), HashSet::new());
        let (mut last_groups, mut groups_every) = (long_ago, presence_every);
        // Without a notice, the groups are counted again when the counts
        // moved, and every tenth second whatever (a lost notice).
        let mut quiet_seconds = 0u32;
        loop {
            let here = self.state.lock().audience;
            let notice = self.follower.voted_here.load(Ordering::Acquire);
            let read = self.follower.log_stale.load(Ordering::Acquire)
                || self.follower.counts_stale.load(Ordering::Acquire);
            let presence = here != told || read;
            let mut due = last_full + second;
            if notice {
                due = due.min(last_notice + every);
            }
            if read {
                due = due.min(last_read + every);
            }
            if presence {
                due = due.min(last_presence + presence_every);
            }
            if !regroup.is_empty() {
                due = due.min(last_groups + groups_every);
            }
            tokio::select! {
                _ = self.ended.cancelled() => return,
                _ = self.follower.wake.notified() => continue,
                _ = sleep_until(due) => {}
            }
            let now = Instant::now();
            let full = now >= last_full + second;
            if full {
                last_full = now;
            }
            let notice_now = (notice && now >= last_notice + every) || full;
            let read_now = (read && now >= last_read + every) || full;
            if (presence && now >= last_presence + presence_every) || full {
                // This node's audience, and the other nodes'.
                last_presence = now;
                match c.presence(&self.code, here).await {
                    Ok(elsewhere) => {
                        if here != told {
                            told = here;
                            self.follower.voted_here.store(true, Ordering::Release);
                        }
                        let mut st = self.state.lock();
                        if st.audience_elsewhere != elsewhere {
                            st.audience_elsewhere = elsewhere;
                            st.presence_version += 1;
                            drop(st);
                            self.dirty.notify_one();
                        }
                    }
                    Err(_) => told = usize::MAX,
                }
            }
            if notice_now {
                last_notice = now;
                if self.follower.voted_here.swap(false, Ordering::AcqRel)
                    && c.counts_moved(&self.code).await.is_err()
                {
                    self.follower.voted_here.store(true, Ordering::Release);
                }
            }
            if read_now {
                last_read = now;
                if (self.follower.log_stale.swap(false, Ordering::AcqRel) || full)
                    && self.catch_up(None).await.is_err()
                {
                    self.follower.log_stale.store(true, Ordering::Release);
                }
                let stale = self.follower.counts_stale.swap(false, Ordering::AcqRel);
                if stale || full {
                    match self.recount(&c).await {
                        Ok(r) => {
                            let backstop = full && {
                                quiet_seconds = (quiet_seconds + 1) % 10;
                                quiet_seconds == 0
                            };
                            // What a change touched is counted again,
                            // whatever its counts of changes say.
                            forced.extend(r.touched.iter().copied());
                            regroup.extend(r.touched);
                            if backstop {
                                forced.extend(r.qs.iter().copied());
                            }
                            if stale || r.moved || backstop {
                                regroup.extend(r.qs);
                            }
                        }
                        Err(_) => self.follower.counts_stale.store(true, Ordering::Release),
                    }
                }
                if full {
                    let _ = self.check_log_len(&c).await;
                }
            }
            if !regroup.is_empty() && now >= last_groups + groups_every {
                last_groups = now;
                let qs = std::mem::take(&mut regroup);
                let force = std::mem::take(&mut forced);
                let started = Instant::now();
                match self.regroup(&c, &qs, &force, &mut grouped).await {
                    Ok(()) => {
                        groups_every = presence_every.max(started.elapsed() * GROUP_COUNT_PAUSE)
                    }
                    Err(_) => {
                        // What was read halfway is forgotten: all of it
                        // is read again.
                        grouped = Grouped::default();
                        forced.extend(force);
                        forced.extend(qs.iter().copied());
                        regroup.extend(qs);
                    }
                }
            }
        }
    }

    /// Cluster mode: wakes `follow` when it has something new to do.
    pub(super) fn follow_up(&self, flag: &AtomicBool) {
        if !flag.swap(true, Ordering::AcqRel) {
            self.follower.wake.notify_one();
        }
    }

    /// Cluster mode: a participant's ballots, as the welcome shows them.
    pub(super) async fn shared_ballots_of(
        &self,
        c: &Redis,
        participant: u32,
    ) -> Result<Map<String, Value>> {
        let qs: Vec<(Uuid, crate::domain::Kind)> = {
            let st = self.state.lock();
            st.session
                .questions()
                .iter()
                .filter(|q| q.is_public())
                .map(|q| (q.id, q.spec.kind.clone()))
                .collect()
        };
        if qs.is_empty() {
            return Ok(Map::new());
        }
        let ids: Vec<Uuid> = qs.iter().map(|(q, _)| *q).collect();
        let found = c.ballots_of(&self.code, &ids, participant).await?;
        Ok(qs
            .into_iter()
            .zip(found)
            .filter_map(|((q, kind), b)| {
                let choice = Ballot::decode(&b?)?.checked(&kind)?;
                Some((q.to_string(), choice_json(&choice)))
            })
            .collect())
    }

    /// The session with every ballot, for results and exports: this copy
    /// with the ballots read from Redis in cluster mode.
    pub(super) async fn whole(self: &Arc<Self>) -> Result<(Session, String)> {
        let Storage::Redis(c) = &self.shared.storage else {
            let st = self.state.lock();
            return Ok((st.session.clone(), journal::hex(&st.place.chain)));
        };
        self.catch_up(None).await?;
        let qs: Vec<Uuid> = {
            let st = self.state.lock();
            st.session.questions().iter().map(|q| q.id).collect()
        };
        let all = c.ballots(&self.code, &qs).await?;
        // Whoever cast one of these ballots had joined before: reading the
        // log again brings in the participants who joined meanwhile.
        self.catch_up(None).await?;
        let (mut s, digest) = {
            let st = self.state.lock();
            (st.session.clone(), journal::hex(&st.place.chain))
        };
        for (q, ballots) in qs.into_iter().zip(all) {
            // A question deleted meanwhile has nothing to show.
            let Ok(kind) = s.question(q).map(|q| q.spec.kind.clone()) else {
                continue;
            };
            s.reset(q)?;
            for (p, b) in ballots {
                if let Some(choice) = Ballot::decode(&b).and_then(|b| b.checked(&kind)) {
                    s.restore_ballot(q, p, choice)?;
                }
            }
        }
        Ok((s, digest))
    }
}

/// A checksum of an event's JSON, to know a log entry is the one appended.
pub(super) fn checksum(json: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    json.hash(&mut h);
    h.finish()
}
