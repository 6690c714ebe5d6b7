//! The user's own security page, `{prefix}security`: the factors set up, opting in where MFA
//! is optional, replacing the authenticator (a new phone: the old one works until the new
//! one is confirmed), and turning two-factor authentication off where no environment of the
//! user requires it. A change to an existing factor first needs a fresh one (step-up). The
//! rules and their effects are the core's (`gate::self_service`).

use axum::response::Response;
use http::StatusCode;
use minijinja::context;

use super::error::PageError;
use super::extract::{Posted, SignedIn};
use super::factors::{blocked_page, confirm_seed, new_backup_codes, seed_to_confirm, Confirmed};
use super::mfa_pages::{codes_page, WRONG_SEED_CODE};
use crate::gate::self_service::Change;
use crate::mfa::qr;
use crate::mfa::totp;

const PAGE: &str = "security";
const AUTHENTICATOR: &str = "security/authenticator";

/// This browser, as the email names it (from its User-Agent).
fn label(s: &SignedIn) -> String {
    let ua = s.base.headers.get(http::header::USER_AGENT);
    crate::session::device::label(ua.and_then(|v| v.to_str().ok()).unwrap_or(""))
}

/// `GET {prefix}security`.
pub async fn page(s: SignedIn) -> Result<Response, PageError> {
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let totp = auth.records.totp(user).await?;
    let backup = auth.records.backup_codes(user).await?;
    let email = auth.code_address(user).await?;
    let required = !auth.may_turn_off(user, s.base.facts.env_index).await?;
    let methods = auth.config.environments[s.base.facts.env_index].methods_for(s.claims.who.role);
    let email_off = auth.records.email_codes_off(user).await?;
    let passkeys = auth.records.passkeys(user).await?.len();
    let extra = context! {
        passkeys => passkeys,
        passkey_method => super::passkey_account::offered(&s),
        user => user,
        zone => s.base.zone().name(),
        totp => totp.is_some(),
        totp_added => totp.as_ref().map(|t| s.base.time(t.enrolled_at)),
        totp_used => totp.as_ref().filter(|t| t.state.last_step > 0).map(|t| s.base.time(t.state.last_step * 30)),
        email => email.as_deref().map(super::email_pages::masked),
        backup_left => backup.map(|b| b.remaining()),
        required => required,
        email_method => methods.email && email.is_some(),
        email_on => !email_off,
    };
    Ok(s.base.render(
        StatusCode::OK,
        "security.html",
        "security-title",
        &s.claims.sid,
        extra,
    ))
}

/// `POST {prefix}security`: the way back after new backup codes were shown.
pub async fn back(posted: Posted<SignedIn>) -> Response {
    posted.session.base.to(PAGE)
}

fn enroll_page(s: &SignedIn, secret: &[u8], replacing: bool, error: Option<&str>) -> Response {
    let env = &s.base.auth.config.environments[s.base.facts.env_index];
    let uri = totp::otpauth_uri(secret, &env.display_name, &s.claims.user);
    let extra = context! {
        user => s.claims.user,
        qr => qr::svg_data_uri(&uri).unwrap_or_default(),
        otpauth => uri,
        setup_key => totp::setup_key(secret),
        enroll_action => format!("{}{AUTHENTICATOR}", s.base.prefix()),
        replacing => replacing,
        opting_in => !replacing,
        error => error,
    };
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let title = "enroll-title";
    s.base
        .render(status, "enroll.html", title, &s.claims.sid, extra)
}

/// `GET {prefix}security/authenticator`: a new seed to scan; replacing one needs a fresh
/// factor first.
pub async fn authenticator_form(s: SignedIn) -> Result<Response, PageError> {
    let replacing = s.base.auth.records.totp(&s.claims.user).await?.is_some();
    // Beside any factor (a passkey), a new one needs that factor freshly, too.
    let beside = s.base.auth.records.has_factor(&s.claims.user).await?;
    if beside && !s.fresh() {
        return Ok(s.step_up(&format!("{}{AUTHENTICATOR}", s.base.prefix())));
    }
    let secret = seed_to_confirm(&s.base.auth, &s.claims.user).await?;
    Ok(enroll_page(&s, &secret, replacing, None))
}

