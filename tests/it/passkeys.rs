//! Passkeys end to end over real TLS, with a software authenticator that signs real WebAuthn
//! answers: registering one while signing in, signing in with it next time, the refusals
//! (another origin, a replayed or foreign challenge, a counter that goes back), the
//! phishing-resistant roles, the JSON API, and two instances sharing one Redis.

use serde_json::Value;

use crate::support::mfa::{
    assert_released_sealed, csrf, html_unescape, location, set_cookies, Extra, MfaEnv,
};
use crate::support::soft_authenticator::SoftKey;

pub(crate) const PASSKEY_METHODS: &str = "methods = [\"totp\", \"passkey\", \"backup\"]";

/// The ceremony options a passkey page carries in its form.
pub(crate) fn options_of(page: &str) -> Value {
    let raw = crate::support::mfa::between(page, "data-options=\"", "\"");
    serde_json::from_str(&html_unescape(&raw)).unwrap_or_else(|e| panic!("{e}: {raw}"))
}

/// The demo's admin and owner, as a directory would have them.
const ROLES: &str =
    "[[users]]\nidentity = \"admin@demo.test\"\nrole = \"admin\"\nenvironments = [\"chat\"]\n\
    [[users]]\nidentity = \"owner@demo.test\"\nrole = \"owner\"\nenvironments = [\"chat\"]\n";

fn start(env: &str) -> MfaEnv {
    MfaEnv::start_with(Extra {
        top: ROLES,
        env,
        ..Default::default()
    })
}

