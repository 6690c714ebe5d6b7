//! Typed records on top of the `Store` primitives. Keys put the user in a Redis hash tag
//! (`user:{id}:...`) so a user's keys share a cluster slot. Secrets are sealed with the key
//! ring and bound to their owner before they are written.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, StoreResult};
use crate::crypto::secret_box::KeyRing;
use crate::domain::{AuthMethod, Factor, Who};
use crate::mfa::attempts::AttemptState;
use crate::mfa::backup_codes::BackupCodes;
use crate::mfa::email_otp::EmailOtpState;
use crate::mfa::totp::TotpState;

mod exports;
mod passkeys;
mod recovery;
mod retention;
mod revocations;
pub use exports::{Download, ExportJob, ExportState};
pub use passkeys::{CeremonyPurpose, PasskeyCeremony};
pub use recovery::{RecoveryRequest, RecoveryState};
pub use revocations::recorded_revocations;

/// Marks that a pending login's second factor passed (until `continue` completes it).
fn passed_key(pending_id: &str) -> String {
    format!("pending-passed:{pending_id}")
}

fn user_key(user: &str, what: &str) -> String {
    format!("user:{{{user}}}:{what}")
}

fn attempts_key(scope: &str, id: &str) -> String {
    format!("attempts:{scope}:{{{id}}}")
}

/// Store set of every user who had a session.
const USERS_SET: &str = "users";

const LOCK_WAIT: Duration = Duration::from_secs(5);
const LOCK_TTL: Duration = Duration::from_secs(10);

/// An active (or pending, during enrollment) TOTP factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TotpRecord {
    #[serde(with = "crate::crypto::bytes")]
    pub sealed_secret: Vec<u8>,
    pub state: TotpState,
    pub enrolled_at: u64,
}

/// A browser/device that passed MFA for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub id: String,
    pub label: String,
    pub first_seen: u64,
    pub last_seen: u64,
    pub last_ip: String,
    pub trusted_until: u64,
    /// Trusted after a passkey (a phishing-resistant factor): only such a browser skips the
    /// passkey of a role that needs one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passkey: bool,
}

/// Server-side view of a gateway session (the cookie holds the facts used per request).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: String,
    pub environment: String,
    pub device_id: String,
    pub device_label: String,
    pub ip: String,
    pub created_at: u64,
    /// The milliseconds of `created_at` (0 in records written before they were kept).
    #[serde(
        default,
        rename = "cms",
        skip_serializing_if = "crate::domain::is_zero"
    )]
    pub created_sub_ms: u16,
    pub mfa_at: Option<u64>,
    pub auth: AuthMethod,
    /// The dashboard credential, sealed, for calling the dashboard's logout endpoint.
    #[serde(
        with = "crate::crypto::bytes::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sealed_credential: Option<Vec<u8>>,
}

impl SessionRecord {
    /// When the session began, in Unix milliseconds.
    pub fn created_ms(&self) -> u64 {
        let ms = self.created_at.saturating_mul(1000);
        ms.saturating_add(u64::from(self.created_sub_ms))
    }
}

/// What the dashboard returned on a successful password login, held back until MFA passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithheldCredential {
    /// `Set-Cookie` lines exactly as the dashboard sent them.
    pub set_cookies: Vec<String>,
    /// The token found at the configured JSON pointer.
    pub token: Option<String>,
}

/// A password login waiting for its second factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub id: String,
    pub user: String,
    pub environment: String,
    #[serde(with = "crate::crypto::bytes")]
    pub sealed_credential: Vec<u8>,
    /// Same-origin path to continue to after MFA.
    pub next: String,
    /// Token logins release through the one-time JSON endpoint instead of cookies.
    pub token_login: bool,
    pub ip: String,
    pub user_agent: String,
    pub created_at: u64,
    pub who: Who,
}

