//! Header hygiene for both directions of the proxy.
//!
//! Identity headers are the gateway's to set: a client that sends one (in any letter case, or with
//! `_` for `-`, which some upstream frameworks treat as the same name) could otherwise impersonate
//! a user to the dashboard. Hop-by-hop headers describe one connection and must not be forwarded.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::canon::header::{alike, starts_alike};
use crate::federation::assertion::HEADER as ASSERTION_HEADER;

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
    "remote-email",
    "remote-name",
    "remote-groups",
    "x-remote-user",
    "x-remote-email",
    "x-user",
    "x-email",
    "x-forwarded-access-token",
    "x-webauth-user",
    "x-webauth-email",
    "x-webauth-name",
    "x-original-url",
    "x-rewrite-url",
    "cf-access-authenticated-user-email",
    "cf-access-jwt-assertion",
    "x-goog-authenticated-user-email",
    "x-goog-authenticated-user-id",
    "x-goog-iap-jwt-assertion",
    "x-ms-client-principal",
    "x-ms-client-principal-name",
    "x-ms-client-principal-id",
    "x-amzn-oidc-identity",
    "x-amzn-oidc-data",
    "x-amzn-oidc-accesstoken",
    "x-pomerium-jwt-assertion",
    "x-pomerium-claim-email",
    ASSERTION_HEADER,
];

/// Prefixes of identity header families (authentik, Pomerium claims, the gateway's own).
const IDENTITY_PREFIXES: &[&str] = &["x-authentik-", "x-pomerium-claim-", "x-mfagate-"];

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

/// True when `name` equals one of the identity headers, or extends one of their prefixes,
/// with `_` read as `-`.
fn is_identity_header(name: &str) -> bool {
    IDENTITY_HEADERS.iter().any(|id| alike(name, id))
        || IDENTITY_PREFIXES
            .iter()
            .any(|p| name.len() > p.len() && starts_alike(name, p))
}

/// Every value of the headers a dashboard could read as `wanted` (any case, `_` for `-`).
pub fn values_alike<'a>(
    headers: &'a HeaderMap,
    wanted: &'a HeaderName,
) -> impl Iterator<Item = &'a HeaderValue> {
    headers
        .iter()
        .filter(|(name, _)| alike(name.as_str(), wanted.as_str()))
        .map(|(_, value)| value)
}

/// Removes every header a dashboard could read as `wanted`; returns how many lines went.
pub fn remove_alike(headers: &mut HeaderMap, wanted: &HeaderName) -> usize {
    remove_where(headers, |name| alike(name, wanted.as_str()))
}

/// Removes every header whose name `matches`; returns how many lines went.
fn remove_where(headers: &mut HeaderMap, matches: impl Fn(&str) -> bool) -> usize {
    let found: Vec<HeaderName> = headers
        .keys()
        .filter(|n| matches(n.as_str()))
        .cloned()
        .collect();
    let mut count = 0;
    for name in found {
        count += headers.get_all(&name).iter().count();
        headers.remove(&name);
    }
    count
}

/// The environment's SSO header names (JWT and plain).
fn sso_header_names(env: &crate::config::Environment) -> Vec<&HeaderName> {
    let Some(sso) = &env.sso else {
        return Vec::new();
    };
    let jwt = sso.jwt.as_ref().map(|j| &j.header);
    jwt.into_iter()
        .chain(sso.header.as_ref().map(|h| &h.header))
        .collect()
}

/// The SSO headers of a request whose identity the SSO step verified: they reach the
/// dashboard (only) on such a request, the plain header only from a trusted proxy.
pub fn verified_sso_headers(
    env: &crate::config::Environment,
    headers: &HeaderMap,
    peer: IpAddr,
) -> Vec<(HeaderName, HeaderValue)> {
    let Some(sso) = &env.sso else {
        return Vec::new();
    };
    let plain = sso
        .header
        .as_ref()
        .filter(|h| h.trusted.iter().any(|net| net.contains(&peer)))
        .map(|h| &h.header);
    let jwt = sso.jwt.as_ref().map(|j| &j.header);
    jwt.into_iter()
        .chain(plain)
        .filter_map(|n| Some((n.clone(), headers.get(n)?.clone())))
        .collect()
}

/// Removes the environment's SSO headers and the identity headers the gateway itself sets:
/// the dashboard must never see a client's own copy of either.
pub fn strip_sso_headers(env: &crate::config::Environment, headers: &mut HeaderMap) {
    let ids = &env.identity_headers;
    for name in ids.user.iter().chain(ids.email.iter()) {
        headers.remove(name);
    }
    for name in sso_header_names(env) {
        headers.remove(name);
    }
}

/// Removes every identity header; returns how many were present (a spoof attempt when > 0).
pub fn strip_identity(headers: &mut HeaderMap) -> usize {
    remove_where(headers, is_identity_header)
}

