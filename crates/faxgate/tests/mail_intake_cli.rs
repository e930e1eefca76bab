//! `faxgate mail test` and `faxgate mail fetch --once` against real mail servers
//! (Dovecot and Postfix from `scripts/mail-servers`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::faxgate;
use common::mail::deliver_plain;
use common::mail_servers::servers;
use common::scratch::Scratch;

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// Hands one message to Postfix's plain SMTP port (no AUTH: loopback is trusted there).
fn deliver(to: &str, subject: &str) {
    deliver_plain(
        "alice@faxgate.test",
        to,
        &format!(
            "From: alice@faxgate.test\r\nTo: {to}\r\nSubject: {subject}\r\n\
             Message-ID: <{subject}@faxgate.test>\r\n\r\nbody\r\n"
        ),
    );
}

fn write_config(dir: &Path, mailbox_user: &str, password: &str) -> PathBuf {
    let servers = servers();
    let config = dir.join("faxgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\ndata_dir = \"{data}\"\n\n\
             [mailbox]\nhost = \"127.0.0.1\"\nport = {pop3s}\nca_file = \"{ca}\"\n\
             user = \"{mailbox_user}@faxgate.test\"\npassword = \"{password}\"\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {submission}\nca_file = \"{ca}\"\n\
             user = \"alice@faxgate.test\"\npassword = \"alice-pw\"\n\
             from = \"fax@faxgate.test\"\n",
            data = dir.join("data").display(),
            pop3s = servers.port("POP3S"),
            submission = servers.port("SUBMISSION"),
            ca = servers.ca_file().display(),
        ),
    )
    .expect("writing the config");
    config
}

#[test]
fn mail_test_passes_and_names_a_failing_step() {
    let scratch = Scratch::new("mail-cli-test");
    let dir = scratch.dir();
    let config = write_config(dir, "bob", "bob-pw");
    let config = config.to_str().expect("path");
    let output = faxgate(&["mail", "test", "--config", config]);
    assert!(output.status.success(), "{}", text(&output));
    let shown = text(&output);
    for step in ["dns", "tcp", "tls", "auth", "mailbox", "ehlo"] {
        assert!(shown.contains(step), "{step} missing:\n{shown}");
    }

    let bad = write_config(dir, "bob", "wrong");
    let output = faxgate(&[
        "mail",
        "test",
        "--json",
        "--config",
        bad.to_str().expect("path"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let json = String::from_utf8_lossy(&output.stdout);
    assert!(json.contains(r#""passed": false"#), "{json}");
    assert!(
        json.contains(r#""name": "auth""#) && json.contains(r#""ok": false"#),
        "{json}"
    );
}

#[test]
fn mail_fetch_once_stores_and_empties_the_mailbox() {
    let scratch = Scratch::new("mail-cli-fetch");
    let dir = scratch.dir();
    for index in 0..2 {
        deliver("fax@faxgate.test", &format!("cli-fetch-{index}"));
    }
    servers().wait_for_mailbox("fax", 2);
    let config = write_config(dir, "fax", "fax-pw");
    let config = config.to_str().expect("path");
    let output = faxgate(&["mail", "fetch", "--once", "--json", "--config", config]);
    assert!(output.status.success(), "{}", text(&output));
    let json = String::from_utf8_lossy(&output.stdout);
    assert!(json.contains(r#""stored": 2"#), "{json}");
    assert!(json.contains(r#""deleted": 2"#), "{json}");
    assert_eq!(servers().mailbox_count("fax"), 0);
    // Two blobs, one per message, in the data directory.
    let blobs: usize = std::fs::read_dir(dir.join("data").join("blobs"))
        .expect("blobs")
        .filter_map(Result::ok)
        .map(|fan| std::fs::read_dir(fan.path()).map_or(0, |files| files.count()))
        .sum();
    assert_eq!(blobs, 2);
    let output = faxgate(&["mail", "fetch", "--once", "--config", config]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).starts_with("0 message(s) listed"),
        "{}",
        text(&output)
    );
}

/// The same commands with `[mailbox] protocol = "imap"` (IMAPS): the connection test
/// reports the folder, and a fetch takes every message in and expunges it.
#[test]
fn mail_test_and_fetch_over_imap() {
    let scratch = Scratch::new("mail-cli-imap");
    let dir = scratch.dir();
    let servers = servers();
    let config = dir.join("faxgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\ndata_dir = \"{data}\"\n\n\
             [mailbox]\nprotocol = \"imap\"\nhost = \"127.0.0.1\"\nport = {imaps}\n\
             ca_file = \"{ca}\"\nuser = \"alice@faxgate.test\"\npassword = \"alice-pw\"\n",
            data = dir.join("data").display(),
            imaps = servers.port("IMAPS"),
            ca = servers.ca_file().display(),
        ),
    )
    .expect("writing the config");
    let config = config.to_str().expect("path");

    let output = faxgate(&["mail", "test", "--config", config]);
    assert!(output.status.success(), "{}", text(&output));
    let shown = text(&output);
    assert!(shown.contains("UIDVALIDITY"), "{shown}");

    for index in 0..2 {
        deliver("alice@faxgate.test", &format!("cli-imap-{index}"));
    }
    servers.wait_for_mailbox("alice", 2);
    let output = faxgate(&["mail", "fetch", "--once", "--json", "--config", config]);
    assert!(output.status.success(), "{}", text(&output));
    let json = String::from_utf8_lossy(&output.stdout);
    assert!(json.contains(r#""stored": 2"#), "{json}");
    assert!(json.contains(r#""deleted": 2"#), "{json}");
    assert_eq!(servers.mailbox_count("alice"), 0);
}
