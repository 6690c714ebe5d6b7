//! Backup codes: 10 random codes shown once, stored only as salted PBKDF2 hashes, each usable
//! once. Regenerating replaces the whole set (new generation), which invalidates old codes.

use std::num::NonZeroU32;

use ring::pbkdf2;
use serde::{Deserialize, Serialize};

use crate::crypto::secret_box::KeyRing;

pub const COUNT: usize = 10;
/// Crockford-style alphabet without look-alikes (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ITERATIONS: NonZeroU32 = NonZeroU32::new(20_000).expect("non-zero");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCode {
    pub salt: [u8; 16],
    pub hash: [u8; 32],
    /// Unix seconds of use; `None` while unused.
    pub used_at: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BackupCodes {
    pub generation: u64,
    pub codes: Vec<StoredCode>,
}

fn hash(salt: &[u8; 16], code: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        ITERATIONS,
        salt,
        code.as_bytes(),
        &mut out,
    );
    out
}

/// Upper-case, without spaces and dashes: how codes are hashed and compared.
fn normalize(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl BackupCodes {
    /// A new set (generation + 1); returns it with the plain codes to show once.
    pub fn generate(keys: &KeyRing, previous_generation: u64) -> (Self, Vec<String>) {
        let mut plain = Vec::with_capacity(COUNT);
        let mut codes = Vec::with_capacity(COUNT);
        for _ in 0..COUNT {
            let mut raw = [0u8; 10];
            keys.random(&mut raw);
            let chars: String = raw
                .iter()
                .map(|b| ALPHABET[(*b & 31) as usize] as char)
                .collect();
            let mut salt = [0u8; 16];
            keys.random(&mut salt);
            codes.push(StoredCode {
                salt,
                hash: hash(&salt, &chars),
                used_at: None,
            });
            plain.push(format!("{}-{}", &chars[..5], &chars[5..]));
        }
        (
            Self {
                generation: previous_generation + 1,
                codes,
            },
            plain,
        )
    }

    pub fn remaining(&self) -> usize {
        self.codes.iter().filter(|c| c.used_at.is_none()).count()
    }

    /// Checks `input`; on success returns the index used and the new state. Every stored code
    /// is hashed and compared (constant-time) so timing does not reveal which slot matched.
    pub fn verify(&self, input: &str, now: u64) -> Option<(usize, Self)> {
        let input = normalize(input);
        if input.len() != 10 {
            return None;
        }
        let mut found = None;
        for (i, code) in self.codes.iter().enumerate() {
            let ok = pbkdf2::verify(
                pbkdf2::PBKDF2_HMAC_SHA256,
                ITERATIONS,
                &code.salt,
                input.as_bytes(),
                &code.hash,
            )
            .is_ok();
            if ok && code.used_at.is_none() && found.is_none() {
                found = Some(i);
            }
        }
        let index = found?;
        let mut next = self.clone();
        next.codes[index].used_at = Some(now);
        Some((index, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_single_use_and_stored_hashed() {
        let keys = KeyRing::new(&[vec![9; 32]]);
        let (set, plain) = BackupCodes::generate(&keys, 0);
        assert_eq!((set.generation, plain.len(), set.remaining()), (1, 10, 10));
        let stored = serde_json::to_string(&set).unwrap();
        for p in &plain {
            assert!(!stored.contains(&p.replace('-', "")), "plain code stored");
        }
        let (i, used) = set
            .verify(&plain[3].to_lowercase(), 100)
            .expect("valid code");
        assert_eq!((i, used.remaining()), (3, 9));
        assert!(used.verify(&plain[3], 101).is_none(), "second use rejected");
        assert!(used.verify("AAAAA-AAAAA", 101).is_none());
        assert!(used.verify("short", 101).is_none());
        let (fresh, _) = BackupCodes::generate(&keys, used.generation);
        assert_eq!(fresh.generation, 2);
        assert!(
            fresh.verify(&plain[0], 102).is_none(),
            "old generation invalid"
        );
    }
}
