//! Email codes over a real SMTP exchange, their rules on the gateway's clock, regulation of
//! parallel guessing, the file transport, and the promise that codes never reach the logs.

use std::sync::Arc;

use crate::support::mfa::{csrf, location, mail_extra, Extra, MfaEnv};
use crate::support::smtp::{code_in, SmtpSink};
use mfagate::audit::EventKind;

async fn mail_env(sink: &SmtpSink) -> MfaEnv {
    crate::support::logs();
    let (top, methods) = mail_extra(sink.port());
    MfaEnv::start_with(Extra {
        top: &top,
        env: methods,
        ..Default::default()
    })
}

/// The CSRF token of the email page of this browser's pending sign-in.
async fn email_csrf(t: &MfaEnv, browser: &reqwest::Client) -> String {
    csrf(
        &t.get(browser, "/.mfagate/email")
            .await
            .text()
            .await
            .unwrap(),
    )
}

/// Asks for a code; a sent code is answered with a redirect to the email page
/// (post/redirect/get), which this follows.
async fn request_code(t: &MfaEnv, browser: &reqwest::Client) -> reqwest::Response {
    let token = email_csrf(t, browser).await;
    let sent = t
        .post(browser, "/.mfagate/email/send", &[("csrf", &token)])
        .await;
    match sent.status().as_u16() {
        303 => {}
        200 => panic!("a sent code must redirect (post/redirect/get), not render the page"),
        _ => return sent,
    }
    assert_eq!(location(&sent), "/.mfagate/email");
    t.get(browser, "/.mfagate/email").await
}

async fn enter_code(t: &MfaEnv, browser: &reqwest::Client, code: &str) -> reqwest::Response {
    let token = email_csrf(t, browser).await;
    t.post(
        browser,
        "/.mfagate/email/verify",
        &[("code", code), ("csrf", &token)],
    )
    .await
}

