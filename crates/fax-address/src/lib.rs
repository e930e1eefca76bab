//! Fax addressing: who a fax mail is for, what to dial, and whether the sender may.
//!
//! The Subject of a fax mail names its recipients:
//!
//! ```text
//! [country-][area-]number[|FAXID][/name1[|name2]]     86-755-83235170|AF90000098/Company|Person
//! FAXID[/name1[|name2]]                                AF90000098/Company
//! ```
//!
//! separated by `;`. Three layers, all pure:
//!
//! - the grammar ([`AddressSettings::parse`]): the subject into [`Recipient`]s, each entry
//!   on its own, with an [`Error`] a sender understands for every entry that is wrong;
//! - the dial plan ([`DialPlan`]): each number resolved against the server's own country
//!   and area into its [`Kind`] (internal, local, national, international), the string a
//!   PBX or modem dials and the E.164 form a SIP trunk wants;
//! - the destination policy ([`Policy`]): the highest kind of call a sender may place,
//!   prefixes the administrator allows or denies, and what happens to a request with a
//!   bad entry ([`AddressSettings::plan`]).
//!
//! Settings come from [`AddressConfig`] (serde, with defaults), checked once by
//! [`AddressSettings::new`]; nothing is re-checked per mail.
//!
//! This crate never does I/O, never reads a clock or the environment, and never panics on
//! input: the subject comes from a stranger's mail. The parser is one left-to-right scan
//! of the subject, so its work grows linearly with the subject's length; it reports that
//! work ([`Work`]) so tests and the fuzz target can hold it to a bound.

#![forbid(unsafe_code)]

mod config;
mod dial_plan;
mod error;
mod fax_id;
mod number;
mod parse;
mod policy;
mod recipient;

pub use config::{
    AddressConfig, AddressSettings, DialPlanConfig, FaxIdConfig, OnBadRecipient, PolicyConfig,
};
pub use dial_plan::DialPlan;
pub use error::{BadEntry, Error, Part, Separator};
pub use fax_id::{FaxId, FaxIdFormat};
pub use number::{Extension, PhoneNumber, PublicNumber};
pub use parse::{Entry, Work};
pub use policy::{Plan, Policy};
pub use recipient::{Kind, Name, Recipient, format_subject};
