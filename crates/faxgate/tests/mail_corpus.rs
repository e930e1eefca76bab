//! The message corpus (`crates/mail-message/tests/messages/`) through real Postfix and
//! Dovecot (from `scripts/mail-servers`): every shape the gateway accepts is submitted
//! (Postfix submission, STARTTLS, AUTH) by a user of the gateway, taken in once over
//! POP3S and once more over IMAPS, and each fax request made of it must be what
//! `faxgate mail inspect` says of the same message: its recipients, its documents in
//! order (Chinese file names decoded) and one job per recipient. A bounce, an
//! out-of-office reply and a stranger's mail make no job and no reply. After the
//! dry-run record driver finished the jobs, the receipts are read back from the
//! senders' mailboxes, in the language of each sender's locale.
//!
//! The mail servers hold five mailboxes besides the gateway's, so the corpus senders
//! share them: each message is submitted as one of them, its From address set to that
//! mailbox (the display name and everything else kept as the client wrote it).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::cli::{faxgate_json, work_dry_until_idle};
use common::mail::{DOMAIN, add_mail_user, fetch_mailbox, header, runtime, submission};
use common::mail_servers::servers;
use mail_net::smtp::{Envelope, send_mail};
use serde_json::Value;

/// Every accepted shape of the corpus, and the mailbox that submits it: alice and
/// dave read Chinese, bob English, erin has a PIN (the one `pin_subject.eml` gives).
const ACCEPTED: &[(&str, &str)] = &[
    ("outlook_gb2312_split_subject.eml", "alice"),
    ("outlook_winmail_dat.eml", "alice"),
    ("foxmail_gbk.eml", "alice"),
    ("foxmail_gb18030.eml", "alice"),
    ("webmail_qqmail_big5.eml", "alice"),
    ("thunderbird_utf8_rfc2231.eml", "bob"),
    ("apple_mail_inline_pdf.eml", "bob"),
    ("webmail_gmail_alternative_in_mixed.eml", "bob"),
    ("signature_logo_cid.eml", "bob"),
    ("same_name_twice.eml", "bob"),
    ("forwarded_rfc822.eml", "bob"),
    ("rfc3192_fax_address.eml", "bob"),
    ("pin_subject.eml", "erin"),
];

/// The gateway's users: (mailbox, name, locale, PIN).
const USERS: &[(&str, &str, &str, Option<&str>)] = &[
    ("alice", "Li Si", "zh", None),
    ("bob", "Chen Qi", "en", None),
    ("dave", "Zhao Liu", "zh", None),
    ("erin", "Wang Wu", "zh", Some("4711")),
];

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../mail-message/tests/messages")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// `raw` as `user` submits it: the From address is the mailbox's (display name kept)
/// and the Return-Path goes (the delivering server writes its own). Nothing else
/// changes.
fn adapt(raw: &[u8], user: &str) -> Vec<u8> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header/body boundary");
    let (head, body) = raw.split_at(split);
    let head = std::str::from_utf8(head).expect("the corpus headers are ASCII");
    // Unfolded header fields, each with its name.
    let mut fields: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match fields.last_mut() {
            Some(field) if line.starts_with([' ', '\t']) => {
                field.push_str("\r\n");
                field.push_str(line);
            }
            _ => fields.push(line.to_owned()),
        }
    }
    let address = format!("{user}@{DOMAIN}");
    let mut out = String::new();
    for field in fields {
        let name = field
            .split_once(':')
            .map(|(name, _)| name.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let field = match name.as_str() {
            "return-path" => continue,
            "from" => match field.rfind('<') {
                Some(open) => format!("{}<{address}>", &field[..open]),
                None => format!("From: {address}"),
            },
            _ => field,
        };
        out.push_str(&field);
        out.push_str("\r\n");
    }
    let mut adapted = out.into_bytes();
    // `body` starts with the blank line's CRLF CRLF; the head's last CRLF is written.
    adapted.extend_from_slice(&body[2..]);
    adapted
}

/// A message to submit: who submits it, the envelope sender, the bytes.
struct Submission {
    user: &'static str,
    mail_from: String,
    raw: Vec<u8>,
}

/// Submits every message, one SMTP session each, in order.
fn submit_all(batch: &[Submission]) {
    runtime().block_on(async {
        for message in batch {
            let envelope = Envelope {
                from: message.mail_from.clone(),
                to: vec![format!("fax@{DOMAIN}")],
            };
            send_mail(&submission(message.user), &envelope, &message.raw)
                .await
                .unwrap_or_else(|error| panic!("submitting as {}: {error}", message.user));
        }
    });
}

