//! The request pipeline (DESIGN.md "Request pipeline"): the state every worker shares, and
//! the phases that apply to every request (route, the gateway's own pages, log). The phases
//! for requests to the dashboard are in `phases.rs`; each returns early with a `ProxyError`
//! the client sees.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use http::{header, HeaderMap, HeaderValue, Request, Response};
use hyper::body::Incoming;
use rustls::RootCertStore;
use tower::ServiceExt;

use super::access_log::{AccessRecord, LoggedBody};
pub use super::authority::{request_authority, request_host, valid_authority};
use super::drain::Drained;
use super::error::ProxyError;
use super::phases::RequestCtx;
use super::upstream::{self, UpstreamClient};
use crate::config::{Config, Environment};
use crate::federation::assertion::Asserter;
use crate::gate::auth::Auth;
use crate::proxy::metrics::{EnvSet, Metrics};
use crate::session::live::LiveConnections;
use crate::web::{self, RequestFacts};

/// State shared by all worker threads.
pub struct Shared {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// This generation's metric handles per environment.
    pub envs: EnvSet,
    pub live: Arc<LiveConnections>,
    hosts: HashMap<String, usize>,
    gateway_routes: axum::Router,
    /// Prefix without its trailing '/', to also catch the bare prefix.
    prefix_root: String,
    hsts: Option<HeaderValue>,
    system_roots: Arc<RootCertStore>,
    /// Present when any environment watches a login (master keys and a store exist).
    pub auth: Option<Arc<Auth>>,
    /// The identity assertion's signer, when configured.
    pub(super) asserter: Option<Asserter>,
}

impl Shared {
    pub fn new(
        config: Arc<Config>,
        metrics: Arc<Metrics>,
        live: Arc<LiveConnections>,
        auth: Option<Arc<Auth>>,
        (system_roots, asserter): (Arc<RootCertStore>, Option<Asserter>),
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
            envs: metrics.environments(config.environments.iter().map(|e| e.name.as_str())),
            gateway_routes: web::router(
                &config.gateway_prefix,
                auth.clone(),
                asserter.as_ref().map(|a| a.jwks_json().to_string()),
            ),
            auth,
            prefix_root: config.gateway_prefix.trim_end_matches('/').to_string(),
            hosts,
            hsts,
            system_roots,
            asserter,
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

    /// Serves one request; never fails (errors become responses). Phases "route" and
    /// "log" are here; the others in `phases.rs`.
    pub async fn handle(&self, conn: &ConnInfo, req: Request<Incoming>) -> Response<Body> {
        let req = req.map(Drained::new);
        let (env_index, mut record) = self.route(conn, &req);
        let json = wants_json(req.headers());
        let accept_language = req.headers().get(header::ACCEPT_LANGUAGE).cloned();
        let bad_host =
            request_authority(req.uri(), req.headers()).is_some_and(|a| !valid_authority(a));
        let result = match env_index {
            None if bad_host => Err(ProxyError::Ambiguous("invalid Host or :authority")),
            None => Err(ProxyError::UnknownHost),
            Some(i) => self.dispatch(i, conn, req, &mut record).await,
        };
        let mut resp = result.unwrap_or_else(|e| {
            let env = env_index.map(|i| self.env(i));
            tracing::debug!(error = %e, "request refused");
            record.error = Some(e.to_string());
            let lang = page_lang(env, accept_language.as_ref());
            e.to_response(json, env, &self.shared.config.gateway_prefix, lang)
        });
        if let Some(hsts) = &self.shared.hsts {
            let h = resp.headers_mut();
            let theirs = h.get(header::STRICT_TRANSPORT_SECURITY);
            let value = super::headers::stronger_hsts(hsts, theirs);
            h.insert(header::STRICT_TRANSPORT_SECURITY, value);
        }
        self.log(env_index, record, resp)
    }

    /// Phase "route": the environment serving the request's host, and its access record.
    fn route(&self, conn: &ConnInfo, req: &Request<Drained>) -> (Option<usize>, AccessRecord) {
        let host = request_host(req.uri(), req.headers());
        let env_index = host.as_deref().and_then(|h| self.shared.environment_for(h));
        let record = AccessRecord {
            started: Instant::now(),
            peer: conn.peer.ip(),
            method: req.method().clone(),
            host: host.unwrap_or_default(),
            path: req.uri().path().to_string(),
            environment: env_index.map_or("-".into(), |i| self.env(i).name.clone()),
            status: 0,
            upstream: None,
            error: None,
            request_id: rand::random(),
            user: None,
        };
        (env_index, record)
    }

    /// The gateway's own pages, or the dashboard behind the remaining phases.
    async fn dispatch(
        &self,
        index: usize,
        conn: &ConnInfo,
        req: Request<Drained>,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        let host = record.host.clone();
        let mut ctx = self.sanitize(index, conn, &req, (&host, record.request_id))?;
        record.path.clone_from(&ctx.path);
        if self.is_gateway_path(&ctx.path) {
            return Ok(self.gateway_route(&ctx, req).await);
        }
        let auth = self.state().auth.clone();
        let req = super::member_hash::verify(&mut ctx, req, auth.as_deref()).await?;
        let mut resp = self.serve(&ctx, req, record).await?;
        super::headers::public_redirects(ctx.env, &ctx.authority, resp.headers_mut());
        Ok(resp)
    }

    /// Phase "log": status metrics now, the access-log line when the body is done.
    fn log(
        &self,
        env_index: Option<usize>,
        mut record: AccessRecord,
        resp: Response<Body>,
    ) -> Response<Body> {
        record.status = resp.status().as_u16();
        let metrics = self.shared.envs.env(env_index);
        metrics.observe_status(record.status);
        resp.map(|body| LoggedBody::wrap(body, record))
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// This worker's pooled client for environment `index`.
    pub(super) fn client(&self, index: usize) -> &UpstreamClient {
        &self.clients[index]
    }

    /// The shared state, borrowed (no reference count touched on the hot path).
    pub(super) fn state(&self) -> &Shared {
        &self.shared
    }

    pub(super) fn env(&self, index: usize) -> &Environment {
        &self.shared.config.environments[index]
    }

    fn is_gateway_path(&self, path: &str) -> bool {
        let root = &self.shared.prefix_root;
        path.starts_with(root.as_str())
            && matches!(path.as_bytes().get(root.len()), None | Some(b'/'))
    }

    async fn gateway_route(&self, ctx: &RequestCtx<'_>, req: Request<Drained>) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        parts.uri = http::Uri::from(ctx.path_and_query.clone());
        parts.extensions.insert(RequestFacts {
            env_index: ctx.index,
            display_name: ctx.env.display_name.clone(),
            ip: ctx.conn.peer.ip().to_string(),
            request_id: crate::audit::request_id(ctx.request_id),
            authority: ctx.authority.clone(),
            branding: ctx.env.branding.clone(),
            lang: page_lang(Some(ctx.env), parts.headers.get(header::ACCEPT_LANGUAGE)),
            agent: crate::session::device::label(
                ctx.user_agent
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            ),
        });
        let req = Request::from_parts(parts, Body::new(body));
        match self.shared.gateway_routes.clone().oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }
}

/// The language of a page the gateway answers with: the browser's `Accept-Language`, else
/// the environment's `language` (English outside any environment).
pub(super) fn page_lang(
    env: Option<&Environment>,
    accept_language: Option<&http::HeaderValue>,
) -> crate::i18n::Lang {
    let asked = accept_language.and_then(|v| v.to_str().ok());
    crate::i18n::negotiate(asked, env.map_or(Default::default(), |e| e.language))
}
