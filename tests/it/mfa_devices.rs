//! Device trust, revocation, logout and restarts.

use crate::support::mfa::{
    csrf, gateway_cookie_header, location, sealed_dash_cookie, set_cookies, MfaEnv,
};

/// Logs `browser` in fully (enrolling on first use) and returns the TOTP seed.
async fn signed_in(t: &MfaEnv, browser: &reqwest::Client, email: &str, password: &str) -> Vec<u8> {
    let (secret, _, page) = t.login_and_enroll(browser, email, password).await;
    let resp = t
        .post(browser, "/.mfagate/continue", &[("csrf", &csrf(&page))])
        .await;
    assert_eq!(resp.status(), 303);
    secret
}

/// The sealed jar cookie a response sets when it releases the dashboard session.
fn dash_cookie(resp: &reqwest::Response) -> Option<String> {
    set_cookies(resp)
        .into_iter()
        .find(|c| c.starts_with("__Host-mfagate-jar0="))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_browser_passes_mfa_and_trust_expires_or_is_revoked() {
    let t = MfaEnv::start();
    let laptop = t.browser();
    let secret = signed_in(&t, &laptop, "agent2@demo.test", "agent2-pass").await;

    // Same browser within trust: the dashboard session comes straight back.
    let again = t.login(&laptop, "agent2@demo.test", "agent2-pass").await;
    assert_eq!(again.status(), 302);
    assert!(
        dash_cookie(&again).is_some(),
        "trusted device passes through"
    );

    // Another browser (new cookie jar) must pass MFA itself.
    let phone = t.browser();
    let resp = t.login(&phone, "agent2@demo.test", "agent2-pass").await;
    assert_eq!(location(&resp), "/.mfagate/");
    assert!(dash_cookie(&resp).is_none());
    t.next_step();
    let resp = t.verify(&phone, &t.code(&secret)).await;
    assert_eq!(resp.status(), 303);
    assert!(dash_cookie(&resp).is_some());

    // The laptop revokes the phone from the devices page; the phone's session ends and its
    // next login needs MFA again.
    let page = t
        .get(&laptop, "/.mfagate/devices")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("(this browser)"), "{page}");
    let phone_page = t
        .get(&phone, "/.mfagate/devices")
        .await
        .text()
        .await
        .unwrap();
    // The row marked "(this browser)" on the phone's own page is the phone's device.
    let phone_device = crate::support::mfa::between(
        &phone_page[phone_page.find("(this browser)").expect("device row")..],
        "name=\"id\" value=\"",
        "\"",
    );
    let resp = t
        .post(
            &laptop,
            "/.mfagate/devices/revoke",
            &[
                ("csrf", &csrf(&page)),
                ("kind", "device"),
                ("id", &phone_device),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let inbox = t.get(&phone, "/").await;
    assert_eq!(
        location(&inbox),
        "/.mfagate/signed-out?why=revoked",
        "a revoked session's credential no longer reaches the dashboard; the browser is told why"
    );
    // Told once (the cookie is cleared): then the dashboard's login, as for anyone.
    assert_eq!(location(&t.get(&phone, "/").await), "/login");
    let resp = t.login(&phone, "agent2@demo.test", "agent2-pass").await;
    assert_eq!(location(&resp), "/.mfagate/", "revoked device asks again");

    // Trust expires with time (30 days by default).
    t.auth().clock.advance(31 * 86_400);
    let resp = t.login(&laptop, "agent2@demo.test", "agent2-pass").await;
    assert_eq!(location(&resp), "/.mfagate/", "expired trust asks again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollments_and_trusted_devices_survive_a_restart() {
    let t = MfaEnv::start();
    let browser = t.browser();
    let secret = signed_in(&t, &browser, "admin@demo.test", "admin-pass").await;
    let t = t.restart();
    let again = t.login(&browser, "admin@demo.test", "admin-pass").await;
    assert_eq!(again.status(), 302, "trusted device remembered");
    let other = t.browser();
    let resp = t.login(&other, "admin@demo.test", "admin-pass").await;
    assert_eq!(location(&resp), "/.mfagate/");
    let resp = t.get(&other, "/.mfagate/").await;
    assert_eq!(location(&resp), "/.mfagate/verify", "enrollment remembered");
    t.next_step();
    assert_eq!(t.verify(&other, &t.code(&secret)).await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_gateway_and_dashboard_sessions() {
    let t = MfaEnv::start();
    let browser = t.browser();
    let (_, _, page) = t
        .login_and_enroll(&browser, "supervisor@demo.test", "supervisor-pass")
        .await;
    let resp = t
        .post(&browser, "/.mfagate/continue", &[("csrf", &csrf(&page))])
        .await;
    let dash_pair = sealed_dash_cookie(t.auth(), &resp).expect("released into the jar");
    let page = t
        .get(&browser, "/.mfagate/devices")
        .await
        .text()
        .await
        .unwrap();
    let resp = t
        .post(&browser, "/.mfagate/logout", &[("csrf", &csrf(&page))])
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/login");
    let cleared = set_cookies(&resp);
    assert!(cleared
        .iter()
        .any(|c| c.starts_with("__Host-mfagate=;") && c.contains("Max-Age=0")));
    assert!(cleared
        .iter()
        .any(|c| c.starts_with("__Host-mfagate-jar0=;") && c.contains("Max-Age=0")));
    // The dashboard itself no longer knows that session: its logout endpoint was called with
    // the withheld credential (checked directly against the dashboard, bypassing the gateway).
    let direct = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://{}/", t.dashboard))
        .header("cookie", dash_pair)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 302, "dashboard session ended");
    let events = t.auth().activity(100).await;
    assert!(events
        .iter()
        .any(|e| matches!(e.kind, mfagate::audit::EventKind::Logout)));
}

/// The dashboard's own "Sign out" (its configured `logout` route, requested by the browser)
/// ends the gateway session too: no ghost session stays on the devices page, the gateway's
/// cookies are cleared, and the dashboard's answer reaches the browser whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_own_sign_out_ends_the_gateway_session() {
    let t = MfaEnv::start();
    let browser = t.browser();
    signed_in(&t, &browser, "agent1@demo.test", "agent1-pass").await;
    let user = "agent1@demo.test";
    assert_eq!(t.auth().records.sessions(user).await.unwrap().len(), 1);
    assert_eq!(t.get(&browser, "/").await.status(), 200, "signed in");

    // A sign-out the dashboard did not accept (this one routes strictly: 404) ends nothing.
    let refused = t.post(&browser, "/Logout/", &[]).await;
    assert_eq!(refused.status(), 404);
    assert_eq!(t.auth().records.sessions(user).await.unwrap().len(), 1);

    // The dashboard's own sign-out.
    let resp = t.post(&browser, "/logout", &[]).await;
    assert_eq!(resp.status(), 302, "the dashboard's own answer");
    assert_eq!(location(&resp), "/login");
    let cleared = set_cookies(&resp);
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("__Host-mfagate=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    assert!(
        t.auth().records.sessions(user).await.unwrap().is_empty(),
        "no ghost session"
    );
    let after = t.get(&browser, "/").await;
    assert_ne!(after.status(), 200, "signed out at the gateway too");
    let events = t.auth().activity(200).await;
    assert!(events
        .iter()
        .any(|e| matches!(e.kind, mfagate::audit::EventKind::Logout)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_after_idle_or_absolute_limits() {
    let t = MfaEnv::start();
    let browser = t.browser();
    signed_in(&t, &browser, "agent1@demo.test", "agent1-pass").await;
    assert_eq!(t.get(&browser, "/").await.status(), 200);
    // 20 of 30 idle minutes: still fine, and the cookie is re-issued to slide the deadline.
    t.auth().clock.advance(20 * 60);
    let resp = t.get(&browser, "/").await;
    assert_eq!(resp.status(), 200);
    assert!(
        set_cookies(&resp)
            .iter()
            .any(|c| c.starts_with("__Host-mfagate=")),
        "idle refresh"
    );
    t.auth().clock.advance(20 * 60);
    assert_eq!(
        t.get(&browser, "/").await.status(),
        200,
        "active use keeps it alive"
    );
    // 31 idle minutes: gone; the request reaches the dashboard without its credential.
    t.auth().clock.advance(31 * 60);
    let resp = t.get(&browser, "/").await;
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), "/login");

    // Activity cannot extend past the absolute limit (12 h).
    let other = t.browser();
    t.login(&other, "agent1@demo.test", "agent1-pass").await; // trusted? no: new browser
    t.next_step();
    let secret_totp = t
        .auth()
        .records
        .totp("agent1@demo.test")
        .await
        .unwrap()
        .unwrap();
    let secret = t
        .auth()
        .records
        .totp_secret("agent1@demo.test", &secret_totp)
        .unwrap();
    assert_eq!(t.verify(&other, &t.code(&secret)).await.status(), 303);
    let mut minutes = 0;
    while minutes < 13 * 60 && t.get(&other, "/").await.status() == 200 {
        t.auth().clock.advance(25 * 60);
        minutes += 25;
    }
    assert!(
        (12 * 60..12 * 60 + 25).contains(&minutes),
        "kept alive by activity until the 12 h absolute limit, ended after {minutes} min"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_deny_admits_only_public_paths() {
    let t = MfaEnv::start_with(crate::support::mfa::Extra {
        login: "anonymous = \"deny\"\npublic_paths = [\"/static/*\"]\nnext_param = \"return_to\"",
        ..Default::default()
    });
    let browser = t.browser();
    for (path, want) in [
        ("/", 303),
        ("/settings/billing", 303),
        ("/login", 200),
        ("/static/app.css", 200),
    ] {
        assert_eq!(t.get(&browser, path).await.status(), want, "{path}");
    }
    // The page asked for goes along to the login page, in the dashboard's parameter name.
    let sent = t.get(&browser, "/settings/billing?tab=1").await;
    assert_eq!(
        crate::support::mfa::location(&sent),
        "/login?return_to=%2Fsettings%2Fbilling%3Ftab%3D1"
    );
    let api = browser
        .get(t.url("/api/v1/me"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    signed_in(&t, &browser, "agent2@demo.test", "agent2-pass").await;
    assert_eq!(t.get(&browser, "/settings/billing").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_backup_codes_need_a_fresh_factor_and_replace_the_old_ones() {
    let t = MfaEnv::start();
    let browser = t.browser();
    let (secret, old_codes, page) = t
        .login_and_enroll(&browser, "admin@demo.test", "admin-pass")
        .await;
    t.post(&browser, "/.mfagate/continue", &[("csrf", &csrf(&page))])
        .await;
    let devices = t
        .get(&browser, "/.mfagate/devices")
        .await
        .text()
        .await
        .unwrap();
    assert!(devices.contains("Backup codes left: 10"), "{devices}");
    let wrong = t
        .post(
            &browser,
            "/.mfagate/backup-codes",
            &[("csrf", &csrf(&devices)), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    t.next_step();
    let resp = t
        .post(
            &browser,
            "/.mfagate/backup-codes",
            &[("csrf", &csrf(&devices)), ("code", &t.code(&secret))],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert_eq!(page.matches("<li><code>").count(), 10);
    let codes = t
        .auth()
        .records
        .backup_codes("admin@demo.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(codes.generation, 2);
    assert!(
        codes.verify(&old_codes[0], 0).is_none(),
        "old codes no longer work"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_all_of_a_users_sessions_ends_them_and_their_websockets() {
    use futures_util::StreamExt;
    let t = MfaEnv::start();
    let laptop = t.browser();
    let (secret, _, page) = t
        .login_and_enroll(&laptop, "agent1@demo.test", "agent1-pass")
        .await;
    let released = t
        .post(&laptop, "/.mfagate/continue", &[("csrf", &csrf(&page))])
        .await;
    let cookies = gateway_cookie_header(&released);
    let phone = t.browser();
    t.login(&phone, "agent1@demo.test", "agent1-pass").await;
    t.next_step();
    assert_eq!(t.verify(&phone, &t.code(&secret)).await.status(), 303);

    let mut ws = t
        .pki
        .open_ws(t.gw.https_addr, "chat.test", &cookies)
        .await
        .unwrap();

    // A long poll of the chat waits at the dashboard meanwhile.
    let poll = {
        let (laptop, url) = (laptop.clone(), t.url("/api/v1/poll"));
        tokio::spawn(async move {
            laptop
                .get(url)
                .header("sec-fetch-mode", "cors")
                .send()
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let ctx = t.auth().background_context("demo");
    t.auth()
        .end_all(
            "agent1@demo.test",
            mfagate::gate::lifecycle::EndReason::AllSessions(
                mfagate::gate::lifecycle::AllEnd::AdminSignOut,
            ),
            ctx,
        )
        .await
        .unwrap();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    assert!(closed.is_ok(), "WebSocket closed");
    let poll = tokio::time::timeout(std::time::Duration::from_secs(1), poll)
        .await
        .expect("long poll ended within 1 s")
        .unwrap()
        .unwrap();
    assert_eq!(
        poll.status(),
        401,
        "a refused poll is told in JSON, not redirected"
    );
    assert_eq!(
        poll.headers()["content-type"],
        "application/json",
        "not a browser navigation"
    );
    for browser in [&laptop, &phone] {
        let resp = t.get(browser, "/").await;
        let told = "/.mfagate/signed-out?why=admin";
        assert_eq!(location(&resp), told, "every session of the user ended");
    }
}
