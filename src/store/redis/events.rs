//! Revocation events over Redis pub/sub, and how fresh they are known to be.
//!
//! The subscription follows the current `Link`: it moves when the link changes (a Sentinel
//! failover) and tries the next event node when one fails (a Cluster node down). After every
//! (re)subscription subscribers get `StoreEvent::Resync`, since anything published while
//! unsubscribed was missed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{broadcast, watch};

use super::link::{Backoff, Link};
use crate::store::StoreEvent;

/// Marks `last_ok_ms` before Redis was ever reached: the view is infinitely stale.
const NEVER: u64 = u64::MAX;

/// When events were last known to flow: Redis answered a heartbeat while subscribed.
pub struct Health {
    epoch: Instant,
    subscribed: AtomicBool,
    last_ok_ms: AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            subscribed: false.into(),
            last_ok_ms: NEVER.into(),
        }
    }
}

impl Health {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Redis answered: events are flowing if the subscription lives.
    pub fn beat(&self) {
        if self.subscribed.load(Ordering::SeqCst) {
            self.last_ok_ms.store(self.now_ms(), Ordering::SeqCst);
        }
    }

    fn set_subscribed(&self, subscribed: bool) {
        self.subscribed.store(subscribed, Ordering::SeqCst);
        if subscribed {
            self.last_ok_ms.store(self.now_ms(), Ordering::SeqCst);
        }
    }

    /// Whether events have ever been confirmed.
    pub fn ever_ok(&self) -> bool {
        self.last_ok_ms.load(Ordering::SeqCst) != NEVER
    }

    /// How long events have not been confirmed; `Duration::MAX` before the first time.
    pub fn lag(&self) -> Duration {
        let last = self.last_ok_ms.load(Ordering::SeqCst);
        if last == NEVER {
            return Duration::MAX;
        }
        Duration::from_millis(self.now_ms().saturating_sub(last))
    }
}

/// Follows the event channel for the life of the store.
pub async fn follow(
    mut link: watch::Receiver<Option<Link>>,
    channel: String,
    events: broadcast::Sender<StoreEvent>,
    health: Arc<Health>,
) {
    let mut backoff = Backoff::default();
    let mut node = 0usize;
    loop {
        let Some(current) = link.borrow_and_update().clone() else {
            if link.changed().await.is_err() {
                return;
            }
            continue;
        };
        let client = &current.event_nodes[node % current.event_nodes.len()];
        let moved = match subscribed(client, &channel).await {
            Ok(pubsub) => {
                backoff = Backoff::default();
                health.set_subscribed(true);
                let _ = events.send(StoreEvent::Resync);
                let mut messages = pubsub.into_on_message();
                let moved = loop {
                    tokio::select! {
                        msg = messages.next() => match msg {
                            Some(msg) => relay(&events, msg.get_payload_bytes()),
                            None => break false,
                        },
                        changed = link.changed() => break changed.is_ok(),
                    }
                };
                health.set_subscribed(false);
                moved
            }
            Err(e) => {
                tracing::warn!(error = %e, "redis event subscription failed; retrying");
                false
            }
        };
        if link.has_changed().is_err() {
            return;
        }
        if !moved {
            tracing::warn!("redis event subscription lost; reconnecting");
            node = node.wrapping_add(1);
            backoff.wait(Duration::from_secs(5)).await;
        }
    }
}

async fn subscribed(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

fn relay(events: &broadcast::Sender<StoreEvent>, payload: &[u8]) {
    match serde_json::from_slice::<StoreEvent>(payload) {
        Ok(event) => {
            let _ = events.send(event);
        }
        Err(e) => tracing::warn!(error = %e, "unreadable store event"),
    }
}
