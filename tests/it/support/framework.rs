//! A test dashboard that guards its sign-in and sign-out the way Django and Rails do, for
//! the logout, redirect and token-API tests. Both flavours keep sessions server-side, so a
//! logout really ends one and a test can ask whether it did.
//!
//! Django (`Flavour::Django`, as `django.contrib.auth` with `CsrfViewMiddleware`): cookies
//! `sessionid` and `csrftoken`; every unsafe request needs the `csrftoken` value back as the
//! `csrfmiddlewaretoken` field or the `X-CSRFToken` header, and an `Origin` (or, without one
//! on https, a `Referer`) on the origin it serves, else 403; `Host` must be allowed
//! (`ALLOWED_HOSTS`, else 400); a failed sign-in re-renders the form with 200; `GET` on the
//! logout is 405; the logout deletes `sessionid` and redirects.
//!
//! Rails (`Flavour::Rails`, as Devise with `protect_from_forgery` and `force_ssl`): a request
//! without `X-Forwarded-Proto: https` is redirected with 308; sessions live in a server-side
//! store under cookie `_app_session`, renewed at sign-in and sign-out; pages carry the token in
//! `<meta name="csrf-token">`; unsafe requests need it as `authenticity_token` or
//! `X-CSRF-Token` and an `Origin` equal to the base URL, else 422; redirects are absolute
//! (`redirect_to`), sign-in and sign-out answer 303; `DELETE /users/sign_out` resets the
//! session (a new anonymous cookie, not a deleted one). A token API (`/api/v1/sign_in`,
//! `DELETE /api/v1/sign_out` with `Authorization: Bearer`) needs no CSRF token.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{header, HeaderMap, Method, StatusCode};

pub const USER: (&str, &str) = ("agent@app.test", "agent-pass");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Django,
    Rails,
}

#[derive(Default, Clone)]
struct Session {
    user: Option<String>,
    csrf: String,
}

/// One answer the framework gave, for the tests' assertions.
#[derive(Debug, Clone)]
pub struct Answered {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
}

pub struct Framework {
    pub flavour: Flavour,
    /// `ALLOWED_HOSTS` (Django): the host names `Host` may carry.
    allowed_hosts: Vec<String>,
    sessions: Mutex<HashMap<String, Session>>,
    tokens: Mutex<HashMap<String, String>>,
    answered: Mutex<Vec<Answered>>,
    next: AtomicUsize,
}

impl Framework {
    /// Sessions (and API tokens) signed in as `user` right now.
    pub fn signed_in(&self, user: &str) -> usize {
        let sessions = self.sessions.lock().unwrap();
        let tokens = self.tokens.lock().unwrap();
        let in_session = sessions
            .values()
            .filter(|s| s.user.as_deref() == Some(user));
        in_session.count() + tokens.values().filter(|u| *u == user).count()
    }

    /// The answers given to `method path`.
    pub fn answered(&self, method: &str, path: &str) -> Vec<Answered> {
        let all = self.answered.lock().unwrap();
        all.iter()
            .filter(|a| a.method == method && a.path == path)
            .cloned()
            .collect()
    }

    fn new_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        format!("{n:04}{:016x}", rand::random::<u64>())
    }

    fn session_cookie(&self) -> &'static str {
        match self.flavour {
            Flavour::Django => "sessionid",
            Flavour::Rails => "_app_session",
        }
    }
}

/// Starts the framework on an ephemeral port; `allowed_hosts` as Django's setting.
pub async fn start(flavour: Flavour, allowed_hosts: &[&str]) -> (SocketAddr, Arc<Framework>) {
    let state = Arc::new(Framework {
        flavour,
        allowed_hosts: allowed_hosts.iter().map(|h| h.to_string()).collect(),
        sessions: Mutex::default(),
        tokens: Mutex::default(),
        answered: Mutex::default(),
        next: AtomicUsize::new(0),
    });
    let app = Router::new().fallback(handle).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, state)
}

/// A request as the framework reads it.
struct Incoming {
    method: Method,
    path: String,
    headers: HeaderMap,
    cookies: HashMap<String, String>,
    params: HashMap<String, String>,
    json: serde_json::Value,
}

