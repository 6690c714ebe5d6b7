//! `[audit]` and the per-environment `retention`: how long the activity log, its exports and
//! people's data are kept.

use std::path::Path;
use std::time::Duration;

use super::file::FileAudit;
use super::model::AuditSettings;
use super::validate::{resolve, Errors};

const DAY: u64 = 24 * 3600;

/// A duration like "365d" or "12h", at least one hour (a shorter retention is a typo, and
/// sweeps run hourly).
pub(super) fn duration(errs: &mut Errors, key: &str, text: &str) -> Option<Duration> {
    match humantime::parse_duration(text) {
        Ok(d) if d >= Duration::from_secs(3600) => Some(d),
        Ok(_) => {
            errs.push(key, format!("{text:?} is shorter than one hour"));
            None
        }
        Err(e) => {
            let msg = format!("{text:?} is not a duration like \"365d\" or \"12h\": {e}");
            errs.push(key, msg);
            None
        }
    }
}

pub(super) fn audit(
    errs: &mut Errors,
    file: &FileAudit,
    base: &Path,
    data_dir: &Path,
) -> AuditSettings {
    let mut read = |key: &str, value: &Option<String>, default_days: u64| {
        let default = Duration::from_secs(default_days * DAY);
        value
            .as_deref()
            .map_or(Some(default), |text| duration(errs, key, text))
            .unwrap_or(default)
    };
    let retention = read("audit.retention", &file.retention, 365);
    let export_retention = read("audit.export_retention", &file.export_retention, 7);
    let export_dir = file
        .export_dir
        .as_deref()
        .map_or_else(|| data_dir.join("exports"), |d| resolve(base, d));
    AuditSettings {
        retention,
        export_retention,
        export_dir,
    }
}
