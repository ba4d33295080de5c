//! Nothing waits forever (v1.1): a request head, a body and an idle
//! keep-alive connection each have a deadline. That a stop finishes within
//! its own whatever clients do is in `tests/process/shutdown.rs`.

use std::time::Duration;

use crate::support::*;
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
    app.create_session(json!({"title": "In time"})).await;
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
