//! `faxgate mail`: the mail side of the gateway from the command line.
//!
//! `mail inspect` prints, as JSON, what the gateway would do with one message: the
//! verdict, the sender, the decoded Subject, the recipients (as `address parse` prints
//! them), the documents to fax and the parts not faxed with the reason.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fax_address::AddressSettings;
use mail_message::{Envelope, Intake, Language, MailRequest, Problem, Verdict};
use serde::Serialize;
use serde_json::{Value, json};

use crate::address_cmd::{BadEntryJson, RecipientJson};
use crate::config::Config;
use crate::intake::StoreDirectory;
use crate::queue_cmd::{StoreArgs, block_on, settings_from};

/// The `faxgate mail` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum MailCommand {
    /// Print, as JSON, what the gateway would do with a message: its verdict (accepted,
    /// unauthorized, bad-subject, no-attachment, unconvertible, ignored, too-large,
    /// too-many-recipients), sender, decoded subject, recipients, the documents to fax
    /// and the parts not faxed with the reason. Exits 0 whenever it could decide.
    Inspect(InspectArgs),
    /// Log in to the configured mailbox ([mailbox]) and SMTP server ([smtp]) and report
    /// each step: DNS, TCP, TLS, greeting, login, mailbox size; EHLO and AUTH. Exits 0
    /// only if every step of every configured server passed.
    Test(TestArgs),
    /// Take in the configured mailbox: with --once one poll, else until Ctrl-C or
    /// SIGTERM (POP3 polled every [mailbox] poll_interval_seconds, IMAP watched with IDLE when
    /// the server offers it). Every message is taken in: an accepted mail becomes a fax request (one job per recipient), a
    /// mail the sender can fix gets a problem receipt (queued for send-receipts), mail
    /// from unknown senders and automatic mail is dropped with no reply. Each message
    /// is recorded in the intake ledger with its verdict, in the transaction that
    /// stores its request, and only then deleted on the server (IMAP: moved to the
    /// processed folder, or expunged); a message fetched twice makes one request.
    /// Prints what the poll did; without --once, the intake's status after every poll
    /// (a JSON object per line with --json).
    Fetch(FetchArgs),
    /// Run the built-in SMTP intake ([smtpd]) until Ctrl-C or SIGTERM: every message is
    /// taken in as `mail fetch` does (the envelope recipients number@fax.domain and
    /// FAX=+number@fax.domain address the fax too) and stored before the client hears
    /// 250. Mail from senders who may not fax is accepted and dropped without reply.
    /// Prints the address it listens on, then the listener's status after each message
    /// (JSON lines with --json).
    Listen(ListenArgs),
    /// Queue the receipt of every mailed request whose every job is final (sent,
    /// failed, cancelled), once per request, and send the queued mail (receipts and
    /// problem receipts) through [smtp]: a temporary failure is tried again later with
    /// a growing delay, a permanent refusal (5xx) is given up. Prints what it did. With
    /// --once one pass, else a pass every 30 seconds until Ctrl-C or SIGTERM.
    SendReceipts(crate::receipts::SendReceiptsArgs),
}

/// Options of `faxgate mail test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// faxgate's configuration file; its [mailbox] and [smtp] sections are tested.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Options of `faxgate mail fetch`.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// One poll, then exit; without it the mailbox is taken in until Ctrl-C or
    /// SIGTERM.
    #[arg(long)]
    once: bool,
    /// The configuration file ([mailbox], [intake], [address], [store]) and the store to
    /// record messages in.
    #[command(flatten)]
    store: StoreArgs,
}

/// Options of `faxgate mail listen`.
#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// The address to listen on, instead of [smtpd] listen (port 0: any free port; the
    /// address bound is printed).
    #[arg(long, value_name = "ADDRESS:PORT")]
    listen: Option<String>,
    /// The configuration file ([smtpd], [intake], [address], [store]) and the store to
    /// record messages in.
    #[command(flatten)]
    store: StoreArgs,
}

/// Options of `faxgate mail inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The message, as received (an .eml file: headers, blank line, body).
    #[arg(value_name = "MESSAGE.eml")]
    message: PathBuf,
    /// Convert each document as a fax would be, and give its page count.
    #[arg(long)]
    render: bool,
    /// The SMTP envelope sender (MAIL FROM), as the SMTP intake would see it; "" is
    /// the null sender of bounces.
    #[arg(long, value_name = "ADDRESS")]
    mail_from: Option<String>,
    /// An SMTP envelope recipient (RCPT TO); may be repeated. Without it, the To and Cc
    /// headers are read for addresses in the fax domain.
    #[arg(long, value_name = "ADDRESS")]
    rcpt_to: Vec<String>,
    /// faxgate's configuration file ([intake], [address] and [store] apply), and the
    /// store whose users may send.
    #[command(flatten)]
    store: StoreArgs,
}

