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

mod phone;
mod report;
mod staff;
mod stats;
mod sys;
mod target;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::Semaphore;
use tokio::time::{sleep, sleep_until, Instant};

use phone::{Cmd, Ctx, Rng, NO_BALLOT};
use report::Report;
use target::Target;

/// Most phones one run may connect.
const MAX_PHONES: usize = 100_000;
/// Longest voting phase, in seconds.
const MAX_DURATION_S: f64 = 600.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Connect the phones, measure, and vote no more.
    Connect,
    /// `--vote-rate` votes a second across the phones for `--duration`.
    Rate,
    /// Every phone votes once, all at the same moment.
    Burst,
    /// Every phone votes again as soon as its last vote is acked, at most
    /// `--phone-rate` a second each, for `--duration`.
    FlatOut,
}

/// Load generator for a handsup server on this machine.
#[derive(Debug, Parser)]
#[command(name = "handsup-load", version)]
struct Args {
    /// The server's base URL; only loopback addresses are accepted. Several
    /// (comma-separated or repeated) spread the phones over cluster nodes in
    /// turn: the moderator uses the first, the projector the last.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
    url: Vec<String>,

    /// Audience phones to connect.
    #[arg(long, default_value_t = 1000)]
    phones: usize,

    /// Phones connected per second (0: as fast as the server takes them).
    #[arg(long, default_value_t = 2000.0)]
    connect_rate: f64,

    /// Connection attempts in flight at most.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,

    /// Source addresses to spread the phones over: 127.0.0.2 up to
    /// 127.0.0.(1+N). 0 lets the system choose (127.0.0.1).
    #[arg(long, default_value_t = 8)]
    source_addrs: u8,

    /// Options of the question (2..=12).
    #[arg(long, default_value_t = 4)]
    options: u8,

    /// What the phones do once connected.
    #[arg(long, value_enum, default_value_t = Mode::Rate)]
    mode: Mode,

    /// Shorthand for `--mode burst`.
    #[arg(long)]
    burst: bool,

    /// Votes per second across all phones (rate mode).
    #[arg(long, default_value_t = 1000.0)]
    vote_rate: f64,

    /// Seconds of voting (rate and flat-out modes).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,

    /// Votes a second one phone sends at most (flat-out mode); the server
    /// allows 20 by default.
    #[arg(long, default_value_t = 18.0)]
    phone_rate: f64,

    /// Re-votes: in rate mode the fraction of votes that replace a ballot
    /// already cast (once every phone has voted, every vote does); in burst
    /// mode the fraction of phones that vote a second time, for another
    /// option, as soon as their first vote is acked.
    #[arg(long, default_value_t = 0.0)]
    revote: f64,

    /// Seconds to hold the phones connected and idle before voting.
    #[arg(long, default_value_t = 0.0)]
    hold: f64,

    /// The server's process id: its resident memory is read before and after
    /// the phones connect, and its CPU time during the voting.
    #[arg(long)]
    server_pid: Option<u32>,

    /// Milliseconds to let the server settle before reading its memory.
    #[arg(long, default_value_t = 1000)]
    rss_settle_ms: u64,

    /// Seconds an unanswered vote is waited for once voting stops.
    #[arg(long, default_value_t = 10.0)]
    ack_timeout: f64,

    /// Seconds the projector has, after the last ack, to show the exact counts.
    #[arg(long, default_value_t = 5.0)]
    settle_timeout: f64,

    /// An error code that does not fail the run (repeatable), e.g. rate_limited.
    #[arg(long = "allow-error")]
    allow_errors: Vec<String>,

    /// Leave the session on the server at the end (it is deleted otherwise).
    #[arg(long)]
    keep_session: bool,

    /// Seed of the choices and of the order of the phones.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Worker threads of this generator (default: one per processor).
    #[arg(long)]
    threads: Option<usize>,

    /// The whole run stops, failed, after this many seconds.
    #[arg(long, default_value_t = 900)]
    max_seconds: u64,

    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,

    /// No progress bar.
    #[arg(long)]
    quiet: bool,

