//! Zero-downtime upgrade, as Pingora does it: a new process (`mfagate serve --upgrade`) asks
//! the running one, over a Unix socket in the data directory, for its listening sockets; the
//! running one passes them (SCM_RIGHTS), the new one starts accepting on the very same sockets
//! (so no connection waiting in their queues is lost and none is refused), says it is ready,
//! and the old one stops accepting and drains.
//!
//! The exchange, one line each way: `upgrade\n` → the manifest (JSON, the sockets attached)
//! → `ready\n` or `release\n`. With a shared store (Redis) both processes serve for a while:
//! the new one says `ready` once it accepts, and the old one stops accepting and drains, its
//! WebSockets given `timeouts.shutdown_drain_secs`. The embedded store is one file only one
//! process may open, so there the new one says `release` at once: the old one stops accepting,
//! finishes its requests, closes its WebSockets and exits, and the new one opens the store and
//! serves. Connections arriving in between wait in the sockets' queues; none is refused. A new
//! process that fails before its answer leaves the old one serving.

use std::io::{self, BufRead, BufReader, IoSlice, IoSliceMut, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

/// At most this many sockets change hands (https per worker, http, admin).
const MAX_SOCKETS: usize = 256;

/// How long the old process waits for the new one to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The hand-over socket in `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("mfagate.upgrade.sock")
}

/// Which sockets come in which order: `https` of them, then http when `http`, then admin.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub https: usize,
    pub http: bool,
}

/// How the old process leaves, as the new one asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    /// The new one serves: stop accepting, drain, WebSockets given the drain time.
    Retire,
    /// The new one waits for the store: stop accepting, finish requests and exit.
    Release,
}

/// The listening sockets of a running gateway, as passed or received.
pub struct Sockets {
    pub https: Vec<std::net::TcpListener>,
    pub http: Option<std::net::TcpListener>,
    pub admin: std::net::TcpListener,
}

impl Sockets {
    fn manifest(&self) -> Manifest {
        Manifest {
            https: self.https.len(),
            http: self.http.is_some(),
        }
    }

    /// Copies of the sockets (the same open sockets, new descriptors).
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            https: self
                .https
                .iter()
                .map(|l| l.try_clone())
                .collect::<io::Result<_>>()?,
            http: self.http.as_ref().map(|l| l.try_clone()).transpose()?,
            admin: self.admin.try_clone()?,
        })
    }

    fn fds(&self) -> Vec<std::os::fd::BorrowedFd<'_>> {
        let https = self.https.iter().map(|l| l.as_fd());
        https
            .chain(self.http.as_ref().map(|l| l.as_fd()))
            .chain([self.admin.as_fd()])
            .collect()
    }

    fn from_fds(manifest: &Manifest, fds: Vec<OwnedFd>) -> io::Result<Self> {
        let expected = manifest.https + usize::from(manifest.http) + 1;
        if fds.len() != expected || manifest.https == 0 {
            return Err(io::Error::other(format!(
                "received {} sockets, the manifest names {expected}",
                fds.len()
            )));
        }
        let mut fds = fds.into_iter().map(std::net::TcpListener::from);
        let https = fds.by_ref().take(manifest.https).collect();
        let http = if manifest.http { fds.next() } else { None };
        let admin = fds
            .next()
            .ok_or_else(|| io::Error::other("no admin socket"))?;
        Ok(Self { https, http, admin })
    }
}

/// The running side: offers its sockets to the next process until shut down or handed over.
/// `sockets` is emptied at shutdown, so sockets no process accepts on are closed at once.
pub type Offered = Arc<Mutex<Option<Sockets>>>;

/// Listens on the hand-over socket (replacing a stale one) on its own thread; calls
/// `handed_over` once a new process has taken the sockets and answered.
pub fn offer(
    data_dir: &Path,
    sockets: Offered,
    handed_over: impl FnOnce(Handover) + Send + 'static,
) -> io::Result<()> {
    let path = socket_path(data_dir);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    // Whoever connects can take the sockets and stop this gateway: the owner only.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    std::thread::Builder::new()
        .name("mfagate-upgrade".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let outcome = stream.and_then(|s| hand_over(s, &sockets));
                match outcome {
                    Ok(Some(how)) => return handed_over(how),
                    Ok(None) => return, // shut down meanwhile
                    Err(e) => tracing::warn!(error = %e, "upgrade hand-over failed; still serving"),
                }
            }
        })?;
    Ok(())
}

