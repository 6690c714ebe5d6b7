//! A signed-in user's passkeys: add one, remove one (both after a fresh second factor, as
//! every change to how one signs in), and confirm a step-up with one.

use axum::response::Response;
use http::StatusCode;
use minijinja::context;

use super::complete::redirect_with_cookies;
use super::error::PageError;
use super::extract::{Posted, SignedIn};
use super::factors::{blocked_page, regulated, Verdict};
use super::passkey_pages::{answer_in, refused_registration, registration_context};
use crate::audit::EventKind;
use crate::domain::Factor;
use crate::gate::login_intercept::safe_next;
use crate::gate::passkeys::{Holder, Removal};
use crate::gate::self_service::Change;
use crate::session::token::{encode_session, SessionClaims};
use crate::session::{set_cookie, SESSION_COOKIE};
use crate::store::records::CeremonyPurpose;

/// The ceremony holder of a signed-in session.
fn session_holder(s: &SignedIn) -> Holder<'_> {
    Holder {
        env_index: s.base.facts.env_index,
        bound_to: &s.claims.sid,
        user: &s.claims.user,
        role: s.claims.who.role,
        ends_at: s.claims.expires_at.min(s.claims.idle_until),
        authority: &s.base.facts.authority,
    }
}

/// Whether this session may use passkeys here (the role's methods, the page's host).
pub(super) fn offered(s: &SignedIn) -> bool {
    let facts = &s.base.facts;
    let role = s.claims.who.role;
    s.base
        .auth
        .offers_passkeys(facts.env_index, role, &facts.authority)
}

/// `GET {prefix}passkeys/add`.
pub async fn add_form(s: SignedIn) -> Result<Response, PageError> {
    add_page(&s, None).await
}

async fn add_page(s: &SignedIn, error: Option<&str>) -> Result<Response, PageError> {
    if !offered(s) {
        return Ok(s.base.to("devices"));
    }
    // Beside another factor, that factor freshly; a first factor is an opt-in.
    if !s.fresh() && s.base.auth.records.has_factor(&s.claims.user).await? {
        return Ok(s.step_up(&format!("{}passkeys/add", s.base.prefix())));
    }
    let purpose = CeremonyPurpose::Register;
    let begun = s
        .base
        .auth
        .begin_passkey(session_holder(s), purpose)
        .await?;
    let Some(begun) = begun else {
        return Ok(s.base.to("devices"));
    };
    let extra = registration_context(&s.base, &begun, "passkeys/add", error);
    let extra = context! { user => s.claims.user, ..extra };
    let status = super::mfa_pages::status_for(error);
    Ok(s.base.render(
        status,
        "passkey_register.html",
        "passkey-add-title",
        &s.claims.sid,
        extra,
    ))
}

/// `POST {prefix}passkeys/add`.
pub async fn add_submit(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    let first = !s.base.auth.records.has_factor(&s.claims.user).await?;
    if !offered(s) || !(s.fresh() || first) {
        return add_page(s, None).await;
    }
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let answer = answer_in(posted.field("credential"));
    let ctx = s.base.audit(user);
    let name = posted.field("name");
    let holder = session_holder(s);
    match auth
        .finish_passkey_registration(holder, &answer, name, &ctx)
        .await?
    {
        Ok(_) => {
            changed(s, Change::PasskeyAdded).await?;
            Ok(s.base.to("devices?done=passkey"))
        }
        Err(refusal) => {
            let words = refused_registration(&s.base, &refusal);
            add_page(s, Some(&words)).await
        }
    }
}

/// `POST {prefix}passkeys/remove` with `id`: after a fresh factor, else to the step-up first.
pub async fn remove(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    if !s.fresh() {
        return Ok(s.step_up(&format!("{}devices", s.base.prefix())));
    }
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let ctx = s.base.audit(user);
    let whose = (user.as_str(), s.claims.who.role, s.base.facts.env_index);
    match auth.remove_passkey(whose, posted.field("id"), &ctx).await? {
        Removal::Removed => {
            changed(s, Change::PasskeyRemoved).await?;
            Ok(s.base.to("devices?done=passkey-removed"))
        }
        Removal::NotFound => Ok(s.base.to("devices")),
        Removal::LastFactor => {
            let back = format!("{}devices", s.base.prefix());
            let status = StatusCode::CONFLICT;
            let link = Some((back.as_str(), "back"));
            Ok(s.base.message(status, "passkeys", "passkey-last", link))
        }
    }
}

