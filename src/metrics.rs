//! Counters for `/metrics`, in the Prometheus text format. A handful of
//! atomics: cheap on the hot path, with no registry to lock.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::error::ErrorCode;
use crate::protocol::Role;

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

#[derive(Default)]
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
}

fn role_index(r: Role) -> usize {
    match r {
        Role::Audience => 0,
        Role::Projector => 1,
        Role::Moderator => 2,
    }
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

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let mut metric = |name: &str, kind: &str, help: &str, rows: &[(String, i64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let conns: Vec<(String, i64)> = Role::ALL
            .iter()
            .map(|r| (format!("{{role=\"{}\"}}", r.as_str()), self.connections(*r)))
            .collect();
        metric(
            "handsup_connections",
            "gauge",
            "Open websockets by role.",
            &conns,
        );
        metric(
            "handsup_sessions",
            "gauge",
            "Sessions held by this server.",
            &[(String::new(), self.sessions.load(Relaxed))],
        );
        metric(
            "handsup_votes_accepted_total",
            "counter",
            "Votes counted.",
            &[(String::new(), self.votes_accepted.load(Relaxed) as i64)],
        );
        let rejected: Vec<(String, i64)> = REJECT_CODES
            .iter()
            .zip(&self.votes_rejected)
            .map(|(c, n)| {
                (
                    format!("{{reason=\"{}\"}}", c.as_str()),
                    n.load(Relaxed) as i64,
                )
            })
            .collect();
        metric(
            "handsup_votes_rejected_total",
            "counter",
            "Votes refused, by reason.",
            &rejected,
        );
        for (name, help, v) in [
            (
                "handsup_tally_messages_total",
                "Tally messages sent to sockets.",
                &self.tally_messages,
            ),
            (
                "handsup_messages_received_total",
                "Websocket messages received.",
                &self.messages_received,
            ),
            (
                "handsup_slow_consumers_dropped_total",
                "Connections dropped for not reading.",
                &self.slow_consumers_dropped,
            ),
        ] {
            metric(
                name,
                "counter",
                help,
                &[(String::new(), v.load(Relaxed) as i64)],
            );
        }
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
}
