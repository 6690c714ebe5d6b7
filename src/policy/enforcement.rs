//! Enforcement with grace, as pure rules: when an environment switches to `required`, sessions
//! that existed before keep working for the grace period; then every such session of a user the
//! rule applies to that never passed a second factor is ended, on every device.

use super::{requiring_environments, PolicySet};
use crate::domain::AuthMethod;
use crate::domain::Role;

/// Whether the grace period that began at `since_ms` is over at `now_ms` (Unix ms).
pub fn grace_over(since_ms: u64, grace_secs: u64, now_ms: u64) -> bool {
    now_ms >= since_ms.saturating_add(grace_secs.saturating_mul(1000))
}

/// Whether environment `env` requires MFA of a user with `role` in `envs` (any-environment
/// rule included: the user is in scope of `env`'s enforcement when `env` is among the
/// environments that require MFA of them).
pub fn in_scope(policies: &PolicySet, env: usize, role: Role, envs: &[String]) -> bool {
    let name = &policies.environments[env].name;
    envs.contains(name) && requiring_environments(policies, envs, env, role).contains(&env)
}

/// Whether a session must end when the grace period of an enforcement that began at
/// `since_ms` is over: a password session from before it (both in Unix milliseconds, so a
/// session of the same second is ordered rightly) that never passed a second factor.
pub fn must_end(auth: AuthMethod, created_ms: u64, mfa_at: Option<u64>, since_ms: u64) -> bool {
    auth == AuthMethod::Pwd && created_ms < since_ms && mfa_at.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{EnvPolicy, MfaMode};

    #[test]
    fn grace_scope_and_which_sessions_end() {
        assert!(!grace_over(100_000, 50, 149_999));
        assert!(grace_over(100_000, 50, 150_000));
        let env = |name: &str, mode| EnvPolicy {
            name: name.into(),
            mode,
            mfa_roles: vec![Role::Agent, Role::Admin],
            grace_secs: 50,
            sensitive_paths: vec![],
            step_up_secs: 600,
            step_up_sso: false,
            rules: vec![],
        };
        let p = PolicySet {
            environments: vec![env("a", MfaMode::Required), env("b", MfaMode::Off)],
            enforced_since: Default::default(),
        };
        let envs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(in_scope(&p, 0, Role::Agent, &envs(&["a", "b"])));
        assert!(!in_scope(&p, 0, Role::Agent, &envs(&["b"])));
        assert!(!in_scope(&p, 0, Role::Supervisor, &envs(&["a"])));
        assert!(
            !in_scope(&p, 1, Role::Agent, &envs(&["a", "b"])),
            "b itself enforces nothing"
        );
        assert!(must_end(AuthMethod::Pwd, 99, None, 100));
        assert!(
            must_end(AuthMethod::Pwd, 100_499, None, 100_500),
            "same second, before the switch"
        );
        assert!(
            !must_end(AuthMethod::Pwd, 100, None, 100),
            "created after enforcement"
        );
        assert!(!must_end(AuthMethod::Pwd, 99, Some(99), 100), "passed MFA");
        assert!(
            !must_end(AuthMethod::Sso, 99, None, 100),
            "SSO sessions are trusted"
        );
    }
}
