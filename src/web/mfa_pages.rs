//! The second-factor pages a browser sees between the dashboard accepting its password and
//! the dashboard session being released: enroll TOTP, verify TOTP, use a backup code, see new
//! backup codes once. Posts arrive CSRF-checked (`Posted`); wrong codes re-show the page with a
//! generic error.

use axum::response::Response;
use http::StatusCode;
use minijinja::context;

use super::complete::complete;
use super::extract::{PageBase, PendingPage, Posted};
use super::factors::{check_totp, new_backup_codes, use_backup_code};
use crate::audit::EventKind;
use crate::identity::login_flow::PENDING_TTL;
use crate::mfa::qr;
use crate::mfa::totp::{self, TotpOutcome, SECRET_BYTES};
use crate::store::records::TotpRecord;
use crate::store::StoreError;

/// Wrong codes allowed per pending login before it is dropped (the user signs in again).
const MAX_FAILURES: u64 = 5;

fn status_for(error: Option<&str>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// `GET {prefix}`: where the browser lands after the dashboard accepted its password.
pub async fn start(p: PendingPage) -> Response {
    match p.base.auth.records.totp(&p.login.user).await {
        Ok(Some(_)) => p.base.to("verify"),
        Ok(None) => p.base.to("enroll"),
        Err(e) => p.base.unavailable(e),
    }
}

fn enroll_page(p: &PendingPage, secret: &[u8], error: Option<&str>) -> Response {
    let env = &p.base.auth.config.environments[p.base.facts.env_index];
    let uri = totp::otpauth_uri(secret, &env.display_name, &p.login.user);
    let extra = context! {
        user => p.login.user,
        qr => qr::png_data_uri(&uri).unwrap_or_default(),
        setup_key => totp::setup_key(secret),
        error => error,
    };
    p.base.render(
        status_for(error),
        "enroll.html",
        "Set up your authenticator app",
        &p.claims.sid,
        extra,
    )
}

/// `GET {prefix}enroll`: the QR code and setup key of a new seed, active only once confirmed.
pub async fn enroll_form(p: PendingPage) -> Response {
    let (auth, user) = (&p.base.auth, &p.login.user);
    let seed: Result<Option<Vec<u8>>, StoreError> = async {
        if auth.records.totp(user).await?.is_some() {
            return Ok(None);
        }
        if let Some(rec) = auth.records.pending_totp(user).await? {
            return auth.records.totp_secret(user, &rec).map(Some);
        }
        let mut secret = vec![0u8; SECRET_BYTES];
        auth.keys.random(&mut secret);
        auth.records
            .begin_totp(user, &secret, auth.clock.now())
            .await?;
        Ok(Some(secret))
    }
    .await;
    match seed {
        Ok(Some(secret)) => enroll_page(&p, &secret, None),
        Ok(None) => p.base.to("verify"),
        Err(e) => p.base.unavailable(e),
    }
}

/// `POST {prefix}enroll`: activates the seed when the code is right, then shows backup codes.
pub async fn enroll_submit(posted: Posted<PendingPage>) -> Response {
    let p = &posted.session;
    let (auth, user) = (&p.base.auth, &p.login.user);
    let ctx = p.base.audit(user);
    let record = match auth.records.pending_totp(user).await {
        Ok(Some(r)) => r,
        Ok(None) => return p.base.to("enroll"),
        Err(e) => return p.base.unavailable(e),
    };
    let secret = match auth.records.totp_secret(user, &record) {
        Ok(s) => s,
        Err(e) => return p.base.unavailable(e),
    };
    let TotpOutcome::Accepted { step, state } = totp::verify(
        &secret,
        posted.field("code"),
        auth.clock.now(),
        record.state,
    ) else {
        auth.audit.record(ctx.mfa_failure("totp_enroll")).await;
        if let Some(r) = count_failure(p).await {
            return r;
        }
        return enroll_page(
            p,
            &secret,
            Some("That code did not match. Check the time on your phone and try the current code."),
        );
    };
    let result: Result<Vec<String>, StoreError> = async {
        auth.records.claim_totp_step(user, step).await?;
        auth.records
            .activate_totp(user, &TotpRecord { state, ..record })
            .await?;
        let plain = new_backup_codes(auth, user).await?;
        mark_passed(&p.base, &p.login.id).await?;
        Ok(plain)
    }
    .await;
    match result {
        Ok(plain) => {
            auth.audit.record(ctx.event(EventKind::TotpEnrolled)).await;
            auth.audit.record(ctx.mfa_success("totp")).await;
            codes_page(&p.base, &p.claims.sid, &plain, "continue")
        }
        Err(e) => p.base.unavailable(e),
    }
}

/// The backup codes, shown once; the form continues to `{prefix}{next}`.
pub(super) fn codes_page(base: &PageBase, sid: &str, plain: &[String], next: &str) -> Response {
    let extra = context! {
        codes => plain,
        download => plain.join("\n") + "\n",
        continue_action => format!("{}{next}", base.prefix()),
    };
    base.render(
        StatusCode::OK,
        "codes.html",
        "Your backup codes",
        sid,
        extra,
    )
}

/// The second factor passed during enrollment; `continue` may now complete the login.
async fn mark_passed(base: &PageBase, pending_id: &str) -> Result<(), StoreError> {
    base.auth
        .records
        .store
        .put(
            &format!("pending-passed:{pending_id}"),
            b"1",
            Some(PENDING_TTL),
        )
        .await
}

/// Counts a wrong code; after too many the pending login is dropped.
async fn count_failure(p: &PendingPage) -> Option<Response> {
    let records = &p.base.auth.records;
    let key = format!("pending-fail:{}", p.login.id);
    match records.store.incr(&key, Some(PENDING_TTL)).await {
        Ok(n) if n >= MAX_FAILURES => {
            let _ = records.take_pending(&p.login.id).await;
            Some(p.base.message(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many wrong codes",
                "For your security this sign-in was cancelled. Please sign in again.",
                Some((p.base.login_page(), "Sign in")),
            ))
        }
        Ok(_) => None,
        Err(e) => Some(p.base.unavailable(e)),
    }
}

/// `POST {prefix}continue`: after the backup codes were shown.
pub async fn continue_login(posted: Posted<PendingPage>) -> Response {
    let p = &posted.session;
    let key = format!("pending-passed:{}", p.login.id);
    match p.base.auth.records.store.take(&key).await {
        Ok(Some(_)) => complete(p, "totp").await,
        Ok(None) => p.base.to(""),
        Err(e) => p.base.unavailable(e),
    }
}

fn verify_page(p: &PendingPage, error: Option<&str>) -> Response {
    let extra = context! {
        action => format!("{}verify", p.base.prefix()),
        button => "Verify",
        backup_link => true,
        user => p.login.user,
        error => error,
    };
    p.base.render(
        status_for(error),
        "verify.html",
        "Enter your code",
        &p.claims.sid,
        extra,
    )
}

pub async fn verify_form(p: PendingPage) -> Response {
    verify_page(&p, None)
}

pub async fn verify_submit(posted: Posted<PendingPage>) -> Response {
    let p = &posted.session;
    let ctx = p.base.audit(&p.login.user);
    match check_totp(&p.base.auth, &ctx, &p.login.user, posted.field("code")).await {
        Ok(true) => complete(p, "totp").await,
        Ok(false) => {
            p.base.auth.audit.record(ctx.mfa_failure("totp")).await;
            match count_failure(p).await {
                Some(r) => r,
                None => verify_page(
                    p,
                    Some("That code did not work. Wait for a new code and try again."),
                ),
            }
        }
        Err(e) => p.base.unavailable(e),
    }
}

fn backup_page(p: &PendingPage, error: Option<&str>) -> Response {
    p.base.render(
        status_for(error),
        "backup.html",
        "Use a backup code",
        &p.claims.sid,
        context! { error => error },
    )
}

pub async fn backup_form(p: PendingPage) -> Response {
    backup_page(&p, None)
}

pub async fn backup_submit(posted: Posted<PendingPage>) -> Response {
    let p = &posted.session;
    let ctx = p.base.audit(&p.login.user);
    match use_backup_code(&p.base.auth, &ctx, &p.login.user, posted.field("code")).await {
        Ok(Some(_)) => complete(p, "backup_code").await,
        Ok(None) => {
            p.base
                .auth
                .audit
                .record(ctx.mfa_failure("backup_code"))
                .await;
            match count_failure(p).await {
                Some(r) => r,
                None => backup_page(p, Some("That backup code did not work.")),
            }
        }
        Err(e) => p.base.unavailable(e),
    }
}
