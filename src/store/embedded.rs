//! The embedded backend: one redb file in `data_dir`, durable on every commit (a kill -9 loses
//! nothing that was acknowledged). TTLs are stored with each value, honoured on read and swept
//! in the background. Revocation events use an in-process broadcast channel (one node).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use tokio::sync::broadcast;

use super::{LogId, Store, StoreError, StoreEvent, StoreFuture, StoreResult};

/// Value = 8-byte big-endian expiry in Unix ms (0 = never) followed by the payload.
const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
const SETS: MultimapTableDefinition<&str, &str> = MultimapTableDefinition::new("sets");
/// Logs written before they were keyed by time (sequence only); moved to `TIMED_LOGS` at open.
const LEGACY_LOGS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("logs");
/// Append-only logs keyed by (log, Unix ms, order within the ms): a period is a range scan.
const TIMED_LOGS: TableDefinition<(&str, u64, u64), &[u8]> = TableDefinition::new("timed_logs");
/// Each log's last id, kept when a trim removes every entry so ids never go back.
const LOG_LAST: TableDefinition<&str, (u64, u64)> = TableDefinition::new("log_last");

/// redb's page cache. Its default (1 GiB) would let one long activity-log export grow the
/// gateway by the size of the log it read; the hot data (sessions, factors, recent events)
/// fits in far less.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    events: broadcast::Sender<StoreEvent>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn encode(value: &[u8], ttl: Option<Duration>) -> Vec<u8> {
    let expires = ttl.map_or(0, |t| now_ms().saturating_add(t.as_millis() as u64).max(1));
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&expires.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// The payload if the stored value has not expired.
fn live(raw: &[u8], now: u64) -> Option<&[u8]> {
    let (head, payload) = raw.split_at_checked(8)?;
    let expires = u64::from_be_bytes(head.try_into().ok()?);
    (expires == 0 || expires > now).then_some(payload)
}

impl EmbeddedStore {
    /// Opens (or creates) `data_dir/mfagate.redb` and starts the expiry sweeper.
    pub fn open(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join("mfagate.redb");
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        let tx = db.begin_write().map_err(backend)?;
        {
            tx.open_table(KV).map_err(backend)?;
            tx.open_multimap_table(SETS).map_err(backend)?;
            tx.open_table(TIMED_LOGS).map_err(backend)?;
            tx.open_table(LOG_LAST).map_err(backend)?;
            migrate_legacy_logs(&tx)?;
        }
        tx.commit().map_err(backend)?;
        let store = Self {
            db: Arc::new(db),
            events: broadcast::channel(1024).0,
        };
        store.spawn_sweeper(Duration::from_secs(30));
        Ok(store)
    }

    /// Deletes expired values every `every`; stops when the store is dropped.
    fn spawn_sweeper(&self, every: Duration) {
        let weak = Arc::downgrade(&self.db);
        let _ = std::thread::Builder::new()
            .name("mfagate-store-sweep".into())
            .spawn(move || loop {
                std::thread::sleep(every);
                let Some(db) = weak.upgrade() else { return };
                if let Err(e) = sweep(&db) {
                    tracing::warn!(error = %e, "expiry sweep failed");
                }
            });
    }

    /// Appends many entries to a time-keyed log in one transaction (ids as `log_append` gives
    /// them): for seeding and imports, where one durable commit per entry would take hours.
    pub fn import_log(
        &self,
        log: &str,
        entries: impl IntoIterator<Item = (u64, Vec<u8>)>,
    ) -> StoreResult<u64> {
        let tx = self.db.begin_write().map_err(backend)?;
        let mut count = 0;
        {
            let mut logs = tx.open_table(TIMED_LOGS).map_err(backend)?;
            let mut lasts = tx.open_table(LOG_LAST).map_err(backend)?;
            let mut last = last_log_id(&logs, &lasts, log)?;
            for (at_ms, value) in entries {
                let id = LogId::after(last, at_ms);
                logs.insert((log, id.ms, id.seq), value.as_slice())
                    .map_err(backend)?;
                last = Some(id);
                count += 1;
            }
            if let Some(id) = last {
                lasts.insert(log, (id.ms, id.seq)).map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
        Ok(count)
    }

    /// Runs a blocking redb operation off the async thread.
    fn run<'a, T: Send + 'static>(
        &'a self,
        op: impl FnOnce(&Database) -> StoreResult<T> + Send + 'static,
    ) -> StoreFuture<'a, T> {
        let db = self.db.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || op(&db))
                .await
                .map_err(backend)?
        })
    }

    /// A read-modify-write in one write transaction.
    fn write<'a, T: Send + 'static>(
        &'a self,
        op: impl FnOnce(&redb::WriteTransaction) -> StoreResult<T> + Send + 'static,
    ) -> StoreFuture<'a, T> {
        self.run(move |db| {
            let tx = db.begin_write().map_err(backend)?;
            let out = op(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(out)
        })
    }
}

