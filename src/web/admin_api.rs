//! The admin API under `{prefix}admin/api/v1/` on the TLS listener: every console list and
//! action as JSON, for ops automation and the `mfagate admin` CLI. It is on the TLS listener,
//! not on `admin_listen`, because its bearer tokens must never cross a network in clear and
//! `admin_listen` is plain HTTP; a token's environments limit it exactly as an admin's do.
//!
//! Callers are an admin API token (`Authorization: Bearer`, only its SHA-256 configured; read
//! or write scope) or an admin's session (its cookie; posts then must be JSON from the
//! gateway's origin). The work is the core's (`gate::admin`, `gate::recovery`). The OpenAPI
//! document is generated from these handlers and types (`utoipa`), served at
//! `{prefix}admin/api/v1/openapi.json` and committed as `docs/admin-api.json`.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::request::Parts;
use http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::extract::PageBase;
use crate::crypto::secret_box::constant_time_eq;
use crate::domain::Role;
use crate::gate::admin::{select, Admin, AdminError, UserFilter, UserStatus, PAGE_SIZE};
use crate::gate::auth::Auth;
use crate::gate::lifecycle::Revoke;
use crate::store::records::{RecoveryRequest, RecoveryState};
use crate::store::StoreError;

/// Where the API lives under the gateway prefix.
pub const BASE: &str = "admin/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(title = "mfagate admin API", version = "1", description = "Every admin console list and action. Authenticate with an admin API token (Authorization: Bearer) or an admin's session cookie; tokens with scope read may only list. Users outside the caller's environments do not exist here (404)."),
    servers((url = "/.mfagate/admin/api/v1")),
    paths(list_users, show_user, reset_mfa, logout, unblock, change_email, revoke_session, revoke_device, list_recovery, approve_recovery, dismiss_recovery,
        super::exports_api::create, super::exports_api::list, super::exports_api::show, super::exports_api::download),
    components(schemas(UserStatus, UsersPage, UserDetail, SessionView, DeviceView, ActionBody, ActionDone, RecoveryView, RecoveryList, ApiError,
        super::exports_api::ExportBody, super::exports_api::ExportList, crate::store::records::ExportJob, crate::store::records::ExportState, crate::store::records::Download))
)]
pub struct AdminApiDoc;

/// The document, with the configured prefix.
pub fn openapi(prefix: &str) -> String {
    let doc = AdminApiDoc::openapi().to_pretty_json().unwrap_or_default();
    doc.replace("\"/.mfagate/admin/api/v1\"", &format!("\"{prefix}{BASE}\""))
}

#[derive(Serialize, ToSchema)]
pub struct ApiError {
    /// `unauthorized`, `forbidden`, `read_only`, `step_up_required`, `not_found`,
    /// `own_account`, `outranked`, `bad_address`, `owners_only`, `bad_period`, `not_ready`,
    /// `gone`,
    /// `json_required`, `cross_site`, `bad_json`, `unavailable`.
    error: String,
}

pub(super) fn problem(status: StatusCode, error: &str) -> Response {
    let mut resp = (
        status,
        Json(ApiError {
            error: error.into(),
        }),
    )
        .into_response();
    super::templates::secure_headers(resp.headers_mut());
    resp
}

pub(super) fn ok<T: Serialize>(body: T) -> Response {
    let mut resp = Json(body).into_response();
    super::templates::secure_headers(resp.headers_mut());
    resp
}

fn failed(e: AdminError) -> Response {
    match e {
        AdminError::NotFound => problem(StatusCode::NOT_FOUND, "not_found"),
        AdminError::OwnAccount => problem(StatusCode::FORBIDDEN, "own_account"),
        AdminError::Outranked => problem(StatusCode::FORBIDDEN, "outranked"),
        AdminError::BadAddress => problem(StatusCode::UNPROCESSABLE_ENTITY, "bad_address"),
        AdminError::Store(e) => unavailable(e),
    }
}

pub(super) fn unavailable(e: StoreError) -> Response {
    tracing::error!(error = %e, "store unavailable for the admin API");
    problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
}

