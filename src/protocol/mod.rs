//! The wire, as `docs/api.md` describes it: client messages parsed into
//! typed commands, the server's messages and views as typed values rendered
//! to JSON, the QuestionSpec codec, and the deck file format.
//!
//! - `client`: the frames a socket sends (`hello`, then `ClientMsg`)
//! - `server`: the frames the server sends (`ServerMsg`), rendered once
//! - `views`: the session, questions, tallies and Q&A items as a role sees them
//! - `spec`: a question's definition, read and written
//! - `deck`: a session's questions in a TOML file

pub mod client;
pub mod deck;
pub mod server;
pub mod spec;
pub mod views;

use serde::{Deserialize, Serialize};

pub use client::{
    choice_json, parse_client, parse_hello, raw_choice, Checked, ClientMsg, Hello, Presentation,
    QuestionAction, MAX_REF_CHARS,
};
pub use server::{
    ack_frame, error_frame, presence_frame, present_frame, question_frame, tally_frame, ServerMsg,
};
pub use spec::{parse_question_spec, question_spec_json, SpecIn, SpecOut};
pub use views::{
    GroupView, GroupsBy, QaItemView, QaPage, QuestionResult, QuestionView, Results, ResultsSession,
    SessionView, SettingsView, Summary, TallyOut, TallyView, Welcome, TALLY_ENTRIES, TALLY_WORDS,
    WELCOME_QA_ITEMS,
};

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
