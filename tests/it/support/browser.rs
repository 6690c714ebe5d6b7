//! A real browser for page tests: headless Chromium driven over WebDriver (chromedriver).
//! Missing binaries fail the test with what to install; they are never skipped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running chromedriver; killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
    profiles: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub async fn start() -> Self {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: install the Debian packages with `apt-get install -y chromium chromium-driver`"
            );
        }
        // An ephemeral port chosen by the kernel, handed to chromedriver.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        // Up to 30 s: on a loaded machine chromedriver can take longer than a few seconds.
        let mut listening = false;
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                listening = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            listening,
            "chromedriver did not listen on port {port} within 30 s"
        );
        Self {
            child,
            url,
            profiles: tempfile::tempdir().unwrap(),
        }
    }

    /// A new browser with its own empty profile (cookies, storage), mapping `hosts` to
    /// 127.0.0.1. The test CA is not in the browser's trust store, so the session accepts the
    /// gateway's test certificate explicitly; TLS verification itself is covered elsewhere.
    pub async fn browser(&self, name: &str, hosts: &[&str]) -> Client {
        self.browser_speaking(name, hosts, "en-US,en").await
    }

    /// Like `browser`, asking for pages in `languages` (its `Accept-Language`).
    pub async fn browser_speaking(&self, name: &str, hosts: &[&str], languages: &str) -> Client {
        let rules: Vec<String> = hosts.iter().map(|h| format!("MAP {h} 127.0.0.1")).collect();
        let profile = self.profiles.path().join(name);
        let caps: Capabilities = serde_json::from_value(serde_json::json!({
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic",
                    format!("--host-resolver-rules={}", rules.join(", ")),
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": { "intl.accept_languages": languages }
            }
        }))
        .unwrap();
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session starts")
    }
}

/// A Chrome DevTools command through chromedriver (`goog/cdp/execute`), for what WebDriver
/// has no command for: emulating the dark colour scheme.
#[derive(Debug)]
pub struct Cdp(pub &'static str, pub serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or("")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.0, "params": self.1 });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Makes the page (and the pages after it) see `prefers-color-scheme: dark` or light.
pub async fn emulate_scheme(browser: &Client, dark: bool) {
    let scheme = if dark { "dark" } else { "light" };
    let params = serde_json::json!({
        "features": [{ "name": "prefers-color-scheme", "value": scheme }]
    });
    browser
        .issue_cmd(Cdp("Emulation.setEmulatedMedia", params))
        .await
        .expect("chromedriver runs DevTools commands");
}

/// A WebDriver WebAuthn command (`/session/{id}/webauthn/…`, W3C WebAuthn §11): a virtual
/// authenticator stands in for a platform passkey or a security key.
#[derive(Debug)]
pub struct WebAuthn(pub String, pub Option<serde_json::Value>);

impl fantoccini::wd::WebDriverCompatibleCommand for WebAuthn {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or("");
        base_url.join(&format!("session/{session}/webauthn/{}", self.0))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        match &self.1 {
            Some(body) => (http::Method::POST, Some(body.to_string())),
            None => (http::Method::GET, None),
        }
    }
}

/// Gives `browser` a virtual platform authenticator (a passkey with user verification, as a
/// laptop's fingerprint reader); returns its id.
pub async fn add_virtual_authenticator(browser: &Client) -> String {
    let options = serde_json::json!({
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": true,
        "hasUserVerification": true,
        "isUserConsenting": true,
        "isUserVerified": true,
    });
    let added = browser
        .issue_cmd(WebAuthn("authenticator".into(), Some(options)))
        .await
        .expect("chromedriver adds a virtual authenticator");
    added.as_str().expect("an authenticator id").to_string()
}

/// The credentials the virtual authenticator `id` holds.
pub async fn virtual_credentials(browser: &Client, id: &str) -> Vec<serde_json::Value> {
    let path = format!("authenticator/{id}/credentials");
    let held = browser.issue_cmd(WebAuthn(path, None)).await.unwrap();
    held.as_array().cloned().unwrap_or_default()
}
