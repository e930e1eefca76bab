//! Greyscale rasters to bilevel pages: fitting to the page, thresholding line art and
//! halftoning continuous tones with a clustered-dot screen.
//!
//! Why clustered dots: a fax codes runs of equal pixels. A fine error-diffusion dither
//! breaks every run and can code larger in MMR than the raw bitmap (a photo page here:
//! 515 KB against 173 KB for Ghostscript's screen, minutes more on the line), and it
//! smears on a 200 dpi printer. Dots that grow from a centre keep runs long and survive
//! the fax machine's own printing.

use fax_t4::{Bitmap, Resolution};

use crate::{Error, Fidelity, Limits, Note, PageSetup, Rendered};

/// An 8-bit greyscale raster, 0 = black, 255 = white, with its resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct GreyImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Horizontal dots per inch (a guess for images that do not say).
    pub x_dpi: f32,
    /// Vertical dots per inch.
    pub y_dpi: f32,
    /// `width * height` samples, row by row.
    pub data: Vec<u8>,
}

/// How grey becomes black and white.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binarize {
    /// Black below mid-grey: text, drawings, scans of typed pages.
    Threshold,
    /// Clustered-dot halftone: photos and grey fills.
    Halftone,
    /// Decide from the picture: halftone if it has a real share of middle greys.
    Auto,
}

/// Side of the halftone tile. The dots sit on a 45-degree lattice with vectors (4, 4)
/// and (4, -4): two dots per 8 x 8 tile, 36 lines per inch at 204 dpi, coarse enough to
/// keep runs long and fine enough to show a face.
const TILE: usize = 8;

/// The halftone threshold tile: each pixel's rank in the order the dots grow, scaled to
/// 1..=255 so that 0 stays black and 255 stays white.
fn halftone_tile() -> [[u8; TILE]; TILE] {
    let mut spots: Vec<(f32, usize)> = Vec::with_capacity(TILE * TILE);
    for y in 0..TILE {
        for x in 0..TILE {
            // Lattice coordinates of the pixel centre; a dot centre at whole numbers.
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let s = (px + py) / 8.0;
            let t = (px - py) / 8.0;
            let tau = std::f32::consts::TAU;
            let spot = (tau * s).cos() + (tau * t).cos();
            spots.push((spot, y * TILE + x));
        }
    }
    // Highest spot value first: that pixel turns black at the lightest grey.
    spots.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut tile = [[0u8; TILE]; TILE];
    let cells = (TILE * TILE) as f32;
    for (rank, &(_, index)) in spots.iter().enumerate() {
        // A pixel of grey g is black when g < threshold.
        let threshold = 255.0 * (cells - rank as f32) / (cells + 1.0);
        tile[index / TILE][index % TILE] = threshold.round().clamp(1.0, 255.0) as u8;
    }
    tile
}

/// Whether a picture is continuous-tone: more than 4% of its pixels are middle greys.
/// Anti-aliased text has grey only along edges, well under that.
pub fn is_photographic(grey: &GreyImage) -> bool {
    if grey.data.is_empty() {
        return false;
    }
    let middle = grey
        .data
        .iter()
        .filter(|&&g| (48..208).contains(&g))
        .count();
    middle * 25 > grey.data.len()
}

/// Bilevel page from a grey raster of the same size. `row_step` is 2 when the raster
/// rows are standard-resolution rows and the halftone should keep round dots.
fn binarize_into(grey: &GreyImage, mode: Binarize, row_step: usize) -> Result<Bitmap, Error> {
    let resolution = Resolution::FINE;
    let mut page = Bitmap::new(grey.width, grey.height, resolution)?;
    let tile = halftone_tile();
    let width = grey.width as usize;
    for (y, source) in grey.data.chunks_exact(width.max(1)).enumerate() {
        let row = page.row_mut(y as u32);
        // The tile is 8 pixels wide, one packed byte: the same 8 thresholds for every
        // byte of the row, which lets the compiler compare 8 (or more) pixels at once.
        let thresholds = match mode {
            Binarize::Halftone => tile[(y * row_step) % TILE],
            _ => [128; TILE],
        };
        let chunks = source.chunks_exact(TILE);
        let tail = chunks.remainder();
        for (byte, pixels) in row.iter_mut().zip(chunks) {
            // Eight 0/1 bytes, then one multiplication gathers them into the top byte,
            // the first pixel in the most significant bit: bit 8i moves to 63 - i.
            let mut flags = [0u8; TILE];
            for ((flag, &g), &t) in flags.iter_mut().zip(pixels).zip(&thresholds) {
                *flag = u8::from(g < t);
            }
            let gathered = u64::from_le_bytes(flags).wrapping_mul(0x8040_2010_0804_0201);
            *byte = (gathered >> 56) as u8;
        }
        if !tail.is_empty()
            && let Some(byte) = row.get_mut(width / TILE)
        {
            let mut bits = 0u8;
            for (i, (&g, &t)) in tail.iter().zip(&thresholds).enumerate() {
                bits |= u8::from(g < t) << (7 - i);
            }
            *byte = bits;
        }
    }
    Ok(page)
}

