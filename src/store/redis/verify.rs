//! `handsup verify --redis URL CODE`'s check: one session held in Redis,
//! read without changing anything and checked from Redis alone (no node
//! needed). The report is rendered by `cli::verify_redis`.
//!
//! - The log: every entry carries its position, so a missing, repeated or
//!   moved entry shows; each entry is read and applied as every node applies
//!   it (`apply_entry`), and the chain is recomputed the way nodes compute
//!   the session's digest: from the snapshot's `prev` when there is a
//!   snapshot (as a node loading the session starts), else from zero at the
//!   creation, each entry's link from the one before. When the log still
//!   holds everything the snapshot covers, the chain up to it is checked
//!   against the snapshot's `prev` as well.
//! - The ballots: each question's counts are recounted from its ballots
//!   (each ballot's choice checked against the question again, its stored
//!   contributions against the choice's) and compared with the counts the
//!   vote script moved, summed over the session's slots. Each slot's
//!   ballots and counts are read in one transaction, so votes arriving
//!   meanwhile do not make them differ.
//!
//! The log's entries hold no hash of their own: what the chain gives is
//! the digest, to compare with the one the room was shown. An entry changed
//! in place, with its position kept, changes the digest; one deleted or
//! moved also breaks the positions.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::ballot::Ballot;
use super::{base_key, entry, log_key, questions_key, snap_key, Redis};
use crate::domain::{Applied, Event, Limits, Session, Settings, Tally};
use crate::error::Result;
use crate::store::journal::{self, Hash};
use crate::store::records::{self, Record};

/// Problems of one kind listed at most this many times, then counted.
const MAX_LISTED: usize = 20;

/// Applies one event read from a session's shared log to a copy of the
/// session, as every node does (`LiveSession::apply_live` calls it in
/// cluster mode): a hidden answer is hidden in Redis, so the copy only
/// remembers its text, to hide it if sent again.
pub fn apply_entry(s: &mut Session, ev: &Event, limits: &Limits) -> Result<Applied> {
    match ev {
        Event::HideEntry { q, p, text, .. } => {
            s.question(*q)?;
            if let (Some(p), Some(text)) = (p, text) {
                s.hide_text(*q, *p, text)?;
            }
            Ok(Applied::Changed)
        }
        ev => s.apply(ev, limits),
    }
}

/// What the check of one session found.
pub struct Verification {
    pub code: String,
    /// The session as the log rebuilds it; None when it cannot be rebuilt
    /// (no creation, no snapshot).
    pub session: Option<Session>,
    /// The chain's last link: the digest the nodes report.
    pub chain: Hash,
    /// Entries cut off the log's head by compaction.
    pub base: u64,
    /// The log's last position.
    pub last: u64,
    /// The position the snapshot covers, if there is one.
    pub snapshot: Option<u64>,
    /// Entries applied to the session (after the snapshot, if any).
    pub applied: u64,
    /// Entries that changed nothing or were refused, as every node refuses
    /// them (a change that lost a race with another node's): not damage.
    pub refused: u64,
    /// Each question's tally recounted from its ballots (in the session's
    /// order), the number of ballots, and whether the counts in Redis agree.
    pub recounts: Vec<(Tally, usize, bool)>,
    /// What is wrong, each naming the session.
    pub problems: Vec<String>,
}

impl Verification {
    /// No problem found.
    pub fn sound(&self) -> bool {
        self.problems.is_empty() && self.session.is_some()
    }
}

/// A question's ballots (participant, ballot JSON) and counts (name,
/// amount), as Redis holds them.
pub(super) type Votes = (Vec<(String, String)>, Vec<(String, String)>);

/// What Redis holds of a session's log, read at one moment.
struct LogState {
    base: u64,
    snapshot: Option<String>,
    entries: Vec<String>,
}

