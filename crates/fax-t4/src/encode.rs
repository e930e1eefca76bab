//! T.4 / T.6 encoders.

use crate::{Bitmap, Error, Scheme};

/// How to code a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// MH, MR (with K) or MMR.
    pub scheme: Scheme,
    /// MH/MR: write an EOL before every line. Line transmission and TIFF Class F need it;
    /// TIFF Compression=2 style data has none. Ignored for MMR.
    pub eol: bool,
    /// MH/MR: insert zero fill bits so that every EOL ends on a byte boundary (TIFF
    /// T4Options bit 2). Ignored for MMR.
    pub byte_align_eol: bool,
    /// Append the end-of-page marker: RTC (six EOLs) for MH/MR, EOFB for MMR.
    pub end_of_page: bool,
    /// MH/MR: lines shorter than this many bits (counting the EOL that starts them) are
    /// padded with fill bits. It is the minimum scan line time T.30 negotiates, times the
    /// bit rate. Ignored for MMR.
    pub min_bits_per_line: u32,
}

impl EncodeOptions {
    /// What a TIFF Class F file holds: EOL before every line, no fill, no RTC (libtiff's
    /// defaults), EOFB for MMR.
    pub fn tiff(scheme: Scheme) -> EncodeOptions {
        EncodeOptions {
            scheme,
            eol: scheme != Scheme::Mmr,
            byte_align_eol: false,
            end_of_page: scheme == Scheme::Mmr,
            min_bits_per_line: 0,
        }
    }

    /// What goes down a phone line in non-ECM mode: EOLs, RTC, and padding to the
    /// negotiated minimum line length.
    pub fn line(scheme: Scheme, min_bits_per_line: u32) -> EncodeOptions {
        EncodeOptions {
            scheme,
            eol: true,
            byte_align_eol: false,
            end_of_page: true,
            min_bits_per_line,
        }
    }
}

/// Codes a page one row at a time.
#[derive(Debug)]
pub struct Encoder {
    _private: (),
}

impl Encoder {
    /// An encoder for rows of `width` pixels.
    pub fn new(width: u32, options: EncodeOptions) -> Result<Encoder, Error> {
        let _ = (width, options);
        todo!()
    }

    /// Codes one packed row (at least `stride_for(width)` bytes; 1 = black, MSB first).
    pub fn encode_row(&mut self, row: &[u8]) -> Result<(), Error> {
        let _ = row;
        todo!()
    }

    /// Rows coded so far.
    pub fn rows(&self) -> u32 {
        todo!()
    }

    /// Ends the page (writing RTC/EOFB if asked) and returns the coded bytes, MSB first,
    /// the last byte padded with zero bits.
    pub fn finish(self) -> Vec<u8> {
        todo!()
    }
}

/// Codes a whole page.
pub fn encode(bitmap: &Bitmap, options: &EncodeOptions) -> Vec<u8> {
    let _ = (bitmap, options);
    todo!()
}
