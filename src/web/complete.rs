//! The end of a second-factor step: trust this device, start the real session under a new id,
//! and release the withheld dashboard credential.

use axum::response::{IntoResponse, Redirect, Response};
use http::HeaderValue;

use super::error::PageError;
use super::extract::PendingPage;
use crate::audit::EventKind;
use crate::domain::{Factor, Who};
use crate::gate::login_flow::{start_session, NewSession, StartedSession};
use crate::session::jar::{read_chunks, SESSION_JAR};
use crate::session::token::{decode_device, encode_device, new_id};
use crate::session::{cookie_value, device, set_cookie, DEVICE_COOKIE};
use crate::store::StoreError;

pub async fn complete(page: &PendingPage, method: Factor) -> Result<Response, PageError> {
    let base = &page.base;
    let auth = &base.auth;
    let env = &auth.config.environments[base.facts.env_index];
    let now = auth.clock.now();
    // Taking the pending login makes completion single-use even under parallel submits.
    let login = match auth.records.take_pending(&page.claims.sid).await? {
        Some(l) => l,
        None => return Ok(PendingPage::expired(base)),
    };
    let user_agent = base
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let device_id = cookie_value(&base.headers, DEVICE_COOKIE)
        .and_then(|v| decode_device(&auth.keys, v).ok())
        .unwrap_or_else(|| new_id(&auth.keys));
    let ctx = base.audit(&login.user).with_device(&device_id);
    let trust_secs = env.sessions.device_trust.as_secs();
    let ip = &base.facts.ip;
    let result: Result<StartedSession, StoreError> = async {
        let existing = auth.records.device(&login.user, &device_id).await?;
        let record = device::trust(existing, &device_id, user_agent, ip, trust_secs, now);
        auth.records.save_device(&login.user, &record).await?;
        let credential = auth
            .records
            .open_credential(&login.user, &login.sealed_credential)?;
        let new = NewSession {
            user: &login.user,
            who: Who {
                factor: login.who.factor || auth.records.totp(&login.user).await?.is_some(),
                ..login.who.clone()
            },
            device_id: &device_id,
            device_label: &record.label,
            ip,
            mfa_at: Some(now),
            credential: Some(&credential),
            previous_jar_chunks: read_chunks(&base.headers, SESSION_JAR).1,
        };
        let session = start_session(auth, env, new, now).await?;
        if login.token_login {
            if let Some(token) = &credential.token {
                let sealed = auth.keys.seal(token.as_bytes(), session.sid.as_bytes());
                auth.records.park_release(&session.sid, &sealed).await?;
            }
        }
        Ok(session)
    }
    .await;
    let session = result?;
    auth.audit.record(ctx.mfa_success(method)).await;
    auth.audit.record(ctx.event(EventKind::DeviceTrusted)).await;
    let (label, when) = (device::label(user_agent), crate::clock::utc(now));
    auth.notify(&login.user, |to| {
        crate::notify::messages::device_trusted(to, &env.display_name, &label, ip, &when)
    });
    let mut cookies = vec![
        session.set_cookie,
        set_cookie(
            DEVICE_COOKIE,
            &encode_device(&auth.keys, &device_id),
            Some(trust_secs),
        ),
    ];
    // The dashboard's cookies go into the session's sealed jar, never to the browser; token
    // clients fetch their token once from the release endpoint.
    cookies.extend(session.jar_cookies);
    Ok(redirect_with_cookies(&login.next, &cookies))
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
