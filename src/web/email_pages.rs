//! Email codes as a second factor: send (rate limited), verify (regulated like every code),
//! and afterwards the offer to set up an authenticator app for users who have none.

use axum::response::Response;
use http::StatusCode;
use minijinja::context;

use super::complete::complete;
use super::error::PageError;
use super::extract::{PendingPage, Posted};
use super::factors::{blocked_page, regulated};
use super::mfa_pages::after_verdict;
use super::mfa_pages::{email_allowed, mark_passed};
use crate::audit::EventKind;
use crate::domain::Factor;
use crate::mfa::attempts::admit;
use crate::mfa::email_otp::{self, CheckOutcome, SendDecision};
use crate::notify::messages;
use crate::store::StoreError;

/// "a•••@example.com": enough to recognise the address, not to harvest it.
fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}•••@{domain}", local.chars().next().unwrap_or('•')),
        None => "•••".into(),
    }
}

fn email_page(p: &PendingPage, sent: bool, error: Option<&str>, status: StatusCode) -> Response {
    let env = &p.base.auth.config.environments[p.base.facts.env_index];
    let to = p.base.auth.user_email(&p.login.user).unwrap_or_default();
    let extra = context! {
        sent => sent,
        masked => masked(&to),
        ttl_minutes => env.email_otp.ttl_secs.div_ceil(60),
        totp_link => p.methods().totp,
        error => error,
    };
    p.base.render(
        status,
        "email.html",
        "Sign in with an email code",
        &p.claims.sid,
        extra,
    )
}

/// Whether a code for this pending login is out and still valid.
async fn code_out(p: &PendingPage) -> Result<bool, StoreError> {
    let auth = &p.base.auth;
    let ttl = auth.config.environments[p.base.facts.env_index]
        .email_otp
        .ttl_secs;
    Ok(auth
        .records
        .email_otp(&p.login.user)
        .await?
        .is_some_and(|s| {
            s.pending_id == p.login.id && !s.used && s.issued_at + ttl > auth.clock.now()
        }))
}

pub async fn email_form(p: PendingPage) -> Result<Response, PageError> {
    if !email_allowed(&p) {
        return Ok(p.base.to(""));
    }
    let sent = code_out(&p).await?;
    Ok(email_page(&p, sent, None, StatusCode::OK))
}

enum Send {
    Reserved(String),
    Refused(u64),
    Blocked(u64),
}

/// `POST {prefix}email/send`: a new code to the user's registered address (never one typed
/// here), within the resend and window limits; blocked users get none.
pub async fn send(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    if !email_allowed(p) {
        return Ok(p.base.to(""));
    }
    let (auth, user) = (&p.base.auth, p.login.user.as_str());
    let env = &auth.config.environments[p.base.facts.env_index];
    let policy = env.email_otp;
    let ctx = p.base.audit(user);
    // Decide and record the send under the user's lock; deliver outside it.
    let reserved = auth
        .records
        .locked_user(user, async {
            let now = auth.clock.now();
            if let Err(until) = admit(auth.records.attempts("user", user).await?, now) {
                return Ok(Send::Blocked(until));
            }
            let state = auth.records.email_otp(user).await?;
            match email_otp::may_send(state.as_ref(), &policy, now) {
                SendDecision::TooSoon { wait_secs } | SendDecision::TooMany { wait_secs } => {
                    Ok(Send::Refused(wait_secs))
                }
                SendDecision::Allowed => {
                    let code = email_otp::new_code(&auth.keys);
                    let next =
                        email_otp::issue(&auth.keys, state, &p.login.id, &code, &policy, now);
                    let keep = std::time::Duration::from_secs(
                        2 * policy.send_window_secs.max(policy.ttl_secs),
                    );
                    auth.records.save_email_otp(user, &next, keep).await?;
                    Ok(Send::Reserved(code))
                }
            }
        })
        .await;
    let code = match reserved? {
        Send::Reserved(code) => code,
        Send::Blocked(until) => return Ok(blocked_page(&p.base, until)),
        Send::Refused(wait_secs) => {
            auth.audit
                .record(ctx.event(EventKind::EmailCodeResendRefused { wait_secs }))
                .await;
            let sent = code_out(p).await.unwrap_or(false);
            let text = format!("You can ask for a new code in {wait_secs} seconds.");
            return Ok(email_page(
                p,
                sent,
                Some(&text),
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
    };
    let (Some(mailer), Some(to)) = (&auth.mailer, auth.user_email(user)) else {
        return Ok(p.base.to(""));
    };
    Ok(
        match mailer
            .send_now(&messages::otp_code(
                &to,
                &env.display_name,
                &code,
                policy.ttl_secs,
            ))
            .await
        {
            Ok(()) => {
                auth.audit.record(ctx.event(EventKind::EmailCodeSent)).await;
                // Post/redirect/get: Back or reload on the page that says the code went out
                // does not ask to send the form again.
                p.base.to("email")
            }
            Err(e) => {
                tracing::warn!(error = %e, "sign-in code email failed");
                auth.audit
                    .record(ctx.event(EventKind::EmailCodeSendFailed))
                    .await;
                email_page(
                    p,
                    false,
                    Some("We could not send the code. Try again, or use another method."),
                    StatusCode::BAD_GATEWAY,
                )
            }
        },
    )
}

/// `POST {prefix}email/verify`.
pub async fn verify(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    if !email_allowed(p) {
        return Ok(p.base.to(""));
    }
    if let Some(page) = super::mfa_pages::already_confirmed(p).await? {
        return Ok(page);
    }
    let (auth, user) = (&p.base.auth, p.login.user.as_str());
    let policy = auth.config.environments[p.base.facts.env_index].email_otp;
    let check = async {
        let Some(state) = auth.records.email_otp(user).await? else {
            return Ok(false);
        };
        let (outcome, next) = email_otp::check(
            &auth.keys,
            &state,
            &p.login.id,
            posted.field("code"),
            &policy,
            auth.clock.now(),
        );
        if outcome == CheckOutcome::Accepted {
            let keep =
                std::time::Duration::from_secs(2 * policy.send_window_secs.max(policy.ttl_secs));
            auth.records.save_email_otp(user, &next, keep).await?;
        }
        Ok(outcome == CheckOutcome::Accepted)
    };
    let verdict = regulated(&p.base, user, Factor::EmailOtp, check).await;
    let retry = |e: Option<&str>| email_page(p, true, e, StatusCode::UNPROCESSABLE_ENTITY);
    after_verdict(
        p,
        verdict,
        accepted(p),
        retry,
        "That code did not work. Check the latest email, or ask for a new code.",
    )
    .await
}

/// A user without an authenticator app is offered one before the session is released.
async fn accepted(p: &PendingPage) -> Result<Response, PageError> {
    let has_totp = p.base.auth.records.totp(&p.login.user).await?.is_some();
    if !has_totp && p.methods().totp {
        mark_passed(&p.base, &p.login.id, Factor::EmailOtp).await?;
        return Ok(p.base.to("offer"));
    }
    complete(p, Factor::EmailOtp).await
}

/// `GET {prefix}offer`: after an email code, suggest an authenticator app (or continue).
pub async fn offer(p: PendingPage) -> Response {
    p.base.render(
        StatusCode::OK,
        "offer.html",
        "Set up an authenticator app?",
        &p.claims.sid,
        (),
    )
}
