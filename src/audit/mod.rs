//! Audit events: one typed enum with named constructors, written to the store's activity log
//! (one time-keyed log per environment, kept for `audit.retention`) and to the log output.
//! Events never carry a code, cookie, token or secret.

use serde::{Deserialize, Serialize};

use crate::domain::{AuthMethod, Factor};

/// A random id tying a request's audit events and its access-log line together.
pub fn new_request_id() -> String {
    request_id(rand::random())
}

/// A request id as logged and audited (16 hex digits); the proxy keeps it as a number until
/// something is written.
pub fn request_id(id: u64) -> String {
    format!("{id:016x}")
}

/// Why a watched login was passed through without a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassThrough {
    /// No environment of the user requires (or, with a factor, offers) MFA.
    MfaNotRequired,
    /// The browser is a device trusted after an earlier second factor.
    TrustedDevice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// Password accepted by the dashboard; credential withheld pending MFA.
    LoginIntercepted,
    /// Password accepted and passed through (MFA off, or a trusted device).
    LoginPassthrough {
        reason: PassThrough,
    },
    MfaSuccess {
        method: Factor,
    },
    MfaFailure {
        method: Factor,
    },
    TotpReplay,
    TotpEnrolled,
    /// A passkey or security key was registered (`name` as its owner named it).
    PasskeyRegistered {
        name: String,
    },
    /// A passkey passed (sign-in or step-up).
    PasskeyUsed {
        name: String,
    },
    /// The owner removed a passkey.
    PasskeyRemoved {
        name: String,
    },
    /// A passkey's signature counter did not move forward: two copies of its key may exist
    /// (a cloned authenticator). Refused, and logged at warning level.
    PasskeyCounterRegressed {
        name: String,
    },
    BackupCodeUsed {
        remaining: usize,
    },
    BackupCodesRegenerated,
    DeviceTrusted,
    DeviceRevoked,
    SessionRevoked,
    Logout,
    /// A dashboard credential arrived without a gateway session and was not forwarded.
    CredentialWithoutSession,
    EmailCodeSent,
    EmailCodeResendRefused {
        wait_secs: u64,
    },
    EmailCodeSendFailed,
    /// Too many wrong codes: code entry blocked until `until` (Unix seconds).
    UserBlocked {
        until: u64,
    },
    /// A code entry refused without evaluation because the user or IP is blocked.
    AttemptBlocked {
        until: u64,
    },
    /// Too many watched logins from one client IP.
    LoginRateLimited,
    /// The policy ended a session (e.g. the enforcement grace period is over).
    ForcedLogout {
        reason: String,
    },
    StepUpPassed,
    /// A plain identity header from a peer that is not a trusted proxy (stripped, ignored).
    SpoofedIdentityHeader,
    /// A chat widget's member id came without a valid member hash (never the id or the hash
    /// themselves): refused, or forwarded without it (`stripped`).
    MemberHashFailed {
        reason: String,
        stripped: bool,
    },
    /// A trusted SSO vouched for the user (audited once an hour per user and instance, not
    /// for every request it comes with).
    SsoSignIn,
    /// An SSO token that failed verification (the request is treated as anonymous).
    SsoRejected {
        reason: String,
    },
    /// A watched login the dashboard did not positively accept (passed through, no MFA).
    LoginFailed {
        reason: String,
    },
    /// A dashboard answer outside a login route set a session cookie or token for a request
    /// without a signed-in gateway session: the credential was removed.
    CredentialOutsideLoginRoute,
    /// The dashboard tried to set or delete one of the gateway's own cookies (removed).
    GatewayCookieFromDashboard,
    /// A bearer token that is not the one released to this session (refused).
    TokenNotBound,
    /// The user added their first authenticator from the security page (an opt-in).
    FactorAdded,
    /// The user replaced their authenticator with a new one.
    FactorReplaced,
    /// The user turned two-factor authentication off where no environment requires it.
    MfaTurnedOff,
    /// The user turned sign-in codes by email on or off for themselves.
    EmailCodesSet {
        on: bool,
    },
    /// An admin reset the user's second factor (factors, backup codes, trusted devices) and
    /// ended every session.
    MfaReset {
        reason: String,
    },
    /// An admin ended every session of the user.
    AdminLogout {
        reason: String,
    },
    /// An admin changed the address the user's codes and notices go to (both were told).
    EmailChanged {
        reason: String,
    },
    /// An admin ended one of the user's sessions or forgot one of their devices.
    AdminRevoked,
    /// An admin lifted the user's code-entry block.
    UserUnblocked {
        reason: String,
    },
    /// A user who cannot produce a second factor asked the admins for a reset.
    RecoveryRequested,
    /// An admin recovering themselves was sent a recovery code.
    RecoveryCodeSent,
    /// An admin recovered themselves with the emailed code: their factor was reset.
    AdminRecovered,
    RecoveryApproved,
    RecoveryDismissed,
    /// An admin action refused: the target is out of the admin's environments, or is the
    /// admin.
    AdminRefused {
        action: String,
        reason: String,
    },
    /// The dashboard did not confirm the logout of a session the gateway ended (its status
    /// when it answered): the dashboard's own session may still be alive.
    DashboardLogoutFailed {
        status: Option<u16>,
        reason: String,
    },
    /// The dashboard confirmed the logout of a session the gateway ended.
    DashboardLoggedOut,
    /// A gateway session began (after the second factor, on a trusted device, or by SSO).
    SessionStarted {
        method: AuthMethod,
    },
    /// An owner asked for an export of the activity log.
    ExportRequested {
        export: String,
        from_ms: u64,
        to_ms: u64,
        environments: Vec<String>,
        kinds: Vec<Category>,
    },
    /// An export file is ready (its size and how many events it holds).
    ExportReady {
        export: String,
        events: u64,
        bytes: u64,
    },
    ExportFailed {
        export: String,
        reason: String,
    },
    ExportDownloaded {
        export: String,
    },
    /// The retention sweep removed what was kept longer than configured (one event per sweep).
    RetentionSwept {
        events: u64,
        users: u64,
        exports: u64,
        revocations: u64,
    },
}

