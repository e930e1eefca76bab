//! fax-queue: the job store and scheduler rules of faxgate.
//!
//! It holds users, fax requests, one delivery per recipient, one attempt per call, each
//! user's outbox and inbox, and an audit log of administrative changes; it decides when
//! a failed delivery is called again. The decisions (`retry`) and the data model
//! (`model`) are pure. `store` keeps them in SQLite (the embedded default) or
//! PostgreSQL (several nodes sharing one queue) through one schema and one set of
//! queries; `blob` keeps documents and mails as content-addressed files; `outgoing`
//! queues the mail the gateway sends (receipts) in the transactions that call for it.
//!
//! It never reads the clock: every operation that depends on time takes `now` from the
//! caller. It never dials, renders or mails; it never spawns tasks or threads of its
//! own, and it reads no environment or config file (the binary parses the config and
//! hands the validated settings in).

#![forbid(unsafe_code)]

pub mod blob;
pub mod intake;
pub mod model;
pub mod outgoing;
pub mod retry;
pub mod store;

pub use blob::BlobStore;
pub use intake::{IntakeEntry, IntakeId, IntakeOutcome, NewIntake};
pub use model::*;
pub use outgoing::{MailTakenIn, NewOutgoing, OutgoingId, OutgoingMail, OutgoingState};
pub use retry::{
    CallOutcome, ClassRule, Decision, OutcomeClass, RetryConfig, RetryPolicy, RetryState, decide,
};
pub use store::{AttemptReport, Backend, Claim, DeliveryFilter, Store, UserKey};

/// Everything that can go wrong in the queue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input (an address, an ID, a name on the command line) is not valid.
    #[error("invalid {what}: {value:?}")]
    Invalid {
        /// What was expected.
        what: &'static str,
        /// What was given.
        value: String,
    },
    /// The configuration is wrong: the operator's to fix.
    #[error("configuration: {0}")]
    Config(String),
    /// The user, request or delivery asked for does not exist (the caller's mistake, or
    /// someone removed it meanwhile).
    #[error("{what} not found: {key}")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// How it was asked for.
        key: String,
    },
    /// The change conflicts with what is stored (an address or fax ID already taken, a
    /// delivery in a state that does not allow it).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The worker's lease on a delivery has expired or was taken over: it must stop the
    /// call (another node may be calling the same number).
    #[error("lease on delivery {0} lost")]
    LeaseLost(DeliveryId),
    /// The database failed or refused (unreachable server, full disk, corrupt file).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The database holds a value this version cannot read: a newer version wrote it, or
    /// someone edited it by hand.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The blob store's files could not be written or read (disk, permissions).
    #[error("blob store: {context}: {source}")]
    Io {
        /// Which file and what was being done.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Hashing a PIN failed (a bug or an invalid parameter set, never the user's input).
    #[error("PIN hash: {0}")]
    Hash(String),
}
