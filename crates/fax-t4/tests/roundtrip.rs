//! Random pages of every width and density through every scheme and option set.

use fax_t4::{
    Bitmap, DecodeOptions, EncodeOptions, KFactor, PageEnd, Resolution, Scheme, decode, encode,
};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A page of horizontal runs whose lengths follow `mean_run`, with rows that often
/// repeat or shift slightly (so every 2-D mode occurs).
fn random_page(rng: &mut Rng, width: u32, height: u32, mean_run: u64) -> Bitmap {
    let mut page = Bitmap::new(width, height, Resolution::FINE).expect("size");
    for y in 0..height {
        match rng.next() % 4 {
            0 if y > 0 => {
                let prev = page.row(y - 1).to_vec();
                page.row_mut(y).copy_from_slice(&prev);
                let shift = (rng.next() % 7) as u32;
                for _ in 0..shift {
                    let x = (rng.next() % u64::from(width)) as u32;
                    let v = page.get(x, y);
                    page.set(x, y, !v);
                }
            }
            _ => {
                let mut x = 0;
                let mut black = rng.next().is_multiple_of(2);
                while x < width {
                    let run = 1 + (rng.next() % (2 * mean_run)) as u32;
                    for i in x..(x + run).min(width) {
                        page.set(i, y, black);
                    }
                    x += run;
                    black = !black;
                }
            }
        }
    }
    page
}

#[test]
fn random_pages_round_trip_through_every_scheme_and_option() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let schemes = [
        Scheme::Mh,
        Scheme::Mr { k: KFactor::K2 },
        Scheme::Mr { k: KFactor::K4 },
        Scheme::Mr {
            k: KFactor::Unlimited,
        },
        Scheme::Mmr,
    ];
    for width in [
        1u32, 2, 7, 63, 64, 65, 200, 1728, 2048, 2432, 2600, 3456, 4864,
    ] {
        for mean_run in [1u64, 3, 40, 700, 3000] {
            let height = 1 + (rng.next() % 40) as u32;
            let page = random_page(&mut rng, width, height, mean_run);
            for scheme in schemes {
                for (eol, align, end, min_bits) in [
                    (true, false, false, 0),
                    (true, true, true, 0),
                    (true, false, true, 96),
                    (false, false, false, 0),
                ] {
                    if !eol && matches!(scheme, Scheme::Mr { .. }) {
                        continue;
                    }
                    let options = EncodeOptions {
                        scheme,
                        eol,
                        byte_align_eol: align,
                        end_of_page: end,
                        min_bits_per_line: min_bits,
                    };
                    let coded = encode(&page, &options);
                    let mut decode_options = DecodeOptions::new(scheme, width);
                    decode_options.eol = eol;
                    decode_options.rows = Some(height);
                    let what = format!("w={width} run={mean_run} {options:?}");
                    let known = decode(&coded, &decode_options).expect(&what);
                    assert_eq!(known.bad_rows, 0, "{what}");
                    assert_eq!(known.bitmap, page, "{what}");
                    if end {
                        decode_options.rows = None;
                        let unknown = decode(&coded, &decode_options).expect(&what);
                        assert_eq!(unknown.bitmap, page, "{what}");
                        let expected = if scheme == Scheme::Mmr {
                            PageEnd::Eofb
                        } else {
                            PageEnd::Rtc
                        };
                        assert_eq!(unknown.end, expected, "{what}");
                    }
                }
            }
        }
    }
}

#[test]
fn minimum_line_length_is_honoured() {
    // An all-white MH line is 12 (EOL) + 9 + 8 bits; at 14400 bit/s and 10 ms it must
    // be stretched to 144 bits.
    let page = Bitmap::new(1728, 10, Resolution::STANDARD).expect("size");
    let plain = encode(&page, &EncodeOptions::line(Scheme::Mh, 0));
    let padded = encode(&page, &EncodeOptions::line(Scheme::Mh, 144));
    assert_eq!(plain.len(), (10 * 29 + 6 * 12usize).div_ceil(8));
    assert_eq!(padded.len(), (10 * 144 + 6 * 12usize).div_ceil(8));
}

