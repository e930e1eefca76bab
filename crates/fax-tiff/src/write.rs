//! Writing TIFF Class F.

use fax_t4::bitmap::MAX_WIDTH;
use fax_t4::{Bitmap, EncodeOptions, Resolution, Scheme};

use crate::Error;
use crate::packbits;
use crate::read::{Compression, FillOrder};
use crate::tags::{self, field};

/// How to code the pixels of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageEncoding {
    /// No compression (Compression 1).
    Uncompressed,
    /// PackBits, every row packed on its own (Compression 32773).
    PackBits,
    /// T.4 MH or MR (Compression 3, EOL before every row, no RTC) or T.6 MMR
    /// (Compression 4, ending with EOFB).
    Ccitt(Scheme),
}

/// The CleanFaxData tag of a received page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CleanFaxData {
    /// 0: no line was damaged.
    Clean,
    /// 1: damaged lines were replaced (regenerated) by the receiver.
    Regenerated,
    /// 2: damaged lines are present as received.
    Unclean,
}

impl CleanFaxData {
    /// The tag value.
    pub fn code(self) -> u16 {
        match self {
            CleanFaxData::Clean => 0,
            CleanFaxData::Regenerated => 1,
            CleanFaxData::Unclean => 2,
        }
    }
}

/// What a receiver found wrong with a page, written as the received-fax tags
/// BadFaxLines, CleanFaxData and ConsecutiveBadFaxLines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaxQuality {
    /// Rows received with errors.
    pub bad_lines: u32,
    /// Whether damaged rows were regenerated.
    pub clean: CleanFaxData,
    /// Longest run of consecutive bad rows.
    pub consecutive_bad_lines: u32,
}

/// A page already coded with T.4 or T.6, e.g. as it came off the phone line, to be
/// stored without decoding and re-coding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodedPage {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Resolution the page was sent at.
    pub resolution: Resolution,
    /// The coding scheme of `data`.
    pub scheme: Scheme,
    /// MH/MR: whether every EOL ends on a byte boundary (T4Options bit 2).
    pub byte_aligned_eols: bool,
    /// The coded data, most significant bit first (as `fax_t4` codes it). MH/MR data
    /// must have an EOL before every row; a trailing RTC is allowed.
    pub data: Vec<u8>,
    /// What the receiver found wrong with the page, if it checked.
    pub quality: Option<FaxQuality>,
}

/// File-wide settings of a [`Writer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Bit order of the image data. Default LSB first, the usual order of fax TIFFs.
    pub fill_order: FillOrder,
    /// The Software tag, printable ASCII.
    pub software: Option<String>,
    /// The ImageDescription tag, printable ASCII: for a received fax, the sender's
    /// station identifier.
    pub image_description: Option<String>,
    /// The DateTime tag, `YYYY:MM:DD HH:MM:SS`. This crate reads no clock; the caller
    /// says what time it is.
    pub date_time: Option<String>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            fill_order: FillOrder::LsbFirst,
            software: None,
            image_description: None,
            date_time: None,
        }
    }
}

/// A page coded and waiting for the file to be laid out.
#[derive(Debug)]
struct PendingPage {
    width: u32,
    height: u32,
    resolution: Resolution,
    compression: Compression,
    t4_options: Option<u32>,
    t6_options: Option<u32>,
    /// Coded data in the file's fill order.
    data: Vec<u8>,
    quality: Option<FaxQuality>,
}

/// Builds a multi-page TIFF Class F file: little-endian, one strip per page, each page
/// followed by its directory.
///
/// Pages are coded as they are added; the file is laid out by [`Writer::finish`], once
/// the page count that every PageNumber tag carries is known.
#[derive(Debug)]
pub struct Writer {
    options: WriteOptions,
    pages: Vec<PendingPage>,
}

const T4_TWO_DIMENSIONAL: u32 = 1 << 0;
const T4_FILL_BITS: u32 = 1 << 2;

