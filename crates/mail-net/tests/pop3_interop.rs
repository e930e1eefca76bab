//! The POP3 intake against real servers (Dovecot and Postfix from
//! `scripts/mail-servers`): mail submitted through Postfix (submission, STARTTLS,
//! AUTH) is fetched over POP3S, over POP3 with STLS and with APOP, byte for byte, and
//! the mailbox is empty afterwards. The crash test kills the intake between storing
//! and deleting, and a restart takes every message in exactly once.

#[path = "support/mail_servers.rs"]
mod mail_servers;
#[path = "support/store_sink.rs"]
mod store_sink;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use mail_net::pop3::FaultPoint;
use mail_net::smtp::{Envelope, send_mail};
use mail_net::{
    FetchOptions, IncomingMessage, MailboxAuth, MailboxConfig, MessageSink, SinkError, SmtpConfig,
    TakenIn, TlsMode, fetch_once,
};
use mail_servers::servers;

const DOMAIN: &str = "faxgate.test";

fn submission(user: &str) -> SmtpConfig {
    let servers = servers();
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: servers.port("SUBMISSION"),
        tls: TlsMode::Starttls,
        ca_file: Some(servers.ca_file()),
        user: format!("{user}@{DOMAIN}"),
        password: Some(format!("{user}-pw")),
        from: format!("{user}@{DOMAIN}"),
        ..SmtpConfig::default()
    }
}

fn mailbox(user: &str, tls: TlsMode, port_name: &str, auth: MailboxAuth) -> MailboxConfig {
    let servers = servers();
    MailboxConfig {
        host: "127.0.0.1".into(),
        port: servers.port(port_name),
        tls,
        ca_file: Some(servers.ca_file()),
        user: format!("{user}@{DOMAIN}"),
        password: Some(format!("{user}-pw")),
        auth,
        timeout_seconds: 30,
        ..MailboxConfig::default()
    }
}

/// A message with lines that need dot-stuffing, 8-bit text and a long line.
fn sample(to: &str, index: usize) -> Vec<u8> {
    format!(
        "From: alice@{DOMAIN}\r\nTo: {to}\r\nDate: Sun, 29 Nov 2026 03:00:00 +0000\r\n\
         Subject: 86-755-83235170 fax {index}\r\n\
         Message-ID: <test-{index}-{to}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Seite {index}: Grüße\r\n.\r\n..two dots\r\n.leading dot\r\n{long}\r\nend\r\n",
        long = "x".repeat(900)
    )
    .into_bytes()
}

async fn submit(from: &str, to_user: &str, count: usize) -> Vec<Vec<u8>> {
    let sent = submit_only(from, to_user, count).await;
    servers().wait_for_mailbox(to_user, count);
    sent
}

/// Submits without waiting for delivery (a running intake may take the mail first).
async fn submit_only(from: &str, to_user: &str, count: usize) -> Vec<Vec<u8>> {
    let to = format!("{to_user}@{DOMAIN}");
    let mut sent = Vec::new();
    for index in 0..count {
        let raw = sample(&to, index);
        send_mail(
            &submission(from),
            &Envelope {
                from: format!("{from}@{DOMAIN}"),
                to: vec![to.clone()],
            },
            &raw,
        )
        .await
        .expect("submitting through Postfix");
        sent.push(raw);
    }
    sent
}

#[derive(Default)]
struct MemorySink {
    messages: Mutex<Vec<(String, Vec<u8>)>>,
}

impl MessageSink for MemorySink {
    async fn is_known(&self, _mailbox: &str, uidl: &str) -> Result<bool, SinkError> {
        let messages = self.messages.lock().map_err(|e| e.to_string())?;
        Ok(messages.iter().any(|(known, _)| known == uidl))
    }

