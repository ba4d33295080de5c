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
//! With several `--url`s the phones are spread over the nodes and a projector
//! watches through each. With `--processes N` the phones are held by N copies
//! of this program (`worker`), moved through each phase together by this one
//! (`fleet`), which merges their measurements into one report.
//!
//! Load only ever goes to the loopback (127.0.0.0/8, ::1, localhost), in a
//! bounded number of sockets for a bounded time.

mod args;
mod fleet;
mod local;
mod phone;
mod progress;
mod report;
mod session;
mod staff;
mod stats;
mod sys;
mod target;
mod votes;
mod worker;

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::time::{sleep, Instant};

use args::{Args, Mode, Share};
use phone::Ctx;
use progress::{progress, tick};
use report::{NodeReport, Report};
use target::Target;

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.burst {
        args.mode = Mode::Burst;
    }
    let targets: Vec<Target> = match args.url.iter().map(|u| Target::parse(u)).collect() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("handsup-load: {e}");
            return ExitCode::from(2);
        }
    };
    let share = match args.check_bounds().and_then(|_| args.share()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("handsup-load: {e}");
            return ExitCode::from(2);
        }
    };
    let nofile = sys::raise_nofile();
    let held = if args.worker.is_some() {
        share.phones(args.phones).len()
    } else if args.processes > 1 {
        0
    } else {
        args.phones
    };
    let needed = held as u64 + 64;
    let largest = fleet::largest_share(args.phones, args.processes);
    if nofile < needed || nofile < largest as u64 + 64 {
        eprintln!(
            "handsup-load: the open-file limit is {nofile}, {} are needed for {} phones in one process; raise the hard limit (ulimit -Hn), connect fewer or use more --processes",
            needed.max(largest as u64 + 64),
            held.max(largest)
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
    if args.worker.is_some() {
        let sources = source_addrs(&targets[0], args.source_addrs);
        let outcome = runtime.block_on(async {
            tokio::time::timeout(limit, worker::run(&args, share, targets, sources))
                .await
                .unwrap_or_else(|_| Err(format!("the run took over {} s", args.max_seconds)))
        });
        runtime.shutdown_timeout(Duration::from_secs(1));
        return match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("handsup-load worker {}: {e}", share.index);
                ExitCode::FAILURE
            }
        };
    }
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

/// The CPU seconds of each process so far.
fn cpu_of(pids: &[u32]) -> Vec<Option<f64>> {
    pids.iter().map(|p| sys::cpu_seconds(Some(*p))).collect()
}

/// What each process used between two readings.
fn cpu_between(a: &[Option<f64>], b: &[Option<f64>]) -> Vec<Option<f64>> {
    a.iter()
        .zip(b)
        .map(|(a, b)| a.zip(*b).map(|(a, b)| b - a))
        .collect()
}

/// The sum, when there is at least one figure and none is missing.
fn total(v: &[Option<f64>]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.iter().copied().sum()
}

/// An instant of this process on the clock the processes share.
fn unix_of(ctx: &Ctx, at: Instant) -> u64 {
    ctx.to_unix_us(ctx.since_epoch_us(at))
}

