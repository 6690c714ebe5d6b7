//! The demo dashboard behind the gateway: form login with the dashboard's own cookie, the JSON
//! API login with a token, and the chat WebSocket, all through TLS.

use crate::support::{gateway_toml, start_gateway, stop, EnvSpec, Pki};
use futures_util::{SinkExt, StreamExt};
use mfagate::demo;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_through_the_gateway_reaches_the_inbox() {
    let pki = Pki::new();
    let dashboard = demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let toml = gateway_toml(
        &pki,
        &[EnvSpec {
            name: "demo",
            hosts: &["chat.test"],
            upstream: dashboard,
        }],
        "",
    );
    let gw = start_gateway(&pki, &toml);
    let base = format!("https://chat.test:{}", gw.https_addr.port());
    let browser = pki.client(&["chat.test"], gw.https_addr, true);

    let resp = browser.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(resp.status(), 302, "inbox redirects to login");
    assert_eq!(resp.headers()["location"], "/login");

    let wrong = form_login(&browser, &base, "agent1@demo.test", "nope").await;
    assert_eq!(
        wrong.status(),
        302,
        "a flash in the session, back to the login page"
    );
    assert_eq!(wrong.headers()["location"], "/login");
    let page = browser.get(format!("{base}/login")).send().await.unwrap();
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Wrong email or password."));

    let resp = form_login(&browser, &base, "agent1@demo.test", "agent1-pass").await;
    assert_eq!(resp.status(), 302);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("dash_session="), "{cookie}");
    let inbox = browser.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(inbox.status(), 200);
    assert!(inbox.text().await.unwrap().contains("agent1@demo.test"));

    // JSON API login and the token on the API.
    let api = pki.client(&["chat.test"], gw.https_addr, false);
    let login: serde_json::Value = crate::support::json(
        api.post(format!("{base}/api/v1/auth"))
            .json(&serde_json::json!({"email": "admin@demo.test", "password": "admin-pass"})),
    )
    .await;
    let token = login["data"]["authentication_token"].as_str().unwrap();
    let me: serde_json::Value =
        crate::support::json(api.get(format!("{base}/api/v1/me")).bearer_auth(token)).await;
    assert_eq!(me["role"], "admin");

    // The chat WebSocket with the dashboard session cookie.
    let session = cookie.split(';').next().unwrap().to_string();
    let mut ws = pki
        .open_ws(gw.https_addr, "chat.test", &session)
        .await
        .unwrap();
    ws.send(Message::text("hi team")).await.unwrap();
    let msg = ws.next().await.unwrap().unwrap();
    assert_eq!(
        msg.into_text().unwrap().as_str(),
        "agent1@demo.test: hi team"
    );
    drop(ws);
    stop(gw).await;
}

/// `mfagate demo` as a newcomer runs it: generates its certificate, prints a working URL, and
/// exits 0 on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_command_serves_the_dashboard_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let cwd = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .current_dir(cwd.path())
        .env("MFAGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        // Keep reading to the end so the child never writes into a closed pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("open:") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        }
    });
    let url = tokio::time::timeout(std::time::Duration::from_secs(20), rx)
        .await
        .expect("demo starts in time")
        .expect("demo prints the URL");
    let port: u16 = url
        .trim_start_matches("https://localhost:")
        .trim_end_matches('/')
        .parse()
        .unwrap();

    let cert = std::fs::read(cwd.path().join("certs/dev/localhost.pem")).expect("dev cert written");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .cookie_store(true)
        .build()
        .unwrap();
    // The demo requires MFA: the login lands on the choice of factor (redirects followed).
    let choose = form_login(
        &client,
        url.trim_end_matches('/'),
        "agent2@demo.test",
        "agent2-pass",
    )
    .await;
    assert_eq!(choose.url().path(), "/.mfagate/");
    let choices = choose.text().await.unwrap();
    assert!(choices.contains("choose-totp") && choices.contains("choose-email"));
    let enroll = client
        .get(format!("{url}.mfagate/enroll"))
        .send()
        .await
        .unwrap();
    let page = enroll.text().await.unwrap();
    let key = crate::support::mfa::between(&page, "<code id=\"setup-key\">", "</code>");
    let secret = mfagate::mfa::totp::parse_setup_key(&key).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = mfagate::mfa::totp::code_at(&secret, now);
    let csrf = crate::support::mfa::csrf(&page);
    let codes = client
        .post(format!("{url}.mfagate/enroll"))
        .form(&[("code", code.as_str()), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(codes.contains("id=\"backup-codes\""), "{codes}");
    let inbox = client
        .post(format!("{url}.mfagate/continue"))
        .form(&[("csrf", crate::support::mfa::csrf(&codes))])
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.url().path(), "/");
    assert!(inbox
        .text()
        .await
        .unwrap()
        .contains("<b id=\"me\">agent2@demo.test</b>"));
    assert!(
        cwd.path().join("data/demo/mfagate.redb").exists(),
        "embedded store in data_dir"
    );

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Posts the dashboard's login form.
async fn form_login(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}
