//! One session's ballots spread over several hash slots (`--redis-slots`):
//! on a real three-shard Redis Cluster the votes of one session land on
//! several shards, the counts every node shows are the sums, a close stops
//! every slot and an open starts them all; `verify --redis` recounts over
//! every slot, and the end of a session sets every slot's keys to expire.

use crate::cluster::tally_of;
use crate::redis::{spawn_node, Redis, RedisShards};
use crate::support::{counts, TestApp, Ws};
use crate::verify_redis::verify;
use serde_json::json;

/// The keys of a session's slots that one Redis server holds.
async fn slot_keys_on(url: &str, code: &str) -> Vec<String> {
    let mut c = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("KEYS")
        .arg(format!("{{{code}.*"))
        .query_async(&mut c)
        .await
        .unwrap()
}

#[tokio::test]
async fn one_session_spreads_its_ballots_over_the_shards_and_counts_stay_exact() {
    let redis = RedisShards::start();
    let urls = redis.urls();
    let args = ["--redis-cluster", "--redis", &urls, "--redis-slots", "6"];
    let nodes: Vec<TestApp> = (0..3)
        .map(|_| crate::support::spawn_process(&args))
        .collect();
    let (s, qid) = nodes[0]
        .session_with_open_question(&["One", "Two", "Three"])
        .await;
    let (mut screen, _) = nodes[2].join(&s.code, "moderator", Some(&s.token)).await;

    // Twenty-four phones over the three nodes, phone i voting i % 3.
    let mut phones: Vec<(Ws, String)> = Vec::new();
    for i in 0..24 {
        let (mut ws, w) = nodes[i % 3].join(&s.code, "audience", None).await;
        let ack = ws.vote(&qid, json!(i % 3)).await;
        assert_eq!(ack["type"], "ack", "phone {i}: {ack}");
        phones.push((ws, w["participant_token"].as_str().unwrap().to_owned()));
    }
    // Phone 0 changes its mind through another node: replaced, not added.
    let (mut again, w) = nodes[1].join(&s.code, "audience", Some(&phones[0].1)).await;
    assert_eq!(w["ballots"][&qid], json!(0), "{w}");
    assert_eq!(again.vote(&qid, json!(1)).await["type"], "ack");
    let want = vec![7u64, 9, 8];
    screen
        .tally_where(&qid, |t| t["voters"] == 24 && counts(t) == want)
        .await;

    // The ballots sit in six slots, two on each shard (the cluster's shards
    // hold equal ranges of hash slots).
    let mut slots = std::collections::BTreeSet::new();
    for shard in &redis.shards {
        let keys = slot_keys_on(&shard.url(), &s.code).await;
        let ballots: Vec<&String> = keys
            .iter()
            .filter(|k| k.ends_with(&format!(":b:{qid}")))
            .collect();
        assert_eq!(ballots.len(), 2, "on {}: {keys:?}", shard.url());
        slots.extend(ballots.into_iter().cloned());
    }
    assert_eq!(slots.len(), 6, "{slots:?}");

    // A close through node 2 stops every slot: no phone's vote counts after.
    let (status, v) = nodes[1]
        .question_action_as(&s.code, &qid, "close", Some(&s.token), None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{v}");
    for (i, (ws, _)) in phones.iter_mut().enumerate().skip(1).take(4) {
        let late = ws.vote(&qid, json!(2)).await;
        assert_eq!(late["code"], "not_open", "phone {i}: {late}");
    }
    for node in &nodes {
        let r = node.results(&s).await;
        assert_eq!(counts(&tally_of(&r, &qid)), want, "through {}", node.base);
    }

    // Opened again through node 1: phones on every node (so on every slot)
    // vote at once, none refused.
    let (status, v) = nodes[0]
        .question_action_as(&s.code, &qid, "open", Some(&s.token), None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{v}");
    for (i, (ws, _)) in phones.iter_mut().enumerate().skip(1).take(8) {
        ws.recv_until("the opening", |v| {
            v["type"] == "question" && v["question"]["state"] == "open"
        })
        .await;
        let ack = ws.vote(&qid, json!(2)).await;
        assert_eq!(ack["type"], "ack", "phone {i}: {ack}");
    }
    // Phones 1..=8 moved to option 3: 1 and 4 and 7 from "Two", 3 and 6
    // from "One", the others were on "Three" already.
    let want = vec![5u64, 6, 13];
    for node in &nodes {
        let r = node
            .results_until(&s, |r| counts(&tally_of(r, &qid)) == want)
            .await;
        assert_eq!(tally_of(&r, &qid)["voters"], 24);
    }
}

#[tokio::test]
async fn verify_recounts_the_ballots_of_every_slot_and_the_end_expires_them() {
    let redis = Redis::start();
    let nodes = [
        spawn_node(&redis, &["--redis-slots", "3"]),
        spawn_node(&redis, &["--redis-slots", "3"]),
    ];
    let (s, qid) = nodes[0].session_with_open_question(&["Yes", "No"]).await;
    for i in 0..9 {
        let (mut ws, _) = nodes[i % 2].join(&s.code, "audience", None).await;
        assert_eq!(ws.vote(&qid, json!(i % 2)).await["type"], "ack");
    }
    nodes[1]
        .results_until(&s, |r| counts(&tally_of(r, &qid)) == vec![5, 4])
        .await;
    let (rc, report) = verify(&redis.url(), &s.code);
    assert_eq!(rc, 0, "{report}");
    assert!(report.contains("\"voters\":9"), "{report}");

    // A count moved by hand in one slot is found.
    let tags = redis.ballot_tags(&s.code);
    assert_eq!(tags.len(), 3, "{tags:?}");
    let key = format!("{}:t:{qid}", tags[1]);
    redis.cli(&["HINCRBY", &key, "o0", "2"]);
    let (rc, report) = verify(&redis.url(), &s.code);
    assert_eq!(rc, 1, "{report}");
    assert!(
        report.contains("the counts in Redis differ from the 9 ballots"),
        "{report}"
    );
    redis.cli(&["HINCRBY", &key, "o0", "-2"]);
    assert_eq!(verify(&redis.url(), &s.code).0, 0);

    // Ending the session sets every slot's keys to expire, as the log's.
    let (status, v) = nodes[0].delete_session(&s.code, Some(&s.token)).await;
    assert!(status.is_success(), "{v:?}");
    let left = slot_keys_on(&redis.url(), &s.code).await;
    assert_eq!(
        left.len(),
        12,
        "ballots, counts, changes and generations of 3 slots: {left:?}"
    );
    for key in left {
        let ttl: i64 = redis.cli(&["TTL", &key]).trim().parse().unwrap();
        assert!(ttl > 0, "{key} kept for ever");
    }
}

#[tokio::test]
async fn opens_and_closes_racing_through_two_nodes_leave_every_slot_as_the_log_says() {
    let redis = Redis::start();
    let nodes = [
        spawn_node(&redis, &["--redis-slots", "3"]),
        spawn_node(&redis, &["--redis-slots", "3"]),
    ];
    let (s, qid) = nodes[0].session_with_open_question(&["Yes", "No"]).await;
    let tags = redis.ballot_tags(&s.code);
    assert_eq!(tags.len(), 3, "{tags:?}");
    for round in 0..12 {
        // One node closes while the other opens, in either order.
        let (a, b) = if round % 2 == 0 { (0, 1) } else { (1, 0) };
        let (closed, opened) = tokio::join!(
            nodes[a].question_action(&s, &qid, "close"),
            nodes[b].question_action(&s, &qid, "open"),
        );
        for (what, (status, v)) in [("close", closed), ("open", opened)] {
            // Done, refused as no change, or "retry" when the other came first.
            assert!(
                status.is_success() || status.as_u16() == 409 || status.as_u16() == 503,
                "round {round}: {what}: {status} {v}"
            );
        }
        // The state the log ends with is the state every slot holds.
        let r = nodes[a].results(&s).await;
        let open = r["questions"][0]["state"] == "open";
        for tag in &tags {
            let held = redis.cli(&["HEXISTS", &format!("{tag}:open"), &qid]) == "1";
            assert_eq!(
                held, open,
                "round {round}: slot {tag}, log says open: {open}"
            );
        }
        // And a phone voting through either node is answered accordingly.
        let (mut phone, _) = nodes[b].join(&s.code, "audience", None).await;
        let reply = phone.vote(&qid, json!(round % 2)).await;
        let want = if open { "ack" } else { "error" };
        assert_eq!(reply["type"], want, "round {round}: {reply}");
    }
}
