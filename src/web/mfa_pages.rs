//! The second-factor pages a browser sees between the dashboard accepting its password and
//! the dashboard session being released: enroll TOTP, verify TOTP, use a backup code, see new
//! backup codes once. Each POST checks CSRF; wrong codes re-show the page without detail.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use http::{HeaderMap, StatusCode};
use minijinja::context;

use super::templates::page;
use super::{csrf, message, RequestFacts};
use crate::identity::auth::Auth;
use crate::identity::login_flow::{start_session, StartedSession, PENDING_TTL};
use crate::mfa::backup_codes::BackupCodes;
use crate::mfa::qr;
use crate::mfa::totp::{self, TotpOutcome, SECRET_BYTES};
use crate::session::token::{decode_device, encode_device, new_id, SessionClaims};
use crate::session::{cookie_value, device, set_cookie, DEVICE_COOKIE};
use crate::store::records::PendingLogin;
use crate::store::StoreError;

/// Wrong codes allowed per pending login before it is dropped (the user signs in again).
const MAX_FAILURES: u64 = 5;

type Form_ = Form<HashMap<String, String>>;

/// What every MFA page handler starts from: the pending session and its login.
struct Pending {
    claims: SessionClaims,
    login: PendingLogin,
}

/// The pending login of this browser, or the page to show instead.
async fn pending(
    auth: &Auth,
    facts: &RequestFacts,
    headers: &HeaderMap,
) -> Result<Pending, Response> {
    let env = &auth.config.environments[facts.env_index];
    let now = auth.clock.now();
    let Some(claims) = auth.pending_session(env, headers, now) else {
        if auth.full_session(env, headers, now).is_some() {
            return Err(Redirect::to("/").into_response());
        }
        return Err(expired(auth, facts));
    };
    match auth.records.pending(&claims.sid).await {
        Ok(Some(login)) if login.user == claims.user => Ok(Pending { claims, login }),
        Ok(_) => Err(expired(auth, facts)),
        Err(e) => Err(unavailable(auth, facts, e)),
    }
}

fn expired(auth: &Auth, facts: &RequestFacts) -> Response {
    let login_page = auth.config.environments[facts.env_index]
        .login
        .as_ref()
        .map_or("/", |l| l.login_page.as_str());
    message(
        auth,
        facts,
        StatusCode::UNAUTHORIZED,
        "Sign-in expired",
        "Your sign-in is no longer waiting for a code. Please sign in again.",
        Some((login_page, "Sign in")),
    )
}

pub(super) fn unavailable(auth: &Auth, facts: &RequestFacts, e: StoreError) -> Response {
    tracing::error!(error = %e, "store unavailable during an MFA step");
    message(
        auth,
        facts,
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again shortly",
        "The sign-in service is temporarily unavailable. Nothing was changed.",
        None,
    )
}

