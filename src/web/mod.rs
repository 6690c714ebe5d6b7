//! Gateway pages and endpoints served in-process under the reserved prefix. These never reach
//! the upstream dashboard.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, StatusCode};

/// Which environment a gateway route is serving; inserted by the pipeline.
#[derive(Debug, Clone)]
pub struct EnvContext {
    pub index: usize,
    pub name: String,
    pub display_name: String,
}

/// The Router for everything under `prefix` (which starts and ends with `/`).
pub fn router(prefix: &str) -> Router {
    Router::new()
        .route(&format!("{prefix}health"), get(|| async { "ok" }))
        .fallback(not_found)
}

async fn not_found(req: Request) -> Response {
    let brand = req
        .extensions()
        .get::<EnvContext>()
        .map_or("mfagate", |e| e.display_name.as_str())
        .to_string();
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        error_page(StatusCode::NOT_FOUND, "This page does not exist.", &brand),
    )
        .into_response()
}

/// Minimal branded page for errors the gateway answers itself.
pub fn error_page(status: StatusCode, message: &str, brand: &str) -> String {
    let brand = escape(brand);
    let title = format!(
        "{} {}",
        status.as_u16(),
        escape(status.canonical_reason().unwrap_or("Error"))
    );
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · {brand}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2933}}\
         h1{{font-size:1.4rem}}p.brand{{color:#52606d}}</style></head>\
         <body><p class=\"brand\">{brand} · secured by mfagate</p><h1>{title}</h1><p>{}</p></body></html>",
        escape(message)
    )
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
