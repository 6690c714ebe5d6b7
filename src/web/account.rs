//! Pages for a signed-in user: sessions and trusted devices (revocable), new backup codes
//! (after a fresh factor), logout, and the one-time token release for token logins.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use http::{HeaderMap, HeaderValue, StatusCode};
use minijinja::context;

use super::mfa_pages::{check_totp, codes_page, unavailable};
use super::templates::page;
use super::{csrf, message, RequestFacts};
use crate::audit::EventKind;
use crate::identity::auth::Auth;
use crate::mfa::backup_codes::BackupCodes;
use crate::proxy::upstream::UpstreamClient;
use crate::session::token::{decode_device, SessionClaims};
use crate::session::{clear_cookie, cookie_value, DEVICE_COOKIE, SESSION_COOKIE};
use crate::store::StoreError;

/// The upstream client of the worker serving the request, for calling the dashboard's logout.
#[derive(Clone)]
pub struct UpstreamHandle(pub UpstreamClient);

fn signed_in(auth: &Auth, facts: &RequestFacts, headers: &HeaderMap) -> Option<SessionClaims> {
    let env = &auth.config.environments[facts.env_index];
    auth.full_session(env, headers, auth.clock.now())
}

/// Where a request without a session goes: the dashboard's login.
fn to_login(auth: &Auth, facts: &RequestFacts) -> Response {
    let env = &auth.config.environments[facts.env_index];
    Redirect::to(env.login.as_ref().map_or("/", |l| l.login_page.as_str())).into_response()
}