/// Runs a `faxgate mail` subcommand.
pub fn run(command: MailCommand) -> Result<bool> {
    match command {
        MailCommand::Inspect(args) => inspect(&args),
        MailCommand::Test(args) => connection_test(&args),
        MailCommand::Fetch(args) if !args.once => fetch_continuously(&args),
        MailCommand::Fetch(args) => fetch(&args),
        MailCommand::Listen(args) => listen(&args),
        MailCommand::SendReceipts(args) => crate::receipts::run(&args),
    }
}

/// Whether a store is configured for this command: named on the command line or in the
/// config file. The built-in data directory is not opened unasked: inspecting a message
/// must not create a database.
fn store_configured(args: &StoreArgs, config: &Config) -> bool {
    args.data_dir.is_some()
        || args.database_url.is_some()
        || config.store.data_dir.is_some()
        || config
            .store
            .database_url
            .as_deref()
            .is_some_and(|url| !url.is_empty())
}

fn load_users(args: &StoreArgs, config: &Config) -> Result<StoreDirectory> {
    if !store_configured(args, config) {
        return Ok(StoreDirectory::new(Vec::new()));
    }
    let mut settings = settings_from(config)?;
    if let Some(dir) = &args.data_dir {
        settings.data_dir = dir.clone();
    }
    if let Some(url) = &args.database_url {
        settings.database_url = Some(url.clone());
    }
    let users = block_on(async {
        let store = settings.open().await?;
        let users = store.users().await.context("reading the users")?;
        store.close().await;
        Ok(users)
    })?;
    Ok(StoreDirectory::new(users))
}

#[derive(Serialize)]
struct DocumentJson<'a> {
    name: &'a str,
    content_type: &'a str,
    size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pages: Option<Value>,
}

/// What `mail inspect` prints, keys in this order.
#[derive(Serialize)]
struct InspectJson<'a> {
    verdict: Verdict,
    /// The detail behind a verdict other than accepted (`null` when accepted).
    problem: Value,
    sender: Option<&'a str>,
    message_id: Option<&'a str>,
    subject: &'a str,
    language: Language,
    recipients: Vec<RecipientJson<'a>>,
    refused: Vec<BadEntryJson<'a>>,
    envelope_recipients: &'a [mail_message::EnvelopeRecipient],
    documents: Vec<DocumentJson<'a>>,
    not_faxed: Vec<NotFaxedJson<'a>>,
    size: u64,
}

#[derive(Serialize)]
struct NotFaxedJson<'a> {
    part: &'a str,
    content_type: &'a str,
    reason: mail_message::SkipReason,
    why: &'static str,
}

fn problem_json(request: &MailRequest) -> Value {
    match &request.problem {
        None => Value::Null,
        Some(Problem::Ignored(reason)) => json!({"reason": reason.as_str()}),
        Some(Problem::Unauthorized(reason)) => json!({"reason": reason}),
        Some(Problem::TooLarge { size, max }) => json!({"size": size, "max": max}),
        Some(Problem::BadSubject(error)) => json!({"error": error.to_string()}),
        Some(Problem::TooManyRecipients { max }) => json!({"max": max}),
        Some(Problem::NoAttachment) => json!({}),
        Some(Problem::Unconvertible) => json!({
            "supported": fax_render::sniff::SUPPORTED,
        }),
        Some(_) => Value::Null,
    }
}

