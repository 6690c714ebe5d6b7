//! What admins do to other users' MFA, as core operations (the console and, later, the admin
//! API and CLI only translate): see every user of the environments they administer with
//! their second-factor status, reset a user's second factor, sign a user out everywhere,
//! lift a block. Every action ends sessions through the one `end_all`, is audited with the
//! admin as actor, and tells the user where the product does.
//!
//! Scope: an admin (or owner) administers the environments of their own profile; users who
//! share none of them are invisible (`NotFound`, never "forbidden": their existence is not
//! told). Nobody resets their own factor here: that is what recovery is for.

use std::collections::HashSet;

use super::auth::Auth;
use super::enforcement::{users, who};
use super::lifecycle::{AllEnd, EndReason, Revoke};
use crate::audit::{Context, EventKind};
use crate::domain::Role;
use crate::policy::enforcement::in_scope;
use crate::store::{StoreError, StoreResult};

/// The admin acting, as their session names them.
#[derive(Debug, Clone)]
pub struct Admin<'a> {
    pub user: &'a str,
    pub role: Role,
    /// The environments they administer.
    pub envs: &'a [String],
}

impl Admin<'_> {
    /// Whether this role may open the console at all (admins and owners; supervisors not).
    pub fn may_administer(role: Role) -> bool {
        matches!(role, Role::Admin | Role::Owner)
    }

    fn sees(&self, envs: &[String]) -> bool {
        envs.iter().any(|e| self.envs.contains(e))
    }

    /// Whether this admin may act on a user with `role`: admins on agents and supervisors
    /// only; owners also on admins and other owners. (An admin taking over another admin by
    /// changing their address and resetting them is not possible.)
    fn outranks(&self, role: Role) -> bool {
        match self.role {
            Role::Owner => true,
            Role::Admin => matches!(role, Role::Agent | Role::Supervisor),
            _ => false,
        }
    }
}

