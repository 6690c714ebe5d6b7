//! The proxy side of login interception: the login exchange buffered (bounded) and the facts
//! the core judges it by. The decisions themselves live in `gate::login_flow` and
//! `gate::login_intercept`.

use axum::body::Body;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, SET_COOKIE, USER_AGENT};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};

use super::access_log::AccessRecord;
use super::drain::Drained;
use super::error::ProxyError;
use super::forward::Outbound;
use super::headers::strip_hop_by_hop;
use super::phases::{RequestCtx, Watched};
use super::pipeline::Worker;
use super::probe::Asked;
use crate::audit::EventKind;
use crate::canon::cookie::is_gateway_name;
use crate::config::{Environment, LoginFormat, LoginRoute};
use crate::gate::auth::Auth;
use crate::gate::login_flow::{
    on_login_response, Answered, Continue, Evidence, LoginError, LoginOutcome, LoginRequest,
};
use crate::gate::login_intercept::{
    remove_set_cookies, session_cookie_lines, strip_session_cookies, token_at,
    username_from_request,
};
use crate::session::jar::{read_chunks, SESSION_JAR};
use crate::session::token::{
    decode_device, encode_session, needs_refresh, refreshed, SessionClaims,
};
use crate::session::{cookie_value, set_cookie, DEVICE_COOKIE, SESSION_COOKIE};

/// Largest dashboard login response the gateway will inspect.
const MAX_LOGIN_RESPONSE_BYTES: usize = 1024 * 1024;

impl Worker {
    /// Phase "act" for a watched login: the exchange buffered (bounded), sent with the
    /// browser's pre-login jar, and the dashboard's answer judged by the core.
    pub(super) async fn intercept(
        &self,
        w: Watched<'_>,
        ctx: &RequestCtx<'_>,
        route: &LoginRoute,
        req: Request<Drained>,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        let (auth, env, login) = (w.auth, ctx.env, w.login);
        // Per-IP limit on password attempts through the gateway (in memory, bounded).
        let ip = ctx.conn.peer.ip();
        if auth.login_over_limit(env, ip) {
            let audit = ctx.audit(auth);
            auth.audit
                .record(audit.event(EventKind::LoginRateLimited))
                .await;
            return Err(ProxyError::TooManyLogins);
        }
        let (parts, body) = req.into_parts();
        let body = read_bounded(body, login.max_body_bytes, ProxyError::BadLoginBody).await?;
        let request = login_request(w, ctx, route, &parts.headers, &body)?;
        // The login is sent with the browser's pre-login jar (its CSRF secret, say).
        let out = Outbound {
            jar: &request.pre.jar.cookies,
            ..Outbound::plain()
        };
        let sent = Request::from_parts(parts, Body::from(body));
        let resp = self.forward(ctx, sent, &out, false, record).await?;
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let body = Limited::new(body, MAX_LOGIN_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| ProxyError::Upstream(format!("login response: {e}")))?
            .to_bytes();
        remove_set_cookies(&mut parts.headers, &is_gateway_name);
        let asked = ctx.asked(self);
        let evidence = evidence(w, &asked, &request, &parts.headers, &body).await?;
        let location = parts.headers.get(LOCATION).and_then(|v| v.to_str().ok());
        let answered = Answered {
            status: parts.status,
            location: location.map(str::to_string),
            body: body.clone(),
            evidence,
        };
        let outcome = on_login_response(auth, env, login, route, &request, answered)
            .await
            .map_err(|e| match e {
                LoginError::Unidentified => ProxyError::LoginUnidentified,
                LoginError::Store(e) => ProxyError::Unavailable(e.to_string()),
            })?;
        strip_session_cookies(&mut parts.headers, login);
        Ok(login_answer(parts, body, outcome))
    }
}

