//! How version 1 writes down a question's definition and a ballot's
//! choice, and their conversions to and from the domain's types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{Kind, KindName, OptionItem, QuestionSpec, RawChoice, Translation};
use crate::error::{Error, Result};

/// A ballot's choice as sent: a number, a text, or an array of either.
/// Whole numbers come first, so that `[]` reads as no numbers, as it always
/// has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum ChoiceV1 {
    Int(i64),
    Text(String),
    Ints(Vec<i64>),
    Texts(Vec<String>),
}

/// A question's definition. The fields are in alphabetical order: that is
/// the order they have always been written in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SpecV1 {
    /// One per option, `null` for none; only when an option has a colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    colours: Option<Vec<Option<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correct: Option<Vec<u8>>,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_choices: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_words: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    options: Option<Vec<String>>,
    prompt: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    segment: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    translations: BTreeMap<String, TranslationV1>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct TranslationV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    options: Option<Vec<String>>,
    prompt: String,
}

impl From<ChoiceV1> for RawChoice {
    fn from(c: ChoiceV1) -> RawChoice {
        match c {
            ChoiceV1::Int(i) => RawChoice::Int(i),
            ChoiceV1::Ints(v) => RawChoice::Ints(v),
            ChoiceV1::Text(t) => RawChoice::Text(t),
            ChoiceV1::Texts(v) => RawChoice::Texts(v),
        }
    }
}

impl From<RawChoice> for ChoiceV1 {
    fn from(c: RawChoice) -> ChoiceV1 {
        match c {
            RawChoice::Int(i) => ChoiceV1::Int(i),
            RawChoice::Ints(v) => ChoiceV1::Ints(v),
            RawChoice::Text(t) => ChoiceV1::Text(t),
            RawChoice::Texts(v) => ChoiceV1::Texts(v),
        }
    }
}

impl From<&QuestionSpec> for SpecV1 {
    fn from(spec: &QuestionSpec) -> SpecV1 {
        let mut out = SpecV1 {
            kind: spec.kind.name().as_str().to_owned(),
            prompt: spec.prompt.clone(),
            segment: spec.segment,
            translations: spec
                .translations
                .iter()
                .map(|(tag, t)| {
                    let t = TranslationV1 {
                        options: t.options.clone(),
                        prompt: t.prompt.clone(),
                    };
                    (tag.clone(), t)
                })
                .collect(),
            ..SpecV1::default()
        };
        if let Some(options) = spec.kind.options() {
            out.options = Some(options.iter().map(|o| o.label.clone()).collect());
            if options.iter().any(|o| o.colour.is_some()) {
                out.colours = Some(options.iter().map(|o| o.colour.clone()).collect());
            }
        }
        out.correct = spec.kind.correct().map(|c| c.to_vec());
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
        out
    }
}

impl SpecV1 {
    /// The spec it records. Shapes are read here; the rules (counts,
    /// lengths, ranges) are the domain's, checked when it is applied.
    pub(crate) fn into_spec(self) -> Result<QuestionSpec> {
        let kind = KindName::parse(&self.kind)
            .ok_or_else(|| Error::bad_request(format!("unknown kind {:?}", self.kind)))?;
        let options = || -> Result<Vec<OptionItem>> {
            let labels = self
                .options
                .clone()
                .ok_or_else(|| Error::bad_request("options must be an array of labels"))?;
            let colours = self.colours.clone().unwrap_or_default();
            Ok(labels
                .into_iter()
                .enumerate()
                .map(|(i, label)| OptionItem {
                    label,
                    colour: colours.get(i).cloned().flatten(),
                })
                .collect())
        };
        let kind = match kind {
            KindName::Single => Kind::Single {
                options: options()?,
                correct: self.correct.clone(),
            },
            KindName::Multiple => {
                let options = options()?;
                Kind::Multiple {
                    max_choices: self.max_choices.unwrap_or(options.len().min(255) as u8),
                    options,
                    correct: self.correct.clone(),
                }
            }
            KindName::Scale => Kind::Scale {
                min: self.min.unwrap_or(1),
                max: self.max.unwrap_or(5),
                min_label: self.min_label.clone(),
                max_label: self.max_label.clone(),
            },
            KindName::Wordcloud => Kind::Wordcloud {
                max_words: self.max_words.unwrap_or(3),
            },
            KindName::Open => Kind::Open,
            KindName::Ranking => Kind::Ranking {
                options: options()?,
            },
        };
        if self.correct.is_some() && !matches!(kind, Kind::Single { .. } | Kind::Multiple { .. }) {
            return Err(Error::bad_request(
                "only single and multiple questions can carry correct",
            ));
        }
        Ok(QuestionSpec {
            prompt: self.prompt,
            segment: self.segment,
            kind,
            translations: self
                .translations
                .into_iter()
                .map(|(tag, t)| {
                    let t = Translation {
                        prompt: t.prompt,
                        options: t.options,
                    };
                    (tag, t)
                })
                .collect(),
        })
    }
}
