//! The request's authority (Host or `:authority`), validated before it routes anything or is
//! sent upstream.

use http::{header, HeaderMap};

/// The authority as the client addressed it (host and optional port): the `:authority` of
/// HTTP/2 or absolute-form HTTP/1.1, else the `Host` header.
pub fn request_authority<'a>(uri: &'a http::Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    match uri.authority() {
        Some(a) => Some(a.as_str()),
        None => headers.get(header::HOST)?.to_str().ok(),
    }
}

/// Host of a request for routing: lower-case, without port or trailing dot. `None` when
/// absent or invalid (`valid_authority`).
pub fn request_host(uri: &http::Uri, headers: &HeaderMap) -> Option<String> {
    let raw = request_authority(uri, headers)?;
    if !valid_authority(raw) {
        return None;
    }
    let authority = raw.parse::<http::uri::Authority>().ok()?;
    Some(authority.host().trim_end_matches('.').to_ascii_lowercase())
}

/// RFC 9112 §3.2 / RFC 9113 §8.3.1: no userinfo, a port of 1 to 65535, at most one trailing
/// dot, and only host name characters (or a bracketed IPv6 literal).
pub fn valid_authority(raw: &str) -> bool {
    let (host, port) = match raw.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => (h, Some(p)),
        _ => (raw, None),
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    let name = host.strip_suffix('.').unwrap_or(host);
    let host_ok = if let Some(v6) = host.strip_prefix('[') {
        v6.strip_suffix(']')
            .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !name.is_empty()
            && !name.ends_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::valid_authority;

    #[test]
    fn authorities_are_validated() {
        for ok in [
            "chat.test",
            "chat.test:8443",
            "chat.test.",
            "[::1]:443",
            "127.0.0.1:1",
        ] {
            assert!(valid_authority(ok), "{ok}");
        }
        for bad in [
            "evil.test@chat.test",
            "chat.test:99999",
            "chat.test:0",
            "chat.test:",
            "chat.test..",
            "chat test",
            "[::1",
            "[zz]:1",
            "",
        ] {
            assert!(!valid_authority(bad), "{bad}");
        }
    }
}
