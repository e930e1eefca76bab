//! Resolution and width conversions T.30 needs when a receiver lacks a capability.
//!
//! Reductions OR the source pixels that fall on one target pixel: a one-pixel line in
//! the source survives as a one-pixel line, which matters more for legibility of fax text
//! than the slight thickening it causes.

use crate::bitmap::{last_byte_mask, widths};
use crate::{Bitmap, Error, Resolution};

/// Changes the vertical resolution to `y_dpi` (98, 196 or 391 in practice).
///
/// Going down ORs whole rows together (196 -> 98 merges pairs); going up repeats rows.
/// Any ratio works; rows are mapped by their centre line.
pub fn to_vertical_resolution(page: &Bitmap, y_dpi: u16) -> Result<Bitmap, Error> {
    let from = page.resolution().y_dpi;
    if from == 0 || y_dpi == 0 {
        return Err(Error::Unsupported("vertical resolution of 0 lpi"));
    }
    if from == y_dpi {
        return Ok(page.clone());
    }
    let height = (u64::from(page.height()) * u64::from(y_dpi)).div_ceil(u64::from(from));
    let height = u32::try_from(height).map_err(|_| Error::TooTall {
        height: u32::MAX,
        max: u32::MAX,
    })?;
    let resolution = Resolution {
        x_dpi: page.resolution().x_dpi,
        y_dpi,
    };
    let mut out = Bitmap::with_width(page.width(), resolution)?;
    let mut row = vec![0u8; page.stride()];
    for y in 0..height {
        // Source rows [first, last) that land on target row y.
        let first = (u64::from(y) * u64::from(from) / u64::from(y_dpi)) as u32;
        let last = ((u64::from(y + 1) * u64::from(from)).div_ceil(u64::from(y_dpi)) as u32)
            .clamp(first + 1, page.height().max(first + 1));
        row.fill(0);
        for src in first..last.min(page.height()) {
            for (d, s) in row.iter_mut().zip(page.row(src)) {
                *d |= s;
            }
        }
        out.push_row(&row)?;
    }
    Ok(out)
}

/// Reduces a page to `width` pixels per line (2432 or 2048 -> 1728, 408 dpi widths ->
/// 204 dpi ones), scaling the height by the same factor so text keeps its shape.
pub fn reduce_width(page: &Bitmap, width: u32) -> Result<Bitmap, Error> {
    let from = page.width();
    if width > from {
        return Err(Error::Unsupported("reduce_width cannot widen a page"));
    }
    if width == from {
        return Ok(page.clone());
    }
    if width == 0 {
        return Err(Error::BadWidth {
            width,
            max: crate::bitmap::MAX_WIDTH,
        });
    }
    // Source column span of every target column, computed once.
    let spans: Vec<(u32, u32)> = (0..width)
        .map(|x| {
            let a = (u64::from(x) * u64::from(from) / u64::from(width)) as u32;
            let b =
                ((u64::from(x + 1) * u64::from(from)).div_ceil(u64::from(width)) as u32).max(a + 1);
            (a, b.min(from))
        })
        .collect();
    let mut resolution = page.resolution();
    // Halving a 408-dpi width keeps the paper size and halves the horizontal resolution;
    // A3/B4 -> A4 keeps 8 pels/mm and shrinks the paper, so the height shrinks with it.
    let (num, den) = if from == 2 * width {
        resolution.x_dpi /= 2;
        (1, 1)
    } else {
        (u64::from(width), u64::from(from))
    };
    let height = (u64::from(page.height()) * num / den) as u32;
    let mut out = Bitmap::with_width(width, resolution)?;
    let mut merged = vec![0u8; page.stride()];
    let mut row = vec![0u8; out.stride()];
    for y in 0..height {
        let first = (u64::from(y) * den / num) as u32;
        let last = ((u64::from(y + 1) * den).div_ceil(num) as u32).clamp(first + 1, page.height());
        merged.fill(0);
        for src in first..last {
            for (d, s) in merged.iter_mut().zip(page.row(src)) {
                *d |= s;
            }
        }
        row.fill(0);
        for (x, &(a, b)) in spans.iter().enumerate() {
            if (a..b).any(|sx| merged[(sx / 8) as usize] & (0x80 >> (sx % 8)) != 0) {
                row[x / 8] |= 0x80 >> (x % 8);
            }
        }
        let last_byte = row.len() - 1;
        row[last_byte] &= last_byte_mask(width);
        out.push_row(&row)?;
    }
    Ok(out)
}

/// The T.4 width a receiver that only takes A4 needs for this page, if any reduction is
/// needed: 1728 for 2048/2432, and 1728 for the 408-dpi widths as well.
pub fn a4_width_for(width: u32) -> Option<u32> {
    (width > widths::A4).then_some(widths::A4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn striped(width: u32, height: u32, res: Resolution) -> Bitmap {
        let mut bm = Bitmap::new(width, height, res).unwrap();
        for y in (0..height).step_by(2) {
            for x in 0..width {
                bm.set(x, y, x % 5 == 0);
            }
        }
        bm
    }

    #[test]
    fn fine_to_standard_merges_row_pairs_and_back_doubles() {
        let fine = striped(1728, 100, Resolution::FINE);
        let std = to_vertical_resolution(&fine, 98).unwrap();
        assert_eq!(std.height(), 50);
        assert_eq!(std.resolution(), Resolution::STANDARD);
        for y in 0..50 {
            assert_eq!(std.row(y), fine.row(2 * y));
        }
        let back = to_vertical_resolution(&std, 196).unwrap();
        assert_eq!(back.height(), 100);
        for y in 0..100 {
            assert_eq!(back.row(y), std.row(y / 2));
        }
    }

    #[test]
    fn thin_horizontal_line_survives_halving() {
        let mut fine = Bitmap::new(1728, 9, Resolution::FINE).unwrap();
        for x in 0..1728 {
            fine.set(x, 7, true);
        }
        let std = to_vertical_resolution(&fine, 98).unwrap();
        assert_eq!(std.height(), 5);
        assert_eq!(std.black_pixels(), 1728);
    }

    #[test]
    fn b4_and_a3_reduce_to_a4_keeping_thin_lines() {
        for from in [widths::B4, widths::A3, widths::A4_408] {
            let mut page = Bitmap::new(from, 64, Resolution::FINE).unwrap();
            for y in 0..64 {
                page.set(from - 1, y, true);
                page.set(from / 2, y, true);
            }
            let out = reduce_width(&page, widths::A4).unwrap();
            assert_eq!(out.width(), 1728);
            let expected_height = if from == widths::A4_408 {
                64
            } else {
                64 * 1728 / from
            };
            assert_eq!(out.height(), expected_height);
            for y in 0..out.height() {
                assert!(out.get(1727, y), "right edge line lost at row {y}");
                assert_eq!(out.row(y).iter().map(|b| b.count_ones()).sum::<u32>(), 2);
            }
        }
        assert!(reduce_width(&Bitmap::new(100, 1, Resolution::FINE).unwrap(), 200).is_err());
    }
}
