//! The passkey pages of a sign-in: finish it with a passkey, or register one (the first
//! factor of a new user, or the required passkey of a phishing-resistant role after another
//! factor proved the person). The ceremony's options travel in the form's `data-options`;
//! the page's one script (`static/passkey.js`) posts the browser's answer in the same
//! CSRF-checked form. Refused answers re-show the page with a new ceremony.

use axum::response::Response;
use http::StatusCode;
use minijinja::context;
use serde_json::Value;

use super::complete::{complete, trust_choice};
use super::error::PageError;
use super::extract::{PageBase, PendingPage, Posted};
use super::factors::{blocked_page, new_backup_codes, regulated, Verdict};
use super::mfa_pages::{already_confirmed, codes_page, email_allowed, mark_passed, status_for};
use crate::domain::Factor;
use crate::gate::login_flow::PENDING_TTL;
use crate::gate::passkeys::{Holder, Refusal};
use crate::mfa::passkey::Begun;
use crate::store::records::CeremonyPurpose;
use crate::store::StoreResult;

/// The ceremony holder of a pending sign-in.
pub(super) fn pending_holder(p: &PendingPage) -> Holder<'_> {
    Holder {
        env_index: p.base.facts.env_index,
        bound_to: &p.login.id,
        user: &p.login.user,
        role: p.claims.who.role,
        ends_at: p.login.created_at + PENDING_TTL.as_secs(),
        authority: &p.base.facts.authority,
    }
}

/// The browser's answer in a posted form (`credential`, JSON); `Null` when absent.
pub(super) fn answer_in(form_field: &str) -> Value {
    serde_json::from_str(form_field).unwrap_or(Value::Null)
}

/// Whether passkeys work on this page: the role may use them and the host serves them.
pub(super) fn offered(p: &PendingPage) -> bool {
    let facts = &p.base.facts;
    let role = p.claims.who.role;
    p.base
        .auth
        .offers_passkeys(facts.env_index, role, &facts.authority)
}

/// Whether this sign-in may register a passkey now: the person has no factor yet, or one
/// passed for this sign-in already (a phishing-resistant role's stepping stone).
pub(super) async fn may_register(p: &PendingPage) -> StoreResult<bool> {
    let records = &p.base.auth.records;
    Ok(offered(p)
        && (!records.has_factor(&p.login.user).await? || records.bridged(&p.login.id).await?))
}

/// The verify page of the authenticator app, when it may be used instead.
fn app_link(p: &PendingPage, has_totp: bool) -> Option<String> {
    (p.methods().totp && has_totp).then(|| format!("{}verify", p.base.prefix()))
}

/// A ceremony that cannot begin (an unreadable stored passkey or handle, a user name the
/// authenticator cannot carry): said plainly, never a redirect back to the start (a loop).
fn unavailable(base: &PageBase) -> Response {
    let status = StatusCode::SERVICE_UNAVAILABLE;
    base.message(status, "no-method-title", "no-method-text", None)
}

/// `GET {prefix}passkey`: sign in with a passkey (the first choice of a user who has one).
pub async fn sign_in_form(p: PendingPage) -> Result<Response, PageError> {
    sign_in_page(&p, None).await
}

async fn sign_in_page(p: &PendingPage, error: Option<&str>) -> Result<Response, PageError> {
    if !offered(p) {
        return Ok(p.base.to(""));
    }
    let auth = &p.base.auth;
    let holder = pending_holder(p);
    let Some(begun) = auth.begin_passkey(holder, CeremonyPurpose::SignIn).await? else {
        if auth.records.passkeys(&p.login.user).await?.is_empty() {
            return Ok(p.base.to("passkey/register"));
        }
        return Ok(unavailable(&p.base));
    };
    let has_totp = auth.records.totp(&p.login.user).await?.is_some();
    // Where only a passkey finishes the sign-in, the other factors are not offered here.
    let others = !p.methods().phishing_resistant;
    let extra = context! {
        action => format!("{}passkey", p.base.prefix()),
        options => begun.options.to_string(),
        user => p.login.user,
        app_link => app_link(p, has_totp).filter(|_| others),
        email_link => others && email_allowed(p),
        backup_link => others && p.methods().backup,
        error => error,
    };
    let status = status_for(error);
    Ok(p.base.render(
        status,
        "passkey.html",
        "passkey-title",
        &p.claims.sid,
        extra,
    ))
}

