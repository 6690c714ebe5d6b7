//! The admin console under `{prefix}admin/`: the users of the environments the admin
//! administers with their MFA status, one user's sessions, devices and recent activity, and
//! the actions (reset two-factor authentication, sign out everywhere, unblock, revoke a
//! session or device). Open to admins and owners of this environment who passed a second
//! factor in this session; an action needs a fresh one (the step-up page). The work is the
//! core's (`gate::admin`); this only translates.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;
use http::StatusCode;
use minijinja::context;

use super::error::PageError;
use super::extract::{FormOwner, PageBase, Posted, SignedIn};
use crate::domain::Role;
use crate::gate::admin::{select, Admin, AdminError, UserFilter, UserStatus, PAGE_SIZE};
use crate::gate::auth::Auth;
use crate::gate::lifecycle::Revoke;
use crate::store::records::RecoveryState;

/// Recent events shown on a user's page.
const RECENT_EVENTS: usize = 20;
/// How far back they are looked for (the whole period is in the activity-log export).
const RECENT_WINDOW_MS: u64 = 30 * 24 * 3600 * 1000;

/// A signed-in admin or owner of this environment, with a second factor in this session.
pub struct AdminPage {
    pub signed: SignedIn,
    /// The admin's role and environments as of now (not as the cookie remembers them).
    role: Role,
    envs: Vec<String>,
}

impl AdminPage {
    pub(super) fn admin(&self) -> Admin<'_> {
        Admin {
            user: &self.signed.claims.user,
            role: self.role,
            envs: &self.envs,
        }
    }

    pub(super) fn base(&self) -> &PageBase {
        &self.signed.base
    }

    /// Whether the session's second factor is recent enough for an action.
    pub(super) fn fresh(&self) -> bool {
        self.signed.fresh()
    }
}

impl FromRequestParts<Arc<Auth>> for AdminPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &Arc<Auth>) -> Result<Self, Response> {
        let signed = SignedIn::from_request_parts(parts, auth).await?;
        let c = &signed.claims;
        let env = &auth.config.environments[signed.base.facts.env_index];
        let current = auth.current_who(&c.user).await;
        let (role, envs) = current.map_err(|e| PageError::from(e).into_response())?;
        if !Admin::may_administer(role) || !envs.contains(&env.name) {
            return Err(signed.base.message(
                StatusCode::FORBIDDEN,
                "admin-only-title",
                "admin-only-text",
                None,
            ));
        }
        if c.mfa_at.is_none() {
            let next = format!("{}admin/", signed.base.prefix());
            return Err(signed.step_up(&next));
        }
        Ok(Self { signed, role, envs })
    }
}

impl FormOwner for AdminPage {
    fn base(&self) -> &PageBase {
        &self.signed.base
    }
    fn sid(&self) -> &str {
        &self.signed.claims.sid
    }
}

fn row(base: &PageBase, u: &UserStatus) -> minijinja::Value {
    let time = |t: Option<u64>| t.map(|t| base.time(t));
    let never = || base.w().get("never");
    context! {
        user => u.user,
        role => u.role.name(),
        envs => u.envs.join(", "),
        email => u.email,
        totp => u.totp,
        passkeys => u.passkeys,
        backup_left => u.backup_left,
        sessions => u.sessions,
        devices => u.trusted_devices,
        last_sign_in => time(u.last_sign_in).unwrap_or_else(never),
        last_mfa => time(u.last_mfa).unwrap_or_else(never),
        blocked => time(u.blocked_until),
        warning => time(u.logged_out_at),
    }
}

fn filter_of(q: &HashMap<String, String>) -> UserFilter {
    let field = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    UserFilter {
        env: field("env").map(str::to_string),
        role: field("role").and_then(Role::parse),
        no_factor: field("no_factor").is_some(),
        blocked: field("blocked").is_some(),
        search: field("q").unwrap_or("").to_string(),
        page: field("page").and_then(|p| p.parse().ok()).unwrap_or(0),
    }
}

/// `GET {prefix}admin/`: the users, filtered and paged.
pub async fn users(
    page: AdminPage,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let base = page.base();
    let (auth, admin) = (&base.auth, page.admin());
    let all = auth.admin_users(&admin, auth.clock.now()).await?;
    let warned = all.iter().filter(|u| u.logged_out_at.is_some()).count();
    let requests = auth.recovery_requests(&admin).await?;
    let open_requests = requests
        .iter()
        .filter(|r| r.state == RecoveryState::Requested)
        .count();
    let filter = filter_of(&q);
    let (shown, total) = select(all, &filter);
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q.iter().filter(|(k, _)| *k != "page"))
        .finish();
    let extra = context! {
        user => admin.user,
        role => admin.role.name(),
        scope => admin.envs.join(", "),
        envs => admin.envs,
        warned => warned,
        open_requests => open_requests,
        users => shown.iter().map(|u| row(base, u)).collect::<Vec<_>>(),
        total => total,
        page => filter.page,
        pages => total.div_ceil(PAGE_SIZE),
        query => query,
        filter => context! {
            q => filter.search,
            env => filter.env,
            role => filter.role.map(Role::name),
            no_factor => filter.no_factor,
            blocked => filter.blocked,
        },
    };
    Ok(base.render(
        StatusCode::OK,
        "admin_users.html",
        "admin-users-title",
        &page.signed.claims.sid,
        extra,
    ))
}

