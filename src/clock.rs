//! The gateway's notion of "now". Decisions take `now` as a parameter; this is where the
//! request path gets it. Tests move it forward to cross expiry boundaries without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> u64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        real.saturating_add_signed(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone) forward.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}
