//! Links for every role: the moderator hands out a part of the work (run
//! the polls from a phone, moderate the questions from the floor, translate
//! them, read the results) without sharing the moderator token. Each link
//! has its own token and a `Scope`; `Scope::may` is the one table of what
//! each scope may do, read by every HTTP route and every socket message.

use uuid::Uuid;

use crate::error::{Error, Result};

/// The links a session holds at most (`limit_reached` past it).
pub const MAX_LINKS: usize = 50;
/// Characters of a link's label.
pub const MAX_LINK_LABEL: usize = 100;
/// Characters of a Q&A item's translation.
pub const MAX_TRANSLATION: usize = 500;

/// A language tag, checked as a question's translations are.
pub fn check_lang(tag: &str) -> Result<()> {
    super::question::check_language_tag(tag).map_err(|_| {
        Error::bad_request(format!(
            "lang: {tag:?} is not a language tag like \"fr\" or \"pt-BR\""
        ))
    })
}

/// What a token lets its holder do in a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The session's own moderator token: everything.
    Moderator,
    /// Everything the moderator does, but links and deleting the session.
    Cohost,
    /// The remote and the clicker: what is on screen, open, close, reveal.
    Presenter,
    /// The questions from the floor: pending items, their status.
    QaModerator,
    /// Approved questions from the floor, and their translation into the
    /// link's language.
    Interpreter,
    /// The results and their downloads, read only; no socket.
    Results,
}

/// Everything a moderator-side caller may ask for, as `Scope::may` judges
/// it. Each HTTP route and socket message names one (or more).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The polls as the staff see them: drafts, quiz answers, every tally.
    SeePolls,
    /// Q&A items still waiting for approval.
    SeePendingQa,
    /// Open the console's socket.
    Connect,
    AddQuestion,
    EditQuestion,
    MoveQuestion,
    DeleteQuestion,
    Reset,
    HideEntry,
    Open,
    Close,
    Reveal,
    Hide,
    Present,
    Breakdown,
    QaStatus,
    QaHideAuthor,
    /// The `qa_moderation` setting.
    QaModeration,
    /// The title and every other setting.
    Settings,
    QaTranslate,
    /// `GET` results, export.csv, report.html.
    ReadResults,
    /// The deck download: the session's questions.
    ReadContent,
    /// The journal download: every record, the session's secrets (the
    /// moderator's and the links' tokens) with them.
    ReadJournal,
    ManageLinks,
    DeleteSession,
    /// An action this table does not name: the moderator's and cohosts'.
    Other,
}

impl Scope {
    /// The scopes a link may carry, by the name the wire uses.
    pub fn parse_link_role(s: &str) -> Option<Scope> {
        Some(match s {
            "cohost" => Scope::Cohost,
            "presenter" => Scope::Presenter,
            "qa_moderator" => Scope::QaModerator,
            "interpreter" => Scope::Interpreter,
            "results" => Scope::Results,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Moderator => "moderator",
            Scope::Cohost => "cohost",
            Scope::Presenter => "presenter",
            Scope::QaModerator => "qa_moderator",
            Scope::Interpreter => "interpreter",
            Scope::Results => "results",
        }
    }

    /// The table of the contract (v1.2, "Links for every role").
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Scope::Moderator => true,
            // The journal holds the moderator token: a cohost reading it
            // would be the moderator.
            Scope::Cohost => !matches!(action, ManageLinks | DeleteSession | ReadJournal),
            Scope::Presenter => matches!(
                action,
                SeePolls | Connect | Open | Close | Reveal | Hide | Present | Breakdown
            ),
            Scope::QaModerator => matches!(
                action,
                SeePendingQa | Connect | QaStatus | QaHideAuthor | QaModeration
            ),
            Scope::Interpreter => matches!(action, Connect | QaTranslate),
            Scope::Results => matches!(action, ReadResults),
        }
    }

    /// Whether every one of `actions` is allowed.
    pub fn may_all(self, actions: &[Action]) -> bool {
        actions.iter().all(|a| self.may(*a))
    }
}