async fn page(t: &MfaEnv, b: &reqwest::Client, path: &str) -> (u16, String) {
    let resp = t.get(b, path).await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Posts the browser's answer in the page's form.
async fn answer(
    t: &MfaEnv,
    b: &reqwest::Client,
    path: &str,
    page: &str,
    credential: &Value,
) -> reqwest::Response {
    let form = [
        ("csrf", csrf(page)),
        ("credential", credential.to_string()),
        ("name", "Test key".to_string()),
    ];
    b.post(t.url(path)).form(&form).send().await.unwrap()
}

/// Signs `email` in to the point where the gateway asks for the second factor.
async fn pending(t: &MfaEnv, email: &str, password: &str) -> reqwest::Client {
    let b = t.browser();
    let resp = t.login(&b, email, password).await;
    assert_eq!(location(&resp), "/.mfagate/", "login intercepted");
    b
}

/// Registers a passkey for `email` at sign-in through the pages; returns the key and the
/// browser, signed in.
async fn register_at_sign_in(t: &MfaEnv, email: &str, password: &str) -> SoftKey {
    let b = pending(t, email, password).await;
    let (_, register) = page(t, &b, "/.mfagate/passkey/register").await;
    let (key, made) = SoftKey::register(&options_of(&register), &t.url(""));
    let resp = answer(t, &b, "/.mfagate/passkey/register", &register, &made).await;
    assert_eq!(resp.status(), 200, "the backup codes are shown once");
    let codes = resp.text().await.unwrap();
    assert!(codes.contains("<li><code>"), "{codes}");
    let done = t
        .post(&b, "/.mfagate/continue", &[("csrf", &csrf(&codes))])
        .await;
    assert_eq!(done.status(), 303);
    assert_released_sealed(&done);
    key
}

async fn audited(t: &MfaEnv, kind: &str) -> Vec<Value> {
    crate::support::mfa::audited(t.auth(), kind).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_made_at_enrollment_signs_in_next_time_and_is_listed_and_removed() {
    let t = start(PASSKEY_METHODS);
    let b = pending(&t, "agent1@demo.test", "agent1-pass").await;
    let (status, choose) = page(&t, &b, "/.mfagate/").await;
    assert_eq!(status, 200);
    let (passkey, app) = (choose.find("choose-passkey"), choose.find("choose-totp"));
    assert!(
        passkey.unwrap() < app.unwrap(),
        "a passkey is offered first: {choose}"
    );
    let resp = t.get(&b, "/.mfagate/passkey/register").await;
    let csp = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let register = resp.text().await.unwrap();
    let unescaped = html_unescape(&register);
    assert!(
        unescaped.contains("<script src=\"/.mfagate/static/passkey.js\">"),
        "{register}"
    );
    assert!(
        register.contains("<noscript>"),
        "says what to do without script"
    );
    assert!(
        register.contains("id=\"use-app\""),
        "the app stays a choice"
    );
    let options = options_of(&register);
    assert_eq!(options["rp"]["id"], "chat.test");
    let handle = options["user"]["id"].as_str().unwrap();
    assert!(
        !handle.contains("agent1"),
        "the user handle is not the email"
    );
    drop(b);
    let mut key = register_at_sign_in(&t, "agent1@demo.test", "agent1-pass").await;
    assert_eq!(audited(&t, "passkey_registered").await.len(), 1);

    // A second visit in another browser: straight to the passkey.
    let b = pending(&t, "agent1@demo.test", "agent1-pass").await;
    assert_eq!(
        location(&t.get(&b, "/.mfagate/").await),
        "/.mfagate/passkey"
    );
    let (_, sign_in) = page(&t, &b, "/.mfagate/passkey").await;
    let used = key.sign_in(&options_of(&sign_in), &t.url(""));
    let resp = answer(&t, &b, "/.mfagate/passkey", &sign_in, &used).await;
    assert_eq!(resp.status(), 303, "{}", location(&resp));
    assert_released_sealed(&resp);
    let methods: Vec<_> = audited(&t, "mfa_success").await;
    assert!(
        methods.iter().any(|e| e["method"] == "passkey"),
        "{methods:?}"
    );

    // Listed with its name and last use. The only factor of a user MFA is required of is
    // kept (a password alone would set up the next one); beside another passkey it goes.
    let (_, devices) = page(&t, &b, "/.mfagate/devices").await;
    assert!(devices.contains("Test key"), "{devices}");
    let form = html_unescape(&devices);
    let form =
        crate::support::mfa::between(&form, "action=\"/.mfagate/passkeys/remove\"", "</form>");
    let id = crate::support::mfa::between(&form, "name=\"id\" value=\"", "\"");
    let form = [("csrf", csrf(&devices)), ("id", id)];
    let remove = || {
        b.post(t.url("/.mfagate/passkeys/remove"))
            .form(&form)
            .send()
    };
    assert_eq!(remove().await.unwrap().status(), 409, "the last factor");
    // Not fresh any more: the removal first asks for the passkey again.
    t.auth().clock.advance(11 * 60);
    let stale = remove().await.unwrap();
    assert!(
        location(&stale).starts_with("/.mfagate/step-up?next="),
        "{}",
        location(&stale)
    );
    let (_, step_up) = page(&t, &b, &location(&stale)).await;
    let fresh = key.sign_in(&options_of(&step_up), &t.url(""));
    let mut form = vec![("csrf", csrf(&step_up)), ("credential", fresh.to_string())];
    form.push(("next", "/.mfagate/devices".into()));
    let resp = b
        .post(t.url("/.mfagate/step-up/passkey"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&resp), "/.mfagate/devices", "fresh again");
    let (_, add) = page(&t, &b, "/.mfagate/passkeys/add").await;
    let (_, made) = SoftKey::register(&options_of(&add), &t.url(""));
    let resp = answer(&t, &b, "/.mfagate/passkeys/add", &add, &made).await;
    assert_eq!(location(&resp), "/.mfagate/devices?done=passkey");
    let resp = remove().await.unwrap();
    assert_eq!(location(&resp), "/.mfagate/devices?done=passkey-removed");
    let left = t.auth().records.passkeys("agent1@demo.test").await.unwrap();
    assert_eq!(left.len(), 1);
    assert_ne!(
        left[0].id,
        used["rawId"].as_str().unwrap(),
        "the first one went"
    );

    // Counted: two registered, one removed, passkey sign-ins among the second factors.
    let metrics = format!("http://{}/metrics", t.gw.admin_addr);
    let metrics = crate::support::text(reqwest::Client::new().get(metrics)).await;
    for line in [
        "mfagate_passkeys_total{environment=\"chat\",kind=\"registered\"} 2",
        "mfagate_passkeys_total{environment=\"chat\",kind=\"removed\"} 1",
        "mfagate_second_factors_total{environment=\"chat\",method=\"passkey\",outcome=\"success\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert_eq!(audited(&t, "passkey_removed").await.len(), 1);
}

/// Gives `user` an authenticator app (as one set up before), straight in the store; returns
/// its seed.
async fn add_authenticator(t: &MfaEnv, user: &str) -> [u8; 20] {
    let seed = [9u8; 20];
    let records = &t.auth().records;
    let now = t.auth().clock.now();
    records.begin_totp(user, &seed, now).await.unwrap();
    let pending_seed = records.pending_totp(user).await.unwrap().unwrap();
    records.activate_totp(user, &pending_seed).await.unwrap();
    seed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_from_another_origin_twice_or_to_another_sign_in_are_refused() {
    // Every refusal counts against the user, as a wrong code does: room for the four here.
    let t = start(&format!(
        "{PASSKEY_METHODS}\n[environments.regulation]\nmax_failures = 10"
    ));
    let mut key = register_at_sign_in(&t, "agent1@demo.test", "agent1-pass").await;
    let b = pending(&t, "agent1@demo.test", "agent1-pass").await;
    let (_, sign_in) = page(&t, &b, "/.mfagate/passkey").await;
    let options = options_of(&sign_in);

    // Made on a look-alike site: a genuine signature, the wrong origin.
    let phished = key.sign_in(&options, "https://chat.test.evil.test");
    let resp = answer(&t, &b, "/.mfagate/passkey", &sign_in, &phished).await;
    assert_eq!(resp.status(), 422, "another origin is refused");

    // The ceremony was used up by that answer: the genuine one is refused too.
    let genuine = key.sign_in(&options, &t.url(""));
    let resp = answer(&t, &b, "/.mfagate/passkey", &sign_in, &genuine).await;
    assert_eq!(resp.status(), 422, "a challenge is answered once");

    // Another sign-in's challenge: refused for this one, and not used up for its own.
    let other = pending(&t, "agent1@demo.test", "agent1-pass").await;
    let (_, theirs) = page(&t, &other, "/.mfagate/passkey").await;
    let foreign = key.sign_in(&options_of(&theirs), &t.url(""));
    let resp = answer(&t, &b, "/.mfagate/passkey", &sign_in, &foreign).await;
    assert_eq!(resp.status(), 422, "bound to its pending login");
    let resp = answer(&t, &other, "/.mfagate/passkey", &theirs, &foreign).await;
    assert_eq!(
        resp.status(),
        303,
        "still good for the sign-in it was issued to"
    );

    // Still pending, and a good answer to a fresh ceremony finishes it.
    let (_, fresh) = page(&t, &b, "/.mfagate/passkey").await;
    let good = key.sign_in(&options_of(&fresh), &t.url(""));
    let resp = answer(&t, &b, "/.mfagate/passkey", &fresh, &good).await;
    assert_eq!(resp.status(), 303);
    assert_released_sealed(&resp);

    // Next time, a counter that goes back: a possible clone, refused and audited.
    let b = pending(&t, "agent1@demo.test", "agent1-pass").await;
    let (_, fresh) = page(&t, &b, "/.mfagate/passkey").await;
    let cloned = key.assert_with(&options_of(&fresh), &t.url(""), 1);
    let resp = answer(&t, &b, "/.mfagate/passkey", &fresh, &cloned).await;
    assert_eq!(resp.status(), 422);
    let warned = audited(&t, "passkey_counter_regressed").await;
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0]["name"], "Test key");
    assert_eq!(warned[0]["outcome"], "refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phishing_resistant_role_cannot_finish_with_an_authenticator_code() {
    let env = format!("{PASSKEY_METHODS}\nphishing_resistant_roles = [\"admin\", \"owner\"]");
    let t = start(&env);
    // A new admin: straight to creating a passkey; the app is not offered.
    let b = pending(&t, "admin@demo.test", "admin-pass").await;
    assert_eq!(
        location(&t.get(&b, "/.mfagate/").await),
        "/.mfagate/passkey/register"
    );
    assert_eq!(location(&t.get(&b, "/.mfagate/enroll").await), "/.mfagate/");
    let (_, register) = page(&t, &b, "/.mfagate/passkey/register").await;
    assert!(!register.contains("id=\"use-app\""), "{register}");

    // An admin who set up an authenticator app before the rule: the code proves them, but
    // the sign-in continues at creating a passkey, not at the dashboard.
    let seed = add_authenticator(&t, "owner@demo.test").await;
    let b = pending(&t, "owner@demo.test", "owner-pass").await;
    assert_eq!(location(&t.get(&b, "/.mfagate/").await), "/.mfagate/verify");
    let resp = t.verify(&b, &t.code(&seed)).await;
    assert_eq!(location(&resp), "/.mfagate/passkey/register");
    assert!(set_cookies(&resp)
        .iter()
        .all(|c| !c.starts_with("__Host-mfagate-jar")));
    let (_, register) = page(&t, &b, "/.mfagate/passkey/register").await;
    assert!(
        register.contains("Your role signs in with a passkey"),
        "{register}"
    );
    let (_, made) = SoftKey::register(&options_of(&register), &t.url(""));
    let resp = answer(&t, &b, "/.mfagate/passkey/register", &register, &made).await;
    let codes = resp.text().await.unwrap();
    let done = t
        .post(&b, "/.mfagate/continue", &[("csrf", &csrf(&codes))])
        .await;
    assert_eq!(done.status(), 303);
    assert_released_sealed(&done);

    // A step-up, too, is by passkey only: the app is not offered and a code is not taken.
    t.auth().clock.advance(11 * 60);
    let (_, step_up) = page(&t, &b, "/.mfagate/step-up?app=1&next=/").await;
    assert!(step_up.contains("data-passkey=\"get\""), "{step_up}");
    assert!(!step_up.contains("id=\"use-app\""), "{step_up}");
    let form = [
        ("csrf", csrf(&step_up)),
        ("code", t.code(&seed)),
        ("next", "/".into()),
    ];
    let resp = b
        .post(t.url("/.mfagate/step-up"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        location(&resp).starts_with("/.mfagate/step-up?next="),
        "{}",
        location(&resp)
    );
    assert!(set_cookies(&resp).is_empty(), "no fresh session for a code");

    // Now that the owner has a passkey, a code (phished, say) neither finishes the sign-in
    // nor lets anyone add another passkey.
    t.next_step();
    let b = pending(&t, "owner@demo.test", "owner-pass").await;
    assert_eq!(
        location(&t.get(&b, "/.mfagate/").await),
        "/.mfagate/passkey"
    );
    let resp = t.verify(&b, &t.code(&seed)).await;
    assert_eq!(location(&resp), "/.mfagate/");
    assert!(set_cookies(&resp)
        .iter()
        .all(|c| !c.starts_with("__Host-mfagate-jar")));
    let resp = t.get(&b, "/.mfagate/passkey/register").await;
    assert_eq!(location(&resp), "/.mfagate/", "no second passkey by a code");
    let (_, sign_in) = page(&t, &b, "/.mfagate/passkey").await;
    assert!(
        !sign_in.contains("id=\"use-app\""),
        "the app is not offered: {sign_in}"
    );

    // A browser trusted without a passkey (by the app, before the rule) does not skip it; one
    // a passkey trusted does.
    for (by_passkey, intercepted) in [(false, true), (true, false)] {
        let device = mfagate::store::records::DeviceRecord {
            id: format!("device-{by_passkey}"),
            label: "Chrome on Linux".into(),
            first_seen: 1,
            last_seen: t.auth().clock.now(),
            last_ip: "127.0.0.1".into(),
            trusted_until: t.auth().clock.now() + 3_600,
            passkey: by_passkey,
        };
        t.auth()
            .records
            .save_device("owner@demo.test", &device)
            .await
            .unwrap();
        let cookie = mfagate::session::token::encode_device(&t.auth().keys, &device.id);
        let form = [("email", "owner@demo.test"), ("password", "owner-pass")];
        let resp = t
            .browser()
            .post(t.url("/login"))
            .header(
                "cookie",
                format!("{}={cookie}", mfagate::session::DEVICE_COOKIE),
            )
            .form(&form)
            .send()
            .await
            .unwrap();
        let asked = location(&resp) == "/.mfagate/";
        assert_eq!(asked, intercepted, "trusted by a passkey: {by_passkey}");
    }

    // The agent, not in the rule, may still choose the app.
    let agent = pending(&t, "agent1@demo.test", "agent1-pass").await;
    let (_, choose) = page(&t, &agent, "/.mfagate/").await;
    assert!(choose.contains("choose-totp"), "{choose}");
}

/// Posts JSON to the MFA API as a same-origin single-page app would.
async fn api(t: &MfaEnv, b: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let resp = b
        .post(t.url(path))
        .header("origin", t.url(""))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn token_login(t: &MfaEnv, email: &str, password: &str) -> reqwest::Client {
    let b = t.browser();
    let body = serde_json::json!({ "email": email, "password": password });
    let resp = b
        .post(t.url("/api/v1/auth"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let json: Value = resp.json().await.unwrap();
    assert_eq!(json["mfa_required"], true, "{json}");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_page_app_registers_and_uses_a_passkey_through_the_json_api() {
    let t = start(PASSKEY_METHODS);
    let b = token_login(&t, "agent1@demo.test", "agent1-pass").await;
    let state = crate::support::json(b.get(t.url("/.mfagate/api/mfa"))).await;
    assert_eq!(
        state["passkey_register"],
        "/.mfagate/api/mfa/passkey/register/options"
    );
    let (status, options) = api(
        &t,
        &b,
        "/.mfagate/api/mfa/passkey/register/options",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 200, "{options}");
    let (mut key, made) = SoftKey::register(&options["publicKey"], &t.url(""));
    let body = serde_json::json!({ "credential": made, "name": "Phone" });
    let (status, released) = api(&t, &b, "/.mfagate/api/mfa/passkey/register", body).await;
    assert_eq!(status, 200, "{released}");
    assert!(
        released["data"]["authentication_token"].is_string(),
        "{released}"
    );
    assert_eq!(released["backup_codes"].as_array().map(Vec::len), Some(10));

    let b = token_login(&t, "agent1@demo.test", "agent1-pass").await;
    let state = crate::support::json(b.get(t.url("/.mfagate/api/mfa"))).await;
    assert_eq!(state["methods"][0], "passkey", "{state}");
    assert_eq!(
        state["passkey_register"],
        Value::Null,
        "a second passkey needs a fresh factor first"
    );
    let (_, options) = api(
        &t,
        &b,
        "/.mfagate/api/mfa/passkey/options",
        serde_json::json!({}),
    )
    .await;
    let used = key.sign_in(&options["publicKey"], &t.url(""));
    let body = serde_json::json!({ "method": "passkey", "credential": used });
    let (status, released) = api(&t, &b, "/.mfagate/api/mfa/verify", body.clone()).await;
    assert_eq!(status, 200, "{released}");
    assert!(released["data"]["authentication_token"].is_string());
    let b = token_login(&t, "agent1@demo.test", "agent1-pass").await;
    let (status, _) = api(&t, &b, "/.mfagate/api/mfa/verify", body).await;
    assert_eq!(status, 422, "an answer is used once");

    // The OpenAPI document describes the ceremonies.
    let doc = crate::support::json(b.get(t.url("/.mfagate/api/openapi.json"))).await;
    for path in [
        "passkey/options",
        "passkey/register/options",
        "passkey/register",
    ] {
        assert!(
            doc["paths"][format!("/.mfagate/api/mfa/{path}")]["post"].is_object(),
            "{path}"
        );
    }
}

/// A browser talking to two instances of one gateway (cookies are per host, not per port).
struct TwoInstances {
    a: mfagate::proxy::RunningGateway,
    b: mfagate::proxy::RunningGateway,
}

impl TwoInstances {
    /// `https://chat.test:port` of an instance: the origin its pages are served on.
    fn origin(gw: &mfagate::proxy::RunningGateway) -> String {
        format!("https://chat.test:{}", gw.https_addr.port())
    }

    async fn page(
        browser: &reqwest::Client,
        gw: &mfagate::proxy::RunningGateway,
        path: &str,
    ) -> String {
        let url = format!("{}{path}", Self::origin(gw));
        crate::support::text(browser.get(url)).await
    }

    async fn post(
        browser: &reqwest::Client,
        gw: &mfagate::proxy::RunningGateway,
        path: &str,
        form: &[(&str, String)],
    ) -> reqwest::Response {
        let url = format!("{}{path}", Self::origin(gw));
        browser.post(url).form(form).send().await.unwrap()
    }

    /// A fresh browser signed in with its password at `gw`, its second factor outstanding.
    async fn pending(
        &self,
        pki: &crate::support::Pki,
        gw: &mfagate::proxy::RunningGateway,
    ) -> reqwest::Client {
        let browser = pki.client(&["chat.test"], self.a.https_addr, false);
        let form = [
            ("email", "agent1@demo.test".into()),
            ("password", "agent1-pass".into()),
        ];
        assert_eq!(
            location(&Self::post(&browser, gw, "/login", &form).await),
            "/.mfagate/"
        );
        browser
    }
}

/// The form a passkey page posts: its CSRF token and the browser's answer.
fn answered(page: &str, credential: &Value) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf(page)),
        ("credential", credential.to_string()),
        ("next", "/".into()),
    ]
}

/// Two instances on one real redis-server, one browser talking to both (as behind a load
/// balancer; the instances' ports differ here, so each answer is made for the origin of the
/// instance it is posted to).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_and_its_challenges_work_across_two_instances_on_redis() {
    use crate::support::redis::{redis_toml, RedisServer};
    let redis = RedisServer::start(false);
    let pki = crate::support::Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let toml = redis_toml(
        &pki,
        dashboard,
        &redis.store_keys(),
        "",
        "required",
        PASSKEY_METHODS,
    );
    let t = TwoInstances {
        a: crate::support::start_gateway(&pki, &toml),
        b: crate::support::start_gateway(&pki, &toml),
    };
    let (a, b) = (&t.a, &t.b);

    // Registered on A.
    let browser = t.pending(&pki, a).await;
    let register = TwoInstances::page(&browser, a, "/.mfagate/passkey/register").await;
    let (mut key, made) = SoftKey::register(&options_of(&register), &TwoInstances::origin(a));
    let form = answered(&register, &made);
    let codes = TwoInstances::post(&browser, a, "/.mfagate/passkey/register", &form).await;
    let codes = codes.text().await.unwrap();
    let form = [("csrf", csrf(&codes))];
    let done = TwoInstances::post(&browser, a, "/.mfagate/continue", &form).await;
    assert_eq!(done.status(), 303);

    // Used on B, with a challenge A issued.
    let browser = t.pending(&pki, b).await;
    let sign_in = TwoInstances::page(&browser, a, "/.mfagate/passkey").await;
    let used = key.sign_in(&options_of(&sign_in), &TwoInstances::origin(b));
    let resp =
        TwoInstances::post(&browser, b, "/.mfagate/passkey", &answered(&sign_in, &used)).await;
    assert_eq!(resp.status(), 303, "a challenge from A is answered on B");
    assert_released_sealed(&resp);

    // A step-up challenge from A, answered on B once; the same answer again is refused.
    let step_up = TwoInstances::page(&browser, a, "/.mfagate/step-up?next=/").await;
    let confirm = key.sign_in(&options_of(&step_up), &TwoInstances::origin(b));
    let form = answered(&step_up, &confirm);
    let path = "/.mfagate/step-up/passkey";
    let first = TwoInstances::post(&browser, b, path, &form).await;
    assert_eq!(first.status(), 303, "answered on B");
    let again = TwoInstances::post(&browser, b, path, &form).await;
    assert_eq!(again.status(), 422, "answered twice");
    let again_on_a = TwoInstances::post(&browser, a, path, &form).await;
    assert_eq!(
        again_on_a.status(),
        422,
        "nor on the instance that issued it"
    );
    crate::support::stop(t.a).await;
    crate::support::stop(t.b).await;
}

/// Clicks `css` once it is on the page (the passkey button is enabled by the page's script).
async fn press(browser: &fantoccini::Client, css: &str) {
    crate::browser::element(browser, css)
        .await
        .click()
        .await
        .unwrap();
}

/// The pages in headless Chromium with a virtual authenticator: a passkey made at enrollment,
/// used on the next sign-in and removed; an admin (phishing-resistant) is sent to make one;
/// another host of the gateway cannot use this site's passkey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_a_passkey_is_made_used_and_removed() {
    use crate::browser::{click, element, fill, password_login_at, wait_for_path};
    use crate::support::browser::{add_virtual_authenticator, virtual_credentials, Driver};
    let env = format!(
        "{PASSKEY_METHODS}\nphishing_resistant_roles = [\"admin\"]\ntrust_browser = \"never\""
    );
    let pki = crate::support::Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let extra = Extra {
        top: ROLES,
        env: &env,
        login: "",
    };
    let toml =
        crate::support::mfa::mfa_toml_with(&pki, dashboard, &["chat.test", "other.test"], &extra);
    let gw = crate::support::start_gateway(&pki, &toml);
    let base = format!("https://chat.test:{}", gw.https_addr.port());
    let driver = Driver::start().await;
    let browser = driver
        .browser("passkeys", &["chat.test", "other.test"])
        .await;
    let authenticator = add_virtual_authenticator(&browser).await;

    password_login_at(&browser, &base, "agent1@demo.test", "agent1-pass").await;
    wait_for_path(&browser, "/.mfagate/").await;
    click(&browser, "#choose-passkey").await;
    wait_for_path(&browser, "/.mfagate/passkey/register").await;
    let name = element(&browser, "#name").await;
    name.clear().await.unwrap();
    fill(&browser, "#name", "Laptop fingerprint").await;
    press(&browser, "#passkey-go:not([disabled])").await;
    // The backup codes, once; then the inbox.
    element(&browser, "#backup-codes").await;
    click(&browser, "form[action$='continue'] button[type=submit]").await;
    wait_for_path(&browser, "/").await;
    assert_eq!(virtual_credentials(&browser, &authenticator).await.len(), 1);

    // The next sign-in (this browser is not trusted: `trust_browser = "never"`).
    browser
        .goto(&format!("{base}/.mfagate/devices"))
        .await
        .unwrap();
    click(&browser, "form[action$='logout'] button").await;
    password_login_at(&browser, &base, "agent1@demo.test", "agent1-pass").await;
    wait_for_path(&browser, "/.mfagate/passkey").await;
    press(&browser, "#passkey-go:not([disabled])").await;
    wait_for_path(&browser, "/").await;

    // An authenticator app beside it (the passkey is fresh), so the passkey is not the last
    // factor; then it is listed with its name and last use, and removed.
    let setup = format!("{base}/.mfagate/security/authenticator");
    browser.goto(&setup).await.unwrap();
    let key = element(&browser, "#setup-key").await.text().await.unwrap();
    let seed = mfagate::mfa::totp::parse_setup_key(&key).unwrap();
    let code = mfagate::mfa::totp::code_at(&seed, gw.auth.as_ref().unwrap().clock.now());
    fill(&browser, "#code", &code).await;
    click(
        &browser,
        "form[action$='authenticator'] button[type=submit]",
    )
    .await;
    // Backup codes came with the passkey: straight back to the security page.
    wait_for_path(&browser, "/.mfagate/security").await;
    browser
        .goto(&format!("{base}/.mfagate/devices"))
        .await
        .unwrap();
    let row = element(&browser, "#passkeys tbody tr")
        .await
        .text()
        .await
        .unwrap();
    assert!(row.contains("Laptop fingerprint"), "{row}");
    assert!(!row.contains("Never"), "its last use is shown: {row}");
    click(&browser, "form[action$='passkeys/remove'] button").await;
    // The same path again: wait for the confirmation the redirect brings.
    element(&browser, "p.done").await;
    let page = browser.source().await.unwrap();
    assert!(page.contains("The passkey was removed."), "{page}");
    assert!(!page.contains("Laptop fingerprint"));

    // Another host of the gateway: the browser refuses this site's passkey options there.
    browser
        .goto(&format!(
            "https://other.test:{}/.mfagate/health",
            gw.https_addr.port()
        ))
        .await
        .unwrap();
    let refused = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             navigator.credentials.get({ publicKey: { challenge: new Uint8Array(32), rpId: 'chat.test',\
               allowCredentials: [] } }).then(() => done('allowed'), e => done(e.name));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        refused, "SecurityError",
        "an origin outside the relying party"
    );

    // An admin must make a passkey: no authenticator-app choice, and TOTP enrollment refused.
    browser
        .goto(&format!("{base}/.mfagate/devices"))
        .await
        .unwrap();
    click(&browser, "form[action$='logout'] button").await;
    password_login_at(&browser, &base, "admin@demo.test", "admin-pass").await;
    wait_for_path(&browser, "/.mfagate/passkey/register").await;
    assert!(browser
        .find(fantoccini::Locator::Css("#use-app"))
        .await
        .is_err());
    browser
        .goto(&format!("{base}/.mfagate/enroll"))
        .await
        .unwrap();
    wait_for_path(&browser, "/.mfagate/passkey/register").await;
    press(&browser, "#passkey-go:not([disabled])").await;
    element(&browser, "#backup-codes").await;
    click(&browser, "form[action$='continue'] button[type=submit]").await;
    wait_for_path(&browser, "/").await;
    browser.close().await.unwrap();
    crate::support::stop(gw).await;
}
