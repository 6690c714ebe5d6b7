//! `[environments.login]` as ops write it: the dashboard's login routes, how a successful
//! login shows who signed in (probe, answer pointers), and its logout (with CSRF).

use serde::Deserialize;

use super::super::defaults;

/// How the dashboard's own login looks, so the gateway can watch it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLogin {
    pub routes: Vec<FileLoginRoute>,
    /// Names of the dashboard's session cookies (withheld until MFA passes).
    #[serde(default)]
    pub session_cookies: Vec<String>,
    /// JSON pointer of the token in a JSON login response, e.g. "/data/authentication_token".
    pub token_pointer: Option<String>,
    /// Form field holding the user name in form logins.
    pub username_field: Option<String>,
    /// JSON pointer of the user name in JSON login requests.
    pub username_request_pointer: Option<String>,
    /// JSON pointer of the user name in the login response (preferred when available).
    pub username_response_pointer: Option<String>,
    /// The dashboard's login page, where a browser without a gateway session is sent.
    #[serde(default = "defaults::login_page")]
    pub login_page: String,
    /// "allow": requests without any credential pass to the dashboard (its login page and
    /// assets); "deny": only `public_paths` do, everything else needs a gateway session.
    #[serde(default = "defaults::anonymous")]
    pub anonymous: String,
    /// Paths reachable without a session when `anonymous = "deny"`: exact, or a prefix ending
    /// in `*` (e.g. "/static/*").
    #[serde(default)]
    pub public_paths: Vec<String>,
    /// The dashboard's logout endpoint, called with the withheld credential whenever a
    /// gateway session ends; the browser requesting it ends the gateway session too.
    pub logout: Option<FileLogout>,
    /// "Who am I" endpoint asked with the credential a login answer set: the positive signal
    /// of a successful login and the source of the user's identity (recommended).
    pub probe: Option<FileProbe>,
    /// Take the user name from the login request (`username_field`/`username_request_pointer`)
    /// when neither the probe nor the answer names the user. Weaker: opt in explicitly.
    #[serde(default)]
    pub trust_request_username: bool,
    /// With `trust_request_username`: a successful form login redirects here (pattern).
    pub success_location: Option<String>,
    #[serde(default = "defaults::max_login_body_bytes")]
    pub max_body_bytes: usize,
    /// The dashboard's name for the return-to parameter of its login page and login form.
    #[serde(default = "defaults::next_param")]
    pub next_param: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileProbe {
    /// Path of the endpoint, e.g. "/api/v1/me" (GET, with the dashboard's credential).
    pub path: String,
    /// JSON pointer of the user name in its 2xx answer, e.g. "/email".
    pub user_pointer: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLoginRoute {
    #[serde(default = "defaults::post")]
    pub method: String,
    pub path: String,
    /// "form" (urlencoded body, cookie session) or "json" (JSON body, token and/or cookie).
    #[serde(default = "defaults::form")]
    pub format: String,
}

/// The dashboard's sign-out, as a browser would perform it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLogout {
    #[serde(default = "defaults::post")]
    pub method: String,
    pub path: String,
    /// Accepted for configurations written when the logout shared the login route's shape;
    /// a logout sends no body of its own but the CSRF field.
    #[serde(default)]
    pub format: Option<String>,
    /// The CSRF token the dashboard wants with its logout (Django, Rails).
    pub csrf: Option<FileLogoutCsrf>,
    /// What a successful logout answer looks like.
    #[serde(default)]
    pub expect: FileLogoutExpect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLogoutCsrf {
    /// A page fetched first (GET, with the dashboard's credential) whose answer carries the
    /// token, e.g. "/accounts/login/" (Django) or "/" (Rails). Needed for `field:`/`meta:`.
    pub page: Option<String>,
    /// Where the token is read: "cookie:NAME", "field:NAME" (a hidden form input) or
    /// "meta:NAME" (a `<meta name=NAME content=..>` tag).
    pub from: String,
    /// How it is sent back: "field:NAME" (a form-encoded body) or "header:NAME".
    pub send: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLogoutExpect {
    /// Statuses that mean "signed out"; any 2xx or 3xx when empty.
    #[serde(default)]
    pub status: Vec<u16>,
    /// A cookie the answer must delete (empty value, `Max-Age=0` or an `Expires` in the past).
    pub clears_cookie: Option<String>,
}
