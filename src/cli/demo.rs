//! `handsup demo`: a session ready to try, on the theme of a panel about
//! capacity building for the Global Compact on Migration, with its links
//! and the audience QR code printed for the room.

use std::sync::Arc;

use serde_json::json;

use crate::domain::Settings;
use crate::error::Result;
use crate::live::registry::Hub;
use crate::live::session::LiveSession;
use crate::protocol::{parse_question_spec, QuestionAction};

/// The demo's questions, as a moderator would write them.
pub fn questions() -> serde_json::Value {
    json!([
        {"kind": "single", "prompt": "Where do you work on migration?",
         "options": ["National government", "Local government", "International organisation", "Civil society", "Academia", "Private sector"]},
        {"kind": "multiple", "prompt": "Which approaches to capacity building have worked for you?",
         "options": ["Peer-to-peer exchange", "Triangular cooperation", "Demand-driven requests", "Long training courses", "Study visits"],
         "max_choices": 3},
        {"kind": "single", "prompt": "Which GCM objective calls for a capacity-building mechanism?",
         "options": ["Objective 1", "Objective 17", "Objective 23"], "correct": [2]},
        {"kind": "scale", "prompt": "How ready is your institution to implement the Global Compact?",
         "min": 1, "max": 5, "min_label": "Not at all", "max_label": "Fully ready"},
        {"kind": "wordcloud", "prompt": "In one or two words: what makes capacity building last?", "max_words": 2},
        {"kind": "ranking", "prompt": "Rank these success factors, most important first",
         "options": ["Ownership", "Flexibility", "Trust between peers", "Funding"]},
        {"kind": "open", "prompt": "What should the panel discuss next?"}
    ])
}

const TITLE: &str =
    "What role for capacity building in turning the Global Compact on Migration into action?";

/// Creates the demo session (or, when the journal already holds one, takes
/// it up again with its votes), opens and presents its first question, and
/// prints the links.
pub async fn create(hub: &Hub) -> Result<()> {
    let existing = hub.sessions().into_iter().find(|s| s.secrets().1 == TITLE);
    let live = match existing {
        Some(live) => live,
        None => {
            let specs = questions()
                .as_array()
                .map(|qs| {
                    qs.iter()
                        .map(parse_question_spec)
                        .collect::<Result<Vec<_>>>()
                })
                .unwrap_or(Ok(Vec::new()))?;
            let live = hub
                .create_session(TITLE.into(), Settings::default(), specs)
                .await?;
            open_first(&live).await?;
            live
        }
    };
    crate::cli::links::print_links(hub, &live, "demo session")
}

/// Opens the session's first question and puts it on the screen.
pub async fn open_first(live: &Arc<LiveSession>) -> Result<()> {
    let first = live.view(true, "").questions.first().map(|q| q.id);
    if let Some(first) = first {
        live.act(first, QuestionAction::Open { duration_s: None })
            .await?;
        live.present(crate::protocol::Presentation::Question(Some(first)))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_question_is_valid() {
        let limits = crate::domain::Limits::default();
        for q in questions().as_array().unwrap() {
            parse_question_spec(q).unwrap().validate(&limits).unwrap();
        }
    }
}
