//! The gateway's pages as a person meets them: the environment's branding on every page
//! (errors included), how many tries are left before a block, no alarming email for mistakes
//! while setting up, a confirmation after a revoke, and a backup-code file that says what it is.

use crate::admin::Console;
use crate::support::mfa::{between, csrf, enroll_to_codes, html_unescape, page};
use crate::support::stop;

const LOGO: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\"/></svg>";

async fn branded() -> (Console, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    std::fs::write(&logo, LOGO).unwrap();
    let env = format!(
        "[environments.branding]\nlogo = \"{}\"\ncolor = \"#0B6E4F\"\nsupport = \"it-help@acme.test\"",
        logo.display()
    );
    (Console::start_with("", "", &env).await, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_carries_the_environments_branding_and_a_way_back() {
    let (c, _dir) = branded().await;
    let (agent, _) = c.signed_in("agent1@demo.test", "agent1-pass").await;
    let devices = html_unescape(&page(&agent, &format!("{}/.mfagate/devices", c.base())).await);
    let missing = c.get(&agent, "/.mfagate/no-such-page").await;
    assert_eq!(missing.status(), 404);
    let missing = html_unescape(&missing.text().await.unwrap());
    for (name, html) in [("devices", &devices), ("404", &missing)] {
        assert!(
            html.contains("<img src=\"/.mfagate/static/logo\""),
            "{name}: {html}"
        );
        assert!(html.contains("static/brand.css"), "{name}");
        assert!(
            html.contains("<a href=\"mailto:it-help@acme.test\">it-help@acme.test</a>"),
            "{name}"
        );
        assert!(
            html.contains("<a href=\"/\">Back to chat chat</a>"),
            "{name}"
        );
        assert!(html.contains("<html lang=\"en\">"), "{name}");
    }
    assert!(devices.contains("href=\"/.mfagate/devices\">Your sessions and devices"));
    assert!(
        devices.contains("aria-label=\"Sign out Unknown client on unknown OS, started "),
        "row buttons name their row: {devices}"
    );

    let css = c.get(&agent, "/.mfagate/static/brand.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains("--primary:#0b6e4f"));
    let logo = c.get(&agent, "/.mfagate/static/logo").await;
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
    let policy = logo.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("sandbox") && policy.contains("default-src 'none'"),
        "{policy}"
    );
    assert_eq!(logo.text().await.unwrap(), LOGO);
    // The emails carry the support contact too.
    let mail = c.mail("agent1@demo.test", "new device signed in").await;
    assert!(
        mail.contains("Need help? Contact it-help@acme.test."),
        "{mail}"
    );
    stop(c.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_say_how_many_tries_are_left_and_setup_mistakes_send_no_alarm() {
    let c = Console::start_with("", "", "").await;
    // Setting up: three wrong confirming codes block, with a countdown and without the
    // "someone may know your password" email.
    let browser = c.pending("agent1@demo.test", "agent1-pass").await;
    let url = format!("{}/.mfagate/enroll", c.base());
    let mut said = Vec::new();
    for _ in 0..3 {
        let form = page(&browser, &url).await;
        let resp = browser
            .post(&url)
            .form(&[("code", "000000"), ("csrf", &csrf(&form))])
            .send()
            .await
            .unwrap();
        said.push((resp.status().as_u16(), resp.text().await.unwrap()));
    }
    assert!(
        said[0]
            .1
            .contains("2 tries left before code entry is paused"),
        "{}",
        said[0].1
    );
    assert!(
        said[0].1.contains("aria-describedby=\"error\""),
        "the error is tied to the field"
    );
    assert!(said[1].1.contains("1 try left"), "{}", said[1].1);
    assert_eq!(said[2].0, 429, "the third blocks");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let alarms = c
        .sink
        .messages()
        .into_iter()
        .filter(|m| m.data.contains("sign-in codes blocked"));
    assert_eq!(alarms.count(), 0, "no alarm for setup mistakes");
    stop(c.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_is_confirmed_and_backup_codes_download_as_a_file_that_says_what_it_is() {
    let c = Console::start_with("", "", "").await;
    let (laptop, _) = c.signed_in("agent1@demo.test", "agent1-pass").await;
    let sessions = c.auth().records.sessions("agent1@demo.test").await.unwrap();
    let devices = page(&laptop, &format!("{}/.mfagate/devices", c.base())).await;
    assert!(
        !devices.contains("class=\"done\""),
        "nothing to confirm yet"
    );
    // The confirmation the revoke redirects to (fixed texts; nothing from the URL is shown).
    let told = page(
        &laptop,
        &format!("{}/.mfagate/devices?done=session", c.base()),
    )
    .await;
    assert!(
        told.contains("<p class=\"done\" role=\"status\">The session was signed out.</p>"),
        "{told}"
    );
    let odd = page(
        &laptop,
        &format!("{}/.mfagate/devices?done=%3Cscript%3E", c.base()),
    )
    .await;
    assert!(!odd.contains("class=\"done\"") && !odd.contains("<script>"));
    let form = [
        ("csrf", csrf(&devices)),
        ("kind", "device".into()),
        ("id", sessions[0].device_id.clone()),
    ];
    let revoked = laptop
        .post(format!("{}/.mfagate/devices/revoke", c.base()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        revoked.headers()["location"],
        "/.mfagate/devices?done=device"
    );

    // Enrolment's backup codes: the download names the service, the account and the date.
    let browser = c.pending("supervisor@demo.test", "supervisor-pass").await;
    let now = c.auth().clock.now();
    let (_, enroll, codes) = enroll_to_codes(&browser, &c.base(), now).await;
    assert!(
        html_unescape(&enroll).contains("href=\"otpauth://totp/"),
        "a link for the phone that holds the app"
    );
    let href = html_unescape(&between(
        &codes,
        "href=\"data:text/plain;charset=utf-8,",
        "\"",
    ));
    let file = percent_encoding::percent_decode_str(&href)
        .decode_utf8()
        .unwrap()
        .to_string();
    assert!(file.starts_with("Backup codes for chat chat"), "{file}");
    assert!(
        file.contains("Account: supervisor@demo.test") && file.contains("Made: 20"),
        "{file}"
    );
    assert!(file.contains("Each code works once"), "{file}");
    stop(c.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchecked_trust_box_leaves_the_browser_untrusted() {
    let c = Console::start_with("", "", "").await;
    let auth = c.auth();
    for (user, password, checked) in [
        ("agent1@demo.test", "agent1-pass", false),
        ("supervisor@demo.test", "supervisor-pass", true),
    ] {
        let browser = c.pending(user, password).await;
        let (_, _, codes) = enroll_to_codes(&browser, &c.base(), auth.clock.now()).await;
        assert!(codes.contains("Trust this browser for 30 days"), "{codes}");
        let mut form = vec![("csrf", csrf(&codes)), ("trust_asked", "1".into())];
        if checked {
            form.push(("trust", "1".into()));
        }
        let url = format!("{}/.mfagate/continue", c.base());
        let released = browser.post(url).form(&form).send().await.unwrap();
        assert_eq!(released.status(), 303, "{user} signed in either way");
        let device_cookie = released
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("__Host-mfagate-device="));
        let devices = auth.records.devices(user).await.unwrap();
        assert_eq!(
            (device_cookie, devices.len()),
            (checked, usize::from(checked)),
            "{user}"
        );
        assert_eq!(
            c.get(&browser, "/").await.status(),
            200,
            "{user} is signed in"
        );
    }
    stop(c.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signed_out_elsewhere_is_told_why_once() {
    let admin_user =
        "[[users]]\nidentity = \"admin@demo.test\"\nrole = \"admin\"\nenvironments = [\"chat\"]\n";
    let c = Console::start_with(admin_user, "", "").await;
    let (agent, _) = c.signed_in("agent1@demo.test", "agent1-pass").await;
    let (admin, _) = c.signed_in("admin@demo.test", "admin-pass").await;
    assert_eq!(c.get(&agent, "/").await.status(), 200);
    let reset = c.act(&admin, "agent1@demo.test", "reset", "").await;
    assert_eq!(reset.status(), 303);

    let back = c.get(&agent, "/inbox").await;
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["location"], "/.mfagate/signed-out?why=reset");
    let cleared = back.headers().get_all("set-cookie").iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("__Host-mfagate=;") && v.contains("Max-Age=0")
    });
    assert!(cleared, "the ended session's cookie is cleared");
    let told = page(
        &agent,
        &format!("{}/.mfagate/signed-out?why=reset", c.base()),
    )
    .await;
    assert!(
        told.contains(
            "You were signed out because an administrator reset your two-step verification"
        ),
        "{told}"
    );
    assert!(told.contains(">Sign in again</a>"), "{told}");
    let unknown = page(
        &agent,
        &format!("{}/.mfagate/signed-out?why=%3Cb%3E", c.base()),
    )
    .await;
    assert!(unknown.contains("because your session was ended.") && !unknown.contains("<b>"));
    // Told once: the next request is an anonymous one, as usual.
    let again = c.get(&agent, "/inbox").await;
    let location = again
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    assert!(
        !location.unwrap_or_default().contains("signed-out"),
        "told once"
    );
    stop(c.gw).await;
}

/// Quoted-printable bodies as a reader sees them (soft breaks joined, `=XX` decoded).
fn unquote(mail: &str) -> String {
    let joined = mail.replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) if bytes[i] == b'=' => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `language` is the default for browsers asking for none the gateway speaks, and the
/// emails' language; `timezone` is the zone of every time shown, named on the page; the
/// HTML email carries the logo (inline) and the colour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_speaks_its_language_shows_its_zone_and_brands_its_emails() {
    use mfagate::i18n::{text, Lang};
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    std::fs::write(&logo, LOGO).unwrap();
    let env = format!(
        "language = \"nl\"\ntimezone = \"Asia/Jakarta\"\n[environments.branding]\nlogo = \"{}\"\n\
         color = \"#0B6E4F\"\nsupport = \"it-help@acme.test\"",
        logo.display()
    );
    let c = Console::start_with("", "", &env).await;
    let (agent, _) = c.signed_in("agent1@demo.test", "agent1-pass").await;
    let devices = html_unescape(&page(&agent, &format!("{}/.mfagate/devices", c.base())).await);
    assert!(devices.contains("<html lang=\"nl\">"), "{devices}");
    assert!(devices.contains(&text(Lang::Nl, "your-sessions", &[])));
    assert!(
        devices.contains(" WIB</td>"),
        "times in the zone: {devices}"
    );
    assert!(devices.contains("Asia/Jakarta"), "the zone is named");

    let url = format!("{}/.mfagate/signed-out?why=admin", c.base());
    for (asked, lang) in [
        ("id-ID,id;q=0.9", Lang::Id),
        ("fr-FR,de;q=0.5", Lang::Nl),
        ("en-GB", Lang::En),
    ] {
        let resp = agent
            .get(&url)
            .header("accept-language", asked)
            .send()
            .await
            .unwrap();
        let html = html_unescape(&resp.text().await.unwrap());
        assert!(
            html.contains(&format!("<html lang=\"{}\">", lang.tag())),
            "{asked}: {html}"
        );
        assert!(html.contains(&text(lang, "why-admin", &[])), "{asked}");
    }

    let subject = text(Lang::Nl, "mail-device-subject", &[]);
    let mail = unquote(&c.mail("agent1@demo.test", &subject).await);
    assert!(
        mail.contains(&text(Lang::Nl, "mail-device-2", &[])),
        "{mail}"
    );
    assert!(mail.contains(" WIB"), "the time in the zone: {mail}");
    let support = [("contact", "it-help@acme.test".into())];
    assert!(
        mail.contains(&text(Lang::Nl, "mail-support", &support)),
        "{mail}"
    );
    assert!(mail.contains("<html lang=\"nl\">"), "{mail}");
    assert!(
        mail.to_lowercase().contains("solid #0b6e4f"),
        "the colour: {mail}"
    );
    assert!(mail.contains("src=\"cid:logo\""), "{mail}");
    assert!(
        mail.contains("Content-ID: <logo>"),
        "the logo travels inline: {mail}"
    );
    assert!(mail.contains("multipart/related"), "{mail}");
    stop(c.gw).await;
}
