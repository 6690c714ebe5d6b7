//! Redis failovers under two gateway instances: the master dies, a replica takes over (promoted
//! by a Sentinel, or by the cluster itself), and the gateway follows without a restart. While
//! it follows, logins fail closed with 503; afterwards nothing acknowledged is lost and
//! revocations reach every instance again.

use std::time::{Duration, Instant};

use crate::support::mfa::set_cookies;
use crate::support::redis::redis_toml;
use crate::support::redis_deploy::{ClusterSet, Deployment, SentinelSet};
use crate::support::{start_gateway, stop, Pki};
use mfagate::proxy::RunningGateway;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_is_followed_without_a_restart() {
    let redis = Deployment::Sentinel(SentinelSet::start());
    survive_failover(redis, "sentinel", Failover::Kill).await;
}

/// The old master keeps running and becomes a replica, which refuses writes: logins work
/// again only once the instances have moved to the new master. Times are from the switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_sentinel_failover_is_followed_without_a_restart() {
    let redis = Deployment::Sentinel(SentinelSet::start());
    survive_failover(redis, "planned sentinel", Failover::Demote).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_failover_is_followed_without_a_restart() {
    let redis = Deployment::Cluster(ClusterSet::start_with_replica());
    survive_failover(redis, "cluster", Failover::Kill).await;
}

/// How the master goes: killed as in a crash, or demoted by a planned failover.
enum Failover {
    Kill,
    Demote,
}

fn url(gw: &RunningGateway, path: &str) -> String {
    format!("https://chat.test:{}{path}", gw.https_addr.port())
}

/// Posts agent1's password to the dashboard login on `gw`.
async fn sign_in(browser: &reqwest::Client, gw: &RunningGateway) -> reqwest::Response {
    let login = [("email", "agent1@demo.test"), ("password", "agent1-pass")];
    browser
        .post(url(gw, "/login"))
        .form(&login)
        .send()
        .await
        .unwrap()
}

/// The `Cookie` header of a browser after a signed-in response: the gateway's session and the
/// dashboard's cookies.
fn session_cookie(resp: &reqwest::Response) -> String {
    let cookies: Vec<String> = set_cookies(resp)
        .iter()
        .map(|c| c.split(';').next().unwrap().to_string())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-mfagate=")),
        "a gateway session cookie"
    );
    cookies.join("; ")
}

async fn status_with(pki: &Pki, gw: &RunningGateway, path: &str, cookie: &str) -> u16 {
    pki.client(&["chat.test"], gw.https_addr, false)
        .get(url(gw, path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn survive_failover(mut redis: Deployment, shape: &str, how: Failover) {
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    // Logins are retried during the failover: more than the default 30 a minute per client.
    let env = "[environments.regulation]\nlogin_per_ip_per_minute = 1000";
    let toml = redis_toml(&pki, dashboard, &redis.store_keys(), "", "off", env);
    let (a, b) = (start_gateway(&pki, &toml), start_gateway(&pki, &toml));
    // A browser's cookies are per host, so it can use either instance.
    let laptop = pki.client(&["chat.test"], a.https_addr, false);
    let signed_in = sign_in(&laptop, &a).await;
    assert_eq!(signed_in.status(), 302);
    let session = session_cookie(&signed_in);
    assert_eq!(
        status_with(&pki, &b, "/", &session).await,
        200,
        "B accepts it"
    );

    // Every key the doomed master holds, once the replica has acknowledged it.
    redis.sync_replica();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query(&mut redis.doomed().admin())
        .unwrap();
    assert!(!keys.is_empty(), "the gateway wrote to the master");
    let successor = redis.successor().url();
    match how {
        Failover::Kill => redis.kill_master(),
        Failover::Demote => redis.demote_master(),
    }
    let lost = Instant::now();

    // Each instance: logins get 503 (never a 5xx of another kind, never a cookie) until it
    // follows the new master, then they work again. A demoted master still answers as master
    // for a while (until the Sentinel converts it), so there a login counts only once its
    // session lands on the new master.
    let mut new_master = redis::Client::open(successor.clone())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut sessions_on_new_master = || -> u64 {
        redis::cmd("SCARD")
            .arg("mfagate:user:{agent1@demo.test}:sessions")
            .query(&mut new_master)
            .unwrap()
    };
    for gw in [&a, &b] {
        loop {
            let before = matches!(how, Failover::Demote).then(&mut sessions_on_new_master);
            let resp = sign_in(&pki.client(&["chat.test"], gw.https_addr, false), gw).await;
            match resp.status().as_u16() {
                302 if before.is_none_or(|n| sessions_on_new_master() > n) => break,
                302 => {}
                503 => assert!(
                    resp.headers().get("set-cookie").is_none(),
                    "a refused login releases no cookie"
                ),
                other => panic!("login answered {other} during the failover"),
            }
            assert!(
                lost.elapsed() < Duration::from_secs(30),
                "{shape}: still failing over after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let followed = lost.elapsed();
    println!("{shape}: both instances sign users in again {followed:?} after the master went");
    if matches!(how, Failover::Demote) {
        // The instances ask the Sentinels every 2 s which master they name; without that they
        // would write to the deposed master until the Sentinel converts it, seconds later.
        assert!(
            followed < Duration::from_secs(6),
            "writes went to a deposed master for {followed:?}"
        );
    }

    // Nothing acknowledged before the failover is lost.
    let mut conn = redis::Client::open(successor)
        .unwrap()
        .get_connection()
        .unwrap();
    for key in &keys {
        let exists: bool = redis::cmd("EXISTS").arg(key).query(&mut conn).unwrap();
        assert!(exists, "{key} survived the failover");
    }

    // Revocations travel again: a logout on B is refused on A within a second. A may still be
    // catching up with the events after the failover (503, fail closed) for a moment.
    let mut control = 0;
    for _ in 0..50 {
        control = status_with(&pki, &a, "/", &session).await;
        if control == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        control, 200,
        "control: A serves the session once it has caught up"
    );
    let out = crate::support::mfa::logout_at(&laptop, &url(&b, "")).await;
    assert_eq!(out.status(), 303);
    let limit = Duration::from_secs(1);
    let took =
        crate::support::mfa::refused_within(limit, shape, || status_with(&pki, &a, "/", &session))
            .await;
    println!("{shape}: logout on B refused on A after {took:?}");
    stop(a).await;
    stop(b).await;
}
