//! Email (DESIGN.md `notify/`): lettre over SMTP (STARTTLS, implicit TLS, or plain for a local
//! relay) or a file transport writing `.eml` files for trials. Messages go through a bounded
//! queue; a code email reports its first attempt to the page, notifications retry with backoff.

pub mod messages;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::Environment;
use tokio::sync::{mpsc, oneshot};

use crate::config::{MailConfig, MailTransport, SmtpSecurity};
pub use messages::Email;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("mail setup: {0}")]
    Setup(String),
    #[error("message could not be built: {0}")]
    Build(String),
    #[error("sending failed: {0}")]
    Send(String),
    #[error("the mail queue is full")]
    QueueFull,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

impl Transport {
    fn new(config: &MailConfig) -> Result<Self, NotifyError> {
        let setup = |e: lettre::transport::smtp::Error| NotifyError::Setup(e.to_string());
        Ok(match &config.transport {
            MailTransport::File { dir } => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    NotifyError::Setup(format!("cannot create {}: {e}", dir.display()))
                })?;
                Self::File(AsyncFileTransport::new(dir), dir.clone())
            }
            MailTransport::Smtp {
                host,
                port,
                security,
                ca_certs,
                credentials,
            } => {
                let mut tls = TlsParameters::builder(host.clone());
                for der in ca_certs {
                    let cert = Certificate::from_der(der.to_vec()).map_err(setup)?;
                    tls = tls.add_root_certificate(cert);
                }
                let tls = tls.build_rustls().map_err(setup)?;
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(*port)
                    .timeout(Some(config.timeout))
                    .tls(match security {
                        SmtpSecurity::StartTls => Tls::Required(tls),
                        SmtpSecurity::Tls => Tls::Wrapper(tls),
                        SmtpSecurity::None => Tls::None,
                    });
                if let Some((user, password)) = credentials {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Self::Smtp(builder.build())
            }
        })
    }

    async fn send(&self, message: Message) -> Result<(), NotifyError> {
        match self {
            Self::Smtp(t) => t
                .send(message)
                .await
                .map(drop)
                .map_err(|e| NotifyError::Send(e.to_string())),
            Self::File(t, dir) => {
                let id = t
                    .send(message)
                    .await
                    .map_err(|e| NotifyError::Send(e.to_string()))?;
                tracing::info!(path = %dir.join(format!("{id}.eml")).display(), "email written to the outbox");
                Ok(())
            }
        }
    }
}

struct Job {
    message: Message,
    /// Present for code emails: the caller waits for the first attempt.
    done: Option<oneshot::Sender<Result<(), NotifyError>>>,
}

/// Handle for sending mail; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    queue: mpsc::Sender<Job>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    timeout: Duration,
    /// Each environment's look (logo, colour, support contact), by the display name its
    /// emails carry.
    branding: std::collections::HashMap<String, crate::config::model::Branding>,
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_template("email.txt", include_str!("templates/email.txt"))
            .expect("built-in template");
        env.add_template("email.html", include_str!("templates/email.html"))
            .expect("built-in template");
        env
    })
}

