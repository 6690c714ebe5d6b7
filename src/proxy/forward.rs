//! Phase "act" for a request that goes to the dashboard: the upstream request built from the
//! sanitized one (its cookies bound, its identity told), sent on this worker's pool, and the
//! answer guarded. Signed-in responses and WebSocket tunnels are registered as live, so a
//! revocation cuts them.

use std::time::Instant;

use axum::body::Body;
use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::access_log::AccessRecord;
use super::drain::Drained;
use super::error::ProxyError;
use super::headers::strip_hop_by_hop;
use super::live::LiveBody;
use super::phases::RequestCtx;
use super::pipeline::Worker;
use super::{upstream, vault, websocket};
use crate::gate::identify::Asserted;
use crate::session::live::{LiveGuard, LiveOwner};
use crate::session::token::SessionClaims;

/// What a forwarded request carries besides itself, and who guards its answer.
pub(super) struct Outbound<'a> {
    /// The dashboard cookie values bound to the request (its jar).
    pub jar: &'a [(String, String)],
    /// Who the dashboard is told the request is.
    pub asserted: Option<Asserted>,
    /// The signed-in session the answer belongs to (registered as live).
    pub session: Option<&'a SessionClaims>,
    /// The vault's guard of the answer; `None` where the gateway watches no login.
    pub guard: Option<&'a vault::Guard<'a>>,
}

impl Outbound<'static> {
    /// A request to an environment whose login the gateway does not watch.
    pub(super) fn plain() -> Self {
        Self {
            jar: &[],
            asserted: None,
            session: None,
            guard: None,
        }
    }
}

impl Worker {
    /// Forwards a request and guards the answer.
    pub(super) async fn pass(
        &self,
        ctx: &RequestCtx<'_>,
        mut req: Request<Drained>,
        out: Outbound<'_>,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        let upgrade = websocket::is_websocket_upgrade(req.version(), req.headers())
            .then(|| hyper::upgrade::on(&mut req));
        let (parts, body) = req.into_parts();
        // An upgrade's body is never forwarded (see `refuse_ambiguous`).
        let body = match upgrade {
            Some(_) => Body::empty(),
            None => Body::new(body),
        };
        let live = (upgrade.is_some() || out.session.is_some()).then(|| {
            self.state().live.register(LiveOwner {
                environment: ctx.env.name.clone(),
                user: out.session.map(|c| c.user.clone()),
                session_id: out.session.map(|c| c.sid.clone()),
            })
        });
        let sent = self.forward(
            ctx,
            Request::from_parts(parts, body),
            &out,
            upgrade.is_some(),
            record,
        );
        let resp = match &live {
            Some(l) => tokio::select! {
                r = sent => r?,
                _ = l.cancelled() => return Err(ProxyError::Revoked),
            },
            None => sent.await?,
        };
        self.answer(resp, &out, upgrade, live).await
    }

    /// The dashboard's answer as the client gets it: guarded, hop-by-hop headers removed,
    /// a WebSocket handshake completed, a signed-in body made cuttable.
    async fn answer(
        &self,
        resp: Response<Incoming>,
        out: &Outbound<'_>,
        upgrade: Option<hyper::upgrade::OnUpgrade>,
        live: Option<LiveGuard>,
    ) -> Result<Response<Body>, ProxyError> {
        let (mut parts, body) = resp.into_parts();
        let set = match out.guard {
            Some(g) => g.headers(&mut parts.headers).await?,
            None => {
                let gateway = &crate::canon::cookie::is_gateway_name;
                crate::gate::login_intercept::remove_set_cookies(&mut parts.headers, gateway);
                Vec::new()
            }
        };
        for c in &set {
            if let Ok(v) = HeaderValue::from_str(c) {
                parts.headers.append(http::header::SET_COOKIE, v);
            }
        }
        let live = match (upgrade, parts.status, live) {
            (Some(client_upgrade), StatusCode::SWITCHING_PROTOCOLS, Some(guard)) => {
                let resp = Response::from_parts(parts, body);
                let active = self.state().metrics.active_websockets.clone();
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
        let body = match out.guard {
            Some(g) => g.body(&mut parts.headers, Body::new(body)).await?,
            None => Body::new(body),
        };
        let body = match live {
            Some(l) => Body::new(LiveBody::new(body, l)),
            None => body,
        };
        Ok(Response::from_parts(parts, body))
    }

    /// Sends a request to the environment's upstream: cookies bound, rewritten, identity
    /// headers set, timed.
    pub(super) async fn forward(
        &self,
        ctx: &RequestCtx<'_>,
        req: Request<Body>,
        out: &Outbound<'_>,
        upgrade: bool,
        record: &mut AccessRecord,
    ) -> Result<Response<Incoming>, ProxyError> {
        let (env, peer) = (ctx.env, ctx.conn.peer.ip());
        let (mut parts, body) = req.into_parts();
        vault::bind_request(&mut parts.headers, env.login.as_ref(), out.jar);
        let sso = out.asserted.as_ref().is_some_and(|w| w.sso);
        let verified = match sso {
            true => super::headers::verified_sso_headers(env, &parts.headers, peer),
            false => Vec::new(),
        };
        let pq = ctx.path_and_query.clone();
        upstream::rewrite(env, &mut parts, pq, &ctx.authority, peer);
        super::headers::strip_sso_headers(env, &mut parts.headers);
        super::member_hash::tell_upstream(env, &mut parts);
        for (name, value) in verified {
            parts.headers.insert(name, value);
        }
        if let (Some(who), Some(auth)) = (&out.asserted, &self.state().auth) {
            let asserter = self.state().asserter.as_ref();
            super::tell::tell_upstream(who, auth, env, asserter, &mut parts.headers);
        }
        if upgrade {
            websocket::restore_upgrade_headers(&mut parts.headers);
        }
        let started = Instant::now();
        let timeout = self.state().config.timeouts.upstream_response;
        let req = Request::from_parts(parts, body);
        let sent = upstream::send(self.client(ctx.index), req, timeout).await;
        let elapsed = started.elapsed();
        record.upstream = Some(elapsed);
        let metrics = self.state().envs.env(Some(ctx.index));
        metrics.observe_upstream(elapsed.as_secs_f64());
        sent
    }
}