fn csrf_ok(
    auth: &Auth,
    facts: &RequestFacts,
    sid: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> bool {
    csrf::verify(
        &auth.keys,
        sid,
        headers,
        &facts.authority,
        form.get("csrf").map(String::as_str),
    )
}

fn forbidden(auth: &Auth, facts: &RequestFacts) -> Response {
    message(
        auth,
        facts,
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form expired or did not come from this site. Go back and try again.",
        None,
    )
}

/// `GET {prefix}`: where the browser lands after the dashboard accepted its password.
pub async fn start(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
) -> Response {
    let p = match pending(&auth, &facts, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match auth.records.totp(&p.login.user).await {
        Ok(Some(_)) => {
            Redirect::to(&format!("{}verify", auth.config.gateway_prefix)).into_response()
        }
        Ok(None) => Redirect::to(&format!("{}enroll", auth.config.gateway_prefix)).into_response(),
        Err(e) => unavailable(&auth, &facts, e),
    }
}

fn enroll_page(
    auth: &Auth,
    facts: &RequestFacts,
    p: &Pending,
    secret: &[u8],
    error: Option<&str>,
) -> Response {
    let env = &auth.config.environments[facts.env_index];
    let uri = totp::otpauth_uri(secret, &env.display_name, &p.login.user);
    page(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        "enroll.html",
        context! {
            title => "Set up your authenticator app",
            brand => env.display_name,
            prefix => auth.config.gateway_prefix,
            user => p.login.user,
            qr => qr::png_data_uri(&uri).unwrap_or_default(),
            setup_key => totp::setup_key(secret),
            csrf => csrf::token(&auth.keys, &p.claims.sid),
            error => error,
        },
    )
}

/// `GET {prefix}enroll`: shows the QR code and setup key of a new (not yet active) seed.
pub async fn enroll_form(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
) -> Response {
    let p = match pending(&auth, &facts, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let user = &p.login.user;
    let result: Result<Vec<u8>, StoreError> = async {
        if auth.records.totp(user).await?.is_some() {
            return Ok(Vec::new());
        }
        if let Some(rec) = auth.records.pending_totp(user).await? {
            return auth.records.totp_secret(user, &rec);
        }
        let mut secret = vec![0u8; SECRET_BYTES];
        auth.keys.random(&mut secret);
        auth.records
            .begin_totp(user, &secret, auth.clock.now())
            .await?;
        Ok(secret)
    }
    .await;
    match result {
        Ok(secret) if secret.is_empty() => {
            Redirect::to(&format!("{}verify", auth.config.gateway_prefix)).into_response()
        }
        Ok(secret) => enroll_page(&auth, &facts, &p, &secret, None),
        Err(e) => unavailable(&auth, &facts, e),
    }
}

/// `POST {prefix}enroll`: activates the seed when the code is right, then shows backup codes.
pub async fn enroll_submit(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
    Form(form): Form_,
) -> Response {
    let p = match pending(&auth, &facts, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !csrf_ok(&auth, &facts, &p.claims.sid, &headers, &form) {
        return forbidden(&auth, &facts);
    }
    let user = p.login.user.clone();
    let ctx = facts.audit(&auth).with_user(&user);
    let now = auth.clock.now();
    let record = match auth.records.pending_totp(&user).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Redirect::to(&format!("{}enroll", auth.config.gateway_prefix)).into_response()
        }
        Err(e) => return unavailable(&auth, &facts, e),
    };
    let secret = match auth.records.totp_secret(&user, &record) {
        Ok(s) => s,
        Err(e) => return unavailable(&auth, &facts, e),
    };
    let code = form.get("code").map_or("", String::as_str);
    let TotpOutcome::Accepted { step, state } = totp::verify(&secret, code, now, record.state)
    else {
        auth.audit.record(ctx.mfa_failure("totp_enroll")).await;
        if let Some(r) = count_failure(&auth, &facts, &p).await {
            return r;
        }
        return enroll_page(
            &auth,
            &facts,
            &p,
            &secret,
            Some("That code did not match. Check the time on your phone and try the current code."),
        );
    };
    let result: Result<Vec<String>, StoreError> = async {
        auth.records.claim_totp_step(&user, step).await?;
        let active = crate::store::records::TotpRecord { state, ..record };
        auth.records.activate_totp(&user, &active).await?;
        let previous = auth
            .records
            .backup_codes(&user)
            .await?
            .map_or(0, |b| b.generation);
        let (codes, plain) = BackupCodes::generate(&auth.keys, previous);
        auth.records.save_backup_codes(&user, &codes).await?;
        mark_passed(&auth, &p.login.id).await?;
        Ok(plain)
    }
    .await;
    match result {
        Ok(plain) => {
            auth.audit
                .record(ctx.event(crate::audit::EventKind::TotpEnrolled))
                .await;
            auth.audit.record(ctx.mfa_success("totp")).await;
            codes_page(
                &auth,
                &facts,
                &p.claims.sid,
                &plain,
                &format!("{}continue", auth.config.gateway_prefix),
            )
        }
        Err(e) => unavailable(&auth, &facts, e),
    }
}

pub(super) fn codes_page(
    auth: &Auth,
    facts: &RequestFacts,
    sid: &str,
    plain: &[String],
    continue_action: &str,
) -> Response {
    let env = &auth.config.environments[facts.env_index];
    page(
        StatusCode::OK,
        "codes.html",
        context! {
            title => "Your backup codes",
            brand => env.display_name,
            prefix => auth.config.gateway_prefix,
            codes => plain,
            download => plain.join("\n") + "\n",
            continue_action => continue_action,
            csrf => csrf::token(&auth.keys, sid),
        },
    )
}

/// The second factor passed during enrollment; `continue` may now complete the login.
async fn mark_passed(auth: &Auth, pending_id: &str) -> Result<(), StoreError> {
    auth.records
        .store
        .put(
            &format!("pending-passed:{pending_id}"),
            b"1",
            Some(PENDING_TTL),
        )
        .await
}

/// Counts a wrong code; after too many the pending login is dropped.
async fn count_failure(auth: &Auth, facts: &RequestFacts, p: &Pending) -> Option<Response> {
    let key = format!("pending-fail:{}", p.login.id);
    match auth.records.store.incr(&key, Some(PENDING_TTL)).await {
        Ok(n) if n >= MAX_FAILURES => {
            let _ = auth.records.take_pending(&p.login.id).await;
            Some(message(
                auth,
                facts,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many wrong codes",
                "For your security this sign-in was cancelled. Please sign in again.",
                auth.config.environments[facts.env_index]
                    .login
                    .as_ref()
                    .map(|l| (l.login_page.as_str(), "Sign in")),
            ))
        }
        Ok(_) => None,
        Err(e) => Some(unavailable(auth, facts, e)),
    }
}

/// `POST {prefix}continue`: after the backup codes were shown.
pub async fn continue_login(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
    Form(form): Form_,
) -> Response {
    let p = match pending(&auth, &facts, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !csrf_ok(&auth, &facts, &p.claims.sid, &headers, &form) {
        return forbidden(&auth, &facts);
    }
    match auth
        .records
        .store
        .take(&format!("pending-passed:{}", p.login.id))
        .await
    {
        Ok(Some(_)) => complete(&auth, &facts, &headers, &p.claims.sid, "totp").await,
        Ok(None) => Redirect::to(&auth.config.gateway_prefix).into_response(),
        Err(e) => unavailable(&auth, &facts, e),
    }
}

fn verify_page(auth: &Auth, facts: &RequestFacts, p: &Pending, error: Option<&str>) -> Response {
    let env = &auth.config.environments[facts.env_index];
    page(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        "verify.html",
        context! {
            title => "Enter your code",
            brand => env.display_name,
            prefix => auth.config.gateway_prefix,
            action => format!("{}verify", auth.config.gateway_prefix),
            button => "Verify",
            backup_link => true,
            user => p.login.user,
            csrf => csrf::token(&auth.keys, &p.claims.sid),
            error => error,
        },
    )
}

pub async fn verify_form(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
) -> Response {
    match pending(&auth, &facts, &headers).await {
        Ok(p) => verify_page(&auth, &facts, &p, None),
        Err(r) => r,
    }
}

/// Checks a TOTP code for `user` at `now`, claiming its step; `Ok(true)` on success.
pub(super) async fn check_totp(
    auth: &Auth,
    ctx: &crate::audit::Context,
    user: &str,
    code: &str,
) -> Result<bool, StoreError> {
    let Some(mut record) = auth.records.totp(user).await? else {
        return Ok(false);
    };
    let secret = auth.records.totp_secret(user, &record)?;
    match totp::verify(&secret, code, auth.clock.now(), record.state) {
        TotpOutcome::Accepted { step, state } => {
            if !auth.records.claim_totp_step(user, step).await? {
                auth.audit
                    .record(ctx.event(crate::audit::EventKind::TotpReplay))
                    .await;
                return Ok(false);
            }
            record.state = state;
            auth.records.save_totp_state(user, &record).await?;
            Ok(true)
        }
        TotpOutcome::Replayed => {
            auth.audit
                .record(ctx.event(crate::audit::EventKind::TotpReplay))
                .await;
            Ok(false)
        }
        TotpOutcome::Invalid => Ok(false),
    }
}

pub async fn verify_submit(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
    Form(form): Form_,
) -> Response {
    let p = match pending(&auth, &facts, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !csrf_ok(&auth, &facts, &p.claims.sid, &headers, &form) {
        return forbidden(&auth, &facts);
    }
    let ctx = facts.audit(&auth).with_user(&p.login.user);
    match check_totp(
        &auth,
        &ctx,
        &p.login.user,
        form.get("code").map_or("", String::as_str),
    )
    .await
    {
        Ok(true) => complete(&auth, &facts, &headers, &p.claims.sid, "totp").await,
        Ok(false) => {
            auth.audit.record(ctx.mfa_failure("totp")).await;
            if let Some(r) = count_failure(&auth, &facts, &p).await {
                return r;
            }
            verify_page(
                &auth,
                &facts,
                &p,
                Some("That code did not work. Wait for a new code and try again."),
            )
        }
        Err(e) => unavailable(&auth, &facts, e),
    }
}

fn backup_page(auth: &Auth, facts: &RequestFacts, p: &Pending, error: Option<&str>) -> Response {
    let env = &auth.config.environments[facts.env_index];
    page(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        "backup.html",
        context! {
            title => "Use a backup code",
            brand => env.display_name,
            prefix => auth.config.gateway_prefix,
            csrf => csrf::token(&auth.keys, &p.claims.sid),
            error => error,
        },
    )
}

pub async fn backup_form(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
) -> Response {
    match pending(&auth, &facts, &headers).await {
        Ok(p) => backup_page(&auth, &facts, &p, None),
        Err(r) => r,
    }
}

pub async fn backup_submit(
    State(auth): State<Arc<Auth>>,
    Extension(facts): Extension<RequestFacts>,
    headers: HeaderMap,
    Form(form): Form_,
) -> Response {
    let p = match pending(&auth, &facts, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !csrf_ok(&auth, &facts, &p.claims.sid, &headers, &form) {
        return forbidden(&auth, &facts);
    }
    let user = p.login.user.clone();
    let ctx = facts.audit(&auth).with_user(&user);
    let code = form.get("code").map_or("", String::as_str);
    let result: Result<Option<usize>, StoreError> = async {
        let Some(codes) = auth.records.backup_codes(&user).await? else {
            return Ok(None);
        };
        let Some((index, next)) = codes.verify(code, auth.clock.now()) else {
            return Ok(None);
        };
        if !auth
            .records
            .claim_backup_code(&user, codes.generation, index)
            .await?
        {
            return Ok(None);
        }
        auth.records.save_backup_codes(&user, &next).await?;
        Ok(Some(next.remaining()))
    }
    .await;
    match result {
        Ok(Some(remaining)) => {
            auth.audit
                .record(ctx.event(crate::audit::EventKind::BackupCodeUsed { remaining }))
                .await;
            complete(&auth, &facts, &headers, &p.claims.sid, "backup_code").await
        }
        Ok(None) => {
            auth.audit.record(ctx.mfa_failure("backup_code")).await;
            if let Some(r) = count_failure(&auth, &facts, &p).await {
                return r;
            }
            backup_page(&auth, &facts, &p, Some("That backup code did not work."))
        }
        Err(e) => unavailable(&auth, &facts, e),
    }
}

/// The second factor passed: trust this device, start the real session with a new id, and
/// release the withheld dashboard credential.
async fn complete(
    auth: &Auth,
    facts: &RequestFacts,
    headers: &HeaderMap,
    pending_id: &str,
    method: &str,
) -> Response {
    let env = &auth.config.environments[facts.env_index];
    let now = auth.clock.now();
    // Taking the pending login makes completion single-use even under parallel submits.
    let login = match auth.records.take_pending(pending_id).await {
        Ok(Some(l)) => l,
        Ok(None) => return expired(auth, facts),
        Err(e) => return unavailable(auth, facts, e),
    };
    let ctx = facts.audit(auth).with_user(&login.user);
    let user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let device_id = cookie_value(headers, DEVICE_COOKIE)
        .and_then(|v| decode_device(&auth.keys, v).ok())
        .unwrap_or_else(|| new_id(&auth.keys));
    let trust_secs = env.sessions.device_trust.as_secs();
    let result: Result<(StartedSession, crate::store::records::WithheldCredential), StoreError> =
        async {
            let existing = auth.records.device(&login.user, &device_id).await?;
            let record =
                device::trust(existing, &device_id, user_agent, &facts.ip, trust_secs, now);
            auth.records.save_device(&login.user, &record).await?;
            let credential = auth
                .records
                .open_credential(&login.user, &login.sealed_credential)?;
            let session = start_session(
                auth,
                env,
                &login.user,
                &device_id,
                &record.label,
                &facts.ip,
                Some(now),
                Some(&credential),
                now,
            )
            .await?;
            Ok((session, credential))
        }
        .await;
    let (session, credential) = match result {
        Ok(r) => r,
        Err(e) => return unavailable(auth, facts, e),
    };
    auth.audit.record(ctx.mfa_success(method)).await;
    auth.audit
        .record(ctx.event(crate::audit::EventKind::DeviceTrusted))
        .await;
    let mut resp = Redirect::to(&login.next).into_response();
    let h = resp.headers_mut();
    let mut cookies = vec![
        session.set_cookie.clone(),
        set_cookie(
            DEVICE_COOKIE,
            &encode_device(&auth.keys, &device_id),
            Some(trust_secs),
        ),
    ];
    if login.token_login {
        if let Some(token) = &credential.token {
            let sealed = auth.keys.seal(token.as_bytes(), session.sid.as_bytes());
            if let Err(e) = auth.records.park_release(&session.sid, &sealed).await {
                return unavailable(auth, facts, e);
            }
        }
    } else {
        cookies.extend(credential.set_cookies.iter().cloned());
    }
    for c in cookies {
        if let Ok(v) = http::HeaderValue::from_str(&c) {
            h.append(http::header::SET_COOKIE, v);
        }
    }
    super::templates::secure_headers(h);
    resp
}
