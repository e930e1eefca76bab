//! The POP3 intake: one poll (`fetch_once`) and the poll loop (`run_poll_loop`).
//!
//! A message leaves the server only after the sink has it: UIDL, then for each
//! message the sink does not know RETR, hand the bytes to the sink (which stores them
//! durably before it returns), then DELE; QUIT commits the deletions (POP3 removes
//! marked messages only in its UPDATE state, at QUIT). If the connection breaks or the
//! process dies before QUIT, every message is still on the server, and the next poll
//! finds those the sink already has by their unique ID and only deletes them.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mail_pop3::{Client, Command, Event, Limits};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Error;
use crate::config::{MailboxAuth, MailboxConfig};
use crate::tls::{self, MailStream, TlsMode};

/// A message fetched from a mailbox, handed to the sink.
#[derive(Debug, Clone, Copy)]
pub struct IncomingMessage<'a> {
    /// The mailbox's ledger name (`MailboxConfig::ledger_name`).
    pub mailbox: &'a str,
    /// The server's unique ID of the message (POP3 UIDL).
    pub uidl: &'a str,
    /// The message exactly as the server holds it.
    pub raw: &'a [u8],
}

/// What the sink made of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TakenIn {
    /// Stored: new.
    Stored,
    /// Already taken in before (same content under another unique ID): nothing new
    /// was stored.
    Duplicate,
}

/// The error a sink reports.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Where fetched messages go. `take_in` must have stored the message durably (raw
/// bytes and the record of it) when it returns `Ok`: the message is deleted on the
/// server right after.
pub trait MessageSink: Send + Sync {
    /// Whether the message with this unique ID from this mailbox was taken in already.
    fn is_known(
        &self,
        mailbox: &str,
        uidl: &str,
    ) -> impl Future<Output = Result<bool, SinkError>> + Send;

    /// Stores a message durably (or recognises it as a duplicate).
    fn take_in(
        &self,
        message: IncomingMessage<'_>,
    ) -> impl Future<Output = Result<TakenIn, SinkError>> + Send;
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FetchReport {
    /// Messages in the mailbox when the poll began.
    pub listed: usize,
    /// Messages fetched and stored as new.
    pub stored: usize,
    /// Messages fetched that the sink had under another unique ID.
    pub duplicates: usize,
    /// Messages the sink had by unique ID (a poll interrupted before QUIT): deleted
    /// without fetching.
    pub already_known: usize,
    /// Messages deleted on the server (committed by QUIT).
    pub deleted: usize,
    /// Messages left on the server because they exceed `max_message_bytes`.
    pub oversized: Vec<String>,
}

/// An intake's state, for the daemon and the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IntakeStatus {
    /// The mailbox's ledger name.
    pub mailbox: String,
    /// Whether a poll is connected right now.
    pub connected: bool,
    /// When the last poll began (milliseconds since the Unix epoch).
    pub last_poll_started_ms: Option<u64>,
    /// When the last poll that succeeded ended.
    pub last_success_ms: Option<u64>,
    /// The last poll's error, cleared by a poll that succeeds.
    pub last_error: Option<String>,
    /// Polls run.
    pub polls: u64,
    /// Polls that failed.
    pub failed_polls: u64,
    /// Messages stored as new since start.
    pub stored: u64,
    /// Duplicates recognised since start.
    pub duplicates: u64,
    /// Messages deleted on the server since start.
    pub deleted: u64,
}

/// A process-test hook: where `fetch_once` may stop dead (for the crash test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Right after the sink stored the n-th message of this poll (1-based), before its
    /// DELE.
    AfterStore(usize),
    /// After every DELE, before QUIT.
    BeforeQuit,
}

/// Options of one poll beyond the config.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchOptions {
    /// Abort the process (`std::process::abort`) at this point: crash tests only.
    pub abort_at: Option<FaultPoint>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A POP3 session over a stream: the engine plus the socket.
pub(crate) struct Session {
    stream: Option<MailStream>,
    pub(crate) client: Client,
    timeout: Duration,
    buffer: Vec<u8>,
}

