//! Prometheus metrics. Per-environment handles are created once at start so the request path
//! only increments atomics (no label lookup, no allocation).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::audit::AuditEvent;
use crate::domain::Factor;
use crate::gate::lifecycle::LogoutOutcome;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    environment: String,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnvLabels {
    environment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    environment: String,
    /// What happened (the outcome or the action).
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FactorLabels {
    environment: String,
    method: String,
    outcome: &'static str,
}

/// Counters of what the activity log records, for dashboards and alerts: sign-ins, second
/// factors, blocks, email codes, recovery requests and admin actions, per environment.
struct AuthCounters {
    logins: Family<EventLabels, Counter>,
    factors: Family<FactorLabels, Counter>,
    blocks: Family<EnvLabels, Counter>,
    emails: Family<EventLabels, Counter>,
    recovery_requests: Family<EnvLabels, Counter>,
    admin_actions: Family<EventLabels, Counter>,
    exports: Family<EventLabels, Counter>,
    passkeys: Family<EventLabels, Counter>,
}

impl AuthCounters {
    /// Registers the families, with a zero series per environment for the usual outcomes (so
    /// they are exported, and rates start from zero).
    fn register(registry: &mut Registry) -> Self {
        let me = Self {
            logins: Family::default(),
            factors: Family::default(),
            blocks: Family::default(),
            emails: Family::default(),
            recovery_requests: Family::default(),
            admin_actions: Family::default(),
            exports: Family::default(),
            passkeys: Family::default(),
        };
        registry.register(
            "logins",
            "Watched sign-ins by outcome (intercepted, passed_through, failed, rate_limited)",
            me.logins.clone(),
        );
        registry.register(
            "second_factors",
            "Second-factor entries by method and outcome (success, failure, replay)",
            me.factors.clone(),
        );
        registry.register(
            "code_entry_blocks",
            "Users blocked after too many wrong codes",
            me.blocks.clone(),
        );
        registry.register(
            "email_codes",
            "Sign-in codes by email, by outcome (sent, failed)",
            me.emails.clone(),
        );
        registry.register(
            "recovery_requests",
            "Recovery requests made by users who cannot produce a factor",
            me.recovery_requests.clone(),
        );
        registry.register(
            "admin_actions",
            "Admin actions by kind (mfa_reset, admin_logout, user_unblocked, ...)",
            me.admin_actions.clone(),
        );
        registry.register(
            "audit_exports",
            "Activity-log export jobs by outcome (requested, ready, failed, downloaded)",
            me.exports.clone(),
        );
        registry.register(
            "passkeys",
            "Passkeys and security keys by event (registered, removed); their use is a second factor",
            me.passkeys.clone(),
        );
        me
    }

    /// Zero series of the usual outcomes in `environment`.
    fn zero(&self, environment: &str) {
        let event = |kind: &str| EventLabels {
            environment: environment.into(),
            kind: kind.into(),
        };
        for kind in [
            "intercepted",
            "passed_through",
            "failed",
            "rate_limited",
            "sso",
        ] {
            drop(self.logins.get_or_create(&event(kind)));
        }
        for (method, outcome) in [
            (Factor::Totp, "success"),
            (Factor::Totp, "failure"),
            (Factor::Passkey, "success"),
            (Factor::Passkey, "counter_regressed"),
        ] {
            let labels = FactorLabels {
                environment: environment.into(),
                method: method.as_str().into(),
                outcome,
            };
            drop(self.factors.get_or_create(&labels));
        }
        for kind in ["registered", "removed"] {
            drop(self.passkeys.get_or_create(&event(kind)));
        }
        for kind in ["sent", "failed"] {
            drop(self.emails.get_or_create(&event(kind)));
        }
        drop(self.admin_actions.get_or_create(&event("mfa_reset")));
        for kind in ["requested", "ready", "failed", "downloaded"] {
            drop(self.exports.get_or_create(&event(kind)));
        }
        let env = EnvLabels {
            environment: environment.into(),
        };
        drop(self.blocks.get_or_create(&env));
        drop(self.recovery_requests.get_or_create(&env));
    }

    fn observe(&self, e: &AuditEvent) {
        use crate::audit::EventKind as K;
        let environment = e.environment.clone();
        let event = |kind: &str| EventLabels {
            environment: environment.clone(),
            kind: kind.into(),
        };
        let factor = |method: Factor, outcome| FactorLabels {
            environment: environment.clone(),
            method: method.as_str().into(),
            outcome,
        };
        let env = EnvLabels {
            environment: environment.clone(),
        };
        match &e.kind {
            K::LoginIntercepted => self.logins.get_or_create(&event("intercepted")).inc(),
            K::LoginPassthrough { .. } => self.logins.get_or_create(&event("passed_through")).inc(),
            K::LoginFailed { .. } => self.logins.get_or_create(&event("failed")).inc(),
            K::LoginRateLimited => self.logins.get_or_create(&event("rate_limited")).inc(),
            K::SsoSignIn => self.logins.get_or_create(&event("sso")).inc(),
            K::ExportRequested { .. } => self.exports.get_or_create(&event("requested")).inc(),
            K::ExportReady { .. } => self.exports.get_or_create(&event("ready")).inc(),
            K::ExportFailed { .. } => self.exports.get_or_create(&event("failed")).inc(),
            K::ExportDownloaded { .. } => self.exports.get_or_create(&event("downloaded")).inc(),
            K::MfaSuccess { method } => self
                .factors
                .get_or_create(&factor(*method, "success"))
                .inc(),
            K::MfaFailure { method } => self
                .factors
                .get_or_create(&factor(*method, "failure"))
                .inc(),
            K::TotpReplay => self
                .factors
                .get_or_create(&factor(Factor::Totp, "replay"))
                .inc(),
            K::PasskeyCounterRegressed { .. } => self
                .factors
                .get_or_create(&factor(Factor::Passkey, "counter_regressed"))
                .inc(),
            K::PasskeyRegistered { .. } => self.passkeys.get_or_create(&event("registered")).inc(),
            K::PasskeyRemoved { .. } => self.passkeys.get_or_create(&event("removed")).inc(),
            K::UserBlocked { .. } => self.blocks.get_or_create(&env).inc(),
            K::EmailCodeSent => self.emails.get_or_create(&event("sent")).inc(),
            K::EmailCodeSendFailed => self.emails.get_or_create(&event("failed")).inc(),
            K::RecoveryRequested => self.recovery_requests.get_or_create(&env).inc(),
            K::MfaReset { .. }
            | K::AdminLogout { .. }
            | K::UserUnblocked { .. }
            | K::EmailChanged { .. }
            | K::AdminRevoked
            | K::RecoveryApproved
            | K::RecoveryDismissed => {
                let name = serde_json::to_value(&e.kind).unwrap_or_default();
                let name = name["event"].as_str().unwrap_or("other").to_string();
                self.admin_actions.get_or_create(&event(&name)).inc()
            }
            _ => 0,
        };
    }
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Pre-resolved metric handles of one environment (or of "-" for requests no environment took).
#[derive(Clone)]
pub struct EnvMetrics {
    requests: [Counter; 5],
    upstream_seconds: Histogram,
}

impl EnvMetrics {
    pub fn observe_status(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[class].inc();
    }

    pub fn observe_upstream(&self, seconds: f64) {
        self.upstream_seconds.observe(seconds);
    }
}

pub struct Metrics {
    registry: Registry,
    /// The per-environment families; each config generation resolves its handles from them
    /// by name (`environments`), so a reload that adds or reorders environments keeps counts.
    requests: Family<RequestLabels, Counter>,
    upstream: Family<EnvLabels, Histogram>,
    without: Family<EnvLabels, Gauge>,
    pub active_connections: Gauge,
    /// Idle HTTP/1.1 connections holding only their TLS stream (`proxy::connection`).
    pub resting_connections: Gauge,
    pub active_websockets: Gauge,
    pub tls_handshake_failures: Counter,
    /// Shared store only: seconds since revocation events were last confirmed (-1 before the
    /// first time or while a reload is owed), and 1 while that is too long to trust.
    pub store_event_lag: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub store_stale: Gauge,
    /// Log lines the background writer dropped (synced from the writer when scraped).
    log_lines_dropped: Counter,
    /// Dashboard logouts by outcome: signed out, refused (answered, not as configured),
    /// unreachable.
    dashboard_logouts: [Counter; 3],
    auth: AuthCounters,
    /// Open recovery requests (set when scraped).
    pub recovery_requests_open: Gauge,
    /// Config reloads applied, and refused (invalid, or a key only a restart changes).
    pub config_reloads: Counter,
    pub config_reload_failures: Counter,
}

/// One config generation's metric handles, indexed like its `Config::environments`.
pub struct EnvSet {
    /// The last entry is the unrouted bucket.
    envs: Vec<EnvMetrics>,
    /// Per environment: users in scope of its enforcement without a factor.
    pub users_without_factor: Vec<Gauge>,
}

impl EnvSet {
    /// Handles of environment `index`, or of the unrouted bucket for `None`.
    pub fn env(&self, index: Option<usize>) -> &EnvMetrics {
        let last = self.envs.len() - 1;
        &self.envs[index.map_or(last, |i| i.min(last))]
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mfagate");
        let requests = Family::<RequestLabels, Counter>::default();
        let upstream = Family::<EnvLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        registry.register(
            "requests",
            "Requests answered, by environment and status class",
            requests.clone(),
        );
        registry.register(
            "upstream_duration_seconds",
            "Time until the upstream's response headers arrived",
            upstream.clone(),
        );
        let active_connections = Gauge::default();
        let resting_connections = Gauge::default();
        let active_websockets = Gauge::default();
        let tls_handshake_failures = Counter::default();
        registry.register(
            "active_connections",
            "Open client connections",
            active_connections.clone(),
        );
        registry.register(
            "resting_connections",
            "Idle HTTP/1.1 keep-alive connections whose HTTP buffers are released",
            resting_connections.clone(),
        );
        registry.register(
            "active_websockets",
            "Open proxied WebSocket connections",
            active_websockets.clone(),
        );
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed or timed out",
            tls_handshake_failures.clone(),
        );
        let store_event_lag = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let store_stale = Gauge::default();
        registry.register(
            "store_event_lag_seconds",
            "Since revocation events from the shared store were last confirmed (-1: not yet, or a reload is owed)",
            store_event_lag.clone(),
        );
        registry.register(
            "store_stale",
            "1 while signed-in requests are refused because revocations could not be confirmed",
            store_stale.clone(),
        );
        let logouts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "dashboard_logouts",
            "Logouts of the dashboard's own session, by outcome (refused/unreachable: it may live on)",
            logouts.clone(),
        );
        let dashboard_logouts = ["signed_out", "refused", "unreachable"]
            .map(|outcome| logouts.get_or_create(&OutcomeLabels { outcome }).clone());
        let auth = AuthCounters::register(&mut registry);
        let log_lines_dropped = Counter::default();
        registry.register(
            "log_lines_dropped",
            "Log lines (access log included) dropped because the log writer fell behind",
            log_lines_dropped.clone(),
        );
        let (config_reloads, config_reload_failures) = (Counter::default(), Counter::default());
        registry.register(
            "config_reloads",
            "Config reloads applied since start",
            config_reloads.clone(),
        );
        registry.register(
            "config_reload_failures",
            "Config reloads refused (invalid, or changing what needs a restart); the running config is kept",
            config_reload_failures.clone(),
        );
        let recovery_requests_open = Gauge::default();
        registry.register(
            "recovery_requests_open",
            "Recovery requests waiting for an admin",
            recovery_requests_open.clone(),
        );
        let without = Family::<EnvLabels, Gauge>::default();
        registry.register(
            "users_without_factor",
            "Users in scope of an environment's enforcement who have no second factor yet",
            without.clone(),
        );
        Self {
            registry,
            requests,
            upstream,
            without,
            dashboard_logouts,
            auth,
            recovery_requests_open,
            config_reloads,
            config_reload_failures,
            active_connections,
            resting_connections,
            active_websockets,
            tls_handshake_failures,
            store_event_lag,
            store_stale,
            log_lines_dropped,
        }
    }

    /// The handles of these environments (in config order), resolved once per generation.
    pub fn environments<'a>(&self, names: impl IntoIterator<Item = &'a str> + Clone) -> EnvSet {
        let labels = |name: &str| EnvLabels {
            environment: name.to_string(),
        };
        let envs = names
            .clone()
            .into_iter()
            .chain(["-"])
            .map(|name| EnvMetrics {
                requests: CLASSES.map(|class| {
                    let labels = RequestLabels {
                        environment: name.to_string(),
                        class,
                    };
                    self.requests.get_or_create(&labels).clone()
                }),
                upstream_seconds: self.upstream.get_or_create(&labels(name)).clone(),
            })
            .collect();
        let users_without_factor = names
            .into_iter()
            .inspect(|name| self.auth.zero(name))
            .map(|name| self.without.get_or_create(&labels(name)).clone())
            .collect();
        EnvSet {
            envs,
            users_without_factor,
        }
    }

    pub fn dashboard_logout(&self, outcome: &LogoutOutcome) {
        let i = match outcome {
            LogoutOutcome::SignedOut(_) => 0,
            LogoutOutcome::Refused { .. } => 1,
            LogoutOutcome::Unreachable(_) => 2,
        };
        self.dashboard_logouts[i].inc();
    }

    /// Counts an audit event (the core's audit sink tells every event).
    pub fn observe_audit(&self, event: &AuditEvent) {
        self.auth.observe(event);
    }

    pub fn render(&self) -> String {
        let dropped = crate::logging::dropped_lines();
        let counted = self.log_lines_dropped.get();
        if dropped > counted {
            self.log_lines_dropped.inc_by(dropped - counted);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
