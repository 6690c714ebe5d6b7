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
    ("security.html", include_str!("templates/security.html")),
];

pub const STYLESHEET: &str = include_str!("gate.css");

/// No scripts at all; styles and images only from the gateway itself (QR codes are data URIs).
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("built-in templates are valid");
        }
        env
    })
}

/// Renders a page with the security headers every gateway page needs.
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