impl Session {
    /// Connects (TLS as configured, STLS included), reads the greeting; not logged in.
    pub(crate) async fn open(config: &MailboxConfig) -> Result<Session, Error> {
        let timeout = config.timeout();
        let client_config = tls::client_config(&config.trust())?;
        let stream = tls::connect(
            &config.host,
            config.effective_port(),
            config.tls,
            client_config.clone(),
            timeout,
        )
        .await?;
        let mut session = Session::over(stream, config, timeout);
        session.greeting().await?;
        if config.tls == TlsMode::Starttls {
            session.starttls(client_config, &config.host).await?;
        }
        Ok(session)
    }

    pub(crate) fn over(stream: MailStream, config: &MailboxConfig, timeout: Duration) -> Session {
        let limits = Limits {
            // The wire form is a little larger than the message (dot-stuffing); the
            // size check against LIST happens before RETR.
            max_message: usize::try_from(config.max_message_bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(config.max_message_bytes as usize / 8 + 4096),
            ..Limits::default()
        };
        Session {
            stream: Some(stream),
            client: Client::new(limits),
            timeout,
            buffer: vec![0; 64 * 1024],
        }
    }

    pub(crate) async fn greeting(&mut self) -> Result<(), Error> {
        match self.next_event().await? {
            Event::Greeting { .. } => Ok(()),
            Event::Refused { text, .. } => Err(Error::Refused {
                command: "connection (greeting)".into(),
                reply: text,
            }),
            other => Err(unexpected("the greeting", &other)),
        }
    }

    pub(crate) async fn starttls(
        &mut self,
        client_config: Arc<rustls::ClientConfig>,
        host: &str,
    ) -> Result<(), Error> {
        match self.command(Client::capa).await? {
            Event::Capabilities(capabilities) if capabilities.stls => {}
            Event::Capabilities(_) | Event::Refused { .. } => {
                return Err(Error::Protocol {
                    context: "STLS".into(),
                    reason: "the server does not offer STLS (set tls = \"implicit\" or \"none\")"
                        .into(),
                });
            }
            other => return Err(unexpected("the CAPA answer", &other)),
        }
        match self.command(Client::stls).await? {
            Event::StartTls => {}
            Event::Refused { text, .. } => {
                return Err(Error::Refused {
                    command: "STLS".into(),
                    reply: text,
                });
            }
            other => return Err(unexpected("the STLS answer", &other)),
        }
        let plain = self.stream.take().ok_or_else(|| Error::Protocol {
            context: "STLS".into(),
            reason: "connection already gone".into(),
        })?;
        self.stream = Some(plain.upgrade(client_config, host, self.timeout).await?);
        self.client.tls_established()?;
        Ok(())
    }

    /// Logs in as configured.
    pub(crate) async fn login(&mut self, config: &MailboxConfig) -> Result<(), Error> {
        let password = config.password()?;
        let is_tls = self.stream.as_ref().is_some_and(MailStream::is_tls);
        let use_apop = match config.auth {
            MailboxAuth::Apop => true,
            MailboxAuth::Password => false,
            // Under TLS the password is safe as it is; on a plain line a digest is better
            // than the password in the clear.
            MailboxAuth::Auto => !is_tls && self.client.apop_timestamp().is_some(),
        };
        if use_apop {
            let user = config.user.clone();
            let event = self
                .command(move |client| client.apop(&user, &password))
                .await?;
            return logged_in(event, "APOP");
        }
        let user = config.user.clone();
        match self.command(move |client| client.user(&user)).await? {
            Event::UserAccepted => {}
            Event::Refused { text, .. } => {
                return Err(Error::Refused {
                    command: "USER".into(),
                    reply: text,
                });
            }
            other => return Err(unexpected("the USER answer", &other)),
        }
        let event = self.command(move |client| client.pass(&password)).await?;
        logged_in(event, "PASS")
    }

    /// Issues a command and waits for its event.
    pub(crate) async fn command(
        &mut self,
        issue: impl FnOnce(&mut Client) -> Result<(), mail_pop3::Error>,
    ) -> Result<Event, Error> {
        issue(&mut self.client)?;
        self.flush().await?;
        self.next_event().await
    }

    async fn flush(&mut self) -> Result<(), Error> {
        let stream = self.stream.as_mut().ok_or(mail_pop3::Error::Closed)?;
        while let Some(bytes) = self.client.poll_transmit() {
            match tokio::time::timeout(self.timeout, stream.write_all(&bytes)).await {
                Err(_) => return Err(Error::Timeout("sending to the POP3 server".into())),
                Ok(result) => result?,
            }
        }
        match tokio::time::timeout(self.timeout, stream.flush()).await {
            Err(_) => Err(Error::Timeout("sending to the POP3 server".into())),
            Ok(result) => Ok(result?),
        }
    }

    async fn next_event(&mut self) -> Result<Event, Error> {
        loop {
            if let Some(event) = self.client.poll_event() {
                return Ok(event);
            }
            if !self.client.wants_input() {
                return Err(Error::Protocol {
                    context: "POP3".into(),
                    reason: "no answer is due".into(),
                });
            }
            let stream = self.stream.as_mut().ok_or(mail_pop3::Error::Closed)?;
            let read = tokio::time::timeout(self.timeout, stream.read(&mut self.buffer)).await;
            let count = match read {
                Err(_) => return Err(Error::Timeout("waiting for the POP3 server".into())),
                Ok(result) => result?,
            };
            if count == 0 {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the POP3 server closed the connection",
                )));
            }
            self.client.handle_input(&self.buffer[..count])?;
        }
    }

    /// QUIT: commits deletions.
    pub(crate) async fn quit(&mut self) -> Result<(), Error> {
        let event = self.command(Client::quit).await?;
        if let Some(stream) = self.stream.as_mut() {
            // The server closes anyway; a failed TLS close_notify changes nothing.
            let _ = tokio::time::timeout(self.timeout, stream.shutdown()).await;
        }
        match event {
            Event::Closed => Ok(()),
            Event::Refused { text, .. } => Err(Error::Refused {
                command: "QUIT (deletions not committed)".into(),
                reply: text,
            }),
            other => Err(unexpected("the QUIT answer", &other)),
        }
    }
}

