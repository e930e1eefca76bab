/// Everything that can go wrong reading or writing a fax TIFF. Each variant says whose
/// fault it is. Page numbers in errors count from 1, as people do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Input: the data does not start with a TIFF header.
    #[error("not a TIFF file: {reason}")]
    NotTiff {
        /// What is wrong with the header.
        reason: &'static str,
    },
    /// Input is incompatible: a BigTIFF file. Fax software never writes them and this
    /// crate does not read them.
    #[error("BigTIFF files are not supported (fax TIFFs are classic TIFF)")]
    BigTiff,
    /// Input: the file has no image at all (its first directory offset is 0).
    #[error("the TIFF file contains no pages")]
    NoPages,
    /// Input: a structure the file points to lies (partly) outside the file; the file is
    /// truncated or corrupt.
    #[error(
        "page {page}: {what} at offset {offset} ({len} bytes) lies outside the file \
         ({file_len} bytes); the file is truncated or corrupt"
    )]
    OutOfBounds {
        /// The page whose structure it is.
        page: usize,
        /// What was being read.
        what: &'static str,
        /// Where the file says it is.
        offset: u64,
        /// How many bytes it needs.
        len: u64,
        /// The size of the file.
        file_len: u64,
    },
    /// Input: the chain of image directories leads back to a directory already read.
    #[error("page {page}: the directory chain loops back to offset {offset}")]
    IfdLoop {
        /// The page whose "next directory" pointer closes the loop.
        page: usize,
        /// The offset pointed to again.
        offset: u32,
    },
    /// Input: the pages together hold more pixels than
    /// [`crate::Limits::max_total_pixels`].
    #[error("page {page} takes the file past {max} pixels, the most this reader accepts")]
    TooManyPixels {
        /// The page that crossed the limit (from 1).
        page: usize,
        /// The limit.
        max: u64,
    },
    /// Input: more pages than [`crate::Limits::max_pages`].
    #[error("the file has more than {max} pages, the most this reader accepts")]
    TooManyPages {
        /// The limit.
        max: u32,
    },
    /// Input: a directory with more entries than [`crate::Limits::max_ifd_entries`].
    #[error("page {page}: directory claims {entries} entries, more than the limit of {max}")]
    TooManyEntries {
        /// The page.
        page: usize,
        /// Entries claimed.
        entries: u16,
        /// The limit.
        max: u16,
    },
    /// Input: a tag the page cannot do without is absent.
    #[error("page {page}: required tag {tag} is missing")]
    MissingTag {
        /// The page.
        page: usize,
        /// The tag's name.
        tag: &'static str,
    },
    /// Input: a tag has a field type that cannot hold its value (e.g. ASCII for a width).
    #[error("page {page}: tag {tag} has unusable field type {field_type}")]
    TagType {
        /// The page.
        page: usize,
        /// The tag's name.
        tag: &'static str,
        /// The TIFF field type found.
        field_type: u16,
    },
    /// Input: a tag's value is invalid.
    #[error("page {page}: tag {tag} has invalid value {value}: {reason}")]
    TagValue {
        /// The page.
        page: usize,
        /// The tag's name.
        tag: &'static str,
        /// The value found.
        value: u64,
        /// Why it is unusable.
        reason: &'static str,
    },
    /// Input: a width of 0 or over [`crate::Limits::max_width`].
    #[error("page {page}: image width {width} is outside 1..={max} pixels")]
    Width {
        /// The page.
        page: usize,
        /// The width claimed.
        width: u32,
        /// The limit.
        max: u32,
    },
    /// Input: a height of 0 or over [`crate::Limits::max_height`].
    #[error("page {page}: image height {height} is outside 1..={max} rows")]
    Height {
        /// The page.
        page: usize,
        /// The height claimed.
        height: u32,
        /// The limit.
        max: u32,
    },
    /// Input: the strips of one page add up to more than [`crate::Limits::max_page_bytes`].
    #[error("page {page}: image data of {bytes} bytes exceeds the limit of {max}")]
    PageTooLarge {
        /// The page.
        page: usize,
        /// Bytes claimed.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// Input is incompatible: a valid TIFF feature this fax reader does not handle
    /// (tiles, grey or colour, LZW, T.4 uncompressed mode, ...).
    #[error("page {page}: unsupported: {feature}")]
    Unsupported {
        /// The page.
        page: usize,
        /// What the page uses.
        feature: String,
    },
    /// Input: coded image data that is unusable as a whole.
    #[error("page {page}: {source}")]
    Codec {
        /// The page.
        page: usize,
        /// What the codec found.
        #[source]
        source: fax_t4::Error,
    },
    /// Input: not a single row of the page could be decoded, and the codec named no
    /// error (the strips hold no data, or too little for one row).
    #[error("page {page}: no row of the image could be decoded")]
    NoImageData {
        /// The page.
        page: usize,
    },
    /// Caller: a page index past the last page.
    #[error("page index {index} is out of range: the file has {pages} pages")]
    PageIndex {
        /// The index asked for (from 0).
        index: usize,
        /// Pages in the file.
        pages: usize,
    },
    /// Caller: a `DateTime` value not in the TIFF form `YYYY:MM:DD HH:MM:SS`.
    #[error("DateTime {0:?} is not of the form \"YYYY:MM:DD HH:MM:SS\"")]
    InvalidDateTime(String),
    /// Caller: a `Software` value that is not printable ASCII.
    #[error("Software {0:?} must be printable ASCII")]
    InvalidSoftware(String),
    /// Caller: an `ImageDescription` value that is not printable ASCII.
    #[error("ImageDescription {0:?} must be printable ASCII")]
    InvalidDescription(String),
    /// Caller: a page to write with no rows, or a coded page of impossible size.
    #[error("page {page}: cannot write a page of {width}x{height} pixels")]
    PageSize {
        /// The page.
        page: usize,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// Caller: [`crate::Writer::finish`] with no pages added.
    #[error("a TIFF file needs at least one page")]
    NothingToWrite,
    /// Caller: the pages add up to more than the 4 GiB a classic TIFF can address, or
    /// more than the 65 535 pages its PageNumber tag can count.
    #[error("the pages add up to more than a TIFF file can hold (4 GiB, 65 535 pages)")]
    OutputTooLarge,
}
