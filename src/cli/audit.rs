//! `mfagate audit export`: the activity log of a period as JSON lines, read directly from the
//! store with the gateway's config file, for when the gateway (and so its console and API)
//! is down, or for scripts on the host. The export itself is audited (actor `cli`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _};

use crate::audit::{Category, EventKind};
use crate::clock::parse_bound;
use crate::config::Config;

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Write the events of a period, oldest first, one JSON object per line.
    Export {
        /// The gateway's config file (its store is opened directly; with the embedded store
        /// the gateway must be stopped).
        #[arg(long, short, default_value = "config/mfagate.toml")]
        config: PathBuf,
        /// First day (YYYY-MM-DD, UTC) or an RFC 3339 time.
        #[arg(long)]
        from: String,
        /// Last day, included, or an RFC 3339 time.
        #[arg(long)]
        to: String,
        /// Only these environments (repeat the flag); all, and the gateway's own events, when
        /// absent.
        #[arg(long = "env")]
        environments: Vec<String>,
        /// Only these kinds, comma-separated: sign_in, mfa, session, admin, activity.
        #[arg(long, value_delimiter = ',')]
        kinds: Vec<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    let AuditCommand::Export {
        config,
        from,
        to,
        environments,
        kinds,
        out,
    } = args.command;
    let path = config;
    let config = Config::load(&path).map_err(|e| anyhow!("{} is invalid:\n{e}", path.display()))?;
    let from_ms = parse_bound(&from, false)
        .ok_or_else(|| anyhow!("--from {from:?} is not a date or RFC 3339 time"))?;
    let to_ms = parse_bound(&to, true)
        .ok_or_else(|| anyhow!("--to {to:?} is not a date or RFC 3339 time"))?;
    if from_ms > to_ms {
        bail!("the period ends before it starts");
    }
    let known: Vec<String> = config.environments.iter().map(|e| e.name.clone()).collect();
    if let Some(unknown) = environments.iter().find(|e| !known.contains(e)) {
        bail!(
            "--env {unknown:?} is not an environment of {}",
            path.display()
        );
    }
    let logs = match environments.is_empty() {
        true => known.into_iter().chain([String::new()]).collect(),
        false => environments,
    };
    let kinds = kinds
        .iter()
        .map(|k| {
            Category::parse(k).ok_or_else(|| {
                anyhow!("--kinds: {k:?} is not one of sign_in, mfa, session, admin, activity")
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let kinds = if kinds.is_empty() {
        Category::ALL.to_vec()
    } else {
        kinds
    };
    let writer: Box<dyn Write> = match &out {
        Some(file) => Box::new(
            std::fs::File::create(file)
                .with_context(|| format!("cannot write {}", file.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let (auth, _mail) = crate::proxy::server::open_core(config).context(
        "cannot open the store (is the gateway running? then use the console or the admin API)",
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let written = rt.block_on(async {
        let requested = EventKind::ExportRequested {
            export: "cli".into(),
            from_ms,
            to_ms,
            environments: logs.clone(),
            kinds: kinds.clone(),
        };
        let ctx = auth.background_context("").by("cli");
        auth.audit.record(ctx.event(requested)).await;
        write_period(&auth, &logs, (from_ms, to_ms), &kinds, writer).await
    })?;
    eprintln!("{written} events written");
    Ok(())
}

/// Streams the period's events of `kinds` to `out` as JSON lines; returns how many.
async fn write_period(
    auth: &crate::gate::auth::Auth,
    logs: &[String],
    (from_ms, to_ms): (u64, u64),
    kinds: &[Category],
    out: Box<dyn Write>,
) -> anyhow::Result<u64> {
    let mut out = std::io::BufWriter::new(out);
    let mut reader = auth.audit.period(logs, from_ms, to_ms);
    let mut written = 0;
    while let Some(event) = reader.next().await? {
        if kinds.contains(&event.kind.category()) {
            serde_json::to_writer(&mut out, &event)?;
            out.write_all(b"\n")?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(written)
}
