//! The deck routes: a session created from a deck, a session downloaded
//! as one.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::{Error, Result};
use crate::live::registry::Hub;
use crate::protocol::deck::{parse_with, to_toml};

// ---- HTTP ---------------------------------------------------------------------

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
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    crate::transport::http::check_admin(&hub, &headers)?;
    let bytes = body.map_err(crate::transport::http::body_error)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Error::bad_request(format!(
            "a deck is UTF-8 text; byte {} is not",
            e.valid_up_to()
        ))
    })?;
    let deck = parse_with(text, &hub.shared.limits)?;
    let live = hub
        .create_session(deck.title, deck.settings, deck.questions)
        .await?;
    Ok(crate::transport::http::created(&hub, &headers, &live))
}

/// `GET /api/sessions/{code}/deck.toml`: the session as a deck, to keep.
async fn download(
    State(hub): State<Arc<Hub>>,
    UrlPath(code): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let s = crate::transport::http::moderated(&hub, &code, &headers).await?;
    let body = s.read(|session, _| to_toml(session));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/toml; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                crate::transport::http::attachment(format!("handsup-{code}-deck.toml")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}
