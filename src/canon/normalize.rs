//! Path normalization, done once per request before routing.
//!
//! The normalized path is used both for every policy decision and for the upstream request, so a
//! path that the gateway reads one way cannot reach the dashboard meaning another. Encodings that
//! different servers decode differently (`%2F`, `%5C`, `%00`, raw `\`) are refused rather than
//! guessed.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path must start with '/'")]
    NotOriginForm,
    #[error("invalid percent-encoding")]
    BadEncoding,
    #[error("encoded '/', '\\' or NUL in path")]
    EncodedSeparator,
    #[error("backslash in path")]
    Backslash,
    #[error("control character in path")]
    ControlChar,
    #[error("path could be read as another: {0}")]
    Canon(#[from] crate::canon::CanonError),
}

/// Returns the normalized form of an origin-form path (no query): percent-encoded unreserved
/// characters decoded (RFC 3986 §6.2.2.2), other escapes upper-cased, `.`/`..` segments resolved
/// (never above the root), and empty segments collapsed. A trailing `/` is kept.
pub fn normalize_path(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotOriginForm);
    }
    if is_already_normal(raw.as_bytes()) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out: Vec<String> = Vec::new();
    let mut trailing_slash = false;
    for raw_segment in raw[1..].split('/') {
        let segment = decode_segment(raw_segment)?;
        trailing_slash = matches!(segment.as_str(), "" | "." | "..");
        match segment.as_str() {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            _ => out.push(segment),
        }
    }
    let mut path = String::with_capacity(raw.len());
    for segment in &out {
        path.push('/');
        path.push_str(segment);
    }
    if path.is_empty() || trailing_slash {
        path.push('/');
    }
    Ok(Cow::Owned(path))
}

/// The common case on the hot path: nothing to decode or resolve, so no allocation.
fn is_already_normal(bytes: &[u8]) -> bool {
    let mut prev_slash = false;
    for &b in bytes {
        match b {
            b'%' | b'\\' => return false,
            b if b < 0x20 || b == 0x7f => return false,
            b'/' if prev_slash => return false,
            b'.' if prev_slash => return false,
            _ => {}
        }
        prev_slash = b == b'/';
    }
    true
}

/// Decodes one segment. Works on bytes so that non-ASCII text stays the UTF-8 it was (a byte
/// is never taken for a character on its own).
fn decode_segment(segment: &str) -> Result<String, PathError> {
    let bytes = segment.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(PathError::BadEncoding)?;
                let value = hex_value(hex[0])
                    .zip(hex_value(hex[1]))
                    .map(|(h, l)| h << 4 | l)
                    .ok_or(PathError::BadEncoding)?;
                match value {
                    b'/' | b'\\' | 0 => return Err(PathError::EncodedSeparator),
                    v if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') => {
                        out.push(v)
                    }
                    v => out.extend_from_slice(format!("%{v:02X}").as_bytes()),
                }
                i += 3;
            }
            b'\\' => return Err(PathError::Backslash),
            b if b < 0x20 || b == 0x7f => return Err(PathError::ControlChar),
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    // Only ASCII was decoded and only whole input bytes copied: still the input's UTF-8.
    String::from_utf8(out).map_err(|_| PathError::BadEncoding)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_table() {
        let ok = [
            ("/", "/"),
            ("/inbox", "/inbox"),
            ("/a/b/", "/a/b/"),
            ("/a/../b", "/b"),
            ("/a/./b", "/a/b"),
            ("//x", "/x"),
            ("/a//b///c", "/a/b/c"),
            ("/%2e%2e/x", "/x"),
            ("/%2E%2e/%2e/x", "/x"),
            ("/a/.%2e/b", "/b"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("/a/..", "/"),
            ("/a/.", "/a/"),
            ("/a/b/..", "/a/"),
            ("/%61dmin", "/admin"),
            ("/a%20b", "/a%20b"),
            ("/a%3fb", "/a%3Fb"),
            ("/settings/%62illing", "/settings/billing"),
            ("/a/%7e", "/a/~"),
            ("/.mfagate/../settings", "/settings"),
            ("/%252e%252e/x", "/%252e%252e/x"),
            ("/..", "/"),
            ("/café/./x", "/café/x"),
            ("/日本/../a", "/a"),
        ];
        for (input, want) in ok {
            assert_eq!(
                normalize_path(input).as_deref(),
                Ok(want),
                "input {input:?}"
            );
        }
        let bad = [
            ("/a%2fb", PathError::EncodedSeparator),
            ("/a%2Fb", PathError::EncodedSeparator),
            ("/a%5cb", PathError::EncodedSeparator),
            ("/%00", PathError::EncodedSeparator),
            ("/%zz", PathError::BadEncoding),
            ("/a%2", PathError::BadEncoding),
            ("/a%", PathError::BadEncoding),
            ("/a\\b", PathError::Backslash),
            ("/a\tb", PathError::ControlChar),
            ("a/b", PathError::NotOriginForm),
            ("*", PathError::NotOriginForm),
        ];
        for (input, want) in bad {
            assert_eq!(normalize_path(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn normal_paths_are_borrowed() {
        assert!(matches!(
            normalize_path("/api/v1/me"),
            Ok(Cow::Borrowed("/api/v1/me"))
        ));
        assert!(matches!(normalize_path("/a.b/c"), Ok(Cow::Borrowed(_))));
    }
}
