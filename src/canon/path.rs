//! Canonical path form for matching login routes, step-up and deny paths and public paths.
//!
//! Dashboards route more leniently than a byte comparison: case-insensitively (Express,
//! Rails, ASP.NET, Spring < 6), ignoring a trailing `/`, dropping `;params` from segments
//! (Tomcat, Jetty, Spring), accepting a format suffix (`/login.json` in Rails), and Java/.NET
//! folding look-alike characters (`ſ` is `S` upper-cased). The gateway therefore matches on
//! the form below, and refuses what it cannot read safely:
//! - a segment that is `.` or `..` once its `;params` are removed (`..;/` resolves in Tomcat);
//! - a non-ASCII character that NFKC or case folding turns into ASCII (`ſ`, `K` Kelvin sign,
//!   fullwidth letters and `／`): a look-alike of a protected path is refused, not guessed.
//!
//! The input is a path already normalized by the proxy (dot segments resolved, unreserved
//! escapes decoded, encoded `/` `\` NUL refused). The upstream still receives that normalized
//! path; the canonical form is only ever used to decide.

use std::borrow::Cow;

use icu_normalizer::ComposingNormalizerBorrowed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CanonError {
    #[error("dot segment hidden behind path parameters")]
    DotSegment,
    #[error("character that folds into ASCII")]
    LookAlike,
    #[error("encoded control character")]
    ControlChar,
    #[error("encoded '%'")]
    DoubleEncoded,
    #[error("escapes that are not UTF-8")]
    NotUtf8,
}

