//! The JSON MFA API for token clients (mobile apps, single-page apps): after a login answered
//! with `mfa_required`, the client reads the allowed methods, asks for an email code, submits
//! a code and receives the withheld token in the dashboard's own shape. It is the pages' flow
//! without HTML: the same pending login (its gateway cookie), the same regulation, replay
//! protection, single use and audit, because it calls the same functions. Instead of the
//! pages' CSRF field, a post must be `Content-Type: application/json` from the gateway's own
//! origin: a cross-site page can send neither without a CORS preflight, which the gateway
//! never grants. Enrolling an authenticator app (a QR code) stays on the pages.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::request::Parts;
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};

use super::account::take_token;
use super::complete::release;
use super::email_pages::{check_email_code, send_code, Sent};
use super::extract::{NotPending, PendingPage};
use super::factors::{check_totp, regulated, use_backup_code, Verdict};
use super::mfa_pages::email_allowed;
use super::passkey_pages;
use crate::domain::Factor;
use crate::gate::auth::Auth;
use crate::gate::complete::Completion;
use crate::gate::login_flow::PENDING_TTL;
use crate::gate::login_intercept::token_document;
use crate::gate::passkeys::Refusal;
use crate::store::records::CeremonyPurpose;
use crate::store::StoreError;

/// The OpenAPI document of this API, with paths under the default prefix.
const OPENAPI: &str = include_str!("openapi.json");

/// An API answer: JSON, never cached.
fn answer(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    super::templates::secure_headers(resp.headers_mut());
    resp
}

fn problem(status: StatusCode, error: &str) -> Response {
    answer(status, json!({ "error": error }))
}

/// 429 for a code entry or an email code that must wait `secs`.
fn wait(secs: u64, body: Value) -> Response {
    let mut resp = answer(StatusCode::TOO_MANY_REQUESTS, body);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}

fn blocked(auth: &Auth, until: u64) -> Response {
    let secs = until.saturating_sub(auth.clock.now());
    wait(secs, json!({ "error": "blocked", "until": until }))
}

/// The pending login of a token client, or a JSON refusal.
pub struct ApiPending(PendingPage);

impl FromRequestParts<Arc<Auth>> for ApiPending {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &Arc<Auth>) -> Result<Self, Response> {
        PendingPage::find(parts, auth)
            .await
            .map(Self)
            .map_err(|missing| match missing {
                NotPending::NoFacts => problem(StatusCode::NOT_FOUND, "not_found"),
                NotPending::SignedIn(_) => problem(StatusCode::CONFLICT, "signed_in"),
                NotPending::Expired(_) => problem(StatusCode::UNAUTHORIZED, "no_pending_login"),
                NotPending::Store(e) => {
                    tracing::error!(error = %e, "store unavailable for the MFA API");
                    problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
                }
            })
    }
}

/// A JSON object posted by a pending login, same-origin (see the module doc).
pub struct ApiPosted {
    pending: PendingPage,
    body: Value,
}

impl FromRequest<Arc<Auth>> for ApiPosted {
    type Rejection = Response;

    async fn from_request(req: Request, auth: &Arc<Auth>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let ApiPending(pending) = ApiPending::from_request_parts(&mut parts, auth).await?;
        let base = &pending.base;
        let body = super::csrf::json_post(&base.headers, &base.facts.authority, body).await;
        let body = body.map_err(|(status, error)| problem(status, error))?;
        Ok(Self { pending, body })
    }
}

impl ApiPosted {
    fn field(&self, name: &str) -> &str {
        self.body.get(name).and_then(Value::as_str).unwrap_or("")
    }
}

/// The methods this pending login can use now, in the pages' order.
async fn usable(p: &PendingPage) -> Result<Vec<&'static str>, StoreError> {
    let m = p.methods();
    let mut out = Vec::new();
    if m.totp && p.base.auth.records.totp(&p.login.user).await?.is_some() {
        out.push("totp");
    }
    if email_allowed(p) {
        out.push("email");
    }
    let codes = p.base.auth.records.backup_codes(&p.login.user).await?;
    if m.backup && codes.is_some_and(|c| c.remaining() > 0) {
        out.push("backup");
    }
    let passkeys = p.base.auth.records.passkeys(&p.login.user).await?;
    if passkey_pages::offered(p) && !passkeys.is_empty() {
        out.insert(0, "passkey");
    }
    Ok(out)
}

fn unavailable(e: StoreError) -> Response {
    tracing::error!(error = %e, "store unavailable for the MFA API");
    problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
}

