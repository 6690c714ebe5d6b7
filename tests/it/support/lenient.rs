//! A test dashboard that routes and parses requests as leniently as common web frameworks do:
//! case-insensitive routes, optional trailing slash and format suffix (`/login.json`), `;params`
//! dropped and `..;` resolved (Tomcat), Java/.NET-style case folding and NFKC, percent-decoded
//! paths, cookie names trimmed and PHP-rewritten, `;` and `,` separators, and a session found
//! under ANY occurrence of its cookie. It keeps anonymous pre-login sessions (CSRF secret,
//! flash), answers a wrong password with `302 /login` plus `Set-Cookie` (as Express does), can
//! keep the session id at login, has a who-am-I endpoint, a long poll and an SSE stream, and
//! adds any `Set-Cookie` line a test asks for (`?set-cookie=`). Every request it receives is
//! recorded, so tests assert what reached it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{header, HeaderMap, StatusCode};

pub const COOKIE: &str = "app_session";
pub const USERS: &[(&str, &str)] = &[
    ("agent@lenient.test", "agent-pass"),
    ("admin@lenient.test", "admin-pass"),
];

/// One request as the dashboard saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The route after lenient folding (`/settings/billing`).
    pub route: String,
    pub raw_path: String,
    pub cookie: String,
    /// Who the dashboard took the request for.
    pub user: Option<String>,
    pub headers: HeaderMap,
}

#[derive(Default)]
struct Session {
    user: Option<String>,
    csrf: String,
    flash: Option<String>,
}

#[derive(Default)]
pub struct Lenient {
    sessions: Mutex<HashMap<String, Session>>,
    tokens: Mutex<HashMap<String, String>>,
    seen: Mutex<Vec<Seen>>,
    /// Keep the session id at login (PHP-style), instead of issuing a new one.
    pub keep_id_at_login: AtomicBool,
    /// Refuse form logins whose CSRF token does not match the session's.
    pub check_csrf: AtomicBool,
    /// Events an SSE stream delivered.
    pub sse_events: AtomicUsize,
    next: AtomicUsize,
}

impl Lenient {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The requests that reached `route` (folded form).
    pub fn seen_at(&self, route: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.route == route)
            .collect()
    }

    pub fn clear_seen(&self) {
        self.seen.lock().unwrap().clear();
    }

    /// A session id of the dashboard signed in as `user`, obtained directly (a "stolen" one).
    pub fn direct_session(&self, user: &str) -> String {
        let id = self.new_id();
        self.sessions.lock().unwrap().insert(
            id.clone(),
            Session {
                user: Some(user.into()),
                ..Session::default()
            },
        );
        id
    }

    /// A token of the dashboard for `user`, obtained directly.
    pub fn direct_token(&self, user: &str) -> String {
        let t = format!("tok-{}", self.new_id());
        self.tokens.lock().unwrap().insert(t.clone(), user.into());
        t
    }

    fn new_id(&self) -> String {
        format!(
            "s{:08}x{}",
            self.next.fetch_add(1, Ordering::SeqCst),
            rand_suffix()
        )
    }

    /// Every value any framework would read as the session cookie, in order.
    pub fn cookie_values(headers: &HeaderMap) -> Vec<String> {
        let mut out = Vec::new();
        for line in headers.get_all(header::COOKIE) {
            let text = String::from_utf8_lossy(line.as_bytes()).into_owned();
            for piece in text.split([';', ',']) {
                let (name, value) = piece.split_once('=').unwrap_or(("", piece));
                let name: String = percent_encoding::percent_decode_str(name.trim())
                    .decode_utf8_lossy()
                    .trim()
                    .to_ascii_lowercase()
                    .replace(['.', ' ', '['], "_");
                let name = name.split('[').next().unwrap_or("").to_string();
                let value = value.trim().trim_matches('"').to_string();
                if name == COOKIE || name.starts_with(&format!("{COOKIE}_")) {
                    out.push(value);
                }
            }
        }
        out
    }

    /// The session a request carries under any spelling and occurrence.
    fn session_id(&self, headers: &HeaderMap) -> Option<String> {
        let sessions = self.sessions.lock().unwrap();
        Self::cookie_values(headers)
            .into_iter()
            .find(|v| sessions.contains_key(v))
    }

    fn user(&self, headers: &HeaderMap) -> Option<String> {
        if let Some(auth) = headers.get(header::AUTHORIZATION) {
            let t = String::from_utf8_lossy(auth.as_bytes());
            let t = t.trim().split_once(' ').map(|(_, t)| t.trim().to_string());
            if let Some(u) = t.and_then(|t| self.tokens.lock().unwrap().get(&t).cloned()) {
                return Some(u);
            }
        }
        let sid = self.session_id(headers)?;
        self.sessions.lock().unwrap().get(&sid)?.user.clone()
    }
}

