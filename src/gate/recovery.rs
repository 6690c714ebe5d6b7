//! Account recovery for a user whose password the dashboard accepted but who cannot produce
//! a second factor. Agents and supervisors ask the environment's admins, who approve (a
//! reset) or dismiss the request in the console; the user is told either way. Admins and
//! owners recover themselves, where `recovery.admin_self_service` allows it, with a code sent
//! to their registered address: single use, 15 minutes, bound to the pending login that asked
//! for it, regulated like every code; their factor is then reset, their other sessions end,
//! and every other admin of the environment is told.
//!
//! The email carries a code to type, not a link: no secret ever travels in a URL.

use std::time::Duration;

use super::admin::{Admin, AdminError};
use super::auth::Auth;
use super::lifecycle::{AllEnd, EndReason, Ending};
use crate::audit::{Context, EventKind};
use crate::mfa::email_otp::{self, CheckOutcome, EmailOtpPolicy, SendDecision};
use crate::notify::messages::Voice;
use crate::store::records::{PendingLogin, RecoveryRequest, RecoveryState};
use crate::store::StoreResult;

/// A user may ask again this long after their last request was decided.
pub const REQUEST_INTERVAL_SECS: u64 = 3600;

/// Recovery codes: 15 minutes, a new one after a minute, at most 3 per 15 minutes.
pub const CODE_POLICY: EmailOtpPolicy = EmailOtpPolicy {
    ttl_secs: 15 * 60,
    resend_after_secs: 60,
    max_sends: 3,
    send_window_secs: 15 * 60,
};

/// What asking for recovery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// A request is waiting for the admins (new, or already open).
    Waiting,
    /// The last request was decided less than an hour ago.
    TooSoon { wait_secs: u64 },
    /// A recovery code went to the admin's registered address.
    CodeSent,
    /// A code was sent a moment ago (or too many): wait.
    CodeTooSoon { wait_secs: u64 },
    /// No address or no mail: nothing can be sent.
    Unavailable,
}

/// The code is bound to the pending login, apart from its email sign-in codes.
fn bound(login: &PendingLogin) -> String {
    format!("recovery:{}", login.id)
}

fn keep() -> Duration {
    Duration::from_secs(2 * CODE_POLICY.send_window_secs)
}

impl Auth {
    /// The user of `login` cannot produce a second factor in environment `index`.
    pub async fn ask_recovery(
        &self,
        index: usize,
        login: &PendingLogin,
        ctx: &Context,
    ) -> StoreResult<Asked> {
        let env = &self.config.environments[index];
        let ctx = ctx.with_user(&login.user);
        if Admin::may_administer(login.who.role)
            && self.self_recovery_allowed(&login.who.envs, index)
        {
            return self.send_recovery_code(index, login, &ctx).await;
        }
        let now = self.clock.now();
        let records = &self.records;
        let asked = records
            .locked_user(&login.user, async {
                let last = records.recovery_request(&login.user).await?;
                match last {
                    Some(r) if r.state == RecoveryState::Requested => return Ok(None),
                    Some(r) => {
                        let again = r.decided_at.unwrap_or(r.requested_at) + REQUEST_INTERVAL_SECS;
                        if now < again {
                            return Ok(Some(Asked::TooSoon {
                                wait_secs: again - now,
                            }));
                        }
                    }
                    None => {}
                }
                let request = RecoveryRequest {
                    user: login.user.clone(),
                    environment: env.name.clone(),
                    requested_at: now,
                    state: RecoveryState::Requested,
                    decided_by: None,
                    decided_at: None,
                };
                records.save_recovery_request(&request).await?;
                Ok(Some(Asked::Waiting))
            })
            .await?;
        match asked {
            None => Ok(Asked::Waiting),
            Some(Asked::Waiting) => {
                self.audit
                    .record(ctx.event(EventKind::RecoveryRequested))
                    .await;
                for admin in self.admins_of(&env.name).await? {
                    self.notify(&admin, |to| {
                        crate::notify::messages::recovery_requested(
                            to,
                            &Voice::of(env),
                            &login.user,
                        )
                    })
                    .await;
                }
                Ok(Asked::Waiting)
            }
            Some(other) => Ok(other),
        }
    }

    /// Admin self-recovery resets the factor everywhere: it needs every environment of the
    /// user to allow it (the any-environment rule), not only the one signed in to.
    fn self_recovery_allowed(&self, envs: &[String], index: usize) -> bool {
        let environments = &self.config.environments;
        environments[index].admin_self_recovery
            && environments
                .iter()
                .filter(|e| envs.contains(&e.name))
                .all(|e| e.admin_self_recovery)
    }

