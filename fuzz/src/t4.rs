//! How the fax-t4 fuzz targets read their input, and what they check.
//!
//! Shared by the cargo-fuzz targets and by the replay tests in `crates/fax-t4/tests`
//! (which include this file by path), so a saved input means the same thing in both.
//! Depends on `fax_t4` and `std` only.

use fax_t4::bitmap::{MAX_WIDTH, stride_for, widths};
use fax_t4::{
    Bitmap, DecodeLimits, DecodeOptions, EncodeOptions, Encoder, Error, KFactor, PageEnd,
    Resolution, Scheme,
};

/// Bytes at the start of a decoder input that choose the options; the rest is coded data.
///
/// | byte | meaning |
/// |---|---|
/// | 0-1 | width selector, little endian (see [`width_from_selector`]) |
/// | 2 | flags: bit 0 EOLs, bit 1 row count given, bit 2 small row limit, bits 4-5 resolution |
/// | 3-4 | row count, little endian (used when flag bit 1 is set) |
/// | 5 | row limit (used when flag bit 2 is set; else the default limit) |
pub const DECODE_HEADER_LEN: usize = 6;

const FLAG_EOL: u8 = 0x01;
const FLAG_ROWS: u8 = 0x02;
const FLAG_SMALL_LIMIT: u8 = 0x04;

const STANDARD_WIDTHS: [u32; 6] = [
    widths::A4,
    widths::B4,
    widths::A3,
    widths::A4_408,
    widths::B4_408,
    widths::A3_408,
];

const RESOLUTIONS: [Resolution; 4] = [
    Resolution::FINE,
    Resolution::STANDARD,
    Resolution::SUPERFINE,
    Resolution::ULTRAFINE,
];

/// Every scheme and K the encoder offers.
pub const ALL_SCHEMES: [Scheme; 5] = [
    Scheme::Mh,
    Scheme::Mr { k: KFactor::K2 },
    Scheme::Mr { k: KFactor::K4 },
    Scheme::Mr {
        k: KFactor::Unlimited,
    },
    Scheme::Mmr,
];

/// The three decoders, in the order of the fuzz targets.
pub const DECODE_SCHEMES: [Scheme; 3] = [Scheme::Mh, Scheme::Mr { k: KFactor::K4 }, Scheme::Mmr];

/// Low two bits 0: a T.4 page width (index in the upper bits); 1 or 2: any width up to
/// A3; 3: anything from 0 to ~64 K in steps of 4, mostly invalid widths that must be
/// refused.
pub fn width_from_selector(selector: u16) -> u32 {
    let high = u32::from(selector >> 2);
    match selector & 3 {
        0 => STANDARD_WIDTHS[high as usize % STANDARD_WIDTHS.len()],
        1 | 2 => 1 + high % widths::A3,
        _ => high * 4,
    }
}

/// A decoder run chosen by a fuzz input.
#[derive(Debug, Clone, Copy)]
pub struct DecodeCase<'a> {
    /// Options built from the header.
    pub options: DecodeOptions,
    /// The coded data after the header.
    pub data: &'a [u8],
}

