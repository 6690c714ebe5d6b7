//! Policy (DESIGN.md "Policy"): one pure decision per request from the request, the session,
//! the user's roles and environments, the environments' policies, enforcement state and `now`.
//! No I/O: the pipeline gathers facts (the session cookie carries the user's role and
//! environments) and acts on the decision.

pub mod enforcement;
pub mod users;

use std::collections::HashMap;

use http::Method;

use crate::domain::AuthMethod;
use crate::domain::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaMode {
    Off,
    /// Users who have a factor must use it; others are not asked.
    Optional,
    Required,
}

/// A step-up or deny path: exact, or a prefix when it ends in `*`, matched on the canonical
/// path with format suffixes (`/settings/billing.json`) counted as the same path, since
/// covering more is the strict direction here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern(pub crate::canon::Pattern);

impl PathPattern {
    /// `path` is canonical (`canon::canonical`).
    pub fn matches(&self, path: &str) -> bool {
        self.0.matches_with_format(path)
    }
}

/// `[[environments.rules]]`: deny these methods on these paths to these roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub roles: Vec<Role>,
    pub paths: Vec<PathPattern>,
    /// Empty means every method.
    pub methods: Vec<Method>,
}

impl PathRule {
    fn denies(&self, role: Role, method: &Method, path: &str) -> bool {
        self.roles.iter().any(|r| role.is(*r))
            && (self.methods.is_empty() || self.methods.iter().any(|m| method_may_be(method, m)))
            && self.paths.iter().any(|p| p.matches(path))
    }
}

/// Whether a request with `method` may be handled as `rule` by the dashboard: methods compare
/// without regard to case, and a POST may be any method that frameworks let a form or header
/// override it to (`_method=PATCH` in Rails and Laravel, `X-HTTP-Method-Override`).
fn method_may_be(method: &Method, rule: &Method) -> bool {
    method.as_str().eq_ignore_ascii_case(rule.as_str())
        || (method.as_str().eq_ignore_ascii_case("POST")
            && !matches!(*rule, Method::GET | Method::HEAD | Method::OPTIONS))
}

/// The policy part of one environment.
#[derive(Debug, Clone)]
pub struct EnvPolicy {
    pub name: String,
    pub mode: MfaMode,
    /// Roles the mode applies to.
    pub mfa_roles: Vec<Role>,
    pub grace_secs: u64,
    pub sensitive_paths: Vec<PathPattern>,
    pub step_up_secs: u64,
    pub step_up_sso: bool,
    pub rules: Vec<PathRule>,
}

impl EnvPolicy {
    /// Whether a user who has a second factor is asked for it here: wherever MFA is not
    /// off, also for a role the mode does not require (a user who opted in is asked at
    /// every new device, like a required user).
    fn asks_enrolled(&self) -> bool {
        self.mode != MfaMode::Off
    }

    fn mode_for(&self, role: Role) -> MfaMode {
        if self.mfa_roles.iter().any(|r| role.is(*r)) {
            self.mode
        } else {
            MfaMode::Off
        }
    }
}

/// All environments' policies plus when enforcement started in each (from the store).
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    pub environments: Vec<EnvPolicy>,
    /// Environment name → Unix milliseconds `required` took effect.
    pub enforced_since: HashMap<String, u64>,
}

/// Who is asking, from the session.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub role: Role,
    pub environments: &'a [String],
    pub auth: AuthMethod,
    /// When the session began, in Unix milliseconds (enforcement times are kept to the ms).
    pub created_ms: u64,
    /// Last second factor for this session (a trusted device counts with its trust time).
    pub mfa_at: Option<u64>,
    pub has_factor: bool,
}

/// What is asked.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    pub env: usize,
    pub method: &'a Method,
    pub path: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    Enroll,
    Verify,
    StepUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; `grace_until` is set while the session lives on an enforcement grace period.
    Allow {
        grace_until: Option<u64>,
    },
    Challenge(Challenge),
    /// No session: sign in first.
    Login,
    ForceLogout(&'static str),
    Deny(&'static str),
    /// A watched login: the gateway forwards it and judges the dashboard's answer.
    WatchLogin,
    /// A dashboard credential that is not the request's own: refused, never forwarded.
    RefuseCredential(Unbound),
}

/// Whose a refused credential is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unbound {
    /// There is no gateway session to bind it to.
    WithoutSession,
    /// It was not released to this session.
    NotThisSession,
}

