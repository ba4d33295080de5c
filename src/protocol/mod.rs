//! The wire: client messages parsed into typed commands, and the JSON the
//! server sends, as `docs/api.md` describes them.
//!
//! Parsing is strict about what the contract requires and lenient about what
//! it does not name: unknown fields are ignored, so newer clients still talk
//! to older servers.

pub mod deck;

use std::collections::BTreeMap;

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::domain::{
    Choice, Kind, KindName, OptionItem, Question, QuestionSpec, RawChoice, Session, Tally,
    TallyBody, Translation,
};
use crate::error::{Error, Result};

/// Who is at the other end of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Audience,
    Projector,
    Moderator,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Audience, Role::Projector, Role::Moderator];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Audience => "audience",
            Role::Projector => "projector",
            Role::Moderator => "moderator",
        }
    }
}

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

/// A moderator's action on one question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuestionAction {
    Open { duration_s: Option<u32> },
    Close,
    Reveal,
    Hide,
    Reset,
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

/// A client message after `hello`.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientMsg {
    Hello,
    Vote {
        question_id: Uuid,
        choice: RawChoice,
    },
    Retract {
        question_id: Uuid,
    },
    Ask {
        text: String,
        name: Option<String>,
    },
    Upvote {
        item_id: Uuid,
        up: bool,
    },
    AddQuestion {
        question: QuestionSpec,
    },
    UpdateQuestion {
        question_id: Uuid,
        question: QuestionSpec,
    },
    MoveQuestion {
        question_id: Uuid,
        index: usize,
    },
    Act {
        question_id: Uuid,
        action: QuestionAction,
    },
    DeleteQuestion {
        question_id: Uuid,
    },
    Present(Presentation),
    Settings {
        qa_moderation: Option<bool>,
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
}

