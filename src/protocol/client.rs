//! Client messages: the frames a socket sends, read into one serde-tagged
//! type. Parsing is strict about what the contract requires and lenient
//! about what it does not name: unknown fields are ignored.

use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::{Choice, QuestionSpec, RawChoice};
use crate::error::{Error, Result};

use super::spec::parse_question_spec;
use super::Role;

/// The first frame of every socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub role: Role,
    pub token: Option<String>,
}

/// What the projector shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presentation {
    Question(Option<Uuid>),
    Qa,
}

impl Presentation {
    /// `{"question_id"?, "qa"?}`: the Q&A board when `qa`, else the question.
    pub fn of(question_id: Option<Uuid>, qa: bool) -> Presentation {
        if qa {
            Presentation::Qa
        } else {
            Presentation::Question(question_id)
        }
    }
}

/// A moderator's action on one question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuestionAction {
    Open {
        duration_s: Option<u32>,
    },
    Close,
    Reveal,
    Hide,
    Reset,
    /// Show it broken down by this segment question (None: not broken down).
    Breakdown {
        by: Option<Uuid>,
    },
}

impl QuestionAction {
    /// The action named in `POST .../questions/{qid}/{action}`.
    pub fn from_path(action: &str, duration_s: Option<u32>) -> Option<QuestionAction> {
        Some(match action {
            "open" => QuestionAction::Open { duration_s },
            "close" => QuestionAction::Close,
            "reveal" => QuestionAction::Reveal,
            "hide" => QuestionAction::Hide,
            "reset" => QuestionAction::Reset,
            _ => return None,
        })
    }
}

/// A field read in any JSON shape and checked as it is read. A failed
/// check does not fail the frame: the answer keeps the check's own error
/// code (a vote's `invalid_choice`) rather than a malformed message.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked<T>(Result<T>);

impl<T> Checked<T> {
    pub fn ok(value: T) -> Checked<T> {
        Checked(Ok(value))
    }

    /// The value, or the error its check gave.
    pub fn get(self) -> Result<T> {
        self.0
    }

    fn error(&self) -> Option<&Error> {
        self.0.as_ref().err()
    }
}

impl<'de> Deserialize<'de> for Checked<RawChoice> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Checked(raw_choice(&Value::deserialize(d)?)))
    }
}

impl<'de> Deserialize<'de> for Checked<QuestionSpec> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Checked(parse_question_spec(&Value::deserialize(d)?)))
    }
}

/// A client message after `hello`, as the contract names it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Hello {},
    Vote {
        question_id: Uuid,
        choice: Checked<RawChoice>,
    },
    Retract {
        question_id: Uuid,
    },
    Ask {
        text: String,
        #[serde(default)]
        name: Option<String>,
    },
    Upvote {
        item_id: Uuid,
    },
    Unupvote {
        item_id: Uuid,
    },
    AddQuestion {
        question: Checked<QuestionSpec>,
    },
    UpdateQuestion {
        question_id: Uuid,
        question: Checked<QuestionSpec>,
    },
    MoveQuestion {
        question_id: Uuid,
        index: usize,
    },
    Open {
        question_id: Uuid,
        #[serde(default)]
        duration_s: Option<u32>,
    },
    Close {
        question_id: Uuid,
    },
    Reveal {
        question_id: Uuid,
    },
    Hide {
        question_id: Uuid,
    },
    Reset {
        question_id: Uuid,
    },
    DeleteQuestion {
        question_id: Uuid,
    },
    Breakdown {
        question_id: Uuid,
        /// Null or left out: not broken down.
        #[serde(default)]
        by: Option<Uuid>,
    },
    Present {
        #[serde(default)]
        question_id: Option<Uuid>,
        #[serde(default)]
        qa: bool,
    },
    Settings {
        #[serde(default)]
        qa_moderation: Option<bool>,
        #[serde(default)]
        show_digest: Option<bool>,
        #[serde(default)]
        min_group: Option<u32>,
        #[serde(default)]
        public_summary: Option<bool>,
    },
    HideEntry {
        question_id: Uuid,
        entry_id: Uuid,
    },
    QaStatus {
        item_id: Uuid,
        status: String,
    },
    QaHideAuthor {
        item_id: Uuid,
    },
    /// An interpreter's translation of an approved Q&A item; `lang` is the
    /// link's own (the moderator and cohosts name it).
    QaTranslate {
        item_id: Uuid,
        text: String,
        #[serde(default)]
        lang: Option<String>,
    },
}

impl ClientMsg {
    /// The roles that may send this message.
    pub fn allowed(&self, role: Role) -> bool {
        match self {
            ClientMsg::Hello {} => true,
            ClientMsg::Vote { .. }
            | ClientMsg::Retract { .. }
            | ClientMsg::Ask { .. }
            | ClientMsg::Upvote { .. }
            | ClientMsg::Unupvote { .. } => role == Role::Audience,
            _ => role == Role::Moderator,
        }
    }

