//! A small legacy chat dashboard, used by `mfagate demo` and the tests as the thing to protect.
//! It knows nothing about mfagate: its own users, its own login, its own session cookie.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Form, Json, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rand::RngCore;
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::web::escape;

/// The dashboard's own session cookie name.
pub const SESSION_COOKIE: &str = "dash_session";

/// The header the dashboard trusts for a chat widget's member: whoever sits in front of it
/// (the gateway, `verified_header` in the demo config) sets it once the member's hash
/// verified. The dashboard never checks a hash itself.
pub const MEMBER_VERIFIED_HEADER: &str = "x-mfagate-member-verified";

#[derive(Debug, Clone)]
pub struct DemoUser {
    pub email: &'static str,
    pub password: &'static str,
    pub role: &'static str,
    pub name: &'static str,
}

/// The demo accounts (printed by `mfagate demo`).
pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        email: "owner@demo.test",
        password: "owner-pass",
        role: "owner",
        name: "Olu Owner",
    },
    DemoUser {
        email: "admin@demo.test",
        password: "admin-pass",
        role: "admin",
        name: "Ada Admin",
    },
    DemoUser {
        email: "supervisor@demo.test",
        password: "supervisor-pass",
        role: "supervisor",
        name: "Sam Supervisor",
    },
    DemoUser {
        email: "agent1@demo.test",
        password: "agent1-pass",
        role: "agent",
        name: "Alex Agent",
    },
    DemoUser {
        email: "agent2@demo.test",
        password: "agent2-pass",
        role: "agent",
        name: "Bo Agent",
    },
];

/// A session of the dashboard: anonymous until a login (like Express or Rails, the login
/// page starts one, and a failed login leaves a flash message in it).
#[derive(Default)]
struct DemoSession {
    user: Option<&'static str>,
    flash: Option<&'static str>,
}

struct Dashboard {
    /// Session token (cookie value or API token) → session.
    sessions: Mutex<HashMap<String, DemoSession>>,
    chat: broadcast::Sender<String>,
}

type Shared = Arc<Dashboard>;

pub fn router() -> Router {
    let state = Arc::new(Dashboard {
        sessions: Mutex::new(HashMap::new()),
        chat: broadcast::channel(256).0,
    });
    Router::new()
        .route("/", get(inbox))
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout))
        .route("/api/v1/auth", post(login_api))
        .route("/api/v1/me", get(me))
        .route("/api/v1/poll", get(poll))
        .route("/api/widget/boot", post(widget_boot))
        .route("/settings/webhooks", get(settings_page))
        .route("/settings/billing", get(settings_page))
        .route(
            "/settings/profile/email",
            get(settings_page).post(change_email),
        )
        .route("/ws", get(chat_socket))
        .route("/static/app.css", get(stylesheet))
        .with_state(state)
}

impl Dashboard {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, DemoSession>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start_session(&self, user: Option<&'static str>) -> String {
        let mut raw = [0u8; 24];
        rand::rng().fill_bytes(&mut raw);
        let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let session = DemoSession { user, flash: None };
        self.sessions().insert(token.clone(), session);
        token
    }

    /// The browser's session id, if the dashboard knows it.
    fn session_id(&self, headers: &HeaderMap) -> Option<String> {
        cookie(headers, SESSION_COOKIE).filter(|t| self.sessions().contains_key(t))
    }

    /// The signed-in user from the session cookie or a bearer token.
    fn user(&self, headers: &HeaderMap) -> Option<&'static DemoUser> {
        let token = bearer(headers).or_else(|| cookie(headers, SESSION_COOKIE))?;
        let email = self.sessions().get(&token)?.user?;
        DEMO_USERS.iter().find(|u| u.email == email)
    }
}

/// Legacy apps answer 302 Found (not 303) when a session is missing.
fn to_login() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "/login")]).into_response()
}

fn check_password(email: &str, password: &str) -> Option<&'static DemoUser> {
    DEMO_USERS
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(email.trim()) && u.password == password)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Demo Chat</title>\
         <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><header>Demo Chat Dashboard</header>\
         <main>{body}</main></body></html>",
        title = escape(title)
    ))
}

const LOGIN_FORM: &str = "<form method=\"post\" action=\"/login\">\
    <label>Email <input name=\"email\" type=\"email\" autocomplete=\"username\" required></label>\
    <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
    <button type=\"submit\">Sign in</button></form>";

fn session_cookie(token: &str) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax")
}

/// The login page starts an anonymous session on the first visit and shows its flash.
async fn login_page(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let existing = s.session_id(&headers);
    let token = existing.clone().unwrap_or_else(|| s.start_session(None));
    let flash = s
        .sessions()
        .get_mut(&token)
        .and_then(|session| session.flash.take())
        .map(|f| format!("<p class=\"error\">{f}</p>"))
        .unwrap_or_default();
    let mut resp = page("Sign in", &format!("<h1>Sign in</h1>{flash}{LOGIN_FORM}")).into_response();
    if existing.is_none() {
        if let Ok(v) = session_cookie(&token).parse() {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    resp
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

/// A wrong password leaves a flash in the (anonymous) session and redirects back to the
/// login page, re-sending the cookie, as Express does; a right one starts a new session.
async fn login_form(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let previous = s.session_id(&headers);
    let Some(user) = check_password(&c.email, &c.password) else {
        let token = previous.unwrap_or_else(|| s.start_session(None));
        if let Some(session) = s.sessions().get_mut(&token) {
            session.flash = Some("Wrong email or password.");
        }
        return found("/login", &token);
    };
    if let Some(old) = previous {
        s.sessions().remove(&old);
    }
    found("/", &s.start_session(Some(user.email)))
}

fn found(to: &str, token: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (header::SET_COOKIE, session_cookie(token)),
            (header::LOCATION, to.to_string()),
        ],
    )
        .into_response()
}

async fn login_api(State(s): State<Shared>, Json(c): Json<Credentials>) -> Response {
    let Some(user) = check_password(&c.email, &c.password) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"errors": ["Invalid login credentials"]})),
        )
            .into_response();
    };
    let token = s.start_session(Some(user.email));
    Json(serde_json::json!({
        "data": {
            "authentication_token": token,
            "user": {"email": user.email, "name": user.name, "role": user.role}
        }
    }))
    .into_response()
}

