//! The activity log in the store: one time-keyed log per environment (a Redis stream, or a
//! range of the embedded store's log table), so a period is read page by page without reading
//! the rest, and everything older than the retention is trimmed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::AuditEvent;
use crate::store::{LogId, Store, StoreResult};

/// The store log of an environment's events.
pub fn log_name(environment: &str) -> String {
    format!("audit:{environment}")
}

/// Where events were kept before they were split per environment and keyed by time.
const LEGACY_LOG: &str = "audit";
/// Held by the instance moving the legacy log.
const LEGACY_CLAIM: &str = "audit-legacy-moving";
/// How long a claim holds should its instance stop mid-way.
const LEGACY_CLAIM_TTL: Duration = Duration::from_secs(600);
/// The last legacy entry moved ("ms-seq").
const LEGACY_CURSOR: &str = "audit-legacy-cursor";

/// Entries read from the store per round trip.
const PAGE: usize = 500;

/// Logs an event as fields a log pipeline can index (not JSON inside a string): the kind, the
/// outcome, who and where, and the kind's own details (a small JSON object, often empty).
fn log(event: &AuditEvent) {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    let fields = value.as_object_mut();
    let kind = fields
        .as_ref()
        .and_then(|m| m.get("event"))
        .and_then(|k| k.as_str())
        .unwrap_or("unknown")
        .to_string();
    let details = fields.map(|m| {
        for common in [
            "at_ms",
            "event",
            "outcome",
            "actor",
            "target",
            "environment",
            "device",
            "ip",
            "agent",
            "request_id",
        ] {
            m.remove(common);
        }
        serde_json::Value::Object(std::mem::take(m)).to_string()
    });
    macro_rules! audit_line {
        ($level:ident) => {
            tracing::$level!(
                target: "mfagate::audit",
                event = %kind,
                outcome = ?event.outcome,
                actor = event.actor.as_deref().unwrap_or("-"),
                user = event.user.as_deref().unwrap_or("-"),
                environment = %event.environment,
                device = event.device.as_deref().unwrap_or("-"),
                ip = %event.ip,
                request_id = %event.request_id,
                details = details.as_deref().unwrap_or("{}"),
                "audit"
            )
        };
    }
    match event.kind.warns() {
        true => audit_line!(warn),
        false => audit_line!(info),
    }
}

/// Something told of every event as it is recorded (the metrics).
pub type Observer = Box<dyn Fn(&AuditEvent) + Send + Sync>;

/// Where events go: the store (for export), the log, and an observer (the metrics).
#[derive(Clone)]
pub struct AuditSink {
    store: Arc<dyn Store>,
    retention: Duration,
    observer: Arc<std::sync::OnceLock<Observer>>,
}

impl AuditSink {
    /// Events are kept for `retention` after their time.
    pub fn new(store: Arc<dyn Store>, retention: Duration) -> Self {
        Self {
            store,
            retention,
            observer: Arc::default(),
        }
    }

    /// The same sink (store, observer) keeping events for `retention` (a reloaded config).
    pub fn with_retention(&self, retention: Duration) -> Self {
        Self {
            retention,
            ..self.clone()
        }
    }

