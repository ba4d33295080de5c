//! Events: sessions grouped under one organiser (the side events of a
//! forum, the rooms of a conference). An event has a title, an organiser
//! token and the codes of its sessions; the organiser token acts as the
//! moderator's on each of them.
//!
//! With the journal, the events are kept in `events.json` in the data
//! directory, beside the journal's segments: the whole set, written to a
//! temporary file, synced and renamed over the old one at each change, so a
//! crash leaves either the old set or the new one. The organiser token is
//! kept there as the moderator token is kept in the journal. In memory
//! (`--in-memory`) nothing is written. Cluster mode has no events yet.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, ErrorCode, Result};
use crate::live::secrets::token_eq;

/// The name of the events' file in the data directory.
pub const FILE: &str = "events.json";

/// The most sessions one event holds.
pub const MAX_SESSIONS_PER_EVENT: usize = 200;

/// The most characters of an event's title.
pub const MAX_TITLE_CHARS: usize = 200;

/// One event as it is kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    pub title: String,
    pub organiser_token: String,
    pub created_at: i64,
    /// The codes of its sessions, in the order they joined.
    pub sessions: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    events: Vec<Event>,
}

/// The server's events.
#[derive(Default)]
pub struct Events {
    held: Mutex<HashMap<Uuid, Event>>,
    /// Where they are written (the journal's data directory), if anywhere.
    file: Mutex<Option<PathBuf>>,
}

fn no_event(id: &Uuid) -> Error {
    Error::not_found(format!("no event {id}"))
}

