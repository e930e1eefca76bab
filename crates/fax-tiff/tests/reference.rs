//! Reference files written by libtiff and Ghostscript decode to the known pixels, and
//! their page descriptions match what the files say.

mod common;

use common::{chart, first_difference, fixture, read, testdata};
use fax_t4::{Bitmap, Resolution};
use fax_tiff::{Compression, FillOrder, Photometric, Reader, ResolutionUnit};

/// Coded strip sizes from testdata/ccitt/README.md: MH, MR (K = 4), MMR per chart.
const GOLDEN_SIZES: [[u64; 3]; 8] = [
    [37414, 25958, 18103],
    [34358, 19646, 10803],
    [65025, 40788, 28706],
    [108066, 81805, 69275],
    [68308, 44147, 32222],
    [51162, 28235, 16651],
    [106411, 81456, 69282],
    [62792, 33004, 19099],
];

fn assert_same_pixels(what: &str, got: &Bitmap, want: &Bitmap) {
    if let Some(diff) = first_difference(got, want) {
        panic!("{what}: {diff}");
    }
}

#[test]
fn single_page_g4_files_describe_and_decode_to_the_charts() {
    for n in 1..=8u32 {
        let data = read(&testdata(&format!("ccitt/ccitt{n}_g4.tif")));
        let reader = Reader::new(&data).expect("libtiff G4 files parse");
        assert_eq!(reader.page_count(), 1);
        let info = &reader.pages()[0];
        assert_eq!((info.width, info.height), (1728, 2376));
        assert_eq!(info.resolution, Resolution::FINE);
        assert!(info.resolution_from_tags);
        assert_eq!(info.resolution_unit, ResolutionUnit::Inch);
        assert_eq!(info.compression, Compression::T6);
        assert_eq!(info.coding_name(), "mmr");
        assert_eq!(info.fill_order, FillOrder::MsbFirst);
        assert_eq!(info.photometric, Photometric::WhiteIsZero);
        assert_eq!(info.page_number, Some((0, 1)));
        assert_eq!(info.new_subfile_type, 2);
        assert_eq!(info.rows_per_strip, 2376);
        assert_eq!(info.strips, 1);
        assert_eq!(info.encoded_bytes, GOLDEN_SIZES[n as usize - 1][2]);
        assert_eq!(info.clean_fax_data, Some(0));
        assert!(!reader.is_big_endian());

        let page = reader.decode_page(0).expect("chart decodes");
        assert_eq!(page.bad_rows, 0, "ccitt{n}_g4");
        assert_eq!(page.longest_bad_run, 0);
        assert_eq!(page.bitmap.resolution(), Resolution::FINE);
        assert_same_pixels(&format!("ccitt{n}_g4.tif"), &page.bitmap, &chart(n));
    }
}

#[test]
fn eight_page_class_f_files_describe_and_decode_to_the_charts() {
    let charts: Vec<Bitmap> = (1..=8).map(chart).collect();
    for (column, (name, coding)) in [("mh", "mh"), ("mr", "mr"), ("g4", "mmr")]
        .into_iter()
        .enumerate()
    {
        let file = format!("ccitt/ccitt1-8_{name}_classf.tif");
        let data = read(&testdata(&file));
        let reader = Reader::new(&data).expect("libtiff Class F files parse");
        assert_eq!(reader.page_count(), 8, "{file}");
        for (i, info) in reader.pages().iter().enumerate() {
            assert_eq!(info.index, i);
            assert_eq!((info.width, info.height), (1728, 2376));
            assert_eq!(info.resolution, Resolution::FINE);
            assert_eq!(info.coding_name(), coding, "{file} page {}", i + 1);
            assert_eq!(info.fill_order, FillOrder::LsbFirst);
            assert_eq!(info.page_number, Some((i as u16, 8)));
            assert_eq!(
                info.encoded_bytes,
                GOLDEN_SIZES[i][column],
                "{file} page {}",
                i + 1
            );
            let page = reader.decode_page(i).expect("page decodes");
            assert_eq!(page.bad_rows, 0, "{file} page {}", i + 1);
            assert_same_pixels(&format!("{file} page {}", i + 1), &page.bitmap, &charts[i]);
        }
    }
}

