//! Command line: `serve`, `demo`, `validate-config`, `admin`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mfagate::config::Config;
use mfagate::{logging, proxy};

#[derive(Parser)]
#[command(
    name = "mfagate",
    version,
    about = "MFA gateway in front of a chat/agent dashboard"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway with a config file.
    Serve {
        #[arg(long, short, default_value = "config/mfagate.toml")]
        config: PathBuf,
    },
    /// Run the demo dashboard with the gateway in front of it (self-signed localhost cert).
    #[cfg(feature = "demo")]
    Demo {
        /// Gateway https address.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Only run the demo dashboard (plain HTTP), e.g. as a load-test upstream.
        #[arg(long)]
        dashboard_only: bool,
        /// Demo dashboard address.
        #[arg(long, default_value = "127.0.0.1:0")]
        dashboard_listen: std::net::SocketAddr,
    },
    /// MFA administration: users, resets, sign-outs, unblocks, recovery requests.
    Admin(Box<mfagate::cli::admin::AdminArgs>),
    /// Reload the running gateway's config (as SIGHUP does) and report the outcome.
    Reload(mfagate::cli::reload::ReloadArgs),
    /// The activity log: export a period as JSON lines, directly from the store.
    Audit(mfagate::cli::audit::AuditArgs),
    /// Check a config file and print OK or every problem found.
    ValidateConfig {
        #[arg(long, short, default_value = "config/mfagate.toml")]
        config: PathBuf,
    },
}

/// Exit code for configuration errors, distinct from runtime failures (1).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::ValidateConfig { config } => match Config::load(&config) {
            Ok(_) => {
                println!("OK: {}", config.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{} is invalid:\n{errors}", config.display());
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Serve { config: path } => {
            let config = match Config::load(&path) {
                Ok(c) => c,
                Err(errors) => {
                    eprintln!("{} is invalid:\n{errors}", path.display());
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let _log = logging::init(&config.log);
            run_until_signal(config, Some(path), |gw| {
                tracing::info!(https = %gw.https_addr, admin = %gw.admin_addr, "mfagate serving");
            })
        }
        Command::Admin(args) => match mfagate::cli::admin::run(*args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Command::Reload(args) => match mfagate::cli::reload::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Command::Audit(args) => match mfagate::cli::audit::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        #[cfg(feature = "demo")]
        Command::Demo {
            listen,
            dashboard_only,
            dashboard_listen,
        } => demo_command::run(listen, dashboard_only, dashboard_listen),
    }
}

/// Starts the gateway, waits for SIGINT/SIGTERM, then drains and exits 0.
/// How often the certificate and key files are checked for a renewal.
const FILE_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves until SIGTERM or SIGINT. SIGHUP reloads the config file at `path` (a gateway started
/// without one, the demo, has nothing to reload), and so does a renewed certificate or key.
fn run_until_signal(
    config: Config,
    path: Option<PathBuf>,
    started: impl FnOnce(&proxy::RunningGateway),
) -> ExitCode {
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let data_dir = config.data_dir.clone();
    let gateway = match proxy::start(config) {
        Ok(gw) => gw,
        Err(e) => return fail(e.into()),
    };
    started(&gateway);
    let pid_file = mfagate::cli::reload::PidFile::write(&data_dir, gateway.admin_addr);
    if let Err(e) = &pid_file {
        tracing::warn!(error = %e, "cannot write the pid file; `mfagate reload` will not find this gateway");
    }
    let reload = |why: &str| match &path {
        // The outcome is logged and counted by the gateway.
        Some(path) => drop(gateway.reload_from(path)),
        None => tracing::warn!(why, "no config file to reload (started without one)"),
    };
    let woke = signals.wait(|wake| match wake {
        Wake::Hangup => reload("SIGHUP"),
        Wake::Tick if gateway.certificates_changed() => {
            tracing::info!("certificate or key files changed on disk; reloading");
            reload("certificate files changed");
        }
        Wake::Tick => {}
    });
    if let Err(e) = woke {
        return fail(e);
    }
    tracing::info!("shutting down: draining in-flight requests");
    gateway.shutdown();
    gateway.join();
    drop(pid_file);
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// What wakes the signal loop besides a stop.
enum Wake {
    Hangup,
    Tick,
}

struct Signals {
    rt: tokio::runtime::Runtime,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (term, int, hup) = rt.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
                signal(SignalKind::hangup())?,
            ))
        })?;
        Ok(Self { rt, term, int, hup })
    }

    /// Returns on SIGTERM or SIGINT; calls `woke` on SIGHUP and every `FILE_CHECK`.
    fn wait(mut self, mut woke: impl FnMut(Wake)) -> anyhow::Result<()> {
        self.rt.block_on(async {
            let mut tick = tokio::time::interval(FILE_CHECK);
            loop {
                tokio::select! {
                    _ = self.term.recv() => break,
                    _ = self.int.recv() => break,
                    _ = self.hup.recv() => woke(Wake::Hangup),
                    _ = tick.tick() => woke(Wake::Tick),
                }
            }
        });
        Ok(())
    }
}

fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}

/// `mfagate demo`: the demo dashboard with the gateway in front of it. Left out of builds
/// without the `demo` feature.
#[cfg(feature = "demo")]
mod demo_command {
    use std::net::SocketAddr;
    use std::process::ExitCode;

    use mfagate::config::{LogConfig, LogFormat};
    use mfagate::{demo, logging};

    use super::{fail, run_until_signal, Signals};

    pub(super) fn run(
        listen: Option<SocketAddr>,
        dashboard_only: bool,
        dashboard_listen: SocketAddr,
    ) -> ExitCode {
        let _log = logging::init(&LogConfig {
            format: LogFormat::Auto,
            level: "info".into(),
        });
        let dashboard = match demo::spawn_dashboard(dashboard_listen) {
            Ok(addr) => addr,
            Err(e) => return fail(e),
        };
        if dashboard_only {
            let signals = match Signals::install() {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            say(&format!(
                "demo dashboard on http://{dashboard}  (Ctrl-C to stop)"
            ));
            return signals
                .wait(|_| {})
                .map_or_else(fail, |_| ExitCode::SUCCESS);
        }
        let base = match std::env::current_dir() {
            Ok(d) => d,
            Err(e) => return fail(e.into()),
        };
        if let Err(e) = demo::ensure_dev_certificate(&base.join(demo::DEV_CERT_DIR))
            .and_then(|_| demo::ensure_master_key(&base.join(demo::DEMO_KEY_FILE)))
            .and_then(|_| demo::ensure_member_hash_secret(&base.join(demo::DEMO_MEMBER_HASH_FILE)))
        {
            return fail(e);
        }
        let config = match demo::demo_config(&base, dashboard, listen) {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let data_dir = config.data_dir.clone();
        run_until_signal(config, None, |gw| {
            let url = format!("https://localhost:{}/", gw.https_addr.port());
            say(&demo::banner(&url, gw.admin_addr, dashboard, &data_dir));
        })
    }

    /// Prints to stdout; a closed stdout (piped into `head`, say) must not take the gateway down.
    fn say(text: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "{text}");
    }
}
