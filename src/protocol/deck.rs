//! Decks: a session's questions in a file a chair writes by hand, loaded
//! to create a session and written back out to reuse at the next event.
//!
//! A deck is TOML (`decks/README.md` describes it for chairs):
//!
//! ```toml
//! title = "Capacity building for the Global Compact"
//! qa_moderation = false        # optional
//! show_digest = false          # optional: the projector shows the digest
//!
//! [[question]]
//! kind = "single"
//! prompt = "Where do you work on migration?"
//! options = ["National government", "Local government", "Civil society"]
//!
//! [question.translations.fr]
//! prompt = "Où travaillez-vous sur les migrations ?"
//! options = ["Gouvernement national", "Gouvernement local", "Société civile"]
//! ```
//!
//! Each `[[question]]` table is a QuestionSpec of the contract, read by
//! the same serde types as the JSON API (`protocol::spec`) and checked by
//! the domain, so a deck
//! accepts exactly what `POST /api/sessions` accepts. Errors name the
//! question (counted from 1) and the field. Unlike the JSON API, a deck
//! refuses fields it does not know: in a file written by hand an unknown
//! field is a typo (`[[questions]]`, `corect`), and ignoring it would lose
//! what the chair meant.

use std::fmt::Write as _;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::{check_text, Limits, QuestionSpec, Session, Settings};
use crate::error::{Error, Result};
use crate::protocol::question_spec_json;
use crate::protocol::spec::{read_spec, shape_error, SpecIn};

/// What a deck holds: everything needed to create its session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deck {
    pub title: String,
    pub settings: Settings,
    pub questions: Vec<QuestionSpec>,
}

/// A deck's top level as written, but for its `[[question]]` tables: each is
/// read on its own, from the TOML as parsed (where a date is still a date),
/// so that its errors name it by number.
#[derive(Deserialize)]
struct DeckIn {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    qa_moderation: Option<bool>,
    #[serde(default)]
    show_digest: Option<bool>,
}

impl Deck {
    /// A digest of the title and questions (hex), the same for equal decks.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let questions: Vec<Value> = self
            .questions
            .iter()
            .map(|q| Value::Object(question_spec_json(q, true)))
            .collect();
        let text = serde_json::json!({"title": self.title, "questions": questions}).to_string();
        // Lower-case hex, as the journal writes digests.
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Is `session` this deck's session: the same title and the same
    /// questions, in the same order?
    pub fn matches(&self, session: &Session) -> bool {
        session.title == self.title
            && session
                .questions()
                .iter()
                .map(|q| &q.spec)
                .eq(self.questions.iter())
    }
}

/// An event's deck: the event's title and the deck of each of its
/// sessions, in order. Written as
///
/// ```toml
/// event = "Forum side events"
///
/// [[session]]
/// title = "Oceans"
///
/// [[session.question]]
/// kind = "single"
/// prompt = "Act now?"
/// options = ["Yes", "No"]
/// ```
///
/// where each `[[session]]` table is a deck of its own (title, settings,
/// `[[session.question]]` tables), read as `parse_with` reads one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventDeck {
    pub title: String,
    pub sessions: Vec<Deck>,
}

/// The most sessions an event's deck holds.
pub const MAX_EVENT_SESSIONS: usize = crate::live::events::MAX_SESSIONS_PER_EVENT;

/// Whether a deck's text holds an event (`[[session]]` tables or an
/// `event` title) rather than one session. Text that is no TOML is not.
pub fn is_event(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("session") || t.contains_key("event"))
}

/// Reads an event's deck and checks each of its sessions against `limits`.
/// Errors name the session (counted from 1, with its title when it has
/// one) and then the question and field as a session's deck does.
pub fn parse_event_with(text: &str, limits: &Limits) -> Result<EventDeck> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut table: toml::Table = text.parse().map_err(|e| syntax_error(text, &e))?;
    let title = match table.remove("event") {
        Some(toml::Value::String(t)) => t.trim().to_owned(),
        Some(_) => return Err(Error::bad_request("event must be a text: the event's title")),
        None => {
            return Err(Error::bad_request(
                "event is required: a line like event = \"Forum side events\" before the [[session]] tables",
            ))
        }
    };
    check_text("event", &title, limits.max_title_chars)?;
    let sessions = match table.remove("session") {
        Some(toml::Value::Array(items)) => items,
        Some(_) => {
            return Err(Error::bad_request(
                "session must be a list of [[session]] tables",
            ))
        }
        None => {
            return Err(Error::bad_request(
                "an event's deck has one [[session]] table per session",
            ))
        }
    };
    if let Some(key) = table.keys().next() {
        let hint = if key == "question" {
            "; an event's questions belong to its sessions, as [[session.question]] tables"
        } else {
            ""
        };
        return Err(Error::bad_request(format!(
            "unknown field {key:?} at the top of the event's deck{hint}; it has event and [[session]] tables"
        )));
    }
    if sessions.is_empty() {
        return Err(Error::bad_request(
            "an event's deck has at least one [[session]] table",
        ));
    }
    if sessions.len() > MAX_EVENT_SESSIONS {
        return Err(Error::limit_reached(format!(
            "the deck has {} sessions, an event holds at most {MAX_EVENT_SESSIONS}",
            sessions.len()
        )));
    }
    let sessions = sessions
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let name = match v.get("title").and_then(toml::Value::as_str) {
                Some(t) => format!("session {} ({t:?})", i + 1),
                None => format!("session {}", i + 1),
            };
            let toml::Value::Table(t) = v else {
                return Err(Error::bad_request(format!(
                    "{name}: a session is a [[session]] table with a title and its questions"
                )));
            };
            // The session's table is a deck of its own: written back as
            // TOML, it reads as `parse_with` reads a file.
            let text =
                toml::to_string(&t).map_err(|e| Error::bad_request(format!("{name}: {e}")))?;
            parse_with(&text, limits)
                .map_err(|e| Error::new(e.code, format!("{name}: {}", e.message)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EventDeck { title, sessions })
}

