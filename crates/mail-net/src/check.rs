//! The connection test: logs in to the configured mailbox and SMTP server step by step
//! (DNS, TCP, TLS, greeting, login, mailbox size / EHLO and AUTH) and reports each
//! step, so an operator sees at once which one fails and why.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Error;
use crate::config::{MailboxConfig, MailboxProtocol, SmtpConfig};
use crate::pop3::Session;
use crate::smtp::SmtpSession;
use crate::tls::{self, MailStream, TlsMode};

/// One step of a connection test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// What was tried: `config`, `dns`, `tcp`, `tls`, `greeting`, `auth`, `mailbox`,
    /// `ehlo`, `starttls`.
    pub name: &'static str,
    /// Whether it worked.
    pub ok: bool,
    /// What was found, or why it failed.
    pub detail: String,
    /// How long it took, in milliseconds (for the operator; nothing depends on it).
    pub millis: u64,
}

/// The steps of one connection test, in order; it stops at the first failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// What was tested (`mailbox` or `smtp`).
    pub target: &'static str,
    /// `host:port`.
    pub server: String,
    /// The steps tried.
    pub steps: Vec<Step>,
}

impl CheckReport {
    /// Whether every step passed (and there was at least one).
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|step| step.ok)
    }
}

struct Steps {
    steps: Vec<Step>,
    started: Instant,
}

impl Steps {
    fn new() -> Steps {
        Steps {
            steps: Vec::new(),
            started: Instant::now(),
        }
    }

    fn record<T>(&mut self, name: &'static str, result: Result<(T, String), Error>) -> Option<T> {
        let millis = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.started = Instant::now();
        match result {
            Ok((value, detail)) => {
                self.steps.push(Step {
                    name,
                    ok: true,
                    detail,
                    millis,
                });
                Some(value)
            }
            Err(error) => {
                self.steps.push(Step {
                    name,
                    ok: false,
                    detail: error.to_string(),
                    millis,
                });
                None
            }
        }
    }
}

async fn connect_steps(
    steps: &mut Steps,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Option<tokio::net::TcpStream> {
    let addrs = steps.record(
        "dns",
        tls::resolve(host, port, timeout).await.map(|addrs| {
            let shown = addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            (addrs, shown)
        }),
    )?;
    steps.record(
        "tcp",
        tls::connect_tcp(&addrs, timeout).await.map(|stream| {
            let peer = stream
                .peer_addr()
                .map(|addr| addr.to_string())
                .unwrap_or_default();
            (stream, format!("connected to {peer}"))
        }),
    )
}

fn tls_mode_name(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Implicit => "implicit",
        TlsMode::Starttls => "starttls",
        TlsMode::None => "none",
    }
}

/// Tests the `[mailbox]` settings: DNS, TCP, TLS, greeting, login and mailbox size.
pub async fn check_mailbox(config: &MailboxConfig) -> CheckReport {
    let mut report = CheckReport {
        target: "mailbox",
        server: format!("{}:{}", config.host, config.effective_port()),
        steps: Vec::new(),
    };
    let mut steps = Steps::new();
    report.steps = 'run: {
        let checked = config
            .check()
            .and_then(|()| config.password().map(drop))
            .and_then(|()| tls::client_config(&config.trust()))
            .map(|client| {
                let protocol = match config.protocol {
                    MailboxProtocol::Pop3 => "POP3",
                    MailboxProtocol::Imap => "IMAP",
                };
                (
                    client,
                    format!("{protocol}, TLS {}", tls_mode_name(config.tls)),
                )
            });
        let Some(client_config) = steps.record("config", checked) else {
            break 'run steps.steps;
        };
        if !config.is_enabled() {
            break 'run steps.steps;
        }
        let timeout = config.timeout();
        let Some(tcp) =
            connect_steps(&mut steps, &config.host, config.effective_port(), timeout).await
        else {
            break 'run steps.steps;
        };
        let stream = if config.tls == TlsMode::Implicit {
            let handshake = tls::handshake(tcp, client_config.clone(), &config.host, timeout)
                .await
                .map(|stream| (stream, "implicit TLS, certificate verified".to_owned()));
            match steps.record("tls", handshake) {
                Some(stream) => stream,
                None => break 'run steps.steps,
            }
        } else {
            MailStream::Plain(tcp)
        };
        if config.protocol == MailboxProtocol::Imap {
            for (name, result) in crate::imap::check_steps(stream, config, client_config).await {
                if steps
                    .record(name, result.map(|detail| ((), detail)))
                    .is_none()
                {
                    break;
                }
            }
            break 'run steps.steps;
        }
        let mut session = Session::over(stream, config, timeout);
        let greeting = session.greeting().await.map(|()| {
            let apop = if session.client.apop_timestamp().is_some() {
                " (offers APOP)"
            } else {
                ""
            };
            ((), format!("POP3 server ready{apop}"))
        });
        if steps.record("greeting", greeting).is_none() {
            break 'run steps.steps;
        }
        match config.tls {
            TlsMode::Starttls => {
                let upgraded = session
                    .starttls(client_config, &config.host)
                    .await
                    .map(|()| ((), "STLS, certificate verified".to_owned()));
                if steps.record("tls", upgraded).is_none() {
                    break 'run steps.steps;
                }
            }
            TlsMode::None => {
                steps.record(
                    "tls",
                    Ok((
                        (),
                        "none: the password crosses the network unprotected".into(),
                    )),
                );
            }
            TlsMode::Implicit => {}
        }
        let login = session
            .login(config)
            .await
            .map(|()| ((), format!("logged in as {}", config.user)));
        if steps.record("auth", login).is_none() {
            break 'run steps.steps;
        }
        let stat = match session.command(mail_pop3::Client::stat).await {
            Ok(mail_pop3::Event::Stat { count, size }) => {
                Ok(((), format!("{count} message(s), {size} bytes")))
            }
            Ok(other) => Err(Error::Protocol {
                context: "STAT".into(),
                reason: format!("unexpected answer {other:?}"),
            }),
            Err(error) => Err(error),
        };
        if steps.record("mailbox", stat).is_some() {
            // Nothing was marked: QUIT changes nothing on the server.
            let _ = session.quit().await;
        }
        steps.steps
    };
    report
}

