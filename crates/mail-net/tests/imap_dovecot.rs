//! The IMAP intake against the real Dovecot, with mail sent through the real Postfix
//! (`scripts/mail-servers`): a pass over IMAPS that expunges, one over STARTTLS that
//! moves to a processed folder, IDLE waking on delivery, and a crash between storing
//! and removing that loses nothing and takes nothing in twice.

mod imap_support;
#[path = "support/store_sink.rs"]
mod store_sink;

use std::sync::Mutex;
use std::time::Duration;

use imap_support::{
    FileSink, exclusive, fax_mail, maildir_count, send_via_postfix, servers, wait_delivered,
};
use mail_net::imap::{fetch_once_imap, run_imap_loop};
use mail_net::{FetchOptions, IntakeStatus, TlsMode};

/// A sink folder inside the servers' folder, which goes when they go.
fn sink_dir(name: &str) -> std::path::PathBuf {
    let dir = servers().dir.join("sinks").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Empties the fax user's INBOX with a pass whose results are thrown away.
async fn empty_inbox() {
    let servers = servers();
    let sink = FileSink::new(&sink_dir("drain"));
    fetch_once_imap(&servers.imap_config("fax"), &sink, FetchOptions::default())
        .await
        .expect("draining pass");
    assert_eq!(maildir_count(servers, "fax", ""), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaps_pass_takes_in_every_message_then_expunges() {
    let _guard = exclusive().await;
    let servers = servers();
    empty_inbox().await;
    for n in 0..3 {
        send_via_postfix(servers, "fax@faxgate.test", &fax_mail(n, "imaps"));
    }
    wait_delivered(servers, "fax", "", 3);

    let sink = FileSink::new(&sink_dir("imaps"));
    let report = fetch_once_imap(&servers.imap_config("fax"), &sink, FetchOptions::default())
        .await
        .expect("pass");
    assert_eq!(
        (report.listed, report.stored, report.deleted),
        (3, 3, 3),
        "{report:?}"
    );
    let messages = sink.messages();
    assert_eq!(messages.len(), 3);
    for n in 0..3 {
        let wanted = format!("Message-ID: <imaps-{n}@faxgate.test>");
        let found = messages
            .iter()
            .find(|m| String::from_utf8_lossy(m).contains(&wanted));
        let body = String::from_utf8_lossy(found.expect("each message stored"));
        // The bytes as sent, after the trace headers (and Date) Postfix and Dovecot add;
        // the dot-stuffed line arrives as written.
        assert!(
            body.starts_with("Return-Path: <alice@faxgate.test>\r\n"),
            "{body}"
        );
        assert!(body.contains("Subject: 755-83235170/Company\r\n"), "{body}");
        assert!(
            body.ends_with(&format!("\r\n\r\nfax request {n}\r\n.dot line\r\n")),
            "{body}"
        );
    }
    assert_eq!(
        maildir_count(servers, "fax", ""),
        0,
        "the folder is empty afterwards"
    );

    let again = fetch_once_imap(&servers.imap_config("fax"), &sink, FetchOptions::default())
        .await
        .expect("second pass");
    assert_eq!(again.listed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_pass_moves_to_the_processed_folder() {
    let _guard = exclusive().await;
    let servers = servers();
    empty_inbox().await;
    let before = maildir_count(servers, "fax", ".Faxed");
    for n in 0..2 {
        send_via_postfix(servers, "fax@faxgate.test", &fax_mail(n, "move"));
    }
    wait_delivered(servers, "fax", "", 2);

    let mut config = servers.imap_config("fax");
    config.tls = TlsMode::Starttls;
    config.port = servers.port("IMAP");
    config.processed_folder = "Faxed".into();
    // LOGIN instead of AUTHENTICATE PLAIN (what the other tests use).
    config.auth = mail_net::MailboxAuth::Password;
    let sink = FileSink::new(&sink_dir("move"));
    let report = fetch_once_imap(&config, &sink, FetchOptions::default())
        .await
        .expect("pass");
    assert_eq!((report.stored, report.deleted), (2, 2), "{report:?}");
    assert_eq!(maildir_count(servers, "fax", ""), 0);
    assert_eq!(maildir_count(servers, "fax", ".Faxed"), before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_wakes_on_delivery() {
    let _guard = exclusive().await;
    let servers = servers();
    empty_inbox().await;
    let mut config = servers.imap_config("fax");
    // Polling alone would not see the message within the test's patience: only IDLE
    // can.
    config.poll_interval_seconds = 3600;
    let sink = FileSink::new(&sink_dir("idle"));
    let status = Mutex::new(IntakeStatus::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    let watcher = async {
        run_imap_loop(&config, &sink, &status, stop_rx).await;
    };
    let driver = async {
        // First pass done: the loop is about to IDLE (mail arriving before IDLE starts
        // is reported when it does).
        wait_until(|| {
            status
                .lock()
                .map(|s| s.polls >= 1 && s.connected)
                .unwrap_or(false)
        })
        .await;
        send_via_postfix(servers, "fax@faxgate.test", &fax_mail(0, "idle"));
        wait_until(|| !sink.messages().is_empty()).await;
        stop_tx.send(true).expect("stop");
    };
    tokio::join!(watcher, driver);
    let status = status.lock().expect("status").clone();
    assert_eq!(
        status.polls, 2,
        "one pass at start, one woken by IDLE: {status:?}"
    );
    assert_eq!(status.stored, 1);
    assert_eq!(status.last_error, None);
    assert!(!status.connected);
    assert_eq!(maildir_count(servers, "fax", ""), 0);
}

/// Waits for a condition the servers bring about, giving up after a minute.
async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached within a minute");
}

const CRASH_ENV: &str = "FAXGATE_IMAP_CRASH_CHILD";

/// Run as a child process by `crash_between_store_and_expunge`: one pass that dies
/// right after the sink stored the second message.
#[test]
fn crash_child() {
    let Ok(sink_dir) = std::env::var(CRASH_ENV) else {
        return;
    };
    if std::env::var("FAXGATE_IMAP_CRASH_LEDGER").is_ok() {
        return ledger_crash_child(&sink_dir);
    }
    let config_toml = std::env::var("FAXGATE_IMAP_CRASH_CONFIG").expect("config");
    let config: mail_net::MailboxConfig = toml::from_str(&config_toml).expect("config parses");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    runtime.block_on(async {
        let sink = FileSink::new(std::path::Path::new(&sink_dir));
        let options = FetchOptions {
            abort_at: Some(mail_net::pop3::FaultPoint::AfterStore(2)),
        };
        let _ = fetch_once_imap(&config, &sink, options).await;
    });
    panic!("the pass should have aborted the process");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_between_store_and_expunge_loses_nothing_and_doubles_nothing() {
    let _guard = exclusive().await;
    let servers = servers();
    empty_inbox().await;
    for n in 0..3 {
        send_via_postfix(servers, "fax@faxgate.test", &fax_mail(n, "crash"));
    }
    wait_delivered(servers, "fax", "", 3);
    let config = servers.imap_config("fax");
    let dir = sink_dir("crash");
    let config_toml = format!(
        "protocol = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\nca_file = \"{}\"\nuser = \"{}\"\npassword = \"fax-pw\"\n",
        config.port,
        servers.ca_file().display(),
        config.user
    );
    let child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_ENV, &dir)
        .env("FAXGATE_IMAP_CRASH_CONFIG", &config_toml)
        .output()
        .expect("child runs");
    assert!(!child.status.success(), "the child must have died");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            child.status.signal(),
            Some(6),
            "aborted (SIGABRT): {child:?}"
        );
    }
    let sink = FileSink::new(&dir);
    assert_eq!(sink.messages().len(), 2, "two stored before the crash");
    assert_eq!(
        maildir_count(servers, "fax", ""),
        2,
        "the second is still on the server"
    );

    let report = fetch_once_imap(&config, &sink, FetchOptions::default())
        .await
        .expect("restart");
    assert_eq!(
        (
            report.listed,
            report.already_known,
            report.stored,
            report.duplicates,
            report.deleted
        ),
        (2, 1, 1, 0, 2),
        "{report:?}"
    );
    let messages = sink.messages();
    assert_eq!(messages.len(), 3, "every message exactly once");
    for n in 0..3 {
        let wanted = format!("Message-ID: <crash-{n}@faxgate.test>");
        let count = messages
            .iter()
            .filter(|m| String::from_utf8_lossy(m).contains(&wanted))
            .count();
        assert_eq!(count, 1, "{wanted}");
    }
    assert_eq!(maildir_count(servers, "fax", ""), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_idle_the_loop_polls() {
    let _guard = exclusive().await;
    let servers = servers();
    empty_inbox().await;
    let mut config = servers.imap_config("fax");
    config.idle = false;
    config.poll_interval_seconds = 1;
    let sink = FileSink::new(&sink_dir("poll"));
    let status = Mutex::new(IntakeStatus::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = run_imap_loop(&config, &sink, &status, stop_rx);
    let driver = async {
        wait_until(|| status.lock().map(|s| s.polls >= 1).unwrap_or(false)).await;
        send_via_postfix(servers, "fax@faxgate.test", &fax_mail(0, "poll"));
        wait_until(|| !sink.messages().is_empty()).await;
        stop_tx.send(true).expect("stop");
    };
    tokio::join!(watcher, driver);
    let status = status.lock().expect("status").clone();
    assert_eq!(status.stored, 1);
    assert!(status.polls >= 2, "{status:?}");
    assert_eq!(status.last_error, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_reported_and_retried() {
    let servers = servers();
    let mut config = servers.imap_config("bob");
    config.password = Some("wrong".into());
    let sink = FileSink::new(&sink_dir("fail"));
    let status = Mutex::new(IntakeStatus::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = run_imap_loop(&config, &sink, &status, stop_rx);
    let driver = async {
        // Backoff starts at a second: a second failure proves the retry.
        wait_until(|| status.lock().map(|s| s.failed_polls >= 2).unwrap_or(false)).await;
        stop_tx.send(true).expect("stop");
    };
    tokio::join!(watcher, driver);
    let status = status.lock().expect("status").clone();
    assert!(!status.connected);
    let error = status.last_error.expect("an error");
    // Dovecot offers AUTH=PLAIN, which `auth = "auto"` prefers to LOGIN.
    assert!(error.contains("AUTHENTICATE"), "{error}");
    assert_eq!(status.mailbox, "imap://bob@faxgate.test@127.0.0.1/INBOX");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_test_steps_over_starttls() {
    let servers = servers();
    let mut config = servers.imap_config("alice");
    config.tls = TlsMode::Starttls;
    config.port = servers.port("IMAP");
    let trust = mail_net::tls::client_config(&config.trust()).expect("trust");
    let stream = mail_net::tls::connect(
        &config.host,
        config.port,
        config.tls,
        trust.clone(),
        config.timeout(),
    )
    .await
    .expect("connects");
    let steps = mail_net::imap::check_steps(stream, &config, trust.clone()).await;
    let names: Vec<&str> = steps.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["greeting", "tls", "auth", "mailbox"]);
    let mailbox = steps[3].1.as_ref().expect("mailbox step passed");
    assert!(mailbox.starts_with("INBOX: "), "{mailbox}");
    assert!(
        mailbox.contains("extensions: IDLE UIDPLUS MOVE"),
        "{mailbox}"
    );

    config.password = Some("wrong".into());
    let stream = mail_net::tls::connect(
        &config.host,
        config.port,
        config.tls,
        trust.clone(),
        config.timeout(),
    )
    .await
    .expect("connects");
    let steps = mail_net::imap::check_steps(stream, &config, trust).await;
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[2].0, "auth");
    assert!(steps[2].1.is_err());
}

/// The child of `crash_then_new_uidvalidity_...`: one pass into the fax-queue ledger
/// in `dir`, aborting right after the second message is stored.
fn ledger_crash_child(dir: &str) {
    let config_toml = std::env::var("FAXGATE_IMAP_CRASH_CONFIG").expect("config");
    let config: mail_net::MailboxConfig = toml::from_str(&config_toml).expect("config parses");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    runtime.block_on(async {
        let sink = ledger_sink(std::path::Path::new(dir)).await;
        let options = FetchOptions {
            abort_at: Some(mail_net::pop3::FaultPoint::AfterStore(2)),
        };
        let _ = fetch_once_imap(&config, &sink, options).await;
    });
    panic!("the pass should have aborted the process");
}

async fn ledger_sink(dir: &std::path::Path) -> store_sink::StoreSink {
    store_sink::StoreSink {
        store: fax_queue::Store::open_data_dir(dir).await.expect("store"),
        blobs: fax_queue::BlobStore::open(dir.join("blobs")).expect("blobs"),
    }
}

/// The intake dies between storing a message in the fax-queue ledger and removing it;
/// before the restart the server renumbers the folder (a new UIDVALIDITY, as after a
/// rebuilt index), so the message comes back under an unknown UID. The ledger knows
/// it by Message-ID and digest: it is removed, not taken in twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_then_new_uidvalidity_still_takes_each_message_once() {
    let _guard = exclusive().await;
    let servers = servers();
    empty_inbox().await;
    for n in 0..3 {
        send_via_postfix(servers, "fax@faxgate.test", &fax_mail(n, "uidv"));
    }
    wait_delivered(servers, "fax", "", 3);
    let config = servers.imap_config("fax");
    let dir = sink_dir("ledger");
    std::fs::create_dir_all(&dir).expect("store folder");
    let config_toml = format!(
        "protocol = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\nca_file = \"{}\"\nuser = \"{}\"\npassword = \"fax-pw\"\n",
        config.port,
        servers.ca_file().display(),
        config.user
    );
    let child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_ENV, &dir)
        .env("FAXGATE_IMAP_CRASH_LEDGER", "1")
        .env("FAXGATE_IMAP_CRASH_CONFIG", &config_toml)
        .output()
        .expect("child runs");
    assert!(
        !child.status.success(),
        "the child must have died: {child:?}"
    );
    assert_eq!(maildir_count(servers, "fax", ""), 2);

    // Dovecot keeps UIDVALIDITY in its uidlist and index files: without them it
    // numbers the folder afresh.
    let before = uid_validity(&config).await;
    // A new UIDVALIDITY is the current time in seconds: let the clock move on first.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for entry in std::fs::read_dir(servers.maildir("fax")).expect("maildir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.starts_with("dovecot") && path.is_file() {
            std::fs::remove_file(&path).expect("remove Dovecot's index");
        }
    }
    let after = uid_validity(&config).await;
    let listing: Vec<_> = std::fs::read_dir(servers.maildir("fax"))
        .expect("maildir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_ne!(before, after, "UIDVALIDITY must have changed: {listing:?}");

    let sink = ledger_sink(&dir).await;
    let report = fetch_once_imap(&config, &sink, FetchOptions::default())
        .await
        .expect("restart");
    assert_eq!(
        (
            report.listed,
            report.already_known,
            report.stored,
            report.duplicates,
            report.deleted
        ),
        (2, 0, 1, 1, 2),
        "{report:?}"
    );
    assert_eq!(maildir_count(servers, "fax", ""), 0);
    let entries = sink.store.intake_entries(None).await.expect("ledger");
    let originals: Vec<_> = entries
        .iter()
        .filter(|e| e.duplicate_of.is_none())
        .collect();
    assert_eq!(originals.len(), 3, "{entries:?}");
    for n in 0..3 {
        let wanted = format!("<uidv-{n}@faxgate.test>");
        assert_eq!(
            originals.iter().filter(|e| e.message_id == wanted).count(),
            1,
            "{wanted}: {entries:?}"
        );
    }
    sink.store.close().await;
}

/// The folder's UIDVALIDITY, from the connection test's report.
async fn uid_validity(config: &mail_net::MailboxConfig) -> String {
    let trust = mail_net::tls::client_config(&config.trust()).expect("trust");
    let stream = mail_net::tls::connect(
        &config.host,
        config.port,
        config.tls,
        trust.clone(),
        config.timeout(),
    )
    .await
    .expect("connects");
    let steps = mail_net::imap::check_steps(stream, config, trust).await;
    let (_, mailbox) = steps.last().expect("steps");
    let mailbox = mailbox.as_ref().expect("mailbox step");
    mailbox
        .split("UIDVALIDITY ")
        .nth(1)
        .and_then(|rest| rest.split([';', ',']).next())
        .expect("UIDVALIDITY in the report")
        .to_owned()
}
