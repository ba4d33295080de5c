//! Replay: the sessions a journal holds, rebuilt by applying its records in
//! order (a snapshot replaces its session), with what was found on the way.
//!
//! Replay applies no admission limit (what was accepted once stays, even
//! after a restart with lower limits), finds participants by the id their
//! records carry (by position in the oldest journals), and never deletes
//! what it cannot read: it cuts only a torn tail of the last segment, and
//! copies a segment damaged in any other way to `damaged/` before it goes
//! on from the segment's sound records.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::segments::{chain, read_segment, segments, unhex, Damage, Frame, Hash};
use crate::domain::{Event, Limits, Session, Settings};
use crate::error::{Error, Result};
use crate::store::records::{Who, V1};

/// A session rebuilt from the journal, with its chain hash.
pub struct Restored {
    pub session: Session,
    pub chain: Hash,
    /// When the session was last active (ms), as far as the journal tells:
    /// a record without a time counts as written when its segment was last
    /// written, which never makes a session look older than it is.
    pub active: i64,
    /// Participants' positions by id, as far as read (see `position`).
    ids: HashMap<Uuid, u32>,
}

impl Restored {
    fn new(session: Session, chain: Hash, active: i64) -> Restored {
        Restored {
            session,
            chain,
            active,
            ids: HashMap::new(),
        }
    }

    /// The position of the participant a record names.
    fn position(&mut self, who: &Who) -> Result<u32> {
        match who {
            Who::Index(i) => Ok(*i),
            Who::Id(id) => {
                let known = self.session.participants();
                for (i, p) in known.iter().enumerate().skip(self.ids.len()) {
                    self.ids.insert(p.id, i as u32);
                }
                self.ids.get(id).copied().ok_or_else(|| {
                    Error::not_found(format!("an event of unknown participant {id}"))
                })
            }
        }
    }
}

/// A snapshot in parts, being read.
struct Pending {
    prev: Hash,
    active: Option<i64>,
    parts: u32,
    got: u32,
    events: Vec<V1>,
    /// The chain link of the last part read.
    link: Hash,
    at: String,
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
    /// What was found that is no damage: a torn last record, cut or not.
    pub notes: Vec<String>,
    pub last_segment: u64,
    /// When the segment being read was last written (ms).
    segment_time: i64,
    /// The name of the segment being read, for messages.
    segment_name: String,
    pending: HashMap<String, Pending>,
}

impl Replay {
    /// Where a record is, for messages: "offset N of journal-00000002.log".
    fn at(&self, offset: u64) -> String {
        if self.segment_name.is_empty() {
            format!("offset {offset}")
        } else {
            format!("offset {offset} of {}", self.segment_name)
        }
    }

    /// Applies one frame. `check` recomputes its chain link.
    pub fn apply_record(&mut self, rec: &Frame, check: bool) {
        self.records += 1;
        let at = self.at(rec.offset);
        let record = match V1::parse(&rec.json) {
            Ok(record) => record,
            Err(e) => {
                self.problems.push(format!("{at}: unreadable record: {e}"));
                return;
            }
        };
        if check {
            self.check_link(&record, rec, &at);
        }
        if let Err(e) = self.apply_v1(record, rec.hash, &at) {
            self.problems.push(format!("{at}: {}", e.message));
        }
    }

    /// Whether the record's chain link follows from the one before.
    fn check_link(&mut self, record: &V1, rec: &Frame, at: &str) {
        let Some(code) = record.code() else { return };
        let expected = match (record, self.sessions.get(code)) {
            (
                V1::Snapshot {
                    prev,
                    parts: Some(_),
                    ..
                },
                known,
            ) => {
                let prev = unhex(prev).unwrap_or([0; 32]);
                if let Some(r) = known {
                    if r.chain != prev {
                        self.broken_links.push(format!(
                            "session {code}: the snapshot at {at} does not cover the session's records before it"
                        ));
                    }
                }
                chain(&prev, &rec.json)
            }
            (V1::SnapshotPart { .. }, _) => match self.pending.get(code) {
                Some(p) => chain(&p.link, &rec.json),
                None => return, // reported when applied
            },
            (V1::Snapshot { prev, .. }, None) => chain(&unhex(prev).unwrap_or([0; 32]), &rec.json),
            (_, Some(r)) => chain(&r.chain, &rec.json),
            (_, None) => chain(&[0; 32], &rec.json),
        };
        if expected != rec.hash {
            self.broken_links.push(format!(
                "session {code}: the record at {at} does not follow from the one before"
            ));
        }
    }

