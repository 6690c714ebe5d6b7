//! Log output: human-readable on a terminal, JSON lines for log shippers. `MFAGATE_LOG`
//! overrides the configured level/filter without editing the config.
//!
//! Lines (the access log's included) go to stderr from a background thread through a bounded
//! queue, so a request never waits on the terminal or the log shipper's pipe. When the queue
//! is full a line is dropped and counted (`mfagate_log_lines_dropped_total`) rather than
//! stalling requests.

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Lines waiting for the writer; past this many, new lines are dropped.
const QUEUED_LINES: usize = 64 * 1024;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Log lines dropped because the writer fell behind, since start.
pub fn dropped_lines() -> u64 {
    DROPPED.get().map_or(0, |c| c.dropped_lines() as u64)
}

/// Installs the subscriber. Keep the guard until the process ends: dropping it writes the
/// lines still queued.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(config: &LogConfig) -> WorkerGuard {
    let filter =
        EnvFilter::try_from_env("MFAGATE_LOG").unwrap_or_else(|_| EnvFilter::new(&config.level));
    let tty = std::io::stderr().is_terminal();
    let json = match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !tty,
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("mfagate-log")
        .finish(std::io::stderr());
    let _ = DROPPED.set(writer.error_counter());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.with_ansi(tty).try_init()
    };
    guard
}
