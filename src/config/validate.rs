//! File format → validated model. Collects every problem instead of stopping at the first, so
//! one `validate-config` run shows ops everything to fix; each error names its key path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::uri::Scheme;
use http::Uri;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::file::{FileConfig, FileEnvironment, FileTls, SecretSource};
use super::model::*;
use super::{ConfigError, ConfigErrors};

/// Collector that keeps validation code linear: record an error, carry on.
pub(super) struct Errors(pub(super) Vec<ConfigError>);

impl Errors {
    pub(super) fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError {
            key: key.into(),
            message: message.into(),
        });
    }
}

pub fn validate(file: FileConfig, base_dir: &Path) -> Result<Config, ConfigErrors> {
    let mut errs = Errors(Vec::new());
    let listen = socket_addr(&mut errs, "listen", &file.listen);
    let http_listen = file
        .http_listen
        .as_deref()
        .and_then(|v| socket_addr(&mut errs, "http_listen", v));
    let admin_listen = socket_addr(&mut errs, "admin_listen", &file.admin_listen);

    let workers = match file.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n if n > 1024 => {
            errs.push("workers", format!("{n} is more than 1024"));
            1
        }
        n => n,
    };
    let prefix = &file.gateway_prefix;
    if !(prefix.len() > 2 && prefix.starts_with('/') && prefix.ends_with('/'))
        || prefix.contains("//")
    {
        errs.push(
            "gateway_prefix",
            format!("{prefix:?} must start and end with '/' and name a path, e.g. \"/.mfagate/\""),
        );
    }
    let t = &file.timeouts;
    for (key, secs) in [
        ("timeouts.header_read_secs", t.header_read_secs),
        ("timeouts.idle_secs", t.idle_secs),
        ("timeouts.upstream_connect_secs", t.upstream_connect_secs),
        ("timeouts.upstream_response_secs", t.upstream_response_secs),
    ] {
        if secs == 0 {
            errs.push(key, "must be at least 1 second");
        }
    }
    if !(1024..=1024 * 1024).contains(&file.limits.max_request_header_bytes) {
        errs.push(
            "limits.max_request_header_bytes",
            "must be between 1024 and 1048576",
        );
    }
    let format = match file.log.format.as_str() {
        "auto" => LogFormat::Auto,
        "pretty" => LogFormat::Pretty,
        "json" => LogFormat::Json,
        other => {
            errs.push(
                "log.format",
                format!("{other:?} is not one of \"auto\", \"pretty\", \"json\""),
            );
            LogFormat::Auto
        }
    };
    if tracing_subscriber::EnvFilter::try_new(&file.log.level).is_err() {
        errs.push(
            "log.level",
            format!("{:?} is not a valid level or filter", file.log.level),
        );
    }

    let master_keys = super::validate_auth::master_keys(&mut errs, &file.secrets.keys, base_dir);
    let data_dir = resolve(base_dir, &file.data_dir);
    let store = super::validate_store::store_backend(&mut errs, &file.store, base_dir);
    let directory = super::validate_policy::directory(&mut errs, &file);
    let admin_tokens = super::validate_policy::admin_tokens(&mut errs, &file);
    let assertion = file
        .assertion
        .as_ref()
        .and_then(|a| super::validate_sso::assertion(&mut errs, a, base_dir));
    let mail = file
        .mail
        .as_ref()
        .and_then(|m| super::validate_auth::mail(&mut errs, m, base_dir, &data_dir));
    if file.secrets.keys.is_empty() && file.environments.iter().any(|e| e.login.is_some()) {
        errs.push(
            "secrets.keys",
            "at least one master key is required when an environment has [environments.login]",
        );
    }
    if file.environments.is_empty() {
        errs.push("environments", "at least one [[environments]] is required");
    }
    let audit = super::validate_audit::audit(&mut errs, &file.audit, base_dir, &data_dir);
    let mut environments = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut hosts: HashMap<String, usize> = HashMap::new();
    for (i, env) in file.environments.iter().enumerate() {
        let key = format!("environments[{i}]");
        if let Some(prev) = names.insert(env.name.clone(), i) {
            errs.push(
                format!("{key}.name"),
                format!("{:?} is already used by environments[{prev}]", env.name),
            );
        }
        for host in &env.hosts {
            let host = host.to_ascii_lowercase();
            if let Some(prev) = hosts.insert(host.clone(), i) {
                errs.push(
                    format!("{key}.hosts"),
                    format!("{host:?} is already served by environments[{prev}]"),
                );
            }
        }
        if let Some(env) = environment(&mut errs, &key, env, base_dir, file.mail.is_some()) {
            environments.push(env);
        }
    }

    if !errs.0.is_empty() {
        return Err(ConfigErrors(errs.0));
    }
    let (Some(listen), Some(admin_listen)) = (listen, admin_listen) else {
        unreachable!("address errors were returned above");
    };
    Ok(Config {
        workers,
        listen,
        http_listen,
        admin_listen,
        public_https_port: file.public_https_port,
        gateway_prefix: file.gateway_prefix,
        data_dir,
        hsts_max_age_secs: file.hsts_max_age_secs,
        timeouts: Timeouts {
            header_read: Duration::from_secs(t.header_read_secs),
            idle: Duration::from_secs(t.idle_secs),
            upstream_connect: Duration::from_secs(t.upstream_connect_secs),
            upstream_response: Duration::from_secs(t.upstream_response_secs),
            shutdown_drain: Duration::from_secs(t.shutdown_drain_secs),
        },
        max_request_header_bytes: file.limits.max_request_header_bytes,
        log: LogConfig {
            format,
            level: file.log.level,
        },
        master_keys,
        mail,
        directory,
        admin_tokens,
        assertion,
        store,
        environments,
        audit,
    })
}

