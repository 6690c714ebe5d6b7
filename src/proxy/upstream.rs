//! The pooled upstream client and the request rewrite towards the dashboard.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::uri::PathAndQuery;
use http::{header, HeaderValue, Method, Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::RootCertStore;

use super::error::ProxyError;
use super::headers;
use crate::config::{Config, Environment, Timeouts};
use crate::session::jar::Jar;

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

/// The head of a request of the gateway's own (the login probe, the logout) to `path`, with
/// the dashboard credential the gateway holds and the same forwarding headers a proxied
/// request of `client` at `authority` gets.
pub fn credentialed(
    env: &Environment,
    (authority, client): (&str, std::net::IpAddr),
    method: Method,
    path: PathAndQuery,
    (jar, token): (&Jar, Option<&str>),
) -> http::request::Parts {
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = method;
    let cookie = HeaderValue::from_str(&jar.lines().join("; "));
    if let (false, Ok(v)) = (jar.is_empty(), cookie) {
        parts.headers.insert(header::COOKIE, v);
    }
    if let Some(v) = token.and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok()) {
        parts.headers.insert(header::AUTHORIZATION, v);
    }
    rewrite(env, &mut parts, path, authority, client);
    parts
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
