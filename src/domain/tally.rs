//! Tallies: the running aggregate of a question's ballots, kept up to date
//! on every ballot change.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::choice::*;
use super::question::*;

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
