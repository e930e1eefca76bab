//! What the writer writes, the reader reads back: every coding, both fill orders, coded
//! pages with received-fax tags, and a file layout other TIFF readers accept.

mod common;

use common::{chart, first_difference};
use fax_t4::{Bitmap, EncodeOptions, KFactor, Resolution, Scheme};
use fax_tiff::{
    CleanFaxData, CodedPage, Compression, FaxQuality, FillOrder, PageEncoding, Reader,
    WriteOptions, Writer,
};

/// An odd-sized page at standard resolution: width not a multiple of 8, runs touching
/// both edges, a solid black row.
fn odd_page() -> Bitmap {
    let mut page = Bitmap::new(1001, 37, Resolution::STANDARD).expect("valid size");
    for y in 0..37 {
        for x in 0..1001 {
            let black = y == 20 || x == 0 || x == 1000 || (x * 7 + y * 3) % 23 < 5;
            page.set(x, y, black);
        }
    }
    page
}

const ENCODINGS: [PageEncoding; 6] = [
    PageEncoding::Uncompressed,
    PageEncoding::PackBits,
    PageEncoding::Ccitt(Scheme::Mh),
    PageEncoding::Ccitt(Scheme::Mr { k: KFactor::K2 }),
    PageEncoding::Ccitt(Scheme::Mr { k: KFactor::K4 }),
    PageEncoding::Ccitt(Scheme::Mmr),
];

#[test]
fn every_encoding_and_fill_order_round_trips_pixels_and_tags() {
    let pages = vec![chart(1), odd_page(), chart(8)];
    for encoding in ENCODINGS {
        for fill_order in [FillOrder::MsbFirst, FillOrder::LsbFirst] {
            let what = format!("{encoding:?} {fill_order:?}");
            let options = WriteOptions {
                fill_order,
                software: Some("faxgate test".to_string()),
                image_description: None,
                date_time: Some("2024:02:29 12:34:56".to_string()),
            };
            let file = fax_tiff::write(&pages, encoding, &options).expect("pages are writable");
            let reader = Reader::new(&file).expect("own output parses");
            assert_eq!(reader.page_count(), pages.len(), "{what}");
            for (i, (info, original)) in reader.pages().iter().zip(&pages).enumerate() {
                let (compression, coding) = match encoding {
                    PageEncoding::Uncompressed => (Compression::Uncompressed, "none"),
                    PageEncoding::PackBits => (Compression::PackBits, "packbits"),
                    PageEncoding::Ccitt(Scheme::Mh) => (Compression::T4, "mh"),
                    PageEncoding::Ccitt(Scheme::Mr { .. }) => (Compression::T4, "mr"),
                    PageEncoding::Ccitt(Scheme::Mmr) => (Compression::T6, "mmr"),
                };
                assert_eq!(info.compression, compression, "{what}");
                assert_eq!(info.coding_name(), coding, "{what}");
                assert_eq!(info.fill_order, fill_order, "{what}");
                assert_eq!(
                    (info.width, info.height),
                    (original.width(), original.height())
                );
                assert_eq!(info.resolution, original.resolution(), "{what}");
                assert!(info.resolution_from_tags);
                assert_eq!(info.page_number, Some((i as u16, pages.len() as u16)));
                assert_eq!(info.new_subfile_type, 2);
                assert_eq!(info.strips, 1);
                assert_eq!(info.software.as_deref(), Some("faxgate test"));
                assert_eq!(info.date_time.as_deref(), Some("2024:02:29 12:34:56"));
                assert_eq!(info.bad_fax_lines, None);
                let decoded = reader.decode_page(i).expect("own output decodes");
                assert_eq!(decoded.bad_rows, 0, "{what} page {}", i + 1);
                if let Some(diff) = first_difference(&decoded.bitmap, original) {
                    panic!("{what} page {}: {diff}", i + 1);
                }
                assert_eq!(decoded.bitmap.resolution(), original.resolution());
            }
        }
    }
}

#[test]
fn class_f_strips_match_libtiff_sizes() {
    // libtiff's coded sizes for chart 1 (testdata/ccitt/README.md): same EOL-per-row,
    // no-RTC layout, so the same byte counts.
    let page = chart(1);
    for (scheme, size) in [
        (Scheme::Mh, 37414),
        (Scheme::Mr { k: KFactor::K4 }, 25958),
        (Scheme::Mmr, 18103),
    ] {
        let file = fax_tiff::write(
            std::slice::from_ref(&page),
            PageEncoding::Ccitt(scheme),
            &WriteOptions::default(),
        )
        .expect("chart is writable");
        let reader = Reader::new(&file).expect("own output parses");
        assert_eq!(reader.pages()[0].encoded_bytes, size, "{scheme:?}");
    }
}