/// The caller: who acts, on which environments, and whether they may write.
pub struct Caller {
    base: PageBase,
    user: String,
    role: Role,
    envs: Vec<String>,
    write: bool,
    /// An admin's session rather than a token.
    session: bool,
}

impl Caller {
    /// The refusal of a read-only token, or of a session without a fresh second factor.
    pub(super) fn write_refusal(&self) -> Option<Response> {
        match (self.write, self.session) {
            (true, _) => None,
            (false, true) => Some(problem(StatusCode::FORBIDDEN, "step_up_required")),
            (false, false) => Some(problem(StatusCode::FORBIDDEN, "read_only")),
        }
    }

    pub(super) fn base(&self) -> &PageBase {
        &self.base
    }

    pub(super) fn admin(&self) -> Admin<'_> {
        Admin {
            user: &self.user,
            role: self.role,
            envs: &self.envs,
        }
    }
}

/// The token of `Authorization: Bearer`, matched by its SHA-256 in constant time.
/// A token's caller: name, environments, write scope, role.
type TokenCaller = (String, Vec<String>, bool, Role);

fn by_token(auth: &Auth, headers: &http::HeaderMap) -> Option<Option<TokenCaller>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let found = auth
        .config
        .admin_tokens
        .iter()
        .find(|t| constant_time_eq(&t.sha256, digest.as_ref()));
    Some(found.map(|t| {
        let role = if t.owner { Role::Owner } else { Role::Admin };
        (
            format!("token:{}", t.name),
            t.environments.clone(),
            t.write,
            role,
        )
    }))
}

impl FromRequestParts<Arc<Auth>> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &Arc<Auth>) -> Result<Self, Response> {
        let base = PageBase::from_parts(parts, auth)
            .ok_or_else(|| problem(StatusCode::NOT_FOUND, "not_found"))?;
        if let Some(token) = by_token(auth, &parts.headers) {
            let Some((user, envs, write, role)) = token else {
                return Err(problem(StatusCode::UNAUTHORIZED, "unauthorized"));
            };
            return Ok(Self {
                base,
                user,
                role,
                envs,
                write,
                session: false,
            });
        }
        let env = &auth.config.environments[base.facts.env_index];
        let now = auth.clock.now();
        let Some(c) = auth.full_session(env, &base.headers, now) else {
            return Err(problem(StatusCode::UNAUTHORIZED, "unauthorized"));
        };
        // Powers as of now, not as the cookie remembers them.
        let (role, envs) = auth.current_who(&c.user).await.map_err(unavailable)?;
        let admin = Admin::may_administer(role) && envs.contains(&env.name);
        if !admin || c.mfa_at.is_none() {
            return Err(problem(StatusCode::FORBIDDEN, "forbidden"));
        }
        // A session writes only with a fresh second factor, as on the console.
        let fresh = c.mfa_at.is_some_and(|t| t + env.policy.step_up_secs > now);
        Ok(Self {
            base,
            user: c.user,
            role,
            envs,
            write: fresh,
            session: true,
        })
    }
}

/// A write's caller and body: a write-scope caller (a session with a fresh second factor)
/// posting JSON `T` (a session also from the gateway's origin).
pub(super) async fn written<T: serde::de::DeserializeOwned>(
    req: Request,
    auth: &Arc<Auth>,
) -> Result<(Caller, T), Response> {
    let (mut parts, body) = req.into_parts();
    let caller = Caller::from_request_parts(&mut parts, auth).await?;
    if let Some(refused) = caller.write_refusal() {
        return Err(refused);
    }
    let base = &caller.base;
    let body = super::csrf::json_post(&base.headers, &base.facts.authority, body).await;
    let body = body.map_err(|(status, error)| problem(status, error))?;
    let parsed = serde_json::from_value(body).ok();
    Ok((
        caller,
        parsed.ok_or_else(|| problem(StatusCode::BAD_REQUEST, "bad_json"))?,
    ))
}

/// A write: a write-scope caller posting JSON (a session also from the gateway's origin).
pub struct Writer {
    caller: Caller,
    reason: String,
    email: String,
}

