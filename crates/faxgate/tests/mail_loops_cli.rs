//! The long-running mail intakes as processes: `faxgate mail listen` (the built-in SMTP
//! intake) fed by swaks, and `faxgate mail fetch` without `--once` watching an IMAPS
//! folder of the test Dovecot with IDLE while Postfix delivers into it. Both stop
//! cleanly (exit 0) on SIGTERM.
//!
//! Waits are bounded loops that poll the store, never sleeps that assume a speed.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::cli::{faxgate_json, faxgate_ok};
use common::mail::deliver_plain;
use common::mail_servers::servers;
use common::scratch::Scratch;
use serde_json::Value;

fn jobs(config: &str) -> Vec<Value> {
    let list = faxgate_json(&["job", "list", "--json", "--config", config]);
    list.as_array().expect("a list of jobs").clone()
}

/// Polls the store until it holds `count` jobs; at most a minute, then fails.
fn wait_for_jobs(config: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = jobs(config);
        if list.len() >= count {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "no {count} job(s) after a minute: {list:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn add_sender(config: &str, email: &str) {
    faxgate_ok(&[
        "user",
        "add",
        "--name",
        "Sender",
        "--email",
        email,
        "--permissions",
        "email",
        "--max-destination",
        "international",
        "--config",
        config,
    ]);
}

/// A running faxgate subcommand with its output read line by line.
struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
    seen: String,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_faxgate"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting faxgate");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Running {
            child,
            stdout,
            seen: String::new(),
        }
    }

    /// The next line printed (the process must print one: it ends at its exit).
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("reading output");
        self.seen.push_str(&line);
        line
    }

    /// Sends SIGTERM and returns the exit status and everything else printed.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
        let mut rest = String::new();
        use std::io::Read;
        self.stdout
            .read_to_string(&mut rest)
            .expect("reading output");
        self.seen.push_str(&rest);
        let status = self.child.wait().expect("waiting for faxgate");
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed assertion must not leave the process behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn swaks(port: u16, from: &str, to: &str, attachment: &Path) -> Output {
    Command::new("swaks")
        .args(["--server", "127.0.0.1", "--port", &port.to_string()])
        .args(["--ehlo", "client.test", "--timeout", "30"])
        .args(["--from", from, "--to", to])
        .args(["--header", "Subject: fax"])
        .args(["--body", "please fax the attachment"])
        .args(["--attach-type", "text/plain", "--attach-name", "note.txt"])
        .arg("--attach")
        .arg(format!("@{}", attachment.display()))
        .output()
        .expect("swaks runs (scripts/test installs it)")
}

#[test]
fn mail_listen_takes_rfc3192_mail_in_and_drops_strangers_after_250() {
    let scratch = Scratch::new("mail-loops-listen");
    let dir = scratch.dir();
    let config_path = dir.join("faxgate.toml");
    std::fs::write(
        &config_path,
        format!(
            "[store]\ndata_dir = \"{}\"\n\n[intake]\nfax_domain = \"fax.faxgate.test\"\n",
            dir.join("data").display()
        ),
    )
    .expect("config");
    let config = config_path.to_str().expect("path");
    add_sender(config, "alice@example.org");
    let attachment = dir.join("note.txt");
    std::fs::write(&attachment, "Please find the quote below.\n").expect("attachment");

    let mut listener = Running::start(&[
        "mail",
        "listen",
        "--listen",
        "127.0.0.1:0",
        "--config",
        config,
    ]);
    let first = listener.line();
    let address = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line names the address: {first:?}"));
    let port: u16 = address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port");

    let sent = swaks(
        port,
        "alice@example.org",
        "FAX=+8675583235170@fax.faxgate.test",
        &attachment,
    );
    let transcript = String::from_utf8_lossy(&sent.stdout).into_owned();
    assert!(sent.status.success(), "{transcript}");
    // Stored before 250: the job is in the store as soon as swaks is done.
    let list = jobs(config);
    assert_eq!(list.len(), 1, "{list:?}");
    let destination = list[0]["destination"].as_str().expect("destination");
    assert!(destination.contains("83235170"), "{destination}");

    // A stranger's mail gets 250 as well (no bounce to a likely forged sender), and
    // makes no job.
    let stranger = swaks(
        port,
        "mallory@example.org",
        "FAX=+8675583235170@fax.faxgate.test",
        &attachment,
    );
    let transcript = String::from_utf8_lossy(&stranger.stdout).into_owned();
    assert!(stranger.status.success(), "{transcript}");
    assert!(transcript.contains("<-  250 2.0.0"), "{transcript}");
    assert_eq!(jobs(config).len(), 1);

    let (status, printed) = listener.terminate();
    assert!(status.success(), "exit {status:?}\n{printed}");
    assert!(
        printed.contains("2 message(s) taken in, 0 refused"),
        "{printed}"
    );
}

