//! Attacks on the MFA flow: replayed codes, forged or moved cookies, open redirects, CSRF,
//! oversized or ambiguous login bodies, and secrets leaking into the audit log.

use crate::support::mfa::{csrf, location, mfa_toml, set_cookies, MfaEnv};
use crate::support::{start_gateway, Pki};

async fn enrolled(
    t: &MfaEnv,
    email: &str,
    password: &str,
) -> (reqwest::Client, Vec<u8>, Vec<String>) {
    let browser = t.browser();
    let (secret, codes, page) = t.login_and_enroll(&browser, email, password).await;
    t.post(&browser, "/.mfagate/continue", &[("csrf", &csrf(&page))])
        .await;
    (browser, secret, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_codes_and_backup_codes_work_once() {
    let t = MfaEnv::start();
    let (_, secret, codes) = enrolled(&t, "agent1@demo.test", "agent1-pass").await;

    // Two new browsers in the same time step with the same code: the second is a replay.
    t.next_step();
    let code = t.code(&secret);
    let (a, b) = (t.browser(), t.browser());
    t.login(&a, "agent1@demo.test", "agent1-pass").await;
    t.login(&b, "agent1@demo.test", "agent1-pass").await;
    assert_eq!(t.verify(&a, &code).await.status(), 303);
    let replay = t.verify(&b, &code).await;
    assert_eq!(replay.status(), 422);
    assert!(set_cookies(&replay)
        .iter()
        .all(|c| !c.starts_with("dash_session=")));
    let events = t.auth().activity(1000).await;
    assert!(events
        .iter()
        .any(|e| e.kind == mfagate::audit::EventKind::TotpReplay));

    // A backup code signs in once.
    let (c, d) = (t.browser(), t.browser());
    for browser in [&c, &d] {
        t.login(browser, "agent1@demo.test", "agent1-pass").await;
    }
    let page = t.get(&c, "/.mfagate/backup").await.text().await.unwrap();
    let ok = t
        .post(
            &c,
            "/.mfagate/backup",
            &[("code", &codes[0]), ("csrf", &csrf(&page))],
        )
        .await;
    assert_eq!(ok.status(), 303);
    crate::support::mfa::assert_released_sealed(&ok);
    let page = t.get(&d, "/.mfagate/backup").await.text().await.unwrap();
    let again = t
        .post(
            &d,
            "/.mfagate/backup",
            &[("code", &codes[0]), ("csrf", &csrf(&page))],
        )
        .await;
    assert_eq!(again.status(), 422, "backup code reuse refused");
    let stored = serde_json::to_string(
        &t.auth()
            .records
            .backup_codes("agent1@demo.test")
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        !stored.contains(&codes[1].replace('-', "")),
        "codes stored hashed only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tampered_expired_and_foreign_cookies_are_no_session() {
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let gw = start_gateway(
        &pki,
        &mfa_toml(&pki, dashboard, &["alpha.test", "beta.test"]),
    );
    let port = gw.https_addr.port();
    let t_auth = gw.auth.clone().unwrap();
    let client = pki.client(&["alpha.test", "beta.test"], gw.https_addr, false);

    // A real session on alpha (the dashboard cookie comes with it).
    let login = client
        .post(format!("https://alpha.test:{port}/login"))
        .form(&[("email", "agent2@demo.test"), ("password", "agent2-pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&login), "/.mfagate/");
    let pending = set_cookies(&login)
        .into_iter()
        .find(|c| c.starts_with("__Host-mfagate="))
        .unwrap();
    let pending_value = pending
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-mfagate=")
        .to_string();

    // Build a genuine full session cookie for alpha and variants of it.
    let now = t_auth.clock.now();
    let claims = mfagate::session::token::SessionClaims {
        sid: "sid-test".into(),
        env: "alpha".into(),
        user: "agent2@demo.test".into(),
        device: "d".into(),
        auth: mfagate::domain::AuthMethod::Pwd,
        stage: mfagate::session::token::Stage::Full,
        created_at: now,
        created_sub_ms: 0,
        mfa_at: Some(now),
        idle_until: now + 600,
        expires_at: now + 3600,
        who: mfagate::domain::Who {
            role: mfagate::domain::Role::Agent,
            envs: vec!["alpha".into()],
            factor: true,
        },
        tok: None,
    };
    let genuine = mfagate::session::token::encode_session(&t_auth.keys, &claims);
    let expired = mfagate::session::token::encode_session(
        &t_auth.keys,
        &mfagate::session::token::SessionClaims {
            idle_until: now - 1,
            ..claims.clone()
        },
    );
    let other_key = mfagate::crypto::secret_box::KeyRing::new(&[vec![99; 32]]);
    let forged = mfagate::session::token::encode_session(&other_key, &claims);
    let mut tampered = genuine.clone();
    tampered.insert(5, 'x');

    // Direct dashboard session, to tell "forwarded" from "refused".
    let dash = reqwest::Client::new()
        .post(format!("http://{dashboard}/api/v1/auth"))
        .json(&serde_json::json!({"email": "agent2@demo.test", "password": "agent2-pass"}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["data"]["authentication_token"]
        .as_str()
        .unwrap()
        .to_string();

    // The dashboard credential as the gateway holds it for "sid-test": sealed into its jar.
    let jar = mfagate::session::jar::Jar {
        cookies: vec![("dash_session".into(), dash.clone())],
        ..Default::default()
    };
    let jar_pairs: Vec<String> = t_auth
        .session_jar_cookies("sid-test", &jar, 0)
        .iter()
        .map(|c| c.split(';').next().unwrap().to_string())
        .collect();
    let jar_pairs = jar_pairs.join("; ");
    let probe = |host: &'static str, session: String| {
        let client = client.clone();
        let jar_pairs = jar_pairs.clone();
        async move {
            client
                .get(format!("https://{host}:{port}/api/v1/me"))
                .header("cookie", format!("__Host-mfagate={session}; {jar_pairs}"))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        probe("alpha.test", genuine.clone()).await.status(),
        200,
        "control: genuine session forwards"
    );
    for (what, host, value) in [
        ("pending (MFA not done)", "alpha.test", pending_value),
        ("expired", "alpha.test", expired),
        ("forged with another key", "alpha.test", forged),
        ("tampered", "alpha.test", tampered),
        ("garbage", "alpha.test", "not-a-token".into()),
        ("alpha's session on beta", "beta.test", genuine.clone()),
    ] {
        let resp = probe(host, value).await;
        assert_eq!(
            resp.status(),
            401,
            "{what}: the jar opens only with its session"
        );
    }
    // The dashboard cookie itself, sent by the browser, is never forwarded, even with the
    // genuine session (it is not the one bound to it): stripped and cleared.
    let stolen = client
        .get(format!("https://alpha.test:{port}/api/v1/me"))
        .header(
            "cookie",
            format!("__Host-mfagate={genuine}; dash_session={dash}"),
        )
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 401, "a loose dashboard cookie is stripped");
    assert!(set_cookies(&stolen)
        .iter()
        .any(|c| c.starts_with("dash_session=;") && c.contains("Max-Age=0")));
    // A revoked session is refused too (revocation view, no store read).
    t_auth
        .records
        .revoke_session("agent2@demo.test", "sid-test", 1)
        .await
        .unwrap();
    let mut refused = false;
    for _ in 0..50 {
        if probe("alpha.test", genuine.clone()).await.status() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(refused, "revoked session refused");
    crate::support::stop(gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_is_same_origin_only_and_forms_need_csrf() {
    let t = MfaEnv::start();
    let (_, secret, _) = enrolled(&t, "admin@demo.test", "admin-pass").await;
    for (i, next) in [
        "//evil.com",
        "/\\evil.com",
        "/%09/evil.com",
        "https://evil.com",
        "/\t/\t\\evil.com",
        "/settings/billing",
    ]
    .iter()
    .enumerate()
    {
        let browser = t.browser();
        let resp = browser
            .post(t.url("/login"))
            .query(&[("next", next)])
            .form(&[("email", "admin@demo.test"), ("password", "admin-pass")])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&resp), "/.mfagate/");
        let page = t
            .get(&browser, "/.mfagate/verify")
            .await
            .text()
            .await
            .unwrap();
        // CSRF: missing and wrong tokens are refused before the code is even looked at.
        let code = {
            t.next_step();
            t.code(&secret)
        };
        assert_eq!(
            t.post(&browser, "/.mfagate/verify", &[("code", &code)])
                .await
                .status(),
            403
        );
        assert_eq!(
            t.post(
                &browser,
                "/.mfagate/verify",
                &[("code", &code), ("csrf", "AAAA")]
            )
            .await
            .status(),
            403
        );
        let cross = browser
            .post(t.url("/.mfagate/verify"))
            .header("origin", "https://evil.com")
            .form(&[("code", code.as_str()), ("csrf", &csrf(&page))])
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status(), 403, "cross-origin post");
        let done = t
            .post(
                &browser,
                "/.mfagate/verify",
                &[("code", &code), ("csrf", &csrf(&page))],
            )
            .await;
        let want = if i == 5 { "/settings/billing" } else { "/" };
        assert_eq!(location(&done), want, "next {next:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_bodies_are_bounded_and_unambiguous_and_audit_holds_no_secrets() {
    let t = MfaEnv::start();
    let browser = t.browser();
    let big = "x".repeat(70 * 1024);
    let resp = t
        .post(
            &browser,
            "/login",
            &[("email", "agent1@demo.test"), ("password", &big)],
        )
        .await;
    assert_eq!(resp.status(), 413);
    let dup = browser
        .post(t.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=agent1%40demo.test&email=admin%40demo.test&password=agent1-pass")
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 400);
    let dup_json = browser
        .post(t.url("/api/v1/auth"))
        .header("content-type", "application/json")
        .body(r#"{"email":"agent1@demo.test","email":"admin@demo.test","password":"agent1-pass"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(dup_json.status(), 400);
    let wrong = t.login(&browser, "agent1@demo.test", "wrong").await;
    assert_eq!(
        wrong.status(),
        302,
        "failed logins pass through (the dashboard's own redirect)"
    );
    assert_eq!(location(&wrong), "/login");

    let (secret, codes, page) = t
        .login_and_enroll(&browser, "agent1@demo.test", "agent1-pass")
        .await;
    let released = t
        .post(&browser, "/.mfagate/continue", &[("csrf", &csrf(&page))])
        .await;
    let dash_value = crate::support::mfa::sealed_dash_cookie(t.auth(), &released)
        .unwrap()
        .trim_start_matches("dash_session=")
        .to_string();
    let events = t.auth().activity(1000).await;
    let all = serde_json::to_string(&events).unwrap();
    for secret_text in [
        dash_value,
        codes[0].clone(),
        mfagate::mfa::totp::setup_key(&secret).replace(' ', ""),
    ] {
        assert!(!all.contains(&secret_text), "audit leaks {secret_text}");
    }
    for kind in [
        "login_intercepted",
        "totp_enrolled",
        "mfa_success",
        "device_trusted",
    ] {
        assert!(all.contains(kind), "audit has {kind}: {all}");
    }
}
