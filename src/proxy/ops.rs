//! Operations surface: the admin listener (`/healthz`, `/readyz`, `/metrics`) and the plain-HTTP
//! listener that only redirects to https. Both run on the control thread, off the data path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::pipeline::{request_host, Shared};

/// Readiness as the admin endpoint reports it.
#[derive(Default)]
pub struct Readiness {
    ready: AtomicBool,
}

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn get(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct AdminState {
    shared: Arc<Shared>,
    readiness: Arc<Readiness>,
}

pub fn admin_router(shared: Arc<Shared>, readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(AdminState { shared, readiness })
}

async fn readyz(State(s): State<AdminState>) -> Response {
    let stale = s
        .shared
        .auth
        .as_ref()
        .is_some_and(|a| a.revocations_stale());
    if s.readiness.get() && !stale {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(s): State<AdminState>) -> Response {
    // Read when scraped: the hot path never touches these.
    if let Some(auth) = &s.shared.auth {
        let lag = auth.records.store.event_lag();
        let seconds = if lag == std::time::Duration::MAX {
            -1.0
        } else {
            lag.as_secs_f64()
        };
        s.shared.metrics.store_event_lag.set(seconds);
        let stale = auth.revocations_stale();
        s.shared.metrics.store_stale.set(i64::from(stale));
        // A store that does not answer leaves the last values (the scrape still answers).
        if let Ok((open, without)) = auth.mfa_gauges().await {
            let m = &s.shared.metrics;
            m.recovery_requests_open.set(open as i64);
            for (gauge, n) in m.users_without_factor.iter().zip(without) {
                gauge.set(n as i64);
            }
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.shared.metrics.render(),
    )
        .into_response()
}

/// Redirect state: which hosts are ours and the https port to announce.
#[derive(Clone)]
struct RedirectState {
    shared: Arc<Shared>,
    https_port: u16,
}

/// Plain HTTP: 308 to the same path on https, only for hosts an environment serves (anything
/// else would make the gateway an open redirector).
pub fn redirect_router(shared: Arc<Shared>, https_port: u16) -> Router {
    Router::new()
        .fallback(redirect)
        .with_state(RedirectState { shared, https_port })
}

async fn redirect(State(s): State<RedirectState>, req: Request) -> Response {
    let Some(host) =
        request_host(req.uri(), req.headers()).filter(|h| s.shared.environment_for(h).is_some())
    else {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "This gateway does not serve the requested host.\n",
        )
            .into_response();
    };
    let port = match s.https_port {
        443 => String::new(),
        p => format!(":{p}"),
    };
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{host}{port}{path}");
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}
