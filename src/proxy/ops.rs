//! Operations surface: the admin listener (`/healthz`, `/readyz`, `/metrics`) and the plain-HTTP
//! listener that only redirects to https. Both run on the control thread, off the data path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::pipeline::request_host;
use super::reload::Generations;

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
    generations: Arc<Generations>,
    readiness: Arc<Readiness>,
}

pub fn admin_router(generations: Arc<Generations>, readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(AdminState {
            generations,
            readiness,
        })
}

/// Ready or not, then the config generation and why the last reload was refused, if it was
/// (a refused reload keeps the instance ready: it serves the config it had).
async fn readyz(State(s): State<AdminState>) -> Response {
    let shared = s.generations.shared.load();
    let stale = shared.auth.as_ref().is_some_and(|a| a.revocations_stale());
    let detail = s.generations.detail();
    if s.readiness.get() && !stale {
        (StatusCode::OK, format!("ready\n{detail}")).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\n{detail}"),
        )
            .into_response()
    }
}

async fn metrics(State(s): State<AdminState>) -> Response {
    let shared = s.generations.shared.load_full();
    // Read when scraped: the hot path never touches these.
    if let Some(auth) = &shared.auth {
        let lag = auth.records.store.event_lag();
        let seconds = if lag == std::time::Duration::MAX {
            -1.0
        } else {
            lag.as_secs_f64()
        };
        shared.metrics.store_event_lag.set(seconds);
        let stale = auth.revocations_stale();
        shared.metrics.store_stale.set(i64::from(stale));
        // A store that does not answer leaves the last values (the scrape still answers).
        if let Ok((open, without)) = auth.mfa_gauges().await {
            shared.metrics.recovery_requests_open.set(open as i64);
            for (gauge, n) in shared.envs.users_without_factor.iter().zip(without) {
                gauge.set(n as i64);
            }
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.render(),
    )
        .into_response()
}

/// Redirect state: which hosts are ours and the https port to announce.
#[derive(Clone)]
struct RedirectState {
    generations: Arc<Generations>,
    https_port: u16,
}

/// Plain HTTP: 308 to the same path on https, only for hosts an environment serves (anything
/// else would make the gateway an open redirector).
pub fn redirect_router(generations: Arc<Generations>, https_port: u16) -> Router {
    Router::new().fallback(redirect).with_state(RedirectState {
        generations,
        https_port,
    })
}

async fn redirect(State(s): State<RedirectState>, req: Request) -> Response {
    let shared = s.generations.shared.load();
    let Some(host) =
        request_host(req.uri(), req.headers()).filter(|h| shared.environment_for(h).is_some())
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
