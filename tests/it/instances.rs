//! Several gateway instances sharing one real redis-server behave like one: sessions, trusted
//! devices, logouts and single-use codes hold across instances.

use std::time::{Duration, Instant};

use crate::support::mfa::{csrf, location};
use crate::support::redis::redis_toml;
use crate::support::redis::RedisServer;
use crate::support::redis_deploy::{ClusterSet, Deployment, SentinelSet};
use crate::support::{start_gateway, stop, Pki};
use mfagate::proxy::RunningGateway;

struct Pair {
    pki: Pki,
    a: RunningGateway,
    b: RunningGateway,
    redis: Deployment,
}

impl Pair {
    fn start(redis: Deployment) -> Self {
        let pki = Pki::new();
        let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
        let store = match &redis {
            Deployment::Standalone(server) => {
                // The URL comes from the environment like a password-bearing URL would.
                let var = format!("MFAGATE_TEST_REDIS_URL_{}", server.port);
                std::env::set_var(&var, server.url());
                format!("url = {{ env = \"{var}\" }}")
            }
            other => other.store_keys(),
        };
        let toml = redis_toml(&pki, dashboard, &store, "", "required", "");
        let (a, b) = (start_gateway(&pki, &toml), start_gateway(&pki, &toml));
        Self { pki, a, b, redis }
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

    /// Enters an authenticator code on `gw`'s verify page.
    async fn verify(
        &self,
        b: &reqwest::Client,
        gw: &RunningGateway,
        code: &str,
    ) -> reqwest::Response {
        crate::support::mfa::verify_at(b, &Self::url(gw, ""), code).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_devices_logouts_and_codes() {
    let t = Pair::start(Deployment::Standalone(RedisServer::start(false)));
    share_sessions_devices_logouts_and_codes(t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_through_sentinel_share_everything() {
    let t = Pair::start(Deployment::Sentinel(SentinelSet::start()));
    share_sessions_devices_logouts_and_codes(t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_a_cluster_share_everything() {
    let t = Pair::start(Deployment::Cluster(ClusterSet::start()));
    let redis = share_sessions_devices_logouts_and_codes(t).await;
    let Deployment::Cluster(cluster) = redis else {
        unreachable!()
    };
    let spread = cluster.keys_per_node();
    println!("keys per cluster master: {spread:?}");
    assert!(
        spread.iter().all(|&n| n > 0),
        "the gateway's keys are spread over every master: {spread:?}"
    );
}

/// MFA on A is accepted on B, a device trusted on A skips MFA on B, a TOTP code used on A is
/// refused on B, and a logout on B is refused on A within a second. Returns the deployment so
/// a caller can inspect it.
async fn share_sessions_devices_logouts_and_codes(t: Pair) -> Deployment {
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
    let key = crate::support::mfa::between(&page, "<code id=\"setup-key\">", "</code>");
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
    let session = crate::support::mfa::set_cookies(&again)
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
    assert_eq!(t.verify(&x, &t.a, &code).await.status(), 303);
    assert_eq!(
        t.verify(&y, &t.b, &code).await.status(),
        422,
        "replay across instances"
    );

    // Logout on B: A refuses the same session cookie within a second (revocation event).
    let direct = t.pki.client(&["chat.test"], t.a.https_addr, false);
    let url = Pair::url(&t.a, "/.mfagate/devices");
    let with_old_cookie = || direct.get(&url).header("cookie", session.clone()).send();
    assert_eq!(
        with_old_cookie().await.unwrap().status(),
        200,
        "control: A accepts it before"
    );
    let out = crate::support::mfa::logout_at(&laptop, &Pair::url(&t.b, "")).await;
    assert_eq!(out.status(), 303);
    let took =
        crate::support::mfa::refused_within(Duration::from_secs(1), "logout on B, A", || async {
            with_old_cookie().await.unwrap().status().as_u16()
        })
        .await;
    println!("logout on B took effect on A after {took:?}");
    stop(t.a).await;
    stop(t.b).await;
    t.redis
}

/// Redis dies under a signed-in user: the session keeps working within `max_staleness`, then
/// fails closed with 503 (readiness too) instead of trusting an old revocation view; logins
/// fail closed; when Redis comes back (AOF) the gateway recovers by itself, factors intact.
/// Total calls per command from INFO commandstats.
async fn command_calls(url: &str) -> std::collections::BTreeMap<String, u64> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|l| l.strip_prefix("cmdstat_"))
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let calls = rest
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_string(), calls))
        })
        .collect()
}

/// The hot path: 10 000 authenticated requests cause no Redis commands beyond the heartbeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_requests_make_no_redis_round_trips() {
    let redis = RedisServer::start(false);
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let toml = redis_toml(&pki, dashboard, &redis.store_keys(), "", "off", "");
    let gw = start_gateway(&pki, &toml);
    let browser = pki.client(&["chat.test"], gw.https_addr, false);
    let url = |p: &str| format!("https://chat.test:{}{p}", gw.https_addr.port());
    let signed_in = browser
        .post(url("/login"))
        .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 302);
    let before = command_calls(&redis.url()).await;
    const N: usize = 10_000;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (browser, url) = (browser.clone(), url("/api/v1/me"));
        tasks.push(tokio::spawn(async move {
            for _ in 0..N / 8 {
                assert_eq!(browser.get(&url).send().await.unwrap().status(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let after = command_calls(&redis.url()).await;
    let per_request: u64 = after
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "ping" | "info" | "subscribe" | "publish"))
        .map(|(name, calls)| calls - before.get(name).copied().unwrap_or(0))
        .sum();
    println!(
        "redis commands during {N} authenticated requests (heartbeat excluded): {per_request}"
    );
    assert!(
        per_request < 10,
        "hot path touched Redis {per_request} times: {after:?}"
    );
    stop(gw).await;
}

/// Bytes per session in Redis, measured over 10 000 sessions (target at most 600 B).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_costs_little_memory_in_redis() {
    use mfagate::store::records::{Records, SessionRecord, WithheldCredential};
    use mfagate::store::{RedisStore, RedisTarget, Store};
    let redis = RedisServer::start(false);
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(
        RedisStore::open(&RedisTarget::standalone(&redis.url(), None), "mfagate:").unwrap(),
    );
    let keys = std::sync::Arc::new(mfagate::crypto::secret_box::KeyRing::new(&[vec![1; 32]]));
    let records = Records::new(store, keys);
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let used = |info: String| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let before = used(
        redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut conn)
            .await
            .unwrap(),
    );
    const N: u64 = 10_000;
    let credential = WithheldCredential {
        set_cookies: vec!["_chat_session=0123456789abcdef0123456789abcdef; Path=/; HttpOnly; Secure; SameSite=Lax".into()],
        token: None,
    };
    for i in 0..N {
        let user = format!("agent{i}@example.com");
        let record = SessionRecord {
            id: format!("k3J8dW1hX2Rldi0w{i:06}"),
            environment: "prod".into(),
            device_id: format!("Zm9vYmFyYmF6cXV4{i:06}"),
            device_label: "Chrome on Windows".into(),
            ip: "203.0.113.7".into(),
            created_at: 1_800_000_000,
            created_sub_ms: 0,
            mfa_at: Some(1_800_000_000),
            auth: mfagate::domain::AuthMethod::Pwd,
            sealed_credential: Some(records.seal_credential(&user, &credential)),
        };
        records
            .save_session(&user, &record, Duration::from_secs(12 * 3600))
            .await
            .unwrap();
    }
    let after = used(
        redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut conn)
            .await
            .unwrap(),
    );
    let with_indexes = (after - before) / N;
    let mut usage = 0u64;
    for i in 0..N {
        let key = format!("mfagate:user:{{agent{i}@example.com}}:session:k3J8dW1hX2Rldi0w{i:06}");
        let bytes: u64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        usage += bytes;
    }
    let per_session = usage / N;
    println!("redis MEMORY USAGE per session record: {per_session} B; with the user's index sets (one user per session, worst case): {with_indexes} B");
    assert!(per_session <= 600, "{per_session} B per session");
}

