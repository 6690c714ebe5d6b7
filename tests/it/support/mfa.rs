//! Harness for MFA flows: the demo dashboard behind a gateway with `mfa = "required"`, and
//! helpers that act like a browser (cookie jar, forms, reading pages).

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use mfagate::gate::auth::Auth;
use mfagate::proxy::RunningGateway;

use super::{start_gateway, Pki};

/// The dashboard's login as `config/demo.toml` describes it.
pub const LOGIN_TOML: &str = r#"
[environments.login]
routes = [
  { method = "POST", path = "/login", format = "form" },
  { method = "POST", path = "/api/v1/auth", format = "json" },
]
session_cookies = ["dash_session"]
token_pointer = "/data/authentication_token"
username_field = "email"
username_request_pointer = "/email"
username_response_pointer = "/data/user/email"
login_page = "/login"
logout = { method = "POST", path = "/logout" }
probe = { path = "/api/v1/me", user_pointer = "/email" }
"#;

pub struct MfaEnv {
    pub pki: Pki,
    pub gw: RunningGateway,
    pub dashboard: SocketAddr,
}

/// Gateway TOML protecting `dashboard` on each of `hosts` (one environment per host, named
/// after the host's first label), MFA required, data in the PKI folder.
pub fn mfa_toml(pki: &Pki, dashboard: SocketAddr, hosts: &[&str]) -> String {
    mfa_toml_with(pki, dashboard, hosts, &Extra::default())
}

/// Additions to the test config: top-level tables, environment keys, login keys.
#[derive(Default, Clone, Copy)]
pub struct Extra<'a> {
    pub top: &'a str,
    pub env: &'a str,
    pub login: &'a str,
}

/// `[mail]` for the test SMTP sink, and email among the methods.
pub fn mail_extra(smtp_port: u16) -> (String, &'static str) {
    (
        format!(
            "[mail]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\n\
             from = \"Chat Security <security@chat.test>\"\ntimeout_secs = 5\n"
        ),
        "methods = [\"totp\", \"email\", \"backup\"]",
    )
}

/// The top of a gateway config (listeners, data, key) with `top` additions.
pub fn config_head(pki: &Pki, top: &str) -> String {
    if !pki.path("master.key").exists() {
        let key = base64::engine::general_purpose::STANDARD.encode([11u8; 32]);
        std::fs::write(pki.path("master.key"), key).unwrap();
    }
    // `top` comes first so plain keys stay top-level; its tables end at [secrets].
    format!(
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nworkers = 2\ndata_dir = \"data\"\n{top}\n\
         [secrets]\nkeys = [{{ file = \"master.key\" }}]\n"
    )
}

/// One environment named after the host's first label, in front of `dashboard`.
pub fn environment(
    pki: &Pki,
    dashboard: SocketAddr,
    host: &str,
    mfa: &str,
    env: &str,
    login: &str,
) -> String {
    let name = host.split('.').next().unwrap();
    pki.leaf(name, &[host]);
    format!(
        "\n[[environments]]\nname = \"{name}\"\ndisplay_name = \"{name} chat\"\nhosts = [\"{host}\"]\n\
         upstream = \"http://{dashboard}\"\nmfa = \"{mfa}\"\n{env}\n[environments.tls]\ncert = \"{name}.pem\"\n\
         key = \"{name}-key.pem\"\n{LOGIN_TOML}{login}\n"
    )
}

/// Like `mfa_toml`, with additions.
pub fn mfa_toml_with(
    pki: &Pki,
    dashboard: SocketAddr,
    hosts: &[&str],
    extra: &Extra<'_>,
) -> String {
    let mut toml = config_head(pki, extra.top);
    for host in hosts {
        toml.push_str(&environment(
            pki,
            dashboard,
            host,
            "required",
            extra.env,
            extra.login,
        ));
    }
    toml
}

impl MfaEnv {
    pub fn start() -> Self {
        Self::start_with(Extra::default())
    }

    /// With additions to the config.
    pub fn start_with(extra: Extra<'_>) -> Self {
        let pki = Pki::new();
        let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
        let toml = mfa_toml_with(&pki, dashboard, &["chat.test"], &extra);
        let gw = start_gateway(&pki, &toml);
        Self { pki, gw, dashboard }
    }

    /// Starts another gateway on the same data folder and keys (a restart).
    pub fn restart(self) -> Self {
        let Self { pki, gw, dashboard } = self;
        gw.shutdown();
        gw.join();
        let gw = start_gateway(&pki, &mfa_toml(&pki, dashboard, &["chat.test"]));
        Self { pki, gw, dashboard }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://chat.test:{}{path}", self.gw.https_addr.port())
    }

