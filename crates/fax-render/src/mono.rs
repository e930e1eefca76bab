//! Bilevel page rasters from a PDF rasterizer (binary PBM, as `pdftoppm -mono` writes
//! them): parsing the stream, telling pages the rasterizer screened (grey it turned into
//! its own fine dot pattern) from line art, and placing a page on the fax page.
//!
//! Why a bilevel path at all: for a page of text and lines a rasterizer that draws
//! straight into one bit per pixel does about a third less work than one drawing grey
//! (no alpha channel to composite, an eighth of the bytes to write), and thresholding
//! grey drawn without anti-aliasing gives the same pixels. Pages with pictures or grey
//! fills still go through [`crate::grey`], whose clustered-dot halftone codes far
//! smaller than a rasterizer's dispersed dither (see there).

use fax_t4::Bitmap;
use fax_t4::bitmap::stride_for;

use crate::netpbm::{Kind, frames};
use crate::{Error, Limits, PageSetup};

/// One page of a PBM stream, its rows still in the stream's buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BitView<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Packed rows, `(width + 7) / 8` bytes each, first pixel in the top bit, 1 = black.
    pub data: &'a [u8],
}

impl BitView<'_> {
    fn stride(&self) -> usize {
        stride_for(self.width)
    }

    fn row(&self, y: usize) -> &[u8] {
        let stride = self.stride();
        &self.data[y * stride..(y + 1) * stride]
    }
}

/// Parses a stream of binary PBM images (`P4`, one after another), checking each header
/// against `limits` before using it.
pub fn pbm_stream_views<'a>(data: &'a [u8], limits: &Limits) -> Result<Vec<BitView<'a>>, Error> {
    Ok(frames(data, Kind::Pbm, limits)?
        .into_iter()
        .map(|frame| BitView {
            width: frame.width,
            height: frame.height,
            data: frame.data,
        })
        .collect())
}

/// Pixels that differ from all four neighbours, above which a page counts as screened.
/// A rasterizer's dispersed dither makes nearly every dot such a pixel: a light grey
/// fill of 2 x 1 cm at fine resolution gives a thousand or more. Text and rules at fax
/// resolutions give a handful (a pixel of a serif, a dot in a counter).
const SCREENED_PIXELS: u64 = 1000;

/// Whether the page holds grey that the rasterizer screened with its own dither (a grey
/// fill, a shading, a picture): such a page is better rendered in grey and halftoned
/// here. Counts pixels that differ from their four neighbours.
pub fn is_screened(page: BitView<'_>) -> bool {
    isolated_pixels(page, SCREENED_PIXELS) > SCREENED_PIXELS
}