fn count(events: &[mfagate::audit::AuditEvent], pred: impl Fn(&EventKind) -> bool) -> usize {
    events.iter().filter(|e| pred(&e.kind)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_an_app_signs_in_with_an_emailed_code() {
    let sink = SmtpSink::start().await;
    let t = mail_env(&sink).await;
    let browser = t.browser();
    let resp = t.login(&browser, "agent2@demo.test", "agent2-pass").await;
    assert_eq!(location(&resp), "/.mfagate/");
    let choose = t.get(&browser, "/.mfagate/").await.text().await.unwrap();
    let (app, email) = (
        choose.find("choose-totp").unwrap(),
        choose.find("choose-email").unwrap(),
    );
    assert!(app < email, "authenticator app listed before email");

    let sent = request_code(&t, &browser).await;
    assert_eq!(sent.status(), 200);
    assert!(sent.text().await.unwrap().contains("a•••@demo.test"));
    let mail = &sink.wait_for(1).await[0];
    assert_eq!(
        mail.to,
        ["agent2@demo.test"],
        "sent to the registered address"
    );
    assert!(mail.data.contains("Subject: chat chat: your sign-in code"));
    assert!(!mail.data.contains("http"), "no links in code emails");
    assert!(
        mail.data.contains("will ask you for this code"),
        "a code email warns"
    );
    let code = code_in(mail);

    let resp = enter_code(&t, &browser, &code).await;
    assert_eq!(
        location(&resp),
        "/.mfagate/offer",
        "offered an authenticator app"
    );
    let offer = t
        .get(&browser, "/.mfagate/offer")
        .await
        .text()
        .await
        .unwrap();
    let resp = t
        .post(&browser, "/.mfagate/continue", &[("csrf", &csrf(&offer))])
        .await;
    assert_eq!(location(&resp), "/");
    crate::support::mfa::assert_released_sealed(&resp);
    assert_eq!(t.get(&browser, "/").await.status(), 200);

    // The new device is announced by email.
    let mails = sink.wait_for(2).await;
    assert!(
        mails[1].data.contains("new device signed in"),
        "{}",
        mails[1].data
    );
    let events = t.auth().activity(100).await;
    assert_eq!(count(&events, |k| *k == EventKind::EmailCodeSent), 1);
    assert_eq!(
        count(
            &events,
            |k| matches!(k, EventKind::MfaSuccess { method } if *method == mfagate::domain::Factor::EmailOtp)
        ),
        1
    );

    // The code appears in no log line.
    let logged = String::from_utf8_lossy(&crate::support::logs().lock().unwrap()).into_owned();
    assert!(logged.contains("email_code_sent"), "log capture works");
    // Audit events are logged as fields, not as JSON inside a string.
    assert!(logged.contains("event=email_code_sent"), "{logged}");
    assert!(
        !logged.contains("{\"at\":"),
        "audit event logged as a JSON string"
    );
    // The audit event and the access-log line of the same request share its request id.
    let audit_line = logged
        .lines()
        .find(|l| l.contains("event=email_code_sent"))
        .unwrap();
    let id = audit_line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("request_id="))
        .expect("audit line has a request id");
    assert!(
        logged
            .lines()
            .any(|l| l.contains("mfagate::access") && l.contains(&format!("request_id={id}"))),
        "no access-log line with request_id={id}"
    );
    assert!(!logged.contains(&code), "the code leaked into the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_are_limited_and_codes_expire_bind_and_work_once() {
    let sink = SmtpSink::start().await;
    let t = mail_env(&sink).await;
    let clock = t.auth().clock.clone();
    clock.freeze();
    let a = t.browser();
    t.login(&a, "agent1@demo.test", "agent1-pass").await;

    assert_eq!(request_code(&t, &a).await.status(), 200);
    clock.advance(59);
    let early = request_code(&t, &a).await;
    assert_eq!(early.status(), 429, "resend refused at 59 s");
    assert!(early.text().await.unwrap().contains("in 1 seconds"));
    clock.advance(1);
    assert_eq!(
        request_code(&t, &a).await.status(),
        200,
        "resend allowed at 60 s"
    );
    clock.advance(60);
    assert_eq!(request_code(&t, &a).await.status(), 200, "third send");
    clock.advance(60);
    let fourth = request_code(&t, &a).await;
    assert_eq!(fourth.status(), 429, "4th send within 5 minutes refused");
    assert!(fourth.text().await.unwrap().contains("in 120 seconds"));
    let mails = sink.wait_for(3).await;
    assert_eq!(mails.len(), 3);
    let latest = code_in(&mails[2]);

    // Now 180 s after the first send; the latest code was sent at 120 s.
    clock.advance(239); // 4:59 after the latest send
    let b = t.browser();
    t.login(&b, "agent1@demo.test", "agent1-pass").await;
    assert_eq!(
        enter_code(&t, &b, &latest).await.status(),
        422,
        "login A's code refused in login B"
    );
    assert_eq!(
        enter_code(&t, &a, &latest).await.status(),
        303,
        "valid at 4:59"
    );
    let c = t.browser();
    t.login(&c, "agent1@demo.test", "agent1-pass").await;
    assert_eq!(
        enter_code(&t, &c, &latest).await.status(),
        422,
        "a used code is refused"
    );

    // A fresh code (the send window has passed) expires at exactly 5:00.
    clock.advance(301);
    let d = t.browser();
    t.login(&d, "agent1@demo.test", "agent1-pass").await;
    assert_eq!(request_code(&t, &d).await.status(), 200);
    let fresh = code_in(&sink.wait_for(4).await[3]);
    clock.advance(300);
    assert_eq!(
        enter_code(&t, &d, &fresh).await.status(),
        422,
        "expired at 5:00"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_wrong_codes_block_for_five_minutes_even_the_right_one() {
    let sink = SmtpSink::start().await;
    let t = mail_env(&sink).await;
    let clock = t.auth().clock.clone();
    clock.freeze();
    let browser = t.browser();
    t.login(&browser, "supervisor@demo.test", "supervisor-pass")
        .await;
    request_code(&t, &browser).await;
    let code = code_in(&sink.wait_for(1).await[0]);
    assert_eq!(enter_code(&t, &browser, "000000").await.status(), 422);
    assert_eq!(enter_code(&t, &browser, "000001").await.status(), 422);
    let third = enter_code(&t, &browser, "000002").await;
    assert_eq!(third.status(), 429);
    assert!(third.text().await.unwrap().contains("blocked until"));
    assert_eq!(
        enter_code(&t, &browser, &code).await.status(),
        429,
        "right code refused while blocked"
    );
    assert_eq!(
        request_code(&t, &browser).await.status(),
        429,
        "no new codes while blocked"
    );
    let mails = sink.wait_for(2).await;
    assert!(
        mails[1].data.contains("sign-in codes blocked"),
        "block announced by email"
    );

    clock.advance(300);
    assert_eq!(
        request_code(&t, &browser).await.status(),
        200,
        "unblocked after 5 minutes"
    );
    let fresh = code_in(&sink.wait_for(3).await[2]);
    assert_eq!(enter_code(&t, &browser, &fresh).await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_wrong_codes_are_evaluated_exactly_three_times() {
    let sink = SmtpSink::start().await;
    let t = Arc::new(mail_env(&sink).await);
    let browser = t.browser();
    t.login(&browser, "admin@demo.test", "admin-pass").await;
    request_code(&t, &browser).await;
    let page = t
        .get(&browser, "/.mfagate/email")
        .await
        .text()
        .await
        .unwrap();
    let token = csrf(&page);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (t, browser, token) = (t.clone(), browser.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let code = format!("{:06}", 900_000 + i);
            t.post(
                &browser,
                "/.mfagate/email/verify",
                &[("code", code.as_str()), ("csrf", token.as_str())],
            )
            .await
            .status()
            .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort_unstable();
    crate::support::mfa::assert_twenty_wrong_codes_regulated(&statuses);
    let events = t.auth().activity(1000).await;
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::MfaFailure { .. })),
        3,
        "exactly 3 evaluated"
    );
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::AttemptBlocked { .. })),
        17
    );
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::UserBlocked { .. })),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_send_is_reported_and_watched_logins_are_rate_limited() {
    // Nothing listens on this port: the SMTP connection fails.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (top, methods) = mail_extra(dead);
    let t = MfaEnv::start_with(Extra {
        top: &top,
        env: &format!("{methods}\n[environments.regulation]\nlogin_per_ip_per_minute = 5"),
        ..Default::default()
    });
    let browser = t.browser();
    t.login(&browser, "agent1@demo.test", "agent1-pass").await;
    let failed = request_code(&t, &browser).await;
    assert_eq!(failed.status(), 502);
    assert!(failed
        .text()
        .await
        .unwrap()
        .contains("could not send the code"));
    let events = t.auth().activity(100).await;
    assert_eq!(count(&events, |k| *k == EventKind::EmailCodeSendFailed), 1);

    for _ in 0..4 {
        assert_ne!(
            t.login(&t.browser(), "agent1@demo.test", "wrong")
                .await
                .status(),
            429
        );
    }
    let limited = t
        .login(&t.browser(), "agent1@demo.test", "agent1-pass")
        .await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "60");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_transport_writes_a_readable_eml() {
    let t = MfaEnv::start_with(Extra {
        top: "[mail]\ntransport = \"file\"\nfrom = \"security@chat.test\"",
        env: "methods = [\"totp\", \"email\"]",
        ..Default::default()
    });
    let browser = t.browser();
    t.login(&browser, "agent2@demo.test", "agent2-pass").await;
    assert_eq!(request_code(&t, &browser).await.status(), 200);
    let outbox = t.pki.path("data/outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    for header in [
        "From: security@chat.test",
        "To: agent2@demo.test",
        "Subject: chat chat: your sign-in code",
        "Content-Type: multipart/alternative",
    ] {
        assert!(eml.contains(header), "{header} in\n{eml}");
    }
    let code = code_in(&crate::support::smtp::Received {
        from: String::new(),
        to: vec![],
        data: eml,
        encrypted: false,
    });
    assert_eq!(enter_code(&t, &browser, &code).await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_from_one_ip_block_it_across_users() {
    let sink = SmtpSink::start().await;
    let (top, methods) = mail_extra(sink.port());
    let t = MfaEnv::start_with(Extra {
        top: &top,
        env: &format!("{methods}\n[environments.regulation]\nip_max_failures = 4"),
        ..Default::default()
    });
    for (user, password) in [
        ("agent1@demo.test", "agent1-pass"),
        ("agent2@demo.test", "agent2-pass"),
    ] {
        let browser = t.browser();
        t.login(&browser, user, password).await;
        request_code(&t, &browser).await;
        for wrong in ["000000", "000001"] {
            assert_eq!(
                enter_code(&t, &browser, wrong).await.status(),
                422,
                "{user}"
            );
        }
    }
    // A third user from the same address is refused before any evaluation.
    let browser = t.browser();
    t.login(&browser, "admin@demo.test", "admin-pass").await;
    request_code(&t, &browser).await;
    let mails = sink.wait_for(3).await;
    let code = code_in(mails.iter().find(|m| m.to == ["admin@demo.test"]).unwrap());
    assert_eq!(
        enter_code(&t, &browser, &code).await.status(),
        429,
        "client IP blocked"
    );
}

/// Codes over STARTTLS and implicit TLS, with the server certificate checked against
/// `mail.ca_file`; a server the gateway does not trust gets no code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_travel_over_verified_tls() {
    for (security, starttls) in [("starttls", true), ("tls", false)] {
        let pki = crate::support::Pki::new();
        pki.leaf("smtp", &["127.0.0.1"]);
        let server = Arc::new(pki.server_tls("smtp"));
        let sink = SmtpSink::start_with(if starttls {
            crate::support::smtp::SinkTls::StartTls(server)
        } else {
            crate::support::smtp::SinkTls::Implicit(server)
        })
        .await;
        let mail = |ca: &str| {
            format!(
                "[mail]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"{security}\"\n{ca}\nfrom = \"security@chat.test\"\ntimeout_secs = 5\n",
                sink.port()
            )
        };
        // Trusted through the CA file: the code arrives encrypted.
        let trusted = mail(&format!("ca_file = \"{}\"", pki.path("ca.pem").display()));
        let t = MfaEnv::start_with(Extra {
            top: &trusted,
            env: "methods = [\"totp\", \"email\"]",
            ..Default::default()
        });
        let browser = t.browser();
        t.login(&browser, "agent2@demo.test", "agent2-pass").await;
        assert_eq!(request_code(&t, &browser).await.status(), 200, "{security}");
        let got = sink.wait_for(1).await;
        assert!(got[0].encrypted, "{security}: delivered over TLS");
        // Not trusted (system roots only): refused, the page says so.
        let untrusted = MfaEnv::start_with(Extra {
            top: &mail(""),
            env: "methods = [\"totp\", \"email\"]",
            ..Default::default()
        });
        let other = untrusted.browser();
        untrusted
            .login(&other, "agent2@demo.test", "agent2-pass")
            .await;
        assert_eq!(
            request_code(&untrusted, &other).await.status(),
            502,
            "{security}: unverified server"
        );
        assert_eq!(sink.messages().len(), 1);
    }
}
