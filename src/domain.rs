//! The vocabulary every layer shares (leaf layer): roles, how a user authenticated, what a
//! session knows of its user, the second factors, and the one way a login identity is
//! normalized. Nothing here does I/O or knows about HTTP.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
    /// Everything an admin may do, and more (later admin features).
    Owner,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(Self::Agent),
            "supervisor" => Some(Self::Supervisor),
            "admin" => Some(Self::Admin),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    /// The name config and the admin API use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    /// Whether a rule or list naming `other` applies to this role (owner ⊃ admin).
    pub fn is(self, other: Role) -> bool {
        self == other || (self == Role::Owner && other == Role::Admin)
    }

    /// The name used in config, assertions and audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }
}

/// How a session's user proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// Dashboard password (plus a second factor when policy requires one).
    Pwd,
    Sso,
}

/// Who the session's user is, for per-request policy without a directory or store lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who {
    pub role: Role,
    /// Environments the user belongs to (the any-environment rule).
    pub envs: Vec<String>,
    /// Whether the user has a second factor set up.
    pub factor: bool,
}

/// A second factor, as attempt counters, audit events and pages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// The confirming code while an authenticator is being set up.
    TotpEnroll,
    /// An authenticator code asked again before a sensitive action (step-up).
    TotpStepUp,
    /// A one-time code sent by email.
    #[serde(rename = "email")]
    EmailOtp,
    /// A single-use backup code.
    BackupCode,
    /// An admin's recovery code sent by email (their factor is reset after it).
    RecoveryCode,
    /// A passkey or security key (WebAuthn): the phishing-resistant factor.
    Passkey,
    /// A passkey registered while signing in (it is the factor of that sign-in).
    PasskeyRegister,
    /// A passkey asked again before a sensitive action (step-up).
    PasskeyStepUp,
}

impl Factor {
    /// Whether this factor is phishing-resistant: bound to the site's origin by the browser, so
    /// a look-alike page cannot relay it.
    pub fn phishing_resistant(self) -> bool {
        matches!(
            self,
            Self::Passkey | Self::PasskeyRegister | Self::PasskeyStepUp
        )
    }

    /// The stable name used in store keys, audit events and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::TotpEnroll => "totp_enroll",
            Self::TotpStepUp => "totp_step_up",
            Self::EmailOtp => "email",
            Self::BackupCode => "backup_code",
            Self::RecoveryCode => "recovery_code",
            Self::Passkey => "passkey",
            Self::PasskeyRegister => "passkey_register",
            Self::PasskeyStepUp => "passkey_step_up",
        }
    }
}

impl Factor {
    /// The factor a stable name names (`as_str`'s inverse).
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Totp,
            Self::TotpEnroll,
            Self::TotpStepUp,
            Self::EmailOtp,
            Self::BackupCode,
            Self::Passkey,
            Self::PasskeyRegister,
            Self::PasskeyStepUp,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
    }
}

impl std::fmt::Display for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lower-cased, trimmed login identity: the one reading of a user name, for the login watch,
/// SSO identities, the user directory and the probe alike.
pub fn normalize_user(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// For `skip_serializing_if`: a zero that older readers take as absent anyway.
pub fn is_zero(n: &u16) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::Factor;

    /// The names are stored and audited: each parses back to its factor.
    #[test]
    fn factor_names_round_trip() {
        for f in [
            Factor::Totp,
            Factor::TotpEnroll,
            Factor::TotpStepUp,
            Factor::EmailOtp,
            Factor::BackupCode,
            Factor::Passkey,
            Factor::PasskeyRegister,
            Factor::PasskeyStepUp,
        ] {
            assert_eq!(Factor::parse(f.as_str()), Some(f));
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.as_str()));
        }
        assert_eq!(Factor::parse("sms"), None);
    }
}
