//! The journal: what was acked survives a crash, a torn record, a restart.

use std::fs;
use std::process::Command;

use crate::support::*;
use serde_json::json;

fn segments(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

fn verify(dir: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handsup"))
        .arg("verify")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn votes_acked_before_a_kill_9_are_there_after_restart() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (s, qid) = app.session_with_open_question(&["A", "B", "C"]).await;
    let mut tokens = Vec::new();
    for i in 0..12 {
        let (mut phone, w) = app.join(&s.code, "audience", None).await;
        assert_eq!(phone.vote(&qid, json!(i % 3)).await["type"], "ack");
        tokens.push((
            w["participant_id"].clone(),
            w["participant_token"].as_str().unwrap().to_owned(),
        ));
    }
    app.kill9();

    let app = spawn_durable(&dir, &[]);
    let results = app.results(&s).await;
    assert_eq!(counts(&results["questions"][0]["tally"]), vec![4, 4, 4]);
    assert_eq!(results["questions"][0]["state"], "open");
    // Tokens still work: the same phone, its ballot, and a changed vote counted once.
    let (id, token) = &tokens[0];
    let (mut phone, w) = app.join(&s.code, "audience", Some(token)).await;
    assert_eq!(&w["participant_id"], id);
    assert_eq!(w["ballots"][&qid], json!(0));
    assert_eq!(phone.vote(&qid, json!(2)).await["type"], "ack");
    let results = app.results(&s).await;
    assert_eq!(counts(&results["questions"][0]["tally"]), vec![3, 4, 5]);
    assert_eq!(results["questions"][0]["tally"]["voters"], 12);
    let (mut moderator, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    assert_eq!(moderator.act("close", &qid).await["type"], "ack");
}

#[tokio::test]
async fn a_torn_last_record_is_cut_off_and_the_server_starts() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&qid, json!(1)).await;
    app.kill9();
    // Half a record at the end, as a power cut mid-write leaves it.
    let last = segments(&dir).pop().unwrap();
    let mut bytes = fs::read(&last).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3]);
    fs::write(&last, &bytes).unwrap();

    let app = spawn_durable(&dir, &[]);
    let results = app.results(&s).await;
    assert_eq!(counts(&results["questions"][0]["tally"]), vec![0, 1]);
    assert!(verify(&dir).0, "after the cut, the journal is sound");
}

#[tokio::test]
async fn sigterm_exits_0_and_loses_nothing() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&qid, json!(0)).await;
    let status = app.terminate();
    assert!(status.success(), "{status:?}");
    assert_eq!(phone.closed().await, Some(1001));
    let app = spawn_durable(&dir, &[]);
    assert_eq!(
        counts(&app.results(&s).await["questions"][0]["tally"]),
        vec![1, 0]
    );
}

#[tokio::test]
async fn verify_recomputes_the_digest_and_finds_a_flipped_byte() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (s, qid) = app.session_with_open_question(&["Peer", "Training"]).await;
    for c in [0, 1, 1] {
        let (mut phone, _) = app.join(&s.code, "audience", None).await;
        phone.vote(&qid, json!(c)).await;
    }
    let digest = app.results(&s).await["session"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    app.terminate();
    let (ok, report) = verify(&dir);
    assert!(ok, "{report}");
    assert!(
        report.contains(&digest),
        "the digest of the results is in the report:\n{report}"
    );
    assert!(report.contains("\"counts\":[1,2]"), "{report}");

    let seg = segments(&dir).pop().unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    fs::write(&seg, &bytes).unwrap();
    let (ok, report) = verify(&dir);
    assert!(!ok, "{report}");
    assert!(report.contains("PROBLEM"), "{report}");
}

#[tokio::test]
async fn a_timer_that_ran_out_while_down_closes_on_start() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (status, _) = app
        .open_question_with(&s, &qid, json!({"duration_s": 1}))
        .await;
    assert_eq!(status, 200);
    app.kill9();
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let app = spawn_durable(&dir, &[]);
    let mut state = json!(null);
    for _ in 0..40 {
        state = app.results(&s).await["questions"][0]["state"].clone();
        if state == "closed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "closed");
}

#[tokio::test]
async fn restarts_compact_the_journal_into_one_segment() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&qid, json!(1)).await;
    app.terminate();
    for _ in 0..3 {
        let mut app = spawn_durable(&dir, &[]);
        assert_eq!(
            counts(&app.results(&s).await["questions"][0]["tally"]),
            vec![0, 1]
        );
        app.terminate();
    }
    assert_eq!(segments(&dir).len(), 1, "{:?}", segments(&dir));
    assert!(verify(&dir).0);
}

/// What one phone of the crash loop has seen: its last acked choice and the
/// one in flight when the server died.
#[derive(Clone, Copy, Default, Debug)]
struct PhoneState {
    acked: Option<i64>,
    in_flight: Option<i64>,
}

/// Phones here vote as fast as acks come back: lift the per-connection rate.
const FAST: &[&str] = &["--rate-per-sec", "100000", "--rate-burst", "100000"];

