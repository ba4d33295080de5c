//! Cluster mode keeps the journal's guarantees: `handsup verify --redis`
//! checks a session held in a real `redis-server` with no node running,
//! finds the digest the nodes report, and finds tampering.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::redis::{spawn_node, Redis};
use crate::support::{five_kind_ballots, five_kind_questions, question_ids, Session, TestApp};
use serde_json::{json, Value};

/// Runs `handsup verify --redis URL CODE`: exit code and report (stdout,
/// then stderr).
pub(crate) fn verify(url: &str, code: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handsup"))
        .args(["verify", "--redis", url, code])
        .output()
        .unwrap();
    (
        out.status.code().expect("verify exits"),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The digest line of a report.
fn digest_of(report: &str) -> &str {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("digest "))
        .unwrap_or_else(|| panic!("no digest in {report}"))
}

/// A session of the five kinds, every question open, voted by six phones
/// (three per node), some voting again through the other node, one `open`
/// answer hidden and one Q&A question asked; returns the session and the
/// question ids.
async fn voted_session(nodes: &[TestApp]) -> (Session, Vec<String>) {
    let s = nodes[0]
        .create_session(json!({"title": "Audit", "questions": five_kind_questions()}))
        .await;
    let (mut moderator, w) = nodes[1].join(&s.code, "moderator", Some(&s.token)).await;
    let ids = question_ids(&w);
    for id in &ids {
        let ack = moderator.act("open", id).await;
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    let ballots = five_kind_ballots();
    for i in 0..6 {
        let (mut phone, welcome) = nodes[i % 2].join(&s.code, "audience", None).await;
        for (id, c) in ids.iter().zip(ballots[i % 3].clone()) {
            let c = match (c, i) {
                // Open answers differ per phone.
                (Value::String(t), _) => json!(format!("{t} {i}")),
                (c, _) => c,
            };
            let ack = phone.vote(id, c).await;
            assert_eq!(ack["type"], "ack", "{ack}");
        }
        if i % 2 == 0 {
            // Voting again through the other node replaces the ballot.
            let token = welcome["participant_token"].as_str().unwrap();
            let (mut again, _) = nodes[1].join(&s.code, "audience", Some(token)).await;
            let ack = again.vote(&ids[1], json!(i % 5)).await;
            assert_eq!(ack["type"], "ack", "{ack}");
        }
        if i == 3 {
            let ack = phone
                .call(json!({"type": "ask", "text": "Is the count auditable?"}))
                .await;
            assert_eq!(ack["type"], "ack", "{ack}");
        }
    }
    let r = nodes[0]
        .results_until(&s, |r| r["questions"][3]["tally"]["voters"] == 6)
        .await;
    let entry = r["questions"][3]["tally"]["entries"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ack = moderator
        .call(json!({"type": "hide_entry", "question_id": ids[3], "entry_id": entry}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    (s, ids)
}

#[tokio::test]
async fn a_session_on_two_nodes_verifies_sound_with_the_digest_the_nodes_report() {
    let redis = Redis::start();
    let nodes = vec![spawn_node(&redis, &[]), spawn_node(&redis, &[])];
    let (s, ids) = voted_session(&nodes).await;
    let r0 = nodes[0]
        .results_until(&s, |r| r["questions"][3]["tally"]["voters"] == 5)
        .await;
    let r1 = nodes[1]
        .results_until(&s, |r| r["questions"][3]["tally"]["voters"] == 5)
        .await;
    let digest = r0["session"]["digest"].as_str().unwrap().to_owned();
    assert_eq!(r1["session"]["digest"], digest.as_str(), "both nodes agree");
    // The nodes stop: verify needs Redis only.
    drop(nodes);

    let started = Instant::now();
    let (code, report) = verify(&redis.url(), &s.code);
    let took = started.elapsed();
    assert_eq!(code, 0, "{report}");
    assert_eq!(digest_of(&report), digest, "{report}");
    assert!(
        report.contains(&format!("session {} sound", s.code)),
        "{report}"
    );
    assert!(report.contains("6 participants"), "{report}");
    // The recounted tallies are the nodes' own.
    let prompts = ["Which?", "How much?", "Words?", "Say it", "Rank"];
    for (q, prompt) in prompts.iter().enumerate() {
        let tally = &r0["questions"][q]["tally"];
        let line = report
            .lines()
            .find(|l| l.contains(&format!("] {prompt} (")))
            .unwrap_or_else(|| panic!("no line for question {} in {report}", ids[q]));
        for field in ["counts", "scores", "voters"] {
            if let Some(v) = tally.get(field).filter(|_| q != 3) {
                assert!(
                    line.contains(&format!("\"{field}\":{v}")),
                    "{line} vs {tally}"
                );
            }
        }
    }
    eprintln!("verify of a session of 6 phones: {took:?}\n{report}");
}

#[tokio::test]
async fn a_compacted_log_verifies_from_its_snapshot_with_the_nodes_digest() {
    let redis = Redis::start();
    // A snapshot each time the log grows by 4 entries.
    let flags = ["--redis-compact-every", "4"];
    let a = spawn_node(&redis, &flags);
    let (s, qid) = a.session_with_open_question(&["Yes", "No"]).await;
    let mut phones = Vec::new();
    for i in 0..12 {
        let (mut phone, _) = a.join(&s.code, "audience", None).await;
        let ack = phone.vote(&qid, json!(i % 2)).await;
        assert_eq!(ack["type"], "ack", "{ack}");
        phones.push(phone);
    }
    let base = format!("{{{}}}:base", s.code);
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis.cli(&["GET", &base]).parse::<u64>().unwrap_or(0) < 8 {
        assert!(Instant::now() < deadline, "the log was never compacted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = a
        .results_until(&s, |r| r["session"]["participants"] == 12)
        .await;
    // A node that loads the session now starts from the snapshot.
    let b = spawn_node(&redis, &flags);
    let rb = b.results(&s).await;
    assert_eq!(rb["session"]["digest"], r["session"]["digest"]);
    drop((a, b));

    let (code, report) = verify(&redis.url(), &s.code);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains(", snapshot at entry "), "{report}");
    assert_eq!(
        digest_of(&report),
        r["session"]["digest"].as_str().unwrap(),
        "{report}"
    );
    assert!(report.contains("\"counts\":[6,6]"), "{report}");
}

/// The log's entries, in order.
fn log_of(redis: &Redis, code: &str) -> Vec<String> {
    redis
        .cli(&["LRANGE", &format!("{{{code}}}:log"), "0", "-1"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Puts the log back as it was.
fn restore_log(redis: &Redis, code: &str, entries: &[String]) {
    let key = format!("{{{code}}}:log");
    redis.cli(&["DEL", &key]);
    let args: Vec<&str> = ["RPUSH", key.as_str()]
        .into_iter()
        .chain(entries.iter().map(String::as_str))
        .collect();
    redis.cli(&args);
    assert_eq!(log_of(redis, code), entries);
}

#[tokio::test]
async fn tampering_in_redis_is_found_and_named() {
    let redis = Redis::start();
    let nodes = vec![spawn_node(&redis, &[]), spawn_node(&redis, &[])];
    let (s, ids) = voted_session(&nodes).await;
    nodes[0]
        .results_until(&s, |r| r["questions"][3]["tally"]["voters"] == 5)
        .await;
    drop(nodes);
    let url = redis.url();
    let code = &s.code;
    let (rc, report) = verify(&url, code);
    assert_eq!(rc, 0, "{report}");
    let sound = digest_of(&report).to_owned();

    // A count moved by hand.
    let counts = format!("{}:t:{}", redis.ballot_tags(code)[0], ids[0]);
    redis.cli(&["HINCRBY", &counts, "o1", "5"]);
    let (rc, report) = verify(&url, code);
    assert_eq!(rc, 1, "{report}");
    assert!(
        report.contains(&format!("session {code} DAMAGED")),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "PROBLEM: session {code}: question \"Which?\" ({}): the counts in Redis differ from the 6 ballots: \"o1\": counts 7, ballots 2",
            ids[0]
        )),
        "{report}"
    );
    redis.cli(&["HINCRBY", &counts, "o1", "-5"]);
    assert_eq!(verify(&url, code).0, 0, "put back, sound again");

    // A log entry deleted (one in the middle: a phone joining).
    let log = log_of(&redis, code);
    let (i, joined) = log
        .iter()
        .enumerate()
        .find(|(_, e)| e.contains("\"joined\""))
        .expect("a join in the log");
    let n = joined.split(' ').next().unwrap().to_owned();
    redis.cli(&["LREM", &format!("{{{code}}}:log"), "1", joined]);
    let (rc, report) = verify(&url, code);
    assert_eq!(rc, 1, "{report}");
    assert!(
        report.contains(&format!(
            "PROBLEM: session {code}: an entry is missing from the log: {n}"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!("session {code} DAMAGED")),
        "{report}"
    );
    restore_log(&redis, code, &log);

    // Two log entries swapped.
    let key = format!("{{{code}}}:log");
    let j = i + 3;
    redis.cli(&["LSET", &key, &i.to_string(), &log[j]]);
    redis.cli(&["LSET", &key, &j.to_string(), &log[i]]);
    let (rc, report) = verify(&url, code);
    assert_eq!(rc, 1, "{report}");
    let (a, b) = (
        log[i].split(' ').next().unwrap(),
        log[j].split(' ').next().unwrap(),
    );
    assert!(
        report.contains(&format!(
            "PROBLEM: session {code}: entry {a} comes after entry"
        )) && report.contains(&format!("entry {}", b)),
        "{report}"
    );
    assert_ne!(digest_of(&report), sound, "the chain moved too");
    restore_log(&redis, code, &log);
    let (rc, report) = verify(&url, code);
    assert_eq!((rc, digest_of(&report)), (0, sound.as_str()), "{report}");

    // What cannot be checked is said so, with exit code 2.
    let (rc, report) = verify(&url, "999999");
    assert_eq!(rc, 2, "{report}");
    assert!(report.contains("Redis holds no session 999999"), "{report}");
    drop(redis);
    let (rc, report) = verify(&url, code);
    assert_eq!(rc, 2, "{report}");
    assert!(report.contains("cannot read Redis"), "{report}");
}
