//! Reading: the page directory of a TIFF file, and decoding pages to bitmaps.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use fax_t4::bitmap::{MAX_WIDTH, stride_for};
use fax_t4::{Bitmap, DecodeLimits, DecodeOptions, Resolution, Scheme};

use crate::Error;
use crate::ifd::{File, Ifd};
use crate::packbits;
use crate::tags;

/// Bounds on what the reader accepts, checked against what a file claims before anything
/// is allocated for it.
///
/// The defaults fit every real fax with a wide margin and keep a hostile file from
/// costing more than a few tens of megabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Widest page, in pixels. Default [`fax_t4::bitmap::MAX_WIDTH`] (8192), which is
    /// also the most the page model takes: raising this lets wider pages be described,
    /// not decoded.
    pub max_width: u32,
    /// Tallest page, in rows. Default 20 000: a 2.5 m page at 196 lpi.
    pub max_height: u32,
    /// Most pages in one file. Default 1000.
    pub max_pages: u32,
    /// Most entries in one image directory. Default 512; fax software writes about 20.
    pub max_ifd_entries: u16,
    /// Most coded bytes in one page (all its strips). Default 32 MiB, more than an
    /// uncompressed page of the largest size allowed.
    pub max_page_bytes: u64,
    /// Most pixels in all pages together. Default 2^30 (128 MiB of bitmaps, some 250
    /// fine A4 pages): each page is bounded on its own, and this keeps a file of a
    /// thousand maximal pages from costing gigabytes to convert or extract.
    pub max_total_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_width: MAX_WIDTH,
            max_height: 20_000,
            max_pages: 1000,
            max_ifd_entries: 512,
            max_page_bytes: 32 << 20,
            max_total_pixels: 1 << 30,
        }
    }
}

/// The Compression tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// 1: no compression, rows packed and byte-aligned.
    Uncompressed,
    /// 2: CCITT modified Huffman RLE: MH without EOLs, every row starting on a byte.
    CcittRle,
    /// 3: T.4 (MH or MR, as T4Options says); "Group 3".
    T4,
    /// 4: T.6 (MMR); "Group 4".
    T6,
    /// 32773: PackBits.
    PackBits,
    /// Anything else (LZW, JPEG, Deflate, JBIG, ...), which this crate does not decode.
    Other(u16),
}

impl Compression {
    /// The tag value.
    pub fn code(self) -> u16 {
        match self {
            Compression::Uncompressed => 1,
            Compression::CcittRle => 2,
            Compression::T4 => 3,
            Compression::T6 => 4,
            Compression::PackBits => 0x8005,
            Compression::Other(code) => code,
        }
    }

    /// The variant for a tag value.
    pub fn from_code(code: u16) -> Compression {
        match code {
            1 => Compression::Uncompressed,
            2 => Compression::CcittRle,
            3 => Compression::T4,
            4 => Compression::T6,
            0x8005 => Compression::PackBits,
            other => Compression::Other(other),
        }
    }
}

/// The FillOrder tag: where the first bit of coded data sits in each byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FillOrder {
    /// 1: most significant bit first, the order the standards draw code words in.
    #[default]
    MsbFirst,
    /// 2: least significant bit first, the order bits travel on the phone line and the
    /// usual order of fax TIFFs.
    LsbFirst,
}

impl FillOrder {
    /// The tag value.
    pub fn code(self) -> u16 {
        match self {
            FillOrder::MsbFirst => 1,
            FillOrder::LsbFirst => 2,
        }
    }
}

/// The PhotometricInterpretation tag, for bilevel images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Photometric {
    /// 0: 0 is white, 1 is black, as in fax coding and [`fax_t4::Bitmap`].
    #[default]
    WhiteIsZero,
    /// 1: 0 is black; decoded pages are inverted to match [`fax_t4::Bitmap`].
    BlackIsZero,
}

