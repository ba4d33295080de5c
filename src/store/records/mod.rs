//! The records the store writes down: each change of state as JSON, in the
//! journal on disk and in a session's shared log in Redis. These types are
//! the storage format, owned here and converted to and from
//! `domain::Event`: the wire (`protocol`) can change without changing how an
//! old journal replays.
//!
//! Version 1 is the format journals have had from the start: one JSON
//! object per record, its kind in the tag `"e"`, the fields named as below.
//! It carries no version field: a record without `"v"` is of version 1. A
//! later version would write `"v"` in every record, and `decode` would read
//! each record by it. Records of version 1 are written byte for byte
//! as before (a question's fields in alphabetical order), so digests and
//! stored logs stay comparable.

mod spec;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::qa::QaStatus;
use crate::domain::Event;
use crate::error::{Error, Result};
pub(crate) use spec::{ChoiceV1, SpecV1};

/// The format this code writes.
pub const VERSION: u32 = 1;

/// One record: a change of a session, or an act of the store itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Event(Event),
    /// A whole session as the events that rebuild it; replaces the session.
    Snapshot {
        code: String,
        /// The session's chain hash before this record, hex.
        prev: String,
        events: Vec<Event>,
        /// When the session was last active (ms): its time-to-live counts
        /// from there after a restart.
        active: Option<i64>,
    },
    /// Every session of a compaction has its snapshot in `segment`.
    Compacted {
        segment: u64,
    },
}

impl From<Event> for Record {
    fn from(ev: Event) -> Record {
        Record::Event(ev)
    }
}

/// The JSON of a record.
pub fn encode(rec: &Record) -> Vec<u8> {
    serde_json::to_vec(&V1::from(rec)).expect("a record serialises")
}

/// A record read back (the JSON of any version this code knows).
pub fn decode(json: &[u8]) -> Result<Record> {
    V1::parse(json)
        .map_err(|e| Error::internal(format!("an unreadable record: {e}")))?
        .into_record()
}

/// Version 1, as on disk. Fields in the order they have always been written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub(crate) enum V1 {
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
    /// Older records always carry `qa_moderation`; a setting left unchanged
    /// is not written.
    Settings {
        code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qa_moderation: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        show_digest: Option<bool>,
    },
    Added {
        code: String,
        q: Uuid,
        spec: SpecV1,
    },
    Updated {
        code: String,
        q: Uuid,
        spec: SpecV1,
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
        #[serde(default)]
        at: i64,
    },
    Vote {
        code: String,
        p: u32,
        q: Uuid,
        c: ChoiceV1,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<(Uuid, i64)>,
    },
    Retract {
        code: String,
        p: u32,
        q: Uuid,
    },
    HideEntry {
        code: String,
        q: Uuid,
        entry: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
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
        status: String,
    },
    QaHideAuthor {
        code: String,
        item: Uuid,
    },
    Snapshot {
        code: String,
        prev: String,
        events: Vec<V1>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        active: Option<i64>,
    },
    Compacted {
        segment: u64,
    },
}

impl V1 {
    pub(crate) fn parse(json: &[u8]) -> serde_json::Result<V1> {
        serde_json::from_slice(json)
    }

    /// The session the record belongs to (none for `Compacted`).
    pub(crate) fn code(&self) -> Option<&str> {
        use V1::*;
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
            | Snapshot { code, .. } => Some(code),
            Compacted { .. } => None,
        }
    }

    pub(crate) fn into_record(self) -> Result<Record> {
        Ok(match self {
            V1::Snapshot {
                code,
                prev,
                events,
                active,
            } => Record::Snapshot {
                code,
                prev,
                events: events
                    .into_iter()
                    .map(V1::into_event)
                    .collect::<Result<_>>()?,
                active,
            },
            V1::Compacted { segment } => Record::Compacted { segment },
            ev => Record::Event(ev.into_event()?),
        })
    }

    /// The event a record holds; an error for a snapshot or a compaction,
    /// or a field that does not read.
    pub(crate) fn into_event(self) -> Result<Event> {
        use V1 as R;
        Ok(match self {
            R::Created {
                id,
                code,
                title,
                token,
                qa_moderation,
                at,
            } => Event::Created {
                id,
                code,
                title,
                token,
                qa_moderation,
                at,
            },
            R::Title { code, title } => Event::Title { code, title },
            R::Settings {
                code,
                qa_moderation,
                show_digest,
            } => Event::Settings {
                code,
                qa_moderation,
                show_digest,
            },
            R::Added { code, q, spec } => Event::Added {
                code,
                q,
                spec: spec.into_spec()?,
            },
            R::Updated { code, q, spec } => Event::Updated {
                code,
                q,
                spec: spec.into_spec()?,
            },
            R::Moved { code, q, index } => Event::Moved { code, q, index },
            R::Deleted { code, q } => Event::Deleted { code, q },
            R::Opened {
                code,
                q,
                at,
                duration_ms,
            } => Event::Opened {
                code,
                q,
                at,
                duration_ms,
            },
            R::Closed { code, q } => Event::Closed { code, q },
            R::TimerClosed { code, q, at } => Event::TimerClosed { code, q, at },
            R::Visible { code, q, visible } => Event::Visible { code, q, visible },
            R::Reset { code, q } => Event::Reset { code, q },
            R::Present { code, q } => Event::Present { code, q },
            R::PresentQa { code } => Event::PresentQa { code },
            R::Joined { code, p, token, at } => Event::Joined { code, p, token, at },
            R::Vote {
                code,
                p,
                q,
                c,
                entry,
            } => Event::Vote {
                code,
                p,
                q,
                choice: c.into(),
                entry,
            },
            R::Retract { code, p, q } => Event::Retract { code, p, q },
            R::HideEntry {
                code,
                q,
                entry,
                p,
                text,
            } => Event::HideEntry {
                code,
                q,
                entry,
                p,
                text,
            },
            R::Ended { code } => Event::Ended { code },
            R::Asked {
                code,
                item,
                p,
                text,
                name,
                at,
                pending,
            } => Event::Asked {
                code,
                item,
                p,
                text,
                name,
                at,
                pending,
            },
            R::Upvoted { code, item, p, up } => Event::Upvoted { code, item, p, up },
            R::QaSet { code, item, status } => Event::QaSet {
                code,
                item,
                status: QaStatus::parse_any(&status)
                    .ok_or_else(|| Error::bad_request(format!("unknown Q&A status {status:?}")))?,
            },
            R::QaHideAuthor { code, item } => Event::QaHideAuthor { code, item },
            R::Snapshot { .. } | R::Compacted { .. } => {
                return Err(Error::internal("a snapshot inside a snapshot"))
            }
        })
    }
}

