//! The ballot codec: one ballot as Redis keeps it in a question's ballot
//! hash, `{"c", "d", "e"?, "h"?}`:
//! - `c`: the choice as the phone sent it;
//! - `d`: its contributions to the question's counts, `[name, amount, ...]`,
//!   which the vote script (`vote.lua`) adds and takes back;
//! - `e`: an `open` answer's id and time (`[id, "ms"]`);
//! - `h`: the answer is hidden (its author's text was hidden before).
//!
//! The append script's `hide` rewrites a ballot with Lua's JSON encoder,
//! which writes an empty list as `{}`: `d` reads either way.

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::domain::{Choice, Kind, RawChoice};
use crate::store::records::ChoiceV1;

/// One ballot, as a node casts it.
#[derive(Clone, Debug, PartialEq)]
pub struct Ballot {
    /// The choice as sent.
    pub choice: RawChoice,
    /// An `open` answer's id and time.
    pub entry: Option<(Uuid, i64)>,
    /// An `open` answer kept out of views and counts.
    pub hidden: bool,
    /// What the ballot adds to the counts: name and amount.
    pub counts: Vec<(String, i64)>,
}

/// The stored form. Fields in alphabetical order, as they have always been
/// written.
#[derive(Serialize, Deserialize)]
struct Stored {
    c: ChoiceV1,
    #[serde(default, deserialize_with = "list_or_empty_table")]
    d: Vec<Contribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<(Uuid, String)>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    h: bool,
}

/// `d` alternates names and amounts.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Contribution {
    Amount(i64),
    Name(String),
}

/// `d` as a list, or as the empty table Lua writes for an empty list.
fn list_or_empty_table<'de, D: Deserializer<'de>>(
    de: D,
) -> std::result::Result<Vec<Contribution>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<Contribution>),
        Table(serde_json::Map<String, serde_json::Value>),
    }
    match Either::deserialize(de)? {
        Either::List(l) => Ok(l),
        Either::Table(t) if t.is_empty() => Ok(Vec::new()),
        Either::Table(_) => Err(serde::de::Error::custom("contributions as a table")),
    }
}

impl Ballot {
    /// The ballot checked against its question: the choice `c` and the
    /// entry, and whether it is hidden.
    pub fn of(choice: &Choice, raw: RawChoice, entry: Option<(Uuid, i64)>) -> Ballot {
        Ballot {
            choice: raw,
            entry,
            hidden: matches!(choice, Choice::Text(e) if e.hidden),
            counts: choice.contributions(),
        }
    }

    /// The JSON Redis keeps.
    pub fn encode(&self) -> String {
        let stored = Stored {
            c: self.choice.clone().into(),
            d: self
                .counts
                .iter()
                .flat_map(|(name, n)| [Contribution::Name(name.clone()), Contribution::Amount(*n)])
                .collect(),
            e: self.entry.map(|(id, at)| (id, at.to_string())),
            h: self.hidden,
        };
        serde_json::to_string(&stored).expect("a ballot serialises")
    }

    /// A stored ballot read back; None when it does not read.
    pub fn decode(json: &str) -> Option<Ballot> {
        let s: Stored = serde_json::from_str(json).ok()?;
        let entry = match s.e {
            Some((id, at)) => Some((id, at.parse().ok()?)),
            None => None,
        };
        let mut counts = Vec::new();
        let mut d = s.d.into_iter();
        while let (Some(Contribution::Name(name)), Some(Contribution::Amount(n))) =
            (d.next(), d.next())
        {
            counts.push((name, n));
        }
        Some(Ballot {
            choice: s.c.into(),
            entry,
            hidden: s.h,
            counts,
        })
    }

    /// Only the choice of a stored ballot, checked against `kind`, reading
    /// past the rest: for the kinds whose ballots carry no entry (choices,
    /// scales, rankings), when many are read at once (results by group in
    /// cluster mode). None when it does not read or no longer fits.
    pub fn choice_of(json: &str, kind: &Kind) -> Option<Choice> {
        #[derive(Deserialize)]
        struct OnlyChoice {
            c: ChoiceV1,
        }
        let c: OnlyChoice = serde_json::from_str(json).ok()?;
        kind.check_choice(c.c.into(), (Uuid::nil(), 0)).ok()
    }

