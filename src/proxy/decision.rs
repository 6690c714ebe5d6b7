//! Phase "act" for a request the policy refuses: the answers the gateway makes itself
//! (sign in first, step up, 403, forced logout, a credential that is not the request's own).
//! The decision is the policy's; this only turns it into HTTP.

use axum::body::Body;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};

use super::drain::Drained;
use super::phases::{RequestCtx, Watched};
use super::pipeline::page_lang;
use crate::audit::EventKind;
use crate::config::{Environment, LoginConfig};
use crate::gate::identify::Identity;
use crate::gate::lifecycle::{EndReason, Ending};
use crate::policy::{Challenge, Decision, Unbound};
use crate::session::token::SessionClaims;
use crate::session::{clear_cookie, cookie_value, SESSION_COOKIE};
use crate::web::error::Problem;

/// The answer to a refused request.
pub(super) async fn refuse(
    w: Watched<'_>,
    ctx: &RequestCtx<'_>,
    identity: &Identity,
    decision: Decision,
    req: &Request<Drained>,
) -> Response<Body> {
    let headers = req.headers();
    let claims = identity.session();
    match (decision, claims) {
        (Decision::Challenge(Challenge::StepUp), _) => step_up(w, ctx),
        (Decision::Deny(reason), _) => {
            let user = claims.map_or("-", |c| c.user.as_str());
            tracing::info!(%user, reason, "request denied by policy");
            let lang = page_lang(Some(ctx.env), headers.get(http::header::ACCEPT_LANGUAGE));
            forbidden(ctx.env, &w.auth.config.gateway_prefix, ctx.json, lang)
        }
        (Decision::RefuseCredential(unbound), _) => {
            let kind = match unbound {
                Unbound::WithoutSession => EventKind::CredentialWithoutSession,
                Unbound::NotThisSession => EventKind::TokenNotBound,
            };
            refuse_credential(w, ctx, headers, kind).await
        }
        (Decision::ForceLogout(reason), Some(claims)) => {
            force_logout(w, ctx, claims, headers, reason).await
        }
        // A signed-in session that no longer satisfies the policy signs in again.
        (Decision::Challenge(_) | Decision::Login, Some(claims)) => {
            force_logout(w, ctx, claims, headers, "second factor required").await
        }
        // Nobody to sign out: sign in first, and come back here afterwards.
        _ => {
            let back = return_to(w.login, ctx, req);
            to_login(
                w.login,
                back.as_deref().unwrap_or(&w.login.login_page),
                ctx.json,
                &[],
            )
        }
    }
}

/// The login page with the page a browser asked for as its return-to parameter (in the
/// dashboard's own name for it), for page loads (GET/HEAD) other than the login page itself.
fn return_to(login: &LoginConfig, ctx: &RequestCtx<'_>, req: &Request<Drained>) -> Option<String> {
    let page_load = matches!(*req.method(), http::Method::GET | http::Method::HEAD);
    if ctx.json || !page_load || login.login_page_pattern.matches(&ctx.canon) {
        return None;
    }
    let here: String =
        form_urlencoded::byte_serialize(ctx.path_and_query.as_str().as_bytes()).collect();
    let joiner = if login.login_page.contains('?') {
        '&'
    } else {
        '?'
    };
    Some(format!(
        "{}{joiner}{}={here}",
        login.login_page, login.next_param
    ))
}

fn step_up(w: Watched<'_>, ctx: &RequestCtx<'_>) -> Response<Body> {
    let prefix = &w.auth.config.gateway_prefix;
    let pq = ctx.path_and_query.as_str();
    let next: String = form_urlencoded::byte_serialize(pq.as_bytes()).collect();
    let url = format!("{prefix}step-up?next={next}");
    if ctx.json {
        let body = serde_json::json!({"mfa_required": true, "step_up": true, "mfa_url": url});
        return json(StatusCode::UNAUTHORIZED, body);
    }
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(&url) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp
}

/// Ends the session everywhere (the dashboard's too) and sends the browser to sign in again.
async fn force_logout(
    w: Watched<'_>,
    ctx: &RequestCtx<'_>,
    claims: &SessionClaims,
    headers: &HeaderMap,
    reason: &'static str,
) -> Response<Body> {
    let auth = w.auth;
    let held = auth.session_jar(claims, headers);
    let ending = Ending {
        user: &claims.user,
        sid: &claims.sid,
        jar: Some(held.jar.lines()),
        authority: Some(&ctx.authority),
    };
    let audit = ctx.audit(auth);
    let audit = audit.with_user(&claims.user).with_device(&claims.device);
    if let Err(e) = auth
        .end_session(ending, EndReason::Policy(reason), audit)
        .await
    {
        tracing::error!(error = %e, "could not record a forced logout; refusing the request anyway");
    }
    let mut cleared = vec![clear_cookie(SESSION_COOKIE, true)];
    let dashboard = w.login.session_cookies.iter();
    cleared.extend(dashboard.map(|n| clear_cookie(n, false)));
    to_login(w.login, &w.login.login_page, ctx.json, &cleared)
}

/// A dashboard credential without a gateway session is never forwarded: the dashboard's cookies
/// are cleared and the browser goes to the dashboard's login (API clients get 401 JSON).
async fn refuse_credential(
    w: Watched<'_>,
    ctx: &RequestCtx<'_>,
    headers: &HeaderMap,
    kind: EventKind,
) -> Response<Body> {
    let audit = ctx.audit(w.auth);
    w.auth.audit.record(audit.event(kind)).await;
    let dashboard = w.login.session_cookies.iter();
    let mut cleared: Vec<String> = dashboard.map(|n| clear_cookie(n, false)).collect();
    if cookie_value(headers, SESSION_COOKIE).is_some() {
        cleared.push(clear_cookie(SESSION_COOKIE, true));
    }
    to_login(w.login, &w.login.login_page, ctx.json, &cleared)
}

/// Sends a browser to `to`, the dashboard's login page (303), or tells an API client 401 in
/// JSON, setting `cookies` (typically deletions) on the way.
pub(super) fn to_login(
    login: &LoginConfig,
    to: &str,
    json_wanted: bool,
    cookies: &[String],
) -> Response<Body> {
    let mut resp = if json_wanted {
        let body =
            serde_json::json!({"error": "authentication required", "login_url": login.login_page});
        json(StatusCode::UNAUTHORIZED, body)
    } else {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = HeaderValue::from_str(to) {
            r.headers_mut().insert(LOCATION, v);
        }
        r
    };
    let h = resp.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(SET_COOKIE, v);
        }
    }
    resp
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// 403 for a request the policy refuses (HTML page or JSON).
pub(super) fn forbidden(
    env: &Environment,
    prefix: &str,
    json: bool,
    lang: crate::i18n::Lang,
) -> Response<Body> {
    let problem = Problem {
        status: StatusCode::FORBIDDEN,
        message: "problem-forbidden-role",
        lang,
        brand: &env.display_name,
        prefix,
        json,
        branding: Some(&env.branding),
    };
    problem.render()
}
