//! The question resource: add, change, delete, and the moderator's actions
//! on one question (open, close, reveal, hide, reset, move).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Moderator;
use super::{parse_uuid, Body};
use crate::error::{Error, Result};
use crate::protocol::{self, QuestionAction, QuestionView};

/// `POST /api/sessions/{code}/questions`.
pub(super) async fn add_question(
    Moderator(s): Moderator,
    Body(spec): Body<Value>,
) -> Result<Response> {
    let view = s
        .add_question(protocol::parse_question_spec(&spec)?)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `PUT /api/sessions/{code}/questions/{qid}`.
pub(super) async fn update_question(
    Moderator(s): Moderator,
    Path((_, qid)): Path<(String, String)>,
    Body(spec): Body<Value>,
) -> Result<Json<QuestionView>> {
    let qid = parse_uuid(&qid, "question")?;
    Ok(Json(
        s.update_question(qid, protocol::parse_question_spec(&spec)?)
            .await?,
    ))
}

/// `DELETE /api/sessions/{code}/questions/{qid}`.
pub(super) async fn delete_question(
    Moderator(s): Moderator,
    Path((_, qid)): Path<(String, String)>,
) -> Result<StatusCode> {
    s.delete_question(parse_uuid(&qid, "question")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct ActionBody {
    #[serde(default)]
    duration_s: Option<u32>,
    #[serde(default)]
    index: Option<usize>,
    /// `breakdown`: the segment question, or null for none.
    #[serde(default, deserialize_with = "present")]
    by: Option<Option<uuid::Uuid>>,
}

/// A field that may be null, told apart from one left out.
fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<uuid::Uuid>>, D::Error> {
    Option::<uuid::Uuid>::deserialize(d).map(Some)
}

/// `POST /api/sessions/{code}/questions/{qid}/{action}`.
pub(super) async fn question_action(
    Moderator(s): Moderator,
    Path((_, qid, action)): Path<(String, String, String)>,
    Body(body): Body<ActionBody>,
) -> Result<Json<Option<QuestionView>>> {
    let qid = parse_uuid(&qid, "question")?;
    if action == "move" {
        let index = body
            .index
            .ok_or_else(|| Error::bad_request("move needs an index"))?;
        s.move_question(qid, index).await?;
        let view = s.view(true, "");
        let q = view.questions.into_iter().find(|q| q.id == qid);
        return Ok(Json(q));
    }
    if action == "breakdown" {
        let by = body.by.ok_or_else(|| {
            Error::bad_request("breakdown needs by: a segment question's id, or null")
        })?;
        return Ok(Json(Some(
            s.act(qid, QuestionAction::Breakdown { by }).await?,
        )));
    }
    let action = QuestionAction::from_path(&action, body.duration_s).ok_or_else(|| {
        Error::not_found(format!(
            "no action {action:?}; the actions are open, close, reveal, hide, reset, breakdown, move"
        ))
    })?;
    Ok(Json(Some(s.act(qid, action).await?)))
}
