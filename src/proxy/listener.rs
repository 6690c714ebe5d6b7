//! Accepting connections: one SO_REUSEPORT listener per worker thread (the kernel spreads
//! connections) and graceful drain on shutdown. Each connection is served by `connection.rs`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use super::connection::Connection;
use super::reload::WorkerCell;

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

/// Runs one worker's accept loop until shutdown, then drains its connections up to the
/// configured deadline.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    current: WorkerCell,
    mut shutdown: watch::Receiver<bool>,
    on_ready: impl FnOnce(),
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let tracker = TaskTracker::new();
    let for_connections = shutdown.clone();
    let sweeping = tokio::spawn(crate::memory::sweep());
    on_ready();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let conn = Connection {
                        generation: current.load_full(),
                        current: current.clone(),
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
    sweeping.abort();
    tracker.close();
    let shared = current.load().worker.shared();
    let drain = shared.config.timeouts.shutdown_drain;
    let stopping = tokio::time::Instant::now();
    if tokio::time::timeout(drain, tracker.wait()).await.is_err() {
        tracing::warn!(
            remaining = tracker.len(),
            "drain deadline reached; closing remaining connections"
        );
    }
    // WebSocket tunnels run on this runtime: they are closed at once by a shutdown, or at
    // the end of the drain after an upgrade (`RunningGateway::retire`). Give them until then,
    // and the moment their Close frames take, before the runtime (and they) go.
    let closing = stopping + drain + Duration::from_secs(1);
    while !shared.live.is_empty() && tokio::time::Instant::now() < closing {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
