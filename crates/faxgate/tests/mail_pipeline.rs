//! The mail pipeline end to end against real Dovecot and Postfix (from
//! `scripts/mail-servers`): a user submits a fax mail (Postfix submission, STARTTLS,
//! AUTH) with a Chinese Subject naming two recipients; `faxgate mail fetch --once`
//! (POP3S) makes one request with two jobs of it; `faxgate job work` (the dry-run
//! record driver) completes them; `faxgate mail send-receipts --once` mails the
//! receipt, which is read back from the sender's mailbox and checked against the store.
//! Beside it: a stranger's mail makes no job and no reply, a bad Subject makes a
//! problem receipt and no job, and a message delivered twice makes one request.

#[path = "../../mail-net/tests/support/mail_servers.rs"]
mod mail_servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use mail_net::smtp::{Envelope, send_mail};
use mail_net::{
    FetchOptions, IncomingMessage, MailboxConfig, MessageSink, SinkError, SmtpConfig, TakenIn,
    TlsMode, fetch_once,
};
use mail_servers::servers;
use serde_json::Value;

const DOMAIN: &str = "faxgate.test";
const SUBJECT: &str = "86-755-83235170/深圳公司|张三; 86-10-12345678/北京公司|李四";

fn faxgate(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_faxgate"))
        .args(args)
        .output()
        .expect("running faxgate");
    assert!(
        output.status.success(),
        "faxgate {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn faxgate_json(args: &[&str]) -> Value {
    let output = faxgate(args);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "faxgate {args:?} printed no JSON ({error}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

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

fn base64(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
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

/// A fax mail from `from` with a text attachment, as a mail program writes it.
fn fax_mail(from: &str, subject: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: {from}@{DOMAIN}\r\nTo: fax@{DOMAIN}\r\n\
         Subject: =?UTF-8?B?{subject}?=\r\nMessage-ID: <{message_id}>\r\n\
         Date: Sun, 29 Nov 2026 04:00:00 +0800\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n\
         --b1\r\nContent-Type: text/plain; charset=UTF-8; name=\"notice.txt\"\r\n\
         Content-Disposition: attachment; filename=\"notice.txt\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b1--\r\n",
        subject = base64(subject.as_bytes()),
        body = base64("请发送附件。".as_bytes()),
        attachment = base64("传真测试 fax test\r\nsecond line\r\n".as_bytes()),
    )
    .into_bytes()
}

fn submit(user: &str, raw: &[u8]) {
    let envelope = Envelope {
        from: format!("{user}@{DOMAIN}"),
        to: vec![format!("fax@{DOMAIN}")],
    };
    runtime()
        .block_on(send_mail(&submission(user), &envelope, raw))
        .expect("submitting through Postfix");
}

/// Keeps what a fetch hands over.
#[derive(Default)]
struct Collect(Mutex<Vec<Vec<u8>>>);

impl MessageSink for Collect {
    async fn is_known(&self, _mailbox: &str, _uidl: &str) -> Result<bool, SinkError> {
        Ok(false)
    }

    async fn take_in(&self, message: IncomingMessage<'_>) -> Result<TakenIn, SinkError> {
        self.0
            .lock()
            .map_err(|_| "poisoned")?
            .push(message.raw.to_vec());
        Ok(TakenIn::Stored)
    }
}

/// Every message in `user`'s mailbox, fetched (and removed) over POP3S.
fn fetch_mailbox(user: &str) -> Vec<String> {
    let servers = servers();
    let config = MailboxConfig {
        host: "127.0.0.1".into(),
        port: servers.port("POP3S"),
        tls: TlsMode::Implicit,
        ca_file: Some(servers.ca_file()),
        user: format!("{user}@{DOMAIN}"),
        password: Some(format!("{user}-pw")),
        timeout_seconds: 30,
        ..MailboxConfig::default()
    };
    let sink = Collect::default();
    runtime()
        .block_on(fetch_once(&config, &sink, FetchOptions::default()))
        .expect("fetching the mailbox");
    let messages = sink.0.into_inner().expect("messages");
    messages
        .iter()
        .map(|raw| String::from_utf8_lossy(raw).into_owned())
        .collect()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The receipt's JSON part, decoded.
fn receipt_json(message: &str) -> Value {
    let part = message
        .split("--=_faxgate_receipt")
        .find(|part| part.contains("Content-Type: application/json"))
        .expect("a JSON part");
    let body = part.split("\r\n\r\n").nth(1).expect("a part body");
    serde_json::from_slice(&unbase64(body)).expect("the JSON part parses")
}

fn write_config(dir: &Path) -> PathBuf {
    let servers = servers();
    let config = dir.join("faxgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\ndata_dir = \"{data}\"\n\n\
             [mailbox]\nhost = \"127.0.0.1\"\nport = {pop3s}\nca_file = \"{ca}\"\n\
             user = \"fax@{DOMAIN}\"\npassword = \"fax-pw\"\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {submission}\nca_file = \"{ca}\"\n\
             user = \"fax@{DOMAIN}\"\npassword = \"fax-pw\"\nfrom = \"fax@{DOMAIN}\"\n",
            data = dir.join("data").display(),
            pop3s = servers.port("POP3S"),
            submission = servers.port("SUBMISSION"),
            ca = servers.ca_file().display(),
        ),
    )
    .expect("writing the config");
    config
}

/// Delivers a copy of the message holding `needle` into `user`'s Maildir, as a
/// server that delivers a mail twice would: same bytes, a new unique ID.
fn redeliver(user: &str, needle: &str) {
    let new = servers()
        .dir
        .join("mail")
        .join(user)
        .join("Maildir")
        .join("new");
    let original = std::fs::read_dir(&new)
        .expect("the Maildir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            std::fs::read(path).is_ok_and(|raw| String::from_utf8_lossy(&raw).contains(needle))
        })
        .expect("the message in the Maildir");
    let copy = new.join(format!("{}.redelivered", std::process::id()));
    std::fs::copy(&original, &copy).expect("copying the message");
    // The mail server reads its Maildir as its own user.
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(&original).expect("the message's owner");
    std::os::unix::fs::chown(&copy, Some(owner.uid()), Some(owner.gid())).expect("chown");
}

#[test]
fn mailed_request_is_faxed_and_receipted_once() {
    let dir = std::env::temp_dir().join(format!("faxgate-mail-pipeline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = write_config(&dir);
    let config = config.to_str().expect("path");

    let alice = faxgate_json(&[
        "user",
        "add",
        "--name",
        "Alice",
        "--email",
        &format!("alice@{DOMAIN}"),
        "--permissions",
        "email",
        "--max-destination",
        "international",
        "--locale",
        "zh",
        "--json",
        "--config",
        config,
    ]);
    assert_eq!(alice["permissions"][0], "email");

    submit(
        "alice",
        &fax_mail("alice", SUBJECT, "pipeline-main@faxgate.test"),
    );
    // carol has a mailbox but is no user of the gateway.
    submit(
        "carol",
        &fax_mail("carol", "86-755-83235170", "pipeline-stranger@faxgate.test"),
    );
    submit(
        "alice",
        &fax_mail("alice", "请传真给张三", "pipeline-bad@faxgate.test"),
    );
    servers().wait_for_mailbox("fax", 3);
    redeliver("fax", "pipeline-main@faxgate.test");
    servers().wait_for_mailbox("fax", 4);

    let fetched = faxgate_json(&["mail", "fetch", "--once", "--json", "--config", config]);
    assert_eq!(fetched["listed"], 4, "{fetched}");
    assert_eq!(fetched["stored"], 3, "{fetched}");
    assert_eq!(fetched["duplicates"], 1, "{fetched}");
    assert_eq!(fetched["deleted"], 4, "{fetched}");
    assert_eq!(servers().mailbox_count("fax"), 0);

    // One request, two jobs: the stranger's mail, the bad Subject and the copy made none.
    let jobs = faxgate_json(&["job", "list", "--json", "--config", config]);
    let jobs = jobs.as_array().expect("jobs");
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(jobs[0]["request"], jobs[1]["request"]);
    let mut destinations: Vec<&str> = jobs
        .iter()
        .map(|job| job["destination"].as_str().expect("destination"))
        .collect();
    destinations.sort_unstable();
    assert_eq!(
        destinations,
        [
            "86-10-12345678/北京公司|李四",
            "86-755-83235170/深圳公司|张三"
        ]
    );

    // Nothing is final yet: only the problem receipt goes out.
    let first = faxgate_json(&[
        "mail",
        "send-receipts",
        "--once",
        "--json",
        "--config",
        config,
    ]);
    assert_eq!(first["queued"], Value::Array(Vec::new()), "{first}");
    assert_eq!(first["tried"].as_array().map(Vec::len), Some(1), "{first}");
    assert_eq!(first["tried"][0]["result"], "sent", "{first}");
    assert_eq!(first["tried"][0]["to"], format!("alice@{DOMAIN}"));

    let record = dir.join("calls.jsonl");
    faxgate(&[
        "job",
        "work",
        "--line",
        "dry",
        "--channels",
        "2",
        "--until-idle",
        "--record-file",
        record.to_str().expect("path"),
        "--config",
        config,
    ]);
    let done = faxgate_json(&["job", "list", "--json", "--config", config]);
    let done = done.as_array().expect("jobs");
    assert!(done.iter().all(|job| job["state"] == "sent"), "{done:?}");

    let second = faxgate_json(&[
        "mail",
        "send-receipts",
        "--once",
        "--json",
        "--config",
        config,
    ]);
    assert_eq!(
        second["queued"].as_array().map(Vec::len),
        Some(1),
        "{second}"
    );
    assert_eq!(second["queued"][0]["summary"], "sent");
    assert_eq!(second["tried"][0]["result"], "sent", "{second}");
    // Asked again: the request has its receipt, nothing more is queued or sent.
    let third = faxgate_json(&[
        "mail",
        "send-receipts",
        "--once",
        "--json",
        "--config",
        config,
    ]);
    assert_eq!(third["queued"], Value::Array(Vec::new()), "{third}");
    assert_eq!(third["tried"], Value::Array(Vec::new()), "{third}");

    servers().wait_for_mailbox("alice", 2);
    let mails = fetch_mailbox("alice");
    assert_eq!(mails.len(), 2);
    let kind = |mail: &&String| header(mail, "X-Faxgate-Receipt").unwrap_or("").to_owned();
    let problem = mails
        .iter()
        .find(|m| kind(m) == "problem")
        .expect("a problem receipt");
    let result = mails
        .iter()
        .find(|m| kind(m) == "result")
        .expect("a result receipt");

    let problem_json = receipt_json(problem);
    assert_eq!(problem_json["verdict"], "bad-subject", "{problem_json}");
    assert_eq!(
        header(problem, "In-Reply-To"),
        Some("<pipeline-bad@faxgate.test>")
    );

    assert_eq!(
        header(result, "In-Reply-To"),
        Some("<pipeline-main@faxgate.test>")
    );
    assert_eq!(header(result, "Auto-Submitted"), Some("auto-replied"));
    let receipt = receipt_json(result);
    assert_eq!(receipt["kind"], "result", "{receipt}");
    assert_eq!(receipt["summary"], "sent");
    assert_eq!(receipt["request"]["subject"], SUBJECT);
    assert_eq!(
        receipt["request"]["message_id"],
        "pipeline-main@faxgate.test"
    );
    let recipients = receipt["recipients"].as_array().expect("recipients");
    assert_eq!(recipients.len(), 2);
    for recipient in recipients {
        let name1 = recipient["name1"].as_str().expect("name1");
        let job = done
            .iter()
            .find(|job| {
                job["destination"]
                    .as_str()
                    .is_some_and(|d| d.contains(name1))
            })
            .expect("the recipient's job");
        assert_eq!(recipient["status"], job["state"], "{recipient}");
        assert_eq!(recipient["pages_sent"], job["resume_page"], "{recipient}");
        assert_eq!(recipient["attempts"], job["attempts"], "{recipient}");
        let number = recipient["number"].as_str().expect("number");
        assert!(
            job["destination"]
                .as_str()
                .is_some_and(|d| d.starts_with(number)),
            "{recipient} {job}"
        );
    }
    assert_eq!(recipients[0]["name2"], "张三");
    assert_eq!(recipients[1]["name1"], "北京公司");

    // The stranger got nothing back.
    assert_eq!(servers().mailbox_count("carol"), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