/// The stronger of the gateway's and the dashboard's `Strict-Transport-Security`: the longer
/// `max-age`, with `includeSubDomains` and `preload` kept from either.
pub fn stronger_hsts(ours: &HeaderValue, theirs: Option<&HeaderValue>) -> HeaderValue {
    let Some(theirs) = theirs.and_then(|v| v.to_str().ok()) else {
        return ours.clone();
    };
    let parse = |v: &str| {
        let mut age = 0u64;
        let (mut sub, mut preload) = (false, false);
        for d in v.split(';').map(str::trim) {
            let (k, val) = d.split_once('=').unwrap_or((d, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "max-age" => age = val.trim().trim_matches('"').parse().unwrap_or(0),
                "includesubdomains" => sub = true,
                "preload" => preload = true,
                _ => {}
            }
        }
        (age, sub, preload)
    };
    let (a, s1, p1) = parse(ours.to_str().unwrap_or(""));
    let (b, s2, p2) = parse(theirs);
    let mut out = format!("max-age={}", a.max(b));
    if s1 || s2 {
        out.push_str("; includeSubDomains");
    }
    if p1 || p2 {
        out.push_str("; preload");
    }
    HeaderValue::from_str(&out).unwrap_or_else(|_| ours.clone())
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

/// Prepares client request headers for the upstream: hop-by-hop and identity headers removed,
/// forwarding headers set. Returns the number of identity headers that were stripped. Cookies
/// are rewritten once, before this, by `vault::bind_request` (the gateway's own removed).
pub fn sanitize_request(headers: &mut HeaderMap, peer: IpAddr, host: &str) -> usize {
    strip_hop_by_hop(headers);
    let spoofed = strip_identity(headers);
    set_forwarded(headers, peer, host);
    spoofed
}

/// With `preserve_host = false` the dashboard builds its redirects from its own address
/// (`http://10.0.0.5:3000/inbox`), which the browser can neither reach nor should see:
/// `Location` and `Refresh` pointing at the upstream's origin are rewritten to the gateway's
/// public one (`https://` and the authority the browser used). Others are left alone.
pub fn public_redirects(
    env: &crate::config::Environment,
    authority: &str,
    headers: &mut HeaderMap,
) {
    let up = &env.upstream;
    let redirects = headers.contains_key(header::LOCATION) || headers.contains_key(header::REFRESH);
    if up.preserve_host || !redirects {
        return;
    }
    let internal = format!("{}://{}", up.scheme, up.authority);
    let public = format!("https://{authority}");
    for name in [header::LOCATION, header::REFRESH] {
        let Some(value) = headers.get(&name).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        if let Some(v) =
            rewrite_origin(value, &internal, &public).and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert(name, v);
        }
    }
}

/// `value` (a URL, or a `Refresh` value ending in `url=URL`) with a leading `internal` origin
/// (compared without regard to case) replaced by `public`; `None` when it has none.
fn rewrite_origin(value: &str, internal: &str, public: &str) -> Option<String> {
    let start = match value.to_ascii_lowercase().find("url=") {
        Some(i) => i + 4,
        None => 0,
    };
    let url = value[start..].trim_start_matches(['\'', '"', ' ']);
    // `url` is a suffix of `value`: what precedes it is kept as it was.
    let offset = value.len() - url.len();
    let head = url.get(..internal.len())?;
    let rest = &url[internal.len()..];
    let boundary = matches!(
        rest.bytes().next(),
        None | Some(b'/' | b'?' | b'#' | b'\'' | b'"')
    );
    (head.eq_ignore_ascii_case(internal) && boundary)
        .then(|| format!("{}{public}{rest}", &value[..offset]))
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
    fn the_stronger_hsts_wins() {
        let ours = HeaderValue::from_static("max-age=31536000");
        let strong = |theirs: &'static str| {
            let v = HeaderValue::from_static(theirs);
            stronger_hsts(&ours, Some(&v)).to_str().unwrap().to_string()
        };
        assert_eq!(stronger_hsts(&ours, None), "max-age=31536000");
        assert_eq!(
            strong("max-age=63072000; includeSubDomains; preload"),
            "max-age=63072000; includeSubDomains; preload"
        );
        assert_eq!(
            strong("max-age=60; includeSubDomains"),
            "max-age=31536000; includeSubDomains"
        );
        assert_eq!(strong("garbage"), "max-age=31536000");
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

    #[test]
    fn redirects_to_the_upstream_origin_become_public() {
        let (up, public) = ("http://10.0.0.5:3000", "https://chat.example:8443");
        let cases = [
            (
                "http://10.0.0.5:3000/inbox?x=1",
                Some("https://chat.example:8443/inbox?x=1"),
            ),
            ("HTTP://10.0.0.5:3000", Some("https://chat.example:8443")),
            (
                "0; url=http://10.0.0.5:3000/r",
                Some("0; url=https://chat.example:8443/r"),
            ),
            (
                "0;URL='http://10.0.0.5:3000/r'",
                Some("0;URL='https://chat.example:8443/r'"),
            ),
            ("http://10.0.0.5:30001/x", None),
            ("http://10.0.0.5:3000.evil/x", None),
            ("/inbox", None),
            ("https://other.example/", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                rewrite_origin(value, up, public).as_deref(),
                want,
                "{value}"
            );
        }
    }
}
