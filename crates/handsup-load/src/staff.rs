//! The projector and the moderator sockets: they only watch, recording every
//! tally of the question under load and the audience count.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::phone::{hello, open_socket, Ctx};
use crate::session::groups_of;
use crate::stats::{Latencies, Summary};
use crate::target::Target;

/// One `tally` as it arrived.
#[derive(Clone, Debug)]
pub struct TallyRec {
    pub at: Instant,
    pub counts: Vec<u64>,
    /// The counts of each group (`--segment`): the projector's `groups`,
    /// the moderator's `groups_by` of the one segment; None: suppressed.
    pub groups: Vec<Option<Vec<u64>>>,
}

#[derive(Default)]
pub struct Watcher {
    pub tallies: Mutex<Vec<TallyRec>>,
    /// The last `presence` count.
    pub audience: AtomicU64,
    /// Tallies whose `seq` did not grow.
    pub seq_regressions: AtomicU64,
    pub closed: AtomicBool,
    /// Wakes whoever waits for a tally or a presence change.
    pub changed: Notify,
}

impl Watcher {
    pub fn last_counts(&self) -> Option<Vec<u64>> {
        self.tallies.lock().last().map(|t| t.counts.clone())
    }

    pub fn last_groups(&self) -> Option<Vec<Option<Vec<u64>>>> {
        self.tallies.lock().last().map(|t| t.groups.clone())
    }

    /// Waits until `done` holds, or `deadline`; whether it held.
    pub async fn wait_for(&self, deadline: Instant, done: impl Fn(&Watcher) -> bool) -> bool {
        loop {
            let woken = self.changed.notified();
            if done(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                return done(self);
            }
        }
    }
}

/// Connects a staff socket (`projector`, or `moderator` with its token) and
/// starts recording.
pub async fn watch(
    target: &Target,
    url: &str,
    role: &str,
    token: Option<&str>,
    question_id: &str,
) -> Result<(Arc<Watcher>, JoinHandle<()>), String> {
    let mut ws = open_socket(target, None, url)
        .await
        .map_err(|(step, e)| format!("{role} socket: {step}: {e}"))?;
    let mut hello_msg = json!({"type": "hello", "role": role});
    if let Some(t) = token {
        hello_msg["token"] = json!(t);
    }
    hello(&mut ws, hello_msg.to_string())
        .await
        .map_err(|(step, e)| format!("{role} socket: {step}: {e}"))?;
    let watcher = Arc::new(Watcher::default());
    let w = watcher.clone();
    let qid = question_id.to_owned();
    let task = tokio::spawn(async move {
        let mut last_seq = 0;
        while let Some(Ok(m)) = ws.next().await {
            let Message::Text(t) = m else { continue };
            let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
                continue;
            };
            match v["type"].as_str() {
                Some("tally") if v["question_id"].as_str() == Some(qid.as_str()) => {
                    let seq = v["seq"].as_u64().unwrap_or(0);
                    if seq <= last_seq {
                        w.seq_regressions.fetch_add(1, Ordering::Relaxed);
                    }
                    last_seq = seq;
                    let counts = v["counts"]
                        .as_array()
                        .map(|a| a.iter().map(|c| c.as_u64().unwrap_or(0)).collect())
                        .unwrap_or_default();
                    let groups = match v["groups_by"].as_object() {
                        Some(by) => by.values().next().map(groups_of).unwrap_or_default(),
                        None => groups_of(&v["groups"]),
                    };
                    w.tallies.lock().push(TallyRec {
                        at: Instant::now(),
                        counts,
                        groups,
                    });
                    w.changed.notify_waiters();
                }
                Some("presence") => {
                    w.audience
                        .store(v["audience"].as_u64().unwrap_or(0), Ordering::Relaxed);
                    w.changed.notify_waiters();
                }
                _ => {}
            }
        }
        w.closed.store(true, Ordering::Relaxed);
        w.changed.notify_waiters();
    });
    Ok((watcher, task))
}

/// Tallies received within `[from, to]`: how many, the most in any one
/// second, and the shortest gap between two.
pub fn tally_rate(
    recs: &[TallyRec],
    from: Instant,
    to: Instant,
) -> (usize, usize, Option<Duration>) {
    let times: Vec<Instant> = recs
        .iter()
        .map(|r| r.at)
        .filter(|t| *t >= from && *t <= to)
        .collect();
    let mut most = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= Duration::from_secs(1) {
            lo += 1;
        }
        most = most.max(hi - lo + 1);
    }
    let min_gap = times.windows(2).map(|w| w[1] - w[0]).min();
    (times.len(), most, min_gap)
}

/// From each vote's ack to the first projector tally that counts it: the
/// k-th ack (in time) is shown once a tally's total reaches k.
pub fn visible_latency(ctx: &Ctx, acks_us: &[u64], recs: &[TallyRec]) -> Summary {
    let lat = Latencies::new();
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
