//! The HTTP API and the pages, in one router built by `app()` so tests can
//! call it. Every error leaves as `{"error": {"code", "message"}}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

use crate::domain::Settings;
use crate::error::{Error, ErrorCode, Result};
use crate::live::registry::{is_code, token_eq, Hub};
use crate::live::session::LiveSession;
use crate::protocol::{
    self, Presentation, QaPage, QuestionAction, QuestionView, Results, SessionView,
};
use crate::transport::{pages as web, ws};

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

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|h| h.to_str().ok())
}

/// The host a request names: its `Host`, or the authority of its target.
fn request_host(req: &Request) -> Option<&str> {
    host(req.headers()).or_else(|| req.uri().authority().map(|a| a.as_str()))
}

/// The session of `{code}`, for a caller holding its moderator token.
pub(crate) async fn moderated(
    hub: &Hub,
    code: &str,
    headers: &HeaderMap,
) -> Result<Arc<LiveSession>> {
    let s = hub.get(code).await?;
    s.check_moderator(bearer(headers))?;
    Ok(s)
}

/// The session of `{code}` and the participant whose token is presented.
async fn participant(
    hub: &Hub,
    code: &str,
    headers: &HeaderMap,
) -> Result<(Arc<LiveSession>, u32)> {
    let s = hub.get(code).await?;
    let token =
        bearer(headers).ok_or_else(|| Error::unauthorized("a participant token is required"))?;
    match s.find_participant(token).await? {
        Some(p) => {
            // The same bucket as the participant's sockets.
            s.take_rate(p).map_err(|secs| {
                Error::rate_limited("too many messages from this participant; slow down")
                    .retry_after(secs)
            })?;
            Ok((s, p))
        }
        None if s.check_moderator(Some(token)).is_ok() => {
            Err(Error::forbidden("the moderator does not vote"))
        }
        None => Err(Error::unauthorized("unknown participant token")),
    }
}

fn parse_uuid(s: &str, what: &str) -> Result<Uuid> {
    s.parse()
        .map_err(|_| Error::not_found(format!("no {what} {s:?}")))
}

/// Creating a session needs the admin token, where the server has one.
pub(crate) fn check_admin(hub: &Hub, headers: &HeaderMap) -> Result<()> {
    if let Some(admin) = &hub.shared.config.admin_token {
        match bearer(headers) {
            Some(t) if token_eq(t, admin) => {}
            Some(_) => return Err(Error::forbidden("wrong admin token")),
            None => {
                return Err(Error::unauthorized(
                    "creating a session needs the admin token",
                ))
            }
        }
    }
    Ok(())
}

async fn create_session(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Body(body): Body<Value>,
) -> Result<Response> {
    check_admin(&hub, &headers)?;
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
        Some(Value::Object(s)) => Settings {
            qa_moderation: match s.get("qa_moderation") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(Error::bad_request(
                        "settings.qa_moderation must be true or false",
                    ))
                }
            },
        },
        Some(_) => return Err(Error::bad_request("settings must be an object")),
    };
    let live = hub.create_session(title, settings, questions).await?;
    Ok(created(&hub, &headers, &live))
}