impl FromRequest<Arc<Auth>> for Writer {
    type Rejection = Response;

    async fn from_request(req: Request, auth: &Arc<Auth>) -> Result<Self, Response> {
        let (caller, action) = written::<ActionBody>(req, auth).await?;
        let reason = action.reason.unwrap_or_default();
        let email = action.email.unwrap_or_default();
        Ok(Self {
            caller,
            reason,
            email,
        })
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UsersPage {
    pub users: Vec<UserStatus>,
    pub total: usize,
    pub page: usize,
    pub page_size: usize,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Only users of this environment.
    env: Option<String>,
    /// Only this role.
    role: Option<String>,
    /// Only users without a second factor.
    no_factor: Option<bool>,
    /// Only users whose code entry is blocked.
    blocked: Option<bool>,
    /// Part of the user name.
    q: Option<String>,
    /// 0-based page of 50.
    page: Option<usize>,
}

#[utoipa::path(get, path = "/users", params(UsersQuery), responses(
    (status = 200, description = "Done", body = UsersPage), (status = 401, description = "No valid token or session", body = ApiError), (status = 403, description = "Not allowed: a read-only token, not an admin, own account, or cross-site", body = ApiError)))]
pub async fn list_users(caller: Caller, Query(q): Query<UsersQuery>) -> Response {
    let auth = &caller.base.auth;
    let all = match auth.admin_users(&caller.admin(), auth.clock.now()).await {
        Ok(all) => all,
        Err(e) => return unavailable(e),
    };
    let filter = UserFilter {
        env: q.env,
        role: q.role.as_deref().and_then(Role::parse),
        no_factor: q.no_factor.unwrap_or(false),
        blocked: q.blocked.unwrap_or(false),
        search: q.q.unwrap_or_default(),
        page: q.page.unwrap_or(0),
    };
    let (page, total) = select(all, &filter);
    ok(UsersPage {
        users: page,
        total,
        page: filter.page,
        page_size: PAGE_SIZE,
    })
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub environment: String,
    pub device: String,
    pub ip: String,
    pub started_at: u64,
    pub mfa_at: Option<u64>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DeviceView {
    pub id: String,
    pub label: String,
    pub last_seen: u64,
    pub last_ip: String,
    pub trusted_until: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UserDetail {
    pub user: UserStatus,
    pub sessions: Vec<SessionView>,
    pub devices: Vec<DeviceView>,
}

#[utoipa::path(get, path = "/users/{user}", params(("user" = String, Path)), responses(
    (status = 200, description = "Done", body = UserDetail), (status = 404, description = "No such user in the caller's environments", body = ApiError)))]
