//! `[store]` → `StoreBackend`. Each Redis topology takes only the keys that mean something
//! for it, so a Sentinel list left in a standalone config is an error rather than ignored.

use std::path::Path;
use std::time::Duration;

use super::file::{FileStore, SecretSource};
use super::model::StoreBackend;
use super::validate::{read_secret, resolve, Errors};
use crate::store::{RedisTarget, Topology};

pub(super) fn store_backend(errs: &mut Errors, store: &FileStore, base: &Path) -> StoreBackend {
    match store.backend.as_str() {
        "embedded" => StoreBackend::Embedded,
        "redis" => {
            if store.max_staleness_secs == 0 {
                errs.push("store.max_staleness_secs", "must be at least 1");
            }
            // Keys put a user's or a log's name in `{...}` so Cluster keeps what belongs
            // together in one slot; braces in the prefix would change which part is hashed.
            if store.prefix.contains(['{', '}']) {
                errs.push("store.prefix", "must not contain { or }");
            }
            let ca_pem = store.ca_file.as_ref().and_then(|file| {
                let path = resolve(base, file);
                std::fs::read(&path)
                    .map_err(|e| {
                        errs.push(
                            "store.ca_file",
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })
                    .ok()
            });
            let topology = topology(errs, store, base);
            StoreBackend::Redis {
                target: RedisTarget {
                    topology,
                    username: store.username.clone(),
                    password: password(errs, "store.password", store.password.as_ref(), base),
                    sentinel_password: password(
                        errs,
                        "store.sentinel_password",
                        store.sentinel_password.as_ref(),
                        base,
                    ),
                    ca_pem,
                },
                prefix: store.prefix.clone(),
                max_staleness: Duration::from_secs(store.max_staleness_secs),
            }
        }
        other => {
            errs.push(
                "store.backend",
                format!("{other:?} is not \"embedded\" or \"redis\""),
            );
            StoreBackend::Embedded
        }
    }
}

fn topology(errs: &mut Errors, store: &FileStore, base: &Path) -> Topology {
    let name = store.topology.as_str();
    if !matches!(name, "standalone" | "sentinel" | "cluster") {
        errs.push(
            "store.topology",
            format!("{name:?} is not \"standalone\", \"sentinel\" or \"cluster\""),
        );
        return Topology::Standalone { url: String::new() };
    }
    // Each topology-specific key: whether it is set, and the topologies that use it.
    let keys: [(&str, bool, &[&str]); 6] = [
        ("url", store.url.is_some(), &["standalone"]),
        ("nodes", !store.nodes.is_empty(), &["sentinel", "cluster"]),
        ("master_name", store.master_name.is_some(), &["sentinel"]),
        (
            "username",
            store.username.is_some(),
            &["sentinel", "cluster"],
        ),
        (
            "password",
            store.password.is_some(),
            &["sentinel", "cluster"],
        ),
        (
            "sentinel_password",
            store.sentinel_password.is_some(),
            &["sentinel"],
        ),
    ];
    for (key, set, users) in keys {
        if set && !users.contains(&name) {
            let users = users
                .iter()
                .map(|u| format!("{u:?}"))
                .collect::<Vec<_>>()
                .join(" or ");
            errs.push(
                format!("store.{key}"),
                format!("is only for topology {users}"),
            );
        }
    }
    match name {
        "standalone" => Topology::Standalone {
            url: url(errs, store, base),
        },
        "sentinel" => {
            nodes(errs, &store.nodes);
            let master_name = store.master_name.clone().unwrap_or_default();
            if master_name.trim().is_empty() {
                errs.push("store.master_name", "is required for topology \"sentinel\"");
            }
            Topology::Sentinel {
                sentinels: store.nodes.clone(),
                master_name,
            }
        }
        _ => {
            nodes(errs, &store.nodes);
            Topology::Cluster {
                nodes: store.nodes.clone(),
            }
        }
    }
}

/// The standalone URL: a plain string is the URL itself; `{ file }` or `{ env }` read it.
fn url(errs: &mut Errors, store: &FileStore, base: &Path) -> String {
    let url = match &store.url {
        None => {
            errs.push("store.url", "is required for the redis backend");
            return String::new();
        }
        Some(SecretSource::Path(literal)) => literal.trim().to_string(),
        Some(source) => secret(errs, "store.url", Some(source), base).unwrap_or_default(),
    };
    if !(url.is_empty() || url.starts_with("redis://") || url.starts_with("rediss://")) {
        errs.push("store.url", "must start with redis:// or rediss://");
    }
    url
}

fn nodes(errs: &mut Errors, nodes: &[String]) {
    if nodes.is_empty() {
        errs.push("store.nodes", "at least one address is required");
    }
    for (i, node) in nodes.iter().enumerate() {
        if let Err(e) = crate::store::check_node_address(node) {
            errs.push(format!("store.nodes[{i}]"), e);
        }
    }
    // Some nodes over TLS and some not is a mistake that would send credentials in clear.
    let tls = nodes.iter().filter(|n| n.starts_with("rediss://")).count();
    if tls != 0 && tls != nodes.len() {
        errs.push("store.nodes", "use rediss:// for every node or for none");
    }
}

/// A password: only `{ file }` or `{ env }`. Elsewhere a plain string is a file path, but
/// here it is too likely the password itself, which a "cannot read" error would then print.
fn password(
    errs: &mut Errors,
    key: &str,
    source: Option<&SecretSource>,
    base: &Path,
) -> Option<String> {
    if let Some(SecretSource::Path(_)) = source {
        errs.push(
            key,
            "must be { file = \"..\" } or { env = \"MFAGATE_...\" }, not a plain string",
        );
        return None;
    }
    secret(errs, key, source, base)
}

/// A secret's text, trimmed; read errors are recorded under `key`.
fn secret(
    errs: &mut Errors,
    key: &str,
    source: Option<&SecretSource>,
    base: &Path,
) -> Option<String> {
    match read_secret(source?, base) {
        Ok(raw) => Some(String::from_utf8_lossy(&raw).trim().to_string()),
        Err(e) => {
            errs.push(key, e);
            None
        }
    }
}
