//! What retention removes: people who have not signed in for an environment's `retention`,
//! and revocations older than any session they could still apply to.

use std::time::Duration;

use super::{user_key, Records, REVOKED_SET, REVOKED_USERS_SET, USERS_SET};
use crate::store::StoreResult;

/// Store set of the users who asked for recovery (see `recovery.rs`).
use super::recovery::RECOVERY_SET;

/// Every key a user's data lives under, besides the sets of their sessions and devices.
const USER_VALUES: [&str; 11] = [
    "ended",
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
    /// Why session `sid` ended, kept for `keep` (as long as its cookie can come back), for
    /// telling that browser.
    pub async fn note_session_end(
        &self,
        sid: &str,
        cause: &str,
        keep: Duration,
    ) -> StoreResult<()> {
        let key = format!("ended:{sid}");
        self.store.put(&key, cause.as_bytes(), Some(keep)).await
    }

    /// Why every session of `user` begun before `before_ms` ended (the latest such end).
    pub async fn note_user_end(
        &self,
        user: &str,
        before_ms: u64,
        cause: &str,
        keep: Duration,
    ) -> StoreResult<()> {
        let value = format!("{before_ms} {cause}");
        let key = user_key(user, "ended");
        self.store.put(&key, value.as_bytes(), Some(keep)).await
    }

    /// Why a session (by id, user and start in ms) ended, if that was noted.
    pub async fn end_cause(
        &self,
        sid: &str,
        user: &str,
        created_ms: u64,
    ) -> StoreResult<Option<String>> {
        let text = |raw: Vec<u8>| String::from_utf8_lossy(&raw).into_owned();
        if let Some(cause) = self.store.get(&format!("ended:{sid}")).await? {
            return Ok(Some(text(cause)));
        }
        let all = self.store.get(&user_key(user, "ended")).await?.map(text);
        Ok(all.and_then(|v| {
            let (before, cause) = v.split_once(' ')?;
            (created_ms < before.parse().ok()?).then(|| cause.to_string())
        }))
    }

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

    /// Removes everything the gateway keeps about `user`: factors, backup codes (and the
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

    /// Removes revocations made before `before_ms` (Unix ms): every session they could apply
    /// to has expired by then. Entries written before revocations carried their time get it
    /// now, so they are removed one retention later. Returns how many were removed.
    pub async fn prune_revocations(&self, before_ms: u64, now_ms: u64) -> StoreResult<u64> {
        let mut removed = 0;
        for entry in self.store.set_members(REVOKED_SET).await? {
            match entry
                .split_once(' ')
                .and_then(|(ms, _)| ms.parse::<u64>().ok())
            {
                Some(ms) if ms < before_ms => {}
                Some(_) => continue,
                None => {
                    let dated = format!("{now_ms} {entry}");
                    self.store.set_add(REVOKED_SET, &dated).await?;
                }
            }
            self.store.set_remove(REVOKED_SET, &entry).await?;
            removed += u64::from(entry.contains(' '));
        }
        for entry in self.store.set_members(REVOKED_USERS_SET).await? {
            let ms = entry
                .split_once(' ')
                .and_then(|(ms, _)| ms.parse::<u64>().ok());
            if ms.is_some_and(|ms| ms < before_ms) {
                self.store.set_remove(REVOKED_USERS_SET, &entry).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
