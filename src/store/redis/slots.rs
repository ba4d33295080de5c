//! A session's ballots spread over several hash slots (`--redis-slots S`).
//!
//! With one slot (the default) every key of a session carries the hash tag
//! `{CODE}`: one shard of a Redis Cluster takes all of its votes. With S
//! slots, the ballots and counts of participant `p` go to slot `p % S`,
//! whose keys carry the tag `{CODE.s}` (for s in 0..S): a hot session's
//! votes divide over up to S shards. The log, the questions, the snapshot
//! and the presence stay on `{CODE}`, so the order of changes is one list as
//! before; a participant always maps to the same slot, so their ballot is
//! replaced there and counted once.
//!
//! Counts are kept per slot; a node reads every slot's and sums them.
//!
//! The vote script reads whether a question takes votes from its own slot
//! (`{CODE.s}:open`), so opening, closing, the timer, reset, deletion, hiding
//! an answer and the end are done on the slots as well as in the log. A
//! change to a question's state is done on every slot *before* its log entry
//! is appended:
//!
//! - a close marks every slot closed, then appends: once a close is
//!   acknowledged no slot takes a vote for the question;
//! - an open marks every slot open, then appends: a node learns of an open
//!   from the log, and by then every slot takes votes, so no vote a node
//!   believes open is refused (a node also checks its own copy before
//!   voting, so a slot opened early takes no vote from a node that has not
//!   read the open).
//!
//! Two nodes opening and closing the same question at once are put in one
//! order by a generation per question (`{CODE}:gen`, one increment per open
//! or close): a slot keeps the state of the highest generation it was given,
//! and the append refuses an open or close whose generation is no longer the
//! latest (the node answers "unavailable, retry"), so the log's last state
//! change is the one every slot holds.
//!
//! A session keeps the number of slots it was created with
//! (`{CODE}:slots`, absent for one slot): nodes may be restarted with
//! another `--redis-slots` and older sessions keep working.

use std::collections::HashMap;

use futures_util::future::try_join_all;
use uuid::Uuid;

use super::{log_key, open_key, unreachable, Redis, Side};
use crate::error::Result;

/// The hash tag of slot `s` of a session of `slots` slots: `{CODE}` with
/// one slot, else `{CODE.s}`.
pub(super) fn tag(code: &str, slot: u32, slots: u32) -> String {
    if slots <= 1 {
        format!("{{{code}}}")
    } else {
        format!("{{{code}.{slot}}}")
    }
}

/// The slot of a participant's ballots.
pub(super) fn slot_of(participant: u32, slots: u32) -> u32 {
    participant % slots.max(1)
}

/// The number of slots a session was created with, if more than one.
pub(super) fn slots_key(code: &str) -> String {
    format!("{{{code}}}:slots")
}
/// Each question's generation of opens and closes (with several slots).
pub(super) fn gen_key(code: &str) -> String {
    format!("{{{code}}}:gen")
}
fn slot_open_key(tag: &str) -> String {
    format!("{tag}:open")
}
fn slot_gen_key(tag: &str) -> String {
    format!("{tag}:gen")
}
pub(super) fn slot_ballots_key(tag: &str, q: Option<Uuid>) -> String {
    match q {
        Some(q) => format!("{tag}:b:{q}"),
        None => format!("{tag}:b:-"),
    }
}
pub(super) fn slot_counts_key(tag: &str, q: Option<Uuid>) -> String {
    match q {
        Some(q) => format!("{tag}:t:{q}"),
        None => format!("{tag}:t:-"),
    }
}

/// Adds counts read from several slots, keeping the first-seen order of
/// names.
fn sum_counts(parts: impl IntoIterator<Item = Vec<(String, i64)>>) -> Vec<(String, i64)> {
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<(String, i64)> = Vec::new();
    for part in parts {
        for (k, n) in part {
            match at.get(&k) {
                Some(&i) => out[i].1 += n,
                None => {
                    at.insert(k.clone(), out.len());
                    out.push((k, n));
                }
            }
        }
    }
    out.retain(|(_, n)| *n != 0);
    out
}

impl Redis {
    /// The number of slots of a session: read once from Redis, then
    /// remembered (it never changes while the session lives).
    pub(super) async fn slots_of(&self, code: &str) -> Result<u32> {
        if let Some(&n) = self.layouts.lock().get(code) {
            return Ok(n);
        }
        let (n, exists): (Option<u32>, bool) = redis::pipe()
            .cmd("GET")
            .arg(slots_key(code))
            .cmd("EXISTS")
            .arg(log_key(code))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        let n = n.unwrap_or(1).max(1);
        // A session not created yet may be created with other slots.
        if exists {
            self.layouts.lock().insert(code.to_owned(), n);
        }
        Ok(n)
    }

    /// Remembers the slots of a session this node created.
    pub(super) fn created_with(&self, code: &str, slots: u32) {
        self.layouts.lock().insert(code.to_owned(), slots);
    }

    /// Forgets a deleted session's slots (its code may be used again).
    pub(super) fn forget(&self, code: &str) {
        self.layouts.lock().remove(code);
    }

