//! Results by group in cluster mode: phones on two nodes answer a segment
//! question and questions broken down by it; a participant changing their
//! segment answer through the other node moves all their ballots, and every
//! moderator, projector and the results of either node show the same exact
//! groups, the anonymity floor applied. On one Redis, and on a Redis
//! Cluster with the session's ballots spread over its shards.

use crate::redis::{spawn_node, Redis, RedisShards};
use crate::support::{spawn_process, Session, TestApp, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// One phone of the room: its socket and token, its group (the segment
/// answer), its answer to the yes/no question and to the scale.
struct Phone {
    ws: Ws,
    token: String,
    /// Joined through node A (else B).
    on_a: bool,
    group: usize,
    yes: usize,
    urgency: u64,
}

/// Each group of the yes/no question: its voters, and its counts.
type YesNo = Vec<(u64, [u64; 2])>;
/// Each group of the scale: its voters, and the sum of their answers.
type Scale = Vec<(u64, u64)>;

/// The groups of the yes/no question and of the scale, as the room's
/// answers make them.
fn model(phones: &[Phone]) -> (YesNo, Scale) {
    let mut yes_no = vec![(0u64, [0u64; 2]); 3];
    let mut scale = vec![(0u64, 0u64); 3];
    for p in phones {
        yes_no[p.group].0 += 1;
        yes_no[p.group].1[p.yes] += 1;
        scale[p.group].0 += 1;
        scale[p.group].1 += p.urgency;
    }
    (yes_no, scale)
}

fn voters(groups: &Value) -> Vec<Option<u64>> {
    groups
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|g| g["voters"].as_u64())
        .collect()
}

/// The groups a tally should carry under the floor `min_group`, from the
/// model: the voters shown, `None` where suppressed (`shown`).
fn expected(model: &[(u64, [u64; 2])], shown: &[bool]) -> Vec<Option<u64>> {
    model
        .iter()
        .zip(shown)
        .map(|((n, _), s)| s.then_some(*n))
        .collect()
}

/// The groups of the yes/no question match the model where shown, counts
/// included, and suppressed groups carry no counts.
fn matches(groups: &Value, model: &[(u64, [u64; 2])], shown: &[bool]) -> bool {
    voters(groups) == expected(model, shown)
        && groups.as_array().is_some_and(|gs| {
            gs.iter().zip(model).zip(shown).all(|((g, (_, c)), s)| {
                if *s {
                    g["counts"] == json!(c)
                } else {
                    g["suppressed"] == true && g.get("counts").is_none()
                }
            })
        })
}

/// The scale's groups match the model (every group shown).
fn scale_matches(groups: &Value, model: &[(u64, u64)]) -> bool {
    groups.as_array().is_some_and(|gs| {
        gs.len() == model.len()
            && gs.iter().zip(model).all(|(g, (n, sum))| {
                g["voters"] == *n && g["mean"].as_f64() == Some(*sum as f64 / *n as f64)
            })
    })
}

/// Moves `phone` to segment option `to` through `node`, as its participant
/// (the same token), and updates the model.
async fn change_group(node: &TestApp, code: &str, seg: &str, phone: &mut Phone, to: usize) {
    let (mut ws, w) = node.join(code, "audience", Some(&phone.token)).await;
    assert_eq!(w["ballots"][seg], json!(phone.group), "{w}");
    assert_eq!(ws.vote(seg, json!(to)).await["type"], "ack");
    phone.ws = ws;
    phone.group = to;
}