/// `GET {prefix}api/mfa`: who is signing in, the methods they can use, and whether they must
/// first enroll on the pages.
pub async fn state(ApiPending(p): ApiPending) -> Response {
    let methods = match usable(&p).await {
        Ok(m) => m,
        Err(e) => return unavailable(e),
    };
    let register = match passkey_pages::may_register(&p).await {
        Ok(may) => may,
        Err(e) => return unavailable(e),
    };
    let m = p.methods();
    let enroll = m.totp && !m.phishing_resistant && !methods.contains(&"totp");
    let prefix = p.base.prefix();
    answer(
        StatusCode::OK,
        json!({
            "user": p.login.user,
            "methods": methods,
            "enroll_url": enroll.then(|| format!("{prefix}enroll")),
            "passkey_required": m.phishing_resistant,
            "passkey_register": register
                .then(|| format!("{prefix}api/mfa/passkey/register/options")),
            "expires_at": p.login.created_at + PENDING_TTL.as_secs(),
        }),
    )
}

/// `POST {prefix}api/mfa/email`: a code to the user's registered address.
pub async fn email(posted: ApiPosted) -> Response {
    let p = &posted.pending;
    if !email_allowed(p) {
        return problem(StatusCode::FORBIDDEN, "method_not_allowed");
    }
    let ttl = p.base.auth.config.environments[p.base.facts.env_index]
        .email_otp
        .ttl_secs;
    match send_code(p).await {
        Ok(Sent::Delivered) => answer(
            StatusCode::ACCEPTED,
            json!({ "sent": true, "expires_in_secs": ttl }),
        ),
        Ok(Sent::Blocked(until)) => blocked(&p.base.auth, until),
        Ok(Sent::TooSoon(secs)) => wait(secs, json!({ "error": "too_soon", "wait_secs": secs })),
        Ok(Sent::Failed) => problem(StatusCode::BAD_GATEWAY, "send_failed"),
        Ok(Sent::Unavailable) => problem(StatusCode::FORBIDDEN, "method_not_allowed"),
        Err(e) => unavailable(e),
    }
}

/// `POST {prefix}api/mfa/verify` with `{"method": "totp"|"email"|"backup", "code": "…"}`:
/// on success the session cookies and, for a token login, the token at the dashboard's
/// `token_pointer`.
pub async fn verify(posted: ApiPosted) -> Response {
    match verified(&posted).await {
        Ok(resp) => resp,
        Err(e) => unavailable(e),
    }
}

async fn verified(posted: &ApiPosted) -> Result<Response, StoreError> {
    let p = &posted.pending;
    let records = &p.base.auth.records;
    // A factor that already passed for this sign-in (on the pages): not checked again.
    if let Some(method) = records.take_factor_passed(&p.login.id).await? {
        return released(p, method).await;
    }
    let (user, code) = (p.login.user.as_str(), posted.field("code"));
    let (auth, m) = (&p.base.auth, p.methods());
    let ctx = p.base.audit(user);
    let verdict = match posted.field("method") {
        "totp" if m.totp => {
            let check = check_totp(auth, &ctx, user, code);
            (
                Factor::Totp,
                regulated(&p.base, user, Factor::Totp, check).await?,
            )
        }
        "email" if email_allowed(p) => {
            let check = check_email_code(p, code);
            (
                Factor::EmailOtp,
                regulated(&p.base, user, Factor::EmailOtp, check).await?,
            )
        }
        "backup" if m.backup => {
            let used = async { Ok(use_backup_code(auth, &ctx, user, code).await?.is_some()) };
            let verdict = regulated(&p.base, user, Factor::BackupCode, used).await?;
            (Factor::BackupCode, verdict)
        }
        "passkey" if passkey_pages::offered(p) => {
            let answer = posted.body.get("credential").cloned().unwrap_or_default();
            let holder = passkey_pages::pending_holder(p);
            let check = async {
                let purpose = CeremonyPurpose::SignIn;
                let done = auth.finish_passkey(holder, purpose, &answer, &ctx).await?;
                Ok(done.is_ok())
            };
            let verdict = regulated(&p.base, user, Factor::Passkey, check).await?;
            (Factor::Passkey, verdict)
        }
        _ => return Ok(problem(StatusCode::FORBIDDEN, "method_not_allowed")),
    };
    Ok(match verdict {
        (factor, Verdict::Accepted) => released(p, factor).await?,
        (
            _,
            Verdict::Rejected {
                blocked_until: None,
                ..
            },
        ) => problem(StatusCode::UNPROCESSABLE_ENTITY, "wrong_code"),

        (
            _,
            Verdict::Rejected {
                blocked_until: Some(until),
                ..
            }
            | Verdict::Blocked { until },
        ) => blocked(auth, until),
    })
}

/// The login released: its session cookies, and the token (taken at once, so the release
/// endpoint has nothing more to give) in the dashboard's shape.
async fn released(p: &PendingPage, method: Factor) -> Result<Response, StoreError> {
    released_with(p, method, None).await
}

