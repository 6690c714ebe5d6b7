//! What happens after the dashboard answered a watched login (DESIGN.md "Login interception"):
//! pass it through with a gateway session, or withhold the credential, park it sealed in a
//! pending login and send the browser to the MFA pages.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

use super::auth::Auth;
use super::login_intercept::{
    judge, safe_next, strip_session_cookies, token_at, withhold_token, Answer, Verdict,
};
use super::vault::Held;
use crate::audit::{Context, EventKind};
use crate::config::{Environment, LoginConfig, LoginFormat, LoginRoute};
use crate::domain::{AuthMethod, Who};
use crate::policy::login_needs_mfa;
use crate::session::jar::Jar;
use crate::session::token::{encode_session, new_id, token_hash, SessionClaims, Stage};
use crate::session::{device, set_cookie, SESSION_COOKIE};
use crate::store::records::{PendingLogin, SessionRecord, WithheldCredential};
use crate::store::StoreError;

/// How long a password login may wait for its second factor.
pub const PENDING_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The dashboard accepted a login but the gateway cannot tell whose: never release.
    #[error("successful login but no user name could be read")]
    Unidentified,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Facts of the login request the flow needs after the upstream answered.
#[derive(Debug, Clone, Default)]
pub struct LoginRequest {
    /// Index of the environment the login is for.
    pub env_index: usize,
    /// The user name the request gave, if the config says where it is (regulation, and a
    /// cross-check of the dashboard's answer).
    pub user: Option<String>,
    pub next: Option<String>,
    pub user_agent: String,
    /// The browser's device id, from a valid device cookie.
    pub device_id: Option<String>,
    /// The browser's pre-login jar (sent with the login request) and its session-jar chunk
    /// count (replaced by the new session's).
    pub pre: Held,
    pub jar_chunks: usize,
    pub audit: Context,
}

/// What the dashboard's answer carried, gathered by the adapter (the probe is I/O).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The pre-login jar with the answer's session cookies applied.
    pub jar: Jar,
    pub token: Option<String>,
    /// `Some(user or None)` when the probe was asked with that credential.
    pub probe_user: Option<Option<String>>,
}

/// The dashboard's answer to a watched login: head, buffered body, and what it carried.
pub struct Answered {
    pub parts: http::response::Parts,
    pub body: Bytes,
    pub evidence: Evidence,
}

