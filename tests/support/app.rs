//! `TestApp`: a server under test and a typed client for its HTTP API, one
//! method per route, so a test reads as what a moderator, a phone or an
//! organiser does. Each method answers the status and the body (JSON, or
//! the text when it is not JSON).

use std::time::Duration;

use reqwest::{header, Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

use super::server::Server;
use super::ws::Ws;

/// A status and a body, JSON or (when not JSON) the text as a string.
pub type Reply = (StatusCode, Value);

/// A created session: its code, its moderator token and the whole answer.
pub struct Session {
    pub code: String,
    pub token: String,
    pub body: Value,
}

impl Session {
    /// The id of the question at `i` in a session view.
    pub fn qid(&self, app_view: &Value, i: usize) -> String {
        app_view["questions"][i]["id"].as_str().unwrap().to_owned()
    }
}

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub http: reqwest::Client,
    pub server: Server,
}

impl TestApp {
    pub fn new(port: u16, server: Server) -> TestApp {
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            port,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The websocket URL of session `code`.
    pub fn ws_url(&self, code: &str) -> String {
        format!("ws://127.0.0.1:{}/ws/{code}", self.port)
    }

    fn call(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let req = self.http.request(method, self.url(path));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send(req: RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.call(method, path, token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::send(req).await
    }

    // --- Sessions -------------------------------------------------------

    /// Creates a session (POST /api/sessions) and asserts it was created.
    pub async fn create_session(&self, body: Value) -> Session {
        let (status, body) = self.try_create_session(body, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Session {
            code: body["code"].as_str().unwrap().to_owned(),
            token: body["moderator_token"].as_str().unwrap().to_owned(),
            body,
        }
    }

    /// POST /api/sessions, with the admin token if given.
    pub async fn try_create_session(&self, body: Value, admin: Option<&str>) -> Reply {
        self.json(Method::POST, "/api/sessions", admin, Some(body))
            .await
    }

    /// POST /api/sessions with a body sent as it is (malformed JSON).
    pub async fn create_session_from_text(&self, body: &'static str) -> Reply {
        Self::send(self.call(Method::POST, "/api/sessions", None).body(body)).await
    }

    /// The request of POST /api/sessions, for tests that read its headers.
    pub fn create_session_request(&self, admin: Option<&str>) -> RequestBuilder {
        self.call(Method::POST, "/api/sessions", admin)
    }

    /// GET /api/sessions/{code}: the moderator's view with the token, the
    /// public one without.
    pub async fn session_view(&self, code: &str, token: Option<&str>) -> Reply {
        self.json(Method::GET, &format!("/api/sessions/{code}"), token, None)
            .await
    }

    /// DELETE /api/sessions/{code}.
    pub async fn delete_session(&self, code: &str, token: Option<&str>) -> Reply {
        self.json(
            Method::DELETE,
            &format!("/api/sessions/{code}"),
            token,
            None,
        )
        .await
    }

    /// GET /api/sessions/{code}/results with `token`.
    pub async fn results_as(&self, code: &str, token: Option<&str>) -> Reply {
        self.json(
            Method::GET,
            &format!("/api/sessions/{code}/results"),
            token,
            None,
        )
        .await
    }

    /// The moderator's results; asserts they are served.
    pub async fn results(&self, s: &Session) -> Value {
        let (status, v) = self.results_as(&s.code, Some(&s.token)).await;
        assert_eq!(status, StatusCode::OK);
        v
    }

    /// Waits (10 s at most) until the results read here satisfy `pred`:
    /// in cluster mode a node's copy follows the others within moments.
    pub async fn results_until(&self, s: &Session, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.results(s).await;
            if pred(&r) {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "results never matched: {r}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// GET /api/sessions/{code}/export.csv with `token`.
    pub async fn export_csv(&self, code: &str, token: Option<&str>) -> reqwest::Response {
        self.call(
            Method::GET,
            &format!("/api/sessions/{code}/export.csv"),
            token,
        )
        .send()
        .await
        .expect("request")
    }

    /// GET /api/sessions/{code}/report.html with `token`.
    pub async fn report_html(&self, code: &str, token: Option<&str>) -> reqwest::Response {
        self.call(
            Method::GET,
            &format!("/api/sessions/{code}/report.html"),
            token,
        )
        .send()
        .await
        .expect("request")
    }

    /// PATCH /api/sessions/{code} with `token`.
    pub async fn patch_session(&self, code: &str, token: Option<&str>, body: Value) -> Reply {
        self.json(
            Method::PATCH,
            &format!("/api/sessions/{code}"),
            token,
            Some(body),
        )
        .await
    }

    /// GET /api/sessions/{code}/journal with `token`.
    pub async fn journal(&self, code: &str, token: Option<&str>) -> reqwest::Response {
        self.call(Method::GET, &format!("/api/sessions/{code}/journal"), token)
            .send()
            .await
            .expect("request")
    }

    // --- Questions ------------------------------------------------------

    /// Adds a question with the moderator's token.
    pub async fn add_question(&self, s: &Session, spec: Value) -> Reply {
        self.json(
            Method::POST,
            &format!("/api/sessions/{}/questions", s.code),
            Some(&s.token),
            Some(spec),
        )
        .await
    }

    /// Adds a question with `token`.
    pub async fn add_question_as(&self, code: &str, token: Option<&str>, spec: Value) -> Reply {
        self.json(
            Method::POST,
            &format!("/api/sessions/{code}/questions"),
            token,
            Some(spec),
        )
        .await
    }

    /// POST /api/sessions/{code}/questions/{qid}/{action} (open, close,
    /// reveal, hide, reset, ...) with `token` and an optional body.
    pub async fn question_action_as(
        &self,
        code: &str,
        qid: &str,
        action: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.json(
            Method::POST,
            &format!("/api/sessions/{code}/questions/{qid}/{action}"),
            token,
            body,
        )
        .await
    }

    /// A question action by the session's moderator.
    pub async fn question_action(&self, s: &Session, qid: &str, action: &str) -> Reply {
        self.question_action_as(&s.code, qid, action, Some(&s.token), None)
            .await
    }

    /// Opens a question (the moderator), with `{"duration_s": ...}` or such.
    pub async fn open_question_with(&self, s: &Session, qid: &str, body: Value) -> Reply {
        self.question_action_as(&s.code, qid, "open", Some(&s.token), Some(body))
            .await
    }

    /// DELETE /api/sessions/{code}/questions/{qid} by the moderator.
    pub async fn delete_question(&self, s: &Session, qid: &str) -> Reply {
        self.json(
            Method::DELETE,
            &format!("/api/sessions/{}/questions/{qid}", s.code),
            Some(&s.token),
            None,
        )
        .await
    }

    /// POST /api/sessions/{code}/present by the moderator.
    pub async fn present(&self, s: &Session, body: Value) -> Reply {
        self.json(
            Method::POST,
            &format!("/api/sessions/{}/present", s.code),
            Some(&s.token),
            Some(body),
        )
        .await
    }

    /// The id of the session's question at `index`, as the moderator sees it.
    pub async fn question_id(&self, s: &Session, index: usize) -> String {
        let (_, view) = self.session_view(&s.code, Some(&s.token)).await;
        view["questions"][index]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no question {index}: {view}"))
            .to_owned()
    }

    /// A session with one open `single` question; returns it and the question id.
    pub async fn session_with_open_question(&self, options: &[&str]) -> (Session, String) {
        let s = self
            .create_session(json!({"title": "Capacity building panel", "questions": [super::single("What works best?", options)]}))
            .await;
        let qid = self.question_id(&s, 0).await;
        let (status, q) = self.question_action(&s, &qid, "open").await;
        assert_eq!(status, StatusCode::OK, "{q}");
        (s, qid)
    }

    // --- Phones ---------------------------------------------------------

    /// POST /api/sessions/{code}/participants: a phone joins over HTTP.
    pub async fn add_participant(&self, code: &str, body: Option<Value>) -> Reply {
        self.json(
            Method::POST,
            &format!("/api/sessions/{code}/participants"),
            None,
            body,
        )
        .await
    }

    /// The request of POST /api/sessions/{code}/participants, for tests
    /// that read its headers or send many at once.
    pub fn add_participant_request(&self, code: &str) -> RequestBuilder {
        self.call(
            Method::POST,
            &format!("/api/sessions/{code}/participants"),
            None,
        )
    }

    /// PUT .../questions/{qid}/ballot with the participant's token.
    pub async fn put_ballot(&self, code: &str, qid: &str, token: &str, body: Value) -> Reply {
        self.json(
            Method::PUT,
            &format!("/api/sessions/{code}/questions/{qid}/ballot"),
            Some(token),
            Some(body),
        )
        .await
    }

    /// The request of PUT .../ballot, for tests that read its headers.
    pub fn put_ballot_request(&self, code: &str, qid: &str, token: &str) -> RequestBuilder {
        self.call(
            Method::PUT,
            &format!("/api/sessions/{code}/questions/{qid}/ballot"),
            Some(token),
        )
    }

    /// DELETE .../questions/{qid}/ballot with the participant's token.
    pub async fn delete_ballot(&self, code: &str, qid: &str, token: &str) -> Reply {
        self.json(
            Method::DELETE,
            &format!("/api/sessions/{code}/questions/{qid}/ballot"),
            Some(token),
            None,
        )
        .await
    }

    // --- Q&A ------------------------------------------------------------

    /// GET /api/sessions/{code}/qa{query} with `token`.
    pub async fn qa_page(&self, code: &str, token: Option<&str>, query: &str) -> Reply {
        self.json(
            Method::GET,
            &format!("/api/sessions/{code}/qa{query}"),
            token,
            None,
        )
        .await
    }

    /// POST /api/sessions/{code}/qa/{item}/hide-author with `token`.
    pub async fn hide_author(&self, code: &str, item: &str, token: Option<&str>) -> Reply {
        self.json(
            Method::POST,
            &format!("/api/sessions/{code}/qa/{item}/hide-author"),
            token,
            None,
        )
        .await
    }

    // --- Decks ----------------------------------------------------------

    /// POST /api/decks with the deck as plain text (no JSON content type).
    pub async fn post_deck(&self, deck: String, admin: Option<&str>) -> Reply {
        Self::send(self.post_deck_request(admin).body(deck)).await
    }

    /// The request of POST /api/decks as plain text, body not yet set.
    pub fn post_deck_request(&self, admin: Option<&str>) -> RequestBuilder {
        self.call(Method::POST, "/api/decks", admin)
            .header(header::CONTENT_TYPE, "text/plain")
    }

    /// GET /api/sessions/{code}/deck.toml with `token`.
    pub async fn deck_toml(&self, code: &str, token: Option<&str>) -> reqwest::Response {
        self.call(
            Method::GET,
            &format!("/api/sessions/{code}/deck.toml"),
            token,
        )
        .send()
        .await
        .expect("request")
    }

    // --- Server ---------------------------------------------------------

    /// GET /healthz.
    pub async fn healthz(&self) -> StatusCode {
        self.json(Method::GET, "/healthz", None, None).await.0
    }

    /// The text of /metrics.
    pub async fn metrics(&self) -> String {
        let (status, v) = self.json(Method::GET, "/metrics", None, None).await;
        assert_eq!(status, StatusCode::OK);
        match v {
            Value::String(text) => text,
            other => panic!("metrics are text, got {other}"),
        }
    }

    /// The request of a GET of any path, for tests that send it their way.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(self.url(path))
    }

    /// GET a page or a file (`/`, `/{code}/screen`, `/api/sessions/{code}/qr.svg`).
    pub async fn page(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    // --- Sockets --------------------------------------------------------

    /// A socket to session `code`, before hello.
    pub async fn ws(&self, code: &str) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(self.ws_url(code))
            .await
            .expect("websocket connects");
        Ws::from_stream(stream)
    }

    /// A socket past hello; returns it with its welcome.
    pub async fn join(&self, code: &str, role: &str, token: Option<&str>) -> (Ws, Value) {
        let mut ws = self.ws(code).await;
        ws.hello(role, token).await;
        let welcome = ws.recv_type("welcome").await;
        (ws, welcome)
    }

    /// Tries to open a socket to `code`; the HTTP status of a refused upgrade.
    pub async fn try_ws(&self, code: &str) -> Result<Ws, u16> {
        match tokio_tungstenite::connect_async(self.ws_url(code)).await {
            Ok((stream, _)) => Ok(Ws::from_stream(stream)),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("expected an HTTP refusal, got {e}"),
        }
    }

    // --- The process ----------------------------------------------------

    fn child(&mut self) -> &mut std::process::Child {
        match &mut self.server {
            Server::Process(child) => child,
            Server::InProcess(_) => panic!("this server runs in process; use spawn_process"),
        }
    }

    /// The process id of the real binary.
    pub fn pid(&self) -> u32 {
        match &self.server {
            Server::Process(child) => child.id(),
            Server::InProcess(_) => panic!("this server runs in process; use spawn_process"),
        }
    }

    /// The exit status, if the process has ended.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child().try_wait().unwrap()
    }

    /// Kills the server at once, as a power cut would.
    pub fn kill9(&mut self) {
        let child = self.child();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Asks the server to stop (SIGTERM) and returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.pid();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        self.child().wait().expect("wait for the server")
    }
}
