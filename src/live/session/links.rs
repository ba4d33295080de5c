//! Links for every role: who a token is (the moderator, a link's scope),
//! links made and revoked, what each staff connection is sent, and the
//! interpreters' translations.

use std::sync::Arc;

use uuid::Uuid;

use crate::domain::links::{Access, Action, Link};
use crate::domain::Event;
use crate::error::{Error, Result};
use crate::live::outbox::Close;
use crate::live::secrets::{new_token, token_eq};
use crate::protocol::Role;

use super::*;

/// The length of every token `new_token` makes (256 bits, base64 without
/// padding).
const TOKEN_CHARS: usize = 43;

/// The close a revoked link's sockets get.
pub const CLOSE_REVOKED: Close = Close {
    code: 4401,
    reason: "link revoked",
};

impl ConnEntry {
    /// A staff connection allowed `action` (the audience and the projector
    /// never are: they see what the public sees).
    pub(super) fn may(&self, action: Action) -> bool {
        self.role == Role::Moderator && self.access.as_ref().is_some_and(|a| a.may(action))
    }

    /// Sent drafts, quiz answers and every tally.
    pub(super) fn sees_polls(&self) -> bool {
        self.may(Action::SeePolls)
    }

    /// Sent Q&A items that wait for approval.
    pub(super) fn sees_pending_qa(&self) -> bool {
        self.may(Action::SeePendingQa)
    }
}

impl LiveSession {
    /// Who holds `token`, as this copy of the session knows: the moderator,
    /// a link; `forbidden` for a participant, else `unauthorized`.
    pub(super) fn access_in(st: &State, token: Option<&str>) -> Result<Access> {
        let s = &st.session;
        let Some(t) = token else {
            return Err(Error::unauthorized("wrong or missing moderator token"));
        };
        if token_eq(t, &s.moderator_token) {
            return Ok(Access::owner());
        }
        if let Some(link) = s.links.items().iter().find(|l| token_eq(t, &l.token)) {
            return Ok(Access::of_link(link));
        }
        if s.participant_by_token(t).is_some() {
            return Err(Error::forbidden("a participant may not do this"));
        }
        Err(Error::unauthorized("wrong or missing moderator token"))
    }

    /// Who holds `token` (see `access_in`). In cluster mode a link's token
    /// is judged after reading the shared log, so that a link made or
    /// revoked through another node counts here at once.
    pub async fn access(self: &Arc<Self>, token: Option<&str>) -> Result<Access> {
        if self.organiser(token) {
            return Ok(Access::owner());
        }
        let now = Self::access_in(&self.state.lock(), token);
        match now {
            Ok(a) if a.link.is_none() => return Ok(a),
            _ if !self.shared.storage.is_shared() => return now,
            // A token of another shape is no link's: it costs no read of
            // the log, whoever sends it.
            Err(_) if token.is_none_or(|t| t.len() != TOKEN_CHARS) => return now,
            _ => {}
        }
        self.catch_up(None).await?;
        Self::access_in(&self.state.lock(), token)
    }

    /// Whether `token` is the organiser token of the event this session
    /// belongs to: it acts as the moderator's.
    pub(super) fn organiser(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| self.shared.events.organises(&self.code, t))
    }

    /// Whether a link's access still holds (it was not revoked since).
    pub fn still_holds(&self, access: &Access) -> bool {
        match access.link {
            None => true,
            Some(id) => self.state.lock().session.links.get(id).is_some(),
        }
    }

    /// Makes a link: `role`, `label`, `lang` as asked for (checked).
    pub async fn mint_link(
        self: &Arc<Self>,
        role: &str,
        label: Option<&str>,
        lang: Option<&str>,
    ) -> Result<Link> {
        let link = Link::checked(Uuid::new_v4(), role, label, lang, new_token(), self.now())?;
        self.state
            .lock()
            .session
            .links
            .check_room(self.shared.limits.max_links)?;
        self.commit(Event::LinkAdded {
            code: self.code.clone(),
            id: link.id,
            scope: link.scope,
            label: link.label.clone(),
            lang: link.lang.clone(),
            token: link.token.clone(),
            at: link.at,
        })
        .await?;
        Ok(link)
    }

    /// Every link, oldest first (read after the shared log in cluster mode).
    pub async fn links(self: &Arc<Self>) -> Result<Vec<Link>> {
        self.catch_up(None).await?;
        Ok(self.state.lock().session.links.items().to_vec())
    }

    /// One link by id.
    pub async fn link(self: &Arc<Self>, id: Uuid) -> Result<Link> {
        self.catch_up(None).await?;
        self.state
            .lock()
            .session
            .links
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no link {id}")))
    }

    /// Revokes a link: its sockets close with 4401 (on every node, as each
    /// applies the revocation) and its token works no more.
    pub async fn revoke_link(self: &Arc<Self>, id: Uuid) -> Result<()> {
        if !self.shared.storage.is_shared() && self.state.lock().session.links.get(id).is_none() {
            return Err(Error::not_found(format!("no link {id}")));
        }
        self.commit(Event::LinkRevoked {
            code: self.code.clone(),
            id,
        })
        .await
    }

    /// Closes the sockets opened with a revoked link.
    pub(super) fn close_link(&self, st: &State, id: Uuid) {
        for c in st.conns.values() {
            if c.access.as_ref().is_some_and(|a| a.link == Some(id)) {
                c.outbox.close(CLOSE_REVOKED);
            }
        }
    }

    /// Translates an approved Q&A item. An interpreter translates into its
    /// link's language (`lang`, if given, must be it); the moderator and
    /// cohosts name the language.
    pub async fn translate(
        self: &Arc<Self>,
        access: &Access,
        item: Uuid,
        lang: Option<&str>,
        text: &str,
    ) -> Result<()> {
        access.check(&[Action::QaTranslate])?;
        let lang = match (&access.lang, lang) {
            (Some(own), Some(l)) if own != l => {
                return Err(Error::forbidden(format!(
                    "this link translates into {own}, not {l}"
                )))
            }
            (Some(own), _) => own.clone(),
            (None, Some(l)) => {
                crate::domain::links::check_lang(l)?;
                l.to_owned()
            }
            (None, None) => return Err(Error::bad_request("lang is required")),
        };
        let text = crate::domain::qa::checked_translation(text)?;
        if !self.shared.storage.is_shared() {
            let st = self.state.lock();
            if !st.session.qa.item(item)?.status.is_public() {
                return Err(Error::not_found(format!("no approved Q&A item {item}")));
            }
        }
        self.commit(Event::QaTranslated {
            code: self.code.clone(),
            item,
            lang,
            text: text.to_owned(),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_tokens_have_the_length_looked_for() {
        assert_eq!(super::new_token().len(), super::TOKEN_CHARS);
    }
}
