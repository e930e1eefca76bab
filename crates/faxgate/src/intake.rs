//! The mail intake pipeline: each message fetched from the mailbox (POP3, IMAP) or
//! received by the SMTP listener becomes a fax request, a receipt that tells the
//! sender what to change, or a logged drop.
//!
//! For each raw message: its bytes go into the blob store; `mail_message::Intake`
//! judges it against the store's users; an accepted message's documents go into the
//! blob store too. Then one store transaction ([`fax_queue::Store::take_in_mail`])
//! records the message in the intake ledger together with the request (one delivery
//! per recipient) or the problem receipt: a crash before it leaves the message on the
//! server to be fetched again, a crash after it leaves both, and the ledger's unique ID
//! and content checks keep a message fetched twice from becoming two faxes.
//! Unauthorized and automatic mail (bounces, auto-replies, our own receipts) is
//! recorded and logged with no reply: answering forged or automatic mail makes
//! backscatter and loops.

use std::collections::HashMap;

use fax_address::{AddressSettings, Kind};
use fax_queue::{
    BlobStore, DestinationKind, Document, IntakeOutcome, Locale, NewIntake, NewOutgoing,
    NewRequest, Pin, Source, Store, User,
};
use mail_message::receipt::{ReceiptHeaders, problem_receipt};
use mail_message::{Envelope, Intake, Language, SenderAccount, SenderDirectory, Verdict};
use mail_net::{IncomingMessage, MessageSink, SinkError, TakenIn};
use tracing::{Instrument, info, info_span, warn};

use crate::mail_intake::message_id;
use crate::queue_cmd::now;

/// The store's users by address (lower case), for the intake's sender check.
pub struct StoreDirectory {
    by_address: HashMap<String, User>,
}

impl StoreDirectory {
    /// The directory of `users`, each under every address of theirs.
    pub fn new(users: Vec<User>) -> StoreDirectory {
        let mut by_address = HashMap::new();
        for user in users {
            for email in &user.emails {
                by_address.insert(email.as_str().to_lowercase(), user.clone());
            }
        }
        StoreDirectory { by_address }
    }

    /// The user with this address (any case).
    pub fn user(&self, address: &str) -> Option<&User> {
        self.by_address.get(&address.to_lowercase())
    }
}

/// The address rules' destination kind of a user's limit.
pub(crate) fn kind_of(destination: DestinationKind) -> Kind {
    match destination {
        DestinationKind::Internal => Kind::Internal,
        DestinationKind::Local => Kind::Local,
        DestinationKind::National => Kind::National,
        DestinationKind::International => Kind::International,
    }
}

impl SenderDirectory for StoreDirectory {
    fn find(&self, address: &str) -> Option<SenderAccount> {
        let user = self.user(address)?;
        Some(SenderAccount {
            email_to_fax: user.permissions.has(fax_queue::Permission::EmailToFax),
            max_kind: kind_of(user.max_destination),
            language: Some(match user.locale {
                Locale::Zh => Language::Zh,
                Locale::En => Language::En,
            }),
            has_pin: user.pin.is_some(),
        })
    }

    fn pin_matches(&self, address: &str, pin: &str) -> bool {
        let Some(hash) = self.user(address).and_then(|u| u.pin.as_ref()) else {
            return false;
        };
        pin.parse::<Pin>().is_ok_and(|pin| hash.verify(&pin))
    }
}

/// The address receipts come from: `[smtp] from`, else the mailbox's login if it is
/// an address, else a name that says what sent it.
pub fn receipt_from(config: &crate::config::Config) -> String {
    if !config.smtp.from.is_empty() {
        return config.smtp.from.clone();
    }
    if config.mailbox.user.contains('@') {
        return config.mailbox.user.clone();
    }
    "faxgate@localhost".to_owned()
}

