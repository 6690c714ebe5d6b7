//! Activity-log exports (owners only): a period of chosen environments and kinds of events is
//! read in time order, page by page, and written as JSON lines into a file sealed with the key
//! ring, in the background. The owner is told by email when it is ready; every download is
//! recorded in the job's history and audited. Files are deleted after
//! `audit.export_retention`; the history is kept as long as the activity log.
//!
//! JSON lines (NDJSON) rather than one array: an export of a year is millions of events, and
//! lines can be written, sealed, read and processed one at a time in bounded memory. A
//! download can still be asked for as one JSON array (the same lines, joined).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::admin::Admin;
use super::auth::Auth;
use crate::audit::{Category, Context, EventKind};
use crate::crypto::sealed_file::{self, Opener, Sealer};
use crate::domain::Role;
use crate::session::token::new_id;
use crate::store::records::{Download, ExportJob, ExportState};
use crate::store::StoreError;

/// Events between progress reports (and heartbeats) of a running job.
const REPORT_EVERY: u64 = 20_000;
/// A running job that has not reported for this long was interrupted.
const STALE_MS: u64 = 5 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("only owners export the activity log")]
    NotOwner,
    #[error("{0}")]
    BadRequest(String),
    #[error("no such export")]
    NotFound,
    #[error("the export is not ready")]
    NotReady,
    #[error("the export file was deleted (expired)")]
    Gone,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("export file: {0}")]
    File(String),
}

/// What an owner asks for.
#[derive(Debug, Clone)]
pub struct ExportAsk {
    /// Unix ms, both ends included.
    pub from_ms: u64,
    pub to_ms: u64,
    /// One environment, or `None` for all the owner administers (and the gateway's own
    /// events, such as retention sweeps, when that is every environment).
    pub environment: Option<String>,
    /// Empty means every kind.
    pub kinds: Vec<Category>,
}

/// Whether `admin` may export at all: owners only (admins do not even see the page).
pub fn may_export(admin: &Admin<'_>) -> bool {
    admin.role == Role::Owner
}

fn file_error(e: impl std::fmt::Display) -> ExportError {
    ExportError::File(e.to_string())
}

impl Auth {
    fn export_path(&self, id: &str) -> PathBuf {
        self.config.audit.export_dir.join(format!("{id}.sealed"))
    }

    /// The logs an owner's export reads.
    fn export_logs(
        &self,
        admin: &Admin<'_>,
        env: Option<&str>,
    ) -> Result<Vec<String>, ExportError> {
        let all: Vec<String> = self
            .config
            .environments
            .iter()
            .map(|e| e.name.clone())
            .collect();
        match env {
            Some(e) if admin.envs.iter().any(|a| a == e) => Ok(vec![e.to_string()]),
            Some(e) => Err(ExportError::BadRequest(format!(
                "{e:?} is not one of your environments"
            ))),
            None if all.iter().all(|e| admin.envs.contains(e)) => {
                Ok(all.into_iter().chain([String::new()]).collect())
            }
            None => Ok(admin.envs.to_vec()),
        }
    }

    /// Starts an export job in the background and returns it as first recorded.
    pub async fn request_export(
        self: &Arc<Self>,
        admin: &Admin<'_>,
        ask: ExportAsk,
        ctx: &Context,
    ) -> Result<ExportJob, ExportError> {
        if !may_export(admin) {
            return Err(ExportError::NotOwner);
        }
        if ask.from_ms > ask.to_ms {
            return Err(ExportError::BadRequest(
                "the period ends before it starts".into(),
            ));
        }
        let environments = self.export_logs(admin, ask.environment.as_deref())?;
        let kinds = match ask.kinds.is_empty() {
            true => Category::ALL.to_vec(),
            false => ask.kinds,
        };
        let now_ms = self.clock.now_ms();
        let job = ExportJob {
            id: new_id(&self.keys),
            requested_by: admin.user.to_string(),
            requested_at: now_ms / 1000,
            from_ms: ask.from_ms,
            to_ms: ask.to_ms,
            environments,
            kinds: kinds.iter().map(|k| k.name().to_string()).collect(),
            state: ExportState::Running,
            progress: 0,
            events: 0,
            bytes: 0,
            heartbeat_ms: now_ms,
            finished_at: None,
            expires_at: None,
            failure: None,
            downloads: Vec::new(),
        };
        self.records.save_export(&job).await?;
        let requested = EventKind::ExportRequested {
            export: job.id.clone(),
            from_ms: job.from_ms,
            to_ms: job.to_ms,
            environments: job.environments.clone(),
            kinds,
        };
        let ctx = ctx.by(admin.user);
        self.audit.record(ctx.event(requested)).await;
        tokio::spawn(self.clone().run_export(job.clone(), ctx));
        Ok(job)
    }

