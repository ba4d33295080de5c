//! Choices: what a phone may give to each kind of question, checked
//! against the question, and the normalised form of wordcloud words.

use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::question::*;
use crate::error::{Error, Result};

/// A choice as it arrives, before it is checked against a question: the
/// shapes JSON can give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawChoice {
    Int(i64),
    Ints(Vec<i64>),
    Text(String),
    Texts(Vec<String>),
}

/// A wordcloud word: its normalised form (what counts) and its spelling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub norm: String,
    pub spelling: String,
}

/// A ballot's content, checked against its question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// `single`: one option index.
    Index(u8),
    /// `multiple`: distinct option indices, in the order given.
    Indices(Vec<u8>),
    /// `scale`: a value in min..=max.
    Value(i32),
    /// `wordcloud`: distinct words (by normalised form).
    Words(Vec<Word>),
    /// `open`: a short text, which becomes an entry of the answer wall.
    Text(OpenEntry),
    /// `ranking`: a permutation of all option indices, best first.
    Ranking(Vec<u8>),
}

/// One `open` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenEntry {
    pub id: Uuid,
    pub text: String,
    pub at: i64,
    /// Hidden by the moderator: it leaves every view and the tally.
    pub hidden: bool,
}

/// Collapses inner whitespace runs to one space and trims the ends.
pub fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The form under which wordcloud words are counted: trimmed, inner
/// whitespace collapsed, Unicode lower-cased, NFC.
pub fn normalise_word(s: &str) -> String {
    collapse_spaces(s).to_lowercase().nfc().collect()
}

fn as_index(v: i64, n: usize) -> Result<u8> {
    if v >= 0 && (v as u64) < n as u64 {
        Ok(v as u8)
    } else {
        Err(Error::invalid_choice(format!(
            "option {v} does not exist; options go from 0 to {}",
            n - 1
        )))
    }
}

fn shape_error(expected: &str) -> Error {
    Error::invalid_choice(format!("this question takes {expected} as choice"))
}