/// What a request presents besides what it asks: facts the adapter reads off the request
/// (on the canonical, lenient reading), so that every request is decided here.
#[derive(Debug, Clone)]
pub struct Presented<'a> {
    /// The signed-in session's or the SSO identity's subject.
    pub subject: Option<Subject<'a>>,
    /// Method and canonical path are one of the environment's watched login routes.
    pub login_route: bool,
    /// An `Authorization` header that is not the token released to the request's session.
    pub unbound_bearer: bool,
    /// The login config lets anonymous requests reach this path.
    pub anonymous_allowed: bool,
}

/// Any-environment rule: MFA is required if ANY environment the user belongs to (or is
/// accessing) requires it for the user's role. Returns the requiring environments' indexes.
pub fn requiring_environments(
    policies: &PolicySet,
    subject_envs: &[String],
    accessing: usize,
    role: Role,
) -> Vec<usize> {
    policies
        .environments
        .iter()
        .enumerate()
        .filter(|(i, env)| {
            (*i == accessing || subject_envs.contains(&env.name))
                && env.mode_for(role) == MfaMode::Required
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether a password login by a user with `role` in `environments` needs a second factor now
/// (login interception). `has_factor` matters for `optional` environments.
pub fn login_needs_mfa(
    policies: &PolicySet,
    environments: &[String],
    accessing: usize,
    role: Role,
    has_factor: bool,
) -> bool {
    !requiring_environments(policies, environments, accessing, role).is_empty()
        || (has_factor
            && policies.environments.iter().enumerate().any(|(i, e)| {
                (i == accessing || environments.contains(&e.name)) && e.asks_enrolled()
            }))
}

/// The decision for one request to an environment whose login the gateway watches. An SSO
/// identity is never sent to a login, and never challenged: the SSO would have to
/// re-authenticate its user, the gateway has no factor of theirs to ask for.
pub fn decide_request(
    policies: &PolicySet,
    req: &RequestFacts<'_>,
    p: &Presented<'_>,
    now: u64,
) -> Decision {
    let sso = p
        .subject
        .as_ref()
        .is_some_and(|s| s.auth == AuthMethod::Sso);
    if p.login_route && !sso {
        return Decision::WatchLogin;
    }
    match &p.subject {
        Some(s) => match decide(policies, req, Some(s), now) {
            Decision::Allow { .. } if p.unbound_bearer && !sso => {
                Decision::RefuseCredential(Unbound::NotThisSession)
            }
            allowed @ Decision::Allow { .. } => allowed,
            _ if sso => Decision::Deny("not allowed for an SSO identity"),
            refused => refused,
        },
        None if p.unbound_bearer => Decision::RefuseCredential(Unbound::WithoutSession),
        None if !p.anonymous_allowed => Decision::Login,
        None => Decision::Allow { grace_until: None },
    }
}

/// The decision for one request of a subject (or `Login` without one).
pub fn decide(
    policies: &PolicySet,
    req: &RequestFacts<'_>,
    subject: Option<&Subject<'_>>,
    now: u64,
) -> Decision {
    let Some(s) = subject else {
        return Decision::Login;
    };
    let env = &policies.environments[req.env];
    if env
        .rules
        .iter()
        .any(|r| r.denies(s.role, req.method, req.path))
    {
        return Decision::Deny("path rule");
    }
    let mut grace_until = None;
    if s.auth == AuthMethod::Pwd && s.mfa_at.is_none() {
        let requiring = requiring_environments(policies, s.environments, req.env, s.role);
        if !requiring.is_empty() {
            // Enforcement began at the earliest requiring environment; a session older than
            // that lives on until the end of that environment's grace period.
            let start = requiring
                .iter()
                .map(|i| {
                    let e = &policies.environments[*i];
                    (
                        policies.enforced_since.get(&e.name).copied().unwrap_or(0),
                        e.grace_secs,
                    )
                })
                .min()
                .unwrap_or((0, 0));
            let (since, grace) = start;
            if s.created_ms >= since {
                return Decision::Challenge(if s.has_factor {
                    Challenge::Verify
                } else {
                    Challenge::Enroll
                });
            }
            let ends_ms = since.saturating_add(grace.saturating_mul(1000));
            if now.saturating_mul(1000) >= ends_ms {
                return Decision::ForceLogout("enforcement grace period ended");
            }
            grace_until = Some(ends_ms.div_ceil(1000));
        } else if s.has_factor && env.asks_enrolled() {
            return Decision::Challenge(Challenge::Verify);
        }
    }
    if env.sensitive_paths.iter().any(|p| p.matches(req.path))
        && (s.auth == AuthMethod::Pwd || env.step_up_sso)
    {
        let fresh = s.mfa_at.is_some_and(|t| t + env.step_up_secs > now);
        if !fresh {
            return Decision::Challenge(Challenge::StepUp);
        }
    }
    Decision::Allow { grace_until }
}

#[cfg(test)]
mod decide_tests;
