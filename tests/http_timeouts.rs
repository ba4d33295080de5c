//! Nothing waits forever (v1.1): a request head, a body and an idle
//! keep-alive connection each have a deadline, and a stop finishes within
//! its own whatever clients do.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Reads until the server closes the connection (end or reset); what it
/// sent, or None if it is still open after `limit`.
async fn until_closed(tcp: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one whole response with a `Content-Length`.
async fn one_response(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().unwrap())
                })
                .expect("a content-length");
            if got.len() >= end + 4 + len {
                return text;
            }
        }
        let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(n > 0, "closed before a whole response: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.port)).await.unwrap()
}

#[tokio::test]
async fn a_partial_request_head_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(&["--header-timeout-s", "1", "--idle-timeout-s", "60"]);
    let mut tcp = connect(&app).await;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let got = until_closed(&mut tcp, Duration::from_secs(6))
        .await
        .expect("a partial head is still open 6 s later");
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    // A connection that sends nothing at all is closed the same way.
    let mut silent = connect(&app).await;
    assert!(until_closed(&mut silent, Duration::from_secs(6))
        .await
        .is_some());
    // The server still answers.
    let mut ok = connect(&app).await;
    ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    assert!(one_response(&mut ok).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_the_connection_closes() {
    let app = spawn_app_with(&["--body-timeout-s", "1", "--header-timeout-s", "60"]);
    let mut tcp = connect(&app).await;
    tcp.write_all(
        b"POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"title\": \"Sl",
    )
    .await
    .unwrap();
    let got = until_closed(&mut tcp, Duration::from_secs(6))
        .await
        .expect("a stalled body is still open 6 s later");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""code":"bad_request""#), "{text}");
    // A body that arrives in time is served as usual.
    app.create(json!({"title": "In time"})).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_closes_after_the_idle_timeout() {
    let app = spawn_app_with(&["--idle-timeout-s", "5", "--header-timeout-s", "1"]);
    let mut tcp = connect(&app).await;
    let get = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    tcp.write_all(get).await.unwrap();
    assert!(one_response(&mut tcp).await.starts_with("HTTP/1.1 200"));
    // Idle past the header timeout: the idle timeout is what applies, so
    // the connection still serves a second request.
    tokio::time::sleep(Duration::from_secs(2)).await;
    tcp.write_all(get).await.unwrap();
    assert!(one_response(&mut tcp).await.starts_with("HTTP/1.1 200"));
    // Then, idle, it is closed.
    let got = until_closed(&mut tcp, Duration::from_secs(5 + 6))
        .await
        .expect("an idle connection is still open past the idle timeout");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
}

#[tokio::test]
async fn sigterm_finishes_within_the_deadline_whatever_clients_do() {
    let mut app = spawn_app_with(&[
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
        .args(["-TERM", &app.child.id().to_string()])
        .status();
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = app.child.try_wait().unwrap() {
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