    fn apply_v1(&mut self, record: V1, hash: Hash, at: &str) -> Result<()> {
        if let Some(code) = record.code() {
            if self.pending.contains_key(code) && !matches!(record, V1::SnapshotPart { .. }) {
                let p = self.pending.remove(code).expect("pending");
                self.problems.push(format!(
                    "{}: the snapshot of {code} is incomplete ({} of {} parts): it is ignored",
                    p.at, p.got, p.parts
                ));
            }
        }
        match record {
            V1::Snapshot {
                code,
                events,
                active,
                parts: None,
                ..
            } => {
                // The first form: one record, whose link moves the chain.
                let active = active.unwrap_or(self.segment_time);
                let session = Self::rebuild(&code, events)?;
                self.sessions
                    .insert(code, Restored::new(session, hash, active));
            }
            V1::Snapshot {
                code,
                prev,
                events,
                active,
                parts: Some(parts),
            } => {
                let prev = unhex(&prev)
                    .ok_or_else(|| Error::internal(format!("the snapshot of {code}: its chain")))?;
                self.pending.insert(
                    code.clone(),
                    Pending {
                        prev,
                        active,
                        parts,
                        got: 1,
                        events,
                        link: hash,
                        at: at.to_owned(),
                    },
                );
                self.finish_snapshot(&code)?;
            }
            V1::SnapshotPart { code, part, events } => {
                let p = self.pending.get_mut(&code).ok_or_else(|| {
                    Error::internal(format!("a part of a snapshot of {code} without its start"))
                })?;
                if part != p.got + 1 {
                    let want = p.got + 1;
                    self.pending.remove(&code);
                    return Err(Error::internal(format!(
                        "part {part} of the snapshot of {code} where part {want} was due: the snapshot is ignored"
                    )));
                }
                p.got = part;
                p.link = hash;
                p.events.extend(events);
                self.finish_snapshot(&code)?;
            }
            V1::Compacted { .. } => {}
            V1::Created { .. } | V1::Ended { .. } => {
                self.apply_event(record.into_event()?, hash)?
            }
            record => {
                let code = record.code().unwrap_or_default().to_owned();
                let r = self.sessions.get_mut(&code).ok_or_else(|| {
                    Error::not_found(format!("an event for unknown session {code}"))
                })?;
                let ev = record.into_event_with(&mut |_, who| r.position(who))?;
                r.chain = hash;
                r.active = r.active.max(self.segment_time);
                r.session.apply(&ev, &Limits::none())?;
            }
        }
        Ok(())
    }

    /// Puts a snapshot in parts in its session's place once all are read.
    fn finish_snapshot(&mut self, code: &str) -> Result<()> {
        if self.pending.get(code).is_some_and(|p| p.got == p.parts) {
            let p = self.pending.remove(code).expect("pending");
            let session = Self::rebuild(code, p.events)?;
            let active = p.active.unwrap_or(self.segment_time);
            self.sessions
                .insert(code.to_owned(), Restored::new(session, p.prev, active));
        }
        Ok(())
    }

    /// The session a snapshot's events build.
    fn rebuild(code: &str, events: Vec<V1>) -> Result<Session> {
        let mut inner = Replay::default();
        for ev in events {
            inner.apply_v1(ev, [0; 32], "")?;
        }
        inner
            .sessions
            .remove(code)
            .map(|r| r.session)
            .ok_or_else(|| Error::internal(format!("the snapshot of {code} holds no session")))
    }

    /// Applies one event: `Created` and `Ended` change the set of sessions,
    /// any other event its session.
    fn apply_event(&mut self, ev: Event, hash: Hash) -> Result<()> {
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
                    &Limits::none(),
                )?;
                self.sessions.insert(code, Restored::new(session, hash, at));
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
                r.session.apply(&ev, &Limits::none())?;
            }
        }
        Ok(())
    }

    /// After the last segment: a snapshot still missing parts.
    fn end(&mut self, torn_tail: bool) {
        for (code, p) in self.pending.drain() {
            let msg = format!(
                "{}: the snapshot of {code} is incomplete ({} of {} parts): it is ignored",
                p.at, p.got, p.parts
            );
            if torn_tail {
                // Its last parts were in the torn tail: never acknowledged.
                self.notes.push(msg);
            } else {
                self.problems.push(msg);
            }
        }
    }
}

