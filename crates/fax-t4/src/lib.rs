//! ITU-T T.4 (MH, MR) and T.6 (MMR) bilevel fax image codec.
//!
//! This crate holds the page model every other part of faxgate speaks ([`Bitmap`],
//! [`Resolution`]), the coding schemes of Group 3/4 facsimile ([`encode`], [`decode`]),
//! the resolution and width conversions T.30 needs when a receiver lacks a capability
//! ([`convert`]), and PBM read/write ([`pbm`]).
//!
//! It never does I/O, never reads a clock and never panics on input: coded data comes from
//! the phone line or an attacker's TIFF, so every decoder is total and bounded by
//! [`DecodeLimits`].
//!
//! Bit order: coded data is produced and consumed most-significant-bit first, the order the
//! standards draw the code words in (TIFF FillOrder 1). The phone line and most fax TIFFs
//! carry the first bit in the least significant position (FillOrder 2);
//! [`bits::reverse_bits_in_place`] converts between the two.

#![forbid(unsafe_code)]

pub mod bitmap;
pub mod bits;
mod codes;
pub mod convert;
mod decode;
mod encode;
mod error;
pub mod pbm;
mod runs;

pub use bitmap::{Bitmap, Resolution};
pub use decode::{DecodeLimits, DecodeOptions, DecodedPage, PageEnd, decode};
pub use encode::{EncodeOptions, Encoder, encode};
pub use error::Error;

use std::num::NonZeroU32;

/// A coding scheme of T.4 / T.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// T.4 one-dimensional coding, Modified Huffman.
    Mh,
    /// T.4 two-dimensional coding, Modified READ: one 1-D line, then at most `k - 1`
    /// 2-D lines.
    Mr {
        /// How often a 1-D line restarts the chain of reference lines.
        k: KFactor,
    },
    /// T.6 two-dimensional coding, Modified Modified READ: no EOLs, ends with EOFB.
    Mmr,
}

impl Scheme {
    /// The K that T.4 recommends for a vertical resolution: 2 at standard (98 lpi),
    /// 4 at fine and above.
    pub fn mr_for_lpi(lines_per_inch: u16) -> Scheme {
        let k = if lines_per_inch >= 150 { 4 } else { 2 };
        Scheme::Mr {
            k: KFactor::Every(NonZeroU32::new(k).unwrap_or(NonZeroU32::MIN)),
        }
    }
}

/// The K parameter of MR coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KFactor {
    /// A 1-D coded line every `n` lines (T.4 uses 2 at standard, 4 at fine resolution).
    Every(NonZeroU32),
    /// Only the first line is 1-D (allowed when error correction protects the data).
    Unlimited,
}

impl KFactor {
    /// K = 2.
    pub const K2: KFactor = KFactor::Every(NonZeroU32::new(2).expect("2 is non-zero"));
    /// K = 4.
    pub const K4: KFactor = KFactor::Every(NonZeroU32::new(4).expect("4 is non-zero"));
}
