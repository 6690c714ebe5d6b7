//! Header hygiene for both directions of the proxy.
//!
//! Identity headers are the gateway's to set: a client that sends one (in any letter case, or with
//! `_` for `-`, which some upstream frameworks treat as the same name) could otherwise impersonate
//! a user to the dashboard. Hop-by-hop headers describe one connection and must not be forwarded.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Name of the signed identity assertion the gateway sends upstream (filled by a later layer).
pub const ASSERTION_HEADER: &str = "x-mfagate-assertion";

/// Prefix of every cookie the gateway owns; never forwarded to the dashboard.
pub const GATEWAY_COOKIE_PREFIX: &str = "__Host-mfagate";

/// Identity headers stripped from every client request (compared after `_` → `-`).
pub const IDENTITY_HEADERS: &[&str] = &[
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-preferred-username",
    "x-auth-request-groups",
    "remote-user",
    "x-remote-user",
    "x-user",
    "x-email",
    ASSERTION_HEADER,
];

const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes hop-by-hop headers, including every name listed in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed.iter().chain(HOP_BY_HOP) {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

/// True when `name` (already lower-case, as `http` stores it) equals one of the identity
/// headers with `_` read as `-`.
fn is_identity_header(name: &str) -> bool {
    IDENTITY_HEADERS.iter().any(|id| {
        id.len() == name.len()
            && id
                .bytes()
                .zip(name.bytes())
                .all(|(a, b)| a == if b == b'_' { b'-' } else { b })
    }) || name.starts_with("x-mfagate-")
        || name.starts_with("x_mfagate_")
}

/// Removes every identity header; returns how many were present (a spoof attempt when > 0).
pub fn strip_identity(headers: &mut HeaderMap) -> usize {
    let found: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_identity_header(n.as_str()))
        .cloned()
        .collect();
    let mut count = 0;
    for name in found {
        count += headers.get_all(&name).iter().count();
        headers.remove(&name);
    }
    count
}

/// Removes the gateway's own cookies from `Cookie` headers, keeping the dashboard's.
pub fn strip_gateway_cookies(headers: &mut HeaderMap) {
    let has_ours = headers
        .get_all(header::COOKIE)
        .iter()
        .any(|v| contains(v.as_bytes(), GATEWAY_COOKIE_PREFIX.as_bytes()));
    if !has_ours {
        return;
    }
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !pair.starts_with(GATEWAY_COOKIE_PREFIX))
        .map(str::to_owned)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&kept.join("; ")) {
            headers.insert(header::COOKIE, v);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Appends the peer to `X-Forwarded-For` and sets `X-Forwarded-Proto`/`-Host`. The standard
/// `Forwarded` header is dropped because the gateway does not maintain it and a client-written
/// one would be taken at face value by some frameworks.
pub fn set_forwarded(headers: &mut HeaderMap, peer: IpAddr, host: &str) {
    let xff = HeaderName::from_static("x-forwarded-for");
    let value = match headers.get(&xff).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.trim().is_empty() => format!("{prev}, {peer}"),
        _ => peer.to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(xff, v);
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("https"),
    );
    if let Ok(v) = HeaderValue::from_str(host) {
        headers.insert(HeaderName::from_static("x-forwarded-host"), v);
    }
    headers.remove(header::FORWARDED);
}

/// Prepares client request headers for the upstream: hop-by-hop, identity and gateway cookies
/// removed, forwarding headers set. Returns the number of identity headers that were stripped.
pub fn sanitize_request(headers: &mut HeaderMap, peer: IpAddr, host: &str) -> usize {
    strip_hop_by_hop(headers);
    let spoofed = strip_identity(headers);
    strip_gateway_cookies(headers);
    set_forwarded(headers, peer, host);
    spoofed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_variants_are_stripped() {
        let mut h = HeaderMap::new();
        for name in [
            "X-Forwarded-User",
            "x_forwarded_email",
            "REMOTE_USER",
            "x-Auth-Request-Email",
            "X-Mfagate-Assertion",
            "x-mfagate-anything",
        ] {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static("admin@example.com"),
            );
        }
        h.insert("x-forwarded-userx", HeaderValue::from_static("keep"));
        assert_eq!(strip_identity(&mut h), 6);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn connection_listed_headers_are_hop_by_hop() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-kept"]);
    }

    #[test]
    fn gateway_cookies_removed_dashboard_cookies_kept() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-mfagate=abc; dash_session=1"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-mfagate-device=x"),
        );
        strip_gateway_cookies(&mut h);
        assert_eq!(h.get_all(header::COOKIE).iter().count(), 1);
        assert_eq!(h[header::COOKIE], "dash_session=1");
    }

    #[test]
    fn forwarded_for_is_appended() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        h.insert(header::FORWARDED, HeaderValue::from_static("for=1.2.3.4"));
        set_forwarded(&mut h, "127.0.0.1".parse().unwrap(), "chat.example.com");
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "chat.example.com");
        assert!(h.get(header::FORWARDED).is_none());
    }
}
