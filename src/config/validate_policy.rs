//! Validation of policy settings: users and domain rules, roles the MFA mode applies to, grace,
//! step-up, per-role path rules and per-role methods.

use std::collections::HashMap;

use super::defaults;
use super::file::{FileConfig, FileEnvironment, FilePathRule};
use super::model::{AdminToken, Methods};
use super::validate::{period, Errors};
use crate::domain::Role;
use crate::policy::users::{Directory, DomainRule, UserEntry};
use crate::policy::{EnvPolicy, MfaMode, PathPattern, PathRule};

pub(super) fn role(errs: &mut Errors, key: String, name: &str) -> Role {
    Role::parse(name).unwrap_or_else(|| {
        errs.push(
            key,
            format!("{name:?} is not one of \"owner\", \"admin\", \"supervisor\", \"agent\""),
        );
        Role::Agent
    })
}

fn pattern(errs: &mut Errors, key: String, p: &str, cs: bool) -> PathPattern {
    super::validate_auth::path_pattern(errs, key, p, cs)
        .map(PathPattern)
        .unwrap_or_else(|| PathPattern(crate::canon::Pattern::new("/", cs).expect("root")))
}

fn known_envs(errs: &mut Errors, key: &str, envs: &[String], names: &[&str]) {
    for (i, e) in envs.iter().enumerate() {
        if !names.contains(&e.as_str()) {
            errs.push(
                format!("{key}.environments[{i}]"),
                format!("{e:?} is not an environment name"),
            );
        }
    }
}

pub(super) fn directory(errs: &mut Errors, file: &FileConfig) -> Directory {
    let names: Vec<&str> = file.environments.iter().map(|e| e.name.as_str()).collect();
    let mut users = HashMap::new();
    for (i, u) in file.users.iter().enumerate() {
        let key = format!("users[{i}]");
        let identity = crate::domain::normalize_user(&u.identity);
        if identity.is_empty() {
            errs.push(format!("{key}.identity"), "must not be empty");
        }
        known_envs(errs, &key, &u.environments, &names);
        let entry = UserEntry {
            role: role(errs, format!("{key}.role"), &u.role),
            environments: u.environments.clone(),
            email: u.email.clone(),
        };
        if users.insert(identity.clone(), entry).is_some() {
            errs.push(
                format!("{key}.identity"),
                format!("{identity:?} is listed twice"),
            );
        }
    }
    let rules = file
        .user_rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let key = format!("user_rules[{i}]");
            known_envs(errs, &key, &r.environments, &names);
            if r.email_domain.is_empty() || r.email_domain.contains('@') {
                errs.push(
                    format!("{key}.email_domain"),
                    "must be a domain like \"example.com\"",
                );
            }
            DomainRule {
                domain: r.email_domain.to_lowercase(),
                role: role(errs, format!("{key}.role"), &r.role),
                environments: r.environments.clone(),
            }
        })
        .collect();
    Directory { users, rules }
}

fn path_rule(errs: &mut Errors, key: &str, r: &FilePathRule, cs: bool) -> PathRule {
    if r.action != "deny" {
        errs.push(
            format!("{key}.action"),
            format!("{:?} is not supported; only \"deny\"", r.action),
        );
    }
    if r.roles.is_empty() || r.paths.is_empty() {
        errs.push(key.to_string(), "needs roles and paths");
    }
    PathRule {
        roles: r
            .roles
            .iter()
            .enumerate()
            .map(|(j, n)| role(errs, format!("{key}.roles[{j}]"), n))
            .collect(),
        paths: r
            .paths
            .iter()
            .enumerate()
            .map(|(j, p)| pattern(errs, format!("{key}.paths[{j}]"), p, cs))
            .collect(),
        methods: r
            .methods
            .iter()
            .enumerate()
            .filter_map(
                |(j, m)| match m.to_ascii_uppercase().parse::<http::Method>() {
                    Ok(m) => Some(m),
                    Err(_) => {
                        errs.push(
                            format!("{key}.methods[{j}]"),
                            format!("{m:?} is not an HTTP method"),
                        );
                        None
                    }
                },
            )
            .collect(),
    }
}

