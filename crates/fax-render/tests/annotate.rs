//! The header line and the cover page: where they print, that the page label says the
//! right page (by comparison with the same text rendered alone), and what the fidelity
//! report says.

mod common;

use fax_render::annotate::{self, Cover, DateTime, Header};
use fax_render::{Note, PageSetup};
use fax_t4::{Bitmap, Resolution};

fn header() -> Header {
    Header {
        date_time: DateTime::from_unix(1_709_210_096, 0),
        sender_name: "ACME Widgets Ltd".into(),
        sender_number: "+44 20 7946 0000".into(),
        font_size_pt: 9.0,
    }
}

fn blank(resolution: Resolution) -> Bitmap {
    let setup = PageSetup {
        resolution,
        ..PageSetup::default()
    };
    Bitmap::new(setup.width(), setup.height(), resolution).expect("page")
}

/// Rows that have ink.
fn inked_rows(page: &Bitmap) -> Vec<u32> {
    (0..page.height())
        .filter(|y| page.row(*y).iter().any(|b| *b != 0))
        .collect()
}

/// Where `needle` appears in `page` pixel for pixel (its whole rectangle equal), as
/// the top-left corners of all matches.
fn find(page: &Bitmap, needle: &Bitmap, rows: std::ops::Range<u32>) -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    let needle_ink: Vec<(u32, u32)> = (0..needle.height())
        .flat_map(|y| (0..needle.width()).map(move |x| (x, y)))
        .filter(|(x, y)| needle.get(*x, *y))
        .collect();
    assert!(!needle_ink.is_empty());
    for top in rows {
        if top + needle.height() > page.height() {
            break;
        }
        for left in 0..=page.width() - needle.width() {
            let (x0, y0) = needle_ink[0];
            if !page.get(left + x0, top + y0) {
                continue;
            }
            let same = (0..needle.height()).all(|y| {
                (0..needle.width()).all(|x| page.get(left + x, top + y) == needle.get(x, y))
            });
            if same {
                found.push((left, top));
            }
        }
    }
    found
}

#[test]
fn header_prints_at_the_top_with_the_right_page_label() {
    let fonts = common::fonts();
    for resolution in [Resolution::FINE, Resolution::STANDARD] {
        let mut pages = vec![blank(resolution), blank(resolution), blank(resolution)];
        let fidelity = annotate::stamp_headers(&mut pages, &header(), &fonts).expect("stamps");
        assert!(fidelity.notes.is_empty(), "{:?}", fidelity.notes);
        let setup = PageSetup {
            resolution,
            ..PageSetup::default()
        };
        let band = annotate::header_band(&header(), &fonts, &setup).expect("band");
        // Thin: about 6 mm, well inside the usual 15 mm top margin.
        let mm = f32::from(resolution.y_dpi) / 25.4;
        assert!((band as f32) < 7.0 * mm, "band of {band} rows");
        for (index, page) in pages.iter().enumerate() {
            let rows = inked_rows(page);
            assert!(!rows.is_empty(), "page {} has a header", index + 1);
            assert!(rows.iter().all(|y| *y < band), "ink only in the band");
            assert!(rows.len() as f32 >= 2.0 * mm, "glyph rows present");

            let left =
                annotate::render_line(&header().text(), &fonts, 9.0, resolution).expect("renders");
            let at = find(page, &left, 0..band);
            assert_eq!(at.len(), 1, "date, name and number at the left: {at:?}");
            assert!(at[0].0 < 60, "left end: {at:?}");

            for label_page in 1..=3 {
                let label = annotate::render_line(
                    &annotate::page_label(label_page, 3),
                    &fonts,
                    9.0,
                    resolution,
                )
                .expect("renders");
                let at = find(page, &label, 0..band);
                if label_page == index + 1 {
                    assert_eq!(at.len(), 1, "page {}: its label once", index + 1);
                    let right = at[0].0 + label.width();
                    assert!(right > 1728 - 60, "label at the right end, ends at {right}");
                } else {
                    assert!(
                        at.is_empty(),
                        "page {}: not label {label_page}/3",
                        index + 1
                    );
                }
            }
        }
    }
}

