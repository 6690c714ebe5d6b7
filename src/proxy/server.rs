//! Assembles a running gateway: binds every listener up front (so bind errors are reported
//! before anything starts), starts one thread per worker with its own current-thread runtime,
//! and a control thread for the admin and redirect listeners.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::listener::{bind_reuseport, serve_tls};
use super::pipeline::{Shared, Worker};
use crate::config::StoreBackend;
use crate::config::{Config, UpstreamTls};
use crate::crypto::secret_box::KeyRing;
use crate::federation::assertion::Asserter;
use crate::gate::auth::{Auth, AuthParts};
use crate::notify::Mailer;
use crate::proxy::metrics::Metrics;
use crate::proxy::ops::{admin_router, redirect_router, Readiness};
use crate::session::live::LiveConnections;
use crate::session::revocation::RevocationView;
use crate::store::{EmbeddedStore, RedisStore, Store};

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
}

/// A started gateway. Dropping it does not stop it; call `shutdown` then `join`.
pub struct RunningGateway {
    pub https_addr: SocketAddr,
    pub http_addr: Option<SocketAddr>,
    pub admin_addr: SocketAddr,
    pub live: Arc<LiveConnections>,
    pub readiness: Arc<Readiness>,
    /// Authentication state, when any environment watches a login.
    pub auth: Option<Arc<Auth>>,
    shutdown: watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
}

fn bind_error(what: &'static str, addr: SocketAddr) -> impl FnOnce(io::Error) -> StartError {
    move |source| StartError::Bind { what, addr, source }
}

fn current_thread_runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

