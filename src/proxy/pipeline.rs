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

use super::drain::Drained;
use rustls::RootCertStore;
use tower::ServiceExt;

use super::access_log::{AccessRecord, LoggedBody};
pub use super::authority::{request_authority, request_host, valid_authority};
use super::error::ProxyError;
use super::headers::strip_hop_by_hop;
use super::live::LiveBody;
use super::phases::{refuse_ambiguous, Forwarding, Gate, Routed};
use super::upstream::{self, UpstreamClient};
use super::vault;
use super::websocket;
use super::{decision, login, sso_step};
use crate::audit::EventKind;
use crate::canon::normalize::normalize_path;
use crate::config::{Config, Environment, LoginConfig};
use crate::gate::auth::Auth;
use crate::gate::vault::sso_context;
use crate::proxy::metrics::Metrics;
use crate::session::jar::session_context;
use crate::session::live::{LiveConnections, LiveOwner};
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
        system_roots: Arc<RootCertStore>,
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
            system_roots,
            config,
            metrics,
            live,
        }
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

/// Clients that want JSON errors: API calls and XHR/fetch (a browser says which requests are
/// navigations in `Sec-Fetch-Mode`; a long poll or an event stream is not one).
pub fn wants_json(headers: &HeaderMap) -> bool {
    let fetch_mode = headers.get("sec-fetch-mode").map(|v| v.as_bytes());
    headers.contains_key("x-requested-with")
        || fetch_mode.is_some_and(|m| m != b"navigate" && m != b"nested-navigate")
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
        let req = req.map(Drained::new);
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
        let bad_host =
            request_authority(req.uri(), req.headers()).is_some_and(|a| !valid_authority(a));
        let result = match env_index {
            None if bad_host => Err(ProxyError::Ambiguous("invalid Host or :authority")),
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
            let h = resp.headers_mut();
            let theirs = h.get(header::STRICT_TRANSPORT_SECURITY);
            let value = super::headers::stronger_hsts(hsts, theirs);
            h.insert(header::STRICT_TRANSPORT_SECURITY, value);
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

    /// This worker's pooled client for environment `index`.
    pub(super) fn client(&self, index: usize) -> &UpstreamClient {
        &self.clients[index]
    }

    fn env(&self, index: usize) -> &Environment {
        &self.shared.config.environments[index]
    }

    async fn in_environment(
        &self,
        index: usize,
        conn: &ConnInfo,
        mut req: Request<Drained>,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        let (path, routed) = self.sanitize(index, conn, &req, record)?;
        if self.is_gateway_path(&path) {
            let Routed {
                path_and_query,
                authority,
                ..
            } = routed;
            return Ok(self
                .gateway_route(index, conn, req, path_and_query, authority)
                .await);
        }
        let env = self.env(index);
        let mut asserted = None;
        if let (Some(auth), true) = (&self.shared.auth, env.login.is_some()) {
            let (method, headers) = (req.method(), req.headers());
            match sso_step::sso_step(auth, env, index, conn, method, &routed.canon, headers).await {
                sso_step::SsoStep::Respond(resp) => return Ok(resp),
                sso_step::SsoStep::Identified(who) => asserted = Some(who),
                sso_step::SsoStep::Continue => {}
            }
        }
        let (Some(auth), Some(login)) = (&self.shared.auth, &env.login) else {
            let upgrade = websocket::is_websocket_upgrade(req.version(), req.headers())
                .then(|| hyper::upgrade::on(&mut req));
            let f = routed.forwarding(asserted, None);
            return self.pass(f, req, upgrade, None, record).await;
        };
        self.watched(auth, login, routed, asserted, req, record)
            .await
    }

    /// Pipeline step 3 (DESIGN.md): the request's environment binding, its normalized and
    /// canonical paths, and the refusal of what a dashboard could read another way.
    fn sanitize<'a>(
        &self,
        index: usize,
        conn: &'a ConnInfo,
        req: &Request<Drained>,
        record: &mut AccessRecord,
    ) -> Result<(String, Routed<'a>), ProxyError> {
        // A connection negotiated for one environment's certificate must not be used to reach
        // another (connection reuse or domain fronting): 421 makes browsers retry correctly.
        if let Some(sni) = &conn.sni {
            if self.shared.environment_for(sni) != Some(index) {
                return Err(ProxyError::MisdirectedSni);
            }
        }
        let path = normalize_path(req.uri().path())?.into_owned();
        record.path.clone_from(&path);
        // Every decision below is taken on the canonical form (DESIGN.md "Reading rule").
        let canon = crate::canon::canonical(&path, self.env(index).case_sensitive_paths)
            .map_err(crate::canon::normalize::PathError::from)?
            .into_owned();
        refuse_ambiguous(req)?;
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let path_and_query = PathAndQuery::try_from(path_and_query)
            .map_err(|_| ProxyError::BadPath(crate::canon::normalize::PathError::BadEncoding))?;
        // Host and X-Forwarded-Host carry the validated authority, port included, so a
        // dashboard building absolute URLs keeps the gateway's public port.
        let authority = request_authority(req.uri(), req.headers())
            .unwrap_or(&record.host)
            .to_string();
        let routed = Routed {
            index,
            conn,
            canon,
            path_and_query,
            authority,
        };
        Ok((path, routed))
    }

    /// An environment whose login the gateway watches: login interception, the session and
    /// the policy, credentials, then the request with its bound jar, its answer guarded.
    async fn watched(
        &self,
        auth: &Auth,
        login: &LoginConfig,
        routed: Routed<'_>,
        asserted: Option<sso_step::Asserted>,
        mut req: Request<Drained>,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        let (env, conn, now) = (self.env(routed.index), routed.conn, auth.clock.now());
        let route = asserted
            .is_none()
            .then(|| login.route_for(req.method(), &routed.canon))
            .flatten();
        if let Some(route) = route {
            let target = login::Target {
                worker: self,
                auth,
                index: routed.index,
                conn,
                route,
                authority: &routed.authority,
            };
            return target.intercept(req, routed.path_and_query, record).await;
        }
        let session = asserted
            .is_none()
            .then(|| auth.full_session(env, req.headers(), now))
            .flatten();
        if session.is_some() && auth.revocations_stale() {
            // A logout made on another instance may not have reached us: fail closed.
            return Err(ProxyError::Unavailable(
                "revocation events are stale".into(),
            ));
        }
        let gate = Gate {
            auth,
            env,
            login,
            routed: &routed,
            session: session.as_ref(),
            sso: asserted.is_some(),
        };
        let grace = match gate.check(&req, now).await {
            Ok(grace) => grace,
            Err(refused) => return Ok(refused),
        };
        // Whose jar the request carries: its session's, its SSO identity's, or a pre-login one.
        let holder = match (&session, &asserted) {
            (Some(claims), _) => Some(session_context(&claims.sid)),
            (None, Some(who)) => Some(sso_context(&env.name, &who.user)),
            (None, None) => None,
        };
        let held = match &holder {
            Some(context) => auth.held_jar(context, req.headers()),
            None => auth.pre_login_jar(env, req.headers(), now),
        };
        let loose = vault::loose_credential(req.headers(), login);
        if loose {
            let ctx = auth.audit_context(env, conn.peer.ip());
            auth.audit
                .record(ctx.event(EventKind::CredentialWithoutSession))
                .await;
        }
        let upgrade = websocket::is_websocket_upgrade(req.version(), req.headers())
            .then(|| hyper::upgrade::on(&mut req));
        req.extensions_mut()
            .insert(vault::BoundJar(held.jar.cookies.clone()));
        let guard = vault::Guard {
            asked: routed.asked(self),
            auth,
            env,
            login,
            holder,
            held: &held,
            loose,
        };
        let asserted = asserted.or_else(|| session.as_ref().map(sso_step::Asserted::from_session));
        let f = routed.forwarding(asserted, session.as_ref());
        let mut resp = self.pass(f, req, upgrade, Some(&guard), record).await?;
        if let Some(claims) = &session {
            login::refresh_session(auth, env, claims, resp.headers_mut());
        }
        if let Some(until) = grace {
            // Sessions living on the enforcement grace period learn when MFA becomes mandatory.
            if let Ok(v) = HeaderValue::from_str(&crate::clock::utc(until)) {
                resp.headers_mut().insert(decision::GRACE_HEADER, v);
            }
        }
        Ok(resp)
    }

    /// Forwards a request that may go to the dashboard and guards the answer: WebSocket
    /// tunnels and signed-in responses are registered as live, so a revocation cuts them.
    async fn pass(
        &self,
        f: Forwarding<'_>,
        req: Request<Drained>,
        upgrade: Option<hyper::upgrade::OnUpgrade>,
        guard: Option<&vault::Guard<'_>>,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        let env = self.env(f.index);
        let (mut parts, body) = req.into_parts();
        let body = match upgrade {
            Some(_) => {
                // Sanitizing strips hop-by-hop headers; the upgrade ones go back in afterwards.
                parts.extensions.insert(websocket::UpgradeRequested);
                Body::empty()
            }
            None => Body::new(body),
        };
        if let Some(who) = f.asserted {
            parts.extensions.insert(who);
        }
        let live = (upgrade.is_some() || f.session.is_some()).then(|| {
            self.shared.live.register(LiveOwner {
                environment: env.name.clone(),
                user: f.session.map(|c| c.user.clone()),
                session_id: f.session.map(|c| c.sid.clone()),
            })
        });
        let sent = self.forward(
            f.index,
            f.conn,
            parts,
            body,
            f.path_and_query,
            f.authority,
            record,
        );
        let resp = match &live {
            Some(l) => tokio::select! {
                r = sent => r?,
                _ = l.cancelled() => return Err(ProxyError::Revoked),
            },
            None => sent.await?,
        };
        let (mut parts, body) = resp.into_parts();
        let mut set = Vec::new();
        if let Some(g) = guard {
            set = g.headers(&mut parts.headers).await?;
        } else {
            crate::gate::login_intercept::remove_set_cookies(
                &mut parts.headers,
                &crate::canon::cookie::is_gateway_name,
            );
        }
        for c in &set {
            if let Ok(v) = HeaderValue::from_str(c) {
                parts.headers.append(http::header::SET_COOKIE, v);
            }
        }
        let live = match (upgrade, parts.status, live) {
            (Some(client_upgrade), StatusCode::SWITCHING_PROTOCOLS, Some(guard)) => {
                let resp = Response::from_parts(parts, body);
                let active = self.shared.metrics.active_websockets.clone();
                return Ok(websocket::finish_handshake(
                    resp,
                    client_upgrade,
                    guard,
                    active,
                ));
            }
            (_, _, live) => live,
        };
        strip_hop_by_hop(&mut parts.headers);
        let body = Body::new(body);
        let body = match guard {
            Some(g) => g.body(&mut parts.headers, body).await?,
            None => body,
        };
        let body = match live {
            Some(l) => Body::new(LiveBody::new(body, l)),
            None => body,
        };
        Ok(Response::from_parts(parts, body))
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
        let jar = parts
            .extensions
            .remove::<vault::BoundJar>()
            .unwrap_or_default();
        vault::bind_request(&mut parts.headers, env.login.as_ref(), &jar);
        let verified = match asserted.as_ref().is_some_and(|w| w.sso) {
            true => super::headers::verified_sso_headers(env, &parts.headers, conn.peer.ip()),
            false => Vec::new(),
        };
        upstream::rewrite(env, &mut parts, path_and_query, authority, conn.peer.ip());
        super::headers::strip_sso_headers(env, &mut parts.headers);
        for (name, value) in verified {
            parts.headers.insert(name, value);
        }
        if let (Some(who), Some(auth)) = (&asserted, &self.shared.auth) {
            let asserter = self.shared.config.assertion.as_deref();
            who.tell_upstream(auth, env, asserter, &mut parts.headers);
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

    fn is_gateway_path(&self, path: &str) -> bool {
        let root = &self.shared.prefix_root;
        path.starts_with(root.as_str())
            && matches!(path.as_bytes().get(root.len()), None | Some(b'/'))
    }

    async fn gateway_route(
        &self,
        index: usize,
        conn: &ConnInfo,
        req: Request<Drained>,
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
            request_id: crate::audit::new_request_id(),
            authority,
        });
        let req = Request::from_parts(parts, Body::new(body));
        match self.shared.gateway_routes.clone().oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }
}
