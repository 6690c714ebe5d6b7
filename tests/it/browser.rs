//! The whole MFA flow in a real browser (headless Chromium): password at the dashboard's own
//! form, TOTP enrollment on the gateway's pages, backup codes, the inbox; then a second browser
//! is asked for a code again.

use std::time::Duration;

use crate::support::browser::Driver;
use crate::support::mfa::MfaEnv;
use fantoccini::{Client, Locator};

pub(crate) async fn wait_for_path(browser: &Client, path: &str) {
    for _ in 0..100 {
        if browser.current_url().await.unwrap().path() == path {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "browser never reached {path}; it is at {}",
        browser.current_url().await.unwrap()
    );
}

/// Waits (bounded) for an element on the page that is loading; shows the page if it never comes.
pub(crate) async fn element(browser: &Client, css: &str) -> fantoccini::elements::Element {
    let found = browser
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css(css))
        .await;
    match found {
        Ok(e) => e,
        Err(e) => {
            let page = browser.source().await.unwrap_or_default();
            let url = browser
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!("{css} never appeared ({e}) at {url}:\n{page}")
        }
    }
}

/// Keeps a picture of what the browser showed, for people reviewing the flow.
/// The page is no wider than the window, has exactly one `h1`, and no heading skips a level.
pub(crate) async fn assert_fits_and_headings_in_order(browser: &Client, path: &str) {
    let facts = browser
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth, \
             Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).map(h => +h.tagName[1])]",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (facts[0].as_u64().unwrap(), facts[1].as_u64().unwrap());
    assert!(
        scroll <= inner,
        "{path} is {scroll} px wide in a {inner} px window"
    );
    let levels: Vec<u64> = facts[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap())
        .collect();
    assert_eq!(
        levels.iter().filter(|l| **l == 1).count(),
        1,
        "{path}: one h1 in {levels:?}"
    );
    assert!(
        levels.windows(2).all(|w| w[1] <= w[0] + 1),
        "{path}: a heading level is skipped in {levels:?}"
    );
}

pub(crate) async fn save_screenshot(browser: &Client, name: &str) {
    let shot = browser.screenshot().await.unwrap();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name),
        shot,
    )
    .unwrap();
}

