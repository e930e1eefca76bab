//! TIFF Class F: the multi-page fax TIFF files that fax servers store received faxes in and
//! take documents to send from.
//!
//! [`Reader`] parses a TIFF held in memory (little- or big-endian, any number of pages up to
//! [`Limits`]), describes every page ([`PageInfo`]) and decodes it to a [`fax_t4::Bitmap`].
//! It reads the codings fax TIFFs use: T.4 MH and MR, T.6 MMR, CCITT modified Huffman RLE,
//! PackBits and uncompressed, in either fill order and either photometric interpretation.
//! [`Writer`] produces TIFF Class F: one strip per page, little-endian, the fax tags
//! (resolution, page number, received-fax quality) set the way fax software expects them.
//! [`tiff_to_pdf`] turns a fax TIFF into a PDF of the same pages (T.6 coded images).
//!
//! This crate never does I/O and never reads a clock: bytes come in, bytes go out, and a
//! date for the `DateTime` tag is the caller's to supply. It never panics on input and
//! never allocates more than [`Limits`] allows before it has checked what a file claims:
//! a TIFF is as likely to come from an attacker's mail as from a fax machine.

#![forbid(unsafe_code)]

mod error;
mod ifd;
mod packbits;
pub mod pdf;
mod read;
mod tags;
mod write;

pub use error::Error;
pub use pdf::tiff_to_pdf;
pub use read::{
    Compression, DecodedPage, FillOrder, Limits, PageInfo, Photometric, Reader, ResolutionUnit,
};
pub use write::{CleanFaxData, CodedPage, FaxQuality, PageEncoding, WriteOptions, Writer, write};
