//! `handsup verify`'s check: the journal read without changing it, every
//! session's chain recomputed and every tally recounted from its ballots.
//! The report is rendered by `cli::verify`.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use super::replay::{replay, Replay};
use crate::domain::{Limits, Tally};

/// What the check found.
pub struct Verification {
    /// The journal as replayed, chain links checked.
    pub replay: Replay,
    /// By session code, each question's tally recounted from its ballots
    /// (in the session's order), and whether the running tally agrees.
    pub recounts: BTreeMap<String, Vec<(Tally, bool)>>,
    /// No damage, no broken link, no tally that disagrees.
    pub sound: bool,
}

/// Reads the journal without changing it, recomputes every session's chain
/// and every tally from its ballots.
pub fn verify(dir: &Path, limits: &Limits) -> io::Result<Verification> {
    let replay = replay(dir, limits, false, true)?;
    let mut sound = replay.problems.is_empty() && replay.broken_links.is_empty();
    let mut recounts = BTreeMap::new();
    for (code, restored) in &replay.sessions {
        let checks: Vec<(Tally, bool)> = restored
            .session
            .questions()
            .iter()
            .map(|q| {
                let mut fresh = Tally::empty(&q.spec.kind);
                for (_, c) in q.ballots() {
                    fresh.add(c);
                }
                let agrees = &fresh == q.tally();
                (fresh, agrees)
            })
            .collect();
        sound &= checks.iter().all(|(_, agrees)| *agrees);
        recounts.insert(code.clone(), checks);
    }
    Ok(Verification {
        replay,
        recounts,
        sound,
    })
}
