//! The Q&A board: questions from the room, upvoted by the room, moderated
//! by the chair.

use std::collections::{BTreeMap, HashSet};

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
    /// Interpreters' translations, by language tag.
    pub translations: BTreeMap<String, String>,
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

    /// Every item, most upvoted first, then oldest first (results and exports).
    pub fn by_upvotes(&self) -> Vec<&QaItem> {
        let mut items: Vec<&QaItem> = self.items.iter().collect();
        items.sort_by(|a, b| {
            b.upvoters
                .len()
                .cmp(&a.upvoters.len())
                .then(a.at.cmp(&b.at))
        });
        items
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

    /// Adds a question from the room (see `checked_question`). `max_items`
    /// caps the board, `max_per_author` the items one participant holds
    /// (hidden ones count: hiding does not give the place back).
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
        max_per_author: usize,
    ) -> Result<&QaItem> {
        self.check_room(author, max_items, max_per_author)?;
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
            translations: BTreeMap::new(),
        });
        Ok(self.items.last().expect("just pushed"))
    }

    /// Whether the board, and `author`'s share of it, has room for one more
    /// item; `limit_reached` if not.
    pub fn check_room(&self, author: u32, max_items: usize, max_per_author: usize) -> Result<()> {
        if self.items.len() >= max_items {
            return Err(Error::limit_reached(format!(
                "this board holds at most {max_items} questions"
            )));
        }
        if max_per_author != usize::MAX
            && self.items.iter().filter(|i| i.author == author).count() >= max_per_author
        {
            return Err(Error::limit_reached(format!(
                "one participant may ask at most {max_per_author} questions"
            )));
        }
        Ok(())
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

    /// Sets the translation of a public item into `lang` (a checked tag);
    /// true if it changed. Items the public does not see are not found.
    pub fn translate(&mut self, id: Uuid, lang: &str, text: &str) -> Result<bool> {
        let text = checked_translation(text)?;
        let item = self.item_mut(id)?;
        if !item.status.is_public() {
            return Err(Error::not_found(format!("no approved Q&A item {id}")));
        }
        if item.translations.get(lang).is_some_and(|t| t == text) {
            return Ok(false);
        }
        item.translations.insert(lang.to_owned(), text.to_owned());
        Ok(true)
    }

    /// Hides every item by the author of item `id`; returns the ids of the
    /// items it took off the board.
    pub fn hide_author(&mut self, id: Uuid) -> Result<Vec<Uuid>> {
        let author = self.item(id)?.author;
        let mut changed = Vec::new();
        for item in self.items.iter_mut().filter(|i| i.author == author) {
            if item.status != QaStatus::Hidden {
                item.status = QaStatus::Hidden;
                changed.push(item.id);
            }
        }
        Ok(changed)
    }

    /// The items a viewer sees (see `QaItem::visible_to`), in the board's
    /// order, from `offset`, at most `limit` of them; with how many the
    /// viewer sees in all. The order: the pinned item first, then by
    /// upvotes, then newest first; hidden items (which only the moderator
    /// is sent, without their text) come last.
    pub fn page(
        &self,
        moderator: bool,
        participant: Option<u32>,
        offset: usize,
        limit: usize,
    ) -> (Vec<&QaItem>, usize) {
        // (index, item): a later index is a newer item, whatever the clock said.
        let mut seen: Vec<(usize, &QaItem)> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.visible_to(moderator, participant))
            .collect();
        let total = seen.len();
        let key = |(n, i): &(usize, &QaItem)| {
            (
                i.status == QaStatus::Hidden,
                i.status != QaStatus::Pinned,
                std::cmp::Reverse(i.upvoters.len()),
                std::cmp::Reverse(i.at),
                std::cmp::Reverse(*n),
            )
        };
        let end = offset.saturating_add(limit).min(total);
        if offset >= end {
            return (Vec::new(), total);
        }
        // Only the first `end` need to be in order.
        if end < total {
            seen.select_nth_unstable_by_key(end - 1, key);
            seen.truncate(end);
        }
        seen.sort_unstable_by_key(key);
        (seen[offset..].iter().map(|(_, i)| *i).collect(), total)
    }
}

