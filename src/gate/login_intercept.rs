//! Pure pieces of login interception: matching the dashboard's login routes, reading the user
//! name without guessing, recognising success, and taking the credential out of the response.

use crate::domain::normalize_user;
use http::header::{HeaderMap, HeaderValue, SET_COOKIE};
use serde_json::Value;

use crate::config::{LoginConfig, LoginFormat, LoginRoute};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterceptError {
    #[error("login body names the user more than once")]
    Ambiguous,
    #[error("login body is not valid {0}")]
    Unreadable(&'static str),
}

/// The user name in the login request, if the config says where it is. Refused: a body not
/// in the route's format, and a user name given twice (duplicate form fields or JSON keys, or
/// in the query string as well: Rails merges query parameters over the body), since the
/// dashboard and the gateway might read different ones.
pub fn username_from_request(
    route: &LoginRoute,
    login: &LoginConfig,
    query: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Result<Option<String>, InterceptError> {
    let in_query = |key: &str| {
        query.is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == key))
    };
    let ct = content_type.to_ascii_lowercase();
    match route.format {
        LoginFormat::Form => {
            if !ct.starts_with("application/x-www-form-urlencoded") {
                return Err(InterceptError::Unreadable(
                    "a form (application/x-www-form-urlencoded)",
                ));
            }
            let Some(field) = &login.username_field else {
                return Ok(None);
            };
            let mut values = form_urlencoded::parse(body).filter(|(k, _)| k == field);
            let first = values.next().map(|(_, v)| v.into_owned());
            if values.next().is_some() || (first.is_some() && in_query(field)) {
                return Err(InterceptError::Ambiguous);
            }
            Ok(first
                .filter(|v| !v.trim().is_empty())
                .map(|v| normalize_user(&v)))
        }
        LoginFormat::Json => {
            if !(ct.starts_with("application/json") || ct.contains("+json")) {
                return Err(InterceptError::Unreadable("JSON"));
            }
            if has_duplicate_keys(body)? {
                return Err(InterceptError::Ambiguous);
            }
            let json: Value =
                serde_json::from_slice(body).map_err(|_| InterceptError::Unreadable("JSON"))?;
            let Some(pointer) = &login.username_request_pointer else {
                return Ok(None);
            };
            let key = pointer.rsplit('/').next().unwrap_or("");
            let found = json.pointer(pointer).and_then(Value::as_str);
            if found.is_some() && in_query(key) {
                return Err(InterceptError::Ambiguous);
            }
            Ok(found.filter(|v| !v.trim().is_empty()).map(normalize_user))
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

fn set_cookie_name(value: &HeaderValue) -> &[u8] {
    crate::canon::cookie::set_cookie_name(value.as_bytes())
}

/// The dashboard session cookies in a response: `Set-Cookie` lines whose name any dashboard
/// would read as one of the configured names (deletions included).
pub fn session_cookie_lines(headers: &HeaderMap, login: &LoginConfig) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter(|v| login.is_session_cookie(set_cookie_name(v)))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// Removes every `Set-Cookie` line for which `remove` holds on its name; returns how many.
pub fn remove_set_cookies(headers: &mut HeaderMap, remove: &dyn Fn(&[u8]) -> bool) -> usize {
    let all: Vec<HeaderValue> = headers.get_all(SET_COOKIE).iter().cloned().collect();
    let kept: Vec<HeaderValue> = all
        .iter()
        .filter(|v| !remove(set_cookie_name(v)))
        .cloned()
        .collect();
    let removed = all.len() - kept.len();
    if removed > 0 {
        headers.remove(SET_COOKIE);
        for v in kept {
            headers.append(SET_COOKIE, v);
        }
    }
    removed
}

/// Removes the dashboard's session cookies from a response, keeping every other Set-Cookie.
pub fn strip_session_cookies(headers: &mut HeaderMap, login: &LoginConfig) -> usize {
    remove_set_cookies(headers, &|n| login.is_session_cookie(n))
}

/// What a watched login's answer says, as far as deciding on it goes.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub status: http::StatusCode,
    pub location: Option<&'a str>,
    pub json: Option<&'a Value>,
    /// The answer (with the pre-login jar) carries a dashboard cookie or a token.
    pub has_credential: bool,
}

/// The verdict on a watched login: only a positive signal from the dashboard counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Success { user: String },
    Failed { reason: &'static str },
}

/// Decides whether a login succeeded and who signed in (DESIGN.md "Login interception"):
/// the probe's answer when configured (`probe_user`), else the user named in a JSON answer,
/// else, only where ops opted in, the request's user name with the success location. A user
/// name in the request must agree with the dashboard's.
pub fn judge(
    login: &LoginConfig,
    route: &LoginRoute,
    answer: &Answer<'_>,
    probe_user: Option<Option<String>>,
    request_user: Option<&str>,
) -> Verdict {
    let failed = |reason| Verdict::Failed { reason };
    if !answer.has_credential {
        return failed("no credential in the answer");
    }
    let ok_status = answer.status.is_success() || answer.status.is_redirection();
    let user = match (probe_user, route.format) {
        (Some(Some(user)), _) => user,
        (Some(None), _) => return failed("the dashboard does not know the credential"),
        (None, LoginFormat::Json) if login.username_response_pointer.is_some() => {
            match username_from_response(login, answer.json) {
                Some(u) if answer.status.is_success() => u,
                _ => return failed("the answer names no user"),
            }
        }
        (None, _) if login.trust_request_username && ok_status => {
            let back_to_login = |l: &str| {
                let path = l.split(['?', '#']).next().unwrap_or(l);
                crate::canon::canonical(path, false)
                    .map_or(true, |c| login.login_page_pattern.matches_with_format(&c))
            };
            let location_ok = match (&login.success_location, answer.location) {
                (Some(want), Some(l)) => {
                    let path = l.split(['?', '#']).next().unwrap_or(l);
                    crate::canon::canonical(path, false).is_ok_and(|c| want.matches(&c))
                        && !back_to_login(l)
                }
                (Some(_), None) => false,
                (None, l) => !l.is_some_and(back_to_login),
            };
            match request_user {
                Some(u) if location_ok => u.to_string(),
                _ => return failed("no positive sign of success"),
            }
        }
        _ => return failed("no positive sign of success"),
    };
    if request_user.is_some_and(|r| r != user) {
        return failed("the dashboard signed in another user than the one named");
    }
    Verdict::Success { user }
}

/// The token at `pointer`, if it is a non-empty string.
pub fn token_at(json: &Value, pointer: &str) -> Option<String> {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Replaces the token (if the login has one) with `null` and tells the client where to pass
/// MFA: the pages (`mfa_url`) and the JSON API (`mfa_api`) under the gateway `prefix`.
pub fn withhold_token(json: &mut Value, pointer: Option<&str>, prefix: &str) {
    if let Some(slot) = pointer.and_then(|p| json.pointer_mut(p)) {
        *slot = Value::Null;
    }
    if let Value::Object(map) = json {
        map.insert("mfa_required".into(), Value::Bool(true));
        map.insert("mfa_url".into(), Value::String(prefix.into()));
        map.insert("mfa_api".into(), Value::String(format!("{prefix}api/mfa")));
    }
}

/// The released token in the dashboard's own shape: at `pointer` (RFC 6901), as the login
/// answer had it, so a client written for the dashboard reads it where it always did.
/// Without a pointer, `{"authentication_token": …}`.
pub fn token_document(pointer: Option<&str>, token: &str) -> Value {
    let mut doc = Value::String(token.to_string());
    let segments = pointer
        .and_then(|p| p.strip_prefix('/'))
        .map(|p| p.split('/').collect::<Vec<_>>())
        .filter(|s| s.iter().all(|seg| !seg.is_empty()))
        .unwrap_or_else(|| vec!["authentication_token"]);
    for seg in segments.iter().rev() {
        let key = seg.replace("~1", "/").replace("~0", "~");
        doc = Value::Object([(key, doc)].into_iter().collect());
    }
    doc
}

/// `next` as a same-origin path: an absolute URL on the gateway's own public origin
/// (`https://{authority}`, as Rails' `redirect_to` gives them) counts as its path; anything
/// else goes through `safe_next`.
pub fn safe_next_on(raw: &str, authority: &str) -> String {
    let origin = format!("https://{authority}");
    let rest = raw
        .get(..origin.len())
        .filter(|head| head.eq_ignore_ascii_case(&origin) && !authority.is_empty())
        .map(|_| &raw[origin.len()..]);
    match rest {
        Some("") => "/".into(),
        Some(r) if r.starts_with('/') => safe_next(Some(r)),
        Some(r) if r.starts_with('?') || r.starts_with('#') => safe_next(Some(&format!("/{r}"))),
        _ => safe_next(Some(raw)),
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
    use http::Method;

    fn login() -> LoginConfig {
        let pattern = |p| crate::canon::Pattern::new(p, false).unwrap();
        LoginConfig {
            routes: vec![
                LoginRoute {
                    method: Method::POST,
                    path: "/login".into(),
                    pattern: pattern("/login"),
                    format: LoginFormat::Form,
                },
                LoginRoute {
                    method: Method::POST,
                    path: "/api/v1/auth".into(),
                    pattern: pattern("/api/v1/auth"),
                    format: LoginFormat::Json,
                },
            ],
            session_cookies: vec!["dash_session".into()],
            token_pointer: Some("/data/authentication_token".into()),
            username_field: Some("email".into()),
            username_request_pointer: Some("/email".into()),
            username_response_pointer: Some("/data/user/email".into()),
            login_page: "/login".into(),
            login_page_pattern: pattern("/login"),
            anonymous_public_paths: None,
            logout: None,
            max_body_bytes: 65536,
            probe: None,
            trust_request_username: false,
            success_location: None,
            next_param: "next".into(),
        }
    }

    const FORM: &str = "application/x-www-form-urlencoded";
    const JSON: &str = "application/json";

    #[test]
    fn usernames_are_read_without_guessing() {
        let l = login();
        let (form, json) = (&l.routes[0], &l.routes[1]);
        let read = |r, q, ct, b: &[u8]| username_from_request(r, &l, q, ct, b);
        assert_eq!(
            read(form, None, FORM, b"email=Agent%40Example.com&password=x").unwrap(),
            Some("agent@example.com".into())
        );
        assert_eq!(
            read(form, None, FORM, b"email=a%40x&email=b%40x&password=x"),
            Err(InterceptError::Ambiguous)
        );
        assert_eq!(
            read(form, Some("email=admin"), FORM, b"email=a%40x&password=x"),
            Err(InterceptError::Ambiguous)
        );
        assert!(read(form, None, JSON, br#"{"email":"a@x"}"#).is_err());
        assert!(read(json, None, FORM, b"email=a").is_err());
        assert_eq!(
            read(json, None, JSON, br#"{"email":"A@x.com","password":"p"}"#).unwrap(),
            Some("a@x.com".into())
        );
        assert_eq!(
            read(json, Some("email=b@x"), JSON, br#"{"email":"a@x"}"#),
            Err(InterceptError::Ambiguous)
        );
        assert_eq!(
            read(json, None, JSON, br#"{"email":"a@x","email":"b@x"}"#),
            Err(InterceptError::Ambiguous)
        );
        assert_eq!(
            read(json, None, JSON, br#"{"x":{"k":1,"k":2},"email":"a@x"}"#),
            Err(InterceptError::Ambiguous)
        );
        assert!(read(json, None, JSON, b"not json").is_err());
    }

    #[test]
    fn credentials_are_found_in_every_spelling_and_withheld() {
        let l = login();
        let mut h = HeaderMap::new();
        for line in [
            "dash_session=abc; Path=/; HttpOnly",
            "csrf=1; Path=/",
            "dash_session_old=x",
            "DASH.SESSION=def",
            " dash_session =ghi",
        ] {
            h.append(SET_COOKIE, HeaderValue::from_str(line).unwrap());
        }
        assert_eq!(session_cookie_lines(&h, &l).len(), 3);
        assert_eq!(strip_session_cookies(&mut h, &l), 3);
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
        assert_eq!(json["mfa_api"], "/.mfagate/api/mfa");
        assert!(!json.to_string().contains("SECRET-TOKEN-1"));
    }

    #[test]
    fn only_a_positive_signal_is_a_success() {
        let mut l = login();
        let form = l.routes[0].clone();
        let answer = |status: u16, location| Answer {
            status: http::StatusCode::from_u16(status).unwrap(),
            location,
            json: None,
            has_credential: true,
        };
        let ok = |u: &str| Verdict::Success { user: u.into() };
        // The probe decides.
        let a = answer(302, Some("/"));
        assert_eq!(
            judge(&l, &form, &a, Some(Some("a@x".into())), None),
            ok("a@x")
        );
        assert!(matches!(
            judge(&l, &form, &a, Some(None), Some("a@x")),
            Verdict::Failed { .. }
        ));
        assert!(matches!(
            judge(&l, &form, &a, Some(Some("admin@x".into())), Some("a@x")),
            Verdict::Failed { .. }
        ));
        // Without probe, a form login is never judged by its request user name unless opted in.
        assert!(matches!(
            judge(&l, &form, &a, None, Some("a@x")),
            Verdict::Failed { .. }
        ));
        l.trust_request_username = true;
        l.success_location = Some(crate::canon::Pattern::new("/*", false).unwrap());
        assert_eq!(judge(&l, &form, &a, None, Some("a@x")), ok("a@x"));
        for back in ["/login", "/Login/", "/login?error=1", "/login.html"] {
            let a = answer(302, Some(back));
            assert!(
                matches!(
                    judge(&l, &form, &a, None, Some("a@x")),
                    Verdict::Failed { .. }
                ),
                "{back}"
            );
        }
        let no_cred = Answer {
            has_credential: false,
            ..a
        };
        assert!(matches!(
            judge(&l, &form, &no_cred, Some(Some("a@x".into())), None),
            Verdict::Failed { .. }
        ));
        // A JSON answer naming the user.
        let json_route = l.routes[1].clone();
        let body = serde_json::json!({"data": {"user": {"email": "A@x"}}});
        let a = Answer {
            json: Some(&body),
            ..answer(200, None)
        };
        assert_eq!(judge(&l, &json_route, &a, None, Some("a@x")), ok("a@x"));
        let a = Answer {
            json: Some(&body),
            ..answer(401, None)
        };
        assert!(matches!(
            judge(&l, &json_route, &a, None, None),
            Verdict::Failed { .. }
        ));
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

    #[test]
    fn a_released_token_takes_the_dashboard_shape() {
        let t = "T1";
        assert_eq!(
            token_document(Some("/data/authentication_token"), t),
            serde_json::json!({"data": {"authentication_token": "T1"}})
        );
        assert_eq!(
            token_document(Some("/token"), t),
            serde_json::json!({"token": "T1"})
        );
        assert_eq!(
            token_document(Some("/a~1b/c~0d"), t),
            serde_json::json!({"a/b": {"c~d": "T1"}})
        );
        let fallback = serde_json::json!({"authentication_token": "T1"});
        assert_eq!(token_document(None, t), fallback);
        assert_eq!(token_document(Some("//x"), t), fallback);
    }

    #[test]
    fn an_absolute_return_url_on_the_public_origin_is_same_origin() {
        let on = |raw| safe_next_on(raw, "chat.test:8443");
        assert_eq!(on("https://chat.test:8443/inbox?x=1"), "/inbox?x=1");
        assert_eq!(on("HTTPS://Chat.Test:8443"), "/");
        assert_eq!(on("/inbox"), "/inbox");
        assert_eq!(on("https://chat.test:8443.evil.test/x"), "/");
        assert_eq!(on("https://chat.test:8443//evil.test/"), "/");
        assert_eq!(on("http://chat.test:8443/inbox"), "/");
        assert_eq!(on("https://other.test/inbox"), "/");
    }
}
