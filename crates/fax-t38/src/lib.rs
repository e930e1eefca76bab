//! ITU-T T.38 transport codec: the packets that carry a fax call over IP.
//!
//! Two layers, both pure:
//!
//! - [`ifp`]: Internet Facsimile Protocol packets, the T.38 messages themselves
//!   (indicators such as CED or V.21 preamble, and data such as HDLC frames or non-ECM
//!   image data), in the ASN.1 aligned PER encoding T.38 prescribes, for T.38 versions 0
//!   to 3 ([`Version`]).
//! - [`udptl`]: the UDPTL layer that numbers IFP packets and adds error recovery
//!   (redundant copies of earlier packets, or parity FEC), and the receive side that puts
//!   them back in order, recovers what it can and reports what it could not.
//!
//! - [`terminal`]: a T.38 fax terminal, the `fax-t30` engine speaking those packets:
//!   signals become paced IFP sequences, incoming packets become frames and page data.
//!
//! This crate never does I/O, never reads a clock and never panics on input: datagrams come
//! from the network and an attacker controls them, so every decoder is total and bounds
//! every count and length by the bytes actually present. Time (for pacing, and for the
//! receiver to stop waiting for a lost packet) is passed in by the caller. The codec
//! layers know nothing of T.30; only [`terminal`] joins the two.

#![forbid(unsafe_code)]

mod error;
pub mod ifp;
mod per;
pub mod terminal;
pub mod udptl;

pub use error::Error;
pub use ifp::{DataType, Field, FieldType, IfpPacket, Indicator, Version};
pub use udptl::{
    Datagram, ErrorRecovery, Received, ReceiverConfig, ReceiverStats, Recovery, SenderConfig,
    UdptlReceiver, UdptlSender, Via,
};
