//! Activity-log export jobs: what an owner asked for, how far the job got, the file it made
//! and every download. The history is kept as long as the activity log itself.

use serde::{Deserialize, Serialize};

use super::Records;
use crate::store::StoreResult;

/// Store set of every export job's id.
const EXPORTS_SET: &str = "exports";

fn export_key(id: &str) -> String {
    format!("export:{id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    Running,
    Ready,
    Failed,
    /// The file was deleted after `audit.export_retention`; the history stays.
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Download {
    pub by: String,
    /// Unix seconds.
    pub at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportJob {
    pub id: String,
    pub requested_by: String,
    /// Unix seconds.
    pub requested_at: u64,
    /// The period, Unix ms, both ends included.
    pub from_ms: u64,
    pub to_ms: u64,
    pub environments: Vec<String>,
    /// Categories of events (`sign_in`, `mfa`, `session`, `admin`, `activity`).
    pub kinds: Vec<String>,
    pub state: ExportState,
    /// Per cent of the period read so far.
    pub progress: u8,
    pub events: u64,
    /// Size of the export (JSON lines), in bytes.
    pub bytes: u64,
    /// When the job last reported (Unix ms): a running job that stopped reporting was
    /// interrupted (its instance stopped).
    pub heartbeat_ms: u64,
    pub finished_at: Option<u64>,
    /// When the file is deleted (Unix seconds).
    pub expires_at: Option<u64>,
    pub failure: Option<String>,
    pub downloads: Vec<Download>,
}

impl Records {
    pub async fn save_export(&self, job: &ExportJob) -> StoreResult<()> {
        self.put_json(&export_key(&job.id), job, None).await?;
        self.store.set_add(EXPORTS_SET, &job.id).await
    }

    pub async fn export(&self, id: &str) -> StoreResult<Option<ExportJob>> {
        self.get_json(&export_key(id)).await
    }

    /// Every export job, newest first.
    pub async fn exports(&self) -> StoreResult<Vec<ExportJob>> {
        let mut out = Vec::new();
        for id in self.store.set_members(EXPORTS_SET).await? {
            out.extend(self.export(&id).await?);
        }
        out.sort_by_key(|j| std::cmp::Reverse((j.requested_at, j.id.clone())));
        Ok(out)
    }

    pub async fn forget_export(&self, id: &str) -> StoreResult<()> {
        self.store.delete(&export_key(id)).await?;
        self.store.set_remove(EXPORTS_SET, id).await
    }
}