/// The canonical form: percent-escapes decoded, `;params` removed from every segment, empty
/// segments and the trailing `/` dropped, lower-cased unless `case_sensitive`.
pub fn canonical(path: &str, case_sensitive: bool) -> Result<Cow<'_, str>, CanonError> {
    if is_canonical(path, case_sensitive) {
        return Ok(Cow::Borrowed(path));
    }
    // Servers read invalid UTF-8 differently (Latin-1, replacement characters): refuse it.
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| CanonError::NotUtf8)?;
    if decoded.chars().any(folds_into_ascii) {
        return Err(CanonError::LookAlike);
    }
    // Routers trim or split on what they decode to: `%0a`, `%09` never reach a decision.
    if decoded.chars().any(char::is_control) {
        return Err(CanonError::ControlChar);
    }
    // A server that decodes twice (IIS, some servlet setups) reads `%2573` as `s`: an
    // encoded `%` is refused.
    if decoded.contains('%') {
        return Err(CanonError::DoubleEncoded);
    }
    let mut out = String::with_capacity(decoded.len());
    for segment in decoded.split('/') {
        let segment = segment.split(';').next().unwrap_or("");
        match segment {
            "" => {}
            "." | ".." => return Err(CanonError::DotSegment),
            s => {
                out.push('/');
                out.push_str(s);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    if !case_sensitive {
        out = out.to_lowercase();
    }
    Ok(Cow::Owned(out))
}

/// The common case on the hot path: plain lower-case ASCII, nothing to strip, no allocation.
fn is_canonical(path: &str, case_sensitive: bool) -> bool {
    let b = path.as_bytes();
    (b.len() == 1 || !b.ends_with(b"/"))
        && !b.windows(2).any(|w| w == b"//")
        && b.iter().all(|&c| {
            c.is_ascii() && c != b'%' && c != b';' && (case_sensitive || !c.is_ascii_uppercase())
        })
}

/// Whether a non-ASCII character becomes ASCII under NFKC or Unicode case mapping, as Java's
/// `equalsIgnoreCase`, .NET's `OrdinalIgnoreCase` or an NFKC-normalizing router would read it.
fn folds_into_ascii(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    let mut buf = [0u8; 4];
    let nfkc = ComposingNormalizerBorrowed::new_nfkc().normalize(c.encode_utf8(&mut buf));
    nfkc.bytes().any(|b| b.is_ascii())
        || simple_ascii(c.to_uppercase())
        || simple_ascii(c.to_lowercase())
}

/// Whether a case mapping is an ASCII letter, as routers' one-character (simple) mappings
/// see it: `ſ` → `S`, `K` (Kelvin) → `k`, `İ` → `i` (plus a combining dot), but not
/// `ß` → `SS`, which no per-character comparison produces.
fn simple_ascii(mut mapped: impl Iterator<Item = char>) -> bool {
    mapped.next().is_some_and(|first| first.is_ascii())
        && mapped.all(|rest| ('\u{300}'..='\u{36f}').contains(&rest))
}

/// A configured path (`/settings/billing`, or a prefix `/settings/*`) in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    base: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exact,
    /// `/dir/*`: the directory itself and everything below it.
    Dir,
    /// `/api*`: any path starting with the base.
    Prefix,
}

impl Pattern {
    /// Reads a configured pattern; `None` when it is not a valid path.
    pub fn new(raw: &str, case_sensitive: bool) -> Option<Self> {
        let (body, kind) = match raw.strip_suffix('*') {
            Some(b) if b.ends_with('/') => (b, Kind::Dir),
            Some(b) => (b, Kind::Prefix),
            None => (raw, Kind::Exact),
        };
        if !body.starts_with('/') {
            return None;
        }
        let base = canonical(body, case_sensitive).ok()?.into_owned();
        // A bare-prefix pattern keeps its exact text: `/api*` must not become `/api/*`.
        let base = match (kind, base.as_str()) {
            (Kind::Dir, "/") => String::new(),
            _ => base,
        };
        Some(Self { base, kind })
    }

    /// Whether canonical `path` is covered.
    pub fn matches(&self, path: &str) -> bool {
        match self.kind {
            Kind::Exact => path == self.base,
            Kind::Prefix => path.starts_with(&self.base),
            Kind::Dir => {
                path == self.base
                    || (path.starts_with(&self.base)
                        && path.as_bytes().get(self.base.len()) == Some(&b'/'))
                    || self.base.is_empty()
            }
        }
    }

    /// As `matches`, also accepting a format suffix on the last segment (`/login.json`,
    /// `/settings/billing.html`), which Rails and Spring route to the same action. Used where
    /// matching more is stricter (login routes, step-up, deny rules), never to admit.
    pub fn matches_with_format(&self, path: &str) -> bool {
        if self.matches(path) {
            return true;
        }
        let Some((stem, ext)) = path.rsplit_once('.') else {
            return false;
        };
        !ext.contains('/') && !stem.ends_with('/') && self.matches(stem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_table() {
        for (input, want) in [
            ("/", "/"),
            ("/login", "/login"),
            ("/Login", "/login"),
            ("/login/", "/login"),
            ("/API/v1/Auth/", "/api/v1/auth"),
            ("/settings;x/billing", "/settings/billing"),
            ("/settings;jsessionid=1/billing;a=b", "/settings/billing"),
            ("/%53ettings/billing", "/settings/billing"),
            ("/a%3Bx/b", "/a/b"),
            ("/;x/settings", "/settings"),
            ("/caf%C3%A9", "/café"),
            ("/日本", "/日本"),
            ("/Straße", "/straße"),
        ] {
            assert_eq!(canonical(input, false).as_deref(), Ok(want), "{input:?}");
        }
        assert_eq!(canonical("/Login/", true).as_deref(), Ok("/Login"));
        for (input, want) in [
            ("/public/..;/settings/billing", CanonError::DotSegment),
            ("/a/.;x/b", CanonError::DotSegment),
            ("/public/%2e%2e;/x", CanonError::DotSegment),
            ("/ſettings/billing", CanonError::LookAlike),
            ("/%C5%BFettings/billing", CanonError::LookAlike),
            ("/ｓettings/billing", CanonError::LookAlike),
            ("/public／..／settings", CanonError::LookAlike),
            ("/public/．．/settings", CanonError::LookAlike),
            ("/\u{212A}ey", CanonError::LookAlike),
            ("/İndex", CanonError::LookAlike),
            ("/settings/billing%09", CanonError::ControlChar),
            ("/%0a", CanonError::ControlChar),
            ("/%2573ettings/billing", CanonError::DoubleEncoded),
            ("/.%2527", CanonError::DoubleEncoded),
            ("/.%a0", CanonError::NotUtf8),
            ("/100%25off", CanonError::DoubleEncoded),
            ("/caf%E9", CanonError::NotUtf8),
        ] {
            assert_eq!(canonical(input, false), Err(want), "{input:?}");
        }
    }

    #[test]
    fn clean_paths_are_borrowed() {
        assert!(matches!(
            canonical("/api/v1/me", false),
            Ok(Cow::Borrowed(_))
        ));
        assert!(matches!(canonical("/Api", false), Ok(Cow::Owned(_))));
        assert!(matches!(canonical("/Api", true), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn patterns() {
        let p = |raw: &str| Pattern::new(raw, false).unwrap();
        assert!(p("/Settings/Billing").matches("/settings/billing"));
        assert!(!p("/settings/billing").matches("/settings/billing2"));
        assert!(p("/settings/*").matches("/settings"));
        assert!(p("/settings/*").matches("/settings/a/b"));
        assert!(!p("/settings/*").matches("/settingsx"));
        assert!(p("/api*").matches("/apix"));
        assert!(p("/*").matches("/anything"));
        assert!(p("/login").matches_with_format("/login.json"));
        assert!(p("/settings/*").matches_with_format("/settings.json"));
        assert!(!p("/login").matches_with_format("/login/x.json"));
        assert!(!p("/login").matches("/login.json"));
        assert!(Pattern::new("login", false).is_none());
    }
}
