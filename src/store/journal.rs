//! The durable journal: every change of state, appended to a file in the
//! data directory, so that a restart (or a crash) comes back where it was.
//!
//! Layout: segments `journal-NNNNNNNN.log`, each a run of records
//! `len: u32 LE | crc32: u32 LE | hash: [u8; 32] | event JSON`. The CRC covers
//! hash and JSON and finds torn or corrupt records. The hash chains the
//! records of one session: `hash = SHA-256(previous hash of that session ||
//! JSON)`, so a session's last hash is a digest of its whole history, which
//! results and reports carry and `handsup verify` recomputes.
//!
//! Writes are group-committed: one thread takes every record queued while
//! the previous fsync ran, writes them, syncs once, then answers all their
//! waiters. A vote is acked only after that.
//!
//! Compaction: when a segment grows past its limit, the writer starts the
//! next segment and asks for a snapshot of every session; each snapshot is a
//! record that replaces its session on replay. Once every snapshot is durable
//! the older segments are deleted. Replay reads every segment in order, so a
//! compaction cut short by a crash loses nothing.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::qa::QaStatus;
use crate::domain::{Choice, Limits, QuestionState, RawChoice, Session, Settings};
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::{choice_json, parse_question_spec, question_spec_json, raw_choice};

/// One change of state. Each carries every input its domain operation needs
/// (ids, times, tokens), so replay reaches the same state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum Event {
    Created {
        id: Uuid,
        code: String,
        title: String,
        token: String,
        qa_moderation: bool,
        at: i64,
    },
    Title {
        code: String,
        title: String,
    },
    Settings {
        code: String,
        qa_moderation: bool,
    },
    Added {
        code: String,
        q: Uuid,
        spec: Value,
    },
    Updated {
        code: String,
        q: Uuid,
        spec: Value,
    },
    Moved {
        code: String,
        q: Uuid,
        index: usize,
    },
    Deleted {
        code: String,
        q: Uuid,
    },
    Opened {
        code: String,
        q: Uuid,
        at: i64,
        duration_ms: Option<i64>,
    },
    Closed {
        code: String,
        q: Uuid,
    },
    TimerClosed {
        code: String,
        q: Uuid,
        at: i64,
    },
    Visible {
        code: String,
        q: Uuid,
        visible: bool,
    },
    Reset {
        code: String,
        q: Uuid,
    },
    Present {
        code: String,
        q: Option<Uuid>,
    },
    PresentQa {
        code: String,
    },
    Joined {
        code: String,
        p: Uuid,
        token: String,
        #[serde(default)]
        at: i64,
    },
    Vote {
        code: String,
        p: u32,
        q: Uuid,
        c: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<(Uuid, i64)>,
    },
    Retract {
        code: String,
        p: u32,
        q: Uuid,
    },
    /// Hides an `open` answer. `p` and `text` (its author and normalised
    /// text) are set where the ballots are not in the session (cluster mode)
    /// and in snapshots: the same text from that author stays hidden.
    HideEntry {
        code: String,
        q: Uuid,
        entry: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    Ended {
        code: String,
    },
    Asked {
        code: String,
        item: Uuid,
        p: u32,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        at: i64,
        pending: bool,
    },
    Upvoted {
        code: String,
        item: Uuid,
        p: u32,
        up: bool,
    },
    QaSet {
        code: String,
        item: Uuid,
        status: String,
    },
    /// Hides every Q&A item by the author of `item`.
    QaHideAuthor {
        code: String,
        item: Uuid,
    },
    /// A whole session as the events that rebuild it; replaces the session.
    Snapshot {
        code: String,
        /// The session's chain hash before this record, hex.
        prev: String,
        events: Vec<Event>,
        /// When the session was last active (ms): its time-to-live counts
        /// from there after a restart.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        active: Option<i64>,
    },
    /// Every session of a compaction has its snapshot in `segment`.
    Compacted {
        segment: u64,
    },
}

