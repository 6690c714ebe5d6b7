//! The signed identity assertion the gateway adds to requests it forwards, so a dashboard that
//! wants to can verify who is signed in and whether they passed MFA. ES256 or EdDSA; the public
//! key is published at `/.mfagate/jwks.json`. Tokens live 60 seconds.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Serialize;

/// Request header carrying the assertion (client copies are always stripped).
pub const HEADER: &str = "x-mfagate-assertion";

/// The identity assertion as configured: the signing key's PEM and its algorithm (data; the
/// signer is built from it at start).
#[derive(Clone)]
pub struct AssertionSettings {
    pub pem: Vec<u8>,
    pub alg: Algorithm,
}

impl std::fmt::Debug for AssertionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        write!(f, "AssertionSettings({:?})", self.alg)
    }
}

pub struct Asserter {
    key: EncodingKey,
    alg: Algorithm,
    kid: String,
    jwks_json: String,
}

impl std::fmt::Debug for Asserter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Asserter({:?}, kid {})", self.alg, self.kid)
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    email: Option<&'a str>,
    roles: [&'a str; 1],
    env: &'a str,
    amr: &'a [&'a str],
    auth_time: u64,
    iat: u64,
    exp: u64,
}

/// Facts asserted about one request.
pub struct Assertion<'a> {
    pub user: &'a str,
    pub email: Option<&'a str>,
    pub role: &'a str,
    pub env: &'a str,
    /// ["pwd", "otp"], ["pwd"] or ["sso"].
    pub amr: &'a [&'a str],
    pub auth_time: u64,
}

impl Asserter {
    /// The signer for `settings`.
    pub fn build(settings: &AssertionSettings) -> Result<Self, String> {
        Self::new(&settings.pem, settings.alg)
    }

    /// From a PEM private key; `alg` is ES256 (P-256) or EdDSA (Ed25519).
    pub fn new(pem: &[u8], alg: Algorithm) -> Result<Self, String> {
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
            other => return Err(format!("{other:?} is not supported; use ES256 or EdDSA")),
        }
        .map_err(|e| format!("not a usable private key: {e}"))?;
        let mut jwk = Jwk::from_encoding_key(&key, alg).map_err(|e| e.to_string())?;
        // A stable key id: a digest of the public key.
        let public = serde_json::to_vec(&jwk.algorithm).unwrap_or_default();
        let digest = ring::digest::digest(&ring::digest::SHA256, &public);
        let kid: String = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        jwk.common.key_id = Some(kid.clone());
        let jwks_json =
            serde_json::to_string(&JwkSet { keys: vec![jwk] }).map_err(|e| e.to_string())?;
        Ok(Self {
            key,
            alg,
            kid,
            jwks_json,
        })
    }

    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    pub fn sign(&self, a: &Assertion<'_>, now: u64) -> Option<String> {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        let claims = Claims {
            sub: a.user,
            email: a.email,
            roles: [a.role],
            env: a.env,
            amr: a.amr,
            auth_time: a.auth_time,
            iat: now,
            exp: now + 60,
        };
        encode(&header, &claims, &self.key).ok()
    }
}
