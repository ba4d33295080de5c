//! An event and its rooms across a restart of the real binary: the event,
//! its membership and its organiser token come back, even after kill -9.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn an_event_and_its_rooms_survive_a_restart() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (status, e) = app
        .json(
            Method::POST,
            "/api/events",
            None,
            Some(json!({"title": "Side events"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let (id, token) = (
        e["id"].as_str().unwrap().to_owned(),
        e["organiser_token"].as_str().unwrap().to_owned(),
    );
    let mut codes = Vec::new();
    for title in ["Room A", "Room B"] {
        let s = app
            .create_session(json!({
                "title": title,
                "questions": [single("Tea?", &["Tea", "Coffee"])],
                "event": {"id": id, "organiser_token": token},
            }))
            .await;
        codes.push(s.code);
    }
    app.kill9();

    let mut app = spawn_durable(&dir, &[]);
    let (status, v) = app
        .json(
            Method::GET,
            &format!("/api/events/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["title"], "Side events");
    let listed: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(listed, codes.iter().map(String::as_str).collect::<Vec<_>>());
    // The organiser token still acts as moderator, over HTTP and the socket.
    let (status, _) = app
        .add_question_as(&codes[1], Some(&token), single("More?", &["Yes", "No"]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, welcome) = app.join(&codes[0], "moderator", Some(&token)).await;
    assert_eq!(welcome["role"], "moderator");
    // Ended, then restarted: the event stays gone.
    let (status, _) = app
        .json(
            Method::DELETE,
            &format!("/api/events/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.terminate();
    let app = spawn_durable(&dir, &[]);
    let (status, body): (StatusCode, Value) = app
        .json(
            Method::GET,
            &format!("/api/events/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        app.session_view(&codes[0], None).await.0,
        StatusCode::NOT_FOUND
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Cluster mode has no events yet: creating one, or a session that joins
/// one, is refused clearly, and nothing is half made.
#[tokio::test]
async fn cluster_mode_refuses_events_clearly() {
    let redis = crate::redis::Redis::start();
    let node = crate::redis::spawn_node(&redis, &[]);
    let (status, body) = node
        .json(
            Method::POST,
            "/api/events",
            None,
            Some(json!({"title": "F"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("standalone"),
        "{body}"
    );
    let (status, body) = node
        .try_create_session(
            json!({"title": "R", "event": {"id": "6f1d1b7e-0000-4000-8000-000000000000", "organiser_token": "x"}}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("standalone"));
    let (status, _) = node
        .json(
            Method::GET,
            "/api/events/6f1d1b7e-0000-4000-8000-000000000000",
            Some("x"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Starts `handsup serve ARGS` and collects its stdout lines until `rooms`
/// rooms' links are printed; the child and the lines.
fn serve_printing(args: &[&str], rooms: usize) -> (std::process::Child, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_handsup"))
        .arg("serve")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start handsup");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut lines: Vec<String> = Vec::new();
    let mut seen = 0;
    while seen < rooms {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the links were not printed; got {lines:#?}"));
        if line.starts_with("phones join at") {
            seen += 1;
        }
        lines.push(line);
    }
    (child, lines)
}

fn stop(mut child: std::process::Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// The value of each printed line that starts with `label` (after spaces).
fn printed(lines: &[String], label: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.trim_start().strip_prefix(label))
        .map(|v| v.trim().to_owned())
        .collect()
}

#[tokio::test]
async fn serve_with_an_event_deck_starts_every_room_and_takes_them_up_again() {
    let dir = temp_dir();
    let deck = format!("{}/decks/side-events.toml", env!("CARGO_MANIFEST_DIR"));
    let data = dir.to_str().unwrap().to_owned();
    let args = [
        "--deck",
        &deck,
        "--data-dir",
        &data,
        "--addr",
        "127.0.0.1:0",
    ];
    let (child, lines) = serve_printing(&args, 3);
    let base = printed(&lines, "listening on ")[0].clone();
    let organiser = printed(&lines, "organiser:");
    assert_eq!(organiser.len(), 1, "{lines:#?}");
    let (path, token) = organiser[0].split_once("#token=").unwrap();
    let id = path.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        printed(&lines, "event \u{2014}"),
        ["Forum side events, Tuesday afternoon"]
    );
    let moderators = printed(&lines, "moderator:");
    assert_eq!(moderators.len(), 3);
    assert_eq!(printed(&lines, "projector:").len(), 3);

    let http = reqwest::Client::new();
    let v: Value = http
        .get(format!("{base}/api/events/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rooms = v["sessions"].as_array().unwrap();
    let titles: Vec<&str> = rooms.iter().map(|r| r["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "Oceans and climate finance",
            "Digital rights in public services",
            "Health workforce"
        ]
    );
    assert_eq!(rooms[0]["questions"], 2);
    let codes: Vec<String> = rooms
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect();
    for (m, code) in moderators.iter().zip(&codes) {
        assert!(m.contains(&format!("/{code}/moderate#token=")), "{m}");
    }
    // The first room's deck settings hold.
    let s: Value = http
        .get(format!("{base}/api/sessions/{}", codes[0]))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["settings"]["qa_moderation"], true);
    assert_eq!(s["questions"][0]["segment"], true);
    stop(child);

    // Started again with the same deck: the same event and rooms.
    let (child, lines) = serve_printing(&args, 3);
    assert_eq!(
        printed(&lines, "organiser:")[0]
            .split_once("#token=")
            .unwrap()
            .1,
        token
    );
    let again: Vec<String> = printed(&lines, "moderator:")
        .iter()
        .map(|m| {
            m.split("/moderate")
                .next()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(again, codes);
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_bad_event_deck_stops_the_start_naming_the_session() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let deck = dir.join("bad.toml");
    std::fs::write(
        &deck,
        "event = \"Forum\"\n\n[[session]]\ntitle = \"Fine\"\n\n[[session]]\ntitle = \"Broken\"\n\n[[session.question]]\nkind = \"single\"\nprompt = \"One option?\"\noptions = [\"Only\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handsup"))
        .args(["serve", "--in-memory", "--addr", "127.0.0.1:0", "--deck"])
        .arg(&deck)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("session 2 (\"Broken\"): question 1"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A room deleted before a restart is no room of the event after it.
#[tokio::test]
async fn a_deleted_room_stays_out_of_its_event_after_a_restart() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (_, e) = app
        .json(
            Method::POST,
            "/api/events",
            None,
            Some(json!({"title": "F"})),
        )
        .await;
    let (id, token) = (
        e["id"].as_str().unwrap().to_owned(),
        e["organiser_token"].as_str().unwrap().to_owned(),
    );
    let mut codes = Vec::new();
    for title in ["A", "B"] {
        let s = app
            .create_session(json!({"title": title, "event": {"id": id, "organiser_token": token}}))
            .await;
        codes.push(s.code);
    }
    let (status, _) = app.delete_session(&codes[0], Some(&token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.kill9();
    let app = spawn_durable(&dir, &[]);
    let (_, v) = app
        .json(
            Method::GET,
            &format!("/api/events/{id}"),
            Some(&token),
            None,
        )
        .await;
    let listed: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [codes[1].as_str()]);
    let kept = std::fs::read_to_string(dir.join("events.json")).unwrap();
    assert!(!kept.contains(&codes[0]), "{kept}");
    let _ = std::fs::remove_dir_all(&dir);
}
