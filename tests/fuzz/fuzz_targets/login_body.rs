//! Reading the user name of a watched login from any query string and body: never a panic,
//! and a name read is already normalized.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mfagate::canon::Pattern;
use mfagate::config::{LoginConfig, LoginFormat, LoginRoute};
use mfagate::gate::login_intercept::username_from_request;

fn login() -> LoginConfig {
    let pattern = |p| Pattern::new(p, false).unwrap();
    LoginConfig {
        routes: vec![],
        session_cookies: vec!["dash_session".into()],
        token_pointer: None,
        username_field: Some("email".into()),
        username_request_pointer: Some("/user/email".into()),
        username_response_pointer: None,
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

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|b| *b == 0) {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let login = login();
    for (format, ct) in [
        (LoginFormat::Form, "application/x-www-form-urlencoded"),
        (LoginFormat::Json, "application/json"),
    ] {
        let route = LoginRoute {
            method: http::Method::POST,
            path: "/login".into(),
            pattern: Pattern::new("/login", false).unwrap(),
            format,
        };
        if let Ok(Some(user)) = username_from_request(&route, &login, query, ct, body) {
            assert_eq!(user, user.trim().to_lowercase());
        }
    }
});
