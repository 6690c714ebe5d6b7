//! Audit events: one typed enum with named constructors, written to the store's `audit` log
//! and to the log output. Events never carry a code, cookie, token or secret.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::Factor;
use crate::store::Store;

/// A random id tying a request's audit events and its access-log line together.
pub fn new_request_id() -> String {
    request_id(rand::random())
}

/// A request id as logged and audited (16 hex digits); the proxy keeps it as a number until
/// something is written.
pub fn request_id(id: u64) -> String {
    format!("{id:016x}")
}

/// The audit log's name in the store.
pub const AUDIT_LOG: &str = "audit";

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
        actor: String,
        reason: String,
    },
    /// An admin ended every session of the user.
    AdminLogout {
        actor: String,
        reason: String,
    },
    /// An admin changed the address the user's codes and notices go to (both were told).
    EmailChanged {
        actor: String,
        reason: String,
    },
    /// An admin ended one of the user's sessions or forgot one of their devices.
    AdminRevoked {
        actor: String,
    },
    /// An admin lifted the user's code-entry block.
    UserUnblocked {
        actor: String,
        reason: String,
    },
    /// A user who cannot produce a second factor asked the admins for a reset.
    RecoveryRequested,
    /// An admin recovering themselves was sent a recovery code.
    RecoveryCodeSent,
    /// An admin recovered themselves with the emailed code: their factor was reset.
    AdminRecovered,
    RecoveryApproved {
        actor: String,
    },
    RecoveryDismissed {
        actor: String,
    },
    /// An admin action refused: the target is out of the admin's environments, or is the
    /// admin.
    AdminRefused {
        actor: String,
        action: String,
        reason: String,
    },
    /// The dashboard did not confirm the logout of a session the gateway ended (its status
    /// when it answered): the dashboard's own session may still be alive.
    DashboardLogoutFailed {
        status: Option<u16>,
        reason: String,
    },
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
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::MfaFailure { .. } | Self::EmailCodeSendFailed => Outcome::Failure,
            Self::TotpReplay
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
            | Self::AdminRefused { .. } => Outcome::Refused,
            Self::LoginFailed { .. } | Self::DashboardLogoutFailed { .. } => Outcome::Failure,
            _ => Outcome::Success,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unix seconds, UTC.
    pub at: u64,
    #[serde(flatten)]
    pub kind: EventKind,
    pub outcome: Outcome,
    pub user: Option<String>,
    pub environment: String,
    pub device: Option<String>,
    pub ip: String,
    pub request_id: String,
}

/// Request facts every event carries.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub at: u64,
    pub environment: String,
    pub ip: String,
    pub request_id: String,
    pub user: Option<String>,
    pub device: Option<String>,
}

impl Context {
    pub fn event(&self, kind: EventKind) -> AuditEvent {
        AuditEvent {
            at: self.at,
            outcome: kind.outcome(),
            kind,
            user: self.user.clone(),
            environment: self.environment.clone(),
            device: self.device.clone(),
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }

    pub fn with_user(&self, user: &str) -> Self {
        Self {
            user: Some(user.to_string()),
            ..self.clone()
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

/// Logs an event as fields a log pipeline can index (not JSON inside a string): the kind, the
/// outcome, who and where, and the kind's own details (a small JSON object, often empty).
fn log(event: &AuditEvent) {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    let fields = value.as_object_mut();
    let kind = fields
        .as_ref()
        .and_then(|m| m.get("event"))
        .and_then(|k| k.as_str())
        .unwrap_or("unknown")
        .to_string();
    let details = fields.map(|m| {
        for common in [
            "at",
            "event",
            "outcome",
            "user",
            "environment",
            "device",
            "ip",
            "request_id",
        ] {
            m.remove(common);
        }
        serde_json::Value::Object(std::mem::take(m)).to_string()
    });
    tracing::info!(
        target: "mfagate::audit",
        event = %kind,
        outcome = ?event.outcome,
        user = event.user.as_deref().unwrap_or("-"),
        environment = %event.environment,
        device = event.device.as_deref().unwrap_or("-"),
        ip = %event.ip,
        request_id = %event.request_id,
        details = details.as_deref().unwrap_or("{}"),
        "audit"
    );
}

/// Something told of every event as it is recorded (the metrics).
pub type Observer = Box<dyn Fn(&AuditEvent) + Send + Sync>;

/// Where events go: the store (for export), the log, and an observer (the metrics).
#[derive(Clone)]
pub struct AuditSink {
    store: Arc<dyn Store>,
    observer: Arc<std::sync::OnceLock<Observer>>,
}

impl AuditSink {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            observer: Arc::default(),
        }
    }

    /// Tells `observer` of every event from now on (set once, at start).
    pub fn observe(&self, observer: Observer) {
        let _ = self.observer.set(observer);
    }

    /// Records an event. A store failure is logged loudly but does not undo the action it
    /// describes (the log line still carries it).
    pub async fn record(&self, event: AuditEvent) {
        let json = serde_json::to_string(&event).unwrap_or_default();
        log(&event);
        if let Some(observe) = self.observer.get() {
            observe(&event);
        }
        if let Err(e) = self.store.append(AUDIT_LOG, json.as_bytes()).await {
            tracing::error!(error = %e, "audit event could not be stored");
        }
    }

    /// Events after sequence `after`, oldest first.
    pub async fn read(&self, after: u64, limit: usize) -> Vec<(u64, AuditEvent)> {
        match self.store.read_log(AUDIT_LOG, after, limit).await {
            Ok(entries) => entries
                .into_iter()
                .filter_map(|(seq, raw)| serde_json::from_slice(&raw).ok().map(|e| (seq, e)))
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "audit log unreadable");
                Vec::new()
            }
        }
    }
}
