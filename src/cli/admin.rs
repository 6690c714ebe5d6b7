//! `mfagate admin …`: MFA administration from a shell, for ops automation and break-glass.
//! It works either against a running gateway's admin API (`--url` and `--token`), or, when
//! the gateway is down, directly on its store with its config file (`--config`), like
//! Authelia's `storage user totp delete`. Both give the same JSON (`--json`) or a table. In
//! direct mode the actor is `cli` with every environment, and the core does the work exactly
//! as for the console: sessions end everywhere (Redis events reach running instances), the
//! dashboard is signed out, users are emailed, everything is audited.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use clap::Subcommand;
use serde_json::{json, Value};

use rustls::pki_types::pem::PemObject;

use crate::config::{Config, UpstreamTls};
use crate::domain::Role;
use crate::gate::admin::{select, Admin, UserFilter, PAGE_SIZE};
use crate::gate::auth::Auth;
use crate::web::admin_api::{UserDetail, UsersPage};

#[derive(clap::Args)]
pub struct AdminArgs {
    /// Work on the store directly with this config (the gateway must be stopped when the
    /// store is the embedded one).
    #[arg(long, short, conflicts_with = "url")]
    pub config: Option<PathBuf>,
    /// A running gateway, e.g. https://chat.example.com (its admin API).
    #[arg(long, requires = "token")]
    pub url: Option<String>,
    /// An admin API token; prefer MFAGATE_ADMIN_TOKEN (a command line is visible to others).
    #[arg(long, env = "MFAGATE_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA certificates (PEM) to verify the gateway with, instead of the system's.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// The gateway's `gateway_prefix`, when it is not the default.
    #[arg(long, default_value = "/.mfagate/")]
    pub prefix: String,
    /// Connect to this address instead of resolving the URL's host (as curl's --connect-to).
    #[arg(long)]
    pub connect_to: Option<SocketAddr>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Print a new admin API token and the SHA-256 to configure for it.
    Token,
    /// Users and their second factors.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Reset a user's second factor (factors, backup codes, trusted devices; signed out).
    ResetMfa {
        user: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Sign a user out everywhere.
    Logout {
        user: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Send a user's codes and notices to another address (both addresses are told).
    SetEmail {
        user: String,
        email: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Lift a user's code-entry block.
    Unblock {
        user: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Recovery requests.
    Recovery {
        #[command(subcommand)]
        command: RecoveryCommand,
    },
}

#[derive(Subcommand)]
pub enum UsersCommand {
    List {
        #[arg(long)]
        no_factor: bool,
        #[arg(long)]
        env: Option<String>,
    },
    Show {
        user: String,
    },
}

#[derive(Subcommand)]
pub enum RecoveryCommand {
    List,
    Approve { user: String },
    Dismiss { user: String },
}

/// One request of the CLI, as the admin API names it.
enum Call {
    Get(String),
    Post(String, Value),
}

impl AdminCommand {
    fn call(&self) -> Call {
        let enc = |u: &str| -> String {
            percent_encoding::utf8_percent_encode(u, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        match self {
            Self::Token => Call::Get(String::new()),
            Self::Users {
                command: UsersCommand::List { no_factor, env },
            } => {
                let mut q = form_urlencoded::Serializer::new(String::new());
                if *no_factor {
                    q.append_pair("no_factor", "true");
                }
                if let Some(e) = env {
                    q.append_pair("env", e);
                }
                Call::Get(format!("/users?{}", q.finish()))
            }
            Self::Users {
                command: UsersCommand::Show { user },
            } => Call::Get(format!("/users/{}", enc(user))),
            Self::ResetMfa { user, reason } => Call::Post(
                format!("/users/{}/reset-mfa", enc(user)),
                json!({ "reason": reason }),
            ),
            Self::Logout { user, reason } => Call::Post(
                format!("/users/{}/logout", enc(user)),
                json!({ "reason": reason }),
            ),
            Self::Unblock { user, reason } => Call::Post(
                format!("/users/{}/unblock", enc(user)),
                json!({ "reason": reason }),
            ),
            Self::SetEmail {
                user,
                email,
                reason,
            } => Call::Post(
                format!("/users/{}/email", enc(user)),
                json!({ "email": email, "reason": reason }),
            ),
            Self::Recovery {
                command: RecoveryCommand::List,
            } => Call::Get("/recovery".into()),
            Self::Recovery {
                command: RecoveryCommand::Approve { user },
            } => Call::Post(format!("/recovery/{}/approve", enc(user)), json!({})),
            Self::Recovery {
                command: RecoveryCommand::Dismiss { user },
            } => Call::Post(format!("/recovery/{}/dismiss", enc(user)), json!({})),
        }
    }
}

/// Runs the command; the answer is printed.
pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    if let AdminCommand::Token = args.command {
        return print_token();
    }
    let answer = match (&args.config, &args.url) {
        (Some(path), _) => direct(path, &args.command)?,
        (None, Some(url)) => remote(&args, url)?,
        (None, None) => {
            bail!("say where: --config FILE (the store directly) or --url URL --token TOKEN")
        }
    };
    print(&args, &answer);
    Ok(())
}

fn print_token() -> anyhow::Result<()> {
    let mut raw = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
        .map_err(|_| anyhow!("no randomness"))?;
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    println!("token:  {token}\nsha256: {hex}\n\nPut the sha256 into [[admin_tokens]]; keep the token secret.");
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The command on the store, as the admin API would answer it.
fn direct(path: &std::path::Path, command: &AdminCommand) -> anyhow::Result<Value> {
    let config = Config::load(path).map_err(|e| anyhow!("{} is invalid:\n{e}", path.display()))?;
    let envs: Vec<String> = config.environments.iter().map(|e| e.name.clone()).collect();
    let (auth, mail) = crate::proxy::server::open_core(config)
        .context("cannot open the store (is the gateway running? then use --url)")?;
    let rt = runtime()?;
    let answer = rt.block_on(on_core(&auth, &envs, command));
    drop(auth);
    // Deliver the notices the action queued (the worker ends once the queue is closed).
    rt.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(30), mail)
            .await
            .ok()
    });
    answer
}

async fn on_core(
    auth: &Arc<Auth>,
    envs: &[String],
    command: &AdminCommand,
) -> anyhow::Result<Value> {
    let admin = Admin {
        user: "cli",
        role: Role::Owner,
        envs,
    };
    let ctx = auth.background_context(envs.first().map_or("", String::as_str));
    let now = auth.clock.now();
    let done = |ended: Option<usize>| json!({ "done": true, "ended_sessions": ended });
    Ok(match command {
        AdminCommand::Token => Value::Null,
        AdminCommand::Users {
            command: UsersCommand::List { no_factor, env },
        } => {
            let all = auth.admin_users(&admin, now).await?;
            let filter = UserFilter {
                env: env.clone(),
                no_factor: *no_factor,
                ..UserFilter::default()
            };
            let (users, total) = select(all, &UserFilter { page: 0, ..filter });
            serde_json::to_value(UsersPage {
                users,
                total,
                page: 0,
                page_size: PAGE_SIZE,
            })?
        }
        AdminCommand::Users {
            command: UsersCommand::Show { user },
        } => {
            let status = auth.admin_user(&admin, user, now).await?;
            serde_json::to_value(UserDetail::of(auth, status).await?)?
        }
        AdminCommand::ResetMfa { user, reason } => {
            done(Some(auth.reset_mfa(&admin, user, reason, ctx).await?))
        }
        AdminCommand::Logout { user, reason } => {
            done(Some(auth.admin_logout(&admin, user, reason, ctx).await?))
        }
        AdminCommand::Unblock { user, reason } => {
            auth.unblock(&admin, user, reason, ctx).await?;
            done(None)
        }
        AdminCommand::SetEmail {
            user,
            email,
            reason,
        } => {
            auth.change_email(&admin, user, email, reason, ctx).await?;
            done(None)
        }
        AdminCommand::Recovery {
            command: RecoveryCommand::List,
        } => {
            let requests = auth.recovery_requests(&admin).await?;
            json!({ "requests": requests.into_iter().map(crate::web::admin_api::recovery_view).collect::<Vec<_>>() })
        }
        AdminCommand::Recovery {
            command: RecoveryCommand::Approve { user },
        } => {
            auth.decide_recovery(&admin, user, true, ctx).await?;
            done(None)
        }
        AdminCommand::Recovery {
            command: RecoveryCommand::Dismiss { user },
        } => {
            auth.decide_recovery(&admin, user, false, ctx).await?;
            done(None)
        }
    })
}

/// The command against a running gateway's admin API.
fn remote(args: &AdminArgs, url: &str) -> anyhow::Result<Value> {
    let base: http::Uri = url
        .parse()
        .with_context(|| format!("{url:?} is not a URL"))?;
    if base.scheme_str() != Some("https") {
        bail!("--url must be https (the admin API is on the TLS listener)");
    }
    let token = args
        .token
        .as_deref()
        .ok_or_else(|| anyhow!("--token (or MFAGATE_ADMIN_TOKEN) is needed with --url"))?;
    let tls = match &args.ca_file {
        Some(path) => {
            let pem =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()?;
            UpstreamTls::CaFile(certs)
        }
        None => UpstreamTls::SystemRoots,
    };
    let roots = Arc::new(match &tls {
        UpstreamTls::SystemRoots => crate::tls::load_system_roots(),
        _ => rustls::RootCertStore::empty(),
    });
    let tls = crate::proxy::tls::client_config(&tls, &roots)?;
    let (path, body) = match args.command.call() {
        Call::Get(p) => (p, None),
        Call::Post(p, body) => (p, Some(body.to_string())),
    };
    let authority = base
        .authority()
        .ok_or_else(|| anyhow!("{url:?} has no host"))?
        .to_string();
    let prefix = format!("/{}/", args.prefix.trim_matches('/'));
    let uri = format!(
        "https://{authority}{prefix}{}{path}",
        crate::web::admin_api::BASE
    );
    runtime()?.block_on(send(tls, args.connect_to, &uri, token, body))
}

async fn send(
    tls: rustls::ClientConfig,
    connect_to: Option<SocketAddr>,
    uri: &str,
    token: &str,
    body: Option<String>,
) -> anyhow::Result<Value> {
    use http_body_util::BodyExt;
    use hyper_util::client::legacy::connect::HttpConnector;
    let resolver = tower::service_fn(
        move |name: hyper_util::client::legacy::connect::dns::Name| async move {
            let addrs: Vec<SocketAddr> = match connect_to {
                Some(addr) => vec![addr],
                None => tokio::net::lookup_host((name.as_str(), 443))
                    .await?
                    .collect(),
            };
            Ok::<_, std::io::Error>(addrs.into_iter())
        },
    );
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, http_body_util::Full<bytes::Bytes>>(https);
    let mut req = http::Request::builder()
        .uri(uri)
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .method(if body.is_some() {
            http::Method::POST
        } else {
            http::Method::GET
        });
    if body.is_some() {
        req = req.header(http::header::CONTENT_TYPE, "application/json");
    }
    let req = req.body(http_body_util::Full::new(bytes::Bytes::from(
        body.unwrap_or_default(),
    )))?;
    let resp = client
        .request(req)
        .await
        .context("the gateway did not answer")?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await?.to_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "the gateway answered {status}: {}",
            value["error"].as_str().unwrap_or("?")
        );
    }
    Ok(value)
}

fn print(args: &AdminArgs, answer: &Value) {
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(answer).unwrap_or_default()
        );
        return;
    }
    if let Some(users) = answer["users"].as_array() {
        println!(
            "{:<32} {:<10} {:<16} {:<8} {:>8}  NOTE",
            "USER", "ROLE", "ENVIRONMENTS", "FACTOR", "SESSIONS"
        );
        for u in users {
            let envs: Vec<&str> = u["environments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let factor = if u["totp"] == true { "app" } else { "none" };
            let note = match (&u["blocked_until"], &u["logged_out_at"]) {
                (Value::Number(t), _) => format!(
                    "blocked until {}",
                    crate::clock::utc(t.as_u64().unwrap_or(0))
                ),
                (_, Value::Number(t)) => format!(
                    "signed out on {}",
                    crate::clock::utc(t.as_u64().unwrap_or(0))
                ),
                _ => String::new(),
            };
            println!(
                "{:<32} {:<10} {:<16} {:<8} {:>8}  {note}",
                u["user"].as_str().unwrap_or(""),
                u["role"].as_str().unwrap_or(""),
                envs.join(","),
                factor,
                u["sessions"]
            );
        }
        println!("{} user(s)", answer["total"]);
    } else if let Some(requests) = answer["requests"].as_array() {
        for r in requests {
            println!(
                "{:<32} {:<10} asked {}",
                r["user"].as_str().unwrap_or(""),
                r["state"].as_str().unwrap_or(""),
                crate::clock::utc(r["requested_at"].as_u64().unwrap_or(0))
            );
        }
        println!("{} request(s)", requests.len());
    } else if answer["done"] == true {
        match answer["ended_sessions"].as_u64() {
            Some(n) => println!("done; {n} session(s) ended"),
            None => println!("done"),
        }
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(answer).unwrap_or_default()
        );
    }
}
