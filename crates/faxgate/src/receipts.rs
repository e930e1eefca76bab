//! Receipts: the mail that tells a sender what became of a fax request, queued once
//! per request and sent through `[smtp]`.
//!
//! [`queue_receipts`] finds requests that came by mail whose every delivery is final
//! (sent, failed, cancelled), reads their results from the store (per recipient: the
//! names and number of its Subject entry, fax ID, status, pages, time on the line,
//! rate, remote station, calls, reason), composes `mail_message::receipt::
//! result_receipt` and queues it in the outgoing mail table in the transaction that
//! marks the request receipted: exactly one receipt per request, crash or not. With
//! `[intake] receipt_attach_pages = true` the pages as rendered for sending (the
//! request's fax TIFF) go with it as one PDF (`fax_tiff::tiff_to_pdf`).
//!
//! [`send_queued`] sends due queued mail (receipts and problem receipts of the intake)
//! with `mail_net::send_mail`: a temporary failure (4xx, a connection or TLS error, a
//! time-out) is tried again later with a growing delay; a permanent refusal (5xx) is
//! given up and logged.

use std::time::Duration;

use anyhow::Context;
use fax_address::AddressSettings;
use fax_queue::{
    BlobStore, DeliveryDetail, DeliveryState, NewOutgoing, RequestId, Store, Timestamp,
};
use mail_message::receipt::{
    FaxStatus, ReceiptHeaders, RecipientResult, RequestInfo, RequestResult, result_receipt,
};
use mail_message::{Envelope, Intake};
use serde::Serialize;
use tracing::{info, warn};

use crate::intake::{StoreDirectory, mail_date, new_message_id};

/// A receipt queued for a request.
#[derive(Debug, Clone, Serialize)]
pub struct QueuedReceipt {
    /// The request.
    pub request: i64,
    /// The queued mail (`None`: the request has no sender address to answer).
    pub outgoing: Option<i64>,
    /// The recipient of the receipt.
    pub to: String,
    /// `sent`, `partly-sent` or `failed`.
    pub summary: &'static str,
}

fn status_of(state: DeliveryState) -> FaxStatus {
    match state {
        DeliveryState::Sent => FaxStatus::Sent,
        DeliveryState::Cancelled => FaxStatus::Cancelled,
        // Only final deliveries get here; queued or active ones are not reported.
        _ => FaxStatus::Failed,
    }
}

/// One recipient's result from its delivery and calls.
pub fn recipient_result(
    address: &AddressSettings,
    detail: &DeliveryDetail,
    rendered_pages: Option<u32>,
) -> RecipientResult {
    let delivery = &detail.delivery;
    // The destination is the canonical Subject entry the intake stored: parsed back
    // with the same rules it gives the names, number and fax ID as the sender wrote
    // them. A destination the rules no longer read is reported as the number.
    let recipient = address
        .parse(&delivery.destination)
        .ok()
        .and_then(|entries| entries.into_iter().next())
        .and_then(|entry| entry.result.ok());
    let (name1, name2, number, fax_id) = match &recipient {
        Some(recipient) => (
            recipient.name1().map(|n| n.as_str().to_owned()),
            recipient.name2().map(|n| n.as_str().to_owned()),
            recipient.phone_number().map(ToString::to_string),
            recipient.fax_id().map(|id| id.as_str().to_owned()),
        ),
        None => (None, None, Some(delivery.destination.clone()), None),
    };
    let last = detail.attempts.last();
    let status = status_of(delivery.state);
    // The first page not yet confirmed is the count of pages confirmed, over every
    // call (a retry resumes there).
    let pages_sent = delivery.resume_page;
    let pages_total = delivery
        .total_pages
        .or(rendered_pages)
        .or_else(|| last.and_then(|a| a.pages_total))
        .unwrap_or(0)
        .max(pages_sent);
    let duration_seconds = last
        .and_then(|a| a.ended_at.map(|end| end.0.saturating_sub(a.started_at.0)))
        .map_or(0, |ms| u64::try_from(ms / 1000).unwrap_or(0));
    RecipientResult {
        name1,
        name2,
        number,
        fax_id,
        status,
        pages_sent,
        pages_total,
        duration_seconds,
        bit_rate: last.and_then(|a| a.bit_rate),
        remote_station_id: last.and_then(|a| a.remote_ident.clone()),
        attempts: delivery.attempts,
        reason: (status != FaxStatus::Sent)
            .then(|| delivery.result.clone())
            .flatten(),
    }
}