/// The ResolutionUnit tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResolutionUnit {
    /// 1: no unit; the resolutions only give the aspect ratio.
    None,
    /// 2: dots per inch (the TIFF default).
    Inch,
    /// 3: dots per centimetre.
    Centimetre,
}

/// What one page of a TIFF file says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageInfo {
    /// Position in the file, from 0.
    pub index: usize,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Resolution in dots per inch, as the decoded bitmap is tagged.
    ///
    /// Centimetre values are converted and snapped to the fax resolution they round
    /// (80 pels/cm is 204 dpi, 77 lines/cm is 196 lpi). Without usable resolution tags
    /// (see [`PageInfo::resolution_from_tags`]) a fax page is assumed: 204 dpi across,
    /// and 98 lpi if unitless tags give an aspect ratio of about 2:1, else 196 lpi.
    pub resolution: Resolution,
    /// Whether [`PageInfo::resolution`] came from the XResolution/YResolution tags in
    /// inches or centimetres, rather than being assumed.
    pub resolution_from_tags: bool,
    /// The ResolutionUnit tag (default inch).
    pub resolution_unit: ResolutionUnit,
    /// The Compression tag (default uncompressed).
    pub compression: Compression,
    /// The T4Options tag (default 0): bit 0 two-dimensional (MR) coding, bit 1
    /// uncompressed mode, bit 2 fill bits before EOLs.
    pub t4_options: u32,
    /// The T6Options tag (default 0): bit 1 uncompressed mode.
    pub t6_options: u32,
    /// The FillOrder tag (default MSB first).
    pub fill_order: FillOrder,
    /// The PhotometricInterpretation tag (white-is-zero when absent, as in fax).
    pub photometric: Photometric,
    /// The PageNumber tag: (page number from 0, total pages or 0 if unknown).
    pub page_number: Option<(u16, u16)>,
    /// The NewSubfileType tag (default 0; Class F writes 2, "one page of many").
    pub new_subfile_type: u32,
    /// Rows in every strip but the last (the RowsPerStrip tag, capped at the height).
    pub rows_per_strip: u32,
    /// Number of strips.
    pub strips: usize,
    /// Coded bytes of the page: the sum of its strip byte counts.
    pub encoded_bytes: u64,
    /// The BadFaxLines tag of a received fax.
    pub bad_fax_lines: Option<u32>,
    /// The CleanFaxData tag of a received fax: 0 clean, 1 regenerated, 2 unclean.
    pub clean_fax_data: Option<u16>,
    /// The ConsecutiveBadFaxLines tag of a received fax.
    pub consecutive_bad_fax_lines: Option<u32>,
    /// The Software tag.
    pub software: Option<String>,
    /// The ImageDescription tag (for a received fax, the sender's identifier).
    pub image_description: Option<String>,
    /// The DateTime tag.
    pub date_time: Option<String>,
}

impl PageInfo {
    /// The fax coding scheme of a CCITT-compressed page; `None` for others. MR pages get
    /// the K factor T.4 recommends for their resolution (decoders do not need it).
    pub fn scheme(&self) -> Option<Scheme> {
        match self.compression {
            Compression::CcittRle => Some(Scheme::Mh),
            Compression::T4 if self.t4_options & T4_TWO_DIMENSIONAL != 0 => {
                Some(Scheme::mr_for_lpi(self.resolution.y_dpi))
            }
            Compression::T4 => Some(Scheme::Mh),
            Compression::T6 => Some(Scheme::Mmr),
            _ => None,
        }
    }

    /// A short lowercase name of the page's coding: `none`, `mh`, `mr`, `mmr`,
    /// `ccitt-rle`, `packbits`, or `compression-N` for others.
    pub fn coding_name(&self) -> Cow<'static, str> {
        match self.compression {
            Compression::Uncompressed => "none".into(),
            Compression::CcittRle => "ccitt-rle".into(),
            Compression::T4 if self.t4_options & T4_TWO_DIMENSIONAL != 0 => "mr".into(),
            Compression::T4 => "mh".into(),
            Compression::T6 => "mmr".into(),
            Compression::PackBits => "packbits".into(),
            Compression::Other(code) => format!("compression-{code}").into(),
        }
    }
}

