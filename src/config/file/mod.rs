//! The on-disk TOML format, exactly as ops write it.
//!
//! These structs only describe shape: every table rejects unknown keys so a typo is an error
//! instead of a silently ignored setting. Meaning and cross-checks live in `validate.rs`, which
//! turns this into the internal model in `model.rs`.

use serde::Deserialize;

use super::defaults;

mod login;
pub use login::{
    FileLogin, FileLoginRoute, FileLogout, FileLogoutCsrf, FileLogoutExpect, FileProbe,
};

/// Root of `mfagate.toml`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Worker threads; 0 means one per available core.
    #[serde(default)]
    pub workers: usize,
    #[serde(default = "defaults::listen")]
    pub listen: String,
    /// Optional plain-HTTP listener that only redirects to https.
    pub http_listen: Option<String>,
    #[serde(default = "defaults::admin_listen")]
    pub admin_listen: String,
    /// Port announced in https redirects when the public port differs from `listen`'s.
    pub public_https_port: Option<u16>,
    #[serde(default = "defaults::gateway_prefix")]
    pub gateway_prefix: String,
    #[serde(default = "defaults::data_dir")]
    pub data_dir: String,
    #[serde(default = "defaults::hsts_max_age_secs")]
    pub hsts_max_age_secs: u64,
    #[serde(default)]
    pub timeouts: FileTimeouts,
    #[serde(default)]
    pub limits: FileLimits,
    #[serde(default)]
    pub log: FileLog,
    #[serde(default)]
    pub secrets: FileSecrets,
    pub mail: Option<FileMail>,
    #[serde(default)]
    pub store: FileStore,
    /// Signed identity assertion sent to the dashboards.
    pub assertion: Option<FileAssertion>,
    /// Known users: login identity → role, environments, email.
    #[serde(default)]
    pub users: Vec<FileUser>,
    /// Role and environments for unlisted users by email domain.
    #[serde(default)]
    pub user_rules: Vec<FileUserRule>,
    /// Tokens of the admin API (ops automation, the `mfagate admin` CLI).
    #[serde(default)]
    pub admin_tokens: Vec<FileAdminToken>,
    #[serde(default)]
    pub environments: Vec<FileEnvironment>,
    #[serde(default)]
    pub audit: FileAudit,
}

/// `[environments.branding]`: logo, primary colour and support contact of the gateway's pages.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileBranding {
    /// A PNG, SVG, JPEG or WebP file, at most 256 KiB, shown in the page header.
    pub logo: Option<String>,
    /// "#rrggbb" for buttons and links; must reach 4.5:1 against their white text.
    pub color: Option<String>,
    /// An email address or an https URL, shown on every page and in every email.
    pub support: Option<String>,
}

/// `[audit]`: how long the activity log and its exports are kept.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileAudit {
    /// Events older than this are removed ("365d" when unset).
    pub retention: Option<String>,
    /// Export files are deleted this long after they were made ("7d" when unset).
    pub export_retention: Option<String>,
    /// Where sealed export files are written (`data_dir/exports` when unset).
    pub export_dir: Option<String>,
}

/// Where state lives: the embedded file (one node) or Redis (several instances).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStore {
    #[serde(default = "defaults::store_backend")]
    pub backend: String,
    /// For redis: "standalone", "sentinel" or "cluster".
    #[serde(default = "defaults::store_topology")]
    pub topology: String,
    /// Standalone: redis:// or rediss:// URL (it may hold a password: a file or MFAGATE_* env
    /// var works too).
    pub url: Option<SecretSource>,
    /// Sentinel: the Sentinels' addresses; Cluster: some nodes' addresses. No credentials.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Sentinel: the name of the master the Sentinels watch.
    pub master_name: Option<String>,
    /// Sentinel and Cluster: ACL user and password of the data nodes.
    pub username: Option<String>,
    pub password: Option<SecretSource>,
    /// Sentinel: password of the Sentinels, when they require one.
    pub sentinel_password: Option<SecretSource>,
    #[serde(default = "defaults::store_prefix")]
    pub prefix: String,
    /// For rediss://: PEM file of the CAs to trust instead of the system roots.
    pub ca_file: Option<String>,
    /// Signed-in requests are refused (503) once revocation events have not been confirmed
    /// for this long (Redis unreachable): they could miss a logout made on another instance.
    #[serde(default = "defaults::max_staleness_secs")]
    pub max_staleness_secs: u64,
}

impl Default for FileStore {
    fn default() -> Self {
        Self {
            backend: defaults::store_backend(),
            topology: defaults::store_topology(),
            url: None,
            nodes: Vec::new(),
            master_name: None,
            username: None,
            password: None,
            sentinel_password: None,
            prefix: defaults::store_prefix(),
            ca_file: None,
            max_staleness_secs: defaults::max_staleness_secs(),
        }
    }
}

