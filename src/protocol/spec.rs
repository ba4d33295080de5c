//! The QuestionSpec codec: the JSON form of a question's definition (what
//! `POST .../questions` takes, what views carry), read and written through
//! serde types and converted to and from `domain::QuestionSpec`.
//!
//! Shapes are checked here and errors name the field by its path
//! (`options[1]: ...`); the rules (counts, lengths, ranges) are the domain's.
//! Unknown fields are ignored, so newer clients still talk to older servers;
//! a deck, written by hand, refuses them (see `read_spec`).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{Kind, KindName, OptionItem, QuestionSpec, Translation};
use crate::error::{Error, Result};

/// A question's definition as a client sends it. Every field may be left
/// out or null; what a kind needs is checked when it is converted.
#[derive(Deserialize, Default)]
#[serde(expecting = "a question: an object with kind, prompt and its settings")]
pub struct SpecIn {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    options: Option<Vec<OptionIn>>,
    #[serde(default)]
    colours: Option<Vec<Option<String>>>,
    #[serde(default)]
    max_choices: Option<Whole>,
    #[serde(default)]
    min: Option<Whole>,
    #[serde(default)]
    max: Option<Whole>,
    #[serde(default)]
    min_label: Option<String>,
    #[serde(default)]
    max_label: Option<String>,
    #[serde(default)]
    max_words: Option<Whole>,
    #[serde(default)]
    correct: Option<CorrectIn>,
    #[serde(default)]
    segment: Option<bool>,
    #[serde(default)]
    translations: Option<BTreeMap<String, TranslationIn>>,
}

/// An option: its label, or `{"label", "colour"?}`.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "an option is a label, or {\"label\", \"colour\"} with a colour like \"#0072b2\""
)]
enum OptionIn {
    Label(String),
    Item {
        label: String,
        #[serde(default)]
        colour: Option<String>,
    },
}

/// The quiz answer: option indices, or one index.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "correct holds option indices: a whole number from 0 to 255 or an array of them"
)]
enum CorrectIn {
    One(u8),
    Many(Vec<u8>),
}

#[derive(Deserialize, Serialize)]
#[serde(expecting = "a translation: {\"prompt\", \"options\"?}")]
struct TranslationIn {
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    options: Option<Vec<String>>,
}