impl Writer {
    /// A writer with no pages. Fails on a Software or DateTime value that cannot be
    /// written.
    pub fn new(options: WriteOptions) -> Result<Writer, Error> {
        let printable = |text: &str| text.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
        if let Some(software) = &options.software
            && !printable(software)
        {
            return Err(Error::InvalidSoftware(software.clone()));
        }
        if let Some(description) = &options.image_description
            && !printable(description)
        {
            return Err(Error::InvalidDescription(description.clone()));
        }
        if let Some(date_time) = &options.date_time
            && !is_tiff_date_time(date_time)
        {
            return Err(Error::InvalidDateTime(date_time.clone()));
        }
        Ok(Writer {
            options,
            pages: Vec::new(),
        })
    }

    /// Pages added so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Codes a page and adds it.
    pub fn add_page(&mut self, bitmap: &Bitmap, encoding: PageEncoding) -> Result<(), Error> {
        if bitmap.height() == 0 {
            return Err(Error::PageSize {
                page: self.pages.len() + 1,
                width: bitmap.width(),
                height: 0,
            });
        }
        let (compression, t4_options, t6_options, data) = match encoding {
            PageEncoding::Uncompressed => (
                Compression::Uncompressed,
                None,
                None,
                bitmap.packed().to_vec(),
            ),
            PageEncoding::PackBits => {
                let mut data = Vec::with_capacity(bitmap.packed().len() / 4);
                for row in bitmap.rows() {
                    packbits::pack_row(row, &mut data);
                }
                (Compression::PackBits, None, None, data)
            }
            PageEncoding::Ccitt(scheme) => {
                let data = fax_t4::encode(bitmap, &EncodeOptions::tiff(scheme));
                let (compression, t4, t6) = ccitt_tags(scheme, false);
                (compression, t4, t6, data)
            }
        };
        self.push(PendingPage {
            width: bitmap.width(),
            height: bitmap.height(),
            resolution: bitmap.resolution(),
            compression,
            t4_options,
            t6_options,
            data,
            quality: None,
        });
        Ok(())
    }

    /// Adds a page of already-coded data.
    pub fn add_coded_page(&mut self, page: CodedPage) -> Result<(), Error> {
        if page.width == 0 || page.width > MAX_WIDTH || page.height == 0 {
            return Err(Error::PageSize {
                page: self.pages.len() + 1,
                width: page.width,
                height: page.height,
            });
        }
        let (compression, t4_options, t6_options) = ccitt_tags(page.scheme, page.byte_aligned_eols);
        self.push(PendingPage {
            width: page.width,
            height: page.height,
            resolution: page.resolution,
            compression,
            t4_options,
            t6_options,
            data: page.data,
            quality: page.quality,
        });
        Ok(())
    }

    fn push(&mut self, mut page: PendingPage) {
        if self.options.fill_order == FillOrder::LsbFirst {
            fax_t4::bits::reverse_bits_in_place(&mut page.data);
        }
        self.pages.push(page);
    }

    /// Lays out the file.
    pub fn finish(self) -> Result<Vec<u8>, Error> {
        if self.pages.is_empty() {
            return Err(Error::NothingToWrite);
        }
        let total = u16::try_from(self.pages.len()).map_err(|_| Error::OutputTooLarge)?;
        let mut out =
            Vec::with_capacity(8 + self.pages.iter().map(|p| p.data.len() + 400).sum::<usize>());
        out.extend_from_slice(b"II");
        out.extend_from_slice(&42u16.to_le_bytes());
        // Patched with each directory's offset as it is placed.
        let mut next_pointer_at = out.len();
        out.extend_from_slice(&0u32.to_le_bytes());
        for (number, page) in (0u16..).zip(&self.pages) {
            let strip_offset = offset32(out.len())?;
            out.extend_from_slice(&page.data);
            pad_to_word(&mut out);
            let ifd_offset = offset32(out.len())?;
            out[next_pointer_at..next_pointer_at + 4].copy_from_slice(&ifd_offset.to_le_bytes());
            let fields = self.fields(page, strip_offset, number, total);
            next_pointer_at = write_ifd(&mut out, &fields)?;
        }
        offset32(out.len())?;
        Ok(out)
    }

