//! The event resource: create one, see its rooms, end it. Every route but
//! creation takes the organiser token as bearer. Events need a standalone
//! server (journal or memory): in cluster mode they are refused.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use super::auth::{bearer, Admin};
use super::{host, parse_uuid, Body};
use crate::error::{Error, Result};
use crate::live::events::Event;
use crate::live::registry::{new_token, Hub};

/// The refusal of events in cluster mode.
pub(crate) fn standalone_only(hub: &Hub) -> Result<()> {
    if hub.shared.storage.is_shared() {
        return Err(Error::bad_request(
            "events need a standalone server (with its journal or in memory) for now; \
             this one runs in cluster mode",
        ));
    }
    Ok(())
}

/// The event of the path's `{id}`, for the holder of its organiser token.
pub(crate) fn organised(hub: &Hub, id: &str, token: Option<&str>) -> Result<Event> {
    standalone_only(hub)?;
    let id = parse_uuid(id, "event")?;
    hub.shared.events.organised(id, token)
}

/// The organiser's overview page of an event.
pub fn overview_url(base: &str, event: &Event) -> String {
    format!("{base}/events/{}#token={}", event.id, event.organiser_token)
}

/// `POST /api/events`.
pub(super) async fn create_event(
    State(hub): State<Arc<Hub>>,
    _: Admin,
    headers: HeaderMap,
    Body(body): Body<Value>,
) -> Result<Response> {
    standalone_only(&hub)?;
    let title = match body.get("title") {
        Some(Value::String(t)) => t.clone(),
        Some(_) => return Err(Error::bad_request("title must be a text")),
        None => return Err(Error::bad_request("title is required")),
    };
    let event = hub.create_event(title)?;
    let base = hub.base_url(host(&headers));
    Ok((StatusCode::CREATED, Json(created(&base, &event))).into_response())
}

/// The 201 answer to creating an event.
pub fn created(base: &str, event: &Event) -> Value {
    json!({
        "id": event.id,
        "title": event.title,
        "organiser_token": event.organiser_token,
        "url": overview_url(base, event),
    })
}

/// The event and each of its sessions still running, as the overview
/// shows them; the links are the organiser's (the console opens with the
/// organiser token).
pub fn event_view(hub: &Hub, event: &Event, base: &str) -> Value {
    let sessions: Vec<Value> = event
        .sessions
        .iter()
        .filter_map(|code| hub.loaded(code))
        .map(|s| {
            let mut room = s.room();
            room["urls"] = json!({
                "audience": format!("{base}/{}", s.code),
                "moderator": format!("{base}/{}/moderate#token={}", s.code, event.organiser_token),
                "projector": format!("{base}/{}/screen", s.code),
            });
            room
        })
        .collect();
    json!({
        "id": event.id,
        "title": event.title,
        "created_at": event.created_at,
        "sessions": sessions,
    })
}

/// `GET /api/events/{id}`.
pub(super) async fn get_event(
    State(hub): State<Arc<Hub>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let event = organised(&hub, &id, bearer(&headers))?;
    let base = hub.base_url(host(&headers));
    Ok(Json(event_view(&hub, &event, &base)))
}

/// `DELETE /api/events/{id}`: ends every session of the event, then the
/// event.
pub(super) async fn delete_event(
    State(hub): State<Arc<Hub>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let event = organised(&hub, &id, bearer(&headers))?;
    hub.end_event(event.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Each session of the event still held, in the order they joined, as
/// `part` renders it.
async fn parts(
    hub: &Hub,
    event: &Event,
    part: impl Fn(&crate::domain::Session, &str) -> String,
) -> Result<Vec<crate::export::EventPart>> {
    let mut parts = Vec::new();
    for code in &event.sessions {
        let Some(s) = hub.loaded(code) else { continue };
        let (title, body) = s
            .read_whole(|session, digest| (session.title.clone(), part(session, digest)))
            .await?;
        parts.push(crate::export::EventPart {
            code: code.clone(),
            title,
            body,
        });
    }
    Ok(parts)
}

/// `GET /api/events/{id}/report.html`: one report of every session.
pub(super) async fn event_report(
    State(hub): State<Arc<Hub>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let event = organised(&hub, &id, bearer(&headers))?;
    let now = hub.shared.clock.now_ms();
    let parts = parts(&hub, &event, |s, digest| {
        crate::export::event_part(s, digest, now)
    })
    .await?;
    let body = crate::export::event_report(&event.title, now, &parts);
    Ok(super::results::report_page(body))
}

/// `GET /api/events/{id}/export.csv`: every session's results in one CSV,
/// a session column first.
pub(super) async fn event_csv(
    State(hub): State<Arc<Hub>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let event = organised(&hub, &id, bearer(&headers))?;
    let parts = parts(&hub, &event, |s, _| crate::export::csv(s)).await?;
    let body = crate::export::event_csv(&parts);
    Ok(super::results::csv_download(
        format!("handsup-event-{}-results.csv", event.id),
        body,
    ))
}

impl Hub {
    /// A new event, with a fresh organiser token.
    pub fn create_event(&self, title: String) -> Result<Event> {
        let now = self.shared.clock.now_ms();
        let event =
            self.shared
                .events
                .create(title, new_token(), now, self.shared.config.max_sessions)?;
        tracing::info!(event = %event.id, "event created");
        Ok(event)
    }

    /// Ends every session of event `id` still running, then forgets it.
    pub async fn end_event(&self, id: Uuid) -> Result<()> {
        let Some(event) = self.shared.events.event_by_id(id) else {
            return Err(Error::not_found(format!("no event {id}")));
        };
        for code in &event.sessions {
            match self.delete(code).await {
                Ok(()) => {}
                Err(e) if e.code == crate::error::ErrorCode::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.shared.events.remove(id)?;
        tracing::info!(event = %id, "event ended");
        Ok(())
    }
}
