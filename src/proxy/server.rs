//! A running gateway: binds every listener up front (so bind errors are reported before
//! anything starts), or takes them over from the gateway it upgrades; starts one thread per
//! worker with its own current-thread runtime, and a control thread for the admin and
//! redirect listeners; reloads its config and retires after an upgrade. What it is built
//! from (store, core, mail, a generation's state) is assembled in `assembly.rs`.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::watch;

pub use super::assembly::open_core;
use super::assembly::{
    boxed, build_auth, build_shared, build_workers, config_parts, current_thread_runtime,
    record_enforcement, start_mailer, Built,
};
use super::listener::{bind_reuseport, serve_tls};
use super::reload::{restart_only, FileStamp, Generations, ReloadError, WorkerCell};
use super::upgrade::{Handover, Offered, Sockets};
use crate::config::{Config, UpstreamTls};
use crate::federation::assertion::Asserter;
use crate::gate::auth::Auth;
use crate::proxy::metrics::Metrics;
use crate::proxy::ops::{admin_router, redirect_router, Readiness};
use crate::session::live::LiveConnections;
use arc_swap::ArcSwap;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot start thread: {0}")]
    Thread(io::Error),
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("mail: {0}")]
    Mail(String),
    #[error("SSO or identity assertion setup failed: {0}")]
    Federation(String),
    #[error("no environment watches a login: there is no MFA state to administer")]
    NoCore,
    #[error("upgrade: {0}")]
    Upgrade(String),
}

/// A started gateway. Dropping it does not stop it; call `shutdown` then `join`.
pub struct RunningGateway {
    pub https_addr: SocketAddr,
    pub http_addr: Option<SocketAddr>,
    pub admin_addr: SocketAddr,
    pub live: Arc<LiveConnections>,
    pub readiness: Arc<Readiness>,
    /// Authentication state, when any environment watches a login (as started: a reload
    /// replaces its settings, see `current_auth`).
    pub auth: Option<Arc<Auth>>,
    shutdown: watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
    reloads: Reloads,
    upgrades: Upgrades,
}

/// The listening sockets offered to an upgrading process, and whether one took them.
struct Upgrades {
    offered: Offered,
    handed_over: watch::Sender<Option<Handover>>,
}

/// What a reload builds on: the current generation (with the metrics and the worker count
/// it has) and the control runtime.
struct Reloads {
    generations: Arc<Generations>,
    /// The control runtime, where a reloaded config's mail worker runs.
    control: tokio::runtime::Handle,
    /// Reloads (SIGHUP, a renewal, a caller) are built and applied one at a time.
    one_at_a_time: std::sync::Mutex<()>,
}

fn bind_error(what: &'static str, addr: SocketAddr) -> impl FnOnce(io::Error) -> StartError {
    move |source| StartError::Bind { what, addr, source }
}

fn warn_insecure(config: &Config) {
    for env in &config.environments {
        if matches!(env.upstream.tls, UpstreamTls::InsecureSkipVerify) {
            tracing::warn!(
                environment = %env.name,
                "upstream_insecure_skip_verify is ON: the upstream certificate is NOT verified"
            );
        }
    }
}

/// Binds every listener: `workers` https ones sharing the port, then http and admin.
fn bind_all(config: &Config, workers: usize) -> Result<Sockets, StartError> {
    let https =
        bind_reuseport(config.listen, workers).map_err(bind_error("https", config.listen))?;
    let http = match config.http_listen {
        Some(addr) => Some(
            bind_reuseport(addr, 1)
                .map_err(bind_error("http", addr))?
                .remove(0),
        ),
        None => None,
    };
    let admin = bind_reuseport(config.admin_listen, 1)
        .map_err(bind_error("admin", config.admin_listen))?
        .remove(0);
    Ok(Sockets { https, http, admin })
}

