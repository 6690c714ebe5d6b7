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
    /// Decoded master keys, current first. Empty only when no environment watches a login.
    pub master_keys: Vec<Vec<u8>>,
    pub mail: Option<MailConfig>,
    pub directory: crate::policy::users::Directory,
    pub admin_tokens: Vec<AdminToken>,
    pub assertion: Option<crate::federation::assertion::AssertionSettings>,
    pub store: StoreBackend,
    pub environments: Vec<Environment>,
    pub audit: AuditSettings,
}

/// An admin API token (its hash only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    pub name: String,
    pub sha256: [u8; 32],
    pub write: bool,
    /// Scope "owner": also exports the activity log (an owner's power).
    pub owner: bool,
    pub environments: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    StartTls,
    Tls,
    /// Plain SMTP, for a relay on the same host or network only.
    None,
}

#[derive(Clone)]
pub enum MailTransport {
    Smtp {
        host: String,
        port: u16,
        security: SmtpSecurity,
        /// PEM CA certificates to trust instead of the system roots.
        ca_certs: Vec<CertificateDer<'static>>,
        credentials: Option<(String, String)>,
    },
    /// Writes each message as an .eml file into this folder.
    File { dir: PathBuf },
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Credentials are deliberately not printed.
            Self::Smtp {
                host,
                port,
                security,
                ..
            } => {
                write!(f, "Smtp({host}:{port}, {security:?})")
            }
            Self::File { dir } => write!(f, "File({})", dir.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub from: String,
    pub reply_to: Option<String>,
    pub timeout: Duration,
    pub retries: u32,
    pub queue: usize,
}

/// Second factors an environment offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Methods {
    pub totp: bool,
    pub email: bool,
    pub backup: bool,
    pub passkey: bool,
    /// Only a passkey finishes a sign-in (`phishing_resistant_roles`); the other factors here
    /// only prove the person before they register their first passkey.
    pub phishing_resistant: bool,
}

impl Methods {
    pub const NONE: Methods = Methods {
        totp: false,
        email: false,
        backup: false,
        passkey: false,
        phishing_resistant: false,
    };
}

/// An environment's passkeys (`[environments.passkeys]`, `phishing_resistant_roles`).
#[derive(Debug, Clone)]
pub struct PasskeySettings {
    pub rp: crate::mfa::passkey::RelyingParty,
    /// Roles whose sign-in only a passkey finishes.
    pub phishing_resistant_roles: Vec<crate::domain::Role>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Regulation {
    pub user: crate::mfa::attempts::Limits,
    pub ip: crate::mfa::attempts::Limits,
    pub login_per_ip_per_minute: u32,
}

/// Where the gateway's state lives.
#[derive(Clone, PartialEq)]
pub enum StoreBackend {
    /// redb file in `data_dir`.
    Embedded,
    Redis {
        /// Standalone, Sentinel or Cluster, with credentials and CAs.
        target: crate::store::RedisTarget,
        prefix: String,
        /// Longest tolerated lag of revocation events before signed-in requests get 503.
        max_staleness: Duration,
    },
}

impl std::fmt::Debug for StoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded => write!(f, "Embedded"),
            // The target may carry passwords.
            Self::Redis { target, prefix, .. } => {
                write!(f, "Redis({}, prefix {prefix:?})", target.topology.name())
            }
        }
    }
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

#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

