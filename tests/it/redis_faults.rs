//! Redis faults: what one gateway instance does when its shared store goes away, comes back,
//! or is not there at start. It must fail closed, never forward without a decision, and recover
//! without a restart.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::mfa::{enroll_at, location};
use crate::support::redis::{redis_toml, RedisServer};
use crate::support::{start_gateway, stop, Pki};

/// The demo dashboard on this runtime, counting every request that reaches it.
async fn counting_dashboard() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    async fn count(
        axum::extract::State(reached): axum::extract::State<Arc<AtomicUsize>>,
        req: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        reached.fetch_add(1, Ordering::SeqCst);
        next.run(req).await
    }
    let reached = Arc::new(AtomicUsize::new(0));
    let app = mfagate::demo::dashboard::router()
        .layer(axum::middleware::from_fn_with_state(reached.clone(), count));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, reached)
}

/// Posts agent1's password to the dashboard login through the gateway.
async fn sign_in(browser: &reqwest::Client, base: &str) -> reqwest::Response {
    let login = [("email", "agent1@demo.test"), ("password", "agent1-pass")];
    browser
        .post(format!("{base}/login"))
        .form(&login)
        .send()
        .await
        .unwrap()
}

/// One response under load: when its request left and came back (after the kill) and status.
struct Sample {
    sent: Duration,
    answered: Duration,
    status: u16,
}

/// Signed-in clients asking for `url` back to back until `done`; times are from `kill`.
fn steady_load(
    browser: &reqwest::Client,
    url: String,
    kill: Arc<std::sync::OnceLock<Instant>>,
    done: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Sample>>> {
    (0..4)
        .map(|_| {
            let (browser, url, kill, done) =
                (browser.clone(), url.clone(), kill.clone(), done.clone());
            tokio::spawn(async move {
                let since = |t: Instant| {
                    kill.get()
                        .map_or(Duration::ZERO, |k| t.saturating_duration_since(*k))
                };
                let mut samples = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    let sent = Instant::now();
                    let status = browser.get(&url).send().await.unwrap().status().as_u16();
                    let answered = since(Instant::now());
                    // Before the kill, `sent` counts as zero: only post-kill timing is judged.
                    samples.push(Sample {
                        sent: since(sent),
                        answered,
                        status,
                    });
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                samples
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dies_under_steady_load_fails_closed_after_staleness_and_recovers() {
    let mut redis = RedisServer::start(true);
    let pki = Pki::new();
    let (dashboard, reached) = counting_dashboard().await;
    let store = format!("{}\nmax_staleness_secs = 2", redis.store_keys());
    let toml = redis_toml(&pki, dashboard, &store, "", "required", "");
    let gw = start_gateway(&pki, &toml);
    let browser = pki.client(&["chat.test"], gw.https_addr, false);
    let base = format!("https://chat.test:{}", gw.https_addr.port());
    let now = gw.auth.as_ref().unwrap().clock.now();
    enroll_at(&browser, &base, "agent1@demo.test", "agent1-pass", now).await;
    let admin = format!("http://{}/readyz", gw.admin_addr);

    let (kill, done) = (
        Arc::new(std::sync::OnceLock::new()),
        Arc::new(AtomicBool::new(false)),
    );
    let before = reached.load(Ordering::SeqCst);
    let load = steady_load(&browser, format!("{base}/"), kill.clone(), done.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.kill();
    kill.set(Instant::now()).unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    done.store(true, Ordering::SeqCst);
    let mut samples = Vec::new();
    for client in load {
        samples.extend(client.await.unwrap());
    }
    let served = samples.iter().filter(|s| s.status == 200).count();
    println!(
        "{} requests under load, {served} served, {} refused",
        samples.len(),
        samples.len() - served
    );
    assert_eq!(
        reached.load(Ordering::SeqCst) - before,
        served,
        "every request that reached the dashboard was one the gateway decided to serve"
    );
    for s in &samples {
        assert!(s.status == 200 || s.status == 503, "status {}", s.status);
        // Staleness counts from the last good heartbeat (at most 0.5 s before the kill).
        if s.answered < Duration::from_millis(1400) {
            assert_eq!(s.status, 200, "within staleness: served from memory");
        }
        if s.sent > Duration::from_millis(2100) {
            assert_eq!(s.status, 503, "stale: fail closed");
        }
    }
    assert!(samples.iter().any(|s| s.sent > Duration::from_millis(2100)));
    assert_eq!(
        reqwest::get(&admin).await.unwrap().status(),
        503,
        "not ready while stale"
    );
    let metrics = format!("http://{}/metrics", gw.admin_addr);
    let scraped = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    assert!(scraped.contains("mfagate_store_stale 1"), "{scraped}");
    let other = pki.client(&["chat.test"], gw.https_addr, false);
    let refused = sign_in(&other, &base).await;
    assert_eq!(refused.status(), 503, "logins fail closed");
    // A gateway page that needs the store says so on a page of its own, with its headers.
    let page = browser
        .get(format!("{base}/.mfagate/devices"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.headers().contains_key("content-security-policy"));
    let body = page.text().await.unwrap();
    assert!(
        body.contains("temporarily unavailable") && body.contains("static/gate.css"),
        "{body}"
    );

    redis.revive(true);
    let started = Instant::now();
    while browser
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("recovered {:?} after redis came back", started.elapsed());
    assert_eq!(reqwest::get(&admin).await.unwrap().status(), 200);
    let scraped = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    assert!(scraped.contains("mfagate_store_stale 0"), "{scraped}");
    let lag: f64 = scraped
        .lines()
        .find_map(|l| l.strip_prefix("mfagate_store_event_lag_seconds "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no lag gauge in {scraped}"));
    assert!((0.0..2.0).contains(&lag), "events confirmed again: {lag}");
    let again = sign_in(&other, &base).await;
    assert_eq!(location(&again), "/.mfagate/");
    let next = other.get(format!("{base}/.mfagate/")).send().await.unwrap();
    assert_eq!(
        location(&next),
        "/.mfagate/verify",
        "the enrollment survived the outage (AOF)"
    );
    stop(gw).await;
}

/// Redis down when the gateway starts: it starts anyway, not ready and failing closed, and
/// becomes ready by itself once Redis answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_started_without_redis_is_not_ready_until_redis_answers() {
    let mut redis = RedisServer::start(false);
    redis.kill();
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let store = redis.store_keys();
    let gw = start_gateway(
        &pki,
        &redis_toml(&pki, dashboard, &store, "", "required", ""),
    );
    let admin = format!("http://{}/readyz", gw.admin_addr);
    assert_eq!(reqwest::get(&admin).await.unwrap().status(), 503);
    let browser = pki.client(&["chat.test"], gw.https_addr, false);
    let url = |p: &str| format!("https://chat.test:{}{p}", gw.https_addr.port());
    let refused = sign_in(&browser, &url("")).await;
    assert_eq!(refused.status(), 503, "logins fail closed");
    assert!(
        refused.headers().get("set-cookie").is_none(),
        "no session is released without a decision"
    );

    redis.revive(false);
    let started = Instant::now();
    while reqwest::get(&admin).await.unwrap().status() != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let accepted = sign_in(&browser, &url("")).await;
    assert_eq!(location(&accepted), "/.mfagate/");
    stop(gw).await;
}