    /// A label for the report (the scenario's name).
    #[arg(long, default_value = "")]
    label: String,
}

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
    if let Err(e) = check_bounds(&args) {
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

fn check_bounds(a: &Args) -> Result<(), String> {
    if a.phones == 0 || a.phones > MAX_PHONES {
        return Err(format!("--phones must be 1..={MAX_PHONES}"));
    }
    if !(2..=12).contains(&a.options) {
        return Err("--options must be 2..=12".into());
    }
    if !(a.duration > 0.0 && a.duration <= MAX_DURATION_S) {
        return Err(format!(
            "--duration must be over 0 and at most {MAX_DURATION_S} s"
        ));
    }
    if !(a.vote_rate > 0.0 && a.vote_rate <= 1_000_000.0) {
        return Err("--vote-rate must be over 0 and at most 1,000,000".into());
    }
    if !(a.phone_rate > 0.0 && a.phone_rate <= 10_000.0) {
        return Err("--phone-rate must be over 0 and at most 10,000".into());
    }
    if !(0.0..=1.0).contains(&a.revote) {
        return Err("--revote is a fraction, 0..=1".into());
    }
    if !(0.0..=3600.0).contains(&a.hold) || a.connect_rate < 0.0 || a.connect_concurrency == 0 {
        return Err(
            "--hold must be 0..=3600 s, --connect-rate >= 0, --connect-concurrency >= 1".into(),
        );
    }
    if a.max_seconds == 0 || a.max_seconds > 7200 {
        return Err("--max-seconds must be 1..=7200".into());
    }
    Ok(())
}

fn progress(quiet: bool, len: u64, prefix: &'static str) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr_with_hz(5)
    };
    let pb = ProgressBar::with_draw_target(Some(len), target);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>10} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    pb.set_prefix(prefix);
    pb
}

