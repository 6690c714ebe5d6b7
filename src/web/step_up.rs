//! Step-up: a signed-in user reaching a sensitive path without a recent second factor confirms
//! with the authenticator app; the session cookie is re-issued with a fresh `mfa_at`.

use axum::extract::Query;
use axum::response::Response;
use http::StatusCode;
use minijinja::context;
use serde::Deserialize;

use super::complete::redirect_with_cookies;
use super::error::PageError;
use super::extract::{Posted, SignedIn};
use super::factors::{blocked_page, check_totp, regulated, Verdict};
use crate::audit::EventKind;
use crate::domain::Factor;
use crate::gate::login_intercept::safe_next;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
    /// The authenticator app chosen over a passkey.
    app: Option<String>,
}

/// Whether only a passkey may confirm this session (`phishing_resistant_roles`).
fn passkey_only(s: &SignedIn) -> bool {
    let env = &s.base.auth.config.environments[s.base.facts.env_index];
    env.methods_for(s.claims.who.role).phishing_resistant
}

fn page(s: &SignedIn, next: &str, error: Option<&str>) -> Response {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let extra = context! {
        action => format!("{}step-up", s.base.prefix()),
        button => "confirm",
        step_up => true,
        next => safe_next(Some(next)),
        user => s.claims.user,
        error => error,
    };
    s.base
        .render(status, "verify.html", "step-up-title", &s.claims.sid, extra)
}

/// `GET {prefix}step-up`: a passkey when the user has one here (the app on request), else the
/// authenticator app; only a passkey for a phishing-resistant role.
pub async fn form(s: SignedIn, Query(q): Query<Next>) -> Result<Response, PageError> {
    let next = q.next.unwrap_or_else(|| "/".into());
    let only = passkey_only(&s);
    if q.app.is_none() || only {
        if let Some(page) = super::passkey_account::step_up_page(&s, &next, None).await? {
            return Ok(page);
        }
    }
    if only {
        return Ok(s.base.message(
            StatusCode::FORBIDDEN,
            "step-up-passkey-needed-title",
            "step-up-passkey-needed",
            None,
        ));
    }
    Ok(match s.base.auth.records.totp(&s.claims.user).await? {
        Some(_) => page(&s, &next, None),
        None => s.base.message(
            StatusCode::FORBIDDEN,
            "step-up-app-needed-title",
            "step-up-app-needed",
            None,
        ),
    })
}

pub async fn submit(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let ctx = s.base.audit(user);
    let next = safe_next(Some(posted.field("next")));
    if passkey_only(s) {
        return Ok(s.step_up(&next));
    }
    let verdict = regulated(
        &s.base,
        user,
        Factor::TotpStepUp,
        check_totp(auth, &ctx, user, posted.field("code")),
    )
    .await;
    Ok(match verdict? {
        Verdict::Accepted => {
            auth.audit.record(ctx.event(EventKind::StepUpPassed)).await;
            let cookie = super::passkey_account::fresh_cookie(s);
            redirect_with_cookies(&next, &[cookie])
        }
        Verdict::Rejected {
            blocked_until: None,
            left,
        } => {
            let wrong = super::factors::with_tries_left(s.base.w(), "code-wrong", left);
            page(s, &next, Some(&wrong))
        }

        Verdict::Rejected {
            blocked_until: Some(until),
            ..
        }
        | Verdict::Blocked { until } => blocked_page(&s.base, until),
    })
}