/// The corpus as submitted: the accepted shapes, then a bounce (the null envelope
/// sender of a delivery report), an out-of-office reply and a stranger's copy of an
/// accepted shape (carol has a mailbox but is no user of the gateway).
fn batch() -> Vec<Submission> {
    let mut batch: Vec<Submission> = ACCEPTED
        .iter()
        .map(|&(file, user)| Submission {
            user,
            mail_from: format!("{user}@{DOMAIN}"),
            raw: adapt(&corpus(file), user),
        })
        .collect();
    batch.push(Submission {
        user: "dave",
        mail_from: String::new(),
        raw: adapt(&corpus("bounce.eml"), "dave"),
    });
    batch.push(Submission {
        user: "dave",
        mail_from: format!("dave@{DOMAIN}"),
        raw: adapt(&corpus("auto_reply.eml"), "dave"),
    });
    batch.push(Submission {
        user: "carol",
        mail_from: format!("carol@{DOMAIN}"),
        raw: adapt(&corpus("apple_mail_inline_pdf.eml"), "carol"),
    });
    batch
}

fn write_config(dir: &Path, protocol: &str) -> PathBuf {
    let servers = servers();
    let (protocol, port) = match protocol {
        "imap" => ("protocol = \"imap\"\n", servers.port("IMAPS")),
        _ => ("", servers.port("POP3S")),
    };
    let config = dir.join("faxgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\ndata_dir = \"{data}\"\n\n\
             [intake]\nfax_domain = \"fax.example.com\"\n\n\
             [mailbox]\n{protocol}host = \"127.0.0.1\"\nport = {port}\nca_file = \"{ca}\"\n\
             user = \"fax@{DOMAIN}\"\npassword = \"fax-pw\"\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {submission}\nca_file = \"{ca}\"\n\
             user = \"fax@{DOMAIN}\"\npassword = \"fax-pw\"\nfrom = \"fax@{DOMAIN}\"\n",
            data = dir.join("data").display(),
            submission = servers.port("SUBMISSION"),
            ca = servers.ca_file().display(),
        ),
    )
    .expect("writing the config");
    config
}

fn add_users(config: &str) {
    for &(user, name, locale, pin) in USERS {
        add_mail_user(config, name, user, locale, pin);
    }
}

/// What `faxgate mail inspect` says of `raw`, with the gateway's configuration.
fn inspect(dir: &Path, config: &str, name: &str, raw: &[u8]) -> Value {
    let file = dir.join(name);
    std::fs::write(&file, raw).expect("writing the message");
    faxgate_json(&[
        "mail",
        "inspect",
        "--json",
        "--config",
        config,
        file.to_str().expect("path"),
    ])
}

/// A recipient of `mail inspect` as its job's destination: the canonical Subject entry.
fn destination(recipient: &Value) -> String {
    let text = |key: &str| recipient[key].as_str().map(str::to_owned);
    // Always three parts, as the address grammar writes a number: an extension of the
    // server's own phone system is 0-0-extension, a missing area code is 0.
    let mut out = match (text("country"), text("number")) {
        (_, None) => String::new(),
        (None, Some(extension)) => format!("0-0-{extension}"),
        (Some(country), Some(number)) => format!(
            "{country}-{}-{number}",
            text("area").unwrap_or_else(|| "0".into())
        ),
    };
    if let Some(fax_id) = text("fax_id") {
        if !out.is_empty() {
            out.push('|');
        }
        out.push_str(&fax_id);
    }
    if text("name1").is_some() || text("name2").is_some() {
        out.push('/');
        out.push_str(&text("name1").unwrap_or_default());
        if let Some(name2) = text("name2") {
            out.push('|');
            out.push_str(&name2);
        }
    }
    out
}

/// The raw mail a request was made of, from the blob store under `data`.
fn raw_mail(data: &Path, blob: &str) -> Vec<u8> {
    let (fan, rest) = blob.split_at(2);
    let mut pending = vec![data.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let candidate = dir.join(fan).join(rest);
        if candidate.is_file() {
            return std::fs::read(&candidate).expect("the raw mail");
        }
        for entry in std::fs::read_dir(&dir).expect("the data dir").flatten() {
            if entry.path().is_dir() {
                pending.push(entry.path());
            }
        }
    }
    panic!("blob {blob} not found under {}", data.display())
}

/// A request as the gateway stored it, with the mail it was made of.
#[derive(Debug, Default)]
struct Stored {
    raw: Vec<u8>,
    sender: String,
    subject: String,
    destinations: Vec<String>,
    documents: Vec<String>,
}

