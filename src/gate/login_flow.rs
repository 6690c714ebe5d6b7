//! What happens after the dashboard answered a watched login (DESIGN.md "Login interception"):
//! pass it through with a gateway session, or withhold the credential, park it sealed in a
//! pending login and send the browser to the MFA pages. The outcome is data; the proxy
//! adapter makes the HTTP answer of it.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use serde_json::Value;

use super::auth::Auth;
use super::login_intercept::{judge, safe_next_on, token_at, withhold_token, Answer, Verdict};
use super::vault::Held;
use crate::audit::{Context, EventKind, PassThrough};
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
    /// The gateway's public authority the browser used: an absolute return URL on it is
    /// same-origin.
    pub authority: String,
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

/// The dashboard's answer to a watched login, as the core judges it: its status, where it
/// points, its buffered body, and what it carried.
pub struct Answered {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: Bytes,
    pub evidence: Evidence,
}

/// What becomes of the dashboard's answer (the adapter turns it into HTTP). The dashboard's
/// session cookies never leave in it, whichever the outcome: the adapter removes them.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginOutcome {
    /// The answer goes to the browser as the dashboard made it, with `cookies` set, and
    /// with `body` instead of its own when a token in it was withheld.
    PassThrough {
        cookies: Vec<String>,
        body: Option<Value>,
    },
    /// The credential is withheld until a second factor passes: the browser, with `cookies`
    /// set, continues at the gateway's pages.
    Withhold {
        cookies: Vec<String>,
        continue_at: Continue,
    },
}

/// Where a withheld login continues.
#[derive(Debug, Clone, PartialEq)]
pub enum Continue {
    /// A form login: a redirect to the MFA pages, nothing of the dashboard's body sent.
    Redirect(String),
    /// A JSON login: the dashboard's answer with its token replaced by where to go.
    Json(Value),
}

/// Decides on the dashboard's answer to a watched login. On success the dashboard's session
/// cookies go into the gateway session's jar (at once, or after the second factor); on
/// failure they stay bound to the browser's pre-login jar when the probe showed them
/// anonymous, else they are dropped.
pub async fn on_login_response(
    auth: &Auth,
    env: &Environment,
    login: &LoginConfig,
    route: &LoginRoute,
    req: &LoginRequest,
    answered: Answered,
) -> Result<LoginOutcome, LoginError> {
    let json: Option<Value> = serde_json::from_slice(&answered.body).ok();
    let ev = answered.evidence;
    let answer = Answer {
        status: answered.status,
        location: answered.location.as_deref(),
        json: json.as_ref(),
        has_credential: !ev.jar.is_empty() || ev.token.is_some(),
    };
    let probe_user = ev.probe_user.clone();
    let user = match judge(login, route, &answer, probe_user, req.user.as_deref()) {
        Verdict::Success { user } => user,
        Verdict::Failed { reason } => return Ok(failed(auth, login, req, ev, json, reason).await),
    };
    let mut ctx = req.audit.with_user(&user);
    if let Some(dev) = &req.device_id {
        ctx = ctx.with_device(dev);
    }
    let mut cookies = auth.end_pre_login(&req.pre).await?;
    let mut jar = ev.jar;
    jar.id.clear();
    let credential = WithheldCredential {
        set_cookies: jar.lines(),
        token: ev.token,
    };
    let signed_in = Login {
        auth,
        env,
        req,
        user: &user,
        ctx: &ctx,
        credential: &credential,
    };
    let who = signed_in.who().await?;
    if let Some((reason, mfa_at)) = signed_in.passes_without_factor(&who).await? {
        cookies.extend(signed_in.pass_through(who, mfa_at).await?);
        auth.audit.record(ctx.login_passthrough(reason)).await;
        return Ok(LoginOutcome::PassThrough {
            cookies,
            body: None,
        });
    }
    let next = req.next.as_deref().or(answered.location.as_deref());
    cookies.push(signed_in.park(route, who, next).await?);
    auth.audit.record(ctx.login_intercepted()).await;
    let mfa_url = auth.config.gateway_prefix.clone();
    let continue_at = match (route.format, json) {
        (LoginFormat::Json, Some(mut json)) => {
            withhold_token(&mut json, login.token_pointer.as_deref(), &mfa_url);
            Continue::Json(json)
        }
        _ => Continue::Redirect(mfa_url),
    };
    Ok(LoginOutcome::Withhold {
        cookies,
        continue_at,
    })
}

/// A login the dashboard did not positively accept: audited, passed through, its token (if
/// any) withheld, and its cookies kept for the browser only when the dashboard itself says
/// they are anonymous (a flash, a CSRF secret).
async fn failed(
    auth: &Auth,
    login: &LoginConfig,
    req: &LoginRequest,
    ev: Evidence,
    json: Option<Value>,
    reason: &str,
) -> LoginOutcome {
    let ctx = match &req.user {
        Some(u) => req.audit.with_user(u),
        None => req.audit.clone(),
    };
    let event = ctx.event(EventKind::LoginFailed {
        reason: reason.into(),
    });
    auth.audit.record(event).await;
    let cookies = match ev.probe_user {
        Some(None) => auth.pre_login_cookies(ev.jar, req.pre.chunks, auth.clock.now()),
        _ => Vec::new(),
    };
    let body = match (json, login.token_pointer.as_deref()) {
        (Some(mut j), Some(p)) if token_at(&j, p).is_some() => {
            withhold_token(&mut j, Some(p), &auth.config.gateway_prefix);
            Some(j)
        }
        _ => None,
    };
    LoginOutcome::PassThrough { cookies, body }
}

