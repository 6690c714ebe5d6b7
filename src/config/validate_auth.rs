//! Validation of the authentication parts of the config: master keys, MFA mode, session
//! limits and the dashboard's login description.

use std::path::Path;
use std::time::Duration;

use base64::Engine;

use rustls::pki_types::pem::PemObject;

use super::defaults;
use super::file::{FileEnvironment, FileLogin, FileLoginRoute, FileMail, SecretSource};
use super::model::{
    LoginConfig, LoginFormat, LoginRoute, MailConfig, MailTransport, Methods, MfaMode, Regulation,
    SessionLimits, SmtpSecurity,
};
use super::validate::{period, read_secret, resolve, Errors};
use crate::crypto::secret_box::MIN_KEY_BYTES;
use crate::mfa::attempts::Limits;
use crate::mfa::email_otp::EmailOtpPolicy;

/// Decodes every master key (base64 text in a file or env var).
pub(super) fn master_keys(errs: &mut Errors, keys: &[SecretSource], base: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, source) in keys.iter().enumerate() {
        let key = format!("secrets.keys[{i}]");
        match read_secret(source, base) {
            Err(e) => errs.push(key, e),
            Ok(raw) => {
                let text = String::from_utf8_lossy(&raw);
                match base64::engine::general_purpose::STANDARD.decode(text.trim()) {
                    Ok(k) if k.len() >= MIN_KEY_BYTES => out.push(k),
                    Ok(_) => errs.push(
                        key,
                        format!("must decode to at least {MIN_KEY_BYTES} bytes (e.g. `openssl rand -base64 32`)"),
                    ),
                    Err(_) => errs.push(key, "is not base64"),
                }
            }
        }
    }
    out
}

pub(super) fn mfa_mode(errs: &mut Errors, key: &str, env: &FileEnvironment) -> MfaMode {
    match env.mfa.as_str() {
        "off" => MfaMode::Off,
        mode @ ("required" | "optional") => {
            if env.login.is_none() {
                errs.push(
                    format!("{key}.mfa"),
                    format!("\"{mode}\" needs an [environments.login] table describing the dashboard's login"),
                );
            }
            if mode == "required" {
                MfaMode::Required
            } else {
                MfaMode::Optional
            }
        }
        other => {
            errs.push(
                format!("{key}.mfa"),
                format!("{other:?} is not one of \"off\", \"optional\", \"required\""),
            );
            MfaMode::Off
        }
    }
}

pub(super) fn session_limits(errs: &mut Errors, key: &str, env: &FileEnvironment) -> SessionLimits {
    let (idle, idle_key) = period(
        errs,
        key,
        ("session_idle", env.session_idle.as_ref()),
        ("session_idle_minutes", env.session_idle_minutes, 60),
        defaults::session_idle_minutes() * 60,
    );
    if idle < 60 {
        errs.push(idle_key, "must be at least 1 minute");
    }
    let (absolute, absolute_key) = period(
        errs,
        key,
        ("session_absolute", env.session_absolute.as_ref()),
        ("session_absolute_hours", env.session_absolute_hours, 3600),
        defaults::session_absolute_hours() * 3600,
    );
    if absolute < 60 {
        errs.push(absolute_key, "must be at least 1 minute");
    }
    let (trust, trust_key) = period(
        errs,
        key,
        ("device_trust", env.device_trust.as_ref()),
        ("device_trust_days", env.device_trust_days, 86_400),
        defaults::device_trust_days() * 86_400,
    );
    if trust > 365 * 86_400 {
        errs.push(trust_key, "must be at most 365 days");
    }
    SessionLimits {
        idle: Duration::from_secs(idle),
        absolute: Duration::from_secs(absolute),
        device_trust: Duration::from_secs(trust),
    }
}

pub(super) fn route(
    errs: &mut Errors,
    key: &str,
    r: &FileLoginRoute,
    cs: bool,
) -> Option<LoginRoute> {
    let method = match r.method.to_ascii_uppercase().parse::<http::Method>() {
        Ok(m) => Some(m),
        Err(_) => {
            errs.push(
                format!("{key}.method"),
                format!("{:?} is not an HTTP method", r.method),
            );
            None
        }
    };
    let path = match crate::canon::normalize::normalize_path(&r.path) {
        Ok(p) if p == r.path => Some(r.path.clone()),
        _ => {
            errs.push(
                format!("{key}.path"),
                format!(
                    "{:?} must be a normalized absolute path like \"/login\"",
                    r.path
                ),
            );
            None
        }
    };
    let format = match r.format.as_str() {
        "form" => Some(LoginFormat::Form),
        "json" => Some(LoginFormat::Json),
        other => {
            errs.push(
                format!("{key}.format"),
                format!("{other:?} is not \"form\" or \"json\""),
            );
            None
        }
    };
    let path = path?;
    Some(LoginRoute {
        method: method?,
        pattern: path_pattern(errs, format!("{key}.path"), &path, cs)?,
        path,
        format: format?,
    })
}

