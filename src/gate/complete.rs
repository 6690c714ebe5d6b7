//! The end of a second-factor step (DESIGN.md "Login interception"): the pending login is
//! taken (single use), this device is trusted, the real session starts under a new id with
//! the withheld credential in its jar, a token login's token is parked for its one release,
//! and the step is audited. The result is data; the web adapter makes the redirect of it.

use super::auth::Auth;
use super::login_flow::{start_session, NewSession};
use crate::audit::{Context, EventKind};
use crate::config::model::TrustBrowser;
use crate::domain::{Factor, Who};
use crate::notify::messages::Voice;
use crate::session::device;
use crate::session::token::{encode_device, new_id};
use crate::session::{set_cookie, DEVICE_COOKIE};
use crate::store::records::PendingLogin;
use crate::store::StoreResult;

/// The browser a second factor passed on.
pub struct Passed<'a> {
    /// The pending session's id (its cookie).
    pub pending_sid: &'a str,
    pub factor: Factor,
    /// The browser's device id from a valid device cookie, if it has one.
    pub device_id: Option<String>,
    pub user_agent: &'a str,
    pub ip: &'a str,
    /// Session-jar chunks the browser holds now (replaced).
    pub jar_chunks: usize,
    /// The request's audit context (environment, IP, request id).
    pub ctx: Context,
    /// The person's choice on "Trust this browser", when they were asked.
    pub trust: Option<bool>,
}

/// A login released after its second factor: where the browser continues and the cookies it
/// gets (the session, the device, the sealed jar; never the dashboard's own).
pub struct Released {
    /// The new session's id (a token login's token is parked under it).
    pub sid: String,
    pub next: String,
    pub cookies: Vec<String>,
}

/// How completing a pending login went.
pub enum Completion {
    Released(Released),
    /// No longer pending (expired, or completed by a parallel submit).
    NotPending,
    /// Only a passkey finishes this sign-in (`phishing_resistant_roles`) and another factor
    /// passed: it proved the person, who may now register their first passkey; the login
    /// stays pending.
    PasskeyFirst,
    /// Only a passkey finishes this sign-in, and this factor does not even prove the person
    /// for a first one (they have a passkey already, or it was an email code): the login stays
    /// pending, for the passkey.
    PasskeyOnly,
}

impl Auth {
    /// Completes a pending login in environment `index`.
    pub async fn complete_factor(
        &self,
        index: usize,
        passed: Passed<'_>,
    ) -> StoreResult<Completion> {
        let Some(pending) = self.records.pending(passed.pending_sid).await? else {
            return Ok(Completion::NotPending);
        };
        let methods = self.config.environments[index].methods_for(pending.who.role);
        if methods.phishing_resistant && !passed.factor.phishing_resistant() {
            return self.bridge(&pending, &passed).await;
        }
        let Some(login) = self.records.take_pending(passed.pending_sid).await? else {
            return Ok(Completion::NotPending);
        };
        let (env, now) = (&self.config.environments[index], self.clock.now());
        let device_id = passed.device_id.unwrap_or_else(|| new_id(&self.keys));
        let trust_secs = env.sessions.device_trust.as_secs();
        let existing = self.records.device(&login.user, &device_id).await?;
        let had_trust = existing.is_some();
        let (ua, ip) = (passed.user_agent, passed.ip);
        let record = crate::store::records::DeviceRecord {
            passkey: passed.factor.phishing_resistant(),
            ..device::trust(existing, &device_id, ua, ip, trust_secs, now)
        };
        let trusted = trusts(env.trust_browser, passed.trust);
        if trusted {
            self.records.save_device(&login.user, &record).await?;
        } else if had_trust {
            // Asked not to trust a browser trusted before: it is not any more.
            self.records.forget_device(&login.user, &device_id).await?;
        }
        let credential = self
            .records
            .open_credential(&login.user, &login.sealed_credential)?;
        let factor = login.who.factor || self.records.has_factor(&login.user).await?;
        let new = NewSession {
            user: &login.user,
            who: Who {
                factor,
                ..login.who.clone()
            },
            device_id: &device_id,
            device_label: &record.label,
            ip,
            mfa_at: Some(now),
            credential: Some(&credential),
            previous_jar_chunks: passed.jar_chunks,
            audit: &passed.ctx,
        };
        let session = start_session(self, env, new, now).await?;
        if let (true, Some(token)) = (login.token_login, &credential.token) {
            let sealed = self.keys.seal(token.as_bytes(), session.sid.as_bytes());
            self.records.park_release(&session.sid, &sealed).await?;
        }
        let ctx = passed.ctx.with_user(&login.user).with_device(&device_id);
        self.audit.record(ctx.mfa_success(passed.factor)).await;
        if trusted {
            self.audit.record(ctx.event(EventKind::DeviceTrusted)).await;
        }
        if trusted {
            let (label, when) = (device::label(ua), env.zone.show(now));
            self.notify(&login.user, |to| {
                crate::notify::messages::device_trusted(to, &Voice::of(env), &label, ip, &when)
            })
            .await;
        }
        let mut cookies = vec![session.set_cookie];
        if trusted {
            let device_cookie = encode_device(&self.keys, &device_id);
            cookies.push(set_cookie(DEVICE_COOKIE, &device_cookie, Some(trust_secs)));
        }
        // The dashboard's cookies go into the session's sealed jar, never to the browser;
        // token clients fetch their token once from the release endpoint.
        cookies.extend(session.jar_cookies);
        Ok(Completion::Released(Released {
            sid: session.sid,
            next: login.next,
            cookies,
        }))
    }
}

impl Auth {
    /// A factor other than a passkey passed for a sign-in only a passkey finishes. The user's
    /// own authenticator app or a backup code lets a user without a passkey create their first
    /// (the stepping stone from before the rule); nothing else does, and nothing lets a user
    /// who has a passkey add another this way (a phished code must not add the phisher's key).
    async fn bridge(&self, pending: &PendingLogin, passed: &Passed<'_>) -> StoreResult<Completion> {
        let own = matches!(passed.factor, Factor::Totp | Factor::BackupCode);
        if !own || !self.records.passkeys(&pending.user).await?.is_empty() {
            return Ok(Completion::PasskeyOnly);
        }
        let ctx = passed.ctx.with_user(&pending.user);
        self.audit.record(ctx.mfa_success(passed.factor)).await;
        let ttl = super::login_flow::PENDING_TTL;
        self.records.mark_bridged(&pending.id, ttl).await?;
        Ok(Completion::PasskeyFirst)
    }
}

/// Whether this browser is trusted from now on: the environment's rule, or under "ask" the
/// person's choice (a client that was not asked, such as an API client, keeps the default: yes).
pub fn trusts(rule: TrustBrowser, choice: Option<bool>) -> bool {
    match rule {
        TrustBrowser::Always => true,
        TrustBrowser::Never => false,
        TrustBrowser::Ask => choice.unwrap_or(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_decides_unless_it_asks() {
        assert!(trusts(TrustBrowser::Always, Some(false)));
        assert!(!trusts(TrustBrowser::Never, Some(true)));
        assert!(!trusts(TrustBrowser::Ask, Some(false)));
        assert!(trusts(TrustBrowser::Ask, None));
    }
}