/// `[assertion]`: the gateway signs who passed MFA into `X-Mfagate-Assertion` on every
/// request to a dashboard; the public key is served at `/.mfagate/jwks.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAssertion {
    /// PEM private key: P-256 for "ES256", Ed25519 for "EdDSA".
    pub key: SecretSource,
    #[serde(default = "defaults::assertion_algorithm")]
    pub algorithm: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUser {
    pub identity: String,
    pub email: Option<String>,
    pub role: String,
    #[serde(default)]
    pub environments: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUserRule {
    pub email_domain: String,
    pub role: String,
    #[serde(default)]
    pub environments: Vec<String>,
}

/// `[[environments.rules]]`: a method-aware deny rule on normalized paths.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePathRule {
    pub roles: Vec<String>,
    pub paths: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default = "defaults::deny")]
    pub action: String,
}

/// How the gateway sends email (codes and security notifications).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMail {
    /// "smtp", or "file" (each message written as an .eml file; for trials and the demo).
    #[serde(default = "defaults::mail_transport")]
    pub transport: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// "starttls", "tls" (implicit TLS) or "none" (a local relay only).
    #[serde(default = "defaults::mail_security")]
    pub security: String,
    /// PEM file of CAs to trust for the SMTP server instead of the system roots.
    pub ca_file: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretSource>,
    pub from: String,
    pub reply_to: Option<String>,
    #[serde(default = "defaults::mail_timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "defaults::mail_retries")]
    pub retries: u32,
    #[serde(default = "defaults::mail_queue")]
    pub queue: usize,
    /// Folder for the "file" transport. Default: `outbox` in `data_dir`.
    pub outbox: Option<String>,
}

/// Master keys (base64, at least 32 bytes each); the first is current, the others are kept
/// for verifying and decrypting what older keys produced.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileSecrets {
    #[serde(default)]
    pub keys: Vec<SecretSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTimeouts {
    #[serde(default = "defaults::header_read_secs")]
    pub header_read_secs: u64,
    #[serde(default = "defaults::idle_secs")]
    pub idle_secs: u64,
    #[serde(default = "defaults::upstream_connect_secs")]
    pub upstream_connect_secs: u64,
    #[serde(default = "defaults::upstream_response_secs")]
    pub upstream_response_secs: u64,
    #[serde(default = "defaults::shutdown_drain_secs")]
    pub shutdown_drain_secs: u64,
}

