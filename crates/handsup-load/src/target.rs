//! The server under load: its address, refused unless it is on this machine's
//! loopback, and an HTTP client for the few API calls a run needs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::{header, Client, Method};
use serde_json::Value;

/// How long one API call may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A loopback server: where to connect, and the `Host` to name.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
    /// `http://HOST:PORT`, the base of the API calls.
    base: String,
    /// Goes to `addr` only: no proxy, and `localhost` is not looked up.
    client: Client,
}

/// Is this address on the loopback (127.0.0.0/8 or ::1)?
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[0] == 127,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

impl Target {
    /// Reads `http://HOST:PORT` (a trailing slash allowed). HOST is
    /// `localhost`, an IPv4 address in 127.0.0.0/8 or `[::1]`; anything else
    /// is refused: this tool never sends load off the machine. `localhost` is
    /// not looked up: it means 127.0.0.1.
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?}: the target must be an http:// URL"))?;
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') || authority.contains('@') {
            return Err(format!(
                "{url:?}: give the server's base URL, http://HOST:PORT"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !p.contains(']') => (h, p),
            _ => (authority, "80"),
        };
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{url:?}: {port:?} is not a port"))?;
        let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| {
                    format!("{url:?}: the host must be localhost or a loopback IP address")
                })?
        };
        if !is_loopback(ip) {
            return Err(format!(
                "{url:?}: refusing a target off this machine; only 127.0.0.0/8, ::1 and localhost are allowed"
            ));
        }
        let addr = SocketAddr::new(ip, port);
        let client = Client::builder()
            .no_proxy()
            .resolve("localhost", addr)
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Target {
            addr,
            host: authority.to_owned(),
            base: format!("http://{authority}"),
            client,
        })
    }

    pub fn ws_url(&self, code: &str) -> String {
        format!("ws://{}/ws/{code}", self.host)
    }

    /// One HTTP request: the status and the JSON body (`Null` when empty).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let method_ = Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("{method:?} is not an HTTP method"))?;
        let mut req = self
            .client
            .request(method_, format!("{}{path}", self.base))
            .header(header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                format!("{method} {path}: no answer in {} s", HTTP_TIMEOUT.as_secs())
            } else if e.is_connect() {
                format!("connect {}: {e}", self.addr)
            } else {
                format!("{method} {path}: {e}")
            }
        };
        let answer = req.send().await.map_err(failed)?;
        let status = answer.status().as_u16();
        let raw = answer.bytes().await.map_err(failed)?;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok((status, Value::Null));
        }
        let v = serde_json::from_slice(&raw)
            .map_err(|e| format!("{method} {path}: body is not JSON: {e}"))?;
        Ok((status, v))
    }

    /// A request that must answer `want`; its JSON body.
    pub async fn expect(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        want: u16,
    ) -> Result<Value, String> {
        let (status, v) = self.request(method, path, token, body).await?;
        if status != want {
            return Err(format!(
                "{method} {path}: status {status}, expected {want}: {v}"
            ));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    use serde_json::json;

    use super::*;

    /// Answers one request on 127.0.0.1 with `answer`; the port, and the
    /// request as it was read (head and body).
    fn serve_once(answer: &'static str) -> (u16, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (socket, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(socket);
            let mut request = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = n.trim().parse().unwrap();
                }
                request.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            request.push_str(std::str::from_utf8(&body).unwrap());
            reader.get_mut().write_all(answer.as_bytes()).unwrap();
            request
        });
        (port, server)
    }

    #[tokio::test]
    async fn localhost_is_127_0_0_1_and_keeps_its_host() {
        let (port, server) = serve_once(
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             3\r\n{\"b\r\n4\r\n\":2}\r\n0\r\n\r\n",
        );
        let target = Target::parse(&format!("http://localhost:{port}")).unwrap();
        let v = target
            .expect("POST", "/api/x", Some("tok"), Some(&json!({"a": 1})), 201)
            .await
            .unwrap();
        assert_eq!(v, json!({"b": 2}));
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(request.starts_with("POST /api/x HTTP/1.1\r\n"), "{request}");
        assert!(
            lower.contains(&format!("\r\nhost: localhost:{port}\r\n")),
            "{request}"
        );
        assert!(
            lower.contains("\r\nauthorization: bearer tok\r\n"),
            "{request}"
        );
        assert!(
            lower.contains("\r\ncontent-type: application/json\r\n"),
            "{request}"
        );
        assert!(
            lower.contains("\r\naccept: application/json\r\n"),
            "{request}"
        );
        assert!(request.ends_with("\r\n\r\n{\"a\":1}"), "{request}");
    }

    #[tokio::test]
    async fn an_empty_body_is_null_and_another_status_an_error() {
        let (port, server) = serve_once("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        let target = Target::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let answer = target.request("DELETE", "/api/y", None, None).await;
        assert_eq!(answer.unwrap(), (204, Value::Null));
        assert!(server
            .join()
            .unwrap()
            .starts_with("DELETE /api/y HTTP/1.1\r\n"));

        let (port, server) = serve_once(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 18\r\nConnection: close\r\n\r\n\
             {\"code\":\"missing\"}",
        );
        let target = Target::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = target.expect("GET", "/api/z", None, None, 200).await;
        server.join().unwrap();
        assert_eq!(
            err.unwrap_err(),
            r#"GET /api/z: status 404, expected 200: {"code":"missing"}"#
        );
    }

    #[test]
    fn only_loopback_targets() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.8.7:1/",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            assert!(Target::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:8080",
            "http://192.168.1.2:80",
            "http://0.0.0.0:8080",
            "http://example.org:80",
            "http://[::2]:80",
            "https://127.0.0.1:8080",
            "http://127.0.0.1.example.org:80",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