pub fn start(config: Config) -> Result<RunningGateway, StartError> {
    for env in &config.environments {
        if matches!(env.upstream.tls, UpstreamTls::InsecureSkipVerify) {
            tracing::warn!(
                environment = %env.name,
                "upstream_insecure_skip_verify is ON: the upstream certificate is NOT verified"
            );
        }
    }
    let config = Arc::new(config);
    let tls = super::tls::server_config(&config)?;
    let workers = config.workers.max(1);
    let https =
        bind_reuseport(config.listen, workers).map_err(bind_error("https", config.listen))?;
    let https_addr = https[0]
        .local_addr()
        .map_err(bind_error("https", config.listen))?;
    let http = match config.http_listen {
        Some(addr) => Some(
            bind_reuseport(addr, 1)
                .map_err(bind_error("http", addr))?
                .remove(0),
        ),
        None => None,
    };
    let http_addr = http.as_ref().and_then(|l| l.local_addr().ok());
    let admin = bind_reuseport(config.admin_listen, 1)
        .map_err(bind_error("admin", config.admin_listen))?
        .remove(0);
    let admin_addr = admin
        .local_addr()
        .map_err(bind_error("admin", config.admin_listen))?;

    let metrics = Arc::new(Metrics::new(
        config.environments.iter().map(|e| e.name.as_str()),
    ));
    let live = Arc::new(LiveConnections::default());
    let roots = super::upstream::system_roots_for(&config);
    let (auth, revocation_events, mail_worker) =
        match build_auth(&config, (&live, &metrics), &roots)? {
            Some(parts) => (Some(parts.auth), Some(parts.events), parts.mail_worker),
            None => (None, None, None),
        };
    let asserter = config.assertion.as_ref().map(Asserter::build).transpose();
    let asserter = asserter.map_err(StartError::Federation)?;
    let shared = Arc::new(Shared::new(
        config.clone(),
        metrics,
        live.clone(),
        auth.clone(),
        (roots, asserter),
    ));
    let readiness = Arc::new(Readiness::default());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let started = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();

    for (i, listener) in https.into_iter().enumerate() {
        // Built here so an unusable upstream TLS setup fails the start, not a worker later.
        let worker = Worker::new(shared.clone())?;
        let (tls, rx) = (tls.clone(), shutdown_rx.clone());
        let (started, readiness) = (started.clone(), readiness.clone());
        let thread = std::thread::Builder::new()
            .name(format!("mfagate-worker-{i}"))
            .spawn(move || {
                let result = current_thread_runtime().and_then(|rt| {
                    rt.block_on(serve_tls(listener, worker, tls, rx, || {
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

    let https_port = config.public_https_port.unwrap_or(https_addr.port());
    let admin_app = admin_router(shared.clone(), readiness.clone());
    let redirect_app = redirect_router(shared.clone(), https_port);
    let rx = shutdown_rx;
    let enforcer = auth.clone().map(crate::gate::enforcement::run);
    let retention = auth.clone().map(crate::gate::retention::run);
    let follow = match (&auth, revocation_events) {
        (Some(auth), Some(events)) => Some(auth.follow_revocations(events)),
        _ => None,
    };
    let control = std::thread::Builder::new()
        .name("mfagate-control".into())
        .spawn(move || {
            let run = async move {
                if let Some(follow) = follow {
                    tokio::spawn(follow);
                }
                if let Some(mail_worker) = mail_worker {
                    tokio::spawn(mail_worker);
                }
                if let Some(enforcer) = enforcer {
                    tokio::spawn(enforcer);
                }
                if let Some(retention) = retention {
                    tokio::spawn(retention);
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
            if let Err(e) = current_thread_runtime().and_then(|rt| rt.block_on(run)) {
                tracing::error!(error = %e, "control listeners stopped with an error");
            }
        })
        .map_err(StartError::Thread)?;
    threads.push(control);

    Ok(RunningGateway {
        https_addr,
        http_addr,
        admin_addr,
        live,
        readiness,
        auth,
        shutdown,
        threads,
    })
}

type RevocationEvents = tokio::sync::broadcast::Receiver<crate::store::StoreEvent>;

/// The authentication state plus the background work it needs on the control runtime.
struct Started {
    auth: Arc<Auth>,
    events: RevocationEvents,
    mail_worker: Option<MailWorker>,
}

type MailWorker = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The core alone, without listeners, for the admin CLI working on the store directly
/// (break-glass, the gateway down): the store, keys, mail and the dashboard's logouts. The
/// returned future delivers queued mail; it ends once the core is dropped. Must not be called
/// from inside an async runtime.
pub fn open_core(
    config: Config,
) -> Result<(Arc<Auth>, impl std::future::Future<Output = ()>), StartError> {
    let config = Arc::new(config);
    let live = Arc::new(LiveConnections::default());
    let metrics = Arc::new(Metrics::new(
        config.environments.iter().map(|e| e.name.as_str()),
    ));
    let roots = super::upstream::system_roots_for(&config);
    let started = build_auth(&config, (&live, &metrics), &roots)?;
    let started = started.ok_or(StartError::NoCore)?;
    let worker = started.mail_worker;
    Ok((started.auth, async move {
        if let Some(w) = worker {
            w.await;
        }
    }))
}

/// Opens the store and builds the authentication state when an environment watches a login.
/// The revocation view is loaded before any worker serves, so a session revoked before a
/// restart is refused from the first request on.
fn build_auth(
    config: &Arc<Config>,
    (live, metrics): (&Arc<LiveConnections>, &Arc<Metrics>),
    roots: &Arc<rustls::RootCertStore>,
) -> Result<Option<Started>, StartError> {
    if !config.environments.iter().any(|e| e.login.is_some()) {
        return Ok(None);
    }
    let store: Arc<dyn Store> = match &config.store {
        StoreBackend::Embedded => Arc::new(EmbeddedStore::open(&config.data_dir)?),
        StoreBackend::Redis { target, prefix, .. } => Arc::new(RedisStore::open(target, prefix)?),
    };
    let revocation = Arc::new(RevocationView::default());
    let events = store.subscribe();
    let (view, s) = (revocation.clone(), store.clone());
    // Unreachable: the view counts as stale and is loaded on the store's first resync.
    // Only the shared store may be unreachable at start: it reports its own staleness, which
    // keeps the instance not ready and failing closed until it answers.
    let shared = matches!(config.store, StoreBackend::Redis { .. });
    startup_step(
        "revocation load",
        shared,
        async move { view.load(&*s).await },
    )?;
    let keys = Arc::new(KeyRing::new(&config.master_keys));
    let (mailer, mail_worker) = match &config.mail {
        Some(mail) => {
            let (mailer, worker) =
                Mailer::start(mail).map_err(|e| StartError::Mail(e.to_string()))?;
            let branding = config.environments.iter();
            let branding = branding.map(|e| (e.display_name.clone(), e.branding.clone()));
            let mailer = mailer.with_branding(branding.collect());
            (Some(mailer), Some(Box::pin(worker) as MailWorker))
        }
        None => (None, None),
    };
    let auth = Auth::new(AuthParts {
        config: config.clone(),
        store,
        keys,
        revocation,
        live: live.clone(),
        mailer,
        logout: Arc::new(super::dashboard_logout::DashboardLogouts::new(
            config.clone(),
            roots,
            metrics.clone(),
        )?),
        sso: crate::gate::auth::build_sso(config).map_err(StartError::Federation)?,
    });
    let counted = metrics.clone();
    auth.audit
        .observe(Box::new(move |event| counted.observe_audit(event)));
    let auth = Arc::new(auth);
    // Events of an earlier version move before anything new is recorded, so they keep their
    // times. A failure is not fatal: the retention sweep tries again every hour.
    let moving = auth.clone();
    startup_step("audit log move", shared, async move {
        if let Err(e) = moving.audit.move_legacy().await {
            tracing::warn!(error = %e, "earlier audit events not moved yet; retrying hourly");
        }
        Ok(())
    })?;
    // Enforcement times are known before any worker serves a request. Unreachable: every
    // requiring environment is enforced without grace until the sweep loop records them.
    let enforcing = auth.clone();
    startup_step("enforcement setup", shared, async move {
        crate::gate::enforcement::record(&enforcing).await
    })?;
    Ok(Some(Started {
        auth,
        events,
        mail_worker,
    }))
}

/// Runs a store step of start-up on its own thread (`start` may itself be called from inside an
/// async runtime). An unreachable shared store is not a start failure: the instance starts not
/// ready, fails closed, and redoes the step once the store answers.
fn startup_step(
    what: &'static str,
    shared_store: bool,
    step: impl std::future::Future<Output = crate::store::StoreResult<()>> + Send + 'static,
) -> Result<(), StartError> {
    let done = std::thread::spawn(move || {
        current_thread_runtime()
            .map_err(|e| crate::store::StoreError::Unavailable(e.to_string()))?
            .block_on(step)
    })
    .join()
    .map_err(|_| StartError::Thread(io::Error::other(format!("{what} panicked"))))?;
    match done {
        Err(crate::store::StoreError::Unavailable(e)) if shared_store => {
            tracing::warn!(step = what, error = %e, "store unreachable at start; not ready until it answers");
            Ok(())
        }
        other => Ok(other?),
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

impl RunningGateway {
    /// Stops accepting, closes live WebSockets (clients reconnect elsewhere) and lets in-flight
    /// requests finish within `timeouts.shutdown_drain_secs`.
    pub fn shutdown(&self) {
        self.readiness.set(false);
        let _ = self.shutdown.send(true);
        self.live.close_all();
    }

    /// Waits for every thread to finish (after `shutdown`).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}
