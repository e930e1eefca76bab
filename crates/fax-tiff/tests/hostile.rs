//! Malformed and hostile files: every one is refused with a clear error, or decoded with
//! its damage reported, before anything large is allocated, and nothing panics.

mod common;

use common::{Order, PageSpec, bilevel_entries, build, chart, read, testdata};
use fax_t4::{Bitmap, Resolution, Scheme};
use fax_tiff::{Error, Limits, PageEncoding, Reader, WriteOptions};

/// A one-page file of a 16x2 uncompressed image with the given extra or replacing
/// entries.
fn small_page(order: Order, replace: Vec<common::Entry>) -> Vec<u8> {
    let mut entries = bilevel_entries(order, 16, 2, 1);
    for e in replace {
        entries.retain(|old| old.tag != e.tag);
        entries.push(e);
    }
    build(
        order,
        vec![PageSpec {
            entries,
            strips: vec![vec![0xff, 0x00, 0x0f, 0xf0]],
        }],
    )
}

#[test]
fn a_hand_built_page_reads_in_both_byte_orders() {
    for order in [Order::Little, Order::Big] {
        let file = small_page(order, vec![]);
        let reader = Reader::new(&file).expect("valid file");
        assert_eq!(reader.is_big_endian(), order == Order::Big);
        let page = reader.decode_page(0).expect("decodes");
        assert_eq!(page.bitmap.packed(), &[0xff, 0x00, 0x0f, 0xf0]);
    }
}

#[test]
fn non_tiff_and_zero_size_inputs_are_not_tiff() {
    for data in [
        &b""[..],
        b"I",
        b"II",
        b"II*\0",
        b"II*\0\x08\0\0",
        b"MM\0*",
        b"hello, world",
        b"P4\n1728 2376\n",
    ] {
        let result = Reader::new(data);
        assert!(
            matches!(result, Err(Error::NotTiff { .. })),
            "{data:?}: {result:?}"
        );
    }
    assert_eq!(
        Reader::new(b"II\x2b\x00\x08\x00\x00\x00").err(),
        Some(Error::BigTiff)
    );
    assert_eq!(
        Reader::new(b"MM\x00\x2b\x00\x08\x00\x00").err(),
        Some(Error::BigTiff)
    );
    assert_eq!(
        Reader::new(b"II\x2a\x00\x00\x00\x00\x00").err(),
        Some(Error::NoPages)
    );
}

#[test]
fn huge_or_zero_dimensions_are_refused_before_allocating() {
    let o = Order::Little;
    for (width, height) in [(1_000_000_000, 2), (0, 2), (8193, 2)] {
        let file = small_page(o, vec![o.long(256, width), o.long(257, height)]);
        assert!(
            matches!(Reader::new(&file), Err(Error::Width { page: 1, .. })),
            "{width}x{height}"
        );
    }
    for height in [1_000_000_000, 0, 20_001] {
        let file = small_page(o, vec![o.long(257, height)]);
        assert!(
            matches!(Reader::new(&file), Err(Error::Height { page: 1, .. })),
            "height {height}"
        );
    }
    let mut limits = Limits::default();
    limits.max_width = 8;
    let file = small_page(o, vec![]);
    assert!(matches!(
        Reader::with_limits(&file, limits),
        Err(Error::Width { max: 8, .. })
    ));
}

#[test]
fn too_many_pages_are_refused() {
    let o = Order::Little;
    let pages = |n: usize| {
        build(
            o,
            (0..n)
                .map(|_| PageSpec {
                    entries: bilevel_entries(o, 16, 2, 1),
                    strips: vec![vec![0; 4]],
                })
                .collect(),
        )
    };
    let file = pages(1001);
    assert_eq!(
        Reader::new(&file).err(),
        Some(Error::TooManyPages { max: 1000 })
    );
    let file = pages(6);
    assert_eq!(Reader::new(&file).map(|r| r.page_count()), Ok(6));
    let mut limits = Limits::default();
    limits.max_pages = 5;
    assert_eq!(
        Reader::with_limits(&file, limits).err(),
        Some(Error::TooManyPages { max: 5 })
    );
}

#[test]
fn too_many_pixels_across_pages_are_refused() {
    let o = Order::Little;
    // Eight pages of 16 x 2 = 32 pixels each: 256 in all.
    let file = build(
        o,
        (0..8)
            .map(|_| PageSpec {
                entries: bilevel_entries(o, 16, 2, 1),
                strips: vec![vec![0; 4]],
            })
            .collect(),
    );
    let mut limits = Limits::default();
    limits.max_total_pixels = 256;
    assert_eq!(
        Reader::with_limits(&file, limits).map(|r| r.page_count()),
        Ok(8)
    );
    limits.max_total_pixels = 255;
    assert_eq!(
        Reader::with_limits(&file, limits).err(),
        Some(Error::TooManyPixels { page: 8, max: 255 })
    );
}