/// What the receipt says about the request: read again from the mail as it arrived
/// (its decoded Subject, Message-ID and the sender's language), or, if that is gone,
/// from the request as stored.
fn request_info(
    intake: &Intake,
    blobs: &BlobStore,
    users: &StoreDirectory,
    detail: &DeliveryDetail,
) -> RequestInfo {
    let request = &detail.request;
    if let Some(raw) = request.raw_mail.as_ref().and_then(|b| blobs.get(b).ok()) {
        let examined = intake.examine(&raw, &Envelope::default(), users);
        let mut info = RequestInfo::from_request(&examined);
        if info.sender.is_empty() {
            info.sender = request.sender.clone();
        }
        return info;
    }
    RequestInfo {
        subject: request.subject.clone(),
        sender: request.sender.clone(),
        message_id: None,
        language: intake.config().default_language,
    }
}

/// Queues the receipt of every finished request that came by mail and has none yet.
pub async fn queue_receipts(
    store: &Store,
    blobs: &BlobStore,
    intake: &Intake,
    address: &AddressSettings,
    from: &str,
    now: Timestamp,
) -> anyhow::Result<Vec<QueuedReceipt>> {
    let mut queued = Vec::new();
    let requests = store
        .requests_awaiting_receipt(0)
        .await
        .context("finding finished requests")?;
    if requests.is_empty() {
        return Ok(queued);
    }
    let users = StoreDirectory::new(store.users().await.context("reading the users")?);
    for request in requests {
        if let Some(receipt) =
            queue_one(store, blobs, intake, address, &users, from, request, now).await?
        {
            queued.push(receipt);
        }
    }
    Ok(queued)
}

#[allow(clippy::too_many_arguments)]
async fn queue_one(
    store: &Store,
    blobs: &BlobStore,
    intake: &Intake,
    address: &AddressSettings,
    users: &StoreDirectory,
    from: &str,
    request: RequestId,
    now: Timestamp,
) -> anyhow::Result<Option<QueuedReceipt>> {
    let details = store
        .request_deliveries(request)
        .await
        .with_context(|| format!("reading request {request}"))?;
    let Some(first) = details.first() else {
        return Ok(None);
    };
    let rendered = store.rendered(request).await?;
    let rendered_pages = rendered.as_ref().map(|(_, pages)| *pages);
    let pages_pdf = if intake.config().receipt_attach_pages {
        rendered
            .as_ref()
            .and_then(|(blob, _)| pages_pdf(blobs, blob, request))
    } else {
        None
    };
    let result = RequestResult {
        request: request_info(intake, blobs, users, first),
        recipients: details
            .iter()
            .map(|detail| recipient_result(address, detail, rendered_pages))
            .collect(),
    };
    let to = result.request.sender.clone();
    let summary = summary_word(&result.recipients);
    let message = (!to.is_empty()).then(|| {
        let headers = ReceiptHeaders {
            from: from.to_owned(),
            to: to.clone(),
            message_id: new_message_id("result", &request.0.to_string(), from, now),
            date: mail_date(now),
        };
        result_receipt(&result, &headers, pages_pdf.as_deref())
    });
    let outgoing = message.as_ref().map(|message| NewOutgoing {
        kind: "result",
        rcpt_to: &to,
        message,
    });
    let Some(id) = store
        .queue_receipt(request, outgoing.as_ref(), now)
        .await
        .with_context(|| format!("queuing the receipt of request {request}"))?
    else {
        // Receipted meanwhile, or a delivery was retried: nothing to do now.
        return Ok(None);
    };
    match id {
        Some(id) => info!(
            request = request.0,
            outgoing = id.0,
            summary,
            "receipt queued"
        ),
        None => warn!(
            request = request.0,
            "request finished, but it names no sender to send a receipt to"
        ),
    }
    Ok(Some(QueuedReceipt {
        request: request.0,
        outgoing: id.map(|id| id.0),
        to,
        summary,
    }))
}