/// What a caller holding a token may do: its scope, and the link it came
/// by (none for the moderator token), with the link's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub scope: Scope,
    pub link: Option<Uuid>,
    pub lang: Option<String>,
}

impl Access {
    /// The session's own moderator.
    pub fn owner() -> Access {
        Access {
            scope: Scope::Moderator,
            link: None,
            lang: None,
        }
    }

    pub fn of_link(link: &Link) -> Access {
        Access {
            scope: link.scope,
            link: Some(link.id),
            lang: link.lang.clone(),
        }
    }

    pub fn may(&self, action: Action) -> bool {
        self.scope.may(action)
    }

    /// `forbidden` unless every one of `actions` is allowed.
    pub fn check(&self, actions: &[Action]) -> Result<()> {
        if self.scope.may_all(actions) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "a {} link may not do this",
                self.scope.as_str()
            )))
        }
    }
}

/// One link handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub id: Uuid,
    pub scope: Scope,
    /// Who it is for ("Chair", "Rapporteur"), if given.
    pub label: Option<String>,
    /// An interpreter's language tag.
    pub lang: Option<String>,
    /// The link's secret, used where the moderator token is.
    pub token: String,
    /// When it was made (ms since the epoch).
    pub at: i64,
}

impl Link {
    /// A link as asked for, checked: a role links may carry, a label of at
    /// most `MAX_LINK_LABEL` characters (an empty one is none), a language
    /// tag for an interpreter and for no one else.
    pub fn checked(
        id: Uuid,
        role: &str,
        label: Option<&str>,
        lang: Option<&str>,
        token: String,
        at: i64,
    ) -> Result<Link> {
        let scope = Scope::parse_link_role(role).ok_or_else(|| {
            Error::bad_request(format!(
                "unknown role {role:?}; the roles are cohost, presenter, qa_moderator, \
                 interpreter, results"
            ))
        })?;
        let label = label.map(str::trim).filter(|l| !l.is_empty());
        if let Some(l) = label {
            super::check_text("label", l, MAX_LINK_LABEL)?;
        }
        let lang = match (scope, lang) {
            (Scope::Interpreter, Some(tag)) => {
                check_lang(tag)?;
                Some(tag.to_owned())
            }
            (Scope::Interpreter, None) => {
                return Err(Error::bad_request(
                    "an interpreter's link needs lang, the language it translates into",
                ))
            }
            (_, Some(_)) => return Err(Error::bad_request("lang is for interpreters' links only")),
            (_, None) => None,
        };
        Ok(Link {
            id,
            scope,
            label: label.map(str::to_owned),
            lang,
            token,
            at,
        })
    }
}

/// The links of one session, oldest first. A revoked link is gone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    items: Vec<Link>,
}

impl Links {
    pub fn items(&self) -> &[Link] {
        &self.items
    }

    pub fn get(&self, id: Uuid) -> Option<&Link> {
        self.items.iter().find(|l| l.id == id)
    }

    /// Whether one more link fits under `max`; `limit_reached` if not.
    pub fn check_room(&self, max: usize) -> Result<()> {
        if self.items.len() >= max {
            return Err(Error::limit_reached(format!(
                "a session holds at most {max} links; revoke one first"
            )));
        }
        Ok(())
    }

    /// Adds a checked link; `max` caps how many there are.
    pub fn add(&mut self, link: Link, max: usize) -> Result<()> {
        self.check_room(max)?;
        if self.get(link.id).is_some() {
            return Err(Error::bad_request(format!("link {} exists", link.id)));
        }
        self.items.push(link);
        Ok(())
    }

