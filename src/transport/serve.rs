//! The HTTP server loop: accepts connections and serves each with hyper,
//! with a deadline on everything that waits on a client (v1.1, "nothing
//! waits forever"):
//!
//! - a request head must arrive within `--header-timeout-s` of its first
//!   byte (or of the connection's start);
//! - a request body within `--body-timeout-s` of its head (else 408 and the
//!   connection closes);
//! - a keep-alive connection with no request is closed after
//!   `--idle-timeout-s`;
//! - a response the client does not take, after `--write-timeout-s` without
//!   progress;
//! - on stop, the server finishes within `--shutdown-timeout-s` whatever
//!   the clients do.
//!
//! Each connection's socket is wrapped in [`Watched`], which notes when
//! bytes come and go in a [`ConnWatch`]; the websocket layer reads the same
//! notes after an upgrade to tell a slow phone from a stalled one.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::{sleep_until, Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service;

use crate::config::Config;
use crate::error::{Error, ErrorCode};
use crate::live::registry::Hub;

/// Milliseconds since the first call, plus one: 0 means "not set".
fn now_ms() -> u64 {
    static BASE: OnceLock<std::time::Instant> = OnceLock::new();
    BASE.get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
        + 1
}

fn instant_of(ms: u64) -> Instant {
    let now = now_ms();
    let now_i = Instant::now();
    if ms >= now {
        now_i + Duration::from_millis(ms - now)
    } else {
        now_i
            .checked_sub(Duration::from_millis(now - ms))
            .unwrap_or(now_i)
    }
}

/// What one connection's socket has done lately.
#[derive(Default)]
pub struct ConnWatch {
    /// Requests between their head and the end of their response.
    in_flight: AtomicUsize,
    /// When the connection last became idle (no request in flight).
    idle_since: AtomicU64,
    /// When the first byte of the coming request head was read (0: none yet).
    head_started: AtomicU64,
    /// Since when a write has been waiting on the peer (0: none waits).
    write_waiting_since: AtomicU64,
    /// Reset the connection (RST) instead of closing it: its queues are
    /// dropped at once.
    reset_on_close: AtomicBool,
    /// Wakes the connection's watchdog when a deadline may have moved earlier.
    wake: Notify,
}

impl ConnWatch {
    fn new() -> ConnWatch {
        let w = ConnWatch::default();
        // A new connection owes its first head from the start.
        w.head_started.store(now_ms(), Ordering::Relaxed);
        w.idle_since.store(now_ms(), Ordering::Relaxed);
        w
    }

    /// How long a write has waited on the peer without progress.
    pub fn write_stalled_for(&self) -> Duration {
        match self.write_waiting_since.load(Ordering::Relaxed) {
            0 => Duration::ZERO,
            t => Duration::from_millis(now_ms().saturating_sub(t)),
        }
    }

    /// When the socket is dropped, reset it rather than close it: the
    /// peer takes nothing, so nothing queued need wait for it.
    pub fn reset_on_close(&self) {
        self.reset_on_close.store(true, Ordering::Relaxed);
    }

    /// The deadline that applies now, if any.
    fn deadline(&self, t: &Timeouts) -> Option<u64> {
        let write = match self.write_waiting_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(since + t.write),
        };
        let wait = if self.in_flight.load(Ordering::Relaxed) > 0 {
            None
        } else {
            match self.head_started.load(Ordering::Relaxed) {
                0 => Some(self.idle_since.load(Ordering::Relaxed) + t.idle),
                started => Some(started + t.header),
            }
        };
        match (write, wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Relaxed);
    }

    fn request_done(&self) {
        if self.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.idle_since.store(now_ms(), Ordering::Relaxed);
            self.wake.notify_one();
        }
    }
}

/// The deadlines, in milliseconds.
#[derive(Clone, Copy)]
struct Timeouts {
    header: u64,
    idle: u64,
    write: u64,
    body: Duration,
}

impl Timeouts {
    fn of(c: &Config) -> Timeouts {
        Timeouts {
            header: c.header_timeout().as_millis() as u64,
            idle: c.idle_timeout().as_millis() as u64,
            write: c.write_timeout().as_millis() as u64,
            body: c.body_timeout(),
        }
    }
}

/// Resolves when the connection has waited past its deadline.
async fn watchdog(w: &ConnWatch, t: &Timeouts) {
    loop {
        let mut notified = pin!(w.wake.notified());
        notified.as_mut().enable();
        match w.deadline(t) {
            Some(at) if at <= now_ms() => return,
            Some(at) => {
                tokio::select! {
                    _ = sleep_until(instant_of(at)) => {}
                    _ = notified => {}
                }
            }
            None => notified.await,
        }
    }
}