/// Two instances, one Redis, with mail: the grace-end sweep closes WebSockets on both
/// instances, and twenty parallel wrong email codes spread over both are evaluated exactly three
/// times.
struct MailPair {
    pki: Pki,
    a: RunningGateway,
    b: RunningGateway,
    sink: crate::support::smtp::SmtpSink,
    _redis: RedisServer,
}

impl MailPair {
    async fn start(env_extra: &str) -> Self {
        let redis = RedisServer::start(false);
        let sink = crate::support::smtp::SmtpSink::start().await;
        let (mail, methods) = crate::support::mfa::mail_extra(sink.port());
        let pki = Pki::new();
        let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
        let env = format!("{methods}\n{env_extra}");
        let toml = redis_toml(
            &pki,
            dashboard,
            &redis.store_keys(),
            &mail,
            "required",
            &env,
        );
        let (a, b) = (start_gateway(&pki, &toml), start_gateway(&pki, &toml));
        Self {
            pki,
            a,
            b,
            sink,
            _redis: redis,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_email_codes_over_two_instances_are_evaluated_three_times() {
    let t = MailPair::start("").await;
    let browser = t.pki.client(&["chat.test"], t.a.https_addr, false);
    let url =
        |gw: &RunningGateway, p: &str| format!("https://chat.test:{}{p}", gw.https_addr.port());
    browser
        .post(url(&t.a, "/login"))
        .form(&[("email", "agent2@demo.test"), ("password", "agent2-pass")])
        .send()
        .await
        .unwrap();
    let page = browser
        .get(url(&t.a, "/.mfagate/email"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf(&page);
    browser
        .post(url(&t.a, "/.mfagate/email/send"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    t.sink.wait_for(1).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let gw_url = url(
            if i % 2 == 0 { &t.a } else { &t.b },
            "/.mfagate/email/verify",
        );
        let (browser, token) = (browser.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let code = format!("{:06}", 900_000 + i);
            browser
                .post(gw_url)
                .form(&[("code", code.as_str()), ("csrf", token.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    crate::support::mfa::assert_twenty_wrong_codes_regulated(&statuses);
    let events = t.a.auth.as_ref().unwrap().activity(1000).await;
    let evaluated = events
        .iter()
        .filter(|e| matches!(e.kind, mfagate::audit::EventKind::MfaFailure { .. }))
        .count();
    assert_eq!(
        evaluated, 3,
        "exactly three evaluated across both instances (shared audit log)"
    );
    stop(t.a).await;
    stop(t.b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_end_closes_websockets_on_both_instances() {
    use futures_util::StreamExt;
    let redis = RedisServer::start(false);
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let toml = |mode: &str| {
        let env =
            "grace_period_days = 7\nsession_idle_minutes = 20160\nsession_absolute_hours = 720";
        redis_toml(&pki, dashboard, &redis.store_keys(), "", mode, env)
    };
    // Before enforcement: one browser signs in on each instance with the password only.
    let (a, b) = (
        start_gateway(&pki, &toml("off")),
        start_gateway(&pki, &toml("off")),
    );
    let mut cookies = Vec::new();
    for gw in [&a, &b] {
        let resp = pki
            .client(&["chat.test"], gw.https_addr, false)
            .post(format!("https://chat.test:{}/login", gw.https_addr.port()))
            .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 302);
        cookies.push(
            crate::support::mfa::set_cookies(&resp)
                .iter()
                .map(|c| c.split(';').next().unwrap().to_string())
                .collect::<Vec<_>>(),
        );
    }
    stop(a).await;
    stop(b).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Enforcement on, both instances; a WebSocket on each.
    let (a, b) = (
        start_gateway(&pki, &toml("required")),
        start_gateway(&pki, &toml("required")),
    );
    let mut sockets = Vec::new();
    for (gw, cookie) in [(&a, &cookies[0]), (&b, &cookies[1])] {
        let ws = pki
            .open_ws(gw.https_addr, "chat.test", &cookie.join("; "))
            .await
            .expect("session lives in grace");
        sockets.push(ws);
    }
    for gw in [&a, &b] {
        gw.auth.as_ref().unwrap().clock.advance(7 * 86_400 + 1);
    }
    let started = Instant::now();
    for mut ws in sockets {
        let closed = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        assert!(closed.is_ok(), "WebSocket not closed within 1 s");
    }
    println!(
        "both instances' WebSockets closed within {:?}",
        started.elapsed()
    );
    stop(a).await;
    stop(b).await;
}

/// An admin's reset on one instance signs the user out on the other at once: their
/// WebSocket there closes within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reset_on_one_instance_closes_the_users_websocket_on_the_other() {
    use futures_util::StreamExt;
    let redis = RedisServer::start(false);
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let token = "reset-token-0123456789";
    let tokens = format!(
        "[[admin_tokens]]\nname = \"ops\"\nsha256 = \"{}\"\nscope = \"write\"\nenvironments = [\"chat\"]\n",
        crate::support::sha256_hex(token.as_bytes())
    );
    let toml = redis_toml(
        &pki,
        dashboard,
        &redis.store_keys(),
        &tokens,
        "required",
        "",
    );
    let (a, b) = (start_gateway(&pki, &toml), start_gateway(&pki, &toml));
    let browser = pki.client(&["chat.test"], b.https_addr, false);
    let base_b = format!("https://chat.test:{}", b.https_addr.port());
    let login = browser
        .post(format!("{base_b}/login"))
        .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(crate::support::mfa::location(&login), "/.mfagate/");
    let now = b.auth.as_ref().unwrap().clock.now();
    let (_, released) = crate::support::mfa::enroll_pending_at(&browser, &base_b, now).await;
    let cookie: Vec<String> = crate::support::mfa::set_cookies(&released)
        .iter()
        .map(|c| c.split(';').next().unwrap().to_string())
        .collect();
    let mut ws = pki
        .open_ws(b.https_addr, "chat.test", &cookie.join("; "))
        .await
        .expect("signed in on B");

    let reset = pki
        .client(&["chat.test"], a.https_addr, false)
        .post(format!(
            "https://chat.test:{}/.mfagate/admin/api/v1/users/agent1@demo.test/reset-mfa",
            a.https_addr.port()
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({"reason": "lost phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200, "reset on A");
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    assert!(
        closed.is_ok(),
        "the WebSocket on B was not closed within 1 s"
    );
    println!(
        "WebSocket on B closed {:?} after the reset on A",
        started.elapsed()
    );
    let again = browser.get(format!("{base_b}/")).send().await.unwrap();
    assert!(again.status().is_redirection(), "signed out on B");
    stop(a).await;
    stop(b).await;
}
