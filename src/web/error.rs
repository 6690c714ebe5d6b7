//! Every answer the gateway makes about a problem, rendered in one place: an HTML page from
//! the same templates and security headers as the gateway's other pages, or JSON for API
//! clients. The proxy's refusals (403, 502, 421, …), the pages' "try again" and the unknown
//! gateway path all come through here.
//!
//! Page handlers return `Result<Response, PageError>` and use `?`: the error carries no
//! rendering context, so the router's `render_page_errors` layer renders it with the
//! request's brand.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use minijinja::context;

use super::templates;
use super::RequestFacts;
use crate::store::StoreError;

/// A problem to tell a client about.
pub struct Problem<'a> {
    pub status: StatusCode,
    /// The catalogue key of the sentence the user sees; never internal detail.
    pub message: &'a str,
    /// The language it is shown in.
    pub lang: crate::i18n::Lang,
    /// The environment's display name ("mfagate" outside any environment).
    pub brand: &'a str,
    /// The gateway prefix, for the page's stylesheet.
    pub prefix: &'a str,
    /// The environment's logo, colour and support contact, when the request has one.
    pub branding: Option<&'a crate::config::model::Branding>,
    pub json: bool,
}

impl Problem<'_> {
    /// The status's name in the page's language (the standard English one for the rest).
    fn reason(&self) -> String {
        let key = match self.status.as_u16() {
            400 => "status-400",
            401 => "status-401",
            403 => "status-403",
            404 => "status-404",
            413 => "status-413",
            421 => "status-421",
            429 => "status-429",
            500 => "status-500",
            502 => "status-502",
            503 => "status-503",
            504 => "status-504",
            _ => return self.status.canonical_reason().unwrap_or("Error").into(),
        };
        crate::i18n::text(self.lang, key, &[])
    }

    pub fn render(&self) -> Response {
        let status = self.status;
        let reason = status.canonical_reason().unwrap_or("Error");
        let message = crate::i18n::text(self.lang, self.message, &[]);
        let mut resp = if self.json {
            let body = serde_json::json!({
                "error": reason,
                "status": status.as_u16(),
                "message": message,
            });
            let mut r = (status, body.to_string()).into_response();
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        } else {
            let title = format!("{} {}", status.as_u16(), self.reason());
            let ctx = context! {
                title => title, brand => self.brand, prefix => self.prefix, message => message,
                lang => self.lang.tag(),
                branding => templates::branding(self.branding),
            };
            templates::page(status, "message.html", ctx)
        };
        templates::secure_headers(resp.headers_mut());
        resp
    }
}

/// Why a gateway page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The store did not answer: nothing was changed, the user may try again.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Marks a response the error layer renders.
#[derive(Clone, Copy)]
struct Unrendered(StatusCode);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "store unavailable during an account step");
        let status = StatusCode::SERVICE_UNAVAILABLE;
        let mut resp = status.into_response();
        resp.extensions_mut().insert(Unrendered(status));
        resp
    }
}

/// The sentence's key for an unrendered page error.
fn page_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "went-wrong",
    }
}

/// Router layer: renders a `PageError` with the request's brand and prefix.
pub async fn render_page_errors(
    State(prefix): State<String>,
    req: Request,
    next: Next,
) -> Response {
    let facts = req.extensions().get::<RequestFacts>();
    let brand = facts.map_or("mfagate".to_string(), |f| f.display_name.clone());
    let branding = facts.map(|f| f.branding.clone());
    let lang = facts.map_or_else(Default::default, |f| f.lang);
    let resp = next.run(req).await;
    let Some(Unrendered(status)) = resp.extensions().get::<Unrendered>().copied() else {
        return resp;
    };
    let problem = Problem {
        status,
        message: page_message(status),
        lang,
        brand: &brand,
        prefix: &prefix,
        json: false,
        branding: branding.as_ref(),
    };
    let mut resp = problem.render();
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    resp
}
