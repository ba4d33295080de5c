//! The guard in front of every route: the `Host` check (with
//! `--public-url`), the limits on creating sessions, and the throttle on
//! lookups of codes that do not exist (and wrong admin tokens), per client
//! address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::auth::bearer;
use super::host;
use crate::error::{Error, ErrorCode, Result};
use crate::live::registry::{is_code, token_eq, Hub};

/// The host a request names: its `Host`, or the authority of its target.
fn request_host(req: &Request) -> Option<&str> {
    host(req.headers()).or_else(|| req.uri().authority().map(|a| a.as_str()))
}

/// What the guard in front of every route needs: the hub, and the hosts a
/// request may name when `--public-url` is set.
#[derive(Clone)]
pub(super) struct Guard {
    hub: Arc<Hub>,
    /// None: any host (no `--public-url`).
    hosts: Option<Arc<Vec<String>>>,
}

impl Guard {
    pub(super) fn new(hub: Arc<Hub>) -> Guard {
        let config = &hub.shared.config;
        let hosts = config.public_url.as_deref().map(|url| {
            let mut hosts = vec![host_name(authority(url)).to_owned()];
            hosts.extend(
                crate::live::registry::lan_addresses()
                    .iter()
                    .map(|ip| ip.to_string()),
            );
            if !config.addr.ip().is_unspecified() {
                hosts.push(config.addr.ip().to_string());
            }
            Arc::new(hosts)
        });
        Guard { hub, hosts }
    }

    /// May a request naming `host` be served?
    fn host_allowed(&self, host: Option<&str>) -> bool {
        let (Some(hosts), Some(host)) = (&self.hosts, host) else {
            // No public URL; or no Host at all, which no browser sends.
            return true;
        };
        let name = host_name(host);
        let loopback =
            name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        loopback || hosts.iter().any(|h| h == &name)
    }
}

/// `https://vote.example.org:8443/x` → `vote.example.org:8443`.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['/', '?', '#']).next().unwrap_or("");
    rest.rsplit_once('@').map_or(rest, |(_, h)| h)
}

/// A host without its port and brackets, lower-cased, with no final dot.
fn host_name(authority: &str) -> String {
    let name = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The session code a route looks up, if any: `/api/sessions/{code}...`,
/// `/ws/{code}`, and the pages `/{code}...`.
fn looked_up_code(path: &str) -> Option<&str> {
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next()?, parts.next()) {
        ("api", Some("sessions")) => parts.next().filter(|c| !c.is_empty()),
        ("ws", Some(code)) if !code.is_empty() => Some(code),
        (code, _) if is_code(code) => Some(code),
        _ => None,
    }
}

fn client_ip(hub: &Hub, req: &Request) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
    crate::rate::client_ip(peer, req.headers(), &hub.shared.config.trusted_proxies)
}

fn too_many_misses(secs: u64) -> Response {
    Error::rate_limited("too many lookups of unknown codes or wrong tokens from this address")
        .retry_after(secs)
        .into_response()
}

/// In front of every route: the `Host` check (with `--public-url`), the
/// limits on creating sessions, and the throttle on lookups of codes that
/// do not exist (and wrong admin tokens), per client address.
///
/// An address over its misses is refused every code lookup until it has a
/// token again, known codes included: were a known code answered meanwhile,
/// 429 would simply mean "no such code" and enumeration would go on at full
/// speed. A lookup that finds its session takes no token.
pub(super) async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let hub = &g.hub;
    let path = req.uri().path();
    if path != "/healthz" && !g.host_allowed(request_host(&req)) {
        tracing::warn!(host = ?request_host(&req), "request refused: not this server's host");
        let body = json!({"error": {
            "code": "misdirected",
            "message": "this server does not answer for that host name",
        }});
        return (StatusCode::MISDIRECTED_REQUEST, Json(body)).into_response();
    }
    let shared = &hub.shared;
    if req.method() == axum::http::Method::POST
        && (path == "/api/sessions" || path == "/api/decks" || path == "/api/events")
    {
        let ip = client_ip(hub, &req);
        if let Err(e) = creation_allowed(hub, req.headers(), ip) {
            return e.into_response();
        }
    } else if let Some(code) = looked_up_code(path) {
        let ip = client_ip(hub, &req);
        if let Err(secs) = shared.ip_misses.check(ip) {
            return too_many_misses(secs);
        }
        if let Err(e) = hub.get(code).await {
            if e.code == ErrorCode::NotFound {
                if let Err(secs) = shared.ip_misses.take(ip) {
                    return too_many_misses(secs);
                }
            }
        }
    }
    next.run(req).await
}

/// Creating a session: a wrong admin token is a miss; without the admin
/// token, the per-address limit; for everyone, the server's cap.
fn creation_allowed(hub: &Hub, headers: &HeaderMap, ip: IpAddr) -> Result<()> {
    let shared = &hub.shared;
    let admin = match (&shared.config.admin_token, bearer(headers)) {
        (Some(admin), Some(given)) if token_eq(given, admin) => true,
        (Some(_), Some(_)) => {
            shared.ip_misses.take(ip).map_err(|secs| {
                Error::rate_limited("too many wrong tokens from this address").retry_after(secs)
            })?;
            // The handler answers `forbidden`.
            return Ok(());
        }
        // The handler answers `unauthorized`.
        (Some(_), None) => return Ok(()),
        (None, _) => false,
    };
    if hub.session_count() >= shared.config.max_sessions {
        return Err(Error::limit_reached(format!(
            "this server holds its maximum of {} sessions; delete one first",
            shared.config.max_sessions
        )));
    }
    if !admin {
        shared.ip_sessions.take(ip).map_err(|secs| {
            Error::rate_limited("too many new sessions from this address; retry later")
                .retry_after(secs)
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_compare_without_port_case_or_final_dot() {
        assert_eq!(
            host_name(authority("https://Vote.Example.org:8443/x")),
            "vote.example.org"
        );
        assert_eq!(host_name("vote.example.org."), "vote.example.org");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name(authority("http://user@10.0.0.5")), "10.0.0.5");
    }

    #[test]
    fn the_routes_that_look_up_a_code() {
        assert_eq!(looked_up_code("/api/sessions/123456"), Some("123456"));
        assert_eq!(
            looked_up_code("/api/sessions/abc/questions/x/ballot"),
            Some("abc")
        );
        assert_eq!(looked_up_code("/ws/123456"), Some("123456"));
        assert_eq!(looked_up_code("/123456/screen"), Some("123456"));
        assert_eq!(looked_up_code("/api/sessions"), None);
        assert_eq!(looked_up_code("/assets/app.js"), None);
        assert_eq!(looked_up_code("/"), None);
        assert_eq!(looked_up_code("/healthz"), None);
    }
}