/// The 201 answer to creating a session: its id, code, title, moderator
/// token and links.
pub(crate) fn created(hub: &Hub, headers: &HeaderMap, live: &LiveSession) -> Response {
    let base = hub.base_url(host(headers));
    let (token, title) = live.secrets();
    let body = json!({
        "id": live.id,
        "code": live.code,
        "title": title,
        "moderator_token": token,
        "urls": urls(&base, &live.code, &token),
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

/// The audience, moderator and projector links of a session.
pub fn urls(base: &str, code: &str, moderator_token: &str) -> Value {
    json!({
        "audience": format!("{base}/{code}"),
        "moderator": format!("{base}/{code}/moderate#token={moderator_token}"),
        "projector": format!("{base}/{code}/screen"),
    })
}

async fn get_session(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SessionView>> {
    let s = hub.get(&code).await?;
    let join = format!("{}/{}", hub.base_url(host(&headers)), code);
    // The moderator's token shows the moderator's view (drafts, answers).
    let moderator = s.check_moderator(bearer(&headers)).is_ok();
    Ok(Json(s.view(moderator, &join)))
}

#[derive(Deserialize)]
struct Patch {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    settings: Option<PatchSettings>,
}

#[derive(Deserialize)]
struct PatchSettings {
    #[serde(default)]
    qa_moderation: Option<bool>,
}

async fn patch_session(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Body(p): Body<Patch>,
) -> Result<Json<SessionView>> {
    let s = moderated(&hub, &code, &headers).await?;
    s.update(p.title, p.settings.and_then(|s| s.qa_moderation))
        .await?;
    let join = format!("{}/{}", hub.base_url(host(&headers)), code);
    Ok(Json(s.view(false, &join)))
}

async fn delete_session(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    moderated(&hub, &code, &headers).await?;
    hub.delete(&code).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_question(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Body(spec): Body<Value>,
) -> Result<Response> {
    let s = moderated(&hub, &code, &headers).await?;
    let view = s
        .add_question(protocol::parse_question_spec(&spec)?)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn update_question(
    State(hub): State<Arc<Hub>>,
    Path((code, qid)): Path<(String, String)>,
    headers: HeaderMap,
    Body(spec): Body<Value>,
) -> Result<Json<QuestionView>> {
    let s = moderated(&hub, &code, &headers).await?;
    let qid = parse_uuid(&qid, "question")?;
    Ok(Json(
        s.update_question(qid, protocol::parse_question_spec(&spec)?)
            .await?,
    ))
}

async fn delete_question(
    State(hub): State<Arc<Hub>>,
    Path((code, qid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let s = moderated(&hub, &code, &headers).await?;
    s.delete_question(parse_uuid(&qid, "question")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ActionBody {
    #[serde(default)]
    duration_s: Option<u32>,
    #[serde(default)]
    index: Option<usize>,
}

async fn question_action(
    State(hub): State<Arc<Hub>>,
    Path((code, qid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    Body(body): Body<ActionBody>,
) -> Result<Json<Option<QuestionView>>> {
    let s = moderated(&hub, &code, &headers).await?;
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
    let action = QuestionAction::from_path(&action, body.duration_s).ok_or_else(|| {
        Error::not_found(format!(
            "no action {action:?}; the actions are open, close, reveal, hide, reset"
        ))
    })?;
    Ok(Json(Some(s.act(qid, action).await?)))
}

#[derive(Deserialize)]
struct PresentBody {
    #[serde(default)]
    question_id: Option<Uuid>,
    #[serde(default)]
    qa: bool,
}

async fn present(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Body(p): Body<PresentBody>,
) -> Result<Json<Value>> {
    let s = moderated(&hub, &code, &headers).await?;
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

/// `?offset=N&limit=M` of the Q&A pages: whole numbers, M at most 100.
fn page_query(q: &std::collections::HashMap<String, String>) -> Result<(usize, usize)> {
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
async fn qa_page(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    q: std::result::Result<
        Query<std::collections::HashMap<String, String>>,
        axum::extract::rejection::QueryRejection,
    >,
    headers: HeaderMap,
) -> Result<Json<QaPage>> {
    let s = hub.get(&code).await?;
    let Query(q) = q.map_err(|e| Error::bad_request(format!("a malformed query: {e}")))?;
    let (offset, limit) = page_query(&q)?;
    let (moderator, participant) = match bearer(&headers) {
        None => (false, None),
        Some(t) if s.check_moderator(Some(t)).is_ok() => (true, None),
        Some(t) => match s.find_participant(t).await? {
            Some(p) => (false, Some(p)),
            None => return Err(Error::unauthorized("unknown token")),
        },
    };
    Ok(Json(
        s.qa_page(moderator, participant, offset, limit).await?,
    ))
}

/// `POST /api/sessions/{code}/qa/{item_id}/hide-author`: hides every item
/// by that item's author.
async fn qa_hide_author(
    State(hub): State<Arc<Hub>>,
    Path((code, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let s = moderated(&hub, &code, &headers).await?;
    let hidden = s.qa_hide_author(parse_uuid(&item, "Q&A item")?).await?;
    Ok(Json(json!({ "hidden": hidden })))
}

async fn join(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
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
struct BallotBody {
    #[serde(default)]
    choice: Option<Value>,
}

async fn put_ballot(
    State(hub): State<Arc<Hub>>,
    Path((code, qid)): Path<(String, String)>,
    headers: HeaderMap,
    Body(b): Body<BallotBody>,
) -> Result<Json<Value>> {
    let (s, p) = participant(&hub, &code, &headers).await?;
    let qid = parse_uuid(&qid, "question")?;
    let choice = protocol::raw_choice(&b.choice.unwrap_or(Value::Null))?;
    s.vote(p, qid, choice).await?;
    Ok(Json(json!({"accepted": true})))
}

async fn delete_ballot(
    State(hub): State<Arc<Hub>>,
    Path((code, qid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let (s, p) = participant(&hub, &code, &headers).await?;
    s.retract(p, parse_uuid(&qid, "question")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn results(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Results>> {
    Ok(Json(
        moderated(&hub, &code, &headers).await?.results().await?,
    ))
}

pub(crate) fn attachment(name: String) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

async fn export_csv(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let s = moderated(&hub, &code, &headers).await?;
    let body = s
        .read_whole(|session, _| crate::export::csv(session))
        .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                attachment(format!("handsup-{code}-results.csv")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

async fn report(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let s = moderated(&hub, &code, &headers).await?;
    let now = s.now_ms();
    let body = s
        .read_whole(|session, digest| crate::export::report(session, digest, now))
        .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            // Inline styles only: the report carries no script at all.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                ),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

async fn qr(
    State(hub): State<Arc<Hub>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    hub.get(&code).await?;
    let url = format!("{}/{}", hub.base_url(host(&headers)), code);
    let svg = crate::transport::qr::svg(&url)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        svg,
    )
        .into_response())
}

/// Liveness for load balancers. In cluster mode it also says whether Redis
/// answers; the node stays in service either way, since every node shares
/// the same Redis and phones retry changes refused meanwhile.
async fn healthz(State(hub): State<Arc<Hub>>) -> Json<Value> {
    match &hub.shared.cluster {
        Some(c) => Json(json!({"status": "ok", "redis": c.ping().await})),
        None => Json(json!({"status": "ok"})),
    }
}

async fn metrics(State(hub): State<Arc<Hub>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        hub.shared.metrics.render(),
    )
        .into_response()
}

/// `/{code}`, `/{code}/screen`, `/{code}/moderate`: the three views.
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
        _ => return not_found().await,
    };
    if !is_code(code) {
        return not_found().await;
    }
    web::file(&hub, file, &headers).await
}

async fn not_found() -> Response {
    Error::not_found("no such page").into_response()
}

/// What the guard in front of every route needs: the hub, and the hosts a
/// request may name when `--public-url` is set.
#[derive(Clone)]
pub(crate) struct Guard {
    hub: Arc<Hub>,
    /// None: any host (no `--public-url`).
    hosts: Option<Arc<Vec<String>>>,
}

impl Guard {
    fn new(hub: Arc<Hub>) -> Guard {
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
        let loopback = name == "localhost"
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
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

fn client_ip(hub: &Hub, req: &Request) -> std::net::IpAddr {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
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
async fn guard(State(g): State<Guard>, req: Request, next: axum::middleware::Next) -> Response {
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
    if req.method() == axum::http::Method::POST && (path == "/api/sessions" || path == "/api/decks")
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
fn creation_allowed(hub: &Hub, headers: &HeaderMap, ip: std::net::IpAddr) -> Result<()> {
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
        .route("/sessions", post(create_session))
        .route(
            "/sessions/{code}",
            get(get_session).patch(patch_session).delete(delete_session),
        )
        .route("/sessions/{code}/questions", post(add_question))
        .route(
            "/sessions/{code}/questions/{qid}",
            put(update_question).delete(delete_question),
        )
        .route(
            "/sessions/{code}/questions/{qid}/ballot",
            put(put_ballot).delete(delete_ballot),
        )
        .route(
            "/sessions/{code}/questions/{qid}/{action}",
            post(question_action),
        )
        .route("/sessions/{code}/present", post(present))
        .route("/sessions/{code}/participants", post(join))
        .route("/sessions/{code}/qa", get(qa_page))
        .route(
            "/sessions/{code}/qa/{item_id}/hide-author",
            post(qa_hide_author),
        )
        .route("/sessions/{code}/results", get(results))
        .route("/sessions/{code}/qr.svg", get(qr))
        .route("/sessions/{code}/export.csv", get(export_csv))
        .route("/sessions/{code}/report.html", get(report))
        .merge(crate::transport::decks::routes())
        .fallback(not_found);
    let router = Router::new()
        .nest("/api", api)
        .route("/ws/{code}", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/", get(web::index))
        .route("/assets/{*path}", get(web::asset))
        .route("/{*path}", get(page))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            Guard::new(hub.clone()),
            guard,
        ))
        // Pages and API answers shrink about fourfold: it matters on venue Wi-Fi.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(hub);
    security_headers(router, &frame_ancestors)
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
