//! `faxgate mail test` and `faxgate mail fetch --once` against real mail servers
//! (Dovecot and Postfix from `scripts/mail-servers`).

#[path = "../../mail-net/tests/support/mail_servers.rs"]
mod mail_servers;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mail_servers::servers;

fn faxgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faxgate"))
        .args(args)
        .output()
        .expect("running faxgate")
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// Hands one message to Postfix's plain SMTP port (no AUTH: loopback is trusted there).
fn deliver(to: &str, subject: &str) {
    let stream = TcpStream::connect(("127.0.0.1", servers().port("SMTP"))).expect("SMTP");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut expect = |code: &str| loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("SMTP reply");
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    };
    expect("220");
    for (command, code) in [
        ("EHLO test".to_owned(), "250"),
        ("MAIL FROM:<alice@faxgate.test>".to_owned(), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_owned(), "354"),
        (
            format!(
                "From: alice@faxgate.test\r\nTo: {to}\r\nSubject: {subject}\r\n\
                 Message-ID: <{subject}@faxgate.test>\r\n\r\nbody\r\n."
            ),
            "250",
        ),
        ("QUIT".to_owned(), "221"),
    ] {
        writer
            .write_all(format!("{command}\r\n").as_bytes())
            .expect("SMTP send");
        expect(code);
    }
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

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faxgate-mail-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn mail_test_passes_and_names_a_failing_step() {
    let dir = temp_dir("test");
    let config = write_config(&dir, "bob", "bob-pw");
    let config = config.to_str().expect("path");
    let output = faxgate(&["mail", "test", "--config", config]);
    assert!(output.status.success(), "{}", text(&output));
    let shown = text(&output);
    for step in ["dns", "tcp", "tls", "auth", "mailbox", "ehlo"] {
        assert!(shown.contains(step), "{step} missing:\n{shown}");
    }

    let bad = write_config(&dir, "bob", "wrong");
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
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mail_fetch_once_stores_and_empties_the_mailbox() {
    let dir = temp_dir("fetch");
    for index in 0..2 {
        deliver("fax@faxgate.test", &format!("cli-fetch-{index}"));
    }
    servers().wait_for_mailbox("fax", 2);
    let config = write_config(&dir, "fax", "fax-pw");
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
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same commands with `[mailbox] protocol = "imap"` (IMAPS): the connection test
/// reports the folder, and a fetch takes every message in and expunges it.
#[test]
fn mail_test_and_fetch_over_imap() {
    let dir = temp_dir("imap");
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
    let _ = std::fs::remove_dir_all(&dir);
}
