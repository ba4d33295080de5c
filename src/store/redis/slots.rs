//! A session's ballots spread over several hash slots (`--redis-slots S`).
//!
//! With one slot (the default) every key of a session carries the hash tag
//! `{CODE}`: one shard of a Redis Cluster takes all of its votes. With S
//! slots, the ballots and counts of participant `p` go to slot `p % S`,
//! whose keys carry a tag of their own, `{CODE.k}` (see `tags`): a hot
//! session's votes divide over up to S shards. The log, the questions, the snapshot
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
use std::sync::Arc;

use futures_util::future::try_join_all;
use uuid::Uuid;

use super::{log_key, open_key, unreachable, Redis, Side};
use crate::error::Result;

/// The hash slots of a Redis Cluster.
const HASH_SLOTS: u32 = 16_384;

/// The hash tags of a session of `slots` slots: `{CODE}` alone with one
/// slot; else, for each slot s, `{CODE.k}` with the first k whose hash slot
/// falls in the s-th S-th of the 16,384. A cluster made with equal ranges
/// of hash slots per shard (as `redis-cli --cluster create` makes it) so
/// gets S / N of them on each of its N shards when N divides S, where tags
/// hashed at random would pile up on some shards.
pub(super) fn tags(code: &str, slots: u32) -> Vec<String> {
    if slots <= 1 {
        return vec![format!("{{{code}}}")];
    }
    let mut found: Vec<Option<u32>> = vec![None; slots as usize];
    let mut left = slots;
    for k in 0u32.. {
        let at = crc16::State::<crc16::XMODEM>::calculate(format!("{code}.{k}").as_bytes());
        let part = (u32::from(at) % HASH_SLOTS) * slots / HASH_SLOTS;
        if found[part as usize].is_none() {
            found[part as usize] = Some(k);
            left -= 1;
            if left == 0 {
                break;
            }
        }
    }
    found
        .into_iter()
        .map(|k| format!("{{{code}.{}}}", k.unwrap_or_default()))
        .collect()
}