impl<'a> DecodeCase<'a> {
    /// Reads the header of `input` (missing header bytes count as zero).
    pub fn from_input(scheme: Scheme, input: &'a [u8]) -> DecodeCase<'a> {
        let mut header = [0u8; DECODE_HEADER_LEN];
        let n = input.len().min(DECODE_HEADER_LEN);
        header[..n].copy_from_slice(&input[..n]);
        let flags = header[2];
        let limits = if flags & FLAG_SMALL_LIMIT != 0 {
            DecodeLimits {
                max_rows: u32::from(header[5]),
            }
        } else {
            DecodeLimits::default()
        };
        let options = DecodeOptions {
            scheme,
            width: width_from_selector(u16::from_le_bytes([header[0], header[1]])),
            rows: (flags & FLAG_ROWS != 0)
                .then(|| u32::from(u16::from_le_bytes([header[3], header[4]]))),
            eol: flags & FLAG_EOL != 0,
            resolution: RESOLUTIONS[usize::from(flags >> 4) & 3],
            limits,
        };
        DecodeCase {
            options,
            data: &input[n..],
        }
    }
}

/// The header that makes [`DecodeCase::from_input`] decode A4-wide data, with EOLs when
/// `eol`, and `rows` rows when given. For building seed inputs.
pub fn decode_header(eol: bool, rows: Option<u16>) -> [u8; DECODE_HEADER_LEN] {
    let mut flags = 0;
    if eol {
        flags |= FLAG_EOL;
    }
    if rows.is_some() {
        flags |= FLAG_ROWS;
    }
    let [r0, r1] = rows.unwrap_or(0).to_le_bytes();
    // Selector 0 is the first standard width, A4.
    [0, 0, flags, r0, r1, 0]
}

/// Decodes `input` as the decode targets do and checks the result: no panic (the caller
/// notices that), the width asked for, no more rows than the limits allow, consistent
/// damage counts. Panics on a violation.
pub fn check_decode(scheme: Scheme, input: &[u8]) {
    let case = DecodeCase::from_input(scheme, input);
    let options = case.options;
    let width_ok = (1..=MAX_WIDTH).contains(&options.width);
    let page = match fax_t4::decode(case.data, &options) {
        Ok(page) => page,
        Err(Error::BadWidth { .. }) => {
            assert!(!width_ok, "width {} refused", options.width);
            return;
        }
        Err(_) => {
            assert!(width_ok, "width {} not refused as such", options.width);
            return;
        }
    };
    assert!(width_ok, "width {} accepted", options.width);
    let bitmap = &page.bitmap;
    assert_eq!(bitmap.width(), options.width);
    assert_eq!(bitmap.resolution(), options.resolution);
    let max_rows = options.limits.max_rows;
    assert!(
        bitmap.height() <= max_rows,
        "{} rows over the limit of {max_rows}",
        bitmap.height()
    );
    if let Some(rows) = options.rows {
        assert!(
            bitmap.height() <= rows,
            "{} rows, asked for {rows}",
            bitmap.height()
        );
        if rows <= max_rows {
            assert_eq!(bitmap.height(), rows, "row count not honoured");
        }
    }
    assert_eq!(
        bitmap.packed().len(),
        bitmap.stride() * bitmap.height() as usize
    );
    assert!(page.bad_rows <= bitmap.height());
    assert!(page.longest_bad_run <= page.bad_rows);
    match page.end {
        PageEnd::Rtc => assert_ne!(scheme, Scheme::Mmr, "RTC in MMR data"),
        PageEnd::Eofb => assert_eq!(scheme, Scheme::Mmr, "EOFB in T.4 data"),
        PageEnd::RowCount => assert!(options.rows.is_some(), "row count reached, none given"),
        PageEnd::RowLimit => assert_eq!(bitmap.height(), max_rows),
        PageEnd::EndOfData | PageEnd::Damaged => {}
    }
    let pad = !last_byte_mask(bitmap.width());
    assert!(
        bitmap.rows().all(|row| row[row.len() - 1] & pad == 0),
        "pixels set past the width"
    );
}

fn last_byte_mask(width: u32) -> u8 {
    match width % 8 {
        0 => 0xff,
        r => 0xffu8 << (8 - r),
    }
}

/// Bytes at the start of a round-trip input that choose the page; the rest is pixels.
///
/// | byte | meaning |
/// |---|---|
/// | 0-1 | width selector, little endian: even = 1..=128 pixels, odd = 1..=A3 |
/// | 2 | height - 1, modulo [`ROUNDTRIP_MAX_HEIGHT`] |
/// | 3 | minimum bits per line / 16 for the padded option sets |
pub const ROUNDTRIP_HEADER_LEN: usize = 4;

/// Tallest page a round-trip input makes; keeps one run to a few milliseconds.
pub const ROUNDTRIP_MAX_HEIGHT: u32 = 48;

/// The page and line padding a round-trip input asks for.
#[derive(Debug, Clone)]
pub struct RoundtripCase {
    /// The page to code.
    pub bitmap: Bitmap,
    /// `min_bits_per_line` for the option sets that pad.
    pub min_bits_per_line: u32,
}

impl RoundtripCase {
    /// Builds the page from `input`; pixels the input does not cover are white.
    pub fn from_input(input: &[u8]) -> RoundtripCase {
        let mut header = [0u8; ROUNDTRIP_HEADER_LEN];
        let n = input.len().min(ROUNDTRIP_HEADER_LEN);
        header[..n].copy_from_slice(&input[..n]);
        let selector = u32::from(u16::from_le_bytes([header[0], header[1]]));
        let width = if selector & 1 == 0 {
            1 + (selector >> 1) % 128
        } else {
            1 + (selector >> 1) % widths::A3
        };
        let height = 1 + u32::from(header[2]) % ROUNDTRIP_MAX_HEIGHT;
        let mut pixels = vec![0u8; stride_for(width) * height as usize];
        let body = &input[n..];
        let take = body.len().min(pixels.len());
        pixels[..take].copy_from_slice(&body[..take]);
        let bitmap = Bitmap::from_packed(width, height, Resolution::FINE, pixels)
            .expect("width and length are valid by construction");
        RoundtripCase {
            bitmap,
            min_bits_per_line: u32::from(header[3]) * 16,
        }
    }