/// A Message-ID for mail the gateway writes: unique by what it answers and when.
pub fn new_message_id(kind: &str, key: &str, from: &str, now: fax_queue::Timestamp) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim_end_matches('>'))
        .filter(|domain| !domain.is_empty())
        .unwrap_or("localhost");
    format!("faxgate.{kind}.{key}.{}@{domain}", now.0)
}

/// An RFC 5322 date in UTC (`Sun, 29 Nov 2026 03:00:00 +0000`).
pub fn mail_date(time: fax_queue::Timestamp) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // time_text gives `YYYY-MM-DDTHH:MM:SSZ`; only the parts are rearranged here.
    let text = crate::queue_cmd::time_text(time);
    let days = time.0.div_euclid(1000).div_euclid(86_400);
    let weekday = WEEKDAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month: usize = text.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    format!(
        "{weekday}, {} {} {} {} +0000",
        text.get(8..10).unwrap_or("01"),
        MONTHS[month.clamp(1, 12) - 1],
        text.get(0..4).unwrap_or("1970"),
        text.get(11..19).unwrap_or("00:00:00"),
    )
}

/// The pipeline from raw message to fax request, on the job store.
pub struct MailPipeline {
    /// The job store.
    pub store: Store,
    /// Raw messages and documents.
    pub blobs: BlobStore,
    /// The intake policy.
    pub intake: Intake,
    /// The address problem receipts come from.
    pub from: String,
    /// Where messages and requests are counted (the daemon's status and metrics).
    pub stats: Option<std::sync::Arc<crate::serve::Stats>>,
}

impl MailPipeline {
    /// The pipeline of a config: `[intake]`, `[address]`, the receipts' `[smtp] from`.
    pub fn new(
        store: Store,
        blobs: BlobStore,
        config: &crate::config::Config,
    ) -> anyhow::Result<MailPipeline> {
        use anyhow::Context;
        let address = AddressSettings::new(&config.address).context("[address]")?;
        let intake = Intake::new(config.intake.clone(), address).context("[intake]")?;
        Ok(MailPipeline {
            store,
            blobs,
            intake,
            from: receipt_from(config),
            stats: None,
        })
    }

    /// The same pipeline, counting what it takes in into `stats`.
    pub fn counting(self, stats: std::sync::Arc<crate::serve::Stats>) -> MailPipeline {
        MailPipeline {
            stats: Some(stats),
            ..self
        }
    }

    /// Takes one message in: see the module's description. `mailbox` and `uidl` key
    /// it in the ledger (`smtpd` is the SMTP listener's). Everything logged about the
    /// message happens in a `mail` span: `intake`, `message_id`, the sender's account
    /// (`user`, the store's id: addresses are personal data) and, once made, the
    /// `request`.
    pub async fn take_in(
        &self,
        mailbox: &str,
        uidl: &str,
        raw: &[u8],
        envelope: &Envelope,
    ) -> Result<TakenIn, SinkError> {
        let intake = if mailbox == "smtpd" {
            "smtp"
        } else {
            "mailbox"
        };
        let message_id = message_id(raw);
        let span = info_span!(
            "mail",
            intake,
            message_id = %message_id,
            user = tracing::field::Empty,
            request = tracing::field::Empty,
        );
        let taken = self
            .examine_and_store(mailbox, uidl, raw, envelope, &message_id)
            .instrument(span)
            .await;
        if let (Some(stats), Ok((taken, verdict))) = (&self.stats, &taken) {
            match taken {
                TakenIn::Stored => {
                    stats.message_taken(intake, verdict);
                    // A refused message may have a problem receipt waiting.
                    stats.mail_may_be_due();
                }
                _ => stats.message_taken(intake, "duplicate"),
            }
            if *verdict == Verdict::Accepted.as_str() && matches!(taken, TakenIn::Stored) {
                stats.request_made("email");
            }
        }
        taken.map(|(taken, _)| taken)
    }

