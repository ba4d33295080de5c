//! The audience over HTTP: joining a session, casting and withdrawing a
//! ballot (the same as the socket's `vote` and `retract`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Participant;
use super::{parse_uuid, Body};
use crate::error::{Error, Result};
use crate::live::registry::Hub;
use crate::protocol;

/// `POST /api/sessions/{code}/participants`: a new participant and its
/// token, within the per-address limit on new participants.
pub(super) async fn join(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response> {
    let s = hub.get(&code).await?;
    let ip = crate::rate::client_ip(peer, &headers, &hub.shared.config.trusted_proxies);
    if let Err(secs) = hub.shared.ip_participants.take(ip) {
        return Err(Error::rate_limited(
            "too many new participants from this address; retry shortly",
        )
        .retry_after(secs));
    }
    let (id, token) = s.join().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"participant_id": id, "participant_token": token})),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct BallotBody {
    #[serde(default)]
    choice: Option<Value>,
}

/// `PUT /api/sessions/{code}/questions/{qid}/ballot`.
pub(super) async fn put_ballot(
    Participant { session: s, id: p }: Participant,
    Path((_, qid)): Path<(String, String)>,
    Body(b): Body<BallotBody>,
) -> Result<Json<Value>> {
    let qid = parse_uuid(&qid, "question")?;
    let choice = protocol::raw_choice(&b.choice.unwrap_or(Value::Null))?;
    s.vote(p, qid, choice).await?;
    Ok(Json(json!({"accepted": true})))
}

/// `DELETE /api/sessions/{code}/questions/{qid}/ballot`.
pub(super) async fn delete_ballot(
    Participant { session: s, id: p }: Participant,
    Path((_, qid)): Path<(String, String)>,
) -> Result<StatusCode> {
    s.retract(p, parse_uuid(&qid, "question")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
