//! Participants and their ballots: joining, tokens, votes and retractions.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use uuid::Uuid;

use crate::domain::{Applied, Event, KindName, RawChoice};
use crate::error::{Error, ErrorCode, Result};
use crate::live::secrets::{new_token, token_eq};
use crate::store::journal::Durable;
use crate::store::redis::ballot::Ballot;
use crate::store::redis::Redis;
use crate::store::Storage;

use super::*;

impl LiveSession {
    // ---- participants and ballots -----------------------------------------

    /// Adds a participant under the lock; the caller waits for durability.
    pub(super) fn new_participant(&self, st: &mut State) -> Result<(u32, Durable)> {
        let (id, token) = (Uuid::new_v4(), new_token());
        let at = self.now();
        let turn = self.turn(st)?;
        let index = st
            .session
            .join(id, token.clone(), at, &self.shared.limits)?;
        let durable = self.log(
            st,
            &turn,
            Event::Joined {
                code: self.code.clone(),
                p: id,
                token,
                at,
            },
        );
        Ok((index, durable))
    }

    /// Cluster mode: a new participant, through the shared log.
    pub(super) async fn join_shared(self: &Arc<Self>) -> Result<u32> {
        let token = new_token();
        self.commit(Event::Joined {
            code: self.code.clone(),
            p: Uuid::new_v4(),
            token: token.clone(),
            at: self.now(),
        })
        .await?;
        self.participant_by_token(&token)
            .ok_or_else(|| Error::internal("a participant who joined is missing"))
    }

    /// A new participant (the HTTP path); the socket path joins in `attach`.
    pub async fn join(self: &Arc<Self>) -> Result<(Uuid, String)> {
        if self.shared.storage.is_shared() {
            let index = self.join_shared().await?;
            let who = self.state.lock().session.participant(index).clone();
            return Ok((who.id, who.token));
        }
        let (who, durable) = {
            let mut st = self.state.lock();
            let (index, durable) = self.new_participant(&mut st)?;
            (st.session.participant(index).clone(), durable)
        };
        durable.wait().await?;
        Ok((who.id, who.token))
    }

    pub fn participant_by_token(&self, token: &str) -> Option<u32> {
        self.state.lock().session.participant_by_token(token)
    }

    /// The participant a token names. In cluster mode a token this node does
    /// not know yet may come from a node that is ahead: the log is read first.
    pub async fn find_participant(self: &Arc<Self>, token: &str) -> Result<Option<u32>> {
        if let Some(p) = self.participant_by_token(token) {
            return Ok(Some(p));
        }
        if !self.shared.storage.is_shared() {
            return Ok(None);
        }
        self.catch_up(None).await?;
        Ok(self.participant_by_token(token))
    }

    /// The moderator token and the title, for the answer to session creation.
    pub fn secrets(&self) -> (String, String) {
        let st = self.state.lock();
        (st.session.moderator_token.clone(), st.session.title.clone())
    }

    pub fn check_moderator(&self, token: Option<&str>) -> Result<()> {
        let st = self.state.lock();
        match token {
            Some(t) if token_eq(t, &st.session.moderator_token) => Ok(()),
            Some(t) if st.session.participant_by_token(t).is_some() => {
                Err(Error::forbidden("a participant may not do this"))
            }
            _ => Err(Error::unauthorized("wrong or missing moderator token")),
        }
    }

    /// Casts or replaces a ballot. Ok once it is counted, and durable where
    /// the server keeps a journal (in Redis, in cluster mode).
    pub async fn vote(
        self: &Arc<Self>,
        participant: u32,
        id: Uuid,
        choice: RawChoice,
    ) -> Result<()> {
        if let Storage::Redis(c) = &self.shared.storage {
            // Boxed: the Redis call's future would otherwise size every
            // socket's task, in every mode.
            let result = Box::pin(self.vote_shared(c, participant, id, Some(choice))).await;
            return self.counted(result.map(|_| None)).await;
        }
        let result = (|| {
            let mut st = self.state.lock();
            let turn = self.turn(&mut st)?;
            // A timed question takes no ballot past its end, even before its
            // timer has closed it.
            let now = self.now();
            // Only an `open` answer needs an id and a time of its own.
            let entry = match st.session.question(id) {
                Ok(q) if q.spec.kind.name() == KindName::Open => Some((Uuid::new_v4(), now)),
                _ => None,
            };
            let ev = Event::Vote {
                code: self.code.clone(),
                p: participant,
                q: id,
                choice,
                entry,
            };
            match st.session.check_open_at(id, now).and_then(|()| {
                // The deadline is checked: the event applies as replay does.
                st.session.apply(&ev, &self.shared.limits)
            }) {
                Ok(_) => Ok(self.log(&mut st, &turn, ev)),
                Err(e) => Err(e),
            }
        })();
        self.counted(result.map(Some)).await
    }

