//! Questions: what a moderator asks, its kinds and options, and the spec
//! validated on the way in (choices are in `choice`, tallies in `tally`).

use std::collections::{BTreeMap, HashMap};

use super::choice::normalise_word;
use super::Limits;
use crate::error::{Error, Result};

/// The six kinds of the contract, by their wire names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KindName {
    Single,
    Multiple,
    Scale,
    Wordcloud,
    Open,
    Ranking,
}

impl KindName {
    pub const ALL: [KindName; 6] = [
        KindName::Single,
        KindName::Multiple,
        KindName::Scale,
        KindName::Wordcloud,
        KindName::Open,
        KindName::Ranking,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KindName::Single => "single",
            KindName::Multiple => "multiple",
            KindName::Scale => "scale",
            KindName::Wordcloud => "wordcloud",
            KindName::Open => "open",
            KindName::Ranking => "ranking",
        }
    }

    pub fn parse(s: &str) -> Option<KindName> {
        KindName::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One answer option of a choice or ranking question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionItem {
    pub label: String,
    /// A CSS hex colour (`#rgb` or `#rrggbb`); the views pick from a
    /// colour-blind-safe palette when it is absent.
    pub colour: Option<String>,
}

/// The kind of a question with its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Single {
        options: Vec<OptionItem>,
        correct: Option<Vec<u8>>,
    },
    Multiple {
        options: Vec<OptionItem>,
        max_choices: u8,
        correct: Option<Vec<u8>>,
    },
    Scale {
        min: i32,
        max: i32,
        min_label: Option<String>,
        max_label: Option<String>,
    },
    Wordcloud {
        max_words: u8,
    },
    Open,
    Ranking {
        options: Vec<OptionItem>,
    },
}

impl Kind {
    pub fn name(&self) -> KindName {
        match self {
            Kind::Single { .. } => KindName::Single,
            Kind::Multiple { .. } => KindName::Multiple,
            Kind::Scale { .. } => KindName::Scale,
            Kind::Wordcloud { .. } => KindName::Wordcloud,
            Kind::Open => KindName::Open,
            Kind::Ranking { .. } => KindName::Ranking,
        }
    }

    pub fn options(&self) -> Option<&[OptionItem]> {
        match self {
            Kind::Single { options, .. }
            | Kind::Multiple { options, .. }
            | Kind::Ranking { options } => Some(options),
            _ => None,
        }
    }

    pub fn correct(&self) -> Option<&[u8]> {
        match self {
            Kind::Single { correct, .. } | Kind::Multiple { correct, .. } => correct.as_deref(),
            _ => None,
        }
    }
}

/// A question's prompt (and options) in another language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    pub prompt: String,
    pub options: Option<Vec<String>>,
}

/// What a moderator sends to create a question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionSpec {
    pub prompt: String,
    pub kind: Kind,
    /// Language tag to translation; ballots and tallies are shared.
    pub translations: BTreeMap<String, Translation>,
    /// A `single` question whose options are the groups the others can be
    /// broken down by ("Which stakeholder group are you?").
    pub segment: bool,
}

pub(super) fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Checks a required text field: not blank, at most `max` characters.
pub fn check_text(field: &str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::bad_request(format!("{field} must not be empty")));
    }
    let n = chars(s);
    if n > max {
        return Err(Error::too_large(format!(
            "{field} is {n} characters, at most {max} are allowed"
        )));
    }
    Ok(())
}

fn check_colour(field: &str, c: &str) -> Result<()> {
    let hex = c.strip_prefix('#').unwrap_or("");
    if (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "{field} must be a hex colour like #0072b2, not {c:?}"
        )))
    }
}

fn check_options(options: &[OptionItem], limits: &Limits) -> Result<()> {
    if options.len() < 2 {
        return Err(Error::bad_request(format!(
            "options: a question needs at least 2 options, it has {}",
            options.len()
        )));
    }
    if options.len() > limits.max_options {
        return Err(Error::too_large(format!(
            "options: a question has at most {} options, it has {}",
            limits.max_options,
            options.len()
        )));
    }
    let mut seen = HashMap::new();
    for (i, o) in options.iter().enumerate() {
        check_text(&format!("options[{i}]"), &o.label, limits.max_option_chars)?;
        if let Some(c) = &o.colour {
            check_colour(&format!("options[{i}].colour"), c)?;
        }
        let key = normalise_word(&o.label);
        if let Some(j) = seen.insert(key, i) {
            return Err(Error::bad_request(format!(
                "options[{j}] and options[{i}] have the same label {:?}",
                o.label.trim()
            )));
        }
    }
    Ok(())
}