/// `released`, with the backup codes made for this sign-in in the answer (shown once).
async fn released_with(
    p: &PendingPage,
    method: Factor,
    codes: Option<Vec<String>>,
) -> Result<Response, StoreError> {
    let released = match release(p, method, None).await? {
        Completion::Released(released) => released,
        Completion::NotPending => return Ok(problem(StatusCode::UNAUTHORIZED, "no_pending_login")),
        Completion::PasskeyFirst => return Ok(passkey_first(p, true)),
        Completion::PasskeyOnly => return Ok(passkey_first(p, false)),
    };
    let auth = &p.base.auth;
    let env = &auth.config.environments[p.base.facts.env_index];
    let pointer = env.login.as_ref().and_then(|l| l.token_pointer.as_deref());
    let mut body = match take_token(auth, &released.sid).await? {
        Some(token) => token_document(pointer, &token),
        None => json!({ "next": released.next }),
    };
    if let Value::Object(map) = &mut body {
        map.insert("mfa_required".into(), Value::Bool(false));
        if let Some(codes) = codes {
            map.insert("backup_codes".into(), json!(codes));
        }
    }
    let mut resp = answer(StatusCode::OK, body);
    for cookie in &released.cookies {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// `POST {prefix}api/mfa/passkey/options`: a sign-in ceremony's options, for
/// `navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(…) })`;
/// the answer goes to `api/mfa/verify` as `{"method": "passkey", "credential": …}`.
pub async fn passkey_options(posted: ApiPosted) -> Response {
    ceremony_options(&posted.pending, CeremonyPurpose::SignIn).await
}

/// `POST {prefix}api/mfa/passkey/register/options`: a registration ceremony's options (for a
/// user with no factor yet, or after another factor of a phishing-resistant role passed).
pub async fn passkey_register_options(posted: ApiPosted) -> Response {
    let p = &posted.pending;
    match passkey_pages::may_register(p).await {
        Ok(true) => ceremony_options(p, CeremonyPurpose::Register).await,
        Ok(false) => problem(StatusCode::FORBIDDEN, "method_not_allowed"),
        Err(e) => unavailable(e),
    }
}

async fn ceremony_options(p: &PendingPage, purpose: CeremonyPurpose) -> Response {
    if !passkey_pages::offered(p) {
        return problem(StatusCode::FORBIDDEN, "method_not_allowed");
    }
    let holder = passkey_pages::pending_holder(p);
    match p.base.auth.begin_passkey(holder, purpose).await {
        Ok(Some(begun)) => answer(StatusCode::OK, json!({ "publicKey": begun.options })),
        Ok(None) => problem(StatusCode::FORBIDDEN, "method_not_allowed"),
        Err(e) => unavailable(e),
    }
}

/// `POST {prefix}api/mfa/passkey/register` with `{"credential": …, "name": "…"}`: the new
/// passkey finishes the sign-in, as `api/mfa/verify` does (with `backup_codes`, shown once,
/// when the user had none).
pub async fn passkey_register(posted: ApiPosted) -> Response {
    match registered(&posted).await {
        Ok(resp) => resp,
        Err(e) => unavailable(e),
    }
}

async fn registered(posted: &ApiPosted) -> Result<Response, StoreError> {
    let p = &posted.pending;
    if !passkey_pages::may_register(p).await? {
        return Ok(problem(StatusCode::FORBIDDEN, "method_not_allowed"));
    }
    let (auth, user) = (&p.base.auth, p.login.user.as_str());
    let answer = posted.body.get("credential").cloned().unwrap_or_default();
    let holder = passkey_pages::pending_holder(p);
    let ctx = p.base.audit(user);
    let name = posted.field("name");
    match auth
        .finish_passkey_registration(holder, &answer, name, &ctx)
        .await?
    {
        Ok(_) => {}
        Err(Refusal::AlreadyRegistered) => {
            return Ok(problem(StatusCode::CONFLICT, "already_registered"))
        }
        Err(_) => return Ok(problem(StatusCode::UNPROCESSABLE_ENTITY, "passkey_refused")),
    }
    passkey_pages::tell_enrolled(p).await;
    let fresh_codes = match p.methods().backup && auth.records.backup_codes(user).await?.is_none() {
        true => Some(super::factors::new_backup_codes(auth, user).await?),
        false => None,
    };
    released_with(p, Factor::PasskeyRegister, fresh_codes).await
}

/// 403 after a factor that cannot finish this sign-in: only a passkey does. When the factor
/// proved the person for a first passkey, `register` says where to create it.
fn passkey_first(p: &PendingPage, register: bool) -> Response {
    let prefix = p.base.prefix();
    let register = register.then(|| format!("{prefix}api/mfa/passkey/register/options"));
    let body = json!({ "error": "passkey_required", "register": register });
    answer(StatusCode::FORBIDDEN, body)
}

/// `GET {prefix}api/openapi.json`: this API described, with the configured prefix.
pub fn openapi(prefix: &str) -> String {
    OPENAPI.replace("\"/.mfagate/", &format!("\"{prefix}"))
}