/// `POST {prefix}security/authenticator`: a code from the new app makes it the factor (the
/// old one stops working only now); a first authenticator comes with backup codes.
pub async fn authenticator_submit(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let old = auth.records.totp(user).await?;
    if auth.records.has_factor(user).await? && !s.fresh() {
        return Ok(s.step_up(&format!("{}{AUTHENTICATOR}", s.base.prefix())));
    }
    match confirm_seed(&s.base, user, posted.field("code")).await? {
        Confirmed::Activated => {}
        Confirmed::NoSeed => return Ok(s.base.to(AUTHENTICATOR)),
        Confirmed::Blocked(until) => return Ok(blocked_page(&s.base, until)),
        Confirmed::Wrong(secret, left) => {
            let wrong = super::factors::with_tries_left(s.base.w(), WRONG_SEED_CODE, left);
            return Ok(enroll_page(s, &secret, old.is_some(), Some(&wrong)));
        }
    }
    let change = if old.is_some() {
        Change::Replaced
    } else {
        Change::Added
    };
    let ctx = s.base.audit(user);
    let device = (s.claims.device.as_str(), label(s));
    auth.factor_changed(user, (change, &s.claims.sid), (device.0, &device.1), &ctx)
        .await?;
    if auth.records.backup_codes(user).await?.is_some() {
        return Ok(s.base.to(PAGE));
    }
    let plain = new_backup_codes(auth, user).await?;
    Ok(codes_page(
        &s.base,
        (&s.claims.sid, &s.claims.user),
        &plain,
        PAGE,
    ))
}

/// `POST {prefix}security/email`: `on=1` turns email codes on, otherwise off. Off needs a
/// fresh factor and another factor left (an authenticator), or MFA not required here.
pub async fn email_codes(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let on = posted.field("on") == "1";
    let has_app = auth.records.totp(user).await?.is_some();
    if on && has_app && !s.fresh() {
        return Ok(s.step_up(&format!("{}{PAGE}", s.base.prefix())));
    }
    if !on {
        if !has_app && !auth.may_turn_off(user, s.base.facts.env_index).await? {
            return Ok(s.base.message(
                StatusCode::FORBIDDEN,
                "only-email-title",
                "only-email-text",
                None,
            ));
        }
        if !s.fresh() {
            return Ok(s.step_up(&format!("{}{PAGE}", s.base.prefix())));
        }
    }
    auth.records.set_email_codes(user, on).await?;
    let ctx = s.base.audit(user);
    let device = label(s);
    let change = (Change::EmailCodes { on }, s.claims.sid.as_str());
    auth.factor_changed(user, change, (&s.claims.device, &device), &ctx)
        .await?;
    Ok(s.base.to(PAGE))
}

/// `POST {prefix}security/turn-off`: only where no environment of the user requires it, and
/// with a fresh factor.
pub async fn turn_off(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    let (auth, user) = (&s.base.auth, &s.claims.user);
    if !auth.may_turn_off(user, s.base.facts.env_index).await? {
        return Ok(s.base.message(
            StatusCode::FORBIDDEN,
            "required-title",
            "required-text",
            None,
        ));
    }
    if !s.fresh() {
        return Ok(s.step_up(&format!("{}{PAGE}", s.base.prefix())));
    }
    auth.turn_off_mfa(user).await?;
    let ctx = s.base.audit(user);
    let change = (Change::TurnedOff, s.claims.sid.as_str());
    let device = label(s);
    auth.factor_changed(user, change, (&s.claims.device, &device), &ctx)
        .await?;
    Ok(s.base.to(PAGE))
}
