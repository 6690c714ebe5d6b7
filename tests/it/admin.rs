//! The admin console end to end through the gateway: who may open it, what an admin sees
//! (only the users of the environments they administer), and every action with its effect on
//! the target's sessions, factors, block, audit and email.

use crate::support::mfa::{csrf, location, mail_extra, mfa_toml_with, page, verify_at, Extra};
use crate::support::smtp::SmtpSink;
use crate::support::{start_gateway, stop, Pki};
use mfagate::proxy::RunningGateway;

const USERS: &str = "[[users]]\nidentity = \"admin@demo.test\"\nrole = \"admin\"\nenvironments = [\"chat\"]\n\
    [[users]]\nidentity = \"supervisor@demo.test\"\nrole = \"supervisor\"\nenvironments = [\"chat\"]\n\
    [[users]]\nidentity = \"agent2@demo.test\"\nrole = \"agent\"\nenvironments = [\"other\"]\n\
    [[users]]\nidentity = \"agent3@demo.test\"\nrole = \"agent\"\nenvironments = [\"chat\"]\n\
    [[users]]\nidentity = \"owner@demo.test\"\nrole = \"owner\"\nenvironments = [\"chat\"]\n";

/// A gateway in front of the demo dashboard, with mail to a sink, for console tests (also
/// the activity log's).
pub(crate) struct Console {
    pub(crate) pki: Pki,
    pub(crate) gw: RunningGateway,
    pub(crate) sink: SmtpSink,
    /// The gateway's config, as written.
    pub(crate) toml: String,
}

impl Console {
    async fn start() -> Self {
        Self::start_with(USERS, "", "").await
    }

    /// With these `[[users]]`, `top` settings (e.g. `[audit]`) and environment `env` keys.
    pub(crate) async fn start_with(users: &str, top: &str, env: &str) -> Self {
        let pki = Pki::new();
        let sink = SmtpSink::start().await;
        let (mail, methods) = mail_extra(sink.port());
        let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
        let top = format!("{mail}{top}{users}");
        let env = format!("{methods}\n{env}");
        let extra = Extra {
            top: &top,
            env: &env,
            login: "",
        };
        let toml = mfa_toml_with(&pki, dashboard, &["chat.test", "other.test"], &extra);
        let gw = start_gateway(&pki, &toml);
        Self {
            pki,
            gw,
            sink,
            toml,
        }
    }

    pub(crate) fn base(&self) -> String {
        format!("https://chat.test:{}", self.gw.https_addr.port())
    }

    pub(crate) fn browser(&self) -> reqwest::Client {
        self.pki.client(&["chat.test"], self.gw.https_addr, false)
    }

    pub(crate) fn auth(&self) -> &mfagate::gate::auth::Auth {
        self.gw.auth.as_ref().unwrap()
    }

    /// A browser signed in as `email` after enrolling an authenticator; returns its seed.
    pub(crate) async fn signed_in(
        &self,
        email: &str,
        password: &str,
    ) -> (reqwest::Client, Vec<u8>) {
        let now = self.auth().clock.now();
        let browser = self.pending(email, password).await;
        let (seed, released) =
            crate::support::mfa::enroll_pending_at(&browser, &self.base(), now).await;
        assert_eq!(released.status(), 303);
        (browser, seed)
    }

    pub(crate) async fn get(&self, browser: &reqwest::Client, path: &str) -> reqwest::Response {
        browser
            .get(format!("{}{path}", self.base()))
            .send()
            .await
            .unwrap()
    }

    /// Posts `action` on `user` with the session's CSRF token (any page has it).
    pub(crate) async fn act(
        &self,
        admin: &reqwest::Client,
        user: &str,
        action: &str,
        id: &str,
    ) -> reqwest::Response {
        let detail = page(admin, &format!("{}/.mfagate/devices", self.base())).await;
        let form = [
            ("csrf", csrf(&detail)),
            ("user", user.to_string()),
            ("action", action.to_string()),
            ("reason", "ticket 42".to_string()),
            ("id", id.to_string()),
        ];
        let url = format!("{}/.mfagate/admin/act", self.base());
        admin.post(url).form(&form).send().await.unwrap()
    }

