//! Changes of state as typed events, and `Session::apply`, the one place an
//! event becomes a change of a session. The live server applies each change
//! through it before it is logged; replay (from the journal or the shared
//! log) applies the logged events through it again, so both reach the same
//! state.
//!
//! Each event carries every input its operation needs (ids, times, tokens):
//! applying it needs no clock and no randomness. How events are written
//! down is the store's business (`store::records`).

use uuid::Uuid;

use super::links::{Link, Scope};
use super::qa::QaStatus;
use super::{Choice, Limits, QuestionSpec, QuestionState, RawChoice, Session};
use crate::error::{Error, ErrorCode, Result};

/// One change of state of a session.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A new session; with `Ended`, a change of the set of sessions rather
    /// than of one session.
    Created {
        id: Uuid,
        code: String,
        title: String,
        token: String,
        qa_moderation: bool,
        at: i64,
    },
    Title {
        code: String,
        title: String,
    },
    /// Settings changed; a setting that is None stays as it was.
    Settings {
        code: String,
        qa_moderation: Option<bool>,
        show_digest: Option<bool>,
        min_group: Option<u32>,
        public_summary: Option<bool>,
    },
    Added {
        code: String,
        q: Uuid,
        spec: QuestionSpec,
    },
    Updated {
        code: String,
        q: Uuid,
        spec: QuestionSpec,
    },
    Moved {
        code: String,
        q: Uuid,
        index: usize,
    },
    Deleted {
        code: String,
        q: Uuid,
    },
    Opened {
        code: String,
        q: Uuid,
        at: i64,
        duration_ms: Option<i64>,
    },
    Closed {
        code: String,
        q: Uuid,
    },
    TimerClosed {
        code: String,
        q: Uuid,
        at: i64,
    },
    Visible {
        code: String,
        q: Uuid,
        visible: bool,
    },
    Reset {
        code: String,
        q: Uuid,
    },
    Present {
        code: String,
        q: Option<Uuid>,
    },
    PresentQa {
        code: String,
    },
    Joined {
        code: String,
        p: Uuid,
        token: String,
        at: i64,
    },
    /// A ballot of participant `p`, as sent. `entry` is the id and time of
    /// an `open` answer; other ballots are applied at time 0 (the deadline
    /// of a timed question was checked when the ballot was cast).
    Vote {
        code: String,
        p: u32,
        q: Uuid,
        choice: RawChoice,
        entry: Option<(Uuid, i64)>,
    },
    Retract {
        code: String,
        p: u32,
        q: Uuid,
    },
    /// Hides an `open` answer. `p` and `text` (its author and normalised
    /// text) are set where the ballots are not in the session (cluster mode)
    /// and in snapshots: the same text from that author stays hidden.
    HideEntry {
        code: String,
        q: Uuid,
        entry: Uuid,
        p: Option<u32>,
        text: Option<String>,
    },
    Ended {
        code: String,
    },
    Asked {
        code: String,
        item: Uuid,
        p: u32,
        text: String,
        name: Option<String>,
        at: i64,
        pending: bool,
    },
    Upvoted {
        code: String,
        item: Uuid,
        p: u32,
        up: bool,
    },
    QaSet {
        code: String,
        item: Uuid,
        status: QaStatus,
    },
    /// Hides every Q&A item by the author of `item`.
    QaHideAuthor {
        code: String,
        item: Uuid,
    },
    /// Question `q` is shown broken down by segment question `by` (None:
    /// not broken down).
    Breakdown {
        code: String,
        q: Uuid,
        by: Option<Uuid>,
    },
    /// A link handed out for a part of the work (see `links`).
    LinkAdded {
        code: String,
        id: Uuid,
        scope: Scope,
        label: Option<String>,
        lang: Option<String>,
        token: String,
        at: i64,
    },
    /// A link revoked: its token works no more.
    LinkRevoked {
        code: String,
        id: Uuid,
    },
    /// An interpreter's translation of a Q&A item into `lang`.
    QaTranslated {
        code: String,
        item: Uuid,
        lang: String,
        text: String,
    },
}

impl Event {
    /// The session the event belongs to.
    pub fn code(&self) -> &str {
        use Event::*;
        match self {
            Created { code, .. }
            | Title { code, .. }
            | Settings { code, .. }
            | Added { code, .. }
            | Updated { code, .. }
            | Moved { code, .. }
            | Deleted { code, .. }
            | Opened { code, .. }
            | Closed { code, .. }
            | TimerClosed { code, .. }
            | Visible { code, .. }
            | Reset { code, .. }
            | Present { code, .. }
            | PresentQa { code }
            | Joined { code, .. }
            | Vote { code, .. }
            | Retract { code, .. }
            | HideEntry { code, .. }
            | Ended { code }
            | Asked { code, .. }
            | Upvoted { code, .. }
            | QaSet { code, .. }
            | QaHideAuthor { code, .. }
            | Breakdown { code, .. }
            | LinkAdded { code, .. }
            | LinkRevoked { code, .. }
            | QaTranslated { code, .. } => code,
        }
    }
}

