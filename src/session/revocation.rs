//! In-memory revocation view: what the hot path consults instead of the store. It is loaded
//! from the store at start and kept current by the store's revocation events.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use crate::store::{Store, StoreEvent};

/// Store set listing revoked session ids, for resync at start.
pub const REVOKED_SET: &str = "revoked-sessions";

#[derive(Default)]
pub struct RevocationView {
    sessions: RwLock<HashSet<String>>,
    /// User → sessions created before this Unix ms are revoked.
    users: RwLock<HashMap<String, u64>>,
}

impl RevocationView {
    pub fn apply(&self, event: &StoreEvent) {
        match event {
            StoreEvent::SessionRevoked { session_id } => {
                write(&self.sessions).insert(session_id.clone());
            }
            StoreEvent::UserRevoked { user, before_ms } => {
                let mut users = write(&self.users);
                let entry = users.entry(user.clone()).or_insert(0);
                *entry = (*entry).max(*before_ms);
            }
        }
    }

    /// Whether a session (by id, user and creation time in Unix seconds) is revoked.
    pub fn is_revoked(&self, sid: &str, user: &str, created_at: u64) -> bool {
        if read(&self.sessions).contains(sid) {
            return true;
        }
        read(&self.users)
            .get(user)
            .is_some_and(|before_ms| created_at.saturating_mul(1000) < *before_ms)
    }

    /// Loads revoked sessions recorded in the store, then follows its events.
    pub async fn follow(self: &Arc<Self>, store: Arc<dyn Store>) -> crate::store::StoreResult<()> {
        let mut events = store.subscribe();
        for sid in store.set_members(REVOKED_SET).await? {
            self.apply(&StoreEvent::SessionRevoked { session_id: sid });
        }
        let view = self.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => view.apply(&event),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "revocation events lagged; resyncing");
                        if let Ok(ids) = store.set_members(REVOKED_SET).await {
                            for sid in ids {
                                view.apply(&StoreEvent::SessionRevoked { session_id: sid });
                            }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(())
    }
}

// Poisoning cannot leave a set half-updated (single inserts), so keep serving.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}