impl Event {
    /// The session the event belongs to.
    pub fn code(&self) -> Option<&str> {
        use Event::*;
        match self {
            Created { code, .. }
            | Title { code, .. }
            | Settings { code, .. }
            | Added { code, .. }
            | Updated { code, .. }
            | Moved { code, .. }
            | Deleted { code, .. }
            | Opened { code, .. }
            | Closed { code, .. }
            | TimerClosed { code, .. }
            | Visible { code, .. }
            | Reset { code, .. }
            | Present { code, .. }
            | PresentQa { code }
            | Joined { code, .. }
            | Vote { code, .. }
            | Retract { code, .. }
            | HideEntry { code, .. }
            | Ended { code }
            | Asked { code, .. }
            | Upvoted { code, .. }
            | QaSet { code, .. }
            | QaHideAuthor { code, .. }
            | Snapshot { code, .. } => Some(code),
            Compacted { .. } => None,
        }
    }
}

/// The JSON a raw choice came in as.
pub fn raw_choice_json(c: &RawChoice) -> Value {
    match c {
        RawChoice::Int(i) => Value::from(*i),
        RawChoice::Ints(v) => Value::from(v.clone()),
        RawChoice::Text(t) => Value::from(t.clone()),
        RawChoice::Texts(v) => Value::from(v.clone()),
    }
}

/// Applies an event to its session, through the same domain operations the
/// live server used. `Created`, `Ended`, `Snapshot` and `Compacted` concern
/// the set of sessions and are handled by `Sessions::apply`.
pub fn apply(s: &mut Session, ev: &Event, limits: &Limits) -> Result<()> {
    use Event::*;
    match ev {
        Title { title, .. } => s.set_title(title.clone(), limits)?,
        Settings { qa_moderation, .. } => s.settings.qa_moderation = *qa_moderation,
        Added { q, spec, .. } => {
            s.add_question(*q, parse_question_spec(spec)?, limits)?;
        }
        Updated { q, spec, .. } => {
            s.update_question(*q, parse_question_spec(spec)?, limits)?;
        }
        Moved { q, index, .. } => s.move_question(*q, *index)?,
        Deleted { q, .. } => {
            s.delete_question(*q)?;
        }
        Opened {
            q, at, duration_ms, ..
        } => {
            s.open(*q, *at, *duration_ms)?;
        }
        Closed { q, .. } => {
            s.close(*q)?;
        }
        TimerClosed { q, at, .. } => {
            s.close_if_due(*q, *at);
        }
        Visible { q, visible, .. } => {
            s.set_results_visible(*q, *visible)?;
        }
        Reset { q, .. } => {
            s.reset(*q)?;
        }
        Present { q, .. } => s.present(*q)?,
        PresentQa { .. } => s.present_qa(),
        Joined { p, token, at, .. } => {
            s.join(*p, token.clone(), *at, limits)?;
        }
        Vote { p, q, c, entry, .. } => {
            s.vote(*p, *q, raw_choice(c)?, entry.unwrap_or((Uuid::nil(), 0)))?;
        }
        Retract { p, q, .. } => {
            s.retract(*p, *q)?;
        }
        HideEntry {
            q, entry, p, text, ..
        } => match (p, text) {
            (Some(p), Some(text)) => {
                s.hide_text(*q, *p, text)?;
                // The ballot may be elsewhere (in Redis, in cluster mode), or
                // gone (a snapshot names no entry).
                if !entry.is_nil() {
                    match s.hide_entry(*q, *entry) {
                        Err(e) if e.code == ErrorCode::NotFound => {}
                        other => {
                            other?;
                        }
                    }
                }
            }
            _ => {
                s.hide_entry(*q, *entry)?;
            }
        },
        Asked {
            item,
            p,
            text,
            name,
            at,
            pending,
            ..
        } => {
            // What was accepted is replayed whatever the limits are now.
            s.qa.ask(
                *item,
                *p,
                text,
                name.as_deref(),
                *at,
                *pending,
                usize::MAX,
                usize::MAX,
            )?;
        }
        Upvoted { item, p, up, .. } => {
            s.qa.upvote(*item, *p, *up)?;
        }
        QaSet { item, status, .. } => {
            let status = QaStatus::parse_any(status)
                .ok_or_else(|| Error::bad_request(format!("unknown Q&A status {status:?}")))?;
            s.qa.set_status(*item, status)?;
        }
        QaHideAuthor { item, .. } => {
            s.qa.hide_author(*item)?;
        }
        Created { .. } | Ended { .. } | Snapshot { .. } | Compacted { .. } => {
            return Err(Error::internal(
                "a session-set event applied to one session",
            ))
        }
    }
    Ok(())
}