impl Kind {
    /// Checks a raw choice against this kind. `entry` gives an `open` answer
    /// its id and time.
    pub fn check_choice(&self, raw: RawChoice, entry: (Uuid, i64)) -> Result<Choice> {
        match (self, raw) {
            (Kind::Single { options, .. }, RawChoice::Int(v)) => {
                Ok(Choice::Index(as_index(v, options.len())?))
            }
            (Kind::Single { .. }, _) => Err(shape_error("one option index")),
            (
                Kind::Multiple {
                    options,
                    max_choices,
                    ..
                },
                RawChoice::Ints(vs),
            ) => {
                if vs.is_empty() || vs.len() > *max_choices as usize {
                    return Err(Error::invalid_choice(format!(
                        "choose from 1 to {max_choices} options, not {}",
                        vs.len()
                    )));
                }
                let mut seen = vec![false; options.len()];
                let mut out = Vec::with_capacity(vs.len());
                for v in vs {
                    let i = as_index(v, options.len())?;
                    if std::mem::replace(&mut seen[i as usize], true) {
                        return Err(Error::invalid_choice(format!("option {i} is chosen twice")));
                    }
                    out.push(i);
                }
                Ok(Choice::Indices(out))
            }
            (Kind::Multiple { .. }, _) => Err(shape_error("an array of option indices")),
            (Kind::Scale { min, max, .. }, RawChoice::Int(v)) => {
                if v < *min as i64 || v > *max as i64 {
                    return Err(Error::invalid_choice(format!(
                        "{v} is off the scale, which goes from {min} to {max}"
                    )));
                }
                Ok(Choice::Value(v as i32))
            }
            (Kind::Scale { .. }, _) => Err(shape_error("an integer on the scale")),
            (Kind::Wordcloud { max_words }, RawChoice::Texts(ws)) => {
                if ws.is_empty() || ws.len() > *max_words as usize {
                    return Err(Error::invalid_choice(format!(
                        "give from 1 to {max_words} words, not {}",
                        ws.len()
                    )));
                }
                let mut out: Vec<Word> = Vec::with_capacity(ws.len());
                for w in ws {
                    // Shown as typed, but composed (NFC), so equal texts look equal.
                    let spelling: String = collapse_spaces(&w).nfc().collect();
                    if spelling.is_empty() {
                        return Err(Error::invalid_choice("a word must not be empty"));
                    }
                    let n = chars(&spelling);
                    if n > 40 {
                        return Err(Error::too_large(format!(
                            "a word is at most 40 characters, this one has {n}"
                        )));
                    }
                    let norm = normalise_word(&spelling);
                    // The same word twice from one phone counts once.
                    if !out.iter().any(|o| o.norm == norm) {
                        out.push(Word { norm, spelling });
                    }
                }
                Ok(Choice::Words(out))
            }
            (Kind::Wordcloud { .. }, _) => Err(shape_error("an array of words")),
            (Kind::Open, RawChoice::Text(t)) => {
                let text = t.trim();
                if text.is_empty() {
                    return Err(Error::invalid_choice("the answer must not be empty"));
                }
                let n = chars(text);
                if n > 280 {
                    return Err(Error::too_large(format!(
                        "an answer is at most 280 characters, this one has {n}"
                    )));
                }
                Ok(Choice::Text(OpenEntry {
                    id: entry.0,
                    text: text.to_owned(),
                    at: entry.1,
                    hidden: false,
                }))
            }
            (Kind::Open, _) => Err(shape_error("one text")),
            (Kind::Ranking { options }, RawChoice::Ints(vs)) => {
                let n = options.len();
                if vs.len() != n {
                    return Err(Error::invalid_choice(format!(
                        "a ranking orders all {n} options, this one has {}",
                        vs.len()
                    )));
                }
                let mut seen = vec![false; n];
                let mut out = Vec::with_capacity(n);
                for v in vs {
                    let i = as_index(v, n)?;
                    if std::mem::replace(&mut seen[i as usize], true) {
                        return Err(Error::invalid_choice(format!(
                            "option {i} is ranked twice; a ranking is a permutation of all options"
                        )));
                    }
                    out.push(i);
                }
                Ok(Choice::Ranking(out))
            }
            (Kind::Ranking { .. }, _) => Err(shape_error("an array ordering all options")),
        }
    }
}

/// Separates the parts of a count's name where one holds free text.
pub(super) const SEP: char = '\u{1f}';

impl Choice {
    /// What this ballot adds to its question's counts, as (name, amount)
    /// pairs: the tally is the sum of these over every ballot, so a store
    /// that only adds numbers (Redis, in cluster mode) can keep it, and
    /// `Tally::from_counts` turns the sums back into a tally.
    pub fn contributions(&self) -> Vec<(String, i64)> {
        if let Choice::Text(e) = self {
            if e.hidden {
                return Vec::new();
            }
        }
        let mut out = vec![("n".to_owned(), 1)];
        match self {
            Choice::Index(i) => out.push((format!("o{i}"), 1)),
            Choice::Indices(is) => out.extend(is.iter().map(|i| (format!("o{i}"), 1))),
            Choice::Value(v) => {
                out.push((format!("v{v}"), 1));
                if *v != 0 {
                    out.push(("sum".to_owned(), *v as i64));
                }
            }
            Choice::Words(ws) => {
                for w in ws {
                    out.push((format!("w{}", w.norm), 1));
                    // The length first: a word may hold any character.
                    let (norm, spelling) = (&w.norm, &w.spelling);
                    out.push((format!("s{}{SEP}{norm}{spelling}", norm.len()), 1));
                }
            }
            Choice::Text(e) => out.push((format!("e{}{SEP}{}{SEP}{}", e.at, e.id, e.text), 1)),
            Choice::Ranking(order) => {
                let n = order.len();
                for (pos, i) in order.iter().enumerate() {
                    let points = (n - 1 - pos) as i64;
                    if points > 0 {
                        out.push((format!("o{i}"), points));
                    }
                }
            }
        }
        out
    }
}
