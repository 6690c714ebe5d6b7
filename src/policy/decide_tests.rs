//! The decision table: one row per situation the policy must get right.

use http::Method;

use super::*;
use crate::session::token::AuthMethod::{Pwd, Sso};

const T_E: u64 = 1_700_000_000; // enforcement of "alpha" began
const DAY: u64 = 86_400;
const GRACE: u64 = 7 * DAY;

fn p(s: &str) -> PathPattern {
    PathPattern(s.to_string())
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
        enforced_since: [("alpha".to_string(), T_E), ("admins".to_string(), 0)]
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

fn row(
    what: &'static str,
    env: usize,
    path: &'static str,
    role: Role,
    envs: &'static [&'static str],
    mfa_at: Option<u64>,
    want: Decision,
) -> Row {
    Row {
        what,
        env,
        method: Method::GET,
        path,
        role,
        envs,
        auth: Pwd,
        created: NOW - 60,
        mfa_at,
        has_factor: mfa_at.is_some(),
        now: NOW,
        want,
    }
}

#[test]
fn decision_table() {
    use Challenge::*;
    use Role::*;
    let fresh = Some(NOW - 60);
    let stale = Some(NOW - 3600);
    let rows = vec![
        // Any-environment rule.
        row(
            "required env, MFA done",
            0,
            "/",
            Agent,
            &["alpha"],
            fresh,
            ALLOW,
        ),
        row(
            "required env, no MFA, no factor",
            0,
            "/",
            Agent,
            &["alpha"],
            None,
            Decision::Challenge(Enroll),
        ),
        row(
            "off env, user only in off env",
            1,
            "/",
            Agent,
            &["beta"],
            None,
            ALLOW,
        ),
        row(
            "off env, user also in required env",
            1,
            "/",
            Agent,
            &["alpha", "beta"],
            None,
            Decision::Challenge(Enroll),
        ),
        row(
            "off env, user in required env only via membership",
            1,
            "/inbox",
            Supervisor,
            &["alpha"],
            None,
            Decision::Challenge(Enroll),
        ),
        row(
            "off env, MFA done",
            1,
            "/",
            Agent,
            &["alpha", "beta"],
            fresh,
            ALLOW,
        ),
        row(
            "accessing required env not in user's list still counts",
            0,
            "/",
            Agent,
            &["beta"],
            None,
            Decision::Challenge(Enroll),
        ),
        // Roles.
        row(
            "admin-only env requires admin",
            3,
            "/",
            Admin,
            &["admins"],
            None,
            Decision::Challenge(Enroll),
        ),
        row(
            "admin-only env skips agent",
            3,
            "/",
            Agent,
            &["admins"],
            None,
            ALLOW,
        ),
        row(
            "owner counts as admin",
            3,
            "/",
            Owner,
            &["admins"],
            None,
            Decision::Challenge(Enroll),
        ),
        row(
            "supervisor in admin-only env",
            3,
            "/",
            Supervisor,
            &["admins"],
            None,
            ALLOW,
        ),
        row(
            "agent in admin-only env but also alpha",
            3,
            "/",
            Agent,
            &["admins", "alpha"],
            None,
            Decision::Challenge(Enroll),
        ),
        // Optional.
        row(
            "optional, no factor",
            2,
            "/",
            Agent,
            &["gamma"],
            None,
            ALLOW,
        ),
        row(
            "optional, MFA done",
            2,
            "/",
            Agent,
            &["gamma"],
            fresh,
            ALLOW,
        ),
        // Path rules, method-aware.
        row(
            "agent GET email settings",
            1,
            "/settings/profile/email",
            Agent,
            &["beta"],
            None,
            ALLOW,
        ),
        row(
            "admin GET email settings",
            1,
            "/settings/profile/email",
            Admin,
            &["beta"],
            None,
            ALLOW,
        ),
        // Step-up.
        row(
            "billing, fresh MFA",
            0,
            "/settings/billing",
            Admin,
            &["alpha"],
            fresh,
            ALLOW,
        ),
        row(
            "billing, stale MFA",
            0,
            "/settings/billing",
            Admin,
            &["alpha"],
            stale,
            Decision::Challenge(StepUp),
        ),
        row(
            "webhooks subpath, stale",
            0,
            "/settings/webhooks/new",
            Admin,
            &["alpha"],
            stale,
            Decision::Challenge(StepUp),
        ),
        row(
            "billing in off env, never MFA'd",
            1,
            "/settings/billing",
            Agent,
            &["beta"],
            None,
            Decision::Challenge(StepUp),
        ),
        row(
            "non-sensitive, stale",
            0,
            "/inbox",
            Agent,
            &["alpha"],
            stale,
            ALLOW,
        ),
        row(
            "prefix without star is exact",
            0,
            "/settings/billingx",
            Agent,
            &["alpha"],
            stale,
            Decision::Challenge(StepUp),
        ),
        row(
            "similar path not sensitive",
            0,
            "/settings/bill",
            Agent,
            &["alpha"],
            stale,
            ALLOW,
        ),
    ];
    let mut rows = rows;
    let special = |what,
                   env,
                   method: Method,
                   path,
                   role,
                   envs: &'static [&'static str],
                   auth,
                   created,
                   mfa_at: Option<u64>,
                   has_factor,
                   now,
                   want| Row {
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
    };
    rows.extend([
        special(
            "optional, has factor, not verified",
            2,
            Method::GET,
            "/",
            Agent,
            &["gamma"][..],
            Pwd,
            NOW - 60,
            None,
            true,
            NOW,
            Decision::Challenge(Verify),
        ),
        special(
            "required, has factor, not verified",
            0,
            Method::GET,
            "/",
            Agent,
            &["alpha"][..],
            Pwd,
            NOW - 60,
            None,
            true,
            NOW,
            Decision::Challenge(Verify),
        ),
        special(
            "agent POST email settings",
            1,
            Method::POST,
            "/settings/profile/email",
            Agent,
            &["beta"][..],
            Pwd,
            NOW - 60,
            None,
            false,
            NOW,
            Decision::Deny("path rule"),
        ),
        special(
            "supervisor PUT email settings",
            0,
            Method::PUT,
            "/settings/profile/email",
            Supervisor,
            &["alpha"][..],
            Pwd,
            NOW - 60,
            Some(NOW - 60),
            true,
            NOW,
            Decision::Deny("path rule"),
        ),
        special(
            "agent PATCH email subpath",
            0,
            Method::PATCH,
            "/settings/profile/email/confirm",
            Agent,
            &["alpha"][..],
            Pwd,
            NOW - 60,
            Some(NOW - 60),
            true,
            NOW,
            Decision::Deny("path rule"),
        ),
        special(
            "admin POST email settings",
            0,
            Method::POST,
            "/settings/profile/email",
            Admin,
            &["alpha"][..],
            Pwd,
            NOW - 60,
            Some(NOW - 60),
            true,
            NOW,
            ALLOW,
        ),
        special(
            "owner POST email settings",
            0,
            Method::POST,
            "/settings/profile/email",
            Owner,
            &["alpha"][..],
            Pwd,
            NOW - 60,
            Some(NOW - 60),
            true,
            NOW,
            ALLOW,
        ),
        special(
            "agent DELETE email settings (not listed)",
            1,
            Method::DELETE,
            "/settings/profile/email",
            Agent,
            &["beta"][..],
            Pwd,
            NOW - 60,
            None,
            false,
            NOW,
            ALLOW,
        ),
        special(
            "path rules apply to SSO too",
            1,
            Method::POST,
            "/settings/profile/email",
            Agent,
            &["beta"][..],
            Sso,
            NOW - 60,
            None,
            false,
            NOW,
            Decision::Deny("path rule"),
        ),
        // Grace.
        special(
            "session before enforcement, in grace",
            0,
            Method::GET,
            "/",
            Agent,
            &["alpha"][..],
            Pwd,
            T_E - 60,
            None,
            false,
            T_E + DAY,
            IN_GRACE,
        ),
        special(
            "session before enforcement, last second of grace",
            0,
            Method::GET,
            "/",
            Agent,
            &["alpha"][..],
            Pwd,
            T_E - 60,
            None,
            false,
            T_E + GRACE - 1,
            IN_GRACE,
        ),
        special(
            "session before enforcement, grace over",
            0,
            Method::GET,
            "/",
            Agent,
            &["alpha"][..],
            Pwd,
            T_E - 60,
            None,
            false,
            T_E + GRACE,
            Decision::ForceLogout("enforcement grace period ended"),
        ),
        special(
            "grace follows the user into an off env",
            1,
            Method::GET,
            "/",
            Agent,
            &["alpha", "beta"][..],
            Pwd,
            T_E - 60,
            None,
            false,
            T_E + GRACE + 5,
            Decision::ForceLogout("enforcement grace period ended"),
        ),
        special(
            "session before enforcement but MFA done",
            0,
            Method::GET,
            "/",
            Agent,
            &["alpha"][..],
            Pwd,
            T_E - 60,
            Some(T_E - 30),
            true,
            T_E + GRACE + 5,
            ALLOW,
        ),
        special(
            "session after enforcement without MFA",
            0,
            Method::GET,
            "/",
            Agent,
            &["alpha"][..],
            Pwd,
            T_E + 10,
            None,
            false,
            T_E + DAY,
            Decision::Challenge(Enroll),
        ),
        special(
            "enforced since the beginning: no grace",
            3,
            Method::GET,
            "/",
            Admin,
            &["admins"][..],
            Pwd,
            5,
            None,
            false,
            NOW,
            Decision::Challenge(Enroll),
        ),
        // SSO.
        special(
            "SSO skips MFA in required env",
            0,
            Method::GET,
            "/",
            Agent,
            &["alpha"][..],
            Sso,
            NOW - 60,
            None,
            false,
            NOW,
            ALLOW,
        ),
        special(
            "SSO skips step-up by default",
            0,
            Method::GET,
            "/settings/billing",
            Admin,
            &["alpha"][..],
            Sso,
            NOW - 60,
            None,
            false,
            NOW,
            ALLOW,
        ),
        special(
            "SSO step-up when the env says so",
            4,
            Method::GET,
            "/settings/billing",
            Admin,
            &["delta"][..],
            Sso,
            NOW - 60,
            None,
            false,
            NOW,
            Decision::Challenge(StepUp),
        ),
        special(
            "SSO not forced out at grace end",
            0,
            Method::GET,
            "/",
            Agent,
            &["alpha"][..],
            Sso,
            T_E - 60,
            None,
            false,
            T_E + GRACE + 5,
            ALLOW,
        ),
    ]);
    assert!(rows.len() >= 40, "{} rows", rows.len());
    let policies = policies();
    for r in &rows {
        let envs: Vec<String> = r.envs.iter().map(|s| s.to_string()).collect();
        let subject = Subject {
            role: r.role,
            environments: &envs,
            auth: r.auth,
            created_at: r.created,
            mfa_at: r.mfa_at,
            has_factor: r.has_factor,
        };
        let req = RequestFacts {
            env: r.env,
            method: &r.method,
            path: r.path,
        };
        assert_eq!(
            decide(&policies, &req, Some(&subject), r.now),
            r.want,
            "{}",
            r.what
        );
    }
    let req = RequestFacts {
        env: 0,
        method: &Method::GET,
        path: "/",
    };
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
