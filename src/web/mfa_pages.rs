//! The second-factor pages a browser sees between the dashboard accepting its password and
//! the dashboard session being released: choose a factor, enroll or verify TOTP, use a backup
//! code, see new backup codes once. Posts arrive CSRF-checked (`Posted`); every code entry is
//! regulated (`factors::regulated`); wrong codes re-show the page with a generic error.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use minijinja::context;

use super::complete::{complete, trust_choice};
use super::error::PageError;
use super::extract::{PageBase, PendingPage, Posted};
use super::factors::{
    blocked_page, check_totp, confirm_seed, new_backup_codes, regulated, seed_to_confirm,
    use_backup_code, Confirmed, Verdict,
};
use super::passkey_pages;
use crate::audit::EventKind;
use crate::domain::Factor;
use crate::gate::login_flow::PENDING_TTL;
use crate::mfa::qr;
use crate::mfa::totp;
use crate::store::StoreError;

/// 422 for a page shown again with an error, else 200.
pub(super) fn status_for(error: Option<&str>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// Whether this user can receive email codes here.
pub(super) fn email_allowed(p: &PendingPage) -> bool {
    p.methods().email && p.email.is_some()
}

/// `GET {prefix}`: where the browser lands after the dashboard accepted its password. A user
/// with a passkey usable here goes straight to it, else one with an authenticator app to that
/// (other factors are linked from there). A new user chooses: a passkey first (it cannot be
/// phished), then the authenticator app (NIST 800-63B ranks email codes weaker), or the only
/// choice opens directly. A role that only a passkey may finish registers one.
pub async fn start(p: PendingPage) -> Result<Response, PageError> {
    let records = &p.base.auth.records;
    let user = &p.login.user;
    let (m, passkeys) = (p.methods(), passkey_pages::offered(&p));
    let has_totp = records.totp(user).await?.is_some();
    let has_passkey = !records.passkeys(user).await?.is_empty();
    if passkeys && has_passkey {
        return Ok(p.base.to("passkey"));
    }
    let has_factor = has_totp || has_passkey;
    if m.phishing_resistant && passkeys && !has_factor {
        return Ok(p.base.to("passkey/register"));
    }
    if has_totp && m.totp {
        return Ok(p.base.to("verify"));
    }
    let prefix = p.base.prefix();
    let mut options = Vec::new();
    let mut option = |id: &str, page: &str, label: &str, note: Option<&str>| {
        let href = format!("{prefix}{page}");
        options.push(context! { id, href, label, note });
    };
    if passkeys && !has_factor {
        option(
            "passkey",
            "passkey/register",
            "choose-passkey",
            Some("choose-passkey-note"),
        );
    }
    if m.totp && !has_factor && !m.phishing_resistant {
        let note = (!passkeys).then_some("choose-app-note");
        option("totp", "enroll", "choose-app", note);
    }
    if email_allowed(&p) {
        option("email", "email", "choose-email", None);
    }
    Ok(match options.len() {
        0 => p.base.message(
            StatusCode::FORBIDDEN,
            "no-method-title",
            "no-method-text",
            None,
        ),
        1 => {
            let href = options[0].get_attr("href").ok();
            let href = href.as_ref().and_then(|h| h.as_str()).unwrap_or(prefix);
            axum::response::Redirect::to(href).into_response()
        }
        _ => p.base.render(
            StatusCode::OK,
            "choose.html",
            "choose-title",
            &p.claims.sid,
            context! { user => p.login.user, options => options },
        ),
    })
}

/// The error on a setup page after a wrong confirming code (its catalogue key).
pub(super) const WRONG_SEED_CODE: &str = "enroll-wrong";

fn enroll_page(p: &PendingPage, secret: &[u8], error: Option<&str>) -> Response {
    let env = &p.base.auth.config.environments[p.base.facts.env_index];
    let uri = totp::otpauth_uri(secret, &env.display_name, &p.login.user);
    let extra = context! {
        user => p.login.user,
        qr => qr::svg_data_uri(&uri).unwrap_or_default(),
        otpauth => uri,
        setup_key => totp::setup_key(secret),
        error => error,
    };
    p.base.render(
        status_for(error),
        "enroll.html",
        "enroll-title",
        &p.claims.sid,
        extra,
    )
}

/// `GET {prefix}enroll`: the QR code and setup key of a new seed, active only once confirmed.
pub async fn enroll_form(p: PendingPage) -> Result<Response, PageError> {
    if !p.methods().totp {
        return Ok(p.base.to(""));
    }
    let (auth, user) = (&p.base.auth, &p.login.user);
    // A new authenticator is set up here only by someone with no factor yet: a password
    // alone must not add one beside a passkey (that is the security page's job).
    if auth.records.has_factor(user).await? || p.methods().phishing_resistant {
        return Ok(p.base.to(""));
    }
    let secret = seed_to_confirm(auth, user).await?;
    Ok(enroll_page(&p, &secret, None))
}

/// `POST {prefix}enroll`: activates the seed when the code is right, then shows backup codes.
pub async fn enroll_submit(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    let (auth, user) = (&p.base.auth, &p.login.user);
    // A seed begun before a passkey was registered does not become a second factor beside it.
    if auth.records.has_factor(user).await? || p.methods().phishing_resistant {
        return Ok(p.base.to(""));
    }
    match confirm_seed(&p.base, user, posted.field("code")).await? {
        Confirmed::Activated => {}
        Confirmed::NoSeed => return Ok(p.base.to("enroll")),
        Confirmed::Blocked(until) => return Ok(blocked_page(&p.base, until)),
        Confirmed::Wrong(secret, left) => {
            let wrong = super::factors::with_tries_left(p.base.w(), WRONG_SEED_CODE, left);
            return Ok(enroll_page(p, &secret, Some(&wrong)));
        }
    }
    let plain = new_backup_codes(auth, user).await?;
    mark_passed(&p.base, &p.login.id, Factor::Totp).await?;
    let ctx = p.base.audit(user);
    auth.audit.record(ctx.event(EventKind::TotpEnrolled)).await;
    let voice =
        crate::notify::messages::Voice::of(&auth.config.environments[p.base.facts.env_index]);
    auth.notify(user, |to| {
        crate::notify::messages::factor_enrolled(to, &voice)
    })
    .await;
    Ok(codes_page(
        &p.base,
        (&p.claims.sid, &p.login.user),
        &plain,
        "continue",
    ))
}

/// The backup codes, shown once; the form continues to `{prefix}{next}`. The download says
/// what they are for, whose they are and when they were made, so a file found later is
/// still understood.
pub(super) fn codes_page(
    base: &PageBase,
    (sid, user): (&str, &str),
    plain: &[String],
    next: &str,
) -> Response {
    let env = &base.auth.config.environments[base.facts.env_index];
    let made = base.time(base.auth.clock.now());
    let args = [
        ("brand", env.display_name.as_str().into()),
        ("user", user.into()),
        ("made", made.into()),
    ];
    let header = base.w().with("codes-file", &args);
    let download = format!("{header}\n\n{}\n", plain.join("\n"));
    let extra = context! {
        codes => plain,
        signing_in => next == "continue",
        download => download,
        continue_action => format!("{}{next}", base.prefix()),
    };
    base.render(StatusCode::OK, "codes.html", "codes-title", sid, extra)
}

/// The second factor (`method`) passed; `continue` may now complete the login.
pub(super) async fn mark_passed(
    base: &PageBase,
    pending_id: &str,
    method: Factor,
) -> Result<(), StoreError> {
    let records = &base.auth.records;
    records
        .mark_factor_passed(pending_id, method, PENDING_TTL)
        .await
}

/// `POST {prefix}continue`: after the backup codes were shown, or when declining to set up an
/// authenticator app after an email code.
pub async fn continue_login(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    Ok(
        match p.base.auth.records.take_factor_passed(&p.login.id).await? {
            Some(method) => complete(p, method, trust_choice(&posted.form)).await?,
            None => p.base.to(""),
        },
    )
}

/// A code entered again for a sign-in whose factor already passed (Back from the backup codes,
/// a reload): not checked, not counted against the user, just the way on.
pub(super) async fn already_confirmed(p: &PendingPage) -> Result<Option<Response>, PageError> {
    if !p.base.auth.records.factor_passed(&p.login.id).await? {
        return Ok(None);
    }
    let page = p.base.render(
        StatusCode::OK,
        "confirmed.html",
        "confirmed-title",
        &p.claims.sid,
        context! {},
    );
    Ok(Some(page))
}

fn verify_page(p: &PendingPage, error: Option<&str>) -> Response {
    let extra = context! {
        action => format!("{}verify", p.base.prefix()),
        button => "verify",
        backup_link => p.methods().backup,
        email_link => email_allowed(p),
        user => p.login.user,
        error => error,
    };
    p.base.render(
        status_for(error),
        "verify.html",
        "verify-title",
        &p.claims.sid,
        extra,
    )
}

pub async fn verify_form(p: PendingPage) -> Response {
    verify_page(&p, None)
}

/// Turns a regulated verdict into the next page: `on_accept` (a lazy future, run only when
/// accepted), the same page again with `error`, or the blocked page.
pub(super) async fn after_verdict(
    p: &PendingPage,
    verdict: Result<Verdict, StoreError>,
    on_accept: impl std::future::Future<Output = Result<Response, PageError>>,
    retry: impl FnOnce(Option<&str>) -> Response,
    error_key: &str,
) -> Result<Response, PageError> {
    Ok(match verdict? {
        Verdict::Accepted => on_accept.await?,
        Verdict::Rejected {
            blocked_until: None,
            left,
        } => retry(Some(&super::factors::with_tries_left(
            p.base.w(),
            error_key,
            left,
        ))),

        Verdict::Rejected {
            blocked_until: Some(until),
            ..
        }
        | Verdict::Blocked { until } => blocked_page(&p.base, until),
    })
}

pub async fn verify_submit(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    if let Some(page) = already_confirmed(p).await? {
        return Ok(page);
    }
    let ctx = p.base.audit(&p.login.user);
    let verdict = regulated(
        &p.base,
        &p.login.user,
        Factor::Totp,
        check_totp(&p.base.auth, &ctx, &p.login.user, posted.field("code")),
    )
    .await;
    after_verdict(
        p,
        verdict,
        complete(p, Factor::Totp, trust_choice(&posted.form)),
        |e| verify_page(p, e),
        "code-wrong",
    )
    .await
}

fn backup_page(p: &PendingPage, error: Option<&str>) -> Response {
    p.base.render(
        status_for(error),
        "backup.html",
        "backup-title",
        &p.claims.sid,
        context! { error => error },
    )
}

pub async fn backup_form(p: PendingPage) -> Response {
    backup_page(&p, None)
}

pub async fn backup_submit(posted: Posted<PendingPage>) -> Result<Response, PageError> {
    let p = &posted.session;
    if !p.methods().backup {
        return Ok(p.base.to(""));
    }
    if let Some(page) = already_confirmed(p).await? {
        return Ok(page);
    }
    let ctx = p.base.audit(&p.login.user);
    let used = async {
        use_backup_code(&p.base.auth, &ctx, &p.login.user, posted.field("code"))
            .await
            .map(|left| left.is_some())
    };
    let verdict = regulated(&p.base, &p.login.user, Factor::BackupCode, used).await;
    after_verdict(
        p,
        verdict,
        complete(p, Factor::BackupCode, trust_choice(&posted.form)),
        |e| backup_page(p, e),
        "backup-wrong",
    )
    .await
}
