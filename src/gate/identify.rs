//! Who a request is (pipeline phase "identify", DESIGN.md "Request pipeline"): a trusted SSO's
//! identity first, else a fully signed-in gateway session, else nobody. Verified in memory
//! (signatures, time limits, the revocation view); the only I/O is an SSO key set fetch the
//! SSO itself may need. What the request may do is the policy's to say, not this module's.

use std::net::IpAddr;

use http::HeaderMap;

use super::auth::Auth;
use crate::audit::EventKind;
use crate::config::Environment;
use crate::domain::{AuthMethod, Role};
use crate::federation::sso::{Sso, SsoOutcome};
use crate::policy::Subject;
use crate::session::token::SessionClaims;

/// Who a request is.
#[derive(Debug, Clone)]
pub enum Identity {
    /// Neither a session nor an SSO identity.
    Anonymous,
    /// A trusted SSO vouched for the request: no gateway session, no second factor.
    Sso(Asserted),
    /// A fully signed-in gateway session (second factor passed or not required).
    Session(SessionClaims),
}

impl Identity {
    /// The policy's subject; `now` stands in for an SSO identity's creation time.
    pub fn subject(&self) -> Option<Subject<'_>> {
        match self {
            Self::Anonymous => None,
            Self::Session(claims) => Some(claims.subject()),
            Self::Sso(a) => Some(Subject {
                role: a.role,
                environments: &a.environments,
                auth: AuthMethod::Sso,
                created_ms: a.created_at.saturating_mul(1000),
                mfa_at: None,
                has_factor: false,
            }),
        }
    }

    /// The user, for the access log.
    pub fn user(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::Sso(a) => Some(&a.user),
            Self::Session(c) => Some(&c.user),
        }
    }

    pub fn session(&self) -> Option<&SessionClaims> {
        match self {
            Self::Session(claims) => Some(claims),
            _ => None,
        }
    }

    /// Who the dashboard is told the request is, if anyone.
    pub fn asserted(&self) -> Option<Asserted> {
        match self {
            Self::Anonymous => None,
            Self::Sso(a) => Some(a.clone()),
            Self::Session(c) => Some(Asserted::from_session(c)),
        }
    }
}

/// Who a forwarded request is, for the identity headers and the signed assertion.
#[derive(Debug, Clone)]
pub struct Asserted {
    pub user: String,
    pub email: Option<String>,
    pub role: Role,
    /// An SSO identity's environments (the any-environment rule). Empty for a session, whose
    /// policy subject comes from its claims: not copied on every request.
    pub environments: Vec<String>,
    pub sso: bool,
    pub mfa_at: Option<u64>,
    pub created_at: u64,
}

impl Asserted {
    /// The identity of a signed-in gateway session.
    pub fn from_session(c: &SessionClaims) -> Self {
        Self {
            user: c.user.clone(),
            email: None,
            role: c.who.role,
            environments: Vec::new(),
            sso: false,
            mfa_at: c.mfa_at,
            created_at: c.created_at,
        }
    }

    /// The authentication methods, as an assertion's `amr` claim names them.
    pub fn amr(&self) -> &'static [&'static str] {
        match (self.sso, self.mfa_at) {
            (true, _) => &["sso"],
            (false, Some(_)) => &["pwd", "otp"],
            (false, None) => &["pwd"],
        }
    }
}

/// An SSO identity comes with every request; its sign-in is audited once per this window per
/// user, environment and instance.
const SSO_AUDIT_WINDOW_SECS: u64 = 3600;
/// Users remembered for that; past this the memory starts over (a few extra events).
const SSO_SEEN_MAX: usize = 100_000;

impl Auth {
    /// Whether `user`'s SSO identity in `env` was not seen in the current window (and notes it).
    fn first_sso_in_window(&self, env: &Environment, user: &str, now: u64) -> bool {
        use std::hash::BuildHasher;
        let key = self.sso_seen.0.hash_one((env.name.as_str(), user));
        let mut seen = self.sso_seen.1.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= SSO_SEEN_MAX {
            seen.clear();
        }
        let last = seen.insert(key, now);
        last.is_none_or(|t| now.saturating_sub(t) >= SSO_AUDIT_WINDOW_SECS)
    }

    /// Who the request is in `env` (see the module doc). Spoofed identity headers and failed
    /// SSO tokens are audited, and the request goes on as if they were not there.
    pub async fn identify(
        &self,
        index: usize,
        headers: &HeaderMap,
        (peer, request_id): (IpAddr, u64),
        now: u64,
    ) -> Identity {
        let env = &self.config.environments[index];
        let sso = self.sso.get(index).and_then(Option::as_ref);
        let from = (peer, request_id);
        if let Some(asserted) = self.sso_identity(env, sso, headers, from, now).await {
            return Identity::Sso(asserted);
        }
        match self.full_session(env, headers, now) {
            Some(claims) => Identity::Session(claims),
            None => Identity::Anonymous,
        }
    }

    async fn sso_identity(
        &self,
        env: &Environment,
        sso: Option<&Sso>,
        headers: &HeaderMap,
        (peer, request_id): (IpAddr, u64),
        now: u64,
    ) -> Option<Asserted> {
        let outcome = sso?.identify(headers, peer).await;
        let kind = match outcome {
            SsoOutcome::Absent => return None,
            SsoOutcome::Spoofed => EventKind::SpoofedIdentityHeader,
            SsoOutcome::Rejected(reason) => EventKind::SsoRejected { reason },
            SsoOutcome::Verified(id) => {
                if self.first_sso_in_window(env, &id.user, now) {
                    // Written in the background: an SSO request never waits on the store.
                    let ctx = self
                        .audit_context(env, peer, request_id)
                        .with_user(&id.user);
                    let (audit, event) = (self.audit.clone(), ctx.event(EventKind::SsoSignIn));
                    tokio::spawn(async move { audit.record(event).await });
                }
                let mut entry = self.config.directory.lookup(&id.user, &env.name);
                if let Some(envs) = id.environments {
                    entry.environments = envs;
                }
                return Some(Asserted {
                    role: id.role.unwrap_or(entry.role),
                    email: entry.email,
                    environments: entry.environments,
                    user: id.user,
                    sso: true,
                    mfa_at: None,
                    created_at: now,
                });
            }
        };
        let ctx = self.audit_context(env, peer, request_id);
        self.audit.record(ctx.event(kind)).await;
        None
    }
}
