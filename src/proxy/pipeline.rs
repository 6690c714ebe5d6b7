//! The request pipeline (DESIGN.md "Request pipeline"): route → sanitize → gateway routes →
//! act → log. One function per step; each returns early with a `ProxyError` the client sees.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use http::uri::PathAndQuery;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use rustls::RootCertStore;
use tower::ServiceExt;

use super::access_log::{AccessRecord, LoggedBody};
use super::error::ProxyError;
use super::headers::strip_hop_by_hop;
use super::live::{LiveConnections, LiveOwner};
use super::path::normalize_path;
use super::upstream::{self, UpstreamClient};
use super::websocket;
use super::{decision, login, sso_step};
use crate::config::{Config, Environment};
use crate::identity::auth::Auth;
use crate::identity::login_intercept::match_route;
use crate::policy;
use crate::proxy::metrics::Metrics;
use crate::web::account::UpstreamHandle;
use crate::web::{self, RequestFacts};

/// State shared by all worker threads.
pub struct Shared {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub live: Arc<LiveConnections>,
    hosts: HashMap<String, usize>,
    gateway_routes: axum::Router,
    /// Prefix without its trailing '/', to also catch the bare prefix.
    prefix_root: String,
    hsts: Option<HeaderValue>,
    system_roots: Arc<RootCertStore>,
    /// Present when any environment watches a login (master keys and a store exist).
    pub auth: Option<Arc<Auth>>,
}

impl Shared {
    pub fn new(
        config: Arc<Config>,
        metrics: Arc<Metrics>,
        live: Arc<LiveConnections>,
        auth: Option<Arc<Auth>>,
    ) -> Self {
        let hosts = config
            .environments
            .iter()
            .enumerate()
            .flat_map(|(i, env)| env.hosts.iter().map(move |h| (h.clone(), i)))
            .collect();
        let hsts = (config.hsts_max_age_secs > 0)
            .then(|| HeaderValue::from_str(&format!("max-age={}", config.hsts_max_age_secs)))
            .and_then(Result::ok);
        let needs_system_roots = config.environments.iter().any(|e| {
            e.upstream.scheme == http::uri::Scheme::HTTPS
                && matches!(e.upstream.tls, crate::config::UpstreamTls::SystemRoots)
        });
        let system_roots = if needs_system_roots {
            super::tls::load_system_roots()
        } else {
            RootCertStore::empty()
        };
        Self {
            gateway_routes: web::router(
                &config.gateway_prefix,
                auth.clone(),
                config.assertion.as_ref().map(|a| a.jwks_json().to_string()),
            ),
            auth,
            prefix_root: config.gateway_prefix.trim_end_matches('/').to_string(),
            hosts,
            hsts,
            system_roots: Arc::new(system_roots),
            config,
            metrics,
            live,
        }
    }

    /// A new pooled client for environment `index` (for work off the request path).
    pub fn upstream_client(&self, index: usize) -> Result<UpstreamClient, rustls::Error> {
        upstream::client(
            &self.config.environments[index],
            &self.config.timeouts,
            &self.system_roots,
        )
    }

    /// Environment index serving `host` (lower-case, no port).
    pub fn environment_for(&self, host: &str) -> Option<usize> {
        self.hosts.get(host).copied()
    }
}

/// Facts about the client connection a request arrived on.
#[derive(Debug)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    /// SNI, lower-case.
    pub sni: Option<String>,
}

/// Per-worker-thread state: the shared state plus this runtime's upstream connection pools.
pub struct Worker {
    shared: Arc<Shared>,
    clients: Vec<UpstreamClient>,
}

/// The authority as the client addressed it (host and optional port): the `:authority` of
/// HTTP/2 or absolute-form HTTP/1.1, else the `Host` header.
pub fn request_authority<'a>(uri: &'a http::Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    match uri.authority() {
        Some(a) => Some(a.as_str()),
        None => headers.get(header::HOST)?.to_str().ok(),
    }
}

/// Host of a request for routing: lower-case, without port or trailing dot.
pub fn request_host(uri: &http::Uri, headers: &HeaderMap) -> Option<String> {
    let authority = request_authority(uri, headers)?
        .parse::<http::uri::Authority>()
        .ok()?;
    Some(authority.host().trim_end_matches('.').to_ascii_lowercase())
}

/// A random id tying a request's audit events together.
pub fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Clients that want JSON errors: API calls and XHR/fetch.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers.contains_key("x-requested-with")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
}

impl Worker {
    pub fn new(shared: Arc<Shared>) -> Result<Self, rustls::Error> {
        let clients = shared
            .config
            .environments
            .iter()
            .map(|env| upstream::client(env, &shared.config.timeouts, &shared.system_roots))
            .collect::<Result<_, _>>()?;
        Ok(Self { shared, clients })
    }

