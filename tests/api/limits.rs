//! The v1.1 per-address and per-participant limits: new sessions, the
//! session cap, ballots over HTTP, lookups of unknown codes, a plenary
//! behind one NAT, and the `Host` check. The time-to-live, which needs a
//! restart, is in `tests/process/ttl.rs`.

use std::time::{Duration, Instant};

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A request's status, `Retry-After` (if any) and JSON body.
async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Option<u64>, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let retry = resp.headers().get("retry-after").map(|v| {
        v.to_str()
            .unwrap()
            .parse::<u64>()
            .expect("Retry-After in seconds")
    });
    let text = resp.text().await.unwrap();
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn assert_rate_limited((status, retry, body): &(StatusCode, Option<u64>, Value)) {
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(retry.is_some_and(|s| s >= 1), "429 without Retry-After");
}

fn create_req(app: &TestApp, token: Option<&str>) -> reqwest::RequestBuilder {
    app.create_session_request(token)
        .json(&json!({"title": "Side event"}))
}

#[tokio::test]
async fn anonymous_session_creation_is_limited_per_address() {
    let app = spawn_app();
    for i in 0..20 {
        let (status, _, body) = send(create_req(&app, None)).await;
        assert_eq!(status, StatusCode::CREATED, "session {i}: {body}");
    }
    assert_rate_limited(&send(create_req(&app, None)).await);
    // A deck is a session too.
    let r = app.post_deck_request(None).body("title = \"Deck\"\n");
    assert_rate_limited(&send(r).await);
}

#[tokio::test]
async fn the_admin_token_is_exempt_from_the_session_limit() {
    let app = spawn_app_with(&["--admin-token", "organiser-secret"]);
    for i in 0..30 {
        let (status, _, body) = send(create_req(&app, Some("organiser-secret"))).await;
        assert_eq!(status, StatusCode::CREATED, "session {i}: {body}");
    }
}

