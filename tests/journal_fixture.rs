//! A journal written by an older server (`tests/fixtures/journal-v1`)
//! replays to the same state, the same digests and the same report: how a
//! journal is read does not change when the code around it does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

const CODE: &str = "237270";
/// When the fixture's event segment was last written (ms): the time a
/// restart's snapshot records as the session's last activity.
const EVENTS_WRITTEN_MS: u64 = 1_796_085_027_060;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/journal-v1")
        .join(name)
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixture("expected").join(name)).unwrap()
}

/// A copy of a fixture folder, its segments dated `written_ms`.
fn copy(name: &str, written_ms: u64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("handsup-fixture-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let from = entry.unwrap().path();
        let to = dir.join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&to)
            .unwrap()
            .set_modified(UNIX_EPOCH + Duration::from_millis(written_ms))
            .unwrap();
    }
    dir
}

fn verify(dir: &Path) -> (bool, String) {
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

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handsup"))
        .args(["serve", "--addr", "127.0.0.1:0", "--session-ttl-days", "0"])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("no listening line: {line:?}"))
        .to_owned();
    Server(child, base)
}

/// The session's results as the server gives them after a start on `dir`.
async fn results_after_start(dir: &Path) -> Value {
    let server = serve(dir);
    let session: Value = serde_json::from_str(&expected("session.json")).unwrap();
    let token = session["moderator_token"].as_str().unwrap();
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{}/api/sessions/{CODE}/results", server.1))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut results: Value = res.json().await.unwrap();
    results.as_object_mut().unwrap().remove("generated_at");
    let ended = session["ended"].as_str().unwrap();
    let gone = client
        .get(format!("{}/api/sessions/{ended}", server.1))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404, "the deleted session stays deleted");
    results
}

#[test]
fn verify_reports_the_old_journal_as_before() {
    for name in ["events", "compacted"] {
        let (sound, report) = verify(&fixture(name));
        assert!(sound, "{name}: {report}");
        assert_eq!(report, expected(&format!("verify-{name}.txt")), "{name}");
    }
}

/// The results the old server gave after a start on the fixture, but for
/// the digest: the old server's start moved the digest (its snapshot was a
/// link of the chain); a snapshot now leaves the chain where it was, so the
/// digest after a start is the one `verify` reports on the journal as it
/// was: what a room wrote down stays true across restarts.
fn results_as_before(name: &str) -> Value {
    let mut want: Value = serde_json::from_str(&expected(&format!("results-{name}.json"))).unwrap();
    let report = expected(&format!("verify-{name}.txt"));
    let digest = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("digest "))
        .unwrap();
    assert_ne!(want["session"]["digest"], digest, "the old start moved it");
    want["session"]["digest"] = digest.into();
    // A setting added since, off in every old journal.
    want["session"]["settings"]["show_digest"] = false.into();
    // The settings of results by group, at their defaults, and the
    // breakdown each question that can have one shows: none.
    want["session"]["settings"]["min_group"] = 5.into();
    want["session"]["settings"]["public_summary"] = false.into();
    for q in want["questions"].as_array_mut().unwrap() {
        if matches!(
            q["kind"].as_str(),
            Some("single" | "multiple" | "scale" | "ranking")
        ) {
            q["by"] = Value::Null;
        }
    }
    want
}

#[tokio::test]
async fn a_start_on_the_old_journal_gives_the_same_results_and_digest() {
    let want = results_as_before("events");
    let dir = copy("events", EVENTS_WRITTEN_MS);
    assert_eq!(results_after_start(&dir).await, want);
    // And again: a second start changes nothing.
    assert_eq!(results_after_start(&dir).await, want);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_start_on_the_old_snapshot_gives_the_same_results_and_digest() {
    let want = results_as_before("compacted");
    let dir = copy("compacted", EVENTS_WRITTEN_MS);
    assert_eq!(results_after_start(&dir).await, want);
    assert_eq!(results_after_start(&dir).await, want);
    let _ = std::fs::remove_dir_all(dir);
}
