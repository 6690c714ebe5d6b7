//! TOTP (RFC 6238) with totp-rs: SHA-1, 6 digits, 30 s steps, ±1 step of skew. A step is
//! accepted at most once per user: the stored `last_step` rejects replays and older steps here,
//! and the store's single-use marker closes the race between instances.

use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const SECRET_BYTES: usize = 20;
pub const STEP_SECS: u64 = 30;

/// What the store keeps about an active TOTP factor (the seed itself is sealed elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TotpState {
    /// Highest time step accepted so far.
    pub last_step: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpOutcome {
    /// Valid and newer than anything accepted before.
    Accepted {
        step: u64,
        state: TotpState,
    },
    /// A valid code whose step was already used (or is older): a replay.
    Replayed,
    Invalid,
}

fn totp(secret: &[u8], issuer: Option<&str>, account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(Secret::from(secret))
        .with_account_name(account.replace(':', "_"))
        .with_issuer(issuer.map(|i| i.replace(':', "_")))
        .build()
        .ok()
}

/// Checks `code` at Unix time `now` against the seed and state.
pub fn verify(secret: &[u8], code: &str, now: u64, state: TotpState) -> TotpOutcome {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(t) = totp(secret, None, "") else {
        return TotpOutcome::Invalid;
    };
    match t.check(&code, now) {
        None => TotpOutcome::Invalid,
        Some(step) if step <= state.last_step => TotpOutcome::Replayed,
        Some(step) => TotpOutcome::Accepted {
            step,
            state: TotpState { last_step: step },
        },
    }
}

/// The code for `now` (tests and the enrollment self-check only).
pub fn code_at(secret: &[u8], now: u64) -> String {
    totp(secret, None, "")
        .map(|t| t.generate(now).to_string())
        .unwrap_or_default()
}

/// `otpauth://totp/...` URI for authenticator apps.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    totp(secret, Some(issuer), account)
        .and_then(|t| t.to_url().ok())
        .unwrap_or_default()
}

/// Base32 setup key in groups of four for typing by hand.
pub fn setup_key(secret: &[u8]) -> String {
    let b32 = Secret::from(secret).to_base32();
    b32.trim_end_matches('=')
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses a setup key as shown by `setup_key` (spaces and case ignored).
pub fn parse_setup_key(key: &str) -> Option<Vec<u8>> {
    let cleaned: String = key
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Secret::try_from_base32(cleaned)
        .ok()
        .map(|s| s.as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: 8-digit codes for the three algorithms with their 20/32/64-byte seeds.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let seeds: [(Algorithm, &[u8]); 3] = [
            (Algorithm::SHA1, b"12345678901234567890"),
            (Algorithm::SHA256, b"12345678901234567890123456789012"),
            (
                Algorithm::SHA512,
                b"1234567890123456789012345678901234567890123456789012345678901234",
            ),
        ];
        let table: [(u64, [&str; 3]); 6] = [
            (59, ["94287082", "46119246", "90693936"]),
            (1111111109, ["07081804", "68084774", "25091201"]),
            (1111111111, ["14050471", "67062674", "99943326"]),
            (1234567890, ["89005924", "91819424", "93441116"]),
            (2000000000, ["69279037", "90698825", "38618901"]),
            (20000000000, ["65353130", "77737706", "47863826"]),
        ];
        for (i, (alg, seed)) in seeds.iter().enumerate() {
            let t = Builder::new()
                .with_algorithm(*alg)
                .with_digits(8)
                .with_step_duration(30)
                .with_secret(Secret::new(seed.to_vec().into_boxed_slice()))
                .build()
                .unwrap();
            for (time, codes) in &table {
                assert_eq!(t.generate(*time).to_string(), codes[i], "{alg:?} at {time}");
            }
        }
    }

    #[test]
    fn window_is_one_step_either_side_and_each_step_is_used_once() {
        let secret = [42u8; SECRET_BYTES];
        let now = 1_700_000_000;
        let code = code_at(&secret, now);
        let fresh = TotpState::default();
        let TotpOutcome::Accepted { step, state } = verify(&secret, &code, now, fresh) else {
            panic!("current code rejected");
        };
        assert_eq!(step, now / STEP_SECS);
        assert_eq!(verify(&secret, &code, now, state), TotpOutcome::Replayed);
        // ±1 step accepted, ±2 not.
        assert!(matches!(
            verify(&secret, &code, now + 30, fresh),
            TotpOutcome::Accepted { .. }
        ));
        assert!(matches!(
            verify(&secret, &code, now - 30, fresh),
            TotpOutcome::Accepted { .. }
        ));
        assert_eq!(
            verify(&secret, &code, now + 90, fresh),
            TotpOutcome::Invalid
        );
        assert_eq!(verify(&secret, "12345", now, fresh), TotpOutcome::Invalid);
        assert_eq!(verify(&secret, "abcdef", now, fresh), TotpOutcome::Invalid);
        // An older valid step after a newer one was used is a replay too.
        let older = code_at(&secret, now - 30);
        assert_eq!(verify(&secret, &older, now, state), TotpOutcome::Replayed);
    }

    #[test]
    fn setup_key_round_trips_and_uri_names_issuer() {
        let secret = [7u8; SECRET_BYTES];
        let key = setup_key(&secret);
        assert!(key.split(' ').all(|g| g.len() <= 4));
        assert_eq!(parse_setup_key(&key.to_lowercase()).unwrap(), secret);
        let uri = otpauth_uri(&secret, "Acme Chat", "agent@example.com");
        assert!(
            uri.starts_with("otpauth://totp/Acme%20Chat:agent%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains("issuer=Acme%20Chat"), "{uri}");
    }
}
