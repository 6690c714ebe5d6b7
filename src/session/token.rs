//! Cookie values. The session cookie carries the session's facts, authenticated with the HMAC
//! key ring, so verifying a request needs no store read (DESIGN.md hot-path rule); the store
//! keeps the record for listing and revocation, and revocations reach the in-memory view as
//! events. Values never contain a secret: only ids and timestamps.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::crypto::secret_box::KeyRing;
use crate::domain::{AuthMethod, Who};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Password accepted, second factor outstanding: only the gateway's MFA pages are open.
    Pending,
    /// Fully signed in.
    Full,
}

/// Facts in the session cookie. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    pub sid: String,
    pub env: String,
    pub user: String,
    pub device: String,
    pub auth: AuthMethod,
    pub stage: Stage,
    pub created_at: u64,
    /// The milliseconds of `created_at` (0 in cookies issued before they were kept).
    #[serde(
        default,
        rename = "cms",
        skip_serializing_if = "crate::domain::is_zero"
    )]
    pub created_sub_ms: u16,
    pub mfa_at: Option<u64>,
    /// Idle deadline; refreshed by re-issuing the cookie, never past `expires_at`.
    pub idle_until: u64,
    pub expires_at: u64,
    pub who: Who,
    /// Keyed hash of the bearer token released to this session (`token_hash`): a request of
    /// this session may carry that token and no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tok: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature")]
    BadSignature,
    #[error("session expired")]
    Expired,
    #[error("session idle too long")]
    Idle,
}

/// Domain separation: a device token can never be replayed as a session token and vice versa.
const SESSION_TAG: &str = "s1";
const DEVICE_TAG: &str = "d1";

fn sign(keys: &KeyRing, tag: &str, body: &str) -> String {
    let mac = keys.sign(format!("{tag}.{body}").as_bytes());
    format!("{body}.{}", B64.encode(mac))
}

fn verified<'a>(keys: &KeyRing, tag: &str, value: &'a str) -> Result<&'a str, TokenError> {
    let (body, mac) = value.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let mac = B64.decode(mac).map_err(|_| TokenError::Malformed)?;
    if keys.verify(format!("{tag}.{body}").as_bytes(), &mac) {
        Ok(body)
    } else {
        Err(TokenError::BadSignature)
    }
}

pub fn encode_session(keys: &KeyRing, claims: &SessionClaims) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialize");
    sign(keys, SESSION_TAG, &B64.encode(json))
}

/// Verifies signature and time limits at `now`.
pub fn decode_session(keys: &KeyRing, value: &str, now: u64) -> Result<SessionClaims, TokenError> {
    let body = verified(keys, SESSION_TAG, value)?;
    let json = B64.decode(body).map_err(|_| TokenError::Malformed)?;
    let claims: SessionClaims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if now >= claims.expires_at {
        return Err(TokenError::Expired);
    }
    if now >= claims.idle_until {
        return Err(TokenError::Idle);
    }
    Ok(claims)
}

/// True when the cookie should be re-issued to slide the idle deadline: less than half of
/// the idle period is left and the absolute limit still allows extending.
pub fn needs_refresh(claims: &SessionClaims, idle_secs: u64, now: u64) -> bool {
    claims.idle_until.saturating_sub(now) < idle_secs / 2 && claims.idle_until < claims.expires_at
}

/// The claims with the idle deadline moved to `now + idle`, capped at the absolute limit.
pub fn refreshed(claims: &SessionClaims, idle_secs: u64, now: u64) -> SessionClaims {
    SessionClaims {
        idle_until: (now + idle_secs).min(claims.expires_at),
        ..claims.clone()
    }
}

pub fn encode_device(keys: &KeyRing, device_id: &str) -> String {
    sign(keys, DEVICE_TAG, device_id)
}

pub fn decode_device(keys: &KeyRing, value: &str) -> Result<String, TokenError> {
    verified(keys, DEVICE_TAG, value).map(str::to_string)
}

impl SessionClaims {
    /// When the session began, in Unix milliseconds.
    pub fn created_ms(&self) -> u64 {
        let ms = self.created_at.saturating_mul(1000);
        ms.saturating_add(u64::from(self.created_sub_ms))
    }

    /// The session as the policy sees it.
    pub fn subject(&self) -> crate::policy::Subject<'_> {
        crate::policy::Subject {
            role: self.who.role,
            environments: &self.who.envs,
            auth: self.auth,
            created_ms: self.created_ms(),
            mfa_at: self.mfa_at,
            has_factor: self.who.factor,
        }
    }
}

