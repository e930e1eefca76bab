//! `faxgate mail inspect` on the message corpus of `mail-message`: the verdicts, the
//! store's users as senders, and the exit codes.

mod common;

use std::path::PathBuf;

use common::cli::faxgate;
use common::scratch::Scratch;
use serde_json::Value;

fn corpus(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../mail-message/tests/messages")
        .join(name)
        .display()
        .to_string()
}

fn inspect(args: &[&str]) -> Value {
    let mut all = vec!["mail", "inspect"];
    all.extend_from_slice(args);
    let output = faxgate(&all);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn without_users_every_sender_is_unauthorized() {
    let message = corpus("outlook_gb2312_split_subject.eml");
    let json = inspect(&[&message]);
    assert_eq!(json["verdict"], "unauthorized");
    assert_eq!(json["sender"], "lisi@example.com");
    assert_eq!(json["subject"], "755-83235170/深圳市某某公司|张经理");
    assert_eq!(json["documents"][0]["name"], "报价单2026.pdf");
    assert_eq!(json["not_faxed"][0]["reason"], "body");
}

#[test]
fn bounce_is_ignored_and_exits_zero() {
    let json = inspect(&[&corpus("bounce.eml")]);
    assert_eq!(json["verdict"], "ignored");
    assert_eq!(json["problem"]["reason"], "bounce");
}

#[test]
fn store_users_are_the_senders() {
    let scratch = Scratch::new("mail-inspect-users");
    let data_dir = scratch.dir().display().to_string();
    let added = faxgate(&[
        "user",
        "add",
        "--data-dir",
        &data_dir,
        "--name",
        "Li Si",
        "--email",
        "LiSi@example.com",
        "--max-destination",
        "international",
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let message = corpus("outlook_gb2312_split_subject.eml");
    let json = inspect(&["--data-dir", &data_dir, &message]);
    assert_eq!(json["verdict"], "accepted", "{json}");
    // The same objects `faxgate address parse` prints.
    let recipient = &json["recipients"][0];
    assert_eq!(recipient["e164"], "+8675583235170");
    assert_eq!(recipient["name1"], "深圳市某某公司");
    assert_eq!(recipient["kind"], "local");
    assert_eq!(json["documents"][0]["size"], 588);

    let json = inspect(&["--data-dir", &data_dir, &corpus("bad_subject.eml")]);
    // bad_subject.eml is from a sender who is not in this store.
    assert_eq!(json["verdict"], "unauthorized");
}

#[test]
fn fax_domain_from_the_config_reads_rfc3192_addresses() {
    let scratch = Scratch::new("mail-inspect-domain");
    let config = scratch.path("faxgate.toml");
    std::fs::write(&config, "[intake]\nfax_domain = \"fax.example.com\"\n").expect("config");
    let data_dir = scratch.path("data").display().to_string();
    let added = faxgate(&[
        "user",
        "add",
        "--data-dir",
        &data_dir,
        "--name",
        "Wang Wu",
        "--email",
        "wangwu@example.com",
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let json = inspect(&[
        "--config",
        &config.display().to_string(),
        "--data-dir",
        &data_dir,
        &corpus("rfc3192_fax_address.eml"),
    ]);
    assert_eq!(json["verdict"], "accepted", "{json}");
    assert_eq!(json["envelope_recipients"][0]["subaddress"], "6789");
    assert_eq!(json["recipients"][1]["kind"], "internal");
}

#[test]
fn unreadable_message_or_bad_config_exit_non_zero() {
    let output = faxgate(&["mail", "inspect", "/nonexistent/message.eml"]);
    assert!(!output.status.success());
    let scratch = Scratch::new("mail-inspect-bad-config");
    let config = scratch.path("faxgate.toml");
    std::fs::write(&config, "[intake]\nfax_domian = \"x\"\n").expect("config");
    let output = faxgate(&[
        "mail",
        "inspect",
        "--config",
        &config.display().to_string(),
        &corpus("bounce.eml"),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("fax_domian"));
}

#[test]
fn render_gives_each_document_its_page_count() {
    // PDF through Ghostscript, PNG and GBK text through fax-render (scripts/test
    // installs Ghostscript and the fonts).
    let json = inspect(&[
        "--render",
        &corpus("webmail_gmail_alternative_in_mixed.eml"),
    ]);
    assert_eq!(json["documents"][0]["name"], "page1.pdf");
    assert_eq!(json["documents"][0]["pages"], 1, "{json}");
    assert_eq!(json["documents"][1]["pages"], 1, "{json}");
    let json = inspect(&["--render", &corpus("webmail_qqmail_big5.eml")]);
    assert_eq!(json["documents"][0]["name"], "说明.txt");
    assert_eq!(json["documents"][0]["pages"], 1, "{json}");
}
