//! A real redis-server child process for tests, on an ephemeral port with its own folder,
//! killed when dropped. A missing binary fails the test with what to install.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: Option<tempfile::TempDir>,
    /// Certificate, key and CA files when the server speaks TLS only.
    tls: Option<[PathBuf; 3]>,
    /// More command-line arguments (replication, cluster mode), kept for a restart.
    extra: Vec<String>,
    /// The `--requirepass` among `extra`, for the harness's own connections.
    password: Option<String>,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(super) fn binary() -> &'static str {
    for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] {
        if Path::new(candidate).exists() {
            return candidate;
        }
    }
    panic!("redis-server is not installed: `apt-get install -y redis-server` (Debian package redis-server)");
}

pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// Starts redis-server; `aof` keeps data across restarts of the same server.
    pub fn start(aof: bool) -> Self {
        Self::start_with(aof, &[])
    }

    /// Starts redis-server with more arguments, e.g. `["--replicaof", host, port]`.
    pub fn start_with(aof: bool, extra: &[&str]) -> Self {
        let extra = extra.iter().map(|a| a.to_string()).collect();
        Self::spawn(tempfile::tempdir().unwrap(), free_port(), aof, None, extra)
    }

    /// A server that only speaks TLS, with a certificate for 127.0.0.1 from `pki`.
    pub fn start_tls(pki: &super::Pki) -> Self {
        Self::start_tls_with(pki, &[])
    }

    /// `start_tls` with more arguments (e.g. `--tls-cluster yes`).
    pub fn start_tls_with(pki: &super::Pki, extra: &[&str]) -> Self {
        if !pki.path("redis.pem").exists() {
            pki.leaf("redis", &["127.0.0.1"]);
        }
        let files = [
            pki.path("redis.pem"),
            pki.path("redis-key.pem"),
            pki.path("ca.pem"),
        ];
        Self::spawn(
            tempfile::tempdir().unwrap(),
            free_port(),
            false,
            Some(files),
            extra.iter().map(|a| a.to_string()).collect(),
        )
    }

    fn spawn(
        dir: tempfile::TempDir,
        port: u16,
        aof: bool,
        tls: Option<[PathBuf; 3]>,
        extra: Vec<String>,
    ) -> Self {
        let mut cmd = Command::new(binary());
        match &tls {
            None => {
                cmd.args(["--port", &port.to_string()]);
            }
            Some([cert, key, ca]) => {
                cmd.args([
                    "--port",
                    "0",
                    "--tls-port",
                    &port.to_string(),
                    "--tls-auth-clients",
                    "no",
                ])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key)
                .arg("--tls-ca-cert-file")
                .arg(ca);
            }
        }
        let child = cmd
            .args(["--bind", "127.0.0.1", "--save", ""])
            .args([
                "--appendonly",
                if aof { "yes" } else { "no" },
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir.path())
            .args(&extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child: Some(child),
            port,
            dir: Some(dir),
            tls,
            password: extra
                .iter()
                .position(|a| a == "--requirepass")
                .and_then(|i| extra.get(i + 1).cloned()),
            extra,
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    /// The `[store]` keys that reach this server.
    pub fn store_keys(&self) -> String {
        format!("url = \"{}\"", self.url())
    }

    /// Kills the server, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the killed server again on the same port and folder.
    pub fn revive(&mut self, aof: bool) {
        let dir = self.dir.take().expect("a server has a folder");
        *self = Self::spawn(dir, self.port, aof, self.tls.clone(), self.extra.clone());
    }

    /// Kills the server and starts it again on the same port and folder.
    pub fn restart(mut self, aof: bool) -> Self {
        self.kill();
        let dir = self.dir.take().expect("a server has a folder");
        Self::spawn(dir, self.port, aof, self.tls.clone(), self.extra.clone())
    }

    /// A blocking connection for setting up and inspecting the server.
    pub fn admin(&self) -> redis::Connection {
        self.try_admin().expect("connect to the test redis-server")
    }

    /// `admin`, for a server that may have been killed.
    pub fn try_admin(&self) -> redis::RedisResult<redis::Connection> {
        let ca = self.tls.as_ref().map(|[_, _, ca]| ca.as_path());
        admin_connection(self.port, self.password.as_deref(), ca)
    }
}

/// A blocking connection to a test server (or Sentinel) on 127.0.0.1:`port`, with its password
/// and, for TLS, the CA file its certificate chains to.
pub fn admin_connection(
    port: u16,
    password: Option<&str>,
    ca: Option<&Path>,
) -> redis::RedisResult<redis::Connection> {
    let scheme = if ca.is_some() { "rediss" } else { "redis" };
    let auth = password.map_or(String::new(), |pw| format!(":{pw}@"));
    let url = format!("{scheme}://{auth}127.0.0.1:{port}/");
    let client = match ca {
        Some(ca) => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(std::fs::read(ca).unwrap()),
            },
        )?,
        None => redis::Client::open(url)?,
    };
    client.get_connection()
}

/// Gateway config on Redis (`store` holds the `[store]` keys after `backend`, e.g. `url = ...`;
/// `extra` more tables) protecting `dashboard`.
pub fn redis_toml(
    pki: &super::Pki,
    dashboard: std::net::SocketAddr,
    store: &str,
    extra: &str,
    mode: &str,
    env: &str,
) -> String {
    let head = format!("[store]\nbackend = \"redis\"\n{store}\n{extra}\n");
    let mut toml = super::mfa::config_head(pki, &head);
    toml.push_str(&super::mfa::environment(
        pki,
        dashboard,
        "chat.test",
        mode,
        env,
        "",
    ));
    toml
}
