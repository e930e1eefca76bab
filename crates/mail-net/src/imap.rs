//! The IMAP intake: one pass over the folder (`fetch_once_imap`) and the watch loop
//! that waits in IDLE for new mail (`run_imap_loop`).
//!
//! A message leaves the folder only after the sink has it. Each pass selects the
//! folder, lists the messages not marked deleted (`UID SEARCH UNDELETED`), and for each
//! one the sink does not know by UIDVALIDITY and UID fetches it whole
//! (`BODY.PEEK[]`), hands it to the sink (which stores it durably before returning),
//! and only then moves it to the processed folder (`UID MOVE`) or marks it deleted and
//! expunges it (`UID EXPUNGE` where UIDPLUS allows, so other clients' deleted mail is
//! left alone). A crash anywhere in between leaves the message in the folder; the next
//! pass finds the sink already has it and only removes it. A message stored under a
//! different UID (the server renumbered the folder: a new UIDVALIDITY) is recognised by
//! the sink by Message-ID and digest, and is not faxed twice.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use mail_imap::{Client, Done, Event, Limits, Mailbox};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Error;
use crate::config::{MailboxAuth, MailboxConfig};
use crate::pop3::{
    FaultPoint, FetchOptions, FetchReport, IncomingMessage, IntakeStatus, MessageSink, TakenIn,
};
use crate::tls::{self, MailStream, TlsMode};

/// An IMAP session over a stream: the engine plus the socket.
struct Session {
    stream: MailStream,
    client: Client,
    timeout: Duration,
    buf: Vec<u8>,
    /// The server announced new mail (EXISTS) since the flag was last cleared.
    new_mail: bool,
    /// CREATE of the processed folder was tried on this connection.
    processed_folder_ready: bool,
}

fn engine_error(error: mail_imap::Error) -> Error {
    match error {
        mail_imap::Error::Refused { command, text, .. } => Error::Refused {
            command: command.into(),
            reply: text,
        },
        mail_imap::Error::Timeout { command } => Error::Timeout(format!("waiting for {command}")),
        other => Error::Protocol {
            context: "IMAP".into(),
            reason: other.to_string(),
        },
    }
}

impl Session {
    /// Connects, reads the greeting, starts TLS as configured and logs in.
    async fn open(config: &MailboxConfig) -> Result<Session, Error> {
        let timeout = config.timeout();
        let trust = tls::client_config(&config.trust())?;
        let stream = tls::connect(
            &config.host,
            config.effective_port(),
            config.tls,
            trust.clone(),
            timeout,
        )
        .await?;
        let mut session = Session::over(stream, config);
        let preauth = session.greeting().await?;
        if config.tls == TlsMode::Starttls {
            session = session
                .starttls_before_login(preauth, trust, &config.host)
                .await?;
        }
        if !preauth {
            session.login(config).await?;
        }
        Ok(session)
    }

