//! One simulated phone: its socket from a chosen source address, its hello,
//! and its votes, each timed until the server's ack.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::stats::Latencies;
use crate::target::Target;

pub type Ws = WebSocketStream<TcpStream>;

/// No ballot yet.
pub const NO_BALLOT: u8 = u8::MAX;

/// How long each step of a connection may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// What every phone shares: where to go, what to vote on, and the counters.
pub struct Ctx {
    /// The nodes; phone `i` connects to `targets[i % len]`.
    pub targets: Vec<Target>,
    pub ws_urls: Vec<String>,
    pub question_id: String,
    /// `--segment`: the segment question each phone answers once welcomed.
    pub segment_id: Option<String>,
    pub options: u8,
    /// Source addresses the phones' sockets are bound to, in turn.
    pub sources: Vec<IpAddr>,
    /// The run-wide number of this process's phone 0 (phones are numbered
    /// across all generator processes; phone `i` here is `first + i`).
    pub first: usize,
    /// The instant all `*_us` times count from.
    pub epoch: Instant,
    /// The same instant as microseconds since the Unix epoch: the clock the
    /// generator processes of one run share.
    pub epoch_unix_us: u64,
    /// TCP connect and websocket upgrade.
    pub connect_lat: Latencies,
    /// hello sent to welcome read.
    pub welcome_lat: Latencies,
    /// vote sent to its ack read.
    pub ack_lat: Latencies,
    /// Error answers and other failures, by code.
    pub errors: Mutex<BTreeMap<String, u64>>,
    pub welcomed: AtomicU64,
    /// Phones welcomed by each node.
    pub welcomed_by_node: Vec<AtomicU64>,
    pub connect_failed: AtomicU64,
    pub last_welcome_us: AtomicU64,
    /// Votes sent, or handed to a phone to send.
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    /// Votes sent again after an `unavailable` answer.
    pub retried: AtomicU64,
    /// Acked, refused, or lost with a dropped connection.
    pub answered: AtomicU64,
    pub first_send_us: AtomicU64,
    pub last_ack_us: AtomicU64,
    /// When each ack was read (µs since `epoch`).
    pub ack_times_us: Mutex<Vec<u64>>,
    /// Tallies the phones received (the audience's coalesced tallies).
    pub phone_tallies: AtomicU64,
    /// For each audience tally `seq`: when the first and the last phone read
    /// it (µs since `epoch`), and how many did.
    pub fanout: Mutex<HashMap<u64, (u64, u64, u32)>>,
    /// Sockets the server closed or broke while the run still needed them.
    pub dropped: AtomicU64,
    /// The latest acked choice of each phone, or `NO_BALLOT`.
    pub ballots: Vec<AtomicU8>,
    /// Set at teardown: from then on a closed socket is expected.
    pub closing: AtomicBool,
}

impl Ctx {
    pub fn new(
        targets: Vec<Target>,
        code: &str,
        question_id: String,
        options: u8,
        sources: Vec<IpAddr>,
        phones: std::ops::Range<usize>,
    ) -> Ctx {
        let unix = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64)
        };
        let (before, epoch, after) = (unix(), Instant::now(), unix());
        Ctx {
            ws_urls: targets.iter().map(|t| t.ws_url(code)).collect(),
            welcomed_by_node: targets.iter().map(|_| AtomicU64::new(0)).collect(),
            targets,
            question_id,
            segment_id: None,
            options,
            sources,
            first: phones.start,
            epoch,
            epoch_unix_us: before / 2 + after / 2,
            connect_lat: Latencies::new(),
            welcome_lat: Latencies::new(),
            ack_lat: Latencies::new(),
            errors: Mutex::new(BTreeMap::new()),
            welcomed: AtomicU64::new(0),
            connect_failed: AtomicU64::new(0),
            last_welcome_us: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            first_send_us: AtomicU64::new(u64::MAX),
            last_ack_us: AtomicU64::new(0),
            ack_times_us: Mutex::new(Vec::new()),
            phone_tallies: AtomicU64::new(0),
            fanout: Mutex::new(HashMap::new()),
            dropped: AtomicU64::new(0),
            ballots: phones.map(|_| AtomicU8::new(NO_BALLOT)).collect(),
            closing: AtomicBool::new(false),
        }
    }

    pub fn error(&self, code: &str) {
        *self.errors.lock().entry(code.to_owned()).or_insert(0) += 1;
    }

    /// A phone read an audience tally.
    fn phone_tally(&self, frame: &str) {
        self.phone_tallies.fetch_add(1, Ordering::Relaxed);
        if let Some(seq) = tally_seq(frame) {
            let now = self.since_epoch_us(Instant::now());
            let mut f = self.fanout.lock();
            let e = f.entry(seq).or_insert((now, now, 0));
            e.0 = e.0.min(now);
            e.1 = e.1.max(now);
            e.2 += 1;
        }
    }

    pub fn since_epoch_us(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_micros() as u64
    }

    pub fn at_us(&self, us: u64) -> Instant {
        self.epoch + Duration::from_micros(us)
    }

    /// A time of this process (µs since `epoch`) on the shared clock (µs
    /// since the Unix epoch).
    pub fn to_unix_us(&self, us: u64) -> u64 {
        self.epoch_unix_us + us
    }

    /// A time on the shared clock as µs since `epoch` (0 if before it).
    pub fn us_of_unix(&self, unix_us: u64) -> u64 {
        unix_us.saturating_sub(self.epoch_unix_us)
    }

    /// The instant a time on the shared clock falls at, in this process.
    pub fn instant_of_unix_us(&self, unix_us: u64) -> Instant {
        if unix_us >= self.epoch_unix_us {
            self.epoch + Duration::from_micros(unix_us - self.epoch_unix_us)
        } else {
            self.epoch
                .checked_sub(Duration::from_micros(self.epoch_unix_us - unix_us))
                .unwrap_or(self.epoch)
        }
    }
}

