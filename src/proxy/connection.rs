//! One client connection: the TLS handshake with a deadline, HTTP/2 or HTTP/1.1 as ALPN
//! chose (RFC 9113 §3.3: HTTP/2 over TLS is always negotiated), the idle timeout, graceful
//! drain on shutdown, and the resting of idle HTTP/1.1 keep-alive connections.
//!
//! Resting: hyper keeps about 28 KiB of buffers per HTTP/1.1 connection (its read and write
//! buffers, the cached header map, its state) for as long as the connection is open, idle or
//! not. A dashboard's browsers hold many idle keep-alive connections, so an HTTP/1.1
//! connection quiet for `REST_AFTER` with no request in flight is handed back by hyper (its
//! reader sees a clean end of input, the TLS session is not closed) and only the TLS stream
//! is kept, waiting for the socket to become readable; then a fresh hyper connection takes
//! it up again. The client sees one unbroken keep-alive connection.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;

use super::pipeline::ConnInfo;
use super::reload::{Generation, WorkerCell};
use crate::config::Config;

/// How long an HTTP/1.1 connection is quiet, with no request in flight, before its hyper
/// buffers are released (see the module doc). Under load a connection is never this quiet,
/// so the hot path never rebuilds one.
const REST_AFTER: Duration = Duration::from_secs(1);

/// How often a connection draining at shutdown looks whether its first request has come.
const FIRST_REQUEST_CHECK: Duration = Duration::from_millis(20);

/// hyper's HTTP/1.1 and HTTP/2 servers with the configured limits and timers.
pub struct Protocols {
    h1: http1::Builder,
    h2: http2::Builder<TokioExecutor>,
}

impl Protocols {
    pub fn new(config: &Config) -> Self {
        let mut h1 = http1::Builder::new();
        h1.timer(TokioTimer::new())
            .header_read_timeout(config.timeouts.header_read)
            // hyper answers 431 when the header section outgrows this buffer (minimum 8 KiB).
            .max_buf_size(config.max_request_header_bytes.max(8192));
        // hyper's HTTP/2 defaults otherwise (200 streams, 1 MiB windows, 16 KiB frames): the
        // cost measured is per stream, not flow control (README "Performance").
        let mut h2 = http2::Builder::new(TokioExecutor::new());
        h2.timer(TokioTimer::new())
            .max_header_list_size(
                u32::try_from(config.max_request_header_bytes).unwrap_or(u32::MAX),
            )
            .keep_alive_interval(Some(config.timeouts.idle / 2))
            .keep_alive_timeout(config.timeouts.header_read);
        Self { h1, h2 }
    }
}

pub struct Connection {
    /// The generation at accept: its certificates, limits and timeouts hold for the whole
    /// connection.
    pub generation: Arc<Generation>,
    /// Read again for each request, so a reload applies from the next request on.
    pub current: WorkerCell,
    pub shutdown: watch::Receiver<bool>,
}

type Io = TokioIo<ActivityIo>;

impl Connection {
    pub async fn serve(self, tcp: TcpStream, peer: SocketAddr) {
        let shared = self.generation.worker.shared();
        let metrics = shared.metrics.clone();
        metrics.active_connections.inc();
        let _active = scopeguard(move || {
            metrics.active_connections.dec();
        });
        let _ = tcp.set_nodelay(true);
        // Boxed: the handshake's state is not kept in the connection's task once it is done.
        let Some(stream) = Box::pin(self.handshake(tcp, peer)).await else {
            return;
        };
        let tls = stream.get_ref().1;
        let sni = tls.server_name();
        let sni = sni.map(|s| s.trim_end_matches('.').to_ascii_lowercase());
        let h2 = tls.alpn_protocol() == Some(b"h2");
        let info = Arc::new(ConnInfo { peer, sni });
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(ActivityIo {
            inner: stream,
            activity: activity.clone(),
        });
        let served = if h2 {
            Box::pin(self.serve_h2(io, &info, &activity)).await
        } else {
            Box::pin(self.serve_h1(io, &info, &activity)).await
        };
        if let Err(e) = served {
            tracing::debug!(%peer, error = %e, "connection ended with error");
        }
    }

    async fn handshake(&self, tcp: TcpStream, peer: SocketAddr) -> Option<TlsStream<TcpStream>> {
        let shared = self.generation.worker.shared();
        let deadline = shared.config.timeouts.header_read;
        let failed =
            match tokio::time::timeout(deadline, self.generation.acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => return Some(stream),
                Ok(Err(e)) => e.to_string(),
                Err(_) => "timed out".to_string(),
            };
        shared.metrics.tls_handshake_failures.inc();
        tracing::debug!(%peer, error = %failed, "TLS handshake failed");
        None
    }

