//! Runtime state of authentication shared by the pipeline and the gateway pages.

use std::sync::Arc;

use http::HeaderMap;

use super::lifecycle::DashboardLogout;
use crate::audit::AuditSink;
use crate::clock::Clock;
use crate::config::{Config, Environment};
use crate::crypto::secret_box::KeyRing;
use crate::federation::sso::Sso;
use crate::notify::Mailer;
use crate::policy::PolicySet;
use crate::session::live::LiveConnections;
use crate::session::revocation::RevocationView;
use crate::session::token::{decode_session, SessionClaims, Stage};
use crate::session::{cookie_value, SESSION_COOKIE};
use crate::store::records::Records;
use pingora_limits::rate::Rate;

/// The core's state. What the adapters read is public and immutable behind the `Arc`; what
/// changes at run time (the policy set with its enforcement times, the revocation view, the
/// live connections, the rate estimators) is private and changed only by the core's
/// operations.
pub struct Auth {
    pub config: Arc<Config>,
    pub records: Records,
    pub keys: Arc<KeyRing>,
    pub audit: AuditSink,
    pub clock: Clock,
    /// Present when `[mail]` is configured.
    pub mailer: Option<Mailer>,
    /// In-memory first line per client IP against wrong codes (a bounded-memory estimator,
    /// no store access).
    failure_rate: Arc<Rate>,
    /// The same for password attempts through watched logins.
    login_rate: Arc<Rate>,
    /// When each SSO identity was last audited (see `identify`).
    pub(super) sso_seen: Arc<SsoSeen>,
    pub(super) revocation: Arc<RevocationView>,
    pub(super) live: Arc<LiveConnections>,
    pub(super) logout: Arc<dyn DashboardLogout>,
    /// Each environment's SSO verifier (by environment index), built from its settings.
    pub(super) sso: Vec<Option<Sso>>,
    /// Environment policies plus enforcement times (updated when enforcement changes).
    pub(super) policies: std::sync::RwLock<Arc<PolicySet>>,
}

pub(super) type SsoSeen = (
    std::hash::RandomState,
    std::sync::Mutex<std::collections::HashMap<u64, u64>>,
);

/// What a reloaded config replaces in the core; the store, the views and the counters stay.
pub struct ReloadParts {
    pub config: Arc<Config>,
    pub keys: Arc<KeyRing>,
    pub mailer: Option<Mailer>,
    pub logout: Arc<dyn DashboardLogout>,
    pub sso: Vec<Option<Sso>>,
}

/// What the core is built from: its store and keys, the views it shares with the adapters,
/// and the ports they implement for it.
pub struct AuthParts {
    pub config: Arc<Config>,
    pub store: Arc<dyn crate::store::Store>,
    pub keys: Arc<KeyRing>,
    pub revocation: Arc<RevocationView>,
    pub live: Arc<LiveConnections>,
    pub mailer: Option<Mailer>,
    pub logout: Arc<dyn DashboardLogout>,
    /// Built by `build_sso` from the config's settings.
    pub sso: Vec<Option<Sso>>,
}

/// Each environment's SSO verifier, built from the config's settings (at start).
pub fn build_sso(config: &Config) -> Result<Vec<Option<Sso>>, String> {
    config
        .environments
        .iter()
        .map(|env| env.sso.as_ref().map(Sso::build).transpose())
        .collect()
}

impl Auth {
    pub fn new(p: AuthParts) -> Self {
        let minute = std::time::Duration::from_secs(60);
        Self {
            records: Records::new(p.store.clone(), p.keys.clone()),
            audit: AuditSink::new(p.store, p.config.audit.retention),
            keys: p.keys,
            clock: Clock::default(),
            mailer: p.mailer,
            failure_rate: Arc::new(Rate::new(minute)),
            login_rate: Arc::new(Rate::new(minute)),
            sso_seen: Default::default(),
            revocation: p.revocation,
            live: p.live,
            logout: p.logout,
            sso: p.sso,
            policies: std::sync::RwLock::new(Arc::new(p.config.policies())),
            config: p.config,
        }
    }

    /// The core for a reloaded config: its settings, keys, mail and SSO are the new ones;
    /// the store, clock, audit sink, revocation view, live connections and rate counters are
    /// this core's, so nothing a request or an attacker left behind is forgotten. The
    /// enforcement times are the config's until `enforcement::record` runs on the result.
    pub fn reloaded(&self, p: ReloadParts) -> Self {
        Self {
            records: Records::new(self.records.store.clone(), p.keys.clone()),
            audit: self.audit.with_retention(p.config.audit.retention),
            keys: p.keys,
            clock: self.clock.clone(),
            mailer: p.mailer,
            failure_rate: self.failure_rate.clone(),
            login_rate: self.login_rate.clone(),
            sso_seen: self.sso_seen.clone(),
            revocation: self.revocation.clone(),
            live: self.live.clone(),
            logout: p.logout,
            sso: p.sso,
            policies: std::sync::RwLock::new(Arc::new(p.config.policies())),
            config: p.config,
        }
    }