/// Keyed hash binding a dashboard bearer token to a session (never the token itself).
pub fn token_hash(keys: &KeyRing, token: &str) -> String {
    B64.encode(keys.sign(format!("tok.{token}").as_bytes()))
}

/// Whether an `Authorization` value is the bearer token bound to `claims` (constant time).
pub fn bearer_matches(keys: &KeyRing, claims: &SessionClaims, authorization: &[u8]) -> bool {
    let Some(bound) = &claims.tok else {
        return false;
    };
    let text = String::from_utf8_lossy(authorization);
    let Some((scheme, token)) = text.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && crate::crypto::secret_box::constant_time_eq(
            token_hash(keys, token.trim()).as_bytes(),
            bound.as_bytes(),
        )
}

/// A fresh random id of 128 bits, URL-safe.
pub fn new_id(keys: &KeyRing) -> String {
    let mut raw = [0u8; 16];
    keys.random(&mut raw);
    B64.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn claims(now: u64) -> SessionClaims {
        SessionClaims {
            sid: "sid".into(),
            env: "prod".into(),
            user: "a@example.com".into(),
            device: "dev".into(),
            auth: AuthMethod::Pwd,
            stage: Stage::Full,
            created_at: now,
            created_sub_ms: 250,
            mfa_at: Some(now),
            idle_until: now + 1800,
            expires_at: now + 12 * 3600,
            who: Who {
                role: Role::Agent,
                envs: vec!["prod".into()],
                factor: true,
            },
            tok: None,
        }
    }

    #[test]
    fn only_the_bound_bearer_token_matches() {
        let keys = KeyRing::new(&[vec![1; 32]]);
        let c = SessionClaims {
            tok: Some(token_hash(&keys, "T1")),
            ..claims(0)
        };
        assert!(bearer_matches(&keys, &c, b"Bearer T1"));
        assert!(bearer_matches(&keys, &c, b"bearer  T1 "));
        assert!(!bearer_matches(&keys, &c, b"Bearer T2"));
        assert!(!bearer_matches(&keys, &c, b"Basic T1"));
        assert!(!bearer_matches(&keys, &claims(0), b"Bearer T1"));
    }

    #[test]
    fn round_trip_tamper_forgery_and_limits() {
        let keys = KeyRing::new(&[vec![1; 32]]);
        let now = 1_700_000_000;
        let token = encode_session(&keys, &claims(now));
        assert_eq!(
            decode_session(&keys, &token, now + 10).unwrap(),
            claims(now)
        );
        let (body, mac) = token.rsplit_once('.').unwrap();
        let forged_body = B64.encode(
            serde_json::to_vec(&SessionClaims {
                user: "admin@example.com".into(),
                ..claims(now)
            })
            .unwrap(),
        );
        assert_eq!(
            decode_session(&keys, &format!("{forged_body}.{mac}"), now),
            Err(TokenError::BadSignature)
        );
        let mut flipped = body.to_string();
        flipped.replace_range(0..1, if body.starts_with('A') { "B" } else { "A" });
        assert!(decode_session(&keys, &format!("{flipped}.{mac}"), now).is_err());
        let other = KeyRing::new(&[vec![2; 32]]);
        assert_eq!(
            decode_session(&other, &token, now),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            decode_session(&keys, "garbage", now),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            decode_session(&keys, &token, now + 1800),
            Err(TokenError::Idle)
        );
        let c = claims(now);
        assert_eq!(
            decode_session(
                &keys,
                &encode_session(&keys, &refreshed(&c, 1800, now + 12 * 3600 - 5)),
                now + 12 * 3600
            ),
            Err(TokenError::Expired)
        );
        // A device token is not a session token.
        let device = encode_device(&keys, "dev-1");
        assert_eq!(decode_device(&keys, &device).unwrap(), "dev-1");
        assert!(decode_session(&keys, &device, now).is_err());
        assert!(decode_device(&keys, &token).is_err());
    }

    #[test]
    fn idle_refresh_never_passes_the_absolute_limit() {
        let now = 1_700_000_000;
        let c = claims(now);
        assert!(!needs_refresh(&c, 1800, now + 100));
        assert!(needs_refresh(&c, 1800, now + 1000));
        let r = refreshed(&c, 1800, now + 1000);
        assert_eq!(r.idle_until, now + 2800);
        let late = refreshed(&c, 1800, c.expires_at - 60);
        assert_eq!(late.idle_until, c.expires_at);
        assert!(!needs_refresh(&late, 1800, c.expires_at - 30));
    }
}