/// The events that rebuild `s` as it is now.
pub fn snapshot_events(s: &Session) -> Vec<Event> {
    let code = || s.code.clone();
    let mut out = vec![Event::Created {
        id: s.id,
        code: code(),
        title: s.title.clone(),
        token: s.moderator_token.clone(),
        qa_moderation: s.settings.qa_moderation,
        at: s.created_at,
    }];
    for p in s.participants() {
        out.push(Event::Joined {
            code: code(),
            p: p.id,
            token: p.token.clone(),
            at: p.joined_at,
        });
    }
    for q in s.questions() {
        out.push(Event::Added {
            code: code(),
            q: q.id,
            spec: Value::Object(question_spec_json(&q.spec, true)),
        });
        if q.state == QuestionState::Draft {
            continue;
        }
        // Ballots are cast while open; the state is set after them.
        out.push(Event::Opened {
            code: code(),
            q: q.id,
            at: q.closes_at.unwrap_or(0),
            duration_ms: q.closes_at.map(|_| 0),
        });
        let mut ballots: Vec<(u32, &Choice)> = q.ballots().collect();
        ballots.sort_by_key(|(p, _)| *p);
        let mut hidden = Vec::new();
        for (p, c) in ballots {
            let entry = match c {
                Choice::Text(e) => {
                    if e.hidden {
                        hidden.push(e.id);
                    }
                    Some((e.id, e.at))
                }
                _ => None,
            };
            out.push(Event::Vote {
                code: code(),
                p,
                q: q.id,
                c: choice_json(c),
                entry,
            });
        }
        for entry in hidden {
            out.push(Event::HideEntry {
                code: code(),
                q: q.id,
                entry,
                p: None,
                text: None,
            });
        }
        // The texts hidden before, whether or not a ballot holds them now.
        let mut texts: Vec<&(u32, String)> = q.hidden_texts().collect();
        texts.sort();
        for (p, text) in texts {
            out.push(Event::HideEntry {
                code: code(),
                q: q.id,
                entry: Uuid::nil(),
                p: Some(*p),
                text: Some(text.clone()),
            });
        }
        if q.state == QuestionState::Closed {
            out.push(Event::Closed {
                code: code(),
                q: q.id,
            });
        }
        if q.results_visible {
            out.push(Event::Visible {
                code: code(),
                q: q.id,
                visible: true,
            });
        }
    }
    for item in s.qa.items() {
        out.push(Event::Asked {
            code: code(),
            item: item.id,
            p: item.author,
            text: item.text.clone(),
            name: item.name.clone(),
            at: item.at,
            pending: item.status == QaStatus::Pending,
        });
        let mut upvoters: Vec<u32> = item.upvoters.iter().copied().collect();
        upvoters.sort_unstable();
        // Upvotes go in while the item is approved (a pending item has none),
        // then the status is set.
        for p in upvoters {
            out.push(Event::Upvoted {
                code: code(),
                item: item.id,
                p,
                up: true,
            });
        }
        if !matches!(item.status, QaStatus::Approved | QaStatus::Pending) {
            out.push(Event::QaSet {
                code: code(),
                item: item.id,
                status: item.status.as_str().into(),
            });
        }
    }
    if s.qa_on_screen {
        out.push(Event::PresentQa { code: code() });
    } else if s.current.is_some() {
        out.push(Event::Present {
            code: code(),
            q: s.current,
        });
    }
    out
}

pub type Hash = [u8; 32];

pub fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The next link of a session's chain.
pub fn chain(prev: &Hash, json: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(json);
    h.finalize().into()
}

const HEADER: usize = 4 + 4 + 32;
/// A record larger than this is taken for corruption.
const MAX_RECORD: u32 = 64 * 1024 * 1024;

