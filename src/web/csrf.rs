//! CSRF protection for every gateway form: a token bound to the session (HMAC of its id) in a
//! hidden field, plus refusing cross-site requests by `Origin` / `Sec-Fetch-Site`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use http::HeaderMap;

use crate::crypto::secret_box::KeyRing;

fn message(session_id: &str) -> Vec<u8> {
    format!("csrf.{session_id}").into_bytes()
}

pub fn token(keys: &KeyRing, session_id: &str) -> String {
    B64.encode(keys.sign(&message(session_id)))
}

/// Whether a form post is genuine: same-site request and a valid token for this session.
pub fn verify(
    keys: &KeyRing,
    session_id: &str,
    headers: &HeaderMap,
    host: &str,
    submitted: Option<&str>,
) -> bool {
    let token_ok = submitted
        .and_then(|t| B64.decode(t).ok())
        .is_some_and(|tag| keys.verify(&message(session_id), &tag));
    same_site(headers, host) && token_ok
}

/// Whether a post is `Content-Type: application/json`: what a cross-site page cannot send
/// without a CORS preflight (which the gateway never grants), so JSON endpoints need no
/// CSRF field.
pub fn json_body(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The JSON object of a post to a JSON endpoint, after the CSRF-equivalent checks: a JSON
/// body (`json_body`) from the gateway's own origin (`same_site`). The refusal is a status
/// and an error code for the endpoint's JSON answer.
pub async fn json_post(
    headers: &HeaderMap,
    host: &str,
    body: axum::body::Body,
) -> Result<serde_json::Value, (http::StatusCode, &'static str)> {
    use http::StatusCode;
    if !json_body(headers) {
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "json_required"));
    }
    if !same_site(headers, host) {
        return Err((StatusCode::FORBIDDEN, "cross_site"));
    }
    let bytes = axum::body::to_bytes(body, 16 * 1024).await.ok();
    bytes
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(serde_json::Value::is_object)
        .ok_or((StatusCode::BAD_REQUEST, "bad_json"))
}

/// Whether the browser says the request comes from the gateway's own origin (or says
/// nothing, as non-browser clients do): `Sec-Fetch-Site` and `Origin`.
pub fn same_site(headers: &HeaderMap, host: &str) -> bool {
    let site_ok = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => true,
    };
    let origin_ok = match headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        Some(origin) => origin == format!("https://{host}"),
        None => true,
    };
    site_ok && origin_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_session_bound_and_origin_checked() {
        let keys = KeyRing::new(&[vec![5; 32]]);
        let t = token(&keys, "s1");
        let mut h = HeaderMap::new();
        assert!(verify(&keys, "s1", &h, "chat.test", Some(&t)));
        assert!(!verify(&keys, "s2", &h, "chat.test", Some(&t)));
        assert!(!verify(&keys, "s1", &h, "chat.test", None));
        assert!(!verify(&keys, "s1", &h, "chat.test", Some("bogus")));
        h.insert("origin", "https://evil.test".parse().unwrap());
        assert!(!verify(&keys, "s1", &h, "chat.test", Some(&t)));
        h.insert("origin", "https://chat.test".parse().unwrap());
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!verify(&keys, "s1", &h, "chat.test", Some(&t)));
    }
}
