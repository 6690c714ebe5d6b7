//! Email codes as a second factor: send (rate limited), verify (regulated like every code),
//! and afterwards the offer to set up an authenticator app for users who have none.

use axum::response::Response;
use http::StatusCode;
use minijinja::context;

use super::complete::{complete, trust_choice};
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
pub(super) fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}•••@{domain}", local.chars().next().unwrap_or('•')),
        None => "•••".into(),
    }
}

fn email_page(p: &PendingPage, sent: bool, error: Option<&str>, status: StatusCode) -> Response {
    let env = &p.base.auth.config.environments[p.base.facts.env_index];
    let to = p.email.clone().unwrap_or_default();
    let extra = context! {
        sent => sent,
        masked => masked(&to),
        ttl_minutes => env.email_otp.ttl_secs.div_ceil(60),
        totp_link => p.methods().totp,
        error => error,
    };
    p.base
        .render(status, "email.html", "email-title", &p.claims.sid, extra)
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

/// How a request for an email code went.
pub(super) enum Sent {
    Delivered,
    /// Code entry is blocked for this user until then: no code.
    Blocked(u64),
    /// Too soon after the last code, or too many in the window: wait this long.
    TooSoon(u64),
    /// The mail server did not take it.
    Failed,
    /// No mail transport, or no address for this user.
    Unavailable,
}

/// Sends a new code to the user's registered address (never one typed by the client), within
/// the resend and window limits; blocked users get none. The send is decided and recorded
/// under the user's lock and delivered outside it. Audited either way.
pub(super) async fn send_code(p: &PendingPage) -> Result<Sent, StoreError> {
    let (auth, user) = (&p.base.auth, p.login.user.as_str());
    let env = &auth.config.environments[p.base.facts.env_index];
    let policy = env.email_otp;
    let ctx = p.base.audit(user);
    let reserved = auth
        .records
        .locked_user(user, async {
            let now = auth.clock.now();
            if let Err(until) = admit(auth.records.attempts("user", user).await?, now) {
                return Ok(Err(Sent::Blocked(until)));
            }
            let state = auth.records.email_otp(user).await?;
            match email_otp::may_send(state.as_ref(), &policy, now) {
                SendDecision::TooSoon { wait_secs } | SendDecision::TooMany { wait_secs } => {
                    Ok(Err(Sent::TooSoon(wait_secs)))
                }
                SendDecision::Allowed => {
                    let code = email_otp::new_code(&auth.keys);
                    let next =
                        email_otp::issue(&auth.keys, state, &p.login.id, &code, &policy, now);
                    auth.records
                        .save_email_otp(user, &next, keep(&policy))
                        .await?;
                    Ok(Ok(code))
                }
            }
        })
        .await?;
    let code = match reserved {
        Ok(code) => code,
        Err(Sent::TooSoon(wait_secs)) => {
            let refused = EventKind::EmailCodeResendRefused { wait_secs };
            auth.audit.record(ctx.event(refused)).await;
            return Ok(Sent::TooSoon(wait_secs));
        }
        Err(other) => return Ok(other),
    };
    let (Some(mailer), Some(to)) = (&auth.mailer, p.email.clone()) else {
        return Ok(Sent::Unavailable);
    };
    let mail = messages::otp_code(&to, &messages::Voice::of(env), &code, policy.ttl_secs);
    match mailer.send_now(&mail).await {
        Ok(()) => {
            auth.audit.record(ctx.event(EventKind::EmailCodeSent)).await;
            Ok(Sent::Delivered)
        }
        Err(e) => {
            tracing::warn!(error = %e, "sign-in code email failed");
            let failed = ctx.event(EventKind::EmailCodeSendFailed);
            auth.audit.record(failed).await;
            Ok(Sent::Failed)
        }
    }
}

/// How long an email code's state is kept: past its window and its lifetime.
fn keep(policy: &email_otp::EmailOtpPolicy) -> std::time::Duration {
    std::time::Duration::from_secs(2 * policy.send_window_secs.max(policy.ttl_secs))
}

/// `POST {prefix}email/send`.
pub async fn send(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    if !email_allowed(p) {
        return Ok(p.base.to(""));
    }
    Ok(match send_code(p).await? {
        // Post/redirect/get: Back or reload on the page that says the code went out does not
        // ask to send the form again.
        Sent::Delivered => p.base.to("email"),
        Sent::Unavailable => p.base.to(""),
        Sent::Blocked(until) => blocked_page(&p.base, until),
        Sent::TooSoon(wait_secs) => {
            let sent = code_out(p).await.unwrap_or(false);
            let text = p.base.w().with("email-wait", &[("secs", wait_secs.into())]);
            email_page(p, sent, Some(&text), StatusCode::TOO_MANY_REQUESTS)
        }
        Sent::Failed => email_page(
            p,
            false,
            Some(&p.base.w().get("email-failed")),
            StatusCode::BAD_GATEWAY,
        ),
    })
}

/// Checks an email code of this pending login; a right one is used up.
pub(super) async fn check_email_code(p: &PendingPage, code: &str) -> Result<bool, StoreError> {
    let (auth, user) = (&p.base.auth, p.login.user.as_str());
    let policy = auth.config.environments[p.base.facts.env_index].email_otp;
    let Some(state) = auth.records.email_otp(user).await? else {
        return Ok(false);
    };
    let now = auth.clock.now();
    let (outcome, next) = email_otp::check(&auth.keys, &state, &p.login.id, code, &policy, now);
    if outcome == CheckOutcome::Accepted {
        auth.records
            .save_email_otp(user, &next, keep(&policy))
            .await?;
    }
    Ok(outcome == CheckOutcome::Accepted)
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
    let user = p.login.user.as_str();
    let check = check_email_code(p, posted.field("code"));
    let verdict = regulated(&p.base, user, Factor::EmailOtp, check).await;
    let retry = |e: Option<&str>| email_page(p, true, e, StatusCode::UNPROCESSABLE_ENTITY);
    after_verdict(
        p,
        verdict,
        accepted(p, trust_choice(&posted.form)),
        retry,
        "email-wrong",
    )
    .await
}

/// A user without a factor of their own is offered an authenticator app before the session
/// is released.
async fn accepted(p: &PendingPage, trust: Option<bool>) -> Result<Response, PageError> {
    let has_factor = p.base.auth.records.has_factor(&p.login.user).await?;
    let m = p.methods();
    if !has_factor && m.totp && !m.phishing_resistant {
        mark_passed(&p.base, &p.login.id, Factor::EmailOtp).await?;
        return Ok(p.base.to("offer"));
    }
    complete(p, Factor::EmailOtp, trust).await
}

/// `GET {prefix}offer`: after an email code, suggest an authenticator app (or continue).
pub async fn offer(p: PendingPage) -> Response {
    p.base.render(
        StatusCode::OK,
        "offer.html",
        "offer-title",
        &p.claims.sid,
        (),
    )
}
