//! The `[mailbox]` and `[smtp]` sections of the config file.

use std::path::PathBuf;

use serde::Deserialize;

use crate::Error;
use crate::tls::{TlsMode, TrustSettings};

/// Which protocol the intake mailbox speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MailboxProtocol {
    /// POP3: every message is fetched and removed.
    #[default]
    Pop3,
    /// IMAP.
    Imap,
}

/// How to log in to the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MailboxAuth {
    /// The password in the clear under TLS; APOP (POP3) on a plain connection when the
    /// server offers it.
    #[default]
    Auto,
    /// The password as it is (POP3 USER/PASS, IMAP LOGIN).
    Password,
    /// POP3 APOP (an MD5 digest of the greeting's timestamp and the password).
    Apop,
}

/// `[mailbox]`: the account faxgate fetches fax requests from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailboxConfig {
    /// POP3 or IMAP.
    pub protocol: MailboxProtocol,
    /// The server's host name (also the name its certificate must carry); empty: no
    /// mailbox intake.
    pub host: String,
    /// The port; 0 takes the protocol's standard port for the TLS mode (POP3: 995
    /// implicit, 110 otherwise; IMAP: 993 implicit, 143 otherwise).
    pub port: u16,
    /// implicit, starttls or none.
    pub tls: TlsMode,
    /// A PEM file of CA certificates trusted beside the system's (a private CA).
    pub ca_file: Option<PathBuf>,
    /// The login name.
    pub user: String,
    /// The password (prefer `password_file`).
    pub password: Option<String>,
    /// A file holding the password (one line).
    pub password_file: Option<PathBuf>,
    /// How to log in.
    pub auth: MailboxAuth,
    /// Seconds between two polls.
    pub poll_interval_seconds: u64,
    /// Seconds any one step (connect, handshake, an answer) may take.
    pub timeout_seconds: u64,
    /// Messages larger than this are left on the server and reported.
    pub max_message_bytes: u64,
    /// IMAP: the folder fax requests arrive in.
    pub folder: String,
    /// IMAP: where taken-in messages are moved (UID MOVE, RFC 6851); empty: they are
    /// marked deleted and expunged instead.
    pub processed_folder: String,
    /// IMAP: wait for new mail with IDLE (RFC 2177) when the server offers it, instead
    /// of polling every `poll_interval_seconds`.
    pub idle: bool,
}

impl Default for MailboxConfig {
    fn default() -> MailboxConfig {
        MailboxConfig {
            protocol: MailboxProtocol::Pop3,
            host: String::new(),
            port: 0,
            tls: TlsMode::Implicit,
            ca_file: None,
            user: String::new(),
            password: None,
            password_file: None,
            auth: MailboxAuth::Auto,
            poll_interval_seconds: 60,
            timeout_seconds: 60,
            max_message_bytes: 50 * 1024 * 1024,
            folder: "INBOX".into(),
            processed_folder: String::new(),
            idle: true,
        }
    }
}

fn read_password(
    section: &str,
    password: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<String>, Error> {
    match (password, file) {
        (Some(_), Some(_)) => Err(Error::Config {
            what: format!("[{section}]"),
            reason: "set password or password_file, not both".into(),
        }),
        (Some(password), None) => Ok(Some(password.clone())),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|error| Error::Config {
                what: format!("[{section}] password_file {}", path.display()),
                reason: error.to_string(),
            })?;
            Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
        }
        (None, None) => Ok(None),
    }
}

impl MailboxConfig {
    /// Whether a mailbox is configured at all.
    pub fn is_enabled(&self) -> bool {
        !self.host.is_empty()
    }

    /// The port to connect to.
    pub fn effective_port(&self) -> u16 {
        match (self.port, self.protocol, self.tls) {
            (0, MailboxProtocol::Pop3, TlsMode::Implicit) => 995,
            (0, MailboxProtocol::Pop3, _) => 110,
            (0, MailboxProtocol::Imap, TlsMode::Implicit) => 993,
            (0, MailboxProtocol::Imap, _) => 143,
            (port, _, _) => port,
        }
    }

    /// The password, from the file if one is named.
    pub fn password(&self) -> Result<String, Error> {
        read_password("mailbox", &self.password, &self.password_file)?.ok_or_else(|| {
            Error::Config {
                what: "[mailbox]".into(),
                reason: "password or password_file is required".into(),
            }
        })
    }

    /// Whom to trust.
    pub fn trust(&self) -> TrustSettings {
        TrustSettings {
            ca_file: self.ca_file.clone(),
            no_system_roots: false,
        }
    }