/// What an event is about, for choosing what an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Watched logins, SSO, rate limits and refused credentials.
    SignIn,
    /// Second factors: codes, blocks, enrolment, recovery.
    Mfa,
    /// Sessions and devices: started, trusted, revoked, forced logouts, dashboard logouts.
    Session,
    /// What admins and owners did (the actor is the admin, the target the user).
    Admin,
    /// Export requests and downloads, and retention sweeps.
    Activity,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Self::SignIn,
        Self::Mfa,
        Self::Session,
        Self::Admin,
        Self::Activity,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Mfa => "mfa",
            Self::Session => "session",
            Self::Admin => "admin",
            Self::Activity => "activity",
        }
    }
}

/// Whether what the event describes went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    /// Refused by the gateway (replay, credential without session).
    Refused,
}

impl EventKind {
    /// What the event is about (exports filter on it).
    pub fn category(&self) -> Category {
        use EventKind as K;
        match self {
            K::LoginIntercepted
            | K::LoginPassthrough { .. }
            | K::LoginFailed { .. }
            | K::LoginRateLimited
            | K::CredentialWithoutSession
            | K::CredentialOutsideLoginRoute
            | K::GatewayCookieFromDashboard
            | K::TokenNotBound
            | K::SpoofedIdentityHeader
            | K::SsoSignIn
            | K::MemberHashFailed { .. }
            | K::SsoRejected { .. } => Category::SignIn,
            K::DeviceTrusted
            | K::DeviceRevoked
            | K::SessionRevoked
            | K::Logout
            | K::ForcedLogout { .. }
            | K::DashboardLogoutFailed { .. }
            | K::DashboardLoggedOut
            | K::SessionStarted { .. } => Category::Session,
            K::MfaReset { .. }
            | K::AdminLogout { .. }
            | K::EmailChanged { .. }
            | K::AdminRevoked
            | K::UserUnblocked { .. }
            | K::RecoveryApproved
            | K::RecoveryDismissed
            | K::AdminRefused { .. } => Category::Admin,
            K::ExportRequested { .. }
            | K::ExportReady { .. }
            | K::ExportFailed { .. }
            | K::ExportDownloaded { .. }
            | K::RetentionSwept { .. } => Category::Activity,
            _ => Category::Mfa,
        }
    }