async fn set_min_group(node: &TestApp, s: &Session, n: u64) {
    let r = node
        .patch_session(
            &s.code,
            Some(&s.token),
            json!({"settings": {"min_group": n}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{:?}", r.1);
}

/// The whole scenario, on two nodes sharing one store.
async fn groups_stay_exact_across(a: &TestApp, b: &TestApp) {
    let s = a
        .create_session(json!({"title": "Forum", "questions": [
            {"kind": "single", "prompt": "Which group are you?", "segment": true,
             "options": ["Government", "Civil society", "Private sector"]},
            {"kind": "single", "prompt": "Support the text?", "options": ["Yes", "No"]},
            {"kind": "scale", "prompt": "How urgent?", "min": 1, "max": 5}
        ]}))
        .await;
    let (mut mod_a, w) = a.join(&s.code, "moderator", Some(&s.token)).await;
    let (seg, q, scale) = (
        s.qid(&w["session"], 0),
        s.qid(&w["session"], 1),
        s.qid(&w["session"], 2),
    );
    let (mut mod_b, _) = b.join(&s.code, "moderator", Some(&s.token)).await;
    for id in [&seg, &q, &scale] {
        assert_eq!(mod_a.act("open", id).await["type"], "ack");
    }
    // The projector on node B shows the yes/no question by group, set on A.
    let ack = mod_a
        .call(json!({"type": "breakdown", "question_id": q, "by": seg}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(mod_a.act("reveal", &q).await["type"], "ack");
    let (mut screen_b, _) = b.join(&s.code, "projector", None).await;
    let (mut screen_a, _) = a.join(&s.code, "projector", None).await;

    // 8 from governments, 7 from civil society and 6 from the private
    // sector, every other phone on the other node.
    let mut phones: Vec<Phone> = Vec::new();
    for (group, n) in [(0usize, 8usize), (1, 7), (2, 6)] {
        for i in 0..n {
            let on_a = phones.len().is_multiple_of(2);
            let node = if on_a { a } else { b };
            let (mut ws, w) = node.join(&s.code, "audience", None).await;
            let (yes, urgency) = (i % 2, 1 + (i as u64 * 3 + group as u64) % 5);
            assert_eq!(ws.vote(&seg, json!(group)).await["type"], "ack");
            assert_eq!(ws.vote(&q, json!(yes)).await["type"], "ack");
            assert_eq!(ws.vote(&scale, json!(urgency)).await["type"], "ack");
            phones.push(Phone {
                ws,
                token: w["participant_token"].as_str().unwrap().to_owned(),
                on_a,
                group,
                yes,
                urgency,
            });
        }
    }
    let all = [true; 3];
    let (m, _) = model(&phones);
    assert_eq!(expected(&m, &all), [Some(8), Some(7), Some(6)]);
    for console in [&mut mod_a, &mut mod_b] {
        console
            .tally_where(&q, |t| {
                t["voters"] == 21 && matches(&t["groups_by"][&seg], &m, &all)
            })
            .await;
    }
    for screen in [&mut screen_a, &mut screen_b] {
        screen
            .tally_where(&q, |t| matches(&t["groups"], &m, &all))
            .await;
    }

    // The scale closes: its groups still follow a segment answer that moves.
    assert_eq!(mod_a.act("close", &scale).await["type"], "ack");

    // A phone of node A, in the private sector, says it is in government
    // through node B; one of node B's moves to civil society through A.
    let from_a = phones.iter().position(|p| p.group == 2 && p.on_a).unwrap();
    change_group(b, &s.code, &seg, &mut phones[from_a], 0).await;
    let (m, sm) = model(&phones);
    assert_eq!(expected(&m, &all), [Some(9), Some(7), Some(5)]);
    for console in [&mut mod_a, &mut mod_b] {
        console
            .tally_where(&q, |t| matches(&t["groups_by"][&seg], &m, &all))
            .await;
        console
            .tally_where(&scale, |t| scale_matches(&t["groups_by"][&seg], &sm))
            .await;
    }
    for screen in [&mut screen_a, &mut screen_b] {
        screen
            .tally_where(&q, |t| matches(&t["groups"], &m, &all))
            .await;
    }
    let from_b = phones
        .iter()
        .rposition(|p| p.group == 2 && !p.on_a)
        .unwrap();
    change_group(a, &s.code, &seg, &mut phones[from_b], 1).await;

    // Private sector is down to 4, under the floor of 5: suppressed, and
    // the smallest group shown (civil society, 8) with it, on every screen.
    let (m, sm) = model(&phones);
    assert_eq!(expected(&m, &all), [Some(9), Some(8), Some(4)]);
    let floor = [true, false, false];
    for console in [&mut mod_a, &mut mod_b] {
        let t = console
            .tally_where(&q, |t| matches(&t["groups_by"][&seg], &m, &floor))
            .await;
        assert_eq!(t["voters"], 21);
    }
    for screen in [&mut screen_a, &mut screen_b] {
        let t = screen
            .tally_where(&q, |t| matches(&t["groups"], &m, &floor))
            .await;
        assert!(
            t["groups_by"].is_null(),
            "the projector sees the chosen one"
        );
    }

    // The results of either node: the same groups, the floor applied.
    let pick = |r: &Value, i: usize| r["questions"][i]["tally"]["groups_by"][&seg].clone();
    let ra = a
        .results_until(&s, |r| matches(&pick(r, 1), &m, &floor))
        .await;
    let rb = b
        .results_until(&s, |r| matches(&pick(r, 1), &m, &floor))
        .await;
    assert_eq!(pick(&ra, 1), pick(&rb, 1));
    assert_eq!(pick(&ra, 2), pick(&rb, 2));
    assert_eq!(voters(&pick(&ra, 2)), [Some(9), None, None]);

    // With the floor off, every group in full, live and in the results.
    set_min_group(b, &s, 1).await;
    for console in [&mut mod_a, &mut mod_b] {
        console
            .tally_where(&q, |t| matches(&t["groups_by"][&seg], &m, &all))
            .await;
        console
            .tally_where(&scale, |t| scale_matches(&t["groups_by"][&seg], &sm))
            .await;
    }
    for node in [a, b] {
        let r = node
            .results_until(&s, |r| {
                matches(&pick(r, 1), &m, &all) && scale_matches(&pick(r, 2), &sm)
            })
            .await;
        assert!(
            pick(&r, 0).is_null(),
            "a segment is not broken down by itself"
        );
    }

    // A retracted segment answer takes the participant out of every group.
    let leaving = &mut phones[0];
    let r = a.delete_ballot(&s.code, &seg, &leaving.token).await;
    assert!(r.0.is_success(), "{:?}", r.1);
    let gone = phones.remove(0);
    let (m, _) = model(&phones);
    for console in [&mut mod_a, &mut mod_b] {
        let t = console
            .tally_where(&q, |t| matches(&t["groups_by"][&seg], &m, &all))
            .await;
        assert_eq!(t["voters"], 21, "the ballot itself stays");
    }
    drop(gone);

    // A reset of the question empties its groups on every node (the
    // ballots go, the counts of changes stay: the log tells of it), and
    // the next ballot is counted in its group again.
    assert_eq!(mod_b.act("reset", &q).await["type"], "ack");
    for console in [&mut mod_a, &mut mod_b] {
        console
            .tally_where(&q, |t| {
                t["voters"] == 0 && voters(&t["groups_by"][&seg]) == [None, None, None]
            })
            .await;
    }
    let again = &mut phones[3];
    assert_eq!(again.ws.vote(&q, json!(1)).await["type"], "ack");
    let mut one = vec![(0u64, [0u64; 2]); 3];
    one[again.group] = (1, [0, 1]);
    let shown: Vec<bool> = one.iter().map(|(n, _)| *n > 0).collect();
    for console in [&mut mod_a, &mut mod_b] {
        console
            .tally_where(&q, |t| matches(&t["groups_by"][&seg], &one, &shown))
            .await;
    }

    // A reset of the segment leaves no one in any group: a ballot cast
    // after it is in none, until its participant answers the segment again.
    assert_eq!(mod_a.act("reset", &seg).await["type"], "ack");
    for console in [&mut mod_a, &mut mod_b] {
        console
            .tally_where(&q, |t| {
                t["voters"] == 1 && voters(&t["groups_by"][&seg]) == [None, None, None]
            })
            .await;
    }
    let again = &mut phones[3];
    assert_eq!(again.ws.vote(&q, json!(0)).await["type"], "ack");
    let other = &mut phones[4];
    assert_eq!(other.ws.vote(&q, json!(1)).await["type"], "ack");
    for console in [&mut mod_a, &mut mod_b] {
        let t = console.tally_where(&q, |t| t["voters"] == 2).await;
        assert_eq!(voters(&t["groups_by"][&seg]), [None, None, None], "{t}");
    }
    assert_eq!(phones[3].ws.vote(&seg, json!(2)).await["type"], "ack");
    let mut one = vec![(0u64, [0u64; 2]); 3];
    one[2] = (1, [1, 0]);
    for console in [&mut mod_a, &mut mod_b] {
        console
            .tally_where(&q, |t| {
                matches(&t["groups_by"][&seg], &one, &[false, false, true])
            })
            .await;
    }
}

#[tokio::test]
async fn groups_are_exact_on_every_node_as_participants_move_between_them() {
    let redis = Redis::start();
    let (a, b) = (spawn_node(&redis, &[]), spawn_node(&redis, &[]));
    groups_stay_exact_across(&a, &b).await;
}

#[tokio::test]
async fn groups_are_exact_with_the_ballots_spread_over_the_shards_of_a_redis_cluster() {
    let redis = RedisShards::start();
    let urls = redis.urls();
    let args = ["--redis-cluster", "--redis", &urls, "--redis-slots", "6"];
    let (a, b) = (spawn_process(&args), spawn_process(&args));
    groups_stay_exact_across(&a, &b).await;
}