/// Checks the session `code` held in `redis`. Ok(None): Redis holds no such
/// session. Err: Redis could not be read.
pub async fn verify(redis: &Redis, code: &str, limits: &Limits) -> Result<Option<Verification>> {
    // Ballots first, then the log: whoever cast a ballot read here joined
    // before, so is in the log read after.
    let qs: Vec<String> = redis::cmd("SMEMBERS")
        .arg(questions_key(code))
        .query_async(&mut redis.conn.clone())
        .await
        .map_err(super::unreachable)?;
    let qs: Vec<Uuid> = qs.iter().filter_map(|q| q.parse().ok()).collect();
    let got = redis.ballots_and_counts(code, &qs).await?;
    let votes: BTreeMap<Uuid, Votes> = qs.iter().copied().zip(got).collect();
    let (base, snapshot, entries): (Option<u64>, Option<String>, Vec<String>) = redis::pipe()
        .atomic()
        .cmd("GET")
        .arg(base_key(code))
        .cmd("GET")
        .arg(snap_key(code))
        .cmd("LRANGE")
        .arg(log_key(code))
        .arg(0)
        .arg(-1)
        .query_async(&mut redis.conn.clone())
        .await
        .map_err(super::unreachable)?;
    if entries.is_empty() && snapshot.is_none() {
        return Ok(None);
    }
    let log = LogState {
        base: base.unwrap_or(0),
        snapshot,
        entries,
    };
    let mut v = check_log(code, &log, limits);
    check_ballots(&mut v, &votes);
    Ok(Some(v))
}

/// Positions, chain and replay of the log.
fn check_log(code: &str, log: &LogState, limits: &Limits) -> Verification {
    let mut v = Verification {
        code: code.to_owned(),
        session: None,
        chain: [0; 32],
        base: log.base,
        last: log.base + log.entries.len() as u64,
        snapshot: None,
        applied: 0,
        refused: 0,
        recounts: Vec::new(),
        problems: Vec::new(),
    };
    let problem = |v: &mut Verification, what: String| {
        v.problems.push(format!("session {code}: {what}"));
    };
    // Each entry: its position (None: unreadable) and its event's JSON.
    let parsed: Vec<(Option<u64>, &str)> = log
        .entries
        .iter()
        .map(|e| match entry(e) {
            Some((n, json)) => (Some(n), json),
            None => (None, e.as_str()),
        })
        .collect();
    for what in positions(log.base, &parsed) {
        problem(&mut v, what);
    }

    // Where the chain starts: the snapshot, or the creation.
    let snapshot = match &log.snapshot {
        Some(s) => match s
            .split_once(' ')
            .and_then(|(at, json)| Some((at.parse::<u64>().ok()?, json)))
        {
            Some(s) => Some(s),
            None => {
                problem(&mut v, "the snapshot does not read".into());
                return v;
            }
        },
        None => None,
    };
    let mut start = 0;
    if let Some((at, json)) = snapshot {
        v.snapshot = Some(at);
        let last = v.last;
        if at > last {
            problem(
                &mut v,
                format!("the snapshot covers entry {at}, past the log's last entry {last}"),
            );
        }
        let (session, prev) = match journal::session_from_snapshot(json) {
            Ok(s) => s,
            Err(e) => {
                problem(&mut v, format!("the snapshot does not read: {}", e.message));
                return v;
            }
        };
        if log.base == 0 {
            // Everything the snapshot covers is still there: the chain up to
            // it must lead to the snapshot's `prev`.
            let covered: Vec<_> = parsed
                .iter()
                .filter(|(n, _)| n.is_some_and(|n| n <= at))
                .copied()
                .collect();
            let mut r = fresh(code, limits);
            if let Some((_, chain)) = from_creation(code, &covered, limits, &mut r) {
                if chain != prev {
                    problem(
                        &mut v,
                        format!("the entries up to {at} do not lead to the snapshot's chain"),
                    );
                }
            }
        }
        v.session = Some(session);
        v.chain = prev;
        start = at;
    } else if log.base > 0 {
        problem(
            &mut v,
            format!(
                "the log's first {} entries were cut off, and no snapshot holds them",
                log.base
            ),
        );
        return v;
    }
    let tail: Vec<_> = parsed
        .iter()
        .filter(|(n, _)| n.is_none_or(|n| n > start))
        .copied()
        .collect();
    if v.session.is_none() {
        let mut r = fresh(code, limits);
        if let Some((session, chain)) = from_creation(code, &tail, limits, &mut r) {
            v.session = Some(session);
            v.chain = chain;
        }
        v.applied = r.applied;
        v.refused = r.refused;
        v.problems.extend(r.problems);
        return v;
    }
    let mut r = fresh(code, limits);
    let session = v.session.as_mut().expect("set above");
    replay(session, &mut v.chain, &tail, &mut r);
    v.applied = r.applied;
    v.refused = r.refused;
    v.problems.extend(r.problems);
    v
}

