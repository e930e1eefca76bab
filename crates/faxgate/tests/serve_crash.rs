//! `faxgate serve` killed with SIGKILL in the middle of a call, then started again on
//! the same store: the delivery is retried, sent once, and its sender gets one receipt.
//!
//! The daemon takes a mail from swaks on its SMTP intake and faxes it over a virtual
//! line paced like a phone line (`realtime = true`), so the call is still running when
//! the process is killed. Receipts go to a small SMTP sink on loopback run by the test,
//! which records every message it accepts. The lease is short, so a restarted daemon
//! takes the dead one's job back within seconds. The virtual line's answering terminal
//! runs inside the killed process and files a fax only when its call ends, so the
//! interrupted call leaves no file behind. The retry resumes at the first page the
//! receiver had not confirmed, so the one fax filed holds the pages the killed call had
//! not delivered. Waits are bounded by counting polls, never asserted on.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::cli::{add_user, faxgate, faxgate_json, page_count};
use common::daemon::{Daemon, free_tcp_port, received_tiffs, wait_for};
use common::postgres;
use common::scratch::Scratch;
use serde_json::Value;

/// One message the sink accepted: its envelope recipients and its text.
#[derive(Debug, Clone)]
struct Received {
    recipients: Vec<String>,
    message: String,
}

/// An SMTP server on loopback that accepts every message and keeps it: just enough of
/// RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for faxgate's receipt sender.
struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the SMTP sink");
        let port = listener.local_addr().expect("the sink's port").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                thread::spawn(move || {
                    // A session that breaks off simply records nothing more.
                    let _ = serve_session(stream, &kept);
                });
            }
        });
        SmtpSink { port, messages }
    }

    fn messages(&self) -> Vec<Received> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn count_to(&self, recipient: &str) -> usize {
        self.messages()
            .iter()
            .filter(|m| {
                m.recipients
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(recipient))
            })
            .count()
    }
}

fn serve_session(stream: TcpStream, kept: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    out.write_all(b"220 sink.test ESMTP\r\n")?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?,
            "HELO" => out.write_all(b"250 sink.test\r\n")?,
            "MAIL" => {
                recipients.clear();
                out.write_all(b"250 OK\r\n")?;
            }
            "RCPT" => {
                let address = command
                    .split_once('<')
                    .and_then(|(_, rest)| rest.split_once('>'))
                    .map(|(address, _)| address.to_owned())
                    .unwrap_or_default();
                recipients.push(address);
                out.write_all(b"250 OK\r\n")?;
            }
            "DATA" => {
                out.write_all(b"354 go ahead\r\n")?;
                let mut message = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    message.push_str(&line);
                }
                if let Ok(mut all) = kept.lock() {
                    all.push(Received {
                        recipients: std::mem::take(&mut recipients),
                        message,
                    });
                }
                out.write_all(b"250 OK queued\r\n")?;
            }
            "RSET" => {
                recipients.clear();
                out.write_all(b"250 OK\r\n")?;
            }
            "NOOP" => out.write_all(b"250 OK\r\n")?,
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"502 not implemented\r\n")?,
        }
    }
}

const PAGES: usize = 3;
const SENDER: &str = "alice@example.org";

