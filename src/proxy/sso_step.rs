//! Pipeline step 5 for SSO (DESIGN.md "identify"): a request vouched for by a trusted SSO is
//! identified without a gateway session and needs no second factor; policy still applies.
//! Spoofed plain identity headers and failed tokens are audited and the request goes on as
//! anonymous (the headers themselves are stripped before anything goes upstream).

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Method, Response};

use super::decision::forbidden;
use super::pipeline::ConnInfo;
use crate::audit::EventKind;
use crate::config::Environment;
use crate::domain::AuthMethod;
use crate::domain::Role;
use crate::federation::sso::SsoOutcome;
use crate::gate::auth::Auth;
use crate::policy;

/// Who a forwarded request is, for the signed identity assertion.
#[derive(Debug, Clone)]
pub struct Asserted {
    pub user: String,
    pub email: Option<String>,
    pub role: Role,
    pub sso: bool,
    pub mfa_at: Option<u64>,
    pub created_at: u64,
}

impl Asserted {
    /// What the dashboard learns of who this is: the identity headers the environment asks
    /// for and, when configured, the signed identity assertion (clients' copies of both were
    /// stripped before).
    pub(super) fn tell_upstream(
        &self,
        auth: &Auth,
        env: &Environment,
        asserter: Option<&crate::federation::assertion::Asserter>,
        headers: &mut HeaderMap,
    ) {
        let email = self.email.clone().or_else(|| auth.user_email(&self.user));
        let ids = &env.identity_headers;
        let pairs = [
            (&ids.user, Some(self.user.as_str())),
            (&ids.email, email.as_deref()),
        ];
        for (name, value) in pairs {
            if let (Some(n), Some(v)) = (name, value.and_then(|v| HeaderValue::from_str(v).ok())) {
                headers.insert(n.clone(), v);
            }
        }
        if let Some(asserter) = asserter {
            self.assert(asserter, auth, env, email.as_deref(), headers);
        }
    }

    /// Adds the signed identity assertion.
    fn assert(
        &self,
        asserter: &crate::federation::assertion::Asserter,
        auth: &Auth,
        env: &Environment,
        email: Option<&str>,
        headers: &mut HeaderMap,
    ) {
        let amr: &[&str] = match (self.sso, self.mfa_at) {
            (true, _) => &["sso"],
            (false, Some(_)) => &["pwd", "otp"],
            (false, None) => &["pwd"],
        };
        let role = serde_json::to_value(self.role).ok();
        let assertion = crate::federation::assertion::Assertion {
            user: &self.user,
            email,
            role: role.as_ref().and_then(|r| r.as_str()).unwrap_or("agent"),
            env: &env.name,
            amr,
            auth_time: self.mfa_at.unwrap_or(self.created_at),
        };
        if let Some(token) = asserter.sign(&assertion, auth.clock.now()) {
            if let Ok(v) = HeaderValue::from_str(&token) {
                headers.insert(crate::federation::assertion::HEADER, v);
            }
        }
    }

    /// The identity of a signed-in gateway session.
    pub fn from_session(c: &crate::session::token::SessionClaims) -> Self {
        Self {
            user: c.user.clone(),
            email: None,
            role: c.who.role,
            sso: false,
            mfa_at: c.mfa_at,
            created_at: c.created_at,
        }
    }
}

pub(super) enum SsoStep {
    /// No (valid) SSO identity: continue with the gateway session.
    Continue,
    Identified(Asserted),
    Respond(Response<Body>),
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn sso_step(
    auth: &Auth,
    env: &Environment,
    index: usize,
    conn: &ConnInfo,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> SsoStep {
    let Some(sso) = &env.sso else {
        return SsoStep::Continue;
    };
    let outcome = sso.identify(headers, conn.peer.ip()).await;
    let ctx = || auth.audit_context(env, conn.peer.ip().to_string());
    let id = match outcome {
        SsoOutcome::Absent => return SsoStep::Continue,
        SsoOutcome::Spoofed => {
            auth.audit
                .record(ctx().event(EventKind::SpoofedIdentityHeader))
                .await;
            return SsoStep::Continue;
        }
        SsoOutcome::Rejected(reason) => {
            auth.audit
                .record(ctx().event(EventKind::SsoRejected { reason }))
                .await;
            return SsoStep::Continue;
        }
        SsoOutcome::Verified(id) => id,
    };
    let now = auth.clock.now();
    let mut entry = auth.config.directory.lookup(&id.user, &env.name);
    let role = id.role.unwrap_or(entry.role);
    if let Some(envs) = id.environments {
        entry.environments = envs;
    }
    let subject = policy::Subject {
        role,
        environments: &entry.environments,
        auth: AuthMethod::Sso,
        created_at: now,
        mfa_at: None,
        has_factor: false,
    };
    let facts = policy::RequestFacts {
        env: index,
        method,
        path,
    };
    match policy::decide(&auth.policies(), &facts, Some(&subject), now) {
        policy::Decision::Allow { .. } => SsoStep::Identified(Asserted {
            email: entry.email,
            user: id.user,
            role,
            sso: true,
            mfa_at: None,
            created_at: now,
        }),
        // Path rules, and step-up where the environment asks it of SSO users (the SSO would
        // have to re-authenticate them; the gateway has no factor of theirs to ask for).
        _ => SsoStep::Respond(forbidden(env, headers)),
    }
}
