//! The Redis backend for several gateway instances. Every key is under a configurable prefix;
//! multi-key operations keep their keys in one hash slot (`{...}` tags) for Cluster. Counters,
//! single-use markers and log appends are atomic (native commands or Lua). Revocation events
//! travel over pub/sub; after every (re)subscription subscribers get `StoreEvent::Resync` so
//! they reload what they might have missed.
//!
//! The connection manager and the subscriber run on the store's own runtime thread, so the
//! store can be used from any worker runtime and lives exactly as long as it is referenced.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use tokio::sync::{broadcast, oneshot};

use super::{Store, StoreError, StoreEvent, StoreFuture, StoreResult};

const INCR: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n";

const APPEND: &str = r"
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], seq .. '-1', 'v', ARGV[1])
return seq";

/// One XRANGE entry: id and field/value pairs.
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

/// Marks `last_ok_ms` before Redis was ever reached: the view is infinitely stale.
const NEVER: u64 = u64::MAX;

/// When events were last known to flow: Redis answered a PING while subscribed.
struct Health {
    epoch: std::time::Instant,
    subscribed: std::sync::atomic::AtomicBool,
    last_ok_ms: std::sync::atomic::AtomicU64,
}

impl Health {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

pub struct RedisStore {
    /// Set once Redis is first reached; until then every operation is `Unavailable`.
    manager: std::sync::Arc<std::sync::OnceLock<ConnectionManager>>,
    health: std::sync::Arc<Health>,
    prefix: String,
    events: broadcast::Sender<StoreEvent>,
    incr: Script,
    append: Script,
    /// Dropping it stops the store's runtime thread.
    _stop: oneshot::Sender<()>,
}

fn err(e: redis::RedisError) -> StoreError {
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Backend(e.to_string())
    }
}

fn ttl_ms(ttl: Option<Duration>) -> u64 {
    ttl.map_or(0, |t| t.as_millis().max(1) as u64)
}

impl RedisStore {
    /// Connects to `url` (redis://, or rediss:// verified against `ca_pem` or the system
    /// roots); keys and the event channel live under `prefix`. Only a bad URL fails: an
    /// unreachable Redis is retried in the background with backoff, and until it answers every
    /// operation fails closed and the store reports itself infinitely stale (not ready).
    pub fn open(url: &str, prefix: &str, ca_pem: Option<Vec<u8>>) -> StoreResult<Self> {
        let client = match ca_pem {
            Some(root_cert) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root_cert),
                },
            ),
            None => redis::Client::open(url),
        }
        .map_err(|e| StoreError::Unavailable(format!("redis URL: {e}")))?;
        let (events, _) = broadcast::channel(1024);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let channel = format!("{prefix}events");
        let sender = events.clone();
        let health = std::sync::Arc::new(Health {
            epoch: std::time::Instant::now(),
            subscribed: false.into(),
            last_ok_ms: NEVER.into(),
        });
        let monitored = health.clone();
        let manager = std::sync::Arc::new(std::sync::OnceLock::new());
        let connected = manager.clone();
        std::thread::Builder::new()
            .name("mfagate-redis".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StoreError::Unavailable(e.to_string())));
                        return;
                    }
                };
                rt.block_on(async move {
                    let run = async {
                        let manager = connect(&client, &connected, ready_tx).await;
                        tokio::spawn(subscribe(client, channel, sender, monitored.clone()));
                        tokio::spawn(heartbeat(manager, monitored));
                        std::future::pending::<()>().await
                    };
                    tokio::select! {
                        _ = run => {}
                        _ = stopped => {}
                    }
                });
            })
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        ready_rx
            .recv()
            .map_err(|_| StoreError::Unavailable("redis thread ended".into()))??;
        // Reached: give the subscription a moment so a healthy instance starts ready.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while manager.get().is_some()
            && health.last_ok_ms.load(std::sync::atomic::Ordering::SeqCst) == NEVER
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Self {
            manager,
            health,
            prefix: prefix.to_string(),
            events,
            incr: Script::new(INCR),
            append: Script::new(APPEND),
            _stop: stop,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Keys of a log: its sequence counter and its stream, in one slot.
    fn log_keys(&self, log: &str) -> (String, String) {
        (
            self.key(&format!("log:{{{log}}}:seq")),
            self.key(&format!("log:{{{log}}}")),
        )
    }

    /// `SET key value [PX ttl]`; callers may add conditions.
    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value);
        if ttl.is_some() {
            cmd.arg("PX").arg(ttl_ms(ttl));
        }
        cmd
    }

    fn conn(&self) -> StoreResult<ConnectionManager> {
        self.manager
            .get()
            .cloned()
            .ok_or_else(|| StoreError::Unavailable("redis has not been reached yet".into()))
    }
}