    /// The timeout of one step.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_seconds.max(1))
    }

    /// The mailbox's name in the intake ledger: the same account on the same server is
    /// the same mailbox, however it is reached.
    pub fn ledger_name(&self) -> String {
        let scheme = match self.protocol {
            MailboxProtocol::Pop3 => "pop3",
            MailboxProtocol::Imap => "imap",
        };
        format!(
            "{scheme}://{}@{}",
            self.user,
            self.host.to_ascii_lowercase()
        )
    }

    /// Checks what serde cannot.
    pub fn check(&self) -> Result<(), Error> {
        if !self.is_enabled() {
            return Ok(());
        }
        let bad = |reason: &str| Error::Config {
            what: "[mailbox]".into(),
            reason: reason.into(),
        };
        if self.user.is_empty() {
            return Err(bad("user is required"));
        }
        if self.password.is_some() && self.password_file.is_some() {
            return Err(bad("set password or password_file, not both"));
        }
        if self.password.is_none() && self.password_file.is_none() {
            return Err(bad("password or password_file is required"));
        }
        if self.poll_interval_seconds == 0 {
            return Err(bad("poll_interval_seconds must be at least 1"));
        }
        if self.protocol == MailboxProtocol::Imap {
            // Non-ASCII names would need modified UTF-7 (RFC 3501 5.1.3), not written here.
            if self.folder.is_empty() || !self.folder.is_ascii() {
                return Err(bad("folder must be a non-empty ASCII folder name"));
            }
            if !self.processed_folder.is_ascii() || self.processed_folder == self.folder {
                return Err(bad(
                    "processed_folder must be an ASCII folder name other than folder (or empty)",
                ));
            }
        }
        if self.auth == MailboxAuth::Apop && self.protocol != MailboxProtocol::Pop3 {
            return Err(bad("auth = \"apop\" is for POP3 only"));
        }
        Ok(())
    }
}

/// `[smtp]`: the server receipts and notifications are sent through.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// The server's host name; empty: no mail is sent.
    pub host: String,
    /// The port; 0 takes the standard one for the TLS mode (465 implicit, 587
    /// STARTTLS, 25 without TLS).
    pub port: u16,
    /// implicit, starttls or none.
    pub tls: TlsMode,
    /// A PEM file of CA certificates trusted beside the system's.
    pub ca_file: Option<PathBuf>,
    /// The AUTH login name; empty: no AUTH.
    pub user: String,
    /// The AUTH password (prefer `password_file`).
    pub password: Option<String>,
    /// A file holding the AUTH password.
    pub password_file: Option<PathBuf>,
    /// The address receipts come from (envelope sender and From).
    pub from: String,
    /// The name faxgate gives in EHLO.
    pub helo_name: String,
    /// Seconds any one step may take.
    pub timeout_seconds: u64,
}

impl Default for SmtpConfig {
    fn default() -> SmtpConfig {
        SmtpConfig {
            host: String::new(),
            port: 0,
            tls: TlsMode::Starttls,
            ca_file: None,
            user: String::new(),
            password: None,
            password_file: None,
            from: String::new(),
            helo_name: "localhost".into(),
            timeout_seconds: 60,
        }
    }
}

impl SmtpConfig {
    /// Whether an SMTP server is configured.
    pub fn is_enabled(&self) -> bool {
        !self.host.is_empty()
    }

    /// The port to connect to.
    pub fn effective_port(&self) -> u16 {
        match (self.port, self.tls) {
            (0, TlsMode::Implicit) => 465,
            (0, TlsMode::Starttls) => 587,
            (0, TlsMode::None) => 25,
            (port, _) => port,
        }
    }

    /// The AUTH password, if AUTH is configured.
    pub fn password(&self) -> Result<Option<String>, Error> {
        read_password("smtp", &self.password, &self.password_file)
    }

    /// Whom to trust.
    pub fn trust(&self) -> TrustSettings {
        TrustSettings {
            ca_file: self.ca_file.clone(),
            no_system_roots: false,
        }
    }

    /// The timeout of one step.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_seconds.max(1))
    }

    /// Checks what serde cannot.
    pub fn check(&self) -> Result<(), Error> {
        if !self.is_enabled() {
            return Ok(());
        }
        let bad = |reason: &str| Error::Config {
            what: "[smtp]".into(),
            reason: reason.into(),
        };
        if self.password.is_some() && self.password_file.is_some() {
            return Err(bad("set password or password_file, not both"));
        }
        if !self.user.is_empty() && self.password.is_none() && self.password_file.is_none() {
            return Err(bad("user is set: password or password_file is required"));
        }
        if self.helo_name.is_empty() || self.helo_name.contains(char::is_whitespace) {
            return Err(bad("helo_name must be one word"));
        }
        Ok(())
    }
}
