//! The writer: one thread appends the records of every session to the
//! current segment with group commit (every record queued while the
//! previous fsync ran is written, then synced once, then all their waiters
//! are answered; a vote is acked only after that), asks for a compaction
//! when the segment has grown enough since the last one, and deletes the
//! segments a compaction made obsolete. After a failed write it writes
//! nothing more and every change is refused (see `Journal::failure`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use std::sync::Arc;

use parking_lot::{Mutex, RwLock, RwLockReadGuard};

use super::segments::{chain, encode, hex, segment_path, segments, Hash, MAX_RECORD};
use crate::domain::{Event, Session};
use crate::error::{Error, ErrorCode, Result};
use crate::store::records;

/// Tells a waiter that its record is on disk (or that the write failed).
pub type Ack = tokio::sync::oneshot::Sender<std::result::Result<(), String>>;

enum Cmd {
    /// Frames to write (none: only the ack, once what came before is durable).
    Append(Vec<u8>, Option<Ack>),
    /// Write what follows into this new segment.
    Rotate(u64),
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

    /// A record that will not be written: its wait gives `e`.
    pub fn failed(e: Error) -> Durable {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = tx.send(Err(e.message));
        Durable(Some(rx))
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

/// Where a session stands in the journal: the last link of its chain, and
/// the segment holding its latest snapshot (or its creation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Place {
    pub chain: Hash,
    pub base: u64,
    /// The session's end is written: nothing of it may follow.
    pub ended: bool,
}

/// A session's turn to write, from before its change is applied until its
/// record is queued: no rotation happens in between, so the record lands in
/// the segment its snapshot is in. None where nothing is written.
pub struct Turn<'a>(#[allow(dead_code)] Option<RwLockReadGuard<'a, u64>>);

impl Turn<'_> {
    /// A turn that writes nothing (in memory, in cluster mode).
    pub fn none() -> Turn<'static> {
        Turn(None)
    }
}

/// The handle the live sessions append through.
pub struct Journal {
    /// Sending takes no lock: many sessions append at once without contending.
    tx: mpsc::Sender<Cmd>,
    /// The segment records go to now. A session holds it for reading from
    /// the moment it checks that its snapshot is in that segment until its
    /// record is queued; a rotation holds it for writing while it queues
    /// `Rotate`. So a session's records in a segment always start with its
    /// snapshot or its creation, and every later record chains from there.
    head: RwLock<u64>,
    /// Why writing stopped, after a write that failed: from then on every
    /// change is refused, so that what is on disk stays a prefix of what
    /// was acknowledged, and the memory never runs ahead of it again.
    failed: Arc<Mutex<Option<String>>>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Journal {
    /// Starts writing to a new segment after `last`; `compact` is told each
    /// time the journal has grown enough since the last compaction to want
    /// another (see `rotate`). The caller compacts into that first segment
    /// (`last + 1`) at start.
    pub fn start(
        dir: &Path,
        last: u64,
        segment_limit: u64,
        compact: tokio::sync::mpsc::UnboundedSender<()>,
    ) -> io::Result<Journal> {
        fs::create_dir_all(dir)?;
        let (tx, rx) = mpsc::channel();
        let failed = Arc::new(Mutex::new(None));
        let mut writer = Writer::open(
            dir.to_owned(),
            last + 1,
            segment_limit,
            compact,
            failed.clone(),
        )?;
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run(rx))?;
        Ok(Journal {
            tx,
            head: RwLock::new(last + 1),
            failed,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// The segment records go to now.
    pub fn segment(&self) -> u64 {
        *self.head.read()
    }

    /// Why the journal stopped taking changes, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failed.lock().clone()
    }

    fn refuse(&self) -> Result<()> {
        match self.failure() {
            None => Ok(()),
            Some(why) => Err(Error::new(
                ErrorCode::Unavailable,
                format!("the journal stopped after a failed write ({why}); this server takes no more changes"),
            )),
        }
    }

    fn fail(&self, why: String) {
        tracing::error!("journal: {why}; no more changes are taken");
        self.failed.lock().get_or_insert(why);
    }

    fn send(&self, cmd: Cmd) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// Takes a session's turn to write (call it under the session's lock,
    /// before the change is applied). If the session has no snapshot in the
    /// segment records go to now, its snapshot is queued first: the session
    /// as it is before the change, covering its chain so far.
    pub fn turn(&self, at: &mut Place, session: &Session, active: i64) -> Result<Turn<'_>> {
        self.refuse()?;
        if at.ended {
            return Err(Error::not_found(format!(
                "session {} has ended",
                session.code
            )));
        }
        let head = self.snapshot_if_due(at, session, active);
        Ok(Turn(Some(head)))
    }

    /// Queues the session's snapshot if it has none in the current segment,
    /// and returns the head held for reading. The snapshot is made before
    /// the head is taken (the caller holds the session's lock, so it stays
    /// true): a rotation never waits for a big session's snapshot.
    fn snapshot_if_due(
        &self,
        at: &mut Place,
        session: &Session,
        active: i64,
    ) -> RwLockReadGuard<'_, u64> {
        let due = at.base < self.segment();
        let mut parts = due.then(|| self.snapshot_frames(at, session, active));
        let head = self.head.read();
        if at.base < *head {
            let bytes = parts
                .take()
                .unwrap_or_else(|| self.snapshot_frames(at, session, active));
            self.send(Cmd::Append(bytes, None));
            at.base = *head;
        }
        head
    }