    /// A new browser: its own cookie jar, no automatic redirects.
    pub fn browser(&self) -> reqwest::Client {
        self.pki.client(&["chat.test"], self.gw.https_addr, false)
    }

    pub fn auth(&self) -> &Arc<Auth> {
        self.gw.auth.as_ref().expect("auth is configured")
    }

    /// The TOTP code for `secret` at the gateway's clock.
    pub fn code(&self, secret: &[u8]) -> String {
        mfagate::mfa::totp::code_at(secret, self.auth().clock.now())
    }

    /// Moves the gateway's clock to the next TOTP step (codes are accepted once per step).
    pub fn next_step(&self) {
        self.auth().clock.advance(30);
    }

    pub async fn get(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client.post(self.url(path)).form(form).send().await.unwrap()
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.post(
            client,
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Logs in with the form and enrolls TOTP through the pages. Returns the seed and the backup
    /// codes; the browser is left on the codes page (login not yet completed).
    pub async fn login_and_enroll(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> (Vec<u8>, Vec<String>, String) {
        let resp = self.login(client, email, password).await;
        assert_eq!(resp.status(), 303, "login intercepted");
        assert_eq!(location(&resp), "/.mfagate/");
        let resp = self.get(client, "/.mfagate/").await;
        assert_eq!(location(&resp), "/.mfagate/enroll");
        let page = self
            .get(client, "/.mfagate/enroll")
            .await
            .text()
            .await
            .unwrap();
        let key = between(&page, "<code id=\"setup-key\">", "</code>");
        let secret = mfagate::mfa::totp::parse_setup_key(&key).expect("setup key parses");
        let code = self.code(&secret);
        let resp = self
            .post(
                client,
                "/.mfagate/enroll",
                &[("code", &code), ("csrf", &csrf(&page))],
            )
            .await;
        assert_eq!(resp.status(), 200);
        let codes_page = resp.text().await.unwrap();
        let codes: Vec<String> = codes_page
            .split("<li><code>")
            .skip(1)
            .map(|s| s.split("</code>").next().unwrap().to_string())
            .collect();
        assert_eq!(codes.len(), 10, "{codes_page}");
        (secret, codes, codes_page)
    }

    /// Verifies with the authenticator on the verify page; returns the final response.
    pub async fn verify(&self, client: &reqwest::Client, code: &str) -> reqwest::Response {
        verify_at(client, &self.url(""), code).await
    }
}

/// A `Cookie` header with the gateway cookies `resp` set (session, device, sealed jar): what a
/// browser would send next. The dashboard's own cookies are never among them.
pub fn gateway_cookie_header(resp: &reqwest::Response) -> String {
    set_cookies(resp)
        .iter()
        .filter(|c| c.starts_with("__Host-mfagate") && !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The dashboard cookie (`name=value`) that `resp` stored in the gateway's sealed jar, opened
/// with the gateway's keys: what the gateway will add to this browser's requests.
pub fn sealed_dash_cookie(auth: &Auth, resp: &reqwest::Response) -> Option<String> {
    use mfagate::session::jar::{session_context, Jar};
    let cookies = set_cookies(resp);
    let value = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap()[name.len() + 1..].to_string())
    };
    let claims = mfagate::session::token::decode_session(
        &auth.keys,
        &value("__Host-mfagate")?,
        auth.clock.now(),
    )
    .ok()?;
    let sealed: String = (0..8)
        .map_while(|i| value(&format!("__Host-mfagate-jar{i}")))
        .collect();
    let jar = Jar::open(&auth.keys, &sealed, &session_context(&claims.sid))?;
    jar.lines()
        .into_iter()
        .find(|l| l.starts_with("dash_session="))
}

/// Asserts a response releases the dashboard session into the gateway's sealed jar, never
/// as a dashboard cookie.
pub fn assert_released_sealed(resp: &reqwest::Response) {
    let cookies = set_cookies(resp);
    assert!(
        !cookies
            .iter()
            .any(|c| c.starts_with("dash_session=") && !c.contains("Max-Age=0")),
        "the dashboard cookie never reaches the browser: {cookies:?}"
    );
    let jar = cookies
        .iter()
        .find(|c| c.starts_with("__Host-mfagate-jar0="))
        .unwrap_or_else(|| panic!("released into the jar: {cookies:?}"));
    for attr in ["Secure", "HttpOnly", "Path=/"] {
        assert!(jar.contains(attr), "{jar}");
    }
}

/// The activity log's events of `kind` (its `event` name), as JSON.
pub async fn audited(auth: &Auth, kind: &str) -> Vec<serde_json::Value> {
    let events = auth.activity(10_000).await;
    events
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .filter(|e| e["event"] == kind)
        .collect()
}

/// The text of the page at `url`, whatever its status.
pub async fn page(browser: &reqwest::Client, url: &str) -> String {
    let resp = browser.get(url).send().await.unwrap();
    resp.text().await.unwrap()
}

/// Enters an authenticator code on the verify page of the gateway at `base`.
pub async fn verify_at(browser: &reqwest::Client, base: &str, code: &str) -> reqwest::Response {
    let url = format!("{base}/.mfagate/verify");
    let page = page(browser, &url).await;
    let form = [("code", code), ("csrf", &csrf(&page))];
    browser.post(&url).form(&form).send().await.unwrap()
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// All `Set-Cookie` values of a response.
pub fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

pub fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in {text}"))
        + start.len();
    text[from..].split(end).next().unwrap().to_string()
}

/// The CSRF token of the (first) form on a page.
pub fn csrf(page: &str) -> String {
    between(page, "name=\"csrf\" value=\"", "\"")
}

/// An HTML attribute value as a browser reads it (the templates escape `/`, `&`, quotes).
pub fn html_unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Signs `browser` in at `base` (https://host:port) and enrolls TOTP through the pages, with
/// codes for Unix time `now`. Returns the seed and the response that released the session.
pub async fn enroll_at(
    browser: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
    now: u64,
) -> (Vec<u8>, reqwest::Response) {
    let login = browser
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&login),
        "/.mfagate/",
        "{email} at {base} must pass MFA"
    );
    enroll_pending_at(browser, base, now).await
}

/// Enrolls TOTP through the pages for the browser's pending login at `base`, with codes for
/// Unix time `now`. Returns the seed and the response that released the session.
pub async fn enroll_pending_at(
    browser: &reqwest::Client,
    base: &str,
    now: u64,
) -> (Vec<u8>, reqwest::Response) {
    let (secret, _, codes) = enroll_to_codes(browser, base, now).await;
    let released = browser
        .post(format!("{base}/.mfagate/continue"))
        .form(&[("csrf", csrf(&codes))])
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 303, "session released after enrollment");
    (secret, released)
}

/// Confirms a new authenticator on the enrolment page with a code for `now`: the seed, the
/// enrolment page and the backup-codes page that follows.
pub async fn enroll_to_codes(
    browser: &reqwest::Client,
    base: &str,
    now: u64,
) -> (Vec<u8>, String, String) {
    let page = page(browser, &format!("{base}/.mfagate/enroll")).await;
    let secret =
        mfagate::mfa::totp::parse_setup_key(&between(&page, "<code id=\"setup-key\">", "</code>"))
            .unwrap();
    let code = mfagate::mfa::totp::code_at(&secret, now);
    let codes = browser
        .post(format!("{base}/.mfagate/enroll"))
        .form(&[("code", code.as_str()), ("csrf", &csrf(&page))])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (secret, page, codes)
}

/// 20 parallel wrong codes: only 3 are evaluated (the third blocks), so 2 say "wrong code"
/// (422) and 18 say "blocked" (429), whatever instance they reached.
pub fn assert_twenty_wrong_codes_regulated(statuses: &[u16]) {
    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(count(422), 2, "{statuses:?}");
    assert_eq!(count(429), 18, "{statuses:?}");
}

/// Signs out through the gateway at `base` with the browser's cookies: the devices page's CSRF
/// token, then the logout form.
pub async fn logout_at(browser: &reqwest::Client, base: &str) -> reqwest::Response {
    let devices = page(browser, &format!("{base}/.mfagate/devices")).await;
    let form = [("csrf", csrf(&devices))];
    let url = format!("{base}/.mfagate/logout");
    browser.post(url).form(&form).send().await.unwrap()
}

/// Polls `status` until the session is refused (a redirect or 4xx) and returns how long that
/// took; fails the test (naming `what`) on a 5xx or when it is still 200 after `limit`.
pub async fn refused_within<F, Fut>(
    limit: std::time::Duration,
    what: &str,
    mut status: F,
) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let started = std::time::Instant::now();
    loop {
        match status().await {
            200 => {}
            // A failure is not a refusal: the session must be turned away, not the request.
            failed @ 500.. => panic!("{what}: answered {failed} instead of refusing"),
            _ => return started.elapsed(),
        }
        assert!(
            started.elapsed() < limit,
            "{what}: still accepted after {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
