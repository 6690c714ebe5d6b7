//! Every gateway page in a real browser, in each language, in light and in dark, at desktop
//! and phone width: axe-core finds no WCAG 2.1 AA violation, the page fits the window, has
//! one `h1` and no skipped heading level, carries `lang`, and shows no untranslated catalogue
//! key. One tour per language walks a new agent, a returning agent on a new browser, an
//! agent signing in by email and an owner through every page; screenshots of each state are
//! saved in the target dir for reviewers (not committed).
//!
//! axe-core comes from the npm registry, pinned by version and integrity, fetched by
//! `tests/run.sh` into `target/axe-core/`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use mfagate::i18n::Lang;

use crate::admin::Console;
use crate::browser::{
    assert_fits_and_headings_in_order, click, element, fill, password_login_at, wait_for_path,
};
use crate::support::browser::{emulate_scheme, Driver};
use crate::support::smtp::code_in;

const USERS: &str =
    "[[users]]\nidentity = \"owner@demo.test\"\nrole = \"owner\"\nenvironments = [\"chat\"]\n";

/// The WCAG 2.1 A and AA rules of axe-core.
const AXE_RUN: &str = "const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
                    resultTypes: ['violations'] })
  .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' +
      v.nodes.map(n => n.target.join(' ') + ' ' + n.failureSummary).join(' | '))))
  .catch(e => done(['axe failed: ' + e]));";

fn axe_source() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run tests/run.sh, which fetches the pinned axe-core from the npm \
             registry (needs npm: `apt-get install -y npm`)",
            path.display()
        )
    })
}

/// One language's tour: the browser's `Accept-Language` and what it must get.
struct Tour {
    lang: Lang,
    accept: &'static str,
    axe: String,
    /// The catalogue's keys that are no words of the language: none may show on a page.
    keys: Vec<String>,
    /// Every message of the language, for recognising a translated heading.
    messages: Vec<String>,
    /// One line per page for the report.
    report: Vec<String>,
}

impl Tour {
    fn new(lang: Lang, accept: &'static str) -> Self {
        let keys = mfagate::i18n::keys(Lang::En);
        let all: Vec<String> = keys
            .iter()
            .map(|k| mfagate::i18n::text(lang, k, &[]))
            .collect();
        // A key that is also a word of the language ("sign-in") tells nothing.
        let keys = keys
            .into_iter()
            .filter(|k| k.contains('-') && !all.iter().any(|m| m.contains(k.as_str())))
            .collect();
        let messages = all
            .into_iter()
            .filter(|m| m.len() > 3 && !m.contains('{'))
            .collect();
        Self {
            lang,
            accept,
            axe: axe_source(),
            keys,
            messages,
            report: Vec::new(),
        }
    }

