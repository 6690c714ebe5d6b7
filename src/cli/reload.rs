//! `mfagate reload`: checks the config file as the gateway will, signals the running gateway
//! (SIGHUP, found through its pid file) and reports whether it applied the new config or
//! refused it, as the gateway's `/readyz` tells.
//!
//! The pid file (`data_dir/mfagate.pid`) holds the gateway's pid on its first line (as
//! systemd's `PIDFile=` reads it) and its ops listener's address on the second.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use http_body_util::BodyExt;

use crate::config::Config;

/// How long `mfagate reload` waits for the gateway to report the outcome.
const WAIT: Duration = Duration::from_secs(30);

#[derive(clap::Args)]
pub struct ReloadArgs {
    /// The running gateway's config file, as edited.
    #[arg(long, short, default_value = "config/mfagate.toml")]
    pub config: PathBuf,
}

/// The running gateway's pid file: written after start, removed at exit when still its own.
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("mfagate.pid")
    }

    pub fn write(data_dir: &Path, admin: SocketAddr) -> std::io::Result<Self> {
        let pid = std::process::id();
        let path = Self::path(data_dir);
        // Written whole, then renamed: `mfagate reload` never reads half a file.
        let partial = path.with_extension("pid.partial");
        std::fs::write(&partial, format!("{pid}\n{admin}\n"))?;
        std::fs::rename(&partial, &path)?;
        Ok(Self { path, pid })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path)
            .is_ok_and(|text| text.lines().next() == Some(&self.pid.to_string()));
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The reload as the gateway reports it in `/readyz`: its generation and refusals so far.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Counts {
    generation: u64,
    refused: u64,
}

pub fn run(args: ReloadArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config).map_err(|e| {
        anyhow!(
            "{} is invalid (nothing was signalled):\n{e}",
            args.config.display()
        )
    })?;
    let pid_path = PidFile::path(&config.data_dir);
    let text = std::fs::read_to_string(&pid_path)
        .with_context(|| format!("no running gateway found ({})", pid_path.display()))?;
    let mut lines = text.lines();
    let pid: i32 = lines
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .context("pid file")?;
    let admin: SocketAddr = lines
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .context("pid file")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (before, _) = readyz(admin).await?;
        let pid = rustix::process::Pid::from_raw(pid).ok_or_else(|| anyhow!("bad pid {pid}"))?;
        rustix::process::kill_process(pid, rustix::process::Signal::HUP)
            .with_context(|| format!("cannot signal the gateway (pid {pid:?})"))?;
        let started = Instant::now();
        while started.elapsed() < WAIT {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (now, body) = readyz(admin).await?;
            if now.generation > before.generation {
                println!("reloaded: config generation {}", now.generation);
                return Ok(());
            }
            if now.refused > before.refused {
                let why = body
                    .lines()
                    .find_map(|l| l.strip_prefix("last reload refused: "));
                bail!(
                    "the gateway refused the reload: {}",
                    why.unwrap_or("see its log")
                );
            }
        }
        bail!(
            "the gateway did not report a reload within {} s",
            WAIT.as_secs()
        )
    })
}

/// The gateway's `/readyz` counts and text.
async fn readyz(admin: SocketAddr) -> anyhow::Result<(Counts, String)> {
    use hyper_util::client::legacy::Client;
    let client = Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let uri: http::Uri = format!("http://{admin}/readyz").parse()?;
    let resp = client
        .get(uri)
        .await
        .with_context(|| format!("the gateway's ops listener ({admin}) does not answer"))?;
    let body = resp.into_body().collect().await?.to_bytes();
    let body = String::from_utf8_lossy(&body).into_owned();
    let counts = parse_counts(&body).ok_or_else(|| anyhow!("unexpected /readyz: {body}"))?;
    Ok((counts, body))
}

/// Reads `config generation N, reloads refused K`.
fn parse_counts(body: &str) -> Option<Counts> {
    let line = body
        .lines()
        .find_map(|l| l.strip_prefix("config generation "))?;
    let (generation, refused) = line.split_once(", reloads refused ")?;
    Some(Counts {
        generation: generation.trim().parse().ok()?,
        refused: refused.trim().parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readyz_counts_are_read_back() {
        let body = "ready\nconfig generation 3, reloads refused 1\nlast reload refused: x\n";
        let counts = parse_counts(body);
        assert_eq!(
            counts,
            Some(Counts {
                generation: 3,
                refused: 1
            })
        );
        assert_eq!(parse_counts("ready\n"), None);
    }
}