/// What the run tells a phone to do.
#[derive(Debug)]
pub enum Cmd {
    /// Vote for `choice`; once acked, vote again for `then` if given. The
    /// sender counts the vote in `Ctx::sent`.
    Vote { choice: u8, then: Option<u8> },
    /// Vote again and again until `until`, each vote once the last is
    /// answered and at least `gap` after the last was sent; the first at `first`.
    FlatOut {
        first: Instant,
        until: Instant,
        gap: Duration,
    },
    /// Close the socket.
    Close,
}

/// A choice among `options` other than `old` (any when there is none).
pub fn choice_other_than(rng: &mut impl Rng, old: u8, options: u8) -> u8 {
    if old == NO_BALLOT || options < 2 {
        return rng.gen_range(0..options.max(1));
    }
    (old + 1 + rng.gen_range(0..options - 1)) % options
}

/// The `seq` of a tally frame, read without parsing the whole frame.
fn tally_seq(frame: &str) -> Option<u64> {
    let at = frame.find(r#""seq":"#)? + 6;
    let digits = &frame[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// The fields of a server message a phone looks at.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(rename = "ref", default, borrow)]
    reference: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
}

fn ws_config() -> WebSocketConfig {
    // Phones send and receive small frames: small buffers keep 20k sockets light.
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
}

/// Opens a socket to the server from `source` (when given) and upgrades it.
pub async fn open_socket(
    target: &Target,
    source: Option<IpAddr>,
    url: &str,
) -> Result<Ws, (&'static str, String)> {
    let socket = match target.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| ("socket", e.to_string()))?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| ("bind", format!("{ip}: {e}")))?;
    }
    let stream = timeout(STEP_TIMEOUT, socket.connect(target.addr))
        .await
        .map_err(|_| ("connect", "timed out".to_owned()))?
        .map_err(|e| ("connect", e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (ws, _) = timeout(
        STEP_TIMEOUT,
        tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config())),
    )
    .await
    .map_err(|_| ("upgrade", "timed out".to_owned()))?
    .map_err(|e| ("upgrade", e.to_string()))?;
    Ok(ws)
}

/// Sends `hello` and reads up to the `welcome`.
pub async fn hello(ws: &mut Ws, hello: String) -> Result<(), (&'static str, String)> {
    ws.send(Message::Text(hello.into()))
        .await
        .map_err(|e| ("hello", e.to_string()))?;
    let wait = async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(Message::Text(t)) => match serde_json::from_str::<Incoming>(t.as_str()) {
                    Ok(i) if i.kind == "welcome" => return Ok(()),
                    Ok(i) if i.kind == "error" => {
                        return Err(format!("error {}", i.code.as_deref().unwrap_or("?")))
                    }
                    _ => {}
                },
                Ok(Message::Close(c)) => return Err(format!("closed: {c:?}")),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("closed before the welcome".to_owned())
    };
    timeout(STEP_TIMEOUT, wait)
        .await
        .map_err(|_| ("welcome", "timed out".to_owned()))?
        .map_err(|e| ("welcome", e))
}

