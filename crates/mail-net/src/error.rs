//! The crate's one error type.

use std::net::SocketAddr;

/// What can go wrong talking to a mail server, and whose fault it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The settings are wrong (a missing password file, an unreadable CA file, a bad
    /// host name): the operator's to fix.
    #[error("configuration: {what}: {reason}")]
    Config {
        /// Which setting or file.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host name does not resolve (DNS).
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The name looked up.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The server does not accept TCP connections (down, firewalled, wrong port).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address tried last.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The TLS handshake failed: an untrusted or mismatched certificate, or no common
    /// protocol version or cipher.
    #[error("TLS with {host}: {source}")]
    Tls {
        /// The peer.
        host: String,
        /// rustls' reason, wrapped in an I/O error by tokio-rustls.
        source: std::io::Error,
    },
    /// The peer did not answer in time.
    #[error("timed out {0}")]
    Timeout(String),
    /// The connection broke (reset, closed early) while talking.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent something the protocol does not allow, or lacks something
    /// required (no STLS offered when TLS was asked for): the server's fault, or an
    /// incompatible server.
    #[error("{context}: {reason}")]
    Protocol {
        /// What was being done.
        context: String,
        /// What went wrong.
        reason: String,
    },
    /// The server refused a command (wrong password, locked mailbox, message gone).
    #[error("server refused {command}: {reply}")]
    Refused {
        /// The command, without secrets.
        command: String,
        /// The server's answer text.
        reply: String,
    },
    /// The POP3 session failed: the server broke the protocol or sent too much (see
    /// the engine's error for whose fault).
    #[error("POP3: {0}")]
    Pop3(#[from] mail_pop3::Error),
    /// The message sink could not store a message: nothing was deleted.
    #[error("storing message: {0}")]
    Sink(String),
}