#[test]
fn stress_dither_page_expands_without_trouble() {
    let path = format!(
        "{}/../../testdata/docs/stress-dither_poppler-mono_1728x2292.pbm",
        env!("CARGO_MANIFEST_DIR")
    );
    let page =
        fax_t4::pbm::read(&std::fs::read(path).expect("pbm"), Resolution::FINE).expect("pbm");
    for scheme in [Scheme::Mh, Scheme::Mr { k: KFactor::K4 }, Scheme::Mmr] {
        let coded = encode(&page, &EncodeOptions::tiff(scheme));
        let mut options = DecodeOptions::new(scheme, 1728);
        options.rows = Some(page.height());
        assert_eq!(
            decode(&coded, &options).expect("decodes").bitmap,
            page,
            "{scheme:?}"
        );
        if scheme == Scheme::Mmr {
            assert!(coded.len() > page.packed().len(), "MMR expands a dither");
        }
    }
}

#[test]
fn fill_after_a_line_of_long_codes_is_skipped_whole() {
    // Runs of one white and 30 black pixels are codes of 6 and 12 bits, so a line of
    // them ends with few bits left in the decoder's buffer; up to 20 zeros of fill and
    // the EOL after it must still be skipped in one go. The widths and minimum line
    // lengths cover every way a line and its fill can fall.
    for width in (150u32..250).step_by(7) {
        let mut page = Bitmap::new(width, 3, Resolution::FINE).expect("size");
        for y in 0..3 {
            for x in 0..width {
                page.set(x, y, (x + y) % 31 != 0);
            }
        }
        let plain = encode(&page, &EncodeOptions::line(Scheme::Mh, 0));
        let line_bits = (plain.len() * 8 / 3) as u32;
        for scheme in [Scheme::Mh, Scheme::Mr { k: KFactor::K2 }] {
            for min_bits in line_bits.saturating_sub(20)..line_bits + 40 {
                let coded = encode(&page, &EncodeOptions::line(scheme, min_bits));
                let decoded = decode(&coded, &DecodeOptions::new(scheme, width))
                    .unwrap_or_else(|e| panic!("width {width} min {min_bits}: {e}"));
                assert_eq!(decoded.bitmap, page, "width {width} min {min_bits}");
                assert_eq!(decoded.bad_rows, 0, "width {width} min {min_bits}");
            }
        }
    }
}

#[test]
fn aligned_mh_rows_that_end_where_a_pair_of_codes_would_cross_into_the_next_row() {
    // 1-D lines after a line of many changes are read two codes per look-up. Without
    // EOLs (TIFF Compression 2) a row's last code can be followed, after its byte's
    // padding or none, by the next row's first code within one look-up; that second code
    // must be left to the next row. Narrow pages of short runs make it happen often.
    let mut rng = Rng(0x0bad_cafe_f00d_1234);
    for width in 1u32..=48 {
        for mean_run in [1u64, 2, 3] {
            let page = random_page(&mut rng, width, 40, mean_run);
            let mut options = EncodeOptions::tiff(Scheme::Mh);
            options.eol = false;
            let coded = encode(&page, &options);
            let mut decode_options = DecodeOptions::new(Scheme::Mh, width);
            decode_options.eol = false;
            decode_options.rows = Some(page.height());
            let decoded = decode(&coded, &decode_options)
                .unwrap_or_else(|e| panic!("width {width} run {mean_run}: {e}"));
            assert_eq!(decoded.bitmap, page, "width {width} run {mean_run}");
            assert_eq!(decoded.bad_rows, 0, "width {width} run {mean_run}");
        }
    }
}

