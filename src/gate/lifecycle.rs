//! Ending sessions (DESIGN.md "Session lifecycle"): the one path every logout takes, whoever
//! asks for it: the user's logout, a revoke on the devices page, a forced logout on a request,
//! the enforcement grace timer and the admin actions. Ending a session always does the same
//! four things, in this order: the store forgets it and tells every instance; this instance's
//! revocation view refuses it and its live connections close; the dashboard's own session is
//! logged out with the credential the gateway holds for it; the end is audited.
//!
//! The dashboard is reached through the [`DashboardLogout`] port, which the proxy implements:
//! the core decides that and when, the adapter knows how to speak to the dashboard.

use std::future::Future;
use std::pin::Pin;

use super::auth::Auth;
use crate::audit::{Context, EventKind};
use crate::store::records::{SessionRecord, WithheldCredential};
use crate::store::StoreResult;

/// Why a session ends; decides the audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The user signed out.
    Logout,
    /// The user signed out with the dashboard's own sign-out, which the dashboard accepted:
    /// its session is over already, so it is not called again.
    DashboardSignedOut,
    /// The user revoked the session (or its device) on the devices page.
    Revoked,
    /// The policy no longer lets the session in (the reason is audited).
    Policy(&'static str),
    /// The enforcement grace period is over and the session never passed a second factor.
    GraceEnded,
    /// Every session of the user ends (a factor reset, an admin's forced logout).
    AllSessions(AllEnd),
}

/// Why every session of a user ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllEnd {
    /// An admin reset the second factor.
    Reset,
    /// An admin signed the user out everywhere.
    AdminSignOut,
    /// The user changed or turned off their second factor.
    FactorChanged,
    /// The user recovered their account.
    Recovered,
    /// The user had not signed in for longer than the retention.
    Inactive,
}

impl AllEnd {
    fn text(self) -> &'static str {
        match self {
            Self::Reset => "second factor reset",
            Self::AdminSignOut => "signed out by an admin",
            Self::FactorChanged => "second factor changed",
            Self::Recovered => "account recovered",
            Self::Inactive => "inactive longer than the retention",
        }
    }
}

impl EndReason {
    fn event(self) -> EventKind {
        match self {
            Self::Logout | Self::DashboardSignedOut => EventKind::Logout,
            Self::Revoked => EventKind::SessionRevoked,
            Self::Policy(reason) => EventKind::ForcedLogout {
                reason: reason.into(),
            },
            Self::AllSessions(why) => EventKind::ForcedLogout {
                reason: why.text().into(),
            },
            Self::GraceEnded => EventKind::ForcedLogout {
                reason: "enforcement grace period ended".into(),
            },
        }
    }

    /// The code a browser that comes back with the ended session is told (`signed-out?why=`).
    pub fn cause(self) -> &'static str {
        match self {
            Self::Logout | Self::DashboardSignedOut => "signed_out",
            Self::Revoked => "revoked",
            Self::Policy(_) => "policy",
            Self::GraceEnded => "grace_ended",
            Self::AllSessions(AllEnd::Reset) => "reset",
            Self::AllSessions(AllEnd::AdminSignOut) => "admin",
            Self::AllSessions(AllEnd::FactorChanged) => "factor_changed",
            Self::AllSessions(AllEnd::Recovered) => "recovered",
            Self::AllSessions(AllEnd::Inactive) => "inactive",
        }
    }
}

/// How a dashboard logout went, judged by the adapter against the configured expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// The dashboard confirmed the sign-out with this status.
    SignedOut(u16),
    /// The dashboard answered, but not as a sign-out (a CSRF refusal, a redirect, a page
    /// without the token): its session may still be alive.
    Refused { status: u16, reason: &'static str },
    /// The dashboard could not be reached or asked (the reason, for the log).
    Unreachable(String),
}

/// One call of the dashboard's logout.
pub struct LogoutCall<'a> {
    /// Index into the config's environments.
    pub env: usize,
    pub credential: &'a WithheldCredential,
    /// The authority the browser used (the dashboard's `Host` and `Origin`).
    pub authority: &'a str,
    /// The client the logout is made for (`X-Forwarded-For`).
    pub client: std::net::IpAddr,
    pub now: u64,
}