pub use crate::policy::MfaMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFormat {
    Form,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRoute {
    pub method: http::Method,
    /// The path as configured (sent upstream for the logout call).
    pub path: String,
    /// Canonical form for matching (case, trailing `/`, `;params`, format suffixes).
    pub pattern: crate::canon::Pattern,
    pub format: LoginFormat,
}

#[derive(Debug, Clone)]
pub struct LoginConfig {
    pub routes: Vec<LoginRoute>,
    pub session_cookies: Vec<String>,
    pub token_pointer: Option<String>,
    pub username_field: Option<String>,
    pub username_request_pointer: Option<String>,
    pub username_response_pointer: Option<String>,
    pub login_page: String,
    pub login_page_pattern: crate::canon::Pattern,
    /// `None` lets anonymous requests through; `Some(paths)` admits only these.
    pub anonymous_public_paths: Option<Vec<crate::canon::Pattern>>,
    pub logout: Option<Logout>,
    pub max_body_bytes: usize,
    pub probe: Option<Probe>,
    pub trust_request_username: bool,
    pub success_location: Option<crate::canon::Pattern>,
    /// The dashboard's return-to parameter (`next`, `return_to`, …).
    pub next_param: String,
}

/// The dashboard's sign-out: the route (matched on browser requests, called by the gateway),
/// the CSRF token it wants and what its success looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout {
    pub route: LoginRoute,
    pub csrf: Option<LogoutCsrf>,
    pub expect: LogoutExpect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutCsrf {
    /// Fetched first with the credential; its answer's cookies join the jar.
    pub page: Option<http::uri::PathAndQuery>,
    pub from: CsrfSource,
    pub send: CsrfSend,
}

/// Where a dashboard publishes its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrfSource {
    Cookie(String),
    /// `<input name=NAME value=..>`
    Field(String),
    /// `<meta name=NAME content=..>`
    Meta(String),
}

/// How a dashboard wants the token back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrfSend {
    /// A form-encoded body `NAME=token`.
    Field(String),
    Header(http::HeaderName),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutExpect {
    /// Empty: any 2xx or 3xx.
    pub status: Vec<u16>,
    pub clears_cookie: Option<String>,
}

impl LogoutExpect {
    /// Whether an answer with `status`, deleting the cookies `cleared` names, is a sign-out.
    /// A 3xx counts only where no status is configured: many frameworks answer a refused
    /// request with a redirect to their login page, so name the statuses to be sure.
    pub fn met_by(&self, status: u16, cleared: &dyn Fn(&str) -> bool) -> bool {
        let status_ok = match self.status.is_empty() {
            true => (200..400).contains(&status),
            false => self.status.contains(&status),
        };
        status_ok && self.clears_cookie.as_deref().is_none_or(cleared)
    }
}

/// The dashboard's "who am I" endpoint.
#[derive(Debug, Clone)]
pub struct Probe {
    pub path: http::uri::PathAndQuery,
    pub user_pointer: String,
}

impl LoginConfig {
    /// Whether a request without any credential may reach canonical `path`. Exact matches
    /// only (no format suffix): admitting is the lenient direction.
    pub fn admits_anonymous(&self, path: &str) -> bool {
        let Some(public) = &self.anonymous_public_paths else {
            return true;
        };
        self.login_page_pattern.matches(path)
            || self.routes.iter().any(|r| r.pattern.matches(path))
            || public.iter().any(|p| p.matches(path))
    }

    /// The login route a request is for: method compared without regard to case, path in
    /// canonical form with format suffixes (`/login.json`) accepted.
    pub fn route_for(&self, method: &http::Method, path: &str) -> Option<&LoginRoute> {
        self.routes.iter().find(|r| {
            r.method.as_str().eq_ignore_ascii_case(method.as_str())
                && r.pattern.matches_with_format(path)
        })
    }

    /// Whether `name` (raw bytes) is one of the dashboard's session cookies, read leniently.
    pub fn is_session_cookie(&self, name: &[u8]) -> bool {
        self.session_cookies
            .iter()
            .any(|c| crate::canon::cookie::name_is(name, c))
    }
}

/// `[audit]`, validated.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    pub retention: Duration,
    pub export_retention: Duration,
    pub export_dir: PathBuf,
}

#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
    pub device_trust: Duration,
}

