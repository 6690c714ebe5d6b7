//! The dashboard's credential, held by the gateway and never by the browser (DESIGN.md
//! "Credential vault"). The cookies the dashboard sets are kept in a jar sealed with the key
//! ring (AES-256-GCM) into the gateway's own cookies, bound to the gateway session id (or to
//! a pre-login id), and added to each forwarded request. A browser therefore holds nothing the
//! dashboard would accept on its own: a stolen or loosely spelled dashboard cookie is only
//! ever stripped. Sealing into cookies keeps the hot path free of store round trips.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::crypto::secret_box::KeyRing;

/// Cookie (chunked as `…-jar0`, `…-jar1`) holding a signed-in session's jar.
pub const SESSION_JAR: &str = "__Host-mfagate-jar";
/// Cookie (chunked likewise) holding the jar of an anonymous, pre-login dashboard session.
pub const PRE_LOGIN_JAR: &str = "__Host-mfagate-pre";

/// Characters of sealed text per cookie, under browsers' 4096-byte limit per cookie.
const CHUNK: usize = 3800;
/// At most this many chunks are read (a jar beyond ~30 KB is not the dashboard's session).
const MAX_CHUNKS: usize = 8;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jar {
    /// Cookie name → value, as the dashboard set them.
    #[serde(rename = "c")]
    pub cookies: Vec<(String, String)>,
    /// Pre-login jars: an id that a successful login revokes, and when it began.
    #[serde(rename = "i", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "t", default)]
    pub created_at: u64,
}

impl Jar {
    /// Applies one dashboard `Set-Cookie` line at `now`: sets or replaces the cookie, or drops
    /// it when the line deletes it (empty value, `Max-Age` ≤ 0, `Expires` in the past).
    pub fn apply(&mut self, line: &str, now: u64) {
        let mut parts = line.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        let deleted = value.is_empty()
            || parts.any(|attr| {
                let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
                let (k, v) = (k.trim(), v.trim());
                (k.eq_ignore_ascii_case("max-age") && v.parse::<i64>().is_ok_and(|s| s <= 0))
                    || (k.eq_ignore_ascii_case("expires")
                        && httpdate::parse_http_date(v).is_ok_and(|t| {
                            t <= std::time::UNIX_EPOCH + std::time::Duration::from_secs(now)
                        }))
            });
        self.cookies.retain(|(n, _)| n != name);
        if !deleted {
            self.cookies.push((name.to_string(), value.to_string()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// `name=value` lines, the form pending logins and session records keep.
    pub fn lines(&self) -> Vec<String> {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect()
    }

    /// The jar of `lines` (`Set-Cookie` or `name=value` lines) applied in order.
    pub fn from_lines(lines: &[String], now: u64) -> Self {
        Self::default().with(lines, now)
    }

    /// This jar with `lines` applied in order (a dashboard answer's `Set-Cookie` lines).
    pub fn with(mut self, lines: &[String], now: u64) -> Self {
        for l in lines {
            self.apply(l, now);
        }
        self
    }

    pub fn seal(&self, keys: &KeyRing, context: &[u8]) -> String {
        let json = serde_json::to_vec(self).expect("jar serializes");
        B64.encode(keys.seal(&json, context))
    }

    pub fn open(keys: &KeyRing, sealed: &str, context: &[u8]) -> Option<Self> {
        let raw = B64.decode(sealed).ok()?;
        serde_json::from_slice(&keys.open(&raw, context).ok()?).ok()
    }
}

/// Sealing context of a signed-in session's jar: it opens only with that session's id.
pub fn session_context(sid: &str) -> Vec<u8> {
    [b"jar:".as_slice(), sid.as_bytes()].concat()
}

/// Sealing context of pre-login jars.
pub const PRE_LOGIN_CONTEXT: &[u8] = b"pre-login";

/// The sealed text of cookie `base` in the request (its chunks joined) and the chunk count.
pub fn read_chunks(headers: &http::HeaderMap, base: &str) -> (String, usize) {
    let mut out = String::new();
    let mut count = 0;
    while count < MAX_CHUNKS {
        match super::cookie_value(headers, &format!("{base}{count}")) {
            Some(v) => out.push_str(v),
            None => break,
        }
        count += 1;
    }
    (out, count)
}

/// `Set-Cookie` lines storing `sealed` under cookie `base`, deleting chunks beyond the new
/// count that the browser held (`previous`).
pub fn write_chunks(base: &str, sealed: &str, previous: usize) -> Vec<String> {
    let pieces: Vec<&str> = sealed
        .as_bytes()
        .chunks(CHUNK)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    let mut lines: Vec<String> = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| super::set_cookie(&format!("{base}{i}"), p, None))
        .collect();
    lines.extend(clear_chunks(base, pieces.len(), previous));
    lines
}

/// `Set-Cookie` lines deleting chunks `from..to` of cookie `base`.
pub fn clear_chunks(base: &str, from: usize, to: usize) -> Vec<String> {
    (from..to)
        .map(|i| super::clear_cookie(&format!("{base}{i}"), true))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_lines_build_the_jar() {
        let now = 1_700_000_000;
        let mut jar = Jar::from_lines(&["sid=a; Path=/; HttpOnly".into(), "csrf=1".into()], now);
        assert_eq!(jar.lines(), ["sid=a", "csrf=1"]);
        jar.apply("sid=b; Path=/", now);
        assert_eq!(jar.lines(), ["csrf=1", "sid=b"]);
        jar.apply("csrf=; Path=/", now);
        jar.apply("sid=x; Max-Age=0", now);
        assert!(jar.is_empty());
        jar.apply("sid=c; Expires=Thu, 01 Jan 1970 00:00:00 GMT", now);
        assert!(jar.is_empty());
        jar.apply("sid=d; Expires=Wed, 01 Jan 2200 00:00:00 GMT", now);
        assert_eq!(jar.lines(), ["sid=d"]);
    }

    #[test]
    fn sealed_jars_open_only_in_their_context_and_chunk() {
        let keys = KeyRing::new(&[vec![7; 32]]);
        let jar = Jar {
            cookies: vec![("sid".into(), "v".repeat(9000))],
            ..Jar::default()
        };
        let sealed = jar.seal(&keys, &session_context("s1"));
        assert_eq!(Jar::open(&keys, &sealed, &session_context("s1")), Some(jar));
        assert_eq!(Jar::open(&keys, &sealed, &session_context("s2")), None);
        let chunks = sealed.len().div_ceil(CHUNK);
        assert!(chunks > 1);
        let lines = write_chunks(SESSION_JAR, &sealed, chunks + 2);
        assert_eq!(lines.len(), chunks + 2);
        assert!(lines[0].starts_with("__Host-mfagate-jar0="));
        assert!(lines[chunks + 1].contains("Max-Age=0"));
        let mut h = http::HeaderMap::new();
        let cookie: Vec<String> = lines[..chunks]
            .iter()
            .map(|l| l.split(';').next().unwrap().to_string())
            .collect();
        h.insert(http::header::COOKIE, cookie.join("; ").parse().unwrap());
        assert_eq!(read_chunks(&h, SESSION_JAR), (sealed, chunks));
    }
}
