//! Revocations: a session, or every session of a user up to a time, ended everywhere. Each is
//! recorded (for an instance's view to load at start and after missed events), announced to
//! every instance, pruned once no session it could apply to is alive, and its cause kept for
//! telling the browser that comes back.

use std::time::Duration;

use super::{user_key, Records};
use crate::store::{Store, StoreEvent, StoreResult};

/// Store set of "`revoked_ms` `session id`" entries (bare ids in earlier versions), for resync
/// at start; pruned once every session they could apply to has expired.
const REVOKED_SET: &str = "revoked-sessions";
/// Store set of "`before_ms` `user`" entries (every session of the user created before that
/// Unix ms is revoked), for resync: an event alone would be lost by an instance that was not
/// subscribed at that moment.
const REVOKED_USERS_SET: &str = "revoked-users";

/// Every revocation recorded in `store`, as the events that announced them, for an
/// instance's in-memory view to load at start and after missed events. Works on the bare
/// store: the view is kept below the typed records' other users.
pub async fn recorded_revocations(store: &dyn Store) -> StoreResult<Vec<StoreEvent>> {
    let mut events: Vec<StoreEvent> = store
        .set_members(REVOKED_SET)
        .await?
        .into_iter()
        .map(|entry| {
            let id = entry.rsplit_once(' ').map_or(entry.as_str(), |(_, id)| id);
            StoreEvent::SessionRevoked {
                session_id: id.to_string(),
            }
        })
        .collect();
    for entry in store.set_members(REVOKED_USERS_SET).await? {
        let parsed = entry
            .split_once(' ')
            .and_then(|(ms, user)| Some((ms.parse().ok()?, user)));
        match parsed {
            Some((before_ms, user)) => events.push(StoreEvent::UserRevoked {
                user: user.to_string(),
                before_ms,
            }),
            None => tracing::warn!("unreadable user revocation in the store; ignored"),
        }
    }
    Ok(events)
}

impl Records {
    /// Revokes a session everywhere: removed from the store, recorded for resync, and
    /// announced to every instance's revocation view. Returns the event announced, for this
    /// instance to apply at once.
    pub async fn revoke_session(
        &self,
        user: &str,
        id: &str,
        now_ms: u64,
    ) -> StoreResult<StoreEvent> {
        self.store
            .delete(&user_key(user, &format!("session:{id}")))
            .await?;
        self.store
            .set_remove(&user_key(user, "sessions"), id)
            .await?;
        let revoked = format!("{now_ms} {id}");
        self.store.set_add(REVOKED_SET, &revoked).await?;
        let event = StoreEvent::SessionRevoked {
            session_id: id.to_string(),
        };
        self.store.publish(&event).await?;
        Ok(event)
    }

    /// Revokes every session of `user` created before `before_ms` (Unix ms) everywhere:
    /// recorded for resync, then announced. Recording first also makes it fail on a store
    /// that cannot take writes (a demoted master) instead of only publishing. Returns the
    /// event announced, for this instance to apply at once.
    pub async fn revoke_user(&self, user: &str, before_ms: u64) -> StoreResult<StoreEvent> {
        self.store
            .set_add(REVOKED_USERS_SET, &format!("{before_ms} {user}"))
            .await?;
        let event = StoreEvent::UserRevoked {
            user: user.to_string(),
            before_ms,
        };
        self.store.publish(&event).await?;
        Ok(event)
    }

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