/// Sockets taken over from a running gateway must be the ones this config would bind.
fn check_inherited(config: &Config, workers: usize, got: &Sockets) -> Result<(), StartError> {
    let mismatch = |what: String| Err(StartError::Upgrade(what));
    if got.https.len() != workers {
        return mismatch(format!(
            "the running gateway has {} workers, this config {workers}: restart to change workers",
            got.https.len()
        ));
    }
    let same = |want: SocketAddr, have: &std::net::TcpListener| {
        have.local_addr()
            .is_ok_and(|a| a.ip() == want.ip() && (want.port() == 0 || a.port() == want.port()))
    };
    if !same(config.listen, &got.https[0]) || !same(config.admin_listen, &got.admin) {
        return mismatch("listen or admin_listen changed: restart to change them".into());
    }
    match (config.http_listen, &got.http) {
        (None, None) => Ok(()),
        (Some(want), Some(have)) if same(want, have) => Ok(()),
        _ => mismatch("http_listen changed: restart to change it".into()),
    }
}

/// What can refuse a start on these sockets, checked before anything is opened: an upgrade
/// on the embedded store asks the running gateway to exit only once this passed.
pub fn preflight(config: &Config, sockets: &Sockets) -> Result<(), StartError> {
    check_inherited(config, config.workers.max(1), sockets)?;
    super::tls::server_config(config)?;
    let roots = super::upstream::system_roots_for(config);
    for env in &config.environments {
        super::upstream::client(env, &config.timeouts, &roots)?;
    }
    drop(start_mailer(config)?);
    crate::gate::auth::build_sso(config).map_err(StartError::Federation)?;
    let asserter = config.assertion.as_ref().map(Asserter::build).transpose();
    asserter.map_err(StartError::Federation)?;
    Ok(())
}

pub fn start(config: Config) -> Result<RunningGateway, StartError> {
    start_with(config, None)
}

