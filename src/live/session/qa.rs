//! Q&A: asking, upvoting, moderation, hiding, and pages of the board.

use std::sync::Arc;

use uuid::Uuid;

use crate::domain::qa::QaStatus;
use crate::domain::Event;
use crate::error::{Error, Result};
use crate::protocol::{QaItemView, QaPage, Role, ServerMsg};

use super::*;

impl LiveSession {
    // ---- Q&A -----------------------------------------------------------------

    /// Sends an item to every connection whose view it changes: those who
    /// see it, and, when it was hidden, everyone (without its text) so their
    /// views drop it. `roles` limits the broadcast (coalesced upvotes).
    pub(super) fn broadcast_qa_item(&self, st: &State, id: Uuid, roles: &[Role]) {
        let Ok(item) = st.session.qa.item(id) else {
            return;
        };
        let hidden = item.status == QaStatus::Hidden;
        let staff = ServerMsg::QaItem {
            item: &QaItemView::new(item, false),
        }
        .frame();
        let public = staff.clone();
        let mine = ServerMsg::QaItem {
            item: &QaItemView::new(item, true),
        }
        .frame();
        self.broadcast(st, |c| {
            if !roles.contains(&c.role) {
                return None;
            }
            let moderator = c.sees_pending_qa();
            if !hidden && !item.visible_to(moderator, c.participant) {
                return None;
            }
            Some(match (moderator, c.participant == Some(item.author)) {
                (true, _) => staff.clone(),
                (false, true) => mine.clone(),
                (false, false) => public.clone(),
            })
        });
    }

    pub async fn ask(
        self: &Arc<Self>,
        participant: u32,
        text: &str,
        name: Option<&str>,
    ) -> Result<()> {
        // Refused here rather than logged (in cluster mode, appended to the
        // shared log and refused by every node).
        crate::domain::qa::checked_question(text, name)?;
        let pending = {
            let st = self.state.lock();
            let l = &self.shared.limits;
            st.session
                .qa
                .check_room(participant, l.max_qa_items, l.max_qa_per_participant)?;
            st.session.settings.qa_moderation
        };
        self.commit(Event::Asked {
            code: self.code.clone(),
            item: Uuid::new_v4(),
            p: participant,
            text: text.to_owned(),
            name: name.map(str::to_owned),
            at: self.now(),
            pending,
        })
        .await
    }

    /// Upvotes (or takes back an upvote); the new count reaches the views at
    /// the tally intervals, coalesced.
    pub async fn upvote(self: &Arc<Self>, participant: u32, item: Uuid, up: bool) -> Result<()> {
        // An unknown item is refused here rather than logged (in cluster
        // mode, `precheck` reads the log first).
        if !self.shared.storage.is_shared() {
            self.state.lock().session.qa.item(item)?;
        }
        let code = self.code.clone();
        self.commit(Event::Upvoted {
            code,
            item,
            p: participant,
            up,
        })
        .await
    }

    pub async fn set_qa_status(self: &Arc<Self>, item: Uuid, status: &str) -> Result<()> {
        let status = QaStatus::parse(status).ok_or_else(|| {
            Error::bad_request(format!(
                "unknown status {status:?}; the statuses are approved, pinned, answered, hidden"
            ))
        })?;
        self.commit(Event::QaSet {
            code: self.code.clone(),
            item,
            status,
        })
        .await
    }

    /// Hides every item by the author of `item`, in one action; returns how
    /// many items it took off the board.
    pub async fn qa_hide_author(self: &Arc<Self>, item: Uuid) -> Result<usize> {
        // Refused here rather than logged; counted before, as the log applies it.
        let shown = {
            let st = self.state.lock();
            let author = st.session.qa.item(item)?.author;
            st.session
                .qa
                .items()
                .iter()
                .filter(|i| i.author == author && i.status != QaStatus::Hidden)
                .count()
        };
        self.commit(Event::QaHideAuthor {
            code: self.code.clone(),
            item,
        })
        .await?;
        Ok(shown)
    }

    /// One page of the Q&A board as a viewer sees it (`GET .../qa`): the
    /// moderator every item, a participant the public items and their own
    /// pending ones, anyone else the public items.
    pub async fn qa_page(
        self: &Arc<Self>,
        moderator: bool,
        participant: Option<u32>,
        offset: usize,
        limit: usize,
    ) -> Result<QaPage> {
        // Cluster mode: the board as it is now, whichever node changed it.
        self.catch_up(None).await?;
        let st = self.state.lock();
        Ok(QaPage::new(
            &st.session.qa,
            moderator,
            participant,
            offset,
            limit,
        ))
    }
}
