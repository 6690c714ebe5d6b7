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
            run_until_signal(config, |gw| {
                tracing::info!(https = %gw.https_addr, admin = %gw.admin_addr, "mfagate serving");
            })
        }
        Command::Admin(args) => match mfagate::cli::admin::run(*args) {
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
fn run_until_signal(config: Config, started: impl FnOnce(&proxy::RunningGateway)) -> ExitCode {
    // Signal handlers first: a signal that arrives right after start must still drain.
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let gateway = match proxy::start(config) {
        Ok(gw) => gw,
        Err(e) => return fail(e.into()),
    };
    started(&gateway);
    if let Err(e) = signals.wait() {
        return fail(e);
    }
    tracing::info!("shutting down: draining in-flight requests");
    gateway.shutdown();
    gateway.join();
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// SIGINT/SIGTERM, registered when created.
struct Signals {
    rt: tokio::runtime::Runtime,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (term, int) = rt.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            ))
        })?;
        Ok(Self { rt, term, int })
    }

    fn wait(mut self) -> anyhow::Result<()> {
        self.rt.block_on(async {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
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
            return signals.wait().map_or_else(fail, |_| ExitCode::SUCCESS);
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
        run_until_signal(config, |gw| {
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