#[test]
fn pairs_of_codes_across_a_refill_and_after_zero_length_runs() {
    // Rows of 1-4 pixel runs (read two codes per look-up) with, in between, long black
    // runs (codes of up to 13 bits, looked up alone), make-up codes and rows that start
    // black (a white run of length zero): every mix of short and long codes, so that
    // pairs fall at every offset from the bit buffer's refills.
    let mut rng = Rng(0x5eed_0fc0_de20_2611);
    for width in [64u32, 200, 1728, 2048] {
        let mut page = Bitmap::new(width, 60, Resolution::FINE).expect("size");
        for y in 0..60 {
            let mut x = 0;
            let mut black = rng.next().is_multiple_of(2);
            while x < width {
                let run = match rng.next() % 16 {
                    0 => 64 + (rng.next() % 200) as u32,
                    1 => 13 + (rng.next() % 50) as u32,
                    2 => 64 * (1 + (rng.next() % 3) as u32),
                    _ => 1 + (rng.next() % 4) as u32,
                };
                for i in x..(x + run).min(width) {
                    page.set(i, y, black);
                }
                x += run;
                black = !black;
            }
        }
        for scheme in [Scheme::Mh, Scheme::Mr { k: KFactor::K4 }] {
            for min_bits in [0, 700] {
                let coded = encode(&page, &EncodeOptions::line(scheme, min_bits));
                let decoded = decode(&coded, &DecodeOptions::new(scheme, width))
                    .unwrap_or_else(|e| panic!("width {width} {scheme:?}: {e}"));
                assert_eq!(decoded.bitmap, page, "width {width} {scheme:?} {min_bits}");
                assert_eq!(decoded.bad_rows, 0, "width {width} {scheme:?} {min_bits}");
                assert_eq!(decoded.end, PageEnd::Rtc, "width {width} {scheme:?}");
            }
        }
    }
}

#[test]
fn blank_rows_taken_whole_stop_at_the_row_count_and_the_limit() {
    // White rows are taken with one look (MMR: a string of V0 bits, up to 32 rows at
    // a time). A row count or row limit that falls inside a blank stretch must stop
    // there, and black rows around and between blank ones must come back unchanged.
    let width = 1728;
    let mut page = Bitmap::new(width, 120, Resolution::FINE).expect("size");
    for y in (0..3).chain(50..52).chain(90..91).chain(119..120) {
        for x in (y * 7 % 100..width).step_by(97) {
            page.set(x, y, true);
        }
    }
    for scheme in [Scheme::Mh, Scheme::Mr { k: KFactor::K4 }, Scheme::Mmr] {
        let coded = encode(&page, &EncodeOptions::tiff(scheme));
        for rows in [
            1u32, 3, 4, 20, 35, 36, 37, 49, 50, 51, 52, 53, 89, 91, 119, 120,
        ] {
            let mut options = DecodeOptions::new(scheme, width);
            options.rows = Some(rows);
            let decoded = decode(&coded, &options).expect("decodes");
            assert_eq!(decoded.end, PageEnd::RowCount, "{scheme:?} {rows}");
            assert_eq!(decoded.bad_rows, 0, "{scheme:?} {rows}");
            assert_eq!(decoded.bitmap.height(), rows, "{scheme:?} {rows}");
            for y in 0..rows {
                assert_eq!(decoded.bitmap.row(y), page.row(y), "{scheme:?} {rows}: {y}");
            }
            let mut options = DecodeOptions::new(scheme, width);
            options.limits.max_rows = rows;
            let limited = decode(&coded, &options).expect("decodes");
            assert_eq!(limited.bitmap, decoded.bitmap, "{scheme:?} limit {rows}");
        }
        let mut options = DecodeOptions::new(scheme, width);
        options.rows = Some(page.height());
        assert_eq!(decode(&coded, &options).expect("decodes").bitmap, page);
    }
}

#[test]
fn run_pairs_too_long_for_one_code_word_round_trip() {
    // 1-D coding writes a white and a black run as one code word when both fit in 32
    // bits; longer pairs, and runs past the longest single code (2623 pixels, coded
    // with extra make-up codes), go out one by one.
    let width = 8192;
    let mut page = Bitmap::new(width, 6, Resolution::FINE).expect("size");
    let rows: [&[(u32, u32)]; 6] = [
        &[(5000, 8000)],
        &[(0, 3000), (3001, 3002)],
        &[(2623, 5247), (8000, 8192)],
        &[(1, 2), (2624, 2625), (2687, 8191)],
        &[(60, 124), (2000, 4600)],
        &[],
    ];
    for (y, spans) in rows.iter().enumerate() {
        for &(start, end) in spans.iter() {
            for x in start..end {
                page.set(x, y as u32, true);
            }
        }
    }
    for scheme in [Scheme::Mh, Scheme::Mr { k: KFactor::K2 }] {
        let coded = encode(&page, &EncodeOptions::tiff(scheme));
        let mut options = DecodeOptions::new(scheme, width);
        options.rows = Some(page.height());
        let decoded = decode(&coded, &options).expect("decodes");
        assert_eq!(decoded.bitmap, page, "{scheme:?}");
        assert_eq!(decoded.bad_rows, 0, "{scheme:?}");
    }
}
