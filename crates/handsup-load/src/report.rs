//! What a run measured: the JSON report and its human summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use tokio::time::Instant;

use crate::args::Args;
use crate::phone::Ctx;
use crate::staff::{tally_rate, TallyRec};
use crate::stats::{fmt_ms, Summary};

#[derive(Debug, Default, Serialize)]
pub struct ConnectReport {
    pub welcomed: u64,
    pub failed: u64,
    /// From the first attempt to the last welcome.
    pub elapsed_s: f64,
    /// Phones welcomed per second over `elapsed_s`.
    pub rate_per_s: f64,
    /// The rate asked for (0: unpaced).
    pub requested_rate: f64,
    /// TCP connect and websocket upgrade.
    pub setup: Summary,
    /// hello sent to welcome read.
    pub hello_welcome: Summary,
    /// The server's CPU seconds while the phones connected.
    pub server_cpu_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct RssReport {
    pub before_kib: u64,
    pub after_kib: u64,
    pub per_phone_kib: f64,
    /// After `--hold` seconds of idle phones.
    pub after_hold_kib: Option<u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct VoteReport {
    pub sent: u64,
    pub acked: u64,
    /// Votes sent again after an `unavailable` answer (as the phone page
    /// does, 1.5 to 2.5 s later, at most 3 times); a vote's ack latency runs
    /// from its first sending.
    pub retried: u64,
    /// From the first vote sent to the last ack.
    pub elapsed_s: f64,
    /// Acked votes per second over `elapsed_s`.
    pub acked_per_s: f64,
    /// The rate asked for, in rate mode.
    pub requested_rate: Option<f64>,
    /// Vote sent to its ack read.
    pub ack: Summary,
    /// From the moment every process was told to vote to the last ack of
    /// any of them.
    pub from_go_s: f64,
}

/// One generator process of a run of several.
#[derive(Debug, Default, Serialize)]
pub struct ProcessReport {
    pub index: usize,
    pub phones: u64,
    pub welcomed: u64,
    pub sent: u64,
    pub acked: u64,
    pub retried: u64,
    pub ack: Summary,
    /// Its CPU seconds from the go to its last answer.
    pub cpu_s: Option<f64>,
    pub errors: u64,
}

/// One server node of the run: its phones, memory and CPU, and what the
/// projector watching through it showed.
#[derive(Debug, Default, Serialize)]
pub struct NodeReport {
    pub url: String,
    pub pid: Option<u32>,
    /// Phones welcomed by this node.
    pub phones: u64,
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    /// Its RSS growth over its own phones.
    pub per_phone_kib: Option<f64>,
    /// CPU seconds during the voting.
    pub cpu_s: Option<f64>,
    /// The connect phase's CPU seconds.
    pub connect_cpu_s: Option<f64>,
    pub projector_exact: bool,
    pub projector_tallies: usize,
    /// From the last ack (of any process) to this projector's exact tally.
    pub projector_settle_ms: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
pub struct ProjectorReport {
    /// Tallies of the question received from the start of voting to the end
    /// of the run.
    pub tallies: usize,
    pub tallies_per_s: f64,
    /// The most tallies received within any one second.
    pub max_tallies_in_1s: usize,
    /// The shortest time between two tallies.
    pub min_gap_ms: Option<f64>,
    /// From the last ack to the first tally showing the final counts (after
    /// which it never showed anything else); negative when the projector had
    /// them before this generator read the last ack.
    pub settle_ms: Option<f64>,
    /// From a vote's ack to the first projector tally counting it (runs
    /// where every vote is a first vote).
    pub visible: Option<Summary>,
    /// Its last tally equals the acked ballots.
    pub exact: bool,
    /// Its audience count once the phones had connected.
    pub presence: u64,
    pub seq_regressions: u64,
}

/// How long one audience tally took to reach every phone: from the first
/// phone reading it to the last.
#[derive(Debug, Default, Serialize)]
pub struct FanoutReport {
    /// Audience tallies that reached at least half of the phones.
    pub publications: usize,
    /// The most phones one of them reached.
    pub phones_max: u32,
    pub spread_p50_ms: f64,
    pub spread_p90_ms: f64,
    pub spread_max_ms: f64,
}

impl FanoutReport {
    pub fn of(seen: &std::collections::HashMap<u64, (u64, u64, u32)>, phones: u64) -> Option<Self> {
        let mut spreads: Vec<f64> = seen
            .values()
            .filter(|(_, _, n)| *n as u64 * 2 >= phones)
            .map(|(first, last, _)| (last - first) as f64 / 1000.0)
            .collect();
        if spreads.is_empty() {
            return None;
        }
        spreads.sort_by(f64::total_cmp);
        let at = |q: f64| spreads[((spreads.len() - 1) as f64 * q).round() as usize];
        Some(FanoutReport {
            publications: spreads.len(),
            phones_max: seen.values().map(|v| v.2).max().unwrap_or(0),
            spread_p50_ms: at(0.5),
            spread_p90_ms: at(0.9),
            spread_max_ms: at(1.0),
        })
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub label: String,
    pub target: String,
    /// Servers the phones were spread over.
    pub nodes: usize,
    pub code: String,
    pub mode: String,
    pub phones: usize,
    pub source_addrs: usize,
    /// Open-file limits in force: this generator's and the server's (soft).
    pub load_nofile: u64,
    pub server_nofile: Option<u64>,
    pub connect: ConnectReport,
    pub server_rss: Option<RssReport>,
    pub held_s: f64,
    pub dropped_while_holding: u64,
    pub votes: Option<VoteReport>,
    /// CPU seconds used during the voting (and its wait for acks).
    pub server_cpu_s: Option<f64>,
    pub load_cpu_s: Option<f64>,
    /// The whole machine's busy CPU seconds during the voting, and of them
    /// softirq (loopback networking, charged to the processes it interrupted).
    pub machine_busy_s: Option<f64>,
    pub machine_softirq_s: Option<f64>,
    /// Busy CPU seconds that were neither the server nor the generator:
    /// other work on the machine, which skews the figures.
    pub others_cpu_s: Option<f64>,
    /// Redis's CPU seconds during the voting (cluster mode, `--redis-pid`).
    pub redis_cpu_s: Option<f64>,
    /// The one-minute load average when the run started.
    pub loadavg_at_start: Option<f64>,
    pub vote_phase_s: f64,
    /// The spread of the audience's tally fan-out, as the phones read it.
    pub audience_fanout: Option<FanoutReport>,
    pub projector: ProjectorReport,
    pub moderator_tallies: usize,
    pub moderator_exact: bool,
    /// Tallies the phones received (each phone gets at most one a second).
    pub phone_tallies: u64,
    /// The counts of the latest acked ballot of every phone.
    pub expected_counts: Vec<u64>,
    pub expected_voters: u64,
    /// `GET /api/sessions/{code}/results`, `questions[0].tally`.
    pub server_counts: Vec<u64>,
    pub server_voters: u64,
    /// The server's results equal the acked ballots.
    pub exact: bool,
    /// `--segment`, with one generator process: whether the groups shown
    /// equal those the acked ballots make.
    pub groups_exact: Option<GroupsExact>,
    pub errors: BTreeMap<String, u64>,
    pub errors_total: u64,
    pub unexpected_errors: u64,
    /// Phone sockets closed by the server before the end.
    pub dropped: u64,
    /// Each node, in `--url` order.
    pub per_node: Vec<NodeReport>,
    /// Each generator process, when there were several.
    pub per_process: Vec<ProcessReport>,
    pub failures: Vec<String>,
    pub ok: bool,
    #[serde(skip)]
    pub projector_presence: u64,
    #[serde(skip)]
    pub projector_seq_regressions: u64,
}

/// Results by group checked at the end (`--segment`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupsExact {
    /// The counts of each group, from the acked ballots.
    pub expected: Vec<Option<Vec<u64>>>,
    /// The last node's projector (its `groups`).
    pub projector: bool,
    /// The moderator (its `groups_by`).
    pub moderator: bool,
    /// `GET .../results`.
    pub results: bool,
    /// From the last ack to the projector's first tally with these groups
    /// after which it showed no others, in ms.
    pub projector_settle_ms: Option<f64>,
    /// First votes only: from each vote's ack to the first projector tally
    /// whose groups count it.
    pub visible: Option<Summary>,
}

static CONNECT_ERRORS_SHOWN: AtomicUsize = AtomicUsize::new(0);

/// Shows the first few connection failures on stderr.
pub fn note_connect_error(step: &str, e: &str) {
    if CONNECT_ERRORS_SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("handsup-load: a phone failed to connect ({step}): {e}");
    }
}

/// From `last_ack` to the first tally showing `expected` after which none
/// showed anything else, in ms (negative when it came first).
pub fn settle_ms(recs: &[TallyRec], expected: &[u64], last_ack: Option<Instant>) -> Option<f64> {
    settle_ms_by(recs, |r| r.counts == expected, last_ack)
}

/// From `last_ack` to the first tally that satisfies `shows` after which
/// every one did, in ms (negative when it came first).
pub fn settle_ms_by(
    recs: &[TallyRec],
    shows: impl Fn(&TallyRec) -> bool,
    last_ack: Option<Instant>,
) -> Option<f64> {
    let last_ack = last_ack?;
    let settled_from = match recs.iter().rposition(|r| !shows(r)) {
        Some(j) => recs.get(j + 1),
        None => recs.first(),
    };
    settled_from.map(|r| secs_between(last_ack, r.at) * 1000.0)
}

fn secs_between(a: Instant, b: Instant) -> f64 {
    if b >= a {
        (b - a).as_secs_f64()
    } else {
        -(a - b).as_secs_f64()
    }
}

impl Report {
    pub fn new(label: &str, target: &str, phones: usize, mode: String) -> Report {
        Report {
            label: label.to_owned(),
            target: target.to_owned(),
            phones,
            mode: mode.to_lowercase(),
            ..Report::default()
        }
    }

    pub fn set_connect(&mut self, ctx: &Ctx, elapsed_s: f64, requested: f64) {
        let welcomed = ctx.welcomed.load(Ordering::Relaxed);
        self.connect = ConnectReport {
            welcomed,
            failed: ctx.connect_failed.load(Ordering::Relaxed),
            elapsed_s,
            rate_per_s: if elapsed_s > 0.0 {
                welcomed as f64 / elapsed_s
            } else {
                0.0
            },
            requested_rate: requested,
            setup: ctx.connect_lat.summary(),
            hello_welcome: ctx.welcome_lat.summary(),
            server_cpu_s: None,
        };
    }

    pub fn set_rss(&mut self, before_kib: u64, after_kib: u64, phones: u64) {
        self.server_rss = Some(RssReport {
            before_kib,
            after_kib,
            per_phone_kib: after_kib.saturating_sub(before_kib) as f64 / phones.max(1) as f64,
            after_hold_kib: None,
        });
    }

    pub fn set_votes(&mut self, ctx: &Ctx, voted: bool, args: &Args, start: Instant, end: Instant) {
        self.vote_phase_s = (end - start).as_secs_f64();
        if !voted {
            return;
        }
        let first = ctx.first_send_us.load(Ordering::Relaxed);
        let last = ctx.last_ack_us.load(Ordering::Relaxed);
        let elapsed_s = if first != u64::MAX && last > first {
            (last - first) as f64 / 1e6
        } else {
            0.0
        };
        let acked = ctx.acked.load(Ordering::Relaxed);
        self.votes = Some(VoteReport {
            sent: ctx.sent.load(Ordering::Relaxed),
            acked,
            retried: ctx.retried.load(Ordering::Relaxed),
            elapsed_s,
            acked_per_s: if elapsed_s > 0.0 {
                acked as f64 / elapsed_s
            } else {
                0.0
            },
            requested_rate: (self.mode == "rate").then_some(args.vote_rate),
            ack: ctx.ack_lat.summary(),
            from_go_s: if last > 0 {
                secs_between(start, ctx.at_us(last))
            } else {
                0.0
            },
        });
    }

    pub fn set_final(
        &mut self,
        expected: &[u64],
        voters: u64,
        server: &[u64],
        server_voters: u64,
        projector_exact: bool,
        moderator_exact: bool,
    ) {
        self.expected_counts = expected.to_vec();
        self.expected_voters = voters;
        self.server_counts = server.to_vec();
        self.server_voters = server_voters;
        self.exact = expected == server && voters == server_voters;
        self.projector.exact = projector_exact;
        self.moderator_exact = moderator_exact;
    }

    pub fn set_projector(
        &mut self,
        recs: &[TallyRec],
        expected: &[u64],
        last_ack: Option<Instant>,
        from: Instant,
        to: Instant,
    ) {
        let (count, most, gap) = tally_rate(recs, from, to);
        let window = (to - from).as_secs_f64();
        self.projector.tallies = count;
        self.projector.tallies_per_s = if window > 0.0 {
            count as f64 / window
        } else {
            0.0
        };
        self.projector.max_tallies_in_1s = most;
        self.projector.min_gap_ms = gap.map(|g| g.as_secs_f64() * 1000.0);
        self.projector.presence = self.projector_presence;
        self.projector.settle_ms = settle_ms(recs, expected, last_ack);
    }

    pub fn set_errors(&mut self, errors: &BTreeMap<String, u64>, allowed: &[String]) {
        self.errors = errors.clone();
        self.errors_total = errors.values().sum();
        self.unexpected_errors = errors
            .iter()
            .filter(|(code, _)| !allowed.iter().any(|a| a == *code))
            .map(|(_, n)| n)
            .sum();
    }

    /// Decides `ok`: exact results, every phone welcomed, no unexpected error.
    pub fn judge(&mut self, welcomed: usize) {
        self.projector.seq_regressions = self.projector_seq_regressions;
        let mut f = Vec::new();
        if welcomed < self.phones {
            f.push(format!("{} of {} phones welcomed", welcomed, self.phones));
        }
        if !self.exact {
            f.push(format!(
                "the server's results {:?} ({} voters) differ from the acked ballots {:?} ({} voters)",
                self.server_counts, self.server_voters, self.expected_counts, self.expected_voters
            ));
        }
        if !self.projector.exact {
            f.push("the projector never showed the final counts".to_owned());
        }
        for n in self.per_node.iter().filter(|_| self.per_node.len() > 1) {
            if !n.projector_exact {
                f.push(format!(
                    "the projector on {} never showed the final counts",
                    n.url
                ));
            }
        }
        if !self.moderator_exact {
            f.push("the moderator never showed the final counts".to_owned());
        }
        if let Some(g) = &self.groups_exact {
            for (exact, who) in [
                (g.projector, "the projector"),
                (g.moderator, "the moderator"),
                (g.results, "the results"),
            ] {
                if !exact {
                    f.push(format!("{who} never showed the groups {:?}", g.expected));
                }
            }
        }
        if self.unexpected_errors > 0 {
            f.push(format!(
                "{} unexpected errors: {:?}",
                self.unexpected_errors, self.errors
            ));
        }
        if self.projector.seq_regressions > 0 {
            f.push("a projector tally's seq did not grow".to_owned());
        }
        self.ok = f.is_empty();
        self.failures = f;
    }

    pub fn human(&self) -> String {
        let mut s = String::new();
        let c = &self.connect;
        let _ = writeln!(
            s,
            "handsup-load {} on {} (session {}), mode {}",
            if self.label.is_empty() {
                "run"
            } else {
                &self.label
            },
            self.target,
            self.code,
            self.mode
        );
        let _ = writeln!(
            s,
            "phones          {} welcomed of {} ({} failed) from {} source addresses; projector counts {}",
            c.welcomed, self.phones, c.failed, self.source_addrs.max(1), self.projector.presence
        );
        let _ = writeln!(
            s,
            "connect rate    {:.0} phones/s reached ({} asked) over {:.2} s",
            c.rate_per_s,
            if c.requested_rate > 0.0 {
                format!("{:.0}/s", c.requested_rate)
            } else {
                "unpaced".to_owned()
            },
            c.elapsed_s
        );
        if let Some(cpu) = c.server_cpu_s {
            let _ = writeln!(
                s,
                "connect CPU     server {cpu:.2} s: {:.0} µs per phone",
                cpu * 1e6 / c.welcomed.max(1) as f64
            );
        }
        let _ = writeln!(s, "connect+upgrade {}", c.setup.line());
        let _ = writeln!(s, "hello->welcome  {}", c.hello_welcome.line());
        if let Some(r) = &self.server_rss {
            let _ = writeln!(
                s,
                "server RSS      {} KiB before, {} KiB after: {:.2} KiB per phone{}",
                r.before_kib,
                r.after_kib,
                r.per_phone_kib,
                r.after_hold_kib
                    .map(|k| format!("; {k} KiB after the hold"))
                    .unwrap_or_default()
            );
        }
        if let Some(n) = self.server_nofile {
            let _ = writeln!(s, "server nofile   {n} (soft limit)");
        }
        if self.held_s > 0.0 {
            let _ = writeln!(
                s,
                "held            {:.0} s idle, {} phones dropped meanwhile",
                self.held_s, self.dropped_while_holding
            );
        }
        if let Some(v) = &self.votes {
            let _ = writeln!(
                s,
                "votes           {} sent, {} acked{} in {:.2} s: {:.0} acked/s{}",
                v.sent,
                v.acked,
                if v.retried > 0 {
                    format!(" ({} sent again after `unavailable`)", v.retried)
                } else {
                    String::new()
                },
                v.elapsed_s,
                v.acked_per_s,
                v.requested_rate
                    .map(|r| format!(" ({r:.0}/s asked)"))
                    .unwrap_or_default()
            );
            let _ = writeln!(s, "vote->ack       {}", v.ack.line());
            if !self.per_process.is_empty() {
                let _ = writeln!(
                    s,
                    "from the go     last ack of any process {:.2} s after every process was told to vote",
                    v.from_go_s
                );
            }
        }
        for p in &self.per_process {
            let _ = writeln!(
                s,
                "process {:<7} {} of {} phones welcomed, {} sent, {} acked, ack p50 {} / p99 {} / max {} ms, {} errors, CPU {} s",
                p.index,
                p.welcomed,
                p.phones,
                p.sent,
                p.acked,
                fmt_ms(p.ack.p50_ms),
                fmt_ms(p.ack.p99_ms),
                fmt_ms(p.ack.max_ms),
                p.errors,
                p.cpu_s.map_or("-".into(), |c| format!("{c:.1}"))
            );
        }
        if let (Some(cpu), Some(_)) = (self.server_cpu_s, &self.votes) {
            let _ = writeln!(
                s,
                "CPU             server {:.1} s, generator {:.1} s{} (softirq within them {:.1} s), other work {:.1} s over {:.1} s of voting; load average {:.2} at start",
                cpu,
                self.load_cpu_s.unwrap_or(0.0),
                self.redis_cpu_s
                    .map(|r| format!(", Redis {r:.1} s"))
                    .unwrap_or_default(),
                self.machine_softirq_s.unwrap_or(0.0),
                self.others_cpu_s.unwrap_or(0.0),
                self.vote_phase_s,
                self.loadavg_at_start.unwrap_or(0.0)
            );
        }
        let p = &self.projector;
        if let Some(v) = &p.visible {
            let _ = writeln!(s, "vote → projector {}", v.line());
        }
        let _ = writeln!(
            s,
            "projector       {} tallies, {:.1}/s, at most {} in 1 s, min gap {} ms; settled {} after the last ack",
            p.tallies,
            p.tallies_per_s,
            p.max_tallies_in_1s,
            p.min_gap_ms.map(fmt_ms).unwrap_or_else(|| "-".into()),
            p.settle_ms
                .map(|m| format!("{} ms", fmt_ms(m)))
                .unwrap_or_else(|| "-".into())
        );
        let _ = writeln!(
            s,
            "tallies         moderator {}, phones {}",
            self.moderator_tallies, self.phone_tallies
        );
        if let Some(f) = &self.audience_fanout {
            let _ = writeln!(
                s,
                "audience fan-out {} tallies reached up to {} phones each, first to last phone: p50 {} / p90 {} / max {} ms",
                f.publications,
                f.phones_max,
                fmt_ms(f.spread_p50_ms),
                fmt_ms(f.spread_p90_ms),
                fmt_ms(f.spread_max_ms)
            );
        }
        if self.per_node.len() > 1 {
            for (k, n) in self.per_node.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "node {:<10} {} {} phones; RSS {}; CPU {} s voting; projector {}, {} tallies, settled {}",
                    k + 1,
                    n.url,
                    n.phones,
                    match (n.rss_before_kib, n.rss_after_kib, n.per_phone_kib) {
                        (Some(a), Some(b), Some(p)) =>
                            format!("{a} -> {b} KiB, {p:.2} KiB per phone"),
                        _ => "-".into(),
                    },
                    n.cpu_s.map_or("-".into(), |c| format!("{c:.1}")),
                    if n.projector_exact { "exact" } else { "NOT EXACT" },
                    n.projector_tallies,
                    n.projector_settle_ms
                        .map_or("-".into(), |m| format!("{} ms after the last ack", fmt_ms(m)))
                );
            }
        }
        let _ = writeln!(
            s,
            "final           expected {:?} ({} voters), server {:?} ({} voters): {}",
            self.expected_counts,
            self.expected_voters,
            self.server_counts,
            self.server_voters,
            if self.exact { "EXACT" } else { "NOT EXACT" }
        );
        if let Some(g) = &self.groups_exact {
            let word = |b: bool| if b { "exact" } else { "NOT EXACT" };
            let _ = writeln!(
                s,
                "groups          {:?}: projector {}{}, moderator {}, results {}",
                g.expected,
                word(g.projector),
                g.projector_settle_ms
                    .map(|m| format!(" {} ms after the last ack", fmt_ms(m)))
                    .unwrap_or_default(),
                word(g.moderator),
                word(g.results)
            );
            if let Some(v) = &g.visible {
                let _ = writeln!(s, "vote → groups   {}", v.line());
            }
        }
        let _ = writeln!(
            s,
            "errors          {} ({} unexpected) {:?}; sockets dropped {}",
            self.errors_total, self.unexpected_errors, self.errors, self.dropped
        );
        let _ = writeln!(
            s,
            "result          {}",
            if self.ok { "OK" } else { "FAILED" }
        );
        s
    }
}