impl Mailer {
    /// The handle and the worker future that delivers queued mail (run it on a runtime).
    pub fn start(
        config: &MailConfig,
    ) -> Result<(Self, impl std::future::Future<Output = ()> + Send), NotifyError> {
        let transport = Arc::new(Transport::new(config)?);
        let parse = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|e| NotifyError::Setup(e.to_string()))
        };
        let (queue, mut jobs) = mpsc::channel::<Job>(config.queue);
        let retries = config.retries;
        let worker = async move {
            while let Some(job) = jobs.recv().await {
                let transport = transport.clone();
                tokio::spawn(deliver(transport, job, retries));
            }
        };
        Ok((
            Self {
                queue,
                from: parse(&config.from)?,
                reply_to: config.reply_to.as_deref().map(parse).transpose()?,
                timeout: config.timeout,
                branding: Default::default(),
            },
            worker,
        ))
    }

    /// Gives every email of the environment named `brand` its logo, colour and support
    /// contact.
    pub fn with_branding(
        mut self,
        branding: std::collections::HashMap<String, crate::config::model::Branding>,
    ) -> Self {
        self.branding = branding;
        self
    }

    fn build(&self, email: &Email) -> Result<Message, NotifyError> {
        let branding = self.branding.get(&email.brand);
        let ctx = letter(email, branding);
        let render = |name| {
            templates()
                .get_template(name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| NotifyError::Build(e.to_string()))
        };
        let to = email
            .to
            .parse::<Mailbox>()
            .map_err(|e| NotifyError::Build(e.to_string()))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject);
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let logo = branding.and_then(|b| b.logo.as_ref());
        let body = body(render("email.txt")?, render("email.html")?, logo)?;
        builder
            .multipart(body)
            .map_err(|e| NotifyError::Build(e.to_string()))
    }

    /// Sends a code email and waits for the outcome of the first attempt (bounded by the
    /// transport timeout), so the page can say when the code could not be sent.
    pub async fn send_now(&self, email: &Email) -> Result<(), NotifyError> {
        let (done, outcome) = oneshot::channel();
        let job = Job {
            message: self.build(email)?,
            done: Some(done),
        };
        self.queue
            .try_send(job)
            .map_err(|_| NotifyError::QueueFull)?;
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), outcome).await {
            Ok(Ok(result)) => result,
            _ => Err(NotifyError::Send(
                "no answer from the mail transport in time".into(),
            )),
        }
    }

    /// Queues a notification; delivery is retried in the background.
    pub fn notify(&self, email: &Email) {
        let queued = self.build(email).and_then(|message| {
            self.queue
                .try_send(Job {
                    message,
                    done: None,
                })
                .map_err(|_| NotifyError::QueueFull)
        });
        if let Err(e) = queued {
            tracing::warn!(error = %e, subject = %email.subject, "notification not queued");
        }
    }
}

async fn deliver(transport: Arc<Transport>, job: Job, retries: u32) {
    let mut result = transport.send(job.message.clone()).await;
    if let Some(done) = job.done {
        // Code emails are not retried behind the user's back: the page offers "send again".
        let _ = done.send(result);
        return;
    }
    let mut backoff = Duration::from_secs(1);
    for _ in 0..retries {
        let Err(e) = &result else { return };
        tracing::warn!(error = %e, "notification failed; retrying");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
        result = transport.send(job.message.clone()).await;
    }
    if let Err(e) = result {
        tracing::error!(error = %e, "notification could not be delivered");
    }
}

/// What the templates show of an email: its lines, and the parts the mailer adds in the
/// email's language (footer, support contact) with the environment's colour and logo.
fn letter(email: &Email, branding: Option<&crate::config::model::Branding>) -> minijinja::Value {
    let w = crate::i18n::Words(email.lang);
    let brand = [("brand", email.brand.as_str().into())];
    let footer = match email.code {
        Some(_) => w.with("mail-footer-code", &brand),
        None => w.with("mail-footer", &brand),
    };
    // Where the environment's people get help (`[environments.branding] support`).
    let support = branding.and_then(|b| b.support.as_ref());
    let support_line =
        support.map(|s| w.with("mail-support", &[("contact", s.text.as_str().into())]));
    minijinja::context! {
        lang => email.lang.tag(),
        support_line => support_line,
        code_label => w.get("mail-code-is"),
        footer => footer,
        color => branding.and_then(|b| b.color.as_deref()),
        logo => branding.is_some_and(|b| b.logo.is_some()),
        ..minijinja::Value::from_serialize(email)
    }
}

/// Plain text and HTML; with a logo, the HTML and the image travel together (`cid:logo`):
/// mail clients block remote images, and the gateway's address may not be reachable from the
/// reader's.
fn body(
    text: String,
    html: String,
    logo: Option<&crate::config::model::Logo>,
) -> Result<MultiPart, NotifyError> {
    let Some(logo) = logo else {
        return Ok(MultiPart::alternative_plain_html(text, html));
    };
    let kind =
        ContentType::parse(logo.content_type).map_err(|e| NotifyError::Build(e.to_string()))?;
    let image = Attachment::new_inline("logo".into()).body(logo.bytes.to_vec(), kind);
    let related = MultiPart::related()
        .singlepart(SinglePart::html(html))
        .singlepart(image);
    Ok(MultiPart::alternative()
        .singlepart(SinglePart::plain(text))
        .multipart(related))
}