/// Missing, repeated and moved entries, from their positions.
fn positions(base: u64, parsed: &[(Option<u64>, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut prev: Option<u64> = None;
    for (i, (n, _)) in parsed.iter().enumerate() {
        let Some(n) = *n else {
            out.push(format!(
                "the log's entry at index {i} has no position: it was not written by a node"
            ));
            continue;
        };
        if n <= base {
            out.push(format!(
                "entry {n} is in the log, but compaction cut the log off after entry {base}"
            ));
        }
        if !seen.insert(n) {
            out.push(format!("entry {n} is in the log twice"));
        }
        if let Some(p) = prev.filter(|p| n < *p) {
            out.push(format!(
                "entry {n} comes after entry {p}: the log is out of order"
            ));
        }
        prev = Some(n);
    }
    if let Some(&max) = seen.last() {
        let missing: Vec<u64> = (base + 1..=max).filter(|n| !seen.contains(n)).collect();
        if !missing.is_empty() {
            let listed: Vec<String> = missing
                .iter()
                .take(MAX_LISTED)
                .map(u64::to_string)
                .collect();
            out.push(format!(
                "{} missing from the log: {}{}",
                if missing.len() == 1 {
                    "an entry is"
                } else {
                    "entries are"
                },
                listed.join(", "),
                if missing.len() > MAX_LISTED {
                    ", ..."
                } else {
                    ""
                }
            ));
        }
    }
    out
}

/// What a replay of entries counted and found.
struct Run {
    code: String,
    limits: Limits,
    applied: u64,
    refused: u64,
    problems: Vec<String>,
}

fn fresh(code: &str, limits: &Limits) -> Run {
    Run {
        code: code.to_owned(),
        limits: limits.clone(),
        applied: 0,
        refused: 0,
        problems: Vec::new(),
    }
}

/// The session made by the log's first entry, its creation, with the rest
/// of `entries` applied; None (and a problem) when the first entry is not a
/// creation of this session.
fn from_creation(
    code: &str,
    entries: &[(Option<u64>, &str)],
    limits: &Limits,
    r: &mut Run,
) -> Option<(Session, Hash)> {
    let first = entries.first();
    let created = first.and_then(|(_, json)| match records::decode(json.as_bytes()) {
        Ok(Record::Event(Event::Created {
            id,
            code: c,
            title,
            token,
            qa_moderation,
            at,
        })) if c == code => {
            let settings = Settings {
                qa_moderation,
                ..Settings::default()
            };
            Session::new(id, c, title, token, settings, at, limits).ok()
        }
        _ => None,
    });
    let Some(mut session) = created else {
        r.problems.push(format!(
            "session {code}: the log does not start with the session's creation"
        ));
        return None;
    };
    let mut chain = [0; 32];
    replay(&mut session, &mut chain, entries, r);
    Some((session, chain))
}

/// Applies entries to `session` and moves `chain` as a node does
/// (`LiveSession::apply_logged`): every event read moves the chain but the
/// end; an entry that does not read moves nothing.
fn replay(session: &mut Session, chain: &mut Hash, entries: &[(Option<u64>, &str)], r: &mut Run) {
    for (n, json) in entries {
        let at = n.map_or_else(|| "without a position".to_owned(), |n| n.to_string());
        let ev = match records::decode(json.as_bytes()) {
            Ok(Record::Event(ev)) => ev,
            Ok(_) => {
                r.problems.push(format!(
                    "session {}: entry {at} is a snapshot, not an event",
                    r.code
                ));
                continue;
            }
            Err(e) => {
                r.problems.push(format!(
                    "session {}: entry {at} does not read: {}",
                    r.code, e.message
                ));
                continue;
            }
        };
        if ev.code() != r.code {
            r.problems.push(format!(
                "session {}: entry {at} belongs to session {}",
                r.code,
                ev.code()
            ));
        }
        match ev {
            Event::Ended { .. } => {}
            Event::Created { .. } => *chain = journal::chain(chain, json.as_bytes()),
            ev => {
                *chain = journal::chain(chain, json.as_bytes());
                match apply_entry(session, &ev, &r.limits) {
                    Ok(Applied::Nothing) | Err(_) => r.refused += 1,
                    Ok(_) => r.applied += 1,
                }
            }
        }
    }
}

/// Recounts each question's counts from its ballots and compares.
fn check_ballots(v: &mut Verification, votes: &BTreeMap<Uuid, Votes>) {
    let Some(session) = &v.session else { return };
    let code = v.code.clone();
    let joined = session.participants().len() as u64;
    let mut problems = Vec::new();
    let mut recounts = Vec::new();
    for q in session.questions() {
        let kind = &q.spec.kind;
        let mut fresh = Tally::empty(kind);
        let mut sums: BTreeMap<String, i64> = BTreeMap::new();
        let (ballots, counts) = votes.get(&q.id).cloned().unwrap_or_default();
        let name = format!("question \"{}\" ({})", q.spec.prompt, q.id);
        let mut bad = Vec::new();
        for (p, json) in &ballots {
            if !p.parse::<u64>().is_ok_and(|p| p < joined) {
                bad.push(format!("a ballot of participant {p}, who never joined"));
            }
            let Some(b) = Ballot::decode(json) else {
                bad.push(format!("the ballot of participant {p} does not read"));
                continue;
            };
            let Some(choice) = b.checked(kind) else {
                bad.push(format!(
                    "the ballot of participant {p} does not fit the question"
                ));
                continue;
            };
            let mut stored = b.counts.clone();
            let mut wanted = choice.contributions();
            stored.sort();
            wanted.sort();
            if stored != wanted {
                bad.push(format!(
                    "the ballot of participant {p} adds {stored:?} to the counts, its choice {wanted:?}"
                ));
            }
            for (k, n) in wanted {
                *sums.entry(k).or_default() += n;
            }
            fresh.add(&choice);
        }
        sums.retain(|_, n| *n != 0);
        let stored: BTreeMap<String, i64> = counts
            .iter()
            .map(|(k, n)| (k.clone(), n.parse().unwrap_or(i64::MIN)))
            .filter(|(_, n)| *n != 0)
            .collect();
        let agrees = stored == sums;
        if !agrees {
            let keys: BTreeSet<&String> = stored.keys().chain(sums.keys()).collect();
            let diff: Vec<String> = keys
                .into_iter()
                .filter(|k| stored.get(*k) != sums.get(*k))
                .take(MAX_LISTED)
                .map(|k| {
                    let show = |n: Option<&i64>| match n {
                        Some(&i64::MIN) => "unreadable".to_owned(),
                        Some(n) => n.to_string(),
                        None => "0".to_owned(),
                    };
                    format!(
                        "{k:?}: counts {}, ballots {}",
                        show(stored.get(k)),
                        show(sums.get(k))
                    )
                })
                .collect();
            bad.push(format!(
                "the counts in Redis differ from the {} ballots: {}",
                ballots.len(),
                diff.join("; ")
            ));
        }
        let listed = bad.len().min(MAX_LISTED);
        for b in &bad[..listed] {
            problems.push(format!("session {code}: {name}: {b}"));
        }
        if bad.len() > listed {
            problems.push(format!(
                "session {code}: {name}: {} more problems with ballots",
                bad.len() - listed
            ));
        }
        recounts.push((fresh, ballots.len(), agrees));
    }
    v.problems.extend(problems);
    v.recounts = recounts;
}