    /// A new generation of opens and closes of question `q`.
    pub(super) async fn next_gen(&self, code: &str, q: Uuid) -> Result<i64> {
        redis::cmd("HINCRBY")
            .arg(gen_key(code))
            .arg(q.to_string())
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)
    }

    /// Does an event's side on the slots of a session of `slots` slots,
    /// before the event is appended (see the module's doc). `gen`: the
    /// generation of an open or close; `participant`: whose answer is
    /// hidden, if known (only their slot holds it).
    pub(super) async fn slot_side(
        &self,
        code: &str,
        slots: u32,
        side: &Side,
        gen: Option<i64>,
        participant: Option<u32>,
    ) -> Result<()> {
        let (op, q, arg) = match side {
            Side::Open(..)
            | Side::Close(_)
            | Side::Timer(..)
            | Side::Reset(_)
            | Side::Delete(_)
            | Side::Hide(..)
            | Side::End => side.args(),
            Side::None | Side::Create | Side::Add(_) => return Ok(()),
        };
        // The end expires each question's keys: the slots hold no list of
        // the questions, the log's shard does.
        let questions: Vec<String> = if *side == Side::End {
            redis::cmd("SMEMBERS")
                .arg(super::questions_key(code))
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unreachable)?
        } else {
            Vec::new()
        };
        let which: Vec<u32> = match (side, participant) {
            (Side::Hide(..), Some(p)) => vec![slot_of(p, slots)],
            _ => (0..slots).collect(),
        };
        try_join_all(which.into_iter().map(|s| {
            let tag = tag(code, s, slots);
            let mut inv = self.slot.prepare_invoke();
            inv.key(slot_open_key(&tag))
                .key(slot_gen_key(&tag))
                .key(slot_ballots_key(&tag, q))
                .key(slot_counts_key(&tag, q))
                .arg(op)
                .arg(q.map(|q| q.to_string()).unwrap_or_default())
                .arg(&arg)
                .arg(gen.unwrap_or(0))
                .arg(super::ENDED_TTL_S)
                .arg(&tag)
                .arg(&questions);
            let mut conn = self.conn.clone();
            async move { inv.invoke_async::<i64>(&mut conn).await }
        }))
        .await
        .map_err(unreachable)?;
        Ok(())
    }

    /// Deletes the ballots, counts and states of every slot of a session
    /// (before its log goes: the questions are read from it).
    pub(super) async fn purge_slots(&self, code: &str) -> Result<()> {
        let slots = self.slots_of(code).await?;
        if slots > 1 {
            let questions: Vec<String> = redis::cmd("SMEMBERS")
                .arg(super::questions_key(code))
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unreachable)?;
            try_join_all((0..slots).map(|s| {
                let tag = tag(code, s, slots);
                let mut inv = self.slot.prepare_invoke();
                inv.key(slot_open_key(&tag))
                    .key(slot_gen_key(&tag))
                    .key(slot_ballots_key(&tag, None))
                    .key(slot_counts_key(&tag, None))
                    .arg("purge")
                    .arg("")
                    .arg("")
                    .arg(0)
                    .arg(0)
                    .arg(&tag)
                    .arg(&questions);
                let mut conn = self.conn.clone();
                async move { inv.invoke_async::<i64>(&mut conn).await }
            }))
            .await
            .map_err(unreachable)?;
        }
        self.forget(code);
        Ok(())
    }

    /// Casts or replaces a ballot (`Some`) or retracts it (`None`), on the
    /// participant's slot. Ok(false): the question takes no votes.
    pub async fn vote(
        &self,
        code: &str,
        q: Uuid,
        participant: u32,
        ballot: Option<String>,
    ) -> Result<bool> {
        let slots = self.slots_of(code).await?;
        let tag = tag(code, slot_of(participant, slots), slots);
        let open = if slots > 1 {
            slot_open_key(&tag)
        } else {
            open_key(code)
        };
        let r: i64 = self
            .vote
            .key(open)
            .key(slot_ballots_key(&tag, Some(q)))
            .key(slot_counts_key(&tag, Some(q)))
            .arg(q.to_string())
            .arg(participant)
            .arg(ballot.unwrap_or_default())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        Ok(r != 0)
    }

    /// Runs one pipeline per slot, each built by `each(tag)`; the answers
    /// by slot.
    async fn per_slot<T: redis::FromRedisValue + Send>(
        &self,
        code: &str,
        slots: u32,
        each: impl Fn(&str, &mut redis::Pipeline),
    ) -> Result<Vec<T>> {
        try_join_all((0..slots).map(|s| {
            let mut pipe = redis::pipe();
            each(&tag(code, s, slots), &mut pipe);
            let mut conn = self.conn.clone();
            async move { pipe.query_async::<T>(&mut conn).await }
        }))
        .await
        .map_err(unreachable)
    }

    /// The counts of each question, in order: the sum of every slot's.
    pub async fn counts(&self, code: &str, qs: &[Uuid]) -> Result<Vec<Vec<(String, i64)>>> {
        // An empty pipeline is an error to Redis's client: nothing to ask.
        if qs.is_empty() {
            return Ok(Vec::new());
        }
        let slots = self.slots_of(code).await?;
        let mut by_slot: Vec<Vec<Vec<(String, i64)>>> = self
            .per_slot(code, slots, |tag, pipe| {
                for q in qs {
                    pipe.cmd("HGETALL").arg(slot_counts_key(tag, Some(*q)));
                }
            })
            .await?;
        if by_slot.len() == 1 {
            return Ok(by_slot.pop().unwrap_or_default());
        }
        Ok((0..qs.len())
            .map(|i| sum_counts(by_slot.iter_mut().map(|s| std::mem::take(&mut s[i]))))
            .collect())
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
        let slots = self.slots_of(code).await?;
        let tag = tag(code, slot_of(participant, slots), slots);
        let mut pipe = redis::pipe();
        for q in qs {
            pipe.cmd("HGET")
                .arg(slot_ballots_key(&tag, Some(*q)))
                .arg(participant);
        }
        pipe.query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)
    }

    /// Every ballot of each question, by participant (from every slot).
    pub async fn ballots(&self, code: &str, qs: &[Uuid]) -> Result<Vec<Vec<(u32, String)>>> {
        // An empty pipeline is an error to Redis's client: nothing to ask.
        if qs.is_empty() {
            return Ok(Vec::new());
        }
        let slots = self.slots_of(code).await?;
        let by_slot: Vec<Vec<Vec<(u32, String)>>> = self
            .per_slot(code, slots, |tag, pipe| {
                for q in qs {
                    pipe.cmd("HGETALL").arg(slot_ballots_key(tag, Some(*q)));
                }
            })
            .await?;
        let mut out = vec![Vec::new(); qs.len()];
        for slot in by_slot {
            for (i, ballots) in slot.into_iter().enumerate() {
                out[i].extend(ballots);
            }
        }
        Ok(out)
    }

    /// Each question's ballots and counts as stored (counts summed over the
    /// slots), each slot read in one transaction, so that votes arriving
    /// meanwhile do not make them differ (`verify`).
    pub(super) async fn ballots_and_counts(
        &self,
        code: &str,
        qs: &[Uuid],
    ) -> Result<Vec<super::verify::Votes>> {
        if qs.is_empty() {
            return Ok(Vec::new());
        }
        let slots = self.slots_of(code).await?;
        let by_slot: Vec<Vec<Vec<(String, String)>>> = self
            .per_slot(code, slots, |tag, pipe| {
                pipe.atomic();
                for q in qs {
                    pipe.cmd("HGETALL").arg(slot_ballots_key(tag, Some(*q)));
                    pipe.cmd("HGETALL").arg(slot_counts_key(tag, Some(*q)));
                }
            })
            .await?;
        let mut out: Vec<super::verify::Votes> = vec![Default::default(); qs.len()];
        let mut counts: Vec<Vec<Vec<(String, i64)>>> = vec![Vec::new(); qs.len()];
        for slot in by_slot {
            for (i, pair) in slot.chunks(2).enumerate() {
                out[i].0.extend(pair[0].iter().cloned());
                // An unreadable count stays unreadable in the sum.
                counts[i].push(
                    pair[1]
                        .iter()
                        .map(|(k, n)| (k.clone(), n.parse().unwrap_or(i64::MIN / 4)))
                        .collect(),
                );
            }
        }
        for (i, c) in counts.into_iter().enumerate() {
            out[i].1 = sum_counts(c)
                .into_iter()
                .map(|(k, n)| {
                    let n = if n <= i64::MIN / 8 {
                        "unreadable".to_owned()
                    } else {
                        n.to_string()
                    };
                    (k, n)
                })
                .collect();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_keeps_the_session_tag() {
        assert_eq!(tag("123456", 0, 1), "{123456}");
        assert_eq!(
            slot_counts_key(&tag("123456", 0, 1), Some(Uuid::nil())),
            super::super::counts_key("123456", Some(Uuid::nil()))
        );
        assert_eq!(tag("123456", 3, 4), "{123456.3}");
    }

    #[test]
    fn a_participant_always_maps_to_one_slot() {
        for p in 0..100 {
            assert_eq!(slot_of(p, 4), slot_of(p, 4));
            assert!(slot_of(p, 4) < 4);
            assert_eq!(slot_of(p, 1), 0);
        }
        let used: std::collections::BTreeSet<u32> = (0..8).map(|p| slot_of(p, 4)).collect();
        assert_eq!(used.len(), 4);
    }

    #[test]
    fn counts_of_the_slots_add_up() {
        let a = vec![("0".to_owned(), 2), ("1".to_owned(), 1)];
        let b = vec![("1".to_owned(), 3), ("2".to_owned(), 1)];
        let c = vec![("2".to_owned(), -1)];
        assert_eq!(
            sum_counts([a, b, c]),
            vec![("0".to_owned(), 2), ("1".to_owned(), 4)]
        );
    }
}
