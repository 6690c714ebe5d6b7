//! The gateway in front of dashboards that guard their sign-in and sign-out as Django and
//! Rails do (`crate::support::framework`), configured with the README's recipes: the
//! dashboard's session really ends with the gateway's, and a logout the dashboard refuses is
//! audited as failed, not as done.

use std::sync::Arc;

use crate::support::framework::{self, Flavour, Framework, USER};
use crate::support::mfa::{config_head, csrf, enroll_pending_at, location, logout_at, page};
use crate::support::{start_gateway, stop, Pki};
use mfagate::proxy::RunningGateway;

struct Lab {
    pki: Pki,
    gw: RunningGateway,
    app: Arc<Framework>,
}

impl Lab {
    async fn start(flavour: Flavour, login: &str) -> Self {
        Self::start_with(flavour, login, ("", "mfa = \"required\"")).await
    }

    /// With `top` config (before `[secrets]`) and `env` keys for the environment (`mfa` among
    /// them).
    async fn start_with(flavour: Flavour, login: &str, (top, env): (&str, &str)) -> Self {
        let pki = Pki::new();
        let (addr, app) = framework::start(flavour, &["app.test"]).await;
        pki.leaf("app", &["app.test"]);
        let mut toml = config_head(&pki, top);
        toml.push_str(&format!(
            "\n[[environments]]\nname = \"app\"\nhosts = [\"app.test\"]\nupstream = \"http://{addr}\"\n\
             {env}\n[environments.tls]\ncert = \"app.pem\"\nkey = \"app-key.pem\"\n{login}"
        ));
        let gw = start_gateway(&pki, &toml);
        Self { pki, gw, app }
    }

    fn base(&self) -> String {
        format!("https://app.test:{}", self.gw.https_addr.port())
    }

    fn browser(&self) -> reqwest::Client {
        self.pki.client(&["app.test"], self.gw.https_addr, false)
    }

    fn now(&self) -> u64 {
        self.gw.auth.as_ref().unwrap().clock.now()
    }

    /// Audit events whose kind is `kind`.
    async fn audited(&self, kind: &str) -> Vec<serde_json::Value> {
        crate::support::mfa::audited(self.gw.auth.as_ref().unwrap(), kind).await
    }

    async fn metric(&self, outcome: &str) -> String {
        let url = format!("http://{}/metrics", self.gw.admin_addr);
        let text = reqwest::get(url).await.unwrap().text().await.unwrap();
        let name = format!("mfagate_dashboard_logouts_total{{outcome=\"{outcome}\"}} ");
        let line = text.lines().find(|l| l.starts_with(&name));
        line.map_or("absent".into(), |l| l[name.len()..].to_string())
    }

    /// Signs in with the Django login form (its CSRF token from the page) and enrolls TOTP.
    async fn django_sign_in(&self, browser: &reqwest::Client) -> reqwest::Response {
        let base = self.base();
        let form = page(browser, &format!("{base}/accounts/login/")).await;
        let token = between_attr(&form, "csrfmiddlewaretoken");
        let login = browser
            .post(format!("{base}/accounts/login/?next=/inbox/"))
            .header("origin", &base)
            .form(&[
                ("csrfmiddlewaretoken", token.as_str()),
                ("username", USER.0),
                ("password", USER.1),
            ])
            .send()
            .await
            .unwrap();
        let (status, loc) = (login.status(), location(&login));
        let body = login.text().await.unwrap();
        let seen = self.app.answered("POST", "/accounts/login/");
        assert_eq!(
            loc, "/.mfagate/",
            "the login is intercepted: {status} {body} {seen:?}"
        );
        enroll_pending_at(browser, &base, self.now()).await.1
    }
}

