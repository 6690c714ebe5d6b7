//! The floor the load comparison measures mfagate against besides nginx: the smallest TLS
//! reverse proxy built from the same parts (tokio on one thread, rustls with ring, hyper's
//! HTTP/1.1 and HTTP/2 servers chosen by ALPN, hyper-util's pooled client), with no access
//! log, no session and no policy. What mfagate costs above it is mfagate's own work; what it
//! costs below nginx is the stack's.
//!
//! `floor_proxy CERT.pem KEY.pem UPSTREAM_ADDR` prints `listening 127.0.0.1:PORT`.

use std::sync::Arc;

use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST};
use hyper::{Request, Response};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

type Body = BoxBody<bytes::Bytes, hyper::Error>;
type Upstream = Client<HttpConnector, Incoming>;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cert, key, upstream] = args.as_slice() else {
        anyhow::bail!("usage: floor_proxy CERT.pem KEY.pem UPSTREAM_ADDR");
    };
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let upstream: Arc<str> = Arc::from(upstream.as_str());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve(TlsAcceptor::from(Arc::new(tls)), upstream))
}

async fn serve(acceptor: TlsAcceptor, upstream: Arc<str>) -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let client: Upstream = Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .build_http();
    loop {
        let (tcp, peer) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let (acceptor, client, upstream) = (acceptor.clone(), client.clone(), upstream.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let forwarded = HeaderValue::from_str(&peer.ip().to_string()).expect("an IP address");
            let service = hyper::service::service_fn(move |req| {
                forward(req, client.clone(), upstream.clone(), forwarded.clone())
            });
            let io = TokioIo::new(tls);
            let _ = if h2 {
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(io, service)
                    .await
            } else {
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await
            };
        });
    }
}

/// Forwards one request the way the measured proxies do: to the origin over a pooled
/// HTTP/1.1 connection, with Host kept and X-Forwarded-For set.
async fn forward(
    mut req: Request<Incoming>,
    client: Upstream,
    upstream: Arc<str>,
    forwarded: HeaderValue,
) -> Result<Response<Body>, hyper::Error> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(HOST)
                .and_then(|h| h.to_str().ok().map(str::to_owned))
        });
    *req.uri_mut() = format!("http://{upstream}{path}")
        .parse()
        .expect("a valid URI");
    *req.version_mut() = hyper::Version::HTTP_11;
    if let Some(host) = host.and_then(|h| HeaderValue::from_str(&h).ok()) {
        req.headers_mut().insert(HOST, host);
    }
    req.headers_mut().insert("x-forwarded-for", forwarded);
    Ok(match client.request(req).await {
        Ok(resp) => resp.map(BodyExt::boxed),
        Err(_) => Response::builder()
            .status(502)
            .body(
                http_body_util::Empty::new()
                    .map_err(|never| match never {})
                    .boxed(),
            )
            .expect("a valid response"),
    })
}