    /// The turn of a session being created: its records from the first are
    /// in the segment records go to now; no snapshot is needed.
    pub fn turn_new(&self, at: &mut Place) -> Result<Turn<'_>> {
        self.refuse()?;
        let head = self.head.read();
        at.base = *head;
        Ok(Turn(Some(head)))
    }

    /// Compaction: queues the session's snapshot into the current segment
    /// unless it has one there already.
    pub fn snapshot(&self, at: &mut Place, session: &Session, active: i64) -> Result<()> {
        self.refuse()?;
        if !at.ended {
            drop(self.snapshot_if_due(at, session, active));
        }
        Ok(())
    }

    /// The frames of a session's snapshot: its parts, chained from the head
    /// they cover, so none can be lost or moved unseen; the session's chain
    /// stays where it was.
    fn snapshot_frames(&self, at: &Place, session: &Session, active: i64) -> Vec<u8> {
        let parts = records::encode_snapshot(
            &session.code,
            &hex(&at.chain),
            &session.snapshot_events(),
            active,
            &|p| session.participant(p).id,
        );
        let mut link = at.chain;
        let mut bytes = Vec::new();
        for json in &parts {
            link = chain(&link, json);
            bytes.extend_from_slice(&encode(&link, json));
        }
        bytes
    }

    /// Queues the record of a change of `session` (during its turn), and
    /// moves the session's chain on.
    pub fn append(&self, _turn: &Turn, at: &mut Place, session: &Session, ev: &Event) -> Durable {
        let json = records::encode_event(ev, &|p| session.participant(p).id);
        if json.len() + 32 > MAX_RECORD as usize {
            self.fail(format!(
                "a record of {} bytes is too large to write",
                json.len()
            ));
        }
        if let Err(e) = self.refuse() {
            return Durable::failed(e);
        }
        at.chain = chain(&at.chain, &json);
        at.ended |= matches!(ev, Event::Ended { .. });
        let (ack, rx) = tokio::sync::oneshot::channel();
        // If the writer is gone the ack is dropped, and the wait reports it.
        self.send(Cmd::Append(encode(&at.chain, &json), Some(ack)));
        Durable(Some(rx))
    }

    /// Resolves once everything queued so far is durable.
    pub fn sync(&self) -> Durable {
        if let Err(e) = self.refuse() {
            return Durable::failed(e);
        }
        let (ack, rx) = tokio::sync::oneshot::channel();
        self.send(Cmd::Append(Vec::new(), Some(ack)));
        Durable(Some(rx))
    }

    /// Starts the next segment; returns its number. Blocks while a session
    /// holds its turn (briefly: a turn lasts one change).
    pub fn rotate(&self) -> u64 {
        let mut head = self.head.write();
        *head += 1;
        self.send(Cmd::Rotate(*head));
        *head
    }

    /// Every session has its snapshot in `segment` or later, durably: the
    /// segments before it can go.
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
    /// Bytes in the current segment.
    size: u64,
    /// Bytes the current segment held when the last compaction ended: the
    /// live state. The next compaction is asked for once the segment has
    /// grown by the larger of this and the limit, so compactions cost at
    /// most as much as the writing they follow, and an idle server none.
    floor: u64,
    limit: u64,
    compact: tokio::sync::mpsc::UnboundedSender<()>,
    /// A compaction was asked for (or is running) and has not ended.
    compacting: bool,
    failed: Arc<Mutex<Option<String>>>,
}

