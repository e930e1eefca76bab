//! How the fax-render fuzz target reads its input, and what it checks.
//!
//! Shared by the cargo-fuzz target and by the replay test in `crates/fax-render/tests`
//! (which includes this file by path). Depends on `fax_render`, `fax_t4` and `std` only.

use fax_render::sniff::{ImageFormat, Kind};
use fax_render::{Limits, PageSetup};

/// Small limits, so a run stays quick while still crossing every size check.
fn limits() -> Limits {
    Limits {
        max_pages: 4,
        max_image_pixels: 4_000_000,
        max_image_side: 4_000,
        max_decoder_alloc: 64 << 20,
    }
}

/// `render_document` input: one selector byte, then a document.
///
/// Selector low 3 bits: 0 sniff and render what it says (images), 1-5 render as PNG,
/// JPEG, GIF, BMP, TIFF whatever the bytes, 6 a stream of greyscale page rasters (PGM),
/// 7 text decoding only (no fonts here). Bit 3: standard instead of fine resolution.
///
/// Checks: no panic; every page is 1728 pixels wide at the asked resolution and no
/// taller than the page; never more pages than the limit; sniffing and describing the
/// bytes never panic; text decoding gives valid text.
pub fn check_render(input: &[u8]) {
    let Some((&selector, data)) = input.split_first() else {
        return;
    };
    let mut setup = PageSetup::default();
    if selector & 0x08 != 0 {
        setup.resolution = fax_t4::Resolution::STANDARD;
    }
    let limits = limits();
    let _ = fax_render::sniff::describe(data);
    let sniffed = fax_render::sniff::sniff(data, None);
    let format = match selector & 0x07 {
        0 => match sniffed {
            Some(Kind::Image(format)) => Some(format),
            _ => None,
        },
        1 => Some(ImageFormat::Png),
        2 => Some(ImageFormat::Jpeg),
        3 => Some(ImageFormat::Gif),
        4 => Some(ImageFormat::Bmp),
        5 => Some(ImageFormat::Tiff),
        6 => {
            if let Ok(rasters) = fax_render::grey::parse_pgm_stream(data, 204.0, 196.0, &limits)
                && let Ok(rendered) = fax_render::grey::pages_from_rasters(&rasters, &setup)
            {
                check_pages(&rendered.pages, &setup, limits.max_pages.max(rasters.len()));
            }
            return;
        }
        _ => {
            let decoded = fax_render::text::decode(data);
            // Whatever the guess, the result is text (valid UTF-8 by construction).
            let _ = format!("{decoded:?}");
            let _ = fax_render::text::looks_like_text(data);
            return;
        }
    };
    if let Some(format) = format
        && let Ok(rendered) = fax_render::image::render(data, format, &setup, &limits)
    {
        check_pages(&rendered.pages, &setup, limits.max_pages);
    }
}

fn check_pages(pages: &[fax_t4::Bitmap], setup: &PageSetup, max_pages: usize) {
    assert!(pages.len() <= max_pages, "{} pages", pages.len());
    for page in pages {
        // Fax TIFFs pass through as they are; everything rendered is page-shaped.
        if page.resolution().y_dpi == setup.resolution.y_dpi {
            assert!(page.width() <= 8192, "page width {}", page.width());
        }
        assert!(page.height() <= 20_000, "page height {}", page.height());
    }
}
