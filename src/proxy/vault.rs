//! The proxy side of the credential vault and of the response-side guard (DESIGN.md
//! "Reading rule", "Credential vault"). On the way in, every spelling of a dashboard session
//! cookie and of the gateway's own cookies is removed and the values bound to the request's
//! gateway session (or pre-login jar) are added back. On the way out, the dashboard may not
//! touch the gateway's cookies, and no dashboard session cookie reaches the browser: it goes
//! into the jar of the session it belongs to, or is dropped.

use axum::body::Body;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};

use super::error::ProxyError;
use super::probe::Asked;
use crate::audit::EventKind;
use crate::canon::cookie::{any_piece, is_gateway_name, rewrite};
use crate::config::{Environment, LoginConfig};
use crate::gate::auth::Auth;
use crate::gate::login_intercept::{
    remove_set_cookies, session_cookie_lines, strip_session_cookies, token_at, withhold_token,
};
use crate::gate::vault::Held;
use crate::session::clear_cookie;

/// Largest anonymous JSON answer inspected for a token (larger ones are refused).
const MAX_INSPECTED_BYTES: usize = 1024 * 1024;

/// Rewrites the request's cookies: every dashboard session cookie and gateway cookie, in any
/// spelling, removed; the bound values added (one canonical `Cookie` line).
pub fn bind_request(
    headers: &mut HeaderMap,
    login: Option<&LoginConfig>,
    jar: &[(String, String)],
) {
    let remove = |n: &[u8]| is_gateway_name(n) || login.is_some_and(|l| l.is_session_cookie(n));
    rewrite(headers, &remove, jar);
}

/// Whether the browser sent a dashboard session cookie itself (never legitimate: the gateway
/// holds them), in any spelling.
pub fn loose_credential(headers: &HeaderMap, login: &LoginConfig) -> bool {
    any_piece(headers, &|n| login.is_session_cookie(n))
}

/// Everything the guard needs to know about the request an answer belongs to.
pub(super) struct Guard<'a> {
    pub asked: Asked<'a>,
    pub auth: &'a Auth,
    pub env: &'a Environment,
    pub login: &'a LoginConfig,
    /// Sealing context of the jar of the request's signed-in session or SSO identity; `None`
    /// for anonymous requests (pre-login jar).
    pub holder: Option<Vec<u8>>,
    /// The jar the request was sent with (the session's, or the pre-login one).
    pub held: &'a Held,
    /// The browser sent a dashboard cookie of its own (cleared in the answer).
    pub loose: bool,
    /// The request's id, for its audit events.
    pub request_id: u64,
}

impl Guard<'_> {
    /// Guards the headers of an answer; returns `Set-Cookie` lines to add.
    pub async fn headers(&self, headers: &mut HeaderMap) -> Result<Vec<String>, ProxyError> {
        let ctx = || {
            self.auth
                .audit_context(self.env, self.asked.conn.peer.ip(), self.request_id)
        };
        if remove_set_cookies(headers, &is_gateway_name) > 0 {
            let event = ctx().event(EventKind::GatewayCookieFromDashboard);
            self.auth.audit.record(event).await;
        }
        let lines = session_cookie_lines(headers, self.login);
        strip_session_cookies(headers, self.login);
        let mut out = Vec::new();
        if self.loose {
            out.extend(
                self.login
                    .session_cookies
                    .iter()
                    .map(|n| clear_cookie(n, false)),
            );
        }
        if lines.is_empty() {
            return Ok(out);
        }
        let now = self.auth.clock.now();
        let jar = self.held.jar.clone().with(&lines, now);
        match (&self.holder, &self.login.probe) {
            (Some(context), _) => {
                out.extend(self.auth.jar_cookies(context, &jar, self.held.chunks));
            }
            (None, Some(probe)) => match self.asked.probe(probe, &jar, None).await? {
                None => out.extend(self.auth.pre_login_cookies(jar, self.held.chunks, now)),
                Some(user) => {
                    let event = ctx()
                        .with_user(&user)
                        .event(EventKind::CredentialOutsideLoginRoute);
                    self.auth.audit.record(event).await;
                }
            },
            (None, None) => {
                let event = ctx().event(EventKind::CredentialOutsideLoginRoute);
                self.auth.audit.record(event).await;
            }
        }
        Ok(out)
    }

    /// A JSON answer to a request without a signed-in session that carries a token at the
    /// login's token pointer is a login answer on a route ops did not list: the token is
    /// withheld. Other answers pass as they are (streamed).
    pub async fn body(&self, headers: &mut HeaderMap, body: Body) -> Result<Body, ProxyError> {
        let Some(pointer) = self.login.token_pointer.as_deref() else {
            return Ok(body);
        };
        let json = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        if self.holder.is_some() || !json {
            return Ok(body);
        }
        let bytes: Bytes = Limited::new(body, MAX_INSPECTED_BYTES)
            .collect()
            .await
            .map_err(|e| ProxyError::Upstream(format!("answer too large to inspect: {e}")))?
            .to_bytes();
        let mut value: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(_) => return Ok(Body::from(bytes)),
        };
        if token_at(&value, pointer).is_none() {
            return Ok(Body::from(bytes));
        }
        withhold_token(&mut value, Some(pointer), &self.auth.config.gateway_prefix);
        let ctx = self
            .auth
            .audit_context(self.env, self.asked.conn.peer.ip(), self.request_id);
        self.auth
            .audit
            .record(ctx.event(EventKind::CredentialOutsideLoginRoute))
            .await;
        headers.remove(CONTENT_LENGTH);
        Ok(Body::from(serde_json::to_vec(&value).unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::COOKIE;
    use http::HeaderValue;

    #[test]
    fn gateway_cookies_removed_dashboard_cookies_kept() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("__Host-mfagate=abc; dash_session=1"),
        );
        h.append(COOKIE, HeaderValue::from_static("__Host-mfagate-device=x"));
        bind_request(&mut h, None, &[]);
        assert_eq!(h.get_all(COOKIE).iter().count(), 1);
        assert_eq!(h[COOKIE], "dash_session=1");
    }
}