    /// A round-trip input that makes `bitmap` (at most [`ROUNDTRIP_MAX_HEIGHT`] rows, at
    /// most A3 wide). For building seed inputs.
    pub fn input_for(bitmap: &Bitmap, min_bits_per_line: u32) -> Vec<u8> {
        let selector = ((bitmap.width() - 1) << 1 | 1) as u16;
        let mut input = selector.to_le_bytes().to_vec();
        input.push((bitmap.height() - 1) as u8);
        input.push((min_bits_per_line / 16).min(255) as u8);
        input.extend_from_slice(bitmap.packed());
        input
    }
}

/// The option sets a scheme is round-tripped with.
pub fn option_sets(scheme: Scheme, min_bits_per_line: u32) -> Vec<EncodeOptions> {
    let tiff = EncodeOptions::tiff(scheme);
    if scheme == Scheme::Mmr {
        return vec![
            tiff,
            EncodeOptions {
                end_of_page: false,
                ..tiff
            },
        ];
    }
    let mut sets = vec![
        tiff,
        EncodeOptions::line(scheme, min_bits_per_line),
        EncodeOptions {
            byte_align_eol: true,
            end_of_page: true,
            ..tiff
        },
        EncodeOptions {
            byte_align_eol: true,
            min_bits_per_line,
            ..tiff
        },
    ];
    if scheme == Scheme::Mh {
        // TIFF Compression=2 style: no EOLs at all (MR needs EOLs for its tag bit).
        sets.push(EncodeOptions { eol: false, ..tiff });
    }
    sets
}

/// Codes the page of `input` with every scheme and option set, checks that the streaming
/// encoder agrees with the one-shot encoder, decodes, and checks the pixels come back
/// unchanged with no bad rows. Panics on a violation.
pub fn check_roundtrip(input: &[u8]) {
    let case = RoundtripCase::from_input(input);
    let bitmap = &case.bitmap;
    for scheme in ALL_SCHEMES {
        for options in option_sets(scheme, case.min_bits_per_line) {
            let coded = fax_t4::encode(bitmap, &options);

            let mut encoder = Encoder::new(bitmap.width(), options).expect("valid width");
            for row in bitmap.rows() {
                encoder.encode_row(row).expect("row of the right length");
            }
            assert_eq!(encoder.rows(), bitmap.height());
            assert!(
                encoder.finish() == coded,
                "{options:?}: streaming and one-shot encoders differ"
            );

            let mut decode_options = DecodeOptions::new(scheme, bitmap.width());
            decode_options.eol = options.eol && scheme != Scheme::Mmr;
            decode_options.resolution = bitmap.resolution();
            let mut row_counts = vec![Some(bitmap.height())];
            if options.end_of_page {
                row_counts.push(None);
            }
            for rows in row_counts {
                decode_options.rows = rows;
                let page = match fax_t4::decode(&coded, &decode_options) {
                    Ok(page) => page,
                    Err(e) => panic!("{options:?}, rows {rows:?}: {e}"),
                };
                assert_eq!(page.bad_rows, 0, "{options:?}, rows {rows:?}: bad rows");
                assert!(
                    page.bitmap == *bitmap,
                    "{options:?}, rows {rows:?}: pixels differ ({} rows back)",
                    page.bitmap.height()
                );
                if rows.is_none() {
                    let end = if scheme == Scheme::Mmr {
                        PageEnd::Eofb
                    } else {
                        PageEnd::Rtc
                    };
                    assert_eq!(page.end, end, "{options:?}: wrong page end");
                }
            }
        }
    }
}