    /// Tells `observer` of every event from now on (set once, at start).
    pub fn observe(&self, observer: Observer) {
        let _ = self.observer.set(observer);
    }

    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The first ms still kept at `now_ms`.
    fn keep_from(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.retention.as_millis() as u64)
    }

    /// Records an event. A store failure is logged loudly but does not undo the action it
    /// describes (the log line still carries it).
    pub async fn record(&self, event: AuditEvent) {
        let json = serde_json::to_vec(&event).unwrap_or_default();
        log(&event);
        if let Some(observe) = self.observer.get() {
            observe(&event);
        }
        let log = log_name(&event.environment);
        let keep_from = self.keep_from(event.at_ms);
        let appended = self
            .store
            .log_append(&log, event.at_ms, &json, keep_from)
            .await;
        if let Err(e) = appended {
            tracing::error!(error = %e, "audit event could not be stored");
        }
    }

    /// The events of `environments` from `from_ms` to `to_ms` (inclusive), oldest first.
    pub fn period(&self, environments: &[String], from_ms: u64, to_ms: u64) -> PeriodReader {
        PeriodReader {
            store: self.store.clone(),
            logs: environments
                .iter()
                .map(|e| LogCursor {
                    log: log_name(e),
                    next: Some(LogId::at(from_ms)),
                    buffered: VecDeque::new(),
                })
                .collect(),
            to_ms,
        }
    }

    /// Up to `limit` events of `environments` over the whole retention, oldest first (tests,
    /// and a user's recent activity on the console).
    pub async fn recent(&self, environments: &[String], limit: usize) -> Vec<AuditEvent> {
        let mut reader = self.period(environments, 0, u64::MAX);
        let mut out = Vec::new();
        while out.len() < limit {
            match reader.next().await {
                Ok(Some(event)) => out.push(event),
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "audit log unreadable");
                    break;
                }
            }
        }
        out
    }

    /// Removes the events of `environments` older than the retention; returns how many.
    pub async fn trim(&self, environments: &[String], now_ms: u64) -> StoreResult<u64> {
        let mut removed = 0;
        for env in environments {
            removed += self
                .store
                .log_trim(&log_name(env), self.keep_from(now_ms))
                .await?;
        }
        Ok(removed)
    }

    /// Moves the events of earlier versions (one log, sequence-keyed, times in seconds) into
    /// the per-environment logs. Run at start, before any event is recorded, so they keep
    /// their times; one instance at a time (a claim that expires, should it stop), resuming
    /// after the last page it moved. Returns how many were moved.
    pub async fn move_legacy(&self) -> StoreResult<u64> {
        let any = self
            .store
            .log_range(LEGACY_LOG, LogId::default(), u64::MAX, 1);
        if any.await?.is_empty()
            || !self
                .store
                .put_if_absent(LEGACY_CLAIM, b"1", Some(LEGACY_CLAIM_TTL))
                .await?
        {
            return Ok(0);
        }
        let mut from = self.legacy_cursor().await?;
        let mut moved = 0;
        loop {
            let page = self
                .store
                .log_range(LEGACY_LOG, from, u64::MAX, PAGE)
                .await?;
            let Some(&(last, _)) = page.last() else { break };
            for (_, raw) in page {
                let Some(event) = legacy_event(&raw) else {
                    continue;
                };
                let json = serde_json::to_vec(&event).unwrap_or_default();
                let log = log_name(&event.environment);
                self.store.log_append(&log, event.at_ms, &json, 0).await?;
                moved += 1;
            }
            let cursor = format!("{}-{}", last.ms, last.seq);
            self.store
                .put(LEGACY_CURSOR, cursor.as_bytes(), None)
                .await?;
            // Only what was moved: an earlier version still running may append more.
            self.store
                .log_trim(LEGACY_LOG, last.ms.saturating_add(1))
                .await?;
            from = last.next();
        }
        self.store.delete(LEGACY_CLAIM).await?;
        if moved > 0 {
            tracing::info!(events = moved, "audit events of an earlier version moved");
        }
        Ok(moved)
    }

    /// Where the move of earlier versions' events goes on from.
    async fn legacy_cursor(&self) -> StoreResult<LogId> {
        let raw = self.store.get(LEGACY_CURSOR).await?.unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        let id = text.split_once('-').and_then(|(ms, seq)| {
            Some(LogId {
                ms: ms.parse().ok()?,
                seq: seq.parse().ok()?,
            })
        });
        Ok(id.map_or(LogId::default(), LogId::next))
    }
}

/// An event as earlier versions wrote it (`at` in seconds, `user` for the target).
fn legacy_event(raw: &[u8]) -> Option<AuditEvent> {
    let mut value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    let fields = value.as_object_mut()?;
    if let Some(at) = fields.remove("at").and_then(|a| a.as_u64()) {
        fields.insert("at_ms".into(), (at * 1000).into());
    }
    // Admin actions named their actor inside the event: flattened, it is the event's actor.
    serde_json::from_value(value).ok()
}

/// One environment's position in a period read.
struct LogCursor {
    log: String,
    /// Where the next page starts; `None` once the period is read.
    next: Option<LogId>,
    buffered: VecDeque<(LogId, AuditEvent)>,
}

/// Reads a period of several environments' logs in time order, a page per log at a time:
/// memory stays bounded however long the period is.
pub struct PeriodReader {
    store: Arc<dyn Store>,
    logs: Vec<LogCursor>,
    to_ms: u64,
}

impl PeriodReader {
    /// The next event in time order, or `None` at the end of the period.
    pub async fn next(&mut self) -> StoreResult<Option<AuditEvent>> {
        for cursor in &mut self.logs {
            while cursor.buffered.is_empty() && cursor.next.is_some() {
                fill(&*self.store, cursor, self.to_ms).await?;
            }
        }
        let earliest = self
            .logs
            .iter_mut()
            .filter(|c| !c.buffered.is_empty())
            .min_by_key(|c| c.buffered.front().map(|(id, e)| (*id, e.at_ms)));
        Ok(earliest.and_then(|c| c.buffered.pop_front().map(|(_, e)| e)))
    }
}

/// Reads the cursor's next page (skipping entries that no longer parse, with a warning).
async fn fill(store: &dyn Store, cursor: &mut LogCursor, to_ms: u64) -> StoreResult<()> {
    let Some(from) = cursor.next else {
        return Ok(());
    };
    let page = store.log_range(&cursor.log, from, to_ms, PAGE).await?;
    cursor.next = match page.last() {
        Some((last, _)) if page.len() == PAGE => Some(last.next()),
        _ => None,
    };
    for (id, raw) in page {
        match serde_json::from_slice(&raw) {
            Ok(event) => cursor.buffered.push_back((id, event)),
            Err(e) => {
                tracing::warn!(log = %cursor.log, error = %e, "unreadable audit entry skipped")
            }
        }
    }
    Ok(())
}