#[tokio::test]
async fn a_crash_loop_never_loses_an_acked_vote() {
    use rand::Rng;
    use std::sync::{Arc, Mutex};

    let dir = temp_dir();
    let mut app = spawn_durable(&dir, FAST);
    let (s, qid) = app.session_with_open_question(&["A", "B", "C", "D"]).await;
    let mut tokens = Vec::new();
    for _ in 0..16 {
        let (_, w) = app.join(&s.code, "audience", None).await;
        tokens.push(w["participant_token"].as_str().unwrap().to_owned());
    }
    let states = Arc::new(Mutex::new(vec![PhoneState::default(); tokens.len()]));
    let acks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for round in 0..5 {
        // Every phone votes again and again, each vote after the last ack.
        let mut tasks = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let (mut phone, _) = app.join(&s.code, "audience", Some(token)).await;
            let (states, qid, acks) = (states.clone(), qid.clone(), acks.clone());
            tasks.push(tokio::spawn(async move {
                for n in 0.. {
                    let choice = rand::thread_rng().gen_range(0..4i64);
                    states.lock().unwrap()[i].in_flight = Some(choice);
                    let msg = json!({"type": "vote", "question_id": qid, "choice": choice, "ref": format!("v{n}")});
                    if phone.stream_send(msg).await.is_err() {
                        return;
                    }
                    match phone.answer(&format!("v{n}")).await {
                        Some(a) if a["type"] == "ack" => {
                            let mut st = states.lock().unwrap();
                            st[i] = PhoneState { acked: Some(choice), in_flight: None };
                            acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Some(a) => panic!("vote refused: {a}"),
                        None => return,
                    }
                }
            }));
        }
        let wait = rand::thread_rng().gen_range(150..600);
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        app.kill9();
        for t in tasks {
            t.await.unwrap();
        }
        app = spawn_durable(&dir, FAST);
        // Every phone's ballot is its last acked vote, or the one in flight.
        let snapshot = states.lock().unwrap().clone();
        let mut acked_total = 0;
        for (i, token) in tokens.iter().enumerate() {
            let (_, w) = app.join(&s.code, "audience", Some(token)).await;
            let counted = w["ballots"][&qid].as_i64();
            let st = snapshot[i];
            assert!(
                counted == st.acked || (st.in_flight.is_some() && counted == st.in_flight),
                "round {round}, phone {i}: counted {counted:?}, acked {:?}, in flight {:?}",
                st.acked,
                st.in_flight
            );
            // What is counted now is what the next round starts from.
            states.lock().unwrap()[i] = PhoneState {
                acked: counted,
                in_flight: None,
            };
            acked_total += usize::from(counted.is_some());
        }
        let results = app.results(&s).await;
        assert_eq!(
            results["questions"][0]["tally"]["voters"], acked_total,
            "round {round}"
        );
        let sum: u64 = counts(&results["questions"][0]["tally"]).iter().sum();
        assert_eq!(sum as usize, acked_total);
    }
    // The loop did vote under fire: many acks, each checked above.
    assert!(
        acks.load(std::sync::atomic::Ordering::Relaxed) > 200,
        "{acks:?}"
    );
}

#[tokio::test]
async fn a_downloaded_session_journal_verifies_offline_and_a_flipped_byte_fails() {
    let dir = temp_dir();
    let app = spawn_durable(&dir, &[]);
    let (s, qid) = app
        .session_with_open_question(&["Peer", "Training", "Both"])
        .await;
    let (other, other_q) = app.session_with_open_question(&["X", "Y"]).await;
    for c in [0, 1, 1, 2, 1] {
        let (mut phone, _) = app.join(&s.code, "audience", None).await;
        assert_eq!(phone.vote(&qid, json!(c)).await["type"], "ack");
    }
    let (mut phone, _) = app.join(&other.code, "audience", None).await;
    assert_eq!(phone.vote(&other_q, json!(1)).await["type"], "ack");
    let (status, _) = app
        .patch_session(
            &s.code,
            Some(&s.token),
            json!({"settings": {"show_digest": true}}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let results = app.results(&s).await;
    let digest = results["session"]["digest"].as_str().unwrap().to_owned();
    assert_eq!(counts(&results["questions"][0]["tally"]), vec![1, 3, 1]);

    let resp = app.journal(&s.code, Some(&s.token)).await;
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let bytes = resp.bytes().await.unwrap().to_vec();
    let file = dir.join(format!("handsup-{}.journal", s.code));
    fs::write(&file, &bytes).unwrap();

    // The binary, on the file alone, with the server still running.
    let (ok, report) = verify(&file);
    assert!(ok, "{report}");
    assert!(report.contains("1 sessions"), "{report}");
    assert!(report.contains(&format!("session {}", s.code)), "{report}");
    assert!(!report.contains(&other.code), "{report}");
    assert!(
        report.contains(&format!("digest {digest}")),
        "the digest of the results is in the report:\n{report}"
    );
    assert!(report.contains("\"counts\":[1,3,1]"), "{report}");
    assert!(report.contains("journal sound"), "{report}");

    // After a restart (which may compact the session into a snapshot) the
    // setting is back, and a new download verifies to the digest shown now.
    let mut app = app;
    assert!(app.terminate().success());
    let app = spawn_durable(&dir, &[]);
    let (_, view) = app.session_view(&s.code, None).await;
    assert_eq!(view["settings"]["show_digest"], true);
    let now = app.results(&s).await["session"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(view["digest"], now.as_str());
    assert_eq!(
        now, digest,
        "what the room wrote down stays true after a restart"
    );
    let again = app
        .journal(&s.code, Some(&s.token))
        .await
        .bytes()
        .await
        .unwrap();
    let file_again = dir.join("again.journal");
    fs::write(&file_again, &again).unwrap();
    let (ok, report) = verify(&file_again);
    assert!(ok, "{report}");
    assert!(report.contains(&format!("digest {now}")), "{report}");
    assert!(report.contains("\"counts\":[1,3,1]"), "{report}");

    // Any byte flipped, in a header, a hash or a record: the check fails.
    for at in [0, 5, 20, bytes.len() / 2, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        let flipped = dir.join("flipped.journal");
        fs::write(&flipped, &bad).unwrap();
        let (ok, report) = verify(&flipped);
        assert!(!ok, "byte {at} flipped, yet sound:\n{report}");
        assert!(report.contains("journal DAMAGED"), "{report}");
    }
}