impl Incoming {
    fn host(&self) -> String {
        let host = self.headers.get(header::HOST).and_then(|v| v.to_str().ok());
        host.unwrap_or("").to_string()
    }
    fn secure(&self) -> bool {
        self.header("x-forwarded-proto") == Some("https")
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }
    /// The base URL the framework thinks it serves (scheme from `X-Forwarded-Proto`).
    fn base_url(&self) -> String {
        let scheme = if self.secure() { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
    }
}

async fn handle(State(f): State<Arc<Framework>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let cookies = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.split_once('='))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let form = parts.headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .starts_with(b"application/x-www-form-urlencoded")
    });
    let mut params: HashMap<String, String> = match form {
        true => form_urlencoded::parse(&body).into_owned().collect(),
        false => HashMap::new(),
    };
    if let Some(q) = parts.uri.query() {
        params.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    let mut method = parts.method.clone();
    if let (true, Some(m)) = (method == Method::POST, params.get("_method")) {
        method = m.to_ascii_uppercase().parse().unwrap_or(Method::POST);
    }
    let incoming = Incoming {
        method,
        path: parts.uri.path().to_string(),
        headers: parts.headers.clone(),
        cookies,
        params,
        json: serde_json::from_slice(&body).unwrap_or_default(),
    };
    let resp = match f.flavour {
        Flavour::Django => django(&f, &incoming),
        Flavour::Rails => rails(&f, &incoming),
    };
    f.answered.lock().unwrap().push(Answered {
        method: parts.method,
        path: incoming.path.clone(),
        status: resp.status().as_u16(),
        headers: parts.headers,
    });
    resp
}

fn with_cookies(mut resp: Response, lines: &[String]) -> Response {
    for line in lines {
        resp.headers_mut()
            .append(header::SET_COOKIE, line.parse().unwrap());
    }
    resp
}

fn redirect(status: StatusCode, to: &str) -> Response {
    (status, [(header::LOCATION, to.to_string())]).into_response()
}

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    let ct = [(header::CONTENT_TYPE, "application/json")];
    (status, ct, v.to_string()).into_response()
}

fn html(body: String) -> Response {
    let ct = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    (StatusCode::OK, ct, body).into_response()
}

fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

// ----- Django -----

fn django(f: &Framework, r: &Incoming) -> Response {
    let host = r.host();
    let host_name = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
    if !f.allowed_hosts.iter().any(|h| h == host_name) {
        return (StatusCode::BAD_REQUEST, "DisallowedHost").into_response();
    }
    let csrf_cookie = r.cookies.get("csrftoken").cloned();
    let mut set = Vec::new();
    if unsafe_method(&r.method) && r.bearer().is_none() {
        if let Err(reason) = django_csrf(r, csrf_cookie.as_deref()) {
            return (
                StatusCode::FORBIDDEN,
                format!("CSRF verification failed: {reason}"),
            )
                .into_response();
        }
    }
    let sid = r.cookies.get("sessionid").cloned();
    let user = sid.as_ref().and_then(|id| {
        let sessions = f.sessions.lock().unwrap();
        sessions.get(id).and_then(|s| s.user.clone())
    });
    let csrf = csrf_cookie.unwrap_or_else(|| {
        let token = f.new_id();
        set.push(format!("csrftoken={token}; Path=/; SameSite=Lax"));
        token
    });
    let resp = match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/accounts/login/") => html(format!(
            "<form method=\"post\"><input type=\"hidden\" name=\"csrfmiddlewaretoken\" \
             value=\"{csrf}\"><input name=username><input name=password type=password></form>"
        )),
        ("POST", "/accounts/login/") => {
            let (u, p) = (r.params.get("username"), r.params.get("password"));
            if (u.map(String::as_str), p.map(String::as_str)) != (Some(USER.0), Some(USER.1)) {
                return with_cookies(html("<p>Please enter a correct username".into()), &set);
            }
            let id = f.new_id();
            let session = Session {
                user: Some(USER.0.into()),
                csrf: String::new(),
            };
            f.sessions.lock().unwrap().insert(id.clone(), session);
            if let Some(old) = sid {
                f.sessions.lock().unwrap().remove(&old);
            }
            // `login()` rotates the CSRF token.
            set.push(format!("csrftoken={}; Path=/; SameSite=Lax", f.new_id()));
            set.push(format!("sessionid={id}; HttpOnly; Path=/; SameSite=Lax"));
            let next = r.params.get("next").cloned().unwrap_or("/inbox/".into());
            redirect(StatusCode::FOUND, &next)
        }
        ("GET", "/accounts/logout/") => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        ("POST", "/accounts/logout/") => {
            if let Some(id) = sid {
                f.sessions.lock().unwrap().remove(&id);
            }
            set.push(
                "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/".into(),
            );
            redirect(StatusCode::FOUND, "/")
        }
        ("GET", "/api/me/") => match user {
            Some(u) => json(StatusCode::OK, serde_json::json!({ "username": u })),
            None => json(StatusCode::FORBIDDEN, serde_json::json!({"detail": "no"})),
        },
        _ => match user {
            Some(u) => html(format!("<h1>Inbox of {u}</h1><p>{}</p>", r.path)),
            None => {
                let next: String = form_urlencoded::byte_serialize(r.path.as_bytes()).collect();
                redirect(StatusCode::FOUND, &format!("/accounts/login/?next={next}"))
            }
        },
    };
    with_cookies(resp, &set)
}

