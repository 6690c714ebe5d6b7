//! Config reload: a new generation of everything built from the config (environments, policies,
//! users, SSO, mail, branding, limits, certificates), swapped in whole for new requests while
//! open connections and WebSockets carry on. What only a restart can change is refused by name.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::connection::Protocols;
use super::pipeline::{Shared, Worker};
use crate::config::Config;

/// What one worker serves new connections and requests with; replaced whole on reload.
pub struct Generation {
    pub worker: Worker,
    pub protocols: Protocols,
    pub acceptor: TlsAcceptor,
}

impl Generation {
    pub fn new(shared: Arc<Shared>, tls: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        Ok(Self {
            protocols: Protocols::new(&shared.config),
            worker: Worker::new(shared)?,
            acceptor: TlsAcceptor::from(tls),
        })
    }
}

/// One worker's current generation: read once per connection (handshake, limits) and once
/// per request (everything else).
pub type WorkerCell = Arc<ArcSwap<Generation>>;

/// The gateway's current generation, for the control listeners and the background loops, and
/// how reloads went.
pub struct Generations {
    pub shared: ArcSwap<Shared>,
    pub workers: Vec<WorkerCell>,
    /// Why the last reload was refused, when the last attempt was.
    pub last_error: Mutex<Option<String>>,
    /// The watched certificate files as they were when the current generation was built.
    pub files: Mutex<Vec<FileStamp>>,
}

impl Generations {
    pub fn new(shared: Arc<Shared>, workers: Vec<WorkerCell>) -> Self {
        let files = stamps(&shared.config);
        Self {
            shared: ArcSwap::new(shared),
            workers,
            last_error: Mutex::new(None),
            files: Mutex::new(files),
        }
    }

    /// Records a refused reload for `/readyz` and the metrics.
    pub fn failed(&self, error: &ReloadError) {
        self.shared.load().metrics.config_reload_failures.inc();
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
    }

    /// Swaps a built generation in: every worker's, then the control side's. `files` are the
    /// certificate files as seen before they were read (so a renewal finished while they were
    /// being read is noticed on the next check); `None`: as they are now.
    pub fn apply(
        &self,
        shared: Arc<Shared>,
        workers: Vec<Generation>,
        files: Option<Vec<FileStamp>>,
    ) -> u64 {
        for (cell, generation) in self.workers.iter().zip(workers) {
            cell.store(Arc::new(generation));
        }
        let files = files.unwrap_or_else(|| stamps(&shared.config));
        *self.files.lock().unwrap_or_else(|p| p.into_inner()) = files;
        self.shared.store(shared);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        // The metric counts the generations: the start is 0 (`inc` gives the count before).
        self.shared.load().metrics.config_reloads.inc() + 1
    }

    /// The current config's certificate files as they are now.
    pub fn stamps_now(&self) -> Vec<FileStamp> {
        stamps(&self.shared.load().config)
    }

    /// Whether a certificate or key file changed on disk since the current generation was
    /// built or this last said so: a renewal written in two steps (certificate, then key) is
    /// tried again once the second step changes the files again, and a broken pair is not
    /// retried (and logged) on every check.
    pub fn files_changed(&self) -> bool {
        let now = self.stamps_now();
        let mut seen = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let changed = *seen != now;
        *seen = now;
        changed
    }

    /// The `/readyz` detail lines: the generation, and the last refusal when there is one.
    pub fn detail(&self) -> String {
        let metrics = &self.shared.load().metrics;
        let mut out = format!(
            "config generation {}, reloads refused {}\n",
            metrics.config_reloads.get(),
            metrics.config_reload_failures.get()
        );
        if let Some(e) = &*self.last_error.lock().unwrap_or_else(|p| p.into_inner()) {
            out.push_str(&format!("last reload refused: {}\n", e.replace('\n', "; ")));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("invalid config:\n{0}")]
    Invalid(String),
    #[error("{} cannot change without a restart (the running values are kept)", .0.join(", "))]
    NeedsRestart(Vec<&'static str>),
    #[error(transparent)]
    Build(#[from] super::server::StartError),
}

/// The keys whose change only a restart can apply: the sockets, the threads, where state and
/// logs go.
pub fn restart_only(running: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut differs = |key, changed: bool| {
        if changed {
            keys.push(key);
        }
    };
    differs("listen", running.listen != new.listen);
    differs("http_listen", running.http_listen != new.http_listen);
    differs("admin_listen", running.admin_listen != new.admin_listen);
    differs(
        "public_https_port",
        running.public_https_port != new.public_https_port,
    );
    differs("workers", running.workers != new.workers);
    differs("data_dir", running.data_dir != new.data_dir);
    differs("store", running.store != new.store);
    differs("log", running.log != new.log);
    // Exports already made live in the old folder, where only this process would find them.
    differs(
        "audit.export_dir",
        running.audit.export_dir != new.audit.export_dir,
    );
    let watches = |c: &Config| c.environments.iter().any(|e| e.login.is_some());
    // The first watched login opens the store and the core, which happens at start.
    differs(
        "environments.login (the first watched login)",
        watches(new) && !watches(running),
    );
    keys
}

/// A file as last seen: its path, length and modification time (`None` when unreadable).
#[derive(Debug, PartialEq, Eq)]
pub struct FileStamp(PathBuf, Option<(u64, SystemTime)>);

fn stamps(config: &Config) -> Vec<FileStamp> {
    let files = config.environments.iter().flat_map(|e| e.tls_files.iter());
    files
        .map(|path| {
            // Followed through symlinks: renewals swap the link's target.
            let seen = std::fs::metadata(path).ok();
            let seen = seen.and_then(|m| Some((m.len(), m.modified().ok()?)));
            FileStamp(path.clone(), seen)
        })
        .collect()
}
