//! Handing votes to the phones: at a steady rate, all at once, or flat out.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{sleep_until, Instant};

use crate::args::{Args, Mode, Share};
use crate::phone::{choice_other_than, Cmd, Ctx, NO_BALLOT};

/// Tells a phone what to do; a vote counts as sent, and as answered at once
/// when the phone is gone.
pub fn send(ctx: &Ctx, phone: &Option<UnboundedSender<Cmd>>, cmd: Cmd) {
    if let Some(p) = phone {
        let vote = matches!(cmd, Cmd::Vote { .. });
        if vote {
            ctx.sent.fetch_add(1, Ordering::Relaxed);
        }
        if p.send(cmd).is_err() && vote {
            // The phone is gone: its vote is answered by nobody.
            ctx.answered.fetch_add(1, Ordering::Relaxed);
            ctx.error("no_ack");
        }
    }
}

/// Hands the votes of `mode` to the `live` phones, from `start`; returns
/// once the last vote is handed out (flat out: once voting time is over).
/// In rate mode this process sends its `share` of the run's votes, in turn
/// with the other processes.
pub async fn hand_out(
    args: &Args,
    mode: Mode,
    share: Share,
    ctx: &Ctx,
    phones: &[Option<UnboundedSender<Cmd>>],
    live: &[usize],
    start: Instant,
) {
    let mut rng = SmallRng::seed_from_u64(args.seed.wrapping_add(share.index as u64));
    match mode {
        Mode::Rate => rate_votes(args, share, ctx, phones, live, &mut rng, start).await,
        Mode::Burst => {
            for &i in live {
                let first = choice_other_than(&mut rng, NO_BALLOT, args.options);
                let then = rng
                    .gen_bool(args.revote)
                    .then(|| choice_other_than(&mut rng, first, args.options));
                send(
                    ctx,
                    &phones[i],
                    Cmd::Vote {
                        choice: first,
                        then,
                    },
                );
            }
        }
        Mode::FlatOut => {
            let gap = Duration::from_secs_f64(1.0 / args.phone_rate);
            let until = start + Duration::from_secs_f64(args.duration);
            let all = (live.len() * share.of) as f64;
            for (k, &i) in live.iter().enumerate() {
                // Phones start spread over one gap, not in lock step.
                let first = start + gap.mul_f64(share.event(k as u64) as f64 / all);
                send(ctx, &phones[i], Cmd::FlatOut { first, until, gap });
            }
            // A phone that decided to vote just before `until` has counted
            // its vote as sent a moment later.
            sleep_until(until + Duration::from_millis(20)).await;
        }
        Mode::Connect => {}
    }
}

/// `--vote-rate` votes a second for `--duration`: first ballots in a shuffled
/// order of the phones, a `--revote` share replacing ballots already cast,
/// and once every phone has voted, every vote a re-vote, round the phones.
async fn rate_votes(
    args: &Args,
    share: Share,
    ctx: &Ctx,
    phones: &[Option<UnboundedSender<Cmd>>],
    live: &[usize],
    rng: &mut SmallRng,
    start: Instant,
) {
    let mut order = live.to_vec();
    order.shuffle(rng);
    let mut last = vec![NO_BALLOT; phones.len()];
    let total = share.events((args.vote_rate * args.duration).round() as u64);
    let (mut next_new, mut round) = (0usize, 0usize);
    for k in 0..total {
        let due = start + Duration::from_secs_f64(share.event(k) as f64 / args.vote_rate);
        if due > Instant::now() {
            sleep_until(due).await;
        }
        let i = if next_new < order.len() && (next_new == 0 || !rng.gen_bool(args.revote)) {
            next_new += 1;
            order[next_new - 1]
        } else if next_new < order.len() {
            order[rng.gen_range(0..next_new)]
        } else {
            round += 1;
            order[(round - 1) % order.len()]
        };
        let choice = choice_other_than(rng, last[i], ctx.options);
        last[i] = choice;
        send(ctx, &phones[i], Cmd::Vote { choice, then: None });
    }
}