    pub async fn retract(self: &Arc<Self>, participant: u32, id: Uuid) -> Result<()> {
        if let Storage::Redis(c) = &self.shared.storage {
            let result = Box::pin(self.vote_shared(c, participant, id, None)).await;
            return self.counted(result.map(|_| None)).await;
        }
        let result = (|| {
            let mut st = self.state.lock();
            let turn = self.turn(&mut st)?;
            let now = self.now();
            let ev = Event::Retract {
                code: self.code.clone(),
                p: participant,
                q: id,
            };
            match st
                .session
                .check_open_at(id, now)
                .and_then(|()| st.session.apply(&ev, &self.shared.limits))
            {
                Ok(Applied::Nothing) => Ok(Durable::done()),
                Ok(_) => Ok(self.log(&mut st, &turn, ev)),
                Err(e) => Err(e),
            }
        })();
        self.counted(result.map(Some)).await
    }

    /// Cluster mode: checks a ballot against this node's copy (reading the
    /// log first if the question is not open here yet), then casts it in
    /// Redis, which decides whether the question still takes votes.
    pub(super) async fn vote_shared(
        self: &Arc<Self>,
        c: &Redis,
        participant: u32,
        id: Uuid,
        choice: Option<RawChoice>,
    ) -> Result<()> {
        // An `open` answer is checked against the texts hidden so far: when
        // another node wrote to the log, it is read first.
        if matches!(choice, Some(RawChoice::Text(_)))
            && self.follower.log_stale.load(Ordering::Acquire)
        {
            self.catch_up(None).await?;
        }
        let ballot = match self.shared_ballot(participant, id, choice.as_ref()) {
            Err(e) if matches!(e.code, ErrorCode::NotOpen | ErrorCode::NotFound) => {
                self.catch_up(None).await?;
                self.shared_ballot(participant, id, choice.as_ref())?
            }
            other => other?,
        };
        if !c.vote(&self.code, id, participant, ballot).await? {
            return Err(Error::not_open("this question takes no votes now"));
        }
        self.follow_up(&self.follower.voted_here);
        self.follow_up(&self.follower.counts_stale);
        Ok(())
    }

    /// The ballot as Redis keeps it: the choice as given, the id and time of
    /// an `open` answer, and its contributions to the counts.
    pub(super) fn shared_ballot(
        &self,
        participant: u32,
        id: Uuid,
        choice: Option<&RawChoice>,
    ) -> Result<Option<String>> {
        let st = self.state.lock();
        let q = st.session.question(id)?;
        if q.state != crate::domain::QuestionState::Open {
            return Err(Error::not_open(format!(
                "this question is {}, it takes no votes",
                q.state.as_str()
            )));
        }
        let Some(raw) = choice else {
            return Ok(None);
        };
        let entry = (q.spec.kind.name() == KindName::Open).then(|| (Uuid::new_v4(), self.now()));
        let mut checked = q
            .spec
            .kind
            .check_choice(raw.clone(), entry.unwrap_or((Uuid::nil(), 0)))?;
        q.keep_hidden(participant, &mut checked);
        Ok(Some(Ballot::of(&checked, raw.clone(), entry).encode()))
    }

    /// Counts a ballot's outcome in the metrics, once it is durable. `None`:
    /// the ballot went to Redis (cluster mode) and this copy's tallies move
    /// when the counts are read back, so the publisher is not woken here.
    pub(super) async fn counted(&self, result: Result<Option<Durable>>) -> Result<()> {
        let m = &self.shared.metrics;
        let result = match result {
            Ok(Some(durable)) => {
                self.dirty.notify_one();
                durable.wait().await
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        match &result {
            Ok(()) => {
                m.votes_accepted
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(e) => m.vote_rejected(e.code),
        }
        result
    }
}