fn inspect(args: &InspectArgs) -> Result<bool> {
    let raw = std::fs::read(&args.message)
        .with_context(|| format!("reading {}", args.message.display()))?;
    let config = args.store.config()?;
    let address = AddressSettings::new(&config.address).context("[address]")?;
    let intake = Intake::new(config.intake.clone(), address).context("[intake]")?;
    let users = load_users(&args.store, &config)?;
    let envelope = Envelope {
        mail_from: args.mail_from.clone(),
        rcpt_to: args.rcpt_to.clone(),
    };
    let request = intake.examine(&raw, &envelope, &users);

    let pages = if args.render && !request.documents.is_empty() {
        Some(render_pages(&request)?)
    } else {
        None
    };
    let documents: Vec<DocumentJson<'_>> = request
        .documents
        .iter()
        .enumerate()
        .map(|(index, document)| DocumentJson {
            name: &document.name,
            content_type: &document.content_type,
            size: document.data.len(),
            pages: pages
                .as_ref()
                .and_then(|p: &Vec<Value>| p.get(index).cloned()),
        })
        .collect();
    let output = InspectJson {
        verdict: request.verdict,
        problem: problem_json(&request),
        sender: request.sender.as_deref(),
        message_id: request.message_id.as_deref(),
        subject: &request.subject,
        language: request.language,
        recipients: request.recipients.iter().map(RecipientJson::from).collect(),
        refused: request.refused.iter().map(BadEntryJson::from).collect(),
        envelope_recipients: &request.envelope_recipients,
        documents,
        not_faxed: request
            .not_faxed
            .iter()
            .map(|part| NotFaxedJson {
                part: &part.part,
                content_type: &part.content_type,
                reason: part.reason,
                why: part.reason.describe(),
            })
            .collect(),
        size: request.size,
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(true)
}

/// Each document converted as `faxgate convert` converts it (this same program, one
/// document at a time, in a private temporary directory): its page count, or why it
/// failed.
fn render_pages(request: &MailRequest) -> Result<Vec<Value>> {
    let program = std::env::current_exe().context("finding the faxgate program")?;
    let dir = TempDir::new()?;
    let mut results = Vec::new();
    for (index, document) in request.documents.iter().enumerate() {
        // The name keeps its extension (office files are told apart by it) but nothing
        // a sender chose can reach the file system beyond it.
        let extension = Path::new(&document.name)
            .extension()
            .and_then(|e| e.to_str())
            .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or("bin");
        let input = dir.path.join(format!("document-{index}.{extension}"));
        let output = dir.path.join(format!("document-{index}.tif"));
        std::fs::write(&input, &document.data)
            .with_context(|| format!("writing {}", input.display()))?;
        let run = std::process::Command::new(&program)
            .arg("convert")
            .arg("-o")
            .arg(&output)
            .arg(&input)
            .stdin(std::process::Stdio::null())
            .output()
            .context("running faxgate convert")?;
        if !run.status.success() {
            let error = String::from_utf8_lossy(&run.stderr).trim().to_owned();
            results.push(json!({"error": error}));
            continue;
        }
        let tiff =
            std::fs::read(&output).with_context(|| format!("reading {}", output.display()))?;
        let count = fax_tiff::Reader::new(&tiff)
            .map(|reader| reader.page_count())
            .context("reading the converted fax")?;
        results.push(json!(count));
    }
    Ok(results)
}

/// A directory removed when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Result<TempDir> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let path = base.join(format!("faxgate-inspect-{}-{attempt}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(error) => {
                    return Err(error).with_context(|| format!("creating {}", path.display()));
                }
            }
        }
        anyhow::bail!("no free temporary directory in {}", base.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn connection_test(args: &TestArgs) -> Result<bool> {
    let config = Config::load(args.config.as_deref())?;
    if !config.mailbox.is_enabled() && !config.smtp.is_enabled() {
        anyhow::bail!("nothing to test: set host in the [mailbox] or [smtp] section");
    }
    let reports = block_on(async {
        let mut reports = Vec::new();
        if config.mailbox.is_enabled() {
            reports.push(mail_net::check_mailbox(&config.mailbox).await);
        }
        if config.smtp.is_enabled() {
            reports.push(mail_net::check_smtp(&config.smtp).await);
        }
        Ok(reports)
    })?;
    let passed = reports.iter().all(mail_net::CheckReport::passed);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "passed": passed, "checks": reports }))?
        );
    } else {
        for report in &reports {
            println!("{} {}", report.target, report.server);
            for step in &report.steps {
                let mark = if step.ok { "ok  " } else { "FAIL" };
                println!(
                    "  {mark}  {:<9} {} ({} ms)",
                    step.name, step.detail, step.millis
                );
            }
        }
        println!("{}", if passed { "all steps passed" } else { "failed" });
    }
    Ok(passed)
}

