//! mail-net: faxgate's mail edge. It owns the sockets, TLS and timers of mail: TLS
//! connections (`tls`), and the async drivers that run the sans-IO protocol engines
//! (`mail-pop3`, ...) over them: the POP3 intake (`pop3`), the IMAP intake with IDLE
//! (`imap`, on `mail-imap`) and faxgate's own SMTP intake listener (`smtpd`, on
//! `mail-smtpd`).
//!
//! Protocol logic (what to send, how to parse answers) lives in the engine crates; this
//! crate only moves bytes, enforces timeouts and stores nothing itself: messages are
//! handed to a caller's sink, which must have stored them durably before anything is
//! deleted on the server.

#![forbid(unsafe_code)]

pub mod check;
mod config;
mod error;
pub mod imap;
pub mod pop3;
pub mod smtp;
pub mod smtpd;
pub mod tls;

pub use check::{CheckReport, Step, check_mailbox, check_smtp};
pub use config::{MailboxAuth, MailboxConfig, MailboxProtocol, SmtpConfig};
pub use error::Error;
pub use pop3::{
    FetchOptions, FetchReport, IncomingMessage, IntakeStatus, MessageSink, SinkError, TakenIn,
    fetch_once, run_poll_loop, run_poll_loop_reporting,
};
pub use tls::{MailStream, TlsMode, TrustSettings};
