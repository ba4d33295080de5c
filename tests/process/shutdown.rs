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