/// Starts on `inherited` sockets (an upgrade, see `upgrade.rs`) or on freshly bound ones.
pub fn start_with(
    config: Config,
    inherited: Option<Sockets>,
) -> Result<RunningGateway, StartError> {
    warn_insecure(&config);
    let config = Arc::new(config);
    let tls = super::tls::server_config(&config)?;
    let workers = config.workers.max(1);
    let bound = match inherited {
        Some(sockets) => {
            check_inherited(&config, workers, &sockets)?;
            sockets
        }
        None => bind_all(&config, workers)?,
    };
    let offered = bound
        .try_clone()
        .map_err(bind_error("https", config.listen))?;
    let https_addr = bound.https[0]
        .local_addr()
        .map_err(bind_error("https", config.listen))?;
    let http_addr = bound.http.as_ref().and_then(|l| l.local_addr().ok());
    let admin_addr = bound
        .admin
        .local_addr()
        .map_err(bind_error("admin", config.admin_listen))?;

    let metrics = Arc::new(Metrics::new());
    let live = Arc::new(LiveConnections::default());
    let roots = super::upstream::system_roots_for(&config);
    let (auth, revocation_events, mail_worker) =
        match build_auth(&config, (&live, &metrics), &roots)? {
            Some(parts) => (Some(parts.auth), Some(parts.events), parts.mail_worker),
            None => (None, None, None),
        };
    let https_port = config.public_https_port.unwrap_or(https_addr.port());
    let shared = build_shared(config, (&metrics, &live), auth.clone(), roots)?;
    let cells: Vec<WorkerCell> = build_workers(&shared, &tls, workers)?
        .into_iter()
        .map(|g| Arc::new(ArcSwap::from_pointee(g)))
        .collect();
    let generations = Arc::new(Generations::new(shared, cells.clone()));
    let readiness = Arc::new(Readiness::default());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let started = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();

    for (i, (listener, cell)) in bound.https.into_iter().zip(cells).enumerate() {
        let rx = shutdown_rx.clone();
        let (started, readiness) = (started.clone(), readiness.clone());
        let thread = std::thread::Builder::new()
            .name(format!("mfagate-worker-{i}"))
            .spawn(move || {
                let result = current_thread_runtime().and_then(|rt| {
                    rt.block_on(serve_tls(listener, cell, rx, || {
                        if started.fetch_add(1, Ordering::SeqCst) + 1 == workers {
                            readiness.set(true);
                        }
                    }))
                });
                if let Err(e) = result {
                    tracing::error!(worker = i, error = %e, "worker stopped with an error");
                }
            })
            .map_err(StartError::Thread)?;
        threads.push(thread);
    }

    let control = current_thread_runtime().map_err(StartError::Thread)?;
    let handle = control.handle().clone();
    let admin_app = admin_router(generations.clone(), readiness.clone());
    let redirect_app = redirect_router(generations.clone(), https_port);
    let rx = shutdown_rx;
    let current = {
        let generations = generations.clone();
        move || generations.shared.load().auth.clone()
    };
    let enforcer = auth
        .is_some()
        .then(|| crate::gate::enforcement::run(current.clone()));
    let retention = auth
        .is_some()
        .then(|| crate::gate::retention::run(current.clone()));
    let follow = match (&auth, revocation_events) {
        (Some(auth), Some(events)) => Some(auth.follow_revocations(events)),
        _ => None,
    };
    let (admin, http) = (bound.admin, bound.http);
    let control = std::thread::Builder::new()
        .name("mfagate-control".into())
        .spawn(move || {
            let run = async move {
                let tasks = [follow.map(boxed), enforcer.map(boxed), retention.map(boxed)];
                for task in tasks.into_iter().chain([mail_worker]).flatten() {
                    tokio::spawn(task);
                }
                let admin = tokio::net::TcpListener::from_std(admin)?;
                let admin_srv =
                    axum::serve(admin, admin_app).with_graceful_shutdown(stopped(rx.clone()));
                match http {
                    Some(http) => {
                        let http = tokio::net::TcpListener::from_std(http)?;
                        let http_srv = axum::serve(http, redirect_app)
                            .with_graceful_shutdown(stopped(rx.clone()));
                        tokio::try_join!(async { admin_srv.await }, async { http_srv.await })?;
                    }
                    None => admin_srv.await?,
                }
                io::Result::Ok(())
            };
            if let Err(e) = control.block_on(run) {
                tracing::error!(error = %e, "control listeners stopped with an error");
            }
        })
        .map_err(StartError::Thread)?;
    threads.push(control);

    Ok(RunningGateway {
        https_addr,
        http_addr,
        admin_addr,
        live: live.clone(),
        readiness,
        auth,
        shutdown,
        threads,
        reloads: Reloads {
            generations,
            control: handle,
            one_at_a_time: std::sync::Mutex::new(()),
        },
        upgrades: Upgrades {
            offered: Arc::new(std::sync::Mutex::new(Some(offered))),
            handed_over: watch::channel(None).0,
        },
    })
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

impl RunningGateway {
    /// Reloads the config file at `path` (see `reload`).
    pub fn reload_from(&self, path: &std::path::Path) -> Result<u64, ReloadError> {
        let _one = self.reloads.one_at_a_time.lock();
        let files = self.reloads.generations.stamps_now();
        match Config::load(path) {
            Ok(config) => self.apply(config, Some(files)),
            Err(errors) => Err(self.refused(ReloadError::Invalid(errors.to_string()))),
        }
    }

    /// Swaps in `config` for new connections and requests; open connections and WebSockets
    /// carry on. Refused, with nothing changed, when it changes what needs a restart or
    /// cannot be built (certificates, SSO keys, mail, upstream TLS). Returns the generation.
    /// Must not be called from inside an async runtime.
    pub fn reload(&self, config: Config) -> Result<u64, ReloadError> {
        let _one = self.reloads.one_at_a_time.lock();
        self.apply(config, None)
    }

    fn apply(&self, config: Config, files: Option<Vec<FileStamp>>) -> Result<u64, ReloadError> {
        let r = &self.reloads;
        let built = self.build(config);
        let (shared, workers, mail_worker) = built.map_err(|e| self.refused(e))?;
        if let Some(worker) = mail_worker {
            r.control.spawn(worker);
        }
        // Tunnels of an environment the new config no longer has end with it.
        let gone = |o: &crate::session::live::LiveOwner| {
            !shared
                .config
                .environments
                .iter()
                .any(|e| e.name == o.environment)
        };
        self.live.close_where(gone);
        let generation = r.generations.apply(shared, workers, files);
        tracing::info!(generation, "config reloaded");
        Ok(generation)
    }

    fn refused(&self, error: ReloadError) -> ReloadError {
        tracing::error!(error = %error, "config reload refused; the running config is kept");
        self.reloads.generations.failed(&error);
        error
    }

    /// Everything a config generation needs, built beside the running one; enforcement times
    /// are recorded last, as at start, so a refused reload leaves the store as it was.
    fn build(&self, config: Config) -> Result<Built, ReloadError> {
        let r = &self.reloads;
        let running = r.generations.shared.load_full();
        let keys = restart_only(&running.config, &config);
        if !keys.is_empty() {
            return Err(ReloadError::NeedsRestart(keys));
        }
        warn_insecure(&config);
        let config = Arc::new(config);
        let tls = super::tls::server_config(&config).map_err(StartError::from)?;
        let roots = super::upstream::system_roots_for(&config);
        let metrics = &running.metrics;
        let (parts, mail_worker) = config_parts(&config, &roots, metrics)?;
        let auth = running
            .auth
            .as_ref()
            .map(|old| Arc::new(old.reloaded(parts)));
        let shared = build_shared(config, (metrics, &self.live), auth.clone(), roots)?;
        let workers = build_workers(&shared, &tls, r.generations.workers.len())?;
        if let Some(auth) = &auth {
            record_enforcement(auth)?;
        }
        Ok((shared, workers, mail_worker))
    }

    /// The core as the current config has it (`auth` is the one of the start).
    pub fn current_auth(&self) -> Option<Arc<Auth>> {
        self.reloads.generations.shared.load().auth.clone()
    }

    /// Whether a certificate or key file changed on disk since the current config was loaded
    /// (a renewal): the caller reloads then.
    pub fn certificates_changed(&self) -> bool {
        self.reloads.generations.files_changed()
    }

    /// Offers this gateway's listening sockets to a `mfagate serve --upgrade` started beside
    /// it (over a Unix socket in the data directory); `handed_over` then turns true.
    pub fn offer_upgrades(&self) -> io::Result<()> {
        let handed = self.upgrades.handed_over.clone();
        super::upgrade::offer(
            // `data_dir` needs a restart to change: the current config's is the start's.
            &self.reloads.generations.shared.load().config.data_dir,
            self.upgrades.offered.clone(),
            move |how| {
                handed.send_replace(Some(how));
            },
        )
    }

    /// Set once a new process took over the listening sockets: then `retire` (it serves) or
    /// `shutdown` (it waits for the store).
    pub fn handed_over(&self) -> watch::Receiver<Option<Handover>> {
        self.upgrades.handed_over.subscribe()
    }

    /// After a hand-over: stops accepting (the new process accepts on the same sockets),
    /// lets requests in flight and live WebSockets finish within
    /// `timeouts.shutdown_drain_secs`, then closes the WebSockets still open. Call `join`
    /// after it. Blocks; must not be called from inside an async runtime.
    pub fn retire(&self) {
        self.stop_accepting();
        let drain = self.reloads.generations.shared.load();
        let until = std::time::Instant::now() + drain.config.timeouts.shutdown_drain;
        while !self.live.is_empty() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.live.close_all();
    }

    /// Stops accepting, closes live WebSockets (clients reconnect elsewhere) and lets in-flight
    /// requests finish within `timeouts.shutdown_drain_secs`.
    pub fn shutdown(&self) {
        self.stop_accepting();
        self.live.close_all();
    }

    /// Not ready, no more accepting; in-flight requests drain. The sockets offered for an
    /// upgrade are let go, so the ones no process accepts on any more close with the
    /// workers' listeners.
    fn stop_accepting(&self) {
        let offered = &self.upgrades.offered;
        offered.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.readiness.set(false);
        let _ = self.shutdown.send(true);
    }

    /// Waits for every thread to finish (after `shutdown`).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}
