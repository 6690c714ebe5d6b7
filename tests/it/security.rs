//! The user's own security page: opting in where MFA is optional, replacing the
//! authenticator (the old one works until the new one is confirmed), turning two-step
//! verification off only where allowed and with a fresh code.

use crate::support::mfa::{
    between, config_head, csrf, environment, location, mail_extra, page, verify_at,
};
use crate::support::smtp::SmtpSink;
use crate::support::{start_gateway, stop, Pki};
use mfagate::proxy::RunningGateway;

struct Lab {
    pki: Pki,
    gw: RunningGateway,
    sink: SmtpSink,
}

impl Lab {
    async fn start(mode: &str) -> Self {
        let pki = Pki::new();
        let sink = SmtpSink::start().await;
        let (mail, methods) = mail_extra(sink.port());
        let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut toml = config_head(&pki, &mail);
        toml.push_str(&environment(
            &pki,
            dashboard,
            "chat.test",
            mode,
            methods,
            "",
        ));
        let gw = start_gateway(&pki, &toml);
        Self { pki, gw, sink }
    }

    fn url(&self, path: &str) -> String {
        format!("https://chat.test:{}{path}", self.gw.https_addr.port())
    }

    fn browser(&self) -> reqwest::Client {
        self.pki.client(&["chat.test"], self.gw.https_addr, false)
    }

    fn auth(&self) -> &mfagate::gate::auth::Auth {
        self.gw.auth.as_ref().unwrap()
    }

    fn code(&self, secret: &[u8]) -> String {
        mfagate::mfa::totp::code_at(secret, self.auth().clock.now())
    }

    async fn login(&self, browser: &reqwest::Client) -> reqwest::Response {
        let form = [("email", "agent1@demo.test"), ("password", "agent1-pass")];
        let url = self.url("/login");
        browser.post(url).form(&form).send().await.unwrap()
    }

    /// The authenticator page: scans the seed and confirms it with a code.
    async fn set_up_app(&self, browser: &reqwest::Client) -> (Vec<u8>, reqwest::Response) {
        let enroll = page(browser, &self.url("/.mfagate/security/authenticator")).await;
        let key = between(&enroll, "<code id=\"setup-key\">", "</code>");
        let secret = mfagate::mfa::totp::parse_setup_key(&key).unwrap();
        self.auth().clock.advance(30);
        let form = [("code", self.code(&secret)), ("csrf", csrf(&enroll))];
        let url = self.url("/.mfagate/security/authenticator");
        let resp = browser.post(url).form(&form).send().await.unwrap();
        (secret, resp)
    }

