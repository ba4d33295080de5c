//! The writer: one thread appends the records of every session to the
//! current segment with group commit (every record queued while the
//! previous fsync ran is written, then synced once, then all their waiters
//! are answered; a vote is acked only after that), starts the next segment
//! when one grows past its limit, and deletes the segments a compaction
//! made obsolete.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use super::segments::{chain, encode, segment_path, segments, Hash};
use crate::error::{Error, ErrorCode, Result};
use crate::store::records::{self, Record};

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

    /// Queues a record of a session whose chain is `chain`, and moves the
    /// chain on. Call it under the session's lock, so the session's records
    /// keep their order.
    pub fn append(&self, rec: &Record, chain_hash: &mut Hash) -> Durable {
        let json = records::encode(rec);
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
