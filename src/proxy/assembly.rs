//! What a gateway is assembled from besides its sockets: the store and the core (`Auth`),
//! mail, the state of a config generation, and the store steps of a start. `server.rs`
//! assembles them at start and on reload.

use std::io;
use std::sync::Arc;

use super::pipeline::Shared;
use super::reload::Generation;
use super::server::StartError;
use crate::config::{Config, StoreBackend};
use crate::crypto::secret_box::KeyRing;
use crate::federation::assertion::Asserter;
use crate::gate::auth::{Auth, AuthParts, ReloadParts};
use crate::notify::Mailer;
use crate::proxy::metrics::Metrics;
use crate::session::live::LiveConnections;
use crate::session::revocation::RevocationView;
use crate::store::{EmbeddedStore, RedisStore, Store};

pub(super) fn current_thread_runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The state of one config generation that every worker shares.
pub(super) fn build_shared(
    config: Arc<Config>,
    (metrics, live): (&Arc<Metrics>, &Arc<LiveConnections>),
    auth: Option<Arc<Auth>>,
    roots: Arc<rustls::RootCertStore>,
) -> Result<Arc<Shared>, StartError> {
    let asserter = config.assertion.as_ref().map(Asserter::build).transpose();
    let asserter = asserter.map_err(StartError::Federation)?;
    Ok(Arc::new(Shared::new(
        config,
        metrics.clone(),
        live.clone(),
        auth,
        (roots, asserter),
    )))
}

/// One generation per worker. Built before anything swaps, so an unusable upstream TLS setup
/// fails the start or the reload, not a worker later.
pub(super) fn build_workers(
    shared: &Arc<Shared>,
    tls: &Arc<rustls::ServerConfig>,
    workers: usize,
) -> Result<Vec<Generation>, StartError> {
    (0..workers)
        .map(|_| Ok(Generation::new(shared.clone(), tls.clone())?))
        .collect()
}

pub(super) fn boxed(task: impl std::future::Future<Output = ()> + Send + 'static) -> Task {
    Box::pin(task)
}

/// A config generation built beside the running one: its shared state, one generation per
/// worker, and its mail worker.
pub(super) type Built = (Arc<Shared>, Vec<Generation>, Option<Task>);

pub(super) type RevocationEvents = tokio::sync::broadcast::Receiver<crate::store::StoreEvent>;

/// The authentication state plus the background work it needs on the control runtime.
pub(super) struct Started {
    pub auth: Arc<Auth>,
    pub events: RevocationEvents,
    pub mail_worker: Option<Task>,
}

/// Background work for the control runtime (mail delivery, revocations, sweeps).
pub(super) type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The core alone, without listeners, for the admin CLI working on the store directly
/// (break-glass, the gateway down): the store, keys, mail and the dashboard's logouts. The
/// returned future delivers queued mail; it ends once the core is dropped. Must not be called
/// from inside an async runtime.
pub fn open_core(
    config: Config,
) -> Result<(Arc<Auth>, impl std::future::Future<Output = ()>), StartError> {
    let config = Arc::new(config);
    let live = Arc::new(LiveConnections::default());
    let metrics = Arc::new(Metrics::new());
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

/// The mailer of `[mail]` with every environment's branding, and its delivery worker (which
/// ends once the mailer is dropped).
pub(super) fn start_mailer(config: &Config) -> Result<(Option<Mailer>, Option<Task>), StartError> {
    let Some(mail) = &config.mail else {
        return Ok((None, None));
    };
    let (mailer, worker) = Mailer::start(mail).map_err(|e| StartError::Mail(e.to_string()))?;
    let branding = config.environments.iter();
    let branding = branding.map(|e| (e.display_name.clone(), e.branding.clone()));
    let mailer = mailer.with_branding(branding.collect());
    Ok((Some(mailer), Some(Box::pin(worker) as Task)))
}

/// Opens the store and builds the authentication state when an environment watches a login.
/// The revocation view is loaded before any worker serves, so a session revoked before a
/// restart is refused from the first request on.
pub(super) fn build_auth(
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
    let (parts, mail_worker) = config_parts(config, roots, metrics)?;
    let auth = Auth::new(AuthParts {
        config: parts.config,
        store,
        keys: parts.keys,
        revocation,
        live: live.clone(),
        mailer: parts.mailer,
        logout: parts.logout,
        sso: parts.sso,
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
    record_enforcement(&auth)?;
    Ok(Some(Started {
        auth,
        events,
        mail_worker,
    }))
}

/// What the core takes from the config alone: its keys, mail (and the mail worker), the
/// dashboard's logouts and SSO. A start adds the store and the views; a reload keeps them.
pub(super) fn config_parts(
    config: &Arc<Config>,
    roots: &Arc<rustls::RootCertStore>,
    metrics: &Arc<Metrics>,
) -> Result<(ReloadParts, Option<Task>), StartError> {
    let (mailer, mail_worker) = start_mailer(config)?;
    let parts = ReloadParts {
        config: config.clone(),
        keys: Arc::new(KeyRing::new(&config.master_keys)),
        mailer,
        logout: Arc::new(super::dashboard_logout::DashboardLogouts::new(
            config.clone(),
            roots,
            metrics.clone(),
        )?),
        sso: crate::gate::auth::build_sso(config).map_err(StartError::Federation)?,
    };
    Ok((parts, mail_worker))
}

/// Records when each requiring environment's enforcement began, so the times are known
/// before any worker serves (at start) or the new generation is swapped in (reload).
/// Unreachable shared store: every requiring environment is enforced without grace until the
/// sweep loop records them.
pub(super) fn record_enforcement(auth: &Arc<Auth>) -> Result<(), StartError> {
    let shared = matches!(auth.config.store, StoreBackend::Redis { .. });
    let enforcing = auth.clone();
    startup_step("enforcement setup", shared, async move {
        crate::gate::enforcement::record(&enforcing).await
    })
}

/// Runs a store step of start-up on its own thread (`start` may itself be called from inside an
/// async runtime). An unreachable shared store is not a start failure: the instance starts not
/// ready, fails closed, and redoes the step once the store answers.
pub(super) fn startup_step(
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