fn socket_addr(errs: &mut Errors, key: &str, value: &str) -> Option<SocketAddr> {
    match value.parse() {
        Ok(addr) => Some(addr),
        Err(_) => {
            errs.push(
                key,
                format!("invalid socket address {value:?} (expected IP:PORT)"),
            );
            None
        }
    }
}

/// Relative paths are relative to the config file's folder, so a config works from any cwd.
pub(super) fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn environment(
    errs: &mut Errors,
    key: &str,
    env: &FileEnvironment,
    base: &Path,
    mail: bool,
) -> Option<Environment> {
    let before = errs.0.len();
    if env.name.is_empty()
        || !env
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errs.push(
            format!("{key}.name"),
            format!(
                "{:?} must be non-empty and use only letters, digits, '-' and '_'",
                env.name
            ),
        );
    }
    if env.hosts.is_empty() {
        errs.push(format!("{key}.hosts"), "at least one host name is required");
    }
    for (j, host) in env.hosts.iter().enumerate() {
        if !valid_host(host) {
            errs.push(
                format!("{key}.hosts[{j}]"),
                format!("{host:?} is not a DNS host name (no port, scheme or wildcard)"),
            );
        }
    }
    let upstream = upstream(errs, key, env, base);
    let mfa = super::validate_auth::mfa_mode(errs, key, env);
    let sessions = super::validate_auth::session_limits(errs, key, env);
    let methods = super::validate_auth::methods(errs, key, env, mail);
    let policy = super::validate_policy::env_policy(errs, key, env, mfa);
    let role_methods = super::validate_policy::role_methods(errs, key, env, methods);
    let email_otp = super::validate_auth::email_otp(errs, key, env);
    let passkeys = super::validate_passkeys::passkeys(errs, key, env, methods);
    for role in passkeys.iter().flat_map(|p| &p.phishing_resistant_roles) {
        if role_methods.get(role).is_some_and(|m| !m.passkey) {
            let k = format!("{key}.role_methods.{}", role.name());
            errs.push(
                k,
                "must offer \"passkey\": the role is in phishing_resistant_roles",
            );
        }
    }
    let regulation = super::validate_auth::regulation(errs, key, env);
    let sso = env
        .sso
        .as_ref()
        .and_then(|s| super::validate_sso::sso(errs, key, s, base));
    let login = env
        .login
        .as_ref()
        .and_then(|l| super::validate_auth::login(errs, key, l, env.case_sensitive_paths));
    let member_hash = env.member_hash.as_ref().and_then(|m| {
        super::validate_member_hash::member_hash(errs, key, m, base, env.case_sensitive_paths)
    });
    let identity_headers = identity_headers(errs, key, env);
    let branding = super::validate_branding::branding(errs, key, &env.branding, base);
    let trust_browser = match env.trust_browser.as_deref() {
        None | Some("ask") => TrustBrowser::Ask,
        Some("always") => TrustBrowser::Always,
        Some("never") => TrustBrowser::Never,
        Some(other) => {
            let msg = format!("{other:?} is not \"ask\", \"always\" or \"never\"");
            errs.push(format!("{key}.trust_browser"), msg);
            TrustBrowser::Ask
        }
    };
    let language = match env.language.as_deref() {
        None => crate::i18n::Lang::En,
        Some(tag) => crate::i18n::Lang::parse(tag).unwrap_or_else(|| {
            errs.push(
                format!("{key}.language"),
                format!("{tag:?} is not \"en\", \"id\" or \"nl\""),
            );
            crate::i18n::Lang::En
        }),
    };
    let zone = match env.timezone.as_deref() {
        None => crate::clock::Zone::default(),
        Some(name) => crate::clock::Zone::named(name).unwrap_or_else(|| {
            let msg =
                format!("{name:?} is not an IANA time zone (like \"Asia/Jakarta\" or \"UTC\")");
            errs.push(format!("{key}.timezone"), msg);
            crate::clock::Zone::default()
        }),
    };
    let retention = env
        .retention
        .as_ref()
        .and_then(|r| super::validate_audit::duration(errs, &format!("{key}.retention"), r));
    if retention.is_some_and(|r| r < sessions.absolute) {
        errs.push(
            format!("{key}.retention"),
            "is shorter than session_absolute: people would be forgotten while signed in",
        );
    }
    let certified_key = match &env.tls {
        None => {
            errs.push(
                format!("{key}.tls"),
                "a [tls] table with cert and key is required",
            );
            None
        }
        Some(tls) => certified_key(errs, &format!("{key}.tls"), tls, base),
    };
    if errs.0.len() != before {
        return None;
    }
    Some(Environment {
        name: env.name.clone(),
        display_name: env.display_name.clone().unwrap_or_else(|| env.name.clone()),
        hosts: env.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        upstream: upstream?,
        certified_key: certified_key?,
        tls_files: env.tls.iter().flat_map(|t| tls_files(t, base)).collect(),
        sessions,
        policy,
        methods,
        role_methods,
        email_otp,
        passkeys,
        regulation,
        admin_self_recovery: env.recovery.admin_self_service,
        login,
        sso,
        member_hash,
        case_sensitive_paths: env.case_sensitive_paths,
        identity_headers,
        retention,
        branding,
        trust_browser,
        language,
        zone,
    })
}

