//! Shared test harness: a CA generated per run, an echo upstream, an in-process gateway on
//! ephemeral ports, and TLS clients that trust the test CA. Everything listens on 127.0.0.1.
#![allow(dead_code)]

pub mod browser;
pub mod framework;
pub mod lenient;
pub mod mfa;
pub mod redis;
pub mod redis_deploy;
pub mod smtp;
#[path = "../../../src/mfa/soft_authenticator.rs"]
pub mod soft_authenticator;
pub mod store_contract;
pub mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use mfagate::config::Config;
use mfagate::proxy::{self, RunningGateway};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::client::TlsStream;

/// A throw-away certificate authority and the folder its files live in.
pub struct Pki {
    pub dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "mfagate test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Self { dir, ca }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Issues a leaf for `hosts`; writes `<name>.pem` and `<name>-key.pem`; returns its DER.
    pub fn leaf(&self, name: &str, hosts: &[&str]) -> CertificateDer<'static> {
        let params =
            CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())
                .unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        std::fs::write(self.path(&format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{name}-key.pem")), key.serialize_pem()).unwrap();
        cert.der().clone()
    }

    /// Server TLS config for a leaf previously issued with `leaf(name, ..)`.
    pub fn server_tls(&self, name: &str) -> rustls::ServerConfig {
        use rustls::pki_types::pem::PemObject;
        let chain = vec![CertificateDer::from_pem_file(self.path(&format!("{name}.pem"))).unwrap()];
        let key =
            rustls::pki_types::PrivateKeyDer::from_pem_file(self.path(&format!("{name}-key.pem")))
                .unwrap();
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap()
    }

    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// rustls client config trusting only the test CA, offering `alpn`.
    pub fn client_tls(&self, alpn: &[&[u8]]) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der()).unwrap();
        let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        cfg
    }

    /// HTTP client trusting the CA, resolving each host to `addr`. `h2` offers HTTP/2 by ALPN.
    pub fn client(&self, hosts: &[&str], addr: SocketAddr, h2: bool) -> reqwest::Client {
        let alpn: &[&[u8]] = if h2 {
            &[b"h2", b"http/1.1"]
        } else {
            &[b"http/1.1"]
        };
        // The gateway closes a keep-alive connection idle for `header_read` (10 s); a client
        // must not reuse one that old, or its request races the close on a loaded machine.
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(self.client_tls(alpn))
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .cookie_store(true);
        if !h2 {
            builder = builder.http1_only();
        }
        for host in hosts {
            builder = builder.resolve(host, addr);
        }
        builder.build().unwrap()
    }

    /// Opens a TLS connection to `addr` with SNI `sni`.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        sni: &str,
        alpn: &[&[u8]],
    ) -> std::io::Result<TlsStream<tokio::net::TcpStream>> {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(self.client_tls(alpn)));
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        connector
            .connect(ServerName::try_from(sni.to_string()).unwrap(), tcp)
            .await
    }

    /// Opens the dashboard's WebSocket (`/ws` on `host`) through the gateway at `addr`,
    /// presenting `cookie` as the Cookie header.
    pub async fn open_ws(
        &self,
        addr: SocketAddr,
        host: &str,
        cookie: &str,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<TlsStream<tokio::net::TcpStream>>,
        tokio_tungstenite::tungstenite::Error,
    > {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let tls = self.connect(addr, host, &[b"http/1.1"]).await?;
        let mut request = format!("wss://{host}/ws").into_client_request()?;
        let cookie = cookie.parse().expect("a valid Cookie header");
        request.headers_mut().insert("cookie", cookie);
        Ok(tokio_tungstenite::client_async(request, tls).await?.0)
    }

    /// Sends raw HTTP/1.1 bytes over TLS (exact path and header spelling on the wire) and
    /// returns the whole response text. The request should carry `Connection: close`.
    pub async fn raw_http1(&self, addr: SocketAddr, sni: &str, request: &str) -> String {
        let mut tls = self.connect(addr, sni, &[b"http/1.1"]).await.unwrap();
        tls.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Status code of a raw HTTP/1.1 response text.
pub fn raw_status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

/// One environment of a test gateway.
pub struct EnvSpec<'a> {
    pub name: &'a str,
    pub hosts: &'a [&'a str],
    pub upstream: SocketAddr,
}

