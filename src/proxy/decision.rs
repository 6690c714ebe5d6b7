//! Acting on a policy decision for a signed-in request (DESIGN.md pipeline step 7): step-up
//! challenges, path-rule denials and forced logouts. `Allow` is handled by the pipeline.

use axum::body::Body;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use super::login::to_login;
use super::pipeline::{wants_json, ConnInfo};
use crate::audit::Context;
use crate::config::{Environment, LoginConfig};
use crate::gate::auth::Auth;
use crate::gate::lifecycle::{EndReason, Ending};
use crate::policy::{Challenge, Decision};
use crate::session::token::SessionClaims;
use crate::session::{clear_cookie, SESSION_COOKIE};

/// Response header telling a session on a grace period when MFA becomes mandatory.
pub const GRACE_HEADER: &str = "x-mfagate-mfa-required-from";

pub(super) struct Refusal<'a> {
    pub auth: &'a Auth,
    pub env: &'a Environment,
    pub login: &'a LoginConfig,
    pub conn: &'a ConnInfo,
    pub claims: &'a SessionClaims,
}

impl Refusal<'_> {
    pub async fn act(
        &self,
        decision: Decision,
        headers: &HeaderMap,
        path_and_query: &str,
    ) -> Response<Body> {
        match decision {
            Decision::Challenge(Challenge::StepUp) => self.step_up(headers, path_and_query),
            Decision::Deny(reason) => self.deny(headers, reason),
            Decision::ForceLogout(reason) => self.force_logout(headers, reason).await,
            // A signed-in session that no longer satisfies the policy signs in again.
            Decision::Challenge(_) | Decision::Login => {
                self.force_logout(headers, "second factor required").await
            }
            Decision::Allow { .. } => unreachable!("the pipeline forwards allowed requests"),
        }
    }

    fn ctx(&self) -> Context {
        self.auth
            .audit_context(self.env, self.conn.peer.ip())
            .with_user(&self.claims.user)
            .with_device(&self.claims.device)
    }

    fn step_up(&self, headers: &HeaderMap, path_and_query: &str) -> Response<Body> {
        let prefix = &self.auth.config.gateway_prefix;
        let next: String = form_urlencoded::byte_serialize(path_and_query.as_bytes()).collect();
        let url = format!("{prefix}step-up?next={next}");
        if wants_json(headers) {
            return json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({
                    "mfa_required": true,
                    "step_up": true,
                    "mfa_url": url,
                }),
            );
        }
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = HeaderValue::from_str(&url) {
            resp.headers_mut().insert(LOCATION, v);
        }
        resp
    }

    fn deny(&self, headers: &HeaderMap, reason: &str) -> Response<Body> {
        tracing::info!(user = %self.claims.user, reason, "request denied by policy");
        forbidden(self.env, headers)
    }

    /// Ends the session everywhere and sends the browser to sign in again.
    async fn force_logout(&self, headers: &HeaderMap, reason: &'static str) -> Response<Body> {
        let (auth, claims) = (self.auth, self.claims);
        let held = auth.session_jar(claims, headers);
        let ending = Ending {
            user: &claims.user,
            sid: &claims.sid,
            jar: Some(held.jar.lines()),
            authority: None,
        };
        let ended = auth.end_session(ending, EndReason::Policy(reason), self.ctx());
        if let Err(e) = ended.await {
            tracing::error!(error = %e, "could not record a forced logout; refusing the request anyway");
        }
        let mut cleared = vec![clear_cookie(SESSION_COOKIE, true)];
        cleared.extend(
            self.login
                .session_cookies
                .iter()
                .map(|n| clear_cookie(n, false)),
        );
        to_login(self.login, headers, &cleared)
    }
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// 403 for a request the policy refuses (HTML page or JSON).
pub(super) fn forbidden(env: &Environment, headers: &HeaderMap) -> Response<Body> {
    if wants_json(headers) {
        return json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": "forbidden"}),
        );
    }
    let page = crate::web::error_page(
        StatusCode::FORBIDDEN,
        "Your role is not allowed to do this here. Ask an administrator.",
        &env.display_name,
    );
    let mut resp = Response::new(Body::from(page));
    *resp.status_mut() = StatusCode::FORBIDDEN;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}