    /// The first failed check of a field, answered before anything else.
    fn checked(self) -> Result<ClientMsg> {
        let failed = match &self {
            ClientMsg::Vote { choice, .. } => choice.error(),
            ClientMsg::AddQuestion { question } | ClientMsg::UpdateQuestion { question, .. } => {
                question.error()
            }
            _ => None,
        };
        match failed {
            Some(e) => Err(e.clone()),
            None => Ok(self),
        }
    }
}

#[derive(Deserialize)]
struct Framed {
    #[serde(rename = "ref", default)]
    reference: Option<Value>,
    #[serde(flatten)]
    msg: ClientMsg,
}

#[derive(Deserialize)]
struct RefOnly {
    #[serde(rename = "ref", default)]
    reference: Option<Value>,
}

/// The longest `ref` a client may attach.
pub const MAX_REF_CHARS: usize = 64;

fn check_ref(r: Option<Value>) -> Result<Option<String>> {
    match r {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_REF_CHARS => Ok(Some(s)),
        Some(Value::String(_)) => Err(Error::too_large(format!(
            "ref is at most {MAX_REF_CHARS} characters"
        ))),
        Some(_) => Err(Error::bad_request("ref must be a string")),
    }
}

/// Parses one text frame after `hello`: the `ref` to answer with (when it
/// could be read) and the message or the error to send back.
pub fn parse_client(text: &str) -> (Option<String>, Result<ClientMsg>) {
    match serde_json::from_str::<Framed>(text) {
        Ok(framed) => match check_ref(framed.reference) {
            Ok(r) => (r, framed.msg.checked()),
            Err(e) => (None, Err(e)),
        },
        Err(e) => {
            // Answer with the ref if the frame is JSON enough to carry one.
            let r = serde_json::from_str::<RefOnly>(text)
                .ok()
                .and_then(|o| check_ref(o.reference).ok().flatten());
            (
                r,
                Err(Error::bad_request(format!("malformed message: {e}"))),
            )
        }
    }
}

#[derive(Deserialize)]
struct WireHello {
    #[serde(rename = "type")]
    kind: String,
    role: Role,
    #[serde(default)]
    token: Option<String>,
}

/// Parses the first frame, which must be a `hello`.
pub fn parse_hello(text: &str) -> Result<Hello> {
    let h: WireHello = serde_json::from_str(text).map_err(|e| {
        Error::bad_request(format!(
            "the first message must be {{\"type\":\"hello\",\"role\":...}}: {e}"
        ))
    })?;
    if h.kind != "hello" {
        return Err(Error::bad_request(format!(
            "the first message must be a hello, not {:?}",
            h.kind
        )));
    }
    Ok(Hello {
        role: h.role,
        token: h.token.filter(|t| !t.is_empty()),
    })
}

