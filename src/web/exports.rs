//! The console's activity-log page under `{prefix}admin/exports` (owners only): ask for an
//! export of a period, watch it run, download it, and see every request and download. The
//! work is the core's (`gate::exports`); this only translates. Asking and downloading need
//! a fresh second factor, as admin actions do.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use http::{header, HeaderValue, StatusCode};
use minijinja::context;

use super::admin::AdminPage;
use super::error::PageError;
use super::extract::{PageBase, Posted};
use crate::audit::Category;
use crate::clock::{parse_bound, utc, utc_date};
use crate::gate::exports::{may_export, ExportAsk, ExportError};
use crate::store::records::{ExportJob, ExportState};

/// How often the page reloads itself while an export runs.
const REFRESH_SECS: u64 = 3;

/// "1.2 MB" for the history.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

fn row(j: &ExportJob) -> minijinja::Value {
    let state = serde_json::to_value(j.state).unwrap_or_default();
    let envs: Vec<&str> = j
        .environments
        .iter()
        .filter(|e| !e.is_empty())
        .map(String::as_str)
        .collect();
    let downloads: Vec<_> = j
        .downloads
        .iter()
        .map(|d| context! { at => utc(d.at), by => d.by })
        .collect();
    context! {
        id => j.id,
        by => j.requested_by,
        requested_at => utc(j.requested_at),
        period => format!("{} – {}", utc(j.from_ms / 1000), utc(j.to_ms / 1000)),
        environments => envs.join(", "),
        state => state,
        running => j.state == ExportState::Running,
        ready => j.state == ExportState::Ready,
        expired => j.state == ExportState::Expired,
        progress => j.progress,
        failure => j.failure,
        events => j.events,
        size => size_text(j.bytes),
        downloads => downloads,
    }
}

fn owners_only(base: &PageBase) -> Response {
    base.message(
        StatusCode::FORBIDDEN,
        "admin-owners-title",
        "exports-owners-text",
        None,
    )
}

fn refused(base: &PageBase, e: ExportError) -> Result<Response, PageError> {
    let back = format!("{}admin/exports", base.prefix());
    let (status, title) = match &e {
        ExportError::NotOwner => return Ok(owners_only(base)),
        ExportError::BadRequest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "exports-bad-period"),
        ExportError::NotFound => (StatusCode::NOT_FOUND, "exports-not-found"),
        ExportError::NotReady => (StatusCode::CONFLICT, "exports-not-ready"),
        ExportError::Gone => (StatusCode::GONE, "exports-gone"),
        ExportError::Store(_) | ExportError::File(_) => {
            tracing::error!(error = %e, "activity-log export page failed");
            (StatusCode::SERVICE_UNAVAILABLE, "exports-later")
        }
    };
    let link = Some((back.as_str(), "exports-title"));
    Ok(base.message_text(status, title, &e.to_string(), link))
}

/// `GET {prefix}admin/exports`: the form and the download history.
pub async fn page(page: AdminPage) -> Result<Response, PageError> {
    let base = page.base();
    let admin = page.admin();
    if !may_export(&admin) {
        return Ok(owners_only(base));
    }
    let jobs = match base.auth.exports(&admin).await {
        Ok(jobs) => jobs,
        Err(e) => return refused(base, e),
    };
    let running = jobs.iter().any(|j| j.state == ExportState::Running);
    let audit = &base.auth.config.audit;
    let extra = context! {
        jobs => jobs.iter().map(row).collect::<Vec<_>>(),
        envs => admin.envs,
        yesterday => utc_date(base.auth.clock.now().saturating_sub(86_400)),
        retention_days => audit.retention.as_secs() / 86_400,
        export_days => audit.export_retention.as_secs().div_ceil(86_400),
        refresh_secs => running.then_some(REFRESH_SECS),
    };
    let sid = &page.signed.claims.sid;
    Ok(base.render(
        StatusCode::OK,
        "admin_exports.html",
        "exports-title",
        sid,
        extra,
    ))
}

/// The export asked for by form or API fields (`from`, `to`, `environment`, `kinds`).
pub fn ask_of(field: impl Fn(&str) -> String) -> Result<ExportAsk, ExportError> {
    let bad = |what: &str| {
        ExportError::BadRequest(format!(
            "{what} is not a date (YYYY-MM-DD) or an RFC 3339 time"
        ))
    };
    let from_ms = parse_bound(&field("from"), false).ok_or_else(|| bad("from"))?;
    let to_ms = parse_bound(&field("to"), true).ok_or_else(|| bad("to"))?;
    let environment = Some(field("environment")).filter(|e| !e.is_empty());
    let mut kinds = Vec::new();
    for name in field("kinds")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        let kind = Category::parse(name).ok_or_else(|| {
            ExportError::BadRequest(format!(
                "{name:?} is not one of sign_in, mfa, session, admin, activity"
            ))
        })?;
        kinds.push(kind);
    }
    Ok(ExportAsk {
        from_ms,
        to_ms,
        environment,
        kinds,
    })
}

/// `POST {prefix}admin/exports`: starts an export; needs a fresh second factor.
pub async fn ask(posted: Posted<AdminPage>) -> Result<Response, PageError> {
    let page = &posted.session;
    let base = page.base();
    let back = format!("{}admin/exports", base.prefix());
    if !may_export(&page.admin()) {
        return Ok(owners_only(base));
    }
    if !page.fresh() {
        return Ok(page.signed.step_up(&back));
    }
    let ask = match ask_of(|k| posted.field(k).to_string()) {
        Ok(ask) => ask,
        Err(e) => return refused(base, e),
    };
    let ctx = base.audit(&page.signed.claims.user);
    match base.auth.request_export(&page.admin(), ask, &ctx).await {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e) => refused(base, e),
    }
}

/// `GET {prefix}admin/exports/download?id=…[&format=ndjson]`: the file, opened as it is sent.
pub async fn download(
    page: AdminPage,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let base = page.base();
    let id = q.get("id").map_or("", String::as_str);
    if !page.fresh() {
        let back = format!("{}admin/exports", base.prefix());
        return Ok(page.signed.step_up(&back));
    }
    let ndjson = q.get("format").is_some_and(|f| f == "ndjson");
    let ctx = base.audit(&page.signed.claims.user);
    match base
        .auth
        .download_export(&page.admin(), id, !ndjson, &ctx)
        .await
    {
        Ok((job, stream)) => Ok(file_response(&job, ndjson, Body::from_stream(stream))),
        Err(e) => refused(base, e),
    }
}

/// A download response: a file name from the period, never cached.
pub fn file_response(job: &ExportJob, ndjson: bool, body: Body) -> Response {
    let (ext, mime) = match ndjson {
        true => ("ndjson", "application/x-ndjson"),
        false => ("json", "application/json"),
    };
    let name = format!(
        "activity-{}-{}.{ext}",
        utc_date(job.from_ms / 1000),
        utc_date(job.to_ms / 1000)
    );
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}