#[test]
fn header_clears_its_band_and_says_so() {
    let fonts = common::fonts();
    let mut page = blank(Resolution::FINE);
    // A page printed to its top edge, and ink below the band that must stay.
    for x in 0..1728 {
        page.set(x, 0, true);
        page.set(x, 10, true);
        page.set(x, 500, true);
    }
    let mut pages = vec![page.clone()];
    let fidelity = annotate::stamp_headers(&mut pages, &header(), &fonts).expect("stamps");
    assert_eq!(fidelity.notes, [Note::Cropped { page: 1 }]);
    let mut alone = vec![blank(Resolution::FINE)];
    annotate::stamp_headers(&mut alone, &header(), &fonts).expect("stamps");
    let band = annotate::header_band(&header(), &fonts, &PageSetup::default()).expect("band");
    for y in 0..band {
        assert_eq!(pages[0].row(y), alone[0].row(y), "row {y}: only the header");
    }
    for y in band..page.height() {
        assert_eq!(pages[0].row(y), page.row(y), "row {y}: untouched");
    }
}

#[test]
fn long_sender_names_are_shortened_not_overprinted() {
    let fonts = common::fonts();
    let mut long = header();
    long.sender_name = "A very long company name ".repeat(10);
    let mut pages = vec![blank(Resolution::FINE)];
    annotate::stamp_headers(&mut pages, &long, &fonts).expect("stamps");
    let label = annotate::render_line(&annotate::page_label(1, 1), &fonts, 9.0, Resolution::FINE)
        .expect("renders");
    assert_eq!(find(&pages[0], &label, 0..80).len(), 1, "label intact");
}

#[test]
fn cover_page_lists_recipient_sender_date_and_pages() {
    let fonts = common::fonts();
    let cover = Cover {
        to: vec!["Jane Smith".into(), "Accounts Payable".into()],
        from: "ACME Widgets Ltd".into(),
        from_number: "+44 20 7946 0000".into(),
        date_time: Some(DateTime::from_unix(1_709_210_096, 0)),
        pages: 4,
        note: "Please find our quotation attached.\n请查收附件中的报价单。".into(),
    };
    let setup = PageSetup::default();
    let rendered = annotate::cover_page(&cover, &fonts, &setup).expect("cover");
    assert_eq!(rendered.pages.len(), 1);
    assert!(
        rendered.fidelity.notes.is_empty(),
        "{:?}",
        rendered.fidelity.notes
    );
    let page = &rendered.pages[0];
    assert_eq!((page.width(), page.height()), (1728, 2292));
    for text in [
        "FAX",
        "To:",
        "Jane Smith",
        "Accounts Payable",
        "ACME Widgets Ltd",
        "2024-02-29 12:34",
        "4 (including this page)",
        "请查收附件中的报价单。",
    ] {
        let size = if text == "FAX" { 28.0 } else { 12.0 };
        let line = annotate::render_line(text, &fonts, size, Resolution::FINE).expect("renders");
        assert_eq!(
            find(page, &line, 0..page.height() / 2).len(),
            1,
            "{text:?} printed once"
        );
    }
}

#[test]
fn cover_note_too_long_for_the_page_is_cut_and_noted() {
    let fonts = common::fonts();
    let cover = Cover {
        to: vec!["Jane Smith".into()],
        note: "line\n".repeat(500),
        ..Cover::default()
    };
    let rendered = annotate::cover_page(&cover, &fonts, &PageSetup::default()).expect("cover");
    assert_eq!(rendered.fidelity.notes, [Note::Cropped { page: 1 }]);
    let rows = inked_rows(&rendered.pages[0]);
    let bottom_margin = (15.0 / 25.4 * 196.0) as u32;
    assert!(rows.iter().all(|y| *y < 2292 - bottom_margin + 2));
}