impl From<&Record> for V1 {
    fn from(rec: &Record) -> V1 {
        match rec {
            Record::Event(ev) => V1::from(ev),
            Record::Snapshot {
                code,
                prev,
                events,
                active,
            } => V1::Snapshot {
                code: code.clone(),
                prev: prev.clone(),
                events: events.iter().map(V1::from).collect(),
                active: *active,
            },
            Record::Compacted { segment } => V1::Compacted { segment: *segment },
        }
    }
}

impl From<&Event> for V1 {
    fn from(ev: &Event) -> V1 {
        use Event as E;
        let ev = ev.clone();
        match ev {
            E::Created {
                id,
                code,
                title,
                token,
                qa_moderation,
                at,
            } => V1::Created {
                id,
                code,
                title,
                token,
                qa_moderation,
                at,
            },
            E::Title { code, title } => V1::Title { code, title },
            E::Settings {
                code,
                qa_moderation,
                show_digest,
            } => V1::Settings {
                code,
                qa_moderation,
                show_digest,
            },
            E::Added { code, q, spec } => V1::Added {
                code,
                q,
                spec: SpecV1::from(&spec),
            },
            E::Updated { code, q, spec } => V1::Updated {
                code,
                q,
                spec: SpecV1::from(&spec),
            },
            E::Moved { code, q, index } => V1::Moved { code, q, index },
            E::Deleted { code, q } => V1::Deleted { code, q },
            E::Opened {
                code,
                q,
                at,
                duration_ms,
            } => V1::Opened {
                code,
                q,
                at,
                duration_ms,
            },
            E::Closed { code, q } => V1::Closed { code, q },
            E::TimerClosed { code, q, at } => V1::TimerClosed { code, q, at },
            E::Visible { code, q, visible } => V1::Visible { code, q, visible },
            E::Reset { code, q } => V1::Reset { code, q },
            E::Present { code, q } => V1::Present { code, q },
            E::PresentQa { code } => V1::PresentQa { code },
            E::Joined { code, p, token, at } => V1::Joined { code, p, token, at },
            E::Vote {
                code,
                p,
                q,
                choice,
                entry,
            } => V1::Vote {
                code,
                p,
                q,
                c: choice.into(),
                entry,
            },
            E::Retract { code, p, q } => V1::Retract { code, p, q },
            E::HideEntry {
                code,
                q,
                entry,
                p,
                text,
            } => V1::HideEntry {
                code,
                q,
                entry,
                p,
                text,
            },
            E::Ended { code } => V1::Ended { code },
            E::Asked {
                code,
                item,
                p,
                text,
                name,
                at,
                pending,
            } => V1::Asked {
                code,
                item,
                p,
                text,
                name,
                at,
                pending,
            },
            E::Upvoted { code, item, p, up } => V1::Upvoted { code, item, p, up },
            E::QaSet { code, item, status } => V1::QaSet {
                code,
                item,
                status: status.as_str().to_owned(),
            },
            E::QaHideAuthor { code, item } => V1::QaHideAuthor { code, item },
        }
    }
}

impl Record {
    /// The session the record belongs to (none for `Compacted`).
    pub fn code(&self) -> Option<&str> {
        match self {
            Record::Event(ev) => Some(ev.code()),
            Record::Snapshot { code, .. } => Some(code),
            Record::Compacted { .. } => None,
        }
    }
}

/// The JSON of one event, as the journal and the shared log keep it.
pub fn event_json(ev: &Event) -> String {
    serde_json::to_string(&V1::from(ev)).expect("an event serialises")
}

#[cfg(test)]
mod settings_tests;
