//! Gateway pages and endpoints served in-process under the reserved prefix. These never reach
//! the upstream dashboard.

pub mod account;
pub mod admin;
pub mod admin_api;
pub mod api;
pub mod complete;
pub mod csrf;
pub mod email_pages;
pub mod error;
pub mod exports;
pub mod exports_api;
pub mod extract;
pub mod factors;
pub mod mfa_pages;
pub mod passkey_account;
pub mod passkey_pages;
pub mod recovery;
pub mod security;
pub mod step_up;
pub mod templates;

use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, StatusCode};

use crate::gate::auth::Auth;

/// Facts about the request a gateway route serves; inserted by the pipeline.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub env_index: usize,
    pub display_name: String,
    pub ip: String,
    pub request_id: String,
    /// Host (and port) as the client addressed the gateway, for same-origin checks.
    pub authority: String,
    /// The client, described from its User-Agent for the activity log ("Chrome on macOS").
    pub agent: String,
    /// The environment's look, for pages rendered without the core (errors).
    pub branding: crate::config::model::Branding,
    /// The page's language: the browser's choice among those the gateway speaks, else the
    /// environment's.
    pub lang: crate::i18n::Lang,
}

impl RequestFacts {
    pub fn audit(&self, auth: &Auth) -> crate::audit::Context {
        crate::audit::Context {
            at_ms: auth.clock.now_ms(),
            environment: auth.config.environments[self.env_index].name.clone(),
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
            agent: Some(self.agent.clone()),
            ..Default::default()
        }
    }
}

/// The Router for everything under `prefix` (which starts and ends with `/`). Without `auth`
/// (no environment watches a login) only health and the stylesheet exist.
pub fn router(prefix: &str, auth: Option<Arc<Auth>>, jwks: Option<String>) -> Router {
    let p = |path: &str| format!("{prefix}{path}");
    let missing = {
        let prefix = prefix.to_string();
        move |req: Request| {
            let resp = not_found(&prefix, &req);
            async move { resp }
        }
    };
    let mut base = Router::new()
        .route(&p("health"), get(|| async { "ok" }))
        .route(&p("static/gate.css"), get(stylesheet))
        .route(&p("static/brand.css"), get(brand_stylesheet))
        .route(&p("static/passkey.js"), get(passkey_script))
        .route(&p("static/logo"), get(logo));
    if let Some(jwks) = jwks {
        // Public keys of the identity assertion, for dashboards that verify it.
        base = base.route(
            &p("jwks.json"),
            get(move || {
                let jwks = jwks.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], jwks) }
            }),
        );
    }
    let Some(auth) = auth else {
        return base.fallback(missing);
    };
    let openapi = api::openapi(prefix);
    base = base.route(
        &p("api/openapi.json"),
        get(move || {
            let doc = openapi.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], doc) }
        }),
    );
    let pages = Router::new()
        .route(prefix, get(mfa_pages::start))
        .route(
            &p("enroll"),
            get(mfa_pages::enroll_form).post(mfa_pages::enroll_submit),
        )
        .route(
            &p("verify"),
            get(mfa_pages::verify_form).post(mfa_pages::verify_submit),
        )
        .route(
            &p("backup"),
            get(mfa_pages::backup_form).post(mfa_pages::backup_submit),
        )
        .route(&p("continue"), post(mfa_pages::continue_login))
        .route(
            &p("passkey"),
            get(passkey_pages::sign_in_form).post(passkey_pages::sign_in_submit),
        )
        .route(
            &p("passkey/register"),
            get(passkey_pages::register_form).post(passkey_pages::register_submit),
        )
        .route(
            &p("passkeys/add"),
            get(passkey_account::add_form).post(passkey_account::add_submit),
        )
        .route(&p("passkeys/remove"), post(passkey_account::remove))
        .route(&p("step-up/passkey"), post(passkey_account::step_up_submit))
        .route(&p("email"), get(email_pages::email_form))
        .route(&p("email/send"), post(email_pages::send))
        .route(&p("email/verify"), post(email_pages::verify))
        .route(&p("offer"), get(email_pages::offer))
        .route(&p("step-up"), get(step_up::form).post(step_up::submit))
        .route(
            &p("devices"),
            get(account::devices).post(account::back_to_devices),
        )
        .route(&p("devices/revoke"), post(account::revoke))
        .route(&p("security"), get(security::page).post(security::back))
        .route(
            &p("security/authenticator"),
            get(security::authenticator_form).post(security::authenticator_submit),
        )
        .route(&p("security/turn-off"), post(security::turn_off))
        .route(&p("security/email"), post(security::email_codes))
        .route(&p("backup-codes"), post(account::regenerate_backup_codes))
        .route(&p("logout"), post(account::logout))
        .route(&p("signed-out"), get(account::signed_out))
        .route(&p("api/release"), get(account::release))
        .route(&p("admin"), get(|| async { Redirect::permanent("admin/") }))
        .route(&p("admin/"), get(admin::users))
        .route(&p("admin/user"), get(admin::user))
        .route(&p("admin/act"), post(admin::act))
        .route(&p("admin/recovery"), get(admin::recovery))
        .route(&p("admin/exports"), get(exports::page).post(exports::ask))
        .route(&p("admin/exports/download"), get(exports::download))
        .route(&p("recovery"), get(recovery::page).post(recovery::ask))
        .route(&p("recovery/confirm"), post(recovery::confirm))
        .route(&p("api/mfa"), get(api::state))
        .route(&p("api/mfa/email"), post(api::email))
        .route(&p("api/mfa/verify"), post(api::verify))
        .route(&p("api/mfa/passkey/options"), post(api::passkey_options))
        .route(
            &p("api/mfa/passkey/register/options"),
            post(api::passkey_register_options),
        )
        .route(&p("api/mfa/passkey/register"), post(api::passkey_register))
        .with_state(auth.clone())
        .layer(axum::middleware::from_fn_with_state(
            prefix.to_string(),
            error::render_page_errors,
        ));
    let api = admin_api::routes(prefix).with_state(auth);
    base.merge(pages).merge(api).fallback(missing)
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        templates::STYLESHEET,
    )
        .into_response()
}