/// A translation as the board keeps it (trimmed), or why it cannot be.
pub fn checked_translation(text: &str) -> Result<&str> {
    let text = text.trim();
    super::check_text("text", text, super::links::MAX_TRANSLATION)?;
    Ok(text)
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
            20,
        )
        .unwrap();
        id
    }

    #[test]
    fn translations_are_for_public_items_and_checked() {
        let mut b = Board::default();
        let id = ask(&mut b, 0, true);
        let code = |r: Result<bool>| r.unwrap_err().code;
        assert_eq!(
            code(b.translate(id, "fr", "Comment ?")),
            ErrorCode::NotFound
        );
        b.set_status(id, QaStatus::Approved).unwrap();
        assert_eq!(code(b.translate(id, "fr", "  ")), ErrorCode::BadRequest);
        assert_eq!(
            code(b.translate(id, "fr", &"x".repeat(501))),
            ErrorCode::TooLarge
        );
        assert!(b.translate(id, "fr", " Comment garder la main ? ").unwrap());
        assert!(!b.translate(id, "fr", "Comment garder la main ?").unwrap());
        assert!(b.translate(id, "es", "¿Cómo?").unwrap());
        let t = &b.item(id).unwrap().translations;
        assert_eq!(
            t.get("fr").map(String::as_str),
            Some("Comment garder la main ?")
        );
        assert_eq!(t.len(), 2);
        b.set_status(id, QaStatus::Hidden).unwrap();
        assert_eq!(code(b.translate(id, "fr", "Non")), ErrorCode::NotFound);
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
            b.ask(Uuid::new_v4(), 0, &long, None, 0, false, 10, 10)
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
        assert_eq!(
            b.ask(Uuid::new_v4(), 0, "  ", None, 0, false, 10, 10)
                .unwrap_err()
                .code,
            ErrorCode::BadRequest
        );
        let name = "n".repeat(61);
        assert_eq!(
            b.ask(Uuid::new_v4(), 0, "ok", Some(&name), 0, false, 10, 10)
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
        ask(&mut b, 0, false);
        assert_eq!(
            b.ask(Uuid::new_v4(), 0, "one more", None, 0, false, 1, 10)
                .unwrap_err()
                .code,
            ErrorCode::LimitReached
        );
    }

    #[test]
    fn one_participant_holds_at_most_its_share_hidden_items_included() {
        let mut b = Board::default();
        let first = ask(&mut b, 7, false);
        ask(&mut b, 7, false);
        let third = |b: &mut Board, who| {
            b.ask(Uuid::new_v4(), who, "again", None, 0, false, 100, 2)
                .map(|i| i.id)
        };
        assert_eq!(third(&mut b, 7).unwrap_err().code, ErrorCode::LimitReached);
        assert_eq!(b.hide_author(first).unwrap().len(), 2);
        assert_eq!(third(&mut b, 7).unwrap_err().code, ErrorCode::LimitReached);
        assert!(third(&mut b, 8).is_ok(), "another participant still asks");
    }

    #[test]
    fn hide_author_hides_every_item_of_that_author_only() {
        let mut b = Board::default();
        let spam: Vec<Uuid> = (0..5).map(|_| ask(&mut b, 1, false)).collect();
        let kept = ask(&mut b, 2, false);
        b.set_status(spam[3], QaStatus::Hidden).unwrap();
        let changed = b.hide_author(spam[0]).unwrap();
        assert_eq!(changed.len(), 4, "the one already hidden is not counted");
        assert!(spam
            .iter()
            .all(|id| b.item(*id).unwrap().status == QaStatus::Hidden));
        assert_eq!(b.item(kept).unwrap().status, QaStatus::Approved);
        let (public, total) = b.page(false, None, 0, 100);
        assert_eq!((public.len(), total), (1, 1));
        assert_eq!(
            b.hide_author(Uuid::new_v4()).unwrap_err().code,
            ErrorCode::NotFound
        );
    }

    #[test]
    fn pages_follow_the_board_order_and_cover_every_item_once() {
        let mut b = Board::default();
        let mut ids = Vec::new();
        for n in 0..30u32 {
            let id = Uuid::new_v4();
            b.ask(id, n, "q", None, i64::from(n / 2), n % 3 == 0, 100, 20)
                .unwrap();
            ids.push(id);
        }
        // Upvotes on a few approved items; one pinned; one hidden.
        for (k, voters) in [(1usize, 3u32), (2, 5), (4, 1)] {
            for p in 0..voters {
                b.upvote(ids[k], 100 + p, true).unwrap();
            }
        }
        b.set_status(ids[7], QaStatus::Pinned).unwrap();
        b.set_status(ids[8], QaStatus::Hidden).unwrap();
        let (all, total) = b.page(true, None, 0, 100);
        assert_eq!(total, 30);
        let order: Vec<Uuid> = all.iter().map(|i| i.id).collect();
        assert_eq!(&order[..4], &[ids[7], ids[2], ids[1], ids[4]]);
        assert_eq!(order[29], ids[8], "hidden last");
        // Then newest first: item 29 (at 14) before 28 (same time, asked earlier).
        let rest: Vec<Uuid> = order[4..29].to_vec();
        assert_eq!(rest[0], ids[29]);
        assert_eq!(rest[1], ids[28]);
        let mut paged = Vec::new();
        for offset in (0..40).step_by(7) {
            let (page, t) = b.page(true, None, offset, 7);
            assert_eq!(t, 30);
            paged.extend(page.iter().map(|i| i.id));
        }
        assert_eq!(paged, order);
        // The public sees the approved, pinned and answered items only.
        let (public, t) = b.page(false, None, 0, 100);
        assert_eq!(t, public.len());
        assert!(public.iter().all(|i| i.status.is_public()));
        // An author also sees their own pending item.
        let (own, t3) = b.page(false, Some(3), 0, 100);
        assert_eq!(t3, t + 1);
        assert!(own.iter().any(|i| i.id == ids[3]));
    }
}