/// The `value` of the input named `name` on a page.
fn between_attr(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\""))
        .expect("field on the page");
    let rest = &page[at..];
    let start = rest.find("value=\"").unwrap() + 7;
    rest[start..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_django_logout_behind_csrf_really_ends_the_dashboard_session() {
    let lab = Lab::start(Flavour::Django, framework::DJANGO_LOGIN).await;
    let browser = lab.browser();
    let released = lab.django_sign_in(&browser).await;
    assert_eq!(
        location(&released),
        "/inbox/",
        "back where the login was going"
    );
    let inbox = browser
        .get(format!("{}/inbox/", lab.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 200);
    assert!(inbox
        .text()
        .await
        .unwrap()
        .contains("Inbox of agent@app.test"));
    assert_eq!(lab.app.signed_in(USER.0), 1);

    let out = logout_at(&browser, &lab.base()).await;
    assert_eq!(out.status(), 303);
    assert_eq!(lab.app.signed_in(USER.0), 0, "the dashboard session ended");
    let logouts = lab.app.answered("POST", "/accounts/logout/");
    assert_eq!(logouts.len(), 1);
    assert_eq!(logouts[0].status, 302);
    let seen = &logouts[0].headers;
    let origin = format!("https://app.test:{}", lab.gw.https_addr.port());
    assert_eq!(seen["origin"], origin.as_str());
    assert_eq!(seen["x-forwarded-proto"], "https");
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(
        lab.audited("dashboard_logout_failed").await,
        Vec::<serde_json::Value>::new()
    );
    assert_eq!(lab.metric("signed_out").await, "1");
    assert_eq!(lab.metric("refused").await, "0");
    stop(lab.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_the_dashboard_refuses_is_audited_as_failed() {
    // The old shape, without the CSRF token: Django refuses it with 403.
    let plain = framework::DJANGO_LOGIN
        .split("[environments.login.logout]")
        .next()
        .unwrap()
        .replace(
            "next_param = \"next\"",
            "next_param = \"next\"\nlogout = { method = \"POST\", path = \"/accounts/logout/\" }",
        );
    let lab = Lab::start(Flavour::Django, &plain).await;
    let browser = lab.browser();
    lab.django_sign_in(&browser).await;
    let out = logout_at(&browser, &lab.base()).await;
    assert_eq!(out.status(), 303, "the gateway session ends all the same");
    assert_eq!(lab.app.answered("POST", "/accounts/logout/")[0].status, 403);
    assert_eq!(lab.app.signed_in(USER.0), 1, "Django kept its session");
    let failed = lab.audited("dashboard_logout_failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["status"], 403);
    assert_eq!(failed[0]["outcome"], "failure");
    assert_eq!(failed[0]["target"], USER.0);
    assert_eq!(lab.audited("logout").await.len(), 1);
    assert_eq!(lab.metric("refused").await, "1");
    assert_eq!(lab.metric("signed_out").await, "0");
    stop(lab.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rails_sign_out_with_the_meta_token_and_forwarded_https_ends_the_session() {
    let lab = Lab::start(Flavour::Rails, framework::RAILS_LOGIN).await;
    let (browser, base) = (lab.browser(), lab.base());
    let form = page(&browser, &format!("{base}/users/sign_in")).await;
    let token = form
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("meta tag")
        .to_string();
    let login = browser
        .post(format!("{base}/users/sign_in"))
        .header("origin", &base)
        .form(&[
            ("authenticity_token", token.as_str()),
            ("user[email]", USER.0),
            ("user[password]", USER.1),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&login), "/.mfagate/", "the login is intercepted");
    let released = enroll_pending_at(&browser, &base, lab.now()).await.1;
    assert_eq!(
        location(&released),
        "/inbox",
        "Rails' absolute redirect on the public origin is kept as its path"
    );
    let inbox = browser.get(format!("{base}/inbox")).send().await.unwrap();
    assert_eq!(inbox.status(), 200);
    assert_eq!(lab.app.signed_in(USER.0), 1);

    // A revoke on the devices page ends it too (every way a session ends calls the logout).
    let devices = page(&browser, &format!("{base}/.mfagate/devices")).await;
    let id = devices
        .split("name=\"id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a session row")
        .to_string();
    let revoke = browser
        .post(format!("{base}/.mfagate/devices/revoke"))
        .form(&[
            ("csrf", csrf(&devices)),
            ("id", id),
            ("kind", "session".into()),
        ])
        .send()
        .await
        .unwrap();
    assert!(revoke.status().is_redirection(), "{}", revoke.status());
    let all = lab.app.answered("GET", "/");
    assert_eq!(
        lab.app.signed_in(USER.0),
        0,
        "the dashboard session ended {all:?} {:?}",
        lab.audited("dashboard_logout_failed").await
    );
    let signed_out = lab.app.answered("DELETE", "/users/sign_out");
    assert_eq!(signed_out.len(), 1);
    assert_eq!(signed_out[0].status, 303);
    assert_eq!(signed_out[0].headers["x-forwarded-proto"], "https");
    assert!(lab.app.answered("GET", "/").iter().all(|a| a.status == 200));
    assert_eq!(lab.audited("dashboard_logout_failed").await.len(), 0);
    assert_eq!(lab.metric("signed_out").await, "1");
    stop(lab.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_client_passes_mfa_over_the_json_api_and_gets_its_token_in_the_dashboards_shape() {
    let sink = crate::support::smtp::SmtpSink::start().await;
    let (mail, _) = crate::support::mfa::mail_extra(sink.port());
    let methods = "mfa = \"required\"\nmethods = [\"totp\", \"email\", \"backup\"]";
    let lab = Lab::start_with(Flavour::Rails, framework::TOKEN_API_LOGIN, (&mail, methods)).await;
    let (client, base) = (lab.browser(), lab.base());
    let api = |path: &str| format!("{base}/.mfagate/api/mfa{path}");
    let login = client
        .post(format!("{base}/api/v1/sign_in"))
        .json(&serde_json::json!({"email": USER.0, "password": USER.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let answer: serde_json::Value = login.json().await.unwrap();
    assert_eq!(answer["token"], serde_json::Value::Null, "{answer}");
    assert_eq!(answer["mfa_required"], true);
    assert_eq!(answer["mfa_api"], "/.mfagate/api/mfa");

    let state = crate::support::json(client.get(api(""))).await;
    assert_eq!(state["user"], USER.0);
    assert_eq!(state["methods"], serde_json::json!(["email"]), "{state}");
    assert_eq!(state["enroll_url"], "/.mfagate/enroll");

    // Posts must be JSON from the gateway's origin (the CSRF equivalent).
    let form = client
        .post(api("/email"))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let cross = client
        .post(api("/email"))
        .header("origin", "https://evil.test")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert!(sink.messages().is_empty(), "no code for refused posts");

    let sent = client
        .post(api("/email"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    let again = client
        .post(api("/email"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 429, "a resend waits");
    assert!(again.headers().contains_key("retry-after"));
    let code = crate::support::smtp::code_in(&sink.wait_for(1).await[0]);

    let verify = |body: serde_json::Value| client.post(api("/verify")).json(&body).send();
    let wrong = verify(serde_json::json!({"method": "email", "code": "000000"}))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    let not_allowed = verify(serde_json::json!({"method": "backup", "code": "x"}))
        .await
        .unwrap();
    assert_eq!(
        not_allowed.status(),
        422,
        "no backup codes yet: a wrong code, counted"
    );
    let ok = verify(serde_json::json!({"method": "email", "code": code}))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let released: serde_json::Value = ok.json().await.unwrap();
    let token = released["token"]
        .as_str()
        .expect("token at /token")
        .to_string();
    assert_eq!(released["mfa_required"], false);
    assert_eq!(lab.audited("mfa_failure").await.len(), 2);
    assert_eq!(lab.audited("mfa_success").await.len(), 1);

    // The token works with its session, and only with it.
    let me = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let stranger = lab.browser();
    let stolen = stranger
        .get(format!("{base}/api/v1/me"))
        .header("accept", "application/json")
        .bearer_auth(&token)
        .send();
    assert_eq!(stolen.await.unwrap().status(), 401);
    let release = client.get(format!("{base}/.mfagate/api/release")).send();
    assert_eq!(
        release.await.unwrap().status(),
        410,
        "the token was given once"
    );
    let replay = verify(serde_json::json!({"method": "email", "code": code}))
        .await
        .unwrap();
    assert_eq!(replay.status(), 409, "signed in: nothing pending");

    // The OpenAPI document describes the API.
    let doc = crate::support::json(client.get(format!("{base}/.mfagate/api/openapi.json"))).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/.mfagate/api/mfa/verify"]["post"].is_object());

    // The dashboard's own sign-out, called by the client, ends the gateway session too.
    assert_eq!(lab.app.signed_in(USER.0), 1);
    let out = client
        .delete(format!("{base}/api/v1/sign_out"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(lab.app.signed_in(USER.0), 0);
    let after = client
        .get(format!("{base}/api/v1/me"))
        .header("accept", "application/json")
        .bearer_auth(&token)
        .send();
    assert_eq!(after.await.unwrap().status(), 401);
    stop(lab.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_token_session_signs_its_token_out_of_the_dashboard() {
    let lab = Lab::start_with(
        Flavour::Rails,
        framework::TOKEN_API_LOGIN,
        ("", "mfa = \"optional\""),
    )
    .await;
    let (client, base) = (lab.browser(), lab.base());
    let login = client
        .post(format!("{base}/api/v1/sign_in"))
        .json(&serde_json::json!({"email": USER.0, "password": USER.1}))
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = login.json().await.unwrap();
    assert!(
        answer["token"].is_string(),
        "no factor, optional: passed through {answer}"
    );
    assert_eq!(lab.app.signed_in(USER.0), 1);
    let auth = lab.gw.auth.as_ref().unwrap();
    let ctx = auth.background_context("app");
    let ended = auth.end_all(
        USER.0,
        mfagate::gate::lifecycle::EndReason::AllSessions(
            mfagate::gate::lifecycle::AllEnd::AdminSignOut,
        ),
        ctx,
    );
    assert_eq!(ended.await.unwrap(), 1);
    assert_eq!(
        lab.app.signed_in(USER.0),
        0,
        "DELETE /api/v1/sign_out with the bearer token"
    );
    let signed_out = lab.app.answered("DELETE", "/api/v1/sign_out");
    assert_eq!(signed_out[0].status, 204);
    assert_eq!(lab.metric("signed_out").await, "1");
    stop(lab.gw).await;
}
