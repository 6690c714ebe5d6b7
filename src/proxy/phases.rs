//! The typed phases of a request (DESIGN.md "Request pipeline"), modelled on Pingora's
//! `ProxyHttp`: one function per phase over one per-request context.
//!
//! route → sanitize → verify member → identify → decide → act → response filter → log
//!
//! `route` and `log` are in `pipeline.rs` (they apply to every request, gateway pages and
//! unknown hosts included), `verify member` in `member_hash.rs` (a chat widget's member id,
//! where configured); the phases here apply to requests for the dashboard. `identify`
//! asks the core who the request is, `decide` asks the pure policy what may happen, and `act`
//! carries that out: forward (`forward.rs`), intercept a login (`login.rs`) or refuse
//! (`decision.rs`).

use axum::body::Body;
use http::uri::PathAndQuery;
use http::{header, HeaderValue, Request, Response};

use super::access_log::AccessRecord;
use super::drain::Drained;
use super::error::ProxyError;
use super::forward::Outbound;
use super::pipeline::{wants_json, ConnInfo, Worker};
use super::probe::Asked;
use super::vault;
use crate::audit::EventKind;
use crate::canon::normalize::{normalize_path, PathError};
use crate::config::{Environment, LoginConfig, LoginRoute};
use crate::gate::auth::Auth;
use crate::gate::identify::Identity;
use crate::gate::lifecycle::{EndReason, Ending};
use crate::gate::vault::sso_context;
use crate::policy::{self, Decision, Presented};
use crate::session::jar::{clear_chunks, read_chunks, session_context, SESSION_JAR};
use crate::session::token::{bearer_matches, SessionClaims};
use crate::session::{clear_cookie, SESSION_COOKIE};

/// Response header telling a session on a grace period when MFA becomes mandatory.
pub const GRACE_HEADER: &str = "x-mfagate-mfa-required-from";

/// One request's facts, fixed by `sanitize` and read by every later phase.
pub(super) struct RequestCtx<'a> {
    pub(super) index: usize,
    pub(super) env: &'a Environment,
    pub(super) conn: &'a ConnInfo,
    /// Normalized path, for gateway routing and the access log.
    pub(super) path: String,
    /// Canonical path, for decisions only.
    pub(super) canon: String,
    /// Normalized path and query, for the upstream.
    pub(super) path_and_query: PathAndQuery,
    pub(super) authority: String,
    /// The client wants JSON answers (API calls, XHR).
    pub(super) json: bool,
    /// Ties the access-log line and the audit events of this request together.
    pub(super) request_id: u64,
    /// Kept (a shared reference, no copy) for describing the client in audit events.
    pub(super) user_agent: Option<http::HeaderValue>,
}

impl RequestCtx<'_> {
    /// The audit context of this request: environment, client IP and agent, request id.
    pub(super) fn audit(&self, auth: &Auth) -> crate::audit::Context {
        let ctx = auth.audit_context(self.env, self.conn.peer.ip(), self.request_id);
        let agent = self.user_agent.as_ref().and_then(|v| v.to_str().ok());
        ctx.with_agent(crate::session::device::label(agent.unwrap_or("")))
    }

    pub(super) fn asked<'b>(&'b self, worker: &'b Worker) -> Asked<'b> {
        Asked {
            worker,
            index: self.index,
            conn: self.conn,
            authority: &self.authority,
        }
    }
}

/// An environment whose login the gateway watches: the core and the login table, present
/// together (so no phase checks for either).
#[derive(Clone, Copy)]
pub(super) struct Watched<'a> {
    pub(super) auth: &'a Auth,
    pub(super) login: &'a LoginConfig,
}