/// A configured path or `prefix*` in canonical form, or an error naming `key`.
pub(super) fn path_pattern(
    errs: &mut Errors,
    key: String,
    raw: &str,
    cs: bool,
) -> Option<crate::canon::Pattern> {
    let exact = raw.strip_suffix('*').unwrap_or(raw);
    let pattern = (!exact.contains('*'))
        .then(|| crate::canon::Pattern::new(raw, cs))
        .flatten();
    if pattern.is_none() {
        errs.push(
            key,
            format!("{raw:?} must be a path, optionally ending in '*' (no look-alike characters or dot segments)"),
        );
    }
    pattern
}

pub(super) fn pointer(errs: &mut Errors, key: String, value: &Option<String>) {
    if let Some(p) = value {
        if !p.starts_with('/') {
            errs.push(
                key,
                format!("{p:?} is not a JSON pointer (it starts with '/')"),
            );
        }
    }
}

pub(super) fn login(
    errs: &mut Errors,
    key: &str,
    login: &FileLogin,
    cs: bool,
) -> Option<LoginConfig> {
    let before = errs.0.len();
    let key = format!("{key}.login");
    if login.routes.is_empty() {
        errs.push(
            format!("{key}.routes"),
            "at least one login route is required",
        );
    }
    let routes: Vec<_> = login
        .routes
        .iter()
        .enumerate()
        .filter_map(|(i, r)| route(errs, &format!("{key}.routes[{i}]"), r, cs))
        .collect();
    if login.session_cookies.is_empty() && login.token_pointer.is_none() {
        errs.push(
            key.clone(),
            "set session_cookies and/or token_pointer: the gateway must know what to withhold",
        );
    }
    for (i, route) in routes.iter().enumerate() {
        let from_request = match route.format {
            LoginFormat::Form => login.username_field.is_some(),
            LoginFormat::Json => login.username_request_pointer.is_some(),
        };
        let positive = login.probe.is_some()
            || (route.format == LoginFormat::Json && login.username_response_pointer.is_some())
            || (login.trust_request_username && from_request);
        if !positive {
            errs.push(
                format!("{key}.routes[{i}]"),
                "no positive sign of a successful login and of who signed in: set probe (recommended), username_response_pointer (json), or trust_request_username = true with the request's user name field",
            );
        }
        let needs_location = login.trust_request_username
            && login.probe.is_none()
            && route.format == LoginFormat::Form;
        if needs_location && login.success_location.is_none() {
            errs.push(
                format!("{key}.success_location"),
                "a form login trusted by its request user name needs success_location (where the dashboard redirects after a successful login)",
            );
        }
    }
    let probe = login.probe.as_ref().and_then(|p| probe(errs, &key, p));
    let success_location = login
        .success_location
        .as_ref()
        .and_then(|l| path_pattern(errs, format!("{key}.success_location"), l, cs));
    pointer(errs, format!("{key}.token_pointer"), &login.token_pointer);
    pointer(
        errs,
        format!("{key}.username_request_pointer"),
        &login.username_request_pointer,
    );
    pointer(
        errs,
        format!("{key}.username_response_pointer"),
        &login.username_response_pointer,
    );
    if !login.login_page.starts_with('/') || login.login_page.starts_with("//") {
        errs.push(
            format!("{key}.login_page"),
            "must be a same-origin path like \"/login\"",
        );
    }
    let public: Vec<_> = login
        .public_paths
        .iter()
        .enumerate()
        .filter_map(|(i, p)| path_pattern(errs, format!("{key}.public_paths[{i}]"), p, cs))
        .collect();
    let login_page_pattern = path_pattern(errs, format!("{key}.login_page"), &login.login_page, cs);
    let anonymous_public_paths = match login.anonymous.as_str() {
        "allow" => None,
        "deny" => Some(public),
        other => {
            errs.push(
                format!("{key}.anonymous"),
                format!("{other:?} is not \"allow\" or \"deny\""),
            );
            None
        }
    };
    let logout = login
        .logout
        .as_ref()
        .and_then(|l| super::validate_logout::logout(errs, &format!("{key}.logout"), l, cs));
    if !(1024..=1024 * 1024).contains(&login.max_body_bytes) {
        errs.push(
            format!("{key}.max_body_bytes"),
            "must be between 1024 and 1048576",
        );
    }
    if login.next_param.is_empty()
        || !login
            .next_param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.[]".contains(&b))
    {
        errs.push(
            format!("{key}.next_param"),
            "must be a plain parameter name",
        );
    }
    if errs.0.len() != before {
        return None;
    }
    Some(LoginConfig {
        routes,
        session_cookies: login.session_cookies.clone(),
        token_pointer: login.token_pointer.clone(),
        username_field: login.username_field.clone(),
        username_request_pointer: login.username_request_pointer.clone(),
        username_response_pointer: login.username_response_pointer.clone(),
        login_page: login.login_page.clone(),
        login_page_pattern: login_page_pattern?,
        anonymous_public_paths,
        logout,
        max_body_bytes: login.max_body_bytes,
        probe,
        trust_request_username: login.trust_request_username,
        success_location,
        next_param: login.next_param.clone(),
    })
}

