//! The command line: the flags of a run and the bounds they must keep.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Most phones one run may connect.
const MAX_PHONES: usize = 100_000;
/// Most generator processes one run may start.
const MAX_PROCESSES: usize = 16;
/// Longest voting phase, in seconds.
const MAX_DURATION_S: f64 = 600.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
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
#[command(name = "handsup-load", version, args_override_self = true)]
pub struct Args {
    /// The server's base URL; only loopback addresses are accepted. Several
    /// (comma-separated or repeated) spread the phones over cluster nodes in
    /// turn: the moderator uses the first, the projector the last.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
    pub url: Vec<String>,

    /// Audience phones to connect.
    #[arg(long, default_value_t = 1000)]
    pub phones: usize,

    /// Phones connected per second (0: as fast as the server takes them).
    #[arg(long, default_value_t = 2000.0)]
    pub connect_rate: f64,

    /// Connection attempts in flight at most.
    #[arg(long, default_value_t = 256)]
    pub connect_concurrency: usize,

    /// Source addresses to spread the phones over: 127.0.0.2 up to
    /// 127.0.0.(1+N). 0 lets the system choose (127.0.0.1).
    #[arg(long, default_value_t = 8)]
    pub source_addrs: u8,

    /// Options of the question (2..=12).
    #[arg(long, default_value_t = 4)]
    pub options: u8,

    /// Results by group: the session also has a segment question of three
    /// options ("Which group are you?") that every phone answers once it
    /// is welcomed (phone i: option i % 3), and the question under load is
    /// broken down by it on the projector. The groups the projector, the
    /// moderator and the results show are checked against the acked
    /// ballots at the end (with one generator process).
    #[arg(long)]
    pub segment: bool,

    /// What the phones do once connected.
    #[arg(long, value_enum, default_value_t = Mode::Rate)]
    pub mode: Mode,

    /// Shorthand for `--mode burst`.
    #[arg(long)]
    pub burst: bool,

    /// Votes per second across all phones (rate mode).
    #[arg(long, default_value_t = 1000.0)]
    pub vote_rate: f64,

    /// Seconds of voting (rate and flat-out modes).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,

    /// Votes a second one phone sends at most (flat-out mode); the server
    /// allows 20 by default.
    #[arg(long, default_value_t = 18.0)]
    pub phone_rate: f64,

    /// Re-votes: in rate mode the fraction of votes that replace a ballot
    /// already cast (once every phone has voted, every vote does); in burst
    /// mode the fraction of phones that vote a second time, for another
    /// option, as soon as their first vote is acked.
    #[arg(long, default_value_t = 0.0)]
    pub revote: f64,

    /// Seconds to hold the phones connected and idle before voting.
    #[arg(long, default_value_t = 0.0)]
    pub hold: f64,

    /// The server's process id: its resident memory is read before and after
    /// the phones connect, and its CPU time during the voting. With several
    /// `--url`s, one per node in the same order (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,

    /// Redis's process id (cluster mode): its CPU time during the voting is
    /// reported apart from other work.
    #[arg(long)]
    pub redis_pid: Option<u32>,

    /// Generator processes sharing the phones (each holds at most the
    /// open-file limit). This process sets up the session and its staff
    /// sockets, starts the others, moves them through each phase together
    /// and merges what they measured into one report.
    #[arg(long, default_value_t = 1)]
    pub processes: usize,

    /// Internal: run as process I of N (`I/N`), started by `--processes`;
    /// it reads its phases on stdin and writes its measurements on stdout.
    #[arg(long, hide = true)]
    pub worker: Option<String>,

    /// Internal: the session a worker's phones join.
    #[arg(long, hide = true)]
    pub code: Option<String>,

    /// Internal: the question a worker's phones vote on.
    #[arg(long, hide = true)]
    pub question_id: Option<String>,

    /// Internal: the segment question a worker's phones answer first.
    #[arg(long, hide = true)]
    pub segment_id: Option<String>,

    /// Milliseconds to let the server settle before reading its memory.
    #[arg(long, default_value_t = 1000)]
    pub rss_settle_ms: u64,

    /// Seconds an unanswered vote is waited for once voting stops.
    #[arg(long, default_value_t = 10.0)]
    pub ack_timeout: f64,

    /// Seconds the projector has, after the last ack, to show the exact counts.
    #[arg(long, default_value_t = 5.0)]
    pub settle_timeout: f64,

    /// An error code that does not fail the run (repeatable), e.g. rate_limited.
    #[arg(long = "allow-error")]
    pub allow_errors: Vec<String>,

    /// Leave the session on the server at the end (it is deleted otherwise).
    #[arg(long)]
    pub keep_session: bool,

    /// Seed of the choices and of the order of the phones.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Worker threads of this generator (default: one per processor).
    #[arg(long)]
    pub threads: Option<usize>,

    /// The whole run stops, failed, after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub max_seconds: u64,

    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,

