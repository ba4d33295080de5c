//! One generator process of several (`--processes N` starts them as
//! `--worker I/N`): it holds its share of the phones, and is moved through
//! the phases by lines on stdin (`connect T`, `vote T`, `close`, where T is
//! the start on the shared clock, µs since the Unix epoch). After each phase
//! it writes one JSON line on stdout: what it measured, raw enough to be
//! merged with the other processes' (histogram buckets, ballots' counts, ack
//! times), all times on the shared clock.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};

use crate::args::{Args, Share};
use crate::phone::Ctx;
use crate::target::Target;
use crate::{local, sys};

/// What a worker writes on stdout, one JSON line each.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Msg {
    Connected(Connected),
    Voted(Box<Measured>),
    Closing,
}

/// A worker's phones once connected.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Connected {
    pub phones: u64,
    pub welcomed: u64,
    pub failed: u64,
    /// Phones welcomed by each node, in `--url` order.
    pub by_node: Vec<u64>,
    pub last_welcome_unix_us: Option<u64>,
    /// Histogram buckets (µs, count): connect + upgrade, hello → welcome.
    pub setup: Vec<(u64, u64)>,
    pub hello_welcome: Vec<(u64, u64)>,
}

/// A worker's votes, once every one is answered (or timed out).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Measured {
    pub sent: u64,
    pub acked: u64,
    pub retried: u64,
    pub answered: u64,
    pub first_send_unix_us: Option<u64>,
    pub last_ack_unix_us: Option<u64>,
    /// vote → ack histogram buckets (µs, count).
    pub ack: Vec<(u64, u64)>,
    pub errors: BTreeMap<String, u64>,
    /// The counts of its phones' latest acked ballots, and their number.
    pub counts: Vec<u64>,
    pub voters: u64,
    pub ack_times_unix_us: Vec<u64>,
    pub phone_tallies: u64,
    /// Audience tallies read: (seq, first read, last read, phones).
    pub fanout: Vec<(u64, u64, u64, u32)>,
    pub dropped: u64,
    /// Its own CPU seconds from the go to this report.
    pub cpu_s: Option<f64>,
}

impl Connected {
    pub fn of(ctx: &Ctx) -> Connected {
        let last = ctx.last_welcome_us.load(Ordering::Relaxed);
        Connected {
            phones: ctx.ballots.len() as u64,
            welcomed: ctx.welcomed.load(Ordering::Relaxed),
            failed: ctx.connect_failed.load(Ordering::Relaxed),
            by_node: ctx
                .welcomed_by_node
                .iter()
                .map(|n| n.load(Ordering::Relaxed))
                .collect(),
            last_welcome_unix_us: (last > 0).then(|| ctx.to_unix_us(last)),
            setup: ctx.connect_lat.export(),
            hello_welcome: ctx.welcome_lat.export(),
        }
    }

    /// Adds these figures to the merging process's `ctx`.
    pub fn absorb_into(&self, ctx: &Ctx) {
        ctx.welcomed.fetch_add(self.welcomed, Ordering::Relaxed);
        ctx.connect_failed.fetch_add(self.failed, Ordering::Relaxed);
        for (n, c) in ctx.welcomed_by_node.iter().zip(&self.by_node) {
            n.fetch_add(*c, Ordering::Relaxed);
        }
        if let Some(t) = self.last_welcome_unix_us {
            ctx.last_welcome_us
                .fetch_max(ctx.us_of_unix(t), Ordering::Relaxed);
        }
        ctx.connect_lat.absorb(&self.setup);
        ctx.welcome_lat.absorb(&self.hello_welcome);
    }
}

impl Measured {
    pub fn of(ctx: &Ctx, cpu_s: Option<f64>) -> Measured {
        let first = ctx.first_send_us.load(Ordering::Relaxed);
        let last = ctx.last_ack_us.load(Ordering::Relaxed);
        let (counts, voters) = local::expected(ctx);
        Measured {
            sent: ctx.sent.load(Ordering::Relaxed),
            acked: ctx.acked.load(Ordering::Relaxed),
            retried: ctx.retried.load(Ordering::Relaxed),
            answered: ctx.answered.load(Ordering::Relaxed),
            first_send_unix_us: (first != u64::MAX).then(|| ctx.to_unix_us(first)),
            last_ack_unix_us: (last > 0).then(|| ctx.to_unix_us(last)),
            ack: ctx.ack_lat.export(),
            errors: ctx.errors.lock().clone(),
            counts,
            voters,
            ack_times_unix_us: ctx
                .ack_times_us
                .lock()
                .iter()
                .map(|t| ctx.to_unix_us(*t))
                .collect(),
            phone_tallies: ctx.phone_tallies.load(Ordering::Relaxed),
            fanout: ctx
                .fanout
                .lock()
                .iter()
                .map(|(seq, (a, b, n))| (*seq, ctx.to_unix_us(*a), ctx.to_unix_us(*b), *n))
                .collect(),
            dropped: ctx.dropped.load(Ordering::Relaxed),
            cpu_s,
        }
    }

