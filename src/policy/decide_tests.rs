//! The decision table: one row per situation the policy must get right.

use http::Method;

use super::*;
use crate::domain::AuthMethod::{Pwd, Sso};

const T_E: u64 = 1_700_000_000; // enforcement of "alpha" began
const DAY: u64 = 86_400;
const GRACE: u64 = 7 * DAY;

fn p(s: &str) -> PathPattern {
    PathPattern(crate::canon::Pattern::new(s, false).unwrap())
}

fn policies() -> PolicySet {
    let all = vec![Role::Agent, Role::Supervisor, Role::Admin];
    let env = |name: &str, mode, roles: Vec<Role>| EnvPolicy {
        name: name.into(),
        mode,
        mfa_roles: roles,
        grace_secs: GRACE,
        sensitive_paths: vec![p("/settings/webhooks*"), p("/settings/billing*")],
        step_up_secs: 600,
        step_up_sso: false,
        rules: vec![PathRule {
            roles: vec![Role::Agent, Role::Supervisor],
            paths: vec![p("/settings/profile/email*")],
            methods: vec![Method::POST, Method::PUT, Method::PATCH],
        }],
    };
    let mut sso_step_up = env("delta", MfaMode::Off, all.clone());
    sso_step_up.step_up_sso = true;
    PolicySet {
        environments: vec![
            env("alpha", MfaMode::Required, all.clone()),
            env("beta", MfaMode::Off, all.clone()),
            env("gamma", MfaMode::Optional, all.clone()),
            env("admins", MfaMode::Required, vec![Role::Admin]),
            sso_step_up,
        ],
        enforced_since: [("alpha".to_string(), T_E * 1000), ("admins".to_string(), 0)]
            .into_iter()
            .collect(),
    }
}

struct Row {
    what: &'static str,
    env: usize,
    method: Method,
    path: &'static str,
    role: Role,
    envs: &'static [&'static str],
    auth: AuthMethod,
    created: u64,
    mfa_at: Option<u64>,
    has_factor: bool,
    now: u64,
    want: Decision,
}

const NOW: u64 = T_E + DAY;
const ALLOW: Decision = Decision::Allow { grace_until: None };
const IN_GRACE: Decision = Decision::Allow {
    grace_until: Some(T_E + GRACE),
};

/// One row: what, env, method, path, role, user's envs, auth, created, mfa_at, has_factor, now, want.
#[allow(clippy::too_many_arguments)]
fn r(
    what: &'static str,
    env: usize,
    method: Method,
    path: &'static str,
    role: Role,
    envs: &'static [&'static str],
    auth: AuthMethod,
    created: u64,
    mfa_at: Option<u64>,
    has_factor: bool,
    now: u64,
    want: Decision,
) -> Row {
    Row {
        what,
        env,
        method,
        path,
        role,
        envs,
        auth,
        created,
        mfa_at,
        has_factor,
        now,
        want,
    }
}