impl ClientMsg {
    /// The roles that may send this message.
    pub fn allowed(&self, role: Role) -> bool {
        match self {
            ClientMsg::Hello => true,
            ClientMsg::Vote { .. }
            | ClientMsg::Retract { .. }
            | ClientMsg::Ask { .. }
            | ClientMsg::Upvote { .. } => role == Role::Audience,
            _ => role == Role::Moderator,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    Hello {},
    Vote {
        question_id: Uuid,
        choice: Value,
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
        question: Value,
    },
    UpdateQuestion {
        question_id: Uuid,
        question: Value,
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
    Present {
        #[serde(default)]
        question_id: Option<Uuid>,
        #[serde(default)]
        qa: bool,
    },
    Settings {
        #[serde(default)]
        qa_moderation: Option<bool>,
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
}

#[derive(Deserialize)]
struct Framed {
    #[serde(rename = "ref", default)]
    reference: Option<Value>,
    #[serde(flatten)]
    msg: Wire,
}

#[derive(Deserialize)]
struct RefOnly {
    #[serde(rename = "ref", default)]
    reference: Option<Value>,
}

/// The longest `ref` a client may attach.
pub const MAX_REF_CHARS: usize = 64;

fn check_ref(r: Option<Value>) -> Result<Option<String>, (Option<String>, Error)> {
    match r {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_REF_CHARS => Ok(Some(s)),
        Some(Value::String(_)) => Err((
            None,
            Error::too_large(format!("ref is at most {MAX_REF_CHARS} characters")),
        )),
        Some(_) => Err((None, Error::bad_request("ref must be a string"))),
    }
}

fn json_error(e: serde_json::Error) -> Error {
    Error::bad_request(format!("malformed message: {e}"))
}

/// Parses one text frame after `hello`: the `ref` to answer with (when it
/// could be read) and the message or the error to send back.
pub fn parse_client(text: &str) -> (Option<String>, Result<ClientMsg>) {
    match serde_json::from_str::<Framed>(text) {
        Ok(framed) => match check_ref(framed.reference) {
            Ok(r) => (r, convert(framed.msg)),
            Err((r, e)) => (r, Err(e)),
        },
        Err(e) => {
            // Answer with the ref if the frame is JSON enough to carry one.
            let r = serde_json::from_str::<RefOnly>(text)
                .ok()
                .and_then(|o| check_ref(o.reference).ok().flatten());
            (r, Err(json_error(e)))
        }
    }
}

fn convert(w: Wire) -> Result<ClientMsg> {
    let act = |question_id, action| {
        Ok(ClientMsg::Act {
            question_id,
            action,
        })
    };
    match w {
        Wire::Hello {} => Ok(ClientMsg::Hello),
        Wire::Vote {
            question_id,
            choice,
        } => Ok(ClientMsg::Vote {
            question_id,
            choice: raw_choice(&choice)?,
        }),
        Wire::Retract { question_id } => Ok(ClientMsg::Retract { question_id }),
        Wire::Ask { text, name } => Ok(ClientMsg::Ask { text, name }),
        Wire::Upvote { item_id } => Ok(ClientMsg::Upvote { item_id, up: true }),
        Wire::Unupvote { item_id } => Ok(ClientMsg::Upvote { item_id, up: false }),
        Wire::AddQuestion { question } => Ok(ClientMsg::AddQuestion {
            question: parse_question_spec(&question)?,
        }),
        Wire::UpdateQuestion {
            question_id,
            question,
        } => Ok(ClientMsg::UpdateQuestion {
            question_id,
            question: parse_question_spec(&question)?,
        }),
        Wire::MoveQuestion { question_id, index } => {
            Ok(ClientMsg::MoveQuestion { question_id, index })
        }
        Wire::Open {
            question_id,
            duration_s,
        } => act(question_id, QuestionAction::Open { duration_s }),
        Wire::Close { question_id } => act(question_id, QuestionAction::Close),
        Wire::Reveal { question_id } => act(question_id, QuestionAction::Reveal),
        Wire::Hide { question_id } => act(question_id, QuestionAction::Hide),
        Wire::Reset { question_id } => act(question_id, QuestionAction::Reset),
        Wire::DeleteQuestion { question_id } => Ok(ClientMsg::DeleteQuestion { question_id }),
        Wire::Present { question_id, qa } => Ok(ClientMsg::Present(if qa {
            Presentation::Qa
        } else {
            Presentation::Question(question_id)
        })),
        Wire::Settings { qa_moderation } => Ok(ClientMsg::Settings { qa_moderation }),
        Wire::HideEntry {
            question_id,
            entry_id,
        } => Ok(ClientMsg::HideEntry {
            question_id,
            entry_id,
        }),
        Wire::QaStatus { item_id, status } => Ok(ClientMsg::QaStatus { item_id, status }),
        Wire::QaHideAuthor { item_id } => Ok(ClientMsg::QaHideAuthor { item_id }),
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
    fn int(v: &Value) -> Option<i64> {
        v.as_i64()
    }
    match v {
        Value::Number(_) => int(v)
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
                int(i).ok_or_else(|| {
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

// ---- question specs -------------------------------------------------------

fn field<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.get(name).filter(|v| !v.is_null())
}

fn string_field(o: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match field(o, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::bad_request(format!("{name} must be a text"))),
    }
}

fn int_field(
    o: &Map<String, Value>,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>> {
    match field(o, name) {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(Error::bad_request(format!(
                "{name} must be a whole number from {} to {}",
                range.start(),
                range.end()
            ))),
        },
    }
}

fn parse_options(o: &Map<String, Value>) -> Result<Vec<OptionItem>> {
    let Some(Value::Array(items)) = field(o, "options") else {
        return Err(Error::bad_request("options must be an array of labels"));
    };
    let colours = match field(o, "colours") {
        Some(Value::Array(c)) => c.clone(),
        None => Vec::new(),
        Some(_) => return Err(Error::bad_request("colours must be an array")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let colour_at = |c: Option<&Value>| match c {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::bad_request(format!(
                    "options[{i}]: a colour is a text like \"#0072b2\""
                ))),
            };
            match item {
                Value::String(label) => Ok(OptionItem {
                    label: label.clone(),
                    colour: colour_at(colours.get(i))?,
                }),
                Value::Object(obj) => Ok(OptionItem {
                    label: string_field(obj, "label")?
                        .ok_or_else(|| Error::bad_request(format!("options[{i}] needs a label")))?,
                    colour: colour_at(obj.get("colour").or_else(|| colours.get(i)))?,
                }),
                _ => Err(Error::bad_request(format!("options[{i}] must be a text"))),
            }
        })
        .collect()
}

fn parse_correct(o: &Map<String, Value>) -> Result<Option<Vec<u8>>> {
    match field(o, "correct") {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v.as_u64() {
                Some(n) if n <= u8::MAX as u64 => Ok(n as u8),
                _ => Err(Error::bad_request("correct holds option indices")),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(v) if v.is_u64() => parse_correct(&Map::from_iter([(
            "correct".to_owned(),
            Value::Array(vec![v.clone()]),
        )])),
        Some(_) => Err(Error::bad_request(
            "correct must be an array of option indices",
        )),
    }
}

fn parse_translations(o: &Map<String, Value>) -> Result<BTreeMap<String, Translation>> {
    let Some(t) = field(o, "translations") else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(langs) = t else {
        return Err(Error::bad_request(
            "translations must map a language tag to {\"prompt\", \"options\"?}",
        ));
    };
    langs
        .iter()
        .map(|(tag, v)| {
            let Value::Object(tr) = v else {
                return Err(Error::bad_request(format!(
                    "translations.{tag} must be an object"
                )));
            };
            let prompt = string_field(tr, "prompt")?
                .ok_or_else(|| Error::bad_request(format!("translations.{tag} needs a prompt")))?;
            let options = match field(tr, "options") {
                None => None,
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|i| {
                            i.as_str().map(str::to_owned).ok_or_else(|| {
                                Error::bad_request(format!(
                                    "translations.{tag}.options holds texts"
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>>>()?,
                ),
                Some(_) => {
                    return Err(Error::bad_request(format!(
                        "translations.{tag}.options must be an array"
                    )))
                }
            };
            Ok((tag.clone(), Translation { prompt, options }))
        })
        .collect()
}

/// Reads a QuestionSpec: `{"kind", "prompt", ...settings, "translations"?}`.
/// Shapes are checked here; the rules (counts, lengths, ranges) by the domain.
pub fn parse_question_spec(v: &Value) -> Result<QuestionSpec> {
    let Value::Object(o) = v else {
        return Err(Error::bad_request("a question must be a JSON object"));
    };
    let kind_name =
        string_field(o, "kind")?.ok_or_else(|| Error::bad_request("kind is required"))?;
    let kind_name = KindName::parse(&kind_name).ok_or_else(|| {
        Error::bad_request(format!(
            "unknown kind {kind_name:?}; the kinds are single, multiple, scale, wordcloud, open, ranking"
        ))
    })?;
    let prompt =
        string_field(o, "prompt")?.ok_or_else(|| Error::bad_request("prompt is required"))?;
    let kind = match kind_name {
        KindName::Single => Kind::Single {
            options: parse_options(o)?,
            correct: parse_correct(o)?,
        },
        KindName::Multiple => {
            let options = parse_options(o)?;
            let max = int_field(o, "max_choices", 0..=255)?.unwrap_or(options.len() as i64);
            Kind::Multiple {
                max_choices: max.min(255) as u8,
                options,
                correct: parse_correct(o)?,
            }
        }
        KindName::Scale => Kind::Scale {
            min: int_field(o, "min", -1_000_000..=1_000_000)?.unwrap_or(1) as i32,
            max: int_field(o, "max", -1_000_000..=1_000_000)?.unwrap_or(5) as i32,
            min_label: string_field(o, "min_label")?,
            max_label: string_field(o, "max_label")?,
        },
        KindName::Wordcloud => Kind::Wordcloud {
            max_words: int_field(o, "max_words", 0..=255)?.unwrap_or(3) as u8,
        },
        KindName::Open => Kind::Open,
        KindName::Ranking => Kind::Ranking {
            options: parse_options(o)?,
        },
    };
    if !matches!(kind, Kind::Single { .. } | Kind::Multiple { .. }) && field(o, "correct").is_some()
    {
        return Err(Error::bad_request(
            "only single and multiple questions can carry correct",
        ));
    }
    Ok(QuestionSpec {
        prompt,
        kind,
        translations: parse_translations(o)?,
    })
}

/// The spec as JSON. `with_correct` leaves the quiz answer in.
pub fn question_spec_json(spec: &QuestionSpec, with_correct: bool) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("kind".into(), json!(spec.kind.name().as_str()));
    o.insert("prompt".into(), json!(spec.prompt));
    if let Some(options) = spec.kind.options() {
        o.insert(
            "options".into(),
            Value::Array(options.iter().map(|x| json!(x.label)).collect()),
        );
        if options.iter().any(|x| x.colour.is_some()) {
            o.insert(
                "colours".into(),
                Value::Array(options.iter().map(|x| json!(x.colour)).collect()),
            );
        }
    }
    match &spec.kind {
        Kind::Multiple { max_choices, .. } => {
            o.insert("max_choices".into(), json!(max_choices));
        }
        Kind::Scale {
            min,
            max,
            min_label,
            max_label,
        } => {
            o.insert("min".into(), json!(min));
            o.insert("max".into(), json!(max));
            if let Some(l) = min_label {
                o.insert("min_label".into(), json!(l));
            }
            if let Some(l) = max_label {
                o.insert("max_label".into(), json!(l));
            }
        }
        Kind::Wordcloud { max_words } => {
            o.insert("max_words".into(), json!(max_words));
        }
        _ => {}
    }
    if let (true, Some(c)) = (with_correct, spec.kind.correct()) {
        o.insert("correct".into(), json!(c));
    }
    if !spec.translations.is_empty() {
        let t: Map<String, Value> = spec
            .translations
            .iter()
            .map(|(tag, t)| {
                let mut v = Map::new();
                v.insert("prompt".into(), json!(t.prompt));
                if let Some(opts) = &t.options {
                    v.insert("options".into(), json!(opts));
                }
                (tag.clone(), Value::Object(v))
            })
            .collect();
        o.insert("translations".into(), Value::Object(t));
    }
    o
}

/// A QuestionView: the spec plus id, state, results_visible and closes_at.
/// The quiz answer is in for the moderator, and for everyone once the
/// question is closed and its results visible.
pub fn question_view(q: &Question, moderator: bool) -> Value {
    let mut o = question_spec_json(&q.spec, moderator || q.correct_public());
    o.insert("id".into(), json!(q.id));
    o.insert("state".into(), json!(q.state.as_str()));
    o.insert("results_visible".into(), json!(q.results_visible));
    o.insert("closes_at".into(), json!(q.closes_at));
    Value::Object(o)
}

#[derive(Serialize)]
struct WordOut<'a> {
    text: &'a str,
    count: u64,
}

#[derive(Serialize)]
struct EntryOut<'a> {
    id: Uuid,
    text: &'a str,
    at: i64,
}

/// A tally's fields, without `type`: as sent in `tally` messages and kept in
/// `results` and the session view.
#[derive(Serialize)]
pub struct TallyOut<'a> {
    question_id: Uuid,
    seq: u64,
    voters: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<&'a [u64]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    words: Option<Vec<WordOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entries: Option<Vec<EntryOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scores: Option<&'a [u64]>,
}

/// Top words a wordcloud tally carries.
pub const TALLY_WORDS: usize = 100;
/// Newest entries an open tally carries.
pub const TALLY_ENTRIES: usize = 50;

impl<'a> TallyOut<'a> {
    pub fn new(question_id: Uuid, seq: u64, t: &'a Tally) -> TallyOut<'a> {
        let mut out = TallyOut {
            question_id,
            seq,
            voters: t.voters,
            counts: None,
            mean: None,
            words: None,
            entries: None,
            scores: None,
        };
        match &t.body {
            TallyBody::Counts(c) => out.counts = Some(c),
            TallyBody::Scale { counts, .. } => {
                out.counts = Some(counts);
                out.mean = Some(t.mean());
            }
            TallyBody::Words(_) => {
                out.words = Some(
                    t.top_words(TALLY_WORDS)
                        .into_iter()
                        .map(|(text, count)| WordOut { text, count })
                        .collect(),
                )
            }
            TallyBody::Open(_) => {
                out.entries = Some(
                    t.newest_entries(TALLY_ENTRIES)
                        .into_iter()
                        .map(|(id, text, at)| EntryOut { id, text, at })
                        .collect(),
                )
            }
            TallyBody::Scores(s) => out.scores = Some(s),
        }
        out
    }
}

#[derive(Serialize)]
struct Typed<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    body: T,
}

fn frame<T: Serialize>(v: &T) -> Utf8Bytes {
    // Our own types always serialise.
    serde_json::to_string(v).expect("serialisable").into()
}

/// A `tally` message, serialised once and shared by every receiver.
pub fn tally_frame(t: &TallyOut) -> Utf8Bytes {
    frame(&Typed {
        kind: "tally",
        body: t,
    })
}

pub fn ack_frame(reference: Option<&str>) -> Utf8Bytes {
    match reference {
        Some(r) => frame(&json!({"type": "ack", "ref": r})),
        None => Utf8Bytes::from_static(r#"{"type":"ack"}"#),
    }
}

pub fn error_frame(reference: Option<&str>, e: &Error) -> Utf8Bytes {
    let mut o = json!({"type": "error", "code": e.code.as_str(), "message": e.message});
    if let Some(r) = reference {
        o["ref"] = json!(r);
    }
    frame(&o)
}

/// Any other server message, from a JSON object without `type`.
pub fn message(kind: &str, mut body: Value) -> Utf8Bytes {
    if let Value::Object(o) = &mut body {
        o.insert("type".into(), json!(kind));
    }
    frame(&body)
}

pub fn question_frame(q: &Question, moderator: bool) -> Utf8Bytes {
    message("question", json!({"question": question_view(q, moderator)}))
}

pub fn present_frame(current: Option<Uuid>, qa: bool) -> Utf8Bytes {
    message("present", json!({"question_id": current, "qa": qa}))
}

pub fn presence_frame(audience: usize) -> Utf8Bytes {
    message("presence", json!({"audience": audience}))
}

/// The Q&A items a welcome carries at most; the rest is paged over HTTP.
pub const WELCOME_QA_ITEMS: usize = 100;

/// A Q&A item as `qa_item` messages, welcomes and pages carry it. A hidden
/// item goes with its text and name empty, to every role.
pub fn qa_item_json(item: &crate::domain::qa::QaItem, mine: bool) -> Value {
    let hidden = item.status == crate::domain::qa::QaStatus::Hidden;
    json!({
        "id": item.id,
        "text": if hidden { "" } else { item.text.as_str() },
        "name": if hidden { Some("") } else { item.name.as_deref() },
        "upvotes": item.upvoters.len(),
        "status": item.status.as_str(),
        "at": item.at,
        "mine": mine,
    })
}

/// One page of the Q&A board as a viewer sees it: `{"items", "total"}`.
pub fn qa_page(
    board: &crate::domain::qa::Board,
    moderator: bool,
    participant: Option<u32>,
    offset: usize,
    limit: usize,
) -> (Vec<Value>, usize) {
    let (items, total) = board.page(moderator, participant, offset, limit);
    let items = items
        .into_iter()
        .map(|i| qa_item_json(i, participant == Some(i.author)))
        .collect();
    (items, total)
}

/// The session as a role sees it (the body of `GET /api/sessions/{code}` and
/// of `welcome.session`): drafts and quiz answers only for the moderator.
/// `tallies` gives the current tally of the questions whose tally the role
/// may see.
pub fn session_view(
    s: &Session,
    moderator: bool,
    join_url: &str,
    tallies: Map<String, Value>,
) -> Value {
    let questions: Vec<Value> = s
        .questions()
        .iter()
        .filter(|q| moderator || q.is_public())
        .map(|q| question_view(q, moderator))
        .collect();
    let current = if moderator {
        s.current
    } else {
        s.public_current()
    };
    json!({
        "id": s.id,
        "code": s.code,
        "title": s.title,
        "current": current,
        "qa_on_screen": s.qa_on_screen,
        "join_url": join_url,
        "settings": {"qa_moderation": s.settings.qa_moderation},
        "questions": questions,
        "tallies": tallies,
    })
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
                choice: RawChoice::Int(2)
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
    fn a_long_ref_is_too_large() {
        let text = format!(r#"{{"type":"hello","ref":"{}"}}"#, "r".repeat(65));
        let (r, msg) = parse_client(&text);
        assert_eq!(r, None);
        assert_eq!(msg.unwrap_err().code, ErrorCode::TooLarge);
    }

    #[test]
    fn present_takes_a_question_null_or_the_qa_board() {
        let q = Uuid::new_v4();
        let parse = |t: String| parse_client(&t).1.unwrap();
        assert_eq!(
            parse(format!(r#"{{"type":"present","question_id":"{q}"}}"#)),
            ClientMsg::Present(Presentation::Question(Some(q)))
        );
        assert_eq!(
            parse(r#"{"type":"present","question_id":null}"#.into()),
            ClientMsg::Present(Presentation::Question(None))
        );
        assert_eq!(
            parse(r#"{"type":"present","qa":true}"#.into()),
            ClientMsg::Present(Presentation::Qa)
        );
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
    fn specs_round_trip_through_json() {
        let v = json!({
            "kind": "multiple", "prompt": "Which approaches work?",
            "options": ["Peer-to-peer", {"label": "Triangular", "colour": "#0072b2"}, "Demand-driven"],
            "max_choices": 2, "correct": [0, 2],
            "translations": {"fr": {"prompt": "Quelles approches marchent ?", "options": ["Pair à pair", "Triangulaire", "À la demande"]}}
        });
        let spec = parse_question_spec(&v).unwrap();
        let back = Value::Object(question_spec_json(&spec, true));
        assert_eq!(parse_question_spec(&back).unwrap(), spec);
        assert_eq!(back["colours"], json!([null, "#0072b2", null]));
        assert!(question_spec_json(&spec, false).get("correct").is_none());
    }

    #[test]
    fn an_unknown_kind_is_a_bad_request() {
        let err = parse_question_spec(&json!({"kind": "poll", "prompt": "x"})).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(err.message.contains("unknown kind"));
    }

    #[test]
    fn scale_defaults_are_one_to_five() {
        let spec = parse_question_spec(&json!({"kind": "scale", "prompt": "How useful?"})).unwrap();
        assert_eq!(
            spec.kind,
            Kind::Scale {
                min: 1,
                max: 5,
                min_label: None,
                max_label: None
            }
        );
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

    #[test]
    fn a_tally_frame_carries_the_kind_fields() {
        let t = Tally {
            voters: 3,
            body: TallyBody::Counts(vec![2, 1]),
        };
        let q = Uuid::nil();
        let f = tally_frame(&TallyOut::new(q, 7, &t));
        let v: Value = serde_json::from_str(f.as_str()).unwrap();
        assert_eq!(
            v,
            json!({"type": "tally", "question_id": q, "seq": 7, "voters": 3, "counts": [2, 1]})
        );
    }
}