/// Decides on the dashboard's login response (status, headers, buffered body). The
/// dashboard's session cookies never leave in the answer: on success they go into the
/// gateway session's jar (at once, or after the second factor); on failure they stay bound
/// to the browser's pre-login jar when the probe showed them anonymous, else they are dropped.
pub async fn on_login_response(
    auth: &Auth,
    env: &Environment,
    login: &LoginConfig,
    route: &LoginRoute,
    req: &LoginRequest,
    answered: Answered,
) -> Result<Response<Body>, LoginError> {
    let Answered {
        mut parts,
        body,
        evidence: ev,
    } = answered;
    let mut json: Option<Value> = serde_json::from_slice(&body).ok();
    let answer = Answer {
        status: parts.status,
        location: parts.headers.get(LOCATION).and_then(|v| v.to_str().ok()),
        json: json.as_ref(),
        has_credential: !ev.jar.is_empty() || ev.token.is_some(),
    };
    let verdict = judge(
        login,
        route,
        &answer,
        ev.probe_user.clone(),
        req.user.as_deref(),
    );
    strip_session_cookies(&mut parts.headers, login);
    let now = auth.clock.now();
    let user = match verdict {
        Verdict::Success { user } => user,
        Verdict::Failed { reason } => {
            let ctx = req.audit.clone();
            let ctx = match &req.user {
                Some(u) => ctx.with_user(u),
                None => ctx,
            };
            auth.audit
                .record(ctx.event(EventKind::LoginFailed {
                    reason: reason.into(),
                }))
                .await;
            if ev.probe_user == Some(None) {
                // The dashboard itself says this jar is anonymous (a flash, a CSRF secret).
                for c in auth.pre_login_cookies(ev.jar, req.pre.chunks, now) {
                    append_cookie(&mut parts.headers, &c);
                }
            }
            if let (Some(j), Some(p)) = (json.as_mut(), login.token_pointer.as_deref()) {
                if token_at(j, p).is_some() {
                    withhold_token(j, Some(p), &auth.config.gateway_prefix);
                    return Ok(json_response(parts, j));
                }
            }
            return Ok(Response::from_parts(parts, Body::from(body)));
        }
    };
    let mut ctx = req.audit.with_user(&user);
    if let Some(dev) = &req.device_id {
        ctx = ctx.with_device(dev);
    }
    for c in auth.end_pre_login(&req.pre).await? {
        append_cookie(&mut parts.headers, &c);
    }
    let mut jar = ev.jar;
    jar.id.clear();
    let credential = WithheldCredential {
        set_cookies: jar.lines(),
        token: ev.token.clone(),
    };

    // Who the user is decides whether MFA is needed: the any-environment rule, by role.
    let entry = auth.config.directory.lookup(&user, &env.name);
    let who = Who {
        role: entry.role,
        envs: entry.environments,
        factor: auth.records.totp(&user).await?.is_some(),
    };
    let needs_mfa = login_needs_mfa(
        &auth.policies(),
        &who.envs,
        req.env_index,
        who.role,
        who.factor,
    );
    let trusted = match (&req.device_id, needs_mfa) {
        (_, false) => Some(("mfa_not_required", None)),
        (Some(dev), true) => {
            let record = auth.records.device(&user, dev).await?;
            // A trusted device counts as a second factor as of when it passed one.
            device::is_trusted(record.as_ref(), now)
                .then(|| ("trusted_device", record.map(|d| d.last_seen)))
        }
        (None, true) => None,
    };
    if let Some((reason, mfa_at)) = trusted {
        let device_id = req.device_id.clone().unwrap_or_else(|| new_id(&auth.keys));
        let session = start_session(
            auth,
            env,
            NewSession {
                user: &user,
                who,
                device_id: &device_id,
                device_label: &device::label(&req.user_agent),
                ip: &ctx.ip,
                mfa_at,
                credential: Some(&credential),
                previous_jar_chunks: req.jar_chunks,
            },
            now,
        )
        .await?;
        auth.audit.record(ctx.login_passthrough(reason)).await;
        for c in std::iter::once(&session.set_cookie).chain(&session.jar_cookies) {
            append_cookie(&mut parts.headers, c);
        }
        return Ok(Response::from_parts(parts, Body::from(body)));
    }

    // Withhold: the credential leaves this response and waits, sealed, for the second factor.
    let next = req
        .next
        .as_deref()
        .or_else(|| parts.headers.get(LOCATION).and_then(|v| v.to_str().ok()))
        .map(|n| safe_next(Some(n)))
        .unwrap_or_else(|| "/".into());
    let pending = PendingLogin {
        id: new_id(&auth.keys),
        user: user.clone(),
        environment: env.name.clone(),
        sealed_credential: auth.records.seal_credential(&user, &credential),
        next,
        token_login: ev.token.is_some() && route.format == LoginFormat::Json,
        ip: ctx.ip.clone(),
        user_agent: req.user_agent.clone(),
        created_at: now,
        who: who.clone(),
    };
    auth.records.save_pending(&pending, PENDING_TTL).await?;
    let claims = SessionClaims {
        sid: pending.id.clone(),
        env: env.name.clone(),
        user: user.clone(),
        device: req.device_id.clone().unwrap_or_default(),
        auth: AuthMethod::Pwd,
        stage: Stage::Pending,
        created_at: now,
        mfa_at: None,
        idle_until: now + PENDING_TTL.as_secs(),
        expires_at: now + PENDING_TTL.as_secs(),
        who,
        tok: None,
    };
    let pending_cookie = set_cookie(SESSION_COOKIE, &encode_session(&auth.keys, &claims), None);
    auth.audit.record(ctx.login_intercepted()).await;

    append_cookie(&mut parts.headers, &pending_cookie);
    let mfa_url = auth.config.gateway_prefix.clone();
    match (route.format, json.as_mut(), login.token_pointer.as_deref()) {
        (LoginFormat::Json, Some(json), pointer) => {
            withhold_token(json, pointer, &mfa_url);
            Ok(json_response(parts, json))
        }
        _ => {
            // A form login continues at the MFA pages; nothing of the dashboard's body is sent.
            parts.status = StatusCode::SEE_OTHER;
            parts.headers.remove(CONTENT_LENGTH);
            parts.headers.remove(CONTENT_TYPE);
            if let Ok(v) = HeaderValue::from_str(&mfa_url) {
                parts.headers.insert(LOCATION, v);
            }
            Ok(Response::from_parts(parts, Body::empty()))
        }
    }
}

