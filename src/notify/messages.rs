//! The emails users get, as data: subject, lines of text, and the code when there is one, in
//! the environment's language. No message contains a link with a secret or anything beyond
//! the code and its context.

use serde::Serialize;

use crate::i18n::{Arg, Lang, Words};

#[derive(Debug, Clone, Serialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub brand: String,
    pub lines: Vec<String>,
    pub code: Option<String>,
    /// The language of the lines, for the parts the mailer adds (footer, support).
    #[serde(skip)]
    pub lang: Lang,
}

/// Who an email speaks for, and in which language: an environment's display name and words.
#[derive(Debug, Clone, Copy)]
pub struct Voice<'a> {
    pub brand: &'a str,
    pub w: Words,
}

impl<'a> Voice<'a> {
    pub fn of(env: &'a crate::config::Environment) -> Self {
        Self {
            brand: &env.display_name,
            w: env.words(),
        }
    }

    fn email(&self, to: &str, subject: &str, lines: Vec<String>, code: Option<&str>) -> Email {
        Email {
            to: to.into(),
            subject: format!("{}: {}", self.brand, self.w.get(subject)),
            brand: self.brand.into(),
            lines,
            code: code.map(Into::into),
            lang: self.w.0,
        }
    }

    fn line(&self, key: &str, args: &[Arg<'_>]) -> String {
        self.w.with(key, args)
    }
}

pub fn otp_code(to: &str, v: &Voice, code: &str, ttl_secs: u64) -> Email {
    let minutes = [("minutes", ttl_secs.div_ceil(60).into())];
    let lines = vec![
        v.line("mail-otp-1", &[]),
        v.line("mail-otp-2", &minutes),
        v.line("mail-otp-3", &[]),
    ];
    v.email(to, "mail-otp-subject", lines, Some(code))
}

pub fn device_trusted(to: &str, v: &Voice, device: &str, ip: &str, when: &str) -> Email {
    let args = [
        ("device", device.into()),
        ("ip", ip.into()),
        ("when", when.into()),
    ];
    let lines = vec![v.line("mail-device-1", &args), v.line("mail-device-2", &[])];
    v.email(to, "mail-device-subject", lines, None)
}

pub fn factor_enrolled(to: &str, v: &Voice) -> Email {
    let lines = vec![
        v.line("mail-enrolled-1", &[]),
        v.line("mail-contact-admin", &[]),
    ];
    v.email(to, "mail-enrolled-subject", lines, None)
}

pub fn backup_codes_regenerated(to: &str, v: &Voice) -> Email {
    let lines = vec![
        v.line("mail-codes-1", &[]),
        v.line("mail-contact-admin", &[]),
    ];
    v.email(to, "mail-codes-subject", lines, None)
}

pub fn blocked(to: &str, v: &Voice, until: &str) -> Email {
    let lines = vec![
        v.line("mail-blocked-1", &[("until", until.into())]),
        v.line("mail-blocked-2", &[]),
    ];
    v.email(to, "mail-blocked-subject", lines, None)
}

/// `app` and `email`: which second factors the user may choose (at least one).
pub fn enforcement_notice(to: &str, v: &Voice, deadline: &str, app: bool, email: bool) -> Email {
    let asked = v.w.get(match (app, email) {
        (true, true) => "mail-enforce-app-or-email",
        (false, true) => "mail-enforce-email",
        _ => "mail-enforce-app",
    });
    let lines = vec![
        v.line("mail-enforce-1", &[("deadline", deadline.into())]),
        v.line("mail-enforce-2", &[("asked", asked.into())]),
    ];
    v.email(to, "mail-enforce-subject", lines, None)
}

pub fn mfa_reset(to: &str, v: &Voice) -> Email {
    let lines = vec![
        v.line("mail-reset-1", &[]),
        v.line("mail-reset-2", &[]),
        v.line("mail-not-asked", &[]),
    ];
    v.email(to, "mail-reset-subject", lines, None)
}

/// To the environment's admins: `user` cannot produce a second factor.
pub fn recovery_requested(to: &str, v: &Voice, user: &str) -> Email {
    let lines = vec![
        v.line("mail-recovery-requested-1", &[("user", user.into())]),
        v.line("mail-recovery-requested-2", &[]),
    ];
    v.email(to, "mail-recovery-requested-subject", lines, None)
}

/// To an owner: the activity-log export they asked for can be downloaded from the console.
pub fn export_ready(to: &str, v: &Voice, period: &str, events: u64) -> Email {
    let args = [("period", period.into()), ("events", events.into())];
    let lines = vec![v.line("mail-export-1", &args), v.line("mail-export-2", &[])];
    v.email(to, "mail-export-subject", lines, None)
}

pub fn recovery_decided(to: &str, v: &Voice, approved: bool) -> Email {
    let line = v.line(
        if approved {
            "mail-approved"
        } else {
            "mail-dismissed"
        },
        &[],
    );
    v.email(to, "mail-decided-subject", vec![line], None)
}

pub fn recovery_code(to: &str, v: &Voice, code: &str, ttl_secs: u64) -> Email {
    let minutes = [("minutes", ttl_secs.div_ceil(60).into())];
    let lines = vec![
        v.line("mail-recovery-code-1", &[]),
        v.line("mail-recovery-code-2", &minutes),
        v.line("mail-recovery-code-3", &[]),
    ];
    v.email(to, "mail-recovery-code-subject", lines, Some(code))
}

/// To the other admins and owners: `user` reset their own factor by an emailed code.
pub fn admin_recovered(to: &str, v: &Voice, user: &str) -> Email {
    let lines = vec![
        v.line("mail-admin-recovered-1", &[("user", user.into())]),
        v.line("mail-admin-recovered-2", &[]),
    ];
    v.email(to, "mail-admin-recovered-subject", lines, None)
}

/// To the old and the new address when an admin changes where `user`'s codes go.
pub fn email_changed(to: &str, v: &Voice, user: &str, new: &str) -> Email {
    let args = [("user", user.into()), ("address", new.into())];
    let lines = vec![
        v.line("mail-email-changed-1", &args),
        v.line("mail-not-asked", &[]),
    ];
    v.email(to, "mail-email-changed-subject", lines, None)
}

/// To the user after a change to their own second factor (`what`: its catalogue key, on
/// `device`).
pub fn factor_changed(to: &str, v: &Voice, what: &str, device: &str) -> Email {
    let args = [("what", v.w.get(what).into()), ("device", device.into())];
    let lines = vec![
        v.line("mail-factor-changed-1", &args),
        v.line("mail-factor-changed-2", &[]),
    ];
    v.email(to, "mail-factor-changed-subject", lines, None)
}
