//! Redis failovers under two gateway instances: the master dies, a replica takes over (promoted
//! by a Sentinel, or by the cluster itself), and the gateway follows without a restart. While
//! it follows, logins fail closed with 503; afterwards nothing acknowledged is lost and
//! revocations reach every instance again.

mod support;

use std::time::{Duration, Instant};

use mfagate::proxy::RunningGateway;
use support::mfa::set_cookies;
use support::redis::redis_toml;
use support::redis_deploy::{ClusterSet, Deployment, SentinelSet};
use support::{start_gateway, stop, Pki};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_is_followed_without_a_restart() {
    let redis = Deployment::Sentinel(SentinelSet::start());
    survive_failover(redis, "sentinel").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_failover_is_followed_without_a_restart() {
    let redis = Deployment::Cluster(ClusterSet::start_with_replica());
    survive_failover(redis, "cluster").await;
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

async fn survive_failover(mut redis: Deployment, shape: &str) {
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let toml = redis_toml(&pki, dashboard, &redis.store_keys(), "", "off", "");
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
    redis.kill_master();
    let killed = Instant::now();

    // Each instance: logins get 503 (never a 5xx of another kind, never a cookie) until it
    // follows the new master, then they work again.
    for gw in [&a, &b] {
        loop {
            let resp = sign_in(&pki.client(&["chat.test"], gw.https_addr, false), gw).await;
            match resp.status().as_u16() {
                302 => break,
                503 => assert!(
                    resp.headers().get("set-cookie").is_none(),
                    "a refused login releases no cookie"
                ),
                other => panic!("login answered {other} during the failover"),
            }
            assert!(
                killed.elapsed() < Duration::from_secs(30),
                "{shape}: still failing over after 30 s"
            );
            // Slow enough to stay under the per-client login limit (30 a minute).
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let followed = killed.elapsed();
    println!("{shape}: both instances sign users in again {followed:?} after the master died");

    // Nothing acknowledged before the failover is lost.
    let mut conn = redis::Client::open(successor)
        .unwrap()
        .get_connection()
        .unwrap();
    for key in &keys {
        let exists: bool = redis::cmd("EXISTS").arg(key).query(&mut conn).unwrap();
        assert!(exists, "{key} survived the failover");
    }

    // Revocations travel again: a logout on B is refused on A within a second.
    assert_eq!(status_with(&pki, &a, "/", &session).await, 200, "control");
    let out = support::mfa::logout_at(&laptop, &url(&b, "")).await;
    assert_eq!(out.status(), 303);
    let limit = Duration::from_secs(1);
    let took =
        support::mfa::refused_within(limit, shape, || status_with(&pki, &a, "/", &session)).await;
    println!("{shape}: logout on B refused on A after {took:?}");
    stop(a).await;
    stop(b).await;
}
