//! Decks at start-up against the real binary: `serve --deck` and
//! `demo --deck` print the links of their session, a bad deck stops the
//! start with a reason, a restart with the same deck takes its session up
//! again, and nodes started with one deck share it in cluster mode.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

fn example_path() -> String {
    format!(
        "{}/decks/capacity-building.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A server started by hand, killed when dropped.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `handsup <command> <args>` and collects its stdout lines up to the
/// one that ends the printed links.
fn start_printing(command: &str, args: &[&str]) -> (Server, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handsup"))
        .arg(command)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start handsup");
    let stdout = child.stdout.take().unwrap();
    let server = Server(Some(child));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the links were not printed; got {lines:#?}"));
        let done = line.starts_with("phones join at");
        lines.push(line);
        if done {
            return (server, lines);
        }
    }
}

/// The printed line that starts with `label` (after spaces), without it.
fn printed<'a>(lines: &'a [String], label: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in {lines:#?}"))
        .trim()
}

/// A server started by hand, with what it printed.
struct Started {
    server: Server,
    base: String,
    code: String,
    token: String,
}

impl Started {
    /// Reads the base, the code and the moderator token from the printed links.
    fn from(server: Server, lines: &[String]) -> Started {
        let base = printed(lines, "listening on ").to_owned();
        let moderator = printed(lines, "moderator:");
        let (link, token) = moderator.split_once("/moderate#token=").unwrap();
        let code = link.rsplit('/').next().unwrap().to_owned();
        assert!(printed(lines, "projector:").ends_with(&format!("/{code}/screen")));
        assert!(printed(lines, "audience:").ends_with(&format!("/{code}")));
        Started {
            server,
            base,
            code,
            token: token.to_owned(),
        }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = reqwest::Client::new().get(format!("{}{path}", self.base));
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

    /// Asks the server to stop (SIGTERM) and waits for it.
    fn terminate(&mut self) {
        if let Some(mut child) = self.server.0.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn serve_with_a_deck_prints_the_links_of_its_session() {
    let deck = example_path();
    let (server, lines) = start_printing(
        "serve",
        &["--deck", &deck, "--in-memory", "--addr", "127.0.0.1:0"],
    );
    assert!(lines[0].starts_with("listening on http://127.0.0.1:"));
    let app = Started::from(server, &lines);
    let (code, token) = (&app.code, &app.token);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("session {code} \u{2014} What role"))),
        "{lines:#?}"
    );

    let (status, view) = app.get(&format!("/api/sessions/{code}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let questions = view["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 7);
    assert!(questions.iter().all(|q| q["state"] == "draft"));
    assert_eq!(view["current"], Value::Null);
    // The printed token is the moderator's.
    let (status, _) = app
        .get(&format!("/api/sessions/{code}/deck.toml"), Some(token))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_demo_with_a_deck_opens_its_first_question() {
    let deck = example_path();
    let (server, lines) = start_printing(
        "demo",
        &["--deck", &deck, "--in-memory", "--addr", "127.0.0.1:0"],
    );
    let app = Started::from(server, &lines);
    let (status, view) = app.get(&format!("/api/sessions/{}", app.code), None).await;
    assert_eq!(status, StatusCode::OK);
    let first = &view["questions"][0];
    assert_eq!(first["prompt"], "Where do you work on migration?");
    assert_eq!(first["state"], "open");
    assert_eq!(view["current"], first["id"]);
}

#[tokio::test]
async fn serve_with_a_bad_deck_stops_and_says_why() {
    let dir = crate::support::temp_dir();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "title = \"Panel\"\n[[question]]\nkind = \"open\"\nprompt = \"Fine\"\n\
         [[question]]\nkind = \"ranking\"\nprompt = \"Rank\"\noptions = [\"Only\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_handsup"))
        .args(["serve", "--in-memory", "--addr", "127.0.0.1:0", "--deck"])
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("run handsup");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("question 2: options: a question needs at least 2 options"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).is_empty());

    let missing = Command::new(env!("CARGO_BIN_EXE_handsup"))
        .args(["serve", "--in-memory", "--addr", "127.0.0.1:0", "--deck"])
        .arg(dir.join("missing.toml"))
        .stdin(Stdio::null())
        .output()
        .expect("run handsup");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the deck"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_restart_with_the_same_deck_takes_its_session_up_again() {
    let dir = crate::support::temp_dir();
    let deck = example_path();
    let data = dir.to_str().unwrap().to_owned();
    let args = [
        "--deck",
        &deck,
        "--data-dir",
        &data,
        "--addr",
        "127.0.0.1:0",
    ];
    let (server, lines) = start_printing("serve", &args);
    let mut first = Started::from(server, &lines);
    first.terminate();
    let (server, lines) = start_printing("serve", &args);
    let again = Started::from(server, &lines);
    assert_eq!((&again.code, &again.token), (&first.code, &first.token));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn nodes_started_with_one_deck_share_its_session_in_cluster_mode() {
    let redis = crate::redis::Redis::start();
    let url = redis.url();
    let deck = example_path();
    // Three nodes start at once with the same deck: they settle on one session.
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let (url, deck) = (url.clone(), deck.clone());
            std::thread::spawn(move || {
                start_printing(
                    "serve",
                    &["--deck", &deck, "--redis", &url, "--addr", "127.0.0.1:0"],
                )
            })
        })
        .collect();
    let nodes: Vec<Started> = starts
        .into_iter()
        .map(|t| {
            let (server, lines) = t.join().unwrap();
            Started::from(server, &lines)
        })
        .collect();
    assert!(
        nodes.iter().all(|n| n.code == nodes[0].code),
        "codes differ"
    );
    // A node started later takes it up too, and it holds the deck's questions.
    let (server, lines) = start_printing(
        "serve",
        &["--deck", &deck, "--redis", &url, "--addr", "127.0.0.1:0"],
    );
    let late = Started::from(server, &lines);
    assert_eq!(late.code, nodes[0].code);
    let (status, view) = late
        .get(&format!("/api/sessions/{}", late.code), Some(&late.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["questions"].as_array().unwrap().len(), 7);
}

/// A deck at the size limits: 100 questions of 12 options of ~190
/// characters, each in four more languages.
fn big_deck() -> String {
    let label = |lang: &str, q: usize, o: usize, len: usize| {
        let mut s = format!("[{lang}] question {q}, option {o}: ");
        while s.len() < len {
            s.push_str("a long and careful answer ");
        }
        s.truncate(len);
        format!("{s:?}")
    };
    let options = |lang: &str, q: usize| {
        (0..12)
            .map(|o| label(lang, q, o, 190))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut deck = String::from("title = \"A long plenary in five languages\"\n");
    for q in 0..100 {
        deck += &format!(
            "\n[[question]]\nkind = \"single\"\nprompt = {}\noptions = [{}]\n",
            label("en", q, 99, 300),
            options("en", q)
        );
        for lang in ["fr", "es", "ar", "ru"] {
            deck += &format!(
                "\n[question.translations.{lang}]\nprompt = {}\noptions = [{}]\n",
                label(lang, q, 99, 300),
                options(lang, q)
            );
        }
    }
    deck
}

#[tokio::test]
async fn a_hundred_question_deck_in_five_languages_opens_for_every_role() {
    let path = crate::support::temp_dir().join("plenary.toml");
    std::fs::write(&path, big_deck()).unwrap();
    let (server, lines) = start_printing(
        "demo",
        &[
            "--deck",
            path.to_str().unwrap(),
            "--in-memory",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    let app = Started::from(server, &lines);
    let ws_url = format!("{}/ws/{}", app.base.replace("http://", "ws://"), app.code);
    for (role, token) in [
        ("moderator", Some(app.token.as_str())),
        ("projector", None),
        ("audience", None),
    ] {
        let (stream, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
        let mut ws = crate::support::Ws::from_stream(stream);
        ws.hello(role, token).await;
        let welcome = ws.recv_type("welcome").await;
        let questions = welcome["session"]["questions"].as_array().unwrap();
        if role == "moderator" {
            assert_eq!(questions.len(), 100);
            let size = welcome.to_string().len();
            assert!(size > 1024 * 1024, "the welcome is {size} bytes");
        } else {
            // The demo opens the first question for the room.
            assert_eq!(questions.len(), 1, "{role}");
        }
    }
}