/// What applying an event did, for the callers that react to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The event changed nothing (a timer that was not due, an upvote that
    /// was already there, a retraction of no ballot, ...).
    Nothing,
    /// The session changed.
    Changed,
    /// A reset: the participants whose ballot it deleted.
    Cleared(Vec<u32>),
    /// Q&A items whose status changed.
    Items(Vec<Uuid>),
}

/// The largest anonymity floor a session may set.
pub const MAX_MIN_GROUP: u32 = 1000;

/// An anonymity floor from 1 (off) to `MAX_MIN_GROUP`.
pub fn check_min_group(n: u32) -> Result<u32> {
    if (1..=MAX_MIN_GROUP).contains(&n) {
        Ok(n)
    } else {
        Err(Error::bad_request(format!(
            "min_group must be from 1 (no floor) to {MAX_MIN_GROUP}, not {n}"
        )))
    }
}

impl Session {
    /// Applies one event of this session through its domain operation.
    /// `Created` and `Ended` concern the set of sessions and are refused.
    /// Q&A items are held to `limits` too: a replay passes limits without
    /// bounds on them, so that what was accepted is replayed.
    pub fn apply(&mut self, ev: &Event, limits: &Limits) -> Result<Applied> {
        use Applied::{Changed, Nothing};
        use Event::*;
        let changed = |b: bool| if b { Changed } else { Nothing };
        Ok(match ev {
            Title { title, .. } => {
                self.set_title(title.clone(), limits)?;
                Changed
            }
            Settings {
                qa_moderation,
                show_digest,
                min_group,
                public_summary,
                ..
            } => {
                let set = &mut self.settings;
                if let Some(on) = qa_moderation {
                    set.qa_moderation = *on;
                }
                if let Some(on) = show_digest {
                    set.show_digest = *on;
                }
                if let Some(n) = min_group {
                    set.min_group = check_min_group(*n)?;
                }
                if let Some(on) = public_summary {
                    set.public_summary = *on;
                }
                Changed
            }
            Added { q, spec, .. } => {
                self.add_question(*q, spec.clone(), limits)?;
                Changed
            }
            Updated { q, spec, .. } => {
                self.update_question(*q, spec.clone(), limits)?;
                Changed
            }
            Moved { q, index, .. } => {
                self.move_question(*q, *index)?;
                Changed
            }
            Deleted { q, .. } => {
                self.delete_question(*q)?;
                Changed
            }
            Opened {
                q, at, duration_ms, ..
            } => {
                self.open(*q, *at, *duration_ms)?;
                Changed
            }
            Closed { q, .. } => {
                self.close(*q)?;
                Changed
            }
            TimerClosed { q, at, .. } => changed(self.close_if_due(*q, *at)),
            Visible { q, visible, .. } => {
                self.set_results_visible(*q, *visible)?;
                Changed
            }
            Reset { q, .. } => Applied::Cleared(self.reset(*q)?),
            Breakdown { q, by, .. } => {
                self.set_breakdown(*q, *by)?;
                Changed
            }
            Present { q, .. } => {
                self.present(*q)?;
                Changed
            }
            PresentQa { .. } => {
                self.present_qa();
                Changed
            }
            Joined { p, token, at, .. } => {
                self.join(*p, token.clone(), *at, limits)?;
                Changed
            }
            Vote {
                p,
                q,
                choice,
                entry,
                ..
            } => {
                self.vote(*p, *q, choice.clone(), entry.unwrap_or((Uuid::nil(), 0)))?;
                Changed
            }
            Retract { p, q, .. } => changed(self.retract(*p, *q)?),
            HideEntry {
                q, entry, p, text, ..
            } => {
                match (p, text) {
                    (Some(p), Some(text)) => {
                        self.hide_text(*q, *p, text)?;
                        // The ballot may be elsewhere (in Redis, in cluster
                        // mode), or gone (a snapshot names no entry).
                        if !entry.is_nil() {
                            match self.hide_entry(*q, *entry) {
                                Err(e) if e.code == ErrorCode::NotFound => {}
                                other => {
                                    other?;
                                }
                            }
                        }
                    }
                    _ => {
                        self.hide_entry(*q, *entry)?;
                    }
                }
                Changed
            }
            Asked {
                item,
                p,
                text,
                name,
                at,
                pending,
                ..
            } => {
                self.qa.ask(
                    *item,
                    *p,
                    text,
                    name.as_deref(),
                    *at,
                    *pending,
                    limits.max_qa_items,
                    limits.max_qa_per_participant,
                )?;
                Changed
            }
            Upvoted { item, p, up, .. } => changed(self.qa.upvote(*item, *p, *up)?),
            QaSet { item, status, .. } => Applied::Items(self.qa.set_status(*item, *status)?),
            QaHideAuthor { item, .. } => {
                let items = self.qa.hide_author(*item)?;
                if items.is_empty() {
                    Nothing
                } else {
                    Applied::Items(items)
                }
            }
            LinkAdded {
                id,
                scope,
                label,
                lang,
                token,
                at,
                ..
            } => {
                let link = Link {
                    id: *id,
                    scope: *scope,
                    label: label.clone(),
                    lang: lang.clone(),
                    token: token.clone(),
                    at: *at,
                };
                self.links.add(link, limits.max_links)?;
                Changed
            }
            LinkRevoked { id, .. } => {
                self.links.revoke(*id)?;
                Changed
            }
            QaTranslated {
                item, lang, text, ..
            } => {
                if self.qa.translate(*item, lang, text)? {
                    Applied::Items(vec![*item])
                } else {
                    Nothing
                }
            }
            Created { .. } | Ended { .. } => {
                return Err(Error::internal(
                    "a session-set event applied to one session",
                ))
            }
        })
    }
}

