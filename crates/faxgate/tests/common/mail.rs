//! Mail through the project's test Dovecot and Postfix (`mail_servers`, from
//! `scripts/mail-servers`): fax mails as a mail program writes them, submitted as one of
//! the servers' users; mailboxes read back (and emptied) over POP3S; the parts of a
//! receipt.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

use mail_net::smtp::{Envelope, send_mail};
use mail_net::{
    FetchOptions, IncomingMessage, MailboxConfig, MessageSink, SinkError, SmtpConfig, TakenIn,
    TlsMode, fetch_once,
};
use serde_json::Value;

use super::mail_servers::servers;

/// The mail domain of the test servers' users (fax, alice, bob, carol, dave, erin).
pub const DOMAIN: &str = "faxgate.test";

/// A runtime for one blocking call into the async mail clients.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Postfix's submission port as `user` uses it: STARTTLS, AUTH with the user's password.
pub fn submission(user: &str) -> SmtpConfig {
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

/// Submits `raw` as `user`, to fax@.
pub fn submit(user: &str, raw: &[u8]) {
    submit_to(user, "fax", raw);
}

/// Submits `raw` as `user`, to the servers' user `to`.
pub fn submit_to(user: &str, to: &str, raw: &[u8]) {
    let envelope = Envelope {
        from: format!("{user}@{DOMAIN}"),
        to: vec![format!("{to}@{DOMAIN}")],
    };
    runtime()
        .block_on(send_mail(&submission(user), &envelope, raw))
        .expect("submitting through Postfix");
}

/// Hands `message` (header and body, CRLF line ends, ending in CRLF) from `from` to
/// `to` over Postfix's plain SMTP port, as another mail server would: no TLS, no AUTH
/// (loopback is trusted there).
pub fn deliver_plain(from: &str, to: &str, message: &str) {
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
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_owned(), "354"),
        (format!("{message}."), "250"),
        ("QUIT".to_owned(), "221"),
    ] {
        writer
            .write_all(format!("{command}\r\n").as_bytes())
            .expect("SMTP send");
        expect(code);
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `data` in base64 on one line (an encoded word, a short part).
pub fn base64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |bits, (i, b)| bits | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[(bits >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `data` in base64 in lines of 76 characters, as MIME asks of a part's body.
pub fn base64_lines(data: &[u8]) -> String {
    data.chunks(57).map(base64).collect::<Vec<_>>().join("\r\n")
}

/// Decodes base64, skipping line breaks (and anything else outside the alphabet).
pub fn unbase64(text: &str) -> Vec<u8> {
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

/// A document attached to a fax mail.
pub struct Attachment<'a> {
    /// The part's media type with its parameters (`text/plain; charset=gbk`).
    pub content_type: &'a str,
    /// The file name.
    pub name: &'a str,
    /// The file's bytes.
    pub data: &'a [u8],
}

/// A fax mail from `from` (a user of the servers) to fax@ with `subject` (sent as a
/// UTF-8 encoded word), a short Chinese body and `attachments`.
pub fn fax_mail(
    from: &str,
    subject: &str,
    message_id: &str,
    attachments: &[Attachment<'_>],
) -> Vec<u8> {
    fax_mail_to(from, "fax", subject, message_id, attachments)
}

/// The same fax mail to the servers' user `to`.
pub fn fax_mail_to(
    from: &str,
    to: &str,
    subject: &str,
    message_id: &str,
    attachments: &[Attachment<'_>],
) -> Vec<u8> {
    let mut mail = format!(
        "From: {from}@{DOMAIN}\r\nTo: {to}@{DOMAIN}\r\n\
         Subject: =?UTF-8?B?{subject}?=\r\nMessage-ID: <{message_id}>\r\n\
         Date: Sun, 29 Nov 2026 04:00:00 +0800\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n",
        subject = base64(subject.as_bytes()),
        body = base64("请发送附件。".as_bytes()),
    );
    for attachment in attachments {
        mail.push_str(&format!(
            "--b1\r\nContent-Type: {content_type}; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{data}\r\n",
            content_type = attachment.content_type,
            name = attachment.name,
            data = base64_lines(attachment.data),
        ));
    }
    mail.push_str("--b1--\r\n");
    mail.into_bytes()
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
pub fn fetch_mailbox(user: &str) -> Vec<String> {
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
    sink.0
        .into_inner()
        .expect("messages")
        .iter()
        .map(|raw| String::from_utf8_lossy(raw).into_owned())
        .collect()
}

/// Collects `user`'s mail until `done` holds for what has come, polling every
/// 500 ms at most `tries` times.
pub fn collect_mail(user: &str, tries: u32, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut mails = Vec::new();
    for _ in 0..tries {
        mails.extend(fetch_mailbox(user));
        if done(&mails) {
            return mails;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("{user}'s mailbox never held what was awaited: {mails:#?}");
}

/// The value of the header field `name` (unfolded fields only).
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// What kind of receipt a mail is (`result`, `problem`, `inbox`); empty for other mail.
pub fn receipt_kind(mail: &str) -> &str {
    header(mail, "X-Faxgate-Receipt").unwrap_or("")
}

/// The receipt's JSON part, decoded.
pub fn receipt_json(message: &str) -> Value {
    let part = message
        .split("--=_faxgate_receipt")
        .find(|part| part.contains("Content-Type: application/json"))
        .expect("a JSON part");
    let body = part.split("\r\n\r\n").nth(1).expect("a part body");
    serde_json::from_slice(&unbase64(body)).expect("the JSON part parses")
}

/// The receipt of `kind` in `mails` that answers the message `message_id` (by its
/// In-Reply-To), as its JSON part.
pub fn receipt_answering(mails: &[String], kind: &str, message_id: &str) -> Value {
    let in_reply_to = format!("<{message_id}>");
    let mail = mails
        .iter()
        .find(|m| receipt_kind(m) == kind && header(m, "In-Reply-To") == Some(&in_reply_to))
        .unwrap_or_else(|| panic!("no {kind} receipt answers {message_id}: {mails:#?}"));
    receipt_json(mail)
}

/// Makes the servers' `user` a user of the gateway named `name`, who may fax anywhere
/// by mail, reads `locale` and, with `pin`, must give that PIN in the Subject; returns
/// what `faxgate user add --json` printed.
pub fn add_mail_user(
    config: &str,
    name: &str,
    user: &str,
    locale: &str,
    pin: Option<&str>,
) -> Value {
    let email = format!("{user}@{DOMAIN}");
    let mut args = vec![
        "user",
        "add",
        "--name",
        name,
        "--email",
        &email,
        "--permissions",
        "email",
        "--max-destination",
        "international",
        "--locale",
        locale,
        "--json",
        "--config",
        config,
    ];
    if pin.is_some() {
        args.push("--pin-stdin");
    }
    let output = super::cli::faxgate_with(&args, pin.map(|pin| format!("{pin}\n")).as_deref());
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "faxgate {args:?} printed no JSON ({error}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