    /// A label for the report (the scenario's name).
    #[arg(long, default_value = "")]
    pub label: String,
}

impl Args {
    /// Refuses flags outside the bounds a run keeps.
    pub fn check_bounds(&self) -> Result<(), String> {
        if self.phones == 0 || self.phones > MAX_PHONES {
            return Err(format!("--phones must be 1..={MAX_PHONES}"));
        }
        if !(2..=12).contains(&self.options) {
            return Err("--options must be 2..=12".into());
        }
        if !(self.duration > 0.0 && self.duration <= MAX_DURATION_S) {
            return Err(format!(
                "--duration must be over 0 and at most {MAX_DURATION_S} s"
            ));
        }
        if !(self.vote_rate > 0.0 && self.vote_rate <= 1_000_000.0) {
            return Err("--vote-rate must be over 0 and at most 1,000,000".into());
        }
        if !(self.phone_rate > 0.0 && self.phone_rate <= 10_000.0) {
            return Err("--phone-rate must be over 0 and at most 10,000".into());
        }
        if !(0.0..=1.0).contains(&self.revote) {
            return Err("--revote is a fraction, 0..=1".into());
        }
        if !(0.0..=3600.0).contains(&self.hold)
            || self.connect_rate < 0.0
            || self.connect_concurrency == 0
        {
            return Err(
                "--hold must be 0..=3600 s, --connect-rate >= 0, --connect-concurrency >= 1".into(),
            );
        }
        if !(1..=MAX_PROCESSES).contains(&self.processes) || self.processes > self.phones {
            return Err(format!(
                "--processes must be 1..={MAX_PROCESSES} and at most --phones"
            ));
        }
        if self.server_pid.len() > 1 && self.server_pid.len() != self.url.len() {
            return Err("give one --server-pid per --url, in the same order".into());
        }
        if self.max_seconds == 0 || self.max_seconds > 7200 {
            return Err("--max-seconds must be 1..=7200".into());
        }
        Ok(())
    }

    /// `--worker I/N` read: this process's share of the phones.
    pub fn share(&self) -> Result<Share, String> {
        let Some(w) = &self.worker else {
            return Ok(Share::WHOLE);
        };
        let bad = || format!("--worker {w:?}: expected I/N with I < N");
        let (i, n) = w.split_once('/').ok_or_else(bad)?;
        let (index, of): (usize, usize) =
            (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if index >= of || of > MAX_PROCESSES {
            return Err(bad());
        }
        Ok(Share { index, of })
    }
}

/// Which part of the run one process does: process `index` of `of`. Phones
/// are split in contiguous ranges; paced events (connections, rate votes)
/// are dealt in turn, the k-th of process `index` being event
/// `k * of + index` of the whole run, so that the processes together keep
/// the pace asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub index: usize,
    pub of: usize,
}

impl Share {
    /// The whole run in one process.
    pub const WHOLE: Share = Share { index: 0, of: 1 };

    /// The phones of this share, out of `total`: `first..end`.
    pub fn phones(&self, total: usize) -> std::ops::Range<usize> {
        total * self.index / self.of..total * (self.index + 1) / self.of
    }

    /// How many of `total` paced events are this share's.
    pub fn events(&self, total: u64) -> u64 {
        let (i, n) = (self.index as u64, self.of as u64);
        if total > i {
            (total - i).div_ceil(n)
        } else {
            0
        }
    }

    /// The place in the whole run of this share's `k`-th paced event.
    pub fn event(&self, k: u64) -> u64 {
        k * self.of as u64 + self.index as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_split_the_phones_and_the_events_exactly() {
        for of in 1..=5usize {
            let shares: Vec<Share> = (0..of).map(|index| Share { index, of }).collect();
            let mut next = 0;
            for s in &shares {
                let r = s.phones(50_001);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, 50_001);
            for total in [0u64, 1, 7, 120_000] {
                let mut places: Vec<u64> = shares
                    .iter()
                    .flat_map(|s| (0..s.events(total)).map(|k| s.event(k)))
                    .collect();
                places.sort_unstable();
                assert_eq!(places, (0..total).collect::<Vec<_>>(), "{of} {total}");
            }
        }
    }

    #[test]
    fn reads_a_worker_share() {
        let args = |w: &str| Args::parse_from(["handsup-load", "--worker", w]);
        assert_eq!(args("2/3").share(), Ok(Share { index: 2, of: 3 }));
        assert!(args("3/3").share().is_err());
        assert!(args("x").share().is_err());
        let whole = Args::parse_from(["handsup-load"]);
        assert_eq!(whole.share(), Ok(Share::WHOLE));
        // A flag given again overrides the first, as a worker's command
        // line relies on.
        let again = Args::parse_from([
            "handsup-load",
            "--quiet",
            "--phones",
            "5",
            "--quiet",
            "--phones",
            "7",
        ]);
        assert!(again.quiet);
        assert_eq!(again.phones, 7);
    }
}