#[derive(Clone)]
pub struct Records {
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeyRing>,
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Records {
    pub fn new(store: Arc<dyn Store>, keys: Arc<KeyRing>) -> Self {
        Self { store, keys }
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> StoreResult<Option<T>> {
        match self.store.get(key).await? {
            Some(raw) => serde_json::from_slice(&raw).map(Some).map_err(corrupt),
            None => Ok(None),
        }
    }

    async fn put_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> StoreResult<()> {
        let raw = serde_json::to_vec(value).map_err(corrupt)?;
        self.store.put(key, &raw, ttl).await
    }

    /// Seals a credential for `owner` (user id), so it only opens in that user's records.
    pub fn seal_credential(&self, owner: &str, credential: &WithheldCredential) -> Vec<u8> {
        let json = serde_json::to_vec(credential).expect("credential serializes");
        self.keys.seal(&json, owner.as_bytes())
    }

    pub fn open_credential(&self, owner: &str, sealed: &[u8]) -> StoreResult<WithheldCredential> {
        let json = self
            .keys
            .open(sealed, owner.as_bytes())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        serde_json::from_slice(&json).map_err(corrupt)
    }

    // --- TOTP -----------------------------------------------------------------------------

    pub async fn totp(&self, user: &str) -> StoreResult<Option<TotpRecord>> {
        self.get_json(&user_key(user, "totp")).await
    }

    pub async fn pending_totp(&self, user: &str) -> StoreResult<Option<TotpRecord>> {
        self.get_json(&user_key(user, "totp-pending")).await
    }

    /// Starts enrollment: a new seed, kept apart from any active factor for 15 minutes.
    pub async fn begin_totp(&self, user: &str, secret: &[u8], now: u64) -> StoreResult<()> {
        let record = TotpRecord {
            sealed_secret: self.keys.seal(secret, user_key(user, "totp").as_bytes()),
            state: TotpState::default(),
            enrolled_at: now,
        };
        self.put_json(
            &user_key(user, "totp-pending"),
            &record,
            Some(Duration::from_secs(15 * 60)),
        )
        .await
    }

    pub fn totp_secret(&self, user: &str, record: &TotpRecord) -> StoreResult<Vec<u8>> {
        self.keys
            .open(&record.sealed_secret, user_key(user, "totp").as_bytes())
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Makes the pending seed the active factor.
    pub async fn activate_totp(&self, user: &str, record: &TotpRecord) -> StoreResult<()> {
        self.put_json(&user_key(user, "totp"), record, None).await?;
        self.store.delete(&user_key(user, "totp-pending")).await?;
        Ok(())
    }

    pub async fn save_totp_state(&self, user: &str, record: &TotpRecord) -> StoreResult<()> {
        self.put_json(&user_key(user, "totp"), record, None).await
    }

    /// Claims TOTP time step `step` for `user`; false when any instance already used it.
    pub async fn claim_totp_step(&self, user: &str, step: u64) -> StoreResult<bool> {
        let key = user_key(user, &format!("totp-step:{step}"));
        self.store
            .put_if_absent(&key, b"1", Some(Duration::from_secs(5 * 60)))
            .await
    }

    // --- Backup codes ---------------------------------------------------------------------

    pub async fn backup_codes(&self, user: &str) -> StoreResult<Option<BackupCodes>> {
        self.get_json(&user_key(user, "backup")).await
    }

    pub async fn save_backup_codes(&self, user: &str, codes: &BackupCodes) -> StoreResult<()> {
        self.put_json(&user_key(user, "backup"), codes, None).await
    }

    /// Claims slot `index` of generation `generation`; false if it was already used anywhere.
    pub async fn claim_backup_code(
        &self,
        user: &str,
        generation: u64,
        index: usize,
    ) -> StoreResult<bool> {
        let key = user_key(user, &format!("backup-used:{generation}:{index}"));
        self.store.put_if_absent(&key, b"1", None).await
    }

    // --- Devices --------------------------------------------------------------------------

    pub async fn device(&self, user: &str, id: &str) -> StoreResult<Option<DeviceRecord>> {
        self.get_json(&user_key(user, &format!("device:{id}")))
            .await
    }

    pub async fn save_device(&self, user: &str, device: &DeviceRecord) -> StoreResult<()> {
        self.put_json(
            &user_key(user, &format!("device:{}", device.id)),
            device,
            None,
        )
        .await?;
        self.store
            .set_add(&user_key(user, "devices"), &device.id)
            .await
    }

    pub async fn devices(&self, user: &str) -> StoreResult<Vec<DeviceRecord>> {
        let mut out = Vec::new();
        for id in self.store.set_members(&user_key(user, "devices")).await? {
            if let Some(d) = self.device(user, &id).await? {
                out.push(d);
            }
        }
        out.sort_by_key(|d| std::cmp::Reverse(d.last_seen));
        Ok(out)
    }

    pub async fn forget_device(&self, user: &str, id: &str) -> StoreResult<()> {
        self.store
            .delete(&user_key(user, &format!("device:{id}")))
            .await?;
        self.store.set_remove(&user_key(user, "devices"), id).await
    }

    /// An admin's reset: the authenticator (and a seed being enrolled), the passkeys, the backup codes and
    /// every trusted device of `user` are forgotten, so the next sign-in asks for a second
    /// factor and sets one up anew. Used TOTP steps and backup codes stay claimed. Returns
    /// how many devices were forgotten.
    pub async fn forget_factors(&self, user: &str) -> StoreResult<usize> {
        for passkey in self.passkeys(user).await? {
            self.release_passkey_id(&passkey.id).await?;
        }
        for what in ["totp", "totp-pending", "backup", "passkeys"] {
            self.store.delete(&user_key(user, what)).await?;
        }
        let devices = self.store.set_members(&user_key(user, "devices")).await?;
        for id in &devices {
            self.forget_device(user, id).await?;
        }
        Ok(devices.len())
    }

    // --- Sessions -------------------------------------------------------------------------

    pub async fn save_session(
        &self,
        user: &str,
        session: &SessionRecord,
        ttl: Duration,
    ) -> StoreResult<()> {
        self.put_json(
            &user_key(user, &format!("session:{}", session.id)),
            session,
            Some(ttl),
        )
        .await?;
        self.store
            .set_add(&user_key(user, "sessions"), &session.id)
            .await?;
        self.store.set_add(USERS_SET, user).await
    }

    /// The user's role and environments as of their last sign-in.
    pub async fn profile(&self, user: &str) -> StoreResult<Option<Who>> {
        self.get_json(&user_key(user, "profile")).await
    }

    pub async fn save_profile(&self, user: &str, who: &Who) -> StoreResult<()> {
        self.put_json(&user_key(user, "profile"), who, None).await
    }

    /// Every user who ever had a gateway session (for enforcement sweeps and admin tools).
    pub async fn known_users(&self) -> StoreResult<Vec<String>> {
        self.store.set_members(USERS_SET).await
    }

    /// When `required` took effect in `env`, in Unix milliseconds: recorded once and kept
    /// across restarts. A missing record is written with `now_ms`. Records are written as
    /// `<ms>ms`; a bare number is a record in seconds from before milliseconds were kept.
    pub async fn enforcement_since(&self, env: &str, now_ms: u64) -> StoreResult<u64> {
        let key = format!("enforcement:{env}");
        self.store
            .put_if_absent(&key, format!("{now_ms}ms").as_bytes(), None)
            .await?;
        let raw = self.store.get(&key).await?.unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        let parsed = match text.strip_suffix("ms") {
            Some(ms) => ms.parse().ok(),
            None => text.parse::<u64>().ok().map(|s| s.saturating_mul(1000)),
        };
        parsed.ok_or_else(|| StoreError::Corrupt(format!("{key} is not a time")))
    }

    /// Forgets an enforcement (the environment no longer requires MFA), so switching it on
    /// again starts a new grace period.
    pub async fn clear_enforcement(&self, env: &str) -> StoreResult<()> {
        self.store
            .delete(&format!("enforcement:{env}"))
            .await
            .map(drop)
    }

    /// Claims the one enforcement notice `user` gets for `environment`'s enforcement that
    /// started at `since`; false if it was sent already (by any instance).
    pub async fn claim_enforcement_notice(
        &self,
        environment: &str,
        since: u64,
        user: &str,
    ) -> StoreResult<bool> {
        let key = format!("once:announce:{environment}:{since}:{user}");
        self.store.put_if_absent(&key, b"1", None).await
    }

    /// The user's sessions that still exist (expired ones are pruned from the index).
    pub async fn sessions(&self, user: &str) -> StoreResult<Vec<SessionRecord>> {
        let index = user_key(user, "sessions");
        let mut out = Vec::new();
        for id in self.store.set_members(&index).await? {
            match self
                .get_json::<SessionRecord>(&user_key(user, &format!("session:{id}")))
                .await?
            {
                Some(s) => out.push(s),
                None => self.store.set_remove(&index, &id).await?,
            }
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(out)
    }

    pub async fn session(&self, user: &str, id: &str) -> StoreResult<Option<SessionRecord>> {
        self.get_json(&user_key(user, &format!("session:{id}")))
            .await
    }

    // --- Email codes and regulation ---------------------------------------------------------

    pub async fn email_otp(&self, user: &str) -> StoreResult<Option<EmailOtpState>> {
        self.get_json(&user_key(user, "email-otp")).await
    }

    /// Kept a little longer than the send window so the send history is not lost.
    pub async fn save_email_otp(
        &self,
        user: &str,
        state: &EmailOtpState,
        keep: Duration,
    ) -> StoreResult<()> {
        self.put_json(&user_key(user, "email-otp"), state, Some(keep))
            .await
    }

    /// Attempt state of a user (`scope = "user"`) or client IP (`scope = "ip"`).
    pub async fn attempts(&self, scope: &str, id: &str) -> StoreResult<AttemptState> {
        Ok(self
            .get_json(&attempts_key(scope, id))
            .await?
            .unwrap_or_default())
    }

    pub async fn save_attempts(
        &self,
        scope: &str,
        id: &str,
        state: &AttemptState,
    ) -> StoreResult<()> {
        // Kept for a day: long enough to outlive any block, short enough not to pile up.
        self.put_json(
            &attempts_key(scope, id),
            state,
            Some(Duration::from_secs(86_400)),
        )
        .await
    }

    /// Lifts a block and forgets the failures counted (an admin's unblock).
    pub async fn clear_attempts(&self, scope: &str, id: &str) -> StoreResult<()> {
        self.store.delete(&attempts_key(scope, id)).await.map(drop)
    }

    /// Runs `work` while holding the store lock `name`, so its read-modify-write of a user's
    /// regulation state is atomic across requests and instances. Waits up to `LOCK_WAIT` for
    /// the lock; a lock left by a crashed holder expires after `LOCK_TTL`.
    async fn locked<T>(
        &self,
        name: &str,
        work: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let key = format!("lock:{name}");
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        while !self.store.put_if_absent(&key, b"1", Some(LOCK_TTL)).await? {
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Unavailable(format!("lock {name} is busy")));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let result = work.await;
        self.store.delete(&key).await?;
        result
    }

    /// `locked` on a user's regulation state.
    pub async fn locked_user<T>(
        &self,
        user: &str,
        work: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        self.locked(&format!("user:{user}"), work).await
    }

    /// `locked` on a client IP's regulation state.
    pub async fn locked_ip<T>(
        &self,
        ip: &str,
        work: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        self.locked(&format!("ip:{ip}"), work).await
    }

    // --- Pending logins and one-time release ----------------------------------------------

    /// Records that `factor` passed for a pending login, for the step that completes it.
    pub async fn mark_factor_passed(
        &self,
        pending_id: &str,
        factor: Factor,
        ttl: Duration,
    ) -> StoreResult<()> {
        let key = passed_key(pending_id);
        let value = factor.as_str().as_bytes();
        self.store.put(&key, value, Some(ttl)).await
    }

    /// Whether a factor already passed for a pending login (without taking it).
    pub async fn factor_passed(&self, pending_id: &str) -> StoreResult<bool> {
        let key = passed_key(pending_id);
        Ok(self.store.get(&key).await?.is_some())
    }

    /// The factor that passed for a pending login, once.
    pub async fn take_factor_passed(&self, pending_id: &str) -> StoreResult<Option<Factor>> {
        let key = passed_key(pending_id);
        match self.store.take(&key).await? {
            None => Ok(None),
            Some(raw) => std::str::from_utf8(&raw)
                .ok()
                .and_then(Factor::parse)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt("unknown factor name".into())),
        }
    }

    pub async fn save_pending(&self, pending: &PendingLogin, ttl: Duration) -> StoreResult<()> {
        self.put_json(&format!("pending:{}", pending.id), pending, Some(ttl))
            .await
    }

    pub async fn pending(&self, id: &str) -> StoreResult<Option<PendingLogin>> {
        self.get_json(&format!("pending:{id}")).await
    }

    /// Removes a pending login so it can complete only once.
    pub async fn take_pending(&self, id: &str) -> StoreResult<Option<PendingLogin>> {
        match self.store.take(&format!("pending:{id}")).await? {
            Some(raw) => serde_json::from_slice(&raw).map(Some).map_err(corrupt),
            None => Ok(None),
        }
    }

    /// Parks a token for the one-time release endpoint of session `sid`.
    pub async fn park_release(&self, sid: &str, sealed_token: &[u8]) -> StoreResult<()> {
        self.store
            .put(
                &format!("release:{sid}"),
                sealed_token,
                Some(Duration::from_secs(10 * 60)),
            )
            .await
    }

    pub async fn take_release(&self, sid: &str) -> StoreResult<Option<Vec<u8>>> {
        self.store.take(&format!("release:{sid}")).await
    }
}