    /// Audits the page the browser shows now, as `name`, in both schemes and both widths.
    async fn audit(&mut self, b: &Client, name: &str) {
        element(b, "main h1").await;
        let facts = b
            .execute(
                "return [document.documentElement.lang, document.body.innerText, \
                 document.querySelector('h1').innerText]",
                vec![],
            )
            .await
            .unwrap();
        let (lang, text, h1) = (
            facts[0].as_str().unwrap(),
            facts[1].as_str().unwrap(),
            facts[2].as_str().unwrap(),
        );
        let tag = self.lang.tag();
        assert_eq!(lang, tag, "{name}: <html lang>");
        if let Some(key) = self.keys.iter().find(|k| text.contains(k.as_str())) {
            panic!("{name} in {tag} shows the catalogue key {key}:\n{text}");
        }
        // A page about a person is titled with their name.
        assert!(
            h1.contains('@') || self.messages.iter().any(|m| h1.ends_with(m.as_str())),
            "{name}: the heading {h1:?} is not a {tag} message"
        );
        for dark in [false, true] {
            emulate_scheme(b, dark).await;
            let seen = b
                .execute(
                    "return matchMedia('(prefers-color-scheme: dark)').matches",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(seen.as_bool(), Some(dark), "{name}: colour scheme emulated");
            let scheme = if dark { "dark" } else { "light" };
            for (width, height) in [(1280, 900), (390, 844)] {
                b.set_window_size(width, height).await.unwrap();
                let at = format!("{name} ({tag}, {scheme}, {width} px)");
                assert_fits_and_headings_in_order(b, &at).await;
                let violations = self.axe(b).await;
                assert!(
                    violations.is_empty(),
                    "{at}: axe-core found {violations:#?}"
                );
                let shot = format!("audit-{tag}-{name}-{scheme}-{width}.png");
                crate::browser::save_screenshot(b, &shot).await;
            }
        }
        emulate_scheme(b, false).await;
        b.set_window_size(1280, 900).await.unwrap();
        self.report.push(format!(
            "{tag} {name}: axe 0 violations in light and dark; fits 1280 and 390 px"
        ));
    }

    /// The check can fail: a low-contrast, unlabelled field added to the page is reported.
    async fn axe_sees_a_fault(&self, b: &Client) {
        let add = "const i = document.createElement('input'); i.id = 'fault'; \
                   i.style.color = '#ccc'; i.style.background = '#fff'; i.value = 'x'; \
                   document.querySelector('main').append(i)";
        b.execute(add, vec![]).await.unwrap();
        let found = self.axe(b).await;
        assert!(
            found.iter().any(|v| v.starts_with("label")),
            "axe-core misses an unlabelled field: {found:?}"
        );
        let remove = "document.getElementById('fault').remove()";
        b.execute(remove, vec![]).await.unwrap();
        assert_eq!(self.axe(b).await, Vec::<String>::new());
    }

    async fn axe(&self, b: &Client) -> Vec<String> {
        let loaded = b
            .execute("return typeof axe === 'object'", vec![])
            .await
            .unwrap();
        if loaded.as_bool() != Some(true) {
            b.execute(&self.axe, vec![]).await.expect("axe-core loads");
        }
        let found = b.execute_async(AXE_RUN, vec![]).await.expect("axe runs");
        found
            .as_array()
            .expect("a list of violations")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    async fn visit(&mut self, c: &Console, b: &Client, path: &str, name: &str) {
        b.goto(&format!("{}{path}", c.base())).await.unwrap();
        self.audit(b, name).await;
    }
}

fn code(c: &Console, secret: &[u8]) -> String {
    mfagate::mfa::totp::code_at(secret, c.auth().clock.now())
}

async fn password_login(c: &Console, b: &Client, email: &str, password: &str) {
    password_login_at(b, &c.base(), email, password).await;
}

/// Sets up the authenticator shown on the enrolment page; returns its secret.
async fn enroll(c: &Console, b: &Client) -> Vec<u8> {
    let key = element(b, "#setup-key").await.text().await.unwrap();
    let secret = mfagate::mfa::totp::parse_setup_key(&key).unwrap();
    fill(b, "#code", &code(c, &secret)).await;
    click(b, "form[action$='enroll'] button[type=submit]").await;
    element(b, "#backup-codes").await;
    secret
}

/// The pages of one language, in the order a person meets them.
async fn tour(lang: Lang, accept: &'static str) {
    let mut t = Tour::new(lang, accept);
    let c = Console::start_with(USERS, "", "").await;
    let driver = Driver::start().await;
    let open = |name: &'static str| driver.browser_speaking(name, &["chat.test"], t.accept);

    // A new agent: the problem pages, the choice, email codes, setting up an app, backup
    // codes, then their account pages.
    let b = open("newcomer").await;
    t.visit(&c, &b, "/.mfagate/no-such-page", "not-found").await;
    t.axe_sees_a_fault(&b).await;
    t.visit(&c, &b, "/.mfagate/signed-out?why=revoked", "signed-out")
        .await;
    password_login(&c, &b, "agent1@demo.test", "agent1-pass").await;
    wait_for_path(&b, "/.mfagate/").await;
    t.audit(&b, "choose").await;
    click(&b, "#choose-email").await;
    wait_for_path(&b, "/.mfagate/email").await;
    t.audit(&b, "email").await;
    click(&b, "form[action$='email/send'] button").await;
    element(&b, "#sent").await;
    t.audit(&b, "email-sent").await;
    t.visit(&c, &b, "/.mfagate/enroll", "enroll").await;
    fill(&b, "#code", "000000").await;
    click(&b, "form[action$='enroll'] button[type=submit]").await;
    element(&b, "#error").await;
    t.audit(&b, "enroll-wrong-code").await;
    let secret = enroll(&c, &b).await;
    t.audit(&b, "backup-codes").await;
    click(&b, "button[type=submit]").await;
    wait_for_path(&b, "/").await;
    t.visit(&c, &b, "/.mfagate/devices", "devices").await;
    t.visit(&c, &b, "/.mfagate/security", "security").await;
    let replace = "/.mfagate/security/authenticator";
    t.visit(&c, &b, replace, "security-authenticator").await;
    b.close().await.unwrap();

    // The same agent on a new browser: codes, backup codes, recovery, and the block.
    let b = open("returning").await;
    password_login(&c, &b, "agent1@demo.test", "agent1-pass").await;
    wait_for_path(&b, "/.mfagate/verify").await;
    t.audit(&b, "verify").await;
    let wrong = if code(&c, &secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    fill(&b, "#code", wrong).await;
    click(&b, "button[type=submit]").await;
    element(&b, "#error").await;
    t.audit(&b, "verify-wrong-code").await;
    t.visit(&c, &b, "/.mfagate/backup", "backup").await;
    t.visit(&c, &b, "/.mfagate/recovery", "recovery").await;
    click(&b, "form[action$='recovery'] button").await;
    element(&b, "#waiting").await;
    t.audit(&b, "recovery-waiting").await;
    blocked(&c, &b, wrong).await;
    t.audit(&b, "blocked").await;
    b.close().await.unwrap();

    // An agent who signs in with an email code is offered an app.
    let b = open("by-email").await;
    password_login(&c, &b, "supervisor@demo.test", "supervisor-pass").await;
    wait_for_path(&b, "/.mfagate/").await;
    click(&b, "#choose-email").await;
    click(&b, "form[action$='email/send'] button").await;
    element(&b, "#sent").await;
    let mails = c.sink.messages();
    let code = code_in(mails.last().expect("the code email"));
    fill(&b, "#code", &code).await;
    click(&b, "form[action$='email/verify'] button").await;
    element(&b, "#setup-app").await;
    t.audit(&b, "offer").await;
    b.close().await.unwrap();

    // An owner: the console, a user, recovery requests, the activity log, a step-up.
    let b = open("owner").await;
    password_login(&c, &b, "owner@demo.test", "owner-pass").await;
    wait_for_path(&b, "/.mfagate/").await;
    click(&b, "#choose-totp").await;
    enroll(&c, &b).await;
    click(&b, "button[type=submit]").await;
    wait_for_path(&b, "/").await;
    t.visit(&c, &b, "/.mfagate/admin/", "admin-users").await;
    let user = "/.mfagate/admin/user?u=agent1%40demo.test";
    t.visit(&c, &b, user, "admin-user").await;
    t.visit(&c, &b, "/.mfagate/admin/recovery", "admin-recovery")
        .await;
    t.visit(&c, &b, "/.mfagate/admin/exports", "admin-exports")
        .await;
    t.visit(&c, &b, "/.mfagate/step-up?next=/", "step-up").await;
    b.close().await.unwrap();

    passkey_pages(&mut t, &driver).await;
    for line in &t.report {
        println!("{line}");
    }
    assert_eq!(t.report.len(), 28, "every page was audited");
    crate::support::stop(c.gw).await;
}

/// The passkey pages, on a gateway that offers passkeys, with a virtual authenticator:
/// creating one while signing in, the devices page listing it, adding another, a step-up and
/// signing in with one.
async fn passkey_pages(t: &mut Tour, driver: &Driver) {
    use crate::support::browser::add_virtual_authenticator;
    use crate::support::mfa::{Extra, MfaEnv};
    // Never trusting the browser, so the second sign-in asks for the passkey again.
    let keys = format!(
        "{}\ntrust_browser = \"never\"",
        crate::passkeys::PASSKEY_METHODS
    );
    let env = MfaEnv::start_with(Extra {
        env: &keys,
        ..Default::default()
    });
    let base = env.url("");
    let b = driver
        .browser_speaking("passkeys", &["chat.test"], t.accept)
        .await;
    add_virtual_authenticator(&b).await;
    password_login_at(&b, &base, "agent1@demo.test", "agent1-pass").await;
    wait_for_path(&b, "/.mfagate/").await;
    click(&b, "#choose-passkey").await;
    wait_for_path(&b, "/.mfagate/passkey/register").await;
    t.audit(&b, "passkey-register").await;
    element(&b, "#passkey-go:not([disabled])")
        .await
        .click()
        .await
        .unwrap();
    element(&b, "#backup-codes").await;
    click(&b, "button[type=submit]").await;
    wait_for_path(&b, "/").await;
    b.goto(&format!("{base}/.mfagate/devices")).await.unwrap();
    element(&b, "#passkeys").await;
    t.audit(&b, "devices-with-passkeys").await;
    b.goto(&format!("{base}/.mfagate/passkeys/add"))
        .await
        .unwrap();
    t.audit(&b, "passkey-add").await;
    b.goto(&format!("{base}/.mfagate/step-up?next=/"))
        .await
        .unwrap();
    element(&b, "#passkey-go").await;
    t.audit(&b, "step-up-passkey").await;
    b.goto(&format!("{base}/.mfagate/devices")).await.unwrap();
    click(&b, "form[action$='logout'] button").await;
    password_login_at(&b, &base, "agent1@demo.test", "agent1-pass").await;
    wait_for_path(&b, "/.mfagate/passkey").await;
    t.audit(&b, "passkey-sign-in").await;
    b.close().await.unwrap();
    crate::support::stop(env.gw).await;
}

/// Wrong codes until code entry is blocked (the blocked page shows).
async fn blocked(c: &Console, b: &Client, wrong: &str) {
    let blocked_title = mfagate::i18n::text(Lang::En, "blocked-title", &[]);
    for _ in 0..10 {
        b.goto(&format!("{}/.mfagate/verify", c.base()))
            .await
            .unwrap();
        let Ok(field) = b.find(Locator::Id("code")).await else {
            break;
        };
        field.send_keys(wrong).await.unwrap();
        click(b, "button[type=submit]").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if b.find(Locator::Id("code")).await.is_err() {
            break;
        }
    }
    let h1 = element(b, "h1").await.text().await.unwrap();
    assert!(
        !b.source().await.unwrap().contains("id=\"code\""),
        "code entry was never blocked ({h1}; English title {blocked_title})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_and_fits_in_english() {
    tour(Lang::En, "en-US,en;q=0.9").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_and_fits_in_indonesian() {
    tour(Lang::Id, "id-ID,id;q=0.9,en;q=0.5").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_and_fits_in_dutch() {
    tour(Lang::Nl, "nl-NL,nl;q=0.9,en;q=0.5").await;
}
