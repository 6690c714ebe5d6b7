//! Customer identity verification ("member hash", as Channel.io does it). A chat widget on a
//! customer's website sends the visitor's member id together with
//! `hex(HMAC-SHA256(secret, member id))`, computed by the customer's backend, which alone
//! holds the secret besides the gateway. A browser can send any id it likes; only the hash
//! proves the customer's backend vouched for it.
//!
//! This module holds the settings (data, held by the config model) and the pure verdict on
//! what a request claims. Reading the claims off a request, under the loosest reading a
//! dashboard could apply, is the proxy's (`proxy::member_hash`).

use http::HeaderName;
use ring::hmac;

use crate::canon::Pattern;

/// Shortest accepted secret, in bytes: a 128-bit random value written as 32 hex digits.
pub const MIN_SECRET_BYTES: usize = 32;

/// An environment's `[environments.member_hash]`, validated.
#[derive(Debug, Clone)]
pub struct MemberHashSettings {
    /// Where the member id may be (every location is read, every copy counts).
    pub ids: Vec<Location>,
    /// Where its hash may be.
    pub hashes: Vec<Location>,
    /// The routes whose requests are checked (canonical patterns, format suffixes included).
    pub paths: Vec<Pattern>,
    pub secret: MemberSecret,
    pub on_failure: OnFailure,
    /// Set to the verified member id on forwarded requests; client copies always removed.
    pub verified_header: HeaderName,
    /// Largest request body read for `json:` locations.
    pub max_body_bytes: usize,
}

impl MemberHashSettings {
    /// Whether a request to canonical `path` is checked. Format suffixes count
    /// (`/api/widget/boot.json`): checking more routes is the safe direction.
    pub fn inspects(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p.matches_with_format(path))
    }

    /// Whether a location is in the request body, so the body must be buffered.
    pub fn reads_body(&self) -> bool {
        self.ids
            .iter()
            .chain(&self.hashes)
            .any(|l| matches!(l, Location::Json(_)))
    }
}

/// Where a value is carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A query parameter (`query:memberId`).
    Query(String),
    /// A request header (`header:X-Member-Id`).
    Header(HeaderName),
    /// A JSON pointer into the request body (`json:/member/id`), as unescaped tokens.
    Json(Vec<String>),
}

/// What happens to a request whose claim does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// 403 `{"error":"member_hash_invalid"}`.
    Refuse,
    /// Forwarded without any copy of the id and the hash (an anonymous visitor).
    Strip,
}

/// The shared secret, as an HMAC key: never printed.
#[derive(Clone)]
pub struct MemberSecret(hmac::Key);

impl MemberSecret {
    /// The key for `secret`, the exact bytes the customer's backend signs with.
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// Whether `hash` (hex, either case) is the HMAC of `id`: compared in constant time.
    fn signs(&self, id: &str, hash: &str) -> bool {
        decode_hex(hash).is_some_and(|tag| hmac::verify(&self.0, id.as_bytes(), &tag).is_ok())
    }
}

impl std::fmt::Debug for MemberSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemberSecret(..)")
    }
}

/// One reading of a value off a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Text(String),
    /// Something a dashboard might read as a value but that is no text the gateway can
    /// verify (a JSON number or object, a header that is not visible ASCII, bytes that are
    /// not UTF-8): it can never verify, so it fails the request.
    Unreadable,
}

/// The verdict on a request's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No reading yields a member id: nothing to verify.
    Unclaimed,
    /// Every reading yields this id and every hash sent is its HMAC.
    Verified(String),
    /// Why not (for the log; never the id, the hash or the secret).
    Failed(&'static str),
}

/// The verdict on `ids` and `hashes`, every reading of each that a dashboard might apply.
/// A dashboard may take any one of the id readings, so all must be the same id; each hash
/// sent must be that id's HMAC (no client has a reason to send two different ones).
pub fn verdict(secret: &MemberSecret, ids: &[Claim], hashes: &[Claim]) -> Verdict {
    let Some(first) = ids.first() else {
        return Verdict::Unclaimed;
    };
    let Claim::Text(id) = first else {
        return Verdict::Failed("a member id is not readable text");
    };
    if ids.iter().any(|c| *c != *first) {
        return Verdict::Failed("the request carries different member ids");
    }
    if hashes.is_empty() {
        return Verdict::Failed("the member id comes without a hash");
    }
    let signed = |c: &Claim| matches!(c, Claim::Text(h) if secret.signs(id, h));
    match hashes.iter().all(signed) {
        true => Verdict::Verified(id.clone()),
        false => Verdict::Failed("the member hash does not verify"),
    }
}

