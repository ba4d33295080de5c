//! The deck routes: a session created from a deck, a session downloaded
//! as one.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::auth::{Admin, Moderator};
use super::{attachment, body_error, created, host};
use crate::error::{Error, Result};
use crate::live::registry::Hub;
use crate::protocol::deck::{is_event, parse_event_with, parse_with, to_toml};

/// The deck routes, under `/api`.
pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/decks", post(create_from_deck))
        .route("/sessions/{code}/deck.toml", get(download))
}

/// `POST /api/decks`: the deck as the body (any content type); answers as
/// `POST /api/sessions` does.
async fn create_from_deck(
    State(hub): State<Arc<Hub>>,
    _: Admin,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let bytes = body.map_err(body_error)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Error::bad_request(format!(
            "a deck is UTF-8 text; byte {} is not",
            e.valid_up_to()
        ))
    })?;
    if is_event(text) {
        return create_event_from_deck(&hub, &headers, text).await;
    }
    let deck = parse_with(text, &hub.shared.limits)?;
    let live = hub
        .create_session(deck.title, deck.settings, deck.questions)
        .await?;
    Ok(created(&hub, &headers, &live))
}

/// `POST /api/decks` with an event's deck: the event and each of its
/// sessions, created in the deck's order. Answers 201 with `event` (as
/// `POST /api/events` answers) and `sessions` (each as `POST
/// /api/sessions` answers).
async fn create_event_from_deck(hub: &Hub, headers: &HeaderMap, text: &str) -> Result<Response> {
    super::events::standalone_only(hub)?;
    let deck = parse_event_with(text, &hub.shared.limits)?;
    let free = hub
        .shared
        .config
        .max_sessions
        .saturating_sub(hub.session_count());
    if deck.sessions.len() > free {
        return Err(Error::limit_reached(format!(
            "the deck has {} sessions and this server has room for {free} more",
            deck.sessions.len()
        )));
    }
    let event = hub.create_event(deck.title)?;
    let base = hub.base_url(host(headers));
    let mut sessions = Vec::new();
    for d in deck.sessions {
        let live = hub.create_session(d.title, d.settings, d.questions).await?;
        super::sessions::join_event(hub, &live, event.id, &event.organiser_token).await?;
        sessions.push(super::sessions::created_json(&base, &live));
    }
    let body = serde_json::json!({
        "event": super::events::created(&base, &event),
        "sessions": sessions,
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `GET /api/sessions/{code}/deck.toml`: the session as a deck, to keep.
async fn download(Moderator(s): Moderator, UrlPath(code): UrlPath<String>) -> Result<Response> {
    let body = s.read(|session, _| to_toml(session));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/toml; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                attachment(format!("handsup-{code}-deck.toml")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}