    /// The stored choice, checked against the question's kind again; None
    /// when it no longer fits.
    pub fn checked(&self, kind: &Kind) -> Option<Choice> {
        let mut choice = kind
            .check_choice(self.choice.clone(), self.entry.unwrap_or((Uuid::nil(), 0)))
            .ok()?;
        if let (Choice::Text(e), true) = (&mut choice, self.hidden) {
            e.hidden = true;
        }
        Some(choice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ballot_reads_back_as_it_was_cast() {
        let b = Ballot {
            choice: RawChoice::Text("More coffee".into()),
            entry: Some((Uuid::from_u128(9), 1_764_540_000_123)),
            hidden: true,
            counts: vec![],
        };
        assert_eq!(Ballot::decode(&b.encode()), Some(b));
        let b = Ballot {
            choice: RawChoice::Ints(vec![2, 0]),
            entry: None,
            hidden: false,
            counts: vec![("0".into(), 1), ("2".into(), 1)],
        };
        assert_eq!(Ballot::decode(&b.encode()), Some(b));
    }

    #[test]
    fn the_stored_form_is_the_one_redis_holds() {
        let b = Ballot {
            choice: RawChoice::Texts(vec!["Rust".into()]),
            entry: None,
            hidden: false,
            counts: vec![("rust".into(), 1)],
        };
        assert_eq!(b.encode(), r#"{"c":["Rust"],"d":["rust",1]}"#);
        let open = Ballot {
            choice: RawChoice::Text("hi".into()),
            entry: Some((Uuid::nil(), 5)),
            hidden: true,
            counts: vec![],
        };
        assert_eq!(
            open.encode(),
            r#"{"c":"hi","d":[],"e":["00000000-0000-0000-0000-000000000000","5"],"h":true}"#
        );
        // As the scripts and older nodes wrote it.
        let old = r#"{"c":1,"d":["1",1]}"#;
        assert_eq!(Ballot::decode(old).unwrap().choice, RawChoice::Int(1));
        // As the append script's `hide` rewrites it: Lua's encoder writes an
        // empty list as an empty table.
        let hidden =
            r#"{"c":"hi","d":{},"e":["00000000-0000-0000-0000-000000000000","5"],"h":true}"#;
        assert_eq!(Ballot::decode(hidden), Some(open));
        assert_eq!(Ballot::decode(r#"{"c":"hi","d":{"a":1}}"#), None);
    }

    #[test]
    fn the_choice_alone_reads_as_the_whole_ballot_does() {
        use crate::domain::OptionItem;
        let options: Vec<OptionItem> = (0..4)
            .map(|i| OptionItem {
                label: format!("{i}"),
                colour: None,
            })
            .collect();
        let single = Kind::Single {
            options: options.clone(),
            correct: None,
        };
        let ranking = Kind::Ranking { options };
        for (json, kind) in [
            (r#"{"c":2,"d":["2",1]}"#, &single),
            (r#"{"c":[3,1,0,2],"d":["0",2,"1",4]}"#, &ranking),
            (r#"{"c":9,"d":["9",1]}"#, &single),
            (r#"{"c":1}"#, &single),
            ("{}", &single),
        ] {
            let whole = Ballot::decode(json).and_then(|b| b.checked(kind));
            assert_eq!(Ballot::choice_of(json, kind), whole, "{json}");
        }
        assert!(Ballot::choice_of(r#"{"c":2,"d":["2",1]}"#, &single).is_some());
    }

    #[test]
    fn a_ballot_that_does_not_read_is_none() {
        assert_eq!(Ballot::decode("{}"), None);
        assert_eq!(Ballot::decode(r#"{"c":1,"e":["x","5"]}"#), None);
    }
}