impl Worker {
    /// Phase "sanitize": the request's environment binding, its normalized and canonical
    /// paths, and the refusal of what a dashboard could read another way.
    pub(super) fn sanitize<'a>(
        &'a self,
        index: usize,
        conn: &'a ConnInfo,
        req: &Request<Drained>,
        (host, request_id): (&str, u64),
    ) -> Result<RequestCtx<'a>, ProxyError> {
        // A connection negotiated for one environment's certificate must not be used to reach
        // another (connection reuse or domain fronting): 421 makes browsers retry correctly.
        if let Some(sni) = &conn.sni {
            if self.state().environment_for(sni) != Some(index) {
                return Err(ProxyError::MisdirectedSni);
            }
        }
        let env = self.env(index);
        let path = normalize_path(req.uri().path())?.into_owned();
        // Every decision below is taken on the canonical form (DESIGN.md "Reading rule").
        let canon = crate::canon::canonical(&path, env.case_sensitive_paths)
            .map_err(PathError::from)?
            .into_owned();
        refuse_ambiguous(req)?;
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let path_and_query = PathAndQuery::try_from(path_and_query)
            .map_err(|_| ProxyError::BadPath(PathError::BadEncoding))?;
        // Host and X-Forwarded-Host carry the validated authority, port included, so a
        // dashboard building absolute URLs keeps the gateway's public port.
        let authority = super::authority::request_authority(req.uri(), req.headers())
            .unwrap_or(host)
            .to_string();
        Ok(RequestCtx {
            index,
            env,
            conn,
            path,
            canon,
            path_and_query,
            authority,
            json: wants_json(req.headers()),
            request_id,
            user_agent: req.headers().get(header::USER_AGENT).cloned(),
        })
    }

    /// Phases identify → decide → act for a request to the dashboard.
    pub(super) async fn serve(
        &self,
        ctx: &RequestCtx<'_>,
        req: Request<Drained>,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        let watched = match (&self.state().auth, &ctx.env.login) {
            (Some(auth), Some(login)) => Watched { auth, login },
            _ => return self.pass(ctx, req, Outbound::plain(), record).await,
        };
        let identity = identify(watched, ctx, &req).await?;
        record.user = identity.user().map(str::to_string);
        if let Some(told) = signed_out_notice(watched, ctx, &identity, &req).await {
            return Ok(told);
        }
        let (decision, route) = decide(watched, ctx, &identity, &req);
        match (decision, route) {
            (Decision::WatchLogin, Some(route)) => {
                self.intercept(watched, ctx, route, req, record).await
            }
            (Decision::Allow { grace_until }, _) => {
                let signing_out = signing_out(watched, ctx, &identity, &req);
                let live = signing_out.is_none();
                let resp = self.forward_watched(watched, ctx, (&identity, live), req, record);
                let mut resp = resp.await?;
                match signing_out {
                    Some(s) if resp.status().as_u16() < 400 => s.end(watched, ctx, &mut resp).await,
                    _ => response_filter(watched, ctx, &identity, grace_until, &mut resp),
                }
                Ok(resp)
            }
            (refused, _) => {
                Ok(super::decision::refuse(watched, ctx, &identity, refused, &req).await)
            }
        }
    }
}

/// A browser coming back with a session that was ended elsewhere (a revoke, an admin, the
/// grace period) is told why on the gateway's page instead of landing on the login page
/// without a word; its session cookie is cleared, so this happens once. Page loads only.
async fn signed_out_notice(
    w: Watched<'_>,
    ctx: &RequestCtx<'_>,
    identity: &Identity,
    req: &Request<Drained>,
) -> Option<Response<Body>> {
    let page_load = req.method() == http::Method::GET && !ctx.json;
    if !matches!(identity, Identity::Anonymous) || !page_load {
        return None;
    }
    let now = w.auth.clock.now();
    let cause = w.auth.ended_cause(ctx.env, req.headers(), now).await?;
    let prefix = &w.auth.config.gateway_prefix;
    let to = format!("{prefix}signed-out?why={cause}");
    let cleared = [crate::session::clear_cookie(
        crate::session::SESSION_COOKIE,
        true,
    )];
    Some(super::decision::to_login(w.login, &to, false, &cleared))
}

/// Phase "identify": who the request is, in memory. A session is only trusted while this
/// instance's revocation view is current; otherwise the request fails closed.
async fn identify(
    w: Watched<'_>,
    ctx: &RequestCtx<'_>,
    req: &Request<Drained>,
) -> Result<Identity, ProxyError> {
    let now = w.auth.clock.now();
    let identity = w.auth.identify(
        ctx.index,
        req.headers(),
        (ctx.conn.peer.ip(), ctx.request_id),
        now,
    );
    let identity = identity.await;
    if identity.session().is_some() && w.auth.revocations_stale() {
        // A logout made on another instance may not have reached us.
        return Err(ProxyError::Unavailable(
            "revocation events are stale".into(),
        ));
    }
    Ok(identity)
}

/// Phase "decide": the facts the policy needs, read off the request leniently, and the pure
/// policy's decision. The login route matched goes along for `act`.
fn decide<'a>(
    w: Watched<'a>,
    ctx: &RequestCtx<'_>,
    identity: &Identity,
    req: &Request<Drained>,
) -> (Decision, Option<&'a LoginRoute>) {
    let route = w.login.route_for(req.method(), &ctx.canon);
    let unbound_bearer = req.headers().get(header::AUTHORIZATION).is_some_and(|a| {
        !identity
            .session()
            .is_some_and(|c| bearer_matches(&w.auth.keys, c, a.as_bytes()))
    });
    let presented = Presented {
        subject: identity.subject(),
        login_route: route.is_some(),
        unbound_bearer,
        anonymous_allowed: w.login.admits_anonymous(&ctx.canon),
    };
    let facts = policy::RequestFacts {
        env: ctx.index,
        method: req.method(),
        path: &ctx.canon,
    };
    let now = w.auth.clock.now();
    let decision = policy::decide_request(&w.auth.policies(), &facts, &presented, now);
    (decision, route)
}

