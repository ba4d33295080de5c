//! The Q&A board: questions from the room, upvoted by the room, moderated
//! by the chair.

use std::collections::HashSet;

use uuid::Uuid;

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QaStatus {
    /// Waiting for the moderator (when the session moderates Q&A); seen by
    /// the moderator and the author only.
    Pending,
    Approved,
    /// Being answered now; one item at most.
    Pinned,
    Answered,
    /// Taken off the board by the moderator.
    Hidden,
}

impl QaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            QaStatus::Pending => "pending",
            QaStatus::Approved => "approved",
            QaStatus::Pinned => "pinned",
            QaStatus::Answered => "answered",
            QaStatus::Hidden => "hidden",
        }
    }

    /// The statuses a moderator may set.
    pub fn parse(s: &str) -> Option<QaStatus> {
        QaStatus::parse_any(s).filter(|s| *s != QaStatus::Pending)
    }

    /// Any status, as the journal records it.
    pub fn parse_any(s: &str) -> Option<QaStatus> {
        Some(match s {
            "pending" => QaStatus::Pending,
            "approved" => QaStatus::Approved,
            "pinned" => QaStatus::Pinned,
            "answered" => QaStatus::Answered,
            "hidden" => QaStatus::Hidden,
            _ => return None,
        })
    }

    /// Audience and projector see the item.
    pub fn is_public(self) -> bool {
        matches!(
            self,
            QaStatus::Approved | QaStatus::Pinned | QaStatus::Answered
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QaItem {
    pub id: Uuid,
    pub text: String,
    /// The name the author gave, if any: anonymous by default.
    pub name: Option<String>,
    /// The participant who asked.
    pub author: u32,
    pub upvoters: HashSet<u32>,
    pub status: QaStatus,
    pub at: i64,
}

impl QaItem {
    /// Whether a viewer sees this item: the moderator always, others when it
    /// is public or (pending) their own.
    pub fn visible_to(&self, moderator: bool, participant: Option<u32>) -> bool {
        moderator
            || self.status.is_public()
            || (self.status == QaStatus::Pending && participant == Some(self.author))
    }
}

/// Limits of the board.
pub const MAX_QA_TEXT: usize = 500;
pub const MAX_QA_NAME: usize = 60;

/// The board of one session.
#[derive(Clone, Debug, Default)]
pub struct Board {
    items: Vec<QaItem>,
}

impl Board {
    pub fn items(&self) -> &[QaItem] {
        &self.items
    }

    pub fn item(&self, id: Uuid) -> Result<&QaItem> {
        self.items
            .iter()
            .find(|i| i.id == id)
            .ok_or_else(|| Error::not_found(format!("no Q&A item {id}")))
    }

    fn item_mut(&mut self, id: Uuid) -> Result<&mut QaItem> {
        self.items
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or_else(|| Error::not_found(format!("no Q&A item {id}")))
    }

    /// Adds a question from the room (see `checked_question`).
    #[allow(clippy::too_many_arguments)]
    pub fn ask(
        &mut self,
        id: Uuid,
        author: u32,
        text: &str,
        name: Option<&str>,
        at: i64,
        moderated: bool,
        max_items: usize,
    ) -> Result<&QaItem> {
        if self.items.len() >= max_items {
            return Err(Error::too_large(format!(
                "this board holds at most {max_items} questions"
            )));
        }
        let (text, name) = checked_question(text, name)?;
        self.items.push(QaItem {
            id,
            text: text.to_owned(),
            name: name.map(str::to_owned),
            author,
            upvoters: HashSet::new(),
            status: if moderated {
                QaStatus::Pending
            } else {
                QaStatus::Approved
            },
            at,
        });
        Ok(self.items.last().expect("just pushed"))
    }

    /// Adds or takes back a participant's upvote; true if it changed.
    pub fn upvote(&mut self, id: Uuid, participant: u32, up: bool) -> Result<bool> {
        let item = self.item_mut(id)?;
        if !item.visible_to(false, Some(participant)) || item.status == QaStatus::Pending {
            return Err(Error::not_found(format!("no Q&A item {id}")));
        }
        Ok(if up {
            item.upvoters.insert(participant)
        } else {
            item.upvoters.remove(&participant)
        })
    }

    /// Sets an item's status; pinning one returns the pinned one before it
    /// to approved. Returns the ids of every item that changed.
    pub fn set_status(&mut self, id: Uuid, status: QaStatus) -> Result<Vec<Uuid>> {
        self.item(id)?;
        let mut changed = Vec::new();
        if status == QaStatus::Pinned {
            for other in self
                .items
                .iter_mut()
                .filter(|i| i.status == QaStatus::Pinned && i.id != id)
            {
                other.status = QaStatus::Approved;
                changed.push(other.id);
            }
        }
        let item = self.item_mut(id)?;
        if item.status != status {
            item.status = status;
            changed.push(id);
        }
        Ok(changed)
    }
}

/// A question's text and optional name as the board keeps them (trimmed; an
/// empty name is none), or why they cannot be asked.
pub fn checked_question<'a>(
    text: &'a str,
    name: Option<&'a str>,
) -> Result<(&'a str, Option<&'a str>)> {
    let text = text.trim();
    super::check_text("text", text, MAX_QA_TEXT)?;
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = name {
        let len = n.chars().count();
        if len > MAX_QA_NAME {
            return Err(Error::too_large(format!(
                "a name is at most {MAX_QA_NAME} characters, this one has {len}"
            )));
        }
    }
    Ok((text, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn ask(b: &mut Board, author: u32, moderated: bool) -> Uuid {
        let id = Uuid::new_v4();
        b.ask(
            id,
            author,
            "How do we keep ownership?",
            None,
            1,
            moderated,
            5000,
        )
        .unwrap();
        id
    }

    #[test]
    fn one_participant_upvotes_an_item_once() {
        let mut b = Board::default();
        let id = ask(&mut b, 0, false);
        assert!(b.upvote(id, 1, true).unwrap());
        assert!(!b.upvote(id, 1, true).unwrap());
        assert!(b.upvote(id, 2, true).unwrap());
        assert_eq!(b.item(id).unwrap().upvoters.len(), 2);
        assert!(b.upvote(id, 1, false).unwrap());
        assert_eq!(b.item(id).unwrap().upvoters.len(), 1);
    }

    #[test]
    fn pending_items_are_seen_by_the_moderator_and_their_author_only() {
        let mut b = Board::default();
        let id = ask(&mut b, 3, true);
        let item = b.item(id).unwrap();
        assert_eq!(item.status, QaStatus::Pending);
        assert!(item.visible_to(true, None));
        assert!(item.visible_to(false, Some(3)));
        assert!(!item.visible_to(false, Some(4)));
        assert!(!item.visible_to(false, None));
        assert_eq!(b.upvote(id, 4, true).unwrap_err().code, ErrorCode::NotFound);
        b.set_status(id, QaStatus::Approved).unwrap();
        assert!(b.item(id).unwrap().visible_to(false, None));
    }

    #[test]
    fn pinning_an_item_returns_the_pinned_one_to_approved() {
        let mut b = Board::default();
        let (x, y) = (ask(&mut b, 0, false), ask(&mut b, 1, false));
        b.set_status(x, QaStatus::Pinned).unwrap();
        let changed = b.set_status(y, QaStatus::Pinned).unwrap();
        assert_eq!(changed, vec![x, y]);
        assert_eq!(b.item(x).unwrap().status, QaStatus::Approved);
        assert_eq!(b.item(y).unwrap().status, QaStatus::Pinned);
    }

    #[test]
    fn limits_are_enforced() {
        let mut b = Board::default();
        let long = "x".repeat(501);
        assert_eq!(
            b.ask(Uuid::new_v4(), 0, &long, None, 0, false, 10)
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
        assert_eq!(
            b.ask(Uuid::new_v4(), 0, "  ", None, 0, false, 10)
                .unwrap_err()
                .code,
            ErrorCode::BadRequest
        );
        let name = "n".repeat(61);
        assert_eq!(
            b.ask(Uuid::new_v4(), 0, "ok", Some(&name), 0, false, 10)
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
        ask(&mut b, 0, false);
        assert_eq!(
            b.ask(Uuid::new_v4(), 0, "one more", None, 0, false, 1)
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
    }
}