impl Default for FileTimeouts {
    fn default() -> Self {
        Self {
            header_read_secs: defaults::header_read_secs(),
            idle_secs: defaults::idle_secs(),
            upstream_connect_secs: defaults::upstream_connect_secs(),
            upstream_response_secs: defaults::upstream_response_secs(),
            shutdown_drain_secs: defaults::shutdown_drain_secs(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    #[serde(default = "defaults::max_request_header_bytes")]
    pub max_request_header_bytes: usize,
}

impl Default for FileLimits {
    fn default() -> Self {
        Self {
            max_request_header_bytes: defaults::max_request_header_bytes(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLog {
    #[serde(default = "defaults::log_format")]
    pub format: String,
    #[serde(default = "defaults::log_level")]
    pub level: String,
}

impl Default for FileLog {
    fn default() -> Self {
        Self {
            format: defaults::log_format(),
            level: defaults::log_level(),
        }
    }
}

/// One protected dashboard environment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEnvironment {
    #[serde(default)]
    pub name: String,
    pub display_name: Option<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub upstream: String,
    #[serde(default = "defaults::yes")]
    pub preserve_host: bool,
    pub upstream_ca_file: Option<String>,
    #[serde(default)]
    pub upstream_insecure_skip_verify: bool,
    #[serde(default = "defaults::mfa")]
    pub mfa: String,
    /// Durations ("30m", "12h", "30d"); the `_minutes`/`_hours`/`_days` keys are the older
    /// spelling of the same settings (one of each pair at most).
    /// "ask" (a "Trust this browser" checkbox, on by default), "always" or "never".
    pub trust_browser: Option<String>,
    /// The pages' language for browsers that ask for none the gateway speaks, and the
    /// emails' language: "en" (default), "id" or "nl".
    pub language: Option<String>,
    /// The IANA time zone the pages and emails show times in ("Asia/Jakarta"; default "UTC").
    pub timezone: Option<String>,
    /// The environment's look on the gateway's pages and in its emails.
    #[serde(default)]
    pub branding: FileBranding,
    /// Gateway data about a person (sessions, devices, factors) is removed once they have not
    /// signed in for this long ("90d"); unset keeps it while it is in use.
    pub retention: Option<String>,
    pub session_idle: Option<String>,
    pub session_idle_minutes: Option<u64>,
    pub session_absolute: Option<String>,
    pub session_absolute_hours: Option<u64>,
    pub device_trust: Option<String>,
    pub device_trust_days: Option<u64>,
    /// Roles the `mfa` mode applies to.
    #[serde(default = "defaults::mfa_roles")]
    pub mfa_roles: Vec<String>,
    /// Sessions started before `mfa = "required"` took effect keep working this long.
    pub grace_period: Option<String>,
    pub grace_period_days: Option<u64>,
    /// Paths that need a second factor within the last `step_up_minutes`.
    #[serde(default)]
    pub sensitive_paths: Vec<String>,
    /// Match paths case-sensitively (only for a dashboard whose router is case-sensitive).
    #[serde(default)]
    pub case_sensitive_paths: bool,
    /// Headers the gateway sets from the verified identity (client copies always replaced).
    #[serde(default)]
    pub identity_headers: FileIdentityHeaders,
    pub step_up: Option<String>,
    pub step_up_minutes: Option<u64>,
    /// Whether SSO sessions are also asked for a step-up on sensitive paths.
    #[serde(default)]
    pub step_up_sso: bool,
    #[serde(default)]
    pub rules: Vec<FilePathRule>,
    /// Per role: the subset of `methods` allowed (e.g. admin = ["totp"]).
    #[serde(default)]
    pub role_methods: std::collections::BTreeMap<String, Vec<String>>,
    /// Second factors offered here, from "totp", "email", "backup", "passkey".
    #[serde(default = "defaults::methods")]
    pub methods: Vec<String>,
    /// Roles that must finish signing in with a passkey here (a phishing-resistant factor).
    #[serde(default)]
    pub phishing_resistant_roles: Vec<String>,
    /// How passkeys work here (`[environments.passkeys]`).
    #[serde(default)]
    pub passkeys: FilePasskeys,
    #[serde(default)]
    pub email_otp: FileEmailOtp,
    #[serde(default)]
    pub regulation: FileRegulation,
    #[serde(default)]
    pub recovery: FileRecovery,
    pub tls: Option<FileTls>,
    pub login: Option<FileLogin>,
    pub sso: Option<FileSso>,
    /// Customer identity verification for a chat widget (the member hash).
    pub member_hash: Option<FileMemberHash>,
}

/// Trusted single sign-on in front of this environment: users it vouches for skip the second
/// factor. Either a signed JWT header, or a plain header from trusted proxies, or both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSso {
    /// Header carrying the SSO's signed JWT (e.g. "Cf-Access-Jwt-Assertion").
    pub jwt_header: Option<String>,
    /// JWKS with the SSO's public keys: a file, or an https URL (fetched when a token names
    /// a key not yet known, at most every 30 s).
    pub jwks_file: Option<String>,
    pub jwks_url: Option<String>,
    /// PEM CA file to trust for `jwks_url` instead of the system roots.
    pub jwks_ca_file: Option<String>,
    /// Least time between two fetches of `jwks_url`. Default 30.
    #[serde(default = "defaults::jwks_refresh_secs")]
    pub jwks_refresh_secs: u64,
    #[serde(default = "defaults::sso_algorithms")]
    pub algorithms: Vec<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// `amr` values the token must all carry (e.g. ["mfa"]).
    #[serde(default)]
    pub required_amr: Vec<String>,
    #[serde(default = "defaults::sso_subject_claim")]
    pub subject_claim: String,
    /// Claim holding the user's role (owner/admin/supervisor/agent); else the directory decides.
    pub role_claim: Option<String>,
    /// Claim holding the user's environments (an array of names); else the directory decides.
    pub environments_claim: Option<String>,
    #[serde(default = "defaults::sso_leeway_secs")]
    pub leeway_secs: u64,
    /// Plain identity header, believed only from `trusted_proxies`.
    pub trusted_header: Option<String>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// `[environments.member_hash]`: a chat widget sends a member id and
/// `hex(HMAC-SHA256(secret, id))` computed by the customer's backend; the gateway checks them
/// and tells the dashboard which member is verified. The secret is never written here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMemberHash {
    /// Where the member id is: "query:NAME", "header:NAME" or "json:/POINTER" (the request
    /// body), or an array of them.
    pub id: FileLocations,
    /// Where its hash is, in the same syntax.
    pub hash: FileLocations,
    /// Routes whose requests are checked: exact, or a prefix ending in `*`.
    #[serde(default)]
    pub paths: Vec<String>,
    /// A file holding the secret (surrounding whitespace ignored).
    pub secret_file: Option<String>,
    /// Or an environment variable holding it (named MFAGATE_*).
    pub secret_env: Option<String>,
    /// "refuse" (403) or "strip" (forward without the id and the hash).
    #[serde(default = "defaults::member_hash_on_failure")]
    pub on_failure: String,
    /// Header the dashboard finds the verified member id in.
    #[serde(default = "defaults::member_verified_header")]
    pub verified_header: String,
    /// Largest body read for `json:` locations (the same bound as a login body's).
    #[serde(default = "defaults::max_login_body_bytes")]
    pub max_body_bytes: usize,
}

/// One location string or an array of them; `array` says which was written, so errors can
/// name `id` or `id[1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocations {
    pub list: Vec<String>,
    pub array: bool,
}

impl<'de> Deserialize<'de> for FileLocations {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            One(String),
            Many(Vec<String>),
        }
        let expected = "a location like \"query:memberId\", or an array of them";
        match Written::deserialize(d).map_err(|_| serde::de::Error::custom(expected))? {
            Written::One(one) => Ok(Self {
                list: vec![one],
                array: false,
            }),
            Written::Many(list) => Ok(Self { list, array: true }),
        }
    }
}

/// Durations ("5m", "90s"); the `_secs` keys are the older spelling (one of each pair).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEmailOtp {
    pub code_ttl: Option<String>,
    pub code_ttl_secs: Option<u64>,
    pub resend_after: Option<String>,
    pub resend_after_secs: Option<u64>,
    #[serde(default = "defaults::otp_max_sends")]
    pub max_sends: u32,
    pub send_window: Option<String>,
    pub send_window_secs: Option<u64>,
}

/// An admin API token: only its SHA-256 is configured.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAdminToken {
    /// Who the token is, in the activity log ("token:NAME").
    pub name: String,
    /// SHA-256 of the token, 64 hex digits (`mfagate admin token` makes one).
    pub sha256: String,
    /// "read" (lists), "write" (lists and actions) or "owner" (also activity-log exports).
    pub scope: String,
    /// The environments whose users it may see and act on.
    pub environments: Vec<String>,
}

