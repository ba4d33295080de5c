//! Replay: the sessions a journal holds, rebuilt by applying its records in
//! order (a snapshot replaces its session), with what was found on the way.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use super::segments::{chain, read_segment, segments, unhex, Frame, Hash};
use crate::domain::{Event, Limits, Session, Settings};
use crate::error::{Error, Result};
use crate::store::records::V1;

/// A session rebuilt from the journal, with its chain hash.
pub struct Restored {
    pub session: Session,
    pub chain: Hash,
    /// When the session was last active (ms), as far as the journal tells:
    /// a record without a time counts as written when its segment was last
    /// written, which never makes a session look older than it is.
    pub active: i64,
}

/// The state a journal holds, and what replay found on the way.
#[derive(Default)]
pub struct Replay {
    pub sessions: BTreeMap<String, Restored>,
    pub records: u64,
    /// Problems met (damaged records, events that did not apply).
    pub problems: Vec<String>,
    /// Chain links that did not match (only when checking).
    pub broken_links: Vec<String>,
    pub last_segment: u64,
    /// When the segment being read was last written (ms).
    segment_time: i64,
}

impl Replay {
    /// Applies one frame. `check` recomputes its chain link. `limits` are
    /// the replay's (see `replay_limits`).
    pub fn apply_record(&mut self, rec: &Frame, limits: &Limits, check: bool) {
        self.records += 1;
        let record = match V1::parse(&rec.json) {
            Ok(record) => record,
            Err(e) => {
                self.problems
                    .push(format!("offset {}: unreadable event: {e}", rec.offset));
                return;
            }
        };
        if check {
            if let Some(code) = record.code() {
                let prev = match (&record, self.sessions.get(code)) {
                    (V1::Snapshot { prev, .. }, None) => unhex(prev).unwrap_or([0; 32]),
                    (_, Some(r)) => r.chain,
                    (_, None) => [0; 32],
                };
                if chain(&prev, &rec.json) != rec.hash {
                    self.broken_links.push(format!(
                        "session {code}: the record at offset {} does not follow from the one before",
                        rec.offset
                    ));
                }
            }
        }
        if let Err(e) = self.apply_v1(record, rec.hash, limits) {
            self.problems
                .push(format!("offset {}: {}", rec.offset, e.message));
        }
    }

    fn apply_v1(&mut self, record: V1, hash: Hash, limits: &Limits) -> Result<()> {
        match record {
            V1::Snapshot {
                code,
                events,
                active,
                ..
            } => {
                let active = active.unwrap_or(self.segment_time);
                let mut inner = Replay::default();
                for ev in events {
                    inner.apply_v1(ev, hash, limits)?;
                }
                match inner.sessions.remove(&code) {
                    Some(r) => {
                        self.sessions.insert(
                            code,
                            Restored {
                                session: r.session,
                                chain: hash,
                                active,
                            },
                        );
                    }
                    None => {
                        return Err(Error::internal(format!(
                            "the snapshot of {code} holds no session"
                        )))
                    }
                }
            }
            V1::Compacted { .. } => {}
            V1::Created { .. } | V1::Ended { .. } => {
                self.apply_event(record.into_event()?, hash, limits)?
            }
            record => {
                let code = record.code().unwrap_or_default().to_owned();
                let r = self.sessions.get_mut(&code).ok_or_else(|| {
                    Error::not_found(format!("an event for unknown session {code}"))
                })?;
                r.chain = hash;
                r.active = r.active.max(self.segment_time);
                r.session.apply(&record.into_event()?, limits)?;
            }
        }
        Ok(())
    }

    /// Applies one event: `Created` and `Ended` change the set of sessions,
    /// any other event its session.
    fn apply_event(&mut self, ev: Event, hash: Hash, limits: &Limits) -> Result<()> {
        match ev {
            Event::Created {
                id,
                code,
                title,
                token,
                qa_moderation,
                at,
            } => {
                let session = Session::new(
                    id,
                    code.clone(),
                    title,
                    token,
                    Settings {
                        qa_moderation,
                        ..Settings::default()
                    },
                    at,
                    limits,
                )?;
                self.sessions.insert(
                    code,
                    Restored {
                        session,
                        chain: hash,
                        active: at,
                    },
                );
            }
            Event::Ended { code } => {
                self.sessions.remove(&code);
            }
            ev => {
                let code = ev.code().to_owned();
                let r = self.sessions.get_mut(&code).ok_or_else(|| {
                    Error::not_found(format!("an event for unknown session {code}"))
                })?;
                r.chain = hash;
                r.active = r.active.max(self.segment_time);
                r.session.apply(&ev, limits)?;
            }
        }
        Ok(())
    }
}

/// The limits a replay applies: the server's, except that Q&A items are
/// replayed whatever the limits on them are now (what was accepted stays).
pub fn replay_limits(limits: &Limits) -> Limits {
    Limits {
        max_qa_items: usize::MAX,
        max_qa_per_participant: usize::MAX,
        ..limits.clone()
    }
}

/// Cluster mode: the session a snapshot record (as JSON) holds, and its
/// chain (`prev`). An event of it that does not apply (another node's
/// limits) is skipped, as the log's refused events are.
pub fn session_from_snapshot(json: &str, limits: &Limits) -> Result<(Session, Hash)> {
    let bad = |why: String| Error::internal(format!("an unreadable snapshot: {why}"));
    let V1::Snapshot {
        code, prev, events, ..
    } = V1::parse(json.as_bytes()).map_err(|e| bad(e.to_string()))?
    else {
        return Err(bad("not a snapshot".into()));
    };
    let limits = replay_limits(limits);
    let mut inner = Replay::default();
    for ev in events {
        let applied = ev
            .into_event()
            .and_then(|ev| inner.apply_event(ev, [0; 32], &limits));
        if let Err(e) = applied {
            tracing::warn!(code = %code, error = %e.message, "snapshot: an event did not apply");
        }
    }
    let r = inner
        .sessions
        .remove(&code)
        .ok_or_else(|| bad(format!("it holds no session {code}")))?;
    let chain = unhex(&prev).ok_or_else(|| bad("its chain".into()))?;
    Ok((r.session, chain))
}

/// Reads the whole journal. With `repair`, a damaged tail of the last
/// segment is cut off (and logged) so that appends continue after the last
/// sound record.
pub fn replay(dir: &Path, limits: &Limits, repair: bool, check: bool) -> io::Result<Replay> {
    let limits = &replay_limits(limits);
    let mut out = Replay::default();
    let segs = segments(dir)?;
    let last = segs.last().map(|(n, _)| *n);
    for (n, path) in &segs {
        let (records, damage) = read_segment(path)?;
        // Unknown: now, which never makes a session look older than it is.
        let written = fs::metadata(path)?
            .modified()
            .unwrap_or_else(|_| std::time::SystemTime::now());
        out.segment_time = written
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        for rec in &records {
            out.apply_record(rec, limits, check);
        }
        if let Some(d) = damage {
            let size = fs::metadata(path)?.len();
            let msg = format!(
                "{}: {} at byte {}; {} bytes after it are dropped",
                path.display(),
                d.what,
                d.offset,
                size - d.offset
            );
            if repair && Some(*n) == last {
                tracing::warn!("journal: cutting off a damaged tail: {msg}");
                OpenOptions::new()
                    .write(true)
                    .open(path)?
                    .set_len(d.offset)?;
            } else {
                tracing::error!("journal: {msg}");
            }
            out.problems.push(msg);
        }
        out.last_segment = *n;
    }
    Ok(out)
}