/// One hand-over: how the new process asked the old one to leave.
fn hand_over(stream: UnixStream, sockets: &Offered) -> io::Result<Option<Handover>> {
    let peer = rustix::net::sockopt::socket_peercred(&stream)?;
    if peer.uid != rustix::process::geteuid() {
        return Err(io::Error::other(format!(
            "refused: the upgrading process runs as uid {}, not as this gateway's user",
            peer.uid.as_raw()
        )));
    }
    stream.set_read_timeout(Some(READY_WITHIN))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    expect_line(&mut reader, "upgrade")?;
    {
        let guard = sockets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sockets) = guard.as_ref() else {
            return Ok(None);
        };
        let mut manifest = serde_json::to_vec(&sockets.manifest()).map_err(io::Error::other)?;
        manifest.push(b'\n');
        let fds = sockets.fds();
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
            return Err(io::Error::other("too many sockets to pass"));
        }
        let iov = [IoSlice::new(&manifest)];
        rustix::net::sendmsg(&stream, &iov, &mut control, SendFlags::empty())?;
        tracing::info!(
            sockets = fds.len(),
            "listening sockets passed to the upgrading process"
        );
    }
    let mut line = String::new();
    reader.read_line(&mut line)?;
    match line.trim_end() {
        "ready" => Ok(Some(Handover::Retire)),
        "release" => {
            // Held open until this process exits: its end tells the new one that the store
            // is free (a pid can outlive the process as a zombie; an open socket cannot).
            std::mem::forget(reader);
            std::mem::forget(stream);
            Ok(Some(Handover::Release))
        }
        other => Err(io::Error::other(format!("unexpected answer {other:?}"))),
    }
}

fn expect_line(reader: &mut impl BufRead, word: &str) -> io::Result<()> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if line.trim_end() == word {
        Ok(())
    } else {
        Err(io::Error::other(format!("expected {word:?}, got {line:?}")))
    }
}

/// The upgrading side: takes the running gateway's sockets. Answer on the returned stream
/// (`say_ready` once serving on them, or `release`).
pub fn take_over(data_dir: &Path) -> io::Result<(Sockets, UnixStream)> {
    let path = socket_path(data_dir);
    let mut stream = UnixStream::connect(&path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("no running gateway to upgrade at {}: {e}", path.display()),
        )
    })?;
    stream.set_read_timeout(Some(READY_WITHIN))?;
    stream.write_all(b"upgrade\n")?;
    let mut buf = [0u8; 4096];
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_SOCKETS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let got = rustix::net::recvmsg(&stream, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    let text = buf[..got.bytes]
        .strip_suffix(b"\n")
        .unwrap_or(&buf[..got.bytes]);
    let manifest: Manifest = serde_json::from_slice(text)
        .map_err(|e| io::Error::other(format!("the running gateway's manifest: {e}")))?;
    Ok((Sockets::from_fds(&manifest, fds)?, stream))
}

/// Tells the old process that the new one serves; it stops accepting and drains.
pub fn say_ready(mut stream: UnixStream) -> io::Result<()> {
    stream.write_all(b"ready\n")
}

/// Asks the old process to stop and exit, and waits until it has (its end of the stream
/// closes, up to `within`), so its store is free to open.
pub fn release(mut stream: UnixStream, within: Duration) -> io::Result<()> {
    stream.write_all(b"release\n")?;
    stream.set_read_timeout(Some(within))?;
    let mut rest = Vec::new();
    match std::io::Read::read_to_end(&mut stream, &mut rest) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(io::Error::other(format!(
                "the running gateway did not exit within {} s",
                within.as_secs()
            )))
        }
        Err(e) => Err(e),
    }
}