/// Frames one record.
pub fn encode(hash: &Hash, json: &[u8]) -> Vec<u8> {
    let len = (32 + json.len()) as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(hash);
    crc.update(json);
    let mut out = Vec::with_capacity(HEADER + json.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(hash);
    out.extend_from_slice(json);
    out
}

/// One record read back.
pub struct Record {
    pub offset: u64,
    pub hash: Hash,
    pub json: Vec<u8>,
}

/// Why reading a segment stopped before its end.
#[derive(Debug)]
pub struct Damage {
    pub offset: u64,
    pub what: String,
}

/// Reads every sound record of a segment; stops at the first damaged one.
pub fn read_segment(path: &Path) -> io::Result<(Vec<Record>, Option<Damage>)> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let damage = |what: &str| Damage {
            offset: at as u64,
            what: what.to_owned(),
        };
        if bytes.len() - at < HEADER {
            return Ok((out, Some(damage("a torn record header"))));
        }
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        if !(32..=MAX_RECORD).contains(&len) {
            return Ok((out, Some(damage("an impossible record length"))));
        }
        let end = at + 8 + len as usize;
        if end > bytes.len() {
            return Ok((out, Some(damage("a torn record"))));
        }
        let body = &bytes[at + 8..end];
        if crc32fast::hash(body) != crc {
            return Ok((out, Some(damage("a record whose checksum does not match"))));
        }
        out.push(Record {
            offset: at as u64,
            hash: body[..32].try_into().expect("32 bytes"),
            json: body[32..].to_vec(),
        });
        at = end;
    }
    Ok((out, None))
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("journal-{n:08}.log"))
}

