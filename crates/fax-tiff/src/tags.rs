//! Tag numbers and field types of TIFF 6.0 and its Class F (fax) extension.

pub(crate) const NEW_SUBFILE_TYPE: u16 = 0x00fe; // 254
pub(crate) const IMAGE_WIDTH: u16 = 0x0100; // 256
pub(crate) const IMAGE_LENGTH: u16 = 0x0101; // 257
pub(crate) const BITS_PER_SAMPLE: u16 = 0x0102; // 258
pub(crate) const COMPRESSION: u16 = 0x0103; // 259
pub(crate) const PHOTOMETRIC: u16 = 0x0106; // 262
pub(crate) const FILL_ORDER: u16 = 0x010a; // 266
pub(crate) const IMAGE_DESCRIPTION: u16 = 0x010e; // 270
pub(crate) const STRIP_OFFSETS: u16 = 0x0111; // 273
pub(crate) const SAMPLES_PER_PIXEL: u16 = 0x0115; // 277
pub(crate) const ROWS_PER_STRIP: u16 = 0x0116; // 278
pub(crate) const STRIP_BYTE_COUNTS: u16 = 0x0117; // 279
pub(crate) const X_RESOLUTION: u16 = 0x011a; // 282
pub(crate) const Y_RESOLUTION: u16 = 0x011b; // 283
pub(crate) const T4_OPTIONS: u16 = 0x0124; // 292
pub(crate) const T6_OPTIONS: u16 = 0x0125; // 293
pub(crate) const RESOLUTION_UNIT: u16 = 0x0128; // 296
pub(crate) const PAGE_NUMBER: u16 = 0x0129; // 297
pub(crate) const SOFTWARE: u16 = 0x0131; // 305
pub(crate) const DATE_TIME: u16 = 0x0132; // 306
pub(crate) const TILE_WIDTH: u16 = 0x0142; // 322
pub(crate) const TILE_LENGTH: u16 = 0x0143; // 323
pub(crate) const TILE_OFFSETS: u16 = 0x0144; // 324
pub(crate) const TILE_BYTE_COUNTS: u16 = 0x0145; // 325
pub(crate) const BAD_FAX_LINES: u16 = 0x0146; // 326
pub(crate) const CLEAN_FAX_DATA: u16 = 0x0147; // 327
pub(crate) const CONSECUTIVE_BAD_FAX_LINES: u16 = 0x0148; // 328

/// The name the TIFF specification gives a tag, for error messages.
pub(crate) fn name(tag: u16) -> &'static str {
    match tag {
        NEW_SUBFILE_TYPE => "NewSubfileType",
        IMAGE_WIDTH => "ImageWidth",
        IMAGE_LENGTH => "ImageLength",
        BITS_PER_SAMPLE => "BitsPerSample",
        COMPRESSION => "Compression",
        PHOTOMETRIC => "PhotometricInterpretation",
        FILL_ORDER => "FillOrder",
        STRIP_OFFSETS => "StripOffsets",
        SAMPLES_PER_PIXEL => "SamplesPerPixel",
        ROWS_PER_STRIP => "RowsPerStrip",
        STRIP_BYTE_COUNTS => "StripByteCounts",
        X_RESOLUTION => "XResolution",
        Y_RESOLUTION => "YResolution",
        T4_OPTIONS => "T4Options",
        T6_OPTIONS => "T6Options",
        RESOLUTION_UNIT => "ResolutionUnit",
        PAGE_NUMBER => "PageNumber",
        IMAGE_DESCRIPTION => "ImageDescription",
        SOFTWARE => "Software",
        DATE_TIME => "DateTime",
        TILE_WIDTH => "TileWidth",
        TILE_LENGTH => "TileLength",
        TILE_OFFSETS => "TileOffsets",
        TILE_BYTE_COUNTS => "TileByteCounts",
        BAD_FAX_LINES => "BadFaxLines",
        CLEAN_FAX_DATA => "CleanFaxData",
        CONSECUTIVE_BAD_FAX_LINES => "ConsecutiveBadFaxLines",
        _ => "(unknown tag)",
    }
}

/// The field types (TIFF 6.0 section 2) this crate reads or writes; directory entries
/// of other types are only looked at when a tag needs them, and then refused.
pub(crate) mod field {
    pub(crate) const BYTE: u16 = 1;
    pub(crate) const ASCII: u16 = 2;
    pub(crate) const SHORT: u16 = 3;
    pub(crate) const LONG: u16 = 4;
    pub(crate) const RATIONAL: u16 = 5;
}
