//! The load generator against the real server, small: 200 phones vote at a
//! steady rate with re-votes, then all at once; each run must end exact and
//! without a single error; and with a breakdown by group on two cluster
//! nodes, whose groups must end exact on every screen and in the results.
//! No timing is asserted: this checks that the tool and the server agree,
//! not how fast they are.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The server under test: `HANDSUP_BIN` if set (as for the browser tests),
/// else the one cargo built for this test.
fn server_bin() -> PathBuf {
    std::env::var_os("HANDSUP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_handsup")))
}

/// The load generator, a binary of another package of the workspace:
/// `HANDSUP_LOAD_BIN` if set, else `handsup-load` beside the server binary
/// cargo built for this test (target/debug), brought up to date first the
/// way `scripts/test` builds the binaries.
fn load_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("HANDSUP_LOAD_BIN") {
            return PathBuf::from(bin);
        }
        let dir = Path::new(env!("CARGO_BIN_EXE_handsup"))
            .parent()
            .expect("the binaries' folder");
        let bin = dir.join(format!("handsup-load{}", std::env::consts::EXE_SUFFIX));
        // Built every time (a no-op when it is up to date): `cargo test`
        // builds the server's binary, not the generator's, and a generator
        // left from an older build would not know today's options.
        {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut build = Command::new(cargo);
            build
                .args(["build", "--locked", "--bins"])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if dir.file_name().is_some_and(|d| d == "release") {
                build.arg("--release");
            }
            let status = build.status().expect("run cargo build");
            assert!(status.success(), "cargo build --bins failed");
        }
        assert!(
            bin.exists(),
            "no load generator at {}: build it (cargo build --bins) or set HANDSUP_LOAD_BIN",
            bin.display()
        );
        bin
    })
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `handsup serve` on a free loopback port; the server and its URL.
fn start_server() -> (Server, String) {
    let mut child = Command::new(server_bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--in-memory"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start handsup");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (server, url)
}

/// Runs `handsup-load` with `args`; its exit status and its JSON report.
fn load(server: &Server, url: &str, name: &str, args: &[&str]) -> (bool, Value) {
    let pid = server.0.id().to_string();
    load_with(url, name, &[&["--server-pid", &pid][..], args].concat())
}