    async fn take_in(&self, message: IncomingMessage<'_>) -> Result<TakenIn, SinkError> {
        let mut messages = self.messages.lock().map_err(|e| e.to_string())?;
        messages.push((message.uidl.to_owned(), message.raw.to_vec()));
        Ok(TakenIn::Stored)
    }
}

/// Every submitted message arrives whole: Postfix and Dovecot only add trace headers
/// in front.
fn assert_fetched_exactly(sent: &[Vec<u8>], sink: &MemorySink) {
    let fetched = sink.messages.lock().expect("sink");
    assert_eq!(fetched.len(), sent.len());
    for raw in sent {
        let matches = fetched
            .iter()
            .filter(|(_, got)| got.ends_with(raw) && got.starts_with(b"Return-Path: "))
            .count();
        assert_eq!(
            matches,
            1,
            "submitted message not fetched exactly once, byte for byte:\n{}\nfetched:\n{}",
            String::from_utf8_lossy(raw),
            String::from_utf8_lossy(&fetched[0].1)
        );
    }
    let uids: HashSet<&str> = fetched.iter().map(|(uid, _)| uid.as_str()).collect();
    assert_eq!(uids.len(), fetched.len());
}

async fn fetch_and_check(user: &str, config: MailboxConfig, count: usize) {
    let sent = submit("alice", user, count).await;
    let sink = MemorySink::default();
    let report = fetch_once(&config, &sink, FetchOptions::default())
        .await
        .expect("fetching");
    assert_eq!(report.listed, count);
    assert_eq!(report.stored, count);
    assert_eq!(report.deleted, count);
    assert_fetched_exactly(&sent, &sink);
    assert_eq!(servers().mailbox_count(user), 0, "mailbox not emptied");
    let again = fetch_once(&config, &MemorySink::default(), FetchOptions::default())
        .await
        .expect("second poll");
    assert_eq!(again.listed, 0);
}

#[tokio::test]
async fn pop3s_with_user_pass_fetches_and_empties_the_mailbox() {
    fetch_and_check(
        "fax",
        mailbox("fax", TlsMode::Implicit, "POP3S", MailboxAuth::Password),
        3,
    )
    .await;
}

#[tokio::test]
async fn pop3_with_stls_fetches_and_empties_the_mailbox() {
    fetch_and_check(
        "bob",
        mailbox("bob", TlsMode::Starttls, "POP3", MailboxAuth::Auto),
        2,
    )
    .await;
}

#[tokio::test]
async fn plain_pop3_with_apop_fetches_and_empties_the_mailbox() {
    fetch_and_check(
        "dave",
        mailbox("dave", TlsMode::None, "POP3", MailboxAuth::Apop),
        2,
    )
    .await;
}

#[tokio::test]
async fn wrong_password_is_refused_by_the_server() {
    let mut config = mailbox("alice", TlsMode::Implicit, "POP3S", MailboxAuth::Password);
    config.password = Some("wrong".into());
    let error = fetch_once(&config, &MemorySink::default(), FetchOptions::default())
        .await
        .expect_err("login must fail");
    assert!(
        matches!(error, mail_net::Error::Refused { ref command, .. } if command == "PASS"),
        "{error}"
    );
}

#[tokio::test]
async fn untrusted_certificate_fails_the_handshake() {
    let mut config = mailbox("alice", TlsMode::Implicit, "POP3S", MailboxAuth::Password);
    config.ca_file = None;
    let error = fetch_once(&config, &MemorySink::default(), FetchOptions::default())
        .await
        .expect_err("the test CA is not trusted by the system");
    assert!(matches!(error, mail_net::Error::Tls { .. }), "{error}");
}

// --- The crash test ------------------------------------------------------------------

const CHILD_ENV: &str = "FAXGATE_POP3_CRASH_CHILD";