/// A fax mail from alice with a text attachment, handed to Postfix's plain SMTP port.
fn deliver_fax_mail(to: &str, subject: &str) {
    deliver_plain(
        "alice@faxgate.test",
        to,
        &format!(
            "From: alice@faxgate.test\r\nTo: {to}\r\nSubject: {subject}\r\n\
             Message-ID: <loop-{subject}@faxgate.test>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nbody\r\n\
             --b\r\nContent-Type: text/plain; name=note.txt\r\n\
             Content-Disposition: attachment; filename=note.txt\r\n\r\nfax me\r\n--b--\r\n"
        ),
    );
}

#[test]
fn mail_fetch_without_once_takes_mail_in_as_it_arrives_over_imap_idle() {
    let scratch = Scratch::new("mail-loops-imap-idle");
    let dir = scratch.dir();
    let servers = servers();
    let config_path = dir.join("faxgate.toml");
    // A poll interval far beyond the test's wait: only IDLE can bring the mail in time.
    std::fs::write(
        &config_path,
        format!(
            "[store]\ndata_dir = \"{data}\"\n\n\
             [mailbox]\nprotocol = \"imap\"\nhost = \"127.0.0.1\"\nport = {imaps}\n\
             ca_file = \"{ca}\"\nuser = \"bob@faxgate.test\"\npassword = \"bob-pw\"\n\
             poll_interval_seconds = 3600\n",
            data = dir.join("data").display(),
            imaps = servers.port("IMAPS"),
            ca = servers.ca_file().display(),
        ),
    )
    .expect("config");
    let config = config_path.to_str().expect("path");
    add_sender(config, "alice@faxgate.test");

    let mut fetch = Running::start(&["mail", "fetch", "--json", "--config", config]);
    // The first pass over the (empty) folder is done once its status is printed.
    let first: Value = serde_json::from_str(&fetch.line()).expect("a JSON status line");
    assert_eq!(
        first["mailbox"], "imap://bob@faxgate.test@127.0.0.1/INBOX",
        "{first}"
    );
    assert!(first["last_success_ms"].is_u64(), "{first}");
    assert_eq!(first["stored"], 0);

    deliver_fax_mail("bob@faxgate.test", "86-755-83235170");
    let list = wait_for_jobs(config, 1);
    assert_eq!(list.len(), 1, "{list:?}");
    // The job is stored: a status line saying so follows (after any line of a pass
    // that found nothing yet).
    let after = loop {
        let status: Value = serde_json::from_str(&fetch.line()).expect("a JSON status line");
        if status["stored"] != 0 {
            break status;
        }
    };
    assert_eq!(after["stored"], 1, "{after}");
    assert_eq!(after["deleted"], 1, "{after}");
    assert_eq!(servers.mailbox_count("bob"), 0);

    let (status, printed) = fetch.terminate();
    assert!(status.success(), "exit {status:?}\n{printed}");
}

#[test]
fn mail_fetch_without_once_polls_pop3_on_its_interval() {
    let scratch = Scratch::new("mail-loops-pop3-poll");
    let dir = scratch.dir();
    let servers = servers();
    let config_path = dir.join("faxgate.toml");
    std::fs::write(
        &config_path,
        format!(
            "[store]\ndata_dir = \"{data}\"\n\n\
             [mailbox]\nhost = \"127.0.0.1\"\nport = {pop3s}\nca_file = \"{ca}\"\n\
             user = \"dave@faxgate.test\"\npassword = \"dave-pw\"\npoll_interval_seconds = 1\n",
            data = dir.join("data").display(),
            pop3s = servers.port("POP3S"),
            ca = servers.ca_file().display(),
        ),
    )
    .expect("config");
    let config = config_path.to_str().expect("path");
    add_sender(config, "alice@faxgate.test");

    let mut fetch = Running::start(&["mail", "fetch", "--config", config]);
    let first = fetch.line();
    assert!(
        first.starts_with("pop3://dave@faxgate.test@127.0.0.1: "),
        "{first}"
    );
    deliver_fax_mail("dave@faxgate.test", "86-10-12345678");
    let list = wait_for_jobs(config, 1);
    assert!(
        list[0]["destination"]
            .as_str()
            .is_some_and(|d| d.contains("12345678")),
        "{list:?}"
    );
    let (status, printed) = fetch.terminate();
    assert!(status.success(), "exit {status:?}\n{printed}");
    assert!(printed.contains("1 stored"), "{printed}");
    assert_eq!(servers.mailbox_count("dave"), 0);
}
