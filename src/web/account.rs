//! Pages for a signed-in user: sessions and trusted devices (revocable), new backup codes
//! (after a fresh factor), logout, and the one-time token release for token logins.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use minijinja::context;

use super::complete::redirect_with_cookies;
use super::error::PageError;
use super::extract::{Posted, SignedIn};
use super::factors::{blocked_page, check_totp, new_backup_codes, regulated, Verdict};
use super::mfa_pages::codes_page;
use crate::audit::EventKind;
use crate::domain::Factor;
use crate::gate::auth::Auth;
use crate::gate::lifecycle::{EndReason, Ending, Revoke};
use crate::gate::login_intercept::token_document;
use crate::session::token::decode_device;
use crate::session::{clear_cookie, cookie_value, DEVICE_COOKIE, SESSION_COOKIE};
use crate::store::StoreResult;

pub async fn devices(
    s: SignedIn,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    // What the last action did, told once after its redirect (fixed texts, nothing echoed).
    let done = match q.get("done").map(String::as_str) {
        Some("session") => Some(s.base.w().get("done-session")),
        Some("device") => Some(s.base.w().get("done-device")),
        Some("passkey") => Some(s.base.w().get("done-passkey")),
        Some("passkey-removed") => Some(s.base.w().get("done-passkey-removed")),
        _ => None,
    };
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let sessions = auth.records.sessions(user).await?;
    let devices = auth.records.devices(user).await?;
    let backup_codes = auth.records.backup_codes(user).await?;
    let backup_remaining = backup_codes.map_or(0, |b| b.remaining());
    let this_device = cookie_value(&s.base.headers, DEVICE_COOKIE)
        .and_then(|v| decode_device(&auth.keys, v).ok());
    let sessions: Vec<_> = sessions
        .into_iter()
        .map(|r| {
            let (current, started) = (r.id == s.claims.sid, s.base.time(r.created_at));
            let envs = &auth.config.environments;
            let shown = envs.iter().find(|e| e.name == r.environment).map_or(r.environment.as_str(), |e| e.display_name.as_str());
            context! { id => r.id, label => r.device_label, environment => shown, started => started, ip => r.ip, current => current }
        })
        .collect();
    let devices: Vec<_> = devices
        .into_iter()
        .map(|d| {
            let current = this_device.as_deref() == Some(d.id.as_str());
            let (last_seen, until) = (s.base.time(d.last_seen), s.base.time(d.trusted_until));
            context! { id => d.id, label => d.label, last_seen => last_seen, ip => d.last_ip, until => until, current => current }
        })
        .collect();
    let passkeys: Vec<_> = auth
        .records
        .passkeys(user)
        .await?
        .into_iter()
        .map(|p| {
            let (added, used) = (s.base.time(p.created_at), p.last_used.map(|t| s.base.time(t)));
            context! { id => p.id, name => p.name, added => added, used => used, synced => p.backed_up }
        })
        .collect();
    let add_passkey = super::passkey_account::offered(&s);
    let admin = crate::gate::admin::Admin::may_administer(s.claims.who.role);
    let extra = context! { user => user, zone => s.base.zone().name(), sessions => sessions, devices => devices, passkeys => passkeys, add_passkey => add_passkey, backup_remaining => backup_remaining, admin => admin, done => done };
    Ok(s.base.render(
        StatusCode::OK,
        "devices.html",
        "your-sessions",
        &s.claims.sid,
        extra,
    ))
}

/// `POST {prefix}devices/revoke`: `kind=session|device`, `id` (the user's own only). A
/// device takes every session opened from it along.
pub async fn revoke(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let id = posted.field("id");
    let what = match posted.field("kind") {
        "device" => Revoke::Device(id),
        _ => Revoke::Session(id),
    };
    // This browser's own session: the jar as the dashboard last rotated it.
    let own = auth.session_jar(&s.claims, &s.base.headers).jar.lines();
    let from = (
        Some(s.base.facts.authority.as_str()),
        Some((s.claims.sid.as_str(), own)),
    );
    let done = match what {
        Revoke::Device(_) => "devices?done=device",
        Revoke::Session(_) => "devices?done=session",
    };
    auth.revoke_sessions(user, what, from, &s.base.audit(user))
        .await?;
    Ok(s.base.to(done))
}