/// The segments in `dir`, oldest first.
pub fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(n) = name
            .strip_prefix("journal-")
            .and_then(|r| r.strip_suffix(".log"))
            .and_then(|n| n.parse().ok())
        {
            out.push((n, path));
        }
    }
    out.sort();
    Ok(out)
}

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
    /// Applies one record. `check` recomputes its chain link.
    pub fn apply_record(&mut self, rec: &Record, limits: &Limits, check: bool) {
        self.records += 1;
        let ev: Event = match serde_json::from_slice(&rec.json) {
            Ok(ev) => ev,
            Err(e) => {
                self.problems
                    .push(format!("offset {}: unreadable event: {e}", rec.offset));
                return;
            }
        };
        if check {
            if let Some(code) = ev.code() {
                let prev = match (&ev, self.sessions.get(code)) {
                    (Event::Snapshot { prev, .. }, None) => unhex(prev).unwrap_or([0; 32]),
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
        if let Err(e) = self.apply_event(ev, rec.hash, limits) {
            self.problems
                .push(format!("offset {}: {}", rec.offset, e.message));
        }
    }

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
                    Settings { qa_moderation },
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
            Event::Snapshot {
                code,
                events,
                active,
                ..
            } => {
                let active = active.unwrap_or(self.segment_time);
                let mut inner = Replay::default();
                for ev in events {
                    inner.apply_event(ev, hash, limits)?;
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
            Event::Compacted { .. } => {}
            ev => {
                let code = ev.code().unwrap_or_default().to_owned();
                let r = self.sessions.get_mut(&code).ok_or_else(|| {
                    Error::not_found(format!("an event for unknown session {code}"))
                })?;
                r.chain = hash;
                r.active = r.active.max(self.segment_time);
                apply(&mut r.session, &ev, limits)?;
            }
        }
        Ok(())
    }
}

/// Cluster mode: the session an `Event::Snapshot` (as JSON) holds, and its
/// chain (`prev`). An event of it that does not apply (another node's
/// limits) is skipped, as the log's refused events are.
pub fn session_from_snapshot(json: &str, limits: &Limits) -> Result<(Session, Hash)> {
    let bad = |why: String| Error::internal(format!("an unreadable snapshot: {why}"));
    let Event::Snapshot {
        code, prev, events, ..
    } = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?
    else {
        return Err(bad("not a snapshot".into()));
    };
    let mut inner = Replay::default();
    for ev in events {
        if let Err(e) = inner.apply_event(ev, [0; 32], limits) {
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

// ---- the writer -------------------------------------------------------------

/// Tells a waiter that its record is on disk (or that the write failed).
pub type Ack = tokio::sync::oneshot::Sender<std::result::Result<(), String>>;

enum Cmd {
    Append(Vec<u8>, Option<Ack>),
    /// Delete segments older than this once everything before is durable.
    Compacted(u64),
    /// Write what came before, sync, and stop.
    Stop,
}

/// A record on its way to disk.
pub struct Durable(Option<tokio::sync::oneshot::Receiver<std::result::Result<(), String>>>);

impl Durable {
    pub fn done() -> Durable {
        Durable(None)
    }

    /// Resolves once the record is durable; an error if it cannot be.
    pub async fn wait(self) -> Result<()> {
        let Some(rx) = self.0 else { return Ok(()) };
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::new(
                ErrorCode::Unavailable,
                format!("the journal could not save this: {e}"),
            )),
            Err(_) => Err(Error::new(ErrorCode::Unavailable, "the journal is stopped")),
        }
    }
}

/// The handle the live sessions append through.
pub struct Journal {
    /// Sending takes no lock: many sessions append at once without contending.
    tx: mpsc::Sender<Cmd>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Journal {
    /// Starts writing to a new segment after `last`; `compact` receives the
    /// number of each new segment that wants the sessions' snapshots.
    pub fn start(
        dir: &Path,
        last: u64,
        segment_limit: u64,
        compact: tokio::sync::mpsc::UnboundedSender<u64>,
    ) -> io::Result<Journal> {
        fs::create_dir_all(dir)?;
        let (tx, rx) = mpsc::channel();
        let mut writer = Writer::open(dir.to_owned(), last + 1, segment_limit, compact)?;
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run(rx))?;
        Ok(Journal {
            tx,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    fn send(&self, cmd: Cmd) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// Queues an event of a session whose chain is `chain`, and moves the
    /// chain on. Call it under the session's lock, so the session's records
    /// keep their order.
    pub fn append(&self, ev: &Event, chain_hash: &mut Hash) -> Durable {
        let json = serde_json::to_vec(ev).expect("events serialise");
        *chain_hash = chain(chain_hash, &json);
        let (ack, rx) = tokio::sync::oneshot::channel();
        // If the writer is gone the ack is dropped, and the wait reports it.
        self.send(Cmd::Append(encode(chain_hash, &json), Some(ack)));
        Durable(Some(rx))
    }

    pub fn compacted(&self, segment: u64) {
        self.send(Cmd::Compacted(segment));
    }

    /// Writes and syncs what is queued, then stops the writer.
    pub fn close(&self) {
        self.send(Cmd::Stop);
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

struct Writer {
    dir: PathBuf,
    segment: u64,
    file: BufWriter<File>,
    size: u64,
    limit: u64,
    compact: tokio::sync::mpsc::UnboundedSender<u64>,
    /// A compaction was asked for and its `Compacted` has not come back.
    compacting: bool,
}

impl Writer {
    fn open(
        dir: PathBuf,
        segment: u64,
        limit: u64,
        compact: tokio::sync::mpsc::UnboundedSender<u64>,
    ) -> io::Result<Writer> {
        let file = Self::create(&dir, segment)?;
        Ok(Writer {
            dir,
            segment,
            file: BufWriter::with_capacity(256 * 1024, file),
            size: 0,
            limit,
            compact,
            compacting: false,
        })
    }

    fn create(dir: &Path, segment: u64) -> io::Result<File> {
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Tokens are in the journal: only the server's user reads it.
            opts.mode(0o600);
        }
        let mut f = opts.open(segment_path(dir, segment))?;
        f.seek(SeekFrom::End(0))?;
        // Make the new file's name durable too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(f)
    }

    fn run(&mut self, rx: mpsc::Receiver<Cmd>) {
        let mut acks: Vec<Ack> = Vec::new();
        let mut delete_before: Option<u64> = None;
        let mut stop = false;
        while !stop {
            let Ok(first) = rx.recv() else { break };
            let mut next = Some(first);
            let mut result: io::Result<()> = Ok(());
            // Take everything queued meanwhile: one sync for the lot.
            while let Some(cmd) = next.take().or_else(|| rx.try_recv().ok()) {
                match cmd {
                    Cmd::Append(bytes, ack) => {
                        if result.is_ok() {
                            result = self.file.write_all(&bytes);
                            self.size += bytes.len() as u64;
                        }
                        acks.extend(ack);
                    }
                    Cmd::Compacted(seg) => delete_before = Some(seg),
                    Cmd::Stop => stop = true,
                }
                if stop {
                    break;
                }
                if acks.len() >= 8192 {
                    break;
                }
            }
            if result.is_ok() {
                result = self
                    .file
                    .flush()
                    .and_then(|_| self.file.get_ref().sync_data());
            }
            let answer = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
            if let Err(e) = &result {
                tracing::error!(error = %e, "journal write failed");
            }
            for ack in acks.drain(..) {
                let _ = ack.send(answer.clone());
            }
            if let (Some(seg), Ok(())) = (delete_before.take(), &result) {
                self.delete_before(seg);
                self.compacting = false;
            }
            if self.size > self.limit && !self.compacting {
                self.rotate();
            }
        }
        let _ = self
            .file
            .flush()
            .and_then(|_| self.file.get_ref().sync_data());
    }

    fn rotate(&mut self) {
        match Self::create(&self.dir, self.segment + 1) {
            Ok(f) => {
                let _ = self
                    .file
                    .flush()
                    .and_then(|_| self.file.get_ref().sync_data());
                self.segment += 1;
                self.file = BufWriter::with_capacity(256 * 1024, f);
                self.size = 0;
                self.compacting = true;
                let _ = self.compact.send(self.segment);
            }
            Err(e) => tracing::error!(error = %e, "journal: cannot start a new segment"),
        }
    }

    fn delete_before(&self, seg: u64) {
        if let Ok(segs) = segments(&self.dir) {
            for (n, path) in segs {
                if n < seg {
                    match fs::remove_file(&path) {
                        Ok(()) => {
                            tracing::info!(segment = %path.display(), "journal: compacted segment removed")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "journal: cannot remove {}", path.display())
                        }
                    }
                }
            }
        }
    }
}

/// What `handsup verify` found.
pub struct Verification {
    pub report: String,
    pub sound: bool,
}

/// Reads the journal without changing it, recomputes every session's chain
/// and every tally from its ballots, and reports each session's digest.
pub fn verify(dir: &Path, limits: &Limits) -> io::Result<Verification> {
    use std::fmt::Write as _;
    let r = replay(dir, limits, false, true)?;
    let mut out = String::new();
    let mut sound = r.problems.is_empty() && r.broken_links.is_empty();
    let _ = writeln!(out, "{} records, {} sessions", r.records, r.sessions.len());
    for (code, restored) in &r.sessions {
        let s = &restored.session;
        let _ = writeln!(
            out,
            "\nsession {code}  {}\n  digest {}",
            s.title,
            hex(&restored.chain)
        );
        for q in s.questions() {
            let mut fresh = crate::domain::Tally::empty(&q.spec.kind);
            for (_, c) in q.ballots() {
                fresh.add(c);
            }
            let agrees = &fresh == q.tally();
            sound &= agrees;
            let body = serde_json::to_value(crate::protocol::TallyOut::new(q.id, 0, &fresh))
                .unwrap_or_default();
            let shown: serde_json::Map<String, Value> = body
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| !matches!(k.as_str(), "question_id" | "seq"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  [{}] {} ({}): {}{}",
                q.state.as_str(),
                q.spec.prompt,
                q.spec.kind.name().as_str(),
                Value::Object(shown),
                if agrees {
                    ""
                } else {
                    "  MISMATCH: the running tally differs from the ballots"
                }
            );
        }
    }
    for p in r.problems.iter().chain(&r.broken_links) {
        let _ = writeln!(out, "\nPROBLEM: {p}");
    }
    let _ = writeln!(
        out,
        "\n{}",
        if sound {
            "journal sound"
        } else {
            "journal DAMAGED"
        }
    );
    Ok(Verification { report: out, sound })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kind, OptionItem, QuestionSpec};

    fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("handsup-journal-{}", Uuid::new_v4()));
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn write(dir: &Path, n: u64, events: &[Event]) -> Vec<Hash> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(segment_path(dir, n))
            .unwrap();
        let mut chains: BTreeMap<String, Hash> = BTreeMap::new();
        let mut out = Vec::new();
        for ev in events {
            let json = serde_json::to_vec(ev).unwrap();
            let c = chains
                .entry(ev.code().unwrap_or("").to_owned())
                .or_insert([0; 32]);
            *c = chain(c, &json);
            out.push(*c);
            f.write_all(&encode(c, &json)).unwrap();
        }
        out
    }

    fn story() -> Vec<Event> {
        let code = || "123456".to_owned();
        let q = Uuid::from_u128(7);
        let spec = QuestionSpec {
            prompt: "Best approach?".into(),
            kind: Kind::Single {
                options: ["Peer", "Training"]
                    .iter()
                    .map(|l| OptionItem {
                        label: l.to_string(),
                        colour: None,
                    })
                    .collect(),
                correct: None,
            },
            translations: Default::default(),
        };
        vec![
            Event::Created {
                id: Uuid::from_u128(1),
                code: code(),
                title: "Panel".into(),
                token: "mod".into(),
                qa_moderation: false,
                at: 5,
            },
            Event::Added {
                code: code(),
                q,
                spec: Value::Object(question_spec_json(&spec, true)),
            },
            Event::Opened {
                code: code(),
                q,
                at: 10,
                duration_ms: None,
            },
            Event::Joined {
                code: code(),
                p: Uuid::from_u128(100),
                token: "p0".into(),
                at: 11,
            },
            Event::Joined {
                code: code(),
                p: Uuid::from_u128(101),
                token: "p1".into(),
                at: 12,
            },
            Event::Vote {
                code: code(),
                p: 0,
                q,
                c: Value::from(1),
                entry: None,
            },
            Event::Vote {
                code: code(),
                p: 1,
                q,
                c: Value::from(0),
                entry: None,
            },
            Event::Vote {
                code: code(),
                p: 1,
                q,
                c: Value::from(1),
                entry: None,
            },
            Event::Closed { code: code(), q },
        ]
    }

    fn counts(r: &Replay) -> Vec<u64> {
        let s = &r.sessions["123456"].session;
        match &s.questions()[0].tally().body {
            crate::domain::TallyBody::Counts(c) => c.clone(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn replay_rebuilds_the_state_and_its_chain() {
        let dir = tmp();
        let hashes = write(&dir, 1, &story());
        let r = replay(&dir, &Limits::default(), false, true).unwrap();
        assert_eq!(counts(&r), vec![0, 2]);
        assert!(
            r.problems.is_empty() && r.broken_links.is_empty(),
            "{:?}",
            r.problems
        );
        assert_eq!(r.sessions["123456"].chain, *hashes.last().unwrap());
        assert_eq!(
            r.sessions["123456"].session.participant_by_token("p1"),
            Some(1)
        );
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_the_rest_kept() {
        let dir = tmp();
        write(&dir, 1, &story());
        let path = segment_path(&dir, 1);
        let full = fs::metadata(&path).unwrap().len();
        // Tear the last record (the close) in half.
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(full - 10)
            .unwrap();
        let r = replay(&dir, &Limits::default(), true, true).unwrap();
        assert_eq!(counts(&r), vec![0, 2]);
        assert_eq!(
            r.sessions["123456"].session.questions()[0].state,
            QuestionState::Open
        );
        assert_eq!(r.problems.len(), 1);
        // The file now ends at the last sound record.
        let again = replay(&dir, &Limits::default(), true, true).unwrap();
        assert!(again.problems.is_empty());
    }

    #[test]
    fn a_flipped_byte_is_found() {
        let dir = tmp();
        write(&dir, 1, &story());
        let path = segment_path(&dir, 1);
        let mut bytes = fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        fs::write(&path, bytes).unwrap();
        let r = replay(&dir, &Limits::default(), false, true).unwrap();
        assert!(!r.problems.is_empty());
    }

    #[test]
    fn a_snapshot_replaces_the_session_and_rebuilds_it_exactly() {
        let dir = tmp();
        write(&dir, 1, &story());
        let r = replay(&dir, &Limits::default(), false, false).unwrap();
        let s = &r.sessions["123456"];
        let snap = Event::Snapshot {
            code: "123456".into(),
            prev: hex(&s.chain),
            events: snapshot_events(&s.session),
            active: Some(1_700_000_000_000),
        };
        let dir2 = tmp();
        write(&dir2, 1, &[snap]);
        let r2 = replay(&dir2, &Limits::default(), false, true).unwrap();
        assert!(r2.problems.is_empty(), "{:?}", r2.problems);
        assert_eq!(counts(&r2), vec![0, 2]);
        assert_eq!(r2.sessions["123456"].active, 1_700_000_000_000);
        let s2 = &r2.sessions["123456"].session;
        assert_eq!(s2.questions()[0].state, QuestionState::Closed);
        assert_eq!(s2.participants(), s.session.participants());
    }

    #[test]
    fn hidden_texts_and_hidden_authors_survive_a_snapshot() {
        let code = || "123456".to_owned();
        let q = Uuid::from_u128(8);
        let spec = QuestionSpec {
            prompt: "One word?".into(),
            kind: Kind::Open,
            translations: Default::default(),
        };
        let (e0, e1) = (Uuid::from_u128(50), Uuid::from_u128(51));
        let mut events = story();
        events.pop(); // the story's question stays open: it does not matter here
        events.extend([
            Event::Added {
                code: code(),
                q,
                spec: Value::Object(question_spec_json(&spec, true)),
            },
            Event::Opened {
                code: code(),
                q,
                at: 20,
                duration_ms: None,
            },
            Event::Vote {
                code: code(),
                p: 0,
                q,
                c: Value::from("Spam"),
                entry: Some((e0, 21)),
            },
            Event::HideEntry {
                code: code(),
                q,
                entry: e0,
                p: None,
                text: None,
            },
            // Replaced by another answer: the hidden text is still remembered.
            Event::Vote {
                code: code(),
                p: 0,
                q,
                c: Value::from("fine"),
                entry: Some((e1, 22)),
            },
            Event::Asked {
                code: code(),
                item: Uuid::from_u128(60),
                p: 1,
                text: "buy".into(),
                name: Some("x".into()),
                at: 23,
                pending: false,
            },
            Event::Asked {
                code: code(),
                item: Uuid::from_u128(61),
                p: 1,
                text: "buy more".into(),
                name: None,
                at: 24,
                pending: false,
            },
            Event::QaHideAuthor {
                code: code(),
                item: Uuid::from_u128(61),
            },
        ]);
        let dir = tmp();
        write(&dir, 1, &events);
        let r = replay(&dir, &Limits::default(), false, false).unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let snap = Event::Snapshot {
            code: code(),
            prev: hex(&r.sessions["123456"].chain),
            events: snapshot_events(&r.sessions["123456"].session),
            active: None,
        };
        let dir2 = tmp();
        write(&dir2, 1, &[snap]);
        let mut r2 = replay(&dir2, &Limits::default(), false, true).unwrap();
        assert!(r2.problems.is_empty(), "{:?}", r2.problems);
        let s2 = &mut r2.sessions.get_mut("123456").unwrap().session;
        assert!(s2.qa.items().iter().all(|i| i.status == QaStatus::Hidden));
        assert_eq!(s2.question(q).unwrap().tally().voters, 1);
        s2.vote(
            0,
            q,
            RawChoice::Text(" SPAM".into()),
            (Uuid::from_u128(52), 30),
        )
        .unwrap();
        assert_eq!(s2.question(q).unwrap().tally().voters, 0, "still hidden");
    }

    #[tokio::test]
    async fn appends_are_durable_when_acked_and_read_back() {
        let dir = tmp();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let j = Journal::start(&dir, 0, u64::MAX, tx).unwrap();
        let mut chain_hash = [0u8; 32];
        let mut waits = Vec::new();
        for ev in story() {
            waits.push(j.append(&ev, &mut chain_hash));
        }
        for w in waits {
            w.wait().await.unwrap();
        }
        let r = replay(&dir, &Limits::default(), false, true).unwrap();
        assert_eq!(counts(&r), vec![0, 2]);
        assert_eq!(r.sessions["123456"].chain, chain_hash);
        j.close();
    }
}
