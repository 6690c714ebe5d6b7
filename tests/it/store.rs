//! Both stores against the same contract (Redis standalone, over TLS, through Sentinel and
//! on a Cluster), plus durability across a reopen or a restart.

use std::sync::Arc;

use mfagate::store::{EmbeddedStore, LogId, RedisStore, RedisTarget, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    crate::support::store_contract::run_all(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_writes_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store.put("durable", b"yes", None).await.unwrap();
        store.set_add("durable:set", "m").await.unwrap();
        store.log_append("durable:log", 5, b"e", 0).await.unwrap();
        // Dropped without any shutdown step, as after a crash.
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(
        store.get("durable").await.unwrap().as_deref(),
        Some(&b"yes"[..])
    );
    assert_eq!(store.set_members("durable:set").await.unwrap(), ["m"]);
    let log = store.log_range("durable:log", LogId::default(), u64::MAX, 10);
    assert_eq!(log.await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_meets_the_contract() {
    let server = crate::support::redis::RedisServer::start(false);
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::open(
            &RedisTarget::standalone(&server.url(), None),
            "mfagate-test:",
        )
        .unwrap(),
    );
    crate::support::store_contract::run_all(store).await;
}

/// An ACL user allowed only the keys and channels under its prefix is enough: the store
/// never touches anything outside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_needs_only_its_prefix_under_an_acl() {
    let acl = ["--user", "gw", "on", ">gw-pw", "~acl:*", "&acl:*", "+@all"];
    let server = crate::support::redis::RedisServer::start_with(false, &acl);
    let url = format!("redis://gw:gw-pw@127.0.0.1:{}/", server.port);
    let store = RedisStore::open(&RedisTarget::standalone(&url, None), "acl:").unwrap();
    assert!(
        store.event_lag() == std::time::Duration::MAX,
        "a reload is owed"
    );
    store.resynced(store.resyncs_asked());
    assert!(
        store.event_lag() < std::time::Duration::from_secs(1),
        "beats come back through the channels the ACL allows"
    );
    let store: Arc<dyn Store> = Arc::new(store);
    crate::support::store_contract::run_all(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_events_reach_another_instance_and_resync_after_reconnect() {
    let server = crate::support::redis::RedisServer::start(true);
    let a = RedisStore::open(&RedisTarget::standalone(&server.url(), None), "p:").unwrap();
    let b = RedisStore::open(&RedisTarget::standalone(&server.url(), None), "p:").unwrap();
    // `open` returns once subscribed to a reachable Redis: nothing published now is missed.
    // Events count as flowing only once a view has reloaded for the Resync it was sent.
    assert_eq!(b.event_lag(), std::time::Duration::MAX, "a reload is owed");
    b.resynced(b.resyncs_asked());
    assert!(b.event_lag() < std::time::Duration::from_secs(1));
    let mut events = b.subscribe();
    let event = mfagate::store::StoreEvent::SessionRevoked {
        session_id: "s9".into(),
    };
    a.publish(&event).await.unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(2), events.recv()).await;
    assert_eq!(got.unwrap().unwrap(), event);
    a.put("durable", b"1", None).await.unwrap();

    // Redis dies and comes back (AOF on): data is intact and subscribers are told to resync.
    let server = server.restart(true);
    let resync = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Ok(mfagate::store::StoreEvent::Resync) = events.recv().await {
                break;
            }
        }
    })
    .await;
    assert!(resync.is_ok(), "resync after reconnect");
    // Stale until the reload for that Resync is reported, even though Redis answers again.
    assert_eq!(b.event_lag(), std::time::Duration::MAX);
    b.resynced(b.resyncs_asked());
    let fresh = tokio::time::timeout(std::time::Duration::from_secs(3), async {
        while b.event_lag() > std::time::Duration::from_secs(1) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    assert!(fresh.await.is_ok(), "fresh again once reloaded");
    let mut value = None;
    for _ in 0..50 {
        if let Ok(v) = a.get("durable").await {
            value = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        value.as_deref(),
        Some(&b"1"[..]),
        "data survived the restart"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_meets_the_contract_over_verified_tls() {
    let pki = crate::support::Pki::new();
    let server = crate::support::redis::RedisServer::start_tls(&pki);
    assert!(server.url().starts_with("rediss://"));
    let ca = std::fs::read(pki.path("ca.pem")).unwrap();
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::open(&RedisTarget::standalone(&server.url(), Some(ca)), "tls:").unwrap(),
    );
    crate::support::store_contract::run_all(store).await;
    // A server whose certificate chains to nothing trusted is never used: every operation
    // fails and the store stays infinitely stale.
    let other = crate::support::Pki::new();
    let untrusted = std::fs::read(other.path("ca.pem")).unwrap();
    let refused = RedisStore::open(
        &RedisTarget::standalone(&server.url(), Some(untrusted)),
        "tls:",
    )
    .unwrap();
    assert!(refused.get("k").await.is_err());
    assert_eq!(refused.event_lag(), std::time::Duration::MAX);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_meets_the_contract_through_sentinel() {
    let sentinel = crate::support::redis_deploy::SentinelSet::start();
    let store: Arc<dyn Store> = Arc::new(RedisStore::open(&sentinel.target(), "s:").unwrap());
    crate::support::store_contract::run_all(store).await;
}

/// When no Sentinel can confirm the master (this instance cut off from them), the store stops
/// using it and reports itself stale, rather than writing to a master the others may have
/// replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_no_sentinel_confirms_is_given_up() {
    let mut sentinel = crate::support::redis_deploy::SentinelSet::start();
    let store = RedisStore::open(&sentinel.target(), "nc:").unwrap();
    store.resynced(store.resyncs_asked());
    store.put("k", b"v", None).await.unwrap();
    sentinel.kill_sentinel();
    let lost = std::time::Instant::now();
    while store.get("k").await.is_ok() {
        assert!(
            lost.elapsed() < std::time::Duration::from_secs(10),
            "still using an unconfirmed master"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    println!(
        "master given up {:?} after the sentinels went",
        lost.elapsed()
    );
    assert!(matches!(
        store.get("k").await,
        Err(mfagate::store::StoreError::Unavailable(_))
    ));
    let stale = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while store.event_lag() < std::time::Duration::from_secs(3) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    });
    assert!(stale.await.is_ok(), "revocations no longer count as fresh");
}

/// Sentinel and data nodes that speak TLS only, verified against `ca_file`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_meets_the_contract_through_sentinel_over_verified_tls() {
    let pki = crate::support::Pki::new();
    let sentinel = crate::support::redis_deploy::SentinelSet::start_tls(&pki);
    let target = sentinel.target();
    let untrusted = RedisTarget {
        ca_pem: Some(std::fs::read(crate::support::Pki::new().path("ca.pem")).unwrap()),
        ..target.clone()
    };
    let refused = RedisStore::open(&untrusted, "st:").unwrap();
    assert!(refused.get("k").await.is_err());
    let store: Arc<dyn Store> = Arc::new(RedisStore::open(&target, "st:").unwrap());
    crate::support::store_contract::run_all(store).await;
}

/// Data nodes and the Sentinel that require passwords: the store signs in to both; with a
/// wrong data password it never works and stays infinitely stale (fails closed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_signs_in_to_a_sentinel_and_its_master_with_passwords() {
    let sentinel =
        crate::support::redis_deploy::SentinelSet::start_with_passwords("data-pw", "sent-pw");
    let target = sentinel.target();
    let store: Arc<dyn Store> = Arc::new(RedisStore::open(&target, "sp:").unwrap());
    crate::support::store_contract::run_all(store).await;
    let wrong = RedisTarget {
        password: Some("not-the-password".into()),
        ..target.clone()
    };
    let refused = RedisStore::open(&wrong, "sp:").unwrap();
    assert!(refused.get("k").await.is_err());
    assert_eq!(refused.event_lag(), std::time::Duration::MAX);
    let unauthenticated = RedisTarget {
        sentinel_password: None,
        ..target
    };
    let refused = RedisStore::open(&unauthenticated, "sp:").unwrap();
    assert!(refused.get("k").await.is_err());
}

/// On a cluster whose nodes require an ACL user and password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_meets_the_contract_on_a_cluster() {
    let cluster = crate::support::redis_deploy::ClusterSet::start_with_password("cluster-pw");
    let target = cluster.target();
    let wrong = RedisTarget {
        password: Some("not-the-password".into()),
        ..target.clone()
    };
    let refused = RedisStore::open(&wrong, "c:").unwrap();
    assert!(
        refused.get("k").await.is_err(),
        "a wrong password gets nothing"
    );
    let store: Arc<dyn Store> = Arc::new(RedisStore::open(&target, "c:").unwrap());
    crate::support::store_contract::run_all(store).await;
    let spread = cluster.keys_per_node();
    assert!(
        spread.iter().filter(|&&n| n > 0).count() >= 2,
        "keys spread over the masters: {spread:?}"
    );
}

/// A cluster that speaks TLS only: nodes are verified against `ca_file`, and a cluster whose
/// certificates chain to nothing trusted is never used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_meets_the_contract_on_a_cluster_over_verified_tls() {
    let pki = crate::support::Pki::new();
    let cluster = crate::support::redis_deploy::ClusterSet::start_tls(&pki);
    let target = cluster.target();
    assert!(
        matches!(&target.topology, mfagate::store::Topology::Cluster { nodes } if nodes[0].starts_with("rediss://"))
    );
    let untrusted = RedisTarget {
        ca_pem: Some(std::fs::read(crate::support::Pki::new().path("ca.pem")).unwrap()),
        ..target.clone()
    };
    let refused = RedisStore::open(&untrusted, "ct:").unwrap();
    assert!(refused.get("k").await.is_err());
    assert_eq!(refused.event_lag(), std::time::Duration::MAX);
    let store: Arc<dyn Store> = Arc::new(RedisStore::open(&target, "ct:").unwrap());
    crate::support::store_contract::run_all(store).await;
}
