//! The crate's one error type.

use crate::client::{Command, State};

/// What went wrong in a POP3 session, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server sent something POP3 does not allow here (the server's fault). The
    /// session cannot go on.
    #[error("server broke the protocol: expected {expected}, got {got:?}")]
    Protocol {
        /// What the engine waited for.
        expected: &'static str,
        /// What came (cut to a few dozen characters).
        got: String,
    },
    /// A line or message from the server exceeds the configured limit (the server's
    /// fault, or a mailbox holding a message larger than allowed).
    #[error("server sent {what} larger than the limit of {limit} bytes")]
    TooLarge {
        /// A line, a message, a listing.
        what: &'static str,
        /// The limit in force.
        limit: usize,
    },
    /// The server lacks something the caller asked for (an APOP timestamp in its
    /// greeting): an incompatible server or a wrong setting.
    #[error("server does not support {0}")]
    Unsupported(&'static str),
    /// A command was issued while another one is still waiting for its answer (the
    /// caller's fault).
    #[error("{0:?} issued while another command is in flight")]
    Busy(Command),
    /// A command was issued in a state that does not allow it (the caller's fault).
    #[error("{command:?} not allowed in state {state:?}")]
    WrongState {
        /// The command.
        command: Command,
        /// The state the session was in.
        state: State,
    },
    /// A command argument cannot be sent (a line break in a user name or password,
    /// message number zero): the caller's or the configuration's fault.
    #[error("invalid argument for {0:?}")]
    InvalidArgument(Command),
    /// The session is over (after QUIT, or after an earlier error).
    #[error("session closed")]
    Closed,
}

pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let cut = &bytes[..bytes.len().min(MAX)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > MAX {
        text.push('…');
    }
    text
}