/// The first connection, retried with backoff (the connection manager reconnects by itself
/// after that). Each failure is logged so an operator sees why the instance is not ready.
/// The manager goes into `slot`; `first_attempt` hears when the first try is over, whatever
/// its outcome.
async fn connect(
    client: &redis::Client,
    slot: &std::sync::OnceLock<ConnectionManager>,
    first_attempt: std::sync::mpsc::Sender<StoreResult<()>>,
) -> ConnectionManager {
    let mut backoff = Duration::from_millis(100);
    let mut first_attempt = Some(first_attempt);
    loop {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        match client.get_connection_manager_with_config(config).await {
            Ok(manager) => {
                tracing::info!("redis reached");
                let _ = slot.set(manager.clone());
                if let Some(first) = first_attempt.take() {
                    let _ = first.send(Ok(()));
                }
                return manager;
            }
            Err(e) => tracing::warn!(error = %err(e), "redis unreachable; not ready, retrying"),
        }
        if let Some(first) = first_attempt.take() {
            let _ = first.send(Ok(()));
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Confirms twice a second that Redis answers; with a live subscription that keeps the
/// revocation view fresh.
async fn heartbeat(manager: ConnectionManager, health: std::sync::Arc<Health>) {
    use std::sync::atomic::Ordering;
    loop {
        let mut conn = manager.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), ping).await {
            if health.subscribed.load(Ordering::SeqCst) {
                health.last_ok_ms.store(health.now_ms(), Ordering::SeqCst);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Follows the event channel for the life of the store, resubscribing after disconnects.
async fn subscribe(
    client: redis::Client,
    channel: String,
    events: broadcast::Sender<StoreEvent>,
    health: std::sync::Arc<Health>,
) {
    use futures_util::StreamExt;
    use std::sync::atomic::Ordering;
    let mut backoff = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&channel).await.is_ok() {
                    backoff = Duration::from_millis(100);
                    health.subscribed.store(true, Ordering::SeqCst);
                    health.last_ok_ms.store(health.now_ms(), Ordering::SeqCst);
                    // Anything published while unsubscribed is recovered by a resync.
                    let _ = events.send(StoreEvent::Resync);
                    let mut messages = pubsub.into_on_message();
                    while let Some(msg) = messages.next().await {
                        match serde_json::from_slice::<StoreEvent>(msg.get_payload_bytes()) {
                            Ok(event) => {
                                let _ = events.send(event);
                            }
                            Err(e) => tracing::warn!(error = %e, "unreadable store event"),
                        }
                    }
                }
                health.subscribed.store(false, Ordering::SeqCst);
                tracing::warn!("redis event subscription lost; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "redis event subscription failed; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

impl Store for RedisStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { self.conn()?.get(self.key(key)).await.map_err(err) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let cmd = self.set(key, value, ttl);
            cmd.query_async::<()>(&mut self.conn()?).await.map_err(err)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let n: u64 = self.conn()?.del(self.key(key)).await.map_err(err)?;
            Ok(n > 0)
        })
    }

    fn put_if_absent<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut cmd = self.set(key, value, ttl);
            cmd.arg("NX");
            let set: Option<String> = cmd.query_async(&mut self.conn()?).await.map_err(err)?;
            Ok(set.is_some())
        })
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            redis::cmd("GETDEL")
                .arg(self.key(key))
                .query_async(&mut self.conn()?)
                .await
                .map_err(err)
        })
    }

    fn incr<'a>(&'a self, key: &'a str, ttl: Option<Duration>) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            self.incr
                .key(self.key(key))
                .arg(ttl_ms(ttl))
                .invoke_async(&mut self.conn()?)
                .await
                .map_err(err)
        })
    }

    fn set_add<'a>(&'a self, set: &'a str, member: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.conn()?
                .sadd::<_, _, ()>(self.key(set), member)
                .await
                .map_err(err)
        })
    }

    fn set_remove<'a>(&'a self, set: &'a str, member: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.conn()?
                .srem::<_, _, ()>(self.key(set), member)
                .await
                .map_err(err)
        })
    }

    fn set_members<'a>(&'a self, set: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move { self.conn()?.smembers(self.key(set)).await.map_err(err) })
    }

    fn append<'a>(&'a self, log: &'a str, value: &'a [u8]) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let (seq, stream) = self.log_keys(log);
            self.append
                .key(seq)
                .key(stream)
                .arg(value)
                .invoke_async(&mut self.conn()?)
                .await
                .map_err(err)
        })
    }

    fn read_log<'a>(
        &'a self,
        log: &'a str,
        after: u64,
        limit: usize,
    ) -> StoreFuture<'a, Vec<(u64, Vec<u8>)>> {
        Box::pin(async move {
            let (_, stream) = self.log_keys(log);
            let entries: Vec<StreamEntry> = redis::cmd("XRANGE")
                .arg(stream)
                .arg(format!("{}-0", after.saturating_add(1)))
                .arg("+")
                .arg("COUNT")
                .arg(limit)
                .query_async(&mut self.conn()?)
                .await
                .map_err(err)?;
            entries
                .into_iter()
                .map(|(id, mut fields)| {
                    let seq = id
                        .split('-')
                        .next()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| StoreError::Corrupt(format!("log id {id}")))?;
                    let value = fields.pop().map(|(_, v)| v).unwrap_or_default();
                    Ok((seq, value))
                })
                .collect()
        })
    }

    fn publish<'a>(&'a self, event: &'a StoreEvent) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let payload =
                serde_json::to_vec(event).map_err(|e| StoreError::Backend(e.to_string()))?;
            self.conn()?
                .publish::<_, _, ()>(self.key("events"), payload)
                .await
                .map_err(err)
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<StoreEvent> {
        self.events.subscribe()
    }

    fn event_lag(&self) -> Duration {
        let last = self
            .health
            .last_ok_ms
            .load(std::sync::atomic::Ordering::SeqCst);
        if last == NEVER {
            return Duration::MAX;
        }
        Duration::from_millis(self.health.now_ms().saturating_sub(last))
    }
}
