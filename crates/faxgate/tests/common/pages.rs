//! Fax pages for tests: multi-page TIFF inputs made with `faxgate convert`, and
//! page-by-page pixel comparison of a sent and a received TIFF.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use fax_t4::Bitmap;

/// A path relative to the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// The `faxgate` binary Cargo built for this test run.
pub fn faxgate_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_faxgate"))
}

/// Writes the PBM pages (paths relative to the repository root) as one TIFF Class F
/// file coded with `compression` ("mh", "mr" or "mmr"), at fine resolution.
pub fn make_fax_tiff(pbm_pages: &[&str], compression: &str, out: &Path) {
    let output = Command::new(faxgate_binary())
        .arg("convert")
        .args(pbm_pages.iter().map(|p| repo_path(p)))
        .arg("-o")
        .arg(out)
        .args(["--compression", compression])
        .output()
        .expect("running faxgate convert");
    assert!(
        output.status.success(),
        "faxgate convert {pbm_pages:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One decoded page of a TIFF file.
pub struct Page {
    /// The pixels, 1 = black, with the page's resolution.
    pub bitmap: Bitmap,
    /// Rows the decoder could not decode.
    pub bad_rows: u32,
}

/// Decodes every page of a TIFF file.
pub fn read_pages(path: &Path) -> Result<Vec<Page>, String> {
    let data = fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let reader = fax_tiff::Reader::new(&data).map_err(|e| format!("{}: {e}", path.display()))?;
    (0..reader.page_count())
        .map(|index| {
            let page = reader
                .decode_page(index)
                .map_err(|e| format!("{} page {}: {e}", path.display(), index + 1))?;
            Ok(Page {
                bitmap: page.bitmap,
                bad_rows: page.bad_rows,
            })
        })
        .collect()
}

/// Checks that `received` holds the pages of `sent`, pixel for pixel.
pub fn compare_pages(sent: &Path, received: &Path) -> Result<(), String> {
    let differing = differing_rows(sent, received)?;
    let mut problems = String::new();
    for (index, rows) in differing.iter().enumerate() {
        if let Some(first) = rows.first() {
            let _ = writeln!(
                problems,
                "page {}: {} rows differ, the first is row {first}",
                index + 1,
                rows.len()
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The rows in which each received page differs from the sent one (empty lists when
/// the pages are identical). An error means the files do not even match in shape:
/// page count, page sizes, or a file that does not decode.
///
/// When a page arrived at another vertical resolution (a receiver without fine
/// resolution), the sent page is first brought to that resolution the way `fax_t4`
/// does it, so the comparison happens at the resolution the call negotiated.
pub fn differing_rows(sent: &Path, received: &Path) -> Result<Vec<Vec<u32>>, String> {
    let sent_pages = read_pages(sent)?;
    let received_pages = read_pages(received)?;
    if sent_pages.len() != received_pages.len() {
        return Err(format!(
            "sent {} pages, received {}",
            sent_pages.len(),
            received_pages.len()
        ));
    }
    let mut problems = String::new();
    let mut differing = Vec::new();
    for (number, (want, got)) in sent_pages.iter().zip(&received_pages).enumerate() {
        let number = number + 1;
        let got = &got.bitmap;
        let want_y_dpi = want.bitmap.resolution().y_dpi;
        let got_y_dpi = got.resolution().y_dpi;
        let converted;
        let want = if want_y_dpi == got_y_dpi {
            &want.bitmap
        } else {
            converted = fax_t4::convert::to_vertical_resolution(&want.bitmap, got_y_dpi)
                .map_err(|e| format!("page {number}: converting to {got_y_dpi} lpi: {e}"))?;
            &converted
        };
        if (want.width(), want.height()) != (got.width(), got.height()) {
            let _ = writeln!(
                problems,
                "page {number}: sent {}x{} ({want_y_dpi} lpi), received {}x{} ({got_y_dpi} lpi)",
                want.width(),
                want.height(),
                got.width(),
                got.height()
            );
            continue;
        }
        differing.push(
            (0..want.height())
                .filter(|&y| want.row(y) != got.row(y))
                .collect(),
        );
    }
    if problems.is_empty() {
        Ok(differing)
    } else {
        Err(problems)
    }
}
