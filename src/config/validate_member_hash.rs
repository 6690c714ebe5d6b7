//! Validation of `[environments.member_hash]`: the locations of the member id and its hash,
//! the routes checked, the secret (from a file or an env var only, long enough), what a
//! failure does and the header the dashboard is told in.

use std::path::Path;

use http::HeaderName;

use super::file::{FileLocations, FileMemberHash, SecretSource};
use super::validate::{read_secret, Errors};
use super::validate_auth::{path_pattern, pointer};
use super::validate_logout::kind_and_name;
use crate::canon::json::pointer_tokens;
use crate::federation::member_hash::{
    Location, MemberHashSettings, MemberSecret, OnFailure, MIN_SECRET_BYTES,
};

pub(super) fn member_hash(
    errs: &mut Errors,
    key: &str,
    m: &FileMemberHash,
    base: &Path,
    cs: bool,
) -> Option<MemberHashSettings> {
    let before = errs.0.len();
    let key = format!("{key}.member_hash");
    let ids = locations(errs, &format!("{key}.id"), &m.id);
    let hashes = locations(errs, &format!("{key}.hash"), &m.hash);
    if m.paths.is_empty() {
        errs.push(
            format!("{key}.paths"),
            "name at least one route the widget sends the member id to (e.g. \"/api/widget/boot\")",
        );
    }
    let paths: Vec<_> = m
        .paths
        .iter()
        .enumerate()
        .filter_map(|(i, p)| path_pattern(errs, format!("{key}.paths[{i}]"), p, cs))
        .collect();
    let secret = secret(errs, &key, m, base);
    let on_failure = match m.on_failure.as_str() {
        "refuse" => Some(OnFailure::Refuse),
        "strip" => Some(OnFailure::Strip),
        other => {
            errs.push(
                format!("{key}.on_failure"),
                format!("{other:?} is not \"refuse\" or \"strip\""),
            );
            None
        }
    };
    let verified_header = verified_header(errs, &key, &m.verified_header, &ids, &hashes);
    if !(1024..=1024 * 1024).contains(&m.max_body_bytes) {
        errs.push(
            format!("{key}.max_body_bytes"),
            "must be between 1024 and 1048576",
        );
    }
    if errs.0.len() != before {
        return None;
    }
    Some(MemberHashSettings {
        ids,
        hashes,
        paths,
        secret: secret?,
        on_failure: on_failure?,
        verified_header: verified_header?,
        max_body_bytes: m.max_body_bytes,
    })
}

/// Every location of `written`, each `KIND:NAME`; errors name `key` or `key[i]`.
fn locations(errs: &mut Errors, key: &str, written: &FileLocations) -> Vec<Location> {
    if written.list.is_empty() {
        errs.push(key, "name at least one location");
    }
    let key_of = |i: usize| match written.array {
        true => format!("{key}[{i}]"),
        false => key.to_string(),
    };
    let parsed = written.list.iter().enumerate();
    parsed
        .filter_map(|(i, raw)| location(errs, key_of(i), raw))
        .collect()
}

fn location(errs: &mut Errors, key: String, raw: &str) -> Option<Location> {
    let (kind, name) = kind_and_name(errs, key.clone(), raw, "query:memberId")?;
    match kind {
        "query" => Some(Location::Query(name.to_string())),
        "header" => match HeaderName::from_bytes(name.as_bytes()) {
            Ok(h) => Some(Location::Header(h)),
            Err(_) => {
                errs.push(key, format!("{name:?} is not a header name"));
                None
            }
        },
        "json" => {
            pointer(errs, key, &Some(name.to_string()));
            pointer_tokens(name).map(Location::Json)
        }
        other => {
            errs.push(
                key,
                format!("{other:?} is not \"query\", \"header\" or \"json\""),
            );
            None
        }
    }
}

/// The secret from `secret_file` or `secret_env` (never inline: the table has no key for
/// it), surrounding whitespace trimmed so a file's final newline is not part of it.
fn secret(errs: &mut Errors, key: &str, m: &FileMemberHash, base: &Path) -> Option<MemberSecret> {
    let (source, source_key) = match (&m.secret_file, &m.secret_env) {
        (Some(_), Some(_)) => {
            let both = "set secret_file or secret_env, not both";
            errs.push(format!("{key}.secret_file"), both);
            return None;
        }
        (None, None) => {
            let neither =
                "set secret_file or secret_env (the secret is never written in the config file)";
            errs.push(key, neither);
            return None;
        }
        (Some(file), None) => (SecretSource::File { file: file.clone() }, "secret_file"),
        (None, Some(env)) => (SecretSource::Env { env: env.clone() }, "secret_env"),
    };
    let source_key = format!("{key}.{source_key}");
    let raw = match read_secret(&source, base) {
        Ok(raw) => raw,
        Err(e) => {
            errs.push(source_key, e);
            return None;
        }
    };
    let secret = raw.trim_ascii();
    if secret.len() < MIN_SECRET_BYTES {
        let what = if secret.is_empty() {
            "is empty"
        } else {
            "is too short"
        };
        let hint = "(e.g. `openssl rand -hex 32`)";
        let why = format!("the secret {what}: at least {MIN_SECRET_BYTES} bytes {hint}");
        errs.push(source_key, why);
        return None;
    }
    Some(MemberSecret::new(secret))
}

/// The header the verified id is told in: a header name that is none of the locations (the
/// gateway removes every client copy of it, which would remove the id too).
fn verified_header(
    errs: &mut Errors,
    key: &str,
    raw: &str,
    ids: &[Location],
    hashes: &[Location],
) -> Option<HeaderName> {
    let key = format!("{key}.verified_header");
    let Ok(name) = HeaderName::from_bytes(raw.as_bytes()) else {
        errs.push(key, format!("{raw:?} is not a header name"));
        return None;
    };
    let clash = ids.iter().chain(hashes).any(|l| match l {
        Location::Header(h) => crate::canon::header::alike(h.as_str(), name.as_str()),
        _ => false,
    });
    if clash {
        errs.push(
            key,
            format!("{raw:?} is also a location of the id or the hash"),
        );
        return None;
    }
    Some(name)
}
