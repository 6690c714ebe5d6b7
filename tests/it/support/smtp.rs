//! A minimal SMTP server for tests: it speaks enough of RFC 5321 for lettre (EHLO, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT) and keeps every message it receives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    /// Whether the message arrived over TLS.
    pub encrypted: bool,
}

#[derive(Clone, Default)]
pub struct SmtpSink {
    pub addr: Option<SocketAddr>,
    messages: Arc<Mutex<Vec<Received>>>,
}

/// How the sink speaks TLS.
#[derive(Clone)]
pub enum SinkTls {
    Plain,
    /// Advertises STARTTLS and upgrades when asked.
    StartTls(Arc<rustls::ServerConfig>),
    /// TLS from the first byte (SMTPS).
    Implicit(Arc<rustls::ServerConfig>),
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_with(SinkTls::Plain).await
    }

    pub async fn start_with(tls: SinkTls) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Self {
            addr: Some(listener.local_addr().unwrap()),
            messages: Arc::default(),
        };
        let messages = sink.messages.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (messages, tls) = (messages.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        SinkTls::Plain => session(stream, messages, true, false).await,
                        SinkTls::Implicit(config) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(config);
                            if let Ok(tls) = acceptor.accept(stream).await {
                                session(tls, messages, true, true).await;
                            }
                        }
                        SinkTls::StartTls(config) => starttls(stream, messages, config).await,
                    }
                });
            }
        });
        sink
    }

    pub fn port(&self) -> u16 {
        self.addr.unwrap().port()
    }

    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits (bounded) until `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            if self.messages.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let got = self.messages();
        assert!(got.len() >= n, "expected {n} messages, got {}", got.len());
        got
    }
}

/// The plain part of a STARTTLS session: greet, answer EHLO advertising STARTTLS, and on
/// STARTTLS hand the connection to TLS and the normal session (which gets EHLO again).
async fn starttls(
    mut stream: tokio::net::TcpStream,
    messages: Arc<Mutex<Vec<Received>>>,
    config: Arc<rustls::ServerConfig>,
) {
    let _ = stream.write_all(b"220 sink.test ESMTP ready\r\n").await;
    loop {
        // Read one line byte by byte so no TLS bytes are buffered away from the handshake.
        let mut line = Vec::new();
        loop {
            let mut b = [0u8; 1];
            if tokio::io::AsyncReadExt::read(&mut stream, &mut b)
                .await
                .unwrap_or(0)
                == 0
            {
                return;
            }
            if b[0] == b'\n' {
                break;
            }
            line.push(b[0]);
        }
        let line = String::from_utf8_lossy(&line).trim().to_ascii_uppercase();
        if line.starts_with("EHLO") {
            let _ = stream.write_all(b"250-sink.test\r\n250 STARTTLS\r\n").await;
        } else if line == "STARTTLS" {
            let _ = stream.write_all(b"220 go ahead\r\n").await;
            if let Ok(tls) = tokio_rustls::TlsAcceptor::from(config).accept(stream).await {
                session(tls, messages, false, true).await;
            }
            return;
        } else {
            let _ = stream.write_all(b"530 STARTTLS first\r\n").await;
        }
    }
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    messages: Arc<Mutex<Vec<Received>>>,
    greet: bool,
    encrypted: bool,
) {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    if greet {
        let _ = write.write_all(b"220 sink.test ESMTP ready\r\n").await;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().trim_matches(['<', '>']).to_string());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 end with .\r\n").await;
            let mut data = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push('\n');
            }
            messages.lock().unwrap().push(Received {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
                encrypted,
            });
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The 6-digit code in a sign-in email.
pub fn code_in(message: &Received) -> String {
    let at = message
        .data
        .find("Your code: ")
        .unwrap_or_else(|| panic!("no code in {}", message.data));
    message.data[at + 11..at + 17].to_string()
}
