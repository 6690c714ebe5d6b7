//! Keeps the store's `Link` pointing where commands should go, and beats through it.
//!
//! The heartbeat publishes to this instance's beat channel twice a second; the event follower
//! counts a beat only when it comes back over the subscription, so freshness means "events
//! reach this instance now", not merely "some node answers". For Sentinel the heartbeat also
//! asks the master `ROLE` each beat and the Sentinels every two seconds which master they name:
//! a demoted master, two missed beats, or another (or no confirmed) master make the supervisor
//! drop the link at once (commands fail closed) and ask the Sentinels again.

use std::time::Duration;

use tokio::sync::watch;

use super::link::{Connector, Link, RedisTarget};
use crate::store::{StoreError, StoreResult};

/// Beats between two questions to the Sentinels (every two seconds).
const ASK_SENTINELS_EVERY: u64 = 4;

/// Runs for the life of the store. `first_attempt` hears when the first try is over: an error
/// only for addresses the client cannot use, otherwise Ok whatever the outcome, so a gateway
/// can start (not ready) while Redis is unreachable.
pub async fn supervise(
    target: RedisTarget,
    link: watch::Sender<Option<Link>>,
    beat_channel: String,
    first_attempt: std::sync::mpsc::Sender<StoreResult<()>>,
) {
    let mut connector = match Connector::new(&target) {
        Ok(c) => c,
        Err(e) => {
            let e = StoreError::Unavailable(format!("redis address: {e}"));
            let _ = first_attempt.send(Err(e));
            return;
        }
    };
    let mut first_attempt = Some(first_attempt);
    let mut backoff = Backoff::default();
    loop {
        match connector.link().await {
            Ok(current) => {
                tracing::info!("redis reached");
                backoff = Backoff::default();
                link.send_replace(Some(current.clone()));
                if let Some(first) = first_attempt.take() {
                    let _ = first.send(Ok(()));
                }
                let why = heartbeat(&current, &mut connector, &beat_channel).await;
                // Until the Sentinels name a master again, nothing goes to a node that may
                // no longer be it.
                link.send_replace(None);
                tracing::warn!(why, "redis master lost; asking the sentinels");
            }
            Err(e) => tracing::warn!(error = %e, "redis unreachable; not ready, retrying"),
        }
        if let Some(first) = first_attempt.take() {
            let _ = first.send(Ok(()));
        }
        // A master lookup is retried quickly: a failover is usually over within seconds.
        let cap = if connector.follows_master() { 1 } else { 5 };
        backoff.wait(Duration::from_secs(cap)).await;
    }
}

/// Doubling waits from 100 ms, up to a cap.
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self(Duration::from_millis(100))
    }
}

impl Backoff {
    pub async fn wait(&mut self, cap: Duration) {
        tokio::time::sleep(self.0.min(cap)).await;
        self.0 = (self.0 * 2).min(cap);
    }
}

/// Beats until the link must be replaced, which only happens when a Sentinel master has to be
/// followed; returns why. For the other shapes it beats forever (their clients reconnect by
/// themselves, and a missing beat already makes the view stale).
async fn heartbeat(link: &Link, connector: &mut Connector, channel: &str) -> &'static str {
    let follows_master = connector.follows_master();
    // Beats in a row the master missed, and questions in a row no Sentinel answered.
    let (mut misses, mut unconfirmed) = (0, 0);
    let mut last_error = String::new();
    let mut beat = 0u64;
    loop {
        beat += 1;
        let mut conn = link.conn.clone();
        let round = async {
            if follows_master {
                let role: redis::Value = redis::cmd("ROLE").query_async(&mut conn).await?;
                if !is_master(&role) {
                    return Ok(false);
                }
            }
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(beat)
                .query_async::<()>(&mut conn)
                .await
                .map(|_| true)
        };
        let error = match tokio::time::timeout(Duration::from_secs(1), round).await {
            Ok(Ok(true)) => None,
            Ok(Ok(false)) => return "the master answers as a replica",
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("no answer within 1 s".to_string()),
        };
        match error {
            None => misses = 0,
            Some(error) => {
                misses += 1;
                // Said once per new reason: an ACL without the beat channel, say, would
                // otherwise leave the instance not ready with nothing in the log.
                if error != last_error {
                    tracing::warn!(%error, "redis heartbeat failed; revocations not confirmed");
                    last_error = error;
                }
            }
        }
        if follows_master && beat % ASK_SENTINELS_EVERY == 0 {
            match connector.still_names(link).await {
                Some(true) => unconfirmed = 0,
                Some(false) => return "the sentinels name another master",
                None => unconfirmed += 1,
            }
        }
        if follows_master && misses >= 2 {
            return "the master missed two beats";
        }
        if unconfirmed >= 2 {
            return "no sentinel confirmed the master twice in a row";
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `ROLE` answers an array whose first element is "master", "slave" or "sentinel".
fn is_master(role: &redis::Value) -> bool {
    match role {
        redis::Value::Array(items) => matches!(
            items.first(),
            Some(redis::Value::BulkString(b)) if b == b"master"
        ),
        _ => false,
    }
}