    /// [`MailPipeline::take_in`] inside its span; also says the intake's verdict.
    async fn examine_and_store(
        &self,
        mailbox: &str,
        uidl: &str,
        raw: &[u8],
        envelope: &Envelope,
        message_id: &str,
    ) -> Result<(TakenIn, &'static str), SinkError> {
        let raw_blob = self.blobs.put(raw)?;
        let users = StoreDirectory::new(self.store.users().await?);
        let examined = self.intake.examine(raw, envelope, &users);
        let now = now();
        let verdict = examined.verdict;
        let sender = examined.sender.clone().unwrap_or_default();
        if let Some(user) = users.user(&sender) {
            tracing::Span::current().record("user", user.id.0);
        }
        info!(verdict = verdict.as_str(), "mail examined");
        let mut request = None;
        if verdict == Verdict::Accepted {
            let mut documents = Vec::with_capacity(examined.documents.len());
            for document in &examined.documents {
                documents.push(Document {
                    name: document.name.clone(),
                    blob: self.blobs.put(&document.data)?,
                });
            }
            request = Some(NewRequest {
                source: Source::Email,
                user: users.user(&sender).map(|user| user.id),
                sender: sender.clone(),
                subject: examined.subject.clone(),
                documents,
                raw_mail: Some(raw_blob.clone()),
                // The canonical subject entry of each recipient: the worker reads it
                // back with the same address rules (fax IDs and names included).
                destinations: examined
                    .recipients
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                priority: 0,
                send_at: now,
                total_pages: None,
            });
        }
        let reply = if verdict.answers_sender() && verdict != Verdict::Accepted {
            let headers = ReceiptHeaders {
                from: self.from.clone(),
                to: sender.clone(),
                message_id: new_message_id(
                    "problem",
                    raw_blob.as_str().get(..16).unwrap_or(raw_blob.as_str()),
                    &self.from,
                    now,
                ),
                date: mail_date(now),
            };
            problem_receipt(&examined, &headers)
        } else {
            None
        };
        let reply_mail = reply.as_ref().map(|message| NewOutgoing {
            kind: "problem",
            rcpt_to: &sender,
            message,
        });
        let digest = mail_message::content_digest(raw);
        let taken = self
            .store
            .take_in_mail(
                &NewIntake {
                    mailbox,
                    uidl,
                    message_id,
                    raw_blob: &raw_blob,
                    digest: &digest,
                    size: u64::try_from(raw.len()).unwrap_or(u64::MAX),
                    verdict: verdict.as_str(),
                    request: None,
                },
                request.as_ref(),
                reply_mail.as_ref(),
                now,
            )
            .await?;
        let taken = match taken.outcome {
            IntakeOutcome::Recorded(id) => {
                match (&taken.request, taken.reply) {
                    (Some((request, deliveries)), _) => {
                        tracing::Span::current().record("request", request.0);
                        info!(
                            intake = id.0,
                            request = request.0,
                            deliveries = deliveries.len(),
                            "mail taken in as a fax request"
                        );
                    }
                    (None, Some(reply)) => info!(
                        intake = id.0,
                        verdict = verdict.as_str(),
                        outgoing = reply.0,
                        "mail refused; the sender is told what to change"
                    ),
                    // No reply to unauthorized or automatic mail (no backscatter).
                    (None, None) => warn!(
                        intake = id.0,
                        verdict = verdict.as_str(),
                        "mail dropped without reply"
                    ),
                }
                TakenIn::Stored
            }
            IntakeOutcome::Duplicate { id, of } => {
                info!(
                    intake = id.0,
                    of = of.0,
                    "mail taken in before (same Message-ID and content): no new request"
                );
                TakenIn::Duplicate
            }
            IntakeOutcome::AlreadyRecorded(_) => TakenIn::Duplicate,
        };
        Ok((taken, verdict.as_str()))
    }
}

impl MessageSink for MailPipeline {
    async fn is_known(&self, mailbox: &str, uidl: &str) -> Result<bool, SinkError> {
        Ok(self.store.intake_known(mailbox, uidl).await?)
    }

