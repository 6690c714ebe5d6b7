//! Sessions: cookie tokens, the in-memory revocation view, and the cookies themselves.

pub mod device;
pub mod enforcement;
pub mod jar;
pub mod revocation;
pub mod token;

/// Gateway session cookie (DESIGN.md "Cookies").
pub const SESSION_COOKIE: &str = "__Host-mfagate";
/// Device cookie: identifies a browser across sessions for device trust.
pub const DEVICE_COOKIE: &str = "__Host-mfagate-device";

/// `Set-Cookie` value for a gateway cookie: `__Host-` rules (Secure, Path=/, no Domain),
/// HttpOnly, SameSite=Lax. `max_age` of `None` makes a browser-session cookie.
pub fn set_cookie(name: &str, value: &str, max_age: Option<u64>) -> String {
    let mut out = format!("{name}={value}; Secure; HttpOnly; SameSite=Lax; Path=/");
    if let Some(age) = max_age {
        out.push_str(&format!("; Max-Age={age}"));
    }
    out
}

/// `Set-Cookie` that deletes a cookie of the given name (and path `/`).
pub fn clear_cookie(name: &str, secure_prefix: bool) -> String {
    if secure_prefix {
        format!("{name}=; Secure; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
    } else {
        format!("{name}=; Path=/; Max-Age=0")
    }
}

/// Value of cookie `name` in the request's Cookie headers.
pub fn cookie_value<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}