fn when(unix: u64) -> String {
    // Minutes precision in UTC is enough to recognise a session.
    let secs = unix % 86_400;
    let days = unix / 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub async fn devices(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
) -> Response {
    let Some(claims) = signed_in(&auth, &facts, &headers) else {
        return to_login(&auth, &facts);
    };
    let user = &claims.user;
    let result: Result<_, StoreError> = async {
        Ok((
            auth.records.sessions(user).await?,
            auth.records.devices(user).await?,
            auth.records
                .backup_codes(user)
                .await?
                .map_or(0, |b| b.remaining()),
        ))
    }
    .await;
    let (sessions, devices, backup_remaining) = match result {
        Ok(r) => r,
        Err(e) => return unavailable(&auth, &facts, e),
    };
    let this_device =
        cookie_value(&headers, DEVICE_COOKIE).and_then(|v| decode_device(&auth.keys, v).ok());
    let sessions: Vec<_> = sessions
        .into_iter()
        .map(|s| {
            let current = s.id == claims.sid;
            let started = when(s.created_at);
            context! { id => s.id, label => s.device_label, environment => s.environment, started => started, ip => s.ip, current => current }
        })
        .collect();
    let devices: Vec<_> = devices
        .into_iter()
        .map(|d| {
            let current = this_device.as_deref() == Some(d.id.as_str());
            let (last_seen, until) = (when(d.last_seen), when(d.trusted_until));
            context! { id => d.id, label => d.label, last_seen => last_seen, ip => d.last_ip, until => until, current => current }
        })
        .collect();
    let env = &auth.config.environments[facts.env_index];
    page(
        StatusCode::OK,
        "devices.html",
        context! {
            title => "Your sessions and devices",
            brand => env.display_name,
            prefix => auth.config.gateway_prefix,
            user => user,
            sessions => sessions,
            devices => devices,
            backup_remaining => backup_remaining,
            csrf => csrf::token(&auth.keys, &claims.sid),
        },
    )
}

/// `POST {prefix}devices/revoke`: `kind=session|device`, `id`.
pub async fn revoke(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(claims) = signed_in(&auth, &facts, &headers) else {
        return to_login(&auth, &facts);
    };
    if !csrf::verify(
        &auth.keys,
        &claims.sid,
        &headers,
        &facts.authority,
        form.get("csrf").map(String::as_str),
    ) {
        return message(
            &auth,
            &facts,
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form expired or did not come from this site.",
            None,
        );
    }
    let user = claims.user.clone();
    let ctx = facts.audit(&auth).with_user(&user);
    let id = form.get("id").cloned().unwrap_or_default();
    let result: Result<EventKind, StoreError> = async {
        match form.get("kind").map(String::as_str) {
            Some("device") => {
                // Every session opened from that device ends with it.
                for s in auth.records.sessions(&user).await? {
                    if s.device_id == id {
                        auth.records.revoke_session(&user, &s.id).await?;
                        auth.live.close_session(&s.id);
                    }
                }
                auth.records.forget_device(&user, &id).await?;
                Ok(EventKind::DeviceRevoked)
            }
            _ => {
                // Only the user's own sessions can be named here.
                if auth.records.session(&user, &id).await?.is_some() {
                    auth.records.revoke_session(&user, &id).await?;
                    auth.live.close_session(&id);
                }
                Ok(EventKind::SessionRevoked)
            }
        }
    }
    .await;
    match result {
        Ok(kind) => {
            auth.audit.record(ctx.event(kind)).await;
            Redirect::to(&format!("{}devices", auth.config.gateway_prefix)).into_response()
        }
        Err(e) => unavailable(&auth, &facts, e),
    }
}

/// `POST {prefix}backup-codes`: a fresh authenticator code buys a new set of backup codes.
pub async fn regenerate_backup_codes(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(claims) = signed_in(&auth, &facts, &headers) else {
        return to_login(&auth, &facts);
    };
    if !csrf::verify(
        &auth.keys,
        &claims.sid,
        &headers,
        &facts.authority,
        form.get("csrf").map(String::as_str),
    ) {
        return message(
            &auth,
            &facts,
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form expired or did not come from this site.",
            None,
        );
    }
    let user = claims.user.clone();
    let ctx = facts.audit(&auth).with_user(&user);
    let result: Result<Option<Vec<String>>, StoreError> = async {
        if !check_totp(
            &auth,
            &ctx,
            &user,
            form.get("code").map_or("", String::as_str),
        )
        .await?
        {
            return Ok(None);
        }
        let previous = auth
            .records
            .backup_codes(&user)
            .await?
            .map_or(0, |b| b.generation);
        let (codes, plain) = BackupCodes::generate(&auth.keys, previous);
        auth.records.save_backup_codes(&user, &codes).await?;
        Ok(Some(plain))
    }
    .await;
    match result {
        Ok(Some(plain)) => {
            auth.audit
                .record(ctx.event(EventKind::BackupCodesRegenerated))
                .await;
            codes_page(
                &auth,
                &facts,
                &claims.sid,
                &plain,
                &format!("{}devices", auth.config.gateway_prefix),
            )
        }
        Ok(None) => {
            auth.audit.record(ctx.mfa_failure("totp")).await;
            message(
                &auth,
                &facts,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Code not accepted",
                "New backup codes need a current code from your authenticator app.",
                Some((&format!("{}devices", auth.config.gateway_prefix), "Back")),
            )
        }
        Err(e) => unavailable(&auth, &facts, e),
    }
}

/// `POST {prefix}devices` continue target after regenerating: back to the list.
pub async fn back_to_devices(State(auth): State<Arc<Auth>>) -> Response {
    Redirect::to(&format!("{}devices", auth.config.gateway_prefix)).into_response()
}

/// `POST {prefix}logout`: ends the gateway session and the dashboard's, everywhere it matters.
pub async fn logout(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    upstream: Option<Extension<UpstreamHandle>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let env = &auth.config.environments[facts.env_index];
    let Some(login) = &env.login else {
        return Redirect::to("/").into_response();
    };
    let mut resp = Redirect::to(&login.login_page).into_response();
    if let Some(claims) = auth.full_session(env, &headers, auth.clock.now()) {
        if !csrf::verify(
            &auth.keys,
            &claims.sid,
            &headers,
            &facts.authority,
            form.get("csrf").map(String::as_str),
        ) {
            return message(
                &auth,
                &facts,
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form expired or did not come from this site.",
                None,
            );
        }
        let session = auth
            .records
            .session(&claims.user, &claims.sid)
            .await
            .ok()
            .flatten();
        if let Err(e) = auth.records.revoke_session(&claims.user, &claims.sid).await {
            return unavailable(&auth, &facts, e);
        }
        auth.live.close_session(&claims.sid);
        if let (Some(route), Some(sealed), Some(Extension(UpstreamHandle(client)))) = (
            &login.logout,
            session.and_then(|s| s.sealed_credential),
            upstream,
        ) {
            if let Ok(credential) = auth.records.open_credential(&claims.user, &sealed) {
                crate::proxy::upstream::call_logout(
                    &client,
                    env,
                    route,
                    &credential,
                    &facts.authority,
                )
                .await;
            }
        }
        auth.audit
            .record(
                facts
                    .audit(&auth)
                    .with_user(&claims.user)
                    .event(EventKind::Logout),
            )
            .await;
    }
    let h = resp.headers_mut();
    let mut cleared = vec![clear_cookie(SESSION_COOKIE, true)];
    cleared.extend(login.session_cookies.iter().map(|n| clear_cookie(n, false)));
    for c in cleared {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(http::header::SET_COOKIE, v);
        }
    }
    super::templates::secure_headers(h);
    resp
}

/// `GET {prefix}api/release`: the withheld token of a token login, exactly once.
pub async fn release(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
) -> Response {
    let env = &auth.config.environments[facts.env_index];
    let Some(claims) = auth.full_session(env, &headers, auth.clock.now()) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "not signed in"})),
        )
            .into_response();
    };
    let mut resp = match auth.records.take_release(&claims.sid).await {
        Ok(Some(sealed)) => match auth.keys.open(&sealed, claims.sid.as_bytes()) {
            Ok(token) => Json(serde_json::json!({
                "authentication_token": String::from_utf8_lossy(&token),
            }))
            .into_response(),
            Err(_) => (
                StatusCode::GONE,
                Json(serde_json::json!({"error": "already released"})),
            )
                .into_response(),
        },
        Ok(None) => (
            StatusCode::GONE,
            Json(serde_json::json!({"error": "already released"})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "store unavailable for token release");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"error": "unavailable"})),
            )
                .into_response()
        }
    };
    super::templates::secure_headers(resp.headers_mut());
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_render_in_utc() {
        assert_eq!(super::when(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::when(1_700_000_000), "2023-11-14 22:13 UTC");
    }
}
