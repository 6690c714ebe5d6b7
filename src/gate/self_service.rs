//! A user's own second-factor changes from the security page: opt in (an authenticator where
//! MFA is optional), replace the authenticator (a new phone), turn two-factor authentication
//! off where no environment of the user requires it. A change to an existing factor needs a
//! fresh second factor (the web adapter sends the user through step-up first), ends the
//! user's other sessions, tells the user by email and is audited with the device and IP.

use super::auth::Auth;
use super::lifecycle::{AllEnd, EndReason, Ending};
use crate::audit::{Context, EventKind};
use crate::policy::requiring_environments;
use crate::store::StoreResult;

/// What a user changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The first authenticator of a user who had none (an opt-in where MFA is optional).
    Added,
    /// A new authenticator replaced the old one.
    Replaced,
    /// Two-factor authentication turned off.
    TurnedOff,
    /// Email codes turned on, or off, for oneself.
    EmailCodes { on: bool },
    /// A passkey added from the devices page (audited by the passkey ceremony itself).
    PasskeyAdded,
    /// A passkey removed (audited by the removal itself).
    PasskeyRemoved,
}

impl Auth {
    /// Whether `user` may turn two-factor authentication off while signed in to environment
    /// `index`: only where no environment of theirs, as of now, requires it (the
    /// any-environment rule).
    pub async fn may_turn_off(&self, user: &str, index: usize) -> StoreResult<bool> {
        let (role, envs) = self.current_who(user).await?;
        let policies = self.policies();
        Ok(requiring_environments(&policies, &envs, index, role).is_empty())
    }

    /// Records a change the user made (the factor itself is already stored): other sessions
    /// end when an existing factor changed, the user is told, the change is audited.
    pub async fn factor_changed(
        &self,
        user: &str,
        (change, current_sid): (Change, &str),
        (device_id, device_label): (&str, &str),
        ctx: &Context,
    ) -> StoreResult<usize> {
        let mut ended = 0;
        if matches!(
            change,
            Change::Replaced
                | Change::TurnedOff
                | Change::EmailCodes { on: false }
                | Change::PasskeyRemoved
        ) {
            for session in self.records.sessions(user).await? {
                if session.id == current_sid {
                    continue;
                }
                let ending = Ending {
                    user,
                    sid: &session.id,
                    jar: None,
                    authority: None,
                };
                let reason = EndReason::AllSessions(AllEnd::FactorChanged);
                let ctx = ctx.with_user(user).with_device(&session.device_id);
                self.end_session(ending, reason, ctx).await?;
                ended += 1;
            }
        }
        let kind = match change {
            Change::Added => Some(EventKind::FactorAdded),
            Change::Replaced => Some(EventKind::FactorReplaced),
            Change::TurnedOff => Some(EventKind::MfaTurnedOff),
            Change::EmailCodes { on } => Some(EventKind::EmailCodesSet { on }),
            Change::PasskeyAdded | Change::PasskeyRemoved => None,
        };
        let ctx = ctx.with_user(user).with_device(device_id);
        if let Some(kind) = kind {
            self.audit.record(ctx.event(kind)).await;
        }
        let voice = self.voice_of(&ctx.environment);
        self.notify(user, |to| {
            crate::notify::messages::factor_changed(to, &voice, change_text(change), device_label)
        })
        .await;
        Ok(ended)
    }

    /// Turns two-factor authentication off for `user`: the authenticator and backup codes are
    /// forgotten, with the trusted devices (they stood for a factor).
    pub async fn turn_off_mfa(&self, user: &str) -> StoreResult<()> {
        self.records.forget_factors(user).await.map(drop)
    }
}

/// The catalogue key of the sentence that tells what changed.
fn change_text(change: Change) -> &'static str {
    match change {
        Change::Added => "mail-change-added",
        Change::Replaced => "mail-change-replaced",
        Change::TurnedOff => "mail-change-off",
        Change::EmailCodes { on: true } => "mail-change-email-on",
        Change::EmailCodes { on: false } => "mail-change-email-off",
        Change::PasskeyAdded => "mail-change-passkey-added",
        Change::PasskeyRemoved => "mail-change-passkey-removed",
    }
}