fn logged_in(event: Event, command: &str) -> Result<(), Error> {
    match event {
        Event::LoggedIn => Ok(()),
        Event::Refused { text, .. } => Err(Error::Refused {
            command: command.into(),
            reply: text,
        }),
        other => Err(unexpected("the login answer", &other)),
    }
}

fn unexpected(what: &str, event: &Event) -> Error {
    let got = match event {
        Event::Message { number, data } => format!("message {number} ({} bytes)", data.len()),
        other => format!("{other:?}"),
    };
    Error::Protocol {
        context: "POP3".into(),
        reason: format!("expected {what}, got {got}"),
    }
}

fn refused(command: Command, text: String) -> Error {
    Error::Refused {
        command: format!("{command:?}").to_ascii_uppercase(),
        reply: text,
    }
}

/// One poll: every message the sink does not have is fetched and stored, then every
/// message is deleted. See the module documentation for the order and why it is safe.
pub async fn fetch_once(
    config: &MailboxConfig,
    sink: &impl MessageSink,
    options: FetchOptions,
) -> Result<FetchReport, Error> {
    config.check()?;
    let mailbox = config.ledger_name();
    let mut session = Session::open(config).await?;
    session.login(config).await?;

    let sizes = match session.command(Client::list).await? {
        Event::Listing(entries) => entries,
        Event::Refused { command, text } => return Err(refused(command, text)),
        other => return Err(unexpected("the LIST answer", &other)),
    };
    let uids = match session.command(Client::uidl).await? {
        Event::UniqueIds(entries) => entries,
        Event::Refused { text, .. } => {
            return Err(Error::Protocol {
                context: "UIDL".into(),
                reason: format!(
                    "the server refused UIDL ({text}); without unique IDs a message \
                     could be taken in twice"
                ),
            });
        }
        other => return Err(unexpected("the UIDL answer", &other)),
    };

    let mut report = FetchReport {
        listed: uids.len(),
        ..FetchReport::default()
    };
    let mut fetched = 0;
    for (number, uidl) in &uids {
        let known = sink
            .is_known(&mailbox, uidl)
            .await
            .map_err(|error| Error::Sink(error.to_string()))?;
        if known {
            report.already_known += 1;
        } else {
            let size = sizes
                .iter()
                .find(|(n, _)| n == number)
                .map_or(0, |(_, size)| *size);
            if size > config.max_message_bytes {
                report.oversized.push(uidl.clone());
                continue;
            }
            let number = *number;
            let data = match session.command(move |c| c.retr(number)).await? {
                Event::Message { data, .. } => data,
                // Gone meanwhile (another client took it): nothing to store.
                Event::Refused { .. } => continue,
                other => return Err(unexpected("a message", &other)),
            };
            let outcome = sink
                .take_in(IncomingMessage {
                    mailbox: &mailbox,
                    uidl,
                    raw: &data,
                })
                .await
                .map_err(|error| Error::Sink(error.to_string()))?;
            match outcome {
                TakenIn::Stored => report.stored += 1,
                TakenIn::Duplicate => report.duplicates += 1,
            }
            fetched += 1;
            if options.abort_at == Some(FaultPoint::AfterStore(fetched)) {
                std::process::abort();
            }
        }
        let number = *number;
        match session.command(move |c| c.dele(number)).await? {
            Event::Deleted(_) => report.deleted += 1,
            Event::Refused { command, text } => return Err(refused(command, text)),
            other => return Err(unexpected("the DELE answer", &other)),
        }
    }
    if options.abort_at == Some(FaultPoint::BeforeQuit) {
        std::process::abort();
    }
    session.quit().await?;
    Ok(report)
}