/// The HTTP answer of the core's login outcome: the dashboard's own, or the way to the MFA
/// pages, with the gateway's cookies.
fn login_answer(
    mut parts: http::response::Parts,
    body: Bytes,
    outcome: LoginOutcome,
) -> Response<Body> {
    let (cookies, replaced) = match outcome {
        LoginOutcome::PassThrough { cookies, body } => (cookies, body.map(Continue::Json)),
        LoginOutcome::Withhold {
            cookies,
            continue_at,
        } => (cookies, Some(continue_at)),
    };
    for c in &cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            parts.headers.append(SET_COOKIE, v);
        }
    }
    let h = &mut parts.headers;
    match replaced {
        None => Response::from_parts(parts, Body::from(body)),
        Some(Continue::Json(json)) => {
            h.remove(CONTENT_LENGTH);
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            let body = serde_json::to_vec(&json).unwrap_or_default();
            Response::from_parts(parts, Body::from(body))
        }
        Some(Continue::Redirect(url)) => {
            parts.status = StatusCode::SEE_OTHER;
            h.remove(CONTENT_LENGTH);
            h.remove(CONTENT_TYPE);
            if let Ok(v) = HeaderValue::from_str(&url) {
                h.insert(LOCATION, v);
            }
            Response::from_parts(parts, Body::empty())
        }
    }
}

/// A request body the gateway must inspect (a login's, a widget's), up to `limit` bytes:
/// beyond, `PayloadTooLarge`; a body that breaks off is the caller's `unreadable` error.
pub(super) async fn read_bounded(
    body: Drained,
    limit: usize,
    unreadable: fn(String) -> ProxyError,
) -> Result<Bytes, ProxyError> {
    let collected = Limited::new(body, limit).collect().await.map_err(|e| {
        if e.is::<http_body_util::LengthLimitError>() {
            ProxyError::PayloadTooLarge
        } else {
            unreadable(e.to_string())
        }
    })?;
    Ok(collected.to_bytes())
}

/// What the core needs to know of the login request: who claims to sign in, from which
/// browser and device, with which pre-login jar.
fn login_request(
    w: Watched<'_>,
    ctx: &RequestCtx<'_>,
    route: &LoginRoute,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<LoginRequest, ProxyError> {
    let (auth, pq) = (w.auth, &ctx.path_and_query);
    let content_type = header_str(headers, CONTENT_TYPE);
    let user = username_from_request(route, w.login, pq.query(), &content_type, body)
        .map_err(|e| ProxyError::BadLoginBody(e.to_string()))?;
    Ok(LoginRequest {
        env_index: ctx.index,
        user,
        next: next_param(&w.login.next_param, pq, route, body),
        authority: ctx.authority.clone(),
        user_agent: header_str(headers, USER_AGENT),
        device_id: cookie_value(headers, DEVICE_COOKIE)
            .and_then(|v| decode_device(&auth.keys, v).ok()),
        pre: auth.pre_login_jar(ctx.env, headers, auth.clock.now()),
        jar_chunks: read_chunks(headers, SESSION_JAR).1,
        audit: ctx.audit(auth),
    })
}

/// The credential the login answer set (over the pre-login jar) and, when configured,
/// what the dashboard's probe says of it.
async fn evidence(
    w: Watched<'_>,
    asked: &Asked<'_>,
    request: &LoginRequest,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Evidence, ProxyError> {
    let lines = session_cookie_lines(headers, w.login);
    let jar = request.pre.jar.clone().with(&lines, w.auth.clock.now());
    let token = w.login.token_pointer.as_deref().and_then(|p| {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|j| token_at(&j, p))
    });
    let probe_user = match &w.login.probe {
        None => None,
        Some(probe) => Some(asked.probe(probe, &jar, token.as_deref()).await?),
    };
    Ok(Evidence {
        jar,
        token,
        probe_user,
    })
}

fn header_str(headers: &HeaderMap, name: http::header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// `next` from the login URL's query, or from a form login's body.
fn next_param(
    name: &str,
    path_and_query: &PathAndQuery,
    route: &LoginRoute,
    body: &[u8],
) -> Option<String> {
    let find = |bytes: &[u8]| {
        form_urlencoded::parse(bytes)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let from_query = path_and_query.query().and_then(|q| find(q.as_bytes()));
    from_query.or_else(|| {
        (route.format == LoginFormat::Form)
            .then(|| find(body))
            .flatten()
    })
}

/// Slides the idle deadline by re-issuing the cookie when half of it is used (no store write).
pub(super) fn refresh_session(
    auth: &Auth,
    env: &Environment,
    claims: &SessionClaims,
    headers: &mut HeaderMap,
) {
    let idle = env.sessions.idle.as_secs();
    let now = auth.clock.now();
    if needs_refresh(claims, idle, now) {
        let cookie = set_cookie(
            SESSION_COOKIE,
            &encode_session(&auth.keys, &refreshed(claims, idle, now)),
            None,
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, v);
        }
    }
}
