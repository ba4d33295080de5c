//! This process's own phones: connected at its share of the pace, each an
//! async task, then handed their votes; the run waits for every answer.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, Instant};

use crate::args::{Args, Mode, Share};
use crate::phone::{self, Cmd, Ctx, NO_BALLOT};
use crate::progress::{progress, tick};
use crate::{report, votes};

/// The phones of this process: the command queue of each one welcomed
/// (`None` for those that failed to connect), and their tasks.
pub struct Phones {
    pub senders: Vec<Option<UnboundedSender<Cmd>>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Connects this process's phones (as many as `ctx` has ballots), its
/// `share` of `--connect-rate` from `start`; returns once each is welcomed
/// or has failed.
pub async fn connect(args: &Args, share: Share, ctx: &Arc<Ctx>, start: Instant) -> Phones {
    let n = ctx.ballots.len();
    let pb = progress(args.quiet, n as u64, "connect");
    let stop_bar = tick(pb, Duration::from_millis(200), {
        let ctx = ctx.clone();
        move |pb| {
            let ok = ctx.welcomed.load(Ordering::Relaxed);
            let failed = ctx.connect_failed.load(Ordering::Relaxed);
            pb.set_position(ok + failed);
            pb.set_message(format!("welcomed {ok}, failed {failed}"));
        }
    });
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let (done_tx, mut done_rx) = unbounded_channel::<(usize, Option<UnboundedSender<Cmd>>)>();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        if args.connect_rate > 0.0 {
            let at = share.event(i as u64) as f64 / args.connect_rate;
            sleep_until(start + Duration::from_secs_f64(at)).await;
        }
        let permit = gate.clone().acquire_owned().await.expect("open semaphore");
        let ctx = ctx.clone();
        let done = done_tx.clone();
        let seed = args.seed;
        tasks.push(tokio::spawn(async move {
            match phone::connect_phone(&ctx, i).await {
                Ok(ws) => {
                    drop(permit);
                    let (tx, rx) = unbounded_channel();
                    let _ = done.send((i, Some(tx)));
                    drop(done);
                    phone::run_phone(ctx, i, ws, rx, seed).await;
                }
                Err((step, e)) => {
                    drop(permit);
                    ctx.connect_failed.fetch_add(1, Ordering::Relaxed);
                    ctx.error(&format!("connect_{step}"));
                    report::note_connect_error(step, &e);
                    let _ = done.send((i, None));
                }
            }
        }));
    }
    drop(done_tx);
    let mut senders: Vec<Option<UnboundedSender<Cmd>>> = (0..n).map(|_| None).collect();
    while let Some((i, tx)) = done_rx.recv().await {
        senders[i] = tx;
    }
    stop_bar();
    Phones { senders, tasks }
}

/// The mode the phones vote in: none when no phone is connected anywhere.
pub fn mode_of(args: &Args, welcomed_anywhere: u64) -> Mode {
    if welcomed_anywhere == 0 {
        Mode::Connect
    } else {
        args.mode
    }
}

/// Hands out this process's votes of `mode` from `start`, then waits for
/// every answer within `--ack-timeout`; a vote still unanswered then counts
/// as a `no_ack` error.
pub async fn vote(
    args: &Args,
    mode: Mode,
    share: Share,
    ctx: &Arc<Ctx>,
    phones: &Phones,
    start: Instant,
) {
    let live: Vec<usize> = (0..phones.senders.len())
        .filter(|i| phones.senders[*i].is_some())
        .collect();
    if mode != Mode::Connect && !live.is_empty() {
        let planned = match mode {
            Mode::Rate => share.events((args.vote_rate * args.duration).round() as u64),
            Mode::Burst => live.len() as u64,
            _ => (args.duration * 10.0) as u64,
        };
        let pb = progress(args.quiet, planned, "vote");
        let stop_bar = tick(pb, Duration::from_millis(200), {
            let ctx = ctx.clone();
            move |pb| {
                let answered = ctx.answered.load(Ordering::Relaxed);
                let sent = ctx.sent.load(Ordering::Relaxed);
                let errors: u64 = ctx.errors.lock().values().sum();
                if mode == Mode::FlatOut {
                    pb.set_position((start.elapsed().as_secs_f64() * 10.0) as u64);
                } else {
                    pb.set_position(answered);
                }
                pb.set_message(format!("sent {sent}, answered {answered}, errors {errors}"));
            }
        });
        if start > Instant::now() {
            sleep_until(start).await;
        }
        votes::hand_out(args, mode, share, ctx, &phones.senders, &live, start).await;
        // Every vote sent is waited for, within the ack timeout.
        let deadline = Instant::now() + Duration::from_secs_f64(args.ack_timeout);
        loop {
            // A follow-up vote (burst re-votes) is counted as sent before the
            // answer that triggers it, so this never ends early.
            let sent = ctx.sent.load(Ordering::Relaxed);
            let answered = ctx.answered.load(Ordering::Relaxed);
            if answered >= sent || Instant::now() >= deadline {
                break;
            }
            sleep(Duration::from_millis(2)).await;
        }
        stop_bar();
    }
    let unanswered = ctx
        .sent
        .load(Ordering::Relaxed)
        .saturating_sub(ctx.answered.load(Ordering::Relaxed));
    if unanswered > 0 {
        *ctx.errors.lock().entry("no_ack".into()).or_insert(0) += unanswered;
    }
}

/// The counts of the latest acked ballot of each of this process's phones,
/// and how many phones have one.
pub fn expected(ctx: &Ctx) -> (Vec<u64>, u64) {
    let mut counts = vec![0u64; ctx.options as usize];
    let mut voters = 0;
    for b in &ctx.ballots {
        let c = b.load(Ordering::Relaxed);
        if c != NO_BALLOT {
            counts[c as usize] += 1;
            voters += 1;
        }
    }
    (counts, voters)
}

impl Phones {
    /// Tells every phone to close its socket.
    pub fn close_all(&self) {
        for p in self.senders.iter().flatten() {
            let _ = p.send(Cmd::Close);
        }
    }

    /// Waits (at most 10 s) for every phone's task to end once its socket
    /// is closed, by the phone or by the server.
    pub async fn finish(self) {
        let Phones { senders, mut tasks } = self;
        drop(senders);
        let closing = async {
            for t in tasks.iter_mut() {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), closing)
            .await
            .is_err()
        {
            for t in &tasks {
                t.abort();
            }
        }
    }
}