impl Worker {
    /// Phase "act" for an allowed request: the jar it carries (its session's, its SSO
    /// identity's, or a pre-login one), its answer guarded by the vault.
    /// `live`: whether a signed-in answer is registered as live (not the dashboard's own
    /// sign-out: ending its session would cut its own answer).
    async fn forward_watched(
        &self,
        w: Watched<'_>,
        ctx: &RequestCtx<'_>,
        (identity, live): (&Identity, bool),
        req: Request<Drained>,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        let (auth, now) = (w.auth, w.auth.clock.now());
        let holder = match identity {
            Identity::Session(claims) => Some(session_context(&claims.sid)),
            Identity::Sso(who) => Some(sso_context(&ctx.env.name, &who.user)),
            Identity::Anonymous => None,
        };
        let held = match &holder {
            Some(context) => auth.held_jar(context, req.headers()),
            None => auth.pre_login_jar(ctx.env, req.headers(), now),
        };
        let loose = vault::loose_credential(req.headers(), w.login);
        if loose {
            let audit = ctx.audit(auth);
            let event = audit.event(EventKind::CredentialWithoutSession);
            auth.audit.record(event).await;
        }
        let guard = vault::Guard {
            asked: ctx.asked(self),
            auth,
            env: ctx.env,
            login: w.login,
            holder,
            held: &held,
            loose,
            request_id: ctx.request_id,
        };
        let out = Outbound {
            jar: &held.jar.cookies,
            asserted: identity.asserted(),
            session: identity.session().filter(|_| live),
            guard: Some(&guard),
        };
        self.pass(ctx, req, out, record).await
    }
}

/// A signed-in request to the dashboard's own sign-out (its configured `logout` route).
struct SigningOut<'a> {
    claims: &'a SessionClaims,
    /// Session-jar chunks the browser holds (cleared with the session).
    chunks: usize,
}

fn signing_out<'a>(
    w: Watched<'_>,
    ctx: &RequestCtx<'_>,
    identity: &'a Identity,
    req: &Request<Drained>,
) -> Option<SigningOut<'a>> {
    let claims = identity.session()?;
    let route = &w.login.logout.as_ref()?.route;
    let method = req.method().as_str();
    (route.method.as_str().eq_ignore_ascii_case(method)
        && route.pattern.matches_with_format(&ctx.canon))
    .then(|| SigningOut {
        claims,
        chunks: read_chunks(req.headers(), SESSION_JAR).1,
    })
}

impl SigningOut<'_> {
    /// The dashboard accepted its own sign-out: the gateway session ends with it (no ghost
    /// session left on the devices page), and the browser's gateway cookies are cleared.
    async fn end(&self, w: Watched<'_>, ctx: &RequestCtx<'_>, resp: &mut Response<Body>) {
        let c = self.claims;
        let ending = Ending {
            user: &c.user,
            sid: &c.sid,
            jar: None,
            authority: Some(&ctx.authority),
        };
        let audit = ctx.audit(w.auth);
        let audit = audit.with_user(&c.user).with_device(&c.device);
        let ended = w
            .auth
            .end_session(ending, EndReason::DashboardSignedOut, audit);
        if let Err(e) = ended.await {
            tracing::error!(error = %e, "could not end the session the dashboard signed out");
        }
        let mut cleared = vec![clear_cookie(SESSION_COOKIE, true)];
        cleared.extend(clear_chunks(SESSION_JAR, 0, self.chunks));
        for line in cleared {
            if let Ok(v) = HeaderValue::from_str(&line) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
    }
}

/// Phase "response filter" for a signed-in answer: the session's idle deadline slides, and a
/// session on the enforcement grace period learns when MFA becomes mandatory.
fn response_filter(
    w: Watched<'_>,
    ctx: &RequestCtx<'_>,
    identity: &Identity,
    grace_until: Option<u64>,
    resp: &mut Response<Body>,
) {
    if let Some(claims) = identity.session() {
        super::login::refresh_session(w.auth, ctx.env, claims, resp.headers_mut());
    }
    if let Some(until) = grace_until {
        if let Ok(v) = HeaderValue::from_str(&crate::clock::utc(until)) {
            resp.headers_mut().insert(GRACE_HEADER, v);
        }
    }
}

/// Requests a lenient dashboard could read differently from the gateway: a method not in
/// upper case (routers compare methods differently), and an upgrade with a body (the body is
/// not forwarded, so its length would make the dashboard read the next request as the body).
pub(super) fn refuse_ambiguous(req: &Request<Drained>) -> Result<(), ProxyError> {
    if req
        .method()
        .as_str()
        .bytes()
        .any(|b| b.is_ascii_lowercase())
    {
        return Err(ProxyError::Ambiguous("method not in upper case"));
    }
    let h = req.headers();
    let has_body = h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if h.contains_key(header::UPGRADE) && has_body {
        return Err(ProxyError::Ambiguous("upgrade request with a body"));
    }
    Ok(())
}
