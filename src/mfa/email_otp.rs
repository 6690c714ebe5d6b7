//! Email one-time codes: 6 digits from a CSPRNG, stored only as an HMAC bound to the pending
//! login (a code from login A never opens login B), valid for `ttl`, usable once. Sending is
//! rate limited: a resend only after `resend_after`, at most `max_sends` per `send_window`.
//! All rules are pure functions of the stored state and `now`.

use serde::{Deserialize, Serialize};

use crate::crypto::secret_box::{constant_time_eq, KeyRing};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailOtpPolicy {
    pub ttl_secs: u64,
    pub resend_after_secs: u64,
    pub max_sends: u32,
    pub send_window_secs: u64,
}

impl Default for EmailOtpPolicy {
    fn default() -> Self {
        Self {
            ttl_secs: 300,
            resend_after_secs: 60,
            max_sends: 3,
            send_window_secs: 300,
        }
    }
}

/// Per-user state: the current code (hashed) and recent send times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EmailOtpState {
    pub pending_id: String,
    #[serde(with = "crate::crypto::bytes")]
    pub code_mac: Vec<u8>,
    pub issued_at: u64,
    pub used: bool,
    /// Unix seconds of sends within the last window.
    pub sends: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendDecision {
    Allowed,
    /// Refused; the user may ask again after `wait_secs`.
    TooSoon {
        wait_secs: u64,
    },
    TooMany {
        wait_secs: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Accepted,
    Expired,
    /// The code belongs to another login, was used, or does not match.
    Invalid,
}

fn code_mac(keys: &KeyRing, pending_id: &str, code: &str) -> [u8; 32] {
    keys.sign(format!("email-otp.{pending_id}.{code}").as_bytes())
}

/// A fresh 6-digit code from the CSPRNG (rejection sampling, no modulo bias).
pub fn new_code(keys: &KeyRing) -> String {
    loop {
        let mut raw = [0u8; 4];
        keys.random(&mut raw);
        let n = u32::from_be_bytes(raw);
        // 4_294_000_000 is the largest multiple of 1_000_000 below 2^32.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// May a code be sent now?
pub fn may_send(state: Option<&EmailOtpState>, policy: &EmailOtpPolicy, now: u64) -> SendDecision {
    let Some(state) = state else {
        return SendDecision::Allowed;
    };
    let recent: Vec<u64> = state
        .sends
        .iter()
        .copied()
        .filter(|t| t + policy.send_window_secs > now)
        .collect();
    if let Some(last) = recent.iter().max() {
        if last + policy.resend_after_secs > now {
            return SendDecision::TooSoon {
                wait_secs: last + policy.resend_after_secs - now,
            };
        }
    }
    if recent.len() as u32 >= policy.max_sends {
        let oldest = recent.iter().min().copied().unwrap_or(now);
        return SendDecision::TooMany {
            wait_secs: oldest + policy.send_window_secs - now,
        };
    }
    SendDecision::Allowed
}

/// The state after sending `code` for `pending_id` at `now` (earlier codes stop working).
pub fn issue(
    keys: &KeyRing,
    state: Option<EmailOtpState>,
    pending_id: &str,
    code: &str,
    policy: &EmailOtpPolicy,
    now: u64,
) -> EmailOtpState {
    let mut sends: Vec<u64> = state
        .map(|s| s.sends)
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t + policy.send_window_secs > now)
        .collect();
    sends.push(now);
    EmailOtpState {
        pending_id: pending_id.to_string(),
        code_mac: code_mac(keys, pending_id, code).to_vec(),
        issued_at: now,
        used: false,
        sends,
    }
}

/// Checks `code` for `pending_id` at `now`; on success the state is marked used.
pub fn check(
    keys: &KeyRing,
    state: &EmailOtpState,
    pending_id: &str,
    code: &str,
    policy: &EmailOtpPolicy,
    now: u64,
) -> (CheckOutcome, EmailOtpState) {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let mac = code_mac(keys, pending_id, &code);
    let matches = constant_time_eq(&mac, &state.code_mac) && state.pending_id == pending_id;
    if !matches || state.used || code.len() != 6 {
        return (CheckOutcome::Invalid, state.clone());
    }
    if now >= state.issued_at + policy.ttl_secs {
        return (CheckOutcome::Expired, state.clone());
    }
    let used = EmailOtpState {
        used: true,
        ..state.clone()
    };
    (CheckOutcome::Accepted, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    fn keys() -> KeyRing {
        KeyRing::new(&[vec![8; 32]])
    }

    #[test]
    fn codes_are_six_digits() {
        let k = keys();
        for _ in 0..200 {
            let c = new_code(&k);
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|d| d.is_ascii_digit()));
        }
    }

    #[test]
    fn valid_for_five_minutes_once_and_only_for_its_login() {
        let (k, p) = (keys(), EmailOtpPolicy::default());
        let s = issue(&k, None, "login-a", "123456", &p, T0);
        assert_eq!(
            check(&k, &s, "login-a", "123456", &p, T0 + 299).0,
            CheckOutcome::Accepted
        );
        assert_eq!(
            check(&k, &s, "login-a", "123456", &p, T0 + 300).0,
            CheckOutcome::Expired
        );
        assert_eq!(
            check(&k, &s, "login-b", "123456", &p, T0 + 10).0,
            CheckOutcome::Invalid
        );
        assert_eq!(
            check(&k, &s, "login-a", "654321", &p, T0 + 10).0,
            CheckOutcome::Invalid
        );
        let (_, used) = check(&k, &s, "login-a", "123 456", &p, T0 + 10);
        assert_eq!(
            check(&k, &used, "login-a", "123456", &p, T0 + 11).0,
            CheckOutcome::Invalid
        );
        assert!(!serde_json::to_string(&s).unwrap().contains("123456"));
    }

    #[test]
    fn resend_after_sixty_seconds_and_three_per_five_minutes() {
        let (k, p) = (keys(), EmailOtpPolicy::default());
        assert_eq!(may_send(None, &p, T0), SendDecision::Allowed);
        let s1 = issue(&k, None, "a", "111111", &p, T0);
        assert_eq!(
            may_send(Some(&s1), &p, T0 + 59),
            SendDecision::TooSoon { wait_secs: 1 }
        );
        assert_eq!(may_send(Some(&s1), &p, T0 + 60), SendDecision::Allowed);
        let s2 = issue(&k, Some(s1), "a", "222222", &p, T0 + 60);
        let s3 = issue(&k, Some(s2), "a", "333333", &p, T0 + 120);
        assert_eq!(
            may_send(Some(&s3), &p, T0 + 180),
            SendDecision::TooMany { wait_secs: 120 },
            "the 4th send within 5 minutes is refused with the time to wait"
        );
        assert_eq!(may_send(Some(&s3), &p, T0 + 300), SendDecision::Allowed);
        // A new code replaces the old one.
        assert_eq!(
            check(&k, &s3, "a", "222222", &p, T0 + 121).0,
            CheckOutcome::Invalid
        );
        assert_eq!(
            check(&k, &s3, "a", "333333", &p, T0 + 121).0,
            CheckOutcome::Accepted
        );
    }
}