/// Cluster mode: the session a snapshot record (as JSON) holds, and its
/// chain (`prev`). An event of it that does not apply is skipped, as the
/// log's refused events are.
pub fn session_from_snapshot(json: &str) -> Result<(Session, Hash)> {
    let bad = |why: String| Error::internal(format!("an unreadable snapshot: {why}"));
    let V1::Snapshot {
        code, prev, events, ..
    } = V1::parse(json.as_bytes()).map_err(|e| bad(e.to_string()))?
    else {
        return Err(bad("not a snapshot".into()));
    };
    let mut inner = Replay::default();
    for ev in events {
        let applied = ev
            .into_event()
            .and_then(|ev| inner.apply_event(ev, [0; 32]));
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

/// Reads the whole journal in `dir`. With `repair`, a torn tail of the last
/// segment is cut off (and logged) so that appends continue after the last
/// sound record, and a segment damaged otherwise is copied to `damaged/`
/// and cut to its sound records.
pub fn replay(dir: &Path, repair: bool, check: bool) -> io::Result<Replay> {
    let segs = segments(dir)?;
    let paths: Vec<PathBuf> = segs.iter().map(|(_, p)| p.clone()).collect();
    let mut out = replay_files(&paths, repair.then_some(dir), check)?;
    out.last_segment = segs.last().map_or(0, |(n, _)| *n);
    Ok(out)
}

/// Reads the given segments in order (a journal's, or one downloaded
/// session's file). `repair` is the data directory to repair in.
pub fn replay_files(paths: &[PathBuf], repair: Option<&Path>, check: bool) -> io::Result<Replay> {
    let mut out = Replay::default();
    let mut torn_tail = false;
    for (i, path) in paths.iter().enumerate() {
        let (records, damages) = read_segment(path)?;
        // Unknown: now, which never makes a session look older than it is.
        let written = fs::metadata(path)?
            .modified()
            .unwrap_or_else(|_| std::time::SystemTime::now());
        out.segment_time = written
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        out.segment_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Records and skipped damage, in the order of the file.
        let mut damage = damages.iter().peekable();
        for rec in &records {
            while let Some(d) = damage.next_if(|d| d.offset < rec.offset) {
                out.note_damage(d);
            }
            out.apply_record(rec, check);
        }
        for d in damage {
            out.note_damage(d);
        }
        let last = i + 1 == paths.len();
        torn_tail = last && damages.last().is_some_and(|d| d.torn);
        if !damages.is_empty() {
            out.damaged(path, &damages, last, repair)?;
        }
    }
    out.end(torn_tail);
    Ok(out)
}

impl Replay {
    /// A damaged record met while reading: a problem, naming its session
    /// when its text still tells. (A torn last record is a note: see
    /// `damaged`.)
    fn note_damage(&mut self, d: &Damage) {
        if d.torn {
            return;
        }
        let at = self.at(d.offset);
        let rest = if d.stopped {
            "; the rest of the segment is not read"
        } else {
            "; it is skipped"
        };
        self.problems.push(match &d.code {
            Some(code) => format!("session {code}: {} at {at}{rest}", d.what),
            None => format!("{} at {at}{rest}", d.what),
        });
    }

    /// What to do with a segment found damaged: a torn last record is cut
    /// off (with `repair`); any other damage keeps the segment whole in
    /// `damaged/` (with `repair`), and loud.
    fn damaged(
        &mut self,
        path: &Path,
        damages: &[Damage],
        last: bool,
        repair: Option<&Path>,
    ) -> io::Result<()> {
        for d in damages.iter().filter(|d| d.torn) {
            let size = fs::metadata(path)?.len();
            let msg = format!(
                "{}: {} at byte {}; the {} bytes from there are not read",
                path.display(),
                d.what,
                d.offset,
                size - d.offset
            );
            if !last {
                self.problems.push(msg);
                continue;
            }
            // A write a crash cut short: it was never acknowledged.
            if repair.is_some() && damages.iter().all(|d| d.torn) {
                tracing::warn!("journal: cutting off a torn last record: {msg}");
                OpenOptions::new()
                    .write(true)
                    .open(path)?
                    .set_len(d.offset)?;
            }
            self.notes.push(format!("a torn last record: {msg}"));
        }
        if damages.iter().all(|d| d.torn && last) {
            return Ok(());
        }
        if let Some(dir) = repair {
            let aside = dir.join("damaged");
            fs::create_dir_all(&aside)?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let mut to = aside.join(&*name);
            let mut n = 1;
            while to.exists() {
                to = aside.join(format!("{name}.{n}"));
                n += 1;
            }
            fs::copy(path, &to)?;
            fs::File::open(&to)?.sync_all()?;
            tracing::error!(
                "journal: DAMAGED SEGMENT {}: {} damaged record(s), the first at byte {}. It is kept whole in {}; \
                 the server goes on from its sound records, and the next compaction leaves it out of the journal",
                path.display(),
                damages.iter().filter(|d| !d.torn).count(),
                damages[0].offset,
                to.display()
            );
        }
        Ok(())
    }
}
