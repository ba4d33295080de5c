//! The HTTP API and the pages, in one router built by `app()` so tests can
//! call it; a file per resource, the auth extractors in `auth`, the guard
//! in front of every route in `guard`. Every error leaves as
//! `{"error": {"code", "message"}}`.

mod auth;
mod ballots;
mod decks;
mod events;
mod guard;
mod health;
mod links;
mod qa;
mod questions;
mod results;
mod sessions;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde::de::DeserializeOwned;
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::live::registry::{is_code, Hub};
use crate::transport::{pages as web, ws};

pub use auth::{Admin, Moderator, Participant, Staff};
pub(crate) use events::{event_view, overview_url, standalone_only};
pub(crate) use sessions::created;
pub use sessions::urls;

/// A JSON body read our way: any content type, the body limit answered with
/// `too_large`, bad JSON with `bad_request`. An empty body reads as `{}`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes)
            .map(Body)
            .map_err(|e| Error::bad_request(format!("malformed JSON body: {e}")))
    }
}

/// A body that could not be read: over the limit is `too_large`.
pub(crate) fn body_error(e: BytesRejection) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::too_large("the request body is over the size limit")
    } else {
        Error::bad_request(format!("could not read the request body: {e}"))
    }
}

/// The `Host` a request names.
pub(crate) fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|h| h.to_str().ok())
}

/// A path's id: one that is no UUID names nothing.
fn parse_uuid(s: &str, what: &str) -> Result<Uuid> {
    s.parse()
        .map_err(|_| Error::not_found(format!("no {what} {s:?}")))
}

/// A `Content-Disposition` that saves the body as `name`.
pub(crate) fn attachment(name: String) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

/// `/{code}`, `/{code}/screen`, `/{code}/moderate`: the three views, and
/// `/{code}/summary`, the public summary's printable page.
async fn page(
    State(hub): State<Arc<Hub>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (code, view) = path.split_once('/').unwrap_or((&path, ""));
    let file = match view {
        "" => "audience.html",
        "screen" => "screen.html",
        "moderate" => "moderate.html",
        "summary" => "summary.html",
        _ => return not_found().await,
    };
    if !is_code(code) {
        return not_found().await;
    }
    web::file(&hub, file, &headers).await
}

/// `/events/{id}`: the organiser's overview (the token is in the fragment).
async fn event_page(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    web::file(&hub, "event.html", &headers).await
}

async fn not_found() -> Response {
    Error::not_found("no such page").into_response()
}

/// The security headers every response carries.
fn security_headers(router: Router, frame_ancestors: &[String]) -> Router {
    // Who may frame the pages: this origin, plus those configured (a venue's
    // streaming overlay embedding the projector, say).
    let ancestors = std::iter::once("'self'".to_owned())
        .chain(
            frame_ancestors
                .iter()
                .map(|a| a.trim().to_owned())
                .filter(|a| {
                    !a.is_empty()
                        && a.chars()
                            .all(|c| c.is_ascii_graphic() && c != ';' && c != ',')
                }),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors {ancestors}"
    );
    let set = |name: &'static str, value: HeaderValue| {
        SetResponseHeaderLayer::if_not_present(header::HeaderName::from_static(name), value)
    };
    let mut router = router
        .layer(set(
            "content-security-policy",
            HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'self'")),
        ))
        .layer(set(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        ))
        .layer(set(
            "referrer-policy",
            HeaderValue::from_static("no-referrer"),
        ));
    // The older header knows only one origin: send it when no other is allowed.
    if frame_ancestors.is_empty() {
        router = router.layer(set(
            "x-frame-options",
            HeaderValue::from_static("SAMEORIGIN"),
        ));
    }
    router
}

/// The whole HTTP side: API, socket and pages.
pub fn app(hub: Arc<Hub>) -> Router {
    let limit = hub.shared.config.max_body_bytes;
    let frame_ancestors = hub.shared.config.frame_ancestors.clone();
    let api = Router::new()
        .route("/sessions", post(sessions::create_session))
        .route("/events", post(events::create_event))
        .route(
            "/events/{id}",
            get(events::get_event).delete(events::delete_event),
        )
        .route("/events/{id}/report.html", get(events::event_report))
        .route("/events/{id}/export.csv", get(events::event_csv))
        .route(
            "/sessions/{code}",
            get(sessions::get_session)
                .patch(sessions::patch_session)
                .delete(sessions::delete_session),
        )
        .route("/sessions/{code}/questions", post(questions::add_question))
        .route(
            "/sessions/{code}/questions/{qid}",
            put(questions::update_question).delete(questions::delete_question),
        )
        .route(
            "/sessions/{code}/questions/{qid}/ballot",
            put(ballots::put_ballot).delete(ballots::delete_ballot),
        )
        .route(
            "/sessions/{code}/questions/{qid}/{action}",
            post(questions::question_action),
        )
        .route("/sessions/{code}/present", post(sessions::present))
        .route("/sessions/{code}/participants", post(ballots::join))
        .route("/sessions/{code}/qa", get(qa::qa_page))
        .route(
            "/sessions/{code}/qa/{item_id}/hide-author",
            post(qa::qa_hide_author),
        )
        .route("/sessions/{code}/results", get(results::results))
        .route("/sessions/{code}/summary", get(results::summary))
        .route("/sessions/{code}/qr.svg", get(results::qr))
        .route("/sessions/{code}/export.csv", get(results::export_csv))
        .route("/sessions/{code}/report.html", get(results::report))
        .route("/sessions/{code}/journal", get(results::session_journal))
        .merge(decks::routes())
        .merge(links::routes())
        .fallback(not_found);
    let router = Router::new()
        .nest("/api", api)
        .route("/ws/{code}", get(ws::upgrade))
        .route("/ws/events/{id}", get(ws::event::upgrade))
        .route("/events/{id}", get(event_page))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/", get(web::index))
        .route("/assets/{*path}", get(web::asset))
        .route("/{*path}", get(page))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            guard::Guard::new(hub.clone()),
            guard::guard,
        ))
        // Pages and API answers shrink about fourfold: it matters on venue Wi-Fi.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(hub);
    security_headers(router, &frame_ancestors)
}