impl Writer {
    fn open(
        dir: PathBuf,
        segment: u64,
        limit: u64,
        compact: tokio::sync::mpsc::UnboundedSender<()>,
        failed: Arc<Mutex<Option<String>>>,
    ) -> io::Result<Writer> {
        let file = Self::create(&dir, segment)?;
        Ok(Writer {
            dir,
            segment,
            file: BufWriter::with_capacity(256 * 1024, file),
            size: 0,
            floor: 0,
            limit,
            compact,
            // The caller compacts into the first segment at start.
            compacting: true,
            failed,
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
        File::open(dir)?.sync_all()?;
        Ok(f)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }

    fn run(&mut self, rx: mpsc::Receiver<Cmd>) {
        let mut acks: Vec<Ack> = Vec::new();
        let mut delete_before: Option<u64> = None;
        let mut stop = false;
        while !stop {
            let Ok(first) = rx.recv() else { break };
            let mut next = Some(first);
            let mut result: io::Result<()> = match self.failed.lock().as_ref() {
                Some(why) => Err(io::Error::other(why.clone())),
                None => Ok(()),
            };
            // Take everything queued meanwhile: one sync for the lot.
            while let Some(cmd) = next.take().or_else(|| rx.try_recv().ok()) {
                match cmd {
                    Cmd::Append(bytes, ack) => {
                        if result.is_ok() && !bytes.is_empty() {
                            result = self.file.write_all(&bytes);
                            self.size += bytes.len() as u64;
                        }
                        acks.extend(ack);
                    }
                    Cmd::Rotate(seg) => {
                        if result.is_ok() {
                            result = self.rotate(seg);
                        }
                    }
                    Cmd::Compacted(seg) => delete_before = Some(seg),
                    Cmd::Stop => stop = true,
                }
                if stop || acks.len() >= 8192 {
                    break;
                }
            }
            if result.is_ok() {
                result = self.sync();
            }
            let answer = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
            if let Err(e) = &result {
                let mut failed = self.failed.lock();
                if failed.is_none() {
                    tracing::error!(error = %e, "journal write failed; no more changes are taken");
                    *failed = Some(e.to_string());
                }
            }
            for ack in acks.drain(..) {
                let _ = ack.send(answer.clone());
            }
            if let (Some(seg), Ok(())) = (delete_before.take(), &result) {
                self.delete_before(seg);
                self.floor = self.size;
                self.compacting = false;
            }
            let grown = self.size.saturating_sub(self.floor);
            if result.is_ok() && !self.compacting && grown > self.limit.max(self.floor) {
                self.compacting = true;
                let _ = self.compact.send(());
            }
        }
        let _ = self.sync();
    }

    /// Syncs the current segment and goes on in segment `seg`.
    fn rotate(&mut self, seg: u64) -> io::Result<()> {
        self.sync()?;
        let f = Self::create(&self.dir, seg)?;
        self.segment = seg;
        self.file = BufWriter::with_capacity(256 * 1024, f);
        self.size = 0;
        self.floor = 0;
        Ok(())
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
