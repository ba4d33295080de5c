//! Views of the session for HTTP answers: the session, its results.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use uuid::Uuid;

use crate::domain::Session;
use crate::error::{Error, Result};
use crate::protocol::{
    QaItemView, QuestionResult, QuestionView, Results, ResultsSession, Role, SessionView, Summary,
    TallyView,
};
use crate::store::journal::{self};

use super::*;

impl LiveSession {
    // ---- views --------------------------------------------------------------

    /// Reads the domain state and the digest together, for the exports.
    pub fn read<R>(&self, f: impl FnOnce(&Session, &str) -> R) -> R {
        let st = self.state.lock();
        f(&st.session, &journal::hex(&st.place.chain))
    }

    /// The digest the session views carry with the setting `show_digest`;
    /// none in memory, where no record is written and nothing is chained.
    pub(super) fn shown_digest(&self, st: &State) -> Option<String> {
        let chained = !matches!(self.shared.storage, crate::store::Storage::Memory);
        (st.session.settings.show_digest && chained).then(|| journal::hex(&st.place.chain))
    }

    pub fn now_ms(&self) -> i64 {
        self.now()
    }

    /// The published tallies a role may see, by question id.
    pub(super) fn visible_tallies(st: &State, role: Role) -> BTreeMap<Uuid, TallyView> {
        st.session
            .questions()
            .iter()
            .filter(|q| role == Role::Moderator || q.results_public())
            .filter_map(|q| Some((q.id, st.published.get(&q.id)?.for_role(role).1.clone())))
            .collect()
    }

    /// The session as GET shows it to a role.
    pub fn view(&self, moderator: bool, join_url: &str) -> SessionView {
        let st = self.state.lock();
        let role = if moderator {
            Role::Moderator
        } else {
            Role::Projector
        };
        SessionView::new(
            &st.session,
            moderator,
            join_url,
            Self::visible_tallies(&st, role),
        )
        .with_digest(self.shown_digest(&st))
    }

    /// The room as the organiser's overview shows it: title, connected
    /// phones, the question on screen (else the one open) with its state
    /// and voters, and the Q&A waiting for moderation.
    pub fn room(&self) -> serde_json::Value {
        let st = self.state.lock();
        let s = &st.session;
        // The question on screen; with none, the question open (the last
        // one opened, if several are).
        let on_screen = s
            .current
            .and_then(|id| s.questions().iter().find(|q| q.id == id));
        let current = on_screen
            .or_else(|| {
                s.questions()
                    .iter()
                    .rev()
                    .find(|q| q.state == crate::domain::QuestionState::Open)
            })
            .map(|q| {
                serde_json::json!({
                    "id": q.id,
                    "prompt": q.spec.prompt,
                    "kind": q.spec.kind.name().as_str(),
                    "state": q.state.as_str(),
                    "voters": q.tally().voters,
                    "on_screen": on_screen.is_some(),
                })
            });
        let pending =
            s.qa.items()
                .iter()
                .filter(|i| i.status == crate::domain::qa::QaStatus::Pending)
                .count();
        serde_json::json!({
            "code": s.code,
            "title": s.title,
            "audience": st.audience + st.audience_elsewhere,
            "participants": s.participants().len(),
            "questions": s.questions().len(),
            "current": current,
            "qa_on_screen": s.qa_on_screen,
            "qa_pending": pending,
            "qa_total": s.qa.items().len(),
        })
    }

    /// The public summary; `forbidden` unless the session publishes one.
    /// Built from this copy: a closed question's counts are final here too
    /// (in cluster mode they are read again when it closes), and an
    /// unauthenticated reader never makes the node read every ballot.
    pub fn summary(&self) -> Result<Summary> {
        let st = self.state.lock();
        if !st.session.settings.public_summary {
            return Err(Error::forbidden(
                "the moderator has not published a summary of this session",
            ));
        }
        let seq = |q: Uuid| st.published.get(&q).map_or(0, |p| p.seq);
        Ok(Summary::new(&st.session, seq))
    }

    /// Every question with its exact current tally, for the moderator.
    pub async fn results(self: &Arc<Self>) -> Result<Results> {
        let (s, digest) = self.whole().await?;
        let seqs: HashMap<Uuid, u64> = {
            let st = self.state.lock();
            st.published.iter().map(|(q, p)| (*q, p.seq)).collect()
        };
        let questions = s
            .questions()
            .iter()
            .map(|q| {
                let seq = seqs.get(&q.id).copied().unwrap_or(0);
                QuestionResult {
                    question: QuestionView::new(q, true),
                    tally: TallyView::of(&s, q, seq, true),
                }
            })
            .collect();
        Ok(Results {
            session: ResultsSession {
                id: s.id,
                code: s.code.clone(),
                title: s.title.clone(),
                created_at: s.created_at,
                digest,
                participants: s.participants().len(),
                settings: (&s.settings).into(),
            },
            questions,
            qa: s
                .qa
                .by_upvotes()
                .into_iter()
                .map(|i| QaItemView::new(i, false))
                .collect(),
            generated_at: self.now(),
        })
    }

    /// Like `read`, with every ballot (read from Redis in cluster mode).
    pub async fn read_whole<R>(self: &Arc<Self>, f: impl FnOnce(&Session, &str) -> R) -> Result<R> {
        let (s, digest) = self.whole().await?;
        Ok(f(&s, &digest))
    }
}
