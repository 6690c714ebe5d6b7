//! In-memory revocation view: what the hot path consults instead of the store. It is loaded
//! from the store at start and kept current by the store's revocation events.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::session::live::LiveConnections;
use crate::store::{Store, StoreEvent};

#[derive(Default)]
pub struct RevocationView {
    /// Revoked session → when this view learnt of it (Unix ms), for pruning.
    sessions: RwLock<HashMap<String, u64>>,
    /// User → sessions created before this Unix ms are revoked.
    users: RwLock<HashMap<String, u64>>,
}

impl RevocationView {
    pub fn apply(&self, event: &StoreEvent) {
        match event {
            StoreEvent::SessionRevoked { session_id } => {
                let now = crate::clock::real_now_ms();
                write(&self.sessions)
                    .entry(session_id.clone())
                    .or_insert(now);
            }
            StoreEvent::UserRevoked { user, before_ms } => {
                let mut users = write(&self.users);
                let entry = users.entry(user.clone()).or_insert(0);
                *entry = (*entry).max(*before_ms);
            }
            StoreEvent::Resync => {}
        }
    }

    /// Whether a session (by id, user and creation time in Unix milliseconds) is revoked.
    pub fn is_revoked(&self, sid: &str, user: &str, created_ms: u64) -> bool {
        if read(&self.sessions).contains_key(sid) {
            return true;
        }
        read(&self.users)
            .get(user)
            .is_some_and(|before_ms| created_ms < *before_ms)
    }

    /// Forgets revocations from before `before_ms` (Unix ms): no session they could apply to
    /// is still alive, so the view stays as small as the sessions that are. Returns how many.
    pub fn prune(&self, before_ms: u64) -> usize {
        let mut sessions = write(&self.sessions);
        let mut users = write(&self.users);
        let before = sessions.len() + users.len();
        sessions.retain(|_, learnt| *learnt >= before_ms);
        users.retain(|_, revoked_before| *revoked_before >= before_ms);
        before - sessions.len() - users.len()
    }

    /// Loads the revoked sessions recorded in the store (at start, and after missed events).
    pub async fn load(&self, store: &dyn Store) -> crate::store::StoreResult<()> {
        for event in crate::store::records::recorded_revocations(store).await? {
            self.apply(&event);
        }
        Ok(())
    }

    /// Reloads until the store answers: a view that missed events must not be trusted, and
    /// while the store is down the instance is stale (not ready) anyway.
    async fn resync(&self, store: &dyn Store) {
        let mut wait = std::time::Duration::from_millis(100);
        loop {
            // Read first: a Resync asked for during the load is not covered by it.
            let asked = store.resyncs_asked();
            match self.load(store).await {
                Ok(()) => return store.resynced(asked),
                Err(e) => tracing::error!(error = %e, "revocation resync failed; retrying"),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(5));
        }
    }

    /// Applies events from `events` (subscribed before the initial `load`, so none is missed)
    /// until the store goes away; resyncs from the store when events were dropped.
    pub async fn follow(
        self: Arc<Self>,
        mut events: tokio::sync::broadcast::Receiver<StoreEvent>,
        store: Arc<dyn Store>,
        live: Arc<LiveConnections>,
    ) {
        use tokio::sync::broadcast::error::RecvError;
        // Covers a load at start that failed while the subscription was already live (its
        // Resync came before `events` existed); otherwise one cheap extra read.
        self.resync(&*store).await;
        loop {
            match events.recv().await {
                Ok(StoreEvent::Resync) => self.resync(&*store).await,
                Ok(event) => {
                    self.apply(&event);
                    // Live WebSockets of what was revoked end too, on every instance.
                    match &event {
                        StoreEvent::SessionRevoked { session_id } => live.close_session(session_id),
                        StoreEvent::UserRevoked { user, .. } => live.close_user(user),
                        StoreEvent::Resync => 0,
                    };
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "revocation events lagged; resyncing");
                    store.owe_resync();
                    self.resync(&*store).await;
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}

// Poisoning cannot leave a set half-updated (single inserts), so keep serving.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::secret_box::KeyRing;
    use crate::store::records::Records;
    use crate::store::EmbeddedStore;

    /// An instance that missed the events (started later, or resubscribed) still refuses what
    /// was revoked: sessions one by one and a user's sessions all at once.
    #[tokio::test]
    async fn a_fresh_view_loads_session_and_user_revocations_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let records = Records::new(store.clone(), Arc::new(KeyRing::new(&[vec![7; 32]])));
        records.revoke_session("ada@x.test", "s1", 1).await.unwrap();
        records
            .revoke_user("bob@x.test", 1_800_000_000_000)
            .await
            .unwrap();
        let view = RevocationView::default();
        view.load(&*store).await.unwrap();
        assert!(view.is_revoked("s1", "ada@x.test", 1_900_000_000_000));
        assert!(!view.is_revoked("s2", "ada@x.test", 1_700_000_000_000));
        assert!(view.is_revoked("s3", "bob@x.test", 1_799_999_999_999));
        assert!(!view.is_revoked("s4", "bob@x.test", 1_800_000_000_000));

        // Once no session they could apply to is alive, revocations are forgotten.
        let learnt = crate::clock::real_now_ms();
        assert_eq!(view.prune(learnt - 60_000), 0, "both newer");
        assert!(view.is_revoked("s1", "ada@x.test", 1_900_000_000_000));
        assert_eq!(view.prune(1_800_000_000_001), 2);
        assert!(!view.is_revoked("s1", "ada@x.test", 1_900_000_000_000));
        assert!(!view.is_revoked("s3", "bob@x.test", 1_799_999_999_999));
    }
}