/// Runs `handsup-load` against `url` (several, comma-separated) with
/// `args`; its exit status and its JSON report.
fn load_with(url: &str, name: &str, args: &[&str]) -> (bool, Value) {
    let json: PathBuf = std::env::temp_dir().join(format!(
        "handsup-load-smoke-{}-{name}.json",
        std::process::id()
    ));
    let out = Command::new(load_bin())
        .args(["--url", url, "--quiet", "--max-seconds", "50"])
        .arg("--json")
        .arg(&json)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run handsup-load");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "no report ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let _ = std::fs::remove_file(&json);
    let report: Value = serde_json::from_str(&text).expect("the report is JSON");
    if !out.status.success() {
        eprintln!(
            "stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (out.status.success(), report)
}

fn assert_clean(ok: bool, report: &Value, phones: u64) {
    assert!(ok, "handsup-load failed: {:#}", report["failures"]);
    assert_eq!(report["ok"], true);
    assert_eq!(report["connect"]["welcomed"], phones, "{report:#}");
    assert_eq!(report["exact"], true, "{report:#}");
    assert_eq!(report["errors_total"], 0, "{:#}", report["errors"]);
    assert_eq!(report["dropped"], 0);
    assert_eq!(report["projector"]["exact"], true);
    assert_eq!(report["expected_counts"], report["server_counts"]);
    let acked = report["votes"]["acked"].as_u64().unwrap();
    assert_eq!(acked, report["votes"]["sent"].as_u64().unwrap());
    assert!(acked > 0);
}

#[test]
fn two_hundred_phones_vote_and_the_tally_is_exact() {
    // Built, if it must be, before the server starts.
    load_bin();
    let (server, url) = start_server();

    let (ok, report) = load(
        &server,
        &url,
        "rate",
        &[
            "--phones",
            "200",
            "--connect-rate",
            "1000",
            "--vote-rate",
            "300",
            "--duration",
            "3",
            "--revote",
            "0.1",
        ],
    );
    assert_clean(ok, &report, 200);
    // 900 votes over 200 phones: every phone voted, most of them again.
    assert_eq!(report["expected_voters"], 200);

    let (ok, report) = load(
        &server,
        &url,
        "burst",
        &["--phones", "200", "--burst", "--revote", "0.2"],
    );
    assert_clean(ok, &report, 200);
    assert_eq!(report["expected_voters"], 200);
    assert!(report["votes"]["sent"].as_u64().unwrap() > 200);
}

#[test]
fn two_generator_processes_make_one_exact_report() {
    load_bin();
    let (server, url) = start_server();
    for (name, mode) in [
        (
            "processes-rate",
            &["--vote-rate", "200", "--duration", "2", "--revote", "0.1"][..],
        ),
        ("processes-burst", &["--burst", "--revote", "0.2"][..]),
    ] {
        let (ok, report) = load(
            &server,
            &url,
            name,
            &[&["--processes", "2", "--phones", "100"][..], mode].concat(),
        );
        assert_clean(ok, &report, 100);
        // Every phone's ballot, from both processes, is in the check.
        assert_eq!(report["expected_voters"], 100, "{report:#}");
        if name == "processes-rate" {
            // 200 votes/s for 2 s in all, dealt to the processes in turn.
            assert_eq!(report["votes"]["sent"], 400, "{report:#}");
        }
        let processes = report["per_process"].as_array().expect("per_process");
        assert_eq!(processes.len(), 2, "{report:#}");
        let mut acked = 0;
        for p in processes {
            assert_eq!(p["welcomed"], 50, "{p:#}");
            assert!(p["acked"].as_u64().unwrap() > 0, "{p:#}");
            acked += p["acked"].as_u64().unwrap();
        }
        assert_eq!(acked, report["votes"]["acked"].as_u64().unwrap());
        assert_eq!(
            report["votes"]["ack"]["count"].as_u64().unwrap(),
            acked,
            "the processes' ack histograms are merged"
        );
    }
}

#[test]
fn a_breakdown_by_group_stays_exact_under_load_on_two_nodes() {
    load_bin();
    let redis = crate::redis::Redis::start();
    let nodes = [
        crate::redis::spawn_node(&redis, &[]),
        crate::redis::spawn_node(&redis, &[]),
    ];
    let urls = format!("{},{}", nodes[0].base, nodes[1].base);
    let (ok, report) = load_with(
        &urls,
        "segment",
        &[
            "--segment",
            "--phones",
            "150",
            "--connect-rate",
            "1000",
            "--vote-rate",
            "300",
            "--duration",
            "2",
            "--revote",
            "0.1",
        ],
    );
    assert_clean(ok, &report, 150);
    let g = &report["groups_exact"];
    for who in ["projector", "moderator", "results"] {
        assert_eq!(g[who], true, "{who}: {g:#}");
    }
    // The groups hold every voter (each phone answered the segment), and
    // add up to the question's counts.
    let groups = g["expected"].as_array().expect("the expected groups");
    assert_eq!(groups.len(), 3);
    let mut sum = vec![0u64; 4];
    for group in groups {
        for (i, n) in group.as_array().unwrap().iter().enumerate() {
            sum[i] += n.as_u64().unwrap();
        }
    }
    assert_eq!(serde_json::json!(sum), report["expected_counts"]);
}

#[test]
fn refuses_a_target_off_the_loopback() {
    let out = Command::new(load_bin())
        .args([
            "--url",
            "http://192.168.1.1:8080",
            "--phones",
            "1",
            "--quiet",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run handsup-load");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing"));
}
