//! `handsup verify`'s check: the journal read without changing it, every
//! session's chain recomputed and every tally recounted from its ballots.
//! The report is rendered by `cli::verify`.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::replay::{replay_files, Replay};
use super::segments::segments;
use crate::domain::Tally;

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

/// Reads a journal without changing it (a data directory, or one file: a
/// session's records as downloaded), recomputes every session's chain and
/// every tally from its ballots.
pub fn verify(path: &Path) -> io::Result<Verification> {
    let paths: Vec<PathBuf> = if path.is_dir() {
        segments(path)?.into_iter().map(|(_, p)| p).collect()
    } else {
        vec![path.to_owned()]
    };
    let replay = replay_files(&paths, None, true)?;
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
