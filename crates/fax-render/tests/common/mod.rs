//! Shared by the integration tests: the Debian fonts `scripts/test` installs, the
//! sample documents, and golden reference pages.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fax_render::fonts::{Face, FontSet};
use fax_t4::Bitmap;

/// DejaVu Sans Mono (fonts-dejavu-core) then WenQuanYi Zen Hei (fonts-wqy-zenhei).
pub fn fonts() -> FontSet {
    let mono = Face::from_file(
        "DejaVu Sans Mono",
        Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
        0,
    )
    .expect("fonts-dejavu-core is installed (scripts/test installs it)");
    let cjk = Face::from_file(
        "WenQuanYi Zen Hei",
        Path::new("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
        0,
    )
    .expect("fonts-wqy-zenhei is installed (scripts/test installs it)");
    FontSet::new(vec![mono, cjk]).expect("two faces")
}

pub fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/docs")
}

pub fn read_doc(name: &str) -> Vec<u8> {
    std::fs::read(docs_dir().join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// Writes pages as an MMR TIFF (how goldens are stored: small, and any fax viewer
/// shows them).
pub fn write_tiff(path: &Path, pages: &[Bitmap]) {
    let mut writer = fax_tiff::Writer::new(fax_tiff::WriteOptions::default()).expect("writer");
    for page in pages {
        writer
            .add_page(page, fax_tiff::PageEncoding::Ccitt(fax_t4::Scheme::Mmr))
            .expect("adds page");
    }
    std::fs::write(path, writer.finish().expect("finishes")).expect("writes TIFF");
}

pub fn read_tiff(path: &Path) -> Vec<Bitmap> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let reader = fax_tiff::Reader::new(&data).expect("golden TIFF parses");
    (0..reader.page_count())
        .map(|i| reader.decode_page(i).expect("golden page decodes").bitmap)
        .collect()
}

/// Compares rendered pages with the golden file `testdata/docs/golden/NAME.tif`,
/// allowing a few differing pixels per page (font rasterizer or library updates move
/// edge pixels, not glyphs). With `FAX_RENDER_BLESS=1` the golden file is (re)written
/// instead; look at it before committing.
pub fn check_golden(name: &str, pages: &[Bitmap]) {
    let path = docs_dir().join("golden").join(format!("{name}.tif"));
    if std::env::var_os("FAX_RENDER_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        write_tiff(&path, pages);
        return;
    }
    let golden = read_tiff(&path);
    assert_eq!(golden.len(), pages.len(), "{name}: page count");
    for (index, (want, got)) in golden.iter().zip(pages).enumerate() {
        assert_eq!(
            (want.width(), want.height()),
            (got.width(), got.height()),
            "{name} page {}: size",
            index + 1
        );
        let differing: u64 = want
            .packed()
            .iter()
            .zip(got.packed())
            .map(|(a, b)| u64::from((a ^ b).count_ones()))
            .sum();
        // 0.5% of the black pixels, at least 50.
        let allowed = (want.black_pixels() / 200).max(50);
        assert!(
            differing <= allowed,
            "{name} page {}: {differing} pixels differ from the golden page (allowed {allowed})",
            index + 1
        );
    }
}
