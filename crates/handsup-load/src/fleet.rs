//! The other generator processes of a run (`--processes N`): started as
//! `--worker I/N` with this process's own flags, moved through each phase
//! together (one line on their stdin, carrying the phase's start on the
//! shared clock), and their measurements read back and merged.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::args::{Args, Share};
use crate::phone::Ctx;
use crate::report::ProcessReport;
use crate::stats::Latencies;
use crate::worker::{Connected, Measured, Msg};

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    connected: Connected,
}

/// The running workers.
pub struct Fleet {
    workers: Vec<Worker>,
}

/// What the workers' votes add up to.
pub struct Votes {
    /// The counts of every phone's latest acked ballot, and their number.
    pub counts: Vec<u64>,
    pub voters: u64,
    /// The workers' own CPU seconds during the voting.
    pub cpu_s: Option<f64>,
    pub processes: Vec<ProcessReport>,
}

/// Starts `args.processes` workers for the session `code`.
pub fn spawn(
    args: &Args,
    code: &str,
    question_id: &str,
    segment_id: Option<&str>,
) -> Result<Fleet, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let own: Vec<_> = std::env::args_os().skip(1).collect();
    let n = args.processes;
    let mut workers = Vec::with_capacity(n);
    for i in 0..n {
        let mut child = Command::new(&exe)
            .args(&own)
            .args(["--worker", &format!("{i}/{n}"), "--quiet"])
            .args(["--code", code, "--question-id", question_id])
            .args(
                segment_id
                    .map(|s| ["--segment-id", s])
                    .into_iter()
                    .flatten(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start worker {i}: {e}"))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        workers.push(Worker {
            child,
            stdin,
            stdout,
            connected: Connected::default(),
        });
    }
    Ok(Fleet { workers })
}

impl Worker {
    async fn tell(&mut self, line: &str) -> Result<(), String> {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| format!("a worker stopped listening: {e}"))
    }

    async fn hear(&mut self) -> Result<Msg, String> {
        let line = self
            .stdout
            .next_line()
            .await
            .map_err(|e| format!("reading a worker: {e}"))?
            .ok_or("a worker ended before its report (see its errors above)")?;
        serde_json::from_str(&line).map_err(|e| format!("a worker's report is unreadable: {e}"))
    }
}

impl Fleet {
    /// Tells every worker `line`.
    async fn tell_all(&mut self, line: &str) -> Result<(), String> {
        for w in &mut self.workers {
            w.tell(line).await?;
        }
        Ok(())
    }

    /// Connects every worker's phones from `start_unix_us` (shared clock);
    /// their figures are added to `ctx`.
    pub async fn connect(&mut self, ctx: &Ctx, start_unix_us: u64) -> Result<(), String> {
        self.tell_all(&format!("connect {start_unix_us}")).await?;
        for w in &mut self.workers {
            match w.hear().await? {
                Msg::Connected(c) => {
                    c.absorb_into(ctx);
                    w.connected = c;
                }
                other => return Err(format!("a worker said {other:?} instead of connected")),
            }
        }
        Ok(())
    }

    /// Has every worker vote from `start_unix_us` and waits for all their
    /// answers; their figures are added to `ctx`.
    pub async fn vote(&mut self, ctx: &Ctx, start_unix_us: u64) -> Result<Votes, String> {
        self.tell_all(&format!("vote {start_unix_us}")).await?;
        let mut votes = Votes {
            counts: vec![0; ctx.options as usize],
            voters: 0,
            cpu_s: Some(0.0),
            processes: Vec::new(),
        };
        for (i, w) in self.workers.iter_mut().enumerate() {
            let m: Box<Measured> = match w.hear().await? {
                Msg::Voted(m) => m,
                other => return Err(format!("a worker said {other:?} instead of voted")),
            };
            m.absorb_into(ctx);
            for (c, n) in votes.counts.iter_mut().zip(&m.counts) {
                *c += n;
            }
            votes.voters += m.voters;
            votes.cpu_s = votes.cpu_s.zip(m.cpu_s).map(|(a, b)| a + b);
            let ack = Latencies::new();
            ack.absorb(&m.ack);
            votes.processes.push(ProcessReport {
                index: i,
                phones: w.connected.phones,
                welcomed: w.connected.welcomed,
                sent: m.sent,
                acked: m.acked,
                retried: m.retried,
                ack: ack.summary(),
                cpu_s: m.cpu_s,
                errors: m.errors.values().sum(),
            });
        }
        Ok(votes)
    }

    /// Tells the workers the run is over: from now on a closed socket is
    /// expected (`--keep-session`: they close their phones themselves).
    pub async fn close(&mut self) -> Result<(), String> {
        self.tell_all("close").await?;
        for w in &mut self.workers {
            match w.hear().await? {
                Msg::Closing => {}
                other => return Err(format!("a worker said {other:?} instead of closing")),
            }
        }
        Ok(())
    }

    /// Waits for the workers to end (at most 20 s, then they are killed);
    /// whether all ended well.
    pub async fn finish(self) -> bool {
        let mut ok = true;
        for mut w in self.workers {
            drop(w.stdin);
            match tokio::time::timeout(Duration::from_secs(20), w.child.wait()).await {
                Ok(Ok(status)) => ok &= status.success(),
                _ => {
                    let _ = w.child.kill().await;
                    ok = false;
                }
            }
        }
        ok
    }
}

/// The most phones one of `processes` processes holds: what the open-file
/// limit must allow.
pub fn largest_share(phones: usize, processes: usize) -> usize {
    (0..processes)
        .map(|index| {
            Share {
                index,
                of: processes,
            }
            .phones(phones)
            .len()
        })
        .max()
        .unwrap_or(phones)
}