/// The answer with `json` as its body (the token withheld).
fn json_response(mut parts: http::response::Parts, json: &Value) -> Response<Body> {
    let body = serde_json::to_vec(json).unwrap_or_default();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body))
}

fn append_cookie(headers: &mut http::HeaderMap, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        headers.append(SET_COOKIE, v);
    }
}

/// A new gateway session: its id, the `Set-Cookie` value carrying its facts, and the lines
/// storing the dashboard's credential in its jar.
pub struct StartedSession {
    pub sid: String,
    pub set_cookie: String,
    pub jar_cookies: Vec<String>,
}

/// What a new signed-in session is made of.
pub struct NewSession<'a> {
    pub user: &'a str,
    pub who: Who,
    pub device_id: &'a str,
    pub device_label: &'a str,
    pub ip: &'a str,
    /// When the second factor passed (now, or a trusted device's time), if it did.
    pub mfa_at: Option<u64>,
    pub credential: Option<&'a WithheldCredential>,
    /// Session-jar chunks the browser holds now (replaced).
    pub previous_jar_chunks: usize,
}

/// Creates a fully signed-in gateway session: a store record (for listing, revocation and the
/// dashboard logout) and the cookie that carries its facts.
pub async fn start_session(
    auth: &Auth,
    env: &Environment,
    new: NewSession<'_>,
    now: u64,
) -> Result<StartedSession, StoreError> {
    let limits = env.sessions;
    let claims = SessionClaims {
        sid: new_id(&auth.keys),
        env: env.name.clone(),
        user: new.user.to_string(),
        device: new.device_id.to_string(),
        auth: AuthMethod::Pwd,
        stage: Stage::Full,
        created_at: now,
        mfa_at: new.mfa_at,
        idle_until: now + limits.idle.as_secs(),
        expires_at: now + limits.absolute.as_secs(),
        who: new.who,
        tok: new
            .credential
            .and_then(|c| c.token.as_deref())
            .map(|t| token_hash(&auth.keys, t)),
    };
    let record = SessionRecord {
        id: claims.sid.clone(),
        environment: env.name.clone(),
        device_id: new.device_id.to_string(),
        device_label: new.device_label.to_string(),
        ip: new.ip.to_string(),
        created_at: now,
        mfa_at: new.mfa_at,
        auth: claims.auth,
        sealed_credential: new
            .credential
            .map(|c| auth.records.seal_credential(new.user, c)),
    };
    auth.records
        .save_session(new.user, &record, limits.absolute)
        .await?;
    // Role and environments as of this sign-in, for enforcement sweeps.
    auth.records.save_profile(new.user, &claims.who).await?;
    let jar = new
        .credential
        .map(|c| Jar::from_lines(&c.set_cookies, now))
        .unwrap_or_default();
    Ok(StartedSession {
        set_cookie: set_cookie(SESSION_COOKIE, &encode_session(&auth.keys, &claims), None),
        jar_cookies: auth.session_jar_cookies(&claims.sid, &jar, new.previous_jar_chunks),
        sid: claims.sid,
    })
}
