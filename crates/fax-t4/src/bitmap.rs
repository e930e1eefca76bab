//! The bilevel page model: packed rows, 1 = black, most significant bit = leftmost pixel.

use crate::Error;

/// Page widths of T.4 (pixels per scan line).
pub mod widths {
    /// A4 at 8 pels/mm (204 dpi): the width every fax machine accepts.
    pub const A4: u32 = 1728;
    /// B4 at 8 pels/mm.
    pub const B4: u32 = 2048;
    /// A3 at 8 pels/mm.
    pub const A3: u32 = 2432;
    /// A4 at 16 pels/mm (408 dpi).
    pub const A4_408: u32 = 3456;
    /// B4 at 16 pels/mm.
    pub const B4_408: u32 = 4096;
    /// A3 at 16 pels/mm.
    pub const A3_408: u32 = 4864;
}

/// Largest width this crate will handle unless a caller asks for less; twice A3 at 408 dpi
/// leaves room for odd TIFFs while keeping one row well under a kilobyte.
pub const MAX_WIDTH: u32 = 8192;

/// Horizontal and vertical resolution in dots per inch, as TIFF stores them.
///
/// T.4's metric resolutions round to these: 8 pels/mm = 204 dpi, 3.85 lines/mm = 98 lpi
/// ("standard"), 7.7 l/mm = 196 lpi ("fine"), 15.4 l/mm = 391 lpi ("superfine").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resolution {
    /// Horizontal dots per inch.
    pub x_dpi: u16,
    /// Vertical lines per inch.
    pub y_dpi: u16,
}

impl Resolution {
    /// 204 x 98: T.4 standard resolution.
    pub const STANDARD: Resolution = Resolution {
        x_dpi: 204,
        y_dpi: 98,
    };
    /// 204 x 196: T.4 fine resolution.
    pub const FINE: Resolution = Resolution {
        x_dpi: 204,
        y_dpi: 196,
    };
    /// 204 x 391: T.4 superfine resolution.
    pub const SUPERFINE: Resolution = Resolution {
        x_dpi: 204,
        y_dpi: 391,
    };
    /// 408 x 391: T.4 ultrafine (16 pels/mm both ways, rounded).
    pub const ULTRAFINE: Resolution = Resolution {
        x_dpi: 408,
        y_dpi: 391,
    };

    /// Whether the vertical resolution is T.4 fine (or anything between 150 and 300 lpi).
    pub fn is_fine(self) -> bool {
        (150..300).contains(&self.y_dpi)
    }

    /// Whether the vertical resolution is T.4 standard (below 150 lpi).
    pub fn is_standard(self) -> bool {
        self.y_dpi < 150
    }
}

impl Default for Resolution {
    fn default() -> Self {
        Resolution::FINE
    }
}

/// One bilevel page: `height` rows of `width` pixels, each row packed into
/// [`Bitmap::stride`] bytes, 1 = black, the leftmost pixel in the most significant bit.
///
/// Invariant: bits past `width` in the last byte of every row are zero, so rows compare
/// and hash by bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bitmap {
    width: u32,
    height: u32,
    resolution: Resolution,
    data: Vec<u8>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitmap")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("resolution", &self.resolution)
            .finish_non_exhaustive()
    }
}

/// Bytes per packed row of `width` pixels.
pub fn stride_for(width: u32) -> usize {
    (width as usize).div_ceil(8)
}

/// Mask of the valid bits in the last byte of a row of `width` pixels.
pub(crate) fn last_byte_mask(width: u32) -> u8 {
    match width % 8 {
        0 => 0xff,
        r => 0xffu8 << (8 - r),
    }
}

fn check_width(width: u32) -> Result<(), Error> {
    if width == 0 || width > MAX_WIDTH {
        return Err(Error::BadWidth {
            width,
            max: MAX_WIDTH,
        });
    }
    Ok(())
}

impl Bitmap {
    /// An all-white page. Fails on a width of 0 or over [`MAX_WIDTH`].
    pub fn new(width: u32, height: u32, resolution: Resolution) -> Result<Bitmap, Error> {
        check_width(width)?;
        let len = stride_for(width)
            .checked_mul(height as usize)
            .ok_or(Error::TooTall {
                height,
                max: u32::MAX,
            })?;
        Ok(Bitmap {
            width,
            height,
            resolution,
            data: vec![0; len],
        })
    }

