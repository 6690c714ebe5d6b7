//! What retention removes of people: everything kept about someone who has not signed in for
//! an environment's `retention`, and when they last signed in. (Old revocations are pruned
//! in `revocations.rs`.)

use super::{user_key, Records, USERS_SET};
use crate::store::StoreResult;

/// Store set of the users who asked for recovery (see `recovery.rs`).
use super::recovery::RECOVERY_SET;

/// Every key a user's data lives under, besides the sets of their sessions and devices.
const USER_VALUES: [&str; 12] = [
    "ended",
    "passkey-handle",
    "totp",
    "totp-pending",
    "backup",
    "profile",
    "email",
    "email-codes",
    "email-otp",
    "recovery",
    "recovery-code",
    "seen",
];

impl Records {
    /// Notes that `user` signed in at `now` (Unix seconds), for retention.
    pub async fn mark_signed_in(&self, user: &str, now: u64) -> StoreResult<()> {
        let key = user_key(user, "seen");
        self.store.put(&key, now.to_string().as_bytes(), None).await
    }

    /// When `user` last signed in, if it was recorded.
    pub async fn last_signed_in(&self, user: &str) -> StoreResult<Option<u64>> {
        let raw = self.store.get(&user_key(user, "seen")).await?;
        Ok(raw.and_then(|r| std::str::from_utf8(&r).ok()?.parse().ok()))
    }

    /// Removes everything the gateway keeps about `user`: factors (passkeys with their handle),
    /// backup codes (and the
    /// markers of used ones), devices, session records, profile, addresses, recovery. Their
    /// sessions must have been revoked first: a cookie outlives its record.
    pub async fn forget_user(&self, user: &str) -> StoreResult<()> {
        if let Some(codes) = self.backup_codes(user).await? {
            for index in 0..codes.codes.len() {
                let used = format!("backup-used:{}:{index}", codes.generation);
                self.store.delete(&user_key(user, &used)).await?;
            }
        }
        self.forget_factors(user).await?;
        for id in self.store.set_members(&user_key(user, "sessions")).await? {
            let key = user_key(user, &format!("session:{id}"));
            self.store.delete(&key).await?;
            self.store
                .set_remove(&user_key(user, "sessions"), &id)
                .await?;
        }
        for what in USER_VALUES {
            self.store.delete(&user_key(user, what)).await?;
        }
        self.store.set_remove(RECOVERY_SET, user).await?;
        self.store.set_remove(USERS_SET, user).await
    }
}