/// `CsrfViewMiddleware.process_view`, in order: origin, then referer on https, then token.
fn django_csrf(r: &Incoming, cookie: Option<&str>) -> Result<(), &'static str> {
    let good_origin = r.base_url();
    match r.header("origin") {
        Some(origin) if origin != good_origin => return Err("Origin checking failed"),
        Some(_) => {}
        None if r.secure() => {
            let referer = r
                .header("referer")
                .ok_or("Referer checking failed - no Referer")?;
            if !referer.starts_with(&format!("{good_origin}/")) {
                return Err("Referer checking failed - does not match any trusted origins");
            }
        }
        None => {}
    }
    let cookie = cookie.ok_or("CSRF cookie not set")?;
    let sent = r.params.get("csrfmiddlewaretoken").map(String::as_str);
    let sent = sent.or(r.header("x-csrftoken"));
    match sent == Some(cookie) {
        true => Ok(()),
        false => Err("CSRF token incorrect"),
    }
}

// ----- Rails -----

fn rails(f: &Framework, r: &Incoming) -> Response {
    if !r.secure() {
        let to = format!("https://{}{}", r.host(), r.path);
        return redirect(StatusCode::PERMANENT_REDIRECT, &to);
    }
    if r.path.starts_with("/api/") {
        return rails_api(f, r);
    }
    let mut sessions = f.sessions.lock().unwrap();
    let old_id = r.cookies.get("_app_session").cloned();
    let mut session = old_id
        .as_ref()
        .and_then(|id| sessions.get(id).cloned())
        .unwrap_or_default();
    let before = session.clone();
    if unsafe_method(&r.method) {
        let origin_ok = r.header("origin").is_none_or(|o| o == r.base_url());
        let token = r.params.get("authenticity_token").map(String::as_str);
        let token = token.or(r.header("x-csrf-token"));
        if !origin_ok || session.csrf.is_empty() || token != Some(session.csrf.as_str()) {
            return (StatusCode::UNPROCESSABLE_ENTITY, "InvalidAuthenticityToken").into_response();
        }
    }
    let base = r.base_url();
    let resp = match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/users/sign_in") => {
            // Devise's `clean_up_csrf_token_on_authentication`: a new token after sign-in.
            let u = r.params.get("user[email]").map(String::as_str);
            let p = r.params.get("user[password]").map(String::as_str);
            if (u, p) != (Some(USER.0), Some(USER.1)) {
                let page = rails_page(&mut session, "Invalid Email or password.");
                (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
            } else {
                session = Session {
                    user: Some(USER.0.into()),
                    csrf: String::new(),
                };
                redirect(StatusCode::SEE_OTHER, &format!("{base}/inbox"))
            }
        }
        ("DELETE", "/users/sign_out") => {
            session = Session::default();
            redirect(StatusCode::SEE_OTHER, &format!("{base}/"))
        }
        ("GET", "/users/sign_in") => html(rails_page(&mut session, "Sign in")),
        ("GET", _) if session.user.is_some() => {
            let title = format!("Inbox of {}", session.user.clone().unwrap_or_default());
            html(rails_page(&mut session, &title))
        }
        _ => redirect(StatusCode::FOUND, &format!("{base}/users/sign_in")),
    };
    // A server-side session store: a new id (and cookie) for a new session, and at sign-in
    // and sign-out (Devise renews it against fixation); other changes keep the id.
    let mut set = Vec::new();
    let renewed = session.user != before.user;
    let id = match (&old_id, renewed) {
        (Some(id), false) if sessions.contains_key(id) => id.clone(),
        _ => {
            if let Some(old) = &old_id {
                sessions.remove(old);
            }
            let id = f.new_id();
            set.push(format!(
                "_app_session={id}; path=/; secure; httponly; samesite=lax"
            ));
            id
        }
    };
    sessions.insert(id, session);
    with_cookies(resp, &set)
}

