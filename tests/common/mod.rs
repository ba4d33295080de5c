//! One `spawn_app()` for the integration tests: the real `handsup` binary on
//! port 0, with request and websocket helpers. Set `TEST_LOG=1` to see the
//! server's log.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub child: Child,
    pub http: reqwest::Client,
}

impl TestApp {
    /// Kills the server at once, as a power cut would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the server to stop (SIGTERM) and returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait for the server")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server in memory with the given extra flags.
pub fn spawn_app_with(args: &[&str]) -> TestApp {
    spawn(&[&["--in-memory"], args].concat())
}

/// Starts the server with its journal in `dir`.
pub fn spawn_durable(dir: &std::path::Path, args: &[&str]) -> TestApp {
    spawn(&[&["--data-dir", dir.to_str().unwrap()], args].concat())
}

/// A fresh data directory under the system's temporary folder.
pub fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "handsup-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn spawn(args: &[&str]) -> TestApp {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handsup"));
    cmd.args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    if std::env::var_os("TEST_LOG").is_none() {
        cmd.stderr(Stdio::null());
    }
    let mut child = cmd.spawn().expect("start handsup");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let port = base.rsplit(':').next().unwrap().parse().unwrap();
    TestApp {
        base,
        port,
        child,
        http: reqwest::Client::new(),
    }
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(&[])
}

pub struct Created {
    pub code: String,
    pub token: String,
    pub body: Value,
}

impl Created {
    /// The id of the session's question at `i`, as created.
    pub fn qid(&self, app_view: &Value, i: usize) -> String {
        app_view["questions"][i]["id"].as_str().unwrap().to_owned()
    }
}

pub fn single(prompt: &str, options: &[&str]) -> Value {
    json!({"kind": "single", "prompt": prompt, "options": options})
}

impl TestApp {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &'static str,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn create(&self, body: Value) -> Created {
        let (status, body) = self
            .request(Method::POST, "/api/sessions", None, Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Created {
            code: body["code"].as_str().unwrap().to_owned(),
            token: body["moderator_token"].as_str().unwrap().to_owned(),
            body,
        }
    }

    /// The id of the session's question at `index`, as the moderator sees it.
    pub async fn question_id(&self, s: &Created, index: usize) -> String {
        let (_, view) = self
            .request(
                Method::GET,
                &format!("/api/sessions/{}", s.code),
                Some(&s.token),
                None,
            )
            .await;
        view["questions"][index]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no question {index}: {view}"))
            .to_owned()
    }