    /// The service hyper calls for each request; it counts the request in flight until its
    /// answer's body is done (or dropped), which resting waits for.
    fn service(
        &self,
        info: &Arc<ConnInfo>,
        activity: &Arc<Activity>,
    ) -> impl hyper::service::Service<
        http::Request<Incoming>,
        Response = http::Response<Body>,
        Error = Infallible,
        Future = impl Future<Output = Result<http::Response<Body>, Infallible>> + Send + 'static,
    > + Clone
           + Send
           + Unpin
           + 'static {
        let (current, info, activity) = (self.current.clone(), info.clone(), activity.clone());
        service_fn(move |req| {
            let generation = current.load_full();
            let (info, activity) = (info.clone(), activity.clone());
            async move {
                let done = InFlight::start(activity);
                let resp = generation.worker.handle(&info, req).await;
                Ok::<_, Infallible>(resp.map(|body| Body::new(Tracked { body, _done: done })))
            }
        })
    }

    async fn serve_h2(
        mut self,
        io: Io,
        info: &Arc<ConnInfo>,
        activity: &Arc<Activity>,
    ) -> Result<(), hyper::Error> {
        let service = self.service(info, activity);
        let mut conn = Box::pin(self.generation.protocols.h2.serve_connection(io, service));
        self.drive(conn.as_mut(), activity, false).await
    }

    /// HTTP/1.1, WebSocket upgrades included, resting between requests when quiet.
    async fn serve_h1(
        mut self,
        mut io: Io,
        info: &Arc<ConnInfo>,
        activity: &Arc<Activity>,
    ) -> Result<(), hyper::Error> {
        let service = self.service(info, activity);
        loop {
            // Boxed, so a resting connection's task keeps none of hyper's state.
            let mut conn = Box::new(
                self.generation
                    .protocols
                    .h1
                    .serve_connection(io, service.clone())
                    .with_upgrades(),
            );
            self.drive(Pin::new(&mut *conn), activity, true).await?;
            if !activity.rested.swap(false, Ordering::Relaxed) {
                return Ok(());
            }
            // A sync call: hyper's parts never take room in this future's state.
            let Some(rested) = conn.at_rest() else {
                return Ok(());
            };
            io = rested;
            if !self.wake(&mut io, activity).await {
                let _ = io.inner_mut().shutdown().await;
                return Ok(());
            }
        }
    }

    /// Runs a hyper connection until it ends (idle timeout and shutdown close it gracefully)
    /// or, when it `rests` (HTTP/1.1), is handed back at rest.
    async fn drive<C>(
        &mut self,
        mut conn: Pin<&mut C>,
        activity: &Activity,
        rests: bool,
    ) -> Result<(), hyper::Error>
    where
        C: Served + ?Sized,
    {
        let timeouts = &self.generation.worker.shared().config.timeouts;
        let (idle, header_read) = (timeouts.idle, timeouts.header_read);
        let mut closing = false;
        // At shutdown, a connection that has not started a request yet may carry one hyper
        // has not read (accepted just before): it gets until `header_read` for it, instead of
        // a close that would fail that request.
        let mut first_request_by: Option<Instant> = None;
        loop {
            // Checked again every `REST_AFTER`: an answer may end at any time.
            let quiet = activity.since_last();
            let check = REST_AFTER.checked_sub(quiet).unwrap_or(REST_AFTER);
            let wait = idle.saturating_sub(quiet).min(check);
            let waiting_first = first_request_by.is_some() && !closing;
            tokio::select! {
                result = conn.as_mut() => return result,
                _ = self.shutdown.wait_for(|stop| *stop), if !closing && first_request_by.is_none() => {
                    if activity.started.load(Ordering::Relaxed) == 0 {
                        first_request_by = Some(Instant::now() + header_read);
                    } else {
                        closing = true;
                        conn.as_mut().graceful();
                    }
                }
                _ = tokio::time::sleep(FIRST_REQUEST_CHECK), if waiting_first => {
                    let by = first_request_by.unwrap_or_else(Instant::now);
                    if activity.started.load(Ordering::Relaxed) > 0 || Instant::now() >= by {
                        closing = true;
                        conn.as_mut().graceful();
                    }
                }
                _ = tokio::time::sleep(wait), if !closing && first_request_by.is_none() => {
                    let quiet = activity.since_last();
                    if quiet >= idle {
                        closing = true;
                        conn.as_mut().graceful();
                    } else if rests && quiet >= REST_AFTER && activity.may_rest() {
                        // The next read hyper makes ends its input (see `ActivityIo`).
                        activity.ask_rest();
                    }
                }
            }
        }
    }

    /// Waits, holding only the TLS stream, until the client sends again (`true`), or the idle
    /// timeout or shutdown closes the connection (`false`).
    async fn wake(&mut self, io: &mut Io, activity: &Activity) -> bool {
        let shared = self.generation.worker.shared();
        let resting = shared.metrics.resting_connections.clone();
        resting.inc();
        let _resting = scopeguard(move || {
            resting.dec();
        });
        let idle = shared.config.timeouts.idle;
        let idle_left = idle.saturating_sub(activity.since_last());
        let tcp = io.inner().inner.get_ref().0;
        tokio::select! {
            ready = tcp.readable() => ready.is_ok(),
            _ = self.shutdown.wait_for(|stop| *stop) => false,
            _ = tokio::time::sleep(idle_left) => false,
        }
    }
}

