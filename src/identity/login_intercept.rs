//! Pure pieces of login interception: matching the dashboard's login routes, reading the user
//! name without guessing, recognising success, and taking the credential out of the response.

use http::header::{HeaderMap, HeaderValue, SET_COOKIE};
use http::Method;
use serde_json::Value;

use crate::config::{LoginConfig, LoginFormat, LoginRoute};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterceptError {
    #[error("login body names the user more than once")]
    Ambiguous,
    #[error("login body is not valid {0}")]
    Unreadable(&'static str),
}

pub fn match_route<'a>(
    login: &'a LoginConfig,
    method: &Method,
    path: &str,
) -> Option<&'a LoginRoute> {
    login
        .routes
        .iter()
        .find(|r| r.method == *method && r.path == path)
}

/// Lower-cased, trimmed login identity.
pub fn normalize_user(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The user name in the login request body, if the config says where it is. Duplicate form
/// fields or duplicate JSON keys are refused: the dashboard and the gateway might read
/// different ones.
pub fn username_from_request(
    route: &LoginRoute,
    login: &LoginConfig,
    body: &[u8],
) -> Result<Option<String>, InterceptError> {
    match route.format {
        LoginFormat::Form => {
            let Some(field) = &login.username_field else {
                return Ok(None);
            };
            let mut values = form_urlencoded::parse(body).filter(|(k, _)| k == field);
            let first = values.next().map(|(_, v)| v.into_owned());
            if values.next().is_some() {
                return Err(InterceptError::Ambiguous);
            }
            Ok(first
                .filter(|v| !v.trim().is_empty())
                .map(|v| normalize_user(&v)))
        }
        LoginFormat::Json => {
            let Some(pointer) = &login.username_request_pointer else {
                return Ok(None);
            };
            if has_duplicate_keys(body)? {
                return Err(InterceptError::Ambiguous);
            }
            let json: Value =
                serde_json::from_slice(body).map_err(|_| InterceptError::Unreadable("JSON"))?;
            Ok(json
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|v| !v.trim().is_empty())
                .map(normalize_user))
        }
    }
}

/// Detects duplicate keys in any JSON object (serde_json keeps the last one silently).
fn has_duplicate_keys(body: &[u8]) -> Result<bool, InterceptError> {
    use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
    struct Check;
    impl<'de> Visitor<'de> for Check {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut seen = std::collections::HashSet::new();
            let mut dup = false;
            while let Some(key) = map.next_key::<String>()? {
                dup |= !seen.insert(key);
                dup |= map.next_value_seed(CheckSeed)?;
            }
            Ok(dup)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut dup = false;
            while let Some(d) = seq.next_element_seed(CheckSeed)? {
                dup |= d;
            }
            Ok(dup)
        }
        fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E>(self, _: &str) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
    }
    struct CheckSeed;
    impl<'de> serde::de::DeserializeSeed<'de> for CheckSeed {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(Check)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    de.deserialize_any(Check)
        .map_err(|_| InterceptError::Unreadable("JSON"))
}

/// The user name in the login response (preferred: it is what the dashboard accepted).
pub fn username_from_response(login: &LoginConfig, json: Option<&Value>) -> Option<String> {
    let pointer = login.username_response_pointer.as_ref()?;
    json?
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|v| !v.trim().is_empty())
        .map(normalize_user)
}

fn cookie_name(set_cookie: &str) -> &str {
    set_cookie.split(['=', ';']).next().unwrap_or("").trim()
}

/// The dashboard session cookies in a response (`Set-Cookie` lines with a configured name
/// and a non-empty value).
pub fn session_cookie_lines(headers: &HeaderMap, names: &[String]) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|line| {
            let value = line
                .split(';')
                .next()
                .and_then(|p| p.split_once('='))
                .map(|(_, v)| v.trim());
            names.iter().any(|n| n == cookie_name(line)) && value.is_some_and(|v| !v.is_empty())
        })
        .map(str::to_string)
        .collect()
}

/// Removes the dashboard's session cookies from a response, keeping every other Set-Cookie.
pub fn strip_session_cookies(headers: &mut HeaderMap, names: &[String]) {
    let kept: Vec<HeaderValue> = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter(|v| {
            let line = v.to_str().unwrap_or("");
            !names.iter().any(|n| n == cookie_name(line))
        })
        .cloned()
        .collect();
    headers.remove(SET_COOKIE);
    for v in kept {
        headers.append(SET_COOKIE, v);
    }
}