    /// A session on a connection just opened (after implicit TLS, if any).
    fn over(stream: MailStream, config: &MailboxConfig) -> Session {
        let limits = Limits {
            max_literal: usize::try_from(config.max_message_bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(64 * 1024),
            ..Limits::default()
        };
        let engine = mail_imap::Config {
            limits,
            command_timeout: config.timeout(),
            ..mail_imap::Config::default()
        };
        Session {
            stream,
            client: Client::new(engine),
            timeout: config.timeout(),
            buf: vec![0; 64 * 1024],
            new_mail: false,
            processed_folder_ready: false,
        }
    }

    /// Reads the greeting and makes sure the capabilities are known; true for PREAUTH.
    async fn greeting(&mut self) -> Result<bool, Error> {
        let preauth = loop {
            self.read(Some(Instant::now() + self.timeout)).await?;
            if let Some(preauth) = self.take_greeting()? {
                break preauth;
            }
        };
        if self.client.capabilities().is_empty() {
            self.command(Client::capability).await?;
        }
        Ok(preauth)
    }

    async fn starttls_before_login(
        self,
        preauth: bool,
        trust: std::sync::Arc<rustls::ClientConfig>,
        host: &str,
    ) -> Result<Session, Error> {
        if preauth {
            // Logged in over plaintext: the very thing STARTTLS was asked to prevent.
            return Err(Error::Protocol {
                context: "IMAP STARTTLS".into(),
                reason: "the server logged us in before TLS (PREAUTH)".into(),
            });
        }
        self.starttls(trust, host).await
    }

    /// AUTHENTICATE PLAIN where offered (any bytes in the password, and with SASL-IR
    /// one round trip) unless `auth = "password"` asks for LOGIN; else LOGIN.
    async fn login(&mut self, config: &MailboxConfig) -> Result<(), Error> {
        let password = config.password()?;
        let use_plain =
            config.auth == MailboxAuth::Auto && self.client.capabilities().has("AUTH=PLAIN");
        let user = config.user.clone();
        if use_plain {
            self.command(move |c, now| c.authenticate_plain(now, &user, &password))
                .await?;
        } else {
            self.command(move |c, now| c.login(now, &user, &password))
                .await?;
        }
        // Servers may announce more after login; Dovecot does it in the OK's code.
        if self.client.capabilities().is_empty() || !self.client.capabilities().has("IMAP4rev1") {
            self.command(Client::capability).await?;
        }
        Ok(())
    }

    /// STARTTLS, the handshake, and the capabilities asked again (those sent in the
    /// clear do not count).
    async fn starttls(
        mut self,
        trust: std::sync::Arc<rustls::ClientConfig>,
        host: &str,
    ) -> Result<Session, Error> {
        self.command(Client::starttls).await?;
        let Session {
            stream,
            client,
            timeout,
            buf,
            new_mail,
            processed_folder_ready,
        } = self;
        let stream = stream.upgrade(trust, host, timeout).await?;
        let mut session = Session {
            stream,
            client,
            timeout,
            buf,
            new_mail,
            processed_folder_ready,
        };
        session.command(Client::capability).await?;
        Ok(session)
    }

    fn take_greeting(&mut self) -> Result<Option<bool>, Error> {
        while let Some(event) = self.client.poll_event() {
            if let Event::Greeting { preauth } = event {
                return Ok(Some(preauth));
            }
        }
        Ok(None)
    }

    /// Reads once (or acts on the engine's timer). `deadline` bounds the wait when the
    /// engine has none of its own.
    async fn read(&mut self, deadline: Option<Instant>) -> Result<(), Error> {
        let engine_deadline = self.client.poll_timeout().map(|(at, _)| at);
        let deadline = match (engine_deadline, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let read = self.stream.read(&mut self.buf);
        let n = match deadline {
            Some(at) => {
                match tokio::time::timeout_at(tokio::time::Instant::from_std(at), read).await {
                    Ok(result) => result?,
                    Err(_) => {
                        let now = Instant::now();
                        self.client.handle_timeout(now).map_err(engine_error)?;
                        self.flush().await?;
                        if engine_deadline.is_some_and(|at| at <= now) {
                            return Ok(());
                        }
                        return Err(Error::Timeout("waiting for the IMAP server".into()));
                    }
                }
            }
            None => read.await?,
        };
        if n == 0 {
            return Err(Error::Protocol {
                context: "IMAP".into(),
                reason: "the server closed the connection".into(),
            });
        }
        let now = Instant::now();
        self.client
            .handle_input(now, &self.buf[..n])
            .map_err(engine_error)?;
        self.flush().await
    }

    async fn flush(&mut self) -> Result<(), Error> {
        let out = self.client.take_output();
        if out.is_empty() {
            return Ok(());
        }
        let write = async {
            self.stream.write_all(&out).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.timeout, write).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(Error::Timeout("writing to the IMAP server".into())),
        }
    }

    /// Issues one command and waits for its completion.
    async fn command(
        &mut self,
        issue: impl FnOnce(&mut Client, Instant) -> Result<(), mail_imap::Error>,
    ) -> Result<Done, Error> {
        issue(&mut self.client, Instant::now()).map_err(engine_error)?;
        self.flush().await?;
        loop {
            while let Some(event) = self.client.poll_event() {
                match event {
                    Event::Done(done) => return Ok(done),
                    Event::Refused(error) => return Err(engine_error(error)),
                    Event::Exists(_) => self.new_mail = true,
                    Event::Greeting { .. } | Event::Idling | Event::Expunged(_) => {}
                }
            }
            self.read(None).await?;
        }
    }

    /// Waits in IDLE until new mail, `stop`, or `max_wait`; ends IDLE before returning.
    /// Returns true when stopped.
    async fn idle(
        &mut self,
        stop: &mut tokio::sync::watch::Receiver<bool>,
        max_wait: Duration,
    ) -> Result<bool, Error> {
        if self.new_mail {
            // Mail arrived during the pass (EXISTS with a command's answer): no wait.
            return Ok(false);
        }
        self.client.idle(Instant::now()).map_err(engine_error)?;
        self.flush().await?;
        let until = Instant::now() + max_wait;
        let mut stopped = false;
        let mut done_sent = false;
        loop {
            while let Some(event) = self.client.poll_event() {
                match event {
                    Event::Done(Done::Idle) => return Ok(stopped),
                    Event::Done(other) => {
                        return Err(Error::Protocol {
                            context: "IMAP IDLE".into(),
                            reason: format!("unexpected completion {other:?}"),
                        });
                    }
                    Event::Refused(error) => return Err(engine_error(error)),
                    Event::Exists(_) => self.new_mail = true,
                    Event::Idling | Event::Greeting { .. } | Event::Expunged(_) => {}
                }
            }
            let wake = self.new_mail || stopped || Instant::now() >= until;
            if wake && !done_sent {
                self.client.done(Instant::now()).map_err(engine_error)?;
                self.flush().await?;
                done_sent = true;
            }
            if done_sent {
                self.read(None).await?;
                continue;
            }
            // Only the socket read races the timer and `stop`: a read is cancel-safe,
            // and what arrives is handled outside the race.
            let engine_deadline = self.client.poll_timeout().map(|(at, _)| at);
            let wake_at = engine_deadline.map_or(until, |at| at.min(until));
            let woke = tokio::select! {
                read = self.stream.read(&mut self.buf) => Wake::Read(read),
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake_at)) => Wake::Timer,
                changed = stop.changed() => Wake::Stop(changed.is_err() || *stop.borrow()),
            };
            let now = Instant::now();
            match woke {
                Wake::Read(read) => {
                    let n = read?;
                    if n == 0 {
                        return Err(Error::Protocol {
                            context: "IMAP IDLE".into(),
                            reason: "the server closed the connection".into(),
                        });
                    }
                    self.client
                        .handle_input(now, &self.buf[..n])
                        .map_err(engine_error)?;
                }
                Wake::Timer => self.client.handle_timeout(now).map_err(engine_error)?,
                Wake::Stop(stop) => stopped |= stop,
            }
            self.flush().await?;
        }
    }

    async fn logout(mut self) {
        let _ = self.command(Client::logout).await;
        let _ = tokio::time::timeout(self.timeout, self.stream.shutdown()).await;
    }
}