/// Keeps a progress bar moving from the counters until `stop` fires.
fn tick(
    pb: ProgressBar,
    every: Duration,
    f: impl Fn(&ProgressBar) + Send + 'static,
) -> impl FnOnce() {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            f(&pb);
            tokio::select! {
                _ = sleep(every) => {}
                _ = &mut stopped => break,
            }
        }
        f(&pb);
        pb.finish_and_clear();
    });
    move || {
        let _ = stop.send(());
        drop(task);
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

/// The session under load: its code, the moderator token and the question.
struct Setup {
    code: String,
    token: String,
    question_id: String,
}

async fn set_up(target: &Target, options: u8) -> Result<Setup, String> {
    let labels: Vec<String> = (0..options)
        .map(|i| format!("Option {}", (b'A' + i) as char))
        .collect();
    let body = json!({
        "title": "Load test",
        "questions": [{"kind": "single", "prompt": "Which one?", "options": labels}],
    });
    let created = target
        .expect("POST", "/api/sessions", None, Some(&body), 201)
        .await?;
    let code = created["code"]
        .as_str()
        .ok_or("no code in the answer")?
        .to_owned();
    let token = created["moderator_token"]
        .as_str()
        .ok_or("no moderator_token in the answer")?
        .to_owned();
    let view = target
        .expect(
            "GET",
            &format!("/api/sessions/{code}"),
            Some(&token),
            None,
            200,
        )
        .await?;
    let question_id = view["questions"][0]["id"]
        .as_str()
        .ok_or("the session has no question")?
        .to_owned();
    for action in ["open", "reveal"] {
        target
            .expect(
                "POST",
                &format!("/api/sessions/{code}/questions/{question_id}/{action}"),
                Some(&token),
                Some(&json!({})),
                200,
            )
            .await?;
    }
    target
        .expect(
            "POST",
            &format!("/api/sessions/{code}/present"),
            Some(&token),
            Some(&json!({ "question_id": question_id })),
            200,
        )
        .await?;
    Ok(Setup {
        code,
        token,
        question_id,
    })
}

/// The server's counts of the question, as `results` gives them.
async fn server_counts(target: &Target, s: &Setup) -> Result<(Vec<u64>, u64), String> {
    let v: Value = target
        .expect(
            "GET",
            &format!("/api/sessions/{}/results", s.code),
            Some(&s.token),
            None,
            200,
        )
        .await?;
    let tally = &v["questions"][0]["tally"];
    let counts = tally["counts"]
        .as_array()
        .ok_or("results carry no counts")?
        .iter()
        .map(|c| c.as_u64().unwrap_or(u64::MAX))
        .collect();
    Ok((counts, tally["voters"].as_u64().unwrap_or(u64::MAX)))
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
    let setup = set_up(&target, args.options).await?;
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
        let mut rng = Rng::new(args.seed);
        match mode {
            Mode::Rate => rate_votes(args, &ctx, &phones, &live, &mut rng, vote_start).await,
            Mode::Burst => {
                for &i in &live {
                    let first = rng.choice_other_than(NO_BALLOT, args.options);
                    let then = rng
                        .chance(args.revote)
                        .then(|| rng.choice_other_than(first, args.options));
                    send(
                        &ctx,
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
                let until = vote_start + Duration::from_secs_f64(args.duration);
                for (k, &i) in live.iter().enumerate() {
                    // Phones start spread over one gap, not in lock step.
                    let first = vote_start + gap.mul_f64(k as f64 / live.len() as f64);
                    send(&ctx, &phones[i], Cmd::FlatOut { first, until, gap });
                }
                // A phone that decided to vote just before `until` has counted
                // its vote as sent a moment later.
                sleep_until(until + Duration::from_millis(20)).await;
            }
            Mode::Connect => {}
        }
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
    let (counts, server_voters) = server_counts(&target, &setup).await?;
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
            report.projector.visible = Some(visible_latency(&ctx, &acks, &recs));
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

fn send(ctx: &Ctx, phone: &Option<UnboundedSender<Cmd>>, cmd: Cmd) {
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

/// `--vote-rate` votes a second for `--duration`: first ballots in a shuffled
/// order of the phones, a `--revote` share replacing ballots already cast,
/// and once every phone has voted, every vote a re-vote, round the phones.
async fn rate_votes(
    args: &Args,
    ctx: &Ctx,
    phones: &[Option<UnboundedSender<Cmd>>],
    live: &[usize],
    rng: &mut Rng,
    start: Instant,
) {
    let mut order = live.to_vec();
    for k in (1..order.len()).rev() {
        order.swap(k, rng.below(k as u64 + 1) as usize);
    }
    let mut last = vec![NO_BALLOT; phones.len()];
    let total = (args.vote_rate * args.duration).round() as u64;
    let (mut next_new, mut round) = (0usize, 0usize);
    for k in 0..total {
        let due = start + Duration::from_secs_f64(k as f64 / args.vote_rate);
        if due > Instant::now() {
            sleep_until(due).await;
        }
        let i = if next_new < order.len() && (next_new == 0 || !rng.chance(args.revote)) {
            next_new += 1;
            order[next_new - 1]
        } else if next_new < order.len() {
            order[rng.below(next_new as u64) as usize]
        } else {
            round += 1;
            order[(round - 1) % order.len()]
        };
        let choice = rng.choice_other_than(last[i], ctx.options);
        last[i] = choice;
        send(ctx, &phones[i], Cmd::Vote { choice, then: None });
    }
}

/// From each vote's ack to the first projector tally that counts it: the
/// k-th ack (in time) is shown once a tally's total reaches k.
fn visible_latency(ctx: &Ctx, acks_us: &[u64], recs: &[staff::TallyRec]) -> stats::Summary {
    let lat = stats::Latencies::new();
    let mut r = 0;
    for (k, at_us) in acks_us.iter().enumerate() {
        while r < recs.len() && recs[r].counts.iter().sum::<u64>() < k as u64 + 1 {
            r += 1;
        }
        let Some(rec) = recs.get(r) else { break };
        let acked = ctx.at_us(*at_us);
        lat.record(rec.at.saturating_duration_since(acked));
    }
    lat.summary()
}