/// hyper's connections as `drive` and `serve_h1` see them (their types name the service's).
trait Served: Future<Output = Result<(), hyper::Error>> {
    fn graceful(self: Pin<&mut Self>);
    /// The TLS stream of a connection handed back at rest, when nothing was left unread
    /// (a clean end of input). Only HTTP/1.1 rests.
    fn at_rest(self: Box<Self>) -> Option<Io> {
        None
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> Served for http1::UpgradeableConnection<Io, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    B: http_body::Body + 'static,
    B::Error: Into<BoxError>,
{
    fn graceful(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }

    fn at_rest(self: Box<Self>) -> Option<Io> {
        let parts = self.into_parts()?;
        parts.read_buf.is_empty().then_some(parts.io)
    }
}

impl<S, B> Served for http2::Connection<Io, S, TokioExecutor>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    B: http_body::Body + 'static,
    B::Error: Into<BoxError>,
    TokioExecutor: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn graceful(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// A response body that marks its request finished when it is done or dropped.
struct Tracked {
    body: Body,
    _done: InFlight,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// One request in flight on a connection, from hyper's call to the end of its answer.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.started.fetch_add(1, Ordering::Relaxed);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs a closure when dropped (connection gauges stay right on every exit path).
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

/// What a connection did last and when, for the idle timeout and resting.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    /// The last byte moved was written (an answer), not read.
    wrote_last: AtomicBool,
    in_flight: AtomicUsize,
    /// Requests started on this connection, ever.
    started: AtomicUsize,
    /// Resting was asked for: the next read hyper makes sees the end of input (and clears it).
    rest_asked: AtomicBool,
    /// The end of input hyper saw was a rest, not the client's.
    rested: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            wrote_last: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            started: AtomicUsize::new(0),
            rest_asked: AtomicBool::new(false),
            rested: AtomicBool::new(false),
        }
    }

    fn touch(&self, wrote: bool) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
        self.wrote_last.store(wrote, Ordering::Relaxed);
    }

    fn since_last(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }

    /// Whether hyper sits between requests: the last answer was written in full and no
    /// request is in flight (a request mid-way, a streamed answer or a request still being
    /// read never rests), and resting is not already asked for.
    fn may_rest(&self) -> bool {
        self.wrote_last.load(Ordering::Relaxed)
            && self.in_flight.load(Ordering::Relaxed) == 0
            && !self.rest_asked.load(Ordering::Relaxed)
    }

    fn ask_rest(&self) {
        self.rest_asked.store(true, Ordering::Relaxed);
    }
}

/// The TLS stream, recording activity on every read and write, and ending hyper's input when
/// resting was asked for and nothing is waiting to be read.
struct ActivityIo {
    inner: TlsStream<TcpStream>,
    activity: Arc<Activity>,
}

impl ActivityIo {
    /// Nothing decrypted and unread, nothing to send, the client has not closed: a rest
    /// loses nothing.
    fn settled(&mut self) -> bool {
        let tls = self.inner.get_mut().1;
        !tls.wants_write()
            && tls
                .process_new_packets()
                .is_ok_and(|s| s.plaintext_bytes_to_read() == 0 && !s.peer_has_closed())
    }
}

impl AsyncRead for ActivityIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // A plain load (no locked swap) on this per-read path: a rest is asked rarely, and
        // the one read that answers it clears it.
        if self.activity.rest_asked.load(Ordering::Relaxed) {
            self.activity.rest_asked.store(false, Ordering::Relaxed);
            if self.settled() {
                self.activity.rested.store(true, Ordering::Relaxed);
                return Poll::Ready(Ok(()));
            }
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch(false);
        }
        polled
    }
}

impl AsyncWrite for ActivityIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch(true);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// At rest hyper's shutdown is not passed on: the connection stays open for the client.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.activity.rested.load(Ordering::Relaxed) {
            return Pin::new(&mut self.inner).poll_flush(cx);
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch(true);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