#[test]
#[rustfmt::skip]
fn decision_table() {
    use Challenge::*;
    use Role::*;
    use Method as M;
    let (fresh, stale, before) = (Some(NOW - 60), Some(NOW - 3600), T_E - 60);
    let rows = vec![
        // Any-environment rule.
        r("required env, MFA done", 0, M::GET, "/", Agent, &["alpha"], Pwd, NOW - 60, fresh, true, NOW, ALLOW),
        r("required env, no MFA, no factor", 0, M::GET, "/", Agent, &["alpha"], Pwd, NOW - 60, None, false, NOW, Decision::Challenge(Enroll)),
        r("required env, has factor, not verified", 0, M::GET, "/", Agent, &["alpha"], Pwd, NOW - 60, None, true, NOW, Decision::Challenge(Verify)),
        r("off env, user only in off env", 1, M::GET, "/", Agent, &["beta"], Pwd, NOW - 60, None, false, NOW, ALLOW),
        r("off env, user also in required env", 1, M::GET, "/", Agent, &["alpha", "beta"], Pwd, NOW - 60, None, false, NOW, Decision::Challenge(Enroll)),
        r("off env, required env only via membership", 1, M::GET, "/inbox", Supervisor, &["alpha"], Pwd, NOW - 60, None, false, NOW, Decision::Challenge(Enroll)),
        r("off env, MFA done", 1, M::GET, "/", Agent, &["alpha", "beta"], Pwd, NOW - 60, fresh, true, NOW, ALLOW),
        r("accessing a required env not in the user's list counts", 0, M::GET, "/", Agent, &["beta"], Pwd, NOW - 60, None, false, NOW, Decision::Challenge(Enroll)),
        // Roles.
        r("admin-only env requires admin", 3, M::GET, "/", Admin, &["admins"], Pwd, NOW - 60, None, false, NOW, Decision::Challenge(Enroll)),
        r("admin-only env skips agent", 3, M::GET, "/", Agent, &["admins"], Pwd, NOW - 60, None, false, NOW, ALLOW),
        r("owner counts as admin", 3, M::GET, "/", Owner, &["admins"], Pwd, NOW - 60, None, false, NOW, Decision::Challenge(Enroll)),
        r("supervisor in admin-only env", 3, M::GET, "/", Supervisor, &["admins"], Pwd, NOW - 60, None, false, NOW, ALLOW),
        r("agent in admin-only env but also alpha", 3, M::GET, "/", Agent, &["admins", "alpha"], Pwd, NOW - 60, None, false, NOW, Decision::Challenge(Enroll)),
        // Optional.
        r("optional, no factor", 2, M::GET, "/", Agent, &["gamma"], Pwd, NOW - 60, None, false, NOW, ALLOW),
        r("optional, MFA done", 2, M::GET, "/", Agent, &["gamma"], Pwd, NOW - 60, fresh, true, NOW, ALLOW),
        r("optional, has factor, not verified", 2, M::GET, "/", Agent, &["gamma"], Pwd, NOW - 60, None, true, NOW, Decision::Challenge(Verify)),
        // Path rules, method-aware.
        r("agent GET email settings", 1, M::GET, "/settings/profile/email", Agent, &["beta"], Pwd, NOW - 60, None, false, NOW, ALLOW),
        r("admin GET email settings", 1, M::GET, "/settings/profile/email", Admin, &["beta"], Pwd, NOW - 60, None, false, NOW, ALLOW),
        r("agent POST email settings", 1, M::POST, "/settings/profile/email", Agent, &["beta"], Pwd, NOW - 60, None, false, NOW, Decision::Deny("path rule")),
        r("supervisor PUT email settings", 0, M::PUT, "/settings/profile/email", Supervisor, &["alpha"], Pwd, NOW - 60, fresh, true, NOW, Decision::Deny("path rule")),
        r("agent PATCH email subpath", 0, M::PATCH, "/settings/profile/email/confirm", Agent, &["alpha"], Pwd, NOW - 60, fresh, true, NOW, Decision::Deny("path rule")),
        r("admin POST email settings", 0, M::POST, "/settings/profile/email", Admin, &["alpha"], Pwd, NOW - 60, fresh, true, NOW, ALLOW),
        r("owner POST email settings", 0, M::POST, "/settings/profile/email", Owner, &["alpha"], Pwd, NOW - 60, fresh, true, NOW, ALLOW),
        r("agent DELETE email settings (not listed)", 1, M::DELETE, "/settings/profile/email", Agent, &["beta"], Pwd, NOW - 60, None, false, NOW, ALLOW),
        r("path rules apply to SSO too", 1, M::POST, "/settings/profile/email", Agent, &["beta"], Sso, NOW - 60, None, false, NOW, Decision::Deny("path rule")),
        // Step-up.
        r("billing, fresh MFA", 0, M::GET, "/settings/billing", Admin, &["alpha"], Pwd, NOW - 60, fresh, true, NOW, ALLOW),
        r("billing, stale MFA", 0, M::GET, "/settings/billing", Admin, &["alpha"], Pwd, NOW - 60, stale, true, NOW, Decision::Challenge(StepUp)),
        r("webhooks subpath, stale", 0, M::GET, "/settings/webhooks/new", Admin, &["alpha"], Pwd, NOW - 60, stale, true, NOW, Decision::Challenge(StepUp)),
        r("billing in off env, never MFA'd", 1, M::GET, "/settings/billing", Agent, &["beta"], Pwd, NOW - 60, None, false, NOW, Decision::Challenge(StepUp)),
        r("non-sensitive, stale", 0, M::GET, "/inbox", Agent, &["alpha"], Pwd, NOW - 60, stale, true, NOW, ALLOW),
        r("star matches any suffix", 0, M::GET, "/settings/billingx", Agent, &["alpha"], Pwd, NOW - 60, stale, true, NOW, Decision::Challenge(StepUp)),
        r("shorter path is not sensitive", 0, M::GET, "/settings/bill", Agent, &["alpha"], Pwd, NOW - 60, stale, true, NOW, ALLOW),
        // Grace.
        r("session before enforcement, in grace", 0, M::GET, "/", Agent, &["alpha"], Pwd, before, None, false, T_E + DAY, IN_GRACE),
        r("session before enforcement, last second of grace", 0, M::GET, "/", Agent, &["alpha"], Pwd, before, None, false, T_E + GRACE - 1, IN_GRACE),
        r("session before enforcement, grace over", 0, M::GET, "/", Agent, &["alpha"], Pwd, before, None, false, T_E + GRACE, Decision::ForceLogout("enforcement grace period ended")),
        r("grace follows the user into an off env", 1, M::GET, "/", Agent, &["alpha", "beta"], Pwd, before, None, false, T_E + GRACE + 5, Decision::ForceLogout("enforcement grace period ended")),
        r("session before enforcement but MFA done", 0, M::GET, "/", Agent, &["alpha"], Pwd, before, Some(T_E - 30), true, T_E + GRACE + 5, ALLOW),
        r("session after enforcement without MFA", 0, M::GET, "/", Agent, &["alpha"], Pwd, T_E + 10, None, false, T_E + DAY, Decision::Challenge(Enroll)),
        r("enforced since the beginning: no grace", 3, M::GET, "/", Admin, &["admins"], Pwd, 5, None, false, NOW, Decision::Challenge(Enroll)),
        // SSO.
        r("SSO skips MFA in required env", 0, M::GET, "/", Agent, &["alpha"], Sso, NOW - 60, None, false, NOW, ALLOW),
        r("SSO skips step-up by default", 0, M::GET, "/settings/billing", Admin, &["alpha"], Sso, NOW - 60, None, false, NOW, ALLOW),
        r("SSO step-up when the env says so", 4, M::GET, "/settings/billing", Admin, &["delta"], Sso, NOW - 60, None, false, NOW, Decision::Challenge(StepUp)),
        r("SSO not forced out at grace end", 0, M::GET, "/", Agent, &["alpha"], Sso, before, None, false, T_E + GRACE + 5, ALLOW),
    ];
    assert!(rows.len() >= 40, "{} rows", rows.len());
    let policies = policies();
    for row in &rows {
        let envs: Vec<String> = row.envs.iter().map(|s| s.to_string()).collect();
        let subject = Subject { role: row.role, environments: &envs, auth: row.auth, created_ms: row.created * 1000, mfa_at: row.mfa_at, has_factor: row.has_factor };
        let req = RequestFacts { env: row.env, method: &row.method, path: row.path };
        assert_eq!(decide(&policies, &req, Some(&subject), row.now), row.want, "{}", row.what);
    }
    let req = RequestFacts { env: 0, method: &Method::GET, path: "/" };
    assert_eq!(decide(&policies, &req, None, NOW), Decision::Login);
}