/// The token at `pointer`, if it is a non-empty string.
pub fn token_at(json: &Value, pointer: &str) -> Option<String> {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Replaces the token (if the login has one) with `null` and tells the client where to pass
/// MFA.
pub fn withhold_token(json: &mut Value, pointer: Option<&str>, mfa_url: &str) {
    if let Some(slot) = pointer.and_then(|p| json.pointer_mut(p)) {
        *slot = Value::Null;
    }
    if let Value::Object(map) = json {
        map.insert("mfa_required".into(), Value::Bool(true));
        map.insert("mfa_url".into(), Value::String(mfa_url.into()));
    }
}

/// `next` only if it is a plain same-origin path; anything that a browser could read as another
/// origin (`//host`, `/\\host`, schemes, control characters, encoded slashes) becomes `/`.
pub fn safe_next(raw: Option<&str>) -> String {
    let Some(raw) = raw else { return "/".into() };
    let decoded = percent_encoding::percent_decode_str(raw).collect::<Vec<u8>>();
    let ok = raw.len() <= 2048
        && raw.starts_with('/')
        && !raw.starts_with("//")
        && !decoded.starts_with(b"//")
        && !decoded.iter().any(|b| *b == b'\\' || b.is_ascii_control())
        && !raw.to_ascii_lowercase().contains("%2f")
        && raw.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        raw.to_string()
    } else {
        "/".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> LoginConfig {
        LoginConfig {
            routes: vec![
                LoginRoute {
                    method: Method::POST,
                    path: "/login".into(),
                    format: LoginFormat::Form,
                },
                LoginRoute {
                    method: Method::POST,
                    path: "/api/v1/auth".into(),
                    format: LoginFormat::Json,
                },
            ],
            session_cookies: vec!["dash_session".into()],
            token_pointer: Some("/data/authentication_token".into()),
            username_field: Some("email".into()),
            username_request_pointer: Some("/email".into()),
            username_response_pointer: None,
            login_page: "/login".into(),
            anonymous_public_paths: None,
            logout: None,
            max_body_bytes: 65536,
        }
    }

    #[test]
    fn usernames_are_read_without_guessing() {
        let l = login();
        let (form, json) = (&l.routes[0], &l.routes[1]);
        assert_eq!(
            username_from_request(form, &l, b"email=Agent%40Example.com&password=x").unwrap(),
            Some("agent@example.com".into())
        );
        assert_eq!(
            username_from_request(form, &l, b"email=a%40x&email=b%40x&password=x"),
            Err(InterceptError::Ambiguous)
        );
        assert_eq!(
            username_from_request(json, &l, br#"{"email":"A@x.com","password":"p"}"#).unwrap(),
            Some("a@x.com".into())
        );
        assert_eq!(
            username_from_request(json, &l, br#"{"email":"a@x","email":"b@x"}"#),
            Err(InterceptError::Ambiguous)
        );
        assert_eq!(
            username_from_request(json, &l, br#"{"x":{"k":1,"k":2},"email":"a@x"}"#),
            Err(InterceptError::Ambiguous)
        );
        assert!(username_from_request(json, &l, b"not json").is_err());
    }

    #[test]
    fn credentials_are_found_and_withheld() {
        let l = login();
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("dash_session=abc; Path=/; HttpOnly"),
        );
        h.append(SET_COOKIE, HeaderValue::from_static("csrf=1; Path=/"));
        h.append(SET_COOKIE, HeaderValue::from_static("dash_session_old=x"));
        assert_eq!(
            session_cookie_lines(&h, &l.session_cookies),
            ["dash_session=abc; Path=/; HttpOnly"]
        );
        strip_session_cookies(&mut h, &l.session_cookies);
        let left: Vec<_> = h
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(left, ["csrf=1; Path=/", "dash_session_old=x"]);

        let mut json: Value = serde_json::json!({"data":{"authentication_token":"SECRET-TOKEN-1","user":{"email":"a@x"}}});
        assert_eq!(
            token_at(&json, "/data/authentication_token").as_deref(),
            Some("SECRET-TOKEN-1")
        );
        withhold_token(&mut json, Some("/data/authentication_token"), "/.mfagate/");
        assert_eq!(json["data"]["authentication_token"], Value::Null);
        assert_eq!(json["mfa_required"], true);
        assert_eq!(json["mfa_url"], "/.mfagate/");
        assert!(!json.to_string().contains("SECRET-TOKEN-1"));
    }

    #[test]
    fn next_is_same_origin_only() {
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "/%09/evil.com",
            "https://evil.com",
            "/\t/\t\\evil.com",
            "/%2f%2fevil.com",
            "/%5cevil.com",
            "evil.com",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(
            safe_next(Some("/settings/billing?tab=2")),
            "/settings/billing?tab=2"
        );
    }
}
