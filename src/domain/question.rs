//! Questions: what a moderator asks (the spec, validated on the way in), the
//! choices a phone may give to each kind, and the tally those choices add up to.

use std::collections::{BTreeMap, HashMap};

use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

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
}

fn chars(s: &str) -> usize {
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
fn check_language_tag(tag: &str) -> Result<()> {
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

/// Wordcloud counts under one normalised form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WordStat {
    pub count: u64,
    /// Each spelling seen, with how many ballots used it.
    pub spellings: HashMap<String, u64>,
}

impl WordStat {
    /// The spelling shown: the most frequent, ties broken by the smallest string
    /// so that every node and every replay shows the same one.
    pub fn display(&self) -> &str {
        self.spellings
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(s, _)| s.as_str())
            .unwrap_or("")
    }
}

/// The running aggregate of a question's ballots. Kept up to date on every
/// ballot change so that a snapshot never has to walk the ballots.
#[derive(Clone, Debug, PartialEq)]
pub enum TallyBody {
    /// `single`, `multiple`: ballots per option.
    Counts(Vec<u64>),
    /// `scale`: ballots per value from `min`, and the sum of values for the mean.
    Scale {
        min: i32,
        counts: Vec<u64>,
        sum: i64,
    },
    /// `wordcloud`: by normalised form.
    Words(HashMap<String, WordStat>),
    /// `open`: visible entries by (time, id), so the newest come last.
    Open(BTreeMap<(i64, Uuid), String>),
    /// `ranking`: Borda points per option (first of n gets n-1, last 0).
    Scores(Vec<u64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    /// Participants whose ballot counts.
    pub voters: u64,
    pub body: TallyBody,
}

impl Tally {
    pub fn empty(kind: &Kind) -> Tally {
        let body = match kind {
            Kind::Single { options, .. } | Kind::Multiple { options, .. } => {
                TallyBody::Counts(vec![0; options.len()])
            }
            Kind::Scale { min, max, .. } => TallyBody::Scale {
                min: *min,
                counts: vec![0; (max - min + 1) as usize],
                sum: 0,
            },
            Kind::Wordcloud { .. } => TallyBody::Words(HashMap::new()),
            Kind::Open => TallyBody::Open(BTreeMap::new()),
            Kind::Ranking { options } => TallyBody::Scores(vec![0; options.len()]),
        };
        Tally { voters: 0, body }
    }

    pub fn add(&mut self, choice: &Choice) {
        self.apply(choice, true)
    }

    pub fn remove(&mut self, choice: &Choice) {
        self.apply(choice, false)
    }

    fn apply(&mut self, choice: &Choice, add: bool) {
        fn step(n: &mut u64, add: bool) {
            if add {
                *n += 1
            } else {
                *n -= 1
            }
        }
        if let Choice::Text(e) = choice {
            if e.hidden {
                return;
            }
        }
        step(&mut self.voters, add);
        match (&mut self.body, choice) {
            (TallyBody::Counts(c), Choice::Index(i)) => step(&mut c[*i as usize], add),
            (TallyBody::Counts(c), Choice::Indices(is)) => {
                for i in is {
                    step(&mut c[*i as usize], add)
                }
            }
            (TallyBody::Scale { min, counts, sum }, Choice::Value(v)) => {
                step(&mut counts[(v - *min) as usize], add);
                *sum += if add { *v as i64 } else { -(*v as i64) };
            }
            (TallyBody::Words(map), Choice::Words(ws)) => {
                for w in ws {
                    if add {
                        let stat = map.entry(w.norm.clone()).or_default();
                        stat.count += 1;
                        *stat.spellings.entry(w.spelling.clone()).or_default() += 1;
                    } else if let Some(stat) = map.get_mut(&w.norm) {
                        stat.count -= 1;
                        if let Some(n) = stat.spellings.get_mut(&w.spelling) {
                            *n -= 1;
                            if *n == 0 {
                                stat.spellings.remove(&w.spelling);
                            }
                        }
                        if stat.count == 0 {
                            map.remove(&w.norm);
                        }
                    }
                }
            }
            (TallyBody::Open(entries), Choice::Text(e)) => {
                if add {
                    entries.insert((e.at, e.id), e.text.clone());
                } else {
                    entries.remove(&(e.at, e.id));
                }
            }
            (TallyBody::Scores(scores), Choice::Ranking(order)) => {
                let n = order.len() as u64;
                for (pos, i) in order.iter().enumerate() {
                    let points = n - 1 - pos as u64;
                    if add {
                        scores[*i as usize] += points
                    } else {
                        scores[*i as usize] -= points
                    }
                }
            }
            // A choice is checked against its question's kind before it reaches
            // the tally, so the shapes always match.
            (body, choice) => unreachable!("choice {choice:?} does not fit tally {body:?}"),
        }
    }

