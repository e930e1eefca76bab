//! What the fax-tiff fuzz target does with its input, and what it checks.
//!
//! Shared by the cargo-fuzz target and by the replay test in `crates/fax-tiff/tests`
//! (which includes this file by path). Depends on `fax_tiff` and `std` only.

use fax_tiff::{Limits, Reader};

/// Parses `input` as a TIFF file with the default limits and decodes every page, checking
/// that what comes back stays inside the limits and matches what the directory claims.
/// Panics on a violation.
pub fn check_tiff(input: &[u8]) {
    let limits = Limits::default();
    let Ok(reader) = Reader::new(input) else {
        return;
    };
    let count = reader.page_count();
    assert!(count >= 1, "a parsed file with no pages");
    assert!(count <= limits.max_pages as usize, "{count} pages");
    assert_eq!(reader.pages().len(), count);
    for (index, info) in reader.pages().iter().enumerate() {
        assert_eq!(info.index, index);
        assert!(
            (1..=limits.max_width).contains(&info.width),
            "page {index}: width {}",
            info.width
        );
        assert!(
            info.height <= limits.max_height,
            "page {index}: height {}",
            info.height
        );
        assert!(info.encoded_bytes <= limits.max_page_bytes);
        assert!(
            info.encoded_bytes <= input.len() as u64,
            "strips past the end"
        );
        let strips = reader
            .strip_data(index)
            .unwrap_or_else(|e| panic!("page {index}: strips of a parsed page: {e}"));
        assert_eq!(strips.len(), info.strips);
        let stored: u64 = strips.iter().map(|s| s.len() as u64).sum();
        assert_eq!(stored, info.encoded_bytes, "page {index}: strip bytes");

        let Ok(page) = reader.decode_page(index) else {
            continue;
        };
        let bitmap = &page.bitmap;
        assert_eq!(bitmap.width(), info.width, "page {index}: width");
        assert_eq!(bitmap.height(), info.height, "page {index}: height");
        assert_eq!(
            bitmap.resolution(),
            info.resolution,
            "page {index}: resolution"
        );
        assert!(page.bad_rows <= bitmap.height());
        assert!(page.longest_bad_run <= page.bad_rows);
    }
    assert!(reader.decode_page(count).is_err(), "a page past the last");
    assert!(
        reader.strip_data(count).is_err(),
        "strips past the last page"
    );
}
