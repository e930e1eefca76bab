//! Text documents: encodings, CJK coverage, wrapping, form feeds, golden pages.

mod common;

use fax_render::text::{self, TextStyle};
use fax_render::{Error, Limits, Note, PageSetup, Rendered};
use fax_t4::Resolution;

fn render(data: &[u8], resolution: Resolution) -> Rendered {
    let setup = PageSetup {
        resolution,
        ..PageSetup::default()
    };
    text::render_bytes(
        data,
        &common::fonts(),
        &setup,
        &TextStyle::default(),
        &Limits::default(),
    )
    .expect("renders")
}

#[test]
fn gbk_sample_is_detected_and_renders_like_utf8() {
    let utf8 = render(&common::read_doc("chinese-utf8.txt"), Resolution::FINE);
    let gbk = render(&common::read_doc("chinese-gbk.txt"), Resolution::FINE);
    assert_eq!(utf8.pages, gbk.pages, "same pixels from either encoding");
    assert_eq!(
        gbk.fidelity.notes[0],
        Note::Encoding {
            encoding: "GBK".into(),
            guessed: true
        }
    );
    assert_eq!(
        utf8.fidelity.notes[0],
        Note::Encoding {
            encoding: "UTF-8".into(),
            guessed: false
        }
    );
}

#[test]
fn chinese_sample_has_no_tofu() {
    let rendered = render(&common::read_doc("chinese-utf8.txt"), Resolution::FINE);
    assert_eq!(rendered.pages.len(), 1);
    assert!(
        !rendered
            .fidelity
            .notes
            .iter()
            .any(|n| matches!(n, Note::MissingGlyphs { .. })),
        "{:?}",
        rendered.fidelity
    );
    common::check_golden("chinese-utf8_fine", &rendered.pages);
}

#[test]
fn english_sample_wraps_and_breaks_page_at_form_feed() {
    let rendered = render(
        &common::read_doc("english-utf8-ff.txt"),
        Resolution::STANDARD,
    );
    assert_eq!(rendered.pages.len(), 2, "the form feed starts page 2");
    assert!(rendered.pages.iter().all(|p| p.black_pixels() > 1000));
    assert!(
        rendered
            .pages
            .iter()
            .all(|p| (p.width(), p.height()) == (1728, 1146))
    );
    assert!(
        rendered
            .fidelity
            .notes
            .contains(&Note::LinesWrapped { lines: 1 })
    );
    common::check_golden("english-utf8-ff_standard", &rendered.pages);
}

#[test]
fn utf16_with_bom_renders_like_utf8() {
    let utf8 = common::read_doc("chinese-utf8.txt");
    let text = std::str::from_utf8(&utf8).expect("UTF-8");
    let mut le = vec![0xff, 0xfe];
    let mut be = vec![0xfe, 0xff];
    for unit in text.encode_utf16() {
        le.extend(unit.to_le_bytes());
        be.extend(unit.to_be_bytes());
    }
    let want = render(&utf8, Resolution::STANDARD).pages;
    assert_eq!(render(&le, Resolution::STANDARD).pages, want);
    assert_eq!(render(&be, Resolution::STANDARD).pages, want);
}

#[test]
fn big5_is_detected() {
    let text = "傳真封面頁\n收件人：陳經理（業務部）\n請於收到後回覆確認，謝謝。\n\
                本傳真含有機密資料，如非指定收件人，請立即通知發件人並銷毀。\n";
    let (big5, _, unmappable) = encoding_rs::BIG5.encode(text);
    assert!(!unmappable);
    let decoded = text::decode(&big5);
    assert_eq!(decoded.encoding, "Big5");
    assert_eq!(decoded.text, text);
}

#[test]
fn characters_without_glyphs_are_reported_per_page() {
    let rendered = render(
        "page one\n\u{c}clef \u{1d11e}\u{1d11e} here\n".as_bytes(),
        Resolution::FINE,
    );
    assert_eq!(rendered.pages.len(), 2);
    assert!(
        rendered.fidelity.notes.contains(&Note::MissingGlyphs {
            page: 2,
            count: 2,
            chars: "\u{1d11e}".into()
        }),
        "{:?}",
        rendered.fidelity
    );
}

#[test]
fn page_limit_is_enforced() {
    let text = "\u{c}".repeat(10) + "x";
    let limits = Limits {
        max_pages: 5,
        ..Limits::default()
    };
    let result = text::render(
        &text,
        &common::fonts(),
        &PageSetup::default(),
        &TextStyle::default(),
        &limits,
    );
    assert!(
        matches!(result, Err(Error::TooLarge { what: "pages", .. })),
        "{result:?}"
    );
    let long = "line\n".repeat(100_000);
    let result = text::render(
        &long,
        &common::fonts(),
        &PageSetup::default(),
        &TextStyle::default(),
        &Limits::default(),
    );
    assert!(
        matches!(result, Err(Error::TooLarge { what: "pages", .. })),
        "{result:?}"
    );
}

#[test]
fn blank_text_is_one_blank_page() {
    let rendered = render(b"\n\n", Resolution::FINE);
    assert_eq!(rendered.pages.len(), 1);
    assert!(
        rendered
            .fidelity
            .notes
            .contains(&Note::BlankPage { page: 1 })
    );
}