    /// Sends an admin's recovery code, within the resend limits. A user who turned email
    /// codes off cannot be recovered through the mailbox either.
    async fn send_recovery_code(
        &self,
        index: usize,
        login: &PendingLogin,
        ctx: &Context,
    ) -> StoreResult<Asked> {
        let to = match self.records.email_codes_off(&login.user).await? {
            true => None,
            false => self.code_address(&login.user).await?,
        };
        let (Some(mailer), Some(to)) = (&self.mailer, to) else {
            return Ok(Asked::Unavailable);
        };
        let (records, now) = (&self.records, self.clock.now());
        let reserved = records
            .locked_user(&login.user, async {
                let state = records.recovery_code(&login.user).await?;
                match email_otp::may_send(state.as_ref(), &CODE_POLICY, now) {
                    SendDecision::TooSoon { wait_secs } | SendDecision::TooMany { wait_secs } => {
                        Ok(Err(wait_secs))
                    }
                    SendDecision::Allowed => {
                        let code = email_otp::new_code(&self.keys);
                        let pending = bound(login);
                        let next =
                            email_otp::issue(&self.keys, state, &pending, &code, &CODE_POLICY, now);
                        records
                            .save_recovery_code(&login.user, &next, keep())
                            .await?;
                        Ok(Ok(code))
                    }
                }
            })
            .await?;
        let code = match reserved {
            Ok(code) => code,
            Err(wait_secs) => return Ok(Asked::CodeTooSoon { wait_secs }),
        };
        let voice = Voice::of(&self.config.environments[index]);
        let mail = crate::notify::messages::recovery_code(&to, &voice, &code, CODE_POLICY.ttl_secs);
        if let Err(e) = mailer.send_now(&mail).await {
            tracing::warn!(error = %e, "recovery code email failed");
            return Ok(Asked::Unavailable);
        }
        self.audit
            .record(ctx.event(EventKind::RecoveryCodeSent))
            .await;
        Ok(Asked::CodeSent)
    }

    /// Checks an admin's recovery code for `login`; a right one is used up.
    pub async fn check_recovery_code(&self, login: &PendingLogin, code: &str) -> StoreResult<bool> {
        let Some(state) = self.records.recovery_code(&login.user).await? else {
            return Ok(false);
        };
        let now = self.clock.now();
        let (outcome, next) =
            email_otp::check(&self.keys, &state, &bound(login), code, &CODE_POLICY, now);
        if outcome == CheckOutcome::Accepted {
            self.records
                .save_recovery_code(&login.user, &next, keep())
                .await?;
        }
        Ok(outcome == CheckOutcome::Accepted)
    }

    /// After a right recovery code: the admin's factor is reset, their other sessions end
    /// (the pending login goes on, to enroll anew) and the other admins are told.
    pub async fn self_recovered(
        &self,
        index: usize,
        login: &PendingLogin,
        ctx: &Context,
    ) -> StoreResult<()> {
        let user = login.user.as_str();
        self.records.forget_factors(user).await?;
        let ctx = ctx.with_user(user);
        for session in self.records.sessions(user).await? {
            let ending = Ending {
                user,
                sid: &session.id,
                jar: None,
                authority: None,
            };
            let reason = EndReason::AllSessions(AllEnd::Recovered);
            self.end_session(ending, reason, ctx.with_device(&session.device_id))
                .await?;
        }
        self.audit
            .record(ctx.event(EventKind::AdminRecovered))
            .await;
        let env = &self.config.environments[index];
        for admin in self.admins_of(&env.name).await? {
            if admin != user {
                self.notify(&admin, |to| {
                    crate::notify::messages::admin_recovered(to, &Voice::of(env), user)
                })
                .await;
            }
        }
        Ok(())
    }

    /// The admins and owners of environment `env`.
    async fn admins_of(&self, env: &str) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for user in super::enforcement::users(self).await? {
            let (role, envs) = super::enforcement::who(self, &user).await?;
            if Admin::may_administer(role) && envs.iter().any(|e| e == env) {
                out.push(user);
            }
        }
        Ok(out)
    }

    /// The recovery requests of the users `admin` sees, newest first.
    pub async fn recovery_requests(&self, admin: &Admin<'_>) -> StoreResult<Vec<RecoveryRequest>> {
        let mut out = Vec::new();
        for request in self.records.recovery_requests().await? {
            let (_, envs) = super::enforcement::who(self, &request.user).await?;
            if envs.iter().any(|e| admin.envs.contains(e)) {
                out.push(request);
            }
        }
        Ok(out)
    }

    /// Approves (a reset of the user's second factor) or dismisses `user`'s open request;
    /// the user is told either way.
    pub async fn decide_recovery(
        &self,
        admin: &Admin<'_>,
        user: &str,
        approve: bool,
        ctx: Context,
    ) -> Result<(), AdminError> {
        // Claimed under the user's lock: two admins deciding at once decide once.
        let records = &self.records;
        let claimed = records
            .locked_user(user, async {
                let open = records.recovery_request(user).await?;
                let Some(mut request) = open.filter(|r| r.state == RecoveryState::Requested) else {
                    return Ok(None);
                };
                request.state = RecoveryState::Deciding;
                records.save_recovery_request(&request).await?;
                Ok(Some(request))
            })
            .await?;
        let Some(mut request) = claimed else {
            return Err(AdminError::NotFound);
        };
        let acted = match approve {
            true => self
                .reset_mfa(admin, user, "recovery request approved", ctx.clone())
                .await
                .map(drop),
            false => self.may_act(admin, user, "dismiss_recovery", &ctx).await,
        };
        if let Err(e) = acted {
            // Not decided after all: the request stays open for an admin who may.
            request.state = RecoveryState::Requested;
            self.records.save_recovery_request(&request).await?;
            return Err(e);
        }
        request.state = match approve {
            true => RecoveryState::Approved,
            false => RecoveryState::Dismissed,
        };
        request.decided_by = Some(admin.user.to_string());
        request.decided_at = Some(self.clock.now());
        self.records.save_recovery_request(&request).await?;
        let kind = match approve {
            true => EventKind::RecoveryApproved,
            false => EventKind::RecoveryDismissed,
        };
        self.audit
            .record(ctx.by(admin.user).with_user(user).event(kind))
            .await;
        let voice = self.voice_of(&ctx.environment);
        self.notify(user, |to| {
            crate::notify::messages::recovery_decided(to, &voice, approve)
        })
        .await;
        Ok(())
    }
}