    /// `scale`: the mean value, or None without voters.
    pub fn mean(&self) -> Option<f64> {
        match &self.body {
            TallyBody::Scale { counts, sum, .. } => {
                let n: u64 = counts.iter().sum();
                (n > 0).then(|| *sum as f64 / n as f64)
            }
            _ => None,
        }
    }

    /// `wordcloud`: the top `limit` words by count (ties by text), shown in
    /// their most frequent spelling.
    pub fn top_words(&self, limit: usize) -> Vec<(&str, u64)> {
        let TallyBody::Words(map) = &self.body else {
            return Vec::new();
        };
        let mut words: Vec<(&str, u64, &str)> = map
            .iter()
            .map(|(norm, s)| (s.display(), s.count, norm.as_str()))
            .collect();
        words.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.2.cmp(b.2)));
        words.truncate(limit);
        words.into_iter().map(|(t, c, _)| (t, c)).collect()
    }

    /// `open`: the newest `limit` visible entries, newest first.
    pub fn newest_entries(&self, limit: usize) -> Vec<(Uuid, &str, i64)> {
        let TallyBody::Open(entries) = &self.body else {
            return Vec::new();
        };
        entries
            .iter()
            .rev()
            .take(limit)
            .map(|((at, id), text)| (*id, text.as_str(), *at))
            .collect()
    }
}

/// Separates the parts of a count's name where one holds free text.
const SEP: char = '\u{1f}';

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

impl Tally {
    /// The tally whose counts are `counts` (sums of `Choice::contributions`).
    /// Names that do not fit the kind are ignored.
    pub fn from_counts<'a>(kind: &Kind, counts: impl IntoIterator<Item = (&'a str, i64)>) -> Tally {
        let mut t = Tally::empty(kind);
        let n = |v: i64| v.max(0) as u64;
        for (name, v) in counts {
            if v == 0 {
                continue;
            }
            if name == "n" {
                t.voters = n(v);
                continue;
            }
            let (tag, rest) = name.split_at(name.chars().next().map_or(0, char::len_utf8));
            match (&mut t.body, tag) {
                (TallyBody::Counts(c) | TallyBody::Scores(c), "o") => {
                    if let Some(slot) = rest.parse::<usize>().ok().and_then(|i| c.get_mut(i)) {
                        *slot = n(v);
                    }
                }
                (TallyBody::Scale { sum, .. }, "s") if rest == "um" => *sum = v,
                (TallyBody::Scale { min, counts, .. }, "v") => {
                    let slot = rest
                        .parse::<i64>()
                        .ok()
                        .and_then(|x| usize::try_from(x - *min as i64).ok())
                        .and_then(|i| counts.get_mut(i));
                    if let Some(slot) = slot {
                        *slot = n(v);
                    }
                }
                (TallyBody::Words(map), "w") => {
                    map.entry(rest.to_owned()).or_default().count = n(v)
                }
                (TallyBody::Words(map), "s") => {
                    let split = rest.split_once(SEP).and_then(|(len, rest)| {
                        let len = len.parse::<usize>().ok()?;
                        Some((rest.get(..len)?, rest.get(len..)?))
                    });
                    if let Some((norm, spelling)) = split {
                        map.entry(norm.to_owned())
                            .or_default()
                            .spellings
                            .insert(spelling.to_owned(), n(v));
                    }
                }
                (TallyBody::Open(entries), "e") => {
                    let mut parts = rest.splitn(3, SEP);
                    let (at, id, text) = (parts.next(), parts.next(), parts.next());
                    if let (Some(Ok(at)), Some(Ok(id)), Some(text)) =
                        (at.map(str::parse::<i64>), id.map(str::parse::<Uuid>), text)
                    {
                        entries.insert((at, id), text.to_owned());
                    }
                }
                _ => {}
            }
        }
        if let TallyBody::Words(map) = &mut t.body {
            map.retain(|_, s| s.count > 0);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
