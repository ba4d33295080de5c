//! The moderator's commands: questions added, edited, moved, opened,
//! closed, revealed; what is on screen; the session's title and settings;
//! timers that close a question.

use std::sync::Arc;

use tokio::time::sleep_until;
use uuid::Uuid;

use crate::domain::Event;
use crate::domain::{Choice, QuestionSpec};
use crate::error::{Error, Result};
use crate::protocol::{Presentation, QuestionAction, QuestionView};
use crate::store::redis::ballot::Ballot;
use crate::store::Storage;

use super::*;

impl LiveSession {
    // ---- moderator actions ------------------------------------------------

    pub async fn add_question(self: &Arc<Self>, spec: QuestionSpec) -> Result<QuestionView> {
        spec.validate(&self.shared.limits)?;
        let id = Uuid::new_v4();
        self.commit(Event::Added {
            code: self.code.clone(),
            q: id,
            spec,
        })
        .await?;
        self.question_view(id)
    }

    pub async fn update_question(
        self: &Arc<Self>,
        id: Uuid,
        spec: QuestionSpec,
    ) -> Result<QuestionView> {
        spec.validate(&self.shared.limits)?;
        self.commit(Event::Updated {
            code: self.code.clone(),
            q: id,
            spec,
        })
        .await?;
        self.question_view(id)
    }

    /// A question as the moderator sees it.
    pub(super) fn question_view(&self, id: Uuid) -> Result<QuestionView> {
        let st = self.state.lock();
        Ok(QuestionView::new(st.session.question(id)?, true))
    }

    pub async fn move_question(self: &Arc<Self>, id: Uuid, index: usize) -> Result<()> {
        let code = self.code.clone();
        self.commit(Event::Moved { code, q: id, index }).await
    }

    pub async fn delete_question(self: &Arc<Self>, id: Uuid) -> Result<()> {
        let code = self.code.clone();
        self.commit(Event::Deleted { code, q: id }).await
    }

    /// open, close, reveal, hide or reset.
    pub async fn act(self: &Arc<Self>, id: Uuid, action: QuestionAction) -> Result<QuestionView> {
        let code = self.code.clone();
        let ev = match action {
            QuestionAction::Open { duration_s } => Event::Opened {
                code,
                q: id,
                at: self.now(),
                duration_ms: duration_s.map(|s| s as i64 * 1000),
            },
            QuestionAction::Close => Event::Closed { code, q: id },
            QuestionAction::Reveal | QuestionAction::Hide => Event::Visible {
                code,
                q: id,
                visible: action == QuestionAction::Reveal,
            },
            QuestionAction::Reset => Event::Reset { code, q: id },
            QuestionAction::Breakdown { by } => Event::Breakdown { code, q: id, by },
        };
        self.commit(ev).await?;
        self.question_view(id)
    }

    /// Closes the question when its timer runs out, on the server's clock.
    pub fn schedule_close(self: &Arc<Self>, id: Uuid, at: i64) {
        let me = self.clone();
        let deadline = self.shared.clock.instant_at(at);
        tokio::spawn(async move {
            tokio::select! {
                _ = me.ended.cancelled() => {}
                _ = sleep_until(deadline) => me.close_if_due(id).await,
            }
        });
    }

    /// Closes the question if its timer has run out. In cluster mode every
    /// node's timer tries; the first closes it and the others change nothing.
    pub async fn close_if_due(self: &Arc<Self>, id: Uuid) {
        let at = self.now();
        let due = {
            let st = self.state.lock();
            st.session.question(id).is_ok_and(|q| {
                q.state == crate::domain::QuestionState::Open
                    && q.closes_at.is_some_and(|t| t <= at)
            })
        };
        if !due {
            return;
        }
        let ev = Event::TimerClosed {
            code: self.code.clone(),
            q: id,
            at,
        };
        let mut delay = std::time::Duration::from_millis(200);
        while let Err(e) = self.commit(ev.clone()).await {
            // Only an unreachable store fails here; the close must happen.
            tracing::warn!(code = %self.code, error = %e.message, "timer: closing failed; retrying");
            tokio::select! {
                _ = self.ended.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(std::time::Duration::from_secs(2));
        }
    }

    pub async fn present(self: &Arc<Self>, p: Presentation) -> Result<()> {
        let code = self.code.clone();
        self.commit(match p {
            Presentation::Question(q) => Event::Present { code, q },
            Presentation::Qa => Event::PresentQa { code },
        })
        .await
    }

    /// Changes the title and settings (a setting that is None stays as it
    /// is); every view gets them.
    pub async fn update(
        self: &Arc<Self>,
        title: Option<String>,
        settings: crate::domain::SettingsChange,
    ) -> Result<()> {
        if let Some(n) = settings.min_group {
            crate::domain::check_min_group(n)?;
        }
        if let Some(title) = title {
            crate::domain::check_text("title", &title, self.shared.limits.max_title_chars)?;
            let code = self.code.clone();
            self.commit(Event::Title { code, title }).await?;
        }
        if !settings.is_empty() {
            let code = self.code.clone();
            self.commit(Event::Settings {
                code,
                qa_moderation: settings.qa_moderation,
                show_digest: settings.show_digest,
                min_group: settings.min_group,
                public_summary: settings.public_summary,
            })
            .await?;
        }
        Ok(())
    }

    pub async fn hide_entry(self: &Arc<Self>, id: Uuid, entry: Uuid) -> Result<()> {
        let code = self.code.clone();
        // Cluster mode: the ballots are in Redis, so the event names the
        // answer's author and text, for every copy to keep them hidden.
        let (p, text) = match &self.shared.storage {
            Storage::Redis(c) => {
                let kind = self.state.lock().session.question(id)?.spec.kind.clone();
                let ballots = c.ballots(&self.code, &[id]).await?;
                let found = ballots
                    .into_iter()
                    .flatten()
                    .find_map(|(p, b)| match Ballot::decode(&b)?.checked(&kind)? {
                        Choice::Text(e) if e.id == entry => Some((p, e.text)),
                        _ => None,
                    });
                let Some((p, text)) = found else {
                    return Err(Error::not_found(format!(
                        "no answer {entry} in this question"
                    )));
                };
                (Some(p), Some(crate::domain::hidden_key(&text)))
            }
            Storage::Memory | Storage::Journal(_) => (None, None),
        };
        self.commit(Event::HideEntry {
            code,
            q: id,
            entry,
            p,
            text,
        })
        .await
    }
}
