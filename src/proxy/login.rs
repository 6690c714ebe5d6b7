//! The proxy side of login interception: buffering the login exchange (bounded), and what to
//! do with dashboard credentials that arrive without a gateway session. The decisions
//! themselves live in `identity::login_flow` and `identity::login_intercept`.

use axum::body::Body;
use http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE, USER_AGENT};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};

use super::access_log::AccessRecord;
use super::error::ProxyError;
use super::headers::strip_hop_by_hop;
use super::pipeline::{wants_json, ConnInfo, Worker};
use super::probe::Asked;
use super::vault::BoundJar;
use crate::audit::EventKind;
use crate::canon::cookie::is_gateway_name;
use crate::config::{Environment, LoginConfig, LoginFormat, LoginRoute};
use crate::gate::auth::Auth;
use crate::gate::login_flow::{on_login_response, Answered, Evidence, LoginError, LoginRequest};
use crate::gate::login_intercept::{
    remove_set_cookies, session_cookie_lines, token_at, username_from_request,
};
use crate::session::jar::{read_chunks, SESSION_JAR};
use crate::session::token::{
    decode_device, encode_session, needs_refresh, refreshed, SessionClaims,
};
use crate::session::{clear_cookie, cookie_value, set_cookie, DEVICE_COOKIE, SESSION_COOKIE};

/// Largest dashboard login response the gateway will inspect.
const MAX_LOGIN_RESPONSE_BYTES: usize = 1024 * 1024;

/// One watched login request and where it goes.
pub(super) struct Target<'a> {
    pub worker: &'a Worker,
    pub auth: &'a Auth,
    pub index: usize,
    pub conn: &'a ConnInfo,
    pub route: &'a LoginRoute,
    pub authority: &'a str,
}

impl Target<'_> {
    pub async fn intercept(
        &self,
        req: Request<super::drain::Drained>,
        path_and_query: PathAndQuery,
        record: &mut AccessRecord,
    ) -> Result<Response<Body>, ProxyError> {
        let env = &self.auth.config.environments[self.index];
        let Some(login) = &env.login else {
            unreachable!("routes only match in environments with a login table");
        };
        // Per-IP limit on password attempts through the gateway (in memory, bounded).
        let ip = self.conn.peer.ip();
        if self.auth.login_over_limit(env, ip) {
            let ctx = self.auth.audit_context(env, ip.to_string());
            self.auth
                .audit
                .record(ctx.event(EventKind::LoginRateLimited))
                .await;
            return Err(ProxyError::TooManyLogins);
        }
        let now = self.auth.clock.now();
        let pre = self.auth.pre_login_jar(env, req.headers(), now);
        let jar_chunks = read_chunks(req.headers(), SESSION_JAR).1;
        let (mut parts, body) = req.into_parts();
        let body = Limited::new(body, login.max_body_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    ProxyError::PayloadTooLarge
                } else {
                    ProxyError::BadLoginBody(e.to_string())
                }
            })?
            .to_bytes();
        let content_type = header_str(&parts.headers, CONTENT_TYPE);
        let user = username_from_request(
            self.route,
            login,
            path_and_query.query(),
            &content_type,
            &body,
        )
        .map_err(|e| ProxyError::BadLoginBody(e.to_string()))?;
        let next = next_param(&path_and_query, self.route, &body);
        let request = LoginRequest {
            env_index: self.index,
            user,
            next,
            user_agent: header_str(&parts.headers, USER_AGENT),
            device_id: cookie_value(&parts.headers, DEVICE_COOKIE)
                .and_then(|v| decode_device(&self.auth.keys, v).ok()),
            pre,
            jar_chunks,
            audit: self
                .auth
                .audit_context(env, self.conn.peer.ip().to_string()),
        };
        // The login is sent with the browser's pre-login jar (its CSRF secret, say).
        parts
            .extensions
            .insert(BoundJar(request.pre.jar.cookies.clone()));
        let resp = self
            .worker
            .forward(
                self.index,
                self.conn,
                parts,
                Body::from(body),
                path_and_query,
                self.authority,
                record,
            )
            .await?;
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let body = Limited::new(body, MAX_LOGIN_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| ProxyError::Upstream(format!("login response: {e}")))?
            .to_bytes();
        remove_set_cookies(&mut parts.headers, &is_gateway_name);
        let evidence = self
            .evidence(login, &request, &parts.headers, &body)
            .await?;
        on_login_response(
            self.auth,
            env,
            login,
            self.route,
            &request,
            Answered {
                parts,
                body,
                evidence,
            },
        )
        .await
        .map_err(|e| match e {
            LoginError::Unidentified => ProxyError::LoginUnidentified,
            LoginError::Store(e) => ProxyError::Unavailable(e.to_string()),
        })
    }
}