pub async fn show_user(caller: Caller, Path(user): Path<String>) -> Response {
    let auth = &caller.base.auth;
    let status = match auth
        .admin_user(&caller.admin(), &user, auth.clock.now())
        .await
    {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    match UserDetail::of(auth, status).await {
        Ok(detail) => ok(detail),
        Err(e) => unavailable(e),
    }
}

impl UserDetail {
    /// `status` with the user's sessions and trusted devices.
    pub async fn of(auth: &Auth, status: UserStatus) -> Result<Self, StoreError> {
        let sessions = auth.records.sessions(&status.user).await?;
        let devices = auth.records.devices(&status.user).await?;
        Ok(Self {
            user: status,
            sessions: sessions
                .into_iter()
                .map(|s| SessionView {
                    id: s.id,
                    environment: s.environment,
                    device: s.device_label,
                    ip: s.ip,
                    started_at: s.created_at,
                    mfa_at: s.mfa_at,
                })
                .collect(),
            devices: devices
                .into_iter()
                .map(|d| DeviceView {
                    id: d.id,
                    label: d.label,
                    last_seen: d.last_seen,
                    last_ip: d.last_ip,
                    trusted_until: d.trusted_until,
                })
                .collect(),
        })
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ActionBody {
    /// Why, for the activity log.
    pub reason: Option<String>,
    /// The new address (`/users/{user}/email` only).
    pub email: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ActionDone {
    pub done: bool,
    /// Sessions that ended, where the action ends sessions.
    pub ended_sessions: Option<usize>,
}

fn done(result: Result<Option<usize>, AdminError>) -> Response {
    match result {
        Ok(ended_sessions) => ok(ActionDone {
            done: true,
            ended_sessions,
        }),
        Err(e) => failed(e),
    }
}

impl Writer {
    fn ctx(&self) -> crate::audit::Context {
        self.caller.base.audit(&self.caller.user)
    }
}

#[utoipa::path(post, path = "/users/{user}/reset-mfa", params(("user" = String, Path)), request_body = ActionBody,
    responses((status = 200, description = "Done", body = ActionDone), (status = 403, description = "Not allowed: a read-only token, not an admin, own account, or cross-site", body = ApiError), (status = 404, description = "No such user in the caller's environments", body = ApiError)))]
pub async fn reset_mfa(Path(user): Path<String>, w: Writer) -> Response {
    let auth = &w.caller.base.auth;
    let admin = w.caller.admin();
    done(
        auth.reset_mfa(&admin, &user, &w.reason, w.ctx())
            .await
            .map(Some),
    )
}

#[utoipa::path(post, path = "/users/{user}/logout", params(("user" = String, Path)), request_body = ActionBody,
    responses((status = 200, description = "Done", body = ActionDone), (status = 403, description = "Not allowed: a read-only token, not an admin, own account, or cross-site", body = ApiError), (status = 404, description = "No such user in the caller's environments", body = ApiError)))]
pub async fn logout(Path(user): Path<String>, w: Writer) -> Response {
    let auth = &w.caller.base.auth;
    let admin = w.caller.admin();
    done(
        auth.admin_logout(&admin, &user, &w.reason, w.ctx())
            .await
            .map(Some),
    )
}

#[utoipa::path(post, path = "/users/{user}/email", params(("user" = String, Path)), request_body = ActionBody,
    responses((status = 200, description = "Done", body = ActionDone), (status = 404, description = "No such user in the caller's environments", body = ApiError), (status = 422, description = "Not an email address", body = ApiError)))]
pub async fn change_email(Path(user): Path<String>, w: Writer) -> Response {
    let auth = &w.caller.base.auth;
    let admin = w.caller.admin();
    let changed = auth.change_email(&admin, &user, &w.email, &w.reason, w.ctx());
    done(changed.await.map(|()| None))
}

#[utoipa::path(post, path = "/users/{user}/sessions/{id}/revoke", params(("user" = String, Path), ("id" = String, Path)), request_body = ActionBody,
    responses((status = 200, description = "Done", body = ActionDone), (status = 404, description = "No such user in the caller's environments", body = ApiError)))]
pub async fn revoke_session(Path((user, id)): Path<(String, String)>, w: Writer) -> Response {
    revoke(&w, &user, Revoke::Session(&id)).await
}

#[utoipa::path(post, path = "/users/{user}/devices/{id}/revoke", params(("user" = String, Path), ("id" = String, Path)), request_body = ActionBody,
    responses((status = 200, description = "Done", body = ActionDone), (status = 404, description = "No such user in the caller's environments", body = ApiError)))]
pub async fn revoke_device(Path((user, id)): Path<(String, String)>, w: Writer) -> Response {
    revoke(&w, &user, Revoke::Device(&id)).await
}

async fn revoke(w: &Writer, user: &str, what: Revoke<'_>) -> Response {
    let auth = &w.caller.base.auth;
    let admin = w.caller.admin();
    done(
        auth.admin_revoke(&admin, user, what, w.ctx())
            .await
            .map(|()| None),
    )
}

#[utoipa::path(post, path = "/users/{user}/unblock", params(("user" = String, Path)), request_body = ActionBody,
    responses((status = 200, description = "Done", body = ActionDone), (status = 403, description = "Not allowed: a read-only token, not an admin, own account, or cross-site", body = ApiError), (status = 404, description = "No such user in the caller's environments", body = ApiError)))]
