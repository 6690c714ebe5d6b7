//! Every known way around the second factor, tried as a hostile client would against a
//! dashboard that routes and parses as leniently as common frameworks do
//! (`crate::support::lenient`). Each test asserts what reached the dashboard, not only what the
//! client was told.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::lenient::{self, Lenient};
use crate::support::mfa::{config_head, enroll_at, gateway_cookie_header, location, set_cookies};
use crate::support::{raw_status, start_gateway, Pki};
use mfagate::proxy::RunningGateway;

const AGENT: (&str, &str) = ("agent@lenient.test", "agent-pass");
const ADMIN: (&str, &str) = ("admin@lenient.test", "admin-pass");

struct Lab {
    pki: Pki,
    gw: RunningGateway,
    dash: Arc<Lenient>,
}

impl Lab {
    async fn start(extra_env: &str) -> Self {
        let pki = Pki::new();
        let (addr, dash) = lenient::start().await;
        pki.leaf("app", &["app.test"]);
        let mut toml = config_head(&pki, "");
        toml.push_str(&format!(
            "[[users]]\nidentity = \"{}\"\nrole = \"admin\"\nenvironments = [\"app\"]\n\
             \n[[environments]]\nname = \"app\"\nhosts = [\"app.test\"]\nupstream = \"http://{addr}\"\n\
             mfa = \"required\"\nsensitive_paths = [\"/settings/billing\"]\n{extra_env}\n\
             [[environments.rules]]\nroles = [\"agent\"]\npaths = [\"/settings/profile/email*\"]\n\
             methods = [\"PUT\"]\naction = \"deny\"\n\
             [environments.tls]\ncert = \"app.pem\"\nkey = \"app-key.pem\"\n{}",
            ADMIN.0,
            lenient::LOGIN_TOML
        ));
        let gw = start_gateway(&pki, &toml);
        Self { pki, gw, dash }
    }

    fn url(&self, path: &str) -> String {
        format!("https://app.test:{}{path}", self.gw.https_addr.port())
    }

    fn browser(&self) -> reqwest::Client {
        self.pki.client(&["app.test"], self.gw.https_addr, false)
    }

    fn auth(&self) -> &mfagate::gate::auth::Auth {
        self.gw.auth.as_ref().unwrap()
    }

    /// A browser signed in as the agent (password, then TOTP enrollment), and the cookies the
    /// gateway gave it.
    async fn signed_in_agent(&self) -> (reqwest::Client, String) {
        let browser = self.browser();
        let now = self.auth().clock.now();
        let (_, released) = enroll_at(&browser, &self.url(""), AGENT.0, AGENT.1, now).await;
        let cookies = gateway_cookie_header(&released);
        (browser, cookies)
    }

    async fn raw(&self, request: &str) -> String {
        self.pki
            .raw_http1(self.gw.https_addr, "app.test", request)
            .await
    }

    fn audited(&self, events: &[mfagate::audit::AuditEvent], kind: &str) -> usize {
        events
            .iter()
            .filter(|e| serde_json::to_string(&e.kind).unwrap().contains(kind))
            .count()
    }
}

/// Whether a response sets a cookie line starting with `prefix`.
fn sets(resp: &reqwest::Response, prefix: &str) -> bool {
    set_cookies(resp).iter().any(|c| c.starts_with(prefix))
}