fn rand_suffix() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The route as a lenient framework reads the path.
pub fn fold(raw: &str) -> String {
    use icu_normalizer::ComposingNormalizerBorrowed;
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let nfkc = ComposingNormalizerBorrowed::new_nfkc().normalize(&decoded);
    // Java's equalsIgnoreCase: upper, then lower.
    let folded: String = nfkc.to_uppercase().to_lowercase();
    let mut out: Vec<&str> = Vec::new();
    for seg in folded.split('/') {
        match seg.split(';').next().unwrap_or("") {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut path = format!("/{}", out.join("/"));
    for suffix in [".json", ".html", ".xml"] {
        if let Some(p) = path.strip_suffix(suffix) {
            path = p.to_string();
        }
    }
    path
}

/// Starts the lenient dashboard on an ephemeral port of the current runtime.
pub async fn start() -> (SocketAddr, Arc<Lenient>) {
    let state = Arc::new(Lenient::default());
    let app = Router::new().fallback(handle).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, state)
}

fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax")
}

async fn handle(State(s): State<Arc<Lenient>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let route = fold(parts.uri.path());
    let method = parts.method.as_str().to_ascii_uppercase();
    let user = s.user(&parts.headers);
    s.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        route: route.clone(),
        raw_path: parts.uri.path().to_string(),
        cookie: parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(" | "),
        user: user.clone(),
        headers: parts.headers.clone(),
    });
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut resp = match (method.as_str(), route.as_str()) {
        ("GET", "/login") => login_page(&s, &parts.headers),
        ("POST", "/login") => login_form(&s, &parts.headers, &query, &body),
        ("POST", "/api/auth") | ("POST", "/api/v2/login") => login_api(&s, &body),
        ("POST", "/logout") => logout(&s, &parts.headers),
        ("GET", "/api/me") => match &user {
            Some(u) => json(StatusCode::OK, serde_json::json!({ "user": u })),
            None => json(StatusCode::UNAUTHORIZED, serde_json::json!({"error": "no"})),
        },
        ("GET", "/poll") if user.is_some() => long_poll().await,
        ("GET", "/sse") if user.is_some() => sse(s.clone()),
        (_, "/public/info") | (_, "/static/app.css") => {
            json(StatusCode::OK, serde_json::json!({"public": true}))
        }
        _ => match &user {
            Some(u) => json(
                StatusCode::OK,
                serde_json::json!({ "user": u, "route": route }),
            ),
            None => found("/login"),
        },
    };
    if let Some(line) = query.get("set-cookie") {
        resp.headers_mut()
            .append(header::SET_COOKIE, line.parse().unwrap());
    }
    resp
}

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn found(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

/// The login page: starts an anonymous session holding a CSRF secret (Express, Rails).
fn login_page(s: &Lenient, headers: &HeaderMap) -> Response {
    let mut sessions = s.sessions.lock().unwrap();
    let existing = Lenient::cookie_values(headers)
        .into_iter()
        .find(|v| sessions.contains_key(v));
    let (id, new) = match existing {
        Some(id) => (id, false),
        None => (s.new_id(), true),
    };
    let session = sessions.entry(id.clone()).or_default();
    if session.csrf.is_empty() {
        session.csrf = rand_suffix();
    }
    let flash = session.flash.take().unwrap_or_default();
    let body = format!(
        "<form method=post action=/login><input name=csrf value=\"{}\"><p class=flash>{flash}</p></form>",
        session.csrf
    );
    let mut resp = (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], body).into_response();
    if new {
        resp.headers_mut()
            .append(header::SET_COOKIE, set_cookie(&id).parse().unwrap());
    }
    resp
}

