//! Damaged data: decoders keep the good rows, resynchronise at the next EOL, count the
//! bad rows T.30 needs for RTP/RTN, and never panic or overrun their limits.

use fax_t4::{
    Bitmap, DecodeLimits, DecodeOptions, EncodeOptions, Error, KFactor, PageEnd, Resolution,
    Scheme, decode, encode,
};

fn chart(n: usize) -> Bitmap {
    let path = format!(
        "{}/../../testdata/ccitt/ccitt{n}.pbm",
        env!("CARGO_MANIFEST_DIR")
    );
    fax_t4::pbm::read(&std::fs::read(path).expect("chart"), Resolution::FINE).expect("parses")
}

/// Bit offsets of every EOL's final 1 bit in MSB-first data.
fn eol_ends(data: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut zeros = 0;
    for i in 0..data.len() * 8 {
        if data[i / 8] & (0x80 >> (i % 8)) == 0 {
            zeros += 1;
        } else {
            if zeros >= 11 {
                ends.push(i);
            }
            zeros = 0;
        }
    }
    ends
}

/// Sets a bit: damage that cannot forge an EOL (eleven zeros), so the row count stays
/// exact and the assertions can be precise.
fn flip(data: &mut [u8], bit: usize) {
    data[bit / 8] |= 0x80 >> (bit % 8);
}

#[test]
fn mh_error_costs_one_row_and_is_repaired_from_the_row_above() {
    let page = chart(1);
    let mut coded = encode(&page, &EncodeOptions::line(Scheme::Mh, 0));
    let ends = eol_ends(&coded);
    // Damage the middle of row 1000's data (between its EOL and the next).
    let row = 1000;
    let (start, end) = (ends[row], ends[row + 1] - 11);
    assert!(end - start > 8, "row {row} has data to damage");
    for bit in (start + 3)..(start + 3 + 5).min(end) {
        flip(&mut coded, bit);
    }
    let decoded = decode(&coded, &DecodeOptions::new(Scheme::Mh, 1728)).expect("decodes");
    assert_eq!(decoded.end, PageEnd::Rtc);
    assert_eq!(decoded.bitmap.height(), page.height());
    assert!(
        decoded.bad_rows >= 1 && decoded.bad_rows <= 2,
        "{}",
        decoded.bad_rows
    );
    assert_eq!(decoded.longest_bad_run, decoded.bad_rows);
    let bad: Vec<u32> = (0..page.height())
        .filter(|&y| decoded.bitmap.row(y) != page.row(y))
        .collect();
    assert!(
        bad.iter().all(|&y| y == row as u32 || y == row as u32 + 1),
        "{bad:?}"
    );
    for y in bad {
        assert_eq!(
            decoded.bitmap.row(y),
            decoded.bitmap.row(y - 1),
            "repaired from above"
        );
    }
}

#[test]
fn mr_error_loses_the_two_dimensional_rows_until_the_next_one_dimensional_row() {
    let page = chart(4);
    let mut coded = encode(
        &page,
        &EncodeOptions::line(Scheme::Mr { k: KFactor::K4 }, 0),
    );
    let ends = eol_ends(&coded);
    // Damage a 2-D row right after a 1-D one (K=4: rows 4n are 1-D), one with enough
    // data that the damage stays inside it. The two 2-D rows that refer to it are lost
    // too; the next 1-D row starts clean.
    let row = (401..2000)
        .step_by(4)
        .find(|&r| ends[r + 1] - ends[r] > 60)
        .expect("a row with data");
    let start = ends[row] + 2; // past the tag bit
    for bit in start..start + 6 {
        flip(&mut coded, bit);
    }
    let decoded = decode(
        &coded,
        &DecodeOptions::new(Scheme::Mr { k: KFactor::K4 }, 1728),
    )
    .expect("decodes");
    assert_eq!(decoded.end, PageEnd::Rtc);
    assert_eq!(decoded.bitmap.height(), page.height());
    assert_eq!(decoded.bad_rows, 3);
    assert_eq!(decoded.longest_bad_run, 3);
    for y in (0..row as u32).chain(row as u32 + 3..page.height()) {
        assert_eq!(decoded.bitmap.row(y), page.row(y), "row {y}");
    }
}

#[test]
fn scattered_damage_counts_runs_of_bad_rows() {
    let page = chart(3);
    let mut coded = encode(&page, &EncodeOptions::line(Scheme::Mh, 0));
    let ends = eol_ends(&coded);
    for row in [100usize, 101, 102, 500, 1500] {
        let start = ends[row] + 1;
        for bit in start..start + 4 {
            flip(&mut coded, bit);
        }
    }
    let decoded = decode(&coded, &DecodeOptions::new(Scheme::Mh, 1728)).expect("decodes");
    assert!(decoded.bad_rows >= 5, "{}", decoded.bad_rows);
    assert!(decoded.longest_bad_run >= 3, "{}", decoded.longest_bad_run);
    assert_eq!(decoded.bitmap.height(), page.height());
}