pub struct Environment {
    pub name: String,
    pub display_name: String,
    /// Lower-case host names without port.
    pub hosts: Vec<String>,
    pub upstream: Upstream,
    pub certified_key: Arc<CertifiedKey>,
    /// The certificate and key files it was read from: a renewal that replaces them is
    /// picked up by a reload (`proxy::reload`).
    pub tls_files: Vec<PathBuf>,
    pub sessions: SessionLimits,
    /// MFA mode, roles, grace, step-up and path rules.
    pub policy: crate::policy::EnvPolicy,
    pub methods: Methods,
    /// Per-role subsets of `methods`.
    pub role_methods: std::collections::HashMap<crate::domain::Role, Methods>,
    pub email_otp: crate::mfa::email_otp::EmailOtpPolicy,
    /// Set when `methods` offers passkeys.
    pub passkeys: Option<PasskeySettings>,
    pub regulation: Regulation,
    /// Admins and owners recover themselves by an emailed code (`recovery.admin_self_service`).
    pub admin_self_recovery: bool,
    pub login: Option<LoginConfig>,
    pub sso: Option<crate::federation::sso::SsoSettings>,
    /// A chat widget's member id, checked against its hash (`[environments.member_hash]`).
    pub member_hash: Option<crate::federation::member_hash::MemberHashSettings>,
    /// Paths compared case-sensitively (`case_sensitive_paths`); lenient by default.
    pub case_sensitive_paths: bool,
    /// Headers the gateway sets from the verified identity: (user, email).
    pub identity_headers: IdentityHeaders,
    /// People who have not signed in for this long lose their gateway data (`retention`).
    pub retention: Option<Duration>,
    pub branding: Branding,
    pub trust_browser: TrustBrowser,
    /// The language of pages for browsers asking for none the gateway speaks, and of emails.
    pub language: crate::i18n::Lang,
    /// The zone times are shown in (`timezone`).
    pub zone: crate::clock::Zone,
}

impl Environment {
    /// The words of this environment's emails (and of its pages by default).
    pub fn words(&self) -> crate::i18n::Words {
        crate::i18n::Words(self.language)
    }
}

/// Whether a browser that passed a second factor skips it next time (`trust_browser`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustBrowser {
    /// The person chooses, with a checkbox that starts checked.
    Ask,
    Always,
    /// Every sign-in asks again (shared or kiosk computers).
    Never,
}

/// An environment's look (`[environments.branding]`), validated.
#[derive(Debug, Clone, Default)]
pub struct Branding {
    pub logo: Option<Logo>,
    /// "#rrggbb", checked for contrast against white.
    pub color: Option<String>,
    pub support: Option<Support>,
}

#[derive(Debug, Clone)]
pub struct Logo {
    pub bytes: Arc<Vec<u8>>,
    pub content_type: &'static str,
}

/// Where people get help: shown as `text`, linked as `href` (`mailto:` or https).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Support {
    pub text: String,
    pub href: String,
}

/// `[environments.identity_headers]`: names the gateway fills from the verified identity.
#[derive(Debug, Clone, Default)]
pub struct IdentityHeaders {
    pub user: Option<http::HeaderName>,
    pub email: Option<http::HeaderName>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The certified key is deliberately not printed.
        f.debug_struct("Environment")
            .field("name", &self.name)
            .field("hosts", &self.hosts)
            .field("upstream", &self.upstream)
            .field("policy", &self.policy)
            .field("sessions", &self.sessions)
            .field("login", &self.login)
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

impl Environment {
    /// The factors a user with `role` may use here.
    pub fn methods_for(&self, role: crate::domain::Role) -> Methods {
        let methods = self.role_methods.get(&role).copied();
        let mut methods = methods.unwrap_or(self.methods);
        methods.phishing_resistant = self
            .passkeys
            .as_ref()
            .is_some_and(|p| p.phishing_resistant_roles.iter().any(|r| role.is(*r)));
        methods
    }
}

impl Config {
    /// Every environment's policy, for `policy::decide` (enforcement times come from the store).
    pub fn policies(&self) -> crate::policy::PolicySet {
        crate::policy::PolicySet {
            environments: self.environments.iter().map(|e| e.policy.clone()).collect(),
            enforced_since: Default::default(),
        }
    }
}