#[test]
fn coded_pages_keep_their_data_and_carry_received_fax_tags() {
    let page = chart(2);
    let mut writer = Writer::new(WriteOptions::default()).expect("default options");
    // As it came off the line: EOLs and RTC.
    let line_data = fax_t4::encode(&page, &EncodeOptions::line(Scheme::Mh, 0));
    writer
        .add_coded_page(CodedPage {
            width: 1728,
            height: page.height(),
            resolution: Resolution::FINE,
            scheme: Scheme::Mh,
            byte_aligned_eols: false,
            data: line_data.clone(),
            quality: Some(FaxQuality {
                bad_lines: 3,
                clean: CleanFaxData::Regenerated,
                consecutive_bad_lines: 2,
            }),
        })
        .expect("valid coded page");
    let mmr = fax_t4::encode(&page, &EncodeOptions::tiff(Scheme::Mmr));
    writer
        .add_coded_page(CodedPage {
            width: 1728,
            height: page.height(),
            resolution: Resolution::FINE,
            scheme: Scheme::Mmr,
            byte_aligned_eols: false,
            data: mmr,
            quality: None,
        })
        .expect("valid coded page");
    writer
        .add_page(
            &odd_page(),
            PageEncoding::Ccitt(Scheme::Mr { k: KFactor::K2 }),
        )
        .expect("valid page");
    assert_eq!(writer.page_count(), 3);
    let file = writer.finish().expect("three pages");

    let reader = Reader::new(&file).expect("own output parses");
    let infos = reader.pages();
    assert_eq!(infos[0].bad_fax_lines, Some(3));
    assert_eq!(infos[0].clean_fax_data, Some(1));
    assert_eq!(infos[0].consecutive_bad_fax_lines, Some(2));
    assert_eq!(infos[0].encoded_bytes, line_data.len() as u64);
    assert_eq!(infos[1].coding_name(), "mmr");
    assert_eq!(infos[1].bad_fax_lines, None);
    assert_eq!(infos[2].page_number, Some((2, 3)));
    // Stored as given, in the file's fill order.
    let mut stored = reader.strip_data(0).expect("page 0")[0].to_vec();
    fax_t4::bits::reverse_bits_in_place(&mut stored);
    assert_eq!(stored, line_data);
    for (i, want) in [&page, &page, &odd_page()].into_iter().enumerate() {
        let decoded = reader.decode_page(i).expect("decodes");
        assert_eq!(decoded.bad_rows, 0);
        assert_eq!(
            first_difference(&decoded.bitmap, want),
            None,
            "page {}",
            i + 1
        );
    }
}

#[test]
fn coded_page_of_impossible_size_is_refused() {
    let mut writer = Writer::new(WriteOptions::default()).expect("default options");
    for (width, height) in [(0, 10), (1728, 0), (100_000, 10)] {
        let result = writer.add_coded_page(CodedPage {
            width,
            height,
            resolution: Resolution::FINE,
            scheme: Scheme::Mmr,
            byte_aligned_eols: false,
            data: vec![0; 10],
            quality: None,
        });
        assert!(
            matches!(result, Err(fax_tiff::Error::PageSize { .. })),
            "{width}x{height}: {result:?}"
        );
    }
}

/// Walks the directories of a little-endian file checking what TIFF 6.0 requires of
/// their layout.
#[test]
fn layout_is_little_endian_sorted_and_word_aligned() {
    let pages = vec![odd_page(), odd_page()];
    let options = WriteOptions {
        software: Some("odd".to_string()),
        image_description: Some("+44 20 7946 0000".to_string()),
        date_time: Some("2024:01:01 00:00:00".to_string()),
        ..WriteOptions::default()
    };
    let file =
        fax_tiff::write(&pages, PageEncoding::Ccitt(Scheme::Mh), &options).expect("writable");
    let reader = fax_tiff::Reader::new(&file).expect("readable");
    assert_eq!(
        reader.pages()[1].image_description.as_deref(),
        Some("+44 20 7946 0000")
    );
    let u16_at = |at: usize| u16::from_le_bytes([file[at], file[at + 1]]);
    let u32_at =
        |at: usize| u32::from_le_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]);
    assert_eq!(&file[..4], b"II\x2a\x00");
    let mut ifd = u32_at(4) as usize;
    let mut seen_pages = 0;
    while ifd != 0 {
        seen_pages += 1;
        assert_eq!(ifd % 2, 0, "directory offset {ifd} is odd");
        let count = u16_at(ifd) as usize;
        let tags: Vec<u16> = (0..count).map(|i| u16_at(ifd + 2 + 12 * i)).collect();
        assert!(
            tags.windows(2).all(|w| w[0] < w[1]),
            "tags not sorted: {tags:?}"
        );
        for expected in [
            254, 256, 257, 258, 259, 262, 266, 270, 273, 277, 278, 279, 282, 283, 292, 296, 297,
            305, 306,
        ] {
            assert!(tags.contains(&expected), "tag {expected} missing");
        }
        for (i, tag) in tags.iter().enumerate() {
            let entry = ifd + 2 + 12 * i;
            let (field_type, n) = (u16_at(entry + 2), u32_at(entry + 4));
            let size = match field_type {
                2 => 1,
                3 => 2,
                4 => 4,
                5 => 8,
                other => panic!("unexpected field type {other}"),
            };
            if size * n > 4 {
                assert_eq!(u32_at(entry + 8) % 2, 0, "value of tag {tag} is odd");
            }
        }
        ifd = u32_at(ifd + 2 + 12 * count) as usize;
    }
    assert_eq!(seen_pages, 2);
}