/// What a response told the browser to store: never the dashboard's cookie.
fn assert_no_dashboard_cookie(resp: &reqwest::Response, what: &str) {
    let leaked: Vec<String> = set_cookies(resp)
        .into_iter()
        .filter(|c| c.to_ascii_lowercase().contains("app_session=") && !c.contains("Max-Age=0"))
        .collect();
    assert!(
        leaked.is_empty(),
        "{what}: dashboard cookie leaked {leaked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_routes_are_watched_in_every_spelling_a_router_accepts() {
    let lab = Lab::start("").await;
    for path in [
        "/login",
        "/Login",
        "/LOGIN/",
        "/login/.",
        "/login;jsessionid=1",
        "/login.json",
        "/login.html",
        "/%4Cogin",
        "//login",
    ] {
        let resp = lab
            .browser()
            .post(lab.url(path))
            .form(&[("email", AGENT.0), ("password", AGENT.1)])
            .send()
            .await
            .unwrap();
        assert_no_dashboard_cookie(&resp, path);
        assert_eq!(location(&resp), "/.mfagate/", "{path}: intercepted for MFA");
    }
    for path in ["/API/auth", "/api/auth/", "/api/auth.json"] {
        let resp = lab
            .browser()
            .post(lab.url(path))
            .json(&serde_json::json!({"email": AGENT.0, "password": AGENT.1}))
            .send()
            .await
            .unwrap();
        assert_no_dashboard_cookie(&resp, path);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(
            body["data"]["authentication_token"],
            serde_json::Value::Null,
            "{path}"
        );
        assert_eq!(body["mfa_required"], true, "{path}");
    }
    // A method a router would compare without regard to case is refused, not guessed.
    let resp = lab
        .raw("post /login HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 45\r\nConnection: close\r\n\r\nemail=agent%40lenient.test&password=agent-pass")
        .await;
    assert_eq!(raw_status(&resp), 400, "{resp}");
    assert!(!resp.to_ascii_lowercase().contains("app_session="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spelling_of_a_stolen_cookie_reaches_the_dashboard() {
    let lab = Lab::start("").await;
    let stolen = lab.dash.direct_session(ADMIN.0);
    let variants: Vec<Vec<u8>> = [
        "app_session={S}",
        "app_session ={S}",
        "app_session\t={S}",
        "app_session=; app_session={S}",
        "x=1, app_session={S}",
        "APP_SESSION={S}",
        "app.session={S}",
        "app session={S}",
        "app%5Fsession={S}",
        "app_session=\"{S}\"",
        "app_session[x]={S}",
        "=app_session={S}",
    ]
    .iter()
    .map(|v| v.replace("{S}", &stolen).into_bytes())
    .chain([[b"lang=\xc3\xa9; app_session=".as_slice(), stolen.as_bytes()].concat()])
    .collect();
    let (agent, agent_cookies) = lab.signed_in_agent().await;
    for (i, cookie) in variants.iter().enumerate() {
        let what = String::from_utf8_lossy(cookie).into_owned();
        for with_session in [false, true] {
            lab.dash.clear_seen();
            let mut header = cookie.clone();
            if with_session {
                header = [agent_cookies.as_bytes(), b"; ", cookie].concat();
            }
            let client = if with_session {
                &agent
            } else {
                &lab.pki.client(&["app.test"], lab.gw.https_addr, false)
            };
            let resp = client
                .get(lab.url(&format!("/inbox?n={i}")))
                .header(
                    "cookie",
                    reqwest::header::HeaderValue::from_bytes(&header).unwrap(),
                )
                .send()
                .await
                .unwrap();
            let seen = lab.dash.seen_at("/inbox");
            assert_eq!(seen.len(), 1, "{what}");
            assert!(
                !seen[0].cookie.contains(&stolen),
                "{what}: stolen value forwarded: {}",
                seen[0].cookie
            );
            let want = with_session.then_some(AGENT.0.to_string());
            assert_eq!(seen[0].user, want, "{what} (with session: {with_session})");
            assert!(
                sets(&resp, "app_session=;"),
                "{what}: the loose cookie is cleared in the browser"
            );
        }
    }
    // A bearer token that is not the one released to this session is refused.
    lab.dash.clear_seen();
    let token = lab.dash.direct_token(ADMIN.0);
    let resp = agent
        .get(lab.url("/inbox"))
        .bearer_auth(&token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(lab.dash.seen_at("/inbox").is_empty(), "never forwarded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_cannot_set_dashboard_or_gateway_cookies_outside_a_session() {
    let lab = Lab::start("").await;
    let stolen = lab.dash.direct_session(ADMIN.0);
    let (agent, _) = lab.signed_in_agent().await;
    let set = |line: &str| {
        let q: String = form_urlencoded::byte_serialize(line.as_bytes()).collect();
        lab.url(&format!("/public/info?set-cookie={q}"))
    };
    // The dashboard (or something injecting into its answers) may not touch the gateway's
    // cookies: fixation, sign-out, in any spelling.
    for line in [
        "__Host-mfagate=forged; Path=/; Secure".to_string(),
        "__host-MFAGATE-device=x; Path=/; Secure".into(),
        "=__Host-mfagate=forged; Path=/".into(),
        " __Host-mfagate-jar0=x; Path=/".into(),
        "mfagate=x".into(),
    ] {
        let resp = agent.get(set(&line)).send().await.unwrap();
        let cookies = set_cookies(&resp);
        assert!(
            cookies.iter().all(|c| !c.contains("forged")
                && !c.ends_with("=x")
                && !c.starts_with("=")
                && !c.to_ascii_lowercase().starts_with("mfagate")
                && !c.starts_with("__host-")),
            "{line}: {cookies:?}"
        );
    }
    // A dashboard cookie set on an answer to an anonymous request that the probe shows is
    // signed in (a login route ops did not list) is removed and audited.
    let anonymous = lab.browser();
    let resp = anonymous
        .get(set(&format!("app_session={stolen}; Path=/")))
        .send()
        .await
        .unwrap();
    assert_no_dashboard_cookie(&resp, "unlisted login answer");
    assert!(
        !sets(&resp, "__Host-mfagate-pre"),
        "a signed-in value is never bound as a pre-login session"
    );
    // An unlisted JSON login route: its token is withheld too.
    let resp = anonymous
        .post(lab.url("/api/v2/login"))
        .json(&serde_json::json!({"email": ADMIN.0, "password": ADMIN.1}))
        .send()
        .await
        .unwrap();
    assert_no_dashboard_cookie(&resp, "unlisted JSON login");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["data"]["authentication_token"],
        serde_json::Value::Null
    );
    let events = lab.auth().activity(1000).await;
    assert!(lab.audited(&events, "gateway_cookie_from_dashboard") >= 5);
    assert!(lab.audited(&events, "credential_outside_login_route") >= 3);
    // Pinned: anonymous requests after that carry no dashboard credential at all.
    lab.dash.clear_seen();
    anonymous.get(lab.url("/inbox")).send().await.unwrap();
    assert_eq!(lab.dash.seen_at("/inbox")[0].user, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_login_the_dashboard_confirms_counts_and_its_user_is_the_dashboards() {
    let lab = Lab::start("").await;
    // Wrong password: the dashboard's flash-and-redirect is passed through; no MFA page, no
    // pending login, nothing an attacker could enroll a factor on.
    let attacker = lab.browser();
    let resp = attacker
        .post(lab.url("/login"))
        .form(&[("email", AGENT.0), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), "/login");
    assert_no_dashboard_cookie(&resp, "failed login");
    assert!(!sets(&resp, "__Host-mfagate="), "no pending login");
    let mfa = attacker
        .get(lab.url("/.mfagate/enroll"))
        .send()
        .await
        .unwrap();
    assert_ne!(mfa.status(), 200, "no enrollment without the password");
    let events = lab.auth().activity(1000).await;
    assert_eq!(lab.audited(&events, "login_intercepted"), 0);
    assert_eq!(lab.audited(&events, "login_failed"), 1);

    // The user named twice (query over body, as Rails merges them) is refused.
    let resp = lab
        .browser()
        .post(lab.url(&format!("/login?email={}", ADMIN.0)))
        .form(&[("email", AGENT.0), ("password", ADMIN.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // A body not in the route's format is refused.
    let resp = lab
        .browser()
        .post(lab.url("/login"))
        .json(&serde_json::json!({"email": ADMIN.0, "password": ADMIN.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // The user only in the query string: the dashboard signs in admin, and so the gateway
    // asks admin's second factor, even from a browser that is agent's trusted device.
    let (agent, _) = lab.signed_in_agent().await;
    let resp = agent
        .post(lab.url(&format!("/login?email={}", ADMIN.0)))
        .form(&[("password", ADMIN.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&resp),
        "/.mfagate/",
        "admin must pass admin's factor"
    );
    assert_no_dashboard_cookie(&resp, "query-string user");
    let pending = lab.auth().pending_session(
        &lab.auth().config.environments[0],
        &{
            let mut h = http::HeaderMap::new();
            h.insert("cookie", gateway_cookie_header(&resp).parse().unwrap());
            h
        },
        lab.auth().clock.now(),
    );
    assert_eq!(pending.unwrap().user, ADMIN.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_login_session_serves_the_login_page_and_ends_at_login() {
    let lab = Lab::start("").await;
    lab.dash.check_csrf.store(true, Ordering::SeqCst);
    lab.dash.keep_id_at_login.store(true, Ordering::SeqCst);
    let browser = lab.browser();
    let page = browser.get(lab.url("/login")).send().await.unwrap();
    assert_no_dashboard_cookie(&page, "login page");
    let pre = gateway_cookie_header(&page);
    assert!(
        pre.contains("__Host-mfagate-pre0="),
        "bound to a pre-login cookie: {pre}"
    );
    let form = page.text().await.unwrap();
    let token = crate::support::mfa::between(&form, "value=\"", "\"");
    // The login page's assets and public paths work with it.
    let css = browser
        .get(lab.url("/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    // A wrong password: the flash lives in the pre-login session and shows on the next page.
    let wrong = browser
        .post(lab.url("/login"))
        .form(&[("email", AGENT.0), ("password", "wrong"), ("csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&wrong), "/login");
    let again = browser
        .get(lab.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("Wrong email or password"), "{again}");
    // The right password passes the dashboard's CSRF check, then the second factor.
    let resp = browser
        .post(lab.url("/login"))
        .form(&[("email", AGENT.0), ("password", AGENT.1), ("csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&resp), "/.mfagate/", "CSRF passed, MFA asked");
    assert!(
        sets(&resp, "__Host-mfagate-pre0=;"),
        "the pre-login binding ends at login"
    );
    // This dashboard kept its session id at login, so the pre-login value is now signed in:
    // a saved copy of the pre-login cookie must not bring it back.
    lab.dash.clear_seen();
    let replay = lab.browser();
    replay
        .get(lab.url("/inbox"))
        .header("cookie", &pre)
        .send()
        .await
        .unwrap();
    assert_eq!(
        lab.dash.seen_at("/inbox")[0].user,
        None,
        "pre-login copy refused after login"
    );
    // Completing the factor releases the session into the jar.
    let now = lab.auth().clock.now();
    let (_, released) = crate::support::mfa::enroll_pending_at(&browser, &lab.url(""), now).await;
    assert_no_dashboard_cookie(&released, "release");
    lab.dash.clear_seen();
    browser.get(lab.url("/inbox")).send().await.unwrap();
    assert_eq!(lab.dash.seen_at("/inbox")[0].user.as_deref(), Some(AGENT.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_deny_and_public_rules_hold_under_lenient_routing() {
    let lab = Lab::start("[environments.identity_headers]\nuser = \"X-Forwarded-User\"\n").await;
    let (agent, _) = lab.signed_in_agent().await;
    lab.auth().clock.advance(11 * 60);
    for path in [
        "/settings/billing",
        "/Settings/Billing",
        "/settings/billing/",
        "/settings;x/billing",
        "/settings/billing;y",
        "/settings/billing.json",
        "/%53ettings/billing",
        "/SETTINGS//BILLING",
    ] {
        let resp = agent.get(lab.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{path}");
        assert!(location(&resp).starts_with("/.mfagate/step-up"), "{path}");
    }
    for path in [
        "/public/..;/settings/billing",
        "/settings/.;/billing",
        "/ſettings/billing",
        "/ｓettings/billing",
        "/public/．．/settings/billing",
    ] {
        let resp = agent.get(lab.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{path}");
    }
    for path in [
        "/settings/profile/email",
        "/Settings/Profile/EMAIL",
        "/settings/profile/email;x",
        "/settings/profile/email.json",
    ] {
        // The rule names PUT; a POST may be overridden to PUT (`_method=put`).
        let resp = agent
            .post(lab.url(path))
            .form(&[("_method", "put"), ("email", "x@evil.test")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{path}");
    }
    assert!(lab.dash.seen_at("/settings/billing").is_empty());
    assert!(lab.dash.seen_at("/settings/profile/email").is_empty());

    // Identity headers: a client's own copies never arrive; the gateway's value does.
    lab.dash.clear_seen();
    for client in [&agent, &lab.browser()] {
        client
            .get(lab.url("/public/info"))
            .header("X-Forwarded-User", ADMIN.0)
            .header("Remote-Email", ADMIN.0)
            .header("X-Authentik-Username", "admin")
            .header("Cf-Access-Authenticated-User-Email", ADMIN.0)
            .header("X-Original-URL", "/settings/billing")
            .send()
            .await
            .unwrap();
    }
    let seen = lab.dash.seen_at("/public/info");
    assert_eq!(seen.len(), 2);
    for (s, want) in seen.iter().zip([Some(AGENT.0), None]) {
        for name in [
            "remote-email",
            "x-authentik-username",
            "cf-access-authenticated-user-email",
            "x-original-url",
        ] {
            assert!(s.headers.get(name).is_none(), "{name} forwarded");
        }
        let user = s
            .headers
            .get("x-forwarded-user")
            .map(|v| v.to_str().unwrap());
        assert_eq!(user, want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_hosts_and_upgrades_with_bodies_are_refused() {
    let lab = Lab::start("").await;
    for host in [
        "evil.test@app.test",
        "app.test:99999",
        "app.test:0",
        "app.test..",
        "app.test:80x",
    ] {
        let resp = lab
            .raw(&format!(
                "GET /inbox HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            ))
            .await;
        assert_eq!(raw_status(&resp), 400, "{host}");
    }
    let resp = lab
        .raw("GET https://evil.test@app.test/inbox HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(raw_status(&resp), 400, "absolute form with userinfo");
    let resp = lab
        .raw("GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 5\r\n\r\nhello")
        .await;
    assert_eq!(raw_status(&resp), 400, "upgrade with a body");
    assert!(lab.dash.seen().iter().all(|s| s.route != "/ws"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polls_and_event_streams_end_when_their_session_is_revoked() {
    let lab = Lab::start("").await;
    let (agent, _) = lab.signed_in_agent().await;
    let poll = {
        let agent = agent.clone();
        let url = lab.url("/poll");
        tokio::spawn(async move {
            agent
                .get(url)
                .header("accept", "application/json")
                .send()
                .await
        })
    };
    let mut sse = agent.get(lab.url("/sse")).send().await.unwrap();
    assert_eq!(sse.status(), 200);
    assert!(sse.chunk().await.unwrap().is_some(), "events flow");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let revoked = Instant::now();
    let ctx = lab.auth().background_context("demo");
    lab.auth()
        .end_all(
            AGENT.0,
            mfagate::gate::lifecycle::EndReason::AllSessions(
                mfagate::gate::lifecycle::AllEnd::AdminSignOut,
            ),
            ctx,
        )
        .await
        .unwrap();
    let sse_end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = sse.chunk().await {}
    })
    .await;
    let sse_elapsed = revoked.elapsed();
    let poll = tokio::time::timeout(Duration::from_secs(5), poll).await;
    let poll_elapsed = revoked.elapsed();
    println!("after revocation: event stream ended in {sse_elapsed:?}, long poll answered in {poll_elapsed:?}");
    assert!(
        sse_end.is_ok(),
        "event stream still open 5 s after revocation"
    );
    assert!(
        sse_elapsed < Duration::from_secs(1),
        "event stream cut within 1 s: {sse_elapsed:?}"
    );
    let poll = poll.expect("long poll answered").unwrap().unwrap();
    assert_eq!(
        poll.status(),
        401,
        "a refused poll gets 401, not a redirect"
    );
    assert!(
        poll_elapsed < Duration::from_secs(1),
        "long poll cut within 1 s: {poll_elapsed:?}"
    );
    let delivered = lab.dash.sse_events.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        lab.dash.sse_events.load(Ordering::SeqCst) <= delivered + 1,
        "the dashboard stream stopped too"
    );
}

/// HTTP/2 clients that are still sending a body when the gateway answers (here: a redirect to
/// the login page for a refused bearer token) see the answer, not a stream error. Driven with
/// curl (nghttp2), a client that reported the reset as a framing error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_see_answers_the_gateway_gives_before_reading_the_body() {
    let lab = Lab::start("").await;
    let file = lab.pki.path("body.bin");
    std::fs::write(&file, vec![b'x'; 1024 * 1024]).unwrap();
    let port = lab.gw.https_addr.port();
    let mut failures = Vec::new();
    for _ in 0..20 {
        let out = tokio::process::Command::new("curl")
            .args(["-sS", "--http2", "--cacert"])
            .arg(lab.pki.path("ca.pem"))
            .args(["--resolve", &format!("app.test:{port}:127.0.0.1")])
            .args(["-X", "POST", "--data-binary"])
            .arg(format!("@{}", file.display()))
            .args(["-H", "Authorization: Bearer not-bound", "-o", "/dev/null"])
            .args(["-w", "%{http_version} %{http_code}"])
            .arg(format!("https://app.test:{port}/upload"))
            .output()
            .await
            .expect("curl runs (Debian package curl)");
        let got = String::from_utf8_lossy(&out.stdout).to_string();
        if got != "2 303" || !out.status.success() {
            failures.push(format!("{got} {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 20 failed: {:?}",
        failures.len(),
        failures.first()
    );
    assert!(lab.dash.seen_at("/upload").is_empty());
}

/// An upstream header line ending in a bare LF is read as a separate header by the gateway's
/// HTTP parser; a `Set-Cookie` smuggled that way for a gateway cookie is still removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_cookie_smuggled_behind_a_bare_lf_is_removed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let answer = "HTTP/1.1 200 OK\r\nX-Note: a\nSet-Cookie: __Host-mfagate=smuggled; Path=/; Secure\r\n\
                              Set-Cookie: =__Host-mfagate-device=smuggled\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                let _ = tcp.write_all(answer.as_bytes()).await;
            });
        }
    });
    let pki = Pki::new();
    pki.leaf("raw", &["raw.test"]);
    let mut toml = config_head(&pki, "");
    toml.push_str(&format!(
        "[[environments]]\nname = \"raw\"\nhosts = [\"raw.test\"]\nupstream = \"http://{addr}\"\n\
         [environments.tls]\ncert = \"raw.pem\"\nkey = \"raw-key.pem\"\n{}",
        lenient::LOGIN_TOML
    ));
    let gw = start_gateway(&pki, &toml);
    let resp = pki
        .client(&["raw.test"], gw.https_addr, false)
        .get(format!("https://raw.test:{}/page", gw.https_addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookies = set_cookies(&resp);
    assert!(
        cookies.iter().all(|c| !c.contains("smuggled")),
        "{cookies:?}"
    );
}

/// The dashboard's own sign-out, in every spelling this router accepts, ends the gateway
/// session too: otherwise the gateway would keep a session whose dashboard credential is dead,
/// a ghost on the devices page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_sign_out_ends_the_gateway_session_in_every_spelling() {
    for spelling in [
        "/logout",
        "/LOGOUT",
        "/logout/",
        "/logout;jsessionid=1",
        "/Logout.json",
    ] {
        let lab = Lab::start("").await;
        let (browser, _) = lab.signed_in_agent().await;
        let sessions = || lab.auth().records.sessions(AGENT.0);
        assert_eq!(sessions().await.unwrap().len(), 1, "{spelling}");
        let resp = browser.post(lab.url(spelling)).send().await.unwrap();
        assert_eq!(resp.status(), 302, "{spelling}: the dashboard signed out");
        assert!(
            sets(&resp, "__Host-mfagate=;"),
            "{spelling}: gateway cookie cleared"
        );
        assert!(
            sessions().await.unwrap().is_empty(),
            "{spelling}: no ghost session"
        );
        let after = browser.get(lab.url("/inbox")).send().await.unwrap();
        assert_eq!(
            location(&after),
            "/login",
            "{spelling}: signed out at the gateway"
        );
    }
}
