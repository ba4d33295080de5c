//! What `/metrics` shows, in the Prometheus text format (version 0.0.4).
//! The counters are plain atomics that the live code bumps on its hot path,
//! with no registry to lock; at each scrape `prometheus-client` writes them
//! out (names, help, types, labels), along with the vote→ack latency
//! histogram, which it keeps itself.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::error::ErrorCode;
use crate::protocol::Role;

/// The `Content-Type` of what `render` writes.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

const REJECT_CODES: [ErrorCode; 11] = [
    ErrorCode::BadRequest,
    ErrorCode::Unauthorized,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::NotOpen,
    ErrorCode::TooLarge,
    ErrorCode::InvalidChoice,
    ErrorCode::RateLimited,
    ErrorCode::LimitReached,
    ErrorCode::Unavailable,
    ErrorCode::Internal,
];

/// Upper bounds (seconds) of the vote→ack latency buckets: 0.5 ms to 2.5 s.
/// A vote is acked once its ballot is counted (and, with a journal, written
/// and flushed by the group commit; in cluster mode, stored in Redis), so
/// the tail is the disk's or the network's.
const VOTE_ACK_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

pub struct Metrics {
    /// Open websockets past hello, by role (audience, projector, moderator).
    connections: [AtomicI64; 3],
    /// Sessions held by this server.
    pub sessions: AtomicI64,
    /// Votes counted (cast or changed).
    pub votes_accepted: AtomicU64,
    /// Votes refused, by error code.
    votes_rejected: [AtomicU64; REJECT_CODES.len()],
    /// `tally` messages written to sockets.
    pub tally_messages: AtomicU64,
    /// Websocket messages received after hello.
    pub messages_received: AtomicU64,
    /// Connections dropped because they did not read fast enough.
    pub slow_consumers_dropped: AtomicU64,
    /// Seconds from a vote read off a socket to its ack queued to it.
    vote_ack: Histogram,
    /// Cluster mode: groups counted again from the ballots in Redis.
    pub group_recounts: AtomicU64,
    /// Cluster mode: microseconds spent counting groups, reads included.
    group_recount_us: AtomicU64,
    /// Cluster mode: ballots read from Redis to count groups.
    pub group_ballots_read: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            connections: Default::default(),
            sessions: AtomicI64::new(0),
            votes_accepted: AtomicU64::new(0),
            votes_rejected: Default::default(),
            tally_messages: AtomicU64::new(0),
            messages_received: AtomicU64::new(0),
            slow_consumers_dropped: AtomicU64::new(0),
            vote_ack: Histogram::new(VOTE_ACK_BUCKETS),
            group_recounts: AtomicU64::new(0),
            group_recount_us: AtomicU64::new(0),
            group_ballots_read: AtomicU64::new(0),
        }
    }
}

