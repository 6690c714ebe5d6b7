//! Policy end to end: the any-environment rule across two environments, roles and their
//! methods, step-up on sensitive paths, and per-role path rules.

use crate::support::mfa::{config_head, csrf, environment, location, set_cookies};
use crate::support::{start_gateway, stop, Pki};

struct Two {
    pki: Pki,
    gw: mfagate::proxy::RunningGateway,
}

const USERS: &str = r#"
[[users]]
identity = "agent1@demo.test"
role = "agent"
environments = ["alpha", "beta"]

[[users]]
identity = "agent2@demo.test"
role = "agent"
environments = ["beta"]

[[users]]
identity = "admin@demo.test"
role = "admin"
environments = ["alpha", "beta"]
"#;

const ALPHA_POLICY: &str = r#"sensitive_paths = ["/settings/billing*", "/settings/webhooks*"]
step_up_minutes = 10
[environments.role_methods]
admin = ["totp"]
[[environments.rules]]
roles = ["agent", "supervisor"]
paths = ["/settings/profile/email*"]
methods = ["POST", "PUT", "PATCH"]
"#;

impl Two {
    fn start() -> Self {
        let pki = Pki::new();
        let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut toml = config_head(&pki, USERS);
        toml.push_str(&environment(
            &pki,
            dashboard,
            "alpha.test",
            "required",
            ALPHA_POLICY,
            "",
        ));
        toml.push_str(&environment(&pki, dashboard, "beta.test", "off", "", ""));
        let gw = start_gateway(&pki, &toml);
        Self { pki, gw }
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.gw.https_addr.port())
    }

    fn browser(&self) -> reqwest::Client {
        self.pki
            .client(&["alpha.test", "beta.test"], self.gw.https_addr, false)
    }

    async fn login(
        &self,
        b: &reqwest::Client,
        host: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        b.post(self.url(host, "/login"))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, b: &reqwest::Client, host: &str, path: &str) -> reqwest::Response {
        b.get(self.url(host, path)).send().await.unwrap()
    }

    async fn post(
        &self,
        b: &reqwest::Client,
        host: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        b.post(self.url(host, path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Full sign-in with TOTP enrollment on `host`; returns the seed.
    async fn enroll(
        &self,
        b: &reqwest::Client,
        host: &str,
        email: &str,
        password: &str,
    ) -> Vec<u8> {
        let base = self.url(host, "");
        let now = self.gw.auth.as_ref().unwrap().clock.now();
        crate::support::mfa::enroll_at(b, &base, email, password, now)
            .await
            .0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_follows_the_user_into_an_environment_that_does_not_require_it() {
    let t = Two::start();
    // agent2 belongs only to beta (off): the password is enough.
    let b = t.browser();
    let resp = t
        .login(&b, "beta.test", "agent2@demo.test", "agent2-pass")
        .await;
    assert_eq!(resp.status(), 302);
    crate::support::mfa::assert_released_sealed(&resp);
    assert_eq!(t.get(&b, "beta.test", "/").await.status(), 200);
    // agent1 belongs to alpha (required) too: MFA even when signing in to beta.
    let b = t.browser();
    let resp = t
        .login(&b, "beta.test", "agent1@demo.test", "agent1-pass")
        .await;
    assert_eq!(location(&resp), "/.mfagate/");
    assert!(set_cookies(&resp)
        .iter()
        .all(|c| !c.starts_with("dash_session=") && !c.starts_with("__Host-mfagate-jar")));
    // An unlisted user is an agent of the environment they sign in to.
    let b = t.browser();
    let resp = t
        .login(&b, "beta.test", "supervisor@demo.test", "supervisor-pass")
        .await;
    assert_eq!(resp.status(), 302, "auto-registered in beta only");
    stop(t.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_paths_need_a_fresh_factor_and_roles_have_their_own_methods_and_rules() {
    let t = Two::start();
    let admin = t.browser();
    // Admins here may only use the authenticator app: no choice page, straight to enrollment.
    let secret = t
        .enroll(&admin, "alpha.test", "admin@demo.test", "admin-pass")
        .await;
    assert_eq!(
        t.get(&admin, "alpha.test", "/settings/billing")
            .await
            .status(),
        200,
        "fresh MFA"
    );
    let clock = t.gw.auth.as_ref().unwrap().clock.clone();
    clock.advance(11 * 60);
    let stale = t
        .get(&admin, "alpha.test", "/settings/billing?tab=invoices")
        .await;
    assert_eq!(stale.status(), 303);
    let step_up = location(&stale);
    assert!(step_up.starts_with("/.mfagate/step-up?next="), "{step_up}");
    let xhr = admin
        .get(t.url("alpha.test", "/settings/webhooks"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(xhr.status(), 401);
    let body: serde_json::Value = xhr.json().await.unwrap();
    assert_eq!(
        (body["mfa_required"].as_bool(), body["step_up"].as_bool()),
        (Some(true), Some(true))
    );
    let page = t
        .get(&admin, "alpha.test", &step_up)
        .await
        .text()
        .await
        .unwrap();
    let code = mfagate::mfa::totp::code_at(&secret, clock.now());
    let next = crate::support::mfa::html_unescape(&crate::support::mfa::between(
        &page,
        "name=\"next\" value=\"",
        "\"",
    ));
    let done = t
        .post(
            &admin,
            "alpha.test",
            "/.mfagate/step-up",
            &[("code", &code), ("csrf", &csrf(&page)), ("next", &next)],
        )
        .await;
    assert_eq!(location(&done), "/settings/billing?tab=invoices");
    assert_eq!(
        t.get(&admin, "alpha.test", "/settings/billing")
            .await
            .status(),
        200,
        "fresh again"
    );
    // Admins may change their email address; agents may look but not post.
    let ok = t
        .post(
            &admin,
            "alpha.test",
            "/settings/profile/email",
            &[("email", "a@x.test")],
        )
        .await;
    assert_eq!(ok.status(), 200);

    let agent = t.browser();
    let resp = t
        .login(&agent, "alpha.test", "agent1@demo.test", "agent1-pass")
        .await;
    assert_eq!(location(&resp), "/.mfagate/");
    let choose = t.get(&agent, "alpha.test", "/.mfagate/").await;
    assert_eq!(
        location(&choose),
        "/.mfagate/enroll",
        "agents here have only the app (no mail configured)"
    );
    let _ = t
        .enroll(&agent, "alpha.test", "agent1@demo.test", "agent1-pass")
        .await;
    assert_eq!(
        t.get(&agent, "alpha.test", "/settings/profile/email")
            .await
            .status(),
        200,
        "GET allowed"
    );
    let denied = t
        .post(
            &agent,
            "alpha.test",
            "/settings/profile/email",
            &[("email", "me@x.test")],
        )
        .await;
    assert_eq!(denied.status(), 403, "agents may not change their email");
    stop(t.gw).await;
}
