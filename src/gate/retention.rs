//! Retention (README "What is kept, and for how long"): at start and every hour the activity log is
//! trimmed to `audit.retention`, revocations older than the longest session are pruned,
//! expired export files are deleted, and people who have not signed in for their
//! environments' `retention` are signed out everywhere and forgotten. Each sweep that removes
//! something is audited as one summary event, naming counts, never people.

use std::sync::Arc;
use std::time::Duration;

use super::auth::Auth;
use super::lifecycle::{AllEnd, EndReason};
use crate::audit::EventKind;
use crate::store::StoreResult;

/// How often the sweep runs.
pub const EVERY: Duration = Duration::from_secs(3600);

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub events: u64,
    pub users: u64,
    pub exports: u64,
    pub revocations: u64,
}

/// Whether someone last seen at `last` (Unix seconds) is past `retention` at `now`.
pub fn expired(last: u64, retention: Duration, now: u64) -> bool {
    now.saturating_sub(last) > retention.as_secs()
}

/// The retention that applies to a person in `environments`: the shortest configured one, so
/// every environment's promise holds; `None` when none of them sets one.
pub fn person_retention(auth: &Auth, environments: &[String]) -> Option<Duration> {
    let envs = auth.config.environments.iter();
    envs.filter(|e| environments.contains(&e.name))
        .filter_map(|e| e.retention)
        .min()
}

impl Auth {
    /// One sweep, at the clock's now.
    pub async fn retention_sweep(&self) -> StoreResult<Swept> {
        // Events of an earlier version are moved into the per-environment logs first (once).
        self.audit.move_legacy().await?;
        let now_ms = self.clock.now_ms();
        let mut logs: Vec<String> = self
            .config
            .environments
            .iter()
            .map(|e| e.name.clone())
            .collect();
        logs.push(String::new());
        let longest_ms = self.longest_session().as_millis() as u64;
        let expired_before = now_ms.saturating_sub(longest_ms);
        self.revocation.prune(expired_before);
        let swept = Swept {
            events: self.audit.trim(&logs, now_ms).await?,
            revocations: self
                .records
                .prune_revocations(expired_before, now_ms)
                .await?,
            exports: self.expire_exports(now_ms).await?,
            users: self.forget_inactive().await?,
        };
        if swept != Swept::default() {
            let kind = EventKind::RetentionSwept {
                events: swept.events,
                users: swept.users,
                exports: swept.exports,
                revocations: swept.revocations,
            };
            self.audit
                .record(self.background_context("").event(kind))
                .await;
        }
        Ok(swept)
    }

    /// Signs out and forgets everyone past their retention, and forgets the devices of the
    /// others not seen for that long. People recorded before sign-ins were dated start their
    /// clock now.
    async fn forget_inactive(&self) -> StoreResult<u64> {
        let now = self.clock.now();
        let mut forgotten = 0;
        for user in self.records.known_users().await? {
            let envs = self.records.profile(&user).await?.map(|w| w.envs);
            let Some(retention) = person_retention(self, &envs.unwrap_or_default()) else {
                continue;
            };
            let Some(last) = self.records.last_signed_in(&user).await? else {
                self.records.mark_signed_in(&user, now).await?;
                continue;
            };
            if !expired(last, retention, now) {
                // Someone still signing in keeps their account, not devices unseen that long.
                for device in self.records.devices(&user).await? {
                    if expired(device.last_seen, retention, now) {
                        self.records.forget_device(&user, &device.id).await?;
                    }
                }
                continue;
            }
            // Read again right before: someone who just signed in on another instance stays.
            let again = self.records.last_signed_in(&user).await?;
            if again.is_some_and(|t| !expired(t, retention, self.clock.now())) {
                continue;
            }
            let ctx = self.background_context("");
            let why = EndReason::AllSessions(AllEnd::Inactive);
            self.end_all(&user, why, ctx).await?;
            self.records.forget_user(&user).await?;
            forgotten += 1;
        }
        Ok(forgotten)
    }
}

/// The sweep loop; runs for the life of the gateway on the control runtime, on the
/// `current` core (a reload may change the retention).
pub async fn run(current: impl Fn() -> Option<Arc<Auth>>) {
    loop {
        let swept = match current() {
            Some(auth) => auth.retention_sweep().await,
            None => Ok(Default::default()),
        };
        match swept {
            Ok(swept) => tracing::debug!(?swept, "retention sweep done"),
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; retrying next hour"),
        }
        tokio::time::sleep(EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_kept_for_the_whole_retention_and_not_a_second_longer() {
        let day = Duration::from_secs(86_400);
        assert!(!expired(1_000, day, 1_000 + 86_400));
        assert!(expired(1_000, day, 1_000 + 86_401));
        // A clock that went back never makes someone expired.
        assert!(!expired(5_000, day, 1_000));
    }
}