fn killed_during_a_call_is_retried_and_reported_once(
    scratch: &Scratch,
    database_url: Option<&str>,
) {
    let data_dir = scratch.path("data");
    let smtpd_port = free_tcp_port();
    // Its own admin port too: the default one would be shared by tests running side by side.
    let admin_port = free_tcp_port();
    let sink = SmtpSink::start();
    let database = database_url
        .map(|url| format!("database_url = {url:?}\n"))
        .unwrap_or_default();
    let config = scratch.path("faxgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\ndata_dir = {data_dir:?}\n{database}\n\
             [scheduler]\nlease_seconds = 3\n\n\
             [smtpd]\nenabled = true\nlisten = \"127.0.0.1:{smtpd_port}\"\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
             from = \"fax@fax.faxgate.test\"\ntimeout_seconds = 20\n\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\n\
             [serve]\nshutdown_grace_seconds = 0\n\n\
             [[line]]\nname = \"box\"\nkind = \"virtual\"\nrealtime = true\n",
            sink.port
        ),
    )
    .expect("writing the config");
    let config = config.to_str().expect("utf-8 path").to_owned();
    add_user(&config, "Alice", SENDER, &["--permissions", "email"]);

    let daemon = Daemon::start(&config, scratch.path("serve1.log"));
    wait_for(150, "the SMTP intake listening", || {
        TcpStream::connect(("127.0.0.1", smtpd_port)).is_ok()
    });

    // One page per attached document.
    let mut swaks = Command::new("swaks");
    swaks
        .args(["--server", "127.0.0.1", "--port", &smtpd_port.to_string()])
        .args(["--ehlo", "client.test", "--timeout", "20"])
        .args(["--from", SENDER, "--to", "fax@fax.faxgate.test"])
        .args(["--header", "Subject: 755-83235170/Company"]);
    for page in 1..=PAGES {
        let text = scratch.path(&format!("page{page}.txt"));
        std::fs::write(&text, format!("Page {page} of a fax cut off by a crash.\n"))
            .expect("attachment");
        swaks
            .args(["--attach-type", "text/plain", "--attach"])
            .arg(format!("@{}", text.display()));
    }
    let swaks = swaks
        .output()
        .expect("swaks runs (scripts/test installs it)");
    assert!(
        swaks.status.success(),
        "swaks: {}",
        String::from_utf8_lossy(&swaks.stdout)
    );

    // The call is under way once the worker has reported a confirmed page and before
    // the last one: killed then, the fax is neither complete nor lost.
    let mut id = String::new();
    let mut during = Value::Null;
    wait_for(600, "the call under way", || {
        let jobs = faxgate_json(&["job", "list", "--json", "--config", &config]);
        if jobs[0]["state"] != "active" {
            return false;
        }
        id = jobs[0]["id"].to_string();
        during = faxgate_json(&["job", "show", &id, "--json", "--config", &config]);
        during["attempts"][0]["pages_sent"]
            .as_u64()
            .is_some_and(|pages| pages >= 1)
    });
    let log = daemon.log();
    daemon.kill_hard();
    assert!(
        during["attempts"][0]["pages_sent"]
            .as_u64()
            .is_some_and(|pages| (pages as usize) < PAGES),
        "killed before the last page: {during:#}\n{log}"
    );
    let dead = faxgate_json(&["job", "show", &id, "--json", "--config", &config]);
    assert_eq!(dead["state"], "active", "{dead:#}");
    assert!(dead["attempts"][0]["ended_at"].is_null(), "{dead:#}");
    let line_dir = data_dir.join("virtual/box");
    assert!(
        received_tiffs(&line_dir).is_empty(),
        "nothing filed by the killed call"
    );

    // Restarted on the same store, the daemon takes the job back when the dead
    // process's lease runs out and calls again.
    let mut daemon = Daemon::start(&config, scratch.path("serve2.log"));
    let mut after = Value::Null;
    wait_for(900, "the fax sent after the restart", || {
        after = faxgate_json(&["job", "show", &id, "--json", "--config", &config]);
        after["state"] == "sent"
    });
    let attempts = after["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{after:#}");
    assert_eq!(attempts[0]["outcome"], "interrupted", "{after:#}");
    assert_eq!(attempts[1]["outcome"], "sent", "{after:#}");
    // The retry resumes at the first page the receiver had not confirmed: the two calls
    // together carry every page, none twice.
    let confirmed = |attempt: &Value| attempt["pages_sent"].as_u64().unwrap_or(0) as usize;
    let first = confirmed(&attempts[0]);
    assert!((1..PAGES).contains(&first), "{after:#}");
    assert_eq!(first + confirmed(&attempts[1]), PAGES, "{after:#}");
    assert_eq!(after["total_pages"], PAGES, "{after:#}");
    assert_eq!(
        after["tries"], 0,
        "an interrupted call is not a failed try: {after:#}"
    );

    // The daemon's receipt pass sends the receipt; then, stopped, one more pass by hand
    // finds nothing left to send.
    wait_for(900, "the receipt sent", || sink.count_to(SENDER) >= 1);
    let exit = daemon.terminate();
    assert!(exit.success(), "{exit}\n{}", daemon.log());
    let pass = faxgate(&["mail", "send-receipts", "--once", "--config", &config]);
    assert!(
        pass.status.success(),
        "{}",
        String::from_utf8_lossy(&pass.stderr)
    );
    let messages = sink.messages();
    assert_eq!(sink.count_to(SENDER), 1, "{messages:#?}");
    assert_eq!(messages.len(), 1, "{messages:#?}");
    // The result receipt of the request.
    let receipt = &messages[0].message;
    assert!(receipt.contains("X-Faxgate-Receipt: result"), "{receipt}");

    // The virtual line filed one fax, complete: the retried call's pages. The pages the
    // killed call delivered died with the terminal in the killed process.
    let tiffs = received_tiffs(&line_dir);
    assert_eq!(tiffs.len(), 1, "{tiffs:?}");
    assert_eq!(page_count(&tiffs[0]), PAGES - first);
    let record = std::fs::read_to_string(line_dir.join("received.jsonl"))
        .expect("the virtual line's record");
    let records: Vec<Value> = record
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(records.len(), 1, "{record}");
    assert_eq!(records[0]["pages"], PAGES - first);
    assert_eq!(records[0]["complete"], true);
    assert_eq!(records[0]["job"].to_string(), id);
}

#[test]
fn serve_killed_mid_call_on_sqlite_retries_and_reports_once() {
    let scratch = Scratch::new("serve-crash-sqlite");
    killed_during_a_call_is_retried_and_reported_once(&scratch, None);
}

#[test]
fn serve_killed_mid_call_on_postgres_retries_and_reports_once() {
    let scratch = Scratch::new("serve-crash-postgres");
    let url = postgres::fresh_database("serve_crash");
    killed_during_a_call_is_retried_and_reported_once(&scratch, Some(&url));
}