    fn fields(&self, page: &PendingPage, strip_offset: u32, number: u16, total: u16) -> Vec<Field> {
        let byte_count = u32::try_from(page.data.len()).unwrap_or(u32::MAX);
        let mut fields = vec![
            // 2: one page of a multi-page document.
            Field::long(tags::NEW_SUBFILE_TYPE, 2),
            Field::short_or_long(tags::IMAGE_WIDTH, page.width),
            Field::short_or_long(tags::IMAGE_LENGTH, page.height),
            Field::short(tags::BITS_PER_SAMPLE, 1),
            Field::short(tags::COMPRESSION, page.compression.code()),
            Field::short(tags::PHOTOMETRIC, 0),
            Field::short(tags::FILL_ORDER, self.options.fill_order.code()),
            Field::long(tags::STRIP_OFFSETS, strip_offset),
            Field::short(tags::SAMPLES_PER_PIXEL, 1),
            Field::long(tags::ROWS_PER_STRIP, page.height),
            Field::long(tags::STRIP_BYTE_COUNTS, byte_count),
            Field::rational(tags::X_RESOLUTION, page.resolution.x_dpi),
            Field::rational(tags::Y_RESOLUTION, page.resolution.y_dpi),
            // 2: inch.
            Field::short(tags::RESOLUTION_UNIT, 2),
            Field::shorts(tags::PAGE_NUMBER, &[number, total]),
        ];
        if let Some(t4) = page.t4_options {
            fields.push(Field::long(tags::T4_OPTIONS, t4));
        }
        if let Some(t6) = page.t6_options {
            fields.push(Field::long(tags::T6_OPTIONS, t6));
        }
        if let Some(description) = &self.options.image_description {
            fields.push(Field::ascii(tags::IMAGE_DESCRIPTION, description));
        }
        if let Some(software) = &self.options.software {
            fields.push(Field::ascii(tags::SOFTWARE, software));
        }
        if let Some(date_time) = &self.options.date_time {
            fields.push(Field::ascii(tags::DATE_TIME, date_time));
        }
        if let Some(quality) = page.quality {
            fields.push(Field::long(tags::BAD_FAX_LINES, quality.bad_lines));
            fields.push(Field::short(tags::CLEAN_FAX_DATA, quality.clean.code()));
            fields.push(Field::long(
                tags::CONSECUTIVE_BAD_FAX_LINES,
                quality.consecutive_bad_lines,
            ));
        }
        // TIFF requires directory entries in ascending tag order.
        fields.sort_by_key(|f| f.tag);
        fields
    }
}

/// Writes a whole file of bitmaps, all coded the same way.
pub fn write(
    pages: &[Bitmap],
    encoding: PageEncoding,
    options: &WriteOptions,
) -> Result<Vec<u8>, Error> {
    let mut writer = Writer::new(options.clone())?;
    for page in pages {
        writer.add_page(page, encoding)?;
    }
    writer.finish()
}

/// Compression, T4Options and T6Options for a fax coding scheme.
fn ccitt_tags(scheme: Scheme, byte_aligned_eols: bool) -> (Compression, Option<u32>, Option<u32>) {
    let fill = if byte_aligned_eols { T4_FILL_BITS } else { 0 };
    match scheme {
        Scheme::Mh => (Compression::T4, Some(fill), None),
        Scheme::Mr { .. } => (Compression::T4, Some(T4_TWO_DIMENSIONAL | fill), None),
        Scheme::Mmr => (Compression::T6, None, Some(0)),
    }
}

fn is_tiff_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            4 | 7 | 13 | 16 => b == b':',
            10 => b == b' ',
            _ => b.is_ascii_digit(),
        })
}

fn offset32(len: usize) -> Result<u32, Error> {
    u32::try_from(len).map_err(|_| Error::OutputTooLarge)
}

/// TIFF wants every offset on a word boundary.
fn pad_to_word(out: &mut Vec<u8>) {
    if out.len() % 2 == 1 {
        out.push(0);
    }
}

