//! The validated internal model. Everything here has already been checked, so the rest of the
//! gateway never re-validates or handles "impossible" config states.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;

#[derive(Debug)]
pub struct Config {
    pub workers: usize,
    pub listen: SocketAddr,
    pub http_listen: Option<SocketAddr>,
    pub admin_listen: SocketAddr,
    pub public_https_port: Option<u16>,
    /// Always starts and ends with `/`.
    pub gateway_prefix: String,
    pub data_dir: PathBuf,
    pub hsts_max_age_secs: u64,
    pub timeouts: Timeouts,
    pub max_request_header_bytes: usize,
    pub log: LogConfig,
    pub environments: Vec<Environment>,
}

#[derive(Debug, Clone)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
    pub upstream_connect: Duration,
    pub upstream_response: Duration,
    pub shutdown_drain: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise.
    Auto,
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

/// MFA mode of an environment. Only `off` exists until login interception lands; refusing the
/// other values at validation keeps the gateway from pretending to enforce what it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaMode {
    Off,
}

pub struct Environment {
    pub name: String,
    pub display_name: String,
    /// Lower-case host names without port.
    pub hosts: Vec<String>,
    pub upstream: Upstream,
    pub certified_key: Arc<CertifiedKey>,
    pub mfa: MfaMode,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The certified key is deliberately not printed.
        f.debug_struct("Environment")
            .field("name", &self.name)
            .field("hosts", &self.hosts)
            .field("upstream", &self.upstream)
            .field("mfa", &self.mfa)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct Upstream {
    pub scheme: Scheme,
    pub authority: Authority,
    /// Send the client's Host upstream (legacy apps build absolute URLs from it).
    pub preserve_host: bool,
    pub tls: UpstreamTls,
}

#[derive(Debug, Clone)]
pub enum UpstreamTls {
    SystemRoots,
    CaFile(Vec<CertificateDer<'static>>),
    /// Explicit opt-out, logged loudly at start.
    InsecureSkipVerify,
}