    async fn take_in(&self, message: IncomingMessage<'_>) -> Result<TakenIn, SinkError> {
        // A mailbox gives no envelope: the recipients come from the Subject (or the
        // To and Cc addresses in the fax domain).
        MailPipeline::take_in(
            self,
            message.mailbox,
            message.uidl,
            message.raw,
            &Envelope::default(),
        )
        .await
    }
}

impl mail_net::smtpd::EnvelopeSink for MailPipeline {
    async fn deliver(
        &self,
        envelope: &mail_net::smtpd::Envelope,
        message: &[u8],
    ) -> Result<(), mail_net::smtpd::SinkRefusal> {
        // The listener's messages are keyed by their content without the trace fields
        // (the listener's own Received line carries the time): a client that sends the
        // same message again (its connection broke after our answer) is recognised.
        let uidl = mail_message::content_digest(message);
        let envelope = Envelope {
            mail_from: Some(envelope.mail_from.clone()),
            rcpt_to: envelope.rcpt_to.clone(),
        };
        MailPipeline::take_in(self, "smtpd", &uidl, message, &envelope)
            .await
            .map(|_| ())
            .map_err(|error| mail_net::smtpd::SinkRefusal::Temporary(error.to_string()))
    }
}

/// The signal the long-running intakes and the receipt sender watch: they stop once it
/// turns `true` (or its sender is dropped).
pub type Shutdown = tokio::sync::watch::Receiver<bool>;

/// A [`Shutdown`] that turns `true` on Ctrl-C (SIGINT) or SIGTERM. Must be called
/// inside the async runtime.
pub fn shutdown_on_signals() -> anyhow::Result<Shutdown> {
    use tokio::signal::unix::{SignalKind, signal};
    let (sender, receiver) = tokio::sync::watch::channel(false);
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|error| anyhow::anyhow!("listening for SIGTERM: {error}"))?;
    let mut interrupt = signal(SignalKind::interrupt())
        .map_err(|error| anyhow::anyhow!("listening for SIGINT: {error}"))?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => info!("SIGTERM: stopping"),
            _ = interrupt.recv() => info!("interrupted: stopping"),
        }
        let _ = sender.send(true);
        // Kept until every receiver is gone, so that none sees the channel close
        // (some loops would take a closed channel for a change and spin).
        sender.closed().await;
    });
    Ok(receiver)
}

/// Waits until `shutdown` says stop.
pub async fn stopped(mut shutdown: Shutdown) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// Takes in the configured mailbox until `shutdown`: POP3 polled every
/// `[mailbox] poll_interval`, IMAP watched with IDLE when the server offers it (polled
/// otherwise). Every message goes through `pipeline`; `status` is kept current (the
/// daemon shows it, `faxgate mail fetch` prints it). A failed poll or a broken
/// connection is recorded in `status` and tried again; only a mailbox that is not
/// configured is an error.
pub async fn run_mailbox(
    mailbox: &mail_net::MailboxConfig,
    pipeline: &MailPipeline,
    status: &std::sync::Mutex<mail_net::IntakeStatus>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    if !mailbox.is_enabled() {
        anyhow::bail!("no mailbox configured: set host in the [mailbox] section");
    }
    mailbox
        .check()
        .map_err(|error| anyhow::anyhow!("[mailbox]: {error}"))?;
    info!(
        mailbox = %mailbox.ledger_name(),
        protocol = ?mailbox.protocol,
        "mailbox intake started"
    );
    match mailbox.protocol {
        mail_net::MailboxProtocol::Pop3 => {
            mail_net::run_poll_loop(mailbox, pipeline, status, shutdown).await;
        }
        mail_net::MailboxProtocol::Imap => {
            mail_net::imap::run_imap_loop(mailbox, pipeline, status, shutdown).await;
        }
    }
    info!(mailbox = %mailbox.ledger_name(), "mailbox intake stopped");
    Ok(())
}

