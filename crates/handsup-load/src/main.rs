//! `handsup-load`: a load generator for a handsup server on this machine.
//!
//! It creates a session with one `single` question, opens, reveals and
//! presents it, watches it from a projector and a moderator socket, connects
//! many audience phones at a given rate (their sockets spread over source
//! addresses 127.0.0.2, 127.0.0.3, ... so the ephemeral ports of one address
//! are not the limit), then has them vote: at a steady rate, all at once, or
//! flat out. It reports connection and ack latencies, errors by code, the
//! rates reached, the projector's tally rate and settle time, the server's
//! memory per phone, and checks that the server's final tally is exactly the
//! ballots it acked.
//!
//! Load only ever goes to the loopback (127.0.0.0/8, ::1, localhost), in a
//! bounded number of sockets for a bounded time.

mod args;
mod phone;
mod progress;
mod report;
mod session;
mod staff;
mod stats;
mod sys;
mod target;
mod votes;

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::Semaphore;
use tokio::time::{sleep, sleep_until, Instant};

use args::{Args, Mode};
use phone::{Cmd, Ctx, NO_BALLOT};
use progress::{progress, tick};
use report::Report;
use target::Target;

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.burst {
        args.mode = Mode::Burst;
    }
    let targets = match args.url.iter().map(|u| Target::parse(u)).collect() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("handsup-load: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = args.check_bounds() {
        eprintln!("handsup-load: {e}");
        return ExitCode::from(2);
    }
    let nofile = sys::raise_nofile();
    let needed = args.phones as u64 + 64;
    if nofile < needed {
        eprintln!(
            "handsup-load: the open-file limit is {nofile}, {needed} are needed for {} phones; raise the hard limit (ulimit -Hn) or connect fewer",
            args.phones
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.unwrap_or_else(sys::cpus).max(1))
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("handsup-load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limit = Duration::from_secs(args.max_seconds);
    let outcome = runtime.block_on(async {
        tokio::time::timeout(limit, run(&args, targets, nofile))
            .await
            .unwrap_or_else(|_| Err(format!("the run took over {} s", args.max_seconds)))
    });
    // Sockets still open are simply dropped.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(report) => {
            print!("{}", report.human());
            if let Some(path) = &args.json {
                let text = serde_json::to_string_pretty(&report).expect("serialisable report");
                if let Err(e) = std::fs::write(path, text + "\n") {
                    eprintln!("handsup-load: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            if report.ok {
                ExitCode::SUCCESS
            } else {
                eprintln!("handsup-load: FAILED: {}", report.failures.join("; "));
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("handsup-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn source_addrs(target: &Target, n: u8) -> Vec<IpAddr> {
    match target.addr.ip() {
        IpAddr::V4(_) => (0..n.min(253))
            .map(|k| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + k)))
            .collect(),
        IpAddr::V6(_) => Vec::new(),
    }
}

async fn run(args: &Args, targets: Vec<Target>, nofile: u64) -> Result<Report, String> {
    let target = targets.first().ok_or("no --url")?.clone();
    let last = targets.last().ok_or("no --url")?.clone();
    let mut report = Report::new(
        &args.label,
        &args.url.join(","),
        args.phones,
        format!("{:?}", args.mode),
    );
    report.load_nofile = nofile;
    report.loadavg_at_start = sys::loadavg();
    let pid = args.server_pid;
    if let Some(p) = pid {
        report.server_nofile = sys::nofile_of(p);
    }

    // ---- the session, the projector and the moderator ----------------------
    let setup = session::set_up(&target, args.options).await?;
    report.code = setup.code.clone();
    let url = target.ws_url(&setup.code);
    let (projector, _projector_task) = staff::watch(
        &last,
        &last.ws_url(&setup.code),
        "projector",
        None,
        &setup.question_id,
    )
    .await?;
    let (moderator, _moderator_task) = staff::watch(
        &target,
        &url,
        "moderator",
        Some(&setup.token),
        &setup.question_id,
    )
    .await?;
    let sources = source_addrs(&target, args.source_addrs);
    report.source_addrs = sources.len();
    report.nodes = targets.len();
    let ctx = Arc::new(Ctx::new(
        targets,
        &setup.code,
        setup.question_id.clone(),
        args.options,
        sources,
        args.phones,
    ));
    sleep(Duration::from_millis(200)).await;
    let rss_before = pid.and_then(sys::rss_kib);
    let connect_cpu_0 = pid.and_then(|p| sys::cpu_seconds(Some(p)));

    // ---- phones connect ------------------------------------------------------
    let n = args.phones;
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
    let mut phone_tasks = Vec::with_capacity(n);
    let connect_start = Instant::now();
    for i in 0..n {
        if args.connect_rate > 0.0 {
            sleep_until(connect_start + Duration::from_secs_f64(i as f64 / args.connect_rate))
                .await;
        }
        let permit = gate.clone().acquire_owned().await.expect("open semaphore");
        let ctx = ctx.clone();
        let done = done_tx.clone();
        let seed = args.seed;
        phone_tasks.push(tokio::spawn(async move {
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
    let mut phones: Vec<Option<UnboundedSender<Cmd>>> = (0..n).map(|_| None).collect();
    while let Some((i, tx)) = done_rx.recv().await {
        phones[i] = tx;
    }
    stop_bar();
    let welcomed = ctx.welcomed.load(Ordering::Relaxed);
    let last_welcome = ctx.at_us(ctx.last_welcome_us.load(Ordering::Relaxed));
    report.set_connect(
        &ctx,
        (last_welcome.max(connect_start) - connect_start).as_secs_f64(),
        args.connect_rate,
    );
    if let (Some(a), Some(b)) = (connect_cpu_0, pid.and_then(|p| sys::cpu_seconds(Some(p)))) {
        report.connect.server_cpu_s = Some(b - a);
    }
    // The projector's audience count should reach every phone welcomed.
    let presence_deadline = Instant::now() + Duration::from_secs(3);
    projector
        .wait_for(presence_deadline, |w| {
            w.audience.load(Ordering::Relaxed) >= welcomed
        })
        .await;
    report.projector_presence = projector.audience.load(Ordering::Relaxed);
    if let (Some(p), Some(before)) = (pid, rss_before) {
        sleep(Duration::from_millis(args.rss_settle_ms)).await;
        report.set_rss(before, sys::rss_kib(p).unwrap_or(before), welcomed);
    }
    if args.hold > 0.0 {
        let pb = progress(args.quiet, (args.hold * 10.0) as u64, "hold");
        let start = Instant::now();
        let stop = tick(pb, Duration::from_millis(200), move |pb| {
            pb.set_position((start.elapsed().as_secs_f64() * 10.0) as u64);
            pb.set_message("phones idle".to_owned());
        });
        sleep(Duration::from_secs_f64(args.hold)).await;
        stop();
        report.held_s = args.hold;
        report.dropped_while_holding = ctx.dropped.load(Ordering::Relaxed);
        if let (Some(p), Some(r)) = (pid, report.server_rss.as_mut()) {
            r.after_hold_kib = sys::rss_kib(p);
        }
    }

    // ---- voting ----------------------------------------------------------------
    let live: Vec<usize> = (0..n).filter(|i| phones[*i].is_some()).collect();
    let cpu_server_0 = pid.and_then(|p| sys::cpu_seconds(Some(p)));
    let cpu_load_0 = sys::cpu_seconds(None);
    let machine_0 = sys::machine_cpu();
    let vote_start = Instant::now();
    let mode = if live.is_empty() {
        Mode::Connect
    } else {
        args.mode
    };
    if mode != Mode::Connect {
        let planned = match mode {
            Mode::Rate => (args.vote_rate * args.duration).round() as u64,
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
                    pb.set_position((vote_start.elapsed().as_secs_f64() * 10.0) as u64);
                } else {
                    pb.set_position(answered);
                }
                pb.set_message(format!("sent {sent}, answered {answered}, errors {errors}"));
            }
        });
        votes::hand_out(args, mode, &ctx, &phones, &live, vote_start).await;
        // Every vote sent is waited for, within the ack timeout.
        let sending_done = Instant::now();
        let deadline = sending_done + Duration::from_secs_f64(args.ack_timeout);
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
    let vote_end = Instant::now();
    let unanswered = ctx
        .sent
        .load(Ordering::Relaxed)
        .saturating_sub(ctx.answered.load(Ordering::Relaxed));
    if unanswered > 0 {
        *ctx.errors.lock().entry("no_ack".into()).or_insert(0) += unanswered;
    }
    report.set_votes(&ctx, mode != Mode::Connect, args, vote_start, vote_end);
    if let (Some(a), Some(b)) = (cpu_server_0, pid.and_then(|p| sys::cpu_seconds(Some(p)))) {
        report.server_cpu_s = Some(b - a);
    }
    if let (Some(a), Some(b)) = (cpu_load_0, sys::cpu_seconds(None)) {
        report.load_cpu_s = Some(b - a);
    }
    if let (Some(a), Some(b)) = (machine_0, sys::machine_cpu()) {
        report.machine_busy_s = Some(b.0 - a.0);
        report.machine_softirq_s = Some(b.1 - a.1);
        if let (Some(server), Some(load)) = (report.server_cpu_s, report.load_cpu_s) {
            // Softirq time is charged to whichever process it interrupted:
            // it is part of the processes' own times already.
            report.others_cpu_s = Some((b.0 - a.0) - server - load);
        }
    }
    report.audience_fanout = report::FanoutReport::of(&ctx.fanout.lock(), welcomed);

    // ---- what the phones' acks say the counts are, and what the server shows ----
    let mut expected = vec![0u64; args.options as usize];
    let mut voters = 0;
    for b in &ctx.ballots {
        let c = b.load(Ordering::Relaxed);
        if c != NO_BALLOT {
            expected[c as usize] += 1;
            voters += 1;
        }
    }
    let last_ack_us = ctx.last_ack_us.load(Ordering::Relaxed);
    let last_ack = (last_ack_us > 0).then(|| ctx.at_us(last_ack_us));
    let settle_from = last_ack.unwrap_or(vote_end);
    let settle_deadline =
        settle_from.max(Instant::now()) + Duration::from_secs_f64(args.settle_timeout);
    let want = expected.clone();
    let projector_exact = voters == 0
        || projector
            .wait_for(settle_deadline, |w| w.last_counts().as_ref() == Some(&want))
            .await;
    let want = expected.clone();
    let moderator_exact = voters == 0
        || moderator
            .wait_for(settle_deadline, |w| w.last_counts().as_ref() == Some(&want))
            .await;
    let (counts, server_voters) = session::server_counts(&target, &setup).await?;
    report.set_final(
        &expected,
        voters,
        &counts,
        server_voters,
        projector_exact,
        moderator_exact,
    );
    {
        let recs = projector.tallies.lock();
        report.set_projector(&recs, &expected, last_ack, vote_start, Instant::now());
        // Only first votes make the projector's total grow one by one.
        if expected.iter().sum::<u64>() == ctx.acked.load(Ordering::Relaxed) {
            let mut acks = ctx.ack_times_us.lock().clone();
            acks.sort_unstable();
            report.projector.visible = Some(staff::visible_latency(&ctx, &acks, &recs));
        }
        report.projector_seq_regressions = projector.seq_regressions.load(Ordering::Relaxed);
    }
    {
        let recs = moderator.tallies.lock();
        report.moderator_tallies = staff::tally_rate(&recs, vote_start, Instant::now()).0;
    }
    report.phone_tallies = ctx.phone_tallies.load(Ordering::Relaxed);
    report.dropped = ctx.dropped.load(Ordering::Relaxed);
    report.set_errors(&ctx.errors.lock(), &args.allow_errors);
    report.judge(welcomed as usize);

    // ---- teardown ----------------------------------------------------------------
    ctx.closing.store(true, Ordering::Relaxed);
    if args.keep_session {
        for p in phones.iter().flatten() {
            let _ = p.send(Cmd::Close);
        }
    } else {
        let _ = target
            .request(
                "DELETE",
                &format!("/api/sessions/{}", setup.code),
                Some(&setup.token),
                None,
            )
            .await;
    }
    drop(phones);
    let closing = async {
        for t in phone_tasks.iter_mut() {
            let _ = t.await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), closing)
        .await
        .is_err()
    {
        for t in &phone_tasks {
            t.abort();
        }
    }
    Ok(report)
}