#[test]
fn mmr_error_ends_the_page_and_missing_rows_are_white_and_bad() {
    let page = chart(5);
    let mut coded = encode(&page, &EncodeOptions::tiff(Scheme::Mmr));
    let middle = coded.len() / 2;
    coded[middle..middle + 8].fill(0);
    let mut options = DecodeOptions::new(Scheme::Mmr, 1728);
    options.rows = Some(page.height());
    let decoded = decode(&coded, &options).expect("decodes the first half");
    assert!(decoded.bad_rows > 100);
    assert_eq!(decoded.bitmap.height(), page.height());
    let good = page.height() - decoded.bad_rows;
    for y in 0..good.saturating_sub(1) {
        assert_eq!(decoded.bitmap.row(y), page.row(y), "row {y}");
    }
    assert!(
        decoded
            .bitmap
            .row(page.height() - 1)
            .iter()
            .all(|&b| b == 0)
    );
}

#[test]
fn truncated_line_data_ends_with_what_arrived() {
    let page = chart(6);
    let coded = encode(&page, &EncodeOptions::line(Scheme::Mh, 0));
    let cut = &coded[..coded.len() / 3];
    let decoded = decode(cut, &DecodeOptions::new(Scheme::Mh, 1728)).expect("decodes");
    assert_eq!(decoded.end, PageEnd::EndOfData);
    assert!(decoded.bad_rows <= 1);
    let h = decoded.bitmap.height() - decoded.bad_rows;
    assert!(h > 500);
    for y in 0..h {
        assert_eq!(decoded.bitmap.row(y), page.row(y));
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let garbage: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for scheme in [Scheme::Mh, Scheme::Mr { k: KFactor::K2 }, Scheme::Mmr] {
        let result = decode(&garbage, &DecodeOptions::new(scheme, 1728));
        match result {
            Err(Error::Corrupt { .. }) => {}
            Ok(page) => assert!(
                page.bad_rows > 0 || page.bitmap.height() < 100,
                "{scheme:?}"
            ),
            Err(e) => panic!("{scheme:?}: unexpected {e}"),
        }
    }
}

#[test]
fn limits_bound_the_rows_built() {
    // 100 000 all-white MH rows claim a page far beyond any real fax.
    let mut encoder = fax_t4::Encoder::new(1728, EncodeOptions::tiff(Scheme::Mh)).expect("width");
    let white = vec![0u8; 216];
    for _ in 0..100_000 {
        encoder.encode_row(&white).expect("row");
    }
    let coded = encoder.finish();
    let mut options = DecodeOptions::new(Scheme::Mh, 1728);
    options.limits = DecodeLimits { max_rows: 5000 };
    let decoded = decode(&coded, &options).expect("decodes");
    assert_eq!(decoded.end, PageEnd::RowLimit);
    assert_eq!(decoded.bitmap.height(), 5000);
    options.rows = Some(100_000);
    assert!(matches!(
        decode(&coded, &options),
        Err(Error::TooTall { .. })
    ));
}

#[test]
fn bad_widths_are_refused() {
    for width in [0, 1_000_000] {
        assert!(matches!(
            decode(&[0xff], &DecodeOptions::new(Scheme::Mh, width)),
            Err(Error::BadWidth { .. })
        ));
        assert!(fax_t4::Encoder::new(width, EncodeOptions::tiff(Scheme::Mh)).is_err());
    }
}

#[test]
fn a_broken_eol_without_fill_loses_a_row_and_the_rest_moves_up() {
    // TIFF Class F data: every EOL straight after its line, no fill, which the decoder
    // takes with one look. An EOL with a zero turned into a one is no EOL: the line
    // before it does not end cleanly (repaired from the row above) and the line after
    // it has no start, so the decoder resynchronises on the EOL after that; the rows
    // from there on move up one and the last row, never decoded, is white. The same for
    // an all-white line (make-up 1728, terminating 0) as for one with black pixels.
    let page = chart(2);
    let clean = encode(&page, &EncodeOptions::tiff(Scheme::Mh));
    let ends = eol_ends(&clean);
    let height = page.height();
    let white = (100..ends.len() - 2)
        .find(|&r| page.row(r as u32).iter().all(|&b| b == 0))
        .expect("a white row");
    let inked = (300..ends.len() - 2)
        .find(|&r| ends[r + 1] - ends[r] > 80)
        .expect("an inked row");
    for row in [white, inked] {
        let mut coded = clean.clone();
        // EOL i starts row i; break the fifth zero of the one after `row`.
        flip(&mut coded, ends[row + 1] - 7);
        let mut options = DecodeOptions::new(Scheme::Mh, 1728);
        options.rows = Some(height);
        let decoded = decode(&coded, &options).expect("decodes");
        let got = &decoded.bitmap;
        assert_eq!(got.height(), height);
        assert_eq!(
            (decoded.bad_rows, decoded.longest_bad_run),
            (2, 1),
            "row {row}"
        );
        let row = row as u32;
        for y in 0..row {
            assert_eq!(got.row(y), page.row(y), "row {row}: {y}");
        }
        assert_eq!(
            got.row(row),
            got.row(row - 1),
            "row {row} repaired from above"
        );
        for y in row + 1..height - 1 {
            assert_eq!(got.row(y), page.row(y + 1), "row {row}: {y}");
        }
        assert!(
            got.row(height - 1).iter().all(|&b| b == 0),
            "missing row is white"
        );
    }
}
