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
//!
//! Two additions read alongside, each told apart by its shape, so old
//! journals replay as they always did:
//! - a participant (`"p"`) is named in the journal by id (a uuid string);
//!   the first journals, and the shared log in Redis, name them by their
//!   position in the session (a number). By id, a record lost before a
//!   vote cannot move that vote onto someone else.
//! - a snapshot is written in parts (`"parts"` in its first record, then
//!   `snapshot_part` records), each bounded in size, so that no record is
//!   larger than replay accepts however big the session.

mod spec;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::links::Scope;
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

/// How a record names a participant: by id (journals since the records
/// went by id) or by position in the session (the first journals, and the
/// shared log in Redis, where the log's order fixes the positions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum Who {
    Index(u32),
    Id(Uuid),
}

/// Read by the JSON type (a number or a string) without buffering, as an
/// untagged enum would: replay reads one per vote.
impl<'de> Deserialize<'de> for Who {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Who, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Who;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a participant's position (a number) or id (a uuid)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Who, E> {
                u32::try_from(v)
                    .map(Who::Index)
                    .map_err(|_| E::custom("a participant's position out of range"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Who, E> {
                Uuid::parse_str(v).map(Who::Id).map_err(E::custom)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Finds a participant's position in a session (by code) from what a
/// record names.
pub(crate) type Resolve<'a> = dyn FnMut(&str, &Who) -> Result<u32> + 'a;

/// The most bytes of events one snapshot record holds (one event more when
/// a single event is larger): far under the largest record replay reads.
pub const SNAPSHOT_PART_BYTES: usize = 4 * 1024 * 1024;

/// The JSON of an event as the journal writes it: participants by id
/// (`id` gives the id of the participant at a position).
pub fn encode_event(ev: &Event, id: &dyn Fn(u32) -> Uuid) -> Vec<u8> {
    let v1 = V1::of_event(ev, &|p| Who::Id(id(p)));
    serde_json::to_vec(&v1).expect("a record serialises")
}

/// A whole session as the records of a snapshot in parts: the events that
/// rebuild it, with the chain head they cover (`prev`, hex) and when the
/// session was last active. Each record holds at most about
/// `SNAPSHOT_PART_BYTES` of events.
pub fn encode_snapshot(
    code: &str,
    prev: &str,
    events: &[Event],
    active: i64,
    id: &dyn Fn(u32) -> Uuid,
) -> Vec<Vec<u8>> {
    let mut groups: Vec<Vec<u8>> = vec![Vec::new()];
    for ev in events {
        let json = encode_event(ev, id);
        let last = groups.last_mut().expect("one group at least");
        if !last.is_empty() && last.len() + json.len() > SNAPSHOT_PART_BYTES {
            groups.push(json);
        } else {
            if !last.is_empty() {
                last.push(b',');
            }
            last.extend_from_slice(&json);
        }
    }
    let parts = groups.len();
    let text = |s: &str| serde_json::to_string(s).expect("a string serialises");
    groups
        .into_iter()
        .enumerate()
        .map(|(i, events)| {
            let mut out = Vec::with_capacity(events.len() + 200);
            if i == 0 {
                out.extend_from_slice(
                    format!(
                        r#"{{"e":"snapshot","code":{},"prev":{},"events":["#,
                        text(code),
                        text(prev)
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(&events);
                out.extend_from_slice(
                    format!(r#"],"active":{active},"parts":{parts}}}"#).as_bytes(),
                );
            } else {
                out.extend_from_slice(
                    format!(
                        r#"{{"e":"snapshot_part","code":{},"part":{},"events":["#,
                        text(code),
                        i + 1
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(&events);
                out.extend_from_slice(b"]}");
            }
            out
        })
        .collect()
}

/// The JSON of a record, participants by position.
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_group: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public_summary: Option<bool>,
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
        p: Who,
        q: Uuid,
        c: ChoiceV1,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<(Uuid, i64)>,
    },
    Retract {
        code: String,
        p: Who,
        q: Uuid,
    },
    HideEntry {
        code: String,
        q: Uuid,
        entry: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p: Option<Who>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    Ended {
        code: String,
    },
    Asked {
        code: String,
        item: Uuid,
        p: Who,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        at: i64,
        pending: bool,
    },
    Upvoted {
        code: String,
        item: Uuid,
        p: Who,
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
    /// `by`: the segment question, or null for none.
    Breakdown {
        code: String,
        q: Uuid,
        by: Option<Uuid>,
    },
    /// A whole session. Without `parts` (the first form): one record whose
    /// chain link moves the session's chain. With `parts`: the first of
    /// that many records (the others are `SnapshotPart`s), which together
    /// hold the session and leave its chain where it was (`prev`).
    Snapshot {
        code: String,
        prev: String,
        events: Vec<V1>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        active: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parts: Option<u32>,
    },
    /// Part `part` (from 2) of a snapshot in parts.
    SnapshotPart {
        code: String,
        part: u32,
        events: Vec<V1>,
    },
    Compacted {
        segment: u64,
    },
    /// A link handed out; `role` as the wire names it.
    LinkAdded {
        code: String,
        id: Uuid,
        role: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
        token: String,
        at: i64,
    },
    LinkRevoked {
        code: String,
        id: Uuid,
    },
    QaTranslated {
        code: String,
        item: Uuid,
        lang: String,
        text: String,
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
            | Breakdown { code, .. }
            | Snapshot { code, .. }
            | SnapshotPart { code, .. }
            | LinkAdded { code, .. }
            | LinkRevoked { code, .. }
            | QaTranslated { code, .. } => Some(code),
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
                parts: None,
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
            V1::Snapshot { .. } | V1::SnapshotPart { .. } => {
                return Err(Error::internal(
                    "a snapshot in parts is read by replay only",
                ))
            }
            ev => Record::Event(ev.into_event()?),
        })
    }

    /// The event a record holds, its participants given by position; an
    /// error for a snapshot or a compaction, or a field that does not read.
    pub(crate) fn into_event(self) -> Result<Event> {
        self.into_event_with(&mut |_, who| match who {
            Who::Index(i) => Ok(*i),
            Who::Id(id) => Err(Error::internal(format!(
                "participant {id} given by id where only positions are known"
            ))),
        })
    }

    /// The event a record holds; `who` finds a participant's position in
    /// the session (by code) from what the record names.
    pub(crate) fn into_event_with(self, who: &mut Resolve) -> Result<Event> {
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
                min_group,
                public_summary,
            } => Event::Settings {
                code,
                qa_moderation,
                show_digest,
                min_group,
                public_summary,
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
                p: who(&code, &p)?,
                code,
                q,
                choice: c.into(),
                entry,
            },
            R::Retract { code, p, q } => Event::Retract {
                p: who(&code, &p)?,
                code,
                q,
            },
            R::HideEntry {
                code,
                q,
                entry,
                p,
                text,
            } => Event::HideEntry {
                p: p.map(|p| who(&code, &p)).transpose()?,
                code,
                q,
                entry,
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
                p: who(&code, &p)?,
                code,
                item,
                text,
                name,
                at,
                pending,
            },
            R::Upvoted { code, item, p, up } => Event::Upvoted {
                p: who(&code, &p)?,
                code,
                item,
                up,
            },
            R::QaSet { code, item, status } => Event::QaSet {
                code,
                item,
                status: QaStatus::parse_any(&status)
                    .ok_or_else(|| Error::bad_request(format!("unknown Q&A status {status:?}")))?,
            },
            R::QaHideAuthor { code, item } => Event::QaHideAuthor { code, item },
            R::Breakdown { code, q, by } => Event::Breakdown { code, q, by },
            R::LinkAdded {
                code,
                id,
                role,
                label,
                lang,
                token,
                at,
            } => Event::LinkAdded {
                code,
                id,
                scope: Scope::parse_link_role(&role)
                    .ok_or_else(|| Error::bad_request(format!("unknown link role {role:?}")))?,
                label,
                lang,
                token,
                at,
            },
            R::LinkRevoked { code, id } => Event::LinkRevoked { code, id },
            R::QaTranslated {
                code,
                item,
                lang,
                text,
            } => Event::QaTranslated {
                code,
                item,
                lang,
                text,
            },
            R::Snapshot { .. } | R::SnapshotPart { .. } | R::Compacted { .. } => {
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
                parts: None,
            },
            Record::Compacted { segment } => V1::Compacted { segment: *segment },
        }
    }
}

impl From<&Event> for V1 {
    /// With participants by position, as the shared log in Redis has them.
    fn from(ev: &Event) -> V1 {
        V1::of_event(ev, &Who::Index)
    }
}

impl V1 {
    /// The record of an event; `who` names a participant by position.
    pub(crate) fn of_event(ev: &Event, who: &dyn Fn(u32) -> Who) -> V1 {
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
                min_group,
                public_summary,
            } => V1::Settings {
                code,
                qa_moderation,
                show_digest,
                min_group,
                public_summary,
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
                p: who(p),
                q,
                c: choice.into(),
                entry,
            },
            E::Retract { code, p, q } => V1::Retract { code, p: who(p), q },
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
                p: p.map(who),
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
                p: who(p),
                text,
                name,
                at,
                pending,
            },
            E::Upvoted { code, item, p, up } => V1::Upvoted {
                code,
                item,
                p: who(p),
                up,
            },
            E::QaSet { code, item, status } => V1::QaSet {
                code,
                item,
                status: status.as_str().to_owned(),
            },
            E::QaHideAuthor { code, item } => V1::QaHideAuthor { code, item },
            E::Breakdown { code, q, by } => V1::Breakdown { code, q, by },
            E::LinkAdded {
                code,
                id,
                scope,
                label,
                lang,
                token,
                at,
            } => V1::LinkAdded {
                code,
                id,
                role: scope.as_str().to_owned(),
                label,
                lang,
                token,
                at,
            },
            E::LinkRevoked { code, id } => V1::LinkRevoked { code, id },
            E::QaTranslated {
                code,
                item,
                lang,
                text,
            } => V1::QaTranslated {
                code,
                item,
                lang,
                text,
            },
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
mod links_tests;
#[cfg(test)]
mod settings_tests;