pub async fn unblock(Path(user): Path<String>, w: Writer) -> Response {
    let auth = &w.caller.base.auth;
    let admin = w.caller.admin();
    done(
        auth.unblock(&admin, &user, &w.reason, w.ctx())
            .await
            .map(|()| None),
    )
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RecoveryView {
    pub user: String,
    pub environment: String,
    pub requested_at: u64,
    /// `requested`, `deciding`, `approved` or `dismissed`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<u64>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RecoveryList {
    pub requests: Vec<RecoveryView>,
}

pub fn recovery_view(r: RecoveryRequest) -> RecoveryView {
    let state = match r.state {
        RecoveryState::Requested => "requested",
        RecoveryState::Deciding => "deciding",
        RecoveryState::Approved => "approved",
        RecoveryState::Dismissed => "dismissed",
    };
    RecoveryView {
        user: r.user,
        environment: r.environment,
        requested_at: r.requested_at,
        state: state.into(),
        decided_by: r.decided_by,
        decided_at: r.decided_at,
    }
}

#[utoipa::path(get, path = "/recovery", responses((status = 200, description = "Done", body = RecoveryList), (status = 401, description = "No valid token or session", body = ApiError)))]
pub async fn list_recovery(caller: Caller) -> Response {
    match caller.base.auth.recovery_requests(&caller.admin()).await {
        Ok(requests) => ok(RecoveryList {
            requests: requests.into_iter().map(recovery_view).collect(),
        }),
        Err(e) => unavailable(e),
    }
}

#[utoipa::path(post, path = "/recovery/{user}/approve", params(("user" = String, Path)), request_body = ActionBody,
    responses((status = 200, description = "Done", body = ActionDone), (status = 404, description = "No such user in the caller's environments", body = ApiError)))]
pub async fn approve_recovery(Path(user): Path<String>, w: Writer) -> Response {
    decide(&w, &user, true).await
}

#[utoipa::path(post, path = "/recovery/{user}/dismiss", params(("user" = String, Path)), request_body = ActionBody,
    responses((status = 200, description = "Done", body = ActionDone), (status = 404, description = "No such user in the caller's environments", body = ApiError)))]
pub async fn dismiss_recovery(Path(user): Path<String>, w: Writer) -> Response {
    decide(&w, &user, false).await
}

async fn decide(w: &Writer, user: &str, approve: bool) -> Response {
    let auth = &w.caller.base.auth;
    let admin = w.caller.admin();
    done(
        auth.decide_recovery(&admin, user, approve, w.ctx())
            .await
            .map(|()| None),
    )
}

/// The API's routes, under `{prefix}admin/api/v1`.
pub fn routes(prefix: &str) -> axum::Router<Arc<Auth>> {
    use axum::routing::{get, post};
    let p = |path: &str| format!("{prefix}{BASE}{path}");
    let doc = openapi(prefix);
    axum::Router::new()
        .route(
            &p("/openapi.json"),
            get(move || {
                let doc = doc.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], doc) }
            }),
        )
        .route(&p("/users"), get(list_users))
        .route(&p("/users/{user}"), get(show_user))
        .route(&p("/users/{user}/reset-mfa"), post(reset_mfa))
        .route(&p("/users/{user}/logout"), post(logout))
        .route(&p("/users/{user}/unblock"), post(unblock))
        .route(&p("/users/{user}/email"), post(change_email))
        .route(
            &p("/users/{user}/sessions/{id}/revoke"),
            post(revoke_session),
        )
        .route(&p("/users/{user}/devices/{id}/revoke"), post(revoke_device))
        .route(&p("/recovery"), get(list_recovery))
        .route(&p("/recovery/{user}/approve"), post(approve_recovery))
        .route(&p("/recovery/{user}/dismiss"), post(dismiss_recovery))
        .route(
            &p("/exports"),
            get(super::exports_api::list).post(super::exports_api::create),
        )
        .route(&p("/exports/{id}"), get(super::exports_api::show))
        .route(
            &p("/exports/{id}/download"),
            get(super::exports_api::download),
        )
}
