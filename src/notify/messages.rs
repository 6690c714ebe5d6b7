//! The emails users get, as data: subject, lines of text, and the code when there is one.
//! No message contains a link with a secret or anything beyond the code and its context.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub brand: String,
    pub lines: Vec<String>,
    pub code: Option<String>,
    /// Where the environment's people get help (`[environments.branding] support`).
    pub support: Option<String>,
}

pub fn otp_code(to: &str, brand: &str, code: &str, ttl_secs: u64) -> Email {
    Email {
        to: to.into(),
        subject: format!("{brand}: your sign-in code"),
        brand: brand.into(),
        lines: vec![
            "Someone, hopefully you, entered your password and asked for a sign-in code.".into(),
            format!(
                "The code works once and expires in {} minutes.",
                ttl_secs.div_ceil(60)
            ),
            "If this wasn't you, do not share the code and change your password.".into(),
        ],
        code: Some(code.into()),
        support: None,
    }
}

pub fn device_trusted(to: &str, brand: &str, device: &str, ip: &str, when: &str) -> Email {
    Email {
        to: to.into(),
        subject: format!("{brand}: new device signed in"),
        brand: brand.into(),
        lines: vec![
            format!("A new device passed two-step verification for your account: {device}, from {ip}, at {when}."),
            "If this wasn't you, sign in, revoke the device on the devices page, and change your password.".into(),
        ],
        code: None,
        support: None,
    }
}

pub fn factor_enrolled(to: &str, brand: &str) -> Email {
    Email {
        to: to.into(),
        subject: format!("{brand}: authenticator app set up"),
        brand: brand.into(),
        lines: vec![
            "An authenticator app was set up for two-step verification on your account, and new backup codes were created.".into(),
            "If this wasn't you, contact your administrator now.".into(),
        ],
        code: None,
        support: None,
    }
}

pub fn backup_codes_regenerated(to: &str, brand: &str) -> Email {
    Email {
        to: to.into(),
        subject: format!("{brand}: new backup codes"),
        brand: brand.into(),
        lines: vec![
            "New backup codes were created for your account; the previous ones no longer work."
                .into(),
            "If this wasn't you, contact your administrator now.".into(),
        ],
        code: None,
        support: None,
    }
}

pub fn blocked(to: &str, brand: &str, until: &str) -> Email {
    Email {
        to: to.into(),
        subject: format!("{brand}: sign-in codes blocked"),
        brand: brand.into(),
        lines: vec![
            format!("Too many wrong codes were entered for your account. Code entry is blocked until {until}."),
            "If this wasn't you, someone may know your password: change it.".into(),
        ],
        code: None,
        support: None,
    }
}

/// `app` and `email`: which second factors the user may choose (at least one).
pub fn enforcement_notice(to: &str, brand: &str, deadline: &str, app: bool, email: bool) -> Email {
    let asked = match (app, email) {
        (true, true) => "to add an authenticator app, or to confirm with a code sent by email",
        (false, true) => "to confirm with a code sent by email",
        _ => "to add an authenticator app",
    };
    Email {
        to: to.into(),
        subject: format!("{brand}: two-step verification becomes mandatory"),
        brand: brand.into(),
        lines: vec![
            format!("Two-step verification becomes mandatory for your account on {deadline}."),
            format!("Set it up at your next sign-in: after your password you will be asked {asked}. Sessions without it end on that date, on all devices."),
        ],
        code: None,
        support: None,
    }
}

pub fn mfa_reset(to: &str, brand: &str) -> Email {
    Email {
        to: to.into(),
        subject: format!("{brand}: two-step verification reset"),
        brand: brand.into(),
        lines: vec![
            "An administrator reset two-step verification for your account: your authenticator app, backup codes and trusted devices no longer work, and you were signed out everywhere.".into(),
            "At your next sign-in you will set up a second factor again.".into(),
            "If you did not ask for this, contact your administrator now.".into(),
        ],
        code: None,
        support: None,
    }
}

fn notice(to: &str, brand: &str, subject: &str, lines: Vec<String>) -> Email {
    Email {
        to: to.into(),
        subject: format!("{brand}: {subject}"),
        brand: brand.into(),
        lines,
        code: None,
        support: None,
    }
}

/// To the environment's admins: `user` cannot produce a second factor.
pub fn recovery_requested(to: &str, brand: &str, user: &str) -> Email {
    notice(to, brand, "a user needs account recovery", vec![
        format!("{user} cannot use their second factor and asked for two-step verification to be reset."),
        "Approve or dismiss the request in the admin console, under Recovery requests. Check with the user first that the request is theirs.".into(),
    ])
}

/// To an owner: the activity-log export they asked for can be downloaded from the console.
pub fn export_ready(to: &str, brand: &str, period: &str, events: u64) -> Email {
    notice(to, brand, "your activity-log export is ready", vec![
        format!("The export of the activity log for {period} is ready: {events} events."),
        "Download it from the Activity log page of the admin console. The file is deleted after a few days.".into(),
    ])
}

pub fn recovery_decided(to: &str, brand: &str, approved: bool) -> Email {
    let lines = match approved {
        true => vec!["An administrator approved your recovery request. Sign in again and set up a second factor.".into()],
        false => vec!["An administrator dismissed your recovery request. Contact your administrator if you still cannot sign in.".into()],
    };
    notice(to, brand, "your recovery request", lines)
}

pub fn recovery_code(to: &str, brand: &str, code: &str, ttl_secs: u64) -> Email {
    Email {
        to: to.into(),
        subject: format!("{brand}: your account recovery code"),
        brand: brand.into(),
        lines: vec![
            "Someone, hopefully you, signed in with your password and asked to recover your account because the second factor cannot be used.".into(),
            format!("Enter this code on the recovery page within {} minutes. Your second factor is then reset and you set up a new one at once.", ttl_secs.div_ceil(60)),
            "If this wasn't you, do not use the code, change your password and tell another administrator.".into(),
        ],
        code: Some(code.into()),
        support: None,
    }
}

/// To the other admins and owners: `user` reset their own factor by an emailed code.
pub fn admin_recovered(to: &str, brand: &str, user: &str) -> Email {
    notice(to, brand, "an admin recovered their account", vec![
        format!("{user} reset their own two-step verification with a recovery code sent to their registered address, and set up a new second factor."),
        "If that is unexpected, sign them out from the admin console and check with them.".into(),
    ])
}

/// To the old and the new address when an admin changes where `user`'s codes go.
pub fn email_changed(to: &str, brand: &str, user: &str, new: &str) -> Email {
    notice(to, brand, "address for sign-in codes changed", vec![
        format!("An administrator changed where sign-in codes and security notices for {user} are sent: from now on to {new}."),
        "If you did not ask for this, contact your administrator now.".into(),
    ])
}

/// To the user after a change to their own second factor (`what` happened, on `device`).
pub fn factor_changed(to: &str, brand: &str, what: &str, device: &str) -> Email {
    notice(to, brand, "two-step verification changed", vec![
        format!("{what}, from {device}."),
        "If this was not you, contact your administrator now: someone may have your password and a code.".into(),
    ])
}