#[test]
fn a_directory_claiming_too_many_entries_is_refused() {
    // Entry count 0xffff at the first directory.
    let mut file = small_page(Order::Little, vec![]);
    let ifd = u32::from_le_bytes([file[4], file[5], file[6], file[7]]) as usize;
    file[ifd..ifd + 2].copy_from_slice(&0xffffu16.to_le_bytes());
    assert_eq!(
        Reader::new(&file).err(),
        Some(Error::TooManyEntries {
            page: 1,
            entries: 0xffff,
            max: 512
        })
    );
}

/// Sets the next-directory pointer of the last directory of a one-page file.
fn with_next_pointer(mut file: Vec<u8>, next: impl Fn(u32) -> u32) -> Vec<u8> {
    let ifd = u32::from_le_bytes([file[4], file[5], file[6], file[7]]) as usize;
    let count = u16::from_le_bytes([file[ifd], file[ifd + 1]]) as usize;
    let at = ifd + 2 + 12 * count;
    file[at..at + 4].copy_from_slice(&next(ifd as u32).to_le_bytes());
    file
}

#[test]
fn directory_loops_are_detected() {
    let file = with_next_pointer(small_page(Order::Little, vec![]), |own| own);
    assert!(matches!(
        Reader::new(&file),
        Err(Error::IfdLoop { page: 1, .. })
    ));

    // A longer loop: page 3 points back to page 2.
    let o = Order::Little;
    let mut file = build(
        o,
        (0..3)
            .map(|_| PageSpec {
                entries: bilevel_entries(o, 16, 2, 1),
                strips: vec![vec![0; 4]],
            })
            .collect(),
    );
    let first = u32::from_le_bytes([file[4], file[5], file[6], file[7]]) as usize;
    let next_of = |file: &[u8], ifd: usize| {
        let count = u16::from_le_bytes([file[ifd], file[ifd + 1]]) as usize;
        let at = ifd + 2 + 12 * count;
        (
            at,
            u32::from_le_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]),
        )
    };
    let (_, second) = next_of(&file, first);
    let (_, third) = next_of(&file, second as usize);
    let (at, _) = next_of(&file, third as usize);
    file[at..at + 4].copy_from_slice(&second.to_le_bytes());
    assert_eq!(
        Reader::new(&file).err(),
        Some(Error::IfdLoop {
            page: 3,
            offset: second
        })
    );
}

#[test]
fn pointers_past_the_end_are_refused() {
    let next_past_end = with_next_pointer(small_page(Order::Little, vec![]), |_| 0x7fff_fff0);
    assert!(matches!(
        Reader::new(&next_past_end),
        Err(Error::OutOfBounds { page: 2, .. })
    ));
    let o = Order::Little;
    let strip_past_end = small_page(o, vec![o.longs(273, &[1_000_000])]);
    assert!(matches!(
        Reader::new(&strip_past_end),
        Err(Error::OutOfBounds { what: "strip", .. })
    ));
    let count_past_end = small_page(o, vec![o.longs(279, &[u32::MAX])]);
    assert!(matches!(
        Reader::new(&count_past_end),
        Err(Error::OutOfBounds { what: "strip", .. })
    ));
    // A StripOffsets array whose values lie past the end.
    let array_past_end = small_page(
        o,
        vec![common::Entry {
            tag: 273,
            field_type: 4,
            count: 1_000_000,
            value: o.u32(0x10).to_vec(),
        }],
    );
    assert!(matches!(
        Reader::new(&array_past_end),
        Err(Error::OutOfBounds { .. })
    ));
    // Ten strips of two rows each, all pointing at the whole file.
    let mut entries = bilevel_entries(o, 16, 20, 1);
    entries.retain(|e| e.tag != 278);
    entries.push(o.long(278, 2));
    entries.push(o.longs(273, &[0; 10]));
    entries.push(o.longs(279, &[100; 10]));
    let overlapping = build(
        o,
        vec![PageSpec {
            entries,
            strips: vec![vec![0; 4]],
        }],
    );
    assert!(matches!(
        Reader::new(&overlapping),
        Err(Error::TagValue {
            tag: "StripByteCounts",
            ..
        })
    ));
    let first_ifd_past_end = b"II\x2a\x00\xff\xff\x00\x00";
    assert!(matches!(
        Reader::new(first_ifd_past_end),
        Err(Error::OutOfBounds { page: 1, .. })
    ));
    let mut limits = Limits::default();
    limits.max_page_bytes = 3;
    assert!(matches!(
        Reader::with_limits(&small_page(o, vec![]), limits),
        Err(Error::PageTooLarge { bytes: 4, .. })
    ));
}