/// A socket that notes its reads and writes in a [`ConnWatch`].
pub struct Watched {
    io: TcpStream,
    watch: Arc<ConnWatch>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let w = &self.watch;
            if w.in_flight.load(Ordering::Relaxed) == 0
                && w.head_started.load(Ordering::Relaxed) == 0
            {
                w.head_started.store(now_ms(), Ordering::Relaxed);
                w.wake.notify_one();
            }
        }
        r
    }
}

impl Watched {
    fn note_write(&self, r: &Poll<io::Result<usize>>) {
        let w = &self.watch;
        match r {
            Poll::Pending => {
                if w.write_waiting_since.load(Ordering::Relaxed) == 0 {
                    w.write_waiting_since.store(now_ms(), Ordering::Relaxed);
                    w.wake.notify_one();
                }
            }
            _ => w.write_waiting_since.store(0, Ordering::Relaxed),
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.note_write(&r);
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.note_write(&r);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if self.watch.reset_on_close.load(Ordering::Relaxed) {
            // Linger zero: the close is a reset, and the kernel drops what
            // the peer never took.
            let _ = socket_zero_linger(&self.io);
        }
    }
}

#[allow(deprecated)]
fn socket_zero_linger(s: &TcpStream) -> io::Result<()> {
    s.set_linger(Some(Duration::ZERO))
}

/// The error a request body gives once its deadline has passed.
#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

/// A request body that must arrive whole before its deadline.
struct DeadlineBody {
    inner: Incoming,
    sleep: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(f) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(f.map(|r| r.map_err(Into::into)));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// A response body that marks its request done when dropped, that is once
/// hyper has written it (or the connection ended).
struct TrackedBody {
    inner: Body,
    _done: RequestDone,
}

struct RequestDone(Arc<ConnWatch>);

impl Drop for RequestDone {
    fn drop(&mut self) {
        self.0.request_done();
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// Serves one request through the router, with the peer's address, the
/// connection's watch and the body's deadline.
async fn handle(
    mut router: Router,
    watch: Arc<ConnWatch>,
    peer: SocketAddr,
    body_timeout: Duration,
    req: Request<Incoming>,
) -> Response<TrackedBody> {
    watch.request_started();
    let done = RequestDone(watch.clone());
    let timed_out = Arc::new(AtomicBool::new(false));
    let mut req = req.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            sleep: Box::pin(tokio::time::sleep(body_timeout)),
            timed_out: timed_out.clone(),
        })
    });
    req.extensions_mut().insert(ConnectInfo(peer));
    req.extensions_mut().insert(watch);
    let mut resp = match router.call(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    if timed_out.load(Ordering::Relaxed) {
        resp = body_timeout_response(body_timeout);
    }
    resp.map(|inner| TrackedBody { inner, _done: done })
}

/// 408, in the contract's error format; the connection closes after it.
fn body_timeout_response(limit: Duration) -> axum::response::Response {
    let mut r = Error::new(
        ErrorCode::BadRequest,
        format!(
            "the request body did not arrive within {} s",
            limit.as_secs()
        ),
    )
    .into_response();
    *r.status_mut() = StatusCode::REQUEST_TIMEOUT;
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Accept errors that concern one connection only.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `hub` on `listener` until `shutdown` resolves; then stops taking
/// connections, closes every socket with 1001, lets requests under way
/// finish, and returns within `--shutdown-timeout-s` whatever clients do.
pub async fn run(
    listener: TcpListener,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = crate::transport::http::app(hub.clone());
    let config = &hub.shared.config;
    let timeouts = Timeouts::of(config);
    let tracker = TaskTracker::new();
    let stop = CancellationToken::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
        };
        tracker.spawn(serve_connection(
            tcp,
            peer,
            app.clone(),
            timeouts,
            stop.clone(),
        ));
    }
    let deadline = Instant::now() + config.shutdown_timeout();
    tracing::info!("stopping: closing every connection");
    drop(listener);
    hub.shutdown();
    stop.cancel();
    tracker.close();
    if tokio::time::timeout_at(deadline, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            left = tracker.len(),
            "stop deadline reached with requests under way; dropping them"
        );
    }
    while hub.shared.open_sockets.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    timeouts: Timeouts,
    stop: CancellationToken,
) {
    let watch = Arc::new(ConnWatch::new());
    let io = TokioIo::new(Watched {
        io: tcp,
        watch: watch.clone(),
    });
    let service = {
        let watch = watch.clone();
        hyper::service::service_fn(move |req| {
            let (app, watch) = (app.clone(), watch.clone());
            async move { Ok::<_, Infallible>(handle(app, watch, peer, timeouts.body, req).await) }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own deadlines apply (see `ConnWatch`); hyper's would also close
    // idle keep-alive connections at the header timeout.
    builder.header_read_timeout(None);
    let mut conn = pin!(builder.serve_connection(io, service).with_upgrades());
    let mut stopping = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = watchdog(&watch, &timeouts) => {
                tracing::debug!(%peer, "closing a connection past its deadline");
                return;
            }
            _ = stop.cancelled(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
