//! A sans-IO IMAP4rev1 client engine (RFC 3501): the subset a fax intake mailbox needs.
//!
//! The intake logs in (LOGIN or AUTHENTICATE PLAIN, after STARTTLS when asked), selects
//! its folder, finds messages with `UID SEARCH`, fetches each whole with
//! `UID FETCH (BODY.PEEK[])`, and once the message and its job are stored, removes it:
//! `UID MOVE` to a processed folder (RFC 6851), or `UID STORE +FLAGS (\Deleted)` then
//! `UID EXPUNGE` (UIDPLUS, RFC 4315) or `EXPUNGE`. Between batches it waits in `IDLE`
//! (RFC 2177) for the server to announce new mail, restarting IDLE before the server's
//! 30-minute limit.
//!
//! [`Client`] takes the server's bytes and the current time, and hands back bytes to
//! send, [`Event`]s and its next deadline. Server responses are framed and parsed
//! ([`response`]) against [`Limits`]: a literal's announced size is checked before
//! anything is buffered for it, and no bytes make the engine panic.
//!
//! This crate never does I/O, never reads the clock, spawns nothing and knows nothing of
//! TLS beyond telling its caller when to start it.

#![forbid(unsafe_code)]

mod base64;
mod client;
mod error;
pub mod response;

pub use client::{Capabilities, Client, Config, Done, Event, Fetched, Mailbox, State, Timer};
pub use error::Error;
pub use response::Limits;