fn check_correct(correct: &Option<Vec<u8>>, n: usize) -> Result<()> {
    let Some(correct) = correct else {
        return Ok(());
    };
    if correct.is_empty() {
        return Err(Error::bad_request(
            "correct must name at least one option (or be left out)",
        ));
    }
    let mut seen = vec![false; n];
    for &c in correct {
        let c = c as usize;
        if c >= n {
            return Err(Error::bad_request(format!(
                "correct names option {c}, but options go from 0 to {}",
                n - 1
            )));
        }
        if std::mem::replace(&mut seen[c], true) {
            return Err(Error::bad_request(format!(
                "correct names option {c} twice"
            )));
        }
    }
    Ok(())
}

/// A language tag as in BCP 47, loosely: letters, digits and hyphens.
pub(crate) fn check_language_tag(tag: &str) -> Result<()> {
    let ok = !tag.is_empty()
        && tag.len() <= 35
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && tag.as_bytes()[0].is_ascii_alphabetic();
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "translations: {tag:?} is not a language tag like \"fr\" or \"pt-BR\""
        )))
    }
}

impl QuestionSpec {
    /// Checks every rule of the contract; the first broken one is the error.
    pub fn validate(&self, limits: &Limits) -> Result<()> {
        check_text("prompt", &self.prompt, limits.max_prompt_chars)?;
        match &self.kind {
            Kind::Single { options, correct } => {
                check_options(options, limits)?;
                check_correct(correct, options.len())?;
            }
            Kind::Multiple {
                options,
                max_choices,
                correct,
            } => {
                check_options(options, limits)?;
                if *max_choices == 0 || *max_choices as usize > options.len() {
                    return Err(Error::bad_request(format!(
                        "max_choices must be from 1 to the number of options ({}), not {max_choices}",
                        options.len()
                    )));
                }
                check_correct(correct, options.len())?;
            }
            Kind::Scale {
                min,
                max,
                min_label,
                max_label,
            } => {
                if !(-1000..=1000).contains(min) {
                    return Err(Error::bad_request(
                        "min: scale min must be from -1000 to 1000",
                    ));
                }
                if max <= min {
                    return Err(Error::bad_request(format!(
                        "max: scale max ({max}) must be above min ({min})"
                    )));
                }
                if (*max as i64) > (*min as i64) + 10 {
                    return Err(Error::bad_request(format!(
                        "max: scale max ({max}) may be at most min + 10 ({})",
                        min + 10
                    )));
                }
                for (field, label) in [("min_label", min_label), ("max_label", max_label)] {
                    if let Some(l) = label {
                        check_text(field, l, limits.max_option_chars)?;
                    }
                }
            }
            Kind::Wordcloud { max_words } => {
                if !(1..=10).contains(max_words) {
                    return Err(Error::bad_request(format!(
                        "max_words must be from 1 to 10, not {max_words}"
                    )));
                }
            }
            Kind::Open => {}
            Kind::Ranking { options } => check_options(options, limits)?,
        }
        if self.segment && !matches!(self.kind, Kind::Single { .. }) {
            return Err(Error::bad_request(
                "segment: only a single choice question can be a segment",
            ));
        }
        if self.translations.len() > limits.max_translations {
            return Err(Error::too_large(format!(
                "translations: at most {} translations per question",
                limits.max_translations
            )));
        }
        for (tag, t) in &self.translations {
            check_language_tag(tag)?;
            check_text(
                &format!("translations.{tag}.prompt"),
                &t.prompt,
                limits.max_prompt_chars,
            )?;
            if let Some(labels) = &t.options {
                let n = self.kind.options().map_or(0, |o| o.len());
                if labels.len() != n {
                    return Err(Error::bad_request(format!(
                        "translations.{tag}.options has {} labels, the question has {n} options",
                        labels.len()
                    )));
                }
                for (i, l) in labels.iter().enumerate() {
                    check_text(
                        &format!("translations.{tag}.options[{i}]"),
                        l,
                        limits.max_option_chars,
                    )?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::choice::*;
    use super::super::tally::*;
    use super::*;
    use uuid::Uuid;

    fn opts(labels: &[&str]) -> Vec<OptionItem> {
        labels
            .iter()
            .map(|l| OptionItem {
                label: l.to_string(),
                colour: None,
            })
            .collect()
    }

    fn spec(kind: Kind) -> QuestionSpec {
        QuestionSpec {
            prompt: "Which works best?".into(),
            kind,
            translations: BTreeMap::new(),
            segment: false,
        }
    }

    fn single(labels: &[&str]) -> Kind {
        Kind::Single {
            options: opts(labels),
            correct: None,
        }
    }

    const E: (Uuid, i64) = (Uuid::nil(), 0);

    #[test]
    fn a_question_with_one_option_is_rejected() {
        let err = spec(single(&["Only"]))
            .validate(&Limits::default())
            .unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::BadRequest);
    }

    #[test]
    fn thirteen_options_are_too_many() {
        let labels: Vec<String> = (0..13).map(|i| format!("o{i}")).collect();
        let labels: Vec<&str> = labels.iter().map(|s| s.as_str()).collect();
        let err = spec(single(&labels))
            .validate(&Limits::default())
            .unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::TooLarge);
    }

    #[test]
    fn duplicate_labels_are_rejected_whatever_their_case() {
        let err = spec(single(&["Peer learning", " peer  LEARNING"]))
            .validate(&Limits::default())
            .unwrap_err();
        assert!(err.message.contains("same label"), "{}", err.message);
    }

    #[test]
    fn whitespace_only_prompts_are_rejected() {
        let mut s = spec(single(&["a", "b"]));
        s.prompt = "  \n ".into();
        assert_eq!(
            s.validate(&Limits::default()).unwrap_err().code,
            crate::error::ErrorCode::BadRequest
        );
    }

    #[test]
    fn a_scale_with_max_below_min_is_rejected() {
        let s = spec(Kind::Scale {
            min: 5,
            max: 1,
            min_label: None,
            max_label: None,
        });
        assert!(s.validate(&Limits::default()).is_err());
        let wide = spec(Kind::Scale {
            min: 0,
            max: 11,
            min_label: None,
            max_label: None,
        });
        assert!(wide.validate(&Limits::default()).is_err());
    }

    #[test]
    fn correct_out_of_range_is_rejected() {
        let s = spec(Kind::Single {
            options: opts(&["a", "b"]),
            correct: Some(vec![2]),
        });
        assert!(s.validate(&Limits::default()).is_err());
    }

    #[test]
    fn single_choice_takes_one_index_in_range() {
        let k = single(&["a", "b", "c"]);
        assert_eq!(
            k.check_choice(RawChoice::Int(2), E).unwrap(),
            Choice::Index(2)
        );
        assert!(k.check_choice(RawChoice::Int(3), E).is_err());
        assert!(k.check_choice(RawChoice::Int(-1), E).is_err());
        assert!(k.check_choice(RawChoice::Ints(vec![0]), E).is_err());
    }

    #[test]
    fn multiple_choice_respects_max_and_distinctness() {
        let k = Kind::Multiple {
            options: opts(&["a", "b", "c"]),
            max_choices: 2,
            correct: None,
        };
        assert!(k.check_choice(RawChoice::Ints(vec![0, 2]), E).is_ok());
        assert!(k.check_choice(RawChoice::Ints(vec![0, 1, 2]), E).is_err());
        assert!(k.check_choice(RawChoice::Ints(vec![1, 1]), E).is_err());
        assert!(k.check_choice(RawChoice::Ints(vec![]), E).is_err());
    }

    #[test]
    fn a_ranking_must_be_a_permutation() {
        let k = Kind::Ranking {
            options: opts(&["a", "b", "c"]),
        };
        assert!(k.check_choice(RawChoice::Ints(vec![2, 0, 1]), E).is_ok());
        assert!(k.check_choice(RawChoice::Ints(vec![0, 0, 1]), E).is_err());
        assert!(k.check_choice(RawChoice::Ints(vec![0, 1]), E).is_err());
    }

    #[test]
    fn words_are_normalised_before_counting() {
        assert_eq!(normalise_word("  Peer   Learning "), "peer learning");
        assert_eq!(normalise_word("ÉCOLE"), "école");
        // A decomposed e + combining acute becomes the composed form.
        assert_eq!(normalise_word("e\u{301}cole"), "école");
    }

    /// The cases in this file are also run against the projector's
    /// `normaliseWord` (tests/web/words.test.mjs), so the two cannot drift.
    #[test]
    fn words_are_normalised_as_the_shared_fixture_says() {
        #[derive(serde::Deserialize)]
        struct Case {
            why: String,
            input: String,
            normalised: String,
        }
        let cases: Vec<Case> =
            serde_json::from_str(include_str!("../../tests/fixtures/words.json")).unwrap();
        assert!(cases.len() > 10);
        for case in cases {
            assert_eq!(normalise_word(&case.input), case.normalised, "{}", case.why);
        }
    }

    #[test]
    fn wordcloud_counts_by_normalised_form_and_shows_the_most_frequent_spelling() {
        let k = Kind::Wordcloud { max_words: 3 };
        let mut t = Tally::empty(&k);
        for w in ["Trust", "trust", "Trust", " TRUST "] {
            let c = k.check_choice(RawChoice::Texts(vec![w.into()]), E).unwrap();
            t.add(&c);
        }
        assert_eq!(t.top_words(100), vec![("Trust", 4)]);
        let c = k
            .check_choice(
                RawChoice::Texts(vec!["a".into(), "b".into(), "c".into(), "d".into()]),
                E,
            )
            .unwrap_err();
        assert_eq!(c.code, crate::error::ErrorCode::InvalidChoice);
    }

    #[test]
    fn adding_then_removing_a_ballot_leaves_an_empty_tally() {
        let kinds = [
            single(&["a", "b"]),
            Kind::Scale {
                min: 1,
                max: 5,
                min_label: None,
                max_label: None,
            },
            Kind::Ranking {
                options: opts(&["a", "b", "c"]),
            },
            Kind::Wordcloud { max_words: 2 },
            Kind::Open,
        ];
        let raws = [
            RawChoice::Int(1),
            RawChoice::Int(4),
            RawChoice::Ints(vec![2, 0, 1]),
            RawChoice::Texts(vec!["x".into(), "Y".into()]),
            RawChoice::Text("hello".into()),
        ];
        for (k, raw) in kinds.iter().zip(raws) {
            let mut t = Tally::empty(k);
            let c = k.check_choice(raw, (Uuid::new_v4(), 5)).unwrap();
            t.add(&c);
            assert_eq!(t.voters, 1);
            t.remove(&c);
            assert_eq!(t, Tally::empty(k), "{k:?}");
        }
    }

    #[test]
    fn borda_gives_n_minus_one_points_to_the_first() {
        let k = Kind::Ranking {
            options: opts(&["a", "b", "c"]),
        };
        let mut t = Tally::empty(&k);
        t.add(&k.check_choice(RawChoice::Ints(vec![2, 0, 1]), E).unwrap());
        t.add(&k.check_choice(RawChoice::Ints(vec![2, 1, 0]), E).unwrap());
        assert_eq!(t.body, TallyBody::Scores(vec![1, 1, 4]));
    }

    #[test]
    fn scale_mean_follows_the_ballots() {
        let k = Kind::Scale {
            min: 1,
            max: 5,
            min_label: None,
            max_label: None,
        };
        let mut t = Tally::empty(&k);
        assert_eq!(t.mean(), None);
        t.add(&Choice::Value(5));
        t.add(&Choice::Value(2));
        assert_eq!(t.mean(), Some(3.5));
        assert!(k.check_choice(RawChoice::Int(6), E).is_err());
    }
    #[test]
    fn counts_from_contributions_rebuild_the_tally_of_every_kind() {
        use std::collections::HashMap;
        let words = |ws: &[&str]| RawChoice::Texts(ws.iter().map(|w| w.to_string()).collect());
        let cases: Vec<(Kind, Vec<RawChoice>)> = vec![
            (
                single(&["a", "b", "c"]),
                vec![RawChoice::Int(0), RawChoice::Int(2), RawChoice::Int(2)],
            ),
            (
                Kind::Multiple {
                    options: opts(&["a", "b", "c"]),
                    max_choices: 3,
                    correct: None,
                },
                vec![RawChoice::Ints(vec![0, 1]), RawChoice::Ints(vec![2])],
            ),
            (
                Kind::Scale {
                    min: -2,
                    max: 3,
                    min_label: None,
                    max_label: None,
                },
                vec![
                    RawChoice::Int(-2),
                    RawChoice::Int(0),
                    RawChoice::Int(3),
                    RawChoice::Int(3),
                ],
            ),
            (
                Kind::Wordcloud { max_words: 3 },
                vec![
                    words(&["Café", "tea"]),
                    words(&["cafe\u{301}", "TEA"]),
                    words(&["Tea", "a\u{1f}9"]),
                ],
            ),
            (
                Kind::Open,
                vec![
                    RawChoice::Text("yes: a\u{1f}b".into()),
                    RawChoice::Text("no".into()),
                ],
            ),
            (
                Kind::Ranking {
                    options: opts(&["a", "b", "c"]),
                },
                vec![
                    RawChoice::Ints(vec![2, 0, 1]),
                    RawChoice::Ints(vec![0, 1, 2]),
                ],
            ),
        ];
        for (kind, ballots) in cases {
            let mut expected = Tally::empty(&kind);
            let mut sums: HashMap<String, i64> = HashMap::new();
            for (i, raw) in ballots.into_iter().enumerate() {
                let c = kind
                    .check_choice(raw, (Uuid::new_v4(), 1000 + i as i64))
                    .unwrap();
                expected.add(&c);
                for (name, v) in c.contributions() {
                    *sums.entry(name).or_default() += v;
                }
            }
            let got = Tally::from_counts(&kind, sums.iter().map(|(k, v)| (k.as_str(), *v)));
            assert_eq!(got, expected, "{kind:?}");
            assert!(expected.voters > 0);
        }
    }
}
