//! The session resource: create one, read it, change its title and
//! settings, delete it, and choose what the projector shows.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::auth::{bearer, Admin, Moderator, Staff};
use super::{host, Body};
use crate::domain::links::Action;
use crate::domain::Settings;
use crate::error::{Error, Result};
use crate::live::registry::Hub;
use crate::live::session::LiveSession;
use crate::protocol::{self, Presentation, SessionView};

/// `POST /api/sessions`.
pub(super) async fn create_session(
    State(hub): State<Arc<Hub>>,
    _: Admin,
    headers: HeaderMap,
    Body(body): Body<Value>,
) -> Result<Response> {
    let Value::Object(o) = body else {
        return Err(Error::bad_request("the body must be a JSON object"));
    };
    let title = match o.get("title") {
        Some(Value::String(t)) => t.clone(),
        Some(_) => return Err(Error::bad_request("title must be a text")),
        None => return Err(Error::bad_request("title is required")),
    };
    let questions = match o.get("questions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(qs)) => qs
            .iter()
            .enumerate()
            .map(|(i, q)| {
                protocol::parse_question_spec(q)
                    .map_err(|e| Error::new(e.code, format!("questions[{i}]: {}", e.message)))
            })
            .collect::<Result<Vec<_>>>()?,
        Some(_) => return Err(Error::bad_request("questions must be an array")),
    };
    let settings = match o.get("settings") {
        None | Some(Value::Null) => Settings::default(),
        Some(Value::Object(s)) => {
            let flag = |name: &str| match s.get(name) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(Error::bad_request(format!(
                    "settings.{name} must be true or false"
                ))),
            };
            let min_group = match s.get("min_group") {
                None | Some(Value::Null) => crate::domain::DEFAULT_MIN_GROUP,
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| Error::bad_request("settings.min_group must be a whole number"))
                    .and_then(crate::domain::check_min_group)?,
            };
            Settings {
                qa_moderation: flag("qa_moderation")?,
                show_digest: flag("show_digest")?,
                min_group,
                public_summary: flag("public_summary")?,
            }
        }
        Some(_) => return Err(Error::bad_request("settings must be an object")),
    };
    let event = match o.get("event") {
        None | Some(Value::Null) => None,
        Some(e) => Some(event_to_join(&hub, e)?),
    };
    let live = hub.create_session(title, settings, questions).await?;
    if let Some((id, token)) = event {
        join_event(&hub, &live, id, &token).await?;
    }
    Ok(created(&hub, &headers, &live))
}

/// The event a new session is to join, from `"event": {"id",
/// "organiser_token"}`, checked before the session is created.
pub(crate) fn event_to_join(hub: &Hub, e: &Value) -> Result<(Uuid, String)> {
    super::events::standalone_only(hub)?;
    let Value::Object(e) = e else {
        return Err(Error::bad_request(
            "event must be an object with id and organiser_token",
        ));
    };
    let id = match e.get("id") {
        Some(Value::String(id)) => id
            .parse::<Uuid>()
            .map_err(|_| Error::not_found(format!("no event {id:?}")))?,
        _ => return Err(Error::bad_request("event.id is required")),
    };
    let token = match e.get("organiser_token") {
        Some(Value::String(t)) => t.clone(),
        None | Some(Value::Null) => {
            return Err(Error::unauthorized("event.organiser_token is required"))
        }
        Some(_) => return Err(Error::bad_request("event.organiser_token must be a text")),
    };
    hub.shared.events.may_join(id, Some(&token))?;
    Ok((id, token))
}

/// A new session joins its event; if that fails (the event ended
/// meanwhile), the session goes again.
pub(crate) async fn join_event(hub: &Hub, live: &LiveSession, id: Uuid, token: &str) -> Result<()> {
    if let Err(e) = hub.shared.events.join(id, Some(token), &live.code) {
        let _ = hub.delete(&live.code).await;
        return Err(e);
    }
    Ok(())
}