fn sweep(db: &Database) -> StoreResult<usize> {
    let now = now_ms();
    let tx = db.begin_write().map_err(backend)?;
    let removed = {
        let mut kv = tx.open_table(KV).map_err(backend)?;
        let before = kv.len().map_err(backend)?;
        kv.retain(|_, v| live(v, now).is_some()).map_err(backend)?;
        before - kv.len().map_err(backend)?
    };
    tx.commit().map_err(backend)?;
    Ok(removed as usize)
}

/// Moves entries of the sequence-keyed logs of earlier versions into the time-keyed table,
/// with their sequence as their time (they are re-read and re-keyed by whoever owns the log),
/// and drops the old table.
fn migrate_legacy_logs(tx: &redb::WriteTransaction) -> StoreResult<()> {
    let mut moved = 0u64;
    {
        let Ok(legacy) = tx.open_table(LEGACY_LOGS) else {
            return Ok(());
        };
        let mut timed = tx.open_table(TIMED_LOGS).map_err(backend)?;
        for entry in legacy.iter().map_err(backend)? {
            let (k, v) = entry.map_err(backend)?;
            let (log, seq) = k.value();
            timed.insert((log, seq, 0), v.value()).map_err(backend)?;
            moved += 1;
        }
    }
    tx.delete_table(LEGACY_LOGS).map_err(backend)?;
    if moved > 0 {
        tracing::info!(
            entries = moved,
            "logs of an earlier version moved to the time-keyed table"
        );
    }
    Ok(())
}

