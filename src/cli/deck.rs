//! `serve --deck` and `demo --deck`: the deck file read at start, its session
//! created (or taken up again) and its links printed.

use std::path::Path;
use std::sync::Arc;

use crate::domain::Limits;
use crate::error::{Error, Result};
use crate::live::registry::Hub;
use crate::live::session::LiveSession;
use crate::protocol::deck::{parse_with, Deck};

// ---- at start -------------------------------------------------------------------

/// Reads the deck file given with `--deck`, checked against `limits`. The
/// error is a sentence for the terminal.
pub fn load(path: &Path, limits: &Limits) -> std::result::Result<Deck, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the deck {}: {e}", path.display()))?;
    parse_with(&text, limits).map_err(|e| format!("the deck {}: {}", path.display(), e.message))
}

/// `serve --deck` and `demo --deck`: creates the deck's session (or, when
/// the journal already holds a session with the deck's title and questions,
/// takes it up again with its votes) and prints its links. The demo also
/// opens the first question and puts it on the screen.
pub async fn start(hub: &Hub, deck: Deck, demo: bool) -> Result<Arc<LiveSession>> {
    if hub.shared.cluster.is_some() {
        let live = start_shared(hub, deck, demo).await?;
        crate::cli::links::print_links(hub, &live, if demo { "demo session" } else { "session" })?;
        return Ok(live);
    }
    let existing = hub
        .sessions()
        .into_iter()
        .find(|s| s.read(|session, _| deck.matches(session)));
    let live = match existing {
        Some(live) => live,
        None => {
            let live = hub
                .create_session(deck.title, deck.settings, deck.questions)
                .await?;
            if demo {
                crate::cli::demo::open_first(&live).await?;
            }
            live
        }
    };
    crate::cli::links::print_links(hub, &live, if demo { "demo session" } else { "session" })?;
    Ok(live)
}

/// Cluster mode: every node started with the same deck serves one session.
/// Redis remembers which session a deck made (by the deck's fingerprint);
/// of nodes starting at once, the first to record its session wins and the
/// others end theirs and take it up.
async fn start_shared(hub: &Hub, deck: Deck, demo: bool) -> Result<Arc<LiveSession>> {
    let c = hub
        .shared
        .cluster
        .clone()
        .ok_or_else(|| Error::internal("not in cluster mode"))?;
    let key = format!("handsup:deck:{}", deck.fingerprint());
    if let Some(code) = c.get(&key).await? {
        if let Ok(live) = hub.get(&code).await {
            if live.read(|session, _| deck.matches(session)) {
                return Ok(live);
            }
        }
    }
    let mine = hub
        .create_session(
            deck.title.clone(),
            deck.settings.clone(),
            deck.questions.clone(),
        )
        .await?;
    if !c.set_if_new(&key, &mine.code).await? {
        if let Some(code) = c.get(&key).await? {
            if let Ok(theirs) = hub.get(&code).await {
                if theirs.read(|session, _| deck.matches(session)) {
                    hub.delete(&mine.code).await?;
                    return Ok(theirs);
                }
            }
        }
        // The deck's session was edited or ended: this one replaces it.
        c.set(&key, &mine.code).await?;
    }
    if demo {
        crate::cli::demo::open_first(&mine).await?;
    }
    Ok(mine)
}