impl Target<'_> {
    /// The credential the login answer set (over the pre-login jar) and, when configured,
    /// what the dashboard's probe says of it.
    async fn evidence(
        &self,
        login: &LoginConfig,
        request: &LoginRequest,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Evidence, ProxyError> {
        let lines = session_cookie_lines(headers, login);
        let jar = request.pre.jar.clone().with(&lines, self.auth.clock.now());
        let token = login.token_pointer.as_deref().and_then(|p| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|j| token_at(&j, p))
        });
        let probe_user = match &login.probe {
            None => None,
            Some(probe) => {
                let asked = Asked {
                    worker: self.worker,
                    index: self.index,
                    conn: self.conn,
                    authority: self.authority,
                };
                Some(asked.probe(probe, &jar, token.as_deref()).await?)
            }
        };
        Ok(Evidence {
            jar,
            token,
            probe_user,
        })
    }
}

fn header_str(headers: &HeaderMap, name: http::header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// `next` from the login URL's query, or from a form login's body.
fn next_param(path_and_query: &PathAndQuery, route: &LoginRoute, body: &[u8]) -> Option<String> {
    let from_query = path_and_query.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.into_owned())
    });
    from_query.or_else(|| {
        (route.format == LoginFormat::Form)
            .then(|| {
                form_urlencoded::parse(body)
                    .find(|(k, _)| k == "next")
                    .map(|(_, v)| v.into_owned())
            })
            .flatten()
    })
}

/// A dashboard credential without a gateway session is never forwarded: the dashboard's cookies
/// are cleared and the browser goes to the dashboard's login (API clients get 401 JSON).
pub(super) async fn refuse_credential(
    auth: &Auth,
    env: &Environment,
    login: &LoginConfig,
    conn: &ConnInfo,
    headers: &HeaderMap,
    kind: EventKind,
) -> Response<Body> {
    let ctx = auth.audit_context(env, conn.peer.ip());
    auth.audit.record(ctx.event(kind)).await;
    let mut cleared: Vec<String> = login
        .session_cookies
        .iter()
        .map(|n| clear_cookie(n, false))
        .collect();
    if cookie_value(headers, SESSION_COOKIE).is_some() {
        cleared.push(clear_cookie(SESSION_COOKIE, true));
    }
    to_login(login, headers, &cleared)
}

/// Sends a browser to the dashboard's login (303), or tells an API client 401 in JSON,
/// setting `cookies` (typically deletions) on the way.
pub(super) fn to_login(
    login: &LoginConfig,
    headers: &HeaderMap,
    cookies: &[String],
) -> Response<Body> {
    let mut resp = if !wants_json(headers) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = HeaderValue::from_str(&login.login_page) {
            r.headers_mut().insert(LOCATION, v);
        }
        r
    } else {
        let body = serde_json::json!({
            "error": "authentication required",
            "login_url": login.login_page,
        });
        let mut r = Response::new(Body::from(body.to_string()));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let h = resp.headers_mut();
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(SET_COOKIE, v);
        }
    }
    resp
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