/// The passkey pages' script, a first-party file (the only script the gateway serves).
async fn passkey_script() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=300"),
    ];
    let mut resp = (headers, templates::PASSKEY_SCRIPT).into_response();
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    resp
}

/// The requesting environment's brand colour as a stylesheet (empty without one).
async fn brand_stylesheet(req: Request) -> Response {
    let facts = req.extensions().get::<RequestFacts>();
    let css = facts
        .map(|f| templates::brand_css(&f.branding))
        .unwrap_or_default();
    let headers = [
        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=300"),
    ];
    (headers, css).into_response()
}

/// The requesting environment's logo file.
async fn logo(req: Request) -> Response {
    let facts = req.extensions().get::<RequestFacts>();
    let Some(logo) = facts.and_then(|f| f.branding.logo.clone()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let headers = [
        (header::CONTENT_TYPE, logo.content_type),
        (header::CACHE_CONTROL, "public, max-age=300"),
    ];
    let mut resp = (headers, logo.bytes.as_ref().clone()).into_response();
    // An SVG logo is shown as an image only, never as a document that could run script.
    let sandbox =
        http::HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox");
    resp.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, sandbox);
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    resp
}

fn not_found(prefix: &str, req: &Request) -> Response {
    let facts = req.extensions().get::<RequestFacts>();
    let problem = error::Problem {
        status: StatusCode::NOT_FOUND,
        message: "page-missing",
        lang: facts.map_or_else(Default::default, |f| f.lang),
        brand: facts.map_or("mfagate", |e| e.display_name.as_str()),
        prefix,
        json: false,
        branding: facts.map(|f| &f.branding),
    };
    problem.render()
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