/// `[environments.passkeys]`: the WebAuthn relying party.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePasskeys {
    /// The relying party id: the environment's first host unless set (a parent domain of its
    /// hosts lets one passkey serve them all).
    pub rp_id: Option<String>,
    /// "preferred" (default) or "required": whether the authenticator must verify its user.
    pub user_verification: Option<String>,
}

/// What a user who cannot produce a second factor may do.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecovery {
    /// Admins and owners recover themselves with a code sent to their registered address;
    /// otherwise they, too, wait for another admin.
    #[serde(default = "defaults::yes")]
    pub admin_self_service: bool,
}

impl Default for FileRecovery {
    fn default() -> Self {
        Self {
            admin_self_service: true,
        }
    }
}

impl Default for FileEmailOtp {
    fn default() -> Self {
        Self {
            code_ttl: None,
            code_ttl_secs: None,
            resend_after: None,
            resend_after_secs: None,
            max_sends: defaults::otp_max_sends(),
            send_window: None,
            send_window_secs: None,
        }
    }
}

/// Brute-force regulation of code entry and of the watched login. Block lengths are
/// durations; the `_secs` keys are the older spelling.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRegulation {
    #[serde(default = "defaults::max_failures")]
    pub max_failures: u32,
    pub block: Option<String>,
    pub block_secs: Option<u64>,
    #[serde(default = "defaults::ip_max_failures")]
    pub ip_max_failures: u32,
    pub ip_block: Option<String>,
    pub ip_block_secs: Option<u64>,
    #[serde(default = "defaults::login_per_ip_per_minute")]
    pub login_per_ip_per_minute: u32,
}

impl Default for FileRegulation {
    fn default() -> Self {
        Self {
            max_failures: defaults::max_failures(),
            block: None,
            block_secs: None,
            ip_max_failures: defaults::ip_max_failures(),
            ip_block: None,
            ip_block_secs: None,
            login_per_ip_per_minute: defaults::login_per_ip_per_minute(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileIdentityHeaders {
    /// Header carrying the signed-in user's identity, e.g. "X-Forwarded-User".
    pub user: Option<String>,
    /// Header carrying the user's email address, e.g. "X-Forwarded-Email".
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTls {
    pub cert: String,
    pub key: SecretSource,
}

/// Where a secret comes from: a file path (plain string or `{ file = ".." }`) or an
/// environment variable (`{ env = "MFAGATE_.." }`), so secrets never have to sit in the TOML.
#[derive(Debug, Deserialize, Clone, PartialEq, Eq)]
#[serde(untagged)]
pub enum SecretSource {
    Path(String),
    File { file: String },
    Env { env: String },
}
