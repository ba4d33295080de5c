//! Connections: attaching one after its hello (with its welcome), detaching,
//! closing them all, and the broadcasts that reach every attached one.

use crate::store::journal::Durable;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::links::Action;
use crate::domain::Event;
use crate::error::{Error, ErrorCode, Result};
use crate::live::outbox::{Close, Outbox, CLOSE_NORMAL};
use crate::protocol::{self, choice_json, QaPage, Role, ServerMsg, SessionView, Welcome};
use crate::store::Storage;

use super::*;

impl LiveSession {
    // ---- connections -----------------------------------------------------

    /// Attaches a connection after its hello: checks the moderator token,
    /// finds or makes the participant, and queues the welcome.
    pub async fn attach(
        self: &Arc<Self>,
        role: Role,
        token: Option<&str>,
        join_url: &str,
    ) -> Result<Attached> {
        let Storage::Redis(c) = &self.shared.storage else {
            return self.attach_with(role, token, join_url, None);
        };
        // The welcome shows the session as it is now, whichever node changed it.
        self.catch_up(None).await?;
        if role != Role::Audience {
            return self.attach_with(role, token, join_url, None);
        }
        // Cluster mode: the participant may have joined through another
        // node, and their ballots are in Redis.
        let p = match token {
            Some(t) => self.find_participant(t).await?,
            None => None,
        };
        let known = match p {
            Some(p) => (p, self.shared_ballots_of(c, p).await?),
            None => {
                // Everything that could refuse the hello is checked before
                // the join is logged: a refused hello leaves no trace.
                if self.state.lock().unloaded {
                    return Err(Self::set_aside());
                }
                (self.join_shared().await?, Map::new())
            }
        };
        self.attach_with(role, token, join_url, Some(known))
    }

    /// Attaches with, in cluster mode, the participant and their ballots.
    pub(super) fn attach_with(
        &self,
        role: Role,
        token: Option<&str>,
        join_url: &str,
        known: Option<(u32, Map<String, Value>)>,
    ) -> Result<Attached> {
        let mut st = self.state.lock();
        if st.unloaded {
            return Err(Self::set_aside());
        }
        let (known, known_ballots) = match known {
            Some((p, b)) => (Some(p), Some(b)),
            None => (None, None),
        };
        let mut access = None;
        let participant = match role {
            Role::Moderator => {
                // The moderator token or a link's; a participant's token is
                // as wrong here as any other.
                let a = if self.organiser(token) {
                    Access::owner()
                } else {
                    Self::access_in(&st, token).map_err(|e| match e.code {
                        ErrorCode::Forbidden => {
                            Error::unauthorized("wrong or missing moderator token")
                        }
                        _ => e,
                    })?
                };
                a.check(&[Action::Connect])?;
                access = Some(a);
                None
            }
            Role::Projector => None,
            Role::Audience => Some(
                match known.or_else(|| token.and_then(|t| st.session.participant_by_token(t))) {
                    Some(p) => p,
                    None => self.new_participant(&mut st)?.0,
                },
            ),
        };
        // What the connection is sent: a staff link sees the polls or the
        // pending Q&A only where its scope allows.
        let may = |action| access.as_ref().is_some_and(|a| a.may(action));
        let (sees_polls, sees_pending) = (may(Action::SeePolls), may(Action::SeePendingQa));
        let view_role = match role {
            Role::Moderator if !sees_polls => Role::Projector,
            r => r,
        };
        let welcome_tallies = Self::visible_tallies(&st, view_role);
        let sent = welcome_tallies.iter().map(|(q, t)| (*q, t.seq)).collect();
        // The top of the board; the rest is paged over HTTP, so the welcome
        // stays small however much the room asks.
        let qa = QaPage::new(
            &st.session.qa,
            sees_pending,
            participant,
            0,
            protocol::WELCOME_QA_ITEMS,
        );
        let session = SessionView::new(&st.session, sees_polls, join_url, welcome_tallies)
            .with_qa(qa)
            .with_digest(self.shown_digest(&st));
        let mut welcome = Welcome {
            role,
            session,
            server_time: self.now(),
            participant_id: None,
            participant_token: None,
            ballots: None,
            scope: access.as_ref().map(|a| a.scope.as_str()),
            lang: access.as_ref().and_then(|a| a.lang.clone()),
        };
        if let Some(p) = participant {
            let who = st.session.participant(p);
            welcome.participant_id = Some(who.id);
            welcome.participant_token = Some(who.token.clone());
            welcome.ballots = Some(match known_ballots {
                Some(b) => b,
                None => st
                    .session
                    .ballots_of(p)
                    .map(|(q, c)| (q.id.to_string(), choice_json(c)))
                    .collect(),
            });
        }
        let outbox = Arc::new(Outbox::new(self.shared.config.max_queued));
        outbox.push(ServerMsg::Welcome(&welcome).frame());
        let conn_id = st.next_conn;
        st.next_conn += 1;
        st.conns.insert(
            conn_id,
            ConnEntry {
                role,
                participant,
                outbox: outbox.clone(),
                access: access.clone(),
            },
        );
        if let Storage::Redis(c) = &self.shared.storage {
            // The first connection here, or one to a session quiet here for
            // a minute, is recorded in Redis at once (the sweep records the
            // others within a minute), so that no node expires it meanwhile.
            let at = self.now();
            if st.conns.len() == 1 || at - self.last_active() >= 60_000 {
                let (c, code) = (c.clone(), self.code.clone());
                tokio::spawn(async move { c.touch(&[&code], at, false).await });
            }
        }
        self.touch();
        if role == Role::Audience {
            st.audience += 1;
            st.presence_version += 1;
            // Cluster mode: the other nodes hear of it.
            self.follower.wake.notify_one();
        }
        drop(st);
        self.shared.metrics.connected(role);
        self.dirty.notify_one();
        let mut board = self.board(view_role, conn_id).subscribe();
        board.mark_changed();
        Ok(Attached {
            conn_id,
            participant,
            outbox,
            board,
            sent,
            access,
        })
    }