/// The request's rendered fax as one PDF, for `[intake] receipt_attach_pages`. A fax
/// that cannot be read back is left out (and logged): the receipt matters more than
/// its attachment.
fn pages_pdf(blobs: &BlobStore, blob: &fax_queue::BlobRef, request: RequestId) -> Option<Vec<u8>> {
    let converted = blobs
        .get(blob)
        .context("reading the rendered fax")
        .and_then(|tiff| fax_tiff::tiff_to_pdf(&tiff).context("converting it to PDF"));
    match converted {
        Ok(pdf) => Some(pdf),
        Err(error) => {
            warn!(request = request.0, error = %format!("{error:#}"), "receipt sent without the pages");
            None
        }
    }
}

fn summary_word(recipients: &[RecipientResult]) -> &'static str {
    let sent = recipients
        .iter()
        .filter(|r| r.status == FaxStatus::Sent)
        .count();
    if sent == recipients.len() && sent > 0 {
        "sent"
    } else if sent > 0 {
        "partly-sent"
    } else {
        "failed"
    }
}

/// Tries after which a mail that keeps failing for now is given up.
pub const MAX_TRIES: u32 = 12;

/// How long to wait after the `tries`-th failed try: one minute, doubling, at most
/// four hours (a mail server down for a day is tried about a dozen times).
pub fn backoff(tries: u32) -> Duration {
    let minutes = 1u64 << tries.saturating_sub(1).min(8);
    Duration::from_secs((minutes * 60).min(4 * 3600))
}

/// Whether a send failure is for good: the server refused with a 5xx reply.
fn permanent(error: &mail_net::Error) -> bool {
    matches!(error, mail_net::Error::Refused { reply, .. } if reply.starts_with('5'))
}

/// One try of a queued mail.
#[derive(Debug, Clone, Serialize)]
pub struct SendResult {
    /// The outgoing mail.
    pub id: i64,
    /// Its recipient.
    pub to: String,
    /// `sent`, `retry` (failed for now) or `failed` (given up).
    pub result: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Sends due queued mail through `smtp`; one result per mail tried.
pub async fn send_queued(
    store: &Store,
    smtp: &mail_net::SmtpConfig,
    now: impl Fn() -> Timestamp,
) -> anyhow::Result<Vec<SendResult>> {
    let mut results = Vec::new();
    // Held long enough for every step of one send to time out.
    let hold = Duration::from_secs(smtp.timeout_seconds.saturating_mul(6).max(60));
    loop {
        let claimed = store
            .claim_outgoing(now(), hold, 20)
            .await
            .context("claiming queued mail")?;
        if claimed.is_empty() {
            return Ok(results);
        }
        for mail in claimed {
            let envelope = mail_net::smtp::Envelope {
                from: smtp.from.clone(),
                to: vec![mail.rcpt_to.clone()],
            };
            let sent = mail_net::smtp::send_mail(smtp, &envelope, &mail.message).await;
            let (result, error) = match sent {
                Ok(()) => {
                    store.outgoing_tried(mail.id, Ok(()), now()).await?;
                    info!(outgoing = mail.id.0, kind = %mail.kind, "mail sent");
                    ("sent", None)
                }
                Err(error) => {
                    let text = error.to_string();
                    let tries = mail.tries + 1;
                    let give_up = permanent(&error) || tries >= MAX_TRIES;
                    let retry_at = (!give_up).then(|| now().plus(backoff(tries)));
                    store
                        .outgoing_tried(mail.id, Err((&text, retry_at)), now())
                        .await?;
                    if give_up {
                        warn!(outgoing = mail.id.0, tries, error = %text, "mail given up");
                        ("failed", Some(text))
                    } else {
                        warn!(outgoing = mail.id.0, tries, error = %text, "mail to be tried again");
                        ("retry", Some(text))
                    }
                }
            };
            results.push(SendResult {
                id: mail.id.0,
                to: mail.rcpt_to,
                result,
                error,
            });
        }
    }
}

/// How often the receipt sender looks for finished requests and due mail when nothing
/// wakes it sooner (a mail's backoff ending, another node finishing a request).
pub const SENDER_INTERVAL: Duration = Duration::from_secs(30);

/// The receipt sender's state, for the daemon and the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SenderStatus {
    /// Passes run.
    pub passes: u64,
    /// When the last pass ended (milliseconds since the Unix epoch).
    pub last_pass_ms: Option<u64>,
    /// Receipts queued since start.
    pub queued: u64,
    /// Mails sent since start.
    pub sent: u64,
    /// Tries that failed for now since start (each is tried again later).
    pub retries: u64,
    /// Mails given up since start.
    pub given_up: u64,
    /// The last pass's error (the store could not be read), cleared by a pass that
    /// succeeds.
    pub last_error: Option<String>,
    /// Queued mail waits because no `[smtp]` host is configured.
    pub unsent: bool,
}

