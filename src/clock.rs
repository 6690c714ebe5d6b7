//! The gateway's notion of "now". Decisions take `now` as a parameter; this is where the
//! request path gets it. Tests move it forward to cross expiry boundaries without sleeping,
//! and can freeze it so exact second counts are deterministic.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds as "YYYY-MM-DD HH:MM UTC" (the grace header, exports, the command line).
pub fn utc(unix: u64) -> String {
    Zone::default().show(unix)
}

/// The time zone people read an environment's times in (`timezone`), from the tz rules built
/// into the binary, so a machine without tz data shows the same times.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone(jiff::tz::TimeZone);

impl Default for Zone {
    fn default() -> Self {
        Self(jiff::tz::TimeZone::UTC)
    }
}

impl Zone {
    /// The zone of an IANA name ("Asia/Jakarta", "UTC"); `None` for an unknown one.
    pub fn named(name: &str) -> Option<Self> {
        jiff::tz::TimeZone::get(name).ok().map(Self)
    }

    /// The IANA name, as configured.
    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or("UTC")
    }

    /// Unix seconds as "YYYY-MM-DD HH:MM ZONE" in this zone ("2026-12-01 15:04 WIB"), the
    /// zone's abbreviation always shown.
    pub fn show(&self, unix: u64) -> String {
        let Some(ts) = i64::try_from(unix)
            .ok()
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
        else {
            return format!("@{unix}");
        };
        ts.to_zoned_datetime(self.0.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

/// Unix seconds as "YYYY-MM-DD" (UTC), for date fields.
pub fn utc_date(unix: u64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]");
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_default()
}

/// A period bound as Unix ms: an RFC 3339 time ("2026-11-30T08:00:00Z"), or a UTC date
/// ("2026-11-30") meaning its first millisecond, or its last one when `end` (so a period
/// "from 2026-11-30 to 2026-11-30" is that whole day).
pub fn parse_bound(text: &str, end: bool) -> Option<u64> {
    use time::format_description::well_known::Rfc3339;
    const DATE: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]");
    let text = text.trim();
    let at = match time::Date::parse(text, DATE) {
        Ok(day) => {
            let start = day.midnight().assume_utc();
            match end {
                true => start + time::Duration::days(1) - time::Duration::milliseconds(1),
                false => start,
            }
        }
        Err(_) => time::OffsetDateTime::parse(text, &Rfc3339).ok()?,
    };
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
    /// Unix seconds the clock is frozen at; 0 follows real time.
    frozen_at: Arc<AtomicU64>,
}

/// Unix milliseconds of the system clock (for what the test clock must not move).
pub fn real_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn real_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> u64 {
        let base = match self.frozen_at.load(Ordering::Relaxed) {
            0 => real_now(),
            frozen => frozen,
        };
        base.saturating_add_signed(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Unix milliseconds, for facts that must be ordered within a second (a session created
    /// just before or just after MFA became required). Agrees with `now` to the second.
    pub fn now_ms(&self) -> u64 {
        let base = match self.frozen_at.load(Ordering::Relaxed) {
            0 => real_now_ms(),
            frozen => frozen.saturating_mul(1000),
        };
        base.saturating_add_signed(
            self.offset_secs
                .load(Ordering::Relaxed)
                .saturating_mul(1000),
        )
    }

    /// Moves this clock (and every clone) forward.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }

    /// Stops this clock (and every clone) at the current time; only `advance` moves it then.
    pub fn freeze(&self) {
        let _ =
            self.frozen_at
                .compare_exchange(0, real_now(), Ordering::Relaxed, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_show_in_the_configured_zone_with_its_name() {
        let jakarta = super::Zone::named("Asia/Jakarta").expect("bundled tz data");
        assert_eq!(jakarta.show(1_764_576_000), "2025-12-01 15:00 WIB");
        assert_eq!(jakarta.name(), "Asia/Jakarta");
        let amsterdam = super::Zone::named("Europe/Amsterdam").unwrap();
        assert_eq!(amsterdam.show(1_764_576_000), "2025-12-01 09:00 CET");
        assert_eq!(amsterdam.show(1_751_356_800), "2025-07-01 10:00 CEST");
        assert_eq!(super::Zone::default().show(0), super::utc(0));
        assert!(super::Zone::named("Mars/Olympus").is_none());
    }

    #[test]
    fn dates_render_in_utc() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(super::utc(u64::MAX), format!("@{}", u64::MAX));
    }

    #[test]
    fn period_bounds_read_dates_as_whole_utc_days_and_times_exactly() {
        use super::parse_bound;
        let day = 1_764_460_800_000; // 2025-11-30T00:00:00Z
        assert_eq!(parse_bound("2025-11-30", false), Some(day));
        assert_eq!(parse_bound("2025-11-30", true), Some(day + 86_400_000 - 1));
        assert_eq!(parse_bound("2025-11-30T01:00:00+01:00", false), Some(day));
        assert_eq!(
            parse_bound(" 2025-11-30T00:00:00.5Z", true),
            Some(day + 500)
        );
        for bad in ["", "yesterday", "2025-13-01", "1700000000"] {
            assert_eq!(parse_bound(bad, false), None, "{bad:?}");
        }
        assert_eq!(super::utc_date(day / 1000), "2025-11-30");
    }

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let c = super::Clock::default();
        c.freeze();
        let t = c.now();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(c.now(), t);
        c.advance(60);
        assert_eq!(c.now(), t + 60);
    }
}
