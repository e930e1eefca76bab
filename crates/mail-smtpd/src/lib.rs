//! A sans-IO SMTP server session engine (RFC 5321): the protocol of faxgate's built-in
//! mail intake listener.
//!
//! One [`Session`] per connection: the caller feeds it the client's bytes and the current
//! time and drains [`Output`]s: bytes to send, "start TLS now", "close", and each
//! [`Message`] received (envelope and raw bytes). The reply after DATA is held back until
//! the caller has stored the message durably and calls [`Session::accept`] (or
//! [`Session::refuse`]), so a `250` always means the mail is safe.
//!
//! Supported: EHLO/HELO, MAIL (SIZE=, BODY=, SMTPUTF8), RCPT (with a recipient limit),
//! DATA (dot-unstuffing, a size limit answered with 552 after the data is read, so the
//! session stays in step), RSET, NOOP, VRFY (252), HELP, QUIT, and the extensions SIZE
//! (RFC 1870), 8BITMIME (RFC 6152), PIPELINING (RFC 2920), ENHANCEDSTATUSCODES
//! (RFC 2034), SMTPUTF8 (RFC 6531) and STARTTLS (RFC 3207). Command lines are bounded;
//! commands pipelined behind STARTTLS are discarded (they were not protected by TLS).
//!
//! This crate never does I/O, never reads the clock and spawns nothing; TLS itself is
//! the caller's.

#![forbid(unsafe_code)]

mod error;
mod session;

pub use error::Error;
pub use session::{Config, Message, Output, Refusal, Session};