#[test]
fn login_needs_mfa_follows_the_any_environment_rule() {
    let p = policies();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(login_needs_mfa(
        &p,
        &names(&["alpha", "beta"]),
        1,
        Role::Agent,
        false
    ));
    assert!(!login_needs_mfa(
        &p,
        &names(&["beta"]),
        1,
        Role::Agent,
        false
    ));
    assert!(!login_needs_mfa(
        &p,
        &names(&["gamma"]),
        2,
        Role::Agent,
        false
    ));
    assert!(login_needs_mfa(
        &p,
        &names(&["gamma"]),
        2,
        Role::Agent,
        true
    ));
    assert!(login_needs_mfa(
        &p,
        &names(&["admins"]),
        3,
        Role::Owner,
        false
    ));
    assert!(!login_needs_mfa(
        &p,
        &names(&["admins"]),
        3,
        Role::Supervisor,
        false
    ));
}

/// The request-level cases are the policy's too: watched logins, credentials that are not
/// the request's own, anonymous access, and SSO identities that cannot be challenged.
#[test]
fn decide_request_covers_logins_credentials_anonymous_and_sso() {
    let p = policies();
    let envs = vec!["alpha".to_string()];
    let subject = |auth, mfa_at| Subject {
        role: Role::Agent,
        environments: &envs,
        auth,
        created_ms: (NOW - 10) * 1000,
        mfa_at,
        has_factor: true,
    };
    let presented = |subject, login_route, unbound_bearer, anonymous_allowed| Presented {
        subject,
        login_route,
        unbound_bearer,
        anonymous_allowed,
    };
    let get = RequestFacts {
        env: 0,
        method: &Method::GET,
        path: "/inbox",
    };
    let allow = Decision::Allow { grace_until: None };
    let rows: Vec<(&str, Presented<'_>, Decision)> = vec![
        (
            "a login route is watched",
            presented(None, true, false, false),
            Decision::WatchLogin,
        ),
        (
            "even for a session",
            presented(Some(subject(Pwd, Some(NOW))), true, false, false),
            Decision::WatchLogin,
        ),
        (
            "but never for SSO",
            presented(Some(subject(Sso, None)), true, false, false),
            allow,
        ),
        (
            "anonymous, closed path",
            presented(None, false, false, false),
            Decision::Login,
        ),
        (
            "anonymous, open path",
            presented(None, false, false, true),
            allow,
        ),
        (
            "a bearer without session",
            presented(None, false, true, true),
            Decision::RefuseCredential(Unbound::WithoutSession),
        ),
        (
            "a bearer of another session",
            presented(Some(subject(Pwd, Some(NOW))), false, true, false),
            Decision::RefuseCredential(Unbound::NotThisSession),
        ),
        (
            "SSO brings its own bearer",
            presented(Some(subject(Sso, None)), false, true, false),
            allow,
        ),
        (
            "a session that passed MFA",
            presented(Some(subject(Pwd, Some(NOW))), false, false, false),
            allow,
        ),
        (
            "a session that must verify",
            presented(Some(subject(Pwd, None)), false, false, false),
            Decision::Challenge(Challenge::Verify),
        ),
    ];
    for (what, p_, want) in &rows {
        assert_eq!(decide_request(&p, &get, p_, NOW), *want, "{what}");
    }
    // A challenge an SSO identity cannot answer becomes a refusal.
    let req = RequestFacts {
        env: 0,
        method: &Method::GET,
        path: "/settings/billing",
    };
    let sso = presented(Some(subject(Sso, None)), false, false, false);
    let mut strict = p.clone();
    strict.environments[0].step_up_sso = true;
    assert!(matches!(
        decide_request(&strict, &req, &sso, NOW),
        Decision::Deny(_)
    ));
    assert!(matches!(
        decide_request(&p, &req, &sso, NOW),
        Decision::Allow { .. }
    ));
}

/// Enforcement times are kept to the millisecond: a session created in the same second as
/// the switch, but before it, gets the grace period; one created just after is challenged.
#[test]
fn the_same_second_as_the_switch_is_ordered_by_milliseconds() {
    let mut p = policies();
    let switch_ms = T_E * 1000 + 500;
    p.enforced_since.insert("alpha".into(), switch_ms);
    let envs = vec!["alpha".to_string()];
    let at = |created_ms| Subject {
        role: Role::Agent,
        environments: &envs,
        auth: Pwd,
        created_ms,
        mfa_at: None,
        has_factor: true,
    };
    let get = RequestFacts {
        env: 0,
        method: &Method::GET,
        path: "/inbox",
    };
    let grace = Decision::Allow {
        grace_until: Some(T_E + 1 + GRACE),
    };
    assert_eq!(decide(&p, &get, Some(&at(switch_ms - 1)), T_E), grace);
    assert_eq!(
        decide(&p, &get, Some(&at(switch_ms)), T_E),
        Decision::Challenge(Challenge::Verify)
    );
    let end = T_E + GRACE + 1;
    assert_eq!(
        decide(&p, &get, Some(&at(switch_ms - 1)), end),
        Decision::ForceLogout("enforcement grace period ended")
    );
}
