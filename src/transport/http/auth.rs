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

use crate::domain::links::Access;
use crate::error::{Error, Result};
use crate::live::registry::{token_eq, Hub};
use crate::live::session::LiveSession;
use crate::transport::scope;

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

/// The session of `{code}`, for a caller holding its moderator token, or
/// a link's token whose scope allows the route (`scope::route_action`);
/// another scope is `forbidden`.
pub struct Moderator(pub Arc<LiveSession>);

impl FromRequestParts<Arc<Hub>> for Moderator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, Response> {
        let Staff { session, access } = Staff::from_request_parts(parts, hub).await?;
        let path = parts.uri.path();
        // The segments after `/sessions/{code}`.
        let rest: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty())
            .skip_while(|p| *p != "sessions")
            .skip(2)
            .collect();
        let action = scope::route_action(&parts.method, &rest);
        access
            .check(&[action])
            .map_err(IntoResponse::into_response)?;
        Ok(Moderator(session))
    }
}

/// The session of `{code}` and the access of the token presented (the
/// moderator's or a link's), whatever its scope: for a handler that judges
/// the scope by what the request asks.
pub struct Staff {
    pub session: Arc<LiveSession>,
    pub access: Access,
}

impl FromRequestParts<Arc<Hub>> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, Response> {
        let session = session_of(parts, hub).await?;
        let access = session
            .access(bearer(&parts.headers))
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Staff { session, access })
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
        None if s.access(Some(token)).await.is_ok() => {
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

#[cfg(test)]
mod tests {
    use axum::body::Body as HttpBody;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;
    use crate::config::Config;

    async fn moderated(Moderator(s): Moderator) -> String {
        s.code.clone()
    }

    async fn voting(_: Participant) -> &'static str {
        "voter"
    }

    async fn creating(_: Admin) -> &'static str {
        "admin"
    }

    fn hub(admin_token: Option<&str>) -> Arc<Hub> {
        let mut config = Config::defaults();
        config.admin_token = admin_token.map(str::to_owned);
        Arc::new(Hub::new(config))
    }

    /// The status and the error code (or the body, on success) of a GET.
    async fn get_as(hub: &Arc<Hub>, uri: &str, token: Option<&str>) -> (StatusCode, String) {
        let router = Router::new()
            .route("/m/{code}/{qid}", get(moderated))
            .route("/p/{code}", get(voting))
            .route("/admin", get(creating))
            .with_state(hub.clone());
        let mut req = Request::get(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let res = router
            .oneshot(req.body(HttpBody::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        match serde_json::from_str::<Value>(&text) {
            Ok(v) if v["error"]["code"].is_string() => {
                (status, v["error"]["code"].as_str().unwrap().to_owned())
            }
            _ => (status, text),
        }
    }

    #[tokio::test]
    async fn only_the_moderator_token_passes_as_moderator() {
        let hub = hub(None);
        let s = hub
            .create_session("t".into(), Default::default(), Vec::new())
            .await
            .unwrap();
        let (token, _) = s.secrets();
        let (_, participant) = s.join().await.unwrap();
        let uri = format!("/m/{}/x", s.code);
        assert_eq!(
            get_as(&hub, &uri, Some(&token)).await,
            (StatusCode::OK, s.code.clone())
        );
        let refused = |status: StatusCode, code: &str| (status, code.to_owned());
        assert_eq!(
            get_as(&hub, &uri, None).await,
            refused(StatusCode::UNAUTHORIZED, "unauthorized")
        );
        assert_eq!(
            get_as(&hub, &uri, Some("wrong")).await,
            refused(StatusCode::UNAUTHORIZED, "unauthorized")
        );
        assert_eq!(
            get_as(&hub, &uri, Some(&participant)).await,
            refused(StatusCode::FORBIDDEN, "forbidden")
        );
        assert_eq!(
            get_as(&hub, "/m/999999/x", Some(&token)).await,
            refused(StatusCode::NOT_FOUND, "not_found")
        );
    }

    #[tokio::test]
    async fn only_a_participant_token_passes_as_participant() {
        let hub = hub(None);
        let s = hub
            .create_session("t".into(), Default::default(), Vec::new())
            .await
            .unwrap();
        let (token, _) = s.secrets();
        let (_, participant) = s.join().await.unwrap();
        let uri = format!("/p/{}", s.code);
        assert_eq!(
            get_as(&hub, &uri, Some(&participant)).await,
            (StatusCode::OK, "voter".to_owned())
        );
        assert_eq!(
            get_as(&hub, &uri, None).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".to_owned())
        );
        assert_eq!(
            get_as(&hub, &uri, Some("wrong")).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".to_owned())
        );
        assert_eq!(
            get_as(&hub, &uri, Some(&token)).await,
            (StatusCode::FORBIDDEN, "forbidden".to_owned())
        );
    }

    #[tokio::test]
    async fn the_admin_token_is_needed_only_where_the_server_has_one() {
        let open = hub(None);
        assert_eq!(
            get_as(&open, "/admin", None).await,
            (StatusCode::OK, "admin".to_owned())
        );
        let closed = hub(Some("sesame"));
        assert_eq!(
            get_as(&closed, "/admin", Some("sesame")).await,
            (StatusCode::OK, "admin".to_owned())
        );
        assert_eq!(
            get_as(&closed, "/admin", None).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".to_owned())
        );
        assert_eq!(
            get_as(&closed, "/admin", Some("open up")).await,
            (StatusCode::FORBIDDEN, "forbidden".to_owned())
        );
    }
}
