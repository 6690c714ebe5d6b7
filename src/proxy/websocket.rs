//! WebSocket (HTTP/1.1 `Upgrade`) proxying: the handshake goes through the normal pipeline, then
//! both upgraded streams are joined byte for byte and registered as live connections so a
//! revocation can close them.

use std::time::Duration;

use axum::body::Body;
use http::header::{CONNECTION, UPGRADE};
use http::{HeaderMap, HeaderValue, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::AsyncWriteExt;

use super::headers::strip_hop_by_hop;
use crate::session::live::LiveGuard;

/// True for an HTTP/1.1 request asking to upgrade to WebSocket.
pub fn is_websocket_upgrade(version: Version, headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    let websocket = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    version == Version::HTTP_11 && connection_upgrade && websocket
}

/// Puts the upgrade headers back after hop-by-hop stripping, for the upstream handshake.
pub fn restore_upgrade_headers(headers: &mut HeaderMap) {
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
}

/// Completes the client side of the upstream's 101: answers the client with the upstream's
/// handshake headers and spawns the tunnel. (Any other status takes the normal response path.)
pub fn finish_handshake(
    mut upstream_resp: Response<Incoming>,
    client_upgrade: OnUpgrade,
    guard: LiveGuard,
    active: Gauge,
) -> Response<Body> {
    debug_assert_eq!(upstream_resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    let upstream_upgrade = hyper::upgrade::on(&mut upstream_resp);
    let (mut parts, _) = upstream_resp.into_parts();
    let protocol = parts
        .headers
        .get(UPGRADE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("websocket"));
    strip_hop_by_hop(&mut parts.headers);
    parts
        .headers
        .insert(CONNECTION, HeaderValue::from_static("upgrade"));
    parts.headers.insert(UPGRADE, protocol);
    tokio::spawn(tunnel(client_upgrade, upstream_upgrade, guard, active));
    Response::from_parts(parts, Body::empty())
}

async fn tunnel(client: OnUpgrade, upstream: OnUpgrade, guard: LiveGuard, active: Gauge) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::debug!(error = %e, "websocket upgrade did not complete");
            return;
        }
    };
    let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
    active.inc();
    tokio::select! {
        result = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
            if let Err(e) = result {
                tracing::debug!(error = %e, connection = guard.id(), "websocket ended with error");
            }
        }
        _ = guard.cancelled() => {
            match guard.closed_by_shutdown() {
                true => tracing::info!(connection = guard.id(), "websocket closed by shutdown"),
                false => tracing::info!(connection = guard.id(), "websocket closed by revocation"),
            }
            let going_away = guard.closed_by_shutdown();
            // Best effort polite close on both sides, bounded so a stuck peer cannot hold us.
            // At shutdown both sides first get a Close frame "1001 going away", so chat
            // clients reconnect at once (to the new process after an upgrade). The tunnel
            // copies bytes without reading frames, so a frame cut short by the cancel may
            // come first: the peer then sees a protocol error and closes all the same.
            let close = async {
                if going_away {
                    let _ = client.write_all(&close_frame(None)).await;
                    let _ = upstream.write_all(&close_frame(Some(rand::random()))).await;
                }
                let _ = client.shutdown().await;
                let _ = upstream.shutdown().await;
            };
            let _ = tokio::time::timeout(Duration::from_millis(500), close).await;
        }
    }
    active.dec();
}

/// A WebSocket Close frame with status 1001 "going away" (RFC 6455 §5.5.1), masked with
/// `mask` when sent to the server side (§5.3).
fn close_frame(mask: Option<[u8; 4]>) -> Vec<u8> {
    let code = 1001u16.to_be_bytes();
    match mask {
        None => vec![0x88, 0x02, code[0], code[1]],
        Some(m) => vec![
            0x88,
            0x82,
            m[0],
            m[1],
            m[2],
            m[3],
            code[0] ^ m[0],
            code[1] ^ m[1],
        ],
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_close_frame_says_going_away_masked_toward_the_server() {
        assert_eq!(super::close_frame(None), [0x88, 2, 0x03, 0xE9]);
        let masked = super::close_frame(Some([1, 2, 3, 4]));
        assert_eq!(masked, [0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE9 ^ 2]);
    }
}
