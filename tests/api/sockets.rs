//! Sockets under pressure: a deck whose welcome is over a megabyte, a phone
//! that stops reading, one address holding many sockets, parallel upgrades
//! against the server's cap, binary floods.

use std::time::Duration;

use crate::support::*;
use futures_util::SinkExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};

/// A label of `len` characters that names where it belongs.
fn label(len: usize, lang: &str, q: usize, o: usize) -> String {
    let mut s = format!("[{lang}] question {q}, option {o}: ");
    while s.chars().count() < len {
        s.push_str("a long and careful answer ");
    }
    s.chars().take(len).collect()
}

/// A `single` question with 12 options of ~190 characters, in English and
/// four more languages.
pub fn big_question(q: usize) -> Value {
    let options = |lang: &str| (0..12).map(|o| label(190, lang, q, o)).collect::<Vec<_>>();
    let translations: serde_json::Map<String, Value> = ["fr", "es", "ar", "ru"]
        .iter()
        .map(|l| {
            (
                l.to_string(),
                json!({"prompt": label(300, l, q, 99), "options": options(l)}),
            )
        })
        .collect();
    json!({
        "kind": "single",
        "prompt": label(300, "en", q, 99),
        "options": options("en"),
        "translations": translations,
    })
}

async fn gauge(app: &TestApp, role: &str) -> i64 {
    let metrics = app.metrics().await;
    let prefix = format!("handsup_connections{{role=\"{role}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_hundred_question_deck_in_five_languages_opens_for_every_role() {
    let app = spawn_app();
    let s = app.create_session(json!({"title": "A long plenary"})).await;
    for q in 0..100 {
        let (status, v) = app.add_question(&s, big_question(q)).await;
        assert_eq!(status, StatusCode::CREATED, "question {q}: {v}");
    }
    let (_, w) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let size = w.to_string().len();
    assert!(size > 1024 * 1024, "the welcome is {size} bytes");
    assert_eq!(w["session"]["questions"].as_array().unwrap().len(), 100);
    // Make the whole deck public, so the others' welcomes carry it too.
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    for q in w["session"]["questions"].as_array().unwrap() {
        let id = q["id"].as_str().unwrap();
        let r = moderator.act("open", id).await;
        assert_eq!(r["type"], "ack", "{r}");
    }
    for role in ["projector", "audience"] {
        let (_, w) = app.join(&s.code, role, None).await;
        assert_eq!(
            w["session"]["questions"].as_array().unwrap().len(),
            100,
            "{role}"
        );
        assert!(w.to_string().len() > 1024 * 1024, "{role}");
    }
}

#[tokio::test]
async fn a_phone_that_stops_reading_is_dropped_and_the_room_keeps_voting() {
    // Five sockets at most: the stalled phone's place must come back.
    let app = spawn_app_with(&[
        "--write-timeout-s",
        "1",
        "--max-connections",
        "5",
        "--rate-per-sec",
        "1000",
        "--rate-burst",
        "1000",
    ]);
    let s = app
        .create_session(json!({"title": "Stalls", "questions": [big_question(0)]}))
        .await;
    let (mut moderator, w) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let qid = w["session"]["questions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for action in ["open", "reveal"] {
        let r = moderator.act(action, &qid).await;
        assert_eq!(r["type"], "ack", "{r}");
    }
    let mut phones = Vec::new();
    for _ in 0..3 {
        phones.push(app.join(&s.code, "audience", None).await.0);
    }
    // The stalled phone: a 2 KiB receive buffer, and it never reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let tcp = socket
        .connect(format!("127.0.0.1:{}", app.port).parse().unwrap())
        .await
        .unwrap();
    let (mut stalled, _) =
        tokio_tungstenite::client_async(format!("ws://127.0.0.1:{}/ws/{}", app.port, s.code), tcp)
            .await
            .unwrap();
    stalled
        .send(Message::Text(
            json!({"type": "hello", "role": "audience"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while gauge(&app, "audience").await != 4 {
        assert!(Instant::now() < deadline, "the stalled phone never joined");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The moderator shows and hides the results (each a question frame of
    // a few KiB to everyone) while the room votes, until the stalled phone
    // is dropped.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(40);
    let mut round = 0usize;
    loop {
        for action in ["hide", "reveal"] {
            let r = moderator.act(action, &qid).await;
            assert_eq!(r["type"], "ack", "{r}");
        }
        for (i, p) in phones.iter_mut().enumerate() {
            let a = p.vote(&qid, json!((i + round) % 12)).await;
            assert_eq!(a["type"], "ack", "{a}");
        }
        round += 1;
        if round.is_multiple_of(10) && gauge(&app, "audience").await == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stalled phone is still attached after {round} rounds"
        );
    }
    eprintln!(
        "stalled phone dropped after {round} rounds, {:?}",
        started.elapsed()
    );
    // Its place under the connection cap came back: a new phone gets in.
    let deadline = Instant::now() + WAIT;
    let mut newcomer = loop {
        match tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/{}", app.port, s.code))
            .await
        {
            Ok((stream, _)) => break Ws::from_stream(stream),
            Err(e) => {
                assert!(Instant::now() < deadline, "no place came back: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    newcomer
        .send(json!({"type": "hello", "role": "audience"}))
        .await;
    newcomer.recv_type("welcome").await;
    assert_eq!(newcomer.vote(&qid, json!(3)).await["type"], "ack");
    for p in phones.iter_mut() {
        assert_eq!(p.vote(&qid, json!(1)).await["type"], "ack");
    }
    drop(stalled);
}

fn refused_status(e: tungstenite::Error) -> (u16, Option<String>, String) {
    match e {
        tungstenite::Error::Http(resp) => (
            resp.status().as_u16(),
            resp.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
            resp.body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
        ),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn one_address_holds_at_most_its_sockets_and_a_closed_one_frees_a_place() {
    let app = spawn_app_with(&["--ip-max-sockets", "3"]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(app.join(&s.code, "audience", None).await.0);
    }
    let url = format!("ws://127.0.0.1:{}/ws/{}", app.port, s.code);
    let e = tokio_tungstenite::connect_async(&url).await.unwrap_err();
    let (status, retry, body) = refused_status(e);
    assert_eq!(status, 429);
    assert!(
        retry.is_some_and(|r| r.parse::<u64>().unwrap() >= 1),
        "a Retry-After"
    );
    assert!(body.is_empty() || body.contains("rate_limited"), "{body}");
    // Those held keep working.
    assert_eq!(held[0].vote(&qid, json!(1)).await["type"], "ack");
    // One closes: its place comes back.
    let mut gone = held.pop().unwrap();
    gone.stream.close(None).await.unwrap();
    let deadline = Instant::now() + WAIT;
    let back = loop {
        match tokio_tungstenite::connect_async(&url).await {
            Ok((stream, _)) => break Ws::from_stream(stream),
            Err(e) => {
                assert_eq!(refused_status(e).0, 429);
                assert!(
                    Instant::now() < deadline,
                    "the closed socket kept its place"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    held.push(back);
    // And the cap holds again.
    let e = tokio_tungstenite::connect_async(&url).await.unwrap_err();
    assert_eq!(refused_status(e).0, 429);
}

#[tokio::test]
async fn parallel_upgrades_never_pass_the_connection_cap() {
    const CAP: usize = 5;
    const TRIES: usize = 200;
    let app = spawn_app_with(&["--max-connections", &CAP.to_string()]);
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    let url = format!("ws://127.0.0.1:{}/ws/{}", app.port, s.code);
    // A race shows only now and then: several rounds.
    for round in 0..10 {
        // Every connection is made first, then every upgrade request leaves
        // at once: the server sees them all together.
        let mut streams = Vec::new();
        for _ in 0..TRIES {
            streams.push(
                tokio::net::TcpStream::connect(("127.0.0.1", app.port))
                    .await
                    .unwrap(),
            );
        }
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(TRIES));
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|tcp| {
                let (url, start) = (url.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    tokio_tungstenite::client_async(
                        url,
                        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
                    )
                    .await
                })
            })
            .collect();
        let mut open = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok((stream, _)) => open.push(Ws::from_stream(stream)),
                Err(e) => assert_eq!(refused_status(e).0, 503),
            }
        }
        assert!(
            open.len() <= CAP,
            "round {round}: {} sockets open under a cap of {CAP}",
            open.len()
        );
        if round == 0 {
            assert_eq!(open.len(), CAP, "the cap is reached, not undershot");
        }
        for ws in open.iter_mut() {
            ws.send(json!({"type": "hello", "role": "audience"})).await;
            ws.recv_type("welcome").await;
        }
        for mut ws in open {
            ws.stream.close(None).await.unwrap();
            ws.closed().await;
        }
        let deadline = Instant::now() + WAIT;
        while gauge(&app, "audience").await != 0 {
            assert!(Instant::now() < deadline, "the sockets did not end");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn a_burst_of_binary_frames_is_closed_as_a_flood() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    let (mut flood, _) = app.join(&s.code, "audience", None).await;
    for _ in 0..300 {
        if flood
            .stream
            .send(Message::Binary(vec![0u8; 16].into()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(flood.closed().await, Some(1008));
    assert_eq!(phone.vote(&qid, json!(0)).await["type"], "ack");
}
