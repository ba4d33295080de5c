//! Misbehaving phones and networks: per-address limits, a reconnect storm,
//! a projector that stops reading.

use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn new_participants_per_address_are_limited_but_returning_phones_are_not() {
    let app = spawn_app_with(&[
        "--ip-participants-burst",
        "5",
        "--ip-participants-per-sec",
        "1",
    ]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let (mut p, w) = app.join(&s.code, "audience", None).await;
        p.vote(&qid, json!(0)).await;
        tokens.push(w["participant_token"].as_str().unwrap().to_owned());
    }
    let mut sixth = app.ws(&s.code).await;
    sixth
        .send(json!({"type": "hello", "role": "audience"}))
        .await;
    assert_eq!(sixth.recv_type("error").await["code"], "rate_limited");
    assert_eq!(sixth.closed().await, Some(1013));
    assert_error(
        app.add_participant(&s.code, None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
    // Phones coming back with their token, and the projector, still get in.
    for t in &tokens {
        let (_, w) = app.join(&s.code, "audience", Some(t)).await;
        assert_eq!(w["ballots"][&qid], json!(0));
    }
    app.join(&s.code, "projector", None).await;
}

#[tokio::test]
async fn new_connections_per_address_are_limited() {
    let app = spawn_app_with(&[
        "--ip-connections-burst",
        "3",
        "--ip-connections-per-sec",
        "1",
    ]);
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(app.ws(&s.code).await);
    }
    assert_eq!(app.try_ws(&s.code).await.err(), Some(429));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    held.push(app.ws(&s.code).await);
}

#[tokio::test]
async fn a_reconnect_storm_keeps_every_identity_and_counts_no_one_twice() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B", "C"]).await;
    const PHONES: usize = 300;
    let mut ids = Vec::new();
    let mut phones = Vec::new();
    for i in 0..PHONES {
        let (mut p, w) = app.join(&s.code, "audience", None).await;
        assert_eq!(p.vote(&qid, json!(i % 3)).await["type"], "ack");
        ids.push((
            w["participant_id"].clone(),
            w["participant_token"].as_str().unwrap().to_owned(),
        ));
        phones.push(p);
    }
    // The access point reboots: every phone drops at once...
    drop(phones);
    // ...and every phone comes back at once, and votes again.
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, (id, token))| {
            let (id, token, code, qid) = (id.clone(), token.clone(), s.code.clone(), qid.clone());
            let port = app.port;
            tokio::spawn(async move {
                let (stream, _) =
                    tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws/{code}"))
                        .await
                        .unwrap();
                let mut p = Ws::from_stream(stream);
                p.hello("audience", Some(&token)).await;
                let w = p.recv_type("welcome").await;
                assert_eq!(w["participant_id"], id);
                assert_eq!(w["ballots"][&qid], json!(i % 3));
                assert_eq!(p.vote(&qid, json!((i + 1) % 3)).await["type"], "ack");
                p
            })
        })
        .collect();
    let mut back = Vec::new();
    for t in tasks {
        back.push(t.await.unwrap());
    }
    let t = &app.results(&s).await["questions"][0]["tally"];
    assert_eq!(t["voters"], PHONES);
    assert_eq!(counts(t), vec![100, 100, 100]);
    let r = app.results(&s).await;
    assert_eq!(r["session"]["participants"], PHONES, "no one made twice");
}

#[tokio::test]
async fn a_projector_that_stops_reading_slows_no_one_and_catches_up() {
    // The phones here vote faster than a person would: lift their limit.
    let app = spawn_app_with(&["--rate-per-sec", "1000", "--rate-burst", "1000"]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    app.question_action(&s, &qid, "reveal").await;
    let (mut stalled, _) = app.join(&s.code, "projector", None).await;
    let mut phones = Vec::new();
    for _ in 0..40 {
        phones.push(app.join(&s.code, "audience", None).await.0);
    }
    // The projector reads nothing while the room votes for two seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut last = vec![0u64; 40];
    let mut round = 0;
    while tokio::time::Instant::now() < deadline {
        for (i, p) in phones.iter_mut().enumerate() {
            let c = (i + round) % 2;
            let a = tokio::time::timeout(Duration::from_secs(1), p.vote(&qid, json!(c))).await;
            assert_eq!(a.expect("votes stay fast")["type"], "ack");
            last[i] = c as u64;
        }
        round += 1;
    }
    let expected = vec![
        last.iter().filter(|c| **c == 0).count() as u64,
        last.iter().filter(|c| **c == 1).count() as u64,
    ];
    // Reading again, it reaches the exact final counts.
    let t = stalled.tally_where(&qid, |t| counts(t) == expected).await;
    assert_eq!(t["voters"], 40);
}

#[tokio::test]
async fn a_phone_that_answers_no_ping_is_reaped() {
    let app = spawn_app_with(&["--ping-interval-s", "1", "--pong-timeout-s", "2"]);
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    let (silent, _) = app.join(&s.code, "audience", None).await;
    let (mut alive, _) = app.join(&s.code, "audience", None).await;
    // The silent phone reads nothing, so it never answers a ping; the live one does.
    let metric = || async {
        app.metrics()
            .await
            .lines()
            .find(|l| l.starts_with("handsup_connections{role=\"audience\"}"))
            .unwrap()
            .to_owned()
    };
    assert!(metric().await.ends_with(" 2"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    loop {
        // Reading keeps the live phone answering pings.
        alive
            .assert_none(Duration::from_millis(200), |v| v["type"] == "ended")
            .await;
        if metric().await.ends_with(" 1") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the silent phone was not reaped"
        );
    }
    drop(silent);
}
