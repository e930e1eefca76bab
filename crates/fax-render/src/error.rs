use thiserror::Error;

/// Why a document could not be rendered.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Input: the document is of a kind that cannot be faxed (or not recognised at all).
    #[error(
        "unsupported document type ({what}); supported: {}",
        crate::sniff::SUPPORTED
    )]
    Unsupported {
        /// What the document looked like.
        what: String,
    },
    /// Input: the document claims to be of a known kind but is damaged or truncated.
    #[error("damaged {kind}: {reason}")]
    Damaged {
        /// The kind of document ("PNG image", "greyscale page raster", ...).
        kind: &'static str,
        /// What the decoder found wrong.
        reason: String,
    },
    /// Input exceeds the caller's limits: an image claiming huge dimensions, a document
    /// with too many pages. Refused before the memory is committed.
    #[error("{what} exceeds the limit: {got} > {max}")]
    TooLarge {
        /// What was measured ("image pixels", "pages", ...).
        what: &'static str,
        /// The value the document asked for.
        got: u64,
        /// The limit in force.
        max: u64,
    },
    /// Input exceeds the caller's limits while decoding: the image decoder would have
    /// to allocate more than [`crate::Limits::max_decoder_alloc`].
    #[error("refused by the decoder's limits: {0}")]
    DecoderLimit(String),
    /// Configuration: no font could be loaded, or a font file is not a font.
    #[error("font: {0}")]
    Font(String),
    /// Configuration: the page setup leaves no room to print (margins wider than the
    /// page, font size of zero, ...).
    #[error("page setup: {0}")]
    Setup(String),
    /// Bug or impossible geometry reported by the page model; not the input's fault.
    #[error("page model: {0}")]
    Page(#[from] fax_t4::Error),
}
