//! State (DESIGN.md "State"). One `Store` trait of small primitives — values with TTLs,
//! atomic single-use and counters, sets, append-only logs and revocation events — that both the
//! embedded (redb) and the Redis backend provide with the same contract. Typed records live in
//! `records.rs` on top, so domain logic is written once.
//!
//! Secrets never reach a backend in clear: `crypto::secret_box` encrypts them first, and codes are only
//! stored as hashes.

pub mod embedded;
pub mod records;
pub mod redis;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

pub use self::redis::{check_node_address, RedisStore, RedisTarget, Topology};
pub use embedded::EmbeddedStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Backend(String),
    #[error("stored value is unreadable: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// Where an entry sits in a time-keyed log: its time (Unix ms) and its order within that ms,
/// as a Redis stream id is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId {
    pub ms: u64,
    pub seq: u64,
}

impl LogId {
    /// The first id at `ms`.
    pub fn at(ms: u64) -> Self {
        Self { ms, seq: 0 }
    }

    /// The id an entry stamped `at_ms` gets after `last`: its own ms, or right after `last`
    /// when that is as late or later (ids never go back).
    pub fn after(last: Option<LogId>, at_ms: u64) -> Self {
        match last {
            Some(last) if last.ms >= at_ms => last.next(),
            _ => Self::at(at_ms),
        }
    }

    /// The id right after this one, to read the next page from.
    pub fn next(self) -> Self {
        match self.seq.checked_add(1) {
            Some(seq) => Self { seq, ..self },
            None => Self::at(self.ms.saturating_add(1)),
        }
    }
}

/// Revocations every instance must apply to its in-memory view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreEvent {
    /// One session is revoked (logout, device revoke, admin action).
    SessionRevoked { session_id: String },
    /// Every session of a user that started before `before_ms` (Unix ms) is revoked.
    UserRevoked { user: String, before_ms: u64 },
    /// Events may have been missed (the backend reconnected): reload revocations.
    Resync,
}

/// Backend contract. Keys are plain strings chosen by `records.rs`; values are bytes. A TTL of
/// `None` keeps a value until deleted. Every operation is atomic on its own.
pub trait Store: Send + Sync + 'static {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, ()>;
    /// Returns whether the key existed.
    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool>;
    /// Writes only if absent: the single-use primitive (TOTP steps, release-once).
    fn put_if_absent<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, bool>;
    /// Reads and deletes in one step.
    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;
    /// Adds 1 and returns the new value; a new counter gets `ttl`.
    fn incr<'a>(&'a self, key: &'a str, ttl: Option<Duration>) -> StoreFuture<'a, u64>;
    fn set_add<'a>(&'a self, set: &'a str, member: &'a str) -> StoreFuture<'a, ()>;
    fn set_remove<'a>(&'a self, set: &'a str, member: &'a str) -> StoreFuture<'a, ()>;
    fn set_members<'a>(&'a self, set: &'a str) -> StoreFuture<'a, Vec<String>>;
    /// Appends `value` to a time-keyed log at `at_ms` (Unix ms). The entry's id is
    /// `max(at_ms, the last id's ms)`, so ids only grow even when instances' clocks differ by a
    /// little. Entries before `keep_from_ms` may be trimmed now (Redis trims approximately on
    /// every append); `log_trim` removes them for certain.
    fn log_append<'a>(
        &'a self,
        log: &'a str,
        at_ms: u64,
        value: &'a [u8],
        keep_from_ms: u64,
    ) -> StoreFuture<'a, LogId>;
    /// Entries with `from <= id` and `id.ms <= to_ms`, oldest first, at most `limit`: a period
    /// is read page by page without reading the rest of the log.
    fn log_range<'a>(
        &'a self,
        log: &'a str,
        from: LogId,
        to_ms: u64,
        limit: usize,
    ) -> StoreFuture<'a, Vec<(LogId, Vec<u8>)>>;
    /// Removes every entry before `before_ms`; returns how many.
    fn log_trim<'a>(&'a self, log: &'a str, before_ms: u64) -> StoreFuture<'a, u64>;
    /// Delivers an event to every subscriber on every instance.
    fn publish<'a>(&'a self, event: &'a StoreEvent) -> StoreFuture<'a, ()>;
    fn subscribe(&self) -> broadcast::Receiver<StoreEvent>;

    /// How long ago events were last known to flow (the backend reachable and subscribed).
    /// In-process events never lag.
    fn event_lag(&self) -> Duration {
        Duration::ZERO
    }

    /// How many `Resync`s this store has asked for so far. A subscriber that keeps a view
    /// reads it before reloading and reports it with `resynced` afterwards.
    fn resyncs_asked(&self) -> u64 {
        0
    }

    /// The view has been reloaded for every `Resync` up to `asked`. Until the last one asked
    /// for is covered, a backend that can miss events reports itself infinitely stale, so no
    /// request is decided on a view that has not caught up yet.
    fn resynced(&self, _asked: u64) {}

    /// The view fell behind (it dropped events) and will reload: until it reports that
    /// reload with `resynced`, the store reports itself infinitely stale.
    fn owe_resync(&self) {}
}