/// A page of the app's layout: `csrf_meta_tags` (creating the session's token if needed).
fn rails_page(session: &mut Session, title: &str) -> String {
    if session.csrf.is_empty() {
        session.csrf = format!("{:032x}", rand::random::<u128>());
    }
    format!(
        "<html><head><meta name=\"csrf-param\" content=\"authenticity_token\" />\
         <meta name=\"csrf-token\" content=\"{}\" /></head><body><h1>{title}</h1></body></html>",
        session.csrf
    )
}

/// The API: a bearer token, or the browser's session.
fn rails_api(f: &Framework, r: &Incoming) -> Response {
    let by_token = r
        .bearer()
        .and_then(|t| f.tokens.lock().unwrap().get(t).cloned());
    let by_session = || {
        let id = r.cookies.get("_app_session")?;
        f.sessions.lock().unwrap().get(id)?.user.clone()
    };
    let user = by_token.or_else(by_session);
    match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/api/v1/sign_in") => {
            let (u, p) = (r.json["email"].as_str(), r.json["password"].as_str());
            if (u, p) != (Some(USER.0), Some(USER.1)) {
                return json(
                    StatusCode::UNAUTHORIZED,
                    serde_json::json!({"error": "invalid"}),
                );
            }
            let token = format!("tok{}", f.new_id());
            f.tokens
                .lock()
                .unwrap()
                .insert(token.clone(), USER.0.into());
            json(StatusCode::OK, serde_json::json!({ "token": token }))
        }
        ("DELETE", "/api/v1/sign_out") => match r.bearer() {
            Some(t) if f.tokens.lock().unwrap().remove(t).is_some() => {
                StatusCode::NO_CONTENT.into_response()
            }
            _ => json(StatusCode::UNAUTHORIZED, serde_json::json!({"error": "no"})),
        },
        ("GET", "/api/v1/me") => match user {
            Some(u) => json(StatusCode::OK, serde_json::json!({ "email": u })),
            None => json(StatusCode::UNAUTHORIZED, serde_json::json!({"error": "no"})),
        },
        _ => match user {
            Some(u) => json(
                StatusCode::OK,
                serde_json::json!({ "user": u, "path": r.path }),
            ),
            None => json(StatusCode::UNAUTHORIZED, serde_json::json!({"error": "no"})),
        },
    }
}

/// The gateway's login table for the Django flavour: the README's recipe.
pub const DJANGO_LOGIN: &str = r#"
[environments.login]
routes = [{ method = "POST", path = "/accounts/login/", format = "form" }]
session_cookies = ["sessionid"]
username_field = "username"
login_page = "/accounts/login/"
next_param = "next"
probe = { path = "/api/me/", user_pointer = "/username" }
[environments.login.logout]
method = "POST"
path = "/accounts/logout/"
csrf = { page = "/accounts/login/", from = "cookie:csrftoken", send = "field:csrfmiddlewaretoken" }
expect = { status = [200, 302], clears_cookie = "sessionid" }
"#;

/// The gateway's login table for the Rails flavour (Devise): the README's recipe.
pub const RAILS_LOGIN: &str = r#"
[environments.login]
routes = [{ method = "POST", path = "/users/sign_in", format = "form" }]
session_cookies = ["_app_session"]
username_field = "user[email]"
login_page = "/users/sign_in"
probe = { path = "/api/v1/me", user_pointer = "/email" }
[environments.login.logout]
method = "DELETE"
path = "/users/sign_out"
csrf = { page = "/", from = "meta:csrf-token", send = "header:X-CSRF-Token" }
expect = { status = [302, 303] }
"#;

/// The gateway's login table for the token API (mobile apps, SPAs) of the Rails flavour, on
/// its own host: the README's recipe.
pub const TOKEN_API_LOGIN: &str = r#"
[environments.login]
routes = [{ method = "POST", path = "/api/v1/sign_in", format = "json" }]
token_pointer = "/token"
username_request_pointer = "/email"
probe = { path = "/api/v1/me", user_pointer = "/email" }
[environments.login.logout]
method = "DELETE"
path = "/api/v1/sign_out"
expect = { status = [200, 204] }
"#;