const T4_TWO_DIMENSIONAL: u32 = 1 << 0;
const T4_UNCOMPRESSED: u32 = 1 << 1;
const T6_UNCOMPRESSED: u32 = 1 << 1;

/// Longest Software or DateTime text kept; the rest of a hostile string is dropped.
const MAX_TEXT: usize = 256;

/// A decoded page and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodedPage {
    /// The pixels, 1 = black whatever the file's photometric interpretation, tagged with
    /// the page's resolution.
    pub bitmap: Bitmap,
    /// Rows that could not be decoded. The codec repeats the row above in their place;
    /// rows with no data at all (a truncated strip) are white.
    pub bad_rows: u32,
    /// Longest run of consecutive bad rows. A run that crosses from one coded strip into
    /// the next is counted as two unless a whole strip is bad.
    pub longest_bad_run: u32,
}

/// A parsed TIFF file: the description of every page, and access to their data.
///
/// Parsing reads every directory and checks every strip against the file and the
/// [`Limits`], so a `Reader` that exists describes pages whose data is all present;
/// decoding a page can then only find damage inside the coded data.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    file: File<'a>,
    limits: Limits,
    pages: Vec<PageInfo>,
    strips: Vec<Vec<Range<usize>>>,
}

impl<'a> Reader<'a> {
    /// Parses a TIFF file with the default [`Limits`].
    pub fn new(data: &'a [u8]) -> Result<Reader<'a>, Error> {
        Reader::with_limits(data, Limits::default())
    }

    /// Parses a TIFF file.
    pub fn with_limits(data: &'a [u8], limits: Limits) -> Result<Reader<'a>, Error> {
        let (file, first) = File::parse_header(data)?;
        if first == 0 {
            return Err(Error::NoPages);
        }
        let mut pages = Vec::new();
        let mut strips = Vec::new();
        let mut seen = HashSet::new();
        let mut offset = first;
        let mut total_pixels = 0u64;
        while offset != 0 {
            let page = pages.len() + 1;
            if pages.len() >= limits.max_pages as usize {
                return Err(Error::TooManyPages {
                    max: limits.max_pages,
                });
            }
            if !seen.insert(offset) {
                return Err(Error::IfdLoop {
                    page: page - 1,
                    offset,
                });
            }
            let ifd = file.read_ifd(page, offset, limits.max_ifd_entries)?;
            let (info, page_strips) = parse_page(&file, &ifd, pages.len(), &limits)?;
            total_pixels += u64::from(info.width) * u64::from(info.height);
            if total_pixels > limits.max_total_pixels {
                return Err(Error::TooManyPixels {
                    page,
                    max: limits.max_total_pixels,
                });
            }
            pages.push(info);
            strips.push(page_strips);
            offset = ifd.next;
        }
        Ok(Reader {
            file,
            limits,
            pages,
            strips,
        })
    }

    /// Every page, in file order.
    pub fn pages(&self) -> &[PageInfo] {
        &self.pages
    }

    /// Number of pages (at least 1).
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// The limits the file was checked against.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether the file is big-endian ("MM").
    pub fn is_big_endian(&self) -> bool {
        self.file.order == crate::ifd::ByteOrder::Big
    }

    /// The coded strips of page `index` as stored (in the page's fill order), for
    /// passing coded data on without decoding it.
    pub fn strip_data(&self, index: usize) -> Result<Vec<&'a [u8]>, Error> {
        let ranges = self.strips.get(index).ok_or(Error::PageIndex {
            index,
            pages: self.pages.len(),
        })?;
        Ok(ranges
            .iter()
            .map(|r| self.file.data.get(r.clone()).unwrap_or(&[]))
            .collect())
    }

    /// Decodes page `index` (from 0). Damage in the coded data is reported in the
    /// result, not as an error, as long as at least one row decodes; a page of which no
    /// row decodes is an error.
    pub fn decode_page(&self, index: usize) -> Result<DecodedPage, Error> {
        let (info, ranges) =
            self.pages
                .get(index)
                .zip(self.strips.get(index))
                .ok_or(Error::PageIndex {
                    index,
                    pages: self.pages.len(),
                })?;
        let page = index + 1;
        let unsupported = |feature: String| Error::Unsupported { page, feature };
        match info.compression {
            Compression::T4 if info.t4_options & T4_UNCOMPRESSED != 0 => {
                return Err(unsupported(
                    "T.4 uncompressed mode (T4Options bit 1)".to_string(),
                ));
            }
            Compression::T6 if info.t6_options & T6_UNCOMPRESSED != 0 => {
                return Err(unsupported(
                    "T.6 uncompressed mode (T6Options bit 1)".to_string(),
                ));
            }
            Compression::Other(code) => {
                return Err(unsupported(format!(
                    "compression {code} (fax TIFFs use 1, 2, 3, 4 or 32773)"
                )));
            }
            _ => {}
        }
        let codec_error = |source| Error::Codec { page, source };
        let mut builder = PageBuilder::new(info).map_err(codec_error)?;
        let mut first_codec_error = None;
        for (strip_index, range) in ranges.iter().enumerate() {
            let first_row = (strip_index as u64) * u64::from(info.rows_per_strip);
            let rows = u64::from(info.height)
                .saturating_sub(first_row)
                .min(u64::from(info.rows_per_strip)) as u32;
            let stored = self.file.data.get(range.clone()).unwrap_or(&[]);
            // FillOrder describes the stored bytes whatever the compression, as libtiff
            // reads and writes it: reverse the raw strip, then decode.
            let data: Cow<[u8]> = match info.fill_order {
                FillOrder::MsbFirst => Cow::Borrowed(stored),
                FillOrder::LsbFirst => {
                    let mut owned = stored.to_vec();
                    fax_t4::bits::reverse_bits_in_place(&mut owned);
                    Cow::Owned(owned)
                }
            };
            let result = match info.compression {
                Compression::Uncompressed => builder.push_packed(&data, rows),
                Compression::PackBits => {
                    let unpacked = packbits::unpack(&data, rows as usize * builder.stride());
                    builder.push_packed(&unpacked, rows)
                }
                _ => builder.push_ccitt_strip(&data, rows, info),
            };
            if let Err(e) = result {
                first_codec_error.get_or_insert(e);
            }
        }
        if builder.good_rows == 0 {
            // A page of nothing but filler is no page; saying so beats handing on a
            // blank sheet as if it had been received.
            return Err(match first_codec_error {
                Some(source) => Error::Codec { page, source },
                None => Error::NoImageData { page },
            });
        }
        Ok(builder.finish(info.photometric))
    }
}

/// Assembles a page from strips, counting bad rows.
struct PageBuilder {
    bitmap: Bitmap,
    /// A row that comes out white once the photometric interpretation is applied.
    white: Vec<u8>,
    bad_rows: u32,
    good_rows: u32,
    longest_bad_run: u32,
    /// Bad rows at the bottom of what has been assembled so far.
    trailing_bad_run: u32,
}

impl PageBuilder {
    fn new(info: &PageInfo) -> Result<PageBuilder, fax_t4::Error> {
        let bitmap = Bitmap::with_width(info.width, info.resolution)?;
        Ok(PageBuilder {
            white: match info.photometric {
                Photometric::WhiteIsZero => vec![0; stride_for(info.width)],
                Photometric::BlackIsZero => vec![0xff; stride_for(info.width)],
            },
            bitmap,
            bad_rows: 0,
            good_rows: 0,
            longest_bad_run: 0,
            trailing_bad_run: 0,
        })
    }