/// The intake process of the crash test: runs one poll with the store sink of the
/// folder in `FAXGATE_POP3_CRASH_CHILD` (format `DIR;PORT;CA;FAULT`), aborting where
/// told. Does nothing when run as part of the suite.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split(';').collect();
    let [dir, port, ca, fault] = parts[..] else {
        panic!("bad {CHILD_ENV}: {spec}");
    };
    let config = MailboxConfig {
        host: "127.0.0.1".into(),
        port: port.parse().expect("port"),
        tls: TlsMode::Implicit,
        ca_file: Some(PathBuf::from(ca)),
        user: format!("carol@{DOMAIN}"),
        password: Some("carol-pw".into()),
        auth: MailboxAuth::Password,
        timeout_seconds: 30,
        ..MailboxConfig::default()
    };
    let abort_at = match fault {
        "none" => None,
        "before-quit" => Some(FaultPoint::BeforeQuit),
        n => Some(FaultPoint::AfterStore(n.parse().expect("fault"))),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sink = store_sink::StoreSink {
            store: fax_queue::Store::open_data_dir(std::path::Path::new(dir))
                .await
                .expect("store"),
            blobs: fax_queue::BlobStore::open(PathBuf::from(dir).join("blobs")).expect("blobs"),
        };
        let report = fetch_once(&config, &sink, FetchOptions { abort_at })
            .await
            .expect("fetch");
        println!("REPORT {}", serde_json::to_string(&report).expect("json"));
    });
}

