//! Records you can audit: the journal keeps every session it acked, through
//! restarts, compactions, lowered limits and `kill -9`, stays idle when the
//! server is, and `handsup verify` passes on every journal the server wrote
//! and fails, naming session and record, on one that was tampered with.
//!
//! The heavy runs (the two sessions over 64 MiB, the crash loop of 50
//! rounds) are ignored here: `benches/big-session.sh` and
//! `benches/crash-loop.sh` run them on a release build.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use handsup::store::journal;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::server::Server;
use crate::support::*;

/// Phones here send as fast as acks come back: lift the per-connection and
/// per-address limits, which are sized for real rooms.
const FAST: &[&str] = &[
    "--rate-per-sec",
    "1000000",
    "--rate-burst",
    "1000000",
    "--ip-participants-per-sec",
    "1000000",
    "--ip-participants-burst",
    "1000000",
    "--ip-sessions-per-min",
    "1000000",
    "--ip-sessions-burst",
    "1000000",
];

// --- Helpers --------------------------------------------------------------

/// Starts the real binary on `dir`, its log (JSON lines) appended to `log`.
fn spawn_logged(dir: &Path, log: &Path, args: &[&str]) -> TestApp {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_handsup"))
        .args(["serve", "--addr", "127.0.0.1:0", "--log-json", "--data-dir"])
        .arg(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start handsup");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    TestApp::new(port, Server::Process(child))
}

/// The log lines (JSON) of `log` whose message is `message`, in order.
fn log_lines(log: &Path, message: &str) -> Vec<Value> {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == message)
        .collect()
}

/// The replay time (ms) of the last start logged in `log`.
fn last_replay_ms(log: &Path) -> u64 {
    let lines = log_lines(log, "journal replayed");
    let last = lines.last().expect("a \"journal replayed\" line");
    last["fields"]["ms"].as_u64().expect("ms")
}

/// `handsup verify DIR`: its exit code and what it printed.
fn verify(dir: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handsup"))
        .arg("verify")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The lines of a verify report that state a problem.
fn problems(report: &str) -> Vec<&str> {
    report.lines().filter(|l| l.contains("PROBLEM")).collect()
}

/// `word` stands in `text` as a token of its own (not inside a longer number
/// or a hex digest).
fn names(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// The process's CPU time so far (user + system), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which ends with the last ')': state is
    // field 3, utime 14, stime 15.
    let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    let ticks: f64 = rest[11].parse::<f64>().unwrap() + rest[12].parse::<f64>().unwrap();
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    let hz: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0);
    ticks / hz
}