fn probe(errs: &mut Errors, key: &str, p: &super::file::FileProbe) -> Option<super::model::Probe> {
    pointer(
        errs,
        format!("{key}.probe.user_pointer"),
        &Some(p.user_pointer.clone()),
    );
    let path = match crate::canon::normalize::normalize_path(&p.path) {
        Ok(n) if n == p.path => p.path.parse::<http::uri::PathAndQuery>().ok(),
        _ => None,
    };
    if path.is_none() {
        errs.push(
            format!("{key}.probe.path"),
            format!(
                "{:?} must be a normalized absolute path like \"/api/v1/me\"",
                p.path
            ),
        );
    }
    Some(super::model::Probe {
        path: path?,
        user_pointer: p.user_pointer.clone(),
    })
}

pub(super) fn methods(errs: &mut Errors, key: &str, env: &FileEnvironment, mail: bool) -> Methods {
    let mut m = Methods::NONE;
    for (i, name) in env.methods.iter().enumerate() {
        match name.as_str() {
            "totp" => m.totp = true,
            "email" => m.email = true,
            "backup" => m.backup = true,
            "passkey" => m.passkey = true,
            other => errs.push(
                format!("{key}.methods[{i}]"),
                format!("{other:?} is not one of \"totp\", \"email\", \"backup\", \"passkey\""),
            ),
        }
    }
    if !(m.totp || m.email || m.passkey) {
        errs.push(
            format!("{key}.methods"),
            "needs \"totp\", \"email\" or \"passkey\"",
        );
    }
    if m.email && !mail {
        errs.push(
            format!("{key}.methods"),
            "\"email\" needs a [mail] table to send codes with",
        );
    }
    m
}

pub(super) fn email_otp(errs: &mut Errors, key: &str, env: &FileEnvironment) -> EmailOtpPolicy {
    let o = &env.email_otp;
    let key = format!("{key}.email_otp");
    let secs = |errs: &mut Errors, name: &str, new, old, default| {
        let old_name = format!("{name}_secs");
        period(errs, &key, (name, new), (&old_name, old, 1), default)
    };
    let ttl = secs(
        errs,
        "code_ttl",
        o.code_ttl.as_ref(),
        o.code_ttl_secs,
        defaults::otp_ttl_secs(),
    );
    let resend = secs(
        errs,
        "resend_after",
        o.resend_after.as_ref(),
        o.resend_after_secs,
        defaults::otp_resend_after_secs(),
    );
    let window = secs(
        errs,
        "send_window",
        o.send_window.as_ref(),
        o.send_window_secs,
        defaults::otp_send_window_secs(),
    );
    if !(60..=3600).contains(&ttl.0) {
        errs.push(ttl.1, "must be between 1 and 60 minutes");
    }
    if o.max_sends == 0 {
        errs.push(format!("{key}.max_sends"), "must be at least 1");
    }
    if window.0 < resend.0 {
        errs.push(window.1, "must not be shorter than resend_after");
    }
    EmailOtpPolicy {
        ttl_secs: ttl.0,
        resend_after_secs: resend.0,
        max_sends: o.max_sends,
        send_window_secs: window.0,
    }
}

