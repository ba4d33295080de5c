//! Who is calling: extractors for the moderator, a participant and the
//! admin, read from the `{code}` of the path and the bearer token. A
//! handler that takes one runs only for a caller who passed its check; the
//! refusals are the contract's errors.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, Result};
use crate::live::registry::{token_eq, Hub};
use crate::live::session::LiveSession;

/// The token of `Authorization: Bearer <token>`, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The session named by the path's `{code}`.
async fn session_of(parts: &mut Parts, hub: &Hub) -> Result<Arc<LiveSession>, Response> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?;
    let code = params
        .get("code")
        .ok_or_else(|| Error::internal("a moderated route without a code").into_response())?;
    hub.get(code).await.map_err(IntoResponse::into_response)
}

/// The session of `{code}`, for a caller holding its moderator token.
pub struct Moderator(pub Arc<LiveSession>);

impl FromRequestParts<Arc<Hub>> for Moderator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, Response> {
        let s = session_of(parts, hub).await?;
        s.check_moderator(bearer(&parts.headers))
            .map_err(IntoResponse::into_response)?;
        Ok(Moderator(s))
    }
}

/// The session of `{code}` and the participant whose token is presented.
/// Each call draws on the participant's rate bucket, the one its sockets
/// share.
pub struct Participant {
    pub session: Arc<LiveSession>,
    pub id: u32,
}

impl FromRequestParts<Arc<Hub>> for Participant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, Response> {
        let s = session_of(parts, hub).await?;
        let id = participant_of(&s, bearer(&parts.headers))
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Participant { session: s, id })
    }
}

async fn participant_of(s: &Arc<LiveSession>, token: Option<&str>) -> Result<u32> {
    let token = token.ok_or_else(|| Error::unauthorized("a participant token is required"))?;
    match s.find_participant(token).await? {
        Some(p) => {
            s.take_rate(p).map_err(|secs| {
                Error::rate_limited("too many messages from this participant; slow down")
                    .retry_after(secs)
            })?;
            Ok(p)
        }
        None if s.check_moderator(Some(token)).is_ok() => {
            Err(Error::forbidden("the moderator does not vote"))
        }
        None => Err(Error::unauthorized("unknown participant token")),
    }
}

/// A caller allowed to create sessions: anyone, unless the server has an
/// admin token, in which case its holder.
pub struct Admin;

impl FromRequestParts<Arc<Hub>> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self> {
        let Some(admin) = &hub.shared.config.admin_token else {
            return Ok(Admin);
        };
        match bearer(&parts.headers) {
            Some(t) if token_eq(t, admin) => Ok(Admin),
            Some(_) => Err(Error::forbidden("wrong admin token")),
            None => Err(Error::unauthorized(
                "creating a session needs the admin token",
            )),
        }
    }
}