    /// Follows the store's revocation events for the life of the gateway (see
    /// `RevocationView::follow`), closing this instance's live connections of what ends.
    pub fn follow_revocations(
        &self,
        events: tokio::sync::broadcast::Receiver<crate::store::StoreEvent>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let store = self.records.store.clone();
        self.revocation
            .clone()
            .follow(events, store, self.live.clone())
    }

    /// Wrong codes from `ip` in the last minute, as the in-memory estimator has them; counts
    /// one more when `failed`.
    pub fn ip_failures(&self, ip: &str, failed: bool) -> isize {
        self.failure_rate.observe(&ip, isize::from(failed))
    }

    /// Counts one password attempt from `ip`; whether it is over the environment's limit.
    pub fn login_over_limit(&self, env: &Environment, ip: std::net::IpAddr) -> bool {
        self.login_rate.observe(&ip, 1) > env.regulation.login_per_ip_per_minute as isize
    }
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

    /// Audit context for request `request_id` from `ip` in `env` (the id its access-log line
    /// carries too).
    pub fn audit_context(
        &self,
        env: &Environment,
        ip: impl ToString,
        request_id: u64,
    ) -> crate::audit::Context {
        crate::audit::Context {
            at_ms: self.clock.now_ms(),
            environment: env.name.clone(),
            ip: ip.to_string(),
            request_id: crate::audit::request_id(request_id),
            ..Default::default()
        }
    }

    /// Audit context for work no request carries (the grace timer, admin tools): no IP, a
    /// fresh request id.
    pub fn background_context(&self, environment: &str) -> crate::audit::Context {
        crate::audit::Context {
            at_ms: self.clock.now_ms(),
            environment: environment.to_string(),
            request_id: crate::audit::new_request_id(),
            ..Default::default()
        }
    }

    /// Up to `limit` events of every environment (and the gateway's own) over the whole
    /// retention, oldest first: tests, and tools that want everything.
    pub async fn activity(&self, limit: usize) -> Vec<crate::audit::AuditEvent> {
        let envs = self.config.environments.iter().map(|e| e.name.clone());
        let logs: Vec<String> = envs.chain([String::new()]).collect();
        self.audit.recent(&logs, limit).await
    }

    /// The voice of the emails of the environment named `env`: its display name and language.
    pub fn voice_of(&self, env: &str) -> crate::notify::messages::Voice<'_> {
        let found = self.config.environments.iter().find(|e| e.name == env);
        match found {
            Some(e) => crate::notify::messages::Voice::of(e),
            None => crate::notify::messages::Voice {
                brand: "mfagate",
                w: Default::default(),
            },
        }
    }

    /// Where `user`'s codes and notices go: the address an admin set, else the directory's.
    pub async fn code_address(&self, user: &str) -> crate::store::StoreResult<Option<String>> {
        match self.records.email_override(user).await? {
            Some(address) => Ok(Some(address)),
            None => Ok(self.user_email(user)),
        }
    }

    /// Queues a notification to `user`, when mail is configured and the user has an address.
    /// A store that cannot say whether an admin changed the address falls back to the
    /// directory's (a notice is better late than lost).
    pub async fn notify(&self, user: &str, make: impl FnOnce(&str) -> crate::notify::Email) {
        let Some(mailer) = &self.mailer else {
            return;
        };
        let to = self.code_address(user).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "address override unreadable; notifying the directory's");
            self.user_email(user)
        });
        if let Some(to) = to {
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
        // Also within today's `session_absolute`: revocations are pruned past the longest
        // session the config allows now, so a cookie minted under a longer limit must not
        // outlive its pruned revocation.
        let within = claims.stage != crate::session::token::Stage::Full
            || claims.created_at + env.sessions.absolute.as_secs() > now;
        (claims.env == env.name
            && within
            && !self
                .revocation
                .is_revoked(&claims.sid, &claims.user, claims.created_ms()))
        .then_some(claims)
    }

    /// Why the request's session ended, when it carries one that verifies but was revoked
    /// (one store read, on this rare path only; "ended" when no cause was noted).
    pub async fn ended_cause(
        &self,
        env: &Environment,
        headers: &HeaderMap,
        now: u64,
    ) -> Option<String> {
        let value = cookie_value(headers, SESSION_COOKIE)?;
        let claims = decode_session(&self.keys, value, now).ok()?;
        let revoked = self
            .revocation
            .is_revoked(&claims.sid, &claims.user, claims.created_ms());
        if claims.env != env.name || !revoked {
            return None;
        }
        let cause = self
            .records
            .end_cause(&claims.sid, &claims.user, claims.created_ms());
        Some(cause.await.ok().flatten().unwrap_or_else(|| "ended".into()))
    }

    /// The longest a session can live in any environment: how long what concerns ended
    /// sessions is worth keeping.
    pub fn longest_session(&self) -> std::time::Duration {
        let envs = self.config.environments.iter();
        let longest = envs.map(|e| e.sessions.absolute).max().unwrap_or_default();
        longest.max(super::login_flow::PENDING_TTL)
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