/// Queues receipts and sends due mail every [`SENDER_INTERVAL`], and at once when
/// `wake` says mail may be due, until `shutdown`, keeping `status` current. A pass that fails (the store is unreachable) is recorded
/// and the next one tried on time; a mail that fails waits its own backoff.
pub async fn run_sender(
    config: &crate::config::Config,
    store: &Store,
    blobs: &BlobStore,
    status: &std::sync::Mutex<SenderStatus>,
    wake: Option<&crate::serve::Stats>,
    mut shutdown: crate::intake::Shutdown,
) -> anyhow::Result<()> {
    let address = AddressSettings::new(&config.address).context("[address]")?;
    let intake = Intake::new(config.intake.clone(), address.clone()).context("[intake]")?;
    let from = crate::intake::receipt_from(config);
    let now = crate::queue_cmd::now;
    loop {
        if *shutdown.borrow_and_update() {
            return Ok(());
        }
        let pass = async {
            let queued = queue_receipts(store, blobs, &intake, &address, &from, now()).await?;
            let tried = if config.smtp.is_enabled() {
                send_queued(store, &config.smtp, now).await?
            } else {
                Vec::new()
            };
            anyhow::Ok((queued, tried))
        }
        .await;
        {
            let mut guard = match status.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            guard.passes += 1;
            guard.last_pass_ms = u64::try_from(now().0).ok();
            guard.unsent = !config.smtp.is_enabled();
            match pass {
                Ok((queued, tried)) => {
                    let count =
                        |result: &str| tried.iter().filter(|t| t.result == result).count() as u64;
                    guard.queued += queued.len() as u64;
                    guard.sent += count("sent");
                    guard.retries += count("retry");
                    guard.given_up += count("failed");
                    guard.last_error = None;
                }
                Err(error) => {
                    let text = format!("{error:#}");
                    warn!(error = %text, "receipt pass failed");
                    guard.last_error = Some(text);
                }
            }
        }
        let woken = async {
            match wake {
                Some(stats) => stats.mail_due().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(SENDER_INTERVAL) => {}
            () = woken => {}
            changed = shutdown.changed() => {
                // The sender is gone: nobody can ask to stop any more, so stop now.
                if changed.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// Options of `faxgate mail send-receipts`.
#[derive(Debug, clap::Args)]
pub struct SendReceiptsArgs {
    /// One pass (queue the receipts of finished requests, send what is due), then exit;
    /// without it a pass runs every 30 seconds until Ctrl-C or SIGTERM, printing the
    /// sender's status after each.
    #[arg(long)]
    once: bool,
    /// The configuration file ([smtp], [intake], [address], [store]) and the store.
    #[command(flatten)]
    store: crate::queue_cmd::StoreArgs,
}

/// What one pass did, as `--json` prints it.
#[derive(Debug, Serialize)]
struct PassReport {
    queued: Vec<QueuedReceipt>,
    tried: Vec<SendResult>,
    /// Queued mail left unsent because no [smtp] host is configured.
    unsent: bool,
}

/// Runs `faxgate mail send-receipts` without `--once`.
fn run_continuously(args: &SendReceiptsArgs) -> anyhow::Result<bool> {
    let config = args.store.config()?;
    let settings = args.store.settings()?;
    let json = args.store.json;
    crate::queue_cmd::block_on(async {
        let store = settings.open().await?;
        let blobs = BlobStore::open(settings.blob_dir())?;
        let shutdown = crate::intake::shutdown_on_signals()?;
        let status = std::sync::Mutex::new(SenderStatus::default());
        // The report ends when the sender has ended, after its last pass.
        let (done, ended) = tokio::sync::watch::channel(false);
        let sender = async {
            let result = run_sender(&config, &store, &blobs, &status, None, shutdown).await;
            let _ = done.send(true);
            result
        };
        let report = async {
            let mut seen = 0;
            let mut shutdown = ended;
            loop {
                let stopping = *shutdown.borrow_and_update();
                let current = match status.lock() {
                    Ok(guard) => guard.clone(),
                    Err(poisoned) => poisoned.into_inner().clone(),
                };
                if current.passes != seen || stopping {
                    seen = current.passes;
                    let line = if json {
                        serde_json::to_string(&current).unwrap_or_default()
                    } else {
                        format!(
                            "{} pass(es): {} receipt(s) queued, {} mail(s) sent, {} to retry, \
                             {} given up{}{}",
                            current.passes,
                            current.queued,
                            current.sent,
                            current.retries,
                            current.given_up,
                            if current.unsent {
                                "; no [smtp] host configured: queued mail is not sent"
                            } else {
                                ""
                            },
                            current
                                .last_error
                                .as_deref()
                                .map(|e| format!("; last error: {e}"))
                                .unwrap_or_default()
                        )
                    };
                    println!("{line}");
                }
                if stopping {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                    changed = shutdown.changed() => if changed.is_err() { return; },
                }
            }
        };
        let (result, ()) = tokio::join!(sender, report);
        store.close().await;
        result
    })?;
    Ok(true)
}

/// Runs `faxgate mail send-receipts`.
pub fn run(args: &SendReceiptsArgs) -> anyhow::Result<bool> {
    if !args.once {
        return run_continuously(args);
    }
    let config = args.store.config()?;
    let settings = args.store.settings()?;
    let address = AddressSettings::new(&config.address).context("[address]")?;
    let intake = Intake::new(config.intake.clone(), address.clone()).context("[intake]")?;
    let from = crate::intake::receipt_from(&config);
    let report = crate::queue_cmd::block_on(async {
        let store = settings.open().await?;
        let blobs = BlobStore::open(settings.blob_dir())?;
        let now = crate::queue_cmd::now;
        let queued = queue_receipts(&store, &blobs, &intake, &address, &from, now()).await?;
        let (tried, unsent) = if config.smtp.is_enabled() {
            (send_queued(&store, &config.smtp, now).await?, false)
        } else {
            (Vec::new(), true)
        };
        store.close().await;
        Ok(PassReport {
            queued,
            tried,
            unsent,
        })
    })?;
    if args.store.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(true);
    }
    for receipt in &report.queued {
        match receipt.outgoing {
            Some(id) => println!(
                "request {}: receipt ({}) queued as mail {id} to {}",
                receipt.request, receipt.summary, receipt.to
            ),
            None => println!(
                "request {}: finished ({}), no sender address to send a receipt to",
                receipt.request, receipt.summary
            ),
        }
    }
    for tried in &report.tried {
        match &tried.error {
            None => println!("mail {} to {}: sent", tried.id, tried.to),
            Some(error) if tried.result == "retry" => {
                println!(
                    "mail {} to {}: will be tried again: {error}",
                    tried.id, tried.to
                )
            }
            Some(error) => println!("mail {} to {}: given up: {error}", tried.id, tried.to),
        }
    }
    if report.unsent {
        println!("no [smtp] host configured: queued mail is not sent");
    }
    let count = |result: &str| report.tried.iter().filter(|t| t.result == result).count();
    println!(
        "{} receipt(s) queued, {} mail(s) sent, {} to retry, {} given up",
        report.queued.len(),
        count("sent"),
        count("retry"),
        count("failed")
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_four_hours() {
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(2), Duration::from_secs(120));
        assert_eq!(backoff(5), Duration::from_secs(16 * 60));
        assert_eq!(backoff(9), Duration::from_secs(4 * 3600));
        assert_eq!(backoff(40), Duration::from_secs(4 * 3600));
    }

    fn detail(state: DeliveryState, resume_page: u32, result: &str) -> DeliveryDetail {
        use fax_queue::*;
        DeliveryDetail {
            delivery: Delivery {
                id: DeliveryId(7),
                request: RequestId(3),
                destination: "86-755-83235170|AF00000002/Acme|Wang".into(),
                state,
                priority: 0,
                next_attempt_at: Timestamp(0),
                dials: 2,
                tries: 1,
                attempts: 2,
                resume_page,
                total_pages: Some(3),
                window_start: Timestamp(0),
                result: Some(result.into()),
                result_code: None,
                finished_at: Some(Timestamp(90_000)),
                lease_owner: None,
                lease_until: None,
                cancel_requested: false,
            },
            request: Request {
                id: RequestId(3),
                user: None,
                source: Source::Email,
                sender: "li@example.com".into(),
                subject: "s".into(),
                documents: Vec::new(),
                raw_mail: None,
                created_at: Timestamp(0),
            },
            attempts: vec![Attempt {
                id: AttemptId(1),
                delivery: DeliveryId(7),
                line: "sip".into(),
                worker: "w".into(),
                started_at: Timestamp(10_000),
                ended_at: Some(Timestamp(75_500)),
                pages_sent: Some(1),
                pages_total: Some(3),
                bit_rate: Some(9600),
                ecm: Some(true),
                remote_ident: Some("+86 755 8323 5170".into()),
                t30_code: Some(0),
                outcome: Some("fax-failure".into()),
                reason: Some(result.into()),
            }],
        }
    }

    #[test]
    fn recipient_result_reads_the_subject_entry_and_the_last_call() {
        let address = AddressSettings::new(&Default::default()).expect("address");
        let failed = recipient_result(
            &address,
            &detail(DeliveryState::Failed, 1, "page 2 not confirmed"),
            None,
        );
        assert_eq!(failed.name1.as_deref(), Some("Acme"));
        assert_eq!(failed.name2.as_deref(), Some("Wang"));
        assert_eq!(failed.number.as_deref(), Some("86-755-83235170"));
        assert_eq!(failed.fax_id.as_deref(), Some("AF00000002"));
        assert_eq!(failed.status, FaxStatus::Failed);
        assert_eq!((failed.pages_sent, failed.pages_total), (1, 3));
        assert_eq!(failed.duration_seconds, 65);
        assert_eq!(failed.bit_rate, Some(9600));
        assert_eq!(
            failed.remote_station_id.as_deref(),
            Some("+86 755 8323 5170")
        );
        assert_eq!(failed.attempts, 2);
        assert_eq!(failed.reason.as_deref(), Some("page 2 not confirmed"));

        let sent = recipient_result(&address, &detail(DeliveryState::Sent, 3, "ok"), None);
        assert_eq!(sent.status, FaxStatus::Sent);
        assert_eq!((sent.pages_sent, sent.pages_total), (3, 3));
        assert_eq!(sent.reason, None);
    }

    /// A one-shot SMTP server on loopback that refuses every recipient with `rcpt`.
    fn refusing_server(rcpt: &'static str) -> u16 {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut writer = stream;
            let _ = writer.write_all(b"220 test ESMTP\r\n");
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                let command = line.to_ascii_uppercase();
                let reply = if command.starts_with("EHLO") {
                    "250 test\r\n".to_owned()
                } else if command.starts_with("RCPT") {
                    format!("{rcpt}\r\n")
                } else if command.starts_with("QUIT") {
                    let _ = writer.write_all(b"221 bye\r\n");
                    return;
                } else {
                    "250 ok\r\n".to_owned()
                };
                let _ = writer.write_all(reply.as_bytes());
                line.clear();
            }
        });
        port
    }

    async fn queued_store(name: &str) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "faxgate-receipts-unit-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open_data_dir(&dir).await.expect("store");
        let raw = fax_queue::BlobRef::of(name.as_bytes());
        let reply = NewOutgoing {
            kind: "problem",
            rcpt_to: "li@example.com",
            message: b"Subject: x\r\n\r\nbody\r\n",
        };
        store
            .take_in_mail(
                &fax_queue::NewIntake {
                    mailbox: "test",
                    uidl: "1",
                    message_id: "",
                    raw_blob: &raw,
                    digest: raw.as_str(),
                    size: 1,
                    verdict: "bad-subject",
                    request: None,
                },
                None,
                Some(&reply),
                Timestamp(1_000),
            )
            .await
            .expect("queued");
        (store, dir)
    }

    fn smtp(port: u16) -> mail_net::SmtpConfig {
        mail_net::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: mail_net::TlsMode::None,
            from: "fax@example.com".into(),
            timeout_seconds: 10,
            ..mail_net::SmtpConfig::default()
        }
    }

    #[tokio::test]
    async fn temporary_failures_wait_and_permanent_ones_give_up() {
        let now = || Timestamp(2_000);
        let (store, dir) = queued_store("temporary").await;
        let tried = send_queued(&store, &smtp(refusing_server("451 4.3.0 later")), now)
            .await
            .expect("pass");
        assert_eq!(tried.len(), 1);
        assert_eq!(tried[0].result, "retry");
        let mail = &store.outgoing_mail(None).await.expect("outgoing")[0];
        assert_eq!(mail.state, fax_queue::OutgoingState::Queued);
        assert_eq!(mail.tries, 1);
        assert_eq!(mail.next_attempt_at, Timestamp(2_000 + 60_000));
        // Not due again within the backoff.
        let again = send_queued(&store, &smtp(1), now).await.expect("pass");
        assert!(again.is_empty());
        let _ = std::fs::remove_dir_all(&dir);

        let (store, dir) = queued_store("permanent").await;
        let tried = send_queued(
            &store,
            &smtp(refusing_server("550 5.1.1 no such user")),
            now,
        )
        .await
        .expect("pass");
        assert_eq!(tried[0].result, "failed");
        let mail = &store.outgoing_mail(None).await.expect("outgoing")[0];
        assert_eq!(mail.state, fax_queue::OutgoingState::Failed);
        assert!(
            mail.last_error
                .as_deref()
                .is_some_and(|e| e.contains("550"))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A mailed request for two recipients, its fax rendered (two pages, MH) and both
    /// deliveries cancelled, so it is final and awaits its receipt.
    async fn finished_request(dir: &std::path::Path) -> (Store, BlobStore, Vec<u8>) {
        use fax_queue::{DeliveryFilter, Locale};
        let store = Store::open_data_dir(dir).await.expect("store");
        store
            .add_user(
                &crate::test_users::mail_sender("Li", "li@example.com", Locale::En, None),
                "test",
                Timestamp(0),
            )
            .await
            .expect("user");
        let blobs = BlobStore::open(dir.join("blobs")).expect("blobs");
        let pipeline = crate::intake::MailPipeline::new(
            store.clone(),
            blobs.clone(),
            &crate::config::Config::default(),
        )
        .expect("pipeline");
        let raw = "From: li@example.com\r\nTo: fax@example.com\r\n\
                   Subject: 86-755-83235170; 86-10-12345678\r\nMessage-ID: <pdf@example.com>\r\n\
                   MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
                   --b\r\nContent-Type: text/plain; name=a.txt\r\n\
                   Content-Disposition: attachment; filename=a.txt\r\n\r\nfax me\r\n--b--\r\n";
        pipeline
            .take_in("test", "1", raw.as_bytes(), &Envelope::default())
            .await
            .expect("taken in");
        let deliveries = store
            .deliveries(&DeliveryFilter::default())
            .await
            .expect("jobs");
        assert_eq!(deliveries.len(), 2);
        let mut pages = Vec::new();
        for resolution in [fax_t4::Resolution::FINE, fax_t4::Resolution::STANDARD] {
            let mut page = fax_t4::Bitmap::new(1728, 100, resolution).expect("page");
            for x in 200..900 {
                page.set(x, 50, true);
            }
            pages.push(page);
        }
        let tiff = fax_tiff::write(
            &pages,
            fax_tiff::PageEncoding::Ccitt(fax_t4::Scheme::Mh),
            &fax_tiff::WriteOptions::default(),
        )
        .expect("tiff");
        let blob = blobs.put(&tiff).expect("blob");
        store
            .set_rendered(deliveries[0].request, &blob, 2)
            .await
            .expect("rendered");
        for delivery in &deliveries {
            store
                .cancel(delivery.id, "test", Timestamp(5_000))
                .await
                .expect("cancelled");
        }
        (store, blobs, tiff)
    }

    fn unbase64(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut bits, mut count) = (0u32, 0);
        for byte in text.bytes() {
            let value = match byte {
                b'A'..=b'Z' => byte - b'A',
                b'a'..=b'z' => byte - b'a' + 26,
                b'0'..=b'9' => byte - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => continue,
            };
            bits = bits << 6 | u32::from(value);
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
            }
        }
        out
    }

    async fn receipt_with(attach: bool, name: &str) -> (String, Vec<u8>) {
        let dir = std::env::temp_dir().join(format!(
            "faxgate-receipts-unit-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, blobs, tiff) = finished_request(&dir).await;
        let address = AddressSettings::new(&Default::default()).expect("address");
        let mut config = mail_message::IntakeConfig::default();
        config.receipt_attach_pages = attach;
        let intake = Intake::new(config, address.clone()).expect("intake");
        let queued = queue_receipts(
            &store,
            &blobs,
            &intake,
            &address,
            "fax@example.com",
            Timestamp(9_000),
        )
        .await
        .expect("queued");
        assert_eq!(queued.len(), 1);
        let mail = store.outgoing_mail(None).await.expect("outgoing");
        let message = String::from_utf8_lossy(&mail[0].message).into_owned();
        let _ = std::fs::remove_dir_all(&dir);
        (message, tiff)
    }

    #[tokio::test]
    async fn the_sent_pages_go_with_the_receipt_as_one_pdf_only_when_configured() {
        let (message, tiff) = receipt_with(true, "attach").await;
        assert!(message.contains("application/pdf"), "{message}");
        assert!(message.contains("fax.pdf"));
        let pdf = fax_tiff::tiff_to_pdf(&tiff).expect("pdf");
        // The attachment is the PDF of the rendered fax.
        let part = message
            .split("--=_faxgate_receipt")
            .find(|part| part.contains("fax.pdf"))
            .expect("the PDF part");
        let body = part.split("\r\n\r\n").nth(1).expect("the part's body");
        assert_eq!(unbase64(body), pdf);

        let (message, _) = receipt_with(false, "no-attach").await;
        assert!(!message.contains("application/pdf"));
    }

    #[test]
    fn only_5xx_refusals_are_permanent() {
        let refused = |reply: &str| mail_net::Error::Refused {
            command: "RCPT TO".into(),
            reply: reply.into(),
        };
        assert!(permanent(&refused("550 5.1.1 no such user")));
        assert!(!permanent(&refused("451 4.3.0 try later")));
        assert!(!permanent(&mail_net::Error::Timeout("reading".into())));
    }
}
