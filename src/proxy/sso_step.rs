//! Pipeline step 5 for SSO (DESIGN.md "identify"): a request vouched for by a trusted SSO is
//! identified without a gateway session and needs no second factor; policy still applies.
//! Spoofed plain identity headers and failed tokens are audited and the request goes on as
//! anonymous (the headers themselves are stripped before anything goes upstream).

use axum::body::Body;
use http::{HeaderMap, Method, Response};

use super::decision::forbidden;
use super::pipeline::ConnInfo;
use crate::audit::EventKind;
use crate::config::Environment;
use crate::identity::auth::Auth;
use crate::identity::sso::SsoOutcome;
use crate::policy::{self, Role};
use crate::session::token::AuthMethod;

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