pub(super) fn regulation(errs: &mut Errors, key: &str, env: &FileEnvironment) -> Regulation {
    let r = &env.regulation;
    let key = format!("{key}.regulation");
    for (name, value) in [
        ("max_failures", r.max_failures),
        ("ip_max_failures", r.ip_max_failures),
        ("login_per_ip_per_minute", r.login_per_ip_per_minute),
    ] {
        if value == 0 {
            errs.push(format!("{key}.{name}"), "must be at least 1");
        }
    }
    let block = period(
        errs,
        &key,
        ("block", r.block.as_ref()),
        ("block_secs", r.block_secs, 1),
        defaults::block_secs(),
    );
    let ip_block = period(
        errs,
        &key,
        ("ip_block", r.ip_block.as_ref()),
        ("ip_block_secs", r.ip_block_secs, 1),
        defaults::ip_block_secs(),
    );
    for (secs, name) in [&block, &ip_block] {
        if *secs == 0 {
            errs.push(name.clone(), "must be at least 1 second");
        }
    }
    Regulation {
        user: Limits {
            max_failures: r.max_failures,
            block_secs: block.0,
        },
        ip: Limits {
            max_failures: r.ip_max_failures,
            block_secs: ip_block.0,
        },
        login_per_ip_per_minute: r.login_per_ip_per_minute,
    }
}

pub(super) fn mail(
    errs: &mut Errors,
    mail: &FileMail,
    base: &Path,
    data_dir: &Path,
) -> Option<MailConfig> {
    let before = errs.0.len();
    for (name, value) in [
        ("mail.from", Some(&mail.from)),
        ("mail.reply_to", mail.reply_to.as_ref()),
    ] {
        if let Some(v) = value {
            if v.parse::<lettre::message::Mailbox>().is_err() {
                errs.push(name, format!("{v:?} is not an email address"));
            }
        }
    }
    let transport = match mail.transport.as_str() {
        "file" => Some(MailTransport::File {
            dir: mail
                .outbox
                .as_ref()
                .map_or_else(|| data_dir.join("outbox"), |o| resolve(base, o)),
        }),
        "smtp" => smtp(errs, mail, base),
        other => {
            errs.push(
                "mail.transport",
                format!("{other:?} is not \"smtp\" or \"file\""),
            );
            None
        }
    };
    if mail.timeout_secs == 0 {
        errs.push("mail.timeout_secs", "must be at least 1");
    }
    if mail.queue == 0 {
        errs.push("mail.queue", "must be at least 1");
    }
    (errs.0.len() == before).then(|| MailConfig {
        transport: transport.expect("no errors means a transport"),
        from: mail.from.clone(),
        reply_to: mail.reply_to.clone(),
        timeout: Duration::from_secs(mail.timeout_secs),
        retries: mail.retries,
        queue: mail.queue,
    })
}

fn smtp(errs: &mut Errors, mail: &FileMail, base: &Path) -> Option<MailTransport> {
    let Some(host) = mail.host.clone() else {
        errs.push("mail.host", "is required for the smtp transport");
        return None;
    };
    let (security, default_port) = match mail.security.as_str() {
        "starttls" => (SmtpSecurity::StartTls, 587),
        "tls" => (SmtpSecurity::Tls, 465),
        "none" => (SmtpSecurity::None, 25),
        other => {
            errs.push(
                "mail.security",
                format!("{other:?} is not \"starttls\", \"tls\" or \"none\""),
            );
            return None;
        }
    };
    let credentials = match (&mail.username, &mail.password) {
        (Some(user), Some(password)) => match read_secret(password, base) {
            Ok(p) => Some((
                user.clone(),
                String::from_utf8_lossy(&p).trim_end().to_string(),
            )),
            Err(e) => {
                errs.push("mail.password", e);
                return None;
            }
        },
        (None, None) => None,
        _ => {
            errs.push("mail.username", "username and password go together");
            return None;
        }
    };
    if credentials.is_some() && security == SmtpSecurity::None {
        errs.push(
            "mail.security",
            "\"none\" would send the SMTP password in clear; use starttls or tls",
        );
    }
    let ca_certs = match &mail.ca_file {
        None => Vec::new(),
        Some(file) => {
            let path = resolve(base, file);
            match rustls::pki_types::CertificateDer::pem_file_iter(&path)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            {
                Ok(c) if !c.is_empty() => c,
                _ => {
                    errs.push(
                        "mail.ca_file",
                        format!("no PEM certificate readable in {}", path.display()),
                    );
                    return None;
                }
            }
        }
    };
    Some(MailTransport::Smtp {
        host,
        port: mail.port.unwrap_or(default_port),
        security,
        ca_certs,
        credentials,
    })
}
