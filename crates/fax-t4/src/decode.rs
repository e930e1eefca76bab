//! T.4 / T.6 decoders: total, bounded, and resynchronising on damage.

use crate::{Bitmap, Error, Resolution, Scheme};

/// Bounds on what a decoder will build, whatever the data claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Rows decoded at most; data past this is ignored and the page ends with
    /// [`PageEnd::RowLimit`].
    pub max_rows: u32,
}

impl Default for DecodeLimits {
    /// 20 000 rows: a 2.5 m page at 196 lpi, ten times any real fax page.
    fn default() -> Self {
        DecodeLimits { max_rows: 20_000 }
    }
}

/// How to decode a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The scheme the data was coded with. For MR the K factor does not matter: the tag
    /// bit after every EOL says how each line is coded.
    pub scheme: Scheme,
    /// Pixels per line.
    pub width: u32,
    /// The number of rows, when a container (TIFF) says so. The page then ends after this
    /// many rows; missing rows are filled white and counted as bad. `None` (the phone
    /// line) decodes until RTC/EOFB or the end of the data.
    pub rows: Option<u32>,
    /// MH/MR: whether lines start with EOL codes (true for T.4 line data and TIFF Class F).
    /// Fill bits before an EOL are always accepted. Ignored for MMR.
    pub eol: bool,
    /// Resolution to tag the decoded bitmap with.
    pub resolution: Resolution,
    /// Bounds on memory and work.
    pub limits: DecodeLimits,
}

impl DecodeOptions {
    /// Options for data of `scheme` and `width` with EOLs (MH/MR), unknown height, fine
    /// resolution and default limits.
    pub fn new(scheme: Scheme, width: u32) -> DecodeOptions {
        DecodeOptions {
            scheme,
            width,
            rows: None,
            eol: scheme != Scheme::Mmr,
            resolution: Resolution::FINE,
            limits: DecodeLimits::default(),
        }
    }
}

/// Why decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageEnd {
    /// MH/MR: the return-to-control sequence (six EOLs) was found.
    Rtc,
    /// MMR: the end-of-facsimile-block code was found.
    Eofb,
    /// The number of rows given in [`DecodeOptions::rows`] was reached.
    RowCount,
    /// The data ran out before any end marker.
    EndOfData,
    /// MMR: a code error; nothing after it can be decoded (T.6 has no resync point).
    Damaged,
    /// [`DecodeLimits::max_rows`] was reached.
    RowLimit,
}

/// A decoded page and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedPage {
    /// The pixels. Bad rows are replaced by the row above (white for the first).
    pub bitmap: Bitmap,
    /// Rows that could not be decoded.
    pub bad_rows: u32,
    /// Longest run of consecutive bad rows.
    pub longest_bad_run: u32,
    /// Why decoding stopped.
    pub end: PageEnd,
}

/// Decodes one page. Returns an error only for bad options or data with no decodable
/// row at all; damage after the first good row is reported in [`DecodedPage`].
pub fn decode(data: &[u8], options: &DecodeOptions) -> Result<DecodedPage, Error> {
    let _ = (data, options);
    todo!()
}
