//! `serve --deck` and `demo --deck`: the deck file read at start, its session
//! created (or taken up again) and its links printed.

use std::path::Path;
use std::sync::Arc;

use crate::domain::Limits;
use crate::error::Result;
use crate::live::registry::Hub;
use crate::live::session::LiveSession;
use crate::protocol::deck::{is_event, parse_event_with, parse_with, Deck, EventDeck};
use crate::store::redis::Redis;

// ---- at start -------------------------------------------------------------------

/// What a deck file holds: one session, or an event of several.
pub enum Loaded {
    Session(Deck),
    Event(EventDeck),
}

/// Reads the deck file given with `--deck`, checked against `limits`. The
/// error is a sentence for the terminal.
pub fn load(path: &Path, limits: &Limits) -> std::result::Result<Loaded, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the deck {}: {e}", path.display()))?;
    let read = if is_event(&text) {
        parse_event_with(&text, limits).map(Loaded::Event)
    } else {
        parse_with(&text, limits).map(Loaded::Session)
    };
    read.map_err(|e| format!("the deck {}: {}", path.display(), e.message))
}

/// `serve --deck` with an event's deck: creates the event and each of its
/// sessions (or, when the server already holds an event of that title
/// whose sessions are the deck's, takes it up again with its votes), and
/// prints the organiser's link and each room's links. Events need a
/// standalone server: in cluster mode this is refused.
pub async fn start_event(hub: &Hub, deck: EventDeck, demo: bool) -> Result<()> {
    crate::transport::http::standalone_only(hub)?;
    let events = &hub.shared.events;
    let existing = events.all().into_iter().find(|e| {
        e.title == deck.title
            && e.sessions.len() == deck.sessions.len()
            && e.sessions.iter().zip(&deck.sessions).all(|(code, d)| {
                hub.loaded(code)
                    .is_some_and(|s| s.read(|session, _| d.matches(session)))
            })
    });
    let (event, rooms) = match existing {
        Some(event) => {
            let rooms: Vec<Arc<LiveSession>> = event
                .sessions
                .iter()
                .filter_map(|c| hub.loaded(c))
                .collect();
            (event, rooms)
        }
        None => {
            let event = hub.create_event(deck.title)?;
            let mut rooms = Vec::new();
            for d in deck.sessions {
                let live = hub.create_session(d.title, d.settings, d.questions).await?;
                events.join(event.id, Some(&event.organiser_token), &live.code)?;
                if demo {
                    crate::cli::demo::open_first(&live).await?;
                }
                rooms.push(live);
            }
            (event, rooms)
        }
    };
    let base = hub.base_url(None);
    println!();
    println!("event \u{2014} {}", event.title);
    println!(
        "  organiser: {}",
        crate::transport::http::overview_url(&base, &event)
    );
    for (i, live) in rooms.iter().enumerate() {
        crate::cli::links::print_links(hub, live, &format!("room {} of {}:", i + 1, rooms.len()))?;
    }
    Ok(())
}

/// `serve --deck` and `demo --deck`: creates the deck's session (or, when
/// the journal already holds a session with the deck's title and questions,
/// takes it up again with its votes) and prints its links. The demo also
/// opens the first question and puts it on the screen.
pub async fn start(hub: &Hub, deck: Deck, demo: bool) -> Result<Arc<LiveSession>> {
    if let Some(redis) = hub.shared.storage.redis() {
        let live = start_shared(hub, redis, deck, demo).await?;
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
async fn start_shared(hub: &Hub, c: &Redis, deck: Deck, demo: bool) -> Result<Arc<LiveSession>> {
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