/// A login the dashboard accepted, and what the gateway does with it.
struct Login<'a> {
    auth: &'a Auth,
    env: &'a Environment,
    req: &'a LoginRequest,
    user: &'a str,
    ctx: &'a Context,
    credential: &'a WithheldCredential,
}

impl Login<'_> {
    /// Who the user is decides whether MFA is needed: the any-environment rule, by role.
    async fn who(&self) -> Result<Who, StoreError> {
        let entry = self.auth.config.directory.lookup(self.user, &self.env.name);
        Ok(Who {
            role: entry.role,
            envs: entry.environments,
            factor: self.auth.records.has_factor(self.user).await?,
        })
    }

    /// Why no second factor is asked (and as of when one counts as passed), if none is.
    async fn passes_without_factor(
        &self,
        who: &Who,
    ) -> Result<Option<(PassThrough, Option<u64>)>, StoreError> {
        let policies = self.auth.policies();
        let index = self.req.env_index;
        if !login_needs_mfa(&policies, &who.envs, index, who.role, who.factor) {
            return Ok(Some((PassThrough::MfaNotRequired, None)));
        }
        let Some(dev) = &self.req.device_id else {
            return Ok(None);
        };
        // "never": no browser skips the factor, including those trusted before the rule.
        if self.env.trust_browser == crate::config::model::TrustBrowser::Never {
            return Ok(None);
        }
        let mut record = self.auth.records.device(self.user, dev).await?;
        // A role only a passkey signs in skips it only on a browser a passkey trusted.
        if self.env.methods_for(who.role).phishing_resistant {
            record = record.filter(|d| d.passkey);
        }
        // A trusted device counts as a second factor as of when it passed one.
        let now = self.auth.clock.now();
        Ok(device::is_trusted(record.as_ref(), now)
            .then(|| (PassThrough::TrustedDevice, record.map(|d| d.last_seen))))
    }

    /// A signed-in session at once; returns its cookies.
    async fn pass_through(&self, who: Who, mfa_at: Option<u64>) -> Result<Vec<String>, StoreError> {
        let auth = self.auth;
        let device_id = self
            .req
            .device_id
            .clone()
            .unwrap_or_else(|| new_id(&auth.keys));
        let new = NewSession {
            user: self.user,
            who,
            device_id: &device_id,
            device_label: &device::label(&self.req.user_agent),
            ip: &self.ctx.ip,
            mfa_at,
            credential: Some(self.credential),
            previous_jar_chunks: self.req.jar_chunks,
            audit: self.ctx,
        };
        let session = start_session(auth, self.env, new, auth.clock.now()).await?;
        Ok(std::iter::once(session.set_cookie)
            .chain(session.jar_cookies)
            .collect())
    }

    /// Withholds the credential: it waits, sealed, in a pending login for the second factor.
    /// Returns the cookie of the pending session.
    async fn park(
        &self,
        route: &LoginRoute,
        who: Who,
        next: Option<&str>,
    ) -> Result<String, StoreError> {
        let (auth, env, user, now) = (self.auth, self.env, self.user, self.auth.clock.now());
        let pending = PendingLogin {
            id: new_id(&auth.keys),
            user: user.to_string(),
            environment: env.name.clone(),
            sealed_credential: auth.records.seal_credential(user, self.credential),
            next: next
                .map(|n| safe_next_on(n, &self.req.authority))
                .unwrap_or_else(|| "/".into()),
            token_login: self.credential.token.is_some() && route.format == LoginFormat::Json,
            ip: self.ctx.ip.clone(),
            user_agent: self.req.user_agent.clone(),
            created_at: now,
            who: who.clone(),
        };
        auth.records.save_pending(&pending, PENDING_TTL).await?;
        let claims = SessionClaims {
            sid: pending.id,
            env: env.name.clone(),
            user: user.to_string(),
            device: self.req.device_id.clone().unwrap_or_default(),
            auth: AuthMethod::Pwd,
            stage: Stage::Pending,
            created_at: now,
            created_sub_ms: sub_ms(auth, now),
            mfa_at: None,
            idle_until: now + PENDING_TTL.as_secs(),
            expires_at: now + PENDING_TTL.as_secs(),
            who,
            tok: None,
        };
        Ok(set_cookie(
            SESSION_COOKIE,
            &encode_session(&auth.keys, &claims),
            None,
        ))
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
    /// The request's audit context (the session's start is audited).
    pub audit: &'a Context,
}

/// The milliseconds within second `now` (Unix seconds), from the clock while it is still
/// that second (0 after it).
fn sub_ms(auth: &Auth, now: u64) -> u16 {
    let ms = auth.clock.now_ms();
    match ms / 1000 == now {
        true => (ms % 1000) as u16,
        false => 0,
    }
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
        created_sub_ms: sub_ms(auth, now),
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
        created_sub_ms: claims.created_sub_ms,
        mfa_at: new.mfa_at,
        auth: claims.auth,
        sealed_credential: new
            .credential
            .map(|c| auth.records.seal_credential(new.user, c)),
    };
    auth.records
        .save_session(new.user, &record, limits.absolute)
        .await?;
    // Role and environments as of this sign-in, for enforcement sweeps and retention.
    auth.records.save_profile(new.user, &claims.who).await?;
    auth.records.mark_signed_in(new.user, now).await?;
    let started = EventKind::SessionStarted {
        method: claims.auth,
    };
    let ctx = new.audit.with_user(new.user).with_device(new.device_id);
    auth.audit.record(ctx.event(started)).await;
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
