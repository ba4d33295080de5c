//! Links for every role over HTTP: made, listed, revoked and shown as a QR
//! code by the session's moderator (cohosts may not: see `domain::links`).
//! The QR code is fetched with the moderator's bearer token, so a link's
//! token never travels in a request line.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Moderator;
use super::{host, parse_uuid, Body};
use crate::domain::links::Link;
use crate::error::Result;
use crate::live::registry::Hub;

/// The link routes, under `/api`.
pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/sessions/{code}/links", get(list).post(mint))
        .route("/sessions/{code}/links/{id}", delete(revoke))
        .route("/sessions/{code}/links/{id}/qr.svg", get(qr))
}

/// The console's address opened with a link's token (in the fragment,
/// never in a request line).
fn url(hub: &Hub, headers: &HeaderMap, code: &str, link: &Link) -> String {
    format!(
        "{}/{code}/moderate#token={}",
        hub.base_url(host(headers)),
        link.token
    )
}

/// A link as the API shows it: `lang` only for an interpreter.
fn view(hub: &Hub, headers: &HeaderMap, code: &str, link: &Link) -> Value {
    let mut v = json!({
        "id": link.id,
        "role": link.scope.as_str(),
        "label": link.label,
        "token": link.token,
        "url": url(hub, headers, code, link),
        "at": link.at,
    });
    if let Some(lang) = &link.lang {
        v["lang"] = json!(lang);
    }
    v
}

#[derive(Deserialize)]
struct MintBody {
    role: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

/// `POST /api/sessions/{code}/links`: `{"role", "label"?, "lang"?}`.
async fn mint(
    State(hub): State<Arc<Hub>>,
    Moderator(s): Moderator,
    headers: HeaderMap,
    Body(b): Body<MintBody>,
) -> Result<Response> {
    let link = s
        .mint_link(&b.role, b.label.as_deref(), b.lang.as_deref())
        .await?;
    let body = view(&hub, &headers, &s.code, &link);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /api/sessions/{code}/links`: every link, oldest first.
async fn list(
    State(hub): State<Arc<Hub>>,
    Moderator(s): Moderator,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let links: Vec<Value> = s
        .links()
        .await?
        .iter()
        .map(|l| view(&hub, &headers, &s.code, l))
        .collect();
    Ok(Json(json!({ "links": links })))
}

/// `DELETE /api/sessions/{code}/links/{id}`: its sockets close, its token
/// stops working.
async fn revoke(
    Moderator(s): Moderator,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    s.revoke_link(parse_uuid(&id, "link")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/sessions/{code}/links/{id}/qr.svg`: the link's console address
/// as a QR code, for the chair to scan with a phone.
async fn qr(
    State(hub): State<Arc<Hub>>,
    Moderator(s): Moderator,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let link = s.link(parse_uuid(&id, "link")?).await?;
    let svg = crate::transport::qr::svg(&url(&hub, &headers, &s.code, &link))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}
