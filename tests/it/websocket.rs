//! WebSocket through the gateway: messages both ways, survives idleness, and closing it via the
//! live-connection registry terminates both sides promptly.

use std::time::{Duration, Instant};

use crate::support::{stop, OneEnv};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_tunnels_and_is_closed_by_the_registry() {
    let OneEnv { pki, up, gw, .. } = OneEnv::start("[timeouts]\nidle_secs = 1").await;
    let tls = pki
        .connect(gw.https_addr, "alpha.test", &[b"http/1.1"])
        .await
        .unwrap();
    let (mut ws, resp) = tokio_tungstenite::client_async("wss://alpha.test/ws", tls)
        .await
        .expect("handshake through the gateway");
    assert_eq!(resp.status(), 101);

    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "echo: hello");
    assert_eq!(gw.live.len(), 1);
    let owner = &gw.live.owners()[0];
    assert_eq!(owner.environment, "alpha");

    // Idle for 3 s (longer than the 1 s HTTP idle timeout, which must not cut tunnels).
    tokio::time::sleep(Duration::from_secs(3)).await;
    ws.send(Message::text("still here")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "echo: still here");

    let started = Instant::now();
    assert_eq!(gw.live.close_where(|o| o.environment == "alpha"), 1);
    let client_saw_close = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        client_saw_close.is_ok(),
        "client did not see the close within 1 s"
    );
    while up.ws_closed() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "upstream did not see the close within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut waited = 0;
    while !gw.live.is_empty() && waited < 100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    assert!(gw.live.is_empty(), "registry entry removed after close");
    stop(gw).await;
}

async fn next_text<S>(ws: &mut S) -> String
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let msg = tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .expect("message in time")
        .expect("stream open")
        .expect("no error");
    msg.into_text().unwrap().to_string()
}