    fn stride(&self) -> usize {
        self.white.len()
    }

    fn push_good(&mut self, row: &[u8]) -> Result<(), fax_t4::Error> {
        self.bitmap.push_row(row)?;
        self.good_rows += 1;
        self.trailing_bad_run = 0;
        Ok(())
    }

    /// `count` white rows that had no usable data.
    fn push_missing(&mut self, count: u32) -> Result<(), fax_t4::Error> {
        for _ in 0..count {
            self.bitmap.push_row(&self.white)?;
        }
        self.bad_rows += count;
        self.trailing_bad_run += count;
        self.longest_bad_run = self.longest_bad_run.max(self.trailing_bad_run);
        Ok(())
    }

    /// Rows stored packed, `stride` bytes each (uncompressed or unpacked PackBits).
    fn push_packed(&mut self, data: &[u8], rows: u32) -> Result<(), fax_t4::Error> {
        let stride = self.stride();
        let mut complete = data.chunks_exact(stride);
        let mut pushed = 0;
        for row in complete.by_ref().take(rows as usize) {
            self.push_good(row)?;
            pushed += 1;
        }
        self.push_missing(rows - pushed)
    }

    /// One strip of CCITT data (compression 2, 3 or 4), coded independently of the
    /// others.
    fn push_ccitt_strip(
        &mut self,
        data: &[u8],
        rows: u32,
        info: &PageInfo,
    ) -> Result<(), fax_t4::Error> {
        let scheme = info.scheme().unwrap_or(Scheme::Mh);
        let options = DecodeOptions {
            scheme,
            width: info.width,
            rows: Some(rows),
            // Compression 2 is MH without EOLs, each row starting on a byte boundary,
            // which is what the codec decodes when told there are no EOLs.
            eol: info.compression == Compression::T4,
            resolution: info.resolution,
            limits: DecodeLimits { max_rows: rows },
        };
        let decoded = match fax_t4::decode(data, &options) {
            Ok(decoded) => decoded,
            Err(e) => {
                self.push_missing(rows)?;
                return Err(e);
            }
        };
        let got = decoded.bitmap.height().min(rows);
        if decoded.bad_rows >= rows {
            // Nothing usable, but the codec found no error worth reporting.
            return self.push_missing(rows);
        }
        for row in decoded.bitmap.rows().take(got as usize) {
            self.bitmap.push_row(row)?;
        }
        let bad = decoded.bad_rows.min(got);
        self.bad_rows += bad;
        self.good_rows += got - bad;
        // The codec does not say where its bad rows are, so a run is not carried over
        // from one strip into the next (see DecodedPage::longest_bad_run).
        self.longest_bad_run = self.longest_bad_run.max(decoded.longest_bad_run.min(bad));
        self.trailing_bad_run = 0;
        self.push_missing(rows - got)
    }