#[test]
fn every_truncation_of_a_real_file_is_an_error_not_a_panic() {
    for file in ["ccitt/ccitt1_g4.tif", "ccitt/ccitt1-8_mh_classf.tif"] {
        let data = read(&testdata(file));
        for len in (0..data.len()).step_by(89) {
            let result = Reader::new(&data[..len]);
            assert!(result.is_err(), "{file} cut at {len} parsed");
        }
    }
}

#[test]
fn features_a_fax_reader_does_not_handle_are_named() {
    let o = Order::Little;
    let cases: Vec<(Vec<common::Entry>, &str)> = vec![
        (vec![o.long(322, 16), o.long(323, 16)], "tiled"),
        (vec![o.short(258, 8)], "8 bits per sample"),
        (vec![o.short(277, 3)], "3 samples per pixel"),
        (vec![o.short(262, 2)], "photometric interpretation 2"),
    ];
    for (entries, expected) in cases {
        match Reader::new(&small_page(o, entries)) {
            Err(e @ Error::Unsupported { .. }) => {
                assert!(e.to_string().contains(expected), "{e} lacks {expected:?}")
            }
            other => panic!("expected unsupported {expected}: {other:?}"),
        }
    }
    // Parsed (so `info` can show them), refused when decoding.
    for (entries, expected) in [
        (vec![o.short(259, 5)], "compression 5"),
        (vec![o.short(259, 3), o.long(292, 2)], "uncompressed mode"),
        (vec![o.short(259, 4), o.long(293, 2)], "uncompressed mode"),
    ] {
        let file = small_page(o, entries);
        let reader = Reader::new(&file).expect("parses");
        match reader.decode_page(0) {
            Err(e @ Error::Unsupported { .. }) => {
                assert!(e.to_string().contains(expected), "{e} lacks {expected:?}")
            }
            other => panic!("expected unsupported {expected}: {other:?}"),
        }
    }
    assert_eq!(
        Reader::new(&small_page(o, vec![]))
            .expect("valid")
            .decode_page(1)
            .err(),
        Some(Error::PageIndex { index: 1, pages: 1 })
    );
}

#[test]
fn invalid_tag_values_and_types_are_named() {
    let o = Order::Little;
    let ascii_width = common::Entry {
        tag: 256,
        field_type: 2,
        count: 4,
        value: b"16\0\0".to_vec(),
    };
    assert!(matches!(
        Reader::new(&small_page(o, vec![ascii_width])),
        Err(Error::TagType {
            tag: "ImageWidth",
            field_type: 2,
            ..
        })
    ));
    for (entry, tag) in [
        (o.long(278, 0), "RowsPerStrip"),
        (o.short(266, 3), "FillOrder"),
        (o.short(296, 9), "ResolutionUnit"),
        // Two rows in strips of one need two offsets.
        (o.long(278, 1), "StripOffsets"),
    ] {
        let file = small_page(o, vec![entry]);
        let result = Reader::new(&file);
        assert!(
            matches!(result, Err(Error::TagValue { tag: t, .. }) if t == tag),
            "{tag}: {result:?}"
        );
    }
    let mut entries = bilevel_entries(o, 16, 2, 1);
    entries.retain(|e| e.tag != 256);
    let no_width = build(
        o,
        vec![PageSpec {
            entries,
            strips: vec![vec![0; 4]],
        }],
    );
    assert_eq!(
        Reader::new(&no_width).err(),
        Some(Error::MissingTag {
            page: 1,
            tag: "ImageWidth"
        })
    );
}

#[test]
fn damaged_coded_data_keeps_the_good_rows() {
    let page = chart(1);
    for scheme in [Scheme::Mh, Scheme::Mmr] {
        let options = WriteOptions {
            fill_order: fax_tiff::FillOrder::MsbFirst,
            ..WriteOptions::default()
        };
        let mut file = fax_tiff::write(
            std::slice::from_ref(&page),
            PageEncoding::Ccitt(scheme),
            &options,
        )
        .expect("writable");
        // The strip starts at offset 8; garble a stretch in its middle.
        let middle = 8 + Reader::new(&file).expect("parses").pages()[0].encoded_bytes as usize / 2;
        for b in &mut file[middle..middle + 40] {
            *b = 0x55;
        }
        let reader = Reader::new(&file).expect("parses");
        let decoded = reader.decode_page(0).expect("damage is not an error");
        assert_eq!(decoded.bitmap.height(), page.height(), "{scheme:?}");
        assert!(decoded.bad_rows > 0, "{scheme:?}");
        assert!(decoded.longest_bad_run > 0, "{scheme:?}");
        assert!(decoded.longest_bad_run <= decoded.bad_rows);
        assert_eq!(decoded.bitmap.row(0), page.row(0));
        assert_eq!(decoded.bitmap.row(100), page.row(100), "{scheme:?}");
        if scheme == Scheme::Mh {
            // MH resynchronises at the next EOL: the bottom of the page survives.
            assert_eq!(decoded.bitmap.row(2375), page.row(2375));
        }
    }
}

