//! mail-pop3: a sans-IO POP3 client engine (RFC 1939, CAPA and STLS of RFC 2449 and
//! RFC 2595, APOP).
//!
//! Bytes from the server go in (`Client::handle_input`), commands come out
//! (`Client::poll_transmit`), and what happened comes out as `Event`s
//! (`Client::poll_event`). One command is in flight at a time; the caller issues the
//! next one when the previous one's event arrived.
//!
//! It never touches a socket, a file or the clock, and spawns nothing: POP3 has no
//! protocol timers, so the driver bounds each wait. Lines and messages are bounded by
//! `Limits`; no server input makes it panic or allocate past them. Errors say whose
//! fault they are: the server's (`Error::Protocol`, `Error::TooLarge`), or the
//! caller's (`Error::Busy`, `Error::WrongState`, `Error::InvalidArgument`).
//!
//! A refused command (`-ERR`) is not an error of the engine: it is reported as
//! `Event::Refused` and the session goes on.

#![forbid(unsafe_code)]

mod client;
mod error;

pub use client::{Capabilities, Client, Command, Event, Limits, State, apop_digest};
pub use error::Error;
