//! Graceful shutdown: stop accepting, let in-flight requests finish, never wait past the drain
//! deadline.

mod support;

use std::time::{Duration, Instant};

use support::{gateway_toml, start_gateway, upstream, EnvSpec, Pki};

fn toml(pki: &Pki, up: std::net::SocketAddr, drain_secs: u64) -> String {
    gateway_toml(
        pki,
        &[EnvSpec {
            name: "alpha",
            hosts: &["alpha.test"],
            upstream: up,
        }],
        &format!("[timeouts]\nshutdown_drain_secs = {drain_secs}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_an_in_flight_slow_request() {
    let pki = Pki::new();
    let up = upstream::start("a").await;
    let gw = start_gateway(&pki, &toml(&pki, up.addr, 10));
    let client = pki.client(&["alpha.test"], gw.https_addr, false);
    let url = format!("https://alpha.test:{}/slow/1500", gw.https_addr.port());
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = gw.https_addr;
    gw.shutdown();
    let joined = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        gw.join();
        t.elapsed()
    });
    let resp = in_flight
        .await
        .unwrap()
        .expect("in-flight request completes");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "slow done");
    let took = joined.await.unwrap();
    assert!(took < Duration::from_secs(5), "join took {took:?}");
    // No longer accepting.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_deadline_bounds_shutdown() {
    let pki = Pki::new();
    let up = upstream::start("a").await;
    let gw = start_gateway(&pki, &toml(&pki, up.addr, 1));
    let client = pki.client(&["alpha.test"], gw.https_addr, false);
    let url = format!("https://alpha.test:{}/slow/20000", gw.https_addr.port());
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    gw.shutdown();
    tokio::task::spawn_blocking(move || gw.join())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "shutdown took {took:?}, expected about the 1 s drain deadline"
    );
    assert!(in_flight.await.unwrap().is_err(), "cut at the deadline");
}