#[test]
fn truncated_uncompressed_and_packbits_strips_give_white_bad_rows() {
    let o = Order::Little;
    let short = small_page(o, vec![o.longs(279, &[2])]);
    let page = Reader::new(&short)
        .expect("parses")
        .decode_page(0)
        .expect("decodes");
    assert_eq!(page.bitmap.packed(), &[0xff, 0x00, 0x00, 0x00]);
    assert_eq!((page.bad_rows, page.longest_bad_run), (1, 1));

    let packbits = build(
        o,
        vec![PageSpec {
            entries: bilevel_entries(o, 16, 3, 0x8005),
            // Row 0 as a run, row 1 cut short.
            strips: vec![vec![0xff, 0xaa, 0x01, 0x12]],
        }],
    );
    let page = Reader::new(&packbits)
        .expect("parses")
        .decode_page(0)
        .expect("decodes");
    assert_eq!(page.bitmap.packed(), &[0xaa, 0xaa, 0, 0, 0, 0]);
    assert_eq!((page.bad_rows, page.longest_bad_run), (2, 2));
}

#[test]
fn missing_rows_of_black_is_zero_pages_are_white_too() {
    let o = Order::Little;
    let mut entries = bilevel_entries(o, 16, 2, 1);
    entries.retain(|e| e.tag != 262);
    entries.push(o.short(262, 1));
    // Row 0 stored as 0x00ff (black, then white); row 1 missing.
    let file = build(
        o,
        vec![PageSpec {
            entries,
            strips: vec![vec![0x00, 0xff]],
        }],
    );
    let page = Reader::new(&file)
        .expect("parses")
        .decode_page(0)
        .expect("decodes");
    assert_eq!(page.bitmap.packed(), &[0xff, 0x00, 0x00, 0x00]);
    assert_eq!(page.bad_rows, 1);
}

#[test]
fn a_page_without_one_decodable_row_is_an_error() {
    let o = Order::Little;
    for compression in [1, 0x8005, 2, 3] {
        let file = build(
            o,
            vec![PageSpec {
                entries: bilevel_entries(o, 16, 2, compression),
                strips: vec![vec![]],
            }],
        );
        let result = Reader::new(&file).expect("parses").decode_page(0);
        assert!(
            matches!(
                result,
                Err(Error::NoImageData { page: 1 } | Error::Codec { page: 1, .. })
            ),
            "compression {compression}: {result:?}"
        );
    }
}

#[test]
fn an_undecodable_page_is_an_error() {
    let o = Order::Little;
    let file = build(
        o,
        vec![PageSpec {
            entries: bilevel_entries(o, 1728, 100, 4),
            strips: vec![vec![0x00; 64]],
        }],
    );
    let reader = Reader::new(&file).expect("parses");
    assert!(matches!(
        reader.decode_page(0),
        Err(Error::Codec { page: 1, .. })
    ));
}

/// A small deterministic generator, so failures replay.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mutated_files_never_panic() {
    let mut page = Bitmap::new(64, 24, Resolution::STANDARD).expect("valid");
    for y in 0..24 {
        for x in 0..64 {
            page.set(x, y, (x / 3 + y) % 5 == 0);
        }
    }
    let mut seeds = Vec::new();
    for encoding in [
        PageEncoding::Uncompressed,
        PageEncoding::PackBits,
        PageEncoding::Ccitt(Scheme::Mh),
        PageEncoding::Ccitt(Scheme::mr_for_lpi(98)),
        PageEncoding::Ccitt(Scheme::Mmr),
    ] {
        let pages = [page.clone(), page.clone()];
        seeds.push(fax_tiff::write(&pages, encoding, &WriteOptions::default()).expect("ok"));
    }
    seeds.push(small_page(Order::Big, vec![]));
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for round in 0..4000 {
        let mut data = seeds[round % seeds.len()].clone();
        let flips = 1 + rng.next() % 6;
        for _ in 0..flips {
            let at = (rng.next() % data.len() as u64) as usize;
            data[at] = match rng.next() % 4 {
                0 => 0xff,
                1 => 0x00,
                _ => rng.next() as u8,
            };
        }
        if rng.next().is_multiple_of(8) {
            let len = (rng.next() % data.len() as u64) as usize;
            data.truncate(len);
        }
        if let Ok(reader) = Reader::new(&data) {
            for i in 0..reader.page_count() {
                let _ = reader.decode_page(i);
            }
        }
    }
}
