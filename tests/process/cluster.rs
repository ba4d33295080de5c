//! Cluster mode: three real `handsup` processes sharing sessions through a
//! real `redis-server` (started by the tests on a free loopback port).

use std::time::Duration;

use crate::redis::{spawn_node, Redis};
use crate::support::{
    assert_five_kind_tallies, counts, entry_texts, five_kind_ballots, five_kind_questions,
    question_ids, Session, TestApp, Ws,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn three_nodes(redis: &Redis) -> Vec<TestApp> {
    (0..3).map(|_| spawn_node(redis, &[])).collect()
}

/// A session made on `node` with one question, opened there.
async fn open_session(node: &TestApp, options: &[&str]) -> (Session, String) {
    node.session_with_open_question(options).await
}

async fn action(node: &TestApp, s: &Session, qid: &str, act: &str) -> Value {
    let (status, v) = node
        .question_action_as(&s.code, qid, act, Some(&s.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{act}: {v}");
    v
}

pub(crate) fn tally_of(results: &Value, qid: &str) -> Value {
    results["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == qid)
        .map(|q| q["tally"].clone())
        .expect("the question is in the results")
}

#[tokio::test]
async fn phones_projector_and_moderator_on_three_nodes_see_the_same_exact_tally() {
    let redis = Redis::start();
    let nodes = three_nodes(&redis);
    let (s, qid) = open_session(&nodes[0], &["Mentoring", "Funding", "Training"]).await;

    // Projector on node 2, moderator on node 3, both before any vote.
    let (mut screen, welcome) = nodes[1].join(&s.code, "projector", None).await;
    assert_eq!(welcome["session"]["title"], "Capacity building panel");
    let (mut console, _) = nodes[2].join(&s.code, "moderator", Some(&s.token)).await;
    action(&nodes[0], &s, &qid, "reveal").await;

    // Thirty phones, ten through each node, each voting option i % 3.
    let mut phones: Vec<Ws> = Vec::new();
    for i in 0..30 {
        let (mut ws, welcome) = nodes[i % 3].join(&s.code, "audience", None).await;
        assert!(welcome["participant_token"].is_string());
        let ack = ws.vote(&qid, json!(i % 3)).await;
        assert_eq!(ack["type"], "ack", "phone {i}: {ack}");
        phones.push(ws);
    }
    let want = vec![10u64, 10, 10];
    let t = screen
        .tally_where(&qid, |t| t["voters"] == 30 && counts(t) == want)
        .await;
    assert_eq!(counts(&t), want);
    console
        .tally_where(&qid, |t| t["voters"] == 30 && counts(&t.clone()) == want)
        .await;
    // The projector counts the phones of every node.
    screen
        .recv_until("presence", |v| {
            v["type"] == "presence" && v["audience"] == 30
        })
        .await;

    // Closing on node 3 reaches phones on node 1 and freezes the ballots.
    action(&nodes[2], &s, &qid, "close").await;
    phones[0]
        .recv_until("the close", |v| {
            v["type"] == "question" && v["question"]["state"] == "closed"
        })
        .await;
    let late = phones[1].vote(&qid, json!(0)).await;
    assert_eq!(late["code"], "not_open", "{late}");

    for node in &nodes {
        let r = node.results(&s).await;
        let t = tally_of(&r, &qid);
        assert_eq!(counts(&t), want, "through {}", node.base);
        assert_eq!(t["voters"], 30);
        assert_eq!(r["session"]["participants"], 30);
    }
    // The exports of every node agree too.
    let mut csvs = Vec::new();
    for node in &nodes {
        let resp = node.export_csv(&s.code, Some(&s.token)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        csvs.push(resp.text().await.unwrap());
    }
    assert!(csvs[0].contains("Mentoring"), "{}", csvs[0]);
    assert_eq!(csvs[0], csvs[1]);
    assert_eq!(csvs[1], csvs[2]);
}

#[tokio::test]
async fn a_participant_voting_again_through_another_node_is_counted_once() {
    let redis = Redis::start();
    let nodes = three_nodes(&redis);
    let (s, qid) = open_session(&nodes[0], &["Yes", "No", "Unsure"]).await;

    let (mut a, welcome) = nodes[0].join(&s.code, "audience", None).await;
    let (id, token) = (
        welcome["participant_id"].clone(),
        welcome["participant_token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(a.vote(&qid, json!(0)).await["type"], "ack");
    drop(a);

    // The same phone comes back through node 2: same identity, its ballot shown.
    let (mut b, welcome) = nodes[1].join(&s.code, "audience", Some(&token)).await;
    assert_eq!(welcome["participant_id"], id);
    assert_eq!(welcome["ballots"][&qid], json!(0), "{welcome}");
    assert_eq!(b.vote(&qid, json!(1)).await["type"], "ack");

    // And through node 3 over HTTP, twice.
    for choice in [2, 1] {
        let (status, v) = nodes[2]
            .put_ballot(&s.code, &qid, &token, json!({ "choice": choice }))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    // Many phones voting again at once through every node count once each.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let base = nodes[i % 3].base.clone();
        let port = nodes[i % 3].port;
        let code = s.code.clone();
        let qid = qid.clone();
        let nodes_ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
        tasks.push(tokio::spawn(async move {
            let _ = base;
            let app = TestAppRef { port };
            let (mut ws, welcome) = app.join(&code, None).await;
            let token = welcome["participant_token"].as_str().unwrap().to_owned();
            for round in 0..6 {
                assert_eq!(ws.vote(&qid, json!(round % 3)).await["type"], "ack");
                // Move to the next node now and then.
                if round % 2 == 1 {
                    drop(ws);
                    let next = TestAppRef {
                        port: nodes_ports[(i + round) % 3],
                    };
                    ws = next.join(&code, Some(&token)).await.0;
                }
            }
            // Last ballot: round 5 → option 2.
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = nodes[1]
        .results_until(&s, |r| tally_of(r, &qid)["voters"] == 13)
        .await;
    let t = tally_of(&r, &qid);
    assert_eq!(counts(&t), vec![0, 1, 12], "{t}");
    assert_eq!(r["session"]["participants"], 13);
    drop(b);
}

/// A bare websocket client on a node, usable from spawned tasks.
struct TestAppRef {
    port: u16,
}

impl TestAppRef {
    async fn join(&self, code: &str, token: Option<&str>) -> (Ws, Value) {
        let (stream, _) =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/{code}", self.port))
                .await
                .expect("websocket connects");
        let mut ws = Ws::from_stream(stream);
        ws.hello("audience", token).await;
        let welcome = ws.recv_type("welcome").await;
        (ws, welcome)
    }
}

#[tokio::test]
async fn a_node_killed_mid_vote_loses_no_acked_vote_and_its_phones_move_on() {
    let redis = Redis::start();
    // Phones here vote as fast as acks come back: no per-socket limit.
    let fast = ["--rate-per-sec", "100000", "--rate-burst", "100000"];
    let mut nodes: Vec<TestApp> = (0..3).map(|_| spawn_node(&redis, &fast)).collect();
    let (s, qid) = open_session(&nodes[0], &["A", "B", "C", "D"]).await;
    let doomed = nodes[2].port;
    let code = s.code.clone();

    // Sixteen phones on node 3 vote as fast as acks come back, recording the
    // last acked choice and the one in flight.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for i in 0..16u64 {
        let (code, qid, stop) = (code.clone(), qid.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ws, welcome) = TestAppRef { port: doomed }.join(&code, None).await;
            let token = welcome["participant_token"].as_str().unwrap().to_owned();
            let id = welcome["participant_id"].clone();
            let (mut acked, mut in_flight): (Option<u64>, Option<u64>) = (None, None);
            let mut n = i;
            let mut refs = 0u64;
            while !*stop.borrow() {
                n += 1;
                let choice = n % 4;
                refs += 1;
                let r = format!("k{refs}");
                let msg = json!({"type": "vote", "question_id": qid, "choice": choice, "ref": r});
                in_flight = Some(choice);
                if ws.stream_send(msg).await.is_err() {
                    break;
                }
                match ws.answer(&r).await {
                    Some(v) if v["type"] == "ack" => {
                        acked = Some(choice);
                        in_flight = None;
                    }
                    Some(v) => panic!("vote refused: {v}"),
                    None => break,
                }
            }
            (token, id, acked, in_flight)
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    nodes[2].kill9();
    let _ = stop_tx.send(true);
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let acks: usize = outcomes.iter().filter(|o| o.2.is_some()).count();
    assert_eq!(acks, 16, "every phone had votes acked before the kill");

    // Each phone reconnects to node 1 with its token: same identity, and its
    // ballot is its last acked vote or the one that was in flight.
    let mut expected = [0u64; 4];
    for (token, id, acked, in_flight) in &outcomes {
        let (_ws, welcome) = nodes[0].join(&code, "audience", Some(token)).await;
        assert_eq!(&welcome["participant_id"], id);
        let got = welcome["ballots"][&qid].as_u64().expect("a ballot is kept");
        assert!(
            Some(got) == *acked || Some(got) == *in_flight,
            "ballot {got}, acked {acked:?}, in flight {in_flight:?}"
        );
        expected[got as usize] += 1;
    }
    let r = nodes[1]
        .results_until(&s, |r| tally_of(r, &qid)["voters"] == 16)
        .await;
    assert_eq!(counts(&tally_of(&r, &qid)), expected.to_vec());
    assert_eq!(r["session"]["participants"], 16);
}

#[tokio::test]
async fn while_redis_is_away_votes_get_a_retryable_error_and_every_node_recovers() {
    let mut redis = Redis::start();
    let nodes = three_nodes(&redis);
    let (s, qid) = open_session(&nodes[0], &["Red", "Green"]).await;
    let (mut screen, _) = nodes[1].join(&s.code, "moderator", Some(&s.token)).await;
    let (mut phone, _) = nodes[0].join(&s.code, "audience", None).await;
    let (mut other, _) = nodes[2].join(&s.code, "audience", None).await;
    assert_eq!(phone.vote(&qid, json!(0)).await["type"], "ack");
    screen.tally_where(&qid, |t| t["voters"] == 1).await;

    redis.stop();
    // The phone's socket stays up; its vote is refused, clearly and retryably.
    let refused = phone.vote(&qid, json!(1)).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "unavailable", "{refused}");
    let (status, body) = nodes[2].question_action(&s, &qid, "close").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");

    redis.restart();
    // No node restarts: the phones' retries go through within seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    vote_until_acked(&mut phone, &qid, 1, deadline).await;
    vote_until_acked(&mut other, &qid, 1, deadline).await;
    let t = screen
        .tally_where(&qid, |t| t["voters"] == 2 && counts(t) == vec![0, 2])
        .await;
    assert_eq!(counts(&t), vec![0, 2]);
    let r = nodes[2]
        .results_until(&s, |r| tally_of(r, &qid)["voters"] == 2)
        .await;
    assert_eq!(counts(&tally_of(&r, &qid)), vec![0, 2]);
    // New work goes through every node again.
    action(&nodes[2], &s, &qid, "close").await;
    for node in &nodes {
        let (_, welcome) = node.join(&s.code, "projector", None).await;
        let q = &welcome["session"]["questions"][0];
        assert_eq!(q["state"], "closed", "{welcome}");
    }
}

/// Votes again and again, as a phone does, until the vote is acked; every
/// refusal on the way must be the retryable `unavailable`.
#[tokio::test]
async fn a_vote_to_a_frozen_redis_is_refused_after_the_stall_and_goes_through_once_it_thaws() {
    let redis = Redis::start();
    let nodes = three_nodes(&redis);
    let (s, qid) = open_session(&nodes[0], &["Red", "Green"]).await;
    let (mut phone, _) = nodes[1].join(&s.code, "audience", None).await;
    assert_eq!(phone.vote(&qid, json!(0)).await["type"], "ack");

    // Connections stay open and nothing answers: the node gives up after
    // its stall bound (2 s without any answer), not its 10 s ceiling.
    redis.pause();
    let asked = std::time::Instant::now();
    let refused = phone.vote(&qid, json!(1)).await;
    let waited = asked.elapsed();
    redis.resume();
    assert_eq!(refused["code"], "unavailable", "{refused}");
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(8),
        "refused after {waited:?}"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    vote_until_acked(&mut phone, &qid, 1, deadline).await;
    let r = nodes[2]
        .results_until(&s, |r| counts(&tally_of(r, &qid)) == vec![0, 1])
        .await;
    assert_eq!(tally_of(&r, &qid)["voters"], 1);
}

async fn vote_until_acked(ws: &mut Ws, qid: &str, choice: u64, deadline: tokio::time::Instant) {
    loop {
        let v = ws.vote(qid, json!(choice)).await;
        if v["type"] == "ack" {
            return;
        }
        assert_eq!(v["code"], "unavailable", "{v}");
        assert!(tokio::time::Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn every_kind_counts_the_same_across_nodes_and_a_hidden_answer_leaves_every_view() {
    let redis = Redis::start();
    let nodes = three_nodes(&redis);
    let s = nodes[0]
        .create_session(json!({"title": "Kinds", "questions": five_kind_questions()}))
        .await;
    let (mut moderator, w) = nodes[2].join(&s.code, "moderator", Some(&s.token)).await;
    let ids = question_ids(&w);
    for id in &ids {
        let ack = moderator.act("open", id).await;
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    for (i, ballot) in five_kind_ballots().into_iter().enumerate() {
        let (mut phone, _) = nodes[i].join(&s.code, "audience", None).await;
        for (id, c) in ids.iter().zip(ballot) {
            let ack = phone.vote(id, c).await;
            assert_eq!(ack["type"], "ack", "{ack}");
        }
        // Entries of the open question are ordered by time: keep them apart.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_five_kind_tallies(&mut moderator, &ids).await;

    // Hidden through node 3, gone from the results of node 1.
    let second = t_entry(&nodes[0].results(&s).await, 3, 1);
    let ack = moderator
        .call(json!({"type": "hide_entry", "question_id": ids[3], "entry_id": second}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let t = moderator.tally_where(&ids[3], |t| t["voters"] == 2).await;
    assert_eq!(entry_texts(&t), ["third", "first"]);
    let r = nodes[0].results(&s).await;
    assert_eq!(entry_texts(&r["questions"][3]["tally"]), ["third", "first"]);
    assert_eq!(r["questions"][3]["tally"]["voters"], 2);
}

/// The id of entry `i` of question `q` in some results.
fn t_entry(results: &Value, q: usize, i: usize) -> String {
    results["questions"][q]["tally"]["entries"][i]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn qa_timers_and_the_end_of_a_session_reach_every_node() {
    let redis = Redis::start();
    let nodes = three_nodes(&redis);
    let (s, qid) = open_session(&nodes[0], &["Yes", "No"]).await;
    let (mut screen, _) = nodes[1].join(&s.code, "projector", None).await;
    let (mut asker, _) = nodes[0].join(&s.code, "audience", None).await;
    let (mut fan, _) = nodes[2].join(&s.code, "audience", None).await;

    // Q&A: asked on node 1, upvoted on node 3, seen on node 2's projector.
    let ack = asker
        .call(json!({"type": "ask", "text": "Who owns the data afterwards?"}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let item = screen.recv_type("qa_item").await;
    let id = item["item"]["id"].as_str().unwrap().to_owned();
    let seen = fan
        .recv_until("the question", |v| v["type"] == "qa_item")
        .await;
    assert_eq!(seen["item"]["text"], "Who owns the data afterwards?");
    let ack = fan.call(json!({"type": "upvote", "item_id": id})).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    screen
        .recv_until("the upvote", |v| {
            v["type"] == "qa_item" && v["item"]["upvotes"] == 1
        })
        .await;

    // A timer set through node 1 closes the question on every node, once.
    action(&nodes[0], &s, &qid, "close").await;
    let (status, v) = nodes[0]
        .open_question_with(&s, &qid, json!({"duration_s": 1}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    for ws in [&mut screen, &mut fan] {
        ws.recv_until("the opening", |v| {
            v["type"] == "question" && v["question"]["state"] == "open"
        })
        .await;
        ws.recv_until("the timer's close", |v| {
            v["type"] == "question" && v["question"]["state"] == "closed"
        })
        .await;
    }
    // Every node's timer may try; the log holds at most one close per node,
    // and only the first changed anything.
    let mut redis_cli = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let log: Vec<String> = redis::cmd("LRANGE")
        .arg(format!("{{{}}}:log", s.code))
        .arg(0)
        .arg(-1)
        .query_async(&mut redis_cli)
        .await
        .unwrap();
    let closes = log
        .iter()
        .filter(|e| e.contains("\"timer_closed\""))
        .count();
    assert!(
        (1..=3).contains(&closes),
        "{closes} timer closes in the log"
    );

    // Deleted through node 3: phones on nodes 1 and 3 get `ended`, node 2 forgets it.
    end_session(&nodes[2], &s).await;
    for ws in [&mut asker, &mut fan] {
        ws.recv_type("ended").await;
    }
    gone_from(&nodes[1], &s.code).await;
}

#[tokio::test]
async fn sessions_spread_over_the_shards_of_a_redis_cluster() {
    let redis = crate::redis::RedisShards::start();
    let urls = redis.urls();
    let nodes: Vec<TestApp> = (0..2)
        .map(|_| crate::support::spawn_process(&["--redis-cluster", "--redis", &urls]))
        .collect();
    // Twelve sessions: their codes' hash tags put them on different shards.
    for round in 0..12 {
        let (s, qid) = open_session(&nodes[round % 2], &["One", "Two"]).await;
        let (mut screen, _) = nodes[(round + 1) % 2]
            .join(&s.code, "moderator", Some(&s.token))
            .await;
        let (mut a, w) = nodes[0].join(&s.code, "audience", None).await;
        let token = w["participant_token"].as_str().unwrap().to_owned();
        assert_eq!(a.vote(&qid, json!(0)).await["type"], "ack");
        let (mut b, _) = nodes[1].join(&s.code, "audience", None).await;
        assert_eq!(b.vote(&qid, json!(1)).await["type"], "ack");
        // The first phone changes its mind through the other node.
        let (mut a2, w2) = nodes[1].join(&s.code, "audience", Some(&token)).await;
        assert_eq!(w2["ballots"][&qid], json!(0));
        assert_eq!(a2.vote(&qid, json!(1)).await["type"], "ack");
        screen
            .tally_where(&qid, |t| t["voters"] == 2 && counts(t) == vec![0, 2])
            .await;
        let r = nodes[round % 2]
            .results_until(&s, |r| tally_of(r, &qid)["voters"] == 2)
            .await;
        assert_eq!(counts(&tally_of(&r, &qid)), vec![0, 2]);
        // Ending a session (its keys set to expire) works on every shard.
        end_session(&nodes[round % 2], &s).await;
        a2.recv_type("ended").await;
    }
    // Every shard holds some of them.
    let mut holding = 0;
    for shard in &redis.shards {
        let mut c = redis::Client::open(shard.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let n: u64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
        holding += (n > 0) as u32;
    }
    assert!(holding >= 2, "the sessions all landed on one shard");
}

#[tokio::test]
async fn a_node_lets_go_of_an_idle_session_and_reads_it_again_when_needed() {
    let redis = Redis::start();
    let node = spawn_node(&redis, &["--unload-idle-after-s", "1"]);
    let (s, qid) = open_session(&node, &["Keep", "Drop"]).await;
    let (mut phone, w) = node.join(&s.code, "audience", None).await;
    let token = w["participant_token"].as_str().unwrap().to_owned();
    assert_eq!(phone.vote(&qid, json!(0)).await["type"], "ack");
    drop(phone);

    // With no socket on it, the node lets the session go after a second or so.
    assert_eq!(sessions_held(&node).await, 1);
    sessions_held_become(&node, 0).await;

    // The phone comes back: the session is read again, ballot and all.
    let (mut phone, w) = node.join(&s.code, "audience", Some(&token)).await;
    assert_eq!(w["ballots"][&qid], json!(0), "{w}");
    assert_eq!(w["session"]["questions"][0]["state"], "open");
    assert_eq!(phone.vote(&qid, json!(1)).await["type"], "ack");
    assert_eq!(sessions_held(&node).await, 1);
    let r = node
        .results_until(&s, |r| tally_of(r, &qid)["voters"] == 1)
        .await;
    assert_eq!(counts(&tally_of(&r, &qid)), vec![0, 1]);

    // Ended, it is let go too, and stays ended.
    end_session(&node, &s).await;
    drop(phone);
    sessions_held_become(&node, 0).await;
    gone_from(&node, &s.code).await;
}

#[tokio::test]
async fn when_redis_comes_back_without_a_session_every_node_lets_it_go() {
    let redis = Redis::start();
    let nodes: Vec<TestApp> = (0..2).map(|_| spawn_node(&redis, &[])).collect();
    let (s, qid) = open_session(&nodes[0], &["A", "B"]).await;
    let (mut phone, _) = nodes[1].join(&s.code, "audience", None).await;
    assert_eq!(phone.vote(&qid, json!(0)).await["type"], "ack");

    // Redis loses everything (a restart without persistence, say).
    let mut c = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut c).await.unwrap();

    // Within about a second every node notices: the phone is told to
    // reconnect (1012), and the session is gone rather than half there.
    assert_eq!(phone.closed().await, Some(1012));
    for node in &nodes {
        gone_from(node, &s.code).await;
    }
    // New sessions work at once.
    let (s2, q2) = open_session(&nodes[1], &["C", "D"]).await;
    let (mut phone, _) = nodes[0].join(&s2.code, "audience", None).await;
    assert_eq!(phone.vote(&q2, json!(1)).await["type"], "ack");
}

/// Waits (up to 5 s) until `node` answers 404 for the session.
async fn gone_from(node: &TestApp, code: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = node.session_view(code, None).await;
        if status == StatusCode::NOT_FOUND {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} still serves {code}",
            node.base
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ends a session through `node` (DELETE, 204).
async fn end_session(node: &TestApp, s: &Session) {
    let (status, v) = node.delete_session(&s.code, Some(&s.token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
}

/// How many sessions `node` holds, from its metrics.
async fn sessions_held(node: &TestApp) -> u64 {
    let text = node.metrics().await;
    text.lines()
        .find_map(|l| l.strip_prefix("handsup_sessions "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .expect("handsup_sessions in the metrics")
}

/// Waits (up to 10 s) until `node` holds `n` sessions.
async fn sessions_held_become(node: &TestApp, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sessions_held(node).await != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} still holds {} sessions, not {n}",
            node.base,
            sessions_held(node).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---- issue 13: joins, the log's growth, misses, late votes ---------------------

/// A connection to the test's Redis, to look at (or tamper with) its keys.
async fn redis_conn(redis: &Redis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The number of entries in a session's Redis log.
async fn log_len(redis: &Redis, code: &str) -> u64 {
    redis::cmd("LLEN")
        .arg(format!("{{{code}}}:log"))
        .query_async(&mut redis_conn(redis).await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_phone_joins_a_session_whose_questions_are_all_drafts() {
    let redis = Redis::start();
    let nodes: Vec<TestApp> = (0..2).map(|_| spawn_node(&redis, &[])).collect();
    let drafts = nodes[1]
        .create_session(json!({"title": "Later", "questions": [crate::support::single("Ready?", &["Yes", "No"])]}))
        .await;
    let empty = nodes[1]
        .create_session(json!({"title": "Nothing yet"}))
        .await;
    for s in [&drafts, &empty] {
        let mut ws = nodes[0].ws(&s.code).await;
        ws.send(json!({"type": "hello", "role": "audience"})).await;
        let first = ws.recv().await;
        assert_eq!(first["type"], "welcome", "{}: {first}", s.code);
        assert!(first["participant_token"].is_string(), "{first}");
        // Coming back with the token works too.
        let token = first["participant_token"].as_str().unwrap();
        let (_, again) = nodes[1].join(&s.code, "audience", Some(token)).await;
        assert_eq!(again["participant_id"], first["participant_id"]);
        assert_eq!(again["ballots"], json!({}));
    }
}

#[tokio::test]
async fn a_refused_hello_leaves_nothing_in_the_log() {
    let redis = Redis::start();
    let node = spawn_node(&redis, &["--max-participants", "2"]);
    let (s, _) = open_session(&node, &["Yes", "No"]).await;
    let (_a, _) = node.join(&s.code, "audience", None).await;
    let (_b, _) = node.join(&s.code, "audience", None).await;
    let before = log_len(&redis, &s.code).await;
    // The session is full: each new phone is refused, and nothing is logged.
    for _ in 0..5 {
        let mut ws = node.ws(&s.code).await;
        ws.send(json!({"type": "hello", "role": "audience"})).await;
        let e = ws.recv().await;
        assert_eq!(e["type"], "error", "{e}");
        assert_eq!(e["code"], "limit_reached", "{e}");
        assert_eq!(ws.closed().await, Some(1013));
    }
    assert_eq!(
        log_len(&redis, &s.code).await,
        before,
        "refused hellos were logged"
    );
}

#[tokio::test]
async fn a_toggle_that_changes_nothing_is_not_appended() {
    let redis = Redis::start();
    let nodes: Vec<TestApp> = (0..2).map(|_| spawn_node(&redis, &[])).collect();
    let (s, _) = open_session(&nodes[0], &["Yes", "No"]).await;
    let (mut asker, _) = nodes[0].join(&s.code, "audience", None).await;
    let (mut fan, _) = nodes[1].join(&s.code, "audience", None).await;
    let ack = asker.call(json!({"type": "ask", "text": "Why?"})).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let item = fan.recv_type("qa_item").await["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        fan.call(json!({"type": "upvote", "item_id": item})).await["type"],
        "ack"
    );
    let before = log_len(&redis, &s.code).await;
    // Upvoting again, taking back what was never given, unknown items.
    for _ in 0..3 {
        let v = fan.call(json!({"type": "upvote", "item_id": item})).await;
        assert_eq!(v["type"], "ack", "{v}");
        let v = asker
            .call(json!({"type": "unupvote", "item_id": item}))
            .await;
        assert_eq!(v["type"], "ack", "{v}");
        let unknown = uuid::Uuid::new_v4().to_string();
        let v = fan
            .call(json!({"type": "upvote", "item_id": unknown}))
            .await;
        assert_eq!(v["code"], "not_found", "{v}");
        // A moderator change that cannot apply is refused before the log too.
        let (status, _) = nodes[1].question_action(&s, &unknown, "close").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let v = asker.call(json!({"type": "ask", "text": "  "})).await;
        assert_eq!(v["type"], "error", "{v}");
    }
    assert_eq!(
        log_len(&redis, &s.code).await,
        before,
        "no-op changes were logged"
    );
    // A real change still goes through, on the other node too.
    let v = fan.call(json!({"type": "unupvote", "item_id": item})).await;
    assert_eq!(v["type"], "ack", "{v}");
    assert_eq!(log_len(&redis, &s.code).await, before + 1);
}

/// The results without what differs between nodes by design (the tally
/// sequence numbers, the time they were made).
fn comparable(mut r: Value) -> Value {
    r.as_object_mut().unwrap().remove("generated_at");
    for q in r["questions"].as_array_mut().unwrap() {
        q["tally"].as_object_mut().unwrap().remove("seq");
    }
    r
}

#[tokio::test]
async fn the_log_is_compacted_and_every_node_agrees_across_it() {
    const EVERY: u64 = 2000;
    let redis = Redis::start();
    let flags = [
        "--rate-per-sec",
        "100000",
        "--rate-burst",
        "100000",
        "--redis-compact-every",
        "2000",
        // The stopped node's sockets must not time out first.
        "--pong-timeout-s",
        "600",
    ];
    let a = spawn_node(&redis, &flags);
    let b = spawn_node(&redis, &flags);
    let stalled = spawn_node(&redis, &flags);
    let (s, qid) = open_session(&a, &["Yes", "No"]).await;
    let (mut asker, _) = a.join(&s.code, "audience", None).await;
    let ack = asker
        .call(json!({"type": "ask", "text": "Shall we compact?"}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    // Node B follows the session all along, with a moderator on it.
    let (mut console, w) = b.join(&s.code, "moderator", Some(&s.token)).await;
    let item = match w["session"]["qa"][0]["id"].as_str() {
        Some(id) => id.to_owned(),
        None => console.recv_type("qa_item").await["item"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    // A third node holds the session, then stops (SIGSTOP) while the log
    // moves on past what it read.
    let (mut stalled_phone, w) = stalled.join(&s.code, "audience", None).await;
    let stalled_token = w["participant_token"].as_str().unwrap().to_owned();
    let pid = stalled.pid().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());

    // Ten phones toggle their upvote 20,005 times in all, through A and B;
    // the odd ones end upvoted.
    let mut tasks = Vec::new();
    for i in 0..10usize {
        let port = if i % 2 == 0 { a.port } else { b.port };
        let (code, item) = (s.code.clone(), item.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = TestAppRef { port }.join(&code, None).await;
            for n in 0..2000 + (i % 2) {
                let kind = if n % 2 == 0 { "upvote" } else { "unupvote" };
                let v = ws.call(json!({"type": kind, "item_id": item})).await;
                assert_eq!(v["type"], "ack", "{v}");
            }
            ws
        }));
    }
    // The console reads what comes meanwhile, as a browser does.
    let all = futures_util::future::join_all(tasks);
    tokio::pin!(all);
    let phones = loop {
        tokio::select! {
            done = &mut all => break done,
            e = console.next_event(Duration::from_millis(500)) => {
                if let Some(crate::support::Event::Closed(c)) = e {
                    panic!("the console was closed ({c:?}) during the toggles");
                }
            }
        }
    };
    let phones: Vec<Ws> = phones.into_iter().map(|p| p.unwrap()).collect();
    // The log stays bounded: the snapshot plus at most a tail (one and a
    // half intervals, and what came while the last snapshot was written).
    let len = log_len(&redis, &s.code).await;
    assert!(
        len <= 2 * EVERY,
        "the log holds {len} entries after 20,005 toggles"
    );
    let mut conn = redis_conn(&redis).await;
    let snap: Option<String> = redis::cmd("GET")
        .arg(format!("{{{}}}:snap", s.code))
        .query_async(&mut conn)
        .await
        .unwrap();
    let snap = snap.expect("a snapshot");
    let base: u64 = redis::cmd("GET")
        .arg(format!("{{{}}}:base", s.code))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(base > 0, "nothing was trimmed");
    let snap_at: u64 = snap.split_once(' ').unwrap().0.parse().unwrap();
    assert!(snap_at > base, "the snapshot covers the trimmed entries");

    // The node that followed along kept its sockets and its copy.
    console
        .recv_until("five upvotes", |v| {
            v["type"] == "qa_item" && v["item"]["upvotes"] == 5
        })
        .await;
    action(&b, &s, &qid, "reveal").await;
    let ack = console.act("close", &qid).await;
    assert_eq!(ack["type"], "ack", "{ack}");

    // A node that joins late reads the snapshot and the tail, and shows the
    // same state as the nodes that followed all along.
    let late = spawn_node(&redis, &flags);
    let (_, w) = late.join(&s.code, "moderator", Some(&s.token)).await;
    assert_eq!(w["session"]["qa"][0]["upvotes"], 5, "{w}");
    assert_eq!(w["session"]["questions"][0]["state"], "closed");
    let want = comparable(b.results(&s).await);
    assert_eq!(want["qa"][0]["upvotes"], 5, "{want}");
    assert_eq!(want["session"]["participants"], 12);
    assert_eq!(comparable(late.results(&s).await), want);
    assert_eq!(comparable(a.results(&s).await), want);

    // The stalled node wakes behind the trimmed part: its phone is told to
    // reconnect, and it reads the session again from the snapshot.
    assert!(std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(stalled_phone.closed().await, Some(1012));
    let (mut again, w) = stalled
        .join(&s.code, "audience", Some(&stalled_token))
        .await;
    assert_eq!(w["session"]["qa"][0]["upvotes"], 5, "{w}");
    let v = again.call(json!({"type": "upvote", "item_id": item})).await;
    assert_eq!(v["type"], "ack", "{v}");
    let want = b.results_until(&s, |r| r["qa"][0]["upvotes"] == 6).await;
    let got = stalled
        .results_until(&s, |r| r["qa"][0]["upvotes"] == 6)
        .await;
    assert_eq!(comparable(got), comparable(want));
    drop(phones);
}

/// The reads of a log Redis has served since its counters were reset: each
/// lookup of a code a node does not hold reads the log's head (`LRANGE`,
/// also when run inside a script).
async fn log_reads(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_lrange:calls="))
        .and_then(|l| l.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn lookups_of_an_unknown_code_are_cached_briefly() {
    let redis = Redis::start();
    let lenient = [
        "--ip-misses-per-sec",
        "1000000",
        "--ip-misses-burst",
        "1000000",
    ];
    let a = spawn_node(&redis, &lenient);
    let b = spawn_node(&redis, &lenient);
    let unknown = "000000";
    let mut conn = redis_conn(&redis).await;
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (http, path) = (a.http.clone(), a.url(&format!("/api/sessions/{unknown}")));
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                let r = http.get(&path).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::NOT_FOUND);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs();
    let reads = log_reads(&mut conn).await;
    // One read per cache time (2 s) at most.
    assert!(
        reads <= 1 + secs / 2 + 1,
        "1,000 lookups in {secs} s read the log {reads} times"
    );

    // A session made on B (no questions: its log is one entry) appears
    // under that code (its log moved there): node A
    // finds it once the cached miss is over, within the cache time.
    let made = loop {
        let made = b.create_session(json!({"title": "Renamed later"})).await;
        if made.code != unknown {
            break made;
        }
    };
    let _: () = redis::cmd("RENAME")
        .arg(format!("{{{}}}:log", made.code))
        .arg(format!("{{{unknown}}}:log"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let moved = tokio::time::Instant::now();
    loop {
        let (status, v) = a.session_view(unknown, None).await;
        if status == StatusCode::OK {
            assert_eq!(v["title"], "Renamed later");
            break;
        }
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            moved.elapsed() < Duration::from_secs(5),
            "still unknown {:?} after it appeared",
            moved.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_vote_after_closes_at_is_refused_before_any_timer_closes_the_question() {
    let redis = Redis::start();
    let nodes: Vec<TestApp> = (0..2).map(|_| spawn_node(&redis, &[])).collect();
    let (s, qid) = open_session(&nodes[0], &["Yes", "No"]).await;
    let (mut phone, _) = nodes[1].join(&s.code, "audience", None).await;
    assert_eq!(phone.vote(&qid, json!(0)).await["type"], "ack");
    // The question's timer ran out a second ago, and no node's timer has
    // closed it yet (it was opened with no timer; Redis says when it ends).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut conn = redis_conn(&redis).await;
    for tag in redis.ballot_tags(&s.code) {
        let _: () = redis::cmd("HSET")
            .arg(format!("{tag}:open"))
            .arg(&qid)
            .arg(now - 1000)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let late = phone.vote(&qid, json!(1)).await;
    assert_eq!(late["code"], "not_open", "{late}");
    let late = phone.retract(&qid).await;
    assert_eq!(late["code"], "not_open", "{late}");
    let r = nodes[0]
        .results_until(&s, |r| tally_of(r, &qid)["voters"] == 1)
        .await;
    assert_eq!(counts(&tally_of(&r, &qid)), vec![1, 0]);

    // A timer that has not run out takes votes.
    let (status, v) = nodes[0]
        .open_question_with(&s, &qid, json!({"duration_s": 600}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    phone
        .recv_until("the new timer", |v| {
            v["type"] == "question" && v["question"]["closes_at"].is_i64()
        })
        .await;
    assert_eq!(phone.vote(&qid, json!(1)).await["type"], "ack");
}

// ---- sessions do not pile up (--session-ttl-days) ------------------------------

/// The keys Redis holds for a session (its slots' too, with
/// `--redis-slots`).
async fn keys_of(redis: &Redis, code: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("{{{code}[}}.]*"))
        .query_async(&mut redis_conn(redis).await)
        .await
        .unwrap()
}

/// Waits (up to 20 s) until no node serves the session and Redis holds
/// none of its keys, nor its activity record.
async fn expired_everywhere(redis: &Redis, nodes: &[&TestApp], code: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut gone = keys_of(redis, code).await.is_empty();
        let active: Option<f64> = redis::cmd("ZSCORE")
            .arg("handsup:active")
            .arg(code)
            .query_async(&mut redis_conn(redis).await)
            .await
            .unwrap();
        gone &= active.is_none();
        for node in nodes {
            let (status, _) = node.session_view(code, None).await;
            gone &= status == StatusCode::NOT_FOUND;
        }
        if gone {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{code} did not expire: keys {:?}",
            keys_of(redis, code).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_idle_session_expires_on_every_node_and_one_with_a_phone_stays() {
    let redis = Redis::start();
    let nodes: Vec<TestApp> = (0..2)
        .map(|_| spawn_node(&redis, &["--session-ttl-s", "2"]))
        .collect();
    // The idle one has a vote (ballot and count keys) and is held by both nodes.
    let (idle, qid) = open_session(&nodes[0], &["A", "B"]).await;
    let (mut voter, _) = nodes[1].join(&idle.code, "audience", None).await;
    assert_eq!(voter.vote(&qid, json!(0)).await["type"], "ack");
    drop(voter);
    assert!(keys_of(&redis, &idle.code).await.len() >= 4);
    // The held one was made on one node; its phone is on the other.
    let (held, held_q) = open_session(&nodes[1], &["C", "D"]).await;
    let (mut phone, _) = nodes[0].join(&held.code, "audience", None).await;

    expired_everywhere(&redis, &[&nodes[0], &nodes[1]], &idle.code).await;
    // Past the time-to-live three times over, the one with a phone stays.
    phone
        .assert_none(Duration::from_secs(6), |v| v["type"] == "ended")
        .await;
    for node in &nodes {
        let (status, _) = node.session_view(&held.code, None).await;
        assert_eq!(status, StatusCode::OK, "through {}", node.base);
    }
    assert!(keys_of(&redis, &held.code).await.len() >= 4);
    assert_eq!(phone.vote(&held_q, json!(1)).await["type"], "ack");
}

#[tokio::test]
async fn a_session_made_before_a_restart_expires_once_idle() {
    let redis = Redis::start();
    let mut before = spawn_node(&redis, &[]);
    let (s, _) = open_session(&before, &["A", "B"]).await;
    before.terminate();
    assert!(!keys_of(&redis, &s.code).await.is_empty());

    let after = spawn_node(&redis, &["--session-ttl-s", "2"]);
    expired_everywhere(&redis, &[&after], &s.code).await;
}

#[tokio::test]
async fn idle_sessions_expire_on_every_shard_of_a_redis_cluster() {
    let redis = crate::redis::RedisShards::start();
    let urls = redis.urls();
    let args = ["--redis-cluster", "--redis", &urls, "--session-ttl-s", "2"];
    let nodes: Vec<TestApp> = (0..2)
        .map(|_| crate::support::spawn_process(&args))
        .collect();
    let (held, held_q) = open_session(&nodes[0], &["Stay", "Go"]).await;
    let (mut phone, _) = nodes[1].join(&held.code, "audience", None).await;
    let mut idle = Vec::new();
    for round in 0..6 {
        let (s, qid) = open_session(&nodes[round % 2], &["One", "Two"]).await;
        let (mut a, _) = nodes[(round + 1) % 2].join(&s.code, "audience", None).await;
        assert_eq!(a.vote(&qid, json!(0)).await["type"], "ack");
        idle.push(s.code);
    }
    // Each shard's own keys of a session (KEYS answers for one shard only).
    let keys_on_shards = |code: String| {
        let shards: Vec<String> = redis.shards.iter().map(|s| s.url()).collect();
        async move {
            let mut all: Vec<String> = Vec::new();
            for url in shards {
                let mut c = redis::Client::open(url)
                    .unwrap()
                    .get_multiplexed_async_connection()
                    .await
                    .unwrap();
                let mut some: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{{{code}[}}.]*"))
                    .query_async(&mut c)
                    .await
                    .unwrap();
                all.append(&mut some);
            }
            all
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for code in &idle {
        loop {
            let left = keys_on_shards(code.clone()).await;
            if left.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{code} did not expire: {left:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for node in &nodes {
            gone_from(node, code).await;
        }
    }
    phone
        .assert_none(Duration::from_secs(4), |v| v["type"] == "ended")
        .await;
    assert!(!keys_on_shards(held.code.clone()).await.is_empty());
    assert_eq!(phone.vote(&held_q, json!(0)).await["type"], "ack");
}

#[tokio::test]
async fn links_made_and_revoked_on_one_node_count_on_every_node_at_once() {
    let redis = Redis::start();
    let nodes = three_nodes(&redis);
    let (s, qid) = open_session(&nodes[0], &["Yes", "No"]).await;
    let links = format!("/api/sessions/{}/links", s.code);
    let mint = |node: &TestApp, body: Value| {
        let req = node
            .http
            .post(node.url(&links))
            .bearer_auth(&s.token)
            .json(&body);
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::CREATED);
            resp.json::<Value>().await.unwrap()
        }
    };
    // Made through node 1, used through node 2 at once.
    let presenter = mint(&nodes[0], json!({"role": "presenter"})).await;
    let token = presenter["token"].as_str().unwrap().to_owned();
    let (status, v) = nodes[1]
        .question_action_as(&s.code, &qid, "reveal", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _) = nodes[1]
        .add_question_as(
            &s.code,
            Some(&token),
            json!({"kind": "open", "prompt": "Why?"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (mut remote, w) = nodes[2].join(&s.code, "moderator", Some(&token)).await;
    assert_eq!(w["scope"], "presenter");

    // An interpreter on node 3 translates; a phone on node 2 sees it.
    let (mut phone, _) = nodes[1].join(&s.code, "audience", None).await;
    let ack = phone
        .call(json!({"type": "ask", "text": "Who decides?"}))
        .await;
    assert_eq!(ack["type"], "ack");
    let item = phone.recv_type("qa_item").await["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let interpreter = mint(&nodes[0], json!({"role": "interpreter", "lang": "fr"})).await;
    let (mut booth, _) = nodes[2]
        .join(&s.code, "moderator", interpreter["token"].as_str())
        .await;
    let ack = booth
        .call(json!({"type": "qa_translate", "item_id": item, "text": "Qui décide ?"}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let seen = phone
        .recv_until("the translation", |v| {
            v["type"] == "qa_item" && v["item"]["translations"]["fr"] == "Qui décide ?"
        })
        .await;
    assert_eq!(seen["item"]["text"], "Who decides?");

    // Revoked through node 2: the socket on node 3 closes with 4401, and
    // the token is refused by every node.
    let revoke = nodes[1]
        .http
        .delete(nodes[1].url(&format!("{links}/{}", presenter["id"].as_str().unwrap())))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_eq!(remote.closed().await, Some(4401));
    for node in &nodes {
        let (status, _) = node
            .question_action_as(&s.code, &qid, "hide", Some(&token), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