#[tokio::test]
async fn the_server_wide_session_cap_answers_limit_reached() {
    let app = spawn_app_with(&["--max-sessions", "3", "--admin-token", "adm"]);
    let mut codes = Vec::new();
    for _ in 0..3 {
        let (status, _, body) = send(create_req(&app, Some("adm"))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        codes.push((
            body["code"].as_str().unwrap().to_owned(),
            body["moderator_token"].as_str().unwrap().to_owned(),
        ));
    }
    let (status, _, body) = send(create_req(&app, Some("adm"))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("limit_reached")),
        "{body}"
    );
    // Deleting one makes room.
    let (code, token) = &codes[0];
    let (status, _) = app.delete_session(code, Some(token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = send(create_req(&app, Some("adm"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn status_of(app: &TestApp, code: &str) -> StatusCode {
    app.session_view(code, None).await.0
}

fn ballot_req(app: &TestApp, code: &str, qid: &str, token: &str) -> reqwest::RequestBuilder {
    app.put_ballot_request(code, qid, token)
        .json(&json!({"choice": 0}))
}

#[tokio::test]
async fn ballots_over_http_are_held_to_the_participants_rate() {
    let app = spawn_app();
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (_, p) = app.add_participant(&s.code, None).await;
    let token = p["participant_token"].as_str().unwrap();
    let started = Instant::now();
    let (mut accepted, mut limited) = (0u64, 0u64);
    for _ in 0..400 {
        let r = send(ballot_req(&app, &s.code, &qid, token)).await;
        if r.0 == StatusCode::OK {
            accepted += 1;
        } else {
            assert_rate_limited(&r);
            limited += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Defaults: bursts of 40, then 20 a second.
    let bound = 40.0 + 20.0 * elapsed + 1.0;
    assert!(
        (accepted as f64) <= bound,
        "{accepted} ballots accepted in {elapsed:.2} s, over {bound:.0}"
    );
    assert!(limited > 0);
}

#[tokio::test]
async fn a_participant_flooding_over_http_slows_its_socket_too() {
    // One token a second: the bucket stays empty while the test looks.
    let app = spawn_app_with(&["--rate-per-sec", "1", "--rate-burst", "10"]);
    let (s, qid) = app.session_with_open_question(&["A", "B"]).await;
    let (mut phone, w) = app.join(&s.code, "audience", None).await;
    let token = w["participant_token"].as_str().unwrap().to_owned();
    let mut accepted = 0;
    loop {
        let r = send(ballot_req(&app, &s.code, &qid, &token)).await;
        if r.0 != StatusCode::OK {
            assert_rate_limited(&r);
            break;
        }
        accepted += 1;
        assert!(accepted <= 20, "HTTP ballots are never limited");
    }
    // The same participant's socket finds the bucket empty.
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(phone.vote(&qid, json!(1)).await);
    }
    assert!(
        answers
            .iter()
            .any(|a| a["type"] == "error" && a["code"] == "rate_limited"),
        "{answers:?}"
    );
    // Another participant is not affected.
    let (mut other, _) = app.join(&s.code, "audience", None).await;
    assert_eq!(other.vote(&qid, json!(1)).await["type"], "ack");
}

#[tokio::test]
async fn wrong_admin_tokens_are_throttled() {
    let app = spawn_app_with(&["--admin-token", "organiser-secret"]);
    let started = Instant::now();
    let mut forbidden = 0u64;
    let mut last = None;
    for i in 0..100 {
        let r = send(create_req(&app, Some(&format!("guess-{i}")))).await;
        if r.0 == StatusCode::FORBIDDEN {
            forbidden += 1;
        } else {
            assert_rate_limited(&r);
        }
        last = Some(r);
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_rate_limited(last.as_ref().unwrap());
    // Defaults: 50 misses at once, then 5 a second.
    let bound = 50.0 + 5.0 * elapsed + 1.0;
    assert!(
        forbidden >= 50 && (forbidden as f64) <= bound,
        "{forbidden} guesses answered in {elapsed:.2} s"
    );
}

#[tokio::test]
async fn lookups_of_unknown_codes_are_throttled_per_address() {
    let app = spawn_app();
    let known = app.create_session(json!({"title": "Known"})).await;
    // Hits take nothing.
    for _ in 0..100 {
        assert_eq!(status_of(&app, &known.code).await, StatusCode::OK);
    }
    let unknown = |i: usize| {
        let c = format!("{:06}", (i * 7919 + 13) % 1_000_000);
        assert_ne!(c, known.code);
        c
    };
    let started = Instant::now();
    let mut statuses = Vec::new();
    for i in 0..60 {
        // API lookups, pages and socket upgrades all count.
        let url = match i % 3 {
            0 => format!("/api/sessions/{}", unknown(i)),
            1 => format!("/{}", unknown(i)),
            _ => format!("/ws/{}", unknown(i)),
        };
        let r = send(app.get(&url)).await;
        if r.0 == StatusCode::TOO_MANY_REQUESTS {
            assert_rate_limited(&r);
        }
        statuses.push(r.0);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let first_refused = statuses
        .iter()
        .position(|s| *s == StatusCode::TOO_MANY_REQUESTS)
        .expect("no lookup was throttled");
    assert!(
        first_refused >= 50,
        "throttled after {first_refused} misses"
    );
    let served = (60 - refused) as f64;
    let bound = 50.0 + 5.0 * elapsed + 1.0;
    assert!(served <= bound, "{served} misses served in {elapsed:.2} s");
    // While throttled, the address is refused every lookup (else a 429
    // would just mean "no such code"); once it has waited, a known code
    // answers again.
    let r = send(app.get(&format!("/api/sessions/{}", known.code))).await;
    if r.0 == StatusCode::TOO_MANY_REQUESTS {
        assert_rate_limited(&r);
        tokio::time::sleep(Duration::from_secs(r.1.unwrap())).await;
    }
    assert_eq!(status_of(&app, &known.code).await, StatusCode::OK);
}

#[tokio::test]
async fn a_plenary_of_2000_phones_behind_one_address_joins_with_the_default_limits() {
    let app = spawn_app();
    let s = app.create_session(json!({"title": "Plenary"})).await;
    let url = app.url(&format!("/api/sessions/{}/participants", s.code));
    let started = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (http, url) = (app.http.clone(), url.clone());
            tokio::spawn(async move {
                let mut refused = 0;
                for _ in 0..125 {
                    let r = http.post(&url).send().await.unwrap();
                    if r.status() != StatusCode::CREATED {
                        refused += 1;
                    }
                }
                refused
            })
        })
        .collect();
    let mut refused = 0;
    for t in tasks {
        refused += t.await.unwrap();
    }
    assert_eq!(refused, 0, "phones refused");
    assert!(started.elapsed() < Duration::from_secs(30));
    let r = app.results(&s).await;
    assert_eq!(r["session"]["participants"], 2000);
}

async fn get_with_host(app: &TestApp, path: &str, host: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(app.get(path).header("host", host)).await;
    (status, body)
}

async fn upgrade_with_host(app: &TestApp, code: &str, host: &str) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://127.0.0.1:{}/ws/{code}", app.port)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("host", host.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn with_a_public_url_other_hosts_are_misdirected() {
    let app = spawn_app_with(&["--public-url", "https://vote.example.org"]);
    let s = app.create_session(json!({"title": "Rebinding"})).await;
    let path = format!("/api/sessions/{}", s.code);
    let (status, body) = get_with_host(&app, &path, "evil.example.net:8080").await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "misdirected");
    assert!(body["error"]["message"].is_string());
    assert_eq!(
        upgrade_with_host(&app, &s.code, "evil.example.net").await,
        421
    );
    let port = app.port;
    for host in [
        "vote.example.org".to_owned(),
        "VOTE.example.org:443".to_owned(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(
            get_with_host(&app, &path, &host).await.0,
            StatusCode::OK,
            "{host}"
        );
    }
    assert_eq!(
        upgrade_with_host(&app, &s.code, &format!("localhost:{port}")).await,
        101
    );
    // A health check names whatever host its prober knows.
    assert_eq!(
        get_with_host(&app, "/healthz", "handsup.internal").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_a_public_url_any_host_is_served() {
    let app = spawn_app();
    let s = app.create_session(json!({"title": "Laptop"})).await;
    let path = format!("/api/sessions/{}", s.code);
    assert_eq!(
        get_with_host(&app, &path, "my-laptop.local:8080").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_full_session_answers_limit_reached() {
    let app = spawn_app_with(&["--max-participants", "2"]);
    let s = app.create_session(json!({"title": "Small room"})).await;
    let join = || app.add_participant_request(&s.code).json(&json!({}));
    for i in 0..2 {
        let (status, _, body) = send(join()).await;
        assert_eq!(status, StatusCode::CREATED, "participant {i}: {body}");
    }
    let (status, _, body) = send(join()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "limit_reached", "{body}");
    // A phone's hello is refused the same way, with 1013.
    let mut ws = app.ws(&s.code).await;
    ws.send(json!({"type": "hello", "role": "audience"})).await;
    let e = ws.recv().await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("error"), Some("limit_reached")),
        "{e}"
    );
    assert_eq!(ws.closed().await, Some(1013));
}