    /// Adds these figures to the merging process's `ctx` (all but the
    /// ballots, which stay with the process that holds the phones: see
    /// `counts`).
    pub fn absorb_into(&self, ctx: &Ctx) {
        ctx.sent.fetch_add(self.sent, Ordering::Relaxed);
        ctx.acked.fetch_add(self.acked, Ordering::Relaxed);
        ctx.retried.fetch_add(self.retried, Ordering::Relaxed);
        ctx.answered.fetch_add(self.answered, Ordering::Relaxed);
        if let Some(t) = self.first_send_unix_us {
            ctx.first_send_us
                .fetch_min(ctx.us_of_unix(t), Ordering::Relaxed);
        }
        if let Some(t) = self.last_ack_unix_us {
            ctx.last_ack_us
                .fetch_max(ctx.us_of_unix(t), Ordering::Relaxed);
        }
        ctx.ack_lat.absorb(&self.ack);
        {
            let mut errors = ctx.errors.lock();
            for (code, n) in &self.errors {
                *errors.entry(code.clone()).or_insert(0) += n;
            }
        }
        ctx.ack_times_us
            .lock()
            .extend(self.ack_times_unix_us.iter().map(|t| ctx.us_of_unix(*t)));
        ctx.phone_tallies
            .fetch_add(self.phone_tallies, Ordering::Relaxed);
        {
            let mut fanout = ctx.fanout.lock();
            for &(seq, a, b, n) in &self.fanout {
                let (a, b) = (ctx.us_of_unix(a), ctx.us_of_unix(b));
                let e = fanout.entry(seq).or_insert((a, b, 0));
                e.0 = e.0.min(a);
                e.1 = e.1.max(b);
                e.2 += n;
            }
        }
        ctx.dropped.fetch_add(self.dropped, Ordering::Relaxed);
    }
}

/// Writes one message on stdout, as one line.
fn say(msg: &Msg) -> Result<(), String> {
    use std::io::Write as _;
    let line = serde_json::to_string(msg).expect("serialisable message");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(|e| format!("cannot write to the parent: {e}"))
}

/// Reads the next phase from stdin: its word and its argument.
async fn next_phase(
    stdin: &mut Lines<BufReader<Stdin>>,
    want: &str,
) -> Result<Option<u64>, String> {
    let line = stdin
        .next_line()
        .await
        .map_err(|e| format!("stdin: {e}"))?
        .ok_or("the parent is gone")?;
    let mut words = line.split_whitespace();
    if words.next() != Some(want) {
        return Err(format!("expected {want:?} from the parent, read {line:?}"));
    }
    Ok(words.next().and_then(|t| t.parse().ok()))
}

/// The whole life of a worker.
pub async fn run(
    args: &Args,
    share: Share,
    targets: Vec<Target>,
    sources: Vec<std::net::IpAddr>,
) -> Result<(), String> {
    let code = args.code.as_deref().ok_or("a worker needs --code")?;
    let question_id = args
        .question_id
        .clone()
        .ok_or("a worker needs --question-id")?;
    let mut ctx = Ctx::new(
        targets,
        code,
        question_id,
        args.options,
        sources,
        share.phones(args.phones),
    );
    ctx.segment_id = args.segment_id.clone();
    let ctx = Arc::new(ctx);
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();

    let at = next_phase(&mut stdin, "connect").await?;
    let start = at.map_or_else(tokio::time::Instant::now, |t| ctx.instant_of_unix_us(t));
    tokio::time::sleep_until(start).await;
    let phones = local::connect(args, share, &ctx, start).await;
    say(&Msg::Connected(Connected::of(&ctx)))?;

    let at = next_phase(&mut stdin, "vote").await?;
    let start = at.map_or_else(tokio::time::Instant::now, |t| ctx.instant_of_unix_us(t));
    let cpu_0 = sys::cpu_seconds(None);
    local::vote(args, args.mode, share, &ctx, &phones, start).await;
    let cpu = cpu_0.zip(sys::cpu_seconds(None)).map(|(a, b)| b - a);
    say(&Msg::Voted(Box::new(Measured::of(&ctx, cpu))))?;

    next_phase(&mut stdin, "close").await?;
    ctx.closing.store(true, Ordering::Relaxed);
    if args.keep_session {
        phones.close_all();
    }
    say(&Msg::Closing)?;
    phones.finish().await;
    Ok(())
}