/// The last id `log` gave out: its kept last id (which outlives a trim to nothing), or its
/// last entry's (logs moved from an earlier version have no kept id).
fn last_log_id(
    logs: &impl ReadableTable<(&'static str, u64, u64), &'static [u8]>,
    lasts: &impl ReadableTable<&'static str, (u64, u64)>,
    log: &str,
) -> StoreResult<Option<LogId>> {
    let entry = logs
        .range((log, 0, 0)..=(log, u64::MAX, u64::MAX))
        .map_err(backend)?
        .next_back()
        .transpose()
        .map_err(backend)?
        .map(|(k, _)| {
            let (_, ms, seq) = k.value();
            LogId { ms, seq }
        });
    let kept = lasts.get(log).map_err(backend)?.map(|v| {
        let (ms, seq) = v.value();
        LogId { ms, seq }
    });
    Ok(kept.max(entry))
}

/// Reads a live value inside a write transaction.
fn read_live(tx: &redb::WriteTransaction, key: &str) -> StoreResult<Option<Vec<u8>>> {
    let kv = tx.open_table(KV).map_err(backend)?;
    let raw = kv.get(key).map_err(backend)?;
    Ok(raw.and_then(|v| live(v.value(), now_ms()).map(<[u8]>::to_vec)))
}

impl Store for EmbeddedStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let key = key.to_owned();
        self.run(move |db| {
            let tx = db.begin_read().map_err(backend)?;
            let kv = tx.open_table(KV).map_err(backend)?;
            let raw = kv.get(key.as_str()).map_err(backend)?;
            Ok(raw.and_then(|v| live(v.value(), now_ms()).map(<[u8]>::to_vec)))
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, ()> {
        let (key, value) = (key.to_owned(), encode(value, ttl));
        self.write(move |tx| {
            let mut kv = tx.open_table(KV).map_err(backend)?;
            kv.insert(key.as_str(), value.as_slice()).map_err(backend)?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        let key = key.to_owned();
        self.write(move |tx| {
            let existed = read_live(tx, &key)?.is_some();
            let mut kv = tx.open_table(KV).map_err(backend)?;
            kv.remove(key.as_str()).map_err(backend)?;
            Ok(existed)
        })
    }

    fn put_if_absent<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, bool> {
        let (key, value) = (key.to_owned(), encode(value, ttl));
        self.write(move |tx| {
            if read_live(tx, &key)?.is_some() {
                return Ok(false);
            }
            let mut kv = tx.open_table(KV).map_err(backend)?;
            kv.insert(key.as_str(), value.as_slice()).map_err(backend)?;
            Ok(true)
        })
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let key = key.to_owned();
        self.write(move |tx| {
            let value = read_live(tx, &key)?;
            let mut kv = tx.open_table(KV).map_err(backend)?;
            kv.remove(key.as_str()).map_err(backend)?;
            Ok(value)
        })
    }

    fn incr<'a>(&'a self, key: &'a str, ttl: Option<Duration>) -> StoreFuture<'a, u64> {
        let key = key.to_owned();
        self.write(move |tx| {
            let mut kv = tx.open_table(KV).map_err(backend)?;
            let existing = kv.get(key.as_str()).map_err(backend)?.and_then(|v| {
                let raw = v.value();
                let head = raw.get(..8)?.to_vec();
                live(raw, now_ms()).map(|p| (head, p.to_vec()))
            });
            let (head, count) = match existing {
                Some((head, payload)) => {
                    let n = payload
                        .try_into()
                        .map(u64::from_be_bytes)
                        .map_err(|_| StoreError::Corrupt(format!("counter {key}")))?;
                    (head, n + 1)
                }
                None => (encode(&[], ttl), 1),
            };
            let mut value = head;
            value.extend_from_slice(&count.to_be_bytes());
            kv.insert(key.as_str(), value.as_slice()).map_err(backend)?;
            Ok(count)
        })
    }

    fn set_add<'a>(&'a self, set: &'a str, member: &'a str) -> StoreFuture<'a, ()> {
        let (set, member) = (set.to_owned(), member.to_owned());
        self.write(move |tx| {
            let mut sets = tx.open_multimap_table(SETS).map_err(backend)?;
            sets.insert(set.as_str(), member.as_str())
                .map_err(backend)?;
            Ok(())
        })
    }

    fn set_remove<'a>(&'a self, set: &'a str, member: &'a str) -> StoreFuture<'a, ()> {
        let (set, member) = (set.to_owned(), member.to_owned());
        self.write(move |tx| {
            let mut sets = tx.open_multimap_table(SETS).map_err(backend)?;
            sets.remove(set.as_str(), member.as_str())
                .map_err(backend)?;
            Ok(())
        })
    }

    fn set_members<'a>(&'a self, set: &'a str) -> StoreFuture<'a, Vec<String>> {
        let set = set.to_owned();
        self.run(move |db| {
            let tx = db.begin_read().map_err(backend)?;
            let sets = tx.open_multimap_table(SETS).map_err(backend)?;
            let mut out = Vec::new();
            for member in sets.get(set.as_str()).map_err(backend)? {
                out.push(member.map_err(backend)?.value().to_string());
            }
            Ok(out)
        })
    }

    fn log_append<'a>(
        &'a self,
        log: &'a str,
        at_ms: u64,
        value: &'a [u8],
        _keep_from_ms: u64,
    ) -> StoreFuture<'a, LogId> {
        let (log, value) = (log.to_owned(), value.to_vec());
        self.write(move |tx| {
            let mut logs = tx.open_table(TIMED_LOGS).map_err(backend)?;
            let mut lasts = tx.open_table(LOG_LAST).map_err(backend)?;
            let id = LogId::after(last_log_id(&logs, &lasts, &log)?, at_ms);
            logs.insert((log.as_str(), id.ms, id.seq), value.as_slice())
                .map_err(backend)?;
            lasts
                .insert(log.as_str(), (id.ms, id.seq))
                .map_err(backend)?;
            Ok(id)
        })
    }

    fn log_range<'a>(
        &'a self,
        log: &'a str,
        from: LogId,
        to_ms: u64,
        limit: usize,
    ) -> StoreFuture<'a, Vec<(LogId, Vec<u8>)>> {
        let log = log.to_owned();
        self.run(move |db| {
            let tx = db.begin_read().map_err(backend)?;
            let logs = tx.open_table(TIMED_LOGS).map_err(backend)?;
            let (start, end) = (
                (log.as_str(), from.ms, from.seq),
                (log.as_str(), to_ms, u64::MAX),
            );
            if start > end {
                return Ok(Vec::new());
            }
            let mut out = Vec::new();
            for entry in logs.range(start..=end).map_err(backend)?.take(limit) {
                let (k, v) = entry.map_err(backend)?;
                let (_, ms, seq) = k.value();
                out.push((LogId { ms, seq }, v.value().to_vec()));
            }
            Ok(out)
        })
    }

    fn log_trim<'a>(&'a self, log: &'a str, before_ms: u64) -> StoreFuture<'a, u64> {
        let log = log.to_owned();
        self.write(move |tx| {
            let mut logs = tx.open_table(TIMED_LOGS).map_err(backend)?;
            let mut removed = 0;
            let range = (log.as_str(), 0, 0)..(log.as_str(), before_ms, 0);
            for entry in logs.extract_from_if(range, |_, _| true).map_err(backend)? {
                entry.map_err(backend)?;
                removed += 1;
            }
            Ok(removed)
        })
    }

    fn publish<'a>(&'a self, event: &'a StoreEvent) -> StoreFuture<'a, ()> {
        // No subscribers is fine (nothing to revoke in memory yet).
        let _ = self.events.send(event.clone());
        Box::pin(async { Ok(()) })
    }

    fn subscribe(&self) -> broadcast::Receiver<StoreEvent> {
        self.events.subscribe()
    }
}