/// The gateway's requests, by id.
fn stored_requests(dir: &Path, config: &str) -> BTreeMap<i64, Stored> {
    let jobs = faxgate_json(&["job", "list", "--json", "--config", config]);
    let mut requests: BTreeMap<i64, Stored> = BTreeMap::new();
    for job in jobs.as_array().expect("jobs") {
        let id = job["id"].to_string();
        let shown = faxgate_json(&["job", "show", &id, "--json", "--config", config]);
        let request = &shown["request"];
        let stored = requests
            .entry(request["id"].as_i64().expect("a request id"))
            .or_default();
        stored.raw = raw_mail(
            &dir.join("data"),
            request["raw_mail"].as_str().expect("a mailed request"),
        );
        stored.sender = request["sender"].as_str().unwrap_or_default().to_owned();
        stored.subject = request["subject"].as_str().unwrap_or_default().to_owned();
        stored.documents = request["documents"]
            .as_array()
            .expect("documents")
            .iter()
            .map(|d| d["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        stored
            .destinations
            .push(shown["destination"].as_str().expect("destination").into());
    }
    for stored in requests.values_mut() {
        stored.destinations.sort_unstable();
    }
    requests
}

/// Takes the batch in over `protocol` into a fresh data directory and checks every
/// request against `mail inspect`. Returns the directory, its config and the number
/// of jobs made.
fn take_in_over(protocol: &str, batch: &[Submission]) -> (PathBuf, String, usize) {
    let dir = std::env::temp_dir().join(format!(
        "faxgate-mail-corpus-{}-{protocol}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = write_config(&dir, protocol);
    let config = config.to_str().expect("path").to_owned();
    add_users(&config);

    submit_all(batch);
    servers().wait_for_mailbox("fax", batch.len());
    let fetched = faxgate_json(&["mail", "fetch", "--once", "--json", "--config", &config]);
    assert_eq!(fetched["stored"], batch.len(), "{protocol}: {fetched}");
    assert_eq!(fetched["deleted"], batch.len(), "{protocol}: {fetched}");
    assert_eq!(servers().mailbox_count("fax"), 0, "{protocol}");

    let requests = stored_requests(&dir, &config);
    // Several corpus messages share a Message-ID: a request is known by its mail,
    // which is the message as submitted below the headers the servers added.
    let mut matched = Vec::new();
    for (index, &(file, _)) in ACCEPTED.iter().enumerate() {
        let submitted = &batch[index].raw;
        let inspected = inspect(&dir, &config, file, submitted);
        assert_eq!(inspected["verdict"], "accepted", "{file}: {inspected}");
        let (id, stored) = requests
            .iter()
            .find(|(_, stored)| stored.raw.ends_with(submitted))
            .unwrap_or_else(|| panic!("{protocol}: no request for {file}"));
        matched.push(*id);
        let recipients = inspected["recipients"].as_array().expect("recipients");
        let mut destinations: Vec<String> = recipients.iter().map(destination).collect();
        destinations.sort_unstable();
        assert_eq!(stored.destinations, destinations, "{protocol}: {file}");
        assert_eq!(stored.destinations.len(), recipients.len());
        let documents: Vec<&str> = inspected["documents"]
            .as_array()
            .expect("documents")
            .iter()
            .map(|d| d["name"].as_str().expect("a name"))
            .collect();
        assert!(!documents.is_empty(), "{file}");
        assert_eq!(stored.documents, documents, "{protocol}: {file}");
        assert_eq!(stored.subject, inspected["subject"], "{protocol}: {file}");
        assert_eq!(stored.sender, inspected["sender"], "{protocol}: {file}");
    }
    // One request per accepted message; the bounce, the auto-reply and the stranger's
    // copy made none.
    matched.sort_unstable();
    matched.dedup();
    assert_eq!(matched.len(), ACCEPTED.len(), "{protocol}");
    assert_eq!(requests.len(), ACCEPTED.len(), "{protocol}: {requests:?}");
    let jobs = requests.values().map(|r| r.destinations.len()).sum();
    (dir, config, jobs)
}

/// The decoded Subject of the receipt in `mails` that answers `file`, as `mail
/// inspect` reads it.
fn receipt_subject(dir: &Path, config: &str, mails: &[String], file: &str) -> String {
    let original = corpus(file);
    let original = String::from_utf8_lossy(&original);
    let message_id = header(&original, "Message-ID").expect("a Message-ID");
    let receipt = mails
        .iter()
        .find(|mail| header(mail, "In-Reply-To") == Some(message_id))
        .unwrap_or_else(|| panic!("no receipt answers {file}"));
    assert_eq!(header(receipt, "X-Faxgate-Receipt"), Some("result"));
    let inspected = inspect(dir, config, &format!("receipt-{file}"), receipt.as_bytes());
    inspected["subject"].as_str().expect("a subject").to_owned()
}

#[test]
fn corpus_through_postfix_and_dovecot_over_pop3s_and_imaps() {
    let batch = batch();
    let (pop_dir, pop_config, pop_jobs) = take_in_over("pop3", &batch);
    let (imap_dir, imap_config, imap_jobs) = take_in_over("imap", &batch);
    assert_eq!(pop_jobs, imap_jobs);

    // Over IMAPS nothing is final, and the ignored mail queued no problem receipt.
    let nothing = faxgate_json(&[
        "mail",
        "send-receipts",
        "--once",
        "--json",
        "--config",
        &imap_config,
    ]);
    assert_eq!(nothing["queued"], Value::Array(Vec::new()), "{nothing}");
    assert_eq!(nothing["tried"], Value::Array(Vec::new()), "{nothing}");

    // The POP3S requests are faxed (dry run) and receipted.
    work_dry_until_idle(&pop_config, &pop_dir.join("calls.jsonl"));
    let done = faxgate_json(&["job", "list", "--json", "--config", &pop_config]);
    let done = done.as_array().expect("jobs");
    assert_eq!(done.len(), pop_jobs);
    assert!(done.iter().all(|job| job["state"] == "sent"), "{done:?}");
    let sent = faxgate_json(&[
        "mail",
        "send-receipts",
        "--once",
        "--json",
        "--config",
        &pop_config,
    ]);
    let queued = sent["queued"].as_array().expect("queued");
    assert_eq!(queued.len(), ACCEPTED.len(), "{sent}");
    assert!(queued.iter().all(|q| q["summary"] == "sent"), "{sent}");
    // One receipt per accepted message, each to the mailbox that submitted it.
    let mut receivers: Vec<&str> = queued
        .iter()
        .map(|q| q["to"].as_str().expect("to"))
        .collect();
    receivers.sort_unstable();
    let mut submitters: Vec<String> = ACCEPTED
        .iter()
        .map(|(_, user)| format!("{user}@{DOMAIN}"))
        .collect();
    submitters.sort_unstable();
    assert_eq!(receivers, submitters, "{sent}");
    let tried = sent["tried"].as_array().expect("tried");
    assert_eq!(tried.len(), ACCEPTED.len(), "{sent}");
    assert!(tried.iter().all(|t| t["result"] == "sent"), "{sent}");
    // No reply to the bounce, the auto-reply (both dave's) or the stranger.
    for t in tried {
        let to = t["to"].as_str().expect("to");
        assert!(
            to != format!("dave@{DOMAIN}") && to != format!("carol@{DOMAIN}"),
            "{sent}"
        );
    }

    let count = |user: &str| ACCEPTED.iter().filter(|(_, u)| *u == user).count();
    for user in ["alice", "bob", "erin"] {
        servers().wait_for_mailbox(user, count(user));
    }
    let alice = fetch_mailbox("alice");
    assert_eq!(alice.len(), count("alice"));
    // A Chinese Subject, a Chinese reader: the receipt is in Chinese.
    let subject = receipt_subject(
        &pop_dir,
        &pop_config,
        &alice,
        "outlook_gb2312_split_subject.eml",
    );
    assert_eq!(subject, "传真回执：755-83235170/深圳市某某公司|张经理");
    let subject = receipt_subject(&pop_dir, &pop_config, &alice, "webmail_qqmail_big5.eml");
    assert_eq!(subject, "传真回执：755-83235170/臺灣分公司");
    // The same kind of Subject to a reader of English.
    let bob = fetch_mailbox("bob");
    assert_eq!(bob.len(), count("bob"));
    let subject = receipt_subject(&pop_dir, &pop_config, &bob, "thunderbird_utf8_rfc2231.eml");
    assert_eq!(subject, "Fax receipt: 755-83235170/深圳分公司");

    // No reply to the bounce, the auto-reply or the stranger.
    assert_eq!(servers().mailbox_count("dave"), 0);
    assert_eq!(servers().mailbox_count("carol"), 0);
    let _ = std::fs::remove_dir_all(&pop_dir);
    let _ = std::fs::remove_dir_all(&imap_dir);
}