/// Pixels (black or white) whose four neighbours all have the other colour, counted
/// until past `enough`; pixels beyond the edges count as white. Rows are read as 64-bit
/// words, first pixel in the top bit.
fn isolated_pixels(page: BitView<'_>, enough: u64) -> u64 {
    let (stride, height) = (page.stride(), page.height as usize);
    if stride == 0 || height == 0 {
        return 0;
    }
    let words = stride.div_ceil(8);
    // Valid pixels in the last word; the padding after them is cleared.
    let tail = page.width as usize - 64 * (words - 1);
    let last_mask = if tail >= 64 {
        u64::MAX
    } else {
        u64::MAX << (64 - tail)
    };
    let load = |y: usize, into: &mut Vec<u64>| {
        into.clear();
        if y >= height {
            into.resize(words, 0);
            return;
        }
        into.extend(page.row(y).chunks(8).map(|chunk| {
            let mut bytes = [0u8; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            u64::from_be_bytes(bytes)
        }));
        if let Some(last) = into.last_mut() {
            *last &= last_mask;
        }
    };
    let (mut above, mut here, mut below) = (vec![0u64; words], Vec::new(), Vec::new());
    load(0, &mut here);
    let mut count = 0u64;
    for y in 0..height {
        load(y + 1, &mut below);
        for i in 0..words {
            let centre = here[i];
            let before = if i > 0 { here[i - 1] } else { 0 };
            let after = here.get(i + 1).copied().unwrap_or(0);
            // Each pixel's left and right neighbour, lined up with it.
            let left = (centre >> 1) | (before << 63);
            let right = (centre << 1) | (after >> 63);
            let (up, down) = (above[i], below[i]);
            let lone_black = centre & !left & !right & !up & !down;
            let lone_white = !centre & left & right & up & down;
            let mask = if i + 1 == words { last_mask } else { u64::MAX };
            count += u64::from(((lone_black | lone_white) & mask).count_ones());
        }
        if count > enough {
            break;
        }
        std::mem::swap(&mut above, &mut here);
        std::mem::swap(&mut here, &mut below);
    }
    count
}

/// Where a raster lands on the page along one axis: `(target offset, source offset,
/// length copied)`. A shorter raster is centred, a longer one loses equal parts at both
/// ends.
fn span(len: usize, page: usize) -> (usize, usize, usize) {
    if len <= page {
        ((page - len) / 2, 0, len)
    } else {
        (0, (len - page) / 2, page)
    }
}

/// Whether any of pixels `[from, to)` of a packed row is black.
fn has_ink(row: &[u8], from: usize, to: usize) -> bool {
    (from..to).any(|x| row[x / 8] & (0x80 >> (x % 8)) != 0)
}

/// Copies pixels `[from, from + len)` of packed row `source` to pixels `[to, to + len)`
/// of packed row `target`, ORing them in. White bytes are skipped: these are pages of
/// text, mostly white.
fn copy_bits(source: &[u8], from: usize, len: usize, target: &mut [u8], to: usize) {
    if !from.is_multiple_of(8) {
        // Only a page wider than the fax page starts inside a byte: one pixel at a time.
        for x in (from..from + len).filter(|&x| source[x / 8] & (0x80 >> (x % 8)) != 0) {
            let at = to + (x - from);
            target[at / 8] |= 0x80 >> (at % 8);
        }
        return;
    }
    let shift = to % 8;
    let bytes = len.div_ceil(8);
    let first = from / 8;
    for (k, &byte) in source[first..first + bytes].iter().enumerate() {
        if byte == 0 {
            continue;
        }
        let byte = if k + 1 == bytes && !len.is_multiple_of(8) {
            byte & (0xff << (8 - len % 8))
        } else {
            byte
        };
        let at = to / 8 + k;
        target[at] |= byte >> shift;
        if shift != 0 {
            let spill = byte << (8 - shift);
            if spill != 0 {
                target[at + 1] |= spill;
            }
        }
    }
}

/// `page`, turned a quarter anticlockwise first when `turned` (its top row becomes the
/// left column, read upwards), centred on a white fax page of the setup's size; a pixel
/// or two of a rounded-up raster is cut off. Returns whether black pixels were cut.
///
/// Upright pages are copied a byte at a time; on turned ones only black pixels are
/// visited (pages on this path are text and lines, mostly white).
pub fn place_on_page(
    page: BitView<'_>,
    turned: bool,
    setup: &PageSetup,
) -> Result<(Bitmap, bool), Error> {
    let (pw, ph) = (setup.width() as usize, setup.height() as usize);
    let (w, h) = (page.width as usize, page.height as usize);
    let stride = page.stride();
    if page.data.len() < stride * h {
        return Err(Error::Damaged {
            kind: "bilevel page raster",
            reason: "rows missing".into(),
        });
    }
    let out_stride = stride_for(setup.width());
    let mut target = vec![0u8; out_stride * ph];
    let mut cut = false;
    // Size as it will stand on the page.
    let (across, down) = if turned { (h, w) } else { (w, h) };
    let (dx, sx, copy_w) = span(across, pw);
    let (dy, sy, copy_h) = span(down, ph);
    if !turned {
        for y in 0..h {
            let row = page.row(y);
            if y < sy || y - sy >= copy_h {
                cut |= has_ink(row, 0, w);
                continue;
            }
            cut |= has_ink(row, 0, sx) || has_ink(row, sx + copy_w, w);
            let line = (dy + y - sy) * out_stride;
            copy_bits(row, sx, copy_w, &mut target[line..line + out_stride], dx);
        }
    } else if (sx, sy, copy_w, copy_h) == (0, 0, h, w) {
        // The whole raster fits. Eight source rows at a time: for each source column
        // the eight pixels become eight neighbouring pixels of one page row, gathered
        // in a byte and written once.
        for top in (0..h).step_by(8) {
            let rows: Vec<&[u8]> = (top..(top + 8).min(h)).map(|y| page.row(y)).collect();
            let column = dx + top;
            for i in 0..stride {
                let mut gathered = [0u8; 8];
                for (r, row) in rows.iter().enumerate() {
                    let mut bits = row[i];
                    while bits != 0 {
                        let bit = bits.leading_zeros() as usize;
                        bits &= !(0x80 >> bit);
                        gathered[bit] |= 0x80 >> r;
                    }
                }
                for (bit, &pixels) in gathered.iter().enumerate() {
                    let x = i * 8 + bit;
                    if pixels == 0 || x >= w {
                        continue;
                    }
                    let line = (dy + (w - 1 - x)) * out_stride;
                    let (at, shift) = (line + column / 8, column % 8);
                    target[at] |= pixels >> shift;
                    if shift != 0 && pixels << (8 - shift) != 0 {
                        target[at + 1] |= pixels << (8 - shift);
                    }
                }
            }
        }
    } else {
        for y in 0..h {
            let row = page.row(y);
            for (i, &byte) in row.iter().enumerate() {
                if byte == 0 {
                    continue;
                }
                let mut bits = byte;
                while bits != 0 {
                    let bit = bits.leading_zeros() as usize;
                    bits &= !(0x80 >> bit);
                    let x = i * 8 + bit;
                    if x >= w {
                        break;
                    }
                    // Source rows become page columns; source columns, right to left,
                    // page rows.
                    let (px, py) = (y as isize - sx as isize, (w - 1 - x) as isize - sy as isize);
                    if px < 0 || py < 0 || px as usize >= copy_w || py as usize >= copy_h {
                        cut = true;
                        continue;
                    }
                    let (px, py) = (px as usize + dx, py as usize + dy);
                    target[py * out_stride + px / 8] |= 0x80 >> (px % 8);
                }
            }
        }
    }
    let out = Bitmap::from_packed(setup.width(), setup.height(), setup.resolution, target)?;
    Ok((out, cut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fax_t4::Resolution;

    /// A page of `width x height` with the given black pixels, packed as PBM rows.
    fn packed(width: u32, height: u32, black: &[(u32, u32)]) -> Vec<u8> {
        let stride = stride_for(width);
        let mut data = vec![0u8; stride * height as usize];
        for &(x, y) in black {
            data[y as usize * stride + x as usize / 8] |= 0x80 >> (x % 8);
        }
        data
    }

    #[test]
    fn pbm_stream_is_bounded_and_checked() {
        let limits = Limits::default();
        let mut two = b"P4\n9 2\n\x80\x00\x00\x80".to_vec();
        two.extend(b"P4 # comment\n3 1\n\xe0");
        let pages = pbm_stream_views(&two, &limits).expect("parses");
        assert_eq!(pages.len(), 2);
        assert_eq!((pages[0].width, pages[0].height), (9, 2));
        assert_eq!(pages[0].data, b"\x80\x00\x00\x80");
        assert_eq!(pages[1].data, b"\xe0");
        assert!(matches!(
            pbm_stream_views(b"P4 100000 100000\n", &limits),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(
            pbm_stream_views(b"P4 16 2\n\0\0", &limits),
            Err(Error::Damaged { .. })
        ));
        assert!(matches!(
            pbm_stream_views(b"P5 1 1 255\n\0", &limits),
            Err(Error::Damaged { .. })
        ));
        let mut one = limits;
        one.max_pages = 1;
        assert!(matches!(
            pbm_stream_views(&two, &one),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn dither_counts_as_screened_and_text_strokes_do_not() {
        let (width, height) = (203u32, 97u32);
        // A checkerboard (what a dispersed dither makes of mid-grey) in a block.
        let checker: Vec<(u32, u32)> = (10..90)
            .flat_map(|y| (20..60).map(move |x| (x, y)))
            .filter(|(x, y)| (x + y) % 2 == 0)
            .collect();
        let data = packed(width, height, &checker);
        let page = BitView {
            width,
            height,
            data: &data,
        };
        // Inside the block every pixel differs from its four neighbours.
        assert!(isolated_pixels(page, u64::MAX) >= 78 * 38);
        assert!(is_screened(page));
        // Lines one and two pixels thick, a filled box, a lone dot: line art.
        let mut art: Vec<(u32, u32)> = (0..height).map(|y| (5, y)).collect();
        art.extend((0..width).flat_map(|x| [(x, 50), (x, 51)]));
        art.extend((100..150).flat_map(|x| (60..90).map(move |y| (x, y))));
        // Lone dots, two of them beside a 64-pixel word boundary.
        art.extend([(200, 3), (64, 30), (63, 40)]);
        let data = packed(width, height, &art);
        let page = BitView {
            width,
            height,
            data: &data,
        };
        assert_eq!(isolated_pixels(page, u64::MAX), 3, "only the lone dots");
        assert!(!is_screened(page));
        // Padding bits past the width are never counted.
        let data = vec![0x01u8; stride_for(7) * 3];
        let padded = BitView {
            width: 7,
            height: 3,
            data: &data,
        };
        assert_eq!(isolated_pixels(padded, u64::MAX), 0);
    }

    #[test]
    fn placing_matches_pixel_by_pixel() {
        let setup = PageSetup {
            resolution: Resolution::STANDARD,
            ..PageSetup::default()
        };
        let (pw, ph) = (setup.width() as usize, setup.height() as usize);
        let mut state = 0x9e37_79b9_u32;
        // Sizes that fit, that fit turned (with the page column at and off a byte
        // boundary), and that are cut.
        let sizes = [
            (1687u32, 1100u32),
            (1728, 1146),
            (1730, 1150),
            (1801, 900),
            (5, 3),
            (1100, 1728),
            (1100, 1687),
            (1100, 1700),
            (1200, 1729),
        ];
        for (w, h) in sizes {
            let stride = stride_for(w);
            let mut data: Vec<u8> = (0..stride * h as usize)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    (state & (state >> 8)) as u8
                })
                .collect();
            for row in data.chunks_exact_mut(stride) {
                row[stride - 1] &= 0xffu8 << ((8 - w % 8) % 8);
            }
            let view = BitView {
                width: w,
                height: h,
                data: &data,
            };
            let black = |x: usize, y: usize| data[y * stride + x / 8] & (0x80 >> (x % 8)) != 0;
            // Turned: source (x, y) is page (y, w - 1 - x), centred or cut as upright.
            let (turned, cut) = place_on_page(view, true, &setup).expect("places");
            let (tdx, tsx, tcopy_w) = span(h as usize, pw);
            let (tdy, tsy, tcopy_h) = span(w as usize, ph);
            let mut want_cut = false;
            let mut kept_black = 0u64;
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let (px, py) = (y, w as usize - 1 - x);
                    let kept =
                        (tsx..tsx + tcopy_w).contains(&px) && (tsy..tsy + tcopy_h).contains(&py);
                    if !kept {
                        want_cut |= black(x, y);
                        continue;
                    }
                    kept_black += u64::from(black(x, y));
                    let (px, py) = ((px - tsx + tdx) as u32, (py - tsy + tdy) as u32);
                    assert_eq!(
                        turned.get(px, py),
                        black(x, y),
                        "turned {w} x {h} at ({x}, {y})"
                    );
                }
            }
            assert_eq!(turned.black_pixels(), kept_black, "turned {w} x {h}");
            assert_eq!(cut, want_cut, "turned {w} x {h}");
            let (page, cut) = place_on_page(view, false, &setup).expect("places");
            let (dx, sx, copy_w) = span(w as usize, pw);
            let (dy, sy, copy_h) = span(h as usize, ph);
            let mut want_cut = false;
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let kept = (sx..sx + copy_w).contains(&x) && (sy..sy + copy_h).contains(&y);
                    if !kept {
                        want_cut |= black(x, y);
                        continue;
                    }
                    let (px, py) = ((x - sx + dx) as u32, (y - sy + dy) as u32);
                    assert_eq!(page.get(px, py), black(x, y), "{w} x {h} at ({x}, {y})");
                }
            }
            let kept_black = (0..h as usize)
                .flat_map(|y| (0..w as usize).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    (sx..sx + copy_w).contains(&x) && (sy..sy + copy_h).contains(&y) && black(x, y)
                })
                .count();
            assert_eq!(page.black_pixels(), kept_black as u64, "{w} x {h}");
            assert_eq!(cut, want_cut, "{w} x {h}");
        }
    }

    #[test]
    fn pages_are_centred_and_turned_like_the_grey_path() {
        let setup = PageSetup {
            resolution: Resolution::FINE,
            ..PageSetup::default()
        };
        let (pw, ph) = (setup.width(), setup.height());
        // Narrower than the page and shorter: centred both ways.
        let (w, h) = (1687u32, 2000u32);
        let data = packed(w, h, &[(0, 0), (w - 1, h - 1), (3, 7)]);
        let view = BitView {
            width: w,
            height: h,
            data: &data,
        };
        let (page, cut) = place_on_page(view, false, &setup).expect("places");
        assert!(!cut);
        let (dx, dy) = ((pw - w) / 2, (ph - h) / 2);
        assert!(page.get(dx, dy) && page.get(dx + w - 1, dy + h - 1) && page.get(dx + 3, dy + 7));
        assert_eq!(page.black_pixels(), 3);

        // Landscape, turned a quarter anticlockwise: the top-left pixel lands bottom
        // left, the top-right one top left.
        let (w, h) = (2149u32, 1728u32);
        let data = packed(w, h, &[(0, 0), (w - 1, 0), (5, 9)]);
        let view = BitView {
            width: w,
            height: h,
            data: &data,
        };
        let (page, cut) = place_on_page(view, true, &setup).expect("places");
        assert!(!cut);
        let dy = (ph - w) / 2;
        assert!(page.get(0, dy + w - 1), "top left goes bottom left");
        assert!(page.get(0, dy), "top right goes top left");
        assert!(page.get(9, dy + w - 1 - 5));
        assert_eq!(page.black_pixels(), 3);

        // Two pixels too wide: one column cut at each side, and ink there is noted.
        let (w, h) = (pw + 2, 10u32);
        let data = packed(w, h, &[(0, 0), (1, 1)]);
        let view = BitView {
            width: w,
            height: h,
            data: &data,
        };
        let (page, cut) = place_on_page(view, false, &setup).expect("places");
        assert!(cut);
        assert!(page.get(0, (ph - h) / 2 + 1));
        assert_eq!(page.black_pixels(), 1);
    }
}
