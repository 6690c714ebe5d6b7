//! Sessions: cookie tokens, the sealed jar, the in-memory revocation view, the registry of
//! live connections, and the cookies themselves. Below the core, which ends sessions through
//! these.

pub mod device;
pub mod jar;
pub mod live;
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

/// Value of the gateway's own cookie `name` in the request's Cookie headers (exact name, as
/// browsers send it). Read on bytes: a byte another cookie carries that is not text never
/// hides this one.
pub fn cookie_value<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b';'))
        .filter_map(|pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|b| *b == b'=')?;
            (&pair[..eq] == name.as_bytes()).then(|| &pair[eq + 1..])
        })
        .find_map(|v| std::str::from_utf8(v).ok())
}