fn role_index(r: Role) -> usize {
    match r {
        Role::Audience => 0,
        Role::Projector => 1,
        Role::Moderator => 2,
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabel {
    role: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

impl Metrics {
    pub fn connected(&self, role: Role) {
        self.connections[role_index(role)].fetch_add(1, Relaxed);
    }
    pub fn disconnected(&self, role: Role) {
        self.connections[role_index(role)].fetch_sub(1, Relaxed);
    }
    pub fn connections(&self, role: Role) -> i64 {
        self.connections[role_index(role)].load(Relaxed)
    }
    pub fn vote_rejected(&self, code: ErrorCode) {
        if let Some(i) = REJECT_CODES.iter().position(|c| *c == code) {
            self.votes_rejected[i].fetch_add(1, Relaxed);
        }
    }
    /// A vote was acked `latency` after it was read off its socket.
    pub fn vote_acked(&self, latency: Duration) {
        self.vote_ack.observe(latency.as_secs_f64());
    }

    /// Cluster mode: the groups were counted from `ballots` ballots read
    /// from Redis, in `took`.
    pub fn group_recount(&self, took: Duration, ballots: u64) {
        self.group_recounts.fetch_add(1, Relaxed);
        self.group_recount_us
            .fetch_add(took.as_micros() as u64, Relaxed);
        self.group_ballots_read.fetch_add(ballots, Relaxed);
    }

    /// The Prometheus text exposition of every metric. Every role and every
    /// reason is listed, at 0 when nothing happened yet.
    /// (The crate ends each help text with a full stop.)
    pub fn render(&self) -> String {
        let mut r = Registry::default();
        let connections = Family::<RoleLabel, Gauge>::default();
        for role in Role::ALL {
            connections
                .get_or_create(&RoleLabel {
                    role: role.as_str(),
                })
                .set(self.connections(role));
        }
        r.register(
            "handsup_connections",
            "Open websockets by role",
            connections,
        );
        r.register(
            "handsup_sessions",
            "Sessions held by this server",
            ConstGauge::new(self.sessions.load(Relaxed)),
        );
        r.register(
            "handsup_votes_accepted",
            "Votes counted",
            ConstCounter::new(self.votes_accepted.load(Relaxed)),
        );
        let rejected = Family::<ReasonLabel, Counter>::default();
        for (code, n) in REJECT_CODES.iter().zip(&self.votes_rejected) {
            rejected
                .get_or_create(&ReasonLabel {
                    reason: code.as_str(),
                })
                .inc_by(n.load(Relaxed));
        }
        r.register(
            "handsup_votes_rejected",
            "Votes refused, by reason",
            rejected,
        );
        for (name, help, v) in [
            (
                "handsup_tally_messages",
                "Tally messages sent to sockets",
                &self.tally_messages,
            ),
            (
                "handsup_messages_received",
                "Websocket messages received",
                &self.messages_received,
            ),
            (
                "handsup_slow_consumers_dropped",
                "Connections dropped for not reading",
                &self.slow_consumers_dropped,
            ),
            (
                "handsup_group_recounts",
                "Counts of results by group from the ballots in Redis",
                &self.group_recounts,
            ),
            (
                "handsup_group_ballots_read",
                "Ballots read from Redis to count results by group",
                &self.group_ballots_read,
            ),
        ] {
            r.register(name, help, ConstCounter::new(v.load(Relaxed)));
        }
        r.register_with_unit(
            "handsup_group_recount",
            "Time spent counting results by group from the ballots in Redis",
            Unit::Seconds,
            ConstCounter::new(self.group_recount_us.load(Relaxed) as f64 / 1e6),
        );
        r.register_with_unit(
            "handsup_vote_ack",
            "Time from a vote read off a websocket to its ack queued to it",
            Unit::Seconds,
            self.vote_ack.clone(),
        );
        let mut out = String::with_capacity(4096);
        prometheus_text::encode(&mut out, &r).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_names_each_counter_with_its_labels() {
        let m = Metrics::default();
        m.connected(Role::Audience);
        m.connected(Role::Audience);
        m.vote_rejected(ErrorCode::NotOpen);
        let text = m.render();
        assert!(
            text.contains("handsup_connections{role=\"audience\"} 2"),
            "{text}"
        );
        assert!(text.contains("handsup_votes_rejected_total{reason=\"not_open\"} 1"));
        assert!(text.contains("# TYPE handsup_votes_accepted_total counter"));
    }

    #[test]
    fn counts_of_groups_add_up_their_time_and_ballots() {
        let m = Metrics::default();
        m.group_recount(Duration::from_millis(3), 19_500);
        m.group_recount(Duration::from_millis(2), 500);
        let text = m.render();
        for line in [
            "handsup_group_recounts_total 2",
            "handsup_group_ballots_read_total 20000",
            "handsup_group_recount_seconds_total 0.005",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }

    /// The names, types and help lines that dashboards and the tests rely on,
    /// as the hand-written exposition wrote them.
    #[test]
    fn render_keeps_every_name_type_and_help() {
        let m = Metrics::default();
        m.sessions.fetch_add(2, Relaxed);
        m.votes_accepted.fetch_add(5, Relaxed);
        m.tally_messages.fetch_add(7, Relaxed);
        m.messages_received.fetch_add(11, Relaxed);
        m.slow_consumers_dropped.fetch_add(1, Relaxed);
        let text = m.render();
        for line in [
            "# HELP handsup_connections Open websockets by role.",
            "# TYPE handsup_connections gauge",
            "handsup_connections{role=\"audience\"} 0",
            "handsup_connections{role=\"projector\"} 0",
            "handsup_connections{role=\"moderator\"} 0",
            "# HELP handsup_sessions Sessions held by this server.",
            "# TYPE handsup_sessions gauge",
            "handsup_sessions 2",
            "# HELP handsup_votes_accepted_total Votes counted.",
            "# TYPE handsup_votes_accepted_total counter",
            "handsup_votes_accepted_total 5",
            "# HELP handsup_votes_rejected_total Votes refused, by reason.",
            "# TYPE handsup_votes_rejected_total counter",
            "# HELP handsup_tally_messages_total Tally messages sent to sockets.",
            "# TYPE handsup_tally_messages_total counter",
            "handsup_tally_messages_total 7",
            "# HELP handsup_messages_received_total Websocket messages received.",
            "# TYPE handsup_messages_received_total counter",
            "handsup_messages_received_total 11",
            "# HELP handsup_slow_consumers_dropped_total Connections dropped for not reading.",
            "# TYPE handsup_slow_consumers_dropped_total counter",
            "handsup_slow_consumers_dropped_total 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
        for code in REJECT_CODES {
            let line = format!(
                "handsup_votes_rejected_total{{reason=\"{}\"}} 0",
                code.as_str()
            );
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn vote_ack_latency_is_a_histogram_in_seconds() {
        let m = Metrics::default();
        m.vote_acked(Duration::from_micros(700));
        m.vote_acked(Duration::from_millis(30));
        let text = m.render();
        for line in [
            "# TYPE handsup_vote_ack_seconds histogram",
            "handsup_vote_ack_seconds_bucket{le=\"0.0005\"} 0",
            "handsup_vote_ack_seconds_bucket{le=\"0.001\"} 1",
            "handsup_vote_ack_seconds_bucket{le=\"0.025\"} 1",
            "handsup_vote_ack_seconds_bucket{le=\"0.05\"} 2",
            "handsup_vote_ack_seconds_bucket{le=\"+Inf\"} 2",
            "handsup_vote_ack_seconds_count 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
    }
}