/// FNV-1a over the packed rows: a checksum for pages with no PBM to compare against.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn ghostscript_tiffg4_pages_decode_to_libtiffs_pixels() {
    let data = read(&testdata("docs/sample-3page_gs-tiffg4_204x196_fit1728.tif"));
    let reader = Reader::new(&data).expect("Ghostscript output parses");
    assert_eq!(reader.page_count(), 3);
    // Checksums and black pixel counts of the pages as libtiff 4.5.0 decodes them
    // (tiffcp -c none).
    let expected = [
        (28542, 0x8f4a_c753_2608_d456u64, 202_700u64),
        (173_326, 0x4fd0_c510_6f07_3b55, 543_156),
        (27894, 0x0aef_8c3c_06fd_a73c, 115_816),
    ];
    for (i, (info, (bytes, checksum, black))) in reader.pages().iter().zip(expected).enumerate() {
        assert_eq!((info.width, info.height), (1728, 2292));
        assert_eq!(info.resolution, Resolution::FINE);
        assert_eq!(info.compression, Compression::T6);
        assert_eq!(info.fill_order, FillOrder::MsbFirst);
        // Ghostscript numbers pages without a total.
        assert_eq!(info.page_number, Some((i as u16, 0)));
        assert_eq!(info.encoded_bytes, bytes);
        assert!(
            info.software
                .as_deref()
                .is_some_and(|s| s.starts_with("GPL Ghostscript"))
        );
        assert_eq!(info.date_time.as_deref(), Some("2026:11:28 22:30:57"));
        let page = reader.decode_page(i).expect("page decodes");
        assert_eq!(page.bad_rows, 0);
        assert_eq!(page.bitmap.black_pixels(), black, "page {}", i + 1);
        assert_eq!(fnv1a(page.bitmap.packed()), checksum, "page {}", i + 1);
    }
}

#[test]
fn libtiff_fixtures_with_strips_byte_orders_and_codings_decode_to_the_charts() {
    struct Case {
        file: &'static str,
        chart: u32,
        coding: &'static str,
        big_endian: bool,
        fill_order: FillOrder,
        strips: usize,
        rows_per_strip: u32,
        photometric: Photometric,
        resolution: Resolution,
        unit: ResolutionUnit,
    }
    let cases = [
        Case {
            file: "ccitt2_rle_be.tif",
            chart: 2,
            coding: "ccitt-rle",
            big_endian: true,
            fill_order: FillOrder::MsbFirst,
            strips: 1,
            rows_per_strip: 2376,
            photometric: Photometric::WhiteIsZero,
            resolution: Resolution::FINE,
            unit: ResolutionUnit::Inch,
        },
        Case {
            file: "ccitt6_mr_fill_strips_be.tif",
            chart: 6,
            coding: "mr",
            big_endian: true,
            fill_order: FillOrder::MsbFirst,
            strips: 10,
            rows_per_strip: 256,
            photometric: Photometric::WhiteIsZero,
            resolution: Resolution::FINE,
            unit: ResolutionUnit::Inch,
        },
        Case {
            file: "ccitt8_mh_strips_lsb.tif",
            chart: 8,
            coding: "mh",
            big_endian: false,
            fill_order: FillOrder::LsbFirst,
            strips: 3,
            rows_per_strip: 1000,
            photometric: Photometric::WhiteIsZero,
            resolution: Resolution::STANDARD,
            unit: ResolutionUnit::Inch,
        },
        Case {
            file: "ccitt2_mmr_strips_lsb_cm.tif",
            chart: 2,
            coding: "mmr",
            big_endian: false,
            fill_order: FillOrder::LsbFirst,
            strips: 5,
            rows_per_strip: 500,
            photometric: Photometric::WhiteIsZero,
            resolution: Resolution::FINE,
            unit: ResolutionUnit::Centimetre,
        },
        Case {
            file: "ccitt2_packbits_blackiszero_lsb.tif",
            chart: 2,
            coding: "packbits",
            big_endian: false,
            fill_order: FillOrder::LsbFirst,
            strips: 19,
            rows_per_strip: 128,
            photometric: Photometric::BlackIsZero,
            resolution: Resolution::FINE,
            unit: ResolutionUnit::Inch,
        },
    ];
    for case in cases {
        let data = read(&fixture(case.file));
        let reader = Reader::new(&data).expect("libtiff fixtures parse");
        let info = &reader.pages()[0];
        assert_eq!(reader.is_big_endian(), case.big_endian, "{}", case.file);
        assert_eq!(info.coding_name(), case.coding, "{}", case.file);
        assert_eq!(info.fill_order, case.fill_order, "{}", case.file);
        assert_eq!(info.strips, case.strips, "{}", case.file);
        assert_eq!(info.rows_per_strip, case.rows_per_strip, "{}", case.file);
        assert_eq!(info.photometric, case.photometric, "{}", case.file);
        assert_eq!(info.resolution, case.resolution, "{}", case.file);
        assert_eq!(info.resolution_unit, case.unit, "{}", case.file);
        let strips = reader.strip_data(0).expect("page 0 exists");
        assert_eq!(strips.len(), case.strips);
        assert_eq!(
            strips.iter().map(|s| s.len() as u64).sum::<u64>(),
            info.encoded_bytes
        );
        let page = reader.decode_page(0).expect("fixture decodes");
        assert_eq!(page.bad_rows, 0, "{}", case.file);
        assert_eq!(page.bitmap.resolution(), case.resolution);
        assert_same_pixels(case.file, &page.bitmap, &chart(case.chart));
    }
}