async fn run(args: &Args, targets: Vec<Target>, nofile: u64) -> Result<Report, String> {
    let target = targets.first().ok_or("no --url")?.clone();
    let mut report = Report::new(
        &args.label,
        &args.url.join(","),
        args.phones,
        format!("{:?}", args.mode),
    );
    report.load_nofile = nofile;
    report.loadavg_at_start = sys::loadavg();
    let pids = &args.server_pid;
    report.server_nofile = pids.first().and_then(|p| sys::nofile_of(*p));

    // ---- the session, a projector on every node, the moderator ----------------
    let setup = session::set_up(&target, args.options, args.segment).await?;
    report.code = setup.code.clone();
    let mut projectors = Vec::with_capacity(targets.len());
    for t in &targets {
        let (w, _task) = staff::watch(
            t,
            &t.ws_url(&setup.code),
            "projector",
            None,
            &setup.question_id,
        )
        .await?;
        projectors.push(w);
    }
    // The report's projector is the last node's: across the nodes from the
    // moderator's.
    let projector = projectors.last().expect("one --url at least").clone();
    let (moderator, _moderator_task) = staff::watch(
        &target,
        &target.ws_url(&setup.code),
        "moderator",
        Some(&setup.token),
        &setup.question_id,
    )
    .await?;
    let sources = source_addrs(&target, args.source_addrs);
    report.source_addrs = sources.len();
    report.nodes = targets.len();
    let several = args.processes > 1;
    let mut ctx = Ctx::new(
        targets.clone(),
        &setup.code,
        setup.question_id.clone(),
        args.options,
        sources,
        if several { 0..0 } else { 0..args.phones },
    );
    ctx.segment_id = setup.segment_id.clone();
    let ctx = Arc::new(ctx);
    let mut fleet = match several {
        true => Some(fleet::spawn(
            args,
            &setup.code,
            &setup.question_id,
            setup.segment_id.as_deref(),
        )?),
        false => None,
    };
    sleep(Duration::from_millis(200)).await;
    let rss_before: Vec<Option<u64>> = pids.iter().map(|p| sys::rss_kib(*p)).collect();
    let connect_cpu_0 = cpu_of(pids);
    // Processes start each phase together, a moment after they are told.
    let lead = Duration::from_millis(if several { 100 } else { 0 });

    // ---- phones connect ------------------------------------------------------
    let connect_start = Instant::now() + lead;
    let phones = match fleet.as_mut() {
        Some(f) => {
            f.connect(&ctx, unix_of(&ctx, connect_start)).await?;
            None
        }
        None => Some(local::connect(args, Share::WHOLE, &ctx, connect_start).await),
    };
    let welcomed = ctx.welcomed.load(Ordering::Relaxed);
    let last_welcome = ctx.at_us(ctx.last_welcome_us.load(Ordering::Relaxed));
    report.set_connect(
        &ctx,
        (last_welcome.max(connect_start) - connect_start).as_secs_f64(),
        args.connect_rate,
    );
    let connect_cpu = cpu_between(&connect_cpu_0, &cpu_of(pids));
    report.connect.server_cpu_s = total(&connect_cpu);
    let mut nodes: Vec<NodeReport> = targets
        .iter()
        .enumerate()
        .map(|(k, t)| NodeReport {
            url: t.host.clone(),
            pid: pids.get(k).copied(),
            phones: ctx.welcomed_by_node[k].load(Ordering::Relaxed),
            connect_cpu_s: connect_cpu.get(k).copied().flatten(),
            ..NodeReport::default()
        })
        .collect();
    // The projector's audience count should reach every phone welcomed.
    let presence_deadline = Instant::now() + Duration::from_secs(3);
    projector
        .wait_for(presence_deadline, |w| {
            w.audience.load(Ordering::Relaxed) >= welcomed
        })
        .await;
    report.projector_presence = projector.audience.load(Ordering::Relaxed);
    if rss_before.iter().any(Option::is_some) {
        sleep(Duration::from_millis(args.rss_settle_ms)).await;
        let mut sums = (0, 0);
        for (k, p) in pids.iter().enumerate() {
            let (Some(before), Some(node)) = (rss_before[k], nodes.get_mut(k)) else {
                continue;
            };
            let after = sys::rss_kib(*p).unwrap_or(before);
            node.rss_before_kib = Some(before);
            node.rss_after_kib = Some(after);
            node.per_phone_kib =
                Some(after.saturating_sub(before) as f64 / node.phones.max(1) as f64);
            sums = (sums.0 + before, sums.1 + after);
        }
        report.set_rss(sums.0, sums.1, welcomed);
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
        if let Some(r) = report.server_rss.as_mut() {
            r.after_hold_kib = pids.iter().map(|p| sys::rss_kib(*p)).sum();
        }
    }

    // ---- voting ----------------------------------------------------------------
    let mode = local::mode_of(args, welcomed);
    let cpu_server_0 = cpu_of(pids);
    let cpu_redis_0 = args.redis_pid.and_then(|p| sys::cpu_seconds(Some(p)));
    let cpu_load_0 = sys::cpu_seconds(None);
    let machine_0 = sys::machine_cpu();
    let vote_start = Instant::now() + lead;
    let mut workers_cpu = Some(0.0);
    let (expected, voters) = match (fleet.as_mut(), &phones) {
        (Some(f), _) => {
            let v = f.vote(&ctx, unix_of(&ctx, vote_start)).await?;
            report.per_process = v.processes;
            workers_cpu = v.cpu_s;
            (v.counts, v.voters)
        }
        (None, Some(p)) => {
            local::vote(args, mode, Share::WHOLE, &ctx, p, vote_start).await;
            local::expected(&ctx)
        }
        (None, None) => unreachable!("phones are held here or by workers"),
    };
    let vote_end = Instant::now();
    report.set_votes(&ctx, mode != Mode::Connect, args, vote_start, vote_end);
    let server_cpu = cpu_between(&cpu_server_0, &cpu_of(pids));
    report.server_cpu_s = total(&server_cpu);
    for (node, cpu) in nodes.iter_mut().zip(&server_cpu) {
        node.cpu_s = *cpu;
    }
    report.redis_cpu_s = cpu_redis_0
        .zip(args.redis_pid.and_then(|p| sys::cpu_seconds(Some(p))))
        .map(|(a, b)| b - a);
    if let (Some(a), Some(b)) = (cpu_load_0, sys::cpu_seconds(None)) {
        report.load_cpu_s = workers_cpu.map(|w| w + b - a);
    }
    if let (Some(a), Some(b)) = (machine_0, sys::machine_cpu()) {
        report.machine_busy_s = Some(b.0 - a.0);
        report.machine_softirq_s = Some(b.1 - a.1);
        if let (Some(server), Some(load)) = (report.server_cpu_s, report.load_cpu_s) {
            // Softirq time is charged to whichever process it interrupted:
            // it is part of the processes' own times already.
            let redis = report.redis_cpu_s.unwrap_or(0.0);
            report.others_cpu_s = Some((b.0 - a.0) - server - load - redis);
        }
    }
    report.audience_fanout = report::FanoutReport::of(&ctx.fanout.lock(), welcomed);

    // ---- what the phones' acks say the counts are, and what the server shows ----
    let last_ack_us = ctx.last_ack_us.load(Ordering::Relaxed);
    let last_ack = (last_ack_us > 0).then(|| ctx.at_us(last_ack_us));
    let settle_from = last_ack.unwrap_or(vote_end);
    let settle_deadline =
        settle_from.max(Instant::now()) + Duration::from_secs_f64(args.settle_timeout);
    for (node, w) in nodes.iter_mut().zip(&projectors) {
        node.projector_exact = voters == 0
            || w.wait_for(settle_deadline, |w| {
                w.last_counts().as_deref() == Some(&expected[..])
            })
            .await;
    }
    let projector_exact = nodes.last().is_some_and(|n| n.projector_exact);
    let moderator_exact = voters == 0
        || moderator
            .wait_for(settle_deadline, |w| {
                w.last_counts().as_deref() == Some(&expected[..])
            })
            .await;
    // The groups the acked ballots make, where this process holds every
    // phone: the projector and the moderator must come to show them.
    let want_groups = (setup.segment_id.is_some() && !several).then(|| {
        let ballots = ctx.ballots.iter().map(|b| b.load(Ordering::Relaxed));
        session::expected_groups(ballots, ctx.first, args.options)
    });
    let mut groups_exact = None;
    if let Some(want) = &want_groups {
        let shows = |w: &staff::Watcher| w.last_groups().as_ref() == Some(want);
        groups_exact = Some(report::GroupsExact {
            expected: want.clone(),
            projector: projector.wait_for(settle_deadline, shows).await,
            moderator: moderator.wait_for(settle_deadline, shows).await,
            results: false,
            projector_settle_ms: report::settle_ms_by(
                &projector.tallies.lock(),
                |r| &r.groups == want,
                last_ack,
            ),
            visible: None,
        });
    }
    let (counts, server_voters, server_groups) = match session::server_counts(&target, &setup).await
    {
        Ok(c) => c,
        Err(e) => {
            // Reported as a failure below: the counts cannot equal.
            eprintln!("handsup-load: the server's results: {e}");
            (Vec::new(), u64::MAX, None)
        }
    };
    if let Some(g) = groups_exact.as_mut() {
        g.results = server_groups.as_ref() == want_groups.as_ref();
    }
    report.groups_exact = groups_exact;
    report.set_final(
        &expected,
        voters,
        &counts,
        server_voters,
        projector_exact,
        moderator_exact,
    );
    let now = Instant::now();
    for (node, w) in nodes.iter_mut().zip(&projectors) {
        let recs = w.tallies.lock();
        node.projector_tallies = staff::tally_rate(&recs, vote_start, now).0;
        node.projector_settle_ms = report::settle_ms(&recs, &expected, last_ack);
    }
    {
        let recs = projector.tallies.lock();
        report.set_projector(&recs, &expected, last_ack, vote_start, now);
        // Only first votes make the projector's total grow one by one.
        if expected.iter().sum::<u64>() == ctx.acked.load(Ordering::Relaxed) {
            let mut acks = ctx.ack_times_us.lock().clone();
            acks.sort_unstable();
            report.projector.visible = Some(staff::visible_latency(&ctx, &acks, &recs));
            if let Some(g) = report.groups_exact.as_mut() {
                // The same, for the groups: the k-th ack is in them once
                // they hold k ballots together.
                let in_groups: Vec<staff::TallyRec> = recs
                    .iter()
                    .map(|r| staff::TallyRec {
                        at: r.at,
                        counts: vec![r.groups.iter().flatten().flatten().sum()],
                        groups: Vec::new(),
                    })
                    .collect();
                g.visible = Some(staff::visible_latency(&ctx, &acks, &in_groups));
            }
        }
        report.projector_seq_regressions = projector.seq_regressions.load(Ordering::Relaxed);
    }
    {
        let recs = moderator.tallies.lock();
        report.moderator_tallies = staff::tally_rate(&recs, vote_start, now).0;
    }
    report.phone_tallies = ctx.phone_tallies.load(Ordering::Relaxed);
    report.dropped = ctx.dropped.load(Ordering::Relaxed);
    report.set_errors(&ctx.errors.lock(), &args.allow_errors);
    report.per_node = nodes;
    report.judge(welcomed as usize);

    // ---- teardown ----------------------------------------------------------------
    ctx.closing.store(true, Ordering::Relaxed);
    if let Some(f) = fleet.as_mut() {
        if let Err(e) = f.close().await {
            eprintln!("handsup-load: {e}");
        }
    }
    if args.keep_session {
        if let Some(p) = &phones {
            p.close_all();
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
    if let Some(p) = phones {
        p.finish().await;
    }
    if let Some(f) = fleet {
        if !f.finish().await {
            report.failures.push("a worker process failed".to_owned());
            report.ok = false;
        }
    }
    Ok(report)
}