/// Connects phone `i`: socket, upgrade, hello, welcome, each timed.
pub async fn connect_phone(ctx: &Ctx, i: usize) -> Result<Ws, (&'static str, String)> {
    let global = ctx.first + i;
    let source = (!ctx.sources.is_empty()).then(|| ctx.sources[global % ctx.sources.len()]);
    let t0 = Instant::now();
    let node = global % ctx.targets.len();
    let mut ws = open_socket(&ctx.targets[node], source, &ctx.ws_urls[node]).await?;
    let t1 = Instant::now();
    ctx.connect_lat.record(t1 - t0);
    hello(&mut ws, r#"{"type":"hello","role":"audience"}"#.to_owned()).await?;
    let t2 = Instant::now();
    ctx.welcome_lat.record(t2 - t1);
    ctx.welcomed.fetch_add(1, Ordering::Relaxed);
    ctx.welcomed_by_node[node].fetch_add(1, Ordering::Relaxed);
    ctx.last_welcome_us
        .fetch_max(ctx.since_epoch_us(t2), Ordering::Relaxed);
    if let Some(seg) = &ctx.segment_id {
        answer_segment(&mut ws, seg, crate::session::group_of(global)).await?;
    }
    Ok(ws)
}

/// Answers the segment question (`--segment`) and waits for the ack: the
/// phone is in its group before any vote of the run.
async fn answer_segment(ws: &mut Ws, seg: &str, group: u8) -> Result<(), (&'static str, String)> {
    let vote =
        format!(r#"{{"type":"vote","ref":"segment","question_id":"{seg}","choice":{group}}}"#);
    ws.send(Message::Text(vote.into()))
        .await
        .map_err(|e| ("segment", e.to_string()))?;
    let wait = async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(Message::Text(t)) => match serde_json::from_str::<Incoming>(t.as_str()) {
                    Ok(i) if i.reference.as_deref() == Some("segment") => {
                        return match i.kind.as_ref() {
                            "ack" => Ok(()),
                            _ => Err(format!("error {}", i.code.as_deref().unwrap_or("?"))),
                        };
                    }
                    _ => {}
                },
                Ok(Message::Close(c)) => return Err(format!("closed: {c:?}")),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("closed before the segment's ack".to_owned())
    };
    timeout(STEP_TIMEOUT, wait)
        .await
        .map_err(|_| ("segment", "timed out".to_owned()))?
        .map_err(|e| ("segment", e))
}

struct Pending {
    n: u32,
    /// When the vote was first sent (its retries keep it).
    at: Instant,
    choice: u8,
    /// Times it was sent again after an `unavailable` answer.
    tries: u8,
}

/// Times a vote answered `unavailable` is sent again before the answer
/// counts as an error.
const MAX_RETRIES: u8 = 3;

/// A vote to send again: when, its choice, its first sending, its tries.
type Retry = (Instant, u8, Instant, u8);

struct Phone<'a> {
    ctx: &'a Ctx,
    i: usize,
    pending: VecDeque<Pending>,
    next_ref: u32,
    /// The last choice sent.
    choice: u8,
    rng: SmallRng,
}

impl Phone<'_> {
    /// A vote to send; `issued` when the run already counted it in `sent`.
    fn vote_frame(&mut self, choice: u8, issued: bool) -> Message {
        self.frame_of(choice, issued, Instant::now(), 0)
    }

    /// A vote's frame, first sent at `at` and sent again `tries` times.
    fn frame_of(&mut self, choice: u8, issued: bool, at: Instant, tries: u8) -> Message {
        let n = self.next_ref;
        self.next_ref += 1;
        let now = Instant::now();
        self.pending.push_back(Pending {
            n,
            at,
            choice,
            tries,
        });
        self.choice = choice;
        let ctx = self.ctx;
        if !issued {
            ctx.sent.fetch_add(1, Ordering::Relaxed);
        }
        ctx.first_send_us
            .fetch_min(ctx.since_epoch_us(now), Ordering::Relaxed);
        Message::Text(
            format!(
                r#"{{"type":"vote","ref":"{n}","question_id":"{}","choice":{choice}}}"#,
                ctx.question_id
            )
            .into(),
        )
    }

    /// The pending vote a ref answers, dropping any older ones left unanswered.
    fn answer(&mut self, reference: Option<&str>) -> Option<Pending> {
        let n: u32 = reference?.parse().ok()?;
        while let Some(p) = self.pending.pop_front() {
            if p.n == n {
                return Some(p);
            }
            self.ctx.error("no_ack");
            self.ctx.answered.fetch_add(1, Ordering::Relaxed);
        }
        None
    }
}

