//! Registry of live connections (WebSockets and signed-in responses), so that a revocation can cut a WebSocket that would
//! otherwise outlive the session it was opened with. It sits with the sessions, below the proxy
//! that registers connections, so that the core can close them when it ends a session.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// Who a live connection belongs to. `user` and `session_id` are empty until authentication
/// layers fill them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveOwner {
    pub environment: String,
    pub user: Option<String>,
    pub session_id: Option<String>,
}

struct Entry {
    owner: LiveOwner,
    cancel: CancellationToken,
}

#[derive(Default)]
pub struct LiveConnections {
    next_id: AtomicU64,
    entries: Mutex<HashMap<u64, Entry>>,
    /// Set by `close_all` at shutdown, so connections say why they were closed.
    shutting_down: std::sync::atomic::AtomicBool,
}

/// Keeps a connection registered while it lives; dropping it unregisters.
pub struct LiveGuard {
    registry: Arc<LiveConnections>,
    id: u64,
    cancel: CancellationToken,
}

impl LiveGuard {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Why the registry closed this connection: the gateway is shutting down (else a
    /// revocation).
    pub fn closed_by_shutdown(&self) -> bool {
        self.registry.shutting_down.load(Ordering::SeqCst)
    }

    /// Resolves when the registry asks this connection to close.
    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Like `cancelled`, for a body that owns the guard it waits on.
    pub fn cancelled_owned(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.cancel.clone().cancelled_owned()
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

impl LiveConnections {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts and
        // removes), so a poisoned lock is still safe to use; refusing would keep revocations
        // from closing connections.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register(self: &Arc<Self>, owner: LiveOwner) -> LiveGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let cancel = CancellationToken::new();
        self.lock().insert(
            id,
            Entry {
                owner,
                cancel: cancel.clone(),
            },
        );
        LiveGuard {
            registry: self.clone(),
            id,
            cancel,
        }
    }

    /// Closes every connection whose owner matches; returns how many were signalled.
    pub fn close_where(&self, matches: impl Fn(&LiveOwner) -> bool) -> usize {
        let map = self.lock();
        let mut n = 0;
        for entry in map.values().filter(|e| matches(&e.owner)) {
            entry.cancel.cancel();
            n += 1;
        }
        n
    }

    pub fn close_session(&self, session_id: &str) -> usize {
        self.close_where(|o| o.session_id.as_deref() == Some(session_id))
    }

    pub fn close_user(&self, user: &str) -> usize {
        self.close_where(|o| o.user.as_deref() == Some(user))
    }

    /// Closes everything at shutdown (clients reconnect elsewhere).
    pub fn close_all(&self) -> usize {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.close_where(|_| true)
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn owners(&self) -> Vec<LiveOwner> {
        self.lock().values().map(|e| e.owner.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_targets_only_matching_owner() {
        let reg = Arc::new(LiveConnections::default());
        let a = reg.register(LiveOwner {
            environment: "prod".into(),
            user: Some("a@x".into()),
            session_id: Some("s1".into()),
        });
        let b = reg.register(LiveOwner {
            environment: "prod".into(),
            user: Some("b@x".into()),
            session_id: Some("s2".into()),
        });
        assert_eq!(reg.close_session("s1"), 1);
        assert!(a.cancel.is_cancelled());
        assert!(!a.closed_by_shutdown(), "a revocation");
        assert!(!b.cancel.is_cancelled());
        assert_eq!(reg.close_user("b@x"), 1);
        drop(a);
        assert_eq!(reg.len(), 1);
        drop(b);
        assert!(reg.is_empty());
        let c = reg.register(LiveOwner::default());
        assert_eq!(reg.close_all(), 1);
        assert!(c.closed_by_shutdown(), "closed at shutdown says so");
    }
}