/// The steps of the connection test after TCP (and implicit TLS): greeting, STARTTLS
/// when configured, login, and the folder (message count, UIDVALIDITY, the extensions
/// the intake uses). Stops at the first failure; nothing on the server is changed.
pub async fn check_steps(
    stream: MailStream,
    config: &MailboxConfig,
    trust: std::sync::Arc<rustls::ClientConfig>,
) -> Vec<(&'static str, Result<String, Error>)> {
    let mut steps = Vec::new();
    let mut session = Session::over(stream, config);
    let preauth = match session.greeting().await {
        Ok(preauth) => preauth,
        Err(error) => {
            steps.push(("greeting", Err(error)));
            return steps;
        }
    };
    steps.push((
        "greeting",
        Ok(format!(
            "IMAP server ready{}",
            if preauth { " (PREAUTH)" } else { "" }
        )),
    ));
    if config.tls == TlsMode::Starttls {
        match session
            .starttls_before_login(preauth, trust, &config.host)
            .await
        {
            Ok(upgraded) => {
                session = upgraded;
                steps.push(("tls", Ok("STARTTLS, certificate verified".into())));
            }
            Err(error) => {
                steps.push(("tls", Err(error)));
                return steps;
            }
        }
    }
    if !preauth {
        if let Err(error) = session.login(config).await {
            steps.push(("auth", Err(error)));
            return steps;
        }
        steps.push(("auth", Ok(format!("logged in as {}", config.user))));
    }
    let folder = config.folder.clone();
    let selected = session.command(move |c, now| c.select(now, &folder)).await;
    let caps = session.client.capabilities();
    let extensions: Vec<&str> = ["IDLE", "UIDPLUS", "MOVE"]
        .into_iter()
        .filter(|e| caps.has(e))
        .collect();
    let summary = match selected {
        Ok(Done::Select(mailbox)) => Ok(format!(
            "{}: {} message(s), UIDVALIDITY {}{}; extensions: {}",
            config.folder,
            mailbox.exists,
            mailbox
                .uid_validity
                .map_or("missing".into(), |v| v.to_string()),
            if mailbox.read_only { ", read-only" } else { "" },
            if extensions.is_empty() {
                "none".into()
            } else {
                extensions.join(" ")
            }
        )),
        Ok(other) => Err(unexpected("SELECT", &other)),
        Err(error) => Err(error),
    };
    steps.push(("mailbox", summary));
    session.logout().await;
    steps
}

