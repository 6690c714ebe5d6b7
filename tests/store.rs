//! The embedded store against the contract, plus durability across a reopen.

mod support;

use std::sync::Arc;

use mfagate::store::{EmbeddedStore, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    support::store_contract::run_all(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_writes_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store.put("durable", b"yes", None).await.unwrap();
        store.set_add("durable:set", "m").await.unwrap();
        store.append("durable:log", b"e").await.unwrap();
        // Dropped without any shutdown step, as after a crash.
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(
        store.get("durable").await.unwrap().as_deref(),
        Some(&b"yes"[..])
    );
    assert_eq!(store.set_members("durable:set").await.unwrap(), ["m"]);
    assert_eq!(store.read_log("durable:log", 0, 10).await.unwrap().len(), 1);
}
