//! Account recovery and where a user's codes go: recovery requests and admins' recovery
//! codes, the address an admin set for codes and notices, and a user's choice to turn email
//! codes off.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{user_key, Records};
use crate::mfa::email_otp::EmailOtpState;
use crate::store::StoreResult;

/// A user's request to have their second factor reset by an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryRequest {
    pub user: String,
    pub environment: String,
    pub requested_at: u64,
    pub state: RecoveryState,
    pub decided_by: Option<String>,
    pub decided_at: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryState {
    Requested,
    /// An admin's decision is being carried out.
    Deciding,
    Approved,
    Dismissed,
}

/// Store set of the users who ever asked for recovery.
pub(super) const RECOVERY_SET: &str = "recovery-requests";

impl Records {
    /// The address for codes and notices an admin set for `user`, if any.
    pub async fn email_override(&self, user: &str) -> StoreResult<Option<String>> {
        let raw = self.store.get(&user_key(user, "email")).await?;
        Ok(raw.map(|r| String::from_utf8_lossy(&r).into_owned()))
    }

    pub async fn save_email_override(&self, user: &str, email: &str) -> StoreResult<()> {
        self.store
            .put(&user_key(user, "email"), email.as_bytes(), None)
            .await
    }

    /// Whether `user` turned email codes off for themselves.
    pub async fn email_codes_off(&self, user: &str) -> StoreResult<bool> {
        Ok(self
            .store
            .get(&user_key(user, "email-codes"))
            .await?
            .is_some())
    }

    pub async fn set_email_codes(&self, user: &str, on: bool) -> StoreResult<()> {
        let key = user_key(user, "email-codes");
        match on {
            true => self.store.delete(&key).await.map(drop),
            false => self.store.put(&key, b"off", None).await,
        }
    }

    /// The user's latest recovery request.
    pub async fn recovery_request(&self, user: &str) -> StoreResult<Option<RecoveryRequest>> {
        self.get_json(&user_key(user, "recovery")).await
    }

    pub async fn save_recovery_request(&self, request: &RecoveryRequest) -> StoreResult<()> {
        let key = user_key(&request.user, "recovery");
        self.put_json(&key, request, None).await?;
        self.store.set_add(RECOVERY_SET, &request.user).await
    }

    /// Every user's latest recovery request.
    pub async fn recovery_requests(&self) -> StoreResult<Vec<RecoveryRequest>> {
        let mut out = Vec::new();
        for user in self.store.set_members(RECOVERY_SET).await? {
            out.extend(self.recovery_request(&user).await?);
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
        Ok(out)
    }

    /// An admin's recovery code (hashed, bound to the pending login that asked for it).
    pub async fn recovery_code(&self, user: &str) -> StoreResult<Option<EmailOtpState>> {
        self.get_json(&user_key(user, "recovery-code")).await
    }

    pub async fn save_recovery_code(
        &self,
        user: &str,
        state: &EmailOtpState,
        keep: Duration,
    ) -> StoreResult<()> {
        self.put_json(&user_key(user, "recovery-code"), state, Some(keep))
            .await
    }
}
