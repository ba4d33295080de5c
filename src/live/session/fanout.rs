//! Tally fan-out: the publishers that put tallies and presence on the
//! moderator, projector and audience boards, and what a writer sends from
//! its board.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use uuid::Uuid;

use crate::protocol::{self, Role, TallyView};

use super::*;

impl LiveSession {
    // ---- tally fan-out --------------------------------------------------------

    /// Serialises each tally whose ballots moved since it was last published.
    pub(super) fn refresh(st: &mut State) {
        let State {
            session,
            published,
            seq,
            ..
        } = st;
        for q in session.questions() {
            let stale = match published.get(&q.id) {
                Some(p) => p.version != Some(q.version),
                None => q.version > 0,
            };
            if stale {
                *seq += 1;
                let out = TallyView::of(session, q, *seq, true);
                let public = out.groups_by.is_some().then(|| {
                    let mut v = out.clone();
                    v.groups_by = None;
                    (protocol::tally_frame(&v), v)
                });
                let p = Published {
                    version: Some(q.version),
                    seq: *seq,
                    frame: protocol::tally_frame(&out),
                    value: out,
                    public,
                };
                published.insert(q.id, p);
            }
        }
    }

    pub(super) fn board_for(st: &State, role: Role) -> Board {
        let tallies = st
            .session
            .questions()
            .iter()
            .filter(|q| role == Role::Moderator || q.results_public())
            .filter_map(|q| {
                let p = st.published.get(&q.id)?;
                Some(BoardTally {
                    question_id: q.id,
                    seq: p.seq,
                    frame: p.for_role(role).0.clone(),
                })
            })
            .collect();
        let presence = (role != Role::Audience).then(|| {
            let audience = st.audience + st.audience_elsewhere;
            (st.presence_version, protocol::presence_frame(audience))
        });
        Board { tallies, presence }
    }

    /// Puts a board up, waking its writers only if something on it moved.
    pub(super) fn put_up(sender: &watch::Sender<Arc<Board>>, board: Board) {
        sender.send_if_modified(|old| {
            let same = old.tallies.len() == board.tallies.len()
                && old
                    .tallies
                    .iter()
                    .zip(&board.tallies)
                    .all(|(a, b)| a.question_id == b.question_id && a.seq == b.seq)
                && old.presence.as_ref().map(|p| p.0) == board.presence.as_ref().map(|p| p.0);
            if !same {
                *old = Arc::new(board);
            }
            !same
        });
    }

    /// Refreshes the tallies and puts up the moderator's and projector's boards.
    pub(super) fn publish_staff(&self) {
        let staff = [Role::Moderator, Role::Projector];
        let (moderator, projector) = {
            let mut st = self.state.lock();
            Self::refresh(&mut st);
            // Upvote counts travel with the boards' rhythm.
            for id in std::mem::take(&mut st.qa_dirty[0]) {
                self.broadcast_qa_item(&st, id, &staff);
            }
            (
                Self::board_for(&st, Role::Moderator),
                Self::board_for(&st, Role::Projector),
            )
        };
        Self::put_up(&self.moderator_board, moderator);
        Self::put_up(&self.projector_board, projector);
    }

    /// Refreshes the tallies and puts up one audience group's board; the
    /// first group of a cycle also carries the upvote counts.
    pub(super) fn publish_audience_group(&self, group: usize) {
        let board = {
            let mut st = self.state.lock();
            Self::refresh(&mut st);
            if group == 0 {
                for id in std::mem::take(&mut st.qa_dirty[1]) {
                    self.broadcast_qa_item(&st, id, &[Role::Audience]);
                }
            }
            Self::board_for(&st, Role::Audience)
        };
        Self::put_up(&self.audience_boards[group], board);
    }

    /// Coalesces changes into at most one board per interval for staff
    /// (moderator, projector), publishing at once when the last board is
    /// older than the interval; tells the audience publisher too.
    pub(super) async fn publisher(self: Arc<Self>) {
        let staff_every = self.shared.config.staff_tally_interval();
        let mut last_staff = Instant::now();
        let mut staff_due: Option<Instant> = None;
        let far = || Instant::now() + std::time::Duration::from_secs(3600);
        loop {
            tokio::select! {
                _ = self.ended.cancelled() => return,
                _ = self.dirty.notified() => {
                    let now = Instant::now();
                    staff_due.get_or_insert((last_staff + staff_every).max(now));
                    self.audience_pending.store(true, Ordering::Release);
                    self.audience_wake.notify_one();
                }
                _ = sleep_until(staff_due.unwrap_or_else(far)), if staff_due.is_some() => {
                    staff_due = None;
                    last_staff = Instant::now();
                    self.publish_staff();
                }
            }
        }
    }

    /// Publishes to the phones in cycles of one interval: group k at k/G of
    /// the way through. Each group gets at most one board per interval, and a
    /// change reaches every group within one interval, since a cycle runs
    /// again whenever something changed during the last one.
    pub(super) async fn audience_publisher(self: Arc<Self>) {
        let every = self.shared.config.audience_tally_interval();
        loop {
            tokio::select! {
                _ = self.ended.cancelled() => return,
                _ = self.audience_wake.notified() => {}
            }
            while self.audience_pending.swap(false, Ordering::AcqRel) {
                let start = Instant::now();
                for group in 0..AUDIENCE_GROUPS {
                    // A group no phone is in has nothing to publish (the
                    // first carries the upvote counts: it always runs).
                    if group > 0 && self.audience_boards[group].receiver_count() == 0 {
                        continue;
                    }
                    let slot = start + every * group as u32 / AUDIENCE_GROUPS as u32;
                    tokio::select! {
                        _ = self.ended.cancelled() => return,
                        _ = sleep_until(slot) => self.publish_audience_group(group),
                    }
                }
                tokio::select! {
                    _ = self.ended.cancelled() => return,
                    _ = sleep_until(start + every) => {}
                }
            }
        }
    }

    /// Cluster mode: marks the session let go if no connection is attached,
    /// so that none attaches after; true if it was.
    pub fn unload_if_idle(&self) -> bool {
        let mut st = self.state.lock();
        if !st.conns.is_empty() {
            return false;
        }
        st.unloaded = true;
        true
    }

    /// Connections attached now, by role (for tests and shutdown).
    pub fn connection_count(&self) -> usize {
        self.state.lock().conns.len()
    }
}

/// Sends on a board whatever moved since `sent` and records it; used by every
/// connection's writer.
pub fn board_news(
    board: &Board,
    sent: &mut Vec<(Uuid, u64)>,
    presence_sent: &mut Option<u64>,
) -> Vec<Utf8Bytes> {
    let mut out = Vec::new();
    for t in &board.tallies {
        match sent.iter_mut().find(|(q, _)| *q == t.question_id) {
            Some((_, s)) if *s >= t.seq => {}
            Some((_, s)) => {
                *s = t.seq;
                out.push(t.frame.clone());
            }
            None => {
                sent.push((t.question_id, t.seq));
                out.push(t.frame.clone());
            }
        }
    }
    if let Some((v, f)) = &board.presence {
        if presence_sent.is_none_or(|s| *v > s) {
            *presence_sent = Some(*v);
            out.push(f.clone());
        }
    }
    out
}
