//! PDFs made by `tiff_to_pdf` as real readers see them: poppler's `pdfinfo` counts the
//! pages and gives their size, `pdftoppm` and Ghostscript render every page at the fax's
//! own resolution to exactly the pixels this crate decodes from the TIFF.
//!
//! Needs poppler-utils and ghostscript (scripts/test installs them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{first_difference, fixture, read, testdata};
use fax_t4::{Bitmap, Resolution};
use fax_tiff::{FillOrder, PageEncoding, Reader, WriteOptions, tiff_to_pdf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fax-tiff-pdf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Page `page` (from 1) of `pdf` rendered by `pdftoppm` as a bilevel bitmap.
fn poppler_page(pdf: &Path, page: usize, resolution: Resolution, dir: &Path) -> Bitmap {
    let prefix = dir.join(format!("poppler-{page}"));
    run(Command::new("pdftoppm")
        .args(["-mono", "-singlefile"])
        .args(["-f", &page.to_string(), "-l", &page.to_string()])
        .args(["-rx", &resolution.x_dpi.to_string()])
        .args(["-ry", &resolution.y_dpi.to_string()])
        .arg(pdf)
        .arg(&prefix));
    let pbm = read(&prefix.with_extension("pbm"));
    fax_t4::pbm::read(&pbm, resolution).expect("pdftoppm writes PBM")
}

/// Page `page` of `pdf` rendered by Ghostscript.
fn ghostscript_page(pdf: &Path, page: usize, resolution: Resolution, dir: &Path) -> Bitmap {
    let out = dir.join(format!("gs-{page}.pbm"));
    run(Command::new("gs")
        .args(["-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pbmraw"])
        .arg(format!("-dFirstPage={page}"))
        .arg(format!("-dLastPage={page}"))
        .arg(format!("-r{}x{}", resolution.x_dpi, resolution.y_dpi))
        .arg(format!("-sOutputFile={}", out.display()))
        .arg(pdf));
    fax_t4::pbm::read(&read(&out), resolution).expect("gs writes PBM")
}

/// Converts `tiff`, checks what pdfinfo says, and renders every page with poppler (and
/// the first `gs_pages` with Ghostscript) against the decoded TIFF.
fn check(name: &str, tiff: &[u8], gs_pages: usize) {
    let dir = scratch(name);
    let pdf = tiff_to_pdf(tiff).expect("converts");
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, &pdf).expect("write pdf");
    let reader = Reader::new(tiff).expect("tiff");

    let info = String::from_utf8_lossy(&run(Command::new("pdfinfo").arg(&path))).into_owned();
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["Pages:", &reader.page_count().to_string()]),
        "{name}: pdfinfo says\n{info}"
    );
    // pdfinfo is strict about the cross-reference table: a wrong offset makes it
    // report a damaged file on stderr and rebuild the table.
    let strict = Command::new("pdfinfo")
        .arg(&path)
        .output()
        .expect("pdfinfo");
    assert!(
        strict.stderr.is_empty(),
        "{name}: pdfinfo complains: {}",
        String::from_utf8_lossy(&strict.stderr)
    );

    for page in reader.pages() {
        let want = reader.decode_page(page.index).expect("decodes").bitmap;
        let number = page.index + 1;
        let got = poppler_page(&path, number, page.resolution, &dir);
        if let Some(diff) = first_difference(&got, &want) {
            panic!("{name}: pdftoppm page {number}: {diff}");
        }
        if page.index < gs_pages {
            let got = ghostscript_page(&path, number, page.resolution, &dir);
            if let Some(diff) = first_difference(&got, &want) {
                panic!("{name}: gs page {number}: {diff}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn eight_page_mmr_fax_copied_as_stored_renders_to_the_same_pixels() {
    // One MMR strip per page, least significant bit first: copied, bits reversed.
    let tiff = read(&testdata("ccitt/ccitt1-8_g4_classf.tif"));
    check("g4-classf", &tiff, 2);
}

#[test]
fn mh_and_multi_strip_pages_coded_again_render_to_the_same_pixels() {
    check(
        "mh-classf",
        &read(&testdata("ccitt/ccitt1-8_mh_classf.tif")),
        1,
    );
    check(
        "mmr-strips",
        &read(&fixture("ccitt2_mmr_strips_lsb_cm.tif")),
        1,
    );
    check(
        "packbits-blackiszero",
        &read(&fixture("ccitt2_packbits_blackiszero_lsb.tif")),
        1,
    );
}

#[test]
fn standard_and_fine_pages_keep_their_paper_size() {
    // A4 width at both resolutions, 297 mm tall: 1143 rows at 98 lpi, 2286 at 196.
    let mut pages = Vec::new();
    for (resolution, height) in [(Resolution::STANDARD, 1143), (Resolution::FINE, 2286)] {
        let mut bitmap = Bitmap::new(1728, height, resolution).expect("bitmap");
        // A frame and a diagonal, so an inverted or shifted image cannot match.
        for y in 0..height {
            for x in [0, 1727, (y * 1727 / height.max(1))] {
                bitmap.set(x, y, true);
            }
        }
        for x in 0..1728 {
            bitmap.set(x, 0, true);
            bitmap.set(x, height - 1, true);
        }
        pages.push(bitmap);
    }
    let tiff = fax_tiff::write(
        &pages,
        PageEncoding::Ccitt(fax_t4::Scheme::Mmr),
        &WriteOptions {
            fill_order: FillOrder::MsbFirst,
            ..WriteOptions::default()
        },
    )
    .expect("tiff");
    check("standard-fine", &tiff, 2);

    let dir = scratch("sizes");
    let path = dir.join("sizes.pdf");
    std::fs::write(&path, tiff_to_pdf(&tiff).expect("pdf")).expect("write");
    let info = String::from_utf8_lossy(&run(Command::new("pdfinfo")
        .args(["-f", "1", "-l", "2"])
        .arg(&path)))
    .into_owned();
    // 1728 / 204 in = 609.88 pt wide; 1143 / 98 in and 2286 / 196 in = 839.76 pt tall.
    let sizes: Vec<&str> = info
        .lines()
        .filter(|l| l.starts_with("Page") && l.contains("size:"))
        .collect();
    assert_eq!(sizes.len(), 2, "{info}");
    for line in sizes {
        assert!(line.contains("609.882 x 839.755 pts"), "{line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