/// Reads a deck and checks it against the default limits.
pub fn parse(text: &str) -> Result<Deck> {
    parse_with(text, &Limits::default())
}

/// Reads a deck and checks every question against `limits`, so that a deck
/// that parses creates its session.
pub fn parse_with(text: &str, limits: &Limits) -> Result<Deck> {
    // Notepad and friends may start a UTF-8 file with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut table: toml::Table = text.parse().map_err(|e| syntax_error(text, &e))?;
    let tables = match table.remove("question") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items,
        Some(_) => {
            return Err(Error::bad_request(
                "question must be a list of [[question]] tables",
            ))
        }
    };
    let mut unknown = None;
    let read = {
        let mut note = |path: serde_ignored::Path| {
            if let serde_ignored::Path::Map { key, .. } = path {
                unknown.get_or_insert(key);
            }
        };
        let d = serde_ignored::Deserializer::new(toml::Value::Table(table), &mut note);
        serde_path_to_error::deserialize::<_, DeckIn>(d)
    };
    if let Some(key) = unknown {
        let hint = if key == "questions" {
            "; questions are [[question]] tables, in the singular"
        } else {
            ""
        };
        return Err(Error::bad_request(format!(
            "unknown field {key:?} at the top of the deck{hint}; a deck has title, qa_moderation, show_digest and [[question]] tables"
        )));
    }
    let deck = read.map_err(|e| {
        let field = e.path().iter().next().map(ToString::to_string);
        match field.as_deref() {
            Some("title") => Error::bad_request("title must be a text"),
            Some("qa_moderation") => Error::bad_request("qa_moderation must be true or false"),
            Some("show_digest") => Error::bad_request("show_digest must be true or false"),
            _ => shape_error(e),
        }
    })?;
    let title = deck
        .title
        .ok_or_else(|| {
            Error::bad_request("title is required: a line like title = \"Morning panel\"")
        })?
        .trim()
        .to_owned();
    check_text("title", &title, limits.max_title_chars)?;
    if tables.len() > limits.max_questions {
        return Err(Error::limit_reached(format!(
            "the deck has {} questions, a session holds at most {}",
            tables.len(),
            limits.max_questions
        )));
    }
    let questions = tables
        .iter()
        .enumerate()
        .map(|(i, v)| {
            question(v, limits)
                .map_err(|e| Error::new(e.code, format!("question {}: {}", i + 1, e.message)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Deck {
        title,
        settings: Settings {
            qa_moderation: deck.qa_moderation.unwrap_or(false),
            show_digest: deck.show_digest.unwrap_or(false),
            ..Settings::default()
        },
        questions,
    })
}

/// A TOML syntax error as one line: where, and what.
fn syntax_error(text: &str, e: &toml::de::Error) -> Error {
    let what = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let at = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("line {line}, column {column}: ")
        }
        None => String::new(),
    };
    Error::bad_request(format!("the deck is not valid TOML: {at}{what}"))
}

/// One `[[question]]` table, read as the contract's QuestionSpec and checked.
/// Every error names its field: the reader's by its path, the domain's in
/// its message.
fn question(v: &toml::Value, limits: &Limits) -> Result<QuestionSpec> {
    if !v.is_table() {
        return Err(Error::bad_request(
            "a question is a [[question]] table with kind, prompt and its settings",
        ));
    }
    let json = to_json(v, "")?;
    let mut unknown: Option<(String, String)> = None;
    let read = read_spec(&json, |at, key| {
        unknown.get_or_insert_with(|| (at.to_owned(), key.to_owned()));
    });
    // Unlike the JSON API, a deck refuses fields it does not know.
    if let Some((at, key)) = unknown {
        return Err(Error::bad_request(match at.as_str() {
            "" => format!(
                "unknown field {key:?}; a question has {}",
                fields_of::<SpecIn>().join(", ")
            ),
            _ if at
                .strip_prefix("translations.")
                .is_some_and(|tag| !tag.contains('.')) =>
            {
                format!("{at}: unknown field {key:?}; a translation has prompt and options")
            }
            _ => format!("{at}: unknown field {key:?}"),
        }));
    }
    let spec = read?.into_spec()?;
    spec.validate(limits)?;
    Ok(spec)
}

