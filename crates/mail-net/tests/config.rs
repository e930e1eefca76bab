//! The `[mailbox]` and `[smtp]` sections: defaults, misspelt keys refused, settings
//! checked once.

use mail_net::{MailboxAuth, MailboxConfig, MailboxProtocol, SmtpConfig, TlsMode};

fn mailbox(text: &str) -> Result<MailboxConfig, toml::de::Error> {
    toml::from_str(text)
}

#[test]
fn empty_sections_are_the_defaults_and_disabled() {
    let config = mailbox("").expect("empty");
    assert_eq!(config, MailboxConfig::default());
    assert!(!config.is_enabled());
    assert_eq!(config.effective_port(), 995);
    config.check().expect("a disabled mailbox needs nothing");
    let smtp: SmtpConfig = toml::from_str("").expect("empty");
    assert_eq!(smtp.effective_port(), 587);
    smtp.check().expect("disabled");
}

#[test]
fn settings_parse_and_ports_follow_the_tls_mode() {
    let config = mailbox(
        "host = \"mail.example\"\ntls = \"starttls\"\nuser = \"fax\"\npassword = \"pw\"\n\
         auth = \"apop\"\npoll_interval_seconds = 30\n",
    )
    .expect("parses");
    assert_eq!(config.tls, TlsMode::Starttls);
    assert_eq!(config.auth, MailboxAuth::Apop);
    assert_eq!(config.effective_port(), 110);
    assert_eq!(config.password().expect("password"), "pw");
    assert_eq!(config.ledger_name(), "pop3://fax@mail.example");
    config.check().expect("valid");
    let imap = mailbox("protocol = \"imap\"\ntls = \"none\"\n").expect("parses");
    assert_eq!(imap.protocol, MailboxProtocol::Imap);
    assert_eq!(imap.effective_port(), 143);
}

#[test]
fn misspelt_keys_and_bad_values_are_refused() {
    assert!(mailbox("hostname = \"x\"\n").is_err());
    assert!(mailbox("tls = \"ssl\"\n").is_err());
    assert!(toml::from_str::<SmtpConfig>("username = \"x\"\n").is_err());
    let both = mailbox("host = \"h\"\nuser = \"u\"\npassword = \"p\"\npassword_file = \"/f\"\n")
        .expect("parses");
    assert!(both.check().is_err());
    let none = mailbox("host = \"h\"\nuser = \"u\"\n").expect("parses");
    assert!(none.check().is_err());
    let apop_imap = mailbox(
        "protocol = \"imap\"\nhost = \"h\"\nuser = \"u\"\npassword = \"p\"\nauth = \"apop\"\n",
    )
    .expect("parses");
    assert!(apop_imap.check().is_err());
}

#[test]
fn password_file_is_read_without_its_line_end() {
    let path = std::env::temp_dir().join(format!("mail-net-password-{}", std::process::id()));
    std::fs::write(&path, "s3cret\n").expect("write");
    let config = MailboxConfig {
        host: "h".into(),
        user: "u".into(),
        password_file: Some(path.clone()),
        ..MailboxConfig::default()
    };
    assert_eq!(config.password().expect("read"), "s3cret");
    std::fs::remove_file(&path).expect("remove");
    assert!(
        config.password().is_err(),
        "a missing file is a config error"
    );
}
