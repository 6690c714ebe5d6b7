//! The Redis backend for several gateway instances: standalone, Sentinel or Cluster (`link`).
//! Every key is under a configurable prefix; multi-key operations keep their keys in one hash
//! slot (`{...}` tags) for Cluster. Counters, single-use markers and log appends are atomic
//! (native commands or Lua). Revocation events travel over pub/sub (`events`).
//!
//! The connections and the subscriber run on the store's own runtime thread, so the store can
//! be used from any worker runtime and lives exactly as long as it is referenced.

mod events;
mod link;
mod supervise;

pub use link::{check_node_address, RedisTarget, Topology};

use std::time::Duration;

use std::sync::Arc;

use redis::AsyncCommands;
use tokio::sync::{broadcast, oneshot, watch};

use events::{Channels, Health};
use link::{Conn, Link};

use super::{LogId, Store, StoreError, StoreEvent, StoreFuture, StoreResult};

const INCR: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n";

/// Appends at `max(at_ms, the last entry's ms)` (kept in KEYS[1], since a stream trimmed to
/// nothing still refuses ids below its last one) and trims approximately below ARGV[3].
const APPEND: &str = r"
local ms = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if last > ms then ms = last end
redis.call('SET', KEYS[1], string.format('%d', ms))
return redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[3], string.format('%d', ms) .. '-*', 'v', ARGV[2])";

/// The events channel, after the prefix. Its hash tag is shared by every instance's beat
/// channel: a cluster routes PUBLISH by the channel's slot, so beats travel the way events do.
const EVENTS: &str = "{events}";

/// `EVAL script numkeys keys...`; callers add the arguments. EVAL rather than EVALSHA: the
/// scripts are tiny, and EVALSHA's fallback (SCRIPT LOAD to every node) fails on a cluster
/// with a node down, or on a just-promoted replica that has not seen the script.
fn eval(script: &str, keys: &[String]) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(keys.len()).arg(keys);
    cmd
}