    fn finish(mut self, photometric: Photometric) -> DecodedPage {
        if photometric == Photometric::BlackIsZero {
            self.bitmap.invert();
        }
        DecodedPage {
            bitmap: self.bitmap,
            bad_rows: self.bad_rows,
            longest_bad_run: self.longest_bad_run,
        }
    }
}

/// Reads one directory into a page description and the byte ranges of its strips.
fn parse_page(
    file: &File<'_>,
    ifd: &Ifd,
    index: usize,
    limits: &Limits,
) -> Result<(PageInfo, Vec<Range<usize>>), Error> {
    let page = index + 1;
    let uint = |tag: u16, default: Option<u32>| -> Result<u32, Error> {
        match (ifd.get(tag), default) {
            (Some(entry), _) => file.uint(page, entry, 0),
            (None, Some(value)) => Ok(value),
            (None, None) => Err(Error::MissingTag {
                page,
                tag: tags::name(tag),
            }),
        }
    };
    let optional = |tag: u16| -> Result<Option<u32>, Error> {
        ifd.get(tag).map(|e| file.uint(page, e, 0)).transpose()
    };
    let unsupported = |feature: String| Error::Unsupported { page, feature };

    if [
        tags::TILE_WIDTH,
        tags::TILE_LENGTH,
        tags::TILE_OFFSETS,
        tags::TILE_BYTE_COUNTS,
    ]
    .iter()
    .any(|&t| ifd.get(t).is_some())
    {
        return Err(unsupported(
            "tiled image (fax TIFFs are stored in strips)".to_string(),
        ));
    }

    let width = uint(tags::IMAGE_WIDTH, None)?;
    if width == 0 || width > limits.max_width {
        return Err(Error::Width {
            page,
            width,
            max: limits.max_width,
        });
    }
    let height = uint(tags::IMAGE_LENGTH, None)?;
    if height == 0 || height > limits.max_height {
        return Err(Error::Height {
            page,
            height,
            max: limits.max_height,
        });
    }

    let samples = uint(tags::SAMPLES_PER_PIXEL, Some(1))?;
    if samples != 1 {
        return Err(unsupported(format!(
            "{samples} samples per pixel (only bilevel images with 1 sample)"
        )));
    }
    if let Some(entry) = ifd.get(tags::BITS_PER_SAMPLE) {
        for i in 0..entry.count.min(8) {
            let bits = file.uint(page, entry, i)?;
            if bits != 1 {
                return Err(unsupported(format!(
                    "{bits} bits per sample (only bilevel images with 1 bit)"
                )));
            }
        }
    }

    let compression = Compression::from_code(u16_value(
        page,
        tags::COMPRESSION,
        uint(tags::COMPRESSION, Some(1))?,
    )?);
    let photometric = match optional(tags::PHOTOMETRIC)? {
        None | Some(0) => Photometric::WhiteIsZero,
        Some(1) => Photometric::BlackIsZero,
        Some(other) => {
            return Err(unsupported(format!(
                "photometric interpretation {other} (only 0 WhiteIsZero and 1 BlackIsZero)"
            )));
        }
    };
    let fill_order = match uint(tags::FILL_ORDER, Some(1))? {
        1 => FillOrder::MsbFirst,
        2 => FillOrder::LsbFirst,
        other => {
            return Err(Error::TagValue {
                page,
                tag: "FillOrder",
                value: u64::from(other),
                reason: "must be 1 or 2",
            });
        }
    };
    let t4_options = uint(tags::T4_OPTIONS, Some(0))?;
    let t6_options = uint(tags::T6_OPTIONS, Some(0))?;

    let rows_per_strip = uint(tags::ROWS_PER_STRIP, Some(u32::MAX))?;
    if rows_per_strip == 0 {
        return Err(Error::TagValue {
            page,
            tag: "RowsPerStrip",
            value: 0,
            reason: "must be at least 1",
        });
    }
    let rows_per_strip = rows_per_strip.min(height);
    let strip_count = height.div_ceil(rows_per_strip);
    let strips = read_strips(
        file,
        ifd,
        page,
        strip_count,
        rows_per_strip,
        height,
        width,
        compression,
        limits,
    )?;
    let encoded_bytes = strips.iter().map(|r| (r.end - r.start) as u64).sum();

    let resolution_unit = match uint(tags::RESOLUTION_UNIT, Some(2))? {
        1 => ResolutionUnit::None,
        2 => ResolutionUnit::Inch,
        3 => ResolutionUnit::Centimetre,
        other => {
            return Err(Error::TagValue {
                page,
                tag: "ResolutionUnit",
                value: u64::from(other),
                reason: "must be 1 (none), 2 (inch) or 3 (centimetre)",
            });
        }
    };
    let x_res = ifd
        .get(tags::X_RESOLUTION)
        .map(|e| file.rational(page, e))
        .transpose()?;
    let y_res = ifd
        .get(tags::Y_RESOLUTION)
        .map(|e| file.rational(page, e))
        .transpose()?;
    let (resolution, resolution_from_tags) = resolution_from(x_res, y_res, resolution_unit);

    let page_number = match ifd.get(tags::PAGE_NUMBER) {
        Some(entry) if entry.count >= 2 => Some((
            u16_value(page, tags::PAGE_NUMBER, file.uint(page, entry, 0)?)?,
            u16_value(page, tags::PAGE_NUMBER, file.uint(page, entry, 1)?)?,
        )),
        _ => None,
    };
    let clean_fax_data = optional(tags::CLEAN_FAX_DATA)?
        .map(|v| u16_value(page, tags::CLEAN_FAX_DATA, v))
        .transpose()?;
    let text = |tag: u16| -> Result<Option<String>, Error> {
        ifd.get(tag)
            .map(|e| file.ascii(page, e, MAX_TEXT))
            .transpose()
    };

    let info = PageInfo {
        index,
        width,
        height,
        resolution,
        resolution_from_tags,
        resolution_unit,
        compression,
        t4_options,
        t6_options,
        fill_order,
        photometric,
        page_number,
        new_subfile_type: uint(tags::NEW_SUBFILE_TYPE, Some(0))?,
        rows_per_strip,
        strips: strips.len(),
        encoded_bytes,
        bad_fax_lines: optional(tags::BAD_FAX_LINES)?,
        clean_fax_data,
        consecutive_bad_fax_lines: optional(tags::CONSECUTIVE_BAD_FAX_LINES)?,
        software: text(tags::SOFTWARE)?,
        image_description: text(tags::IMAGE_DESCRIPTION)?,
        date_time: text(tags::DATE_TIME)?,
    };
    Ok((info, strips))
}

fn u16_value(page: usize, tag: u16, value: u32) -> Result<u16, Error> {
    u16::try_from(value).map_err(|_| Error::TagValue {
        page,
        tag: tags::name(tag),
        value: u64::from(value),
        reason: "does not fit in 16 bits",
    })
}

/// The byte ranges of a page's strips, each checked to lie inside the file.
#[allow(clippy::too_many_arguments)]
fn read_strips(
    file: &File<'_>,
    ifd: &Ifd,
    page: usize,
    strip_count: u32,
    rows_per_strip: u32,
    height: u32,
    width: u32,
    compression: Compression,
    limits: &Limits,
) -> Result<Vec<Range<usize>>, Error> {
    let offsets = ifd.get(tags::STRIP_OFFSETS).ok_or(Error::MissingTag {
        page,
        tag: "StripOffsets",
    })?;
    let counts = ifd.get(tags::STRIP_BYTE_COUNTS);
    let too_few = |tag: &'static str, have: u32| Error::TagValue {
        page,
        tag,
        value: u64::from(have),
        reason: "has fewer entries than the image has strips",
    };
    if offsets.count < strip_count {
        return Err(too_few("StripOffsets", offsets.count));
    }
    match counts {
        Some(counts) if counts.count < strip_count => {
            return Err(too_few("StripByteCounts", counts.count));
        }
        // Early writers left StripByteCounts out of uncompressed images, where the size
        // follows from the dimensions; for coded data it cannot be guessed.
        None if compression != Compression::Uncompressed => {
            return Err(Error::MissingTag {
                page,
                tag: "StripByteCounts",
            });
        }
        _ => {}
    }
    let stride = stride_for(width) as u64;
    // strip_count <= height <= max_height, so this allocation is bounded by the limits.
    let mut strips = Vec::with_capacity(strip_count as usize);
    let mut total: u64 = 0;
    for i in 0..strip_count {
        let offset = u64::from(file.uint(page, offsets, i)?);
        let len = match counts {
            Some(counts) => u64::from(file.uint(page, counts, i)?),
            None => {
                let rows = u64::from(height - i * rows_per_strip).min(u64::from(rows_per_strip));
                rows * stride
            }
        };
        // Checked to lie inside the file, so both ends fit in usize.
        file.slice(page, "strip", offset, len)?;
        total += len;
        // Strips that add up to more than the file must share bytes; no writer does
        // that, and it would let a small file make the decoder work on far more data.
        if total > file.len() {
            return Err(Error::TagValue {
                page,
                tag: "StripByteCounts",
                value: total,
                reason: "the strips add up to more bytes than the file holds",
            });
        }
        if total > limits.max_page_bytes {
            return Err(Error::PageTooLarge {
                page,
                bytes: total,
                max: limits.max_page_bytes,
            });
        }
        strips.push(offset as usize..(offset + len) as usize);
    }
    Ok(strips)
}

