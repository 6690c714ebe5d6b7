//! Page templates (minijinja, compiled in, HTML-escaped by default) and the headers every
//! gateway page carries.

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use minijinja::Environment;
use serde::Serialize;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("enroll.html", include_str!("templates/enroll.html")),
    ("verify.html", include_str!("templates/verify.html")),
    ("backup.html", include_str!("templates/backup.html")),
    ("codes.html", include_str!("templates/codes.html")),
    ("devices.html", include_str!("templates/devices.html")),
    ("message.html", include_str!("templates/message.html")),
    ("choose.html", include_str!("templates/choose.html")),
    ("email.html", include_str!("templates/email.html")),
    ("offer.html", include_str!("templates/offer.html")),
    ("confirmed.html", include_str!("templates/confirmed.html")),
    (
        "admin_users.html",
        include_str!("templates/admin_users.html"),
    ),
    ("admin_user.html", include_str!("templates/admin_user.html")),
    (
        "admin_recovery.html",
        include_str!("templates/admin_recovery.html"),
    ),
    (
        "admin_exports.html",
        include_str!("templates/admin_exports.html"),
    ),
    ("recovery.html", include_str!("templates/recovery.html")),
    ("trust.html", include_str!("templates/trust.html")),
    ("security.html", include_str!("templates/security.html")),
    ("passkey.html", include_str!("templates/passkey.html")),
    (
        "passkey_register.html",
        include_str!("templates/passkey_register.html"),
    ),
    (
        "passkey_notes.html",
        include_str!("templates/passkey_notes.html"),
    ),
];

/// The passkey pages' one first-party script (it calls `navigator.credentials`).
pub const PASSKEY_SCRIPT: &str = include_str!("passkey.js");

/// The pages that load it; every other page runs no script at all.
const SCRIPTED: &[&str] = &["passkey.html", "passkey_register.html"];

pub const STYLESHEET: &str = include_str!("gate.css");

/// No scripts at all; styles and images only from the gateway itself (QR codes are data URIs).
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `CSP` plus the gateway's own scripts, for the passkey pages only: no inline script, no
/// other origin, and `fetch` nowhere (the script posts the page's form).
pub const CSP_SCRIPTED: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                                img-src 'self' data:; form-action 'self'; \
                                frame-ancestors 'none'; base-uri 'none'";

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_function("t", translate);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("built-in templates are valid");
        }
        env
    })
}

/// `{{ t("key", name=value) }}`: the message `key` of the catalogue in the page's `lang`. The
/// catalogue's own markup is kept; every value is HTML-escaped first (numbers stay numbers,
/// for plurals).
fn translate(
    state: &minijinja::State,
    key: &str,
    kwargs: minijinja::value::Kwargs,
) -> Result<minijinja::Value, minijinja::Error> {
    use fluent_bundle::FluentValue;
    let lang = state
        .lookup("lang")
        .and_then(|l| l.as_str().and_then(crate::i18n::Lang::parse))
        .unwrap_or_default();
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: minijinja::Value = kwargs.get(name)?;
        let value = match i64::try_from(value.clone()) {
            Ok(n) if value.kind() == minijinja::value::ValueKind::Number => FluentValue::from(n),
            _ if value.is_safe() => FluentValue::from(value.to_string()),
            _ => FluentValue::from(super::escape(&value.to_string())),
        };
        args.push((name, value));
    }
    let text = crate::i18n::text(lang, key, &args);
    Ok(minijinja::Value::from_safe_string(text))
}

/// Renders a page with the security headers every gateway page needs.
/// What every page shows of an environment's branding: a logo (served at
/// `{prefix}static/logo`), a brand stylesheet (`{prefix}static/brand.css`), the support contact.
pub fn branding(branding: Option<&crate::config::model::Branding>) -> minijinja::Value {
    let Some(b) = branding else {
        return minijinja::Value::UNDEFINED;
    };
    minijinja::context! {
        logo => b.logo.is_some(),
        color => b.color.is_some(),
        support => b.support,
    }
}

/// `:root{--primary:…}` for an environment with a brand colour (buttons keep white text, which
/// validation checked the colour against), links in that colour in light mode.
pub fn brand_css(branding: &crate::config::model::Branding) -> String {
    match &branding.color {
        Some(c) => format!(
            ":root{{--primary:{c};--primary-fg:#fff}}@media (prefers-color-scheme:light){{:root{{--link:{c}}}}}\n"
        ),
        None => String::new(),
    }
}

pub fn page(status: StatusCode, name: &str, ctx: impl Serialize) -> Response {
    let html = match env().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(template = name, error = %e, "page rendering failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "page unavailable").into_response();
        }
    };
    let mut resp = (status, html).into_response();
    secure_headers(resp.headers_mut());
    if SCRIPTED.contains(&name) {
        let csp = HeaderValue::from_static(CSP_SCRIPTED);
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

pub fn secure_headers(h: &mut http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Not `no-referrer`: browsers then send `Origin: null` on form posts, which the CSRF
    // check must refuse. `same-origin` still sends nothing to other sites.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

#[cfg(test)]
mod design_tests {
    use crate::config::{contrast, luminance, MIN_CONTRAST};

    /// The `--name:#rrggbb` variables of the first rule after `marker` in the stylesheet.
    fn palette(marker: &str) -> std::collections::HashMap<String, String> {
        let css = super::STYLESHEET;
        let start = css.find(marker).expect("marker in gate.css") + marker.len();
        let block = &css[start..];
        let block = &block[block.find('{').unwrap() + 1..block.find('}').unwrap()];
        block
            .split(';')
            .filter_map(|d| d.trim().strip_prefix("--")?.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect()
    }

    /// Every text colour of the design system on the backgrounds it is used on, in light and
    /// in dark, reaches WCAG AA (4.5:1).
    #[test]
    fn every_colour_pair_reaches_wcag_aa_in_light_and_dark() {
        let light = palette(":root");
        let mut dark = light.clone();
        dark.extend(palette("prefers-color-scheme:dark){:root"));
        let pairs = [
            ("fg", "bg"),
            ("fg", "card"),
            ("muted", "card"),
            ("link", "card"),
            ("primary-fg", "primary"),
            ("secondary-fg", "secondary"),
            ("error", "error-bg"),
            ("warn", "warn-bg"),
            ("ok", "ok-bg"),
            ("head-fg", "head"),
            ("fg", "warn-bg"),
        ];
        for (scheme, colours) in [("light", &light), ("dark", &dark)] {
            for (text, back) in pairs {
                let l = |name: &str| {
                    luminance(&colours[name]).unwrap_or_else(|| panic!("{scheme} --{name}"))
                };
                let ratio = contrast(l(text), l(back));
                assert!(
                    ratio >= MIN_CONTRAST,
                    "{scheme}: --{text} on --{back} is {ratio:.2}:1"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_escape_html() {
        let resp = super::page(
            http::StatusCode::OK,
            "message.html",
            minijinja::context! { title => "<b>x</b>", brand => "A&B", message => "<script>", prefix => "/.mfagate/" },
        );
        assert_eq!(resp.headers()["cache-control"], "no-store");
    }
}
