//! Key ring and secret encryption. Ops configure one or more master keys (the first is current;
//! the rest still decrypt and verify, for rotation). From each master key HKDF derives separate
//! keys for AES-256-GCM (seeds, withheld credentials) and HMAC-SHA256 (cookies, CSRF, code
//! hashes), so no key is used for two purposes.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf::{Salt, HKDF_SHA256};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Minimum master key length in bytes.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("ciphertext is malformed or was made with an unknown key")]
    Malformed,
    #[error("decryption failed (tampered or wrong key)")]
    Decrypt,
}

struct Derived {
    /// Derived identifier written into ciphertexts, so rotation can reorder the ring.
    id: [u8; 4],
    aead: LessSafeKey,
    mac: hmac::Key,
}

/// All derived keys; index 0 is current.
pub struct KeyRing {
    keys: Vec<Derived>,
    rng: SystemRandom,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing({} keys)", self.keys.len())
    }
}

struct Len(usize);
impl ring::hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn derive(master: &[u8], label: &[u8]) -> [u8; 32] {
    let prk = Salt::new(HKDF_SHA256, b"mfagate key ring v1").extract(master);
    let mut out = [0u8; 32];
    prk.expand(&[label], Len(32))
        .and_then(|okm| okm.fill(&mut out))
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

impl KeyRing {
    /// Builds the ring from master keys (current first). Each must be at least 32 bytes;
    /// callers validate this with a config error before getting here.
    pub fn new(masters: &[Vec<u8>]) -> Self {
        assert!(!masters.is_empty() && masters.len() < 256);
        let keys = masters
            .iter()
            .map(|m| {
                let aead = UnboundKey::new(&AES_256_GCM, &derive(m, b"aead"))
                    .expect("32-byte AES-256 key");
                let id = derive(m, b"id");
                Derived {
                    id: [id[0], id[1], id[2], id[3]],
                    aead: LessSafeKey::new(aead),
                    mac: hmac::Key::new(hmac::HMAC_SHA256, &derive(m, b"mac")),
                }
            })
            .collect();
        Self {
            keys,
            rng: SystemRandom::new(),
        }
    }

    /// Fills `out` from the system CSPRNG.
    pub fn random(&self, out: &mut [u8]) {
        self.rng
            .fill(out)
            .expect("the system random number generator failed");
    }

    /// Encrypts with the current key. `context` binds the ciphertext to its purpose (e.g. the
    /// user id), so a ciphertext copied to another record does not decrypt there.
    /// Layout: key id (4 bytes) | nonce (12) | ciphertext + tag.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random(&mut nonce);
        let mut data = plaintext.to_vec();
        self.keys[0]
            .aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut data,
            )
            .expect("AES-GCM sealing cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(4 + NONCE_LEN + data.len());
        out.extend_from_slice(&self.keys[0].id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&data);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (id, rest) = sealed.split_at_checked(4).ok_or(CryptoError::Malformed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or(CryptoError::Malformed)?;
        let (nonce, data) = rest
            .split_at_checked(NONCE_LEN)
            .ok_or(CryptoError::Malformed)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed)?;
        let mut data = data.to_vec();
        let plain = key
            .aead
            .open_in_place(nonce, Aad::from(context), &mut data)
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(plain.to_vec())
    }

    /// HMAC-SHA256 tag with the current key.
    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.keys[0].mac, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Constant-time check of a tag against every key in the ring.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        self.keys
            .iter()
            .any(|k| hmac::verify(&k.mac, data, tag).is_ok())
    }
}

/// Constant-time equality for secrets of equal length (lengths are not secret here).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_of(keys: &[&[u8; 32]]) -> KeyRing {
        KeyRing::new(&keys.iter().map(|k| k.to_vec()).collect::<Vec<_>>())
    }

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let ring = ring_of(&[&[7; 32]]);
        let sealed = ring.seal(b"JBSWY3DPEHPK3PXP", b"user:a");
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(ring.open(&sealed, b"user:a").unwrap(), b"JBSWY3DPEHPK3PXP");
        assert_eq!(ring.open(&sealed, b"user:b"), Err(CryptoError::Decrypt));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(ring.open(&tampered, b"user:a"), Err(CryptoError::Decrypt));
        assert_eq!(
            ring.open(&[0, 1, 2], b"user:a"),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_and_tags_valid() {
        let old = ring_of(&[&[1; 32]]);
        let sealed = old.seal(b"secret", b"ctx");
        let tag = old.sign(b"cookie");
        let rotated = ring_of(&[&[2; 32], &[1; 32]]);
        assert_eq!(rotated.open(&sealed, b"ctx").unwrap(), b"secret");
        assert!(ring_of(&[&[2; 32]]).open(&sealed, b"ctx").is_err());
        assert!(rotated.verify(b"cookie", &tag));
        assert!(!ring_of(&[&[3; 32]]).verify(b"cookie", &tag));
    }
}