/// The fields a serde struct reads, in their order.
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Capture<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Capture<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(
            self,
            _: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Capture(&mut fields));
    fields
}

/// TOML to the JSON the contract's reader takes; `at` is where `v` is in
/// the question (`options[1]`), for the errors. TOML says two things JSON
/// cannot, a date and a NaN; no field of a question takes either.
fn to_json(v: &toml::Value, at: &str) -> Result<Value> {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    Ok(match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(n) => Value::from(*n),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| Error::bad_request(format!("{at}: {f} is not a number")))?,
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => {
            return Err(Error::bad_request(format!(
            "{at}: {d} is a date, which no field of a question takes (quote it to make it a text)"
        )))
        }
        toml::Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| to_json(v, &format!("{at}[{i}]")))
                .collect::<Result<Vec<_>>>()?,
        ),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v, &join(k))?)))
                .collect::<Result<Map<_, _>>>()?,
        ),
    })
}

// ---- export -------------------------------------------------------------------

/// The order a translation's fields are written in.
const TRANSLATION_ORDER: [&str; 2] = ["prompt", "options"];

/// The order a question's fields are written in: the way a chair reads them.
const EXPORT_ORDER: [&str; 11] = [
    "kind",
    "prompt",
    "options",
    "colours",
    "max_choices",
    "min",
    "max",
    "min_label",
    "max_label",
    "max_words",
    "correct",
];

/// A session as a deck: its title, its settings and every question's
/// definition (quiz answers, colours and translations included; no
/// ballots, no states). `parse` reads it back to the same questions.
pub fn to_toml(session: &Session) -> String {
    let mut out = String::new();
    out.push_str("# A handsup deck: create a session from it with `handsup serve --deck FILE`\n");
    out.push_str("# or with \"Create from a deck file\" on the start page.\n\n");
    let _ = writeln!(out, "title = {}", toml_str(&session.title));
    let _ = writeln!(out, "qa_moderation = {}", session.settings.qa_moderation);
    let _ = writeln!(out, "show_digest = {}", session.settings.show_digest);
    for q in session.questions() {
        let mut spec = question_spec_json(&q.spec, true);
        inline_partial_colours(&mut spec);
        out.push_str("\n[[question]]\n");
        let rest = spec
            .keys()
            .filter(|k| !EXPORT_ORDER.contains(&k.as_str()) && *k != "translations");
        for key in EXPORT_ORDER.iter().copied().chain(rest.map(String::as_str)) {
            if let Some(v) = spec.get(key).and_then(from_json) {
                write_pair(&mut out, key, &v);
            }
        }
        if let Some(Value::Object(langs)) = spec.get("translations") {
            for (tag, t) in langs {
                let _ = writeln!(out, "\n[question.translations.{}]", toml_key(tag));
                if let Value::Object(t) = t {
                    let rest = t
                        .keys()
                        .filter(|k| !TRANSLATION_ORDER.contains(&k.as_str()));
                    for key in TRANSLATION_ORDER
                        .iter()
                        .copied()
                        .chain(rest.map(String::as_str))
                    {
                        if let Some(v) = t.get(key).and_then(from_json) {
                            write_pair(&mut out, key, &v);
                        }
                    }
                }
            }
        }
    }
    out
}

/// Where only some options have a colour, TOML (which has no null) gives
/// those options as `{ label = "...", colour = "#..." }`.
fn inline_partial_colours(spec: &mut Map<String, Value>) {
    let Some(Value::Array(colours)) = spec.get("colours") else {
        return;
    };
    if colours.iter().all(|c| !c.is_null()) {
        return;
    }
    let colours = colours.clone();
    spec.remove("colours");
    if let Some(Value::Array(options)) = spec.get_mut("options") {
        for (option, colour) in options.iter_mut().zip(colours) {
            if !colour.is_null() {
                let label = option.take();
                *option = serde_json::json!({"label": label, "colour": colour});
            }
        }
    }
}

/// JSON to TOML; a null (which TOML cannot say) is left out.
fn from_json(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => toml::Value::Array(items.iter().filter_map(from_json).collect()),
        Value::Object(o) => toml::Value::Table(
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), from_json(v)?)))
                .collect(),
        ),
    })
}

/// `key = value`; a long array one item a line.
fn write_pair(out: &mut String, key: &str, v: &toml::Value) {
    let key = toml_key(key);
    let inline = v.to_string();
    match v {
        toml::Value::Array(items) if inline.len() + key.len() > 90 => {
            let _ = writeln!(out, "{key} = [");
            for item in items {
                let _ = writeln!(out, "    {item},");
            }
            out.push_str("]\n");
        }
        _ => {
            let _ = writeln!(out, "{key} = {inline}");
        }
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A key, bare where TOML allows it, quoted otherwise.
fn toml_key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        k.to_owned()
    } else {
        toml_str(k)
    }
}

#[cfg(test)]
#[path = "deck_tests.rs"]
mod tests;