/// Tests the `[smtp]` settings: DNS, TCP, TLS, greeting, EHLO, AUTH.
pub async fn check_smtp(config: &SmtpConfig) -> CheckReport {
    let mut report = CheckReport {
        target: "smtp",
        server: format!("{}:{}", config.host, config.effective_port()),
        steps: Vec::new(),
    };
    let mut steps = Steps::new();
    report.steps = 'run: {
        let checked = config
            .check()
            .and_then(|()| config.password().map(drop))
            .and_then(|()| tls::client_config(&config.trust()))
            .map(|client| (client, format!("SMTP, TLS {}", tls_mode_name(config.tls))));
        let Some(client_config) = steps.record("config", checked) else {
            break 'run steps.steps;
        };
        if !config.is_enabled() {
            break 'run steps.steps;
        }
        let timeout = config.timeout();
        let Some(tcp) =
            connect_steps(&mut steps, &config.host, config.effective_port(), timeout).await
        else {
            break 'run steps.steps;
        };
        let stream = if config.tls == TlsMode::Implicit {
            let handshake = tls::handshake(tcp, client_config.clone(), &config.host, timeout)
                .await
                .map(|stream| (stream, "implicit TLS, certificate verified".to_owned()));
            match steps.record("tls", handshake) {
                Some(stream) => stream,
                None => break 'run steps.steps,
            }
        } else {
            MailStream::Plain(tcp)
        };
        let started = SmtpSession::start(stream, timeout)
            .await
            .map(|session| (session, "SMTP server ready".to_owned()));
        let Some(mut session) = steps.record("greeting", started) else {
            break 'run steps.steps;
        };
        let ehlo = session
            .ehlo(&config.helo_name)
            .await
            .map(|()| ((), session.extensions.join(", ")));
        if steps.record("ehlo", ehlo).is_none() {
            break 'run steps.steps;
        }
        match config.tls {
            TlsMode::Starttls => {
                let upgraded = session
                    .starttls(client_config, &config.host, &config.helo_name)
                    .await
                    .map(|()| ((), "STARTTLS, certificate verified".to_owned()));
                if steps.record("tls", upgraded).is_none() {
                    break 'run steps.steps;
                }
            }
            TlsMode::None => {
                steps.record(
                    "tls",
                    Ok((
                        (),
                        "none: mail and password cross the network unprotected".into(),
                    )),
                );
            }
            TlsMode::Implicit => {}
        }
        if !config.user.is_empty() {
            let password = config.password().ok().flatten().unwrap_or_default();
            let auth = session
                .auth(&config.user, &password)
                .await
                .map(|()| ((), format!("authenticated as {}", config.user)));
            if steps.record("auth", auth).is_none() {
                break 'run steps.steps;
            }
        }
        let _ = session.quit().await;
        steps.steps
    };
    report
}
