//! Redis run as the compose file runs it (append-only file, fsynced before
//! each answer) keeps every vote a node acknowledged across a `kill -9` of
//! Redis: a node acks a vote only once Redis has answered the vote script,
//! and with `appendfsync always` Redis answers only once the write is on
//! disk.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::redis::{spawn_node, Redis};
use crate::support::{counts, Session, TestApp, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// What one phone saw: its token, its last acknowledged choice, and the
/// choice it sent last if no answer came for it (it may or may not count).
type Outcome = (String, Option<u64>, Option<u64>);

/// Votes as fast as answers come, counting acks in `acks`, until `stop` or
/// the first vote not acknowledged (Redis went away). `acked`: the vote
/// acknowledged before.
async fn vote_until_refused(
    mut ws: Ws,
    token: String,
    qid: String,
    seed: u64,
    acked: u64,
    acks: Arc<AtomicUsize>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Outcome {
    let (mut acked, mut in_flight) = (Some(acked), None);
    let mut n = seed;
    while !*stop.borrow() {
        n += 1;
        let choice = n % 4;
        let r = format!("v{n}");
        in_flight = Some(choice);
        let msg = json!({"type": "vote", "question_id": qid, "choice": choice, "ref": r});
        if ws.stream_send(msg).await.is_err() {
            break;
        }
        match ws.answer(&r).await {
            Some(v) if v["type"] == "ack" => {
                acked = Some(choice);
                in_flight = None;
                acks.fetch_add(1, Ordering::AcqRel);
            }
            // `unavailable`: not acknowledged, may still have reached Redis.
            _ => break,
        }
    }
    (token, acked, in_flight)
}

/// The results once the node answers again and counts `voters`.
async fn results_when_back(node: &TestApp, s: &Session, voters: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, r) = node.results_as(&s.code, Some(&s.token)).await;
        if status == StatusCode::OK && r["questions"][0]["tally"]["voters"] == voters {
            return r;
        }
        assert!(Instant::now() < deadline, "not back: {status} {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_acked_vote_survives_a_kill_9_of_redis() {
    let mut redis = Redis::start();
    // The compose file's settings.
    assert_eq!(
        redis.cli(&["CONFIG", "GET", "appendonly"]),
        "appendonly\nyes"
    );
    assert_eq!(
        redis.cli(&["CONFIG", "GET", "appendfsync"]),
        "appendfsync\nalways"
    );
    let fast = ["--rate-per-sec", "100000", "--rate-burst", "100000"];
    let node = spawn_node(&redis, &fast);
    let (s, qid) = node.session_with_open_question(&["A", "B", "C", "D"]).await;

    const PHONES: u64 = 16;
    const ACKS_BEFORE_KILL: usize = 400;
    let acks = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for i in 0..PHONES {
        // Each phone has a vote acknowledged first, then goes on voting.
        let (mut ws, welcome) = node.join(&s.code, "audience", None).await;
        let token = welcome["participant_token"].as_str().unwrap().to_owned();
        let ack = ws.vote(&qid, json!(i % 4)).await;
        assert_eq!(ack["type"], "ack", "{ack}");
        tasks.push(tokio::spawn(vote_until_refused(
            ws,
            token,
            qid.clone(),
            i,
            i % 4,
            acks.clone(),
            stop_rx.clone(),
        )));
    }
    // Redis is killed the moment that many votes were acknowledged, while
    // the phones go on voting.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acks.load(Ordering::Acquire) < ACKS_BEFORE_KILL {
        assert!(Instant::now() < deadline, "votes were not acknowledged");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    redis.kill9();
    let _ = stop_tx.send(true);
    let mut outcomes: Vec<Outcome> = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let acked = acks.load(Ordering::Acquire) + PHONES as usize;

    redis.start_again();
    // The node reconnects by itself; its results count every phone.
    let r = results_when_back(&node, &s, PHONES).await;
    let mut expected = [0u64; 4];
    let mut in_doubt = 0;
    for (token, last_acked, in_flight) in &outcomes {
        let (_ws, welcome) = node.join(&s.code, "audience", Some(token)).await;
        let got = welcome["ballots"][&qid]
            .as_u64()
            .unwrap_or_else(|| panic!("the phone's ballot is gone: {welcome}"));
        // Its last acknowledged vote, or the one sent after it, unanswered.
        assert!(
            Some(got) == *last_acked || Some(got) == *in_flight,
            "ballot {got}, acked {last_acked:?}, in flight {in_flight:?}"
        );
        in_doubt += usize::from(in_flight.is_some() && Some(got) == *in_flight);
        expected[got as usize] += 1;
    }
    assert_eq!(counts(&r["questions"][0]["tally"]), expected.to_vec());

    // A node started afresh reads the same from Redis.
    let fresh = spawn_node(&redis, &[]);
    let r2 = results_when_back(&fresh, &s, PHONES).await;
    assert_eq!(counts(&r2["questions"][0]["tally"]), expected.to_vec());
    assert_eq!(r2["session"]["digest"], r["session"]["digest"]);
    eprintln!(
        "{acked} votes acknowledged before the kill; after the restart every phone's last \
         acknowledged vote is there ({in_doubt} show the vote that was in flight); lost: 0"
    );
}