/// A phone after its welcome: votes when told, reads acks, errors and
/// tallies, until told to close or the server closes it.
pub async fn run_phone(
    ctx: Arc<Ctx>,
    i: usize,
    ws: Ws,
    mut commands: UnboundedReceiver<Cmd>,
    seed: u64,
) {
    let (mut sink, mut stream) = ws.split();
    let mut phone = Phone {
        ctx: &ctx,
        i,
        pending: VecDeque::new(),
        next_ref: 0,
        choice: NO_BALLOT,
        rng: SmallRng::seed_from_u64(
            seed ^ ((ctx.first + i) as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93),
        ),
    };
    let mut then: Option<u8> = None;
    let mut flat: Option<(Instant, Duration)> = None;
    let mut next_at: Option<Instant> = None;
    let mut retry: Option<Retry> = None;
    let mut last_sent = Instant::now();
    let far = Instant::now() + Duration::from_secs(86_400);
    let told_to_close = loop {
        let mut out: Option<Message> = None;
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let t = t.as_str();
                    if t.starts_with(r#"{"type":"tally""#) {
                        ctx.phone_tally(t);
                        continue;
                    }
                    let Ok(m) = serde_json::from_str::<Incoming>(t) else {
                        ctx.error("unreadable_frame");
                        continue;
                    };
                    let answered = match m.kind.as_ref() {
                        "ack" => {
                            let now = Instant::now();
                            match phone.answer(m.reference.as_deref()) {
                                Some(p) => {
                                    ctx.ack_lat.record(now - p.at);
                                    ctx.ballots[phone.i].store(p.choice, Ordering::Relaxed);
                                    ctx.acked.fetch_add(1, Ordering::Relaxed);
                                    let us = ctx.since_epoch_us(now);
                                    ctx.last_ack_us.fetch_max(us, Ordering::Relaxed);
                                    ctx.ack_times_us.lock().push(us);
                                    true
                                }
                                None => {
                                    ctx.error("ack_without_vote");
                                    false
                                }
                            }
                        }
                        "error" => {
                            let code = m.code.as_deref().unwrap_or("unknown");
                            match phone.answer(m.reference.as_deref()) {
                                // As the phone page does: the server's store
                                // is away for a moment, try again shortly.
                                Some(p) if code == "unavailable" && p.tries < MAX_RETRIES => {
                                    ctx.retried.fetch_add(1, Ordering::Relaxed);
                                    let wait = Duration::from_millis(1500 + phone.rng.gen_range(0..1000));
                                    retry = Some((Instant::now() + wait, p.choice, p.at, p.tries + 1));
                                    false
                                }
                                Some(_) => {
                                    ctx.error(code);
                                    true
                                }
                                None => {
                                    ctx.error(&format!("{code} (no ref)"));
                                    false
                                }
                            }
                        }
                        "tally" => {
                            ctx.phone_tally(t);
                            false
                        }
                        _ => false,
                    };
                    if answered && phone.pending.is_empty() {
                        if let Some(c) = then.take() {
                            out = Some(phone.vote_frame(c, false));
                        } else if let Some((until, gap)) = flat {
                            let at = (last_sent + gap).max(Instant::now());
                            if at < until {
                                next_at = Some(at);
                            }
                        }
                    }
                    // Counted once any follow-up vote is, so that the run never
                    // sees every vote answered while one is still to be sent.
                    if answered {
                        ctx.answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break false,
                Some(Ok(_)) => {}
            },
            cmd = commands.recv() => match cmd {
                Some(Cmd::Vote { choice, then: after }) => {
                    then = after;
                    if retry.take().is_some() {
                        // A newer vote replaces the one waiting to be sent again.
                        ctx.answered.fetch_add(1, Ordering::Relaxed);
                    }
                    out = Some(phone.vote_frame(choice, true));
                }
                Some(Cmd::FlatOut { first, until, gap }) => {
                    flat = Some((until, gap));
                    next_at = Some(first);
                }
                Some(Cmd::Close) | None => break true,
            },
            _ = sleep_until(retry.map_or(far, |r| r.0)), if retry.is_some() => {
                if let Some((_, choice, at, tries)) = retry.take() {
                    out = Some(phone.frame_of(choice, true, at, tries));
                }
            }
            _ = sleep_until(next_at.unwrap_or(far)), if next_at.is_some() => {
                next_at = None;
                if flat.is_some_and(|(until, _)| Instant::now() < until) {
                    let c = choice_other_than(&mut phone.rng, phone.choice, ctx.options);
                    out = Some(phone.vote_frame(c, false));
                }
            }
        }
        if let Some(m) = out {
            last_sent = Instant::now();
            if sink.send(m).await.is_err() {
                break false;
            }
        }
    };
    // Whatever is still unanswered will not be, nor will votes not yet sent.
    commands.close();
    let mut lost = phone.pending.len() as u64 + u64::from(retry.is_some());
    while let Ok(cmd) = commands.try_recv() {
        if matches!(cmd, Cmd::Vote { .. }) {
            lost += 1;
        }
    }
    if lost > 0 {
        ctx.answered.fetch_add(lost, Ordering::Relaxed);
        for _ in 0..lost {
            ctx.error("no_ack");
        }
    }
    if told_to_close {
        let _ = sink.send(Message::Close(None)).await;
        let _ = timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
    } else if !ctx.closing.load(Ordering::Relaxed) {
        ctx.dropped.fetch_add(1, Ordering::Relaxed);
        ctx.error("disconnected");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_choice_is_in_range_and_never_the_old_one() {
        let mut rng = SmallRng::seed_from_u64(7);
        for options in 2..=12u8 {
            let mut seen = vec![false; options as usize];
            for _ in 0..1000 {
                let first = choice_other_than(&mut rng, NO_BALLOT, options);
                assert!(first < options);
                seen[first as usize] = true;
                let next = choice_other_than(&mut rng, first, options);
                assert!(next < options && next != first, "{first} then {next}");
            }
            assert!(seen.iter().all(|s| *s), "every option comes up: {seen:?}");
        }
    }

    /// A server that answers the first vote `unavailable` and acks the next:
    /// the phone sends the vote again, and it counts once, acked.
    #[tokio::test]
    async fn a_vote_answered_unavailable_is_sent_again_and_counted_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (votes_tx, votes_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let mut votes = Vec::new();
            while let Some(Ok(Message::Text(t))) = ws.next().await {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                let reference = v["ref"].as_str().unwrap().to_owned();
                let answer = if votes.is_empty() {
                    format!(r#"{{"type":"error","ref":"{reference}","code":"unavailable"}}"#)
                } else {
                    format!(r#"{{"type":"ack","ref":"{reference}"}}"#)
                };
                votes.push(v["choice"].as_u64().unwrap());
                ws.send(Message::Text(answer.into())).await.unwrap();
                if votes.len() == 2 {
                    break;
                }
            }
            let _ = votes_tx.send(votes);
            // The socket stays open until the phone closes it.
            while let Some(Ok(_)) = ws.next().await {}
        });
        let target = Target::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let ctx = Arc::new(Ctx::new(
            vec![target.clone()],
            "123456",
            "q".into(),
            4,
            Vec::new(),
            0..1,
        ));
        let ws = open_socket(&target, None, &target.ws_url("123456"))
            .await
            .unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let phone = tokio::spawn(run_phone(ctx.clone(), 0, ws, rx, 1));
        ctx.sent.fetch_add(1, Ordering::Relaxed);
        tx.send(Cmd::Vote {
            choice: 2,
            then: None,
        })
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while ctx.answered.load(Ordering::Relaxed) < 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(votes_rx.await.unwrap(), vec![2, 2], "the same vote, twice");
        assert_eq!(ctx.answered.load(Ordering::Relaxed), 1);
        assert_eq!(ctx.acked.load(Ordering::Relaxed), 1);
        assert_eq!(ctx.retried.load(Ordering::Relaxed), 1);
        assert_eq!(ctx.ballots[0].load(Ordering::Relaxed), 2);
        assert!(ctx.errors.lock().is_empty(), "{:?}", ctx.errors.lock());
        // Its latency runs from the first sending, across the wait.
        assert!(ctx.ack_lat.summary().max_ms >= 1500.0);
        ctx.closing.store(true, Ordering::Relaxed);
        tx.send(Cmd::Close).unwrap();
        let _ = phone.await;
    }

    #[test]
    fn reads_the_seq_of_a_tally_frame() {
        let frame = r#"{"type":"tally","question_id":"q","seq":42,"counts":[1,2]}"#;
        assert_eq!(tally_seq(frame), Some(42));
        assert_eq!(tally_seq(r#"{"type":"tally"}"#), None);
    }
}