/// Prints `line` and flushes, so a process reading the output sees it at once.
fn print_now(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn fetch_continuously(args: &FetchArgs) -> Result<bool> {
    let config = args.store.config()?;
    if !config.mailbox.is_enabled() {
        anyhow::bail!("no mailbox configured: set host in the [mailbox] section");
    }
    let settings = args.store.settings()?;
    let json = args.store.json;
    block_on(async {
        let pipeline = crate::intake::MailPipeline::new(
            settings.open().await?,
            fax_queue::BlobStore::open(settings.blob_dir())?,
            &config,
        )?;
        let shutdown = crate::intake::shutdown_on_signals()?;
        let status = std::sync::Mutex::new(mail_net::IntakeStatus::default());
        // The report ends when the intake has ended, so its last line includes the
        // poll that was running when the signal came.
        let (done, ended) = tokio::sync::watch::channel(false);
        let intake = async {
            let result =
                crate::intake::run_mailbox(&config.mailbox, &pipeline, &status, shutdown).await;
            let _ = done.send(true);
            result
        };
        let report = report_polls(&status, json, ended);
        let (result, ()) = tokio::join!(intake, report);
        pipeline.store.close().await;
        result
    })?;
    Ok(true)
}

/// Prints the intake's status after every poll until `ended` (and once more then): a
/// line of text at info level, or a JSON object per line.
async fn report_polls(
    status: &std::sync::Mutex<mail_net::IntakeStatus>,
    json: bool,
    mut shutdown: crate::intake::Shutdown,
) {
    // A poll is over when it succeeded or failed; the status says so by its counters.
    let mut seen = (None, 0);
    loop {
        let stopping = *shutdown.borrow_and_update();
        let current = match status.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let key = (current.last_success_ms, current.failed_polls);
        if key != seen || stopping {
            seen = key;
            if json {
                print_now(&serde_json::to_string(&current).unwrap_or_default());
            } else if current.polls > 0 || current.failed_polls > 0 {
                let line = format!(
                    "{}: {} poll(s), {} failed; {} stored, {} duplicate(s), {} deleted{}",
                    current.mailbox,
                    current.polls,
                    current.failed_polls,
                    current.stored,
                    current.duplicates,
                    current.deleted,
                    current
                        .last_error
                        .as_deref()
                        .map(|e| format!("; last error: {e}"))
                        .unwrap_or_default()
                );
                tracing::info!("{line}");
                print_now(&line);
            }
        }
        if stopping {
            return;
        }
        // The status is read, not signalled: a short wait keeps the printout within a
        // fraction of a second of the poll.
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

fn listen(args: &ListenArgs) -> Result<bool> {
    let config = args.store.config()?;
    let settings = args.store.settings()?;
    let mut smtpd = config.smtpd.clone();
    if let Some(listen) = &args.listen {
        smtpd.listen = listen.clone();
    }
    let json = args.store.json;
    block_on(async {
        let pipeline = std::sync::Arc::new(crate::intake::MailPipeline::new(
            settings.open().await?,
            fax_queue::BlobStore::open(settings.blob_dir())?,
            &config,
        )?);
        let listener = crate::intake::bind_smtp_listener(&smtpd).await?;
        let address = listener.local_addr()?;
        let status = listener.status();
        if json {
            print_now(&json!({ "listening": address.to_string() }).to_string());
        } else {
            print_now(&format!("listening on {address}"));
        }
        let shutdown = crate::intake::shutdown_on_signals()?;
        let (done, ended) = tokio::sync::watch::channel(false);
        let serve = async {
            let result = crate::intake::run_smtp_listener(
                listener,
                std::sync::Arc::clone(&pipeline),
                shutdown,
            )
            .await;
            let _ = done.send(true);
            result
        };
        let report = report_messages(&status, json, ended);
        let (result, ()) = tokio::join!(serve, report);
        pipeline.store.close().await;
        result
    })?;
    Ok(true)
}

/// Prints the listener's status after every message until `ended` (and once more then).
async fn report_messages(
    status: &std::sync::Mutex<mail_net::smtpd::ListenerStatus>,
    json: bool,
    mut shutdown: crate::intake::Shutdown,
) {
    let mut seen = (0, 0);
    loop {
        let stopping = *shutdown.borrow_and_update();
        let current = match status.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let key = (current.messages_accepted, current.messages_refused);
        if key != seen || stopping {
            seen = key;
            if json {
                print_now(&serde_json::to_string(&current).unwrap_or_default());
            } else {
                let line = format!(
                    "{} connection(s), {} message(s) taken in, {} refused{}",
                    current.connections_total,
                    current.messages_accepted,
                    current.messages_refused,
                    current
                        .last_error
                        .as_deref()
                        .map(|e| format!("; last error: {e}"))
                        .unwrap_or_default()
                );
                tracing::info!("{line}");
                print_now(&line);
            }
        }
        if stopping {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

fn fetch(args: &FetchArgs) -> Result<bool> {
    let config = args.store.config()?;
    if !config.mailbox.is_enabled() {
        anyhow::bail!("no mailbox configured: set host in the [mailbox] section");
    }
    let settings = args.store.settings()?;
    let report = block_on(async {
        let sink = crate::intake::MailPipeline::new(
            settings.open().await?,
            fax_queue::BlobStore::open(settings.blob_dir())?,
            &config,
        )?;
        let options = mail_net::FetchOptions::default();
        let report = match config.mailbox.protocol {
            mail_net::MailboxProtocol::Pop3 => {
                mail_net::fetch_once(&config.mailbox, &sink, options).await
            }
            mail_net::MailboxProtocol::Imap => {
                mail_net::imap::fetch_once_imap(&config.mailbox, &sink, options).await
            }
        }
        .with_context(|| format!("fetching {}", config.mailbox.ledger_name()))?;
        sink.store.close().await;
        Ok(report)
    })?;
    if args.store.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} message(s) listed, {} stored, {} duplicate(s), {} already taken in, {} deleted",
            report.listed, report.stored, report.duplicates, report.already_known, report.deleted
        );
        for uidl in &report.oversized {
            println!("left on the server (larger than max_message_bytes): {uidl}");
        }
    }
    Ok(true)
}
