//! Runtime state of authentication shared by the pipeline and the gateway pages.

use std::sync::Arc;

use http::HeaderMap;

use crate::audit::AuditSink;
use crate::clock::Clock;
use crate::config::{Config, Environment};
use crate::notify::Mailer;
use crate::policy::PolicySet;
use crate::session::live::LiveConnections;
use crate::session::revocation::RevocationView;
use crate::session::token::{decode_session, SessionClaims, Stage};
use crate::session::{cookie_value, SESSION_COOKIE};
use crate::store::records::Records;
use crate::crypto::secret_box::KeyRing;
use crate::store::StoreResult;
use pingora_limits::rate::Rate;

pub struct Auth {
    pub config: Arc<Config>,
    pub records: Records,
    pub keys: Arc<KeyRing>,
    pub audit: AuditSink,
    pub revocation: Arc<RevocationView>,
    pub live: Arc<LiveConnections>,
    pub clock: Clock,
    /// Present when `[mail]` is configured.
    pub mailer: Option<Mailer>,
    /// In-memory first line per client IP: wrong codes and watched logins per minute
    /// (bounded-memory estimators, no store access).
    pub failure_rate: Rate,
    pub login_rate: Rate,
    /// Environment policies plus enforcement times (updated when enforcement changes).
    pub policies: std::sync::RwLock<Arc<PolicySet>>,
}

impl Auth {
    /// Where a user's codes and notifications go: the login identity when it is an email
    /// address (a user directory comes with per-role policy). Never an address typed on a page.
    pub fn user_email(&self, user: &str) -> Option<String> {
        self.config
            .directory
            .lookup(user, "")
            .email
            .filter(|e| e.parse::<lettre::message::Mailbox>().is_ok())
    }

    /// The policies with the enforcement times currently known.
    pub fn policies(&self) -> Arc<PolicySet> {
        self.policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether revocation events are too old to trust (a shared store unreachable for longer
    /// than `max_staleness`): signed-in requests must then fail closed.
    pub fn revocations_stale(&self) -> bool {
        match &self.config.store {
            crate::config::StoreBackend::Embedded => false,
            crate::config::StoreBackend::Redis { max_staleness, .. } => {
                self.records.store.event_lag() > *max_staleness
            }
        }
    }

    /// Audit context for a request from `ip` in `env`, with a fresh request id.
    pub fn audit_context(&self, env: &Environment, ip: impl ToString) -> crate::audit::Context {
        crate::audit::Context {
            at: self.clock.now(),
            environment: env.name.clone(),
            ip: ip.to_string(),
            request_id: crate::audit::new_request_id(),
            user: None,
            device: None,
        }
    }

    /// Ends one session everywhere: removed from the store and announced to every instance,
    /// whose revocation views refuse it and whose live WebSockets of it are closed.
    pub async fn revoke(&self, user: &str, sid: &str) -> StoreResult<()> {
        let event = self.records.revoke_session(user, sid).await?;
        // This instance refuses and closes at once, before the answer that says it is done;
        // the others on the event.
        self.revocation.apply(&event);
        self.live.close_session(sid);
        Ok(())
    }

    /// Ends every session of `user` everywhere (e.g. a factor reset by an admin).
    pub async fn revoke_all(&self, user: &str) -> StoreResult<()> {
        for session in self.records.sessions(user).await? {
            self.records.revoke_session(user, &session.id).await?;
        }
        // Also covers sessions the store no longer lists (cookie-only, any instance).
        let before_ms = (self.clock.now() + 1) * 1000;
        let event = self.records.revoke_user(user, before_ms).await?;
        self.revocation.apply(&event);
        self.live.close_user(user);
        Ok(())
    }

    /// Queues a notification to `user`, when mail is configured and the user has an address.
    pub fn notify(&self, user: &str, make: impl FnOnce(&str) -> crate::notify::Email) {
        if let (Some(mailer), Some(to)) = (&self.mailer, self.user_email(user)) {
            mailer.notify(&make(&to));
        }
    }
}

impl Auth {
    /// The request's gateway session for environment `env`, verified in memory only: signature,
    /// time limits, environment binding and the revocation view. No store access.
    pub fn session(
        &self,
        env: &Environment,
        headers: &HeaderMap,
        now: u64,
    ) -> Option<SessionClaims> {
        let value = cookie_value(headers, SESSION_COOKIE)?;
        let claims = decode_session(&self.keys, value, now).ok()?;
        (claims.env == env.name
            && !self
                .revocation
                .is_revoked(&claims.sid, &claims.user, claims.created_at))
        .then_some(claims)
    }

    /// A fully signed-in session (second factor done or not required).
    pub fn full_session(
        &self,
        env: &Environment,
        headers: &HeaderMap,
        now: u64,
    ) -> Option<SessionClaims> {
        self.session_at(Stage::Full, env, headers, now)
    }

    /// A session waiting for its second factor.
    pub fn pending_session(
        &self,
        env: &Environment,
        headers: &HeaderMap,
        now: u64,
    ) -> Option<SessionClaims> {
        self.session_at(Stage::Pending, env, headers, now)
    }

    fn session_at(
        &self,
        stage: Stage,
        env: &Environment,
        headers: &HeaderMap,
        now: u64,
    ) -> Option<SessionClaims> {
        self.session(env, headers, now).filter(|c| c.stage == stage)
    }
}