impl Choice {
    /// The choice as a phone sent it: checking it against its question
    /// again gives back this choice.
    pub fn raw(&self) -> RawChoice {
        let ints = |v: &[u8]| v.iter().map(|i| i64::from(*i)).collect();
        match self {
            Choice::Index(i) => RawChoice::Int(i64::from(*i)),
            Choice::Indices(is) => RawChoice::Ints(ints(is)),
            Choice::Value(v) => RawChoice::Int(i64::from(*v)),
            Choice::Words(ws) => RawChoice::Texts(ws.iter().map(|w| w.spelling.clone()).collect()),
            Choice::Text(e) => RawChoice::Text(e.text.clone()),
            Choice::Ranking(r) => RawChoice::Ints(ints(r)),
        }
    }
}

impl Session {
    /// The events that rebuild this session as it is now.
    pub fn snapshot_events(&self) -> Vec<Event> {
        let code = || self.code.clone();
        let mut out = vec![Event::Created {
            id: self.id,
            code: code(),
            title: self.title.clone(),
            token: self.moderator_token.clone(),
            qa_moderation: self.settings.qa_moderation,
            at: self.created_at,
        }];
        // Settings that came after the creation record, written only when
        // set, so a session without them snapshots as before.
        let set = super::SettingsChange::beyond_creation(&self.settings);
        if !set.is_empty() {
            out.push(Event::Settings {
                code: code(),
                qa_moderation: None,
                show_digest: set.show_digest,
                min_group: set.min_group,
                public_summary: set.public_summary,
            });
        }
        for p in self.participants() {
            out.push(Event::Joined {
                code: code(),
                p: p.id,
                token: p.token.clone(),
                at: p.joined_at,
            });
        }
        for q in self.questions() {
            out.push(Event::Added {
                code: code(),
                q: q.id,
                spec: q.spec.clone(),
            });
            if q.state == QuestionState::Draft {
                continue;
            }
            // Ballots are cast while open; the state is set after them.
            out.push(Event::Opened {
                code: code(),
                q: q.id,
                at: q.closes_at.unwrap_or(0),
                duration_ms: q.closes_at.map(|_| 0),
            });
            let mut ballots: Vec<(u32, &Choice)> = q.ballots().collect();
            ballots.sort_by_key(|(p, _)| *p);
            let mut hidden = Vec::new();
            for (p, c) in ballots {
                let entry = match c {
                    Choice::Text(e) => {
                        if e.hidden {
                            hidden.push(e.id);
                        }
                        Some((e.id, e.at))
                    }
                    _ => None,
                };
                out.push(Event::Vote {
                    code: code(),
                    p,
                    q: q.id,
                    choice: c.raw(),
                    entry,
                });
            }
            for entry in hidden {
                out.push(Event::HideEntry {
                    code: code(),
                    q: q.id,
                    entry,
                    p: None,
                    text: None,
                });
            }
            // The texts hidden before, whether or not a ballot holds them now.
            let mut texts: Vec<&(u32, String)> = q.hidden_texts().collect();
            texts.sort();
            for (p, text) in texts {
                out.push(Event::HideEntry {
                    code: code(),
                    q: q.id,
                    entry: Uuid::nil(),
                    p: Some(*p),
                    text: Some(text.clone()),
                });
            }
            if q.state == QuestionState::Closed {
                out.push(Event::Closed {
                    code: code(),
                    q: q.id,
                });
            }
            if q.results_visible {
                out.push(Event::Visible {
                    code: code(),
                    q: q.id,
                    visible: true,
                });
            }
        }
        // A breakdown names a segment that may come later in the order.
        for q in self.questions() {
            if q.by.is_some() {
                out.push(Event::Breakdown {
                    code: code(),
                    q: q.id,
                    by: q.by,
                });
            }
        }
        for item in self.qa.items() {
            out.push(Event::Asked {
                code: code(),
                item: item.id,
                p: item.author,
                text: item.text.clone(),
                name: item.name.clone(),
                at: item.at,
                pending: item.status == QaStatus::Pending,
            });
            let mut upvoters: Vec<u32> = item.upvoters.iter().copied().collect();
            upvoters.sort_unstable();
            // Upvotes go in while the item is approved (a pending item has
            // none), then the status is set.
            for p in upvoters {
                out.push(Event::Upvoted {
                    code: code(),
                    item: item.id,
                    p,
                    up: true,
                });
            }
            // Translations go in while the item is approved (only public
            // items have them), before a later status hides it.
            for (lang, text) in &item.translations {
                out.push(Event::QaTranslated {
                    code: code(),
                    item: item.id,
                    lang: lang.clone(),
                    text: text.clone(),
                });
            }
            if !matches!(item.status, QaStatus::Approved | QaStatus::Pending) {
                out.push(Event::QaSet {
                    code: code(),
                    item: item.id,
                    status: item.status,
                });
            }
        }
        for link in self.links.items() {
            out.push(Event::LinkAdded {
                code: code(),
                id: link.id,
                scope: link.scope,
                label: link.label.clone(),
                lang: link.lang.clone(),
                token: link.token.clone(),
                at: link.at,
            });
        }
        if self.qa_on_screen {
            out.push(Event::PresentQa { code: code() });
        } else if self.current.is_some() {
            out.push(Event::Present {
                code: code(),
                q: self.current,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kind, OptionItem, Settings};

    fn session() -> Session {
        Session::new(
            Uuid::from_u128(1),
            "123456".into(),
            "Panel".into(),
            "mod".into(),
            Settings::default(),
            0,
            &Limits::default(),
        )
        .unwrap()
    }

    fn spec() -> QuestionSpec {
        QuestionSpec {
            prompt: "Which?".into(),
            kind: Kind::Single {
                options: ["A", "B"]
                    .iter()
                    .map(|l| OptionItem {
                        label: l.to_string(),
                        colour: None,
                    })
                    .collect(),
                correct: None,
            },
            translations: Default::default(),
            segment: false,
        }
    }

    #[test]
    fn the_events_of_a_session_rebuild_it() {
        let limits = Limits::default();
        let code = || "123456".to_owned();
        let q = Uuid::from_u128(7);
        let mut s = session();
        for ev in [
            Event::Added {
                code: code(),
                q,
                spec: spec(),
            },
            Event::Opened {
                code: code(),
                q,
                at: 1,
                duration_ms: None,
            },
            Event::Joined {
                code: code(),
                p: Uuid::from_u128(100),
                token: "p0".into(),
                at: 2,
            },
            Event::Vote {
                code: code(),
                p: 0,
                q,
                choice: RawChoice::Int(1),
                entry: None,
            },
        ] {
            assert_eq!(s.apply(&ev, &limits).unwrap(), Applied::Changed);
        }
        let events = s.snapshot_events();
        let Event::Created { .. } = &events[0] else {
            panic!("a snapshot starts with the creation")
        };
        let mut again = session();
        for ev in &events[1..] {
            again.apply(ev, &limits).unwrap();
        }
        assert_eq!(again.snapshot_events(), events);
        assert_eq!(again.question(q).unwrap().tally().voters, 1);
    }

    #[test]
    fn what_changes_nothing_says_so() {
        let limits = Limits::default();
        let code = || "123456".to_owned();
        let q = Uuid::from_u128(7);
        let mut s = session();
        s.apply(
            &Event::Added {
                code: code(),
                q,
                spec: spec(),
            },
            &limits,
        )
        .unwrap();
        s.apply(
            &Event::Opened {
                code: code(),
                q,
                at: 1,
                duration_ms: Some(1000),
            },
            &limits,
        )
        .unwrap();
        let early = Event::TimerClosed {
            code: code(),
            q,
            at: 500,
        };
        assert_eq!(s.apply(&early, &limits).unwrap(), Applied::Nothing);
        let retract = Event::Retract {
            code: code(),
            p: 0,
            q,
        };
        assert_eq!(s.apply(&retract, &limits).unwrap(), Applied::Nothing);
        let ended = Event::Ended { code: code() };
        assert!(
            s.apply(&ended, &limits).is_err(),
            "not an event of one session"
        );
    }
}