/// One directory entry to write.
struct Field {
    tag: u16,
    field_type: u16,
    count: u32,
    /// Little-endian value bytes; stored in the entry when four bytes or fewer.
    value: Vec<u8>,
}

impl Field {
    fn short(tag: u16, value: u16) -> Field {
        Field::shorts(tag, &[value])
    }

    fn shorts(tag: u16, values: &[u16]) -> Field {
        Field {
            tag,
            field_type: field::SHORT,
            count: values.len() as u32,
            value: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn long(tag: u16, value: u32) -> Field {
        Field {
            tag,
            field_type: field::LONG,
            count: 1,
            value: value.to_le_bytes().to_vec(),
        }
    }

    /// SHORT when it fits, as libtiff writes dimensions; readers accept either.
    fn short_or_long(tag: u16, value: u32) -> Field {
        match u16::try_from(value) {
            Ok(short) => Field::short(tag, short),
            Err(_) => Field::long(tag, value),
        }
    }

    fn rational(tag: u16, numerator: u16) -> Field {
        let mut value = u32::from(numerator).to_le_bytes().to_vec();
        value.extend_from_slice(&1u32.to_le_bytes());
        Field {
            tag,
            field_type: field::RATIONAL,
            count: 1,
            value,
        }
    }

    fn ascii(tag: u16, text: &str) -> Field {
        let mut value = text.as_bytes().to_vec();
        value.push(0);
        Field {
            tag,
            field_type: field::ASCII,
            count: value.len() as u32,
            value,
        }
    }
}

/// Appends a directory and the values that do not fit in its entries; returns the
/// position of its next-directory pointer.
fn write_ifd(out: &mut Vec<u8>, fields: &[Field]) -> Result<usize, Error> {
    let ifd_start = out.len();
    let entries_len = 2 + 12 * fields.len() + 4;
    let mut extra_at = ifd_start + entries_len;
    let mut extra = Vec::new();
    out.extend_from_slice(&(fields.len() as u16).to_le_bytes());
    for f in fields {
        out.extend_from_slice(&f.tag.to_le_bytes());
        out.extend_from_slice(&f.field_type.to_le_bytes());
        out.extend_from_slice(&f.count.to_le_bytes());
        if f.value.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..f.value.len()].copy_from_slice(&f.value);
            out.extend_from_slice(&inline);
        } else {
            out.extend_from_slice(&offset32(extra_at)?.to_le_bytes());
            extra.extend_from_slice(&f.value);
            pad_to_word(&mut extra);
            extra_at = ifd_start + entries_len + extra.len();
        }
    }
    let next_pointer_at = out.len();
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&extra);
    Ok(next_pointer_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_must_be_tiff_form() {
        assert!(is_tiff_date_time("2024:02:29 23:59:59"));
        assert!(!is_tiff_date_time("2024-02-29 23:59:59"));
        assert!(!is_tiff_date_time("2024:02:29T23:59:59"));
        assert!(!is_tiff_date_time("2024:02:29 23:59"));
        assert!(matches!(
            Writer::new(WriteOptions {
                date_time: Some("yesterday".into()),
                ..WriteOptions::default()
            }),
            Err(Error::InvalidDateTime(_))
        ));
        assert!(matches!(
            Writer::new(WriteOptions {
                software: Some("fax\0gate".into()),
                ..WriteOptions::default()
            }),
            Err(Error::InvalidSoftware(_))
        ));
    }

    #[test]
    fn empty_writer_and_empty_page_are_refused() {
        let writer = Writer::new(WriteOptions::default()).expect("default options are valid");
        assert_eq!(writer.finish(), Err(Error::NothingToWrite));
        let mut writer = Writer::new(WriteOptions::default()).expect("default options are valid");
        let empty = Bitmap::with_width(1728, Resolution::FINE).expect("A4 width is valid");
        assert!(matches!(
            writer.add_page(&empty, PageEncoding::PackBits),
            Err(Error::PageSize { .. })
        ));
    }
}
