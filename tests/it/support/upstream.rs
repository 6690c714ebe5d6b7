//! An echo upstream for proxy tests: reports what it received, streams bodies, sleeps on
//! request, drips a streamed answer, and echoes WebSocket messages while counting closes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use futures_util::StreamExt;
use sha2::Digest;

#[derive(Default)]
pub struct Counters {
    pub requests: AtomicUsize,
    pub ws_closed: AtomicUsize,
}

pub struct EchoUpstream {
    pub addr: SocketAddr,
    pub counters: Arc<Counters>,
}

impl EchoUpstream {
    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }
    pub fn ws_closed(&self) -> usize {
        self.counters.ws_closed.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct St {
    name: &'static str,
    counters: Arc<Counters>,
}

/// Starts the echo upstream on the current runtime; `name` is reported in every echo.
pub async fn start(name: &'static str) -> EchoUpstream {
    let (app, counters) = app(name);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    EchoUpstream { addr, counters }
}

/// The echo upstream over TLS with the given server config (for https upstream tests).
pub async fn start_tls(name: &'static str, tls: rustls::ServerConfig) -> EchoUpstream {
    let (app, counters) = app(name);
    let addr = serve_tls(app, tls).await;
    EchoUpstream { addr, counters }
}

/// Serves `app` over TLS on an ephemeral port.
pub async fn serve_tls(app: Router, tls: rustls::ServerConfig) -> SocketAddr {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // Handshake failures are the point of some tests; just drop the connection.
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(
                        TokioIo::new(stream),
                        TowerToHyperService::new(app),
                    )
                    .await;
            });
        }
    });
    addr
}

fn app(name: &'static str) -> (Router, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let st = St {
        name,
        counters: counters.clone(),
    };
    let app = Router::new()
        .route("/sha256", post(sha256))
        .route("/bytes/{n}", get(bytes))
        .route("/slow/{ms}", get(slow))
        .route("/drip/{n}/{ms}", get(drip))
        .route("/ws", get(ws))
        .route("/redirect", get(redirect))
        .fallback(any(echo))
        .with_state(st.clone())
        .layer(axum::middleware::from_fn_with_state(st, count));
    (app, counters)
}

async fn count(State(st): State<St>, req: Request, next: axum::middleware::Next) -> Response {
    st.counters.requests.fetch_add(1, Ordering::SeqCst);
    next.run(req).await
}

/// A redirect built from the Host the upstream was sent, as frameworks build them.
async fn redirect(req: Request) -> Response {
    let host = req
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        axum::http::StatusCode::FOUND,
        [
            ("location", format!("http://{host}/landing?x=1")),
            ("refresh", format!("3; url=http://{host}/later")),
        ],
    )
        .into_response()
}

/// Everything the upstream saw, as JSON.
async fn echo(State(st): State<St>, req: Request) -> Response {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    axum::Json(serde_json::json!({
        "upstream": st.name,
        "method": req.method().as_str(),
        "uri": req.uri().to_string(),
        "version": format!("{:?}", req.version()),
        "headers": headers,
    }))
    .into_response()
}

async fn sha256(body: Body) -> String {
    let mut hasher = sha2::Sha256::new();
    let mut len = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        len += chunk.len();
        hasher.update(&chunk);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{len} {hex}")
}

/// The byte at position i of every generated body.
pub fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

async fn bytes(Path(n): Path<usize>) -> Body {
    const CHUNK: usize = 64 * 1024;
    let chunks = futures_util::stream::iter((0..n).step_by(CHUNK).map(move |start| {
        let end = (start + CHUNK).min(n);
        Ok::<_, std::io::Error>(Bytes::from((start..end).map(pattern).collect::<Vec<u8>>()))
    }));
    Body::from_stream(chunks)
}

async fn slow(Path(ms): Path<u64>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slow done"
}

/// `n` chunks of one line each, `ms` apart: a streamed answer that pauses.
async fn drip(Path((n, ms)): Path<(u64, u64)>) -> Body {
    let chunks = futures_util::stream::iter(0..n).then(move |i| async move {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Ok::<_, std::convert::Infallible>(Bytes::from(format!("drip {i}\n")))
    });
    Body::from_stream(chunks)
}

async fn ws(State(st): State<St>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |mut socket| async move {
        while let Some(Ok(Message::Text(t))) = socket.recv().await {
            let reply = Message::Text(format!("echo: {}", t.as_str()).into());
            if socket.send(reply).await.is_err() {
                break;
            }
        }
        st.counters.ws_closed.fetch_add(1, Ordering::SeqCst);
    })
}