pub(crate) async fn fill(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

pub(crate) async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn password_login(t: &MfaEnv, browser: &Client, email: &str, password: &str) {
    password_login_at(browser, &t.url(""), email, password).await;
}

/// The password at the dashboard's own login form of the gateway at `base`.
pub(crate) async fn password_login_at(browser: &Client, base: &str, email: &str, password: &str) {
    browser.goto(&format!("{base}/login")).await.unwrap();
    fill(browser, "input[name=email]", email).await;
    fill(browser, "input[name=password]", password).await;
    click(browser, "button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_enrolls_totp_in_a_browser_and_reaches_the_inbox() {
    let t = MfaEnv::start();
    let driver = Driver::start().await;
    let browser = driver.browser("first", &["chat.test"]).await;

    password_login(&t, &browser, "agent1@demo.test", "agent1-pass").await;
    wait_for_path(&browser, "/.mfagate/enroll").await;
    let qr = browser.find(Locator::Css("img.qr")).await.unwrap();
    assert!(qr
        .attr("src")
        .await
        .unwrap()
        .unwrap()
        .starts_with("data:image/svg+xml;base64,"));
    // The browser decoded and laid out the image (not a broken-image placeholder).
    let decoded = browser
        .execute(
            "return document.querySelector('img.qr').naturalWidth",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        decoded.as_u64().unwrap_or(0) > 100,
        "QR image not rendered: {decoded}"
    );
    save_screenshot(&browser, "browser-enroll.png").await;
    let key = browser
        .find(Locator::Id("setup-key"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = mfagate::mfa::totp::parse_setup_key(&key).unwrap();
    let label = browser.find(Locator::Css("label[for=code]")).await.unwrap();
    assert!(
        !label.text().await.unwrap().is_empty(),
        "the code field is labelled"
    );
    let input = browser.find(Locator::Id("code")).await.unwrap();
    assert_eq!(
        input.attr("autocomplete").await.unwrap().as_deref(),
        Some("one-time-code")
    );
    assert_eq!(
        input.attr("inputmode").await.unwrap().as_deref(),
        Some("numeric")
    );

    // A wrong code first: same page, an error, no detail.
    fill(&browser, "#code", "000000").await;
    click(&browser, "button[type=submit]").await;
    let error = element(&browser, "#error").await.text().await.unwrap();
    assert!(error.contains("did not match"), "{error}");

    fill(&browser, "#code", &t.code(&secret)).await;
    click(&browser, "button[type=submit]").await;
    element(&browser, "#backup-codes").await;
    let codes = browser
        .find_all(Locator::Css("#backup-codes li"))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    click(&browser, "button[type=submit]").await;
    wait_for_path(&browser, "/").await;
    let me = browser
        .find(Locator::Id("me"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(me, "agent1@demo.test");
    save_screenshot(&browser, "browser-inbox.png").await;
    browser.close().await.unwrap();

    // A second browser: the password alone is not enough.
    let second = driver.browser("second", &["chat.test"]).await;
    password_login(&t, &second, "agent1@demo.test", "agent1-pass").await;
    wait_for_path(&second, "/.mfagate/verify").await;
    t.next_step();
    fill(&second, "#code", &t.code(&secret)).await;
    click(&second, "button[type=submit]").await;
    wait_for_path(&second, "/").await;
    second.close().await.unwrap();
}

/// Whether `user`'s authenticator is gone within a few seconds (the browser's post lands).
async fn factor_gone(t: &MfaEnv, user: &str) -> bool {
    for _ in 0..100 {
        if t.auth().records.totp(user).await.unwrap().is_none() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The admin console in a real browser, at desktop width and at 390 px: from the devices page
/// to the users, a search, a reset, and the approval of a recovery request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_resets_a_user_and_approves_a_recovery_request_in_a_browser() {
    use crate::support::mfa::{csrf, enroll_pending_at, page, Extra};
    let users =
        "[[users]]\nidentity = \"admin@demo.test\"\nrole = \"admin\"\nenvironments = [\"chat\"]\n";
    let t = MfaEnv::start_with(Extra {
        top: users,
        ..Extra::default()
    });
    // An agent with a factor, and a supervisor who asks for recovery (plain HTTP clients).
    for (email, password) in [
        ("agent1@demo.test", "agent1-pass"),
        ("supervisor@demo.test", "supervisor-pass"),
    ] {
        let client = t.browser();
        t.login(&client, email, password).await;
        enroll_pending_at(&client, &t.url(""), t.auth().clock.now()).await;
    }
    let lost = t.browser();
    t.login(&lost, "supervisor@demo.test", "supervisor-pass")
        .await;
    let verify = page(&lost, &t.url("/.mfagate/verify")).await;
    let asked = lost
        .post(t.url("/.mfagate/recovery"))
        .form(&[("csrf", csrf(&verify))])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303);

    let driver = Driver::start().await;
    let browser = driver.browser("admin", &["chat.test"]).await;
    browser.set_window_size(1280, 900).await.unwrap();
    password_login(&t, &browser, "admin@demo.test", "admin-pass").await;
    wait_for_path(&browser, "/.mfagate/enroll").await;
    let key = element(&browser, "#setup-key").await.text().await.unwrap();
    let secret = mfagate::mfa::totp::parse_setup_key(&key).unwrap();
    t.next_step();
    fill(&browser, "#code", &t.code(&secret)).await;
    click(&browser, "button[type=submit]").await;
    element(&browser, "#backup-codes").await;
    click(&browser, "button[type=submit]").await;
    wait_for_path(&browser, "/").await;

    browser.goto(&t.url("/.mfagate/devices")).await.unwrap();
    click(&browser, "a[href$='admin/']").await;
    wait_for_path(&browser, "/.mfagate/admin/").await;
    let listed = element(&browser, "table").await.text().await.unwrap();
    assert!(
        listed.contains("agent1@demo.test") && listed.contains("supervisor@demo.test"),
        "{listed}"
    );
    save_screenshot(&browser, "admin-users-desktop.png").await;
    fill(&browser, "#q", "agent1").await;
    click(&browser, ".filters button").await;
    for _ in 0..100 {
        if browser
            .current_url()
            .await
            .unwrap()
            .query()
            .is_some_and(|q| q.contains("q=agent1"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let filtered = element(&browser, "table").await.text().await.unwrap();
    assert!(
        filtered.contains("agent1@demo.test") && !filtered.contains("supervisor@demo.test"),
        "{filtered}"
    );

    click(&browser, "a[href*='agent1']").await;
    wait_for_path(&browser, "/.mfagate/admin/user").await;
    fill(&browser, "#reason", "lost phone").await;
    click(&browser, "button[value=reset]").await;
    wait_for_path(&browser, "/.mfagate/admin/user").await;
    assert!(factor_gone(&t, "agent1@demo.test").await, "reset");

    browser
        .goto(&t.url("/.mfagate/admin/recovery"))
        .await
        .unwrap();
    let requests = element(&browser, "table").await.text().await.unwrap();
    assert!(requests.contains("supervisor@demo.test"), "{requests}");
    click(&browser, "button[value=approve_recovery]").await;
    assert!(
        factor_gone(&t, "supervisor@demo.test").await,
        "approved: reset"
    );

    // At desktop and at a phone's width every page stays within the screen and has one
    // title heading with no level skipped; a screenshot of each is saved for reviewers in
    // the target dir (not committed).
    for (width, height) in [(1280, 900), (390, 844)] {
        browser.set_window_size(width, height).await.unwrap();
        for path in [
            "/.mfagate/admin/",
            "/.mfagate/admin/user?u=agent1%40demo.test",
            "/.mfagate/admin/recovery",
            "/.mfagate/admin/exports",
            "/.mfagate/devices",
            "/.mfagate/security",
            "/.mfagate/no-such-page",
        ] {
            browser.goto(&t.url(path)).await.unwrap();
            element(&browser, "main").await;
            assert_fits_and_headings_in_order(&browser, path).await;
            let name: String = path
                .trim_start_matches("/.mfagate/")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            save_screenshot(&browser, &format!("page-{name}-{width}.png")).await;
        }
    }
    save_screenshot(&browser, "admin-users-390.png").await;
    browser.close().await.unwrap();
}

/// The security page in a real browser at desktop width and at 390 px: a user of an
/// environment where MFA is optional opts in with an authenticator app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_opts_in_on_the_security_page_in_a_browser() {
    use crate::support::mfa::{config_head, environment};
    use crate::support::{start_gateway, Pki};
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut toml = config_head(&pki, "");
    toml.push_str(&environment(
        &pki,
        dashboard,
        "chat.test",
        "optional",
        "",
        "",
    ));
    let gw = start_gateway(&pki, &toml);
    let base = format!("https://chat.test:{}", gw.https_addr.port());
    let driver = Driver::start().await;
    let browser = driver.browser("optional", &["chat.test"]).await;
    browser.goto(&format!("{base}/login")).await.unwrap();
    fill(&browser, "input[name=email]", "agent1@demo.test").await;
    fill(&browser, "input[name=password]", "agent1-pass").await;
    click(&browser, "button[type=submit]").await;
    wait_for_path(&browser, "/").await;

    for (width, height) in [(1280, 900), (390, 844)] {
        browser.set_window_size(width, height).await.unwrap();
        browser
            .goto(&format!("{base}/.mfagate/security"))
            .await
            .unwrap();
        let factor = element(&browser, "#authenticator")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(factor, "not set up");
        assert_fits_and_headings_in_order(&browser, "/.mfagate/security").await;
        save_screenshot(&browser, &format!("security-{width}.png")).await;
    }
    click(&browser, "#authenticator-link").await;
    wait_for_path(&browser, "/.mfagate/security/authenticator").await;
    let key = element(&browser, "#setup-key").await.text().await.unwrap();
    let secret = mfagate::mfa::totp::parse_setup_key(&key).unwrap();
    let auth = gw.auth.as_ref().unwrap();
    fill(
        &browser,
        "#code",
        &mfagate::mfa::totp::code_at(&secret, auth.clock.now()),
    )
    .await;
    click(&browser, "button[type=submit]").await;
    element(&browser, "#backup-codes").await;
    click(&browser, "button[type=submit]").await;
    wait_for_path(&browser, "/.mfagate/security").await;
    let factor = element(&browser, "#authenticator")
        .await
        .text()
        .await
        .unwrap();
    assert!(factor.starts_with("added "), "{factor}");
    browser.close().await.unwrap();
    crate::support::stop(gw).await;
}