/// Fax resolutions a centimetre value is snapped to when it rounds near one.
const FAX_DPI: [u16; 5] = [98, 196, 204, 391, 408];

fn resolution_from(
    x: Option<(u32, u32)>,
    y: Option<(u32, u32)>,
    unit: ResolutionUnit,
) -> (Resolution, bool) {
    let ratio = |r: Option<(u32, u32)>| {
        r.and_then(|(num, den)| (num != 0 && den != 0).then(|| f64::from(num) / f64::from(den)))
    };
    let (x, y) = (ratio(x), ratio(y));
    let to_dpi = |value: f64| -> Option<u16> {
        let dpi = match unit {
            ResolutionUnit::Inch => value,
            ResolutionUnit::Centimetre => value * 2.54,
            ResolutionUnit::None => return None,
        };
        let rounded = dpi.round();
        if !(1.0..=f64::from(u16::MAX)).contains(&rounded) {
            return None;
        }
        let rounded = rounded as u16;
        if unit == ResolutionUnit::Centimetre {
            // 80 pels/cm is 203.2 dpi; fax software and T.30 call it 204.
            if let Some(&fax) = FAX_DPI
                .iter()
                .find(|&&f| (dpi - f64::from(f)).abs() <= f64::from(f) * 0.015)
            {
                return Some(fax);
            }
        }
        Some(rounded)
    };
    if let (Some(x_dpi), Some(y_dpi)) = (x.and_then(to_dpi), y.and_then(to_dpi)) {
        return (Resolution { x_dpi, y_dpi }, true);
    }
    // No usable absolute resolution: a fax page is 8 pels/mm across, and a unitless
    // aspect ratio tells standard from fine. Unusable values in inches or centimetres
    // say nothing, so fine resolution, the most common, is assumed.
    let standard =
        unit == ResolutionUnit::None && matches!((x, y), (Some(x), Some(y)) if y / x < 0.75);
    let guess = if standard {
        Resolution::STANDARD
    } else {
        Resolution::FINE
    };
    (guess, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centimetre_resolutions_snap_to_fax_values() {
        let cm = ResolutionUnit::Centimetre;
        assert_eq!(
            resolution_from(Some((80, 1)), Some((77, 1)), cm),
            (Resolution::FINE, true)
        );
        assert_eq!(
            resolution_from(Some((80, 1)), Some((385, 10)), cm),
            (Resolution::STANDARD, true)
        );
        assert_eq!(
            resolution_from(Some((160, 1)), Some((154, 1)), cm),
            (Resolution::ULTRAFINE, true)
        );
        assert_eq!(
            resolution_from(Some((300, 1)), Some((300, 1)), ResolutionUnit::Inch),
            (
                Resolution {
                    x_dpi: 300,
                    y_dpi: 300
                },
                true
            )
        );
    }

    #[test]
    fn missing_or_unitless_resolution_is_assumed() {
        assert_eq!(
            resolution_from(None, None, ResolutionUnit::Inch),
            (Resolution::FINE, false)
        );
        assert_eq!(
            resolution_from(Some((2, 1)), Some((1, 1)), ResolutionUnit::None),
            (Resolution::STANDARD, false)
        );
        assert_eq!(
            resolution_from(Some((1, 0)), Some((0, 1)), ResolutionUnit::Inch),
            (Resolution::FINE, false)
        );
        assert_eq!(
            resolution_from(Some((u32::MAX, 1)), Some((196, 1)), ResolutionUnit::Inch),
            (Resolution::FINE, false)
        );
    }
}