    /// Runs a job to its end and records how it ended.
    async fn run_export(self: Arc<Self>, mut job: ExportJob, ctx: Context) {
        let outcome = self.write_export(&mut job).await;
        job.heartbeat_ms = self.clock.now_ms();
        job.finished_at = Some(self.clock.now());
        let kind = match outcome {
            Ok(()) => {
                job.state = ExportState::Ready;
                job.progress = 100;
                let keep = self.config.audit.export_retention.as_secs();
                job.expires_at = Some(self.clock.now() + keep);
                EventKind::ExportReady {
                    export: job.id.clone(),
                    events: job.events,
                    bytes: job.bytes,
                }
            }
            Err(e) => {
                tracing::error!(export = %job.id, error = %e, "activity-log export failed");
                let _ = tokio::fs::remove_file(self.export_path(&job.id)).await;
                job.state = ExportState::Failed;
                job.failure = Some(e.to_string());
                EventKind::ExportFailed {
                    export: job.id.clone(),
                    reason: e.to_string(),
                }
            }
        };
        let ready = job.state == ExportState::Ready;
        if let Err(e) = self.records.save_export(&job).await {
            tracing::error!(export = %job.id, error = %e, "export job could not be recorded");
        }
        self.audit.record(ctx.event(kind)).await;
        if ready {
            let (voice, period) = (self.voice_of(&ctx.environment), period_text(&job));
            self.notify(&job.requested_by, |to| {
                crate::notify::messages::export_ready(to, &voice, &period, job.events)
            })
            .await;
        }
    }

    /// Reads the period and writes the sealed file, reporting progress as it goes.
    async fn write_export(&self, job: &mut ExportJob) -> Result<(), ExportError> {
        let dir = &self.config.audit.export_dir;
        tokio::fs::create_dir_all(dir).await.map_err(file_error)?;
        let path = self.export_path(&job.id);
        let mut file = tokio::fs::File::create(&path).await.map_err(file_error)?;
        let kinds: Vec<Category> = job
            .kinds
            .iter()
            .filter_map(|k| Category::parse(k))
            .collect();
        let mut reader = self.audit.period(&job.environments, job.from_ms, job.to_ms);
        let mut sealer = Sealer::new(&self.keys, &job.id);
        let (mut line, mut read) = (Vec::with_capacity(512), 0u64);
        while let Some(event) = reader.next().await? {
            read += 1;
            // Reported by events read, not written: a narrow filter still shows it is alive.
            if read % REPORT_EVERY == 0 {
                self.report(job, event.at_ms).await?;
            }
            if !kinds.contains(&event.kind.category()) {
                continue;
            }
            line.clear();
            serde_json::to_writer(&mut line, &event).map_err(file_error)?;
            line.push(b'\n');
            job.events += 1;
            job.bytes += line.len() as u64;
            if let Some(frame) = sealer.push(&line) {
                file.write_all(&frame).await.map_err(file_error)?;
            }
        }
        file.write_all(&sealer.finish()).await.map_err(file_error)?;
        file.sync_all().await.map_err(file_error)
    }

    /// Saves the job's progress (per cent of the period covered) and heartbeat.
    async fn report(&self, job: &mut ExportJob, at_ms: u64) -> Result<(), ExportError> {
        let span = job.to_ms.saturating_sub(job.from_ms).max(1) as u128;
        let done = at_ms.saturating_sub(job.from_ms) as u128;
        job.progress = (done * 100 / span).min(99) as u8;
        job.heartbeat_ms = self.clock.now_ms();
        Ok(self.records.save_export(job).await?)
    }

    /// Every export job (owners only), newest first, with interrupted ones shown as failed.
    pub async fn exports(&self, admin: &Admin<'_>) -> Result<Vec<ExportJob>, ExportError> {
        if !may_export(admin) {
            return Err(ExportError::NotOwner);
        }
        let now_ms = self.clock.now_ms();
        let mut jobs = self.records.exports().await?;
        jobs.retain(|job| self.covers(admin, job));
        for job in &mut jobs {
            mark_interrupted(job, now_ms);
        }
        Ok(jobs)
    }

    /// Whether `admin` may see `job`: every environment it read is one of theirs (the
    /// gateway's own log only for an owner of every environment).
    fn covers(&self, admin: &Admin<'_>, job: &ExportJob) -> bool {
        let all = self
            .config
            .environments
            .iter()
            .all(|e| admin.envs.contains(&e.name));
        job.environments.iter().all(|e| {
            if e.is_empty() {
                all
            } else {
                admin.envs.contains(e)
            }
        })
    }

    /// Opens a ready export for `admin` to download: the download is recorded first, then the
    /// file is read back, opened chunk by chunk, as JSON lines (or one array).
    pub async fn download_export(
        &self,
        admin: &Admin<'_>,
        id: &str,
        array: bool,
        ctx: &Context,
    ) -> Result<
        (
            ExportJob,
            impl Stream<Item = Result<Bytes, std::io::Error>> + use<>,
        ),
        ExportError,
    > {
        if !may_export(admin) {
            return Err(ExportError::NotOwner);
        }
        let job = self.records.export(id).await?;
        let job = job.filter(|j| self.covers(admin, j));
        let mut job = job.ok_or(ExportError::NotFound)?;
        match job.state {
            ExportState::Ready => {}
            ExportState::Expired => return Err(ExportError::Gone),
            _ => return Err(ExportError::NotReady),
        }
        let file = tokio::fs::File::open(self.export_path(id))
            .await
            .map_err(|_| ExportError::Gone)?;
        job.downloads.push(Download {
            by: admin.user.to_string(),
            at: self.clock.now(),
        });
        self.records.save_export(&job).await?;
        let downloaded = EventKind::ExportDownloaded {
            export: job.id.clone(),
        };
        self.audit
            .record(ctx.by(admin.user).event(downloaded))
            .await;
        let stream = opened_stream(self.keys.clone(), job.id.clone(), file, array);
        Ok((job, stream))
    }

