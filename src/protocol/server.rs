//! Server messages: every frame the server sends on a socket, as one
//! serde-tagged type, and the frames rendered from it. `type` comes first
//! in every frame.

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::Question;
use crate::error::{Error, ErrorCode};

use super::views::{QaItemView, QuestionView, SettingsView, TallyView, Welcome};

/// A message from the server, as `docs/api.md` lists them.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg<'a> {
    /// The answer to a hello: who the connection is and the whole session.
    Welcome(&'a Welcome),
    /// A question was added or changed.
    Question {
        question: &'a QuestionView,
    },
    /// The question list's new order.
    Order {
        question_ids: &'a [Uuid],
    },
    QuestionRemoved {
        question_id: Uuid,
    },
    /// What the projector shows: a question (or null) or the Q&A board.
    Present {
        question_id: Option<Uuid>,
        qa: bool,
    },
    /// A question's current tally.
    Tally(&'a TallyView),
    /// Audience connections, for the staff.
    Presence {
        audience: usize,
    },
    /// The phone's ballot changed elsewhere; a null choice: it went.
    Ballot {
        question_id: Uuid,
        choice: Option<&'a Value>,
    },
    /// The title or settings changed.
    Session {
        title: &'a str,
        settings: SettingsView,
    },
    QaItem {
        item: &'a QaItemView,
    },
    /// The session ended; the socket closes next.
    Ended,
    /// A client message was applied.
    Ack {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    /// A client message was refused.
    Error {
        code: ErrorCode,
        message: &'a str,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
}

impl ServerMsg<'_> {
    /// The message as one text frame, to be shared by every receiver.
    pub fn frame(&self) -> Utf8Bytes {
        // Our own types always serialise.
        serde_json::to_string(self).expect("serialisable").into()
    }
}

/// A `tally` message, serialised once and shared by every receiver.
pub fn tally_frame(t: &TallyView) -> Utf8Bytes {
    ServerMsg::Tally(t).frame()
}

pub fn ack_frame(reference: Option<&str>) -> Utf8Bytes {
    match reference {
        Some(_) => ServerMsg::Ack { reference }.frame(),
        None => Utf8Bytes::from_static(r#"{"type":"ack"}"#),
    }
}

pub fn error_frame(reference: Option<&str>, e: &Error) -> Utf8Bytes {
    ServerMsg::Error {
        code: e.code,
        message: &e.message,
        reference,
    }
    .frame()
}

pub fn question_frame(q: &Question, moderator: bool) -> Utf8Bytes {
    ServerMsg::Question {
        question: &QuestionView::new(q, moderator),
    }
    .frame()
}

pub fn present_frame(question_id: Option<Uuid>, qa: bool) -> Utf8Bytes {
    ServerMsg::Present { question_id, qa }.frame()
}

pub fn presence_frame(audience: usize) -> Utf8Bytes {
    ServerMsg::Presence { audience }.frame()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Tally, TallyBody};
    use serde_json::json;

    fn parsed(f: Utf8Bytes) -> Value {
        assert!(f.as_str().starts_with(r#"{"type":""#), "{}", f.as_str());
        serde_json::from_str(f.as_str()).unwrap()
    }

    #[test]
    fn a_tally_frame_carries_the_kind_fields() {
        let t = Tally {
            voters: 3,
            body: TallyBody::Counts(vec![2, 1]),
        };
        let q = Uuid::nil();
        let f = tally_frame(&TallyView::new(q, 7, &t));
        assert!(f.as_str().starts_with(r#"{"type":"tally","#));
        assert_eq!(
            parsed(f),
            json!({"type": "tally", "question_id": q, "seq": 7, "voters": 3, "counts": [2, 1]})
        );
    }

    #[test]
    fn acks_and_errors_carry_the_ref_only_when_given() {
        assert_eq!(ack_frame(None).as_str(), r#"{"type":"ack"}"#);
        assert_eq!(
            parsed(ack_frame(Some("v1"))),
            json!({"type": "ack", "ref": "v1"})
        );
        let e = Error::not_found("no such question");
        assert_eq!(
            parsed(error_frame(None, &e)),
            json!({"type": "error", "code": "not_found", "message": "no such question"})
        );
        assert_eq!(parsed(error_frame(Some("x"), &e))["ref"], json!("x"));
    }

    #[test]
    fn messages_keep_their_fields_and_nulls() {
        let q = Uuid::nil();
        assert_eq!(
            parsed(present_frame(None, false)),
            json!({"type": "present", "question_id": null, "qa": false})
        );
        assert_eq!(
            parsed(presence_frame(4)),
            json!({"type": "presence", "audience": 4})
        );
        assert_eq!(
            parsed(
                ServerMsg::Ballot {
                    question_id: q,
                    choice: None
                }
                .frame()
            ),
            json!({"type": "ballot", "question_id": q, "choice": null})
        );
        assert_eq!(
            parsed(ServerMsg::Order { question_ids: &[q] }.frame()),
            json!({"type": "order", "question_ids": [q]})
        );
        assert_eq!(
            parsed(ServerMsg::QuestionRemoved { question_id: q }.frame()),
            json!({"type": "question_removed", "question_id": q})
        );
        assert_eq!(parsed(ServerMsg::Ended.frame()), json!({"type": "ended"}));
        assert_eq!(
            parsed(
                ServerMsg::Session {
                    title: "Panel",
                    settings: SettingsView {
                        qa_moderation: true,
                        show_digest: false,
                        min_group: 5,
                        public_summary: false,
                    }
                }
                .frame()
            ),
            json!({"type": "session", "title": "Panel", "settings": {"qa_moderation": true, "show_digest": false, "min_group": 5, "public_summary": false}})
        );
    }
}