    /// A new browser with a pending sign-in of `email` (the password accepted, a factor due).
    pub(crate) async fn pending(&self, email: &str, password: &str) -> reqwest::Client {
        let browser = self.browser();
        let login = browser
            .post(format!("{}/login", self.base()))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&login), "/.mfagate/");
        browser
    }

    /// "I can't use my authenticator": the link on the verify page, then the form.
    async fn ask_recovery(&self, browser: &reqwest::Client) -> reqwest::Response {
        let verify = page(browser, &format!("{}/.mfagate/verify", self.base())).await;
        assert!(
            verify.contains("id=\"recovery\">I can't use my authenticator"),
            "{verify}"
        );
        let url = format!("{}/.mfagate/recovery", self.base());
        browser
            .post(url)
            .form(&[("csrf", csrf(&verify))])
            .send()
            .await
            .unwrap()
    }

    /// Waits (bounded) for a mail to `to` whose subject ends with `subject`; its text.
    pub(crate) async fn mail(&self, to: &str, subject: &str) -> String {
        for _ in 0..100 {
            let found = self.sink.messages().into_iter().find(|m| {
                m.to.iter().any(|t| t.contains(to)) && m.data.contains(&format!("{subject}\n"))
            });
            if let Some(m) = found {
                return m.data;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no mail {subject:?} to {to}");
    }

    pub(crate) async fn has_totp(&self, user: &str) -> bool {
        self.auth().records.totp(user).await.unwrap().is_some()
    }

    pub(crate) async fn audited(&self, kind: &str) -> Vec<serde_json::Value> {
        crate::support::mfa::audited(self.auth(), kind).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_of_the_environment_open_the_console_and_see_its_users_only() {
    let c = Console::start().await;
    let (agent, _) = c.signed_in("agent1@demo.test", "agent1-pass").await;
    let (supervisor, _) = c.signed_in("supervisor@demo.test", "supervisor-pass").await;
    for (who, browser) in [("agent", &agent), ("supervisor", &supervisor)] {
        for path in [
            "/.mfagate/admin/",
            "/.mfagate/admin/user?u=agent1@demo.test",
            "/.mfagate/admin/recovery",
            "/.mfagate/admin/api/v1/users",
            "/.mfagate/admin/api/v1/recovery",
        ] {
            assert_eq!(c.get(browser, path).await.status(), 403, "{who} at {path}");
        }
    }
    for browser in [&agent, &supervisor] {
        let url = format!(
            "{}/.mfagate/admin/api/v1/users/agent1@demo.test/logout",
            c.base()
        );
        let post = browser
            .post(url)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            post.status(),
            403,
            "no API action for agents or supervisors"
        );
        let act = c.act(browser, "agent1@demo.test", "logout", "").await;
        assert_eq!(act.status(), 403, "no console action either");
    }
    assert_eq!(c.get(&agent, "/").await.status(), 200, "still signed in");
    let anonymous = c.get(&c.browser(), "/.mfagate/admin/").await;
    assert!(anonymous.status().is_redirection(), "to the login page");

    let (admin, _) = c.signed_in("admin@demo.test", "admin-pass").await;
    let devices = page(&admin, &format!("{}/.mfagate/devices", c.base())).await;
    assert!(
        devices.contains(">Admin console</a>"),
        "the devices page links the console: {devices}"
    );
    let list = c.get(&admin, "/.mfagate/admin/").await;
    assert_eq!(list.status(), 200);
    let html = list.text().await.unwrap();
    assert!(html.contains("agent1@demo.test"), "{html}");
    assert!(html.contains("supervisor@demo.test"));
    assert!(
        !html.contains("agent2@demo.test"),
        "a user only in another environment is not shown"
    );
    // A user in scope of the enforcement without a factor is marked with the date.
    let row = html.split("agent3@demo.test").nth(1);
    let row = row.unwrap_or_else(|| panic!("agent3 listed: {html}"));
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("signed out on 20"), "{row}");
    assert!(html.contains("have no second factor"), "the warning");
    let other = c
        .get(&admin, "/.mfagate/admin/user?u=agent2@demo.test")
        .await;
    assert_eq!(other.status(), 404);
    let refused = c.act(&admin, "agent2@demo.test", "reset", "").await;
    assert_eq!(refused.status(), 404);
    let owner = c.act(&admin, "owner@demo.test", "reset", "").await;
    assert_eq!(owner.status(), 403, "an admin does not act on an owner");
    let own = c.act(&admin, "admin@demo.test", "reset", "").await;
    assert_eq!(own.status(), 403, "no reset of oneself");
    let refusals = c.audited("admin_refused").await;
    assert_eq!(refusals.len(), 3, "{refusals:?}");
    assert_eq!(refusals[0]["actor"], "admin@demo.test");

    // Filters: search, role, "no factor".
    let search = c
        .get(&admin, "/.mfagate/admin/?q=SUPER")
        .await
        .text()
        .await
        .unwrap();
    assert!(search.contains("supervisor@demo.test") && !search.contains("agent1@demo.test"));
    let role = c
        .get(&admin, "/.mfagate/admin/?role=agent")
        .await
        .text()
        .await
        .unwrap();
    assert!(role.contains("agent1@demo.test") && !role.contains("supervisor@demo.test"));
    let none = c
        .get(&admin, "/.mfagate/admin/?no_factor=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !none.contains("agent1@demo.test"),
        "agent1 has an authenticator"
    );
    stop(c.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_resets_signs_out_and_unblocks_a_user() {
    let c = Console::start().await;
    let (agent, seed) = c.signed_in("agent1@demo.test", "agent1-pass").await;
    let (admin, _) = c.signed_in("admin@demo.test", "admin-pass").await;
    assert_eq!(c.get(&agent, "/").await.status(), 200);

    // One session revoked from the user's page.
    let sessions = c.auth().records.sessions("agent1@demo.test").await.unwrap();
    let revoked = c.act(
        &admin,
        "agent1@demo.test",
        "revoke_session",
        &sessions[0].id,
    );
    assert_eq!(revoked.await.status(), 303);
    assert!(
        c.get(&agent, "/").await.status().is_redirection(),
        "that session ended"
    );
    let agent = c.browser();
    let again = agent
        .post(format!("{}/login", c.base()))
        .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&again), "/.mfagate/");
    c.auth().clock.advance(30);
    let code = mfagate::mfa::totp::code_at(&seed, c.auth().clock.now());
    assert_eq!(verify_at(&agent, &c.base(), &code).await.status(), 303);
    assert_eq!(c.get(&agent, "/").await.status(), 200);

    // Sign out everywhere: the agent's session ends, the factor stays.
    let out = c.act(&admin, "agent1@demo.test", "logout", "").await;
    assert_eq!(out.status(), 303);
    assert!(
        c.get(&agent, "/").await.status().is_redirection(),
        "signed out"
    );
    assert!(c.has_totp("agent1@demo.test").await);
    let logouts = c.audited("admin_logout").await;
    assert_eq!(
        (logouts.len(), &logouts[0]["target"]),
        (1, &"agent1@demo.test".into())
    );
    assert_eq!(logouts[0]["reason"], "ticket 42");

    // Blocked after three wrong codes on a new browser; the admin unblocks.
    let phone = c.browser();
    let login = phone
        .post(format!("{}/login", c.base()))
        .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&login), "/.mfagate/");
    for _ in 0..3 {
        verify_at(&phone, &c.base(), "000000").await;
    }
    let list = c
        .get(&admin, "/.mfagate/admin/?blocked=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("agent1@demo.test"), "listed as blocked");
    assert_eq!(
        c.act(&admin, "agent1@demo.test", "unblock", "")
            .await
            .status(),
        303
    );
    let now = c.auth().clock.now();
    let code = mfagate::mfa::totp::code_at(&seed, now + 30);
    c.auth().clock.advance(30);
    let verified = verify_at(&phone, &c.base(), &code).await;
    assert_eq!(verified.status(), 303, "code entry works again");
    assert_eq!(c.audited("user_unblocked").await.len(), 1);

    // Reset: factor, backup codes and trusted devices gone, signed out, emailed.
    let reset = c.act(&admin, "agent1@demo.test", "reset", "").await;
    assert_eq!(reset.status(), 303);
    assert!(c.get(&agent, "/").await.status().is_redirection());
    let r = &c.auth().records;
    assert!(r.totp("agent1@demo.test").await.unwrap().is_none());
    assert!(r.backup_codes("agent1@demo.test").await.unwrap().is_none());
    assert!(r.devices("agent1@demo.test").await.unwrap().is_empty());
    let told = |m: &crate::support::smtp::Received| {
        m.to.iter().any(|t| t.contains("agent1@demo.test"))
            && m.data
                .contains("Subject: chat chat: two-step verification reset")
    };
    let mut emailed = false;
    for _ in 0..100 {
        emailed = c.sink.messages().iter().any(told);
        if emailed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(emailed, "the user is emailed");
    let resets = c.audited("mfa_reset").await;
    assert_eq!(resets[0]["actor"], "admin@demo.test");
    // At the next sign-in the agent sets up a factor again.
    let again = c.browser();
    let login = again
        .post(format!("{}/login", c.base()))
        .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&login), "/.mfagate/");
    let choose = page(&again, &format!("{}/.mfagate/", c.base())).await;
    assert!(choose.contains("Set up an authenticator app"), "{choose}");

    // An action needs a fresh second factor: later, the admin is sent to the step-up page.
    c.auth().clock.advance(11 * 60);
    let stale = c.act(&admin, "agent1@demo.test", "logout", "").await;
    assert!(
        location(&stale).starts_with("/.mfagate/step-up?next="),
        "{}",
        location(&stale)
    );
    // The API, with the admin's session: reads, but writes only with a fresh factor too.
    let api = format!("{}/.mfagate/admin/api/v1/users", c.base());
    assert_eq!(admin.get(&api).send().await.unwrap().status(), 200);
    let write = admin
        .post(format!("{api}/agent1@demo.test/logout"))
        .json(&serde_json::json!({}));
    let write = write.send().await.unwrap();
    assert_eq!(write.status(), 403);
    let body: serde_json::Value = write.json().await.unwrap();
    assert_eq!(body["error"], "step_up_required");
    stop(c.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_request_reaches_the_admins_who_approve_or_dismiss_it() {
    let c = Console::start().await;
    c.signed_in("agent1@demo.test", "agent1-pass").await;
    c.signed_in("supervisor@demo.test", "supervisor-pass").await;
    let (admin, _) = c.signed_in("admin@demo.test", "admin-pass").await;

    let lost = c.pending("agent1@demo.test", "agent1-pass").await;
    assert_eq!(location(&c.ask_recovery(&lost).await), "/.mfagate/recovery");
    let waiting = page(&lost, &format!("{}/.mfagate/recovery", c.base())).await;
    assert!(waiting.contains("id=\"waiting\""), "{waiting}");
    c.ask_recovery(&lost).await;
    assert_eq!(
        c.audited("recovery_requested").await.len(),
        1,
        "one open request per user"
    );
    let told = c
        .mail("admin@demo.test", "a user needs account recovery")
        .await;
    assert!(told.contains("agent1@demo.test"));
    c.mail("owner@demo.test", "a user needs account recovery")
        .await;

    let list = page(&admin, &format!("{}/.mfagate/admin/recovery", c.base())).await;
    assert!(
        list.contains("agent1@demo.test") && list.contains("approve_recovery"),
        "{list}"
    );
    let approved = c
        .act(&admin, "agent1@demo.test", "approve_recovery", "")
        .await;
    assert_eq!(approved.status(), 303);
    assert!(!c.has_totp("agent1@demo.test").await);
    c.mail("agent1@demo.test", "your recovery request").await;
    assert_eq!(
        c.audited("recovery_approved").await[0]["actor"],
        "admin@demo.test"
    );
    let again = c.pending("agent1@demo.test", "agent1-pass").await;
    let choose = page(&again, &format!("{}/.mfagate/", c.base())).await;
    assert!(
        choose.contains("Set up an authenticator app"),
        "enrolls anew: {choose}"
    );

    // Dismissed: the user is told, and may not ask again at once.
    let sup = c.pending("supervisor@demo.test", "supervisor-pass").await;
    c.ask_recovery(&sup).await;
    let dismissed = c
        .act(&admin, "supervisor@demo.test", "dismiss_recovery", "")
        .await;
    assert_eq!(dismissed.status(), 303);
    assert!(c.has_totp("supervisor@demo.test").await);
    let mail = c
        .mail("supervisor@demo.test", "your recovery request")
        .await;
    assert!(mail.contains("dismissed"));
    assert_eq!(
        c.ask_recovery(&sup).await.status(),
        429,
        "asked again too soon"
    );
    let twice = c
        .act(&admin, "supervisor@demo.test", "approve_recovery", "")
        .await;
    assert_eq!(
        twice.status(),
        404,
        "a decided request is not decided again"
    );
    stop(c.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_recovers_with_an_emailed_code_once_and_in_time() {
    let c = Console::start().await;
    c.signed_in("admin@demo.test", "admin-pass").await;
    let lost = c.pending("admin@demo.test", "admin-pass").await;
    assert_eq!(location(&c.ask_recovery(&lost).await), "/.mfagate/recovery");
    let mail = c
        .mail("admin@demo.test", "your account recovery code")
        .await;
    let code = crate::support::smtp::code_in(&crate::support::smtp::Received {
        from: String::new(),
        to: vec![],
        data: mail,
        encrypted: false,
    });
    let form = page(&lost, &format!("{}/.mfagate/recovery", c.base())).await;
    let confirm = |code: String, form: String| {
        let url = format!("{}/.mfagate/recovery/confirm", c.base());
        lost.post(url)
            .form(&[("csrf", csrf(&form)), ("code", code)])
            .send()
    };
    let wrong = confirm("000000".into(), form.clone()).await.unwrap();
    assert_eq!(wrong.status(), 422);
    let right = confirm(code.clone(), form.clone()).await.unwrap();
    assert_eq!(location(&right), "/.mfagate/enroll");
    assert!(!c.has_totp("admin@demo.test").await);
    let enroll = page(&lost, &format!("{}/.mfagate/enroll", c.base())).await;
    assert!(enroll.contains("setup-key"), "enrolls at once");
    c.mail("owner@demo.test", "an admin recovered their account")
        .await;
    assert_eq!(c.audited("admin_recovered").await.len(), 1);
    let reused = confirm(code, form).await.unwrap();
    assert_eq!(reused.status(), 422, "the code works once");

    // A code older than 15 minutes is refused.
    let late = c.pending("admin@demo.test", "admin-pass").await;
    c.ask_recovery(&late).await;
    let form = page(&late, &format!("{}/.mfagate/recovery", c.base())).await;
    c.auth().clock.advance(16 * 60);
    let mails = c.sink.messages();
    let last = mails
        .iter()
        .rev()
        .find(|m| m.data.contains("account recovery code"))
        .unwrap();
    let code = crate::support::smtp::code_in(last);
    let url = format!("{}/.mfagate/recovery/confirm", c.base());
    let expired = late
        .post(url)
        .form(&[("csrf", csrf(&form)), ("code", code)])
        .send();
    assert_ne!(expired.await.unwrap().status(), 303, "expired");
    stop(c.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_changes_where_a_users_codes_go_and_both_addresses_are_told() {
    let c = Console::start().await;
    c.signed_in("agent1@demo.test", "agent1-pass").await;
    let (admin, _) = c.signed_in("admin@demo.test", "admin-pass").await;
    let devices = page(&admin, &format!("{}/.mfagate/devices", c.base())).await;
    let change = |email: &str| {
        let form = [
            ("csrf", csrf(&devices)),
            ("user", "agent1@demo.test".to_string()),
            ("action", "change_email".to_string()),
            ("email", email.to_string()),
        ];
        admin
            .post(format!("{}/.mfagate/admin/act", c.base()))
            .form(&form)
            .send()
    };
    assert_eq!(change("not an address").await.unwrap().status(), 422);
    assert_eq!(change("alex.new@demo.test").await.unwrap().status(), 303);
    let old = c
        .mail("agent1@demo.test", "address for sign-in codes changed")
        .await;
    assert!(old.contains("alex.new@demo.test"));
    c.mail("alex.new@demo.test", "address for sign-in codes changed")
        .await;
    assert_eq!(
        c.audited("email_changed").await[0]["actor"],
        "admin@demo.test"
    );

    // The next email code goes to the new address.
    let phone = c.pending("agent1@demo.test", "agent1-pass").await;
    let email_page = page(&phone, &format!("{}/.mfagate/email", c.base())).await;
    assert!(email_page.contains("a•••@demo.test"), "{email_page}");
    let sent = phone
        .post(format!("{}/.mfagate/email/send", c.base()))
        .form(&[("csrf", csrf(&email_page))])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    c.mail("alex.new@demo.test", "your sign-in code").await;
    stop(c.gw).await;
}

/// The Grafana dashboard in `config/` is valid JSON and names only metrics the gateway
/// exports; the activity counters count what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_names_exported_metrics_and_the_counters_count() {
    let c = Console::start().await;
    let (_agent, _) = c.signed_in("agent1@demo.test", "agent1-pass").await;
    let (admin, _) = c.signed_in("admin@demo.test", "admin-pass").await;
    assert_eq!(
        c.act(&admin, "agent1@demo.test", "reset", "")
            .await
            .status(),
        303
    );
    let url = format!("http://{}/metrics", c.gw.admin_addr);
    let metrics = reqwest::get(url).await.unwrap().text().await.unwrap();
    for line in [
        "mfagate_logins_total{environment=\"chat\",kind=\"intercepted\"} 2",
        "mfagate_second_factors_total{environment=\"chat\",method=\"totp\",outcome=\"success\"} 2",
        "mfagate_admin_actions_total{environment=\"chat\",kind=\"mfa_reset\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line} in\n{metrics}"
        );
    }

    let gauge = |text: &str, name: &str| -> i64 {
        let line = text.lines().find(|l| l.starts_with(name));
        let value = line.and_then(|l| l.rsplit(' ').next());
        value.and_then(|v| v.parse().ok()).unwrap_or(-1)
    };
    assert!(
        gauge(
            &metrics,
            "mfagate_users_without_factor{environment=\"chat\"}"
        ) >= 1,
        "{metrics}"
    );
    assert_eq!(gauge(&metrics, "mfagate_recovery_requests_open "), 0);
    let lost = c.pending("supervisor@demo.test", "supervisor-pass").await;
    c.ask_recovery(&lost).await;
    let url = format!("http://{}/metrics", c.gw.admin_addr);
    let again = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert_eq!(
        gauge(&again, "mfagate_recovery_requests_open "),
        1,
        "read when scraped"
    );

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/grafana-dashboard.json");
    let text = std::fs::read_to_string(path).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            exprs.push(target["expr"].as_str().unwrap().to_string());
        }
    }
    exprs.push(
        dashboard["templating"]["list"][0]["query"]
            .as_str()
            .unwrap()
            .into(),
    );
    let exported: Vec<&str> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let mut named = 0;
    for expr in &exprs {
        for token in expr.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')) {
            let Some(name) = token.strip_prefix("mfagate_").map(|_| token) else {
                continue;
            };
            named += 1;
            let family = ["_bucket", "_total"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(
                exported.contains(&family) || exported.contains(&name),
                "the dashboard names {name}, which the gateway does not export: {exported:?}"
            );
        }
    }
    assert!(named >= 10, "the dashboard names the metrics ({named})");
    stop(c.gw).await;
}