    /// Deletes export files past `audit.export_retention` and the history of jobs older than
    /// the activity log's retention; marks interrupted jobs failed. Returns files deleted.
    pub(super) async fn expire_exports(&self, now_ms: u64) -> Result<u64, StoreError> {
        let (now, mut deleted) = (now_ms / 1000, 0);
        let history = self.audit.retention().as_secs();
        for mut job in self.records.exports().await? {
            if now.saturating_sub(job.requested_at) > history {
                let _ = tokio::fs::remove_file(self.export_path(&job.id)).await;
                self.records.forget_export(&job.id).await?;
                continue;
            }
            let expired = job.expires_at.is_some_and(|at| at <= now);
            if job.state == ExportState::Ready && expired {
                match tokio::fs::remove_file(self.export_path(&job.id)).await {
                    Ok(()) => deleted += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!(export = %job.id, error = %e, "expired export not deleted")
                    }
                }
                job.state = ExportState::Expired;
                self.records.save_export(&job).await?;
            } else if mark_interrupted(&mut job, now_ms) {
                self.records.save_export(&job).await?;
            }
        }
        Ok(deleted)
    }
}

/// A running job whose instance stopped reporting is failed ("interrupted").
fn mark_interrupted(job: &mut ExportJob, now_ms: u64) -> bool {
    let stale = now_ms.saturating_sub(job.heartbeat_ms) > STALE_MS;
    if job.state == ExportState::Running && stale {
        job.state = ExportState::Failed;
        job.failure = Some("interrupted: the gateway running it stopped".into());
        return true;
    }
    false
}

/// "2026-11-30 00:00 – 2026-11-30 23:59 UTC", for the email.
fn period_text(job: &ExportJob) -> String {
    let (from, to) = (
        crate::clock::utc(job.from_ms / 1000),
        crate::clock::utc(job.to_ms / 1000),
    );
    format!("{from} – {to}")
}

/// The plaintext of a sealed export file, chunk by chunk; as a JSON array when `array`.
/// A file that does not open (tampered, cut, another key) ends the stream with an error, so
/// the download fails rather than being silently short.
fn opened_stream(
    keys: Arc<crate::crypto::secret_box::KeyRing>,
    id: String,
    file: tokio::fs::File,
    array: bool,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    struct State {
        opener: Opener<Arc<crate::crypto::secret_box::KeyRing>>,
        file: tokio::fs::File,
    }
    let state = State {
        opener: Opener::new(keys, &id),
        file,
    };
    futures_util::stream::try_unfold(state, move |mut s| async move {
        if s.opener.complete() {
            return Ok(None);
        }
        let mut head = [0u8; sealed_file::HEADER_LEN];
        s.file.read_exact(&mut head).await?;
        let (len, last) = sealed_file::header(head).map_err(std::io::Error::other)?;
        let mut sealed = vec![0u8; len];
        s.file.read_exact(&mut sealed).await?;
        let first = s.opener.at_start();
        let plain = s
            .opener
            .open(last, &sealed)
            .map_err(std::io::Error::other)?;
        let chunk = match array {
            false => plain,
            true => as_array_part(&plain, first, last),
        };
        Ok(Some((Bytes::from(chunk), s)))
    })
}

/// A chunk of JSON lines as its part of one JSON array (chunks hold whole lines).
fn as_array_part(lines: &[u8], first: bool, last: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.len() + 16);
    out.extend_from_slice(if first { b"[" } else { b"" });
    for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        if out.len() > 1 || !first {
            out.extend_from_slice(b",\n");
        } else {
            out.push(b'\n');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(if last { b"\n]\n" } else { b"" });
    out
}

#[cfg(test)]
mod tests {
    use super::as_array_part;

    #[test]
    fn chunks_of_lines_join_into_one_json_array() {
        let parts = [
            as_array_part(b"{\"a\":1}\n{\"a\":2}\n", true, false),
            as_array_part(b"{\"a\":3}\n", false, false),
            as_array_part(b"", false, true),
        ];
        let joined: Vec<u8> = parts.concat();
        let value: serde_json::Value = serde_json::from_slice(&joined).unwrap();
        assert_eq!(value, serde_json::json!([{"a":1},{"a":2},{"a":3}]));
        let empty: serde_json::Value =
            serde_json::from_slice(&as_array_part(b"", true, true)).unwrap();
        assert_eq!(empty, serde_json::json!([]));
    }
}