/// Whether any sample is neither black nor white. Blocks are folded without an early
/// exit inside (the compiler vectorizes that), with one between blocks.
fn has_middle_grey(data: &[u8]) -> bool {
    data.chunks(4096).any(|block| {
        block
            .iter()
            .fold(0u8, |any, &g| any | u8::from(g.wrapping_sub(1) < 254))
            != 0
    })
}

/// Resamples `grey` to `width x height` by area averaging (when shrinking) or by
/// nearest neighbour (when enlarging, which keeps line art sharp).
pub fn resample(grey: &GreyImage, width: u32, height: u32) -> GreyImage {
    let (sw, sh) = (grey.width as usize, grey.height as usize);
    let (dw, dh) = (width as usize, height as usize);
    let mut out = vec![255u8; dw * dh];
    if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
        return GreyImage {
            width,
            height,
            x_dpi: grey.x_dpi,
            y_dpi: grey.y_dpi,
            data: out,
        };
    }
    // Source span [start, end) for each destination column and row.
    let spans = |src: usize, dst: usize| -> Vec<(usize, usize)> {
        (0..dst)
            .map(|i| {
                let start = i * src / dst;
                if dst >= src {
                    return (start, start + 1);
                }
                let end = ((i + 1) * src).div_ceil(dst).clamp(start + 1, src);
                (start.min(src - 1), end)
            })
            .collect()
    };
    let columns = spans(sw, dw);
    let rows = spans(sh, dh);
    let mut sums = vec![0u32; dw];
    for (dy, &(y0, y1)) in rows.iter().enumerate() {
        sums.fill(0);
        for y in y0..y1 {
            let source = &grey.data[y * sw..(y + 1) * sw];
            for (sum, &(x0, x1)) in sums.iter_mut().zip(&columns) {
                *sum += source[x0..x1].iter().map(|&g| u32::from(g)).sum::<u32>();
            }
        }
        let line = &mut out[dy * dw..(dy + 1) * dw];
        for ((pixel, sum), &(x0, x1)) in line.iter_mut().zip(&sums).zip(&columns) {
            let count = ((x1 - x0) * (y1 - y0)) as u32;
            *pixel = (sum / count.max(1)) as u8;
        }
    }
    GreyImage {
        width,
        height,
        x_dpi: grey.x_dpi,
        y_dpi: grey.y_dpi,
        data: out,
    }
}