/// Binds the built-in SMTP intake (`[smtpd]`): separate from [`run_smtp_listener`] so
/// a caller learns at once that the address is taken, and can hold the listener's
/// status handle ([`mail_net::smtpd::SmtpListener::status`]) while it runs.
pub async fn bind_smtp_listener(
    smtpd: &mail_net::smtpd::SmtpdConfig,
) -> anyhow::Result<mail_net::smtpd::SmtpListener> {
    mail_net::smtpd::SmtpListener::bind(smtpd)
        .await
        .map_err(|error| anyhow::anyhow!("[smtpd]: {error}"))
}

/// Serves the SMTP intake until `shutdown`. Each message is taken in through
/// `pipeline` (request, problem receipt or logged drop, in one transaction) before the
/// client hears 250; the envelope recipients (`number@fax.domain`, RFC 3192
/// `FAX=+number@fax.domain`) reach the intake with it, so they address the fax as the
/// Subject does. Mail from a sender who may not fax is accepted with 250 and dropped
/// (logged, recorded in the ledger): refusing it would make the sending server bounce
/// it to an address that is likely forged, and would tell a prober which addresses may
/// send.
pub async fn run_smtp_listener(
    listener: mail_net::smtpd::SmtpListener,
    pipeline: std::sync::Arc<MailPipeline>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let address = listener
        .local_addr()
        .map_err(|error| anyhow::anyhow!("[smtpd]: {error}"))?;
    info!(%address, "SMTP intake listening");
    listener
        .run(pipeline, stopped(shutdown))
        .await
        .map_err(|error| anyhow::anyhow!("SMTP intake on {address}: {error}"))?;
    info!(%address, "SMTP intake stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{MailPipeline, mail_date, new_message_id};
    use fax_queue::{BlobStore, DeliveryFilter, Locale, OutgoingState, Store, Timestamp};
    use mail_net::smtpd::{Envelope, EnvelopeSink};

    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A pipeline on a fresh SQLite store whose one user, li@example.com, may fax by
    /// mail anywhere.
    async fn pipeline(name: &str) -> (MailPipeline, Scratch) {
        let dir =
            std::env::temp_dir().join(format!("faxgate-intake-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open_data_dir(&dir).await.expect("store");
        store
            .add_user(
                &crate::test_users::mail_sender("Li", "li@example.com", Locale::En, None),
                "test",
                Timestamp(0),
            )
            .await
            .expect("user");
        let blobs = BlobStore::open(dir.join("blobs")).expect("blobs");
        let config = crate::config::Config::default();
        let pipeline = MailPipeline::new(store, blobs, &config).expect("pipeline");
        (pipeline, Scratch(dir))
    }

    fn envelope(from: &str) -> Envelope {
        Envelope {
            peer: "127.0.0.1:2525".parse().expect("address"),
            helo: "client".into(),
            mail_from: from.into(),
            rcpt_to: vec!["fax@example.com".into()],
            tls: true,
        }
    }

    fn mail(from: &str, subject: &str, extra: &str) -> Vec<u8> {
        format!(
            "From: {from}\r\nTo: fax@example.com\r\nSubject: {subject}\r\n\
             Message-ID: <{subject}.{from}>\r\n{extra}MIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nbody\r\n\
             --b\r\nContent-Type: text/plain; name=a.txt\r\n\
             Content-Disposition: attachment; filename=a.txt\r\n\r\nfax me\r\n--b--\r\n"
        )
        .into_bytes()
    }

    async fn counts(pipeline: &MailPipeline) -> (usize, usize, usize) {
        let store = &pipeline.store;
        (
            store.intake_entries(None).await.expect("ledger").len(),
            store
                .deliveries(&DeliveryFilter::default())
                .await
                .expect("jobs")
                .len(),
            store
                .outgoing_mail(Some(OutgoingState::Queued))
                .await
                .expect("outgoing")
                .len(),
        )
    }

    #[tokio::test]
    async fn listener_mail_becomes_one_request_however_often_it_is_sent() {
        let (pipeline, _dir) = pipeline("listener").await;
        let raw = mail("li@example.com", "86-755-83235170; 86-10-12345678", "");
        for _ in 0..2 {
            pipeline
                .deliver(&envelope("li@example.com"), &raw)
                .await
                .expect("delivered");
        }
        assert_eq!(counts(&pipeline).await, (1, 2, 0));
        let entries = pipeline.store.intake_entries(None).await.expect("ledger");
        assert_eq!(entries[0].verdict, "accepted");
        assert_eq!(entries[0].mailbox, "smtpd");
        assert!(entries[0].request.is_some());
    }

    std::thread_local! {
        /// The JSON log lines of this thread while it captures them.
        static CAPTURED: std::cell::RefCell<Option<Vec<u8>>> =
            const { std::cell::RefCell::new(None) };
    }

    /// Writes a log line to this thread's capture, if it has one.
    struct ThreadCapture;

    impl std::io::Write for ThreadCapture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            CAPTURED.with(|captured| {
                if let Some(captured) = captured.borrow_mut().as_mut() {
                    captured.extend_from_slice(bytes);
                }
            });
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Starts capturing this thread's events as JSON lines. The subscriber is the
    /// process's global one, installed once: a subscriber set per thread misses events
    /// whose callsites other tests' threads registered first (tracing caches whether a
    /// callsite is of interest, process-wide).
    fn capture_logs() {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(|| ThreadCapture)
                .finish();
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
        CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    }

    /// The events this thread captured, one JSON object each.
    fn captured_events() -> Vec<serde_json::Value> {
        let bytes = CAPTURED.with(|captured| captured.borrow_mut().take().unwrap_or_default());
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON log line"))
            .collect()
    }

    /// Every event logged while a message is taken in carries the `mail` span: the
    /// intake, the Message-ID, the sender's account and (once made) the request; and
    /// the daemon's counters see one request for the accepted message only.
    #[tokio::test]
    async fn intake_events_carry_the_mail_span_and_requests_are_counted() {
        let (pipeline, _dir) = pipeline("span").await;
        let stats = std::sync::Arc::new(crate::serve::Stats::default());
        let pipeline = pipeline.counting(stats.clone());
        capture_logs();

        let accepted = mail("li@example.com", "86-755-83235170", "");
        pipeline
            .deliver(&envelope("li@example.com"), &accepted)
            .await
            .expect("delivered");
        pipeline
            .deliver(&envelope("li@example.com"), &accepted)
            .await
            .expect("delivered again");
        let refused = mail("li@example.com", "please fax this", "");
        pipeline
            .deliver(&envelope("li@example.com"), &refused)
            .await
            .expect("delivered");
        let stranger = mail("eve@example.org", "86-755-83235170", "");
        pipeline
            .deliver(&envelope("eve@example.org"), &stranger)
            .await
            .expect("delivered");

        let events = captured_events();
        let request = pipeline
            .store
            .intake_entries(None)
            .await
            .expect("ledger")
            .into_iter()
            .find_map(|entry| entry.request)
            .expect("a request");
        let user = pipeline.store.users().await.expect("users").remove(0).id;
        let taken: Vec<_> = events
            .iter()
            .filter(|event| event["fields"]["message"] == "mail taken in as a fax request")
            .collect();
        assert_eq!(taken.len(), 1, "{events:#?}");
        let span = &taken[0]["span"];
        assert_eq!(span["name"], "mail");
        assert_eq!(span["intake"], "smtp");
        assert_eq!(span["message_id"], "<86-755-83235170.li@example.com>");
        assert_eq!(span["user"], user.0);
        assert_eq!(span["request"], request.0);
        for (message_id, user) in [
            ("<86-755-83235170.li@example.com>", Some(user.0)),
            ("<please fax this.li@example.com>", Some(user.0)),
            ("<86-755-83235170.eve@example.org>", None),
        ] {
            let about: Vec<_> = events
                .iter()
                .filter(|event| event["span"]["message_id"] == message_id)
                .collect();
            assert!(about.len() >= 2, "examined and recorded: {events:#?}");
            for event in about {
                assert_eq!(event["span"]["intake"], "smtp");
                assert_eq!(event["span"]["user"].as_i64(), user, "{event}");
            }
        }
        // No event of the intake is outside a mail span.
        for event in &events {
            assert_eq!(event["span"]["name"], "mail", "{event}");
        }

        assert_eq!(stats.requests_made("email"), 1);
        assert_eq!(stats.messages_taken("smtp", "accepted"), (1, 4));
        assert_eq!(stats.messages_taken("smtp", "duplicate"), (1, 4));
    }

    #[tokio::test]
    async fn mail_delivered_twice_with_new_trace_fields_is_one_request() {
        let (pipeline, _dir) = pipeline("redelivered").await;
        let raw = mail("li@example.com", "86-755-83235170", "");
        let trace = |hop: &str| {
            [
                format!(
                    "Return-Path: <li@example.com>\r\nDelivered-To: fax@example.com\r\n\
                     Received: from {hop} by mx; Sun, 29 Nov 2026 04:4{}:00 +0000\r\n",
                    hop.len() % 10
                )
                .into_bytes(),
                raw.clone(),
            ]
            .concat()
        };
        let envelope = mail_message::Envelope::default();
        for (uidl, hop) in [("u1", "relay-a"), ("u2", "relay-b.example.net")] {
            pipeline
                .take_in("pop3://fax@mail.example", uidl, &trace(hop), &envelope)
                .await
                .expect("taken in");
        }
        // Two ledger rows (both unique IDs are known, so both get deleted), one job.
        assert_eq!(counts(&pipeline).await, (2, 1, 0));
    }

    #[tokio::test]
    async fn problems_are_answered_and_strangers_and_robots_are_not() {
        let (pipeline, _dir) = pipeline("problems").await;
        let bad = mail("li@example.com", "please fax this", "");
        pipeline
            .deliver(&envelope("li@example.com"), &bad)
            .await
            .expect("delivered");
        assert_eq!(counts(&pipeline).await, (1, 0, 1));
        let queued = pipeline.store.outgoing_mail(None).await.expect("outgoing");
        assert_eq!(queued[0].kind, "problem");
        assert_eq!(queued[0].rcpt_to, "li@example.com");
        let text = String::from_utf8_lossy(&queued[0].message).into_owned();
        assert!(
            text.contains("In-Reply-To: <please fax this.li@example.com>"),
            "{text}"
        );

        let stranger = mail("eve@example.com", "86-755-83235170", "");
        pipeline
            .deliver(&envelope("eve@example.com"), &stranger)
            .await
            .expect("delivered");
        let robot = mail(
            "li@example.com",
            "86-10-12345678",
            "Auto-Submitted: auto-replied\r\n",
        );
        pipeline
            .deliver(&envelope(""), &robot)
            .await
            .expect("delivered");
        // Both recorded, neither faxed nor answered.
        assert_eq!(counts(&pipeline).await, (3, 0, 1));
        let entries = pipeline.store.intake_entries(None).await.expect("ledger");
        assert_eq!(entries[1].verdict, "unauthorized");
        assert_eq!(entries[2].verdict, "ignored");
    }

    #[test]
    fn mail_date_is_rfc5322_utc() {
        // 2026-11-29 03:00:00 UTC was a Sunday.
        assert_eq!(
            mail_date(Timestamp(1_795_921_200_000)),
            "Sun, 29 Nov 2026 03:00:00 +0000"
        );
        assert_eq!(mail_date(Timestamp(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn message_ids_take_the_domain_of_the_sender_address() {
        assert_eq!(
            new_message_id("result", "7", "Fax <fax@example.com>", Timestamp(5)),
            "faxgate.result.7.5@example.com"
        );
        assert_eq!(
            new_message_id("problem", "ab", "faxgate", Timestamp(5)),
            "faxgate.problem.ab.5@localhost"
        );
    }
}