/// Port to the dashboard's logout endpoint, implemented by the proxy adapter.
pub trait DashboardLogout: Send + Sync {
    /// Ends the dashboard session that the call's credential carries.
    fn logout<'a>(
        &'a self,
        call: LogoutCall<'a>,
    ) -> Pin<Box<dyn Future<Output = LogoutOutcome> + Send + 'a>>;
}

/// A dashboard without a logout route, or a gateway with no way to reach it (tests of the
/// core alone).
pub struct NoDashboardLogout;

impl DashboardLogout for NoDashboardLogout {
    fn logout<'a>(
        &'a self,
        _call: LogoutCall<'a>,
    ) -> Pin<Box<dyn Future<Output = LogoutOutcome> + Send + 'a>> {
        Box::pin(async { LogoutOutcome::Unreachable("no dashboard logout configured".into()) })
    }
}

/// Why a session ended is only for telling its browser: a store that cannot keep it does not
/// undo or stop the end itself.
fn told_best_effort(noted: StoreResult<()>) {
    if let Err(e) = noted {
        tracing::warn!(error = %e, "why a session ended could not be kept; its browser is told less");
    }
}

/// What a revoke names.
#[derive(Debug, Clone, Copy)]
pub enum Revoke<'a> {
    /// One session, by id.
    Session(&'a str),
    /// A trusted device, by id, with every session opened from it.
    Device(&'a str),
}

/// One session to end, and what the caller knows of it.
pub struct Ending<'a> {
    pub user: &'a str,
    pub sid: &'a str,
    /// The dashboard cookies as the dashboard last rotated them (the request's jar), when the
    /// caller has them; the credential of the sign-in is used otherwise.
    pub jar: Option<Vec<String>>,
    /// The authority the browser used, for the dashboard's Host; the environment's first host
    /// otherwise.
    pub authority: Option<&'a str>,
}

impl Auth {
    /// Ends one session everywhere (see the module doc). A store failure before the
    /// revocation is recorded is returned: the session has not ended then.
    pub async fn end_session(
        &self,
        ending: Ending<'_>,
        reason: EndReason,
        ctx: Context,
    ) -> StoreResult<()> {
        let record = self.records.session(ending.user, ending.sid).await?;
        self.revoke(ending.user, ending.sid, Some(reason)).await?;
        if let (Some(record), false) = (record, reason == EndReason::DashboardSignedOut) {
            self.log_out_dashboard(&ending, &record, &ctx).await;
        }
        self.audit.record(ctx.event(reason.event())).await;
        Ok(())
    }

    /// Ends every session of `user` everywhere, also those only a cookie knows of (on any
    /// instance). Returns how many stored sessions ended.
    pub async fn end_all(&self, user: &str, reason: EndReason, ctx: Context) -> StoreResult<usize> {
        let sessions = self.records.sessions(user).await?;
        for session in &sessions {
            let ending = Ending {
                user,
                sid: &session.id,
                jar: None,
                authority: None,
            };
            self.revoke(user, &session.id, Some(reason)).await?;
            self.log_out_dashboard(&ending, session, &ctx).await;
        }
        // Every session that began up to now (to the millisecond); a sign-in right after
        // this is not refused.
        let before_ms = self.clock.now_ms() + 1;
        let event = self.records.revoke_user(user, before_ms).await?;
        self.revocation.apply(&event);
        self.live.close_user(user);
        let keep = self.longest_session();
        let noted = self
            .records
            .note_user_end(user, before_ms, reason.cause(), keep);
        told_best_effort(noted.await);
        self.audit.record(ctx.event(reason.event())).await;
        Ok(sessions.len())
    }