    /// Revokes a link: its token works no more.
    pub fn revoke(&mut self, id: Uuid) -> Result<Link> {
        let i = self
            .items
            .iter()
            .position(|l| l.id == id)
            .ok_or_else(|| Error::not_found(format!("no link {id}")))?;
        Ok(self.items.remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn link(role: &str, lang: Option<&str>) -> Result<Link> {
        Link::checked(Uuid::new_v4(), role, Some(" Chair "), lang, "t".into(), 5)
    }

    #[test]
    fn each_scope_may_do_what_the_table_says_and_nothing_else() {
        use Action::*;
        let all = [
            SeePolls,
            SeePendingQa,
            Connect,
            AddQuestion,
            EditQuestion,
            MoveQuestion,
            DeleteQuestion,
            Reset,
            HideEntry,
            Open,
            Close,
            Reveal,
            Hide,
            Present,
            Breakdown,
            QaStatus,
            QaHideAuthor,
            QaModeration,
            Settings,
            QaTranslate,
            ReadResults,
            ReadContent,
            ReadJournal,
            ManageLinks,
            DeleteSession,
            Other,
        ];
        let allowed =
            |s: Scope| -> Vec<Action> { all.iter().copied().filter(|a| s.may(*a)).collect() };
        assert_eq!(allowed(Scope::Moderator), all.to_vec());
        assert_eq!(allowed(Scope::Cohost).len(), all.len() - 3);
        assert!(!Scope::Cohost.may(ManageLinks) && !Scope::Cohost.may(DeleteSession));
        assert!(
            !Scope::Cohost.may(ReadJournal),
            "the journal holds the moderator token"
        );
        assert_eq!(
            allowed(Scope::Presenter),
            vec![SeePolls, Connect, Open, Close, Reveal, Hide, Present, Breakdown]
        );
        assert_eq!(
            allowed(Scope::QaModerator),
            vec![SeePendingQa, Connect, QaStatus, QaHideAuthor, QaModeration]
        );
        assert_eq!(allowed(Scope::Interpreter), vec![Connect, QaTranslate]);
        assert_eq!(allowed(Scope::Results), vec![ReadResults]);
        assert!(!Scope::Presenter.may_all(&[Open, AddQuestion]));
        assert!(Scope::Presenter.may_all(&[Open, Close]));
    }

    #[test]
    fn links_are_checked_as_they_are_made() {
        let l = link("presenter", None).unwrap();
        assert_eq!(
            (l.scope, l.label.as_deref()),
            (Scope::Presenter, Some("Chair"))
        );
        let code = |r: Result<Link>| r.unwrap_err().code;
        assert_eq!(code(link("moderator", None)), ErrorCode::BadRequest);
        assert_eq!(code(link("owner", None)), ErrorCode::BadRequest);
        assert_eq!(code(link("interpreter", None)), ErrorCode::BadRequest);
        assert_eq!(
            code(link("interpreter", Some("f r"))),
            ErrorCode::BadRequest
        );
        assert_eq!(code(link("presenter", Some("fr"))), ErrorCode::BadRequest);
        let i = link("interpreter", Some("pt-BR")).unwrap();
        assert_eq!(i.lang.as_deref(), Some("pt-BR"));
        let long = "x".repeat(MAX_LINK_LABEL + 1);
        let r = Link::checked(Uuid::new_v4(), "results", Some(&long), None, "t".into(), 0);
        assert_eq!(code(r), ErrorCode::TooLarge);
    }

    #[test]
    fn a_session_holds_a_bounded_number_of_links_and_revoked_ones_go() {
        let mut links = Links::default();
        let a = link("cohost", None).unwrap();
        let b = link("results", None).unwrap();
        links.add(a.clone(), 2).unwrap();
        links.add(b.clone(), 2).unwrap();
        let c = link("presenter", None).unwrap();
        assert_eq!(
            links.add(c.clone(), 2).unwrap_err().code,
            ErrorCode::LimitReached
        );
        assert_eq!(links.revoke(a.id).unwrap(), a);
        assert_eq!(links.revoke(a.id).unwrap_err().code, ErrorCode::NotFound);
        links.add(c, 2).unwrap();
        assert_eq!(links.items().len(), 2);
        assert!(links.get(b.id).is_some());
    }
}
