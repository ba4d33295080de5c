//! The poll model: sessions, questions, participants, ballots and tallies.
//!
//! Pure data and rules: no I/O, no clocks, no randomness. Every operation
//! takes the ids and times it needs, so that the live server, a journal
//! replay and a test all reach the same state from the same inputs.

mod choice;
mod event;
mod groups;
pub mod links;
pub mod qa;
mod question;
mod session;
mod tally;

pub use event::{check_min_group, Applied, Event, MAX_MIN_GROUP};
pub use groups::{count_groups, floor, group_of};

pub use choice::{collapse_spaces, normalise_word, Choice, OpenEntry, RawChoice, Word};
pub use question::{check_text, Kind, KindName, OptionItem, QuestionSpec, Translation};
pub use session::{
    hidden_key, Participant, Question, QuestionState, Session, Settings, SettingsChange,
    VoteOutcome, DEFAULT_MIN_GROUP,
};
pub use tally::{Tally, TallyBody, WordStat};

/// The size limits of the contract, all configurable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Characters of a session title.
    pub max_title_chars: usize,
    /// Characters of a question prompt.
    pub max_prompt_chars: usize,
    /// Options of a choice or ranking question.
    pub max_options: usize,
    /// Characters of an option label (and of a scale's end labels).
    pub max_option_chars: usize,
    /// Languages a question may be translated into.
    pub max_translations: usize,
    /// Questions in one session.
    pub max_questions: usize,
    /// Participants in one session.
    pub max_participants: usize,
    /// Q&A items in one session.
    pub max_qa_items: usize,
    /// Q&A items one participant may hold in a session (hidden ones too).
    pub max_qa_per_participant: usize,
    /// Links handed out in one session at once.
    pub max_links: usize,
}

impl Limits {
    /// No limit at all: what replay applies, since limits guard new input
    /// and what was accepted once stays, whatever the limits are now.
    pub fn none() -> Limits {
        Limits {
            max_title_chars: usize::MAX,
            max_prompt_chars: usize::MAX,
            max_options: usize::MAX,
            max_option_chars: usize::MAX,
            max_translations: usize::MAX,
            max_questions: usize::MAX,
            max_participants: usize::MAX,
            max_qa_items: usize::MAX,
            max_qa_per_participant: usize::MAX,
            max_links: usize::MAX,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_title_chars: 200,
            max_prompt_chars: 500,
            max_options: 12,
            max_option_chars: 200,
            max_translations: 20,
            max_questions: 100,
            max_participants: 100_000,
            max_qa_items: 5_000,
            max_qa_per_participant: 20,
            max_links: links::MAX_LINKS,
        }
    }
}