    /// Ends the sessions `what` names of `user` (a session, or every session of a device,
    /// which is forgotten too), as the user's devices page or an admin asks. `own` is the
    /// asking browser's session id and jar, used for that session's dashboard logout.
    pub async fn revoke_sessions(
        &self,
        user: &str,
        what: Revoke<'_>,
        (authority, own): (Option<&str>, Option<(&str, Vec<String>)>),
        ctx: &Context,
    ) -> StoreResult<()> {
        let sessions = self.records.sessions(user).await?;
        let ended = sessions.iter().filter(|r| match what {
            Revoke::Device(id) => r.device_id == id,
            Revoke::Session(id) => r.id == id,
        });
        for session in ended {
            let ending = Ending {
                user,
                sid: &session.id,
                jar: own
                    .as_ref()
                    .filter(|(sid, _)| *sid == session.id)
                    .map(|o| o.1.clone()),
                authority,
            };
            let ctx = ctx.with_user(user).with_device(&session.device_id);
            self.end_session(ending, EndReason::Revoked, ctx).await?;
        }
        if let Revoke::Device(id) = what {
            self.records.forget_device(user, id).await?;
            let ctx = ctx.with_user(user).with_device(id);
            self.audit.record(ctx.event(EventKind::DeviceRevoked)).await;
        }
        Ok(())
    }

    /// Store revocation, announced to every instance; this instance refuses and closes at
    /// once, before the answer that says it is done, the others on the event.
    /// `why` is kept for the browser that comes back with the session (none for a binding that
    /// is not a signed-in session).
    pub(super) async fn revoke(
        &self,
        user: &str,
        sid: &str,
        why: Option<EndReason>,
    ) -> StoreResult<()> {
        let event = self
            .records
            .revoke_session(user, sid, self.clock.now_ms())
            .await?;
        self.revocation.apply(&event);
        self.live.close_session(sid);
        if let Some(why) = why {
            let keep = self.longest_session();
            let noted = self.records.note_session_end(sid, why.cause(), keep).await;
            told_best_effort(noted);
        }
        Ok(())
    }

    /// Best effort: a dashboard that does not answer does not keep the gateway session alive,
    /// but a logout it did not confirm is audited (`dashboard_logout_failed`) so an operator
    /// learns that its session may live on.
    async fn log_out_dashboard(&self, ending: &Ending<'_>, record: &SessionRecord, ctx: &Context) {
        let environments = &self.config.environments;
        let Some(index) = environments
            .iter()
            .position(|e| e.name == record.environment)
        else {
            return;
        };
        let env = &environments[index];
        let has_route = env.login.as_ref().is_some_and(|l| l.logout.is_some());
        let Some(sealed) = record.sealed_credential.as_deref().filter(|_| has_route) else {
            return;
        };
        let ctx = ctx.with_user(ending.user).with_device(&record.device_id);
        let ctx = Context {
            environment: env.name.clone(),
            ..ctx
        };
        let Ok(mut credential) = self.records.open_credential(ending.user, sealed) else {
            let failed = EventKind::DashboardLogoutFailed {
                status: None,
                reason: "stored dashboard credential unreadable".into(),
            };
            self.audit.record(ctx.event(failed)).await;
            return;
        };
        if let Some(jar) = ending.jar.clone().filter(|j| !j.is_empty()) {
            credential.set_cookies = jar;
        }
        let host = env.hosts.first().map_or("", String::as_str);
        let call = LogoutCall {
            env: index,
            credential: &credential,
            authority: ending.authority.unwrap_or(host),
            client: ctx
                .ip
                .parse()
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
            now: self.clock.now(),
        };
        let failed = match self.logout.logout(call).await {
            LogoutOutcome::SignedOut(status) => {
                tracing::info!(status, environment = %env.name, "dashboard signed out");
                self.audit
                    .record(ctx.event(EventKind::DashboardLoggedOut))
                    .await;
                return;
            }
            LogoutOutcome::Refused { status, reason } => EventKind::DashboardLogoutFailed {
                status: Some(status),
                reason: reason.into(),
            },
            LogoutOutcome::Unreachable(e) => {
                tracing::warn!(error = %e, environment = %env.name, "dashboard logout failed");
                EventKind::DashboardLogoutFailed {
                    status: None,
                    reason: "dashboard unreachable".into(),
                }
            }
        };
        self.audit.record(ctx.event(failed)).await;
    }
}