fn identity_headers(
    errs: &mut Errors,
    key: &str,
    env: &FileEnvironment,
) -> super::model::IdentityHeaders {
    let mut name = |field: &str, value: &Option<String>| {
        let v = value.as_ref()?;
        let parsed = http::HeaderName::from_bytes(v.as_bytes()).ok();
        if parsed.is_none() {
            errs.push(
                format!("{key}.identity_headers.{field}"),
                format!("{v:?} is not a header name"),
            );
        }
        parsed
    };
    super::model::IdentityHeaders {
        user: name("user", &env.identity_headers.user),
        email: name("email", &env.identity_headers.email),
    }
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn upstream(errs: &mut Errors, key: &str, env: &FileEnvironment, base: &Path) -> Option<Upstream> {
    let ukey = format!("{key}.upstream");
    let bad = |errs: &mut Errors, why: &str| {
        errs.push(&ukey, format!("invalid URL {:?}: {why}", env.upstream));
        None
    };
    let Ok(uri) = env.upstream.parse::<Uri>() else {
        return bad(errs, "cannot be parsed");
    };
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::HTTP,
        Some("https") => Scheme::HTTPS,
        _ => return bad(errs, "scheme must be http or https"),
    };
    let Some(authority) = uri.authority().cloned() else {
        return bad(errs, "host is missing");
    };
    if authority.as_str().contains('@') {
        return bad(errs, "credentials in the URL are not allowed");
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return bad(errs, "path prefixes and queries are not supported");
    }
    let tls = match (&env.upstream_ca_file, env.upstream_insecure_skip_verify) {
        (Some(_), true) => {
            errs.push(
                format!("{key}.upstream_insecure_skip_verify"),
                "cannot be combined with upstream_ca_file",
            );
            return None;
        }
        (Some(ca), false) => {
            let path = resolve(base, ca);
            match CertificateDer::pem_file_iter(&path)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            {
                Ok(certs) if !certs.is_empty() => UpstreamTls::CaFile(certs),
                Ok(_) => {
                    errs.push(
                        format!("{key}.upstream_ca_file"),
                        format!("no certificate in {}", path.display()),
                    );
                    return None;
                }
                Err(e) => {
                    errs.push(
                        format!("{key}.upstream_ca_file"),
                        format!("cannot read {}: {e}", path.display()),
                    );
                    return None;
                }
            }
        }
        (None, true) => UpstreamTls::InsecureSkipVerify,
        (None, false) => UpstreamTls::SystemRoots,
    };
    Some(Upstream {
        scheme,
        authority,
        preserve_host: env.preserve_host,
        tls,
    })
}

