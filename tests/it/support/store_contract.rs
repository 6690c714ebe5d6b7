//! The Store contract: every backend must pass these, unchanged.

use std::sync::Arc;
use std::time::Duration;

use mfagate::store::{LogId, Store, StoreEvent};

pub async fn run_all(store: Arc<dyn Store>) {
    values_and_ttl(&*store).await;
    single_use_is_atomic(store.clone()).await;
    counters_are_atomic(store.clone()).await;
    sets(&*store).await;
    logs(&*store).await;
    events(&*store).await;
}

async fn values_and_ttl(s: &dyn Store) {
    assert_eq!(s.get("c:missing").await.unwrap(), None);
    s.put("c:a", b"1", None).await.unwrap();
    assert_eq!(s.get("c:a").await.unwrap().as_deref(), Some(&b"1"[..]));
    s.put("c:a", b"2", None).await.unwrap();
    assert_eq!(s.get("c:a").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert!(s.delete("c:a").await.unwrap());
    assert!(!s.delete("c:a").await.unwrap());
    s.put("c:short", b"x", Some(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!(s.get("c:short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        s.get("c:short").await.unwrap(),
        None,
        "expired value is gone"
    );
    assert_eq!(s.take("c:short").await.unwrap(), None);
    s.put("c:t", b"once", None).await.unwrap();
    assert_eq!(s.take("c:t").await.unwrap().as_deref(), Some(&b"once"[..]));
    assert_eq!(s.take("c:t").await.unwrap(), None);
}

async fn single_use_is_atomic(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.put_if_absent("c:once", &[i], Some(Duration::from_secs(60)))
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1, "exactly one writer wins a single-use marker");
    // An expired marker can be claimed again.
    assert!(s
        .put_if_absent("c:brief", b"1", Some(Duration::from_millis(200)))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.put_if_absent("c:brief", b"1", None).await.unwrap());
}

async fn counters_are_atomic(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.incr("c:count", Some(Duration::from_secs(60)))
                .await
                .unwrap()
        }));
    }
    let mut seen: Vec<u64> = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<_>>(),
        "each increment is distinct"
    );
    s.incr("c:window", Some(Duration::from_millis(200)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        s.incr("c:window", None).await.unwrap(),
        1,
        "counter window expired"
    );
}

async fn sets(s: &dyn Store) {
    s.set_add("c:set", "a").await.unwrap();
    s.set_add("c:set", "b").await.unwrap();
    s.set_add("c:set", "a").await.unwrap();
    let mut m = s.set_members("c:set").await.unwrap();
    m.sort();
    assert_eq!(m, ["a", "b"]);
    s.set_remove("c:set", "a").await.unwrap();
    assert_eq!(s.set_members("c:set").await.unwrap(), ["b"]);
    assert!(s.set_members("c:none").await.unwrap().is_empty());
}

/// Time-keyed logs: ids follow the entries' times and never go back (a late clock is moved
/// up to the last id), a period reads only its entries, page by page, and a trim removes
/// exactly what is older.
async fn logs(s: &dyn Store) {
    let base = 1_800_000_000_000u64;
    let mut ids = Vec::new();
    for (i, at) in [base, base, base + 5, base + 3, base + 10]
        .into_iter()
        .enumerate()
    {
        let value = format!("e{i}");
        ids.push(
            s.log_append("c:log", at, value.as_bytes(), 0)
                .await
                .unwrap(),
        );
    }
    s.log_append("c:other", base + 1, b"x", 0).await.unwrap();
    assert_eq!(ids[0], LogId { ms: base, seq: 0 });
    assert_eq!(
        ids[1],
        LogId { ms: base, seq: 1 },
        "same ms: the next sequence"
    );
    assert_eq!(
        ids[3].ms,
        base + 5,
        "an earlier time is moved up to the last id"
    );
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids only grow: {ids:?}"
    );

    let page = s
        .log_range("c:log", LogId::at(base), base + 5, 2)
        .await
        .unwrap();
    let values: Vec<_> = page.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(values, [b"e0".to_vec(), b"e1".to_vec()]);
    let rest = s
        .log_range("c:log", page[1].0.next(), base + 5, 100)
        .await
        .unwrap();
    let values: Vec<_> = rest.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(
        values,
        [b"e2".to_vec(), b"e3".to_vec()],
        "to_ms is included, later is not"
    );
    assert!(s
        .log_range("c:log", LogId::at(base + 11), u64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .log_range("c:log", LogId::at(base + 6), base + 5, 10)
        .await
        .unwrap()
        .is_empty());

    assert_eq!(s.log_trim("c:log", base + 5).await.unwrap(), 2);
    let left = s
        .log_range("c:log", LogId::default(), u64::MAX, 100)
        .await
        .unwrap();
    assert_eq!(left.len(), 3);
    assert_eq!(
        s.log_range("c:other", LogId::default(), u64::MAX, 9)
            .await
            .unwrap()
            .len(),
        1
    );
    // After a trim to nothing, new entries still get ids after the old ones.
    s.log_trim("c:log", u64::MAX).await.unwrap();
    let after = s.log_append("c:log", base, b"late", 0).await.unwrap();
    assert!(after > ids[4], "{after:?} after {:?}", ids[4]);
}

async fn events(s: &dyn Store) {
    let mut rx = s.subscribe();
    let event = StoreEvent::SessionRevoked {
        session_id: "sid-1".into(),
    };
    s.publish(&event).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, event);
}
