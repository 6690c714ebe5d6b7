//! Passkey records: a user's passkeys (public keys, no sealing needed), the random user handle
//! their authenticators hold instead of the email, and the ceremonies in flight, each kept
//! under its challenge and taken once, so a challenge issued by one instance is answered on
//! any, and only once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{user_key, Records};
use crate::mfa::passkey::StoredPasskey;
use crate::store::StoreResult;

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeremonyPurpose {
    /// Registering a passkey (while signing in, or from the devices page).
    Register,
    /// Finishing a sign-in.
    SignIn,
    /// Confirming a signed-in session before a sensitive action.
    StepUp,
}

/// A ceremony begun and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub purpose: CeremonyPurpose,
    /// The pending login or session it was begun for: only that one may finish it.
    pub bound_to: String,
    pub user: String,
    pub environment: String,
    /// The relying party's encoded server state.
    #[serde(with = "crate::crypto::bytes")]
    pub state: Vec<u8>,
}

fn ceremony_key(challenge: &str) -> String {
    format!("passkey-ceremony:{challenge}")
}

fn bridge_key(pending_id: &str) -> String {
    format!("pending-bridge:{pending_id}")
}

impl Records {
    pub async fn passkeys(&self, user: &str) -> StoreResult<Vec<StoredPasskey>> {
        Ok(self
            .get_json(&user_key(user, "passkeys"))
            .await?
            .unwrap_or_default())
    }

    pub async fn save_passkeys(&self, user: &str, passkeys: &[StoredPasskey]) -> StoreResult<()> {
        self.put_json(&user_key(user, "passkeys"), &passkeys, None)
            .await
    }

    /// Whether `user` has any second factor of their own (an authenticator app or a passkey).
    pub async fn has_factor(&self, user: &str) -> StoreResult<bool> {
        Ok(self.totp(user).await?.is_some() || !self.passkeys(user).await?.is_empty())
    }

    /// The user's passkey handle; `fresh` becomes it when they have none yet (any instance's
    /// first write wins).
    pub async fn passkey_handle(&self, user: &str, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        let key = user_key(user, "passkey-handle");
        self.store.put_if_absent(&key, fresh, None).await?;
        Ok(self
            .store
            .get(&key)
            .await?
            .unwrap_or_else(|| fresh.to_vec()))
    }

    /// The user's passkey handle, if they were ever given one (read only: a sign-in never
    /// makes one).
    pub async fn existing_passkey_handle(&self, user: &str) -> StoreResult<Option<Vec<u8>>> {
        self.store.get(&user_key(user, "passkey-handle")).await
    }

    /// Claims credential `id` for `user`: false when it is registered already (to anyone).
    pub async fn claim_passkey_id(&self, user: &str, id: &str) -> StoreResult<bool> {
        let key = format!("passkey-credential:{id}");
        if self
            .store
            .put_if_absent(&key, user.as_bytes(), None)
            .await?
        {
            return Ok(true);
        }
        // The same user registering the same key again after removing it.
        Ok(
            self.store.get(&key).await?.as_deref() == Some(user.as_bytes())
                && !self.passkeys(user).await?.iter().any(|p| p.id == id),
        )
    }

    /// Releases credential `id` (its passkey was removed).
    pub async fn release_passkey_id(&self, id: &str) -> StoreResult<()> {
        let key = format!("passkey-credential:{id}");
        self.store.delete(&key).await.map(drop)
    }

    /// Runs `work` holding the lock on `user`'s passkey list (counter updates, adds, removals
    /// are read-modify-writes).
    pub async fn locked_passkeys<T>(
        &self,
        user: &str,
        work: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        self.locked(&format!("passkeys:{user}"), work).await
    }

    pub async fn begin_ceremony(
        &self,
        challenge: &str,
        ceremony: &PasskeyCeremony,
        ttl: Duration,
    ) -> StoreResult<()> {
        self.put_json(&ceremony_key(challenge), ceremony, Some(ttl))
            .await
    }

    /// The ceremony of `challenge`, left in place.
    pub async fn ceremony(&self, challenge: &str) -> StoreResult<Option<PasskeyCeremony>> {
        self.get_json(&ceremony_key(challenge)).await
    }

    /// The ceremony of `challenge`, taken: it can be answered once.
    pub async fn take_ceremony(&self, challenge: &str) -> StoreResult<Option<PasskeyCeremony>> {
        match self.store.take(&ceremony_key(challenge)).await? {
            Some(raw) => serde_json::from_slice(&raw)
                .map(Some)
                .map_err(super::corrupt),
            None => Ok(None),
        }
    }

    /// An existing factor passed for a pending login whose sign-in only a passkey may finish:
    /// the person may now register their first passkey.
    pub async fn mark_bridged(&self, pending_id: &str, ttl: Duration) -> StoreResult<()> {
        self.store
            .put(&bridge_key(pending_id), b"1", Some(ttl))
            .await
    }

    pub async fn bridged(&self, pending_id: &str) -> StoreResult<bool> {
        Ok(self.store.get(&bridge_key(pending_id)).await?.is_some())
    }
}
