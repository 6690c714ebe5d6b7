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
use crate::config::{Environment, Timeouts};

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

/// Calls the dashboard's logout endpoint with the credential it once issued, so the dashboard
/// session ends too. Best effort: failures are logged, the gateway logout proceeds anyway.
pub async fn call_logout(
    client: &UpstreamClient,
    env: &Environment,
    route: &crate::config::LoginRoute,
    credential: &crate::store::records::WithheldCredential,
    authority: &str,
) {
    let up = &env.upstream;
    let uri = Uri::builder()
        .scheme(up.scheme.clone())
        .authority(up.authority.clone())
        .path_and_query(route.path.as_str())
        .build();
    let Ok(uri) = uri else { return };
    let mut req = Request::builder().method(route.method.clone()).uri(uri);
    let host = if up.preserve_host {
        authority
    } else {
        up.authority.as_str()
    };
    req = req.header(header::HOST, host);
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
        return;
    };
    match send(client, req, Duration::from_secs(5)).await {
        Ok(resp) => {
            tracing::info!(status = resp.status().as_u16(), environment = %env.name, "dashboard logout called")
        }
        Err(e) => tracing::warn!(error = %e, environment = %env.name, "dashboard logout failed"),
    }
}
