use crate::ifp::Version;

/// Everything that can go wrong in this crate. Each variant says whose fault it is.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Peer: the packet ends in the middle of `what` (cut short in transit, or built wrong).
    #[error("packet ends inside {what}")]
    Truncated {
        /// The part of the packet being read.
        what: &'static str,
    },
    /// Peer: bytes left over after a complete packet.
    #[error("{count} byte(s) after the end of the packet")]
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// Peer: a value outside its enumeration. Either the peer misbehaves or it speaks a later
    /// T.38 than was negotiated.
    #[error("unknown {what} value {value}")]
    UnknownValue {
        /// Which enumeration.
        what: &'static str,
        /// The value received (extension values are numbered from 0 after the root).
        value: u32,
    },
    /// Peer: a packet that is structurally wrong in a way the other variants do not name.
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// Caller: the value is not defined in the T.38 version in use, so it cannot be sent.
    #[error("{what} is not defined in T.38 version {}", version.number())]
    NotInVersion {
        /// The value asked for, in the standard's notation.
        what: &'static str,
        /// The version in use.
        version: Version,
    },
    /// Caller: field data longer than the 65535 octets T.38 allows in one field.
    #[error("field data of {len} bytes exceeds 65535")]
    FieldTooLong {
        /// The length asked for.
        len: usize,
    },
    /// Caller: more items in one list (data fields of an IFP packet, or error-recovery
    /// entries of a datagram) than this encoder writes (16383).
    #[error("{count} items in one list")]
    TooManyItems {
        /// The number of items asked for.
        count: usize,
    },
    /// Caller: an empty IFP packet was handed to the UDPTL sender; every encoded IFP packet
    /// is at least one octet.
    #[error("empty IFP packet")]
    EmptyIfp,
    /// Caller: the IFP packet alone does not fit the far end's maximum datagram
    /// (T38FaxMaxDatagram), so it cannot be sent at all. Nothing was sent and the sequence
    /// number was not used.
    #[error("a datagram of {needed} bytes exceeds the far end's maximum of {max}")]
    DatagramTooLarge {
        /// Bytes the smallest datagram carrying this packet needs.
        needed: usize,
        /// The far end's maximum.
        max: usize,
    },
    /// Config: a setting outside what this crate supports.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// Peer incompatible or config: a T.38 version number this crate does not speak.
    #[error("unsupported T.38 version {0}")]
    UnsupportedVersion(u8),
}
