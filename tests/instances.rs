//! Several gateway instances sharing one real redis-server behave like one: sessions, trusted
//! devices, logouts and single-use codes hold across instances.

mod support;

use std::time::{Duration, Instant};

use mfagate::proxy::RunningGateway;
use support::mfa::{config_head, csrf, environment, location};
use support::redis::RedisServer;
use support::{start_gateway, stop, Pki};

struct Pair {
    pki: Pki,
    a: RunningGateway,
    b: RunningGateway,
    _redis: RedisServer,
}

impl Pair {
    fn start() -> Self {
        let redis = RedisServer::start(false);
        let pki = Pki::new();
        let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut toml = config_head(
            &pki,
            &format!(
                "[store]\nbackend = \"redis\"\nurl = {{ env = \"MFAGATE_TEST_REDIS_URL_{}\" }}\n",
                redis.port
            ),
        );
        // The URL comes from the environment like a password-bearing URL would.
        std::env::set_var(
            format!("MFAGATE_TEST_REDIS_URL_{}", redis.port),
            redis.url(),
        );
        toml.push_str(&environment(
            &pki,
            dashboard,
            "chat.test",
            "required",
            "",
            "",
        ));
        let (a, b) = (start_gateway(&pki, &toml), start_gateway(&pki, &toml));
        Self {
            pki,
            a,
            b,
            _redis: redis,
        }
    }

    /// A browser that can talk to both instances (cookies are per host, not per port).
    fn browser(&self) -> reqwest::Client {
        self.pki.client(&["chat.test"], self.a.https_addr, false)
    }

    fn url(gw: &RunningGateway, path: &str) -> String {
        format!("https://chat.test:{}{path}", gw.https_addr.port())
    }

    async fn get(&self, b: &reqwest::Client, gw: &RunningGateway, path: &str) -> reqwest::Response {
        b.get(Self::url(gw, path)).send().await.unwrap()
    }

    async fn post(
        &self,
        b: &reqwest::Client,
        gw: &RunningGateway,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        b.post(Self::url(gw, path)).form(form).send().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_devices_logouts_and_codes() {
    let t = Pair::start();
    let laptop = t.browser();
    // MFA on A.
    let login = [("email", "agent1@demo.test"), ("password", "agent1-pass")];
    let resp = t.post(&laptop, &t.a, "/login", &login).await;
    assert_eq!(location(&resp), "/.mfagate/");
    let page = t
        .get(&laptop, &t.a, "/.mfagate/enroll")
        .await
        .text()
        .await
        .unwrap();
    let key = support::mfa::between(&page, "<code id=\"setup-key\">", "</code>");
    let secret = mfagate::mfa::totp::parse_setup_key(&key).unwrap();
    let clock = t.a.auth.as_ref().unwrap().clock.clone();
    let code = mfagate::mfa::totp::code_at(&secret, clock.now());
    let enrolled = t
        .post(
            &laptop,
            &t.a,
            "/.mfagate/enroll",
            &[("code", &code), ("csrf", &csrf(&page))],
        )
        .await;
    let codes = enrolled.text().await.unwrap();
    let released = t
        .post(
            &laptop,
            &t.a,
            "/.mfagate/continue",
            &[("csrf", &csrf(&codes))],
        )
        .await;
    assert_eq!(released.status(), 303);
    // The session is accepted on B, and the device trusted on A skips MFA on B.
    assert_eq!(
        t.get(&laptop, &t.b, "/").await.status(),
        200,
        "session accepted on B"
    );
    let again = t.post(&laptop, &t.b, "/login", &login).await;
    assert_eq!(again.status(), 302, "device trusted on A: no MFA on B");
    // The session logout will end (the newest one of this browser).
    let session = support::mfa::set_cookies(&again)
        .into_iter()
        .find(|c| c.starts_with("__Host-mfagate="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .unwrap();

    // A TOTP code used on A is refused on B (the time step is claimed in Redis).
    let (x, y) = (t.browser(), t.browser());
    t.post(&x, &t.a, "/login", &login).await;
    t.post(&y, &t.b, "/login", &login).await;
    for gw in [&t.a, &t.b] {
        gw.auth.as_ref().unwrap().clock.advance(30);
    }
    let code = mfagate::mfa::totp::code_at(&secret, clock.now());
    let page = t
        .get(&x, &t.a, "/.mfagate/verify")
        .await
        .text()
        .await
        .unwrap();
    let on_a = t
        .post(
            &x,
            &t.a,
            "/.mfagate/verify",
            &[("code", &code), ("csrf", &csrf(&page))],
        )
        .await;
    assert_eq!(on_a.status(), 303);
    let page = t
        .get(&y, &t.b, "/.mfagate/verify")
        .await
        .text()
        .await
        .unwrap();
    let on_b = t
        .post(
            &y,
            &t.b,
            "/.mfagate/verify",
            &[("code", &code), ("csrf", &csrf(&page))],
        )
        .await;
    assert_eq!(on_b.status(), 422, "replay across instances");

    // Logout on B: A refuses the same session cookie within a second (revocation event).
    let direct = t.pki.client(&["chat.test"], t.a.https_addr, false);
    let url = Pair::url(&t.a, "/.mfagate/devices");
    let with_old_cookie = || direct.get(&url).header("cookie", session.clone()).send();
    assert_eq!(
        with_old_cookie().await.unwrap().status(),
        200,
        "control: A accepts it before"
    );
    let devices = t
        .get(&laptop, &t.b, "/.mfagate/devices")
        .await
        .text()
        .await
        .unwrap();
    let out = t
        .post(
            &laptop,
            &t.b,
            "/.mfagate/logout",
            &[("csrf", &csrf(&devices))],
        )
        .await;
    assert_eq!(out.status(), 303);
    let started = Instant::now();
    while with_old_cookie().await.unwrap().status() == 200 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "A still accepts the session after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("logout on B took effect on A after {:?}", started.elapsed());
    stop(t.a).await;
    stop(t.b).await;
}