/// `POST {prefix}backup-codes`: a fresh authenticator code buys a new set of backup codes.
pub async fn regenerate_backup_codes(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let ctx = s.base.audit(user);
    let code = posted.field("code");
    let fresh = regulated(
        &s.base,
        user,
        Factor::Totp,
        check_totp(auth, &ctx, user, code),
    );
    let plain = match fresh.await? {
        Verdict::Accepted => new_backup_codes(auth, user).await?,
        Verdict::Rejected {
            blocked_until: Some(until),
            ..
        }
        | Verdict::Blocked { until } => return Ok(blocked_page(&s.base, until)),
        Verdict::Rejected {
            blocked_until: None,
            left,
        } => {
            let back = format!("{}devices", s.base.prefix());
            let wrong = super::factors::with_tries_left(s.base.w(), "new-codes-wrong", left);
            return Ok(s.base.message_text(
                StatusCode::UNPROCESSABLE_ENTITY,
                "code-not-accepted",
                &wrong,
                Some((&back, "back")),
            ));
        }
    };
    auth.audit
        .record(ctx.event(EventKind::BackupCodesRegenerated))
        .await;
    let voice =
        crate::notify::messages::Voice::of(&auth.config.environments[s.base.facts.env_index]);
    auth.notify(user, |to| {
        crate::notify::messages::backup_codes_regenerated(to, &voice)
    })
    .await;
    Ok(codes_page(
        &s.base,
        (&s.claims.sid, &s.claims.user),
        &plain,
        "devices",
    ))
}

/// `POST {prefix}devices`: where the codes page's "continue" leads back to the list.
pub async fn back_to_devices(posted: Posted<SignedIn>) -> Response {
    posted.session.base.to("devices")
}

/// `POST {prefix}logout`: ends the gateway session and the dashboard's.
pub async fn logout(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    let (auth, claims) = (&s.base.auth, &s.claims);
    let env = &auth.config.environments[s.base.facts.env_index];
    // The jar as the dashboard last rotated it; the credential of the sign-in otherwise.
    let held = auth.session_jar(claims, &s.base.headers);
    let ending = Ending {
        user: &claims.user,
        sid: &claims.sid,
        jar: Some(held.jar.lines()),
        authority: Some(&s.base.facts.authority),
    };
    let ctx = s.base.audit(&claims.user).with_device(&claims.device);
    auth.end_session(ending, EndReason::Logout, ctx).await?;
    let mut cleared = vec![clear_cookie(SESSION_COOKIE, true)];
    cleared.extend(crate::session::jar::clear_chunks(
        crate::session::jar::SESSION_JAR,
        0,
        held.chunks,
    ));
    if let Some(login) = &env.login {
        cleared.extend(login.session_cookies.iter().map(|n| clear_cookie(n, false)));
    }
    Ok(redirect_with_cookies(s.base.login_page(), &cleared))
}

/// `GET {prefix}api/release`: the withheld token of a token login, exactly once, at the same
/// place in the JSON as the dashboard's login answer had it.
pub async fn release(s: SignedIn) -> Response {
    let auth = &s.base.auth;
    let env = &auth.config.environments[s.base.facts.env_index];
    let pointer = env.login.as_ref().and_then(|l| l.token_pointer.as_deref());
    let gone = || {
        (
            StatusCode::GONE,
            Json(serde_json::json!({"error": "already released"})),
        )
            .into_response()
    };
    let mut resp = match take_token(auth, &s.claims.sid).await {
        Ok(Some(token)) => Json(token_document(pointer, &token)).into_response(),
        Ok(None) => gone(),
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

/// The token parked for session `sid` at its release, taken: it is given out once.
pub(super) async fn take_token(auth: &Auth, sid: &str) -> StoreResult<Option<String>> {
    let sealed = auth.records.take_release(sid).await?;
    let token = sealed.and_then(|s| auth.keys.open(&s, sid.as_bytes()).ok());
    Ok(token.map(|t| String::from_utf8_lossy(&t).into_owned()))
}

/// What a browser whose session was ended elsewhere is told (`why` from the revocation;
/// fixed texts only, nothing from the URL is shown).
fn ended_because(why: &str) -> &'static str {
    match why {
        "revoked" => "why-revoked",
        "reset" => "why-reset",
        "admin" => "why-admin",
        "factor_changed" => "why-factor-changed",
        "recovered" => "why-recovered",
        "grace_ended" => "why-grace-ended",
        "inactive" => "why-inactive",
        "policy" => "why-policy",
        "signed_out" => "why-signed-out",
        _ => "why-other",
    }
}

/// `GET {prefix}signed-out?why=…`: why this browser is no longer signed in, and the way back.
pub async fn signed_out(
    base: super::extract::AnyPage,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let base = base.0;
    let why = ended_because(q.get("why").map_or("", String::as_str));
    let login = base.auth.config.environments[base.facts.env_index]
        .login
        .as_ref()
        .map_or("/", |l| l.login_page.as_str())
        .to_string();
    base.message(
        StatusCode::OK,
        "signed-out-title",
        why,
        Some((&login, "signed-out-again")),
    )
}