    /// A fresh second factor through the step-up page, returning to `next`.
    async fn step_up(&self, browser: &reqwest::Client, secret: &[u8], next: &str) {
        let form_page = page(
            browser,
            &self.url(&format!("/.mfagate/step-up?next={next}")),
        )
        .await;
        self.auth().clock.advance(30);
        let form = [
            ("code", self.code(secret)),
            ("csrf", csrf(&form_page)),
            ("next", next.to_string()),
        ];
        let done = browser
            .post(self.url("/.mfagate/step-up"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(location(&done), next, "step-up passed");
    }

    /// The status of a code from `secret` on the verify page.
    async fn verify(&self, browser: &reqwest::Client, secret: &[u8]) -> u16 {
        let resp = verify_at(browser, &self.url(""), &self.code(secret)).await;
        resp.status().as_u16()
    }

    /// The status of the dashboard's home page for `browser`.
    async fn home(&self, browser: &reqwest::Client) -> reqwest::StatusCode {
        browser.get(self.url("/")).send().await.unwrap().status()
    }

    /// Posts the turn-off form with the CSRF token of `page_with_token`.
    async fn turn_off(
        &self,
        browser: &reqwest::Client,
        page_with_token: &str,
    ) -> reqwest::Response {
        let form = [("csrf", csrf(page_with_token))];
        let url = self.url("/.mfagate/security/turn-off");
        browser.post(url).form(&form).send().await.unwrap()
    }

    async fn has_app(&self) -> bool {
        let totp = self.auth().records.totp("agent1@demo.test").await;
        totp.unwrap().is_some()
    }

    async fn audited(&self, kind: &str) -> usize {
        let events = self.auth().activity(10_000).await;
        let kinds = events
            .iter()
            .map(|e| serde_json::to_value(&e.kind).unwrap());
        kinds.filter(|k| k["event"] == kind).count()
    }

    async fn mail_count(&self, subject: &str) -> usize {
        for _ in 0..60 {
            let n = self
                .sink
                .messages()
                .iter()
                .filter(|m| m.data.contains(subject))
                .count();
            if n > 0 {
                return n;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_opts_in_replaces_the_app_and_turns_it_off_where_mfa_is_optional() {
    let lab = Lab::start("optional").await;
    let browser = lab.browser();
    let login = lab.login(&browser).await;
    assert_eq!(
        login.status(),
        302,
        "optional, no factor: no second factor asked"
    );
    let security = page(&browser, &lab.url("/.mfagate/security")).await;
    assert!(
        security.contains("not set up") && security.contains("optional"),
        "{security}"
    );

    // Opt in: an authenticator and backup codes.
    let (old, codes) = lab.set_up_app(&browser).await;
    assert_eq!(codes.status(), 200);
    assert!(codes.text().await.unwrap().contains("backup-codes"));
    assert_eq!(lab.audited("factor_added").await, 1);
    assert!(lab.mail_count("two-step verification changed").await >= 1);
    let phone = lab.browser();
    assert_eq!(
        location(&lab.login(&phone).await),
        "/.mfagate/",
        "asked on a new device now"
    );
    lab.auth().clock.advance(30);
    assert_eq!(lab.verify(&phone, &old).await, 303);

    // Replace: a fresh factor first; the old app works until the new one is confirmed.
    let first = browser
        .get(lab.url("/.mfagate/security/authenticator"))
        .send()
        .await
        .unwrap();
    assert!(
        location(&first).starts_with("/.mfagate/step-up?next="),
        "{}",
        location(&first)
    );
    lab.step_up(&browser, &old, "/.mfagate/security/authenticator")
        .await;
    let enroll = page(&browser, &lab.url("/.mfagate/security/authenticator")).await;
    assert!(enroll.contains("the old one keeps working"), "{enroll}");
    let tablet = lab.browser();
    assert_eq!(location(&lab.login(&tablet).await), "/.mfagate/");
    lab.auth().clock.advance(30);
    assert_eq!(lab.verify(&tablet, &old).await, 303, "old app still works");
    let key = between(&enroll, "<code id=\"setup-key\">", "</code>");
    let new = mfagate::mfa::totp::parse_setup_key(&key).unwrap();
    lab.auth().clock.advance(30);
    let form = [("code", lab.code(&new)), ("csrf", csrf(&enroll))];
    let url = lab.url("/.mfagate/security/authenticator");
    let replaced = browser.post(url).form(&form).send().await.unwrap();
    assert_eq!(location(&replaced), "/.mfagate/security");
    assert_eq!(lab.audited("factor_replaced").await, 1);
    let replaced_mail = "Your authenticator app was replaced with a new one";
    assert_eq!(lab.mail_count(replaced_mail).await, 1, "the user is told");
    assert!(
        lab.home(&phone).await.is_redirection(),
        "other sessions end"
    );
    assert_eq!(lab.home(&browser).await, 200, "this one lives on");
    let laptop = lab.browser();
    lab.login(&laptop).await;
    lab.auth().clock.advance(30);
    assert_eq!(lab.verify(&laptop, &old).await, 422, "old app no longer");
    assert_eq!(lab.verify(&laptop, &new).await, 303);

    // Turn off: refused without a fresh factor, and without the form's token.
    lab.auth().clock.advance(11 * 60);
    let security = page(&browser, &lab.url("/.mfagate/security")).await;
    let no_csrf = browser
        .post(lab.url("/.mfagate/security/turn-off"))
        .form(&[("x", "1")])
        .send();
    assert_eq!(no_csrf.await.unwrap().status(), 403);
    let stale = lab.turn_off(&browser, &security).await;
    assert!(
        location(&stale).starts_with("/.mfagate/step-up"),
        "needs a fresh code"
    );
    assert!(lab.has_app().await);
    lab.step_up(&browser, &new, "/.mfagate/security").await;
    let off = lab.turn_off(&browser, &security).await;
    assert_eq!(location(&off), "/.mfagate/security");
    assert!(!lab.has_app().await);
    assert_eq!(lab.audited("mfa_turned_off").await, 1);
    let after = lab.browser();
    assert_eq!(
        lab.login(&after).await.status(),
        302,
        "no second factor asked any more"
    );
    stop(lab.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_it_off_is_refused_where_mfa_is_required() {
    let lab = Lab::start("required").await;
    let browser = lab.browser();
    assert_eq!(location(&lab.login(&browser).await), "/.mfagate/");
    let now = lab.auth().clock.now();
    crate::support::mfa::enroll_pending_at(&browser, &lab.url(""), now).await;
    let security = page(&browser, &lab.url("/.mfagate/security")).await;
    assert!(
        security.contains("required") && !security.contains("id=\"turn-off\""),
        "{security}"
    );
    let devices = page(&browser, &lab.url("/.mfagate/devices")).await;
    let refused = lab.turn_off(&browser, &devices).await;
    assert_eq!(refused.status(), 403);
    assert!(lab.has_app().await);
    stop(lab.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_turns_email_codes_off_and_on_but_not_when_they_are_the_only_factor() {
    let lab = Lab::start("required").await;
    let browser = lab.browser();
    assert_eq!(location(&lab.login(&browser).await), "/.mfagate/");
    let now = lab.auth().clock.now();
    crate::support::mfa::enroll_pending_at(&browser, &lab.url(""), now).await;
    let security = page(&browser, &lab.url("/.mfagate/security")).await;
    assert!(security.contains("on, to a•••@demo.test"), "{security}");
    let off = browser
        .post(lab.url("/.mfagate/security/email"))
        .form(&[("csrf", csrf(&security))])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&off), "/.mfagate/security");
    assert_eq!(lab.audited("email_codes_set").await, 1);
    let phone = lab.browser();
    lab.login(&phone).await;
    let verify = page(&phone, &lab.url("/.mfagate/verify")).await;
    assert!(!verify.contains("use-email"), "email codes are not offered");
    let security = page(&browser, &lab.url("/.mfagate/security")).await;
    let on = browser
        .post(lab.url("/.mfagate/security/email"))
        .form(&[("csrf", csrf(&security)), ("on", "1".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&on), "/.mfagate/security");
    let verify = page(&phone, &lab.url("/.mfagate/verify")).await;
    assert!(verify.contains("use-email"), "offered again");

    // An agent who signs in by email code only may not turn it off here.
    let lone = lab.browser();
    let form = [("email", "agent2@demo.test"), ("password", "agent2-pass")];
    let login = lone
        .post(lab.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&login), "/.mfagate/");
    let email_page = page(&lone, &lab.url("/.mfagate/email")).await;
    let url = lab.url("/.mfagate/email/send");
    lone.post(url)
        .form(&[("csrf", csrf(&email_page))])
        .send()
        .await
        .unwrap();
    let code = crate::support::smtp::code_in(
        lab.sink
            .wait_for(1)
            .await
            .iter()
            .rev()
            .find(|m| {
                m.data.contains("agent2@demo.test") || m.to.iter().any(|t| t.contains("agent2"))
            })
            .unwrap(),
    );
    let email_page = page(&lone, &lab.url("/.mfagate/email")).await;
    let url = lab.url("/.mfagate/email/verify");
    let verified = lone
        .post(url)
        .form(&[("csrf", csrf(&email_page)), ("code", code)])
        .send()
        .await
        .unwrap();
    assert!(
        verified.status().is_redirection(),
        "signed in by email code"
    );
    let offer = page(&lone, &lab.url("/.mfagate/offer")).await;
    lone.post(lab.url("/.mfagate/continue"))
        .form(&[("csrf", csrf(&offer))])
        .send()
        .await
        .unwrap();
    let security = page(&lone, &lab.url("/.mfagate/security")).await;
    let refused = lone
        .post(lab.url("/.mfagate/security/email"))
        .form(&[("csrf", csrf(&security))])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "email codes are the only factor");
    stop(lab.gw).await;
}