/// A whole number; a fraction or a text is refused with that word.
#[derive(Clone, Copy)]
struct Whole(i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Whole;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> std::result::Result<Whole, E> {
                Ok(Whole(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<Whole, E> {
                // Out of every range a spec takes; refused by the range check.
                Ok(Whole(i64::try_from(n).unwrap_or(i64::MAX)))
            }
        }
        d.deserialize_i64(V)
    }
}

impl Whole {
    fn within(
        n: Option<Whole>,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>> {
        match n {
            None => Ok(None),
            Some(Whole(n)) if range.contains(&n) => Ok(Some(n)),
            Some(_) => Err(Error::bad_request(format!(
                "{name} must be a whole number from {} to {}",
                range.start(),
                range.end()
            ))),
        }
    }
}

/// A question's definition as the server writes it. `correct` is set only
/// where the reader may see the quiz answer.
#[derive(Clone, Debug, Serialize)]
pub struct SpecOut {
    kind: &'static str,
    prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    colours: Option<Vec<Option<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_choices: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_words: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correct: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    segment: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    translations: BTreeMap<String, TranslationOut>,
}

#[derive(Clone, Debug, Serialize)]
struct TranslationOut {
    prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<Vec<String>>,
}

impl SpecOut {
    /// The spec as written; `with_correct` leaves the quiz answer in.
    pub fn new(spec: &QuestionSpec, with_correct: bool) -> SpecOut {
        let options = spec.kind.options();
        let mut out = SpecOut {
            kind: spec.kind.name().as_str(),
            prompt: spec.prompt.clone(),
            options: options.map(|o| o.iter().map(|x| x.label.clone()).collect()),
            colours: options
                .filter(|o| o.iter().any(|x| x.colour.is_some()))
                .map(|o| o.iter().map(|x| x.colour.clone()).collect()),
            max_choices: None,
            min: None,
            max: None,
            min_label: None,
            max_label: None,
            max_words: None,
            correct: None,
            segment: spec.segment,
            translations: spec
                .translations
                .iter()
                .map(|(tag, t)| {
                    let t = TranslationOut {
                        prompt: t.prompt.clone(),
                        options: t.options.clone(),
                    };
                    (tag.clone(), t)
                })
                .collect(),
        };
        match &spec.kind {
            Kind::Multiple { max_choices, .. } => out.max_choices = Some(*max_choices),
            Kind::Scale {
                min,
                max,
                min_label,
                max_label,
            } => {
                out.min = Some(*min);
                out.max = Some(*max);
                out.min_label.clone_from(min_label);
                out.max_label.clone_from(max_label);
            }
            Kind::Wordcloud { max_words } => out.max_words = Some(*max_words),
            _ => {}
        }
        if with_correct {
            out.correct = spec.kind.correct().map(<[u8]>::to_vec);
        }
        out
    }
}

/// Where a deserialiser went wrong, in the form errors name a field:
/// `options[1].label`, `translations.fr.prompt`.
fn path_text(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// A serde error as a `bad_request` that names the field by its path.
pub(crate) fn shape_error<E: fmt::Display>(e: serde_path_to_error::Error<E>) -> Error {
    let at = path_text(e.path());
    let what = e.inner().to_string();
    if at.is_empty() {
        Error::bad_request(what)
    } else {
        Error::bad_request(format!("{at}: {what}"))
    }
}

/// Reads a spec from any serde source, calling `unknown` with the path of
/// each field it does not know (`corect`, `translations.fr.promt`).
pub(crate) fn read_spec<'de, D>(d: D, mut unknown: impl FnMut(&str, &str)) -> Result<SpecIn>
where
    D: Deserializer<'de>,
    D::Error: fmt::Display,
{
    let mut ignored = |path: serde_ignored::Path| {
        if let serde_ignored::Path::Map { parent, key } = path {
            unknown(&ignored_text(parent), &key);
        }
    };
    let d = serde_ignored::Deserializer::new(d, &mut ignored);
    serde_path_to_error::deserialize(d).map_err(shape_error)
}

fn ignored_text(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", ignored_text(parent)),
        P::Map { parent, key } => match ignored_text(parent) {
            p if p.is_empty() => key.clone(),
            p => format!("{p}.{key}"),
        },
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_text(parent)
        }
    }
}

impl SpecIn {
    /// The domain's spec, once the fields a kind needs are there.
    pub fn into_spec(self) -> Result<QuestionSpec> {
        let kind_name = self
            .kind
            .as_deref()
            .ok_or_else(|| Error::bad_request("kind is required"))?;
        let kind_name = KindName::parse(kind_name).ok_or_else(|| {
            Error::bad_request(format!(
                "kind: unknown kind {kind_name:?}; the kinds are single, multiple, scale, wordcloud, open, ranking"
            ))
        })?;
        let prompt = self
            .prompt
            .ok_or_else(|| Error::bad_request("prompt is required"))?;
        let has_correct = self.correct.is_some();
        let correct = self.correct.map(|c| match c {
            CorrectIn::One(n) => vec![n],
            CorrectIn::Many(ns) => ns,
        });
        let options = || options(self.options, self.colours);
        let kind = match kind_name {
            KindName::Single => Kind::Single {
                options: options()?,
                correct,
            },
            KindName::Multiple => {
                let options = options()?;
                let max = Whole::within(self.max_choices, "max_choices", 0..=255)?
                    .unwrap_or(options.len() as i64);
                Kind::Multiple {
                    max_choices: max.min(255) as u8,
                    options,
                    correct,
                }
            }
            KindName::Scale => Kind::Scale {
                min: Whole::within(self.min, "min", -1_000_000..=1_000_000)?.unwrap_or(1) as i32,
                max: Whole::within(self.max, "max", -1_000_000..=1_000_000)?.unwrap_or(5) as i32,
                min_label: self.min_label,
                max_label: self.max_label,
            },
            KindName::Wordcloud => Kind::Wordcloud {
                max_words: Whole::within(self.max_words, "max_words", 0..=255)?.unwrap_or(3) as u8,
            },
            KindName::Open => Kind::Open,
            KindName::Ranking => Kind::Ranking {
                options: options()?,
            },
        };
        if has_correct && !matches!(kind, Kind::Single { .. } | Kind::Multiple { .. }) {
            return Err(Error::bad_request(
                "correct: only single and multiple questions can carry correct",
            ));
        }
        let translations = self
            .translations
            .unwrap_or_default()
            .into_iter()
            .map(|(tag, t)| {
                let prompt = t.prompt.ok_or_else(|| {
                    Error::bad_request(format!("translations.{tag} needs a prompt"))
                })?;
                let options = t.options;
                Ok((tag, Translation { prompt, options }))
            })
            .collect::<Result<_>>()?;
        Ok(QuestionSpec {
            prompt,
            kind,
            translations,
            segment: self.segment.unwrap_or(false),
        })
    }
}

fn options(
    items: Option<Vec<OptionIn>>,
    colours: Option<Vec<Option<String>>>,
) -> Result<Vec<OptionItem>> {
    let items = items.ok_or_else(|| Error::bad_request("options must be an array of labels"))?;
    let mut colours = colours.unwrap_or_default().into_iter();
    Ok(items
        .into_iter()
        .map(|item| {
            let listed = colours.next().flatten();
            match item {
                OptionIn::Label(label) => OptionItem {
                    label,
                    colour: listed,
                },
                OptionIn::Item { label, colour } => OptionItem {
                    label,
                    colour: colour.or(listed),
                },
            }
        })
        .collect())
}

/// Reads a QuestionSpec: `{"kind", "prompt", ...settings, "translations"?}`.
pub fn parse_question_spec(v: &Value) -> Result<QuestionSpec> {
    read_spec(v, |_, _| {})?.into_spec()
}

/// The spec as a JSON object. `with_correct` leaves the quiz answer in.
pub fn question_spec_json(spec: &QuestionSpec, with_correct: bool) -> Map<String, Value> {
    match serde_json::to_value(SpecOut::new(spec, with_correct)) {
        Ok(Value::Object(o)) => o,
        // A struct of texts and numbers always makes an object.
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

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
    fn the_written_form_is_the_one_journals_and_views_carry() {
        let spec = parse_question_spec(&json!({
            "kind": "scale", "prompt": "Ready?", "min": 0, "max": 10, "max_label": "Fully",
            "translations": {"pt-BR": {"prompt": "Pronto?"}}
        }))
        .unwrap();
        assert_eq!(
            Value::Object(question_spec_json(&spec, true)),
            json!({"kind": "scale", "prompt": "Ready?", "min": 0, "max": 10, "max_label": "Fully",
                   "translations": {"pt-BR": {"prompt": "Pronto?"}}})
        );
        let single = parse_question_spec(&json!({
            "kind": "single", "prompt": "p", "options": ["a", "b"], "correct": 1
        }))
        .unwrap();
        assert_eq!(
            Value::Object(question_spec_json(&single, true)),
            json!({"kind": "single", "prompt": "p", "options": ["a", "b"], "correct": [1]})
        );
    }

    #[test]
    fn an_unknown_kind_is_a_bad_request() {
        let err = parse_question_spec(&json!({"kind": "poll", "prompt": "x"})).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(err.message.contains("unknown kind"));
    }

    #[test]
    fn errors_name_the_field_by_its_path() {
        let err = |v: Value| parse_question_spec(&v).unwrap_err().message;
        assert!(
            err(json!({"kind": "single", "prompt": "p", "options": ["a", 3]}))
                .starts_with("options[1]: ")
        );
        assert!(err(json!({"kind": "open", "prompt": 3})).starts_with("prompt: "));
        assert!(err(json!({"kind": "open", "prompt": "p",
                           "translations": {"fr": {"prompt": "q", "options": [1]}}}))
        .starts_with("translations.fr.options[0]: "));
        assert_eq!(
            err(json!({"kind": "scale", "prompt": "p", "max": 1.5})),
            "max: invalid type: floating point `1.5`, expected a whole number"
        );
        assert_eq!(
            err(json!({"kind": "wordcloud", "prompt": "p", "max_words": 300})),
            "max_words must be a whole number from 0 to 255"
        );
        assert_eq!(err(json!({"prompt": "p"})), "kind is required");
        assert_eq!(err(json!({"kind": "open"})), "prompt is required");
        assert!(err(json!(3)).contains("a question: an object"));
        assert!(
            err(json!({"kind": "open", "prompt": "p", "correct": [0]})).starts_with("correct: ")
        );
    }

    #[test]
    fn nulls_are_left_out_and_unknown_fields_ignored() {
        let spec = parse_question_spec(&json!({
            "kind": "single", "prompt": "p", "options": ["a", "b"], "correct": null,
            "colours": null, "shiny": true
        }))
        .unwrap();
        assert_eq!(spec.kind.correct(), None);
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
}
