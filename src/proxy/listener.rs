//! Accepting connections: one SO_REUSEPORT listener per worker thread (the kernel spreads
//! connections), TLS handshake with a deadline, HTTP/1.1 or HTTP/2 by hyper-util's auto server,
//! an idle timeout, and graceful drain on shutdown.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use super::pipeline::{ConnInfo, Worker};
use crate::config::Config;

/// Binds `count` listeners on the same address with SO_REUSEPORT. With port 0 the first one
/// picks the port and the others join it. An address another process listens on is refused
/// first: with SO_REUSEPORT a second gateway (same user) would otherwise join the running
/// one's group and silently take part of its traffic, with its own state.
pub fn bind_reuseport(addr: SocketAddr, count: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let addr = probe_free(addr)?;
    let first = bind_one(addr)?;
    let actual = first.local_addr()?;
    let mut all = vec![first];
    for _ in 1..count {
        all.push(bind_one(actual)?);
    }
    Ok(all)
}

/// Binds (without listening) a socket that does not share its port: it fails where any socket
/// listens, and not on connections left in TIME_WAIT. Returns the address with the port the
/// system picked for port 0.
fn probe_free(addr: SocketAddr) -> io::Result<SocketAddr> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    match socket.bind(&addr.into()) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another process is already listening there (a second gateway?)",
        )),
        Err(e) => Err(e),
        Ok(()) => socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("bound address is not an IP socket address")),
    }
}

fn bind_one(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// hyper-util's auto server with the configured limits and timers.
fn http_builder(config: &Config) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.timeouts.header_read)
        // hyper answers 431 when the header section outgrows this buffer (minimum 8 KiB).
        .max_buf_size(config.max_request_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(config.max_request_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(config.timeouts.idle / 2))
        .keep_alive_timeout(config.timeouts.header_read);
    builder
}

/// Runs one worker's accept loop until shutdown, then drains its connections up to the
/// configured deadline.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    worker: Worker,
    tls: Arc<ServerConfig>,
    mut shutdown: watch::Receiver<bool>,
    on_ready: impl FnOnce(),
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let shared = worker.shared();
    let worker = Arc::new(worker);
    let builder = Arc::new(http_builder(&shared.config));
    let acceptor = TlsAcceptor::from(tls);
    let tracker = TaskTracker::new();
    let for_connections = shutdown.clone();
    on_ready();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let conn = Connection {
                        worker: worker.clone(),
                        builder: builder.clone(),
                        acceptor: acceptor.clone(),
                        shutdown: for_connections.clone(),
                    };
                    tracker.spawn(conn.serve(tcp, peer));
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    tracker.close();
    let drain = shared.config.timeouts.shutdown_drain;
    if tokio::time::timeout(drain, tracker.wait()).await.is_err() {
        tracing::warn!(
            remaining = tracker.len(),
            "drain deadline reached; closing remaining connections"
        );
    }
    Ok(())
}

struct Connection {
    worker: Arc<Worker>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    acceptor: TlsAcceptor,
    shutdown: watch::Receiver<bool>,
}

impl Connection {
    async fn serve(mut self, tcp: TcpStream, peer: SocketAddr) {
        let shared = self.worker.shared();
        let metrics = shared.metrics.clone();
        metrics.active_connections.inc();
        let _active = scopeguard(move || {
            metrics.active_connections.dec();
        });
        let _ = tcp.set_nodelay(true);
        let timeouts = &shared.config.timeouts;
        let stream =
            match tokio::time::timeout(timeouts.header_read, self.acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    shared.metrics.tls_handshake_failures.inc();
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    shared.metrics.tls_handshake_failures.inc();
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
        let sni = stream
            .get_ref()
            .1
            .server_name()
            .map(|s| s.trim_end_matches('.').to_ascii_lowercase());
        let info = Arc::new(ConnInfo { peer, sni });
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(ActivityIo {
            inner: stream,
            activity: activity.clone(),
        });
        let worker = self.worker.clone();
        let service = service_fn(move |req| {
            let worker = worker.clone();
            let info = info.clone();
            async move { Ok::<_, Infallible>(worker.handle(&info, req).await) }
        });
        let conn = self.builder.serve_connection_with_upgrades(io, service);
        tokio::pin!(conn);
        let idle = timeouts.idle;
        let mut closing = false;
        loop {
            let idle_left = idle.saturating_sub(activity.since_last());
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with error");
                    }
                    return;
                }
                _ = self.shutdown.wait_for(|stop| *stop), if !closing => {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
                _ = tokio::time::sleep(idle_left), if !closing => {
                    if activity.since_last() >= idle {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
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

/// Time of the last byte read or written on a connection, for the idle timeout.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn since_last(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// Stream wrapper that records activity on every successful read or write.
struct ActivityIo<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for ActivityIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ActivityIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
