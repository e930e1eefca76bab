//! What can go wrong in the caller's use of a session.
//!
//! Everything a client does wrong is answered on the wire with a reply code (5xx, 4xx)
//! and never surfaces as an [`Error`]: a stranger's bad command is normal traffic for an
//! SMTP server. Errors here are the caller's.

/// Everything that can go wrong in this crate. Each variant says whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Caller: a verdict for a message that is not awaiting one.
    #[error("no message {id} awaits a verdict")]
    NoSuchMessage {
        /// The id given.
        id: u64,
    },
    /// Caller: input after the session closed or while TLS is being set up.
    #[error("the session cannot take input while {state}")]
    WrongState {
        /// What the session is doing.
        state: &'static str,
    },
    /// Configuration: a setting out of range.
    #[error("bad setting {name}: {reason}")]
    Config {
        /// The setting.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}