/// Reads a secret's bytes. Env var names are limited to `MFAGATE_*` so a config cannot be used
/// to exfiltrate unrelated process secrets into, say, a certificate error message.
/// A period set either as a duration (`new`, e.g. "7d", "36h", "90s") or, in the older
/// spelling, as a count of `unit_secs` (`old`); neither means `default_secs`. Errors name the
/// key that was given.
pub(super) fn period(
    errs: &mut Errors,
    key: &str,
    (new_key, new): (&str, Option<&String>),
    (old_key, old, unit_secs): (&str, Option<u64>, u64),
    default_secs: u64,
) -> (u64, String) {
    match (new, old) {
        (Some(_), Some(_)) => {
            let both = format!("set {key}.{new_key} or {key}.{old_key}, not both");
            errs.push(format!("{key}.{new_key}"), both);
            (default_secs, format!("{key}.{new_key}"))
        }
        (Some(text), None) => match humantime::parse_duration(text) {
            Ok(d) => (d.as_secs(), format!("{key}.{new_key}")),
            Err(e) => {
                let msg =
                    format!("{text:?} is not a duration like \"7d\", \"36h\" or \"90s\": {e}");
                errs.push(format!("{key}.{new_key}"), msg);
                (default_secs, format!("{key}.{new_key}"))
            }
        },
        (None, Some(n)) => (n.saturating_mul(unit_secs), format!("{key}.{old_key}")),
        (None, None) => (default_secs, format!("{key}.{new_key}")),
    }
}

pub(crate) fn read_secret(source: &SecretSource, base: &Path) -> Result<Vec<u8>, String> {
    match source {
        SecretSource::Path(p) | SecretSource::File { file: p } => {
            let path = resolve(base, p);
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        SecretSource::Env { env } => {
            if !env.starts_with("MFAGATE_") {
                return Err(format!(
                    "environment variable {env:?} must start with MFAGATE_"
                ));
            }
            std::env::var(env)
                .map(String::into_bytes)
                .map_err(|_| format!("environment variable {env} is not set"))
        }
    }
}

/// The files of a `[tls]` table (a key from the environment is not a file to watch).
fn tls_files(tls: &FileTls, base: &Path) -> Vec<PathBuf> {
    let key = match &tls.key {
        SecretSource::Path(p) | SecretSource::File { file: p } => Some(resolve(base, p)),
        SecretSource::Env { .. } => None,
    };
    std::iter::once(resolve(base, &tls.cert))
        .chain(key)
        .collect()
}

fn certified_key(
    errs: &mut Errors,
    key: &str,
    tls: &FileTls,
    base: &Path,
) -> Option<Arc<CertifiedKey>> {
    let cert_path = resolve(base, &tls.cert);
    let chain = match CertificateDer::pem_file_iter(&cert_path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
    {
        Ok(chain) if !chain.is_empty() => Some(chain),
        Ok(_) => {
            errs.push(
                format!("{key}.cert"),
                format!("no PEM certificate in {}", cert_path.display()),
            );
            None
        }
        Err(e) => {
            errs.push(
                format!("{key}.cert"),
                format!("cannot read {}: {e}", cert_path.display()),
            );
            None
        }
    };
    let private_key = match read_secret(&tls.key, base) {
        Err(e) => {
            errs.push(format!("{key}.key"), e);
            None
        }
        Ok(pem) => match PrivateKeyDer::from_pem_slice(&pem) {
            Ok(k) => Some(k),
            Err(_) => {
                errs.push(format!("{key}.key"), "no PEM private key found");
                None
            }
        },
    };
    let (chain, private_key) = (chain?, private_key?);
    let provider = rustls::crypto::ring::default_provider();
    match CertifiedKey::from_der(chain, private_key, &provider) {
        Ok(ck) => Some(Arc::new(ck)),
        Err(e) => {
            errs.push(
                format!("{key}.key"),
                format!("unusable key or key does not match the certificate: {e}"),
            );
            None
        }
    }
}
