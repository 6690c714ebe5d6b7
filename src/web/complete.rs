//! The end of a second-factor step, as a page: the core's `complete_factor` does the work, this
//! redirects the browser with the cookies it returns.

use axum::response::{IntoResponse, Redirect, Response};
use http::HeaderValue;

use super::error::PageError;
use super::extract::PendingPage;
use crate::domain::Factor;
use crate::gate::complete::{Completion, Passed};
use crate::session::jar::{read_chunks, SESSION_JAR};
use crate::session::token::decode_device;
use crate::session::{cookie_value, DEVICE_COOKIE};
use crate::store::StoreResult;

/// The page's end of a second factor: the browser continues where it was going, with the
/// cookies of its new session.
pub async fn complete(
    page: &PendingPage,
    method: Factor,
    trust: Option<bool>,
) -> Result<Response, PageError> {
    Ok(match release(page, method, trust).await? {
        Completion::Released(r) => redirect_with_cookies(&r.next, &r.cookies),
        Completion::NotPending => PendingPage::expired(&page.base),
        Completion::PasskeyFirst => page.base.to("passkey/register"),
        Completion::PasskeyOnly => page.base.to(""),
    })
}

/// Completes the pending login of `page` after `method` passed. Taking the pending login
/// makes completion single-use even under parallel submits.
pub async fn release(
    page: &PendingPage,
    method: Factor,
    trust: Option<bool>,
) -> StoreResult<Completion> {
    let base = &page.base;
    let auth = &base.auth;
    let user_agent = base
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let passed = Passed {
        pending_sid: &page.claims.sid,
        factor: method,
        device_id: cookie_value(&base.headers, DEVICE_COOKIE)
            .and_then(|v| decode_device(&auth.keys, v).ok()),
        user_agent,
        ip: &base.facts.ip,
        jar_chunks: read_chunks(&base.headers, SESSION_JAR).1,
        ctx: base.facts.audit(auth),
        trust,
    };
    auth.complete_factor(base.facts.env_index, passed).await
}

/// The person's answer to "Trust this browser" on a form that asked (it sends `trust_asked`;
/// an unchecked box sends nothing), or `None` when the form did not ask.
pub fn trust_choice(form: &std::collections::HashMap<String, String>) -> Option<bool> {
    form.contains_key("trust_asked")
        .then(|| form.contains_key("trust"))
}

/// 303 to `to` setting `cookies`, with the gateway's page headers.
pub fn redirect_with_cookies(to: &str, cookies: &[String]) -> Response {
    let mut resp = Redirect::to(to).into_response();
    let h = resp.headers_mut();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(http::header::SET_COOKIE, v);
        }
    }
    super::templates::secure_headers(h);
    resp
}