/// Polls the mailbox every `poll_interval_seconds` until `stop` turns true, keeping
/// `status` current. A failed poll is recorded and retried at the next interval.
pub async fn run_poll_loop(
    config: &MailboxConfig,
    sink: &impl MessageSink,
    status: &Mutex<IntakeStatus>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    run_poll_loop_reporting(config, sink, status, stop, |_| {}).await;
}

/// [`run_poll_loop`], calling `after_poll` with the status after every poll (for a
/// command line that prints it, or a daemon that publishes it).
pub async fn run_poll_loop_reporting(
    config: &MailboxConfig,
    sink: &impl MessageSink,
    status: &Mutex<IntakeStatus>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut after_poll: impl FnMut(&IntakeStatus),
) {
    let interval = Duration::from_secs(config.poll_interval_seconds.max(1));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    if let Ok(mut status) = status.lock() {
        status.mailbox = config.ledger_name();
    }
    loop {
        // A closed channel can never say stop again: take it as stop rather than as a
        // change that wakes the loop at once, over and over.
        let closed = tokio::select! {
            _ = ticker.tick() => false,
            changed = stop.changed() => changed.is_err(),
        };
        if closed || *stop.borrow() {
            return;
        }
        update(status, |s| {
            s.connected = true;
            s.last_poll_started_ms = Some(now_ms());
            s.polls += 1;
        });
        let result = fetch_once(config, sink, FetchOptions::default()).await;
        update(status, |s| {
            s.connected = false;
            match &result {
                Ok(report) => {
                    s.last_success_ms = Some(now_ms());
                    s.last_error = if report.oversized.is_empty() {
                        None
                    } else {
                        Some(format!(
                            "{} message(s) larger than max_message_bytes left on the server",
                            report.oversized.len()
                        ))
                    };
                    s.stored += report.stored as u64;
                    s.duplicates += report.duplicates as u64;
                    s.deleted += report.deleted as u64;
                }
                Err(error) => {
                    s.failed_polls += 1;
                    s.last_error = Some(error.to_string());
                }
            }
            after_poll(s);
        });
    }
}

fn update(status: &Mutex<IntakeStatus>, change: impl FnOnce(&mut IntakeStatus)) {
    // A poisoned lock only means a reader panicked; the status is still worth keeping.
    let mut guard = match status.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    change(&mut guard);
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;

    impl MessageSink for Nothing {
        async fn is_known(&self, _mailbox: &str, _uidl: &str) -> Result<bool, SinkError> {
            Ok(false)
        }
        async fn take_in(&self, _message: IncomingMessage<'_>) -> Result<TakenIn, SinkError> {
            Ok(TakenIn::Stored)
        }
    }

    #[tokio::test]
    async fn a_closed_stop_channel_ends_the_loop_instead_of_spinning() {
        // Nothing listens on port 1 of loopback: a poll fails at once.
        let config = MailboxConfig {
            host: "127.0.0.1".into(),
            port: 1,
            tls: crate::TlsMode::None,
            user: "fax".into(),
            password: Some("pw".into()),
            poll_interval_seconds: 3600,
            ..MailboxConfig::default()
        };
        let status = Mutex::new(IntakeStatus::default());
        let (sender, stop) = tokio::sync::watch::channel(false);
        drop(sender);
        run_poll_loop(&config, &Nothing, &status, stop).await;
        let status = status.lock().expect("status");
        // At most the poll of the first tick, which is due at once.
        assert!(status.polls <= 1, "{status:?}");
    }
}
