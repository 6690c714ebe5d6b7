//! The recovery pages of a pending sign-in that cannot produce a second factor ("I can't
//! use my authenticator"): ask, wait for an admin, or (admins) enter the emailed recovery
//! code. The rules are the core's (`gate::recovery`).

use axum::response::Response;
use http::StatusCode;
use minijinja::context;

use super::error::PageError;
use super::extract::{PendingPage, Posted};
use super::factors::{blocked_page, regulated, Verdict};
use crate::domain::Factor;
use crate::gate::admin::Admin;
use crate::gate::recovery::{Asked, CODE_POLICY};
use crate::store::records::RecoveryState;
use crate::store::StoreError;

fn render(p: &PendingPage, status: StatusCode, state: &str, extra: minijinja::Value) -> Response {
    let admin = Admin::may_administer(p.login.who.role);
    let ctx = context! { state => state, admin => admin, ..extra };
    p.base.render(
        status,
        "recovery.html",
        "recovery-title",
        &p.claims.sid,
        ctx,
    )
}

/// Where this pending sign-in stands: a request waiting, a code out, or nothing yet.
async fn standing(p: &PendingPage) -> Result<&'static str, StoreError> {
    let records = &p.base.auth.records;
    let user = &p.login.user;
    if let Some(r) = records.recovery_request(user).await? {
        if r.state == RecoveryState::Requested {
            return Ok("waiting");
        }
    }
    let now = p.base.auth.clock.now();
    let out = records.recovery_code(user).await?.is_some_and(|s| {
        s.pending_id == format!("recovery:{}", p.login.id)
            && !s.used
            && s.issued_at + CODE_POLICY.ttl_secs > now
    });
    Ok(if out { "code" } else { "ask" })
}

/// `GET {prefix}recovery`.
pub async fn page(p: PendingPage) -> Result<Response, PageError> {
    let state = standing(&p).await?;
    Ok(render(&p, StatusCode::OK, state, context! {}))
}

/// `POST {prefix}recovery`: asks the admins, or sends an admin their recovery code.
pub async fn ask(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    let base = &p.base;
    let ctx = base.facts.audit(&base.auth);
    let asked = base.auth.ask_recovery(base.facts.env_index, &p.login, &ctx);
    Ok(match asked.await? {
        // Post/redirect/get: a reload does not ask again.
        Asked::Waiting | Asked::CodeSent => base.to("recovery"),
        Asked::TooSoon { wait_secs } => {
            let extra = context! { wait_minutes => wait_secs.div_ceil(60) };
            render(p, StatusCode::TOO_MANY_REQUESTS, "too_soon", extra)
        }
        Asked::CodeTooSoon { .. } => base.to("recovery"),
        Asked::Unavailable => render(
            p,
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            context! {},
        ),
    })
}

/// `POST {prefix}recovery/confirm`: an admin's recovery code, regulated like every code; a
/// right one resets their factor and they enroll anew.
pub async fn confirm(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    let (base, user) = (&p.base, p.login.user.as_str());
    let check = base
        .auth
        .check_recovery_code(&p.login, posted.field("code"));
    let verdict = regulated(base, user, Factor::RecoveryCode, check).await?;
    Ok(match verdict {
        Verdict::Accepted => {
            let ctx = base.facts.audit(&base.auth);
            base.auth
                .self_recovered(base.facts.env_index, &p.login, &ctx)
                .await?;
            base.to("enroll")
        }
        Verdict::Rejected {
            blocked_until: None,
            left,
        } => {
            let wrong = super::factors::with_tries_left(p.base.w(), "recovery-wrong", left);
            let extra = context! { error => wrong };
            render(p, StatusCode::UNPROCESSABLE_ENTITY, "code", extra)
        }
        Verdict::Rejected {
            blocked_until: Some(until),
            ..
        }
        | Verdict::Blocked { until } => blocked_page(base, until),
    })
}
