//! `handsup verify`'s check: the journal read without changing it, every
//! session's chain recomputed and every tally recounted from its ballots.
//! The report is rendered by `cli::verify`.
//!
//! What is checked is a list of segment files read in order: a data
//! directory's segments, or one file (a session's records downloaded with
//! `GET /api/sessions/{code}/journal`, framed as a segment).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::replay::{replay_limits, Replay};
use super::segments::{read_segment, segments};
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

/// The segment files a path names: a directory's segments, oldest first,
/// or the file itself, read as one segment.
pub fn segment_paths(path: &Path) -> io::Result<Vec<PathBuf>> {
    if path.is_dir() {
        Ok(segments(path)?.into_iter().map(|(_, p)| p).collect())
    } else if path.is_file() {
        Ok(vec![path.to_owned()])
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is neither a directory nor a file", path.display()),
        ))
    }
}

/// Reads the segments `paths` in order without changing them, recomputes
/// every session's chain and every tally from its ballots.
pub fn verify(paths: &[PathBuf], limits: &Limits) -> io::Result<Verification> {
    let replay = read(paths, limits)?;
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

/// Applies every sound record of `paths`, chain links checked; a damaged
/// record is a problem, and the rest of its file is not read.
fn read(paths: &[PathBuf], limits: &Limits) -> io::Result<Replay> {
    let limits = &replay_limits(limits);
    let mut out = Replay::default();
    for path in paths {
        let (records, damage) = read_segment(path)?;
        for rec in &records {
            out.apply_record(rec, limits, true);
        }
        if let Some(d) = damage {
            let size = std::fs::metadata(path)?.len();
            out.problems.push(format!(
                "{}: {} at byte {}; {} bytes after it are not read",
                path.display(),
                d.what,
                d.offset,
                size - d.offset
            ));
        }
    }
    Ok(out)
}
