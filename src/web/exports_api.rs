//! Activity-log exports through the admin API (`{prefix}admin/api/v1/exports`): owners and
//! tokens of scope "owner" ask for a period, follow the job and download the file, exactly as
//! on the console (`web::exports`). The work is the core's (`gate::exports`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Path, Query, Request};
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::admin_api::{ok, problem, unavailable, written, Caller};
use crate::gate::auth::Auth;
use crate::gate::exports::ExportError;
use crate::store::records::ExportJob;

/// What to export.
#[derive(Deserialize, ToSchema)]
pub struct ExportBody {
    /// First day ("2026-11-30", UTC) or an RFC 3339 time.
    from: String,
    /// Last day, included, or an RFC 3339 time.
    to: String,
    /// One environment; all the caller's when absent.
    environment: Option<String>,
    /// Categories: `sign_in`, `mfa`, `session`, `admin`, `activity`; every one when absent.
    #[serde(default)]
    kinds: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportList {
    exports: Vec<ExportJob>,
}

fn failed(e: ExportError) -> Response {
    match e {
        ExportError::NotOwner => problem(StatusCode::FORBIDDEN, "owners_only"),
        ExportError::BadRequest(_) => problem(StatusCode::UNPROCESSABLE_ENTITY, "bad_period"),
        ExportError::NotFound => problem(StatusCode::NOT_FOUND, "not_found"),
        ExportError::NotReady => problem(StatusCode::CONFLICT, "not_ready"),
        ExportError::Gone => problem(StatusCode::GONE, "gone"),
        ExportError::Store(e) => unavailable(e),
        ExportError::File(e) => {
            tracing::error!(error = %e, "export file unreadable");
            problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    }
}

/// A caller asking for an export, with its body.
pub struct Asked(Caller, ExportBody);

impl FromRequest<Arc<Auth>> for Asked {
    type Rejection = Response;

    async fn from_request(req: Request, auth: &Arc<Auth>) -> Result<Self, Response> {
        let (caller, body) = written::<ExportBody>(req, auth).await?;
        Ok(Self(caller, body))
    }
}

#[utoipa::path(post, path = "/exports", request_body = ExportBody, responses(
    (status = 202, description = "Started; follow it at /exports/{id}", body = ExportJob),
    (status = 403, description = "Not an owner (or a token of scope owner), or a session without a fresh second factor", body = super::admin_api::ApiError),
    (status = 422, description = "Not a period, or not one of the caller's environments", body = super::admin_api::ApiError)))]
pub async fn create(Asked(caller, body): Asked) -> Response {
    let field = |k: &str| match k {
        "from" => body.from.clone(),
        "to" => body.to.clone(),
        "environment" => body.environment.clone().unwrap_or_default(),
        _ => body.kinds.join(","),
    };
    let ask = match super::exports::ask_of(field) {
        Ok(ask) => ask,
        Err(e) => return failed(e),
    };
    let base = caller.base();
    let ctx = base.audit(caller.admin().user);
    match base.auth.request_export(&caller.admin(), ask, &ctx).await {
        Ok(job) => {
            let mut resp = ok(job);
            *resp.status_mut() = StatusCode::ACCEPTED;
            resp
        }
        Err(e) => failed(e),
    }
}

#[utoipa::path(get, path = "/exports", responses(
    (status = 200, description = "Every export, newest first, with its downloads", body = ExportList),
    (status = 403, description = "Not an owner", body = super::admin_api::ApiError)))]
pub async fn list(caller: Caller) -> Response {
    match caller.base().auth.exports(&caller.admin()).await {
        Ok(exports) => ok(ExportList { exports }),
        Err(e) => failed(e),
    }
}

#[utoipa::path(get, path = "/exports/{id}", params(("id" = String, Path)), responses(
    (status = 200, description = "The job: state, progress, size, downloads", body = ExportJob),
    (status = 404, description = "No such export", body = super::admin_api::ApiError)))]
pub async fn show(caller: Caller, Path(id): Path<String>) -> Response {
    match caller.base().auth.exports(&caller.admin()).await {
        Ok(all) => match all.into_iter().find(|j| j.id == id) {
            Some(job) => ok(job),
            None => failed(ExportError::NotFound),
        },
        Err(e) => failed(e),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// `ndjson` for JSON lines; one JSON array otherwise.
    format: Option<String>,
}

#[utoipa::path(get, path = "/exports/{id}/download", params(("id" = String, Path), DownloadQuery), responses(
    (status = 200, description = "The events of the period, oldest first (application/json or application/x-ndjson)"),
    (status = 409, description = "Still running, or failed", body = super::admin_api::ApiError),
    (status = 410, description = "The file was deleted after audit.export_retention", body = super::admin_api::ApiError)))]
pub async fn download(
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> Response {
    if let Some(refused) = caller.write_refusal() {
        return refused;
    }
    let ndjson = q.format.as_deref() == Some("ndjson");
    let base = caller.base();
    let ctx = base.audit(caller.admin().user);
    match base
        .auth
        .download_export(&caller.admin(), &id, !ndjson, &ctx)
        .await
    {
        Ok((job, stream)) => super::exports::file_response(&job, ndjson, Body::from_stream(stream)),
        Err(e) => failed(e),
    }
}
