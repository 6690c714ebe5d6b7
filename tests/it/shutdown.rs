//! Graceful shutdown: stop accepting, let in-flight requests finish, never wait past the drain
//! deadline.

use std::time::{Duration, Instant};

use crate::support::OneEnv;

/// Puts a `/slow/{ms}` request in flight, shuts the gateway down 300 ms later and waits for it.
/// Returns the request's outcome, how long shutdown took, and the gateway's https address.
async fn shutdown_during_slow_request(
    drain_secs: u64,
    ms: u64,
) -> (
    reqwest::Result<reqwest::Response>,
    Duration,
    std::net::SocketAddr,
) {
    let t = OneEnv::start(&format!("[timeouts]\nshutdown_drain_secs = {drain_secs}")).await;
    let (client, url) = (t.client(false), t.url(&format!("/slow/{ms}")));
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = t.gw.https_addr;
    let started = Instant::now();
    t.stop().await;
    let took = started.elapsed();
    (in_flight.await.unwrap(), took, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_an_in_flight_slow_request() {
    let (resp, took, addr) = shutdown_during_slow_request(10, 1500).await;
    let resp = resp.expect("in-flight request completes");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "slow done");
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    // No longer accepting.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_deadline_bounds_shutdown() {
    let (resp, took, _) = shutdown_during_slow_request(1, 20_000).await;
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "shutdown took {took:?}, expected about the 1 s drain deadline"
    );
    assert!(resp.is_err(), "cut at the deadline");
}
