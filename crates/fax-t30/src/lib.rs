//! The T.30 fax terminal: the procedure two fax machines follow to agree on a mode,
//! check the line, send pages and confirm them (phases A to E), in both roles and both
//! directions.
//!
//! This crate is sans-IO: it never touches a socket, a modem, a file or the clock. The
//! engine takes frames, image data, modem events and the current time as input, and
//! hands back what to transmit, what to listen for, and when it next needs to be woken.
//! A physical layer (T.38 over UDP, or a software modem on audio) drives it.

#![forbid(unsafe_code)]

pub mod caps;
pub mod ecm;
pub mod engine;
pub mod frame;
pub mod ident;
pub mod outcome;
pub mod timers;

pub use caps::{Capabilities, Compression, Modulation, Rate, Settings, VerticalResolution};
pub use engine::{Config, Engine, Input, Output, ReceivedPage, Role, Rx, Tone, Tx};
pub use frame::{Fcf, Frame, FrameError};
pub use outcome::{Outcome, Status};
pub use timers::{Timer, Timers};