/// A reason as the activity log keeps it: at most 200 characters.
fn short(reason: &str) -> String {
    reason.trim().chars().take(200).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Unknown, or outside the admin's environments.
    #[error("no such user here")]
    NotFound,
    /// Admins do not reset or sign out themselves here.
    #[error("not on your own account")]
    OwnAccount,
    /// The target is an admin or owner, and the actor is not an owner.
    #[error("only an owner acts on admins and owners")]
    Outranked,
    /// Not an email address.
    #[error("not an email address")]
    BadAddress,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One user as the console and the admin API list them. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct UserStatus {
    pub user: String,
    /// `agent`, `supervisor`, `admin` or `owner`.
    #[schema(value_type = String)]
    pub role: Role,
    #[serde(rename = "environments")]
    pub envs: Vec<String>,
    pub email: Option<String>,
    /// An authenticator app is set up.
    pub totp: bool,
    /// Passkeys and security keys registered.
    pub passkeys: usize,
    /// Backup codes left, when the user has a set.
    #[serde(rename = "backup_codes_left")]
    pub backup_left: Option<usize>,
    pub sessions: usize,
    pub trusted_devices: usize,
    pub last_sign_in: Option<u64>,
    pub last_mfa: Option<u64>,
    /// Code entry is blocked until then.
    pub blocked_until: Option<u64>,
    /// In scope of an enforcement without a factor: their sessions end then (Unix seconds).
    pub logged_out_at: Option<u64>,
}

impl UserStatus {
    pub fn has_factor(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

/// The console's list filters (all optional).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub env: Option<String>,
    pub role: Option<Role>,
    pub no_factor: bool,
    pub blocked: bool,
    /// Part of the user name, without regard to case.
    pub search: String,
    /// 0-based.
    pub page: usize,
}

pub const PAGE_SIZE: usize = 50;

/// The page of `users` matching `filter` (sorted by name) and how many match in all.
pub fn select(mut users: Vec<UserStatus>, filter: &UserFilter) -> (Vec<UserStatus>, usize) {
    let needle = filter.search.trim().to_lowercase();
    users.retain(|u| {
        filter.env.as_ref().is_none_or(|e| u.envs.contains(e))
            && filter.role.is_none_or(|r| u.role == r)
            && (!filter.no_factor || !u.has_factor())
            && (!filter.blocked || u.blocked_until.is_some())
            && (needle.is_empty() || u.user.to_lowercase().contains(&needle))
    });
    users.sort_by(|a, b| a.user.cmp(&b.user));
    let total = users.len();
    let page = users
        .into_iter()
        .skip(filter.page.saturating_mul(PAGE_SIZE))
        .take(PAGE_SIZE)
        .collect();
    (page, total)
}

impl Auth {
    /// `user`'s role and environments as of now (profile of the last sign-in, else the
    /// directory): what admin powers and self-service rules are checked against, never the
    /// possibly older copy in a session cookie.
    pub async fn current_who(&self, user: &str) -> StoreResult<(Role, Vec<String>)> {
        who(self, user).await
    }

    /// For the metrics, read when scraped: the open recovery requests, and per environment
    /// (in config order) the users in scope of its enforcement who have no factor yet.
    pub async fn mfa_gauges(&self) -> StoreResult<(usize, Vec<usize>)> {
        let requests = self.records.recovery_requests().await?;
        let open = requests
            .iter()
            .filter(|r| r.state == crate::store::records::RecoveryState::Requested)
            .count();
        let policies = self.policies();
        let mut without = vec![0; self.config.environments.len()];
        for user in users(self).await? {
            if self.records.has_factor(&user).await? {
                continue;
            }
            let (role, envs) = who(self, &user).await?;
            for (index, count) in without.iter_mut().enumerate() {
                if in_scope(&policies, index, role, &envs) {
                    *count += 1;
                }
            }
        }
        Ok((open, without))
    }

    /// Every user the admin sees, with their MFA status at `now`.
    pub async fn admin_users(&self, admin: &Admin<'_>, now: u64) -> StoreResult<Vec<UserStatus>> {
        let mut out = Vec::new();
        for user in users(self).await? {
            if let Some(status) = self.visible_status(admin, &user, now).await? {
                out.push(status);
            }
        }
        Ok(out)
    }

    /// One user's status, if the admin sees them.
    pub async fn admin_user(
        &self,
        admin: &Admin<'_>,
        user: &str,
        now: u64,
    ) -> Result<UserStatus, AdminError> {
        let known: HashSet<String> = users(self).await?.into_iter().collect();
        if !known.contains(user) {
            return Err(AdminError::NotFound);
        }
        self.visible_status(admin, user, now)
            .await?
            .ok_or(AdminError::NotFound)
    }

    async fn visible_status(
        &self,
        admin: &Admin<'_>,
        user: &str,
        now: u64,
    ) -> StoreResult<Option<UserStatus>> {
        let (role, envs) = who(self, user).await?;
        if !admin.sees(&envs) {
            return Ok(None);
        }
        let r = &self.records;
        let totp = r.totp(user).await?.is_some();
        let passkeys = r.passkeys(user).await?.len();
        let sessions = r.sessions(user).await?;
        let devices = r.devices(user).await?;
        let blocked = r.attempts("user", user).await?.blocked_until;
        Ok(Some(UserStatus {
            user: user.to_string(),
            email: self.code_address(user).await?,
            totp,
            passkeys,
            backup_left: r.backup_codes(user).await?.map(|c| c.remaining()),
            sessions: sessions.len(),
            trusted_devices: devices.iter().filter(|d| d.trusted_until > now).count(),
            last_sign_in: sessions.iter().map(|s| s.created_at).max(),
            last_mfa: sessions.iter().filter_map(|s| s.mfa_at).max(),
            blocked_until: (blocked > now).then_some(blocked),
            logged_out_at: (!totp && passkeys == 0)
                .then(|| self.logout_deadline(role, &envs))
                .flatten(),
            role,
            envs,
        }))
    }

    /// When the earliest enforcement this user is in scope of ends its grace period.
    fn logout_deadline(&self, role: Role, envs: &[String]) -> Option<u64> {
        let policies = self.policies();
        let environments = self.config.environments.iter().enumerate();
        environments
            .filter(|(i, _)| in_scope(&policies, *i, role, envs))
            .filter_map(|(_, env)| {
                let since = policies.enforced_since.get(&env.name)?;
                Some(since.div_ceil(1000) + env.policy.grace_secs)
            })
            .min()
    }

    /// Checks that `admin` may act on `target`, auditing a refusal.
    pub(super) async fn may_act(
        &self,
        admin: &Admin<'_>,
        target: &str,
        action: &str,
        ctx: &Context,
    ) -> Result<(), AdminError> {
        let refused = match target == admin.user {
            true => Some(AdminError::OwnAccount),
            false => {
                let (role, envs) = who(self, target).await?;
                let known = users(self).await?.iter().any(|u| u == target);
                match (!known || !admin.sees(&envs), admin.outranks(role)) {
                    (true, _) => Some(AdminError::NotFound),
                    (false, false) => Some(AdminError::Outranked),
                    (false, true) => None,
                }
            }
        };
        let Some(error) = refused else {
            return Ok(());
        };
        let kind = EventKind::AdminRefused {
            action: action.into(),
            reason: error.to_string(),
        };
        self.audit
            .record(ctx.by(admin.user).with_user(target).event(kind))
            .await;
        Err(error)
    }

    /// Resets `target`'s second factor: factors, backup codes and trusted devices forgotten,
    /// every session ended everywhere (live connections included), the user told that they
    /// set one up again at their next sign-in.
    pub async fn reset_mfa(
        &self,
        admin: &Admin<'_>,
        target: &str,
        reason: &str,
        ctx: Context,
    ) -> Result<usize, AdminError> {
        self.may_act(admin, target, "reset_mfa", &ctx).await?;
        self.records.forget_factors(target).await?;
        let kind = EventKind::MfaReset {
            reason: short(reason),
        };
        let ended = self
            .sign_out_everywhere(target, AllEnd::Reset, kind, &ctx.by(admin.user))
            .await?;
        let voice = self.voice_of(&ctx.environment);
        self.notify(target, |to| crate::notify::messages::mfa_reset(to, &voice))
            .await;
        Ok(ended)
    }

    /// Ends every session of `target` everywhere.
    pub async fn admin_logout(
        &self,
        admin: &Admin<'_>,
        target: &str,
        reason: &str,
        ctx: Context,
    ) -> Result<usize, AdminError> {
        self.may_act(admin, target, "logout", &ctx).await?;
        let kind = EventKind::AdminLogout {
            reason: short(reason),
        };
        self.sign_out_everywhere(target, AllEnd::AdminSignOut, kind, &ctx.by(admin.user))
            .await
    }

    /// Ends every session of `target` (`why` for the forced-logout events) and audits the
    /// admin's action `kind` on them.
    async fn sign_out_everywhere(
        &self,
        target: &str,
        why: AllEnd,
        kind: EventKind,
        ctx: &Context,
    ) -> Result<usize, AdminError> {
        let ctx = ctx.with_user(target);
        let reason = EndReason::AllSessions(why);
        let ended = self.end_all(target, reason, ctx.clone()).await?;
        self.audit.record(ctx.event(kind)).await;
        Ok(ended)
    }

    /// Ends one of `target`'s sessions, or forgets one of their trusted devices with its
    /// sessions.
    pub async fn admin_revoke(
        &self,
        admin: &Admin<'_>,
        target: &str,
        what: Revoke<'_>,
        ctx: Context,
    ) -> Result<(), AdminError> {
        self.may_act(admin, target, "revoke", &ctx).await?;
        self.revoke_sessions(target, what, (None, None), &ctx)
            .await?;
        let kind = EventKind::AdminRevoked;
        self.audit
            .record(ctx.by(admin.user).with_user(target).event(kind))
            .await;
        Ok(())
    }

    /// Sends `target`'s codes and notices to `email` from now on; the old and the new
    /// address are both told. The address must be a valid mailbox.
    pub async fn change_email(
        &self,
        admin: &Admin<'_>,
        target: &str,
        email: &str,
        reason: &str,
        ctx: Context,
    ) -> Result<(), AdminError> {
        self.may_act(admin, target, "change_email", &ctx).await?;
        let email = email.trim();
        if email.parse::<lettre::message::Mailbox>().is_err() || !email.contains('@') {
            return Err(AdminError::BadAddress);
        }
        let old = self.code_address(target).await?;
        self.records.save_email_override(target, email).await?;
        let kind = EventKind::EmailChanged {
            reason: short(reason),
        };
        self.audit
            .record(ctx.by(admin.user).with_user(target).event(kind))
            .await;
        if let Some(mailer) = &self.mailer {
            let voice = self.voice_of(&ctx.environment);
            for to in old.iter().map(String::as_str).chain([email]) {
                mailer.notify(&crate::notify::messages::email_changed(
                    to, &voice, target, email,
                ));
            }
        }
        Ok(())
    }

    /// Lifts `target`'s code-entry block (the per-IP count is left alone).
    pub async fn unblock(
        &self,
        admin: &Admin<'_>,
        target: &str,
        reason: &str,
        ctx: Context,
    ) -> Result<(), AdminError> {
        self.may_act(admin, target, "unblock", &ctx).await?;
        let records = &self.records;
        records
            .locked_user(target, records.clear_attempts("user", target))
            .await?;
        let kind = EventKind::UserUnblocked {
            reason: short(reason),
        };
        self.audit
            .record(ctx.by(admin.user).with_user(target).event(kind))
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(user: &str, role: Role, envs: &[&str], totp: bool, blocked: bool) -> UserStatus {
        UserStatus {
            user: user.into(),
            role,
            envs: envs.iter().map(|e| e.to_string()).collect(),
            email: None,
            totp,
            passkeys: 0,
            backup_left: None,
            sessions: 0,
            trusted_devices: 0,
            last_sign_in: None,
            last_mfa: None,
            blocked_until: blocked.then_some(1),
            logged_out_at: None,
        }
    }

    #[test]
    fn filters_search_and_pages() {
        let users = vec![
            status("b@x", Role::Agent, &["prod"], false, false),
            status("a@x", Role::Admin, &["prod", "staging"], true, false),
            status("c@y", Role::Agent, &["staging"], true, true),
        ];
        let names = |f: UserFilter| {
            let (page, total) = select(users.clone(), &f);
            let names: Vec<String> = page.into_iter().map(|u| u.user).collect();
            (names, total)
        };
        assert_eq!(names(UserFilter::default()).0, ["a@x", "b@x", "c@y"]);
        let staging = UserFilter {
            env: Some("staging".into()),
            ..UserFilter::default()
        };
        assert_eq!(names(staging).0, ["a@x", "c@y"]);
        let no_factor = UserFilter {
            no_factor: true,
            ..UserFilter::default()
        };
        assert_eq!(names(no_factor).0, ["b@x"]);
        let blocked_agents = UserFilter {
            blocked: true,
            role: Some(Role::Agent),
            ..UserFilter::default()
        };
        assert_eq!(names(blocked_agents).0, ["c@y"]);
        let search = UserFilter {
            search: " @X ".into(),
            ..UserFilter::default()
        };
        assert_eq!(names(search), (vec!["a@x".into(), "b@x".into()], 2));
        let beyond = UserFilter {
            page: 1,
            ..UserFilter::default()
        };
        assert_eq!(names(beyond), (vec![], 3));
    }
}