    /// Whether the log line is a warning: a sign that a factor itself may be compromised.
    pub fn warns(&self) -> bool {
        matches!(self, Self::PasskeyCounterRegressed { .. })
    }

    pub fn outcome(&self) -> Outcome {
        match self {
            Self::MfaFailure { .. } | Self::EmailCodeSendFailed => Outcome::Failure,
            Self::TotpReplay
            | Self::PasskeyCounterRegressed { .. }
            | Self::CredentialWithoutSession
            | Self::EmailCodeResendRefused { .. }
            | Self::AttemptBlocked { .. }
            | Self::LoginRateLimited
            | Self::ForcedLogout { .. }
            | Self::SpoofedIdentityHeader
            | Self::SsoRejected { .. }
            | Self::CredentialOutsideLoginRoute
            | Self::GatewayCookieFromDashboard
            | Self::TokenNotBound
            | Self::AdminRefused { .. }
            | Self::MemberHashFailed { .. } => Outcome::Refused,
            Self::LoginFailed { .. }
            | Self::DashboardLogoutFailed { .. }
            | Self::ExportFailed { .. } => Outcome::Failure,
            _ => Outcome::Success,
        }
    }
}

/// One recorded event. It never carries a code, cookie, token or password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unix milliseconds, UTC.
    pub at_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
    pub outcome: Outcome,
    /// Who did it: the user themselves, an admin acting on them, or `None` for the gateway
    /// (timers, sweeps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Whose account it concerns.
    #[serde(rename = "target", alias = "user")]
    pub user: Option<String>,
    pub environment: String,
    pub device: Option<String>,
    pub ip: String,
    /// A short description of the client ("Firefox on Linux"), never the raw User-Agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The same id as the request's access-log line.
    pub request_id: String,
}

impl AuditEvent {
    pub fn at_secs(&self) -> u64 {
        self.at_ms / 1000
    }
}

/// Request facts every event carries.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub at_ms: u64,
    pub environment: String,
    pub ip: String,
    pub request_id: String,
    pub actor: Option<String>,
    pub user: Option<String>,
    pub device: Option<String>,
    pub agent: Option<String>,
}

impl Context {
    /// Seconds of `at_ms`, for the records that keep seconds.
    pub fn at(&self) -> u64 {
        self.at_ms / 1000
    }

    pub fn event(&self, kind: EventKind) -> AuditEvent {
        AuditEvent {
            at_ms: self.at_ms,
            outcome: kind.outcome(),
            kind,
            actor: self.actor.clone().or_else(|| self.user.clone()),
            user: self.user.clone(),
            environment: self.environment.clone(),
            device: self.device.clone(),
            ip: self.ip.clone(),
            agent: self.agent.clone(),
            request_id: self.request_id.clone(),
        }
    }

    /// The events concern `user` (the actor stays whoever acts; by default the user).
    pub fn with_user(&self, user: &str) -> Self {
        Self {
            user: Some(user.to_string()),
            ..self.clone()
        }
    }

    /// `actor` acts (an admin on someone else, or a signed-in user on themselves).
    pub fn by(&self, actor: &str) -> Self {
        Self {
            actor: Some(actor.to_string()),
            user: self.user.clone().or_else(|| Some(actor.to_string())),
            ..self.clone()
        }
    }

    /// The client, as described from its User-Agent ("Firefox on Linux").
    pub fn with_agent(self, label: String) -> Self {
        Self {
            agent: Some(label),
            ..self
        }
    }

    pub fn with_device(&self, device: &str) -> Self {
        Self {
            device: Some(device.to_string()),
            ..self.clone()
        }
    }

    pub fn login_intercepted(&self) -> AuditEvent {
        self.event(EventKind::LoginIntercepted)
    }
    pub fn login_passthrough(&self, reason: PassThrough) -> AuditEvent {
        self.event(EventKind::LoginPassthrough { reason })
    }
    pub fn mfa_success(&self, method: Factor) -> AuditEvent {
        self.event(EventKind::MfaSuccess { method })
    }
    pub fn mfa_failure(&self, method: Factor) -> AuditEvent {
        self.event(EventKind::MfaFailure { method })
    }
}

mod log;
pub use log::{log_name, AuditSink, Observer, PeriodReader};
