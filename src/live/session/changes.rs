//! Changes of state: each one applied under the lock, logged to the
//! journal (or appended to the shared log in cluster mode), and broadcast.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use uuid::Uuid;

use crate::domain::qa::QaStatus;
use crate::domain::{Applied, Event, Session};
use crate::error::{Error, Result};
use crate::protocol::{Role, ServerMsg};
use crate::store::journal::{self, Durable, Turn};
use crate::store::records::{self, Record};
use crate::store::redis::Redis;
use crate::store::Storage;

use super::*;

impl LiveSession {
    // ---- the journal ---------------------------------------------------------

    /// Takes the session's turn to write (see `Journal::turn`): under the
    /// lock, before a change is applied. Refused once the journal stopped.
    pub(super) fn turn<'a>(&'a self, st: &mut State) -> Result<Turn<'a>> {
        let active = self.last_active();
        self.shared.storage.turn(&mut st.place, &st.session, active)
    }

    /// Appends an event of this session to the journal (during its turn, so
    /// records keep the order of the changes) and moves the session's chain.
    pub(super) fn log(&self, st: &mut State, turn: &Turn, ev: Event) -> Durable {
        self.touch();
        self.shared
            .storage
            .log(turn, &mut st.place, &st.session, &ev)
    }

    /// The digest of the session's history so far: the last link of its chain.
    pub fn digest(&self) -> String {
        journal::hex(&self.state.lock().place.chain)
    }

    /// Compaction: writes the session's snapshot into the journal's current
    /// segment, unless it has one there already.
    pub fn snapshot(&self) -> Result<()> {
        let Storage::Journal(j) = &self.shared.storage else {
            return Ok(());
        };
        let active = self.last_active();
        let mut st = self.state.lock();
        let st = &mut *st;
        j.snapshot(&mut st.place, &st.session, active)
    }

    /// Journals the creation of a new session: its first records.
    pub fn log_creation(&self) -> Durable {
        let mut st = self.state.lock();
        let st = &mut *st;
        let turn = match self.shared.storage.turn_new(&mut st.place) {
            Ok(turn) => turn,
            Err(e) => return Durable::failed(e),
        };
        let mut last = Durable::done();
        for ev in st.session.snapshot_events() {
            last = self.log(st, &turn, ev);
        }
        last
    }

    // ---- changes of state ------------------------------------------------------

    /// Applies one event to the live session: the domain change, and the
    /// frames it sends to the connections that may see it. Every change goes
    /// through here, whether made on this node or (in cluster mode) read from
    /// the session's shared log, so each node's views follow the same order.
    /// Ok(false): the event changed nothing.
    pub(super) fn apply_live(self: &Arc<Self>, st: &mut State, ev: &Event) -> Result<bool> {
        use Event as E;
        self.touch();
        let limits = &self.shared.limits;
        let before = Self::presented(st);
        let cluster = self.shared.storage.is_shared();
        // Whether a deleted question was public: asked before it goes.
        let public = match ev {
            E::Deleted { q, .. } => st.session.question(*q)?.is_public(),
            _ => false,
        };
        // The questions broken down by a segment about to go or change.
        let broken_down: Vec<Uuid> = match ev {
            E::Deleted { q, .. } | E::Updated { q, .. } => st
                .session
                .questions()
                .iter()
                .filter(|x| x.by == Some(*q))
                .map(|x| x.id)
                .collect(),
            _ => Vec::new(),
        };
        let applied = match ev {
            // As `handsup verify --redis` applies the log.
            _ if cluster => crate::store::redis::verify::apply_entry(&mut st.session, ev, limits)?,
            _ => st.session.apply(ev, limits)?,
        };
        if applied == Applied::Nothing {
            return Ok(false);
        }
        // A change of segments, breakdowns or the anonymity floor changes
        // what every tally shows: all are published anew.
        if matches!(
            ev,
            E::Breakdown { .. } | E::Settings { .. } | E::Deleted { .. } | E::Updated { .. }
        ) {
            for p in st.published.values_mut() {
                p.version = None;
            }
            self.dirty.notify_one();
        }
        for q in broken_down {
            if st.session.question(q).is_ok_and(|x| x.by.is_none()) {
                self.broadcast_question(st, q);
            }
        }
        match ev {
            E::Breakdown { q, .. } => {
                self.recount_later(st, *q);
                self.broadcast_question(st, *q);
            }
            E::Added { q, .. } | E::Updated { q, .. } => {
                // A copy loaded late learns the counts of closed questions too.
                self.recount_later(st, *q);
                self.broadcast_question(st, *q);
            }
            E::Moved { .. } => {
                let order = |public: bool| {
                    let ids: Vec<Uuid> = st
                        .session
                        .questions()
                        .iter()
                        .filter(|q| !public || q.is_public())
                        .map(|q| q.id)
                        .collect();
                    ServerMsg::Order { question_ids: &ids }.frame()
                };
                let (staff, public) = (order(false), order(true));
                self.broadcast(st, |c| {
                    Some(if c.sees_polls() {
                        staff.clone()
                    } else {
                        public.clone()
                    })
                });
            }
            E::Deleted { q, .. } => {
                st.published.remove(q);
                let frame = ServerMsg::QuestionRemoved { question_id: *q }.frame();
                self.broadcast(st, |c| (c.sees_polls() || public).then(|| frame.clone()));
                self.broadcast_present(st, before);
                self.dirty.notify_one();
            }
            E::Opened { q, .. } => {
                if let Some(closes_at) = st.session.question(*q)?.closes_at {
                    self.schedule_close(*q, closes_at);
                }
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
            }
            E::Closed { q, .. } => {
                self.recount_later(st, *q);
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
            }
            E::TimerClosed { q, .. } => {
                tracing::info!(code = %self.code, question = %q, "timer closed the question");
                self.recount_later(st, *q);
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
            }
            E::Visible { q, visible, .. } => {
                // A revealed tally is sent again so views that dropped it redraw.
                if let (true, Some(p)) = (*visible, st.published.get_mut(q)) {
                    p.version = None;
                }
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
                self.dirty.notify_one();
            }
            E::Reset { q, .. } => {
                let had: std::collections::HashSet<u32> = match applied {
                    Applied::Cleared(had) => had.into_iter().collect(),
                    _ => Default::default(),
                };
                // Phones whose ballot went clear their selection. In cluster
                // mode ballots live in Redis, so every phone is told.
                let frame = ServerMsg::Ballot {
                    question_id: *q,
                    choice: None,
                }
                .frame();
                self.broadcast(st, |c| {
                    c.participant
                        .filter(|p| cluster || had.contains(p))
                        .map(|_| frame.clone())
                });
                self.recount_later(st, *q);
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
                self.dirty.notify_one();
            }
            E::Present { .. } | E::PresentQa { .. } => {
                self.broadcast_present(st, before);
            }
            E::Title { .. } | E::Settings { .. } => {
                let s = &st.session;
                let frame = ServerMsg::Session {
                    title: &s.title,
                    settings: (&s.settings).into(),
                }
                .frame();
                self.broadcast(st, |_| Some(frame.clone()));
            }
            E::HideEntry { q, .. } => {
                if cluster {
                    self.recount_later(st, *q);
                }
                self.dirty.notify_one();
            }
            E::Asked { item, .. } => {
                self.broadcast_qa_item(st, *item, &Role::ALL);
            }
            E::Upvoted { item, .. } => {
                for set in st.qa_dirty.iter_mut() {
                    set.insert(*item);
                }
                self.dirty.notify_one();
            }
            E::QaSet { .. } | E::QaHideAuthor { .. } => {
                if let Applied::Items(items) = applied {
                    for id in items {
                        self.broadcast_qa_item(st, id, &Role::ALL);
                    }
                }
            }
            E::Joined { .. } | E::Vote { .. } | E::Retract { .. } => {
                self.dirty.notify_one();
            }
            E::LinkAdded { .. } => {}
            E::LinkRevoked { id, .. } => self.close_link(st, *id),
            E::QaTranslated { item, .. } => {
                self.broadcast_qa_item(st, *item, &Role::ALL);
            }
            // Refused by `Session::apply`.
            E::Created { .. } | E::Ended { .. } => {}
        }
        Ok(true)
    }

    /// Makes a change: applies and journals it on a single node; in cluster
    /// mode, appends it to the session's shared log and applies the log up to
    /// it. Ok once the change is durable (journal) or in Redis (cluster).
    pub(super) async fn commit(self: &Arc<Self>, ev: Event) -> Result<()> {
        match &self.shared.storage {
            Storage::Redis(c) => return self.commit_shared(c, ev).await,
            // Applied here, then written where the storage writes.
            Storage::Memory | Storage::Journal(_) => {}
        }
        let durable = {
            let mut st = self.state.lock();
            let turn = self.turn(&mut st)?;
            if !self.apply_live(&mut st, &ev)? {
                return Ok(());
            }
            self.log(&mut st, &turn, ev)
        };
        durable.wait().await
    }

    /// Cluster mode: appends the change to the shared log, then applies the
    /// log up to it; its outcome there is the change's.
    ///
    /// What this copy can tell would be refused, or would change nothing, is
    /// not appended (see `precheck`), so that no one can grow the log with
    /// changes every node refuses. A copy that is behind reads the log
    /// before it refuses.
    pub(super) async fn commit_shared(self: &Arc<Self>, c: &Redis, ev: Event) -> Result<()> {
        let mut fresh = false;
        loop {
            let verdict = {
                let st = self.state.lock();
                precheck(&st.session, &ev, &self.shared.limits)
            };
            match verdict {
                Ok(true) => break,
                _ if !fresh => {
                    self.catch_up(None).await?;
                    fresh = true;
                }
                Ok(false) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        let json = records::event_json(&ev);
        let (n, compact) = c
            .append(&self.code, &ev, &json)
            .await?
            .ok_or_else(|| Error::internal("the session's log was taken"))?;
        let outcome = self.catch_up(Some((n, checksum(&json)))).await;
        if compact {
            let me = self.clone();
            tokio::spawn(async move { me.compact().await });
        }
        outcome
    }

    /// Cluster mode: writes a snapshot of this copy, which covers the log up
    /// to what it applied, and lets Redis cut the log's head off.
    pub(super) async fn compact(self: Arc<Self>) {
        let Storage::Redis(c) = &self.shared.storage else {
            return;
        };
        let made = {
            // The copy stays where the cursor says while the snapshot is made.
            let cur = self.follower.cursor.lock().await;
            let st = self.state.lock();
            let rec = Record::Snapshot {
                code: self.code.clone(),
                prev: journal::hex(&st.place.chain),
                events: st.session.snapshot_events(),
                active: None,
            };
            let json = String::from_utf8(records::encode(&rec)).expect("JSON is UTF-8");
            (cur.applied, json)
        };
        let (at, json) = made;
        if self.lost.load(Ordering::Acquire) {
            return;
        }
        let started = std::time::Instant::now();
        let outcome = c.compact(&self.code, at, &json).await;
        let bytes = json.len();
        drop(json);
        crate::live::shared::release_freed_memory();
        match outcome {
            Ok(done) => tracing::info!(
                code = %self.code,
                at,
                done,
                bytes,
                ms = started.elapsed().as_millis() as u64,
                "log compacted"
            ),
            Err(e) => {
                tracing::warn!(code = %self.code, error = %e.message, "log: compaction failed")
            }
        }
    }
}

/// Cluster mode: whether a change would apply to `s`, checked before it is
/// appended to the shared log (every node then applies it, or refuses it, in
/// the log's order). Ok(false): it would change nothing, and is not
/// appended. What cannot be told here (a race with another node) is still
/// refused when applied.
pub(super) fn precheck(s: &Session, ev: &Event, limits: &crate::domain::Limits) -> Result<bool> {
    use crate::domain::QuestionState as S;
    use Event as E;
    match ev {
        E::Joined { .. } => s.check_room(limits)?,
        // As `QaBoard::ask` refuses it.
        E::Asked { p, .. } => {
            s.qa.check_room(*p, limits.max_qa_items, limits.max_qa_per_participant)?
        }
        E::Upvoted { item, p, up, .. } => {
            let i = s.qa.item(*item)?;
            if !i.visible_to(false, Some(*p)) || i.status == QaStatus::Pending {
                return Err(Error::not_found(format!("no Q&A item {item}")));
            }
            return Ok(i.upvoters.contains(p) != *up);
        }
        E::QaSet { item, .. } | E::QaHideAuthor { item, .. } => {
            s.qa.item(*item)?;
        }
        E::LinkAdded { .. } => s.links.check_room(limits.max_links)?,
        E::LinkRevoked { id, .. } => {
            s.links
                .get(*id)
                .ok_or_else(|| Error::not_found(format!("no link {id}")))?;
        }
        E::QaTranslated {
            item, lang, text, ..
        } => {
            let i = s.qa.item(*item)?;
            if !i.status.is_public() {
                return Err(Error::not_found(format!("no approved Q&A item {item}")));
            }
            return Ok(i.translations.get(lang) != Some(text));
        }
        // As `Session::add_question` refuses it.
        E::Added { .. } => s.check_question_room(limits)?,
        E::Updated { q, .. } if s.question(*q)?.state != S::Draft => {
            return Err(Error::bad_request(
                "only a draft can be edited; this question has been opened",
            ));
        }
        E::Closed { q, .. } if s.question(*q)?.state == S::Draft => {
            return Err(Error::not_open(
                "a draft has not been opened, so it cannot be closed",
            ));
        }
        E::Moved { q, .. }
        | E::Deleted { q, .. }
        | E::Opened { q, .. }
        | E::Visible { q, .. }
        | E::Reset { q, .. }
        | E::HideEntry { q, .. }
        | E::Present { q: Some(q), .. } => {
            s.question(*q)?;
        }
        _ => {}
    }
    Ok(true)
}
