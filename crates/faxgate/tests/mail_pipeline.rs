//! The mail pipeline end to end against real Dovecot and Postfix (from
//! `scripts/mail-servers`): a user submits a fax mail (Postfix submission, STARTTLS,
//! AUTH) with a Chinese Subject naming two recipients; `faxgate mail fetch --once`
//! (POP3S) makes one request with two jobs of it; `faxgate job work` (the dry-run
//! record driver) completes them; `faxgate mail send-receipts --once` mails the
//! receipt, which is read back from the sender's mailbox and checked against the store.
//! Beside it: a stranger's mail makes no job and no reply, a bad Subject makes a
//! problem receipt and no job, and a message delivered twice makes one request.

mod common;

use std::path::{Path, PathBuf};

use common::cli::{faxgate_json, work_dry_until_idle};
use common::mail::{
    Attachment, DOMAIN, add_mail_user, fax_mail, fetch_mailbox, header, receipt_answering,
    receipt_kind, submit,
};
use common::mail_servers::servers;
use common::scratch::Scratch;
use serde_json::Value;

const SUBJECT: &str = "86-755-83235170/深圳公司|张三; 86-10-12345678/北京公司|李四";

/// A fax mail from `from` with a text attachment, as a mail program writes it.
fn text_fax_mail(from: &str, subject: &str, message_id: &str) -> Vec<u8> {
    fax_mail(
        from,
        subject,
        message_id,
        &[Attachment {
            content_type: "text/plain; charset=UTF-8",
            name: "notice.txt",
            data: "传真测试 fax test\r\nsecond line\r\n".as_bytes(),
        }],
    )
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
    let scratch = Scratch::new("mail-pipeline");
    let dir = scratch.dir();
    let config = write_config(dir);
    let config = config.to_str().expect("path");

    let alice = add_mail_user(config, "Alice", "alice", "zh", None);
    assert_eq!(alice["permissions"][0], "email");

    submit(
        "alice",
        &text_fax_mail("alice", SUBJECT, "pipeline-main@faxgate.test"),
    );
    // carol has a mailbox but is no user of the gateway.
    submit(
        "carol",
        &text_fax_mail("carol", "86-755-83235170", "pipeline-stranger@faxgate.test"),
    );
    submit(
        "alice",
        &text_fax_mail("alice", "请传真给张三", "pipeline-bad@faxgate.test"),
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

    work_dry_until_idle(config, &dir.join("calls.jsonl"));
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
    let problem = receipt_answering(&mails, "problem", "pipeline-bad@faxgate.test");
    assert_eq!(problem["verdict"], "bad-subject", "{problem}");

    let receipt = receipt_answering(&mails, "result", "pipeline-main@faxgate.test");
    let result = mails
        .iter()
        .find(|m| receipt_kind(m) == "result")
        .expect("a result receipt");
    assert_eq!(header(result, "Auto-Submitted"), Some("auto-replied"));
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
}
