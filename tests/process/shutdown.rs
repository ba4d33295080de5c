//! SIGTERM: the real binary stops within its deadline whatever clients do.

use std::time::Duration;

use crate::support::*;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.port)).await.unwrap()
}

#[tokio::test]
async fn sigterm_finishes_within_the_deadline_whatever_clients_do() {
    let mut app = spawn_process_with(&[
        "--shutdown-timeout-s",
        "2",
        "--header-timeout-s",
        "60",
        "--body-timeout-s",
        "60",
    ]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    // A phone that reads nothing more, a half-open request head, a request
    // whose body never comes.
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    assert_eq!(phone.vote(&qid, json!(1)).await["type"], "ack");
    let mut half_head = connect(&app).await;
    half_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let mut half_body = connect(&app).await;
    half_body
        .write_all(
            format!(
                "PUT /api/sessions/{}/questions/{qid}/ballot HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Content-Length: 50\r\n\r\n{{\"cho",
                s.code
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &app.pid().to_string()])
        .status();
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = app.try_wait() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(2 + 6),
            "still running {:?} after SIGTERM",
            signalled.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("stopped {:?} after SIGTERM", signalled.elapsed());
    assert!(status.success(), "{status:?}");
    // The phone was told the server is going away.
    assert_eq!(phone.closed().await, Some(1001));
}

/// Scripts stop the server as soon as they read its first line. The demo
/// creates its session after that line: a SIGTERM meanwhile must stop the
/// server cleanly (exit 0), not kill it before its handler is in place.
#[test]
fn sigterm_right_after_the_listening_line_stops_cleanly() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    for round in 0..5 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_handsup"))
            .args(["demo", "--addr", "127.0.0.1:0", "--in-memory"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("start handsup");
        // Kept open to the end: the demo prints its links after this line.
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.starts_with("listening on "), "{line:?}");
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert!(status.success(), "round {round}: {status}");
    }
}