/// Gateway TOML for `envs` (a leaf per environment is issued), plus `extra` top-level keys.
pub fn gateway_toml(pki: &Pki, envs: &[EnvSpec<'_>], extra: &str) -> String {
    let mut toml =
        format!("listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nworkers = 2\n{extra}\n");
    for env in envs {
        pki.leaf(env.name, env.hosts);
        let hosts: Vec<String> = env.hosts.iter().map(|h| format!("{h:?}")).collect();
        toml.push_str(&format!(
            "\n[[environments]]\nname = \"{name}\"\ndisplay_name = \"{name} chat\"\nhosts = [{hosts}]\n\
             upstream = \"http://{up}\"\n[environments.tls]\ncert = \"{name}.pem\"\nkey = \"{name}-key.pem\"\n",
            name = env.name,
            hosts = hosts.join(", "),
            up = env.upstream,
        ));
    }
    toml
}

pub fn start_gateway(pki: &Pki, toml: &str) -> RunningGateway {
    let config = Config::from_toml(toml, pki.dir.path()).unwrap_or_else(|e| panic!("{e}"));
    proxy::start(config).expect("gateway starts")
}

/// Stops a gateway and waits for its threads without blocking the async test runtime.
pub async fn stop(gw: RunningGateway) {
    gw.shutdown();
    tokio::task::spawn_blocking(move || gw.join())
        .await
        .unwrap();
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The common fixture: one environment `alpha` (host `alpha.test`) in front of an echo
/// upstream, with `extra` top-level config.
pub struct OneEnv {
    pub pki: Pki,
    pub up: upstream::EchoUpstream,
    pub gw: RunningGateway,
    /// The config the gateway was started with.
    pub toml: String,
}

impl OneEnv {
    pub async fn start(extra: &str) -> Self {
        Self::start_edited(extra, |toml, _| toml).await
    }

    /// Like `start`, with the config text edited first (`edit` gets it and the upstream).
    pub async fn start_edited(
        extra: &str,
        edit: impl FnOnce(String, &upstream::EchoUpstream) -> String,
    ) -> Self {
        let pki = Pki::new();
        let up = upstream::start("a").await;
        let toml = gateway_toml(
            &pki,
            &[EnvSpec {
                name: "alpha",
                hosts: &["alpha.test"],
                upstream: up.addr,
            }],
            extra,
        );
        let toml = edit(toml, &up);
        let gw = start_gateway(&pki, &toml);
        Self { pki, up, gw, toml }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://alpha.test:{}{path}", self.gw.https_addr.port())
    }

    pub fn client(&self, h2: bool) -> reqwest::Client {
        self.pki.client(&["alpha.test"], self.gw.https_addr, h2)
    }

    /// A raw `GET path` with `Host: host` on a connection whose SNI is alpha.test.
    pub async fn raw_get(&self, host: &str, path: &str, extra_headers: &str) -> String {
        self.pki
            .raw_http1(
                self.gw.https_addr,
                "alpha.test",
                &format!(
                    "GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra_headers}Connection: close\r\n\r\n"
                ),
            )
            .await
    }

    pub async fn stop(self) {
        stop(self.gw).await;
    }
}

/// Sends a request and parses its JSON body.
pub async fn json(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// Sends a request and returns its body as text.
pub async fn text(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// Everything the gateway logs in this test process: one subscriber for the whole binary,
/// installed by the first test that asks (tests that read the logs ask before they start a
/// gateway).
pub fn logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        struct W(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = buf.clone();
        tracing_subscriber::fmt()
            .with_env_filter(
                "debug,h2=info,hyper=info,hyper_util=info,rustls=info,tokio_rustls=info",
            )
            .with_writer(move || W(sink.clone()))
            .with_ansi(false)
            .init();
        buf
    })
    .clone()
}