impl Events {
    /// Reads the events kept in `dir` (none if the file is not there yet),
    /// and writes there from now on.
    pub fn load_from(&self, dir: &Path) -> std::io::Result<usize> {
        let path = dir.join(FILE);
        let found = match std::fs::read(&path) {
            Ok(bytes) => {
                let stored: Stored = serde_json::from_slice(&bytes)
                    .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                stored.events
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let n = found.len();
        *self.held.lock() = found.into_iter().map(|e| (e.id, e)).collect();
        *self.file.lock() = Some(path);
        Ok(n)
    }

    /// Writes the whole set where it is kept, if anywhere: a temporary
    /// file, synced, renamed over the old one, and the directory synced.
    fn persist(&self, held: &HashMap<Uuid, Event>) -> Result<()> {
        let file = self.file.lock();
        let Some(path) = file.as_ref() else {
            return Ok(());
        };
        let mut events: Vec<Event> = held.values().cloned().collect();
        events.sort_by_key(|e| (e.created_at, e.id));
        let bytes = serde_json::to_vec_pretty(&Stored { version: 1, events })
            .map_err(|e| Error::internal(format!("events: {e}")))?;
        let write = || -> std::io::Result<()> {
            let tmp = path.with_extension("json.tmp");
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|e| {
            tracing::error!(error = %e, "events: could not be written");
            Error::new(
                ErrorCode::Unavailable,
                format!("the events could not be written ({e})"),
            )
        })
    }

    /// A new event with a fresh id and organiser token.
    pub fn create(&self, title: String, token: String, at: i64, max: usize) -> Result<Event> {
        let title = title.trim().to_owned();
        if title.is_empty() {
            return Err(Error::bad_request("title must not be empty"));
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(Error::too_large(format!(
                "title is over {MAX_TITLE_CHARS} characters"
            )));
        }
        let event = Event {
            id: Uuid::new_v4(),
            title,
            organiser_token: token,
            created_at: at,
            sessions: Vec::new(),
        };
        let mut held = self.held.lock();
        if held.len() >= max {
            return Err(Error::limit_reached(format!(
                "this server holds its maximum of {max} events; end one first"
            )));
        }
        held.insert(event.id, event.clone());
        if let Err(e) = self.persist(&held) {
            held.remove(&event.id);
            return Err(e);
        }
        Ok(event)
    }

    /// The event `id` for the holder of its organiser token: `not_found`
    /// for an unknown event, `unauthorized` for a missing or wrong token.
    pub fn organised(&self, id: Uuid, token: Option<&str>) -> Result<Event> {
        let held = self.held.lock();
        let event = held.get(&id).ok_or_else(|| no_event(&id))?;
        match token {
            Some(t) if token_eq(t, &event.organiser_token) => Ok(event.clone()),
            _ => Err(Error::unauthorized("wrong or missing organiser token")),
        }
    }

    /// Checks that a session may join event `id` with `token`, and that the
    /// event has room for it.
    pub fn may_join(&self, id: Uuid, token: Option<&str>) -> Result<()> {
        let event = self.organised(id, token)?;
        if event.sessions.len() >= MAX_SESSIONS_PER_EVENT {
            return Err(Error::limit_reached(format!(
                "an event holds at most {MAX_SESSIONS_PER_EVENT} sessions"
            )));
        }
        Ok(())
    }

    /// Session `code` joins event `id` (checked as by `may_join`).
    pub fn join(&self, id: Uuid, token: Option<&str>, code: &str) -> Result<()> {
        self.may_join(id, token)?;
        let mut held = self.held.lock();
        let event = held.get_mut(&id).ok_or_else(|| no_event(&id))?;
        event.sessions.push(code.to_owned());
        if let Err(e) = self.persist(&held) {
            if let Some(event) = held.get_mut(&id) {
                event.sessions.retain(|c| c != code);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Every event, oldest first (for the server's own use).
    pub fn all(&self) -> Vec<Event> {
        let mut all: Vec<Event> = self.held.lock().values().cloned().collect();
        all.sort_by_key(|e| (e.created_at, e.id));
        all
    }

    /// Event `id`, whoever asks (for the server's own use).
    pub fn event_by_id(&self, id: Uuid) -> Option<Event> {
        self.held.lock().get(&id).cloned()
    }

    /// The event session `code` belongs to, if any.
    pub fn event_of(&self, code: &str) -> Option<Event> {
        self.held
            .lock()
            .values()
            .find(|e| e.sessions.iter().any(|c| c == code))
            .cloned()
    }

    /// Whether `token` is the organiser token of the event of session `code`.
    pub fn organises(&self, code: &str, token: &str) -> bool {
        self.held
            .lock()
            .values()
            .find(|e| e.sessions.iter().any(|c| c == code))
            .is_some_and(|e| token_eq(token, &e.organiser_token))
    }

    /// Session `code` is gone (deleted or expired): it leaves its event, so
    /// that a later session given the same code is no room of it.
    pub fn forget_session(&self, code: &str) {
        self.retain_sessions(|c| c != code);
    }

    /// Keeps in their events only the sessions `keep` says are still there
    /// (at start, after replay: the sessions the journal holds).
    pub fn retain_sessions(&self, keep: impl Fn(&str) -> bool) {
        let mut held = self.held.lock();
        let mut changed = false;
        for e in held.values_mut() {
            let before = e.sessions.len();
            e.sessions.retain(|c| keep(c));
            changed |= e.sessions.len() != before;
        }
        if changed {
            // Written at the next change if this fails; a session's code is
            // not given again while it is held, so nothing wrong is let in
            // meanwhile but through a restart, which calls this again.
            let _ = self.persist(&held);
        }
    }

    /// Forgets event `id` (its sessions are ended by the caller).
    pub fn remove(&self, id: Uuid) -> Result<Event> {
        let mut held = self.held.lock();
        let event = held.remove(&id).ok_or_else(|| no_event(&id))?;
        if let Err(e) = self.persist(&held) {
            held.insert(id, event);
            return Err(e);
        }
        Ok(event)
    }

    /// Forgets the events none of whose sessions is held any more (`held`
    /// says which codes are), once they are older than `before` (ms): an
    /// event goes when all its sessions have.
    pub fn prune(&self, held_code: impl Fn(&str) -> bool, before: i64) {
        let mut held = self.held.lock();
        let gone: Vec<Uuid> = held
            .values()
            .filter(|e| e.created_at < before && !e.sessions.iter().any(|c| held_code(c)))
            .map(|e| e.id)
            .collect();
        if gone.is_empty() {
            return;
        }
        for id in &gone {
            held.remove(id);
            tracing::info!(event = %id, "event expired: none of its sessions is left");
        }
        // Written at the next change if this fails: nothing is lost but
        // the forgetting.
        let _ = self.persist(&held);
    }

    /// How many events are held.
    pub fn count(&self) -> usize {
        self.held.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_kept_across_a_reload() {
        let dir = std::env::temp_dir().join(format!("handsup-events-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let events = Events::default();
        assert_eq!(events.load_from(&dir).unwrap(), 0);
        let e = events
            .create("Side events".into(), "secret".into(), 10, 100)
            .unwrap();
        events.join(e.id, Some("secret"), "123456").unwrap();
        assert_eq!(
            events.join(e.id, Some("wrong"), "654321").unwrap_err().code,
            ErrorCode::Unauthorized
        );
        let again = Events::default();
        assert_eq!(again.load_from(&dir).unwrap(), 1);
        let read = again.organised(e.id, Some("secret")).unwrap();
        assert_eq!(read.sessions, vec!["123456".to_owned()]);
        assert!(again.organises("123456", "secret"));
        assert!(!again.organises("654321", "secret"));
        again.prune(|_| false, 11);
        assert_eq!(Events::default().load_from(&dir).unwrap(), 0);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_unknown_event_is_not_found_and_a_blank_title_refused() {
        let events = Events::default();
        assert_eq!(
            events
                .organised(Uuid::new_v4(), Some("x"))
                .unwrap_err()
                .code,
            ErrorCode::NotFound
        );
        assert_eq!(
            events
                .create("  ".into(), "t".into(), 0, 10)
                .unwrap_err()
                .code,
            ErrorCode::BadRequest
        );
    }
}
