//! `mfagate demo`: the demo dashboard on a free local port with the gateway in front of it,
//! using `config/demo.toml` (compiled in) and a self-signed `localhost` certificate generated
//! on first run.

pub mod dashboard;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, FileConfig};

/// The demo config, compiled in so `mfagate demo` works from any folder.
pub const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");

/// The demo's master key file (matches `config/demo.toml`).
pub const DEMO_KEY_FILE: &str = "data/demo/master.key";

/// The secret the demo's chat widget member ids are signed with (matches `config/demo.toml`):
/// what a customer's backend would hold.
pub const DEMO_MEMBER_HASH_FILE: &str = "data/demo/member-hash.secret";

/// Where the dev certificate lives, relative to the working directory (git-ignored).
pub const DEV_CERT_DIR: &str = "certs/dev";

/// Writes a self-signed certificate for `localhost` into `dir` unless one is already there.
/// Returns (certificate path, key path).
pub fn ensure_dev_certificate(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cert_path = dir.join("localhost.pem");
    let key_path = dir.join("localhost-key.pem");
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .context("generating the dev certificate")?;
    std::fs::write(&cert_path, generated.cert.pem())
        .with_context(|| format!("writing {}", cert_path.display()))?;
    write_private(&key_path, generated.signing_key.serialize_pem())?;
    Ok((cert_path, key_path))
}

fn write_private(path: &Path, contents: String) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// Writes a random master key to `path` (base64, owner-only) unless one exists.
pub fn ensure_master_key(path: &Path) -> anyhow::Result<()> {
    use base64::Engine;
    ensure_random(path, |key| {
        base64::engine::general_purpose::STANDARD.encode(key)
    })
}

/// Writes a random member-hash secret to `path` (64 hex digits, as `openssl rand -hex 32`
/// makes, owner-only) unless one exists.
pub fn ensure_member_hash_secret(path: &Path) -> anyhow::Result<()> {
    ensure_random(path, |key| key.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes 32 random bytes, as `encode` writes them, to `path` unless it exists.
fn ensure_random(path: &Path, encode: fn(&[u8; 32]) -> String) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    write_private(path, encode(&key))
}

/// Starts the demo dashboard on `addr` in its own thread; returns the bound address.
pub fn spawn_dashboard(addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("binding the demo dashboard on {addr}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("demo-dashboard".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let result = rt.map(|rt| {
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    axum::serve(listener, dashboard::router()).await
                })
            });
            if let Err(e) | Ok(Err(e)) = result {
                tracing::error!(error = %e, "demo dashboard stopped");
            }
        })?;
    Ok(bound)
}

/// The demo gateway config: `config/demo.toml` pointed at `upstream`, paths relative to `base`.
pub fn demo_config(
    base: &Path,
    upstream: SocketAddr,
    listen: Option<SocketAddr>,
) -> anyhow::Result<Config> {
    let mut file = FileConfig::parse(DEMO_CONFIG)?;
    if let Some(listen) = listen {
        file.listen = listen.to_string();
    }
    for env in &mut file.environments {
        env.upstream = format!("http://{upstream}");
    }
    Ok(Config::from_file_config(file, base)?)
}

/// Text printed when the demo is up.
pub fn banner(url: &str, admin: SocketAddr, dashboard: SocketAddr, data_dir: &Path) -> String {
    let mut out = format!(
        "\nmfagate demo is running\n\n  open:       {url}\n  (self-signed certificate for localhost: accept it in the browser)\n\
         \n  dashboard:  http://{dashboard} (direct, unprotected; for comparison only)\n  ops:        http://{admin}/metrics\n  data:       {}\n\n  demo accounts:\n",
        data_dir.display()
    );
    for u in dashboard::DEMO_USERS {
        out.push_str(&format!(
            "    {:<22} {:<16} ({})\n",
            u.email, u.password, u.role
        ));
    }
    out.push_str(&format!(
        "\n  chat widget: POST {url}api/widget/boot with {{\"memberId\", \"memberHash\"}},\n  \
         memberHash = hex(HMAC-SHA256(secret, memberId)), the secret in\n  {}\n",
        data_dir.join("member-hash.secret").display()
    ));
    out.push_str(
        "\n  MFA is required: after the password, create a passkey (the browser's own prompt)\n  \
         or scan the QR code with an authenticator app (or type the setup key), keep the\n  \
         backup codes, and the inbox opens. admin@demo.test must create a passkey.\n",
    );
    out.push_str("\nPress Ctrl-C to stop.\n");
    out
}
