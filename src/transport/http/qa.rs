//! The Q&A board over HTTP: its pages, and hiding every item of an author.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::auth::{bearer, Moderator};
use super::parse_uuid;
use crate::domain::links::Action;
use crate::error::{Error, Result};
use crate::live::registry::Hub;
use crate::protocol;
use crate::protocol::QaPage;

/// `?offset=N&limit=M` of the Q&A pages: whole numbers, M at most 100.
fn page_query(q: &HashMap<String, String>) -> Result<(usize, usize)> {
    let number = |name: &str, default: usize| -> Result<usize> {
        match q.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                Error::bad_request(format!("{name} must be a whole number, not {v:?}"))
            }),
        }
    };
    let offset = number("offset", 0)?;
    let limit = number("limit", 50)?;
    if !(1..=protocol::WELCOME_QA_ITEMS).contains(&limit) {
        return Err(Error::bad_request(format!(
            "limit must be between 1 and {}",
            protocol::WELCOME_QA_ITEMS
        )));
    }
    Ok((offset, limit))
}

/// `GET /api/sessions/{code}/qa`: one page of the Q&A board. The moderator
/// sees every item; a participant the public ones and their own pending
/// ones; anyone else the public ones.
pub(super) async fn qa_page(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<QaPage>> {
    let s = hub.get(&code).await?;
    let Query(q) = q.map_err(|e| Error::bad_request(format!("a malformed query: {e}")))?;
    let (offset, limit) = page_query(&q)?;
    let (moderator, participant) = match bearer(&headers) {
        None => (false, None),
        Some(t) => match s.find_participant(t).await? {
            Some(p) => (false, Some(p)),
            // Staff: pending items for the scopes that moderate them.
            None => match s.access(Some(t)).await {
                Ok(a) => (a.may(Action::SeePendingQa), None),
                Err(_) => return Err(Error::unauthorized("unknown token")),
            },
        },
    };
    Ok(Json(
        s.qa_page(moderator, participant, offset, limit).await?,
    ))
}

/// `POST /api/sessions/{code}/qa/{item_id}/hide-author`: hides every item
/// by that item's author.
pub(super) async fn qa_hide_author(
    Moderator(s): Moderator,
    Path((_, item)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let hidden = s.qa_hide_author(parse_uuid(&item, "Q&A item")?).await?;
    Ok(Json(json!({ "hidden": hidden })))
}