    /// Serves one request; never fails (errors become responses).
    pub async fn handle(&self, conn: &ConnInfo, req: Request<Incoming>) -> Response<Body> {
        let host = request_host(req.uri(), req.headers());
        let env_index = host.as_deref().and_then(|h| self.shared.environment_for(h));
        let mut record = AccessRecord {
            started: Instant::now(),
            peer: conn.peer.ip(),
            method: req.method().clone(),
            host: host.clone().unwrap_or_default(),
            path: req.uri().path().to_string(),
            environment: env_index.map_or("-".into(), |i| self.env(i).name.clone()),
            status: 0,
            upstream: None,
            error: None,
        };
        let json = wants_json(req.headers());
        let result = match env_index {
            None => Err(ProxyError::UnknownHost),
            Some(i) => self.in_environment(i, conn, req, &mut record).await,
        };
        let mut resp = result.unwrap_or_else(|e| {
            let brand = env_index.map_or("mfagate", |i| self.env(i).display_name.as_str());
            tracing::debug!(error = %e, "request refused");
            record.error = Some(e.to_string());
            e.to_response(json, brand)
        });
        if let Some(hsts) = &self.shared.hsts {
            resp.headers_mut()
                .insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        record.status = resp.status().as_u16();
        self.shared
            .metrics
            .env(env_index)
            .observe_status(record.status);
        resp.map(|body| LoggedBody::wrap(body, record))
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    fn env(&self, index: usize) -> &Environment {
        &self.shared.config.environments[index]
    }

    async fn in_environment(
        &self,
        index: usize,
        conn: &ConnInfo,
        mut req: Request<Incoming>,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        // A connection negotiated for one environment's certificate must not be used to reach
        // another (connection reuse or domain fronting): 421 makes browsers retry correctly.
        if let Some(sni) = &conn.sni {
            if self.shared.environment_for(sni) != Some(index) {
                return Err(ProxyError::MisdirectedSni);
            }
        }
        let path = normalize_path(req.uri().path())?.into_owned();
        record.path.clone_from(&path);
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let path_and_query = PathAndQuery::try_from(path_and_query)
            .map_err(|_| ProxyError::BadPath(super::path::PathError::BadEncoding))?;
        // Host and X-Forwarded-Host carry the authority as the client sent it, port included,
        // so a dashboard building absolute URLs keeps the gateway's public port.
        let authority = request_authority(req.uri(), req.headers())
            .unwrap_or(&record.host)
            .to_string();

        if self.is_gateway_path(&path) {
            return Ok(self
                .gateway_route(index, conn, req, path_and_query, authority)
                .await);
        }

        // Identify and decide: watched logins, and dashboard credentials without a session.
        let env = self.env(index);
        let mut session = None;
        let mut grace = None;
        let mut asserted = None;
        if let (Some(auth), true) = (&self.shared.auth, env.login.is_some()) {
            let step =
                sso_step::sso_step(auth, env, index, conn, req.method(), &path, req.headers())
                    .await;
            match step {
                sso_step::SsoStep::Respond(resp) => return Ok(resp),
                sso_step::SsoStep::Identified(who) => asserted = Some(who),
                sso_step::SsoStep::Continue => {}
            }
        }
        if let (Some(auth), Some(login), None) = (&self.shared.auth, &env.login, &asserted) {
            if let Some(route) = match_route(login, req.method(), &path) {
                let target = login::Target {
                    worker: self,
                    auth,
                    index,
                    conn,
                    route,
                    authority: &authority,
                };
                return target.intercept(req, path_and_query, record).await;
            }
            let now = auth.clock.now();
            session = auth.full_session(env, req.headers(), now);
            if session.is_some() && auth.revocations_stale() {
                // A logout made on another instance may not have reached us: fail closed.
                return Err(ProxyError::Unavailable(
                    "revocation events are stale".into(),
                ));
            }
            if let Some(claims) = &session {
                let facts = policy::RequestFacts {
                    env: index,
                    method: req.method(),
                    path: &path,
                };
                let subject = policy::Subject {
                    role: claims.who.role,
                    environments: &claims.who.envs,
                    auth: claims.auth,
                    created_at: claims.created_at,
                    mfa_at: claims.mfa_at,
                    has_factor: claims.who.factor,
                };
                match policy::decide(&auth.policies(), &facts, Some(&subject), now) {
                    policy::Decision::Allow { grace_until } => grace = grace_until,
                    refused => {
                        let refusal = decision::Refusal {
                            auth,
                            env,
                            login,
                            conn,
                            claims,
                        };
                        return Ok(refusal
                            .act(refused, req.headers(), path_and_query.as_str())
                            .await);
                    }
                }
            }
            if session.is_none() && login::carries_credential(req.headers(), login) {
                return Ok(login::refuse_credential(auth, env, login, conn, req.headers()).await);
            }
            if session.is_none() && !login.admits_anonymous(&path) {
                return Ok(login::to_login(login, req.headers(), &[]));
            }
        }

        let websocket = websocket::is_websocket_upgrade(req.version(), req.headers());
        let client_upgrade = websocket.then(|| hyper::upgrade::on(&mut req));
        let (mut parts, body) = req.into_parts();
        let body = match client_upgrade {
            Some(_) => Body::empty(),
            None => Body::new(body),
        };
        if client_upgrade.is_some() {
            // Sanitizing strips hop-by-hop headers; the upgrade ones go back in afterwards.
            parts.extensions.insert(websocket::UpgradeRequested);
        }
        let asserted = asserted.or_else(|| {
            session.as_ref().map(|c| sso_step::Asserted {
                user: c.user.clone(),
                email: None,
                role: c.who.role,
                sso: false,
                mfa_at: c.mfa_at,
                created_at: c.created_at,
            })
        });
        if let Some(who) = asserted {
            parts.extensions.insert(who);
        }
        let resp = self
            .forward(index, conn, parts, body, path_and_query, &authority, record)
            .await?;
        if let (Some(client_upgrade), StatusCode::SWITCHING_PROTOCOLS) =
            (client_upgrade, resp.status())
        {
            let guard = self.shared.live.register(LiveOwner {
                environment: env.name.clone(),
                user: session.as_ref().map(|c| c.user.clone()),
                session_id: session.as_ref().map(|c| c.sid.clone()),
            });
            let active = self.shared.metrics.active_websockets.clone();
            return Ok(websocket::finish_handshake(
                resp,
                client_upgrade,
                guard,
                active,
            ));
        }
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if let (Some(auth), Some(claims)) = (&self.shared.auth, &session) {
            login::refresh_session(auth, env, claims, &mut parts.headers);
        }
        if let Some(until) = grace {
            // Sessions living on the enforcement grace period learn when MFA becomes mandatory.
            if let Ok(v) = HeaderValue::from_str(&crate::web::factors::utc(until)) {
                parts.headers.insert(decision::GRACE_HEADER, v);
            }
        }
        Ok(Response::from_parts(parts, Body::new(body)))
    }

    /// Sends a request to the environment's upstream: rewritten, sanitized, timed.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn forward(
        &self,
        index: usize,
        conn: &ConnInfo,
        mut parts: http::request::Parts,
        body: Body,
        path_and_query: PathAndQuery,
        authority: &str,
        record: &mut AccessRecord,
    ) -> Result<Response<Incoming>, ProxyError> {
        let env = self.env(index);
        let upgrade = parts
            .extensions
            .remove::<websocket::UpgradeRequested>()
            .is_some();
        let asserted = parts.extensions.remove::<sso_step::Asserted>();
        upstream::rewrite(env, &mut parts, path_and_query, authority, conn.peer.ip());
        if let (Some(who), Some(asserter), Some(auth)) =
            (asserted, &self.shared.config.assertion, &self.shared.auth)
        {
            self.assert_identity(asserter, auth, env, &who, &mut parts.headers);
        }
        if upgrade {
            websocket::restore_upgrade_headers(&mut parts.headers);
        }
        let started = Instant::now();
        let sent = upstream::send(
            &self.clients[index],
            Request::from_parts(parts, body),
            self.shared.config.timeouts.upstream_response,
        )
        .await;
        let elapsed = started.elapsed();
        record.upstream = Some(elapsed);
        self.shared
            .metrics
            .env(Some(index))
            .observe_upstream(elapsed.as_secs_f64());
        sent
    }

    /// Adds the signed identity assertion (the client's copy was stripped by `rewrite`).
    fn assert_identity(
        &self,
        asserter: &crate::identity::assertion::Asserter,
        auth: &Auth,
        env: &Environment,
        who: &sso_step::Asserted,
        headers: &mut HeaderMap,
    ) {
        let amr: &[&str] = match (who.sso, who.mfa_at) {
            (true, _) => &["sso"],
            (false, Some(_)) => &["pwd", "otp"],
            (false, None) => &["pwd"],
        };
        let email = who.email.clone().or_else(|| auth.user_email(&who.user));
        let role = serde_json::to_value(who.role).ok();
        let assertion = crate::identity::assertion::Assertion {
            user: &who.user,
            email: email.as_deref(),
            role: role.as_ref().and_then(|r| r.as_str()).unwrap_or("agent"),
            env: &env.name,
            amr,
            auth_time: who.mfa_at.unwrap_or(who.created_at),
        };
        if let Some(token) = asserter.sign(&assertion, auth.clock.now()) {
            if let Ok(v) = HeaderValue::from_str(&token) {
                headers.insert(crate::identity::assertion::HEADER, v);
            }
        }
    }

    fn is_gateway_path(&self, path: &str) -> bool {
        let root = &self.shared.prefix_root;
        path.starts_with(root.as_str())
            && matches!(path.as_bytes().get(root.len()), None | Some(b'/'))
    }

    async fn gateway_route(
        &self,
        index: usize,
        conn: &ConnInfo,
        req: Request<Incoming>,
        path_and_query: PathAndQuery,
        authority: String,
    ) -> Response<Body> {
        let env = self.env(index);
        let (mut parts, body) = req.into_parts();
        parts.uri = http::Uri::from(path_and_query);
        parts.extensions.insert(RequestFacts {
            env_index: index,
            display_name: env.display_name.clone(),
            ip: conn.peer.ip().to_string(),
            request_id: new_request_id(),
            authority,
        });
        parts
            .extensions
            .insert(UpstreamHandle(self.clients[index].clone()));
        let req = Request::from_parts(parts, Body::new(body));
        match self.shared.gateway_routes.clone().oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }
}