/// Places a picture on a page: scaled to the printable area if it is larger than it
/// (never enlarged beyond its own resolution, at most 2x for tiny pictures), centred
/// horizontally, at the top; then thresholded or halftoned.
pub fn place_on_page(
    grey: &GreyImage,
    setup: &PageSetup,
    mode: Binarize,
) -> Result<Rendered, Error> {
    let (left, top, area_w, area_h) = setup.text_area()?;
    let mut fidelity = Fidelity::default();
    // Physical size in page pixels at the picture's own resolution.
    let natural_w = f64::from(grey.width) * f64::from(setup.x_dpi()) / f64::from(grey.x_dpi);
    let natural_h = f64::from(grey.height) * f64::from(setup.y_dpi()) / f64::from(grey.y_dpi);
    let fit = (f64::from(area_w) / natural_w).min(f64::from(area_h) / natural_h);
    let scale = fit.min(2.0);
    let width = ((natural_w * scale).round() as u32).clamp(1, area_w);
    let height = ((natural_h * scale).round() as u32).clamp(1, area_h);
    if (scale - 1.0).abs() > 0.01 {
        fidelity.notes.push(Note::Scaled {
            page: 1,
            percent: (scale * 100.0).round() as u32,
        });
    }
    // Judged on the source: averaging while shrinking greys the edges of line art.
    let mode = match mode {
        Binarize::Auto if is_photographic(grey) => Binarize::Halftone,
        Binarize::Auto => Binarize::Threshold,
        fixed => fixed,
    };
    if mode == Binarize::Halftone {
        fidelity.notes.push(Note::Halftoned { page: 1 });
    }
    let scaled = resample(grey, width, height);
    let row_step = if setup.resolution.is_standard() { 2 } else { 1 };
    let picture = binarize_into(&scaled, mode, row_step)?;
    let mut page = Bitmap::new(setup.width(), setup.height(), setup.resolution)?;
    let x0 = left + (area_w - width) / 2;
    for y in 0..height {
        for x in 0..width {
            if picture.get(x, y) {
                page.set(x0 + x, top + y, true);
            }
        }
    }
    let mut rendered = Rendered {
        pages: vec![page],
        fidelity,
    };
    rendered.note_blank_pages();
    Ok(rendered)
}

/// Turns full-page grey rasters (from a PDF rasterizer run at the setup's resolution
/// and page size) into pages. Grey is halftoned: the rasterizer draws text and lines
/// without anti-aliasing, so only real grey (images, fills) meets the screen, and pure
/// black and white pass unchanged.
pub fn pages_from_rasters(rasters: &[GreyImage], setup: &PageSetup) -> Result<Rendered, Error> {
    let mut rendered = Rendered {
        pages: Vec::with_capacity(rasters.len()),
        fidelity: Fidelity::default(),
    };
    let row_step = if setup.resolution.is_standard() { 2 } else { 1 };
    for (index, raster) in rasters.iter().enumerate() {
        let raster = if (raster.width, raster.height) == (setup.width(), setup.height()) {
            std::borrow::Cow::Borrowed(raster)
        } else {
            rendered.fidelity.notes.push(Note::Scaled {
                page: index + 1,
                percent: (f64::from(setup.width()) * 100.0 / f64::from(raster.width.max(1))).round()
                    as u32,
            });
            std::borrow::Cow::Owned(resample(raster, setup.width(), setup.height()))
        };
        if has_middle_grey(&raster.data) {
            rendered
                .fidelity
                .notes
                .push(Note::Halftoned { page: index + 1 });
        }
        let mut page = binarize_into(&raster, Binarize::Halftone, row_step)?;
        page.set_resolution(setup.resolution);
        rendered.pages.push(page);
    }
    rendered.note_blank_pages();
    Ok(rendered)
}

/// One full-page grey raster of exactly the page's size (see [`pages_from_rasters`])
/// to a page; also says whether it held grey that was halftoned.
pub fn page_from_raster(raster: &GreyImage, setup: &PageSetup) -> Result<(Bitmap, bool), Error> {
    if (raster.width, raster.height) != (setup.width(), setup.height()) {
        return Err(Error::Damaged {
            kind: "greyscale page raster",
            reason: format!(
                "{} x {} pixels, not the page's {} x {}",
                raster.width,
                raster.height,
                setup.width(),
                setup.height()
            ),
        });
    }
    let row_step = if setup.resolution.is_standard() { 2 } else { 1 };
    let halftoned = has_middle_grey(&raster.data);
    let mut page = binarize_into(raster, Binarize::Halftone, row_step)?;
    page.set_resolution(setup.resolution);
    Ok((page, halftoned))
}

/// Parses a stream of binary PGM images (`P5`, maxval 255, one after another, as
/// Ghostscript's `pgmraw` device and poppler write them), checking each header against
/// `limits` before allocating.
pub fn parse_pgm_stream(
    data: &[u8],
    x_dpi: f32,
    y_dpi: f32,
    limits: &Limits,
) -> Result<Vec<GreyImage>, Error> {
    Ok(pgm_stream_views(data, limits)?
        .into_iter()
        .map(|view| GreyImage {
            width: view.width,
            height: view.height,
            x_dpi,
            y_dpi,
            data: view.data.to_vec(),
        })
        .collect())
}

