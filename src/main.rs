//! Command line: `serve`, `demo`, `validate-config`, `admin`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mfagate::config::Config;
use mfagate::proxy::upgrade::Handover;
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
        /// Take over the listening sockets of the gateway running on the same data directory
        /// (a new version, without refusing a connection); it stops accepting and drains.
        #[arg(long)]
        upgrade: bool,
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
        Command::Serve {
            config: path,
            upgrade,
        } => {
            let config = match Config::load(&path) {
                Ok(c) => c,
                Err(errors) => {
                    eprintln!("{} is invalid:\n{errors}", path.display());
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let _log = logging::init(&config.log);
            let start = Start {
                path: Some(path),
                upgrade,
            };
            run_until_signal(config, start, |gw| {
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

/// How `serve` starts: the config file to reload (the demo has none), and whether it takes
/// over from a running gateway.
struct Start {
    path: Option<PathBuf>,
    upgrade: bool,
}

/// How long an upgrading gateway waits for its workers before giving up.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves until SIGTERM or SIGINT, or until a newer gateway took over (then drains). SIGHUP
/// reloads the config file (a gateway started without one, the demo, has nothing to reload),
/// and so does a renewed certificate or key.
fn run_until_signal(
    config: Config,
    start: Start,
    started: impl FnOnce(&proxy::RunningGateway),
) -> ExitCode {
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let data_dir = config.data_dir.clone();
    let (gateway, old) = match start_gateway(config, start.upgrade) {
        Ok(started) => started,
        Err(e) => return fail(e),
    };
    started(&gateway);
    if let Some(old) = old {
        if let Err(e) = say_ready(&gateway, old) {
            gateway.shutdown();
            gateway.join();
            return fail(e);
        }
    }
    if let Err(e) = gateway.offer_upgrades() {
        tracing::warn!(error = %e, "cannot offer upgrades; `serve --upgrade` will not find this gateway");
    }
    let pid_file = mfagate::cli::reload::PidFile::write(&data_dir, gateway.admin_addr);
    if let Err(e) = &pid_file {
        tracing::warn!(error = %e, "cannot write the pid file; `mfagate reload` will not find this gateway");
    }
    let reload = |why: &str| match &start.path {
        // The outcome is logged and counted by the gateway.
        Some(path) => drop(gateway.reload_from(path)),
        None => tracing::warn!(why, "no config file to reload (started without one)"),
    };
    let stop = signals.wait(gateway.handed_over(), |wake| match wake {
        Wake::Hangup => reload("SIGHUP"),
        Wake::Tick if gateway.certificates_changed() => {
            tracing::info!("certificate or key files changed on disk; reloading");
            reload("certificate files changed");
        }
        Wake::Tick => {}
    });
    match stop {
        Ok(Stop::Signal) => {
            tracing::info!("shutting down: draining in-flight requests");
            gateway.shutdown();
        }
        Ok(Stop::HandedOver(Handover::Retire)) => {
            tracing::info!("a new gateway serves on the sockets: draining");
            gateway.retire();
        }
        Ok(Stop::HandedOver(Handover::Release)) => {
            tracing::info!("a new gateway took the sockets and waits for the store: stopping");
            gateway.shutdown();
        }
        Err(e) => return fail(e),
    }
    gateway.join();
    drop(pid_file);
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Starts on fresh sockets, or on the running gateway's. With a shared store both serve for a
/// while; the embedded store is one process's only, so the old one exits first.
fn start_gateway(
    config: Config,
    upgrade: bool,
) -> anyhow::Result<(
    proxy::RunningGateway,
    Option<std::os::unix::net::UnixStream>,
)> {
    if !upgrade {
        return Ok((proxy::start(config)?, None));
    }
    let (sockets, old) = proxy::upgrade::take_over(&config.data_dir)?;
    if matches!(config.store, mfagate::config::StoreBackend::Embedded) {
        // Past `release` the old gateway is gone: whatever could refuse this start is
        // checked first (a failure here leaves it serving).
        proxy::preflight(&config, &sockets)?;
        let within = config.timeouts.shutdown_drain + READY_WITHIN;
        proxy::upgrade::release(old, within)?;
        tracing::info!("the running gateway released the embedded store");
        return Ok((proxy::start_with(config, Some(sockets))?, None));
    }
    let gateway = proxy::start_with(config, Some(sockets))?;
    // Both serve until this one says it is ready.
    Ok((gateway, Some(old)))
}

/// Once every worker accepts, tells the old gateway to stop accepting.
fn say_ready(
    gateway: &proxy::RunningGateway,
    old: std::os::unix::net::UnixStream,
) -> anyhow::Result<()> {
    let since = std::time::Instant::now();
    // Ready means every worker accepts and, with a shared store, its events are fresh: one
    // that cannot reach Redis would fail closed, so the old one must not retire for it.
    let stale = || {
        gateway
            .current_auth()
            .is_some_and(|a| a.revocations_stale())
    };
    while !gateway.readiness.get() || stale() {
        if since.elapsed() > READY_WITHIN {
            anyhow::bail!(
                "not ready (workers, or the shared store) in time; the running gateway keeps serving"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    proxy::upgrade::say_ready(old)?;
    tracing::info!("took over from the running gateway");
    Ok(())
}

/// Why the signal loop ended.
enum Stop {
    Signal,
    HandedOver(Handover),
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

    /// Returns on SIGTERM or SIGINT, or once `handed_over` turns true; calls `woke` on
    /// SIGHUP and every `FILE_CHECK`.
    fn wait(
        mut self,
        mut handed_over: tokio::sync::watch::Receiver<Option<Handover>>,
        mut woke: impl FnMut(Wake),
    ) -> anyhow::Result<Stop> {
        Ok(self.rt.block_on(async {
            let mut tick = tokio::time::interval(FILE_CHECK);
            loop {
                tokio::select! {
                    _ = self.term.recv() => return Stop::Signal,
                    _ = self.int.recv() => return Stop::Signal,
                    Ok(how) = handed_over.wait_for(Option::is_some) => {
                        return Stop::HandedOver((*how).unwrap_or(Handover::Retire));
                    }
                    _ = self.hup.recv() => woke(Wake::Hangup),
                    _ = tick.tick() => woke(Wake::Tick),
                }
            }
        }))
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
            let never = tokio::sync::watch::channel(None).1;
            return signals
                .wait(never, |_| {})
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
        let start = super::Start {
            path: None,
            upgrade: false,
        };
        run_until_signal(config, start, |gw| {
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
