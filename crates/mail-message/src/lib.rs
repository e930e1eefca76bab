//! Mail to fax request: a raw message read into what the gateway does with it.
//!
//! [`Intake::examine`] parses a message (MIME through `mail-parser`, with full charset
//! support: GB2312, GBK, GB18030, Big5 subjects and file names) into a [`MailRequest`]:
//! the sender, the decoded Subject, the recipients (read by `fax-address` from the
//! Subject, or from `number@fax.domain` and RFC 3192 `FAX=` addresses), the documents to
//! fax and the parts not faxed with the reason, and a [`Verdict`]. Automatic mail
//! (bounces, auto-replies, list mail, our own receipts) and senders who are not users
//! allowed to fax by mail are dropped without a reply; problems the sender can fix get a
//! receipt ([`receipt`]) that says what to change, in Chinese or English.
//!
//! [`receipt`] composes the receipt mails from a result structure, ready to send;
//! [`inbox`] the mail that hands a user a fax filed in their inbox, with its PDF.
//!
//! This crate never does I/O, never reads a clock, never looks up DNS and never panics
//! on input: every message comes from a stranger. User accounts come through the
//! [`SenderDirectory`] trait, so the crate needs no database.

#![forbid(unsafe_code)]

mod auth;
mod config;
mod decode;
mod digest;
mod envelope;
mod error;
pub mod inbox;
mod lang;
mod loops;
mod parts;
pub mod receipt;
mod request;
mod tnef;

pub use auth::{NoUsers, SenderAccount, SenderDirectory, split_pin};
pub use config::{IntakeConfig, OnUnconvertible, RequireAuth};
pub use decode::decode_header_text;
pub use digest::content_digest;
pub use envelope::{EnvelopeRecipient, envelope_recipient};
pub use error::Error;
pub use lang::Language;
pub use loops::{LoopReason, RECEIPT_HEADER};
pub use parts::{Document, NotFaxed, SkipReason};
pub use request::{Envelope, Intake, MailRequest, Problem, Unauthorized, Verdict};
