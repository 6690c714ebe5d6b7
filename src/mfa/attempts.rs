//! Regulation of code entry: after `max_failures` wrong codes in a row, entries (and email
//! code requests) are blocked until `block_secs` have passed; a success resets the count. The
//! same rule applies per user and, with wider limits, per client IP, across every factor.
//! Pure functions of the stored state and `now`; callers serialize evaluation per user so
//! parallel requests cannot exceed the limit.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_failures: u32,
    pub block_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AttemptState {
    pub failures: u32,
    /// Unix seconds until which entries are refused (0 = not blocked).
    pub blocked_until: u64,
}

/// Whether an attempt may be evaluated at `now`: `Err(until)` while blocked. An expired block
/// starts a fresh count.
pub fn admit(state: AttemptState, now: u64) -> Result<AttemptState, u64> {
    if state.blocked_until > now {
        Err(state.blocked_until)
    } else if state.blocked_until != 0 {
        Ok(AttemptState::default())
    } else {
        Ok(state)
    }
}

/// The state after an evaluated attempt.
pub fn record(state: AttemptState, success: bool, limits: &Limits, now: u64) -> AttemptState {
    if success {
        return AttemptState::default();
    }
    let failures = state.failures + 1;
    AttemptState {
        failures,
        blocked_until: if failures >= limits.max_failures {
            now + limits.block_secs
        } else {
            0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_wrong_block_for_five_minutes_and_success_resets() {
        let limits = Limits {
            max_failures: 3,
            block_secs: 300,
        };
        let t0 = 1_000;
        let mut s = AttemptState::default();
        for i in 0..3 {
            s = admit(s, t0 + i).unwrap();
            s = record(s, false, &limits, t0 + i);
        }
        assert_eq!(s.blocked_until, t0 + 2 + 300);
        assert_eq!(
            admit(s, t0 + 10),
            Err(t0 + 302),
            "blocked even before evaluating a right code"
        );
        assert_eq!(admit(s, t0 + 301), Err(t0 + 302));
        let fresh = admit(s, t0 + 302).unwrap();
        assert_eq!(fresh, AttemptState::default(), "unblocked after 5 minutes");
        let one = record(fresh, false, &limits, t0 + 303);
        assert_eq!(
            record(one, true, &limits, t0 + 304),
            AttemptState::default()
        );
    }
}