async fn logout(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let api = bearer(&headers);
    if let Some(token) = api.clone().or_else(|| cookie(&headers, SESSION_COOKIE)) {
        s.sessions().remove(&token);
    }
    if api.is_some() {
        return Json(serde_json::json!({"ok": true})).into_response();
    }
    (
        StatusCode::FOUND,
        [
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Max-Age=0"),
            ),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

async fn inbox(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let Some(user) = s.user(&headers) else {
        return to_login();
    };
    page(
        "Inbox",
        &format!(
            "<h1>Inbox</h1><p>Signed in as <b id=\"me\">{}</b> ({})</p>\
             <nav><a href=\"/settings/webhooks\">Webhooks</a> · <a href=\"/settings/billing\">Billing</a> · \
             <a href=\"/settings/profile/email\">Email</a></nav>\
             <section><h2>Team chat</h2><ul id=\"log\"></ul>\
             <form id=\"chat\"><input id=\"msg\" aria-label=\"Message\" autocomplete=\"off\"><button>Send</button></form></section>\
             <form method=\"post\" action=\"/logout\"><button>Sign out</button></form>\
             <script>const ws=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/ws');\
             ws.onmessage=e=>{{const li=document.createElement('li');li.textContent=e.data;document.getElementById('log').append(li)}};\
             document.getElementById('chat').onsubmit=e=>{{e.preventDefault();const m=document.getElementById('msg');ws.send(m.value);m.value=''}};</script>",
            escape(user.email),
            escape(user.role)
        ),
    )
    .into_response()
}

async fn me(State(s): State<Shared>, headers: HeaderMap) -> Response {
    match s.user(&headers) {
        Some(u) => Json(serde_json::json!({"email": u.email, "name": u.name, "role": u.role}))
            .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"errors": ["Unauthorized"]})),
        )
            .into_response(),
    }
}

/// Long poll for chat messages (the transport socket.io falls back to): answers with the next
/// message, or with none after 25 s.
async fn poll(State(s): State<Shared>, headers: HeaderMap) -> Response {
    if s.user(&headers).is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"errors": ["Unauthorized"]})),
        )
            .into_response();
    }
    let mut feed = s.chat.subscribe();
    let next = tokio::time::timeout(std::time::Duration::from_secs(25), feed.recv()).await;
    let messages: Vec<String> = next.ok().and_then(Result::ok).into_iter().collect();
    Json(serde_json::json!({ "messages": messages })).into_response()
}

async fn settings_page(
    State(s): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let Some(user) = s.user(&headers) else {
        return to_login();
    };
    let section = uri.path().rsplit('/').next().unwrap_or("settings");
    page(
        section,
        &format!(
            "<h1>Settings: {}</h1><p>Only {} can see this page.</p><a href=\"/\">Back to inbox</a>",
            escape(section),
            escape(user.email)
        ),
    )
    .into_response()
}

#[derive(Deserialize)]
struct EmailChange {
    email: String,
}

async fn change_email(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(change): Form<EmailChange>,
) -> Response {
    if s.user(&headers).is_none() {
        return to_login();
    }
    page(
        "email",
        &format!(
            "<p>Email change to {} requested.</p>",
            escape(&change.email)
        ),
    )
    .into_response()
}

async fn chat_socket(
    State(s): State<Shared>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(user) = s.user(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    upgrade.on_upgrade(move |socket| chat(socket, s, user.email))
}

/// Echo + broadcast: every message is sent to every connected client, the sender included.
async fn chat(mut socket: WebSocket, s: Shared, email: &'static str) {
    let mut feed = s.chat.subscribe();
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let _ = s.chat.send(format!("{email}: {}", text.as_str()));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            line = feed.recv() => match line {
                Ok(line) => {
                    if socket.send(Message::Text(line.into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

/// The chat widget's boot call: answers which member the dashboard takes the visitor for
/// (only the verified header counts) and, for comparison, the id the body claims.
async fn widget_boot(headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let verified = headers
        .get(MEMBER_VERIFIED_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let claimed = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|b| b.get("memberId").cloned());
    Json(serde_json::json!({
        "verified": verified.is_some(),
        "member_id": verified,
        "claimed_member_id": claimed,
    }))
    .into_response()
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css")],
        "body{font-family:system-ui,sans-serif;margin:0}header{background:#243b53;color:#fff;padding:.8rem 1rem}\
         main{max-width:40rem;margin:2rem auto;padding:0 1rem}label{display:block;margin:.5rem 0}\
         .error{color:#b42318}",
    )
        .into_response()
}