/// The 201 answer to creating a session: its id, code, title, moderator
/// token and links.
pub(crate) fn created(hub: &Hub, headers: &HeaderMap, live: &LiveSession) -> Response {
    let base = hub.base_url(host(headers));
    (StatusCode::CREATED, Json(created_json(&base, live))).into_response()
}

/// The body of the 201 answer to creating a session.
pub(crate) fn created_json(base: &str, live: &LiveSession) -> Value {
    let (token, title) = live.secrets();
    json!({
        "id": live.id,
        "code": live.code,
        "title": title,
        "moderator_token": token,
        "urls": urls(base, &live.code, &token),
    })
}

/// The audience, moderator and projector links of a session.
pub fn urls(base: &str, code: &str, moderator_token: &str) -> Value {
    json!({
        "audience": format!("{base}/{code}"),
        "moderator": format!("{base}/{code}/moderate#token={moderator_token}"),
        "projector": format!("{base}/{code}/screen"),
    })
}

/// `GET /api/sessions/{code}`: the public view, or with the moderator's
/// token the moderator's (drafts, answers).
pub(super) async fn get_session(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SessionView>> {
    let s = hub.get(&code).await?;
    let join = format!("{}/{}", hub.base_url(host(&headers)), code);
    let moderator = match bearer(&headers) {
        Some(t) => s
            .access(Some(t))
            .await
            .is_ok_and(|a| a.may(Action::SeePolls)),
        None => false,
    };
    Ok(Json(s.view(moderator, &join)))
}

#[derive(Deserialize)]
pub(super) struct Patch {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    settings: Option<PatchSettings>,
}

#[derive(Deserialize, Default)]
struct PatchSettings {
    #[serde(default)]
    qa_moderation: Option<bool>,
    #[serde(default)]
    show_digest: Option<bool>,
    #[serde(default)]
    min_group: Option<u32>,
    #[serde(default)]
    public_summary: Option<bool>,
}

/// `PATCH /api/sessions/{code}`: the scope is judged by the fields named
/// (a Q&A moderator sets `qa_moderation` only).
pub(super) async fn patch_session(
    State(hub): State<Arc<Hub>>,
    Staff { session: s, access }: Staff,
    Path(code): Path<String>,
    headers: HeaderMap,
    Body(body): Body<Value>,
) -> Result<Json<SessionView>> {
    if let Value::Object(fields) = &body {
        access.check(&crate::transport::scope::settings_actions(fields))?;
    }
    let p: Patch = serde_json::from_value(body)
        .map_err(|e| Error::bad_request(format!("malformed JSON body: {e}")))?;
    let settings = p.settings.unwrap_or_default();
    let change = crate::domain::SettingsChange {
        qa_moderation: settings.qa_moderation,
        show_digest: settings.show_digest,
        min_group: settings.min_group,
        public_summary: settings.public_summary,
    };
    s.update(p.title, change).await?;
    let join = format!("{}/{}", hub.base_url(host(&headers)), code);
    Ok(Json(s.view(false, &join)))
}

/// `DELETE /api/sessions/{code}`.
pub(super) async fn delete_session(
    State(hub): State<Arc<Hub>>,
    Moderator(s): Moderator,
) -> Result<StatusCode> {
    hub.delete(&s.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct PresentBody {
    #[serde(default)]
    question_id: Option<Uuid>,
    #[serde(default)]
    qa: bool,
}

/// `POST /api/sessions/{code}/present`: what the projector shows.
pub(super) async fn present(
    Moderator(s): Moderator,
    Body(p): Body<PresentBody>,
) -> Result<Json<Value>> {
    let p = if p.qa {
        Presentation::Qa
    } else {
        Presentation::Question(p.question_id)
    };
    s.present(p).await?;
    let view = s.view(true, "");
    Ok(Json(
        json!({"question_id": view.current, "qa": view.qa_on_screen}),
    ))
}
