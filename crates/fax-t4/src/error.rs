use crate::Scheme;

/// Everything that can go wrong in this crate. Each variant says whose fault it is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Input: a width of zero, or one over the limit the caller set.
    #[error("image width {width} is outside 1..={max} pixels")]
    BadWidth {
        /// The width asked for.
        width: u32,
        /// The largest width allowed.
        max: u32,
    },
    /// Input: a height over the limit the caller set.
    #[error("image height {height} exceeds the limit of {max} rows")]
    TooTall {
        /// The height claimed or reached.
        height: u32,
        /// The largest height allowed.
        max: u32,
    },
    /// Input: pixel data whose length does not match the dimensions.
    #[error("pixel data is {got} bytes; {width}x{height} needs {expected}")]
    DataLength {
        /// Width in pixels.
        width: u32,
        /// Height in rows.
        height: u32,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// Input: a row given to the encoder is shorter than the width needs.
    #[error("row is {got} bytes; width {width} needs {expected}")]
    RowLength {
        /// Width in pixels.
        width: u32,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// Input: coded data that is unusable as a whole (not a single good line before the
    /// damage). Recoverable damage is reported in [`crate::DecodedPage`] instead.
    #[error("{scheme:?} data is corrupt at bit {bit_offset}: {reason}")]
    Corrupt {
        /// The scheme being decoded.
        scheme: Scheme,
        /// Offset of the offending code word from the start of the data.
        bit_offset: u64,
        /// What was wrong.
        reason: &'static str,
    },
    /// Input: a PBM file that is malformed.
    #[error("bad PBM: {0}")]
    Pbm(&'static str),
    /// Caller: a conversion asked for something this page cannot become.
    #[error("unsupported conversion: {0}")]
    Unsupported(&'static str),
}