fn run_child(dir: &std::path::Path, fault: &str) -> (bool, String) {
    let servers = servers();
    let spec = format!(
        "{};{};{};{fault}",
        dir.display(),
        servers.port("POP3S"),
        servers.ca_file().display()
    );
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .output()
        .expect("running the intake child");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_killed_between_store_and_delete_loses_and_doubles_nothing() {
    let sent = submit("alice", "carol", 4).await;
    let dir = std::env::temp_dir().join(format!("faxgate-pop3-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("store folder");

    // Dies right after storing the second message, before any DELE.
    let (ok, log) = run_child(&dir, "2");
    assert!(!ok, "the child should have aborted:\n{log}");
    let store = fax_queue::Store::open_data_dir(&dir).await.expect("store");
    assert_eq!(store.intake_entries(None).await.expect("ledger").len(), 2);
    assert_eq!(servers().mailbox_count("carol"), 4, "nothing deleted yet");

    // Dies after marking every message deleted, before QUIT: POP3 keeps them all.
    let (ok, log) = run_child(&dir, "before-quit");
    assert!(!ok, "the child should have aborted:\n{log}");
    assert_eq!(store.intake_entries(None).await.expect("ledger").len(), 4);
    assert_eq!(
        servers().mailbox_count("carol"),
        4,
        "deletions not committed"
    );

    // A clean run only deletes: everything is known.
    let (ok, log) = run_child(&dir, "none");
    assert!(ok, "the child failed:\n{log}");
    assert!(
        log.contains(r#""stored":0"#) && log.contains(r#""already_known":4"#),
        "{log}"
    );
    assert_eq!(servers().mailbox_count("carol"), 0, "mailbox not emptied");

    let entries = store.intake_entries(None).await.expect("ledger");
    assert_eq!(entries.len(), 4, "every message taken in exactly once");
    let blobs = fax_queue::BlobStore::open(dir.join("blobs")).expect("blobs");
    for raw in &sent {
        let taken: Vec<_> = entries
            .iter()
            .filter(|entry| {
                std::fs::read(blobs.path(&entry.raw_blob)).is_ok_and(|bytes| bytes.ends_with(raw))
            })
            .collect();
        assert_eq!(taken.len(), 1, "{}", String::from_utf8_lossy(raw));
        assert_eq!(taken[0].verdict, "pending");
        assert!(taken[0].message_id.starts_with("<test-"));
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

// --- The connection test ---------------------------------------------------------------

fn step_names(report: &mail_net::CheckReport) -> Vec<&'static str> {
    report.steps.iter().map(|step| step.name).collect()
}

#[tokio::test]
async fn connection_test_passes_every_step() {
    let pop3s = mail_net::check_mailbox(&mailbox(
        "alice",
        TlsMode::Implicit,
        "POP3S",
        MailboxAuth::Password,
    ))
    .await;
    assert!(pop3s.passed(), "{pop3s:#?}");
    assert_eq!(
        step_names(&pop3s),
        ["config", "dns", "tcp", "tls", "greeting", "auth", "mailbox"]
    );
    let stls = mail_net::check_mailbox(&mailbox(
        "alice",
        TlsMode::Starttls,
        "POP3",
        MailboxAuth::Auto,
    ))
    .await;
    assert!(stls.passed(), "{stls:#?}");
    assert_eq!(
        step_names(&stls),
        ["config", "dns", "tcp", "greeting", "tls", "auth", "mailbox"]
    );
    let smtp = mail_net::check_smtp(&submission("alice")).await;
    assert!(smtp.passed(), "{smtp:#?}");
    assert_eq!(
        step_names(&smtp),
        ["config", "dns", "tcp", "greeting", "ehlo", "tls", "auth"]
    );
}

#[tokio::test]
async fn connection_test_names_the_failing_step() {
    let mut config = mailbox("alice", TlsMode::Implicit, "POP3S", MailboxAuth::Password);
    config.password = Some("wrong".into());
    let report = mail_net::check_mailbox(&config).await;
    assert!(!report.passed());
    let last = report.steps.last().expect("steps");
    assert_eq!((last.name, last.ok), ("auth", false), "{report:#?}");

    let mut smtp = submission("alice");
    smtp.ca_file = None;
    let report = mail_net::check_smtp(&smtp).await;
    let last = report.steps.last().expect("steps");
    assert_eq!((last.name, last.ok), ("tls", false), "{report:#?}");

    let mut closed = mailbox("alice", TlsMode::Implicit, "POP3S", MailboxAuth::Password);
    closed.host = "name.invalid".into();
    let report = mail_net::check_mailbox(&closed).await;
    let last = report.steps.last().expect("steps");
    assert_eq!((last.name, last.ok), ("dns", false), "{report:#?}");
}

// --- The poll loop ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_loop_takes_mail_in_and_reports_its_state() {
    let mut config = mailbox("erin", TlsMode::Implicit, "POP3S", MailboxAuth::Password);
    config.poll_interval_seconds = 1;
    let sink = std::sync::Arc::new(MemorySink::default());
    let status = std::sync::Arc::new(Mutex::new(mail_net::IntakeStatus::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let reported = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let runner = {
        let (sink, status, reported) = (sink.clone(), status.clone(), reported.clone());
        tokio::spawn(async move {
            mail_net::run_poll_loop_reporting(&config, sink.as_ref(), &status, stopped, |s| {
                reported.store(s.polls, std::sync::atomic::Ordering::SeqCst);
            })
            .await;
        })
    };
    let sent = submit_only("bob", "erin", 2).await;
    // The loop polls every second; wait (bounded) until both messages were taken in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let stored = status.lock().expect("status").stored;
        if stored >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{:?}", status.lock());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    stop.send(true).expect("stop");
    runner.await.expect("loop ends when told");
    let status = status.lock().expect("status").clone();
    assert_eq!(status.mailbox, format!("pop3://erin@{DOMAIN}@127.0.0.1"));
    assert!(!status.connected);
    assert!(status.polls >= 1 && status.failed_polls == 0, "{status:?}");
    assert_eq!(
        reported.load(std::sync::atomic::Ordering::SeqCst),
        status.polls,
        "every poll reported"
    );
    assert_eq!((status.stored, status.deleted), (2, 2));
    assert!(status.last_error.is_none());
    assert!(status.last_success_ms >= status.last_poll_started_ms);
    assert_fetched_exactly(&sent, &sink);
    assert_eq!(servers().mailbox_count("erin"), 0);
}