pub(super) fn env_policy(
    errs: &mut Errors,
    key: &str,
    env: &FileEnvironment,
    mode: MfaMode,
) -> EnvPolicy {
    let (grace_secs, grace_key) = period(
        errs,
        key,
        ("grace_period", env.grace_period.as_ref()),
        ("grace_period_days", env.grace_period_days, 86_400),
        defaults::grace_period_days() * 86_400,
    );
    if grace_secs > 365 * 86_400 {
        errs.push(grace_key, "must be at most 365 days");
    }
    let (step_up_secs, step_up_key) = period(
        errs,
        key,
        ("step_up", env.step_up.as_ref()),
        ("step_up_minutes", env.step_up_minutes, 60),
        defaults::step_up_minutes() * 60,
    );
    if step_up_secs == 0 {
        errs.push(step_up_key, "must be at least 1 second");
    }
    EnvPolicy {
        name: env.name.clone(),
        mode,
        mfa_roles: env
            .mfa_roles
            .iter()
            .enumerate()
            .map(|(i, r)| role(errs, format!("{key}.mfa_roles[{i}]"), r))
            .collect(),
        grace_secs,
        sensitive_paths: env
            .sensitive_paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                pattern(
                    errs,
                    format!("{key}.sensitive_paths[{i}]"),
                    p,
                    env.case_sensitive_paths,
                )
            })
            .collect(),
        step_up_secs,
        step_up_sso: env.step_up_sso,
        rules: env
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                path_rule(
                    errs,
                    &format!("{key}.rules[{i}]"),
                    r,
                    env.case_sensitive_paths,
                )
            })
            .collect(),
    }
}

/// Per-role restrictions of the environment's methods.
pub(super) fn role_methods(
    errs: &mut Errors,
    key: &str,
    env: &FileEnvironment,
    all: Methods,
) -> HashMap<Role, Methods> {
    let mut out = HashMap::new();
    for (name, list) in &env.role_methods {
        let k = format!("{key}.role_methods.{name}");
        let r = role(errs, k.clone(), name);
        let mut m = Methods::NONE;
        for method in list {
            match method.as_str() {
                "totp" if all.totp => m.totp = true,
                "email" if all.email => m.email = true,
                "backup" if all.backup => m.backup = true,
                "passkey" if all.passkey => m.passkey = true,
                other => errs.push(
                    k.clone(),
                    format!("{other:?} is not among the environment's methods"),
                ),
            }
        }
        if !(m.totp || m.email || m.passkey) {
            errs.push(k.clone(), "needs \"totp\", \"email\" or \"passkey\"");
        }
        out.insert(r, m);
    }
    out
}

pub(super) fn admin_tokens(errs: &mut Errors, file: &FileConfig) -> Vec<AdminToken> {
    let names: Vec<&str> = file.environments.iter().map(|e| e.name.as_str()).collect();
    let mut out: Vec<AdminToken> = Vec::new();
    for (i, t) in file.admin_tokens.iter().enumerate() {
        let key = format!("admin_tokens[{i}]");
        if t.name.is_empty() || out.iter().any(|o| o.name == t.name) {
            errs.push(format!("{key}.name"), "must be a unique, non-empty name");
        }
        let mut sha256 = [0u8; 32];
        let hex = t.sha256.trim().to_ascii_lowercase();
        let decoded = hex.len() == 64
            && hex.is_ascii()
            && (0..32).all(|b| match u8::from_str_radix(&hex[2 * b..2 * b + 2], 16) {
                Ok(v) => {
                    sha256[b] = v;
                    true
                }
                Err(_) => false,
            });
        if !decoded {
            errs.push(
                format!("{key}.sha256"),
                "must be 64 hex digits (SHA-256 of the token)",
            );
        }
        let (write, owner) = match t.scope.as_str() {
            "read" => (false, false),
            "write" => (true, false),
            "owner" => (true, true),
            other => {
                errs.push(
                    format!("{key}.scope"),
                    format!("{other:?} is not \"read\", \"write\" or \"owner\""),
                );
                (false, false)
            }
        };
        if t.environments.is_empty() {
            errs.push(
                format!("{key}.environments"),
                "name at least one environment",
            );
        }
        known_envs(errs, &key, &t.environments, &names);
        out.push(AdminToken {
            name: t.name.clone(),
            sha256,
            write,
            owner,
            environments: t.environments.clone(),
        });
    }
    out
}