/// A passkey added or removed: the user is told by email; a removal ends their other
/// sessions (as every weakening change to how one signs in does).
async fn changed(s: &SignedIn, change: Change) -> crate::store::StoreResult<()> {
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let device = (s.claims.device.as_str(), s.base.facts.agent.as_str());
    let ctx = s.base.audit(user);
    auth.factor_changed(user, (change, &s.claims.sid), device, &ctx)
        .await
        .map(drop)
}

/// The step-up page with a passkey; `None` when this session has none to use here.
pub(super) async fn step_up_page(
    s: &SignedIn,
    next: &str,
    error: Option<&str>,
) -> Result<Option<Response>, PageError> {
    if !offered(s) {
        return Ok(None);
    }
    let auth = &s.base.auth;
    let purpose = CeremonyPurpose::StepUp;
    let Some(begun) = auth.begin_passkey(session_holder(s), purpose).await? else {
        return Ok(None);
    };
    let env = &auth.config.environments[s.base.facts.env_index];
    let may_use_app = !env.methods_for(s.claims.who.role).phishing_resistant
        && auth.records.totp(&s.claims.user).await?.is_some();
    let next = safe_next(Some(next));
    let app_link = may_use_app.then(|| {
        let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        format!("{}step-up?app=1&next={next}", s.base.prefix())
    });
    let extra = context! {
        action => format!("{}step-up/passkey", s.base.prefix()),
        options => begun.options.to_string(),
        step_up => true,
        next => next,
        user => s.claims.user,
        app_link => app_link,
        error => error,
    };
    let status = super::mfa_pages::status_for(error);
    let page = s.base.render(
        status,
        "passkey.html",
        "step-up-title",
        &s.claims.sid,
        extra,
    );
    Ok(Some(page))
}

/// `POST {prefix}step-up/passkey`: a passkey that passes renews the session's factor time.
pub async fn step_up_submit(posted: Posted<SignedIn>) -> Result<Response, PageError> {
    let s = &posted.session;
    let (auth, user) = (&s.base.auth, &s.claims.user);
    let next = safe_next(Some(posted.field("next")));
    let answer = answer_in(posted.field("credential"));
    let ctx = s.base.audit(user);
    let check = async {
        let purpose = CeremonyPurpose::StepUp;
        let finished = auth
            .finish_passkey(session_holder(s), purpose, &answer, &ctx)
            .await?;
        Ok(finished.is_ok())
    };
    let verdict = regulated(&s.base, user, Factor::PasskeyStepUp, check).await?;
    match verdict {
        Verdict::Accepted => {
            auth.audit.record(ctx.event(EventKind::StepUpPassed)).await;
            Ok(redirect_with_cookies(&next, &[fresh_cookie(s)]))
        }
        Verdict::Rejected {
            blocked_until: None,
            ..
        } => {
            let words = s.base.w().get("passkey-refused");
            let page = step_up_page(s, &next, Some(&words)).await?;
            Ok(page.unwrap_or_else(|| s.base.to("devices")))
        }
        Verdict::Rejected {
            blocked_until: Some(until),
            ..
        }
        | Verdict::Blocked { until } => Ok(blocked_page(&s.base, until)),
    }
}

/// The session cookie re-issued with its second factor passed now.
pub(super) fn fresh_cookie(s: &SignedIn) -> String {
    let auth = &s.base.auth;
    let claims = SessionClaims {
        mfa_at: Some(auth.clock.now()),
        ..s.claims.clone()
    };
    set_cookie(SESSION_COOKIE, &encode_session(&auth.keys, &claims), None)
}
