//! What can go wrong while talking IMAP, and whose fault it is.

/// Everything that can go wrong in this crate. Each variant says whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Server misbehaved: its bytes are not IMAP as RFC 3501 writes it.
    #[error("server sent a malformed response: {reason}: {excerpt:?}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
        /// The start of the offending response, lossily decoded, for the log.
        excerpt: String,
    },
    /// Server misbehaved or is hostile: a line longer than [`Limits::max_line`](crate::Limits).
    #[error("server sent a line longer than {max} bytes")]
    LineTooLong {
        /// The configured bound.
        max: usize,
    },
    /// Server misbehaved or is hostile: a literal larger than
    /// [`Limits::max_literal`](crate::Limits).
    #[error("server announced a {size}-byte literal; the limit is {max}")]
    LiteralTooLarge {
        /// The size the server announced.
        size: u64,
        /// The configured bound.
        max: usize,
    },
    /// Server misbehaved: a response that makes no sense in the current state (a tagged
    /// reply to a command never sent, a continuation nobody asked for, bytes after a
    /// STARTTLS reply that would be injected into the TLS session).
    #[error("server sent {got} while {state}")]
    Unexpected {
        /// What arrived.
        got: String,
        /// What the client was doing.
        state: &'static str,
    },
    /// Server refused a command (tagged NO or BAD).
    #[error("server refused {command}: {status} {text}")]
    Refused {
        /// The command, by name.
        command: &'static str,
        /// `NO` or `BAD`.
        status: &'static str,
        /// The server's text.
        text: String,
    },
    /// Server incompatible: it lacks a capability the configuration requires
    /// (STARTTLS, a login method).
    #[error("server lacks {capability}")]
    MissingCapability {
        /// The capability, as IMAP spells it.
        capability: &'static str,
    },
    /// Server closed the session (untagged BYE).
    #[error("server closed the session: {text}")]
    Bye {
        /// The server's text.
        text: String,
    },
    /// Timeout: the server did not answer a command in time.
    #[error("server did not answer {command} within the command timeout")]
    Timeout {
        /// The command, by name.
        command: &'static str,
    },
    /// Caller: a command issued in a state that does not allow it (a FETCH before SELECT,
    /// a second command while one is in flight).
    #[error("cannot {command} while {state}")]
    WrongState {
        /// The command, by name.
        command: &'static str,
        /// What the client is doing.
        state: &'static str,
    },
    /// Configuration: a value that cannot be sent (a mailbox name or credential with a NUL,
    /// CR or LF).
    #[error("{what} cannot be sent to an IMAP server: it contains NUL, CR or LF")]
    Unsendable {
        /// Which value.
        what: &'static str,
    },
}

pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let end = bytes.len().min(80);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