    /// A session with one open `single` question; returns it and the question id.
    pub async fn session_with_open_question(&self, options: &[&str]) -> (Created, String) {
        let s = self
            .create(json!({"title": "Capacity building panel", "questions": [single("What works best?", options)]}))
            .await;
        let qid = self.question_id(&s, 0).await;
        let (status, q) = self
            .request(
                Method::POST,
                &format!("/api/sessions/{}/questions/{qid}/open", s.code),
                Some(&s.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{q}");
        (s, qid)
    }

    pub async fn ws(&self, code: &str) -> Ws {
        let (stream, _) =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/{code}", self.port))
                .await
                .expect("websocket connects");
        Ws {
            stream,
            next_ref: 0,
            backlog: Default::default(),
        }
    }

    /// A socket past hello; returns it with its welcome.
    pub async fn join(&self, code: &str, role: &str, token: Option<&str>) -> (Ws, Value) {
        let mut ws = self.ws(code).await;
        ws.send(json!({"type": "hello", "role": role, "token": token}))
            .await;
        let welcome = ws.recv_type("welcome").await;
        (ws, welcome)
    }

    /// Waits (10 s at most) until the results read here satisfy `pred`:
    /// in cluster mode a node's copy follows the others within moments.
    pub async fn results_until(&self, s: &Created, pred: impl Fn(&Value) -> bool) -> Value {
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

    pub async fn results(&self, s: &Created) -> Value {
        let (status, v) = self
            .request(
                Method::GET,
                &format!("/api/sessions/{}/results", s.code),
                Some(&s.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        v
    }
}

pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ref: u64,
    /// Messages that arrived while `call` waited for its answer, in order;
    /// the next waits look at them first.
    backlog: std::collections::VecDeque<Value>,
}

pub const WAIT: Duration = Duration::from_secs(5);

pub enum Event {
    Msg(Value),
    Closed(Option<u16>),
}

impl Ws {
    pub fn from_stream(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Ws {
        Ws {
            stream,
            next_ref: 0,
            backlog: Default::default(),
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_text(&mut self, t: String) {
        self.stream
            .send(Message::Text(t.into()))
            .await
            .expect("send");
    }

    /// The next message or close, within `WAIT`.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Event> {
        loop {
            let m = tokio::time::timeout(wait, self.stream.next()).await.ok()?;
            match m {
                None | Some(Err(_)) => return Some(Event::Closed(None)),
                Some(Ok(Message::Text(t))) => {
                    return Some(Event::Msg(serde_json::from_str(&t).expect("JSON")))
                }
                Some(Ok(Message::Close(f))) => {
                    return Some(Event::Closed(f.map(|f| u16::from(f.code))))
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        match self.next_event(WAIT).await {
            Some(Event::Msg(v)) => v,
            Some(Event::Closed(c)) => panic!("socket closed ({c:?}) while waiting for a message"),
            None => panic!("no message within {WAIT:?}"),
        }
    }

    /// Skips messages until one matches.
    pub async fn recv_until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        while let Some(v) = self.backlog.pop_front() {
            if pred(&v) {
                return v;
            }
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(Event::Msg(v)) if pred(&v) => return v,
                Some(Event::Msg(_)) => continue,
                Some(Event::Closed(c)) => panic!("socket closed ({c:?}) while waiting for {what}"),
                None => panic!("no {what} within {WAIT:?}"),
            }
        }
    }

    pub async fn recv_type(&mut self, t: &str) -> Value {
        self.recv_until(t, |v| v["type"] == t).await
    }

    /// Waits for the tally of `qid` that satisfies `pred`.
    pub async fn tally_where(&mut self, qid: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.recv_until("a matching tally", |v| {
            v["type"] == "tally" && v["question_id"] == qid && pred(v)
        })
        .await
    }

    /// Sends without panicking when the server is gone.
    pub async fn stream_send(&mut self, v: Value) -> Result<(), ()> {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .map_err(drop)
    }

    /// The ack or error for `r`; None when the socket ends first.
    pub async fn answer(&mut self, r: &str) -> Option<Value> {
        loop {
            match self.next_event(WAIT).await {
                Some(Event::Msg(v))
                    if (v["type"] == "ack" || v["type"] == "error") && v["ref"] == r =>
                {
                    return Some(v)
                }
                Some(Event::Msg(_)) => continue,
                Some(Event::Closed(_)) | None => return None,
            }
        }
    }

    /// Sends a message with a fresh ref and returns the ack or error for it.
    pub async fn call(&mut self, mut msg: Value) -> Value {
        self.next_ref += 1;
        let r = format!("r{}", self.next_ref);
        msg["ref"] = json!(r);
        self.send(msg).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(Event::Msg(v))
                    if (v["type"] == "ack" || v["type"] == "error") && v["ref"] == r =>
                {
                    return v
                }
                Some(Event::Msg(v)) => self.backlog.push_back(v),
                Some(Event::Closed(c)) => {
                    panic!("socket closed ({c:?}) while waiting for the answer to {r}")
                }
                None => panic!("no answer to {r} within {WAIT:?}"),
            }
        }
    }

    pub async fn vote(&mut self, qid: &str, choice: Value) -> Value {
        self.call(json!({"type": "vote", "question_id": qid, "choice": choice}))
            .await
    }

    /// Waits for the socket to be closed, returning the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(Event::Closed(c)) => return c,
                Some(Event::Msg(_)) => continue,
                None => panic!("socket still open after {WAIT:?}"),
            }
        }
    }

    /// Asserts that no message matching `pred` arrives within `wait`.
    pub async fn assert_none(&mut self, wait: Duration, pred: impl Fn(&Value) -> bool) {
        for v in self.backlog.drain(..) {
            assert!(!pred(&v), "unexpected message {v}");
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.next_event(left).await {
                Some(Event::Msg(v)) => assert!(!pred(&v), "unexpected message {v}"),
                Some(Event::Closed(c)) => panic!("socket closed ({c:?})"),
                None => return,
            }
        }
    }
}

pub fn close_code(c: CloseCode) -> u16 {
    u16::from(c)
}

pub fn counts(v: &Value) -> Vec<u64> {
    v["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect()
}

/// Starts a node in cluster mode, sharing sessions through `redis`.
pub fn spawn_node(redis: &Redis, args: &[&str]) -> TestApp {
    spawn(&[&["--redis", &redis.url()], args].concat())
}

/// A real `redis-server` on a free loopback port, in its own folder, with
/// the append-only file fsynced at every write, so a restart keeps every
/// acknowledged write. Stopped when dropped.
pub struct Redis {
    pub port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
}

impl Redis {
    pub fn start() -> Redis {
        Redis::start_with(&[])
    }

    /// With extra `redis-server` arguments.
    pub fn start_with(extra: &[&str]) -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Redis {
            port,
            dir: temp_dir(),
            child: None,
            extra: extra.iter().map(|a| a.to_string()).collect(),
        };
        r.run();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", self.dir.to_str().unwrap()])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin} ({e}); install Redis (scripts/deps does) or set REDIS_SERVER")
            });
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Stops Redis (SIGTERM: it finishes writing its files).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }

    /// Starts Redis again on the same port with the same files.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real Redis Cluster of three primaries (no replicas) on free loopback
/// ports, made with `redis-cli --cluster create`. Stopped when dropped.
pub struct RedisShards {
    pub shards: Vec<Redis>,
}

impl RedisShards {
    pub fn start() -> RedisShards {
        let shards: Vec<Redis> = (0..3)
            .map(|_| Redis::start_with(&["--cluster-enabled", "yes"]))
            .collect();
        let addrs: Vec<String> = shards
            .iter()
            .map(|r| format!("127.0.0.1:{}", r.port))
            .collect();
        let cli = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".into());
        let out = Command::new(&cli)
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cli} ({e})"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        // Wait until every shard agrees the cluster is up.
        for r in &shards {
            let mut ok = false;
            for _ in 0..200 {
                let info = Command::new(&cli)
                    .args(["-p", &r.port.to_string(), "cluster", "info"])
                    .output()
                    .unwrap();
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    ok = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(ok, "the Redis Cluster did not come up");
        }
        RedisShards { shards }
    }

    /// `--redis` with every shard, comma-separated.
    pub fn urls(&self) -> String {
        self.shards
            .iter()
            .map(|r| r.url())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Starts the server with exactly these extra flags (no journal choice made).
pub fn spawn_with(args: &[&str]) -> TestApp {
    spawn(args)
}