/// The journal's segment files, oldest first.
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    journal::segments(dir)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// Bytes in the journal's segments.
fn journal_bytes(dir: &Path) -> u64 {
    segment_files(dir)
        .iter()
        .map(|p| fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

/// Results as compared across restarts: everything but when they were made
/// and the tallies' `seq` (a counter of what was published, which starts
/// again with the process).
fn lasting(mut results: Value) -> Value {
    results.as_object_mut().unwrap().remove("generated_at");
    for q in results["questions"].as_array_mut().unwrap() {
        q["tally"].as_object_mut().unwrap().remove("seq");
    }
    results
}

/// A participant made over HTTP; its token.
async fn participant(app: &TestApp, code: &str) -> String {
    let (status, body) = app.add_participant(code, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["participant_token"].as_str().unwrap().to_owned()
}

/// A `single` question whose prompt and options are as long as allowed.
fn long_single(i: usize) -> Value {
    let text = |tag: String, n: usize| format!("{tag} {}", "w".repeat(n - tag.len() - 1));
    let options: Vec<String> = (0..12).map(|o| text(format!("{i}.{o}"), 200)).collect();
    json!({"kind": "single", "prompt": text(format!("Q{i}"), 500), "options": options})
}

// --- 2. An idle server stays idle -----------------------------------------

#[tokio::test]
async fn an_idle_server_stays_idle_with_state_over_a_segment() {
    let dir = temp_dir();
    let args = [&["--journal-segment-mb", "1"], FAST].concat();
    let app = spawn_durable(&dir, &args);
    // 30 sessions of about 45 KB each: 1.3 MB of live state, over one segment.
    for n in 0..30 {
        let questions: Vec<Value> = (0..15).map(long_single).collect();
        let s = app
            .create_session(json!({"title": format!("Idle {n}"), "questions": questions}))
            .await;
        let qid = app.question_id(&s, 0).await;
        assert_eq!(
            app.question_action(&s, &qid, "open").await.0,
            StatusCode::OK
        );
        for p in 0..5 {
            let token = participant(&app, &s.code).await;
            let (status, body) = app
                .put_ballot(&s.code, &qid, &token, json!({"choice": p % 12}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    // Idle: no request for two seconds, then ten seconds measured.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = cpu_seconds(app.pid());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let cpu = cpu_seconds(app.pid()) - before;
    println!(
        "idle CPU over 10 s: {cpu:.2} s, journal {} bytes in {} segments",
        journal_bytes(&dir),
        segment_files(&dir).len()
    );
    assert!(
        cpu < 0.5,
        "an idle server used {cpu:.2} s of CPU in 10 s (state over a segment)"
    );
}

// --- 3. Lowering a limit deletes nothing ----------------------------------

#[tokio::test]
async fn lowering_a_limit_keeps_what_was_accepted() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let questions: Vec<Value> = (0..10)
        .map(|i| single(&format!("Question {i}"), &["A", "B", "C"]))
        .collect();
    let s = app
        .create_session(json!({"title": "Ten questions", "questions": questions}))
        .await;
    let (q0, q7) = (app.question_id(&s, 0).await, app.question_id(&s, 7).await);
    for q in [&q0, &q7] {
        assert_eq!(app.question_action(&s, q, "open").await.0, StatusCode::OK);
    }
    for p in 0..4 {
        let token = participant(&app, &s.code).await;
        for q in [&q0, &q7] {
            let (status, body) = app
                .put_ballot(&s.code, q, &token, json!({"choice": p % 3}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    let before = lasting(app.results(&s).await);
    assert!(app.terminate().success());

    for (step, args) in [
        ("--max-questions 5", &["--max-questions", "5"][..]),
        ("defaults", &[]),
    ] {
        let mut app = spawn_durable(&dir, args);
        let (status, view) = app.session_view(&s.code, Some(&s.token)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "after a restart with {step}: {view}"
        );
        assert_eq!(
            view["questions"].as_array().unwrap().len(),
            10,
            "after a restart with {step}"
        );
        let after = lasting(app.results(&s).await);
        assert_eq!(
            after["questions"], before["questions"],
            "questions and votes after a restart with {step}"
        );
        assert_eq!(after, before, "results after a restart with {step}");
        assert!(app.terminate().success());
    }
}

// --- 4. verify passes on what the server wrote, fails on tampering --------

/// `phones` phones answer the `open` question `qid` `each` times (270
/// characters: a segment of 1 MiB fills in about 2,400 answers), each
/// after the last ack; answers the number of acks.
async fn answer_flat_out(
    app: &TestApp,
    code: &str,
    qid: &str,
    phones: usize,
    each: usize,
) -> usize {
    let mut tasks = Vec::new();
    for i in 0..phones {
        let (mut phone, _) = app.join(code, "audience", None).await;
        let qid = qid.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut acks = 0;
            for n in 0..each {
                let r = format!("v{n}");
                let text = format!("phone {i:03} answer {n:03} {}", "o".repeat(250));
                phone
                    .send(json!({"type": "vote", "question_id": qid, "choice": text, "ref": r}))
                    .await;
                let a = phone.answer(&r).await.expect("an answer");
                assert_eq!(a["type"], "ack", "{a}");
                acks += 1;
            }
            acks
        }));
    }
    let mut acks = 0;
    for t in tasks {
        acks += t.await.unwrap();
    }
    acks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_after_compactions_under_load() {
    let mut damaged = Vec::new();
    for run in 1..=3 {
        let dir = temp_dir();
        let log = dir.with_extension("log");
        let args = [&["--journal-segment-mb", "1"], FAST].concat();
        let mut app = spawn_logged(&dir, &log, &args);
        let s = app
            .create_session(
                json!({"title": "Under load", "questions": [{"kind": "open", "prompt": "Why?"}]}),
            )
            .await;
        let qid = app.question_id(&s, 0).await;
        assert_eq!(
            app.question_action(&s, &qid, "open").await.0,
            StatusCode::OK
        );
        let started = Instant::now();
        let acks = answer_flat_out(&app, &s.code, &qid, 80, 40).await;
        let took = started.elapsed();
        assert_eq!(acks, 3_200);
        assert!(app.terminate().success());
        // The start compacts once; the rest were compactions under load.
        let compactions = log_lines(&log, "journal compacted").len();
        println!(
            "run {run}: {acks} answers in {:.1} s, {} compactions under load",
            took.as_secs_f64(),
            compactions.saturating_sub(1)
        );
        assert!(compactions >= 2, "run {run}: no compaction under load");
        let (code, report) = verify(&dir);
        if !(code == Some(0) && report.contains("journal sound")) {
            let problems = problems(&report);
            damaged.push(format!(
                "run {run}: verify exited {code:?} with {} problems, the first: {}",
                problems.len(),
                problems.first().unwrap_or(&"")
            ));
        }
    }
    assert!(
        damaged.is_empty(),
        "verify failed on journals the server wrote:\n{}",
        damaged.join("\n")
    );
}

/// A journal of one session: created, a question opened, five phones joined,
/// then five votes. Answers the session's code and the votes' frames.
async fn five_votes(dir: &Path) -> (String, Vec<journal::Frame>, Vec<usize>) {
    let mut app = spawn_durable(dir, &[]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(participant(&app, &s.code).await);
    }
    for (i, token) in tokens.iter().enumerate() {
        let (status, _) = app
            .put_ballot(&s.code, &qid, token, json!({"choice": i % 2}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert!(app.terminate().success());
    let (code, report) = verify(dir);
    assert_eq!(code, Some(0), "{report}");
    let segs = segment_files(dir);
    assert_eq!(segs.len(), 1, "{segs:?}");
    let (frames, damage) = journal::read_segment(&segs[0]).unwrap();
    assert!(damage.is_empty());
    let votes: Vec<usize> = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            // Votes name their participant by id: read the record's kind.
            let rec: serde_json::Value = serde_json::from_slice(&f.json).unwrap();
            rec["e"] == "vote" && rec["code"] == s.code.as_str()
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(votes.len(), 5);
    (s.code, frames, votes)
}

/// Writes `frames` as the only segment of a copy of the data directory;
/// answers the copy and each frame's new offset.
fn rewrite(frames: &[&journal::Frame], name: &str) -> (PathBuf, Vec<u64>) {
    let dir = temp_dir().join(name);
    fs::create_dir_all(&dir).unwrap();
    let mut bytes = Vec::new();
    let mut offsets = Vec::new();
    for f in frames {
        offsets.push(bytes.len() as u64);
        // Framed again with a correct checksum: only the chain can tell.
        bytes.extend(journal::encode(&f.hash, &f.json));
    }
    fs::write(dir.join("journal-00000001.log"), bytes).unwrap();
    (dir, offsets)
}

/// What is wrong with verify's answer on `dir`, which must fail with a
/// problem naming `code` and one of `offsets`; `None` when it does.
fn not_found(dir: &Path, code: &str, offsets: &[u64], what: &str) -> Option<String> {
    let (exit, report) = verify(dir);
    let problems = problems(&report);
    let named = problems
        .iter()
        .any(|p| names(p, code) && offsets.iter().any(|o| names(p, &o.to_string())));
    if exit == Some(1) && report.contains("journal DAMAGED") && named {
        return None;
    }
    Some(format!(
        "{what}: verify exited {exit:?}; a problem must name session {code} and offset {offsets:?}; \
         it said:\n{}",
        if problems.is_empty() { report.clone() } else { problems.join("\n") }
    ))
}

#[tokio::test]
async fn verify_names_a_flipped_byte_a_deleted_record_and_a_swapped_pair() {
    let dir = temp_dir();
    let (code, frames, votes) = five_votes(&dir).await;
    let all: Vec<&journal::Frame> = frames.iter().collect();
    let k = votes[1];
    assert_eq!(votes[2], k + 1, "the votes are consecutive records");

    // One flipped byte in the second vote's choice: `0` and `1` are both
    // valid JSON, so only the checksum can tell.
    let seg = segment_files(&dir).pop().unwrap();
    let flipped = temp_dir().join("flipped");
    fs::create_dir_all(&flipped).unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    let f = &frames[k];
    let c = f.json.windows(4).position(|w| w == b"\"c\":").unwrap();
    let choice = f.offset as usize + 8 + 32 + c + 4;
    assert!(bytes[choice].is_ascii_digit(), "{}", bytes[choice] as char);
    bytes[choice] ^= 0x01;
    fs::write(flipped.join(seg.file_name().unwrap()), &bytes).unwrap();
    let mut wrong = Vec::new();
    wrong.extend(not_found(&flipped, &code, &[f.offset], "one flipped byte"));

    // One deleted record: the second vote.
    let kept: Vec<&journal::Frame> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != k)
        .map(|(_, f)| *f)
        .collect();
    let (deleted, offsets) = rewrite(&kept, "deleted");
    wrong.extend(not_found(
        &deleted,
        &code,
        &[offsets[k]],
        "one deleted record",
    ));

    // One swapped pair: the second and third votes.
    let mut swapped_frames = all.clone();
    swapped_frames.swap(k, k + 1);
    let (swapped, offsets) = rewrite(&swapped_frames, "swapped");
    wrong.extend(not_found(
        &swapped,
        &code,
        &[offsets[k], offsets[k + 1]],
        "one swapped pair",
    ));
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

// --- 1. A big session comes back, whole ----------------------------------

/// A question as big as the limits allow when the server takes large
/// bodies: every text at its length in 4-byte characters, 20 translations.
/// About 240 KB of JSON.
fn heavy_question(i: usize) -> Value {
    let text = |tag: String, n: usize| format!("{tag} {}", "𝄞".repeat(n - tag.len() - 1));
    let labels =
        |l: usize| -> Vec<String> { (0..12).map(|o| text(format!("{i}.{l}.{o}"), 200)).collect() };
    let translations: serde_json::Map<String, Value> = (0..20)
        .map(|l| {
            (
                format!("l{l}"),
                json!({"prompt": text(format!("Q{i}.{l}"), 500), "options": labels(l + 1)}),
            )
        })
        .collect();
    json!({"kind": "single", "prompt": text(format!("Q{i}"), 500), "options": labels(0), "translations": translations})
}

/// Restarts the server on `dir` twice; answers each restart's replay time
/// (ms) and what differed in the results of `s` from `before` (the session
/// gone, its data, its digest), restart by restart.
async fn two_restarts(
    mut app: TestApp,
    dir: &Path,
    log: &Path,
    args: &[&str],
    s: &Session,
    before: &Value,
) -> (Vec<u64>, Vec<String>) {
    let (mut replays, mut wrong) = (Vec::new(), Vec::new());
    for restart in 1..=2 {
        assert!(app.terminate().success());
        app = spawn_logged(dir, log, args);
        replays.push(last_replay_ms(log));
        let (status, body) = app.results_as(&s.code, Some(&s.token)).await;
        if status != StatusCode::OK {
            wrong.push(format!("restart {restart}: the session is gone ({status})"));
            continue;
        }
        let after = lasting(body);
        let data = |v: &Value| {
            let mut v = v.clone();
            v["session"].as_object_mut().unwrap().remove("digest");
            v
        };
        if data(&after) != data(before) {
            wrong.push(format!(
                "restart {restart}: the results differ ({} participants, then {})",
                before["session"]["participants"], after["session"]["participants"]
            ));
        }
        if after["session"]["digest"] != before["session"]["digest"] {
            wrong.push(format!(
                "restart {restart}: the digest changed from {} to {}",
                before["session"]["digest"], after["session"]["digest"]
            ));
        }
    }
    assert!(app.terminate().success());
    (replays, wrong)
}

// A debug build replays and compacts about 3 MB a second here: a session
// over 64 MiB, however it is made, takes minutes. Both tests of finding 1
// are ignored in the suite; `benches/big-session.sh` runs them on a
// release build.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "70 MB through the API and two replays take minutes in a debug build: \
            benches/big-session.sh runs this on a release build"]
async fn a_session_over_64_mib_survives_two_restarts() {
    let dir = temp_dir();
    let log = dir.with_extension("log");
    let args = [
        &[
            "--max-questions",
            "300",
            "--max-body-bytes",
            "1000000",
            "--journal-segment-mb",
            "256",
        ],
        FAST,
    ]
    .concat();
    let app = spawn_logged(&dir, &log, &args);
    let started = Instant::now();
    let s = app
        .create_session(json!({"title": "Seventy megabytes"}))
        .await;
    // 290 questions of 240 KB: a snapshot of about 70 MB, over the 64 MiB
    // that replay accepts of one record.
    for i in 0..290 {
        let (status, body) = app.add_question(&s, heavy_question(i)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let qids: Vec<String> = {
        let (_, view) = app.session_view(&s.code, Some(&s.token)).await;
        (0..3).map(|i| s.qid(&view, i * 100)).collect()
    };
    for q in &qids {
        assert_eq!(app.question_action(&s, q, "open").await.0, StatusCode::OK);
    }
    for p in 0..30 {
        let token = participant(&app, &s.code).await;
        for q in &qids {
            let (status, _) = app
                .put_ballot(&s.code, q, &token, json!({"choice": p % 12}))
                .await;
            assert_eq!(status, StatusCode::OK);
        }
    }
    let before = lasting(app.results(&s).await);
    let built = started.elapsed();
    let written = journal_bytes(&dir);
    let (replays, wrong) = two_restarts(app, &dir, &log, &args, &s, &before).await;
    println!(
        "290 questions of 240 KB: built in {:.1} s, {written} bytes of journal; \
         replayed in {} ms, then {} ms",
        built.as_secs_f64(),
        replays[0],
        replays[1]
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Seven questions of every kind but `open`, all open.
fn seven_questions() -> Value {
    json!([
        single("Where do you work?", &["Government", "NGO", "Academia", "Other"]),
        single("How long?", &["< 1 year", "1-5 years", "> 5 years"]),
        single("Again next year?", &["Yes", "No"]),
        {"kind": "multiple", "prompt": "Topics", "options": ["a", "b", "c", "d", "e"], "max_choices": 2},
        {"kind": "scale", "prompt": "How useful?", "min": 1, "max": 5},
        {"kind": "ranking", "prompt": "Rank", "options": ["x", "y", "z"]},
        {"kind": "wordcloud", "prompt": "One word", "max_words": 2},
    ])
}

fn seven_choices(i: usize) -> [Value; 7] {
    const ORDERS: [[u8; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    [
        json!(i % 4),
        json!(i % 3),
        json!(i % 2),
        if i.is_multiple_of(3) {
            json!([i % 5])
        } else {
            json!([i % 5, (i + 1) % 5])
        },
        json!(1 + i % 5),
        json!(ORDERS[i % 6]),
        json!([format!("word{}", i % 50)]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "100,000 participants through the API take minutes in a debug build: \
            benches/big-session.sh runs this on a release build"]
async fn a_session_of_100000_participants_survives_two_restarts() {
    let n: usize = std::env::var("BIG_PARTICIPANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = temp_dir();
    let log = dir.with_extension("log");
    // Segments of 256 MiB: no compaction while the session is built (once
    // live state passes a segment, today's server compacts without pause,
    // 80 MB each time); the restarts are what this test is about.
    let args = [&["--journal-segment-mb", "256"], FAST].concat();
    let app = spawn_logged(&dir, &log, &args);
    let s = app
        .create_session(json!({"title": "Plenary", "questions": seven_questions()}))
        .await;
    let (_, view) = app.session_view(&s.code, Some(&s.token)).await;
    let qids: Arc<Vec<String>> = Arc::new((0..7).map(|i| s.qid(&view, i)).collect());
    for q in qids.iter() {
        assert_eq!(app.question_action(&s, q, "open").await.0, StatusCode::OK);
    }
    let started = Instant::now();
    let workers = 64;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (http, base, code, qids) = (
            app.http.clone(),
            app.base.clone(),
            s.code.clone(),
            qids.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(workers) {
                let p: Value = http
                    .post(format!("{base}/api/sessions/{code}/participants"))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let token = p["participant_token"].as_str().expect("a participant");
                for (q, choice) in qids.iter().zip(seven_choices(i)) {
                    let resp = http
                        .put(format!("{base}/api/sessions/{code}/questions/{q}/ballot"))
                        .bearer_auth(token)
                        .json(&json!({"choice": choice}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), StatusCode::OK);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let built = started.elapsed();
    let before = lasting(app.results(&s).await);
    assert_eq!(before["session"]["participants"], n);
    // The journal as the restarts find it: every record as written.
    let written = journal_bytes(&dir);
    let (replays, wrong) = two_restarts(app, &dir, &log, &args, &s, &before).await;
    println!(
        "{n} participants x 7 questions: built in {:.1} s, {written} bytes of journal; \
         replayed in {} ms, then {} ms; journal after: {} bytes",
        built.as_secs_f64(),
        replays[0],
        replays[1],
        journal_bytes(&dir)
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// --- 5. The crash loop ----------------------------------------------------

/// The server of the crash loop: segments of 1 MiB, so that compactions
/// happen while phones vote; limits lifted for phones that send as fast as
/// acks come back.
const LOOP: &[&str] = &[
    "--journal-segment-mb",
    "1",
    // Sessions made and deleted by the hundred, then looked up (a deleted
    // one is a miss) from the one address of the test.
    "--ip-misses-per-sec",
    "1000000",
    "--ip-misses-burst",
    "1000000",
    "--max-qa-per-participant",
    "1000000",
    "--max-qa-items",
    "1000000",
];

/// A phone's ballot on one question: the last acked, and what was in flight
/// (a choice, or `Null` for a retract) when the server died.
#[derive(Clone, Debug, Default)]
struct Ballot {
    acked: Value,
    in_flight: Option<Value>,
}

/// One phone of the loop and what it knows was acked.
struct Phone {
    session: usize,
    token: String,
    /// By question id.
    ballots: HashMap<String, Ballot>,
    /// Texts of its acked asks.
    asked: Vec<String>,
    /// Items it upvoted (acked or in flight): never upvoted again.
    tried: HashSet<String>,
}

/// A session the phones use: two open questions (`single`, `open`).
struct Room {
    code: String,
    token: String,
    qids: [String; 2],
    /// By item id: acked upvotes, and upvotes whose ack never came.
    upvotes: HashMap<String, (usize, usize)>,
}

/// What one phone did in a round.
struct PhoneRound {
    phone: Phone,
    acks: usize,
    /// Upvotes by item: true when acked, false when in flight.
    upvoted: Vec<(String, bool)>,
    errors: Vec<String>,
}

/// The figures of a crash loop.
#[derive(Debug, Default)]
struct Figures {
    rounds: usize,
    /// Changes acked: votes, re-votes, retracts, asks, upvotes, sessions.
    acks: usize,
    /// Acked changes not there after the restart.
    lost: usize,
    /// What was lost or wrong, one line each.
    failures: Vec<String>,
    /// Rounds after which `handsup verify` failed, with its problems.
    verify_failures: Vec<String>,
    /// Compactions (besides the one at each start).
    compactions: usize,
    /// Kills that left a torn last record (cut off at the restart).
    torn_tails: usize,
}

/// A copy of the journal's segments in a fresh folder.
fn copy_segments(dir: &Path) -> PathBuf {
    let copy = temp_dir();
    for seg in segment_files(dir) {
        fs::copy(&seg, copy.join(seg.file_name().unwrap())).unwrap();
    }
    copy
}

/// What a phone's message changes once acked.
enum Op {
    /// The ballot on a question: a choice, or `Null` for a retract.
    Ballot(String, Value),
    /// An item asked, by its text.
    Ask(String),
    /// An item upvoted, by its id.
    Upvote(String),
}

/// One phone acting until the server dies: votes, re-votes, retracts,
/// asks, upvotes, each after the ack of the one before.
async fn phone_round(
    mut ws: Ws,
    mut phone: Phone,
    qids: [String; 2],
    items: Arc<Vec<String>>,
    tag: String,
    seed: u64,
) -> PhoneRound {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut acks, mut upvoted, mut errors) = (0, Vec::new(), Vec::new());
    for n in 0.. {
        let r = format!("x{n}");
        let roll = rng.gen_range(0..100);
        let fresh: Vec<&String> = items.iter().filter(|i| !phone.tried.contains(*i)).collect();
        let (msg, op) = if roll < 45 {
            let c = json!(rng.gen_range(0..4));
            let m = json!({"type": "vote", "question_id": qids[0], "choice": c});
            (m, Op::Ballot(qids[0].clone(), c))
        } else if roll < 65 {
            let text = format!("{tag} answer {n} {}", "o".repeat(rng.gen_range(50..240)));
            let m = json!({"type": "vote", "question_id": qids[1], "choice": text});
            (m, Op::Ballot(qids[1].clone(), json!(text)))
        } else if roll < 75 {
            let q = qids[rng.gen_range(0..2)].clone();
            (
                json!({"type": "retract", "question_id": q}),
                Op::Ballot(q, Value::Null),
            )
        } else if roll < 85 || fresh.is_empty() {
            let text = format!("{tag} asks {n}: what about the budget?");
            (json!({"type": "ask", "text": text}), Op::Ask(text))
        } else {
            let item = fresh[rng.gen_range(0..fresh.len())].clone();
            phone.tried.insert(item.clone());
            (json!({"type": "upvote", "item_id": item}), Op::Upvote(item))
        };
        let mut msg = msg;
        msg["ref"] = json!(r);
        if let Op::Ballot(q, c) = &op {
            phone.ballots.entry(q.clone()).or_default().in_flight = Some(c.clone());
        }
        let answer = match ws.stream_send(msg).await {
            Ok(()) => ws.answer(&r).await,
            Err(()) => None,
        };
        let Some(answer) = answer else {
            // The server died with this one in flight.
            if let Op::Upvote(item) = op {
                upvoted.push((item, false));
            }
            break;
        };
        if answer["type"] != "ack" {
            errors.push(format!("{tag}: {answer}"));
            if let Op::Ballot(q, _) = &op {
                phone.ballots.get_mut(q).unwrap().in_flight = None;
            }
            continue;
        }
        acks += 1;
        match op {
            Op::Ballot(q, c) => {
                phone.ballots.insert(
                    q,
                    Ballot {
                        acked: c,
                        in_flight: None,
                    },
                );
            }
            Op::Ask(text) => phone.asked.push(text),
            Op::Upvote(item) => upvoted.push((item, true)),
        }
    }
    PhoneRound {
        phone,
        acks,
        upvoted,
        errors,
    }
}

/// Every item of a session's board, as the moderator pages it: by text.
async fn board(app: &TestApp, room: &Room) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    loop {
        let query = format!("?offset={}&limit=100", out.len());
        let (status, page) = app.qa_page(&room.code, Some(&room.token), &query).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap();
        for item in items {
            out.insert(item["text"].as_str().unwrap().to_owned(), item.clone());
        }
        if items.is_empty() || out.len() as u64 >= page["total"].as_u64().unwrap() {
            return out;
        }
    }
}

/// Runs `rounds` rounds of: phones acting and sessions being created, a
/// `kill -9` at a random moment, `handsup verify` on the journal as the
/// kill left it, a restart that must hold every acked change, a clean stop
/// and `handsup verify` again.
async fn crash_loop(rounds: usize, seed: u64) -> Figures {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = temp_dir();
    let log = dir.with_extension("log");
    let args = [LOOP, FAST].concat();
    let mut figures = Figures::default();
    let mut app = spawn_logged(&dir, &log, &args);
    let mut starts = 1;
    let started = Instant::now();
    // Sessions of 45 KB, no one in them, until the journal holds 400 KB:
    // every compaction writes their snapshots while the phones act. A
    // compaction comes after 1 MiB of growth: the sessions made and deleted
    // during each round bring it.
    let mut ballast = 0;
    while journal_bytes(&dir) < 400_000 {
        let questions: Vec<Value> = (0..15).map(long_single).collect();
        app.create_session(json!({"title": format!("Ballast {ballast}"), "questions": questions}))
            .await;
        ballast += 1;
    }
    let mut rooms = Vec::new();
    let mut phones = Vec::new();
    for r in 0..3 {
        let s = app
            .create_session(json!({"title": format!("Room {r}"), "questions": [
                single("Which first?", &["A", "B", "C", "D"]),
                {"kind": "open", "prompt": "Anything else?"},
            ]}))
            .await;
        let (_, view) = app.session_view(&s.code, Some(&s.token)).await;
        let qids = [s.qid(&view, 0), s.qid(&view, 1)];
        for q in &qids {
            assert_eq!(app.question_action(&s, q, "open").await.0, StatusCode::OK);
        }
        for _ in 0..8 {
            let (_, w) = app.join(&s.code, "audience", None).await;
            phones.push(Phone {
                session: r,
                token: w["participant_token"].as_str().unwrap().to_owned(),
                ballots: HashMap::new(),
                asked: Vec::new(),
                tried: HashSet::new(),
            });
        }
        rooms.push(Room {
            code: s.code,
            token: s.token,
            qids,
            upvotes: HashMap::new(),
        });
    }
    // Sessions whose creation was acked: (code, moderator token, and for
    // those deleted, whether their end was acked).
    let mut created: Vec<(String, String, Option<bool>)> = Vec::new();
    let mut items: Vec<Arc<Vec<String>>> = (0..rooms.len()).map(|_| Arc::new(Vec::new())).collect();

    println!(
        "crash loop: {ballast} ballast sessions, 3 rooms of 8 phones, set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for round in 1..=rounds {
        let round_started = Instant::now();
        // Phones act, and sessions are created, until the kill.
        let mut tasks = Vec::new();
        for (i, phone) in phones.drain(..).enumerate() {
            let room = &rooms[phone.session];
            let (ws, _) = app.join(&room.code, "audience", Some(&phone.token)).await;
            let board = items[phone.session].clone();
            tasks.push(tokio::spawn(phone_round(
                ws,
                phone,
                room.qids.clone(),
                board,
                format!("r{round}p{i}"),
                rng.gen(),
            )));
        }
        let (http, base) = (app.http.clone(), app.base.clone());
        let creator = tokio::spawn(async move {
            // Sessions made and ended: (code, moderator token, end acked).
            // Each big one (15 long questions, 45 KB) is deleted at once,
            // so the journal grows fast (a compaction comes after 1 MiB of
            // growth) while the live state stays small; the small ones stay.
            let mut made = Vec::new();
            let create = |body: Value| {
                let (http, base) = (http.clone(), base.clone());
                async move {
                    let resp = http
                        .post(format!("{base}/api/sessions"))
                        .json(&body)
                        .send()
                        .await
                        .ok()?;
                    if resp.status() != StatusCode::CREATED {
                        return None;
                    }
                    let v = resp.json::<Value>().await.ok()?;
                    Some((
                        v["code"].as_str()?.to_owned(),
                        v["moderator_token"].as_str()?.to_owned(),
                    ))
                }
            };
            for n in 0.. {
                let questions: Vec<Value> = (0..15).map(long_single).collect();
                let body = json!({"title": format!("Made in round {round}, {n}, big"), "questions": questions});
                let Some((code, token)) = create(body).await else {
                    break;
                };
                let ended = http
                    .delete(format!("{base}/api/sessions/{code}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == StatusCode::NO_CONTENT);
                made.push((code, token, Some(ended)));
                if !ended {
                    break;
                }
                let body = json!({"title": format!("Made in round {round}, {n}"),
                                  "questions": [single("Yes?", &["Yes", "No"])]});
                let Some((code, token)) = create(body).await else {
                    break;
                };
                made.push((code, token, None));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            made
        });
        let wait = rng.gen_range(200..1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        app.kill9();
        // The journal as the kill left it verifies too, on a copy (the
        // restart cuts a torn last record off; verify only reads).
        let crashed = copy_segments(&dir);
        let (exit, report) = verify(&crashed);
        let as_left = exit == Some(0) && report.contains("journal sound");
        let found = problems(&report);
        if !as_left && found.iter().all(|p| p.contains("torn")) && found.len() == 1 {
            figures.torn_tails += 1;
        } else if !as_left {
            figures.verify_failures.push(format!(
                "round {round}, as the kill left it: verify exited {exit:?}, {} problems: {}",
                found.len(),
                found
                    .iter()
                    .take(3)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
        let _ = fs::remove_dir_all(&crashed);
        let made = creator.await.unwrap();
        figures.acks += made
            .iter()
            .map(|(_, _, ended)| 1 + usize::from(*ended == Some(true)))
            .sum::<usize>();
        created.extend(made);
        let mut upvoted = Vec::new();
        for t in tasks {
            let done = t.await.unwrap();
            figures.acks += done.acks;
            for e in done.errors {
                figures
                    .failures
                    .push(format!("round {round}: refused: {e}"));
            }
            upvoted.extend(
                done.upvoted
                    .into_iter()
                    .map(|(item, acked)| (done.phone.session, item, acked)),
            );
            phones.push(done.phone);
        }
        for (r, item, acked) in upvoted {
            let e = rooms[r].upvotes.entry(item).or_default();
            if acked {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }

        // The restart holds every acked change.
        app = spawn_logged(&dir, &log, &args);
        starts += 1;
        let lost_before = figures.lost;
        for (code, token, ended) in &created {
            let (status, _) = app.session_view(code, Some(token)).await;
            // A session whose end was acked is gone; one whose end was in
            // flight may be either; any other is there.
            let wrong = match ended {
                Some(true) => status != StatusCode::NOT_FOUND,
                Some(false) => status != StatusCode::OK && status != StatusCode::NOT_FOUND,
                None => status != StatusCode::OK,
            };
            if wrong {
                figures.lost += 1;
                figures.failures.push(format!(
                    "round {round}: session {code} (end acked: {ended:?}): {status}"
                ));
            }
        }
        // Deleted ones are checked once.
        created.retain(|(_, _, ended)| ended.is_none());
        for (i, phone) in phones.iter_mut().enumerate() {
            let room = &rooms[phone.session];
            let (_, w) = app.join(&room.code, "audience", Some(&phone.token)).await;
            for q in &room.qids {
                let b = phone.ballots.entry(q.clone()).or_default();
                let counted = w["ballots"][q].clone();
                if counted != b.acked && Some(&counted) != b.in_flight.as_ref() {
                    figures.lost += 1;
                    figures.failures.push(format!(
                        "round {round}: phone {i}, question {q}: counted {counted}, acked {}, in flight {:?}",
                        b.acked, b.in_flight
                    ));
                }
                *b = Ballot {
                    acked: counted,
                    in_flight: None,
                };
            }
        }
        for (r, room) in rooms.iter_mut().enumerate() {
            let board = board(&app, room).await;
            for phone in phones.iter().filter(|p| p.session == r) {
                for text in &phone.asked {
                    if !board.contains_key(text) {
                        figures.lost += 1;
                        figures
                            .failures
                            .push(format!("round {round}: asked {text:?} is gone"));
                    }
                }
            }
            let by_id: HashMap<&str, u64> = board
                .values()
                .map(|i| (i["id"].as_str().unwrap(), i["upvotes"].as_u64().unwrap()))
                .collect();
            for (item, (acked, unknown)) in room.upvotes.iter_mut() {
                let counted = by_id.get(item.as_str()).copied().unwrap_or(0) as usize;
                if counted < *acked || counted > *acked + *unknown {
                    figures.lost += acked.saturating_sub(counted);
                    figures.failures.push(format!(
                        "round {round}: item {item}: {counted} upvotes, {acked} acked, {unknown} in flight"
                    ));
                }
                *acked = counted;
                *unknown = 0;
            }
            // Tallies agree with the ballots the phones hold.
            let results = app.results_as(&room.code, Some(&room.token)).await.1;
            let voters = phones
                .iter()
                .filter(|p| p.session == r && !p.ballots[&room.qids[0]].acked.is_null())
                .count();
            if results["questions"][0]["tally"]["voters"] != voters {
                figures.failures.push(format!(
                    "round {round}: room {r}: {} voters counted, {voters} ballots held",
                    results["questions"][0]["tally"]["voters"]
                ));
            }
            items[r] = Arc::new(by_id.keys().map(|k| k.to_string()).collect());
        }

        // Stopped cleanly, the journal verifies.
        let status = app.terminate();
        if !status.success() {
            figures
                .failures
                .push(format!("round {round}: the server stopped with {status}"));
        }
        let (exit, report) = verify(&dir);
        let sound = exit == Some(0) && report.contains("journal sound");
        if !sound {
            figures.verify_failures.push(format!(
                "round {round}, after a clean stop: verify exited {exit:?}: {}",
                problems(&report).join(" | ")
            ));
        }
        println!(
            "round {round}: killed after {wait} ms; {} acks so far, {} lost this round, \
             verify as the kill left it {}, after a clean stop {} ({:.1} s)",
            figures.acks,
            figures.lost - lost_before,
            if as_left { "sound" } else { "DAMAGED" },
            if sound { "sound" } else { "DAMAGED" },
            round_started.elapsed().as_secs_f64()
        );
        figures.rounds = round;
        app = spawn_logged(&dir, &log, &args);
        starts += 1;
    }
    assert!(app.terminate().success());
    figures.compactions = log_lines(&log, "journal compacted")
        .len()
        .saturating_sub(starts);
    figures
}

fn report_figures(f: &Figures, seed: u64) {
    println!(
        "crash loop (seed {seed}): {} rounds, {} acks, {} lost, {} verify failures, \
         {} compactions under load, {} torn tails",
        f.rounds,
        f.acks,
        f.lost,
        f.verify_failures.len(),
        f.compactions,
        f.torn_tails
    );
    for line in f.failures.iter().chain(&f.verify_failures) {
        println!("  {line}");
    }
}

fn loop_seed() -> u64 {
    std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_crash_loop_loses_no_acked_change() {
    let seed = loop_seed();
    let f = crash_loop(4, seed).await;
    report_figures(&f, seed);
    assert!(f.acks > 200, "the loop acted under fire: {f:?}");
    assert!(
        f.lost == 0 && f.failures.is_empty() && f.verify_failures.is_empty(),
        "seed {seed}: {f:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "50 rounds take minutes: benches/crash-loop.sh runs this on a release build"]
async fn the_crash_loop_in_full() {
    let rounds = std::env::var("CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed = loop_seed();
    let f = crash_loop(rounds, seed).await;
    report_figures(&f, seed);
    assert!(
        f.lost == 0 && f.failures.is_empty() && f.verify_failures.is_empty(),
        "seed {seed}: {} lost, {} failures, {} verify failures",
        f.lost,
        f.failures.len(),
        f.verify_failures.len()
    );
}