    /// An empty page (no rows yet) of the given width, to be grown with [`Bitmap::push_row`].
    pub fn with_width(width: u32, resolution: Resolution) -> Result<Bitmap, Error> {
        Bitmap::new(width, 0, resolution)
    }

    /// A page from packed rows (`stride_for(width) * height` bytes). Padding bits past the
    /// width are cleared.
    pub fn from_packed(
        width: u32,
        height: u32,
        resolution: Resolution,
        mut data: Vec<u8>,
    ) -> Result<Bitmap, Error> {
        check_width(width)?;
        let stride = stride_for(width);
        let expected = stride.saturating_mul(height as usize);
        if data.len() != expected {
            return Err(Error::DataLength {
                width,
                height,
                expected,
                got: data.len(),
            });
        }
        let mask = last_byte_mask(width);
        if mask != 0xff {
            for row in data.chunks_exact_mut(stride) {
                row[stride - 1] &= mask;
            }
        }
        Ok(Bitmap {
            width,
            height,
            resolution,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in rows.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        stride_for(self.width)
    }

    /// Resolution the page was scanned or rendered at.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Changes the resolution tag without touching pixels.
    pub fn set_resolution(&mut self, resolution: Resolution) {
        self.resolution = resolution;
    }

    /// All rows, packed.
    pub fn packed(&self) -> &[u8] {
        &self.data
    }

    /// Consumes the page, returning its packed rows.
    pub fn into_packed(self) -> Vec<u8> {
        self.data
    }

    /// Row `y`. Panics if `y >= height` (a caller bug, not an input error).
    pub fn row(&self, y: u32) -> &[u8] {
        let stride = self.stride();
        let start = y as usize * stride;
        &self.data[start..start + stride]
    }

    /// Row `y`, mutable. Callers must keep padding bits zero. Panics if `y >= height`.
    pub fn row_mut(&mut self, y: u32) -> &mut [u8] {
        let stride = self.stride();
        let start = y as usize * stride;
        &mut self.data[start..start + stride]
    }

    /// Iterates the rows top to bottom.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, u8> {
        self.data.chunks_exact(self.stride())
    }

    /// Appends a row; its length must be [`Bitmap::stride`]. Padding bits are cleared.
    pub fn push_row(&mut self, row: &[u8]) -> Result<(), Error> {
        let stride = self.stride();
        if row.len() != stride {
            return Err(Error::RowLength {
                width: self.width,
                expected: stride,
                got: row.len(),
            });
        }
        self.data.extend_from_slice(row);
        let last = self.data.len() - 1;
        self.data[last] &= last_byte_mask(self.width);
        self.height += 1;
        Ok(())
    }

    /// Whether pixel (x, y) is black. Out-of-range pixels are white.
    pub fn get(&self, x: u32, y: u32) -> bool {
        if x >= self.width || y >= self.height {
            return false;
        }
        let byte = self.data[y as usize * self.stride() + (x / 8) as usize];
        byte & (0x80 >> (x % 8)) != 0
    }

    /// Sets pixel (x, y); out-of-range writes are ignored.
    pub fn set(&mut self, x: u32, y: u32, black: bool) {
        if x >= self.width || y >= self.height {
            return;
        }
        let idx = y as usize * self.stride() + (x / 8) as usize;
        let bit = 0x80 >> (x % 8);
        if black {
            self.data[idx] |= bit;
        } else {
            self.data[idx] &= !bit;
        }
    }

    /// Number of black pixels (handy for tests and for spotting blank pages).
    pub fn black_pixels(&self) -> u64 {
        self.data.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    /// Flips every pixel (for BlackIsZero images).
    pub fn invert(&mut self) {
        let stride = self.stride();
        let mask = last_byte_mask(self.width);
        for row in self.data.chunks_exact_mut(stride) {
            for b in row.iter_mut() {
                *b = !*b;
            }
            row[stride - 1] &= mask;
        }
    }
}