/// 64 hex digits (either case) as the 32 bytes of an HMAC-SHA256 tag.
fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    // Digit by digit: `u8::from_str_radix` would also take a sign ("+f").
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn hash(id: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
        let tag = hmac::sign(&key, id.as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn text(values: &[&str]) -> Vec<Claim> {
        values.iter().map(|v| Claim::Text(v.to_string())).collect()
    }

    fn judge(ids: &[&str], hashes: &[String]) -> Verdict {
        let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
        verdict(&MemberSecret::new(SECRET), &text(ids), &text(&hashes))
    }

    #[test]
    fn the_right_hash_verifies_in_either_case() {
        let ok = Verdict::Verified("alice".into());
        assert_eq!(judge(&["alice"], &[hash("alice")]), ok);
        assert_eq!(judge(&["alice"], &[hash("alice").to_uppercase()]), ok);
        assert_eq!(judge(&["alice", "alice"], &[hash("alice")]), ok);
        let unicode = "visitor-ü@example.com";
        assert_eq!(
            judge(&[unicode], &[hash(unicode)]),
            Verdict::Verified(unicode.into())
        );
    }

    #[test]
    fn no_id_is_no_claim_even_with_a_hash() {
        assert_eq!(judge(&[], &[]), Verdict::Unclaimed);
        assert_eq!(judge(&[], &[hash("alice")]), Verdict::Unclaimed);
    }

    #[test]
    fn wrong_missing_or_malformed_hashes_fail() {
        let failed = |v: Verdict| matches!(v, Verdict::Failed(_));
        assert!(failed(judge(&["alice"], &[])));
        assert!(failed(judge(&["alice"], &[hash("bob")])));
        assert!(failed(judge(
            &["alice"],
            &[hash("alice")[..63].to_string()]
        )));
        assert!(failed(judge(&["alice"], &[format!("{}0", hash("alice"))])));
        assert!(failed(judge(&["alice"], &["zz".repeat(32)])));
        // A sign where a hex digit belongs is not hex.
        assert_eq!(decode_hex(&format!("+f{}", "0".repeat(62))), None);
        assert!(decode_hex(&format!("0f{}", "0".repeat(62))).is_some());
        assert!(failed(judge(&["alice"], &["".into()])));
        // Another secret's hash.
        let other = hmac::Key::new(hmac::HMAC_SHA256, b"another secret, 32 bytes long...");
        let tag = hmac::sign(&other, b"alice");
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert!(failed(judge(&["alice"], &[hex])));
    }

    #[test]
    fn every_reading_must_agree() {
        let failed = |v: Verdict| matches!(v, Verdict::Failed(_));
        // A verified id next to an unverified one: the dashboard might read either.
        assert!(failed(judge(&["alice", "mallory"], &[hash("alice")])));
        assert!(failed(judge(&["alice", "mallory"], &[hash("mallory")])));
        // Every hash sent must verify.
        assert!(failed(judge(&["alice"], &[hash("alice"), hash("bob")])));
        let secret = MemberSecret::new(SECRET);
        let unreadable = vec![Claim::Text("alice".into()), Claim::Unreadable];
        assert!(failed(verdict(
            &secret,
            &unreadable,
            &text(&[&hash("alice")])
        )));
        let first_unreadable = vec![Claim::Unreadable];
        assert!(failed(verdict(&secret, &first_unreadable, &[])));
        let hash_unreadable = vec![Claim::Unreadable];
        assert!(failed(verdict(
            &secret,
            &text(&["alice"]),
            &hash_unreadable
        )));
    }

    #[test]
    fn the_secret_is_never_printed() {
        let printed = format!("{:?}", MemberSecret::new(SECRET));
        assert_eq!(printed, "MemberSecret(..)");
    }
}