    /// Cluster mode: the copy was let go; the client connects again.
    pub(super) fn set_aside() -> Error {
        Error::new(
            ErrorCode::Unavailable,
            "this session was just set aside on this server; connect again",
        )
    }

    pub fn detach(&self, conn_id: u64) {
        let mut st = self.state.lock();
        if let Some(c) = st.conns.remove(&conn_id) {
            self.touch();
            if c.role == Role::Audience {
                st.audience -= 1;
                st.presence_version += 1;
                self.follower.wake.notify_one();
            }
            drop(st);
            self.shared.metrics.disconnected(c.role);
            self.dirty.notify_one();
        }
    }

    /// Journals the end, sends `ended` to every connection and closes them;
    /// stops the publisher. In cluster mode every node does so when it reads
    /// the end from the log.
    pub async fn end(self: &Arc<Self>) -> Result<()> {
        if let Storage::Redis(c) = &self.shared.storage {
            let code = self.code.clone();
            return self.commit_shared(c, Event::Ended { code }).await;
        }
        let durable = {
            let mut st = self.state.lock();
            match self.turn(&mut st) {
                Ok(turn) => self.log(
                    &mut st,
                    &turn,
                    Event::Ended {
                        code: self.code.clone(),
                    },
                ),
                Err(e) => Durable::failed(e),
            }
        };
        self.close_all(Some(ServerMsg::Ended.frame()), CLOSE_NORMAL);
        self.ended.cancel();
        durable.wait().await
    }

    /// Closes every connection, after a last frame if given.
    pub fn close_all(&self, last: Option<Utf8Bytes>, close: Close) {
        let st = self.state.lock();
        for c in st.conns.values() {
            if let Some(f) = &last {
                c.outbox.push(f.clone());
            }
            c.outbox.close(close.clone());
        }
    }

    /// Pushes a frame chosen per connection; `None` skips that connection.
    pub(super) fn broadcast(&self, st: &State, pick: impl Fn(&ConnEntry) -> Option<Utf8Bytes>) {
        for c in st.conns.values() {
            if let Some(f) = pick(c) {
                if !c.outbox.push(f) {
                    self.shared
                        .metrics
                        .slow_consumers_dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }

    /// Tells every connection that may see it that a question changed.
    pub(super) fn broadcast_question(&self, st: &State, id: Uuid) {
        let Ok(q) = st.session.question(id) else {
            return;
        };
        let staff = protocol::question_frame(q, true);
        let public = q.is_public().then(|| protocol::question_frame(q, false));
        self.broadcast(st, |c| match c.sees_polls() {
            true => Some(staff.clone()),
            false => public.clone(),
        });
    }

    /// Sends `present` to the moderator when `current` moved, and to the
    /// public when what they are shown moved.
    pub(super) fn broadcast_present(&self, st: &State, before: (Option<Uuid>, Option<Uuid>, bool)) {
        let s = &st.session;
        let (cur, public, qa) = (s.current, s.public_current(), s.qa_on_screen);
        let staff = (before.0 != cur || before.2 != qa).then(|| protocol::present_frame(cur, qa));
        let public =
            (before.1 != public || before.2 != qa).then(|| protocol::present_frame(public, qa));
        self.broadcast(st, |c| match c.sees_polls() {
            true => staff.clone(),
            false => public.clone(),
        });
    }

    pub(super) fn presented(st: &State) -> (Option<Uuid>, Option<Uuid>, bool) {
        (
            st.session.current,
            st.session.public_current(),
            st.session.qa_on_screen,
        )
    }
}