/// A form login; query parameters override body parameters (Rails).
fn login_form(
    s: &Lenient,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: &Bytes,
) -> Response {
    let mut params: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    params.extend(query.clone());
    let sid = s.session_id(headers);
    let mut sessions = s.sessions.lock().unwrap();
    if s.check_csrf.load(Ordering::SeqCst) {
        let ok = sid
            .as_ref()
            .and_then(|id| sessions.get(id))
            .is_some_and(|sess| !sess.csrf.is_empty() && params.get("csrf") == Some(&sess.csrf));
        if !ok {
            return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
        }
    }
    let email = params.get("email").cloned().unwrap_or_default();
    let password = params.get("password").cloned().unwrap_or_default();
    let good = USERS.iter().any(|(u, p)| *u == email && *p == password);
    let id = sid.unwrap_or_else(|| s.new_id());
    if !good {
        // Express: a flash in the session, a redirect back, and the cookie sent again.
        sessions.entry(id.clone()).or_default().flash = Some("Wrong email or password".into());
        let mut resp = found("/login");
        resp.headers_mut()
            .append(header::SET_COOKIE, set_cookie(&id).parse().unwrap());
        return resp;
    }
    let id = if s.keep_id_at_login.load(Ordering::SeqCst) {
        id
    } else {
        sessions.remove(&id);
        s.new_id()
    };
    sessions.entry(id.clone()).or_default().user = Some(email);
    let mut resp = found("/");
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&id).parse().unwrap());
    resp
}

/// Ends the session the cookie names (in any spelling the router accepts) and clears it.
fn logout(s: &Lenient, headers: &HeaderMap) -> Response {
    if let Some(id) = s.session_id(headers) {
        s.sessions.lock().unwrap().remove(&id);
    }
    let mut resp = found("/login");
    let cleared = format!("{COOKIE}=; Path=/; Max-Age=0");
    resp.headers_mut()
        .append(header::SET_COOKIE, cleared.parse().unwrap());
    resp
}

fn login_api(s: &Lenient, body: &Bytes) -> Response {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let email = v["email"].as_str().unwrap_or("");
    let password = v["password"].as_str().unwrap_or("");
    if !USERS.iter().any(|(u, p)| *u == email && *p == password) {
        return json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "invalid"}),
        );
    }
    let token = s.direct_token(email);
    let id = s.direct_session(email);
    let mut resp = json(
        StatusCode::OK,
        serde_json::json!({"data": {"authentication_token": token, "user": {"email": email}}}),
    );
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&id).parse().unwrap());
    resp
}

async fn long_poll() -> Response {
    tokio::time::sleep(Duration::from_secs(20)).await;
    json(StatusCode::OK, serde_json::json!({"event": "late"}))
}

fn sse(s: Arc<Lenient>) -> Response {
    let stream = futures_util::stream::unfold(0u32, move |n| {
        let s = s.clone();
        async move {
            if n >= 400 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            s.sse_events.fetch_add(1, Ordering::SeqCst);
            Some((
                Ok::<_, std::io::Error>(Bytes::from(format!("data: {n}\n\n"))),
                n + 1,
            ))
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// The gateway's login table for this dashboard.
pub const LOGIN_TOML: &str = r#"
[environments.login]
routes = [
  { method = "POST", path = "/login", format = "form" },
  { method = "POST", path = "/api/auth", format = "json" },
]
session_cookies = ["app_session"]
token_pointer = "/data/authentication_token"
username_field = "email"
username_request_pointer = "/email"
login_page = "/login"
logout = { method = "POST", path = "/logout" }
probe = { path = "/api/me", user_pointer = "/user" }
"#;