/// Reads the JSON shapes a `choice` can take.
pub fn raw_choice(v: &Value) -> Result<RawChoice> {
    match v {
        Value::Number(_) => v
            .as_i64()
            .map(RawChoice::Int)
            .ok_or_else(|| Error::invalid_choice("a choice number must be a whole number")),
        Value::String(s) => Ok(RawChoice::Text(s.clone())),
        Value::Array(items) if items.iter().all(|i| i.is_string()) && !items.is_empty() => {
            Ok(RawChoice::Texts(
                items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect(),
            ))
        }
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_i64().ok_or_else(|| {
                    Error::invalid_choice("a choice array holds whole numbers or texts, not a mix")
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(RawChoice::Ints),
        Value::Null => Err(Error::bad_request("choice is required")),
        _ => Err(Error::invalid_choice(
            "a choice is a number, a text, or an array of them",
        )),
    }
}

/// The JSON form of a stored choice, as a phone sent it.
pub fn choice_json(c: &Choice) -> Value {
    match c {
        Choice::Index(i) => json!(i),
        Choice::Indices(is) => json!(is),
        Choice::Value(v) => json!(v),
        Choice::Words(ws) => Value::Array(ws.iter().map(|w| json!(w.spelling)).collect()),
        Choice::Text(e) => json!(e.text),
        Choice::Ranking(r) => json!(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn a_vote_parses_with_its_ref() {
        let q = Uuid::new_v4();
        let (r, msg) = parse_client(&format!(
            r#"{{"type":"vote","ref":"v1","question_id":"{q}","choice":2}}"#
        ));
        assert_eq!(r.as_deref(), Some("v1"));
        assert_eq!(
            msg.unwrap(),
            ClientMsg::Vote {
                question_id: q,
                choice: Checked::ok(RawChoice::Int(2))
            }
        );
    }

    #[test]
    fn an_unknown_type_is_a_bad_request_that_keeps_its_ref() {
        let (r, msg) = parse_client(r#"{"type":"teleport","ref":"x"}"#);
        assert_eq!(r.as_deref(), Some("x"));
        assert_eq!(msg.unwrap_err().code, ErrorCode::BadRequest);
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for text in [
            "{",
            "[]",
            "null",
            "\"vote\"",
            r#"{"type":"vote","question_id":"nope","choice":1}"#,
            r#"{"type":"vote","question_id":"nope","choice":1.5}"#,
        ] {
            let (_, msg) = parse_client(text);
            assert_eq!(msg.unwrap_err().code, ErrorCode::BadRequest, "{text}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let text = format!(
            r#"{{"type":"vote","question_id":"{}","choice":{deep}}}"#,
            Uuid::nil()
        );
        let (_, msg) = parse_client(&text);
        assert!(msg.is_err());
    }

    #[test]
    fn a_huge_number_is_not_a_valid_choice() {
        let text = format!(
            r#"{{"type":"vote","question_id":"{}","choice":123456789012345678901234567890}}"#,
            Uuid::nil()
        );
        let (_, msg) = parse_client(&text);
        assert_eq!(msg.unwrap_err().code, ErrorCode::InvalidChoice);
    }

    #[test]
    fn a_null_choice_is_a_bad_request_and_a_bad_spec_names_its_field() {
        let q = Uuid::nil();
        let (_, msg) = parse_client(&format!(
            r#"{{"type":"vote","question_id":"{q}","choice":null}}"#
        ));
        assert_eq!(msg.unwrap_err().message, "choice is required");
        let (r, msg) = parse_client(
            r#"{"type":"add_question","ref":"a","question":{"kind":"open","prompt":7}}"#,
        );
        assert_eq!(r.as_deref(), Some("a"));
        let e = msg.unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.starts_with("prompt: "), "{}", e.message);
    }

    #[test]
    fn a_long_ref_is_too_large() {
        let text = format!(r#"{{"type":"hello","ref":"{}"}}"#, "r".repeat(65));
        let (r, msg) = parse_client(&text);
        assert_eq!(r, None);
        assert_eq!(msg.unwrap_err().code, ErrorCode::TooLarge);
    }

    #[test]
    fn present_takes_a_question_null_or_the_qa_board() {
        let q = Uuid::new_v4();
        let parse = |t: String| match parse_client(&t).1.unwrap() {
            ClientMsg::Present { question_id, qa } => Presentation::of(question_id, qa),
            m => panic!("{m:?}"),
        };
        assert_eq!(
            parse(format!(r#"{{"type":"present","question_id":"{q}"}}"#)),
            Presentation::Question(Some(q))
        );
        assert_eq!(
            parse(r#"{"type":"present","question_id":null}"#.into()),
            Presentation::Question(None)
        );
        assert_eq!(
            parse(r#"{"type":"present","qa":true}"#.into()),
            Presentation::Qa
        );
    }

    #[test]
    fn the_actions_on_a_question_are_their_own_messages() {
        let q = Uuid::new_v4();
        let (_, msg) = parse_client(&format!(
            r#"{{"type":"open","question_id":"{q}","duration_s":30}}"#
        ));
        assert_eq!(
            msg.unwrap(),
            ClientMsg::Open {
                question_id: q,
                duration_s: Some(30)
            }
        );
        let (_, msg) = parse_client(&format!(r#"{{"type":"reveal","question_id":"{q}"}}"#));
        assert_eq!(msg.unwrap(), ClientMsg::Reveal { question_id: q });
    }

    #[test]
    fn hello_needs_a_known_role() {
        assert_eq!(
            parse_hello(r#"{"type":"hello","role":"audience"}"#).unwrap(),
            Hello {
                role: Role::Audience,
                token: None
            }
        );
        assert!(parse_hello(r#"{"type":"hello","role":"janitor"}"#).is_err());
        assert!(parse_hello(r#"{"type":"vote","role":"audience"}"#).is_err());
    }

    #[test]
    fn choices_read_every_json_shape() {
        assert_eq!(raw_choice(&json!(3)).unwrap(), RawChoice::Int(3));
        assert_eq!(
            raw_choice(&json!([1, 0])).unwrap(),
            RawChoice::Ints(vec![1, 0])
        );
        assert_eq!(
            raw_choice(&json!("hi")).unwrap(),
            RawChoice::Text("hi".into())
        );
        assert_eq!(
            raw_choice(&json!(["a", "b"])).unwrap(),
            RawChoice::Texts(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            raw_choice(&json!(1.5)).unwrap_err().code,
            ErrorCode::InvalidChoice
        );
        assert_eq!(
            raw_choice(&json!([1, "a"])).unwrap_err().code,
            ErrorCode::InvalidChoice
        );
        assert_eq!(
            raw_choice(&json!({"a": 1})).unwrap_err().code,
            ErrorCode::InvalidChoice
        );
    }
}
