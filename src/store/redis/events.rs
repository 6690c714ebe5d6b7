//! Revocation events over Redis pub/sub, and how fresh they are known to be.
//!
//! Freshness is proven end to end: the supervisor's heartbeat publishes to this instance's
//! own beat channel through the command connection twice a second, and only a beat that
//! arrives on the subscription counts. So a subscription that died silently (a node gone
//! without a reset, a cluster node cut off from the bus, a master that no longer receives the
//! publishes) makes the view stale, and the gateway fails closed after `max_staleness`.
//!
//! The subscription follows the current `Link`: it moves when the link changes (a Sentinel
//! failover), and tries the next event node when one fails or falls silent (a Cluster node
//! down). After every (re)subscription subscribers get `StoreEvent::Resync`, since anything
//! published while unsubscribed was missed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{broadcast, watch};

use super::link::{Link, TIMEOUT};
use super::supervise::Backoff;
use crate::store::StoreEvent;

/// Marks `last_ok_ms` before Redis was ever reached: the view is infinitely stale.
const NEVER: u64 = u64::MAX;

/// A subscription that hears none of its own beats for this long is dead. Beats are 0.5 s
/// apart, but a Sentinel question between two of them may take up to 2 s.
const SILENCE: Duration = Duration::from_secs(5);

/// When events were last known to flow (a beat came back over the subscription), and whether
/// the views have caught up with what a resubscription may have missed.
pub struct Health {
    epoch: Instant,
    last_ok_ms: AtomicU64,
    /// `Resync`s sent, and the latest one a view reported reloaded.
    resyncs_asked: AtomicU64,
    resyncs_done: AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            last_ok_ms: NEVER.into(),
            resyncs_asked: 0.into(),
            resyncs_done: 0.into(),
        }
    }
}

impl Health {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// A beat arrived over the subscription: events flow.
    fn beat(&self) {
        self.last_ok_ms.store(self.now_ms(), Ordering::SeqCst);
    }

    /// Whether events have ever been confirmed.
    pub fn ever_ok(&self) -> bool {
        self.last_ok_ms.load(Ordering::SeqCst) != NEVER
    }

    /// How long events have not been confirmed; `Duration::MAX` before the first time and
    /// while a reload owed after a resubscription has not been done.
    pub fn lag(&self) -> Duration {
        let last = self.last_ok_ms.load(Ordering::SeqCst);
        let behind =
            self.resyncs_done.load(Ordering::SeqCst) < self.resyncs_asked.load(Ordering::SeqCst);
        if last == NEVER || behind {
            return Duration::MAX;
        }
        Duration::from_millis(self.now_ms().saturating_sub(last))
    }

    pub fn resyncs_asked(&self) -> u64 {
        self.resyncs_asked.load(Ordering::SeqCst)
    }

    pub fn resynced(&self, asked: u64) {
        self.resyncs_done.fetch_max(asked, Ordering::SeqCst);
    }

    /// A reload is owed for a reason outside the subscription (a view that fell behind).
    pub fn owe_resync(&self) {
        self.resyncs_asked.fetch_add(1, Ordering::SeqCst);
    }

    /// Asks for a reload: counted before it is sent, so no view can report it done early.
    fn ask_resync(&self, events: &broadcast::Sender<StoreEvent>) {
        self.owe_resync();
        let _ = events.send(StoreEvent::Resync);
    }
}

/// The channels one instance follows: everyone's events and its own beats.
#[derive(Clone)]
pub struct Channels {
    pub events: String,
    pub beat: String,
}

/// Follows the event channel for the life of the store.
pub async fn follow(
    mut link: watch::Receiver<Option<Link>>,
    channels: Channels,
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
        let attempt = tokio::select! {
            attempt = tokio::time::timeout(TIMEOUT, subscribed(client, &channels)) => attempt,
            changed = link.changed() => match changed {
                Ok(()) => continue,
                Err(_) => return,
            },
        };
        let moved = match attempt {
            Ok(Ok(pubsub)) => {
                backoff = Backoff::default();
                health.ask_resync(&events);
                let mut messages = pubsub.into_on_message();
                let mut last_beat = tokio::time::Instant::now();
                loop {
                    tokio::select! {
                        msg = tokio::time::timeout_at(last_beat + SILENCE, messages.next()) => match msg {
                            Ok(Some(msg)) if msg.get_channel_name() == channels.beat => {
                                last_beat = tokio::time::Instant::now();
                                health.beat();
                            }
                            Ok(Some(msg)) => relay(&events, msg.get_payload_bytes()),
                            Ok(None) => break false,
                            Err(_) => {
                                tracing::warn!("redis event subscription fell silent");
                                break false;
                            }
                        },
                        changed = link.changed() => break changed.is_ok(),
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis event subscription failed; retrying");
                false
            }
            Err(_) => {
                tracing::warn!("redis event subscription timed out; retrying");
                false
            }
        };
        if link.has_changed().is_err() {
            return;
        }
        if !moved {
            node = node.wrapping_add(1);
            tokio::select! {
                _ = backoff.wait(Duration::from_secs(5)) => {}
                changed = link.changed() => if changed.is_err() { return },
            }
        }
    }
}

async fn subscribed(
    client: &redis::Client,
    channels: &Channels,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(&channels.events).await?;
    pubsub.subscribe(&channels.beat).await?;
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