/// The slot of a participant's ballots, of `slots`.
pub(super) fn slot_of(participant: u32, slots: usize) -> usize {
    participant as usize % slots.max(1)
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
/// How many times each question's ballots changed on a slot (a hash,
/// question → changes): a node counting groups reads a question's ballots
/// again only when it moved.
pub(super) fn slot_versions_key(tag: &str) -> String {
    format!("{tag}:v")
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
    /// The hash tags of a session's slots (see `tags`): the number of
    /// slots is read once from Redis, then the tags are kept (they never
    /// change while the session lives).
    pub(super) async fn tags_of(&self, code: &str) -> Result<Arc<Vec<String>>> {
        if let Some(t) = self.layouts.lock().get(code) {
            return Ok(t.clone());
        }
        let (n, exists): (Option<u32>, bool) = redis::pipe()
            .cmd("GET")
            .arg(slots_key(code))
            .cmd("EXISTS")
            .arg(log_key(code))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unreachable)?;
        let t = Arc::new(tags(code, n.unwrap_or(1)));
        // A session not created yet may be created with other slots.
        if exists {
            self.layouts.lock().insert(code.to_owned(), t.clone());
        }
        Ok(t)
    }

    /// Remembers the slots of a session this node created.
    pub(super) fn created_with(&self, code: &str, slots: u32) {
        self.layouts
            .lock()
            .insert(code.to_owned(), Arc::new(tags(code, slots)));
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

    /// Does an event's side on the slots of a session spread over several,
    /// before the event is appended (see the module's doc). `gen`: the
    /// generation of an open or close; `participant`: whose answer is
    /// hidden, if known (only their slot holds it).
    pub(super) async fn slot_side(
        &self,
        code: &str,
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
        let tags = self.tags_of(code).await?;
        let which: Vec<&String> = match (side, participant) {
            (Side::Hide(..), Some(p)) => vec![&tags[slot_of(p, tags.len())]],
            _ => tags.iter().collect(),
        };
        let q_arg = q.map(|q| q.to_string()).unwrap_or_default();
        let (gen, ttl) = (gen.unwrap_or(0), super::ENDED_TTL_S);
        try_join_all(
            which
                .into_iter()
                .map(|tag| self.run_slot(tag, q, [op, &q_arg, &arg], gen, ttl, &questions)),
        )
        .await
        .map_err(unreachable)?;
        Ok(())
    }

    /// Runs the slot script on one slot: `args` are its operation, question
    /// and argument; `questions` the session's, for an end or a purge.
    fn run_slot<'a>(
        &'a self,
        tag: &'a str,
        q: Option<Uuid>,
        args: [&'a str; 3],
        gen: i64,
        ttl: i64,
        questions: &'a [String],
    ) -> impl std::future::Future<Output = redis::RedisResult<i64>> + 'a {
        let mut inv = self.slot.prepare_invoke();
        inv.key(slot_open_key(tag))
            .key(slot_gen_key(tag))
            .key(slot_ballots_key(tag, q))
            .key(slot_counts_key(tag, q))
            .arg(args[0])
            .arg(args[1])
            .arg(args[2])
            .arg(gen)
            .arg(ttl)
            .arg(tag)
            .arg(questions);
        let mut conn = self.conn.clone();
        async move { inv.invoke_async::<i64>(&mut conn).await }
    }

    /// Deletes the ballots, counts and states of every slot of a session
    /// (before its log goes: the questions are read from it).
    pub(super) async fn purge_slots(&self, code: &str) -> Result<()> {
        let tags = self.tags_of(code).await?;
        if tags.len() > 1 {
            let questions: Vec<String> = redis::cmd("SMEMBERS")
                .arg(super::questions_key(code))
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unreachable)?;
            try_join_all(
                tags.iter()
                    .map(|tag| self.run_slot(tag, None, ["purge", "", ""], 0, 0, &questions)),
            )
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
        let tags = self.tags_of(code).await?;
        let tag = &tags[slot_of(participant, tags.len())];
        let open = if tags.len() > 1 {
            slot_open_key(tag)
        } else {
            open_key(code)
        };
        let r: i64 = self
            .vote
            .key(open)
            .key(slot_ballots_key(tag, Some(q)))
            .key(slot_counts_key(tag, Some(q)))
            .key(slot_versions_key(tag))
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
        each: impl Fn(&str, &mut redis::Pipeline),
    ) -> Result<Vec<T>> {
        let tags = self.tags_of(code).await?;
        try_join_all(tags.iter().map(|tag| {
            let mut pipe = redis::pipe();
            each(tag, &mut pipe);
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
        let mut by_slot: Vec<Vec<Vec<(String, i64)>>> = self
            .per_slot(code, |tag, pipe| {
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

    /// How many times the ballots of each question changed, slot by slot
    /// (0: never, or not since the session's keys were made): equal
    /// versions, the same ballots, but for a reset (which the log tells).
    pub async fn versions(&self, code: &str, qs: &[Uuid]) -> Result<Vec<Vec<i64>>> {
        if qs.is_empty() {
            return Ok(Vec::new());
        }
        let fields: Vec<String> = qs.iter().map(Uuid::to_string).collect();
        let by_slot: Vec<Vec<Vec<Option<i64>>>> = self
            .per_slot(code, |tag, pipe| {
                pipe.cmd("HMGET").arg(slot_versions_key(tag)).arg(&fields);
            })
            .await?;
        Ok((0..qs.len())
            .map(|i| {
                by_slot
                    .iter()
                    .map(|v| v.first().and_then(|v| v.get(i)).copied().flatten())
                    .map(|v| v.unwrap_or(0))
                    .collect()
            })
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
        let tags = self.tags_of(code).await?;
        let tag = &tags[slot_of(participant, tags.len())];
        let mut pipe = redis::pipe();
        for q in qs {
            pipe.cmd("HGET")
                .arg(slot_ballots_key(tag, Some(*q)))
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
        let by_slot: Vec<Vec<Vec<(u32, String)>>> = self
            .per_slot(code, |tag, pipe| {
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
        let by_slot: Vec<Vec<Vec<(String, String)>>> = self
            .per_slot(code, |tag, pipe| {
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
        assert_eq!(tags("123456", 1), vec!["{123456}".to_owned()]);
        assert_eq!(
            slot_counts_key(&tags("123456", 1)[0], Some(Uuid::nil())),
            super::super::counts_key("123456", Some(Uuid::nil()))
        );
    }

    /// The hash slot of a tag, as Redis Cluster computes it.
    fn hash_slot(tag: &str) -> u32 {
        let inner = tag.trim_start_matches('{').trim_end_matches('}');
        u32::from(crc16::State::<crc16::XMODEM>::calculate(inner.as_bytes())) % HASH_SLOTS
    }

    #[test]
    fn the_slots_of_a_session_divide_the_hash_slots_evenly() {
        for code in ["123456", "000001", "987654"] {
            for s in [2u32, 3, 6, 64] {
                let t = tags(code, s);
                assert_eq!(t.len(), s as usize);
                for (i, tag) in t.iter().enumerate() {
                    assert!(tag.starts_with(&format!("{{{code}.")), "{tag}");
                    assert_eq!(hash_slot(tag) * s / HASH_SLOTS, i as u32, "{tag}");
                }
                // The same on every node.
                assert_eq!(tags(code, s), t);
            }
        }
        // Three shards of equal ranges, six slots: two on each.
        let per_shard = tags("123456", 6).iter().fold([0; 3], |mut n, tag| {
            n[(hash_slot(tag) * 3 / HASH_SLOTS) as usize] += 1;
            n
        });
        assert_eq!(per_shard, [2, 2, 2]);
    }

    #[test]
    fn a_participant_always_maps_to_one_slot() {
        for p in 0..100 {
            assert!(slot_of(p, 4) < 4);
            assert_eq!(slot_of(p, 1), 0);
        }
        let used: std::collections::BTreeSet<usize> = (0..8).map(|p| slot_of(p, 4)).collect();
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