enum Wake {
    Read(std::io::Result<usize>),
    Timer,
    Stop(bool),
}

/// The mailbox's name in the intake ledger: the account and the folder.
fn ledger_mailbox(config: &MailboxConfig) -> String {
    format!("{}/{}", config.ledger_name(), config.folder)
}

/// One pass over the selected folder (see the module documentation).
async fn drain(
    session: &mut Session,
    config: &MailboxConfig,
    sink: &impl MessageSink,
    options: FetchOptions,
) -> Result<FetchReport, Error> {
    // EXISTS from here on means mail the pass may not see: look again after it.
    session.new_mail = false;
    if !config.processed_folder.is_empty() && !session.processed_folder_ready {
        // Usually there already; a refusal (ALREADYEXISTS) is the normal answer.
        let target = config.processed_folder.clone();
        let _ = session.command(move |c, now| c.create(now, &target)).await;
        session.processed_folder_ready = true;
    }
    let folder = config.folder.clone();
    let mailbox = match session
        .command(move |c, now| c.select(now, &folder))
        .await?
    {
        Done::Select(mailbox) => mailbox,
        other => return Err(unexpected("SELECT", &other)),
    };
    let Mailbox {
        uid_validity: Some(uid_validity),
        read_only: false,
        ..
    } = mailbox
    else {
        return Err(Error::Protocol {
            context: format!("IMAP folder {}", config.folder),
            reason: if mailbox.read_only {
                "the folder is read-only: taken-in mail could not be removed".into()
            } else {
                "the server gave no UIDVALIDITY: messages could not be told apart".into()
            },
        });
    };
    let ledger = ledger_mailbox(config);
    let uids = match session.command(Client::uid_search_undeleted).await? {
        Done::Search(uids) => uids,
        other => return Err(unexpected("UID SEARCH", &other)),
    };
    let mut report = FetchReport {
        listed: uids.len(),
        ..FetchReport::default()
    };
    if uids.is_empty() {
        return Ok(report);
    }
    let list = uids.clone();
    let sizes = match session
        .command(move |c, now| c.uid_fetch_sizes(now, &list))
        .await?
    {
        Done::Sizes(sizes) => sizes,
        other => return Err(unexpected("UID FETCH (sizes)", &other)),
    };
    let mut fetched = 0;
    for uid in uids {
        let key = format!("{uid_validity}.{uid}");
        let known = sink
            .is_known(&ledger, &key)
            .await
            .map_err(|error| Error::Sink(error.to_string()))?;
        if known {
            report.already_known += 1;
        } else {
            let size = sizes
                .iter()
                .find(|(u, _)| *u == uid)
                .map_or(0, |(_, size)| *size);
            if u64::from(size) > config.max_message_bytes {
                report.oversized.push(key);
                continue;
            }
            let body = match session
                .command(move |c, now| c.uid_fetch(now, &[uid]))
                .await?
            {
                Done::Fetch(messages) => {
                    messages.into_iter().find(|m| m.uid == uid).map(|m| m.body)
                }
                other => return Err(unexpected("UID FETCH", &other)),
            };
            // Gone meanwhile (another client took it): nothing to store or remove.
            let Some(body) = body else { continue };
            let outcome = sink
                .take_in(IncomingMessage {
                    mailbox: &ledger,
                    uidl: &key,
                    raw: &body,
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
        remove(session, config, uid).await?;
        report.deleted += 1;
    }
    if options.abort_at == Some(FaultPoint::BeforeQuit) {
        std::process::abort();
    }
    Ok(report)
}

/// Takes one message out of the folder: moved, or deleted and expunged.
async fn remove(session: &mut Session, config: &MailboxConfig, uid: u32) -> Result<(), Error> {
    if !config.processed_folder.is_empty() {
        let target = config.processed_folder.clone();
        session
            .command(move |c, now| c.uid_move(now, &[uid], &target))
            .await?;
        return Ok(());
    }
    session
        .command(move |c, now| c.uid_store_deleted(now, &[uid]))
        .await?;
    if session.client.capabilities().has("UIDPLUS") {
        session
            .command(move |c, now| c.uid_expunge(now, &[uid]))
            .await?;
    } else {
        // Without UIDPLUS, EXPUNGE also removes messages other clients marked deleted;
        // a dedicated fax mailbox has no other clients.
        session.command(Client::expunge).await?;
    }
    Ok(())
}

fn unexpected(command: &str, done: &Done) -> Error {
    Error::Protocol {
        context: format!("IMAP {command}"),
        reason: format!("unexpected completion {done:?}"),
    }
}

/// One pass: connect, log in, take in every message of the folder the sink does not
/// have, remove each once stored, log out.
pub async fn fetch_once_imap(
    config: &MailboxConfig,
    sink: &impl MessageSink,
    options: FetchOptions,
) -> Result<FetchReport, Error> {
    config.check()?;
    let mut session = Session::open(config).await?;
    let report = drain(&mut session, config, sink, options).await?;
    session.logout().await;
    Ok(report)
}

/// Watches the folder until `stop` turns true: a pass, then IDLE until the server
/// announces new mail (or polling every `poll_interval_seconds` when IDLE is off or
/// not offered), then another pass. A broken connection is retried with backoff (1 s
/// doubling to the poll interval, at most 5 minutes). `status` says what it is doing.
pub async fn run_imap_loop(
    config: &MailboxConfig,
    sink: &impl MessageSink,
    status: &Mutex<IntakeStatus>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval = Duration::from_secs(config.poll_interval_seconds.max(1));
    let max_backoff = interval
        .min(Duration::from_secs(300))
        .max(Duration::from_secs(1));
    let mut backoff = Duration::from_secs(1);
    update(status, |s| s.mailbox = ledger_mailbox(config));
    loop {
        if *stop.borrow() {
            return;
        }
        let result = watch(config, sink, status, &mut stop, &mut backoff).await;
        update(status, |s| s.connected = false);
        match result {
            Ok(()) => return,
            Err(error) => {
                update(status, |s| {
                    s.failed_polls += 1;
                    s.last_error = Some(error.to_string());
                });
                // A closed channel is taken as stop (it would wake every wait at once).
                let closed = tokio::select! {
                    () = tokio::time::sleep(backoff) => false,
                    changed = stop.changed() => changed.is_err(),
                };
                if closed {
                    return;
                }
                backoff = (backoff * 2).min(max_backoff);
            }
        }
    }
}

/// One connection's life: passes and waits until `stop` (Ok) or an error.
async fn watch(
    config: &MailboxConfig,
    sink: &impl MessageSink,
    status: &Mutex<IntakeStatus>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    backoff: &mut Duration,
) -> Result<(), Error> {
    config.check()?;
    let interval = Duration::from_secs(config.poll_interval_seconds.max(1));
    let mut session = Session::open(config).await?;
    *backoff = Duration::from_secs(1);
    update(status, |s| s.connected = true);
    loop {
        update(status, |s| {
            s.last_poll_started_ms = Some(now_ms());
            s.polls += 1;
        });
        let report = drain(&mut session, config, sink, FetchOptions::default()).await?;
        update(status, |s| {
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
        });
        if config.idle && session.client.capabilities().has("IDLE") {
            // Each IDLE is bounded by the poll interval as well, so a server that never
            // reports new mail (some do not for deliveries by other means) is still
            // polled.
            if session.idle(stop, interval).await? {
                session.logout().await;
                return Ok(());
            }
        } else {
            let closed = tokio::select! {
                () = tokio::time::sleep(interval) => false,
                changed = stop.changed() => changed.is_err(),
            };
            if closed || *stop.borrow() {
                session.logout().await;
                return Ok(());
            }
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn update(status: &Mutex<IntakeStatus>, change: impl FnOnce(&mut IntakeStatus)) {
    let mut guard = match status.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    change(&mut guard);
}
