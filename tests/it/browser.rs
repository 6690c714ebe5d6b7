//! The whole MFA flow in a real browser (headless Chromium): password at the dashboard's own
//! form, TOTP enrollment on the gateway's pages, backup codes, the inbox; then a second browser
//! is asked for a code again.

use std::time::Duration;

use crate::support::browser::Driver;
use crate::support::mfa::MfaEnv;
use fantoccini::{Client, Locator};

async fn wait_for_path(browser: &Client, path: &str) {
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
async fn element(browser: &Client, css: &str) -> fantoccini::elements::Element {
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
async fn save_screenshot(browser: &Client, name: &str) {
    let shot = browser.screenshot().await.unwrap();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name),
        shot,
    )
    .unwrap();
}

async fn fill(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn password_login(t: &MfaEnv, browser: &Client, email: &str, password: &str) {
    browser.goto(&t.url("/login")).await.unwrap();
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