/// `POST {prefix}passkey`: the browser's answer; a passkey that passes finishes the sign-in.
pub async fn sign_in_submit(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    if !offered(p) {
        return Ok(p.base.to(""));
    }
    if let Some(page) = already_confirmed(p).await? {
        return Ok(page);
    }
    let answer = answer_in(posted.field("credential"));
    let user = p.login.user.as_str();
    let ctx = p.base.audit(user);
    let auth = &p.base.auth;
    let check = async {
        let finished = auth
            .finish_passkey(pending_holder(p), CeremonyPurpose::SignIn, &answer, &ctx)
            .await?;
        Ok(finished.is_ok())
    };
    match regulated(&p.base, user, Factor::Passkey, check).await? {
        Verdict::Accepted => complete(p, Factor::Passkey, trust_choice(&posted.form)).await,
        Verdict::Rejected {
            blocked_until: None,
            ..
        } => sign_in_page(p, Some(&p.base.w().get("passkey-refused"))).await,
        Verdict::Rejected {
            blocked_until: Some(until),
            ..
        }
        | Verdict::Blocked { until } => Ok(blocked_page(&p.base, until)),
    }
}

/// `GET {prefix}passkey/register`: register a passkey while signing in.
pub async fn register_form(p: PendingPage) -> Result<Response, PageError> {
    register_page(&p, None).await
}

async fn register_page(p: &PendingPage, error: Option<&str>) -> Result<Response, PageError> {
    if !may_register(p).await? {
        return Ok(p.base.to(""));
    }
    let auth = &p.base.auth;
    let holder = pending_holder(p);
    let Some(begun) = auth
        .begin_passkey(holder, CeremonyPurpose::Register)
        .await?
    else {
        return Ok(unavailable(&p.base));
    };
    let has_totp = auth.records.totp(&p.login.user).await?.is_some();
    let methods = p.methods();
    let app_link = (methods.totp && !methods.phishing_resistant && !has_totp)
        .then(|| format!("{}enroll", p.base.prefix()));
    let extra = registration_context(&p.base, &begun, "passkey/register", error);
    let extra = context! {
        user => p.login.user,
        required => methods.phishing_resistant,
        signing_in => true,
        app_link => app_link,
        ..extra
    };
    let status = status_for(error);
    Ok(p.base.render(
        status,
        "passkey_register.html",
        "passkey-register-title",
        &p.claims.sid,
        extra,
    ))
}

/// What every registration page shows: the form's target, the options and a suggested name
/// (the browser and system, as the devices page names them).
pub(super) fn registration_context(
    base: &PageBase,
    begun: &Begun,
    action: &str,
    error: Option<&str>,
) -> minijinja::Value {
    context! {
        action => format!("{}{action}", base.prefix()),
        options => begun.options.to_string(),
        name => base.facts.agent,
        error => error,
    }
}

/// Tells the user a second factor was set up for their account (as a new authenticator app
/// does): someone else with their password would be noticed.
pub(super) async fn tell_enrolled(p: &PendingPage) {
    let auth = &p.base.auth;
    let voice =
        crate::notify::messages::Voice::of(&auth.config.environments[p.base.facts.env_index]);
    let enrolled = |to: &str| crate::notify::messages::factor_enrolled(to, &voice);
    auth.notify(&p.login.user, enrolled).await;
}

/// The words for a refused registration.
pub(super) fn refused_registration(base: &PageBase, refusal: &Refusal) -> String {
    match refusal {
        Refusal::AlreadyRegistered => base.w().get("passkey-already"),
        _ => base.w().get("passkey-refused"),
    }
}

/// `POST {prefix}passkey/register`: the new passkey is this sign-in's factor. A user without
/// backup codes gets them first (as after setting up an authenticator app).
pub async fn register_submit(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    if !may_register(p).await? {
        return Ok(p.base.to(""));
    }
    let (auth, user) = (&p.base.auth, p.login.user.as_str());
    let answer = answer_in(posted.field("credential"));
    let ctx = p.base.audit(user);
    let holder = pending_holder(p);
    let name = posted.field("name");
    let registered = auth
        .finish_passkey_registration(holder, &answer, name, &ctx)
        .await?;
    if let Err(refusal) = registered {
        let words = refused_registration(&p.base, &refusal);
        return register_page(p, Some(&words)).await;
    }
    tell_enrolled(p).await;
    let has_codes = auth.records.backup_codes(user).await?.is_some();
    if p.methods().backup && !has_codes {
        let plain = new_backup_codes(auth, user).await?;
        mark_passed(&p.base, &p.login.id, Factor::PasskeyRegister).await?;
        return Ok(codes_page(
            &p.base,
            (&p.claims.sid, user),
            &plain,
            "continue",
        ));
    }
    complete(p, Factor::PasskeyRegister, trust_choice(&posted.form)).await
}
