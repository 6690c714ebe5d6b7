//! The pooled upstream client and the request rewrite towards the dashboard.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::uri::PathAndQuery;
use http::{header, HeaderValue, Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::RootCertStore;

use super::error::ProxyError;
use super::headers;
use crate::config::{Config, Environment, Timeouts};
use crate::gate::lifecycle::{DashboardLogout, LogoutOutcome};
use crate::store::records::WithheldCredential;
use std::future::Future;
use std::pin::Pin;

pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, Body>;

/// One pooled keep-alive client per environment and worker thread (connections stay on the
/// runtime that opened them).
pub fn client(
    env: &Environment,
    timeouts: &Timeouts,
    system_roots: &Arc<RootCertStore>,
) -> Result<UpstreamClient, rustls::Error> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(timeouts.upstream_connect));
    let tls = super::tls::client_config(&env.upstream.tls, system_roots)?;
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(timeouts.idle)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(connector))
}

/// Rewrites a client request (already path-normalized) into the upstream request: upstream
/// origin, HTTP/1.1, sanitized headers, Host per `preserve_host`.
pub fn rewrite(
    env: &Environment,
    parts: &mut http::request::Parts,
    path_and_query: PathAndQuery,
    client_host: &str,
    peer: std::net::IpAddr,
) -> usize {
    let up = &env.upstream;
    parts.uri = Uri::builder()
        .scheme(up.scheme.clone())
        .authority(up.authority.clone())
        .path_and_query(path_and_query)
        .build()
        .unwrap_or_else(|_| Uri::from_static("/"));
    parts.version = Version::HTTP_11;
    let spoofed = headers::sanitize_request(&mut parts.headers, peer, client_host);
    let host = if up.preserve_host {
        client_host
    } else {
        up.authority.as_str()
    };
    if let Ok(v) = HeaderValue::from_str(host) {
        parts.headers.insert(header::HOST, v);
    }
    spoofed
}

/// Sends the request and waits for the response headers within `timeout`.
pub async fn send(
    client: &UpstreamClient,
    req: Request<Body>,
    timeout: Duration,
) -> Result<Response<Incoming>, ProxyError> {
    match tokio::time::timeout(timeout, client.request(req)).await {
        Err(_) => Err(ProxyError::UpstreamTimeout(timeout)),
        Ok(Err(e)) if e.is_connect() => Err(ProxyError::UpstreamConnect(error_chain(&e))),
        Ok(Err(e)) => Err(ProxyError::Upstream(error_chain(&e))),
        Ok(Ok(resp)) => Ok(resp),
    }
}

/// Full cause chain, for the log line only.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The OS roots when an environment's upstream is verified against them (loaded once).
pub fn system_roots_for(config: &Config) -> Arc<RootCertStore> {
    let needed = config.environments.iter().any(|e| {
        e.upstream.scheme == http::uri::Scheme::HTTPS
            && matches!(e.upstream.tls, crate::config::UpstreamTls::SystemRoots)
    });
    Arc::new(match needed {
        true => crate::tls::load_system_roots(),
        false => RootCertStore::empty(),
    })
}

/// The proxy's side of the core's dashboard-logout port: one pooled client per environment,
/// used off the request path (logouts, the grace timer), so no worker's pool is borrowed.
pub struct DashboardLogouts {
    config: Arc<Config>,
    clients: Vec<UpstreamClient>,
}

impl DashboardLogouts {
    pub fn new(config: Arc<Config>, roots: &Arc<RootCertStore>) -> Result<Self, rustls::Error> {
        let clients = config
            .environments
            .iter()
            .map(|env| client(env, &config.timeouts, roots))
            .collect::<Result<_, _>>()?;
        Ok(Self { config, clients })
    }

    /// Calls the dashboard's logout endpoint with the credential it once issued.
    async fn call(
        &self,
        index: usize,
        credential: &WithheldCredential,
        authority: &str,
    ) -> LogoutOutcome {
        let env = &self.config.environments[index];
        let Some(route) = env.login.as_ref().and_then(|l| l.logout.as_ref()) else {
            return LogoutOutcome::Failed("no logout route".into());
        };
        let up = &env.upstream;
        let uri = Uri::builder()
            .scheme(up.scheme.clone())
            .authority(up.authority.clone())
            .path_and_query(route.path.as_str())
            .build();
        let Ok(uri) = uri else {
            return LogoutOutcome::Failed("logout path is not a valid URI".into());
        };
        let host = if up.preserve_host {
            authority
        } else {
            up.authority.as_str()
        };
        let mut req = Request::builder()
            .method(route.method.clone())
            .uri(uri)
            .header(header::HOST, host);
        let cookie: Vec<&str> = credential
            .set_cookies
            .iter()
            .filter_map(|line| line.split(';').next())
            .map(str::trim)
            .collect();
        if !cookie.is_empty() {
            req = req.header(header::COOKIE, cookie.join("; "));
        }
        if let Some(token) = &credential.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let Ok(req) = req.body(Body::empty()) else {
            return LogoutOutcome::Failed("logout request could not be built".into());
        };
        match send(&self.clients[index], req, Duration::from_secs(5)).await {
            Ok(resp) => LogoutOutcome::Answered(resp.status().as_u16()),
            Err(e) => LogoutOutcome::Failed(e.to_string()),
        }
    }
}

impl DashboardLogout for DashboardLogouts {
    fn logout<'a>(
        &'a self,
        env: usize,
        credential: &'a WithheldCredential,
        authority: &'a str,
    ) -> Pin<Box<dyn Future<Output = LogoutOutcome> + Send + 'a>> {
        Box::pin(self.call(env, credential, authority))
    }
}