/// `GET {prefix}admin/user?u=…`: one user.
pub async fn user(
    page: AdminPage,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let base = page.base();
    let (auth, admin) = (&base.auth, page.admin());
    let target = q.get("u").map_or("", String::as_str);
    let status = match auth.admin_user(&admin, target, auth.clock.now()).await {
        Ok(s) => s,
        Err(e) => return refused(base, e),
    };
    let sessions: Vec<_> = auth
        .records
        .sessions(target)
        .await?
        .into_iter()
        .map(|r| context! { id => r.id, label => r.device_label, environment => r.environment, started => base.time(r.created_at), ip => r.ip })
        .collect();
    let devices: Vec<_> = auth
        .records
        .devices(target)
        .await?
        .into_iter()
        .map(|d| context! { id => d.id, label => d.label, last_seen => base.time(d.last_seen), ip => d.last_ip, until => base.time(d.trusted_until) })
        .collect();
    let since = auth.clock.now_ms().saturating_sub(RECENT_WINDOW_MS);
    // Only the environments this admin administers: the others' activity is not theirs.
    let envs: Vec<String> = status
        .envs
        .iter()
        .filter(|e| admin.envs.contains(e))
        .cloned()
        .collect();
    let mut reader = auth.audit.period(&envs, since, u64::MAX);
    let mut recent = std::collections::VecDeque::new();
    while let Some(e) = reader.next().await? {
        if e.user.as_deref() == Some(target) {
            if recent.len() == RECENT_EVENTS {
                recent.pop_front();
            }
            recent.push_back(e);
        }
    }
    let events: Vec<_> = recent
        .into_iter()
        .rev()
        .map(|e| {
            let kind = serde_json::to_value(&e.kind).unwrap_or_default();
            let kind = kind["event"].as_str().unwrap_or("").to_string();
            let outcome = serde_json::to_value(e.outcome).unwrap_or_default();
            context! { at => base.time(e.at_secs()), event => kind, outcome => outcome, ip => e.ip, actor => e.actor }
        })
        .collect();
    let extra = context! {
        u => row(base, &status),
        zone => base.zone().name(),
        own => target == admin.user,
        sessions => sessions,
        devices => devices,
        events => events,
    };
    Ok(base.render_titled(
        StatusCode::OK,
        "admin_user.html",
        target,
        &page.signed.claims.sid,
        extra,
    ))
}

fn refused(base: &PageBase, e: AdminError) -> Result<Response, PageError> {
    let list = format!("{}admin/", base.prefix());
    Ok(match e {
        AdminError::NotFound => base.message(
            StatusCode::NOT_FOUND,
            "admin-no-user-title",
            "admin-no-user-text",
            Some((&list, "admin-all-users")),
        ),
        AdminError::Outranked => base.message(
            StatusCode::FORBIDDEN,
            "admin-owners-title",
            "admin-owners-text",
            None,
        ),
        AdminError::OwnAccount => base.message(
            StatusCode::FORBIDDEN,
            "admin-own-title",
            "admin-own-text",
            None,
        ),
        AdminError::BadAddress => base.message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "admin-bad-email-title",
            "admin-bad-email-text",
            None,
        ),
        AdminError::Store(e) => return Err(e.into()),
    })
}

/// `GET {prefix}admin/recovery`: the recovery requests of the admin's users.
pub async fn recovery(page: AdminPage) -> Result<Response, PageError> {
    let base = page.base();
    let requests = base.auth.recovery_requests(&page.admin()).await?;
    let rows: Vec<_> = requests
        .iter()
        .map(|r| {
            let state = serde_json::to_value(r.state).unwrap_or_default();
            context! {
                user => r.user,
                requested_at => base.time(r.requested_at),
                state => state,
                decided_by => r.decided_by,
                open => r.state == RecoveryState::Requested,
            }
        })
        .collect();
    Ok(base.render(
        StatusCode::OK,
        "admin_recovery.html",
        "admin-recovery-link",
        &page.signed.claims.sid,
        context! { requests => rows },
    ))
}

/// `POST {prefix}admin/act`: `action` (reset, logout, unblock, revoke_session,
/// revoke_device, approve_recovery, dismiss_recovery) on `user`, with a `reason`; needs a
/// fresh second factor.
pub async fn act(posted: Posted<AdminPage>) -> Result<Response, PageError> {
    let page = &posted.session;
    let base = page.base();
    let target = posted.field("user");
    let back = {
        let u: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        format!("{}admin/user?u={u}", base.prefix())
    };
    if !page.fresh() {
        return Ok(page.signed.step_up(&back));
    }
    let (auth, admin) = (&base.auth, page.admin());
    let ctx = base.audit(admin.user);
    let reason = posted.field("reason");
    let id = posted.field("id");
    let done = match posted.field("action") {
        "reset" => auth.reset_mfa(&admin, target, reason, ctx).await.map(drop),
        "logout" => auth
            .admin_logout(&admin, target, reason, ctx)
            .await
            .map(drop),
        "unblock" => auth.unblock(&admin, target, reason, ctx).await,
        "revoke_session" => {
            let what = Revoke::Session(id);
            auth.admin_revoke(&admin, target, what, ctx).await
        }
        "revoke_device" => {
            let what = Revoke::Device(id);
            auth.admin_revoke(&admin, target, what, ctx).await
        }
        "change_email" => {
            let email = posted.field("email");
            auth.change_email(&admin, target, email, reason, ctx).await
        }
        "approve_recovery" => auth.decide_recovery(&admin, target, true, ctx).await,
        "dismiss_recovery" => auth.decide_recovery(&admin, target, false, ctx).await,
        _ => return Ok(StatusCode::BAD_REQUEST.into_response()),
    };
    match done {
        Ok(()) => Ok(Redirect::to(&back).into_response()),
        Err(e) => refused(base, e),
    }
}