/// One page of a PGM stream, its samples still in the stream's buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GreyView<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` samples, row by row, 0 = black.
    pub data: &'a [u8],
}

/// [`parse_pgm_stream`] without copying the samples: a caller that places each page on
/// a fresh raster anyway saves a page-sized copy and its memory.
pub fn pgm_stream_views<'a>(data: &'a [u8], limits: &Limits) -> Result<Vec<GreyView<'a>>, Error> {
    Ok(
        crate::netpbm::frames(data, crate::netpbm::Kind::Pgm, limits)?
            .into_iter()
            .map(|frame| GreyView {
                width: frame.width,
                height: frame.height,
                data: frame.data,
            })
            .collect(),
    )
}

/// Refuses dimensions over the limits, or zero.
pub(crate) fn check_dimensions(width: u64, height: u64, limits: &Limits) -> Result<(), Error> {
    let side = width.max(height);
    if side > u64::from(limits.max_image_side) {
        return Err(Error::TooLarge {
            what: "image side (pixels)",
            got: side,
            max: u64::from(limits.max_image_side),
        });
    }
    if width * height > limits.max_image_pixels {
        return Err(Error::TooLarge {
            what: "image pixels",
            got: width * height,
            max: limits.max_image_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(Error::Damaged {
            kind: "image",
            reason: format!("{width} x {height} pixels"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_binarize_matches_pixel_by_pixel() {
        let tile = halftone_tile();
        for width in [1u32, 7, 8, 13, 64, 77] {
            let height = 11u32;
            let data: Vec<u8> = (0..width * height)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            let grey = GreyImage {
                width,
                height,
                x_dpi: 204.0,
                y_dpi: 196.0,
                data,
            };
            for (mode, row_step) in [
                (Binarize::Halftone, 1),
                (Binarize::Halftone, 2),
                (Binarize::Threshold, 1),
            ] {
                let page = binarize_into(&grey, mode, row_step).expect("page");
                for y in 0..height as usize {
                    let row = page.row(y as u32);
                    for x in 0..width as usize {
                        let g = grey.data[y * width as usize + x];
                        let want = match mode {
                            Binarize::Halftone => g < tile[(y * row_step) % TILE][x % TILE],
                            _ => g < 128,
                        };
                        let got = row[x / 8] & (0x80 >> (x % 8)) != 0;
                        assert_eq!(got, want, "{mode:?} width {width} at ({x}, {y})");
                    }
                }
            }
        }
        assert!(!has_middle_grey(&[0, 255, 255, 0]));
        assert!(has_middle_grey(&[0, 255, 1]));
        assert!(has_middle_grey(&[254]));
    }

    #[test]
    fn halftone_keeps_black_and_white_and_orders_greys() {
        let tile = halftone_tile();
        let flat: Vec<u8> = tile.iter().flatten().copied().collect();
        assert!(flat.iter().all(|&t| t >= 1));
        let black_at = |g: u8| flat.iter().filter(|&&t| g < t).count();
        assert_eq!(black_at(0), 64);
        assert_eq!(black_at(255), 0);
        assert!(black_at(64) > black_at(128) && black_at(128) > black_at(192));
        assert!((28..=36).contains(&black_at(128)), "{}", black_at(128));
    }

    #[test]
    fn shrinking_averages_areas() {
        let grey = GreyImage {
            width: 4,
            height: 2,
            x_dpi: 100.0,
            y_dpi: 100.0,
            data: vec![0, 255, 0, 255, 0, 255, 0, 255],
        };
        let half = resample(&grey, 2, 1);
        assert_eq!(half.data, vec![127, 127]);
    }

    #[test]
    fn pgm_stream_is_bounded_and_checked() {
        let limits = Limits::default();
        let two = b"P5\n2 1\n255\n\x00\xffP5 1 1 255 \x80".to_vec();
        let images = parse_pgm_stream(&two, 204.0, 196.0, &limits).expect("parses");
        assert_eq!(images.len(), 2);
        assert_eq!(images[1].data, vec![0x80]);
        assert!(matches!(
            parse_pgm_stream(b"P5 100000 100000 255\n", 1.0, 1.0, &limits),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(
            parse_pgm_stream(b"P5 10 10 255\n\0\0", 1.0, 1.0, &limits),
            Err(Error::Damaged { .. })
        ));
    }
}