/// A stream id `ms-seq` as a `LogId`.
fn parse_id(id: &str) -> StoreResult<LogId> {
    let parsed = id.split_once('-').and_then(|(ms, seq)| {
        Some(LogId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    });
    parsed.ok_or_else(|| StoreError::Corrupt(format!("log id {id}")))
}

/// One XRANGE entry: id and field/value pairs.
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

pub struct RedisStore {
    /// Where commands go now; `None` until Redis is first reached, and until then every
    /// operation is `Unavailable`.
    link: watch::Receiver<Option<Link>>,
    health: Arc<Health>,
    prefix: String,
    events: broadcast::Sender<StoreEvent>,
    /// Dropping it stops the store's runtime thread.
    _stop: oneshot::Sender<()>,
}

/// Errors that say Redis cannot serve right now (down, failing over, loading, a demoted master
/// or a cluster without a slot's owner) are `Unavailable`, so callers answer 503 and retry
/// later; anything else is a `Backend` fault.
fn err(e: redis::RedisError) -> StoreError {
    use redis::{ErrorKind, ServerErrorKind};
    let transient = matches!(
        e.kind(),
        ErrorKind::Server(
            ServerErrorKind::ReadOnly
                | ServerErrorKind::MasterDown
                | ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
        ) | ErrorKind::ClusterConnectionNotFound
    );
    if transient
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
    {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Backend(e.to_string())
    }
}

fn ttl_ms(ttl: Option<Duration>) -> u64 {
    ttl.map_or(0, |t| t.as_millis().max(1) as u64)
}

impl RedisStore {
    /// Connects to `target`; keys and the event channel live under `prefix`. Only addresses
    /// the client cannot use fail: an unreachable Redis is retried in the background with backoff, and
    /// until it answers every operation fails closed and the store reports itself infinitely
    /// stale (not ready).
    pub fn open(target: &RedisTarget, prefix: &str) -> StoreResult<Self> {
        let (events, _) = broadcast::channel(1024);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let (link_tx, link_rx) = watch::channel(None);
        let health = Arc::new(Health::default());
        // Only this instance listens to its beats.
        let channels = Channels {
            events: format!("{prefix}{EVENTS}"),
            beat: format!("{prefix}{EVENTS}:beat:{:016x}", rand::random::<u64>()),
        };
        let (target, beat) = (target.clone(), channels.beat.clone());
        let (sender, monitored, followed) = (events.clone(), health.clone(), link_rx.clone());
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
                    tokio::spawn(events::follow(followed, channels, sender, monitored));
                    tokio::select! {
                        _ = supervise::supervise(target, link_tx, beat, ready_tx) => {}
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
        while link_rx.borrow().is_some()
            && !health.ever_ok()
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Self {
            link: link_rx,
            health,
            prefix: prefix.to_string(),
            events,
            _stop: stop,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Keys of a log: its last id's ms and its stream, in one slot.
    fn log_keys(&self, log: &str) -> (String, String) {
        (
            self.key(&format!("log:{{{log}}}:last")),
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

    fn conn(&self) -> StoreResult<Conn> {
        self.link
            .borrow()
            .as_ref()
            .map(|l| l.conn.clone())
            .ok_or_else(|| StoreError::Unavailable("redis has not been reached yet".into()))
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
            eval(INCR, &[self.key(key)])
                .arg(ttl_ms(ttl))
                .query_async(&mut self.conn()?)
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

    fn log_append<'a>(
        &'a self,
        log: &'a str,
        at_ms: u64,
        value: &'a [u8],
        keep_from_ms: u64,
    ) -> StoreFuture<'a, LogId> {
        Box::pin(async move {
            let (last, stream) = self.log_keys(log);
            let id: String = eval(APPEND, &[last, stream])
                .arg(at_ms)
                .arg(value)
                .arg(keep_from_ms)
                .query_async(&mut self.conn()?)
                .await
                .map_err(err)?;
            parse_id(&id)
        })
    }

    fn log_range<'a>(
        &'a self,
        log: &'a str,
        from: LogId,
        to_ms: u64,
        limit: usize,
    ) -> StoreFuture<'a, Vec<(LogId, Vec<u8>)>> {
        Box::pin(async move {
            if from.ms > to_ms {
                return Ok(Vec::new());
            }
            let (_, stream) = self.log_keys(log);
            let entries: Vec<StreamEntry> = redis::cmd("XRANGE")
                .arg(stream)
                .arg(format!("{}-{}", from.ms, from.seq))
                .arg(to_ms)
                .arg("COUNT")
                .arg(limit)
                .query_async(&mut self.conn()?)
                .await
                .map_err(err)?;
            entries
                .into_iter()
                .map(|(id, mut fields)| {
                    let value = fields.pop().map(|(_, v)| v).unwrap_or_default();
                    Ok((parse_id(&id)?, value))
                })
                .collect()
        })
    }

    fn log_trim<'a>(&'a self, log: &'a str, before_ms: u64) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let (_, stream) = self.log_keys(log);
            redis::cmd("XTRIM")
                .arg(stream)
                .arg("MINID")
                .arg(before_ms)
                .query_async(&mut self.conn()?)
                .await
                .map_err(err)
        })
    }

    fn publish<'a>(&'a self, event: &'a StoreEvent) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let payload =
                serde_json::to_vec(event).map_err(|e| StoreError::Backend(e.to_string()))?;
            self.conn()?
                .publish::<_, _, ()>(self.key(EVENTS), payload)
                .await
                .map_err(err)
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<StoreEvent> {
        self.events.subscribe()
    }

    fn event_lag(&self) -> Duration {
        self.health.lag()
    }

    fn resyncs_asked(&self) -> u64 {
        self.health.resyncs_asked()
    }

    fn resynced(&self, asked: u64) {
        self.health.resynced(asked)
    }

    fn owe_resync(&self) {
        self.health.owe_resync()
    }
}
