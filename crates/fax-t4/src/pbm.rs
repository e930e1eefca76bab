//! PBM (portable bitmap) read and write: P1 (ASCII) and P4 (raw). 1 = black in both,
//! which is also this crate's convention, so P4 rows are copied unchanged.

use crate::bitmap::{MAX_WIDTH, stride_for};
use crate::{Bitmap, Error, Resolution};

/// Tallest PBM accepted: keeps a hostile header from allocating gigabytes.
pub const MAX_HEIGHT: u32 = 65_536;

struct Header<'a> {
    binary: bool,
    width: u32,
    height: u32,
    /// What follows the single whitespace after the height.
    body: &'a [u8],
}

fn skip_space_and_comments(data: &[u8], mut pos: usize) -> usize {
    while pos < data.len() {
        match data[pos] {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => pos += 1,
            b'#' => {
                while pos < data.len() && data[pos] != b'\n' {
                    pos += 1;
                }
            }
            _ => break,
        }
    }
    pos
}

fn read_number(data: &[u8], pos: &mut usize) -> Result<u32, Error> {
    *pos = skip_space_and_comments(data, *pos);
    let start = *pos;
    let mut value: u32 = 0;
    while *pos < data.len() && data[*pos].is_ascii_digit() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(data[*pos] - b'0')))
            .ok_or(Error::Pbm("dimension does not fit in 32 bits"))?;
        *pos += 1;
    }
    if *pos == start {
        return Err(Error::Pbm("expected a decimal dimension"));
    }
    Ok(value)
}

fn parse_header(data: &[u8]) -> Result<Header<'_>, Error> {
    let binary = match data.get(..2) {
        Some(b"P4") => true,
        Some(b"P1") => false,
        _ => return Err(Error::Pbm("not a PBM file (magic is not P1 or P4)")),
    };
    let mut pos = 2;
    let width = read_number(data, &mut pos)?;
    let height = read_number(data, &mut pos)?;
    if width == 0 || width > MAX_WIDTH {
        return Err(Error::BadWidth {
            width,
            max: MAX_WIDTH,
        });
    }
    if height > MAX_HEIGHT {
        return Err(Error::TooTall {
            height,
            max: MAX_HEIGHT,
        });
    }
    // Exactly one whitespace byte separates the header from raster data.
    match data.get(pos) {
        Some(c) if c.is_ascii_whitespace() => pos += 1,
        Some(_) => return Err(Error::Pbm("no whitespace after the height")),
        None if height == 0 => {}
        None => return Err(Error::Pbm("no raster data")),
    }
    Ok(Header {
        binary,
        width,
        height,
        body: data.get(pos..).unwrap_or(&[]),
    })
}

/// Reads the first image of a PBM file. The page is tagged with `resolution` (PBM has no
/// resolution of its own).
pub fn read(data: &[u8], resolution: Resolution) -> Result<Bitmap, Error> {
    let header = parse_header(data)?;
    let stride = stride_for(header.width);
    let len = stride * header.height as usize;
    if header.binary {
        let raster = header
            .body
            .get(..len)
            .ok_or(Error::Pbm("raster data is shorter than the header says"))?;
        return Bitmap::from_packed(header.width, header.height, resolution, raster.to_vec());
    }
    let mut bitmap = Bitmap::new(header.width, header.height, resolution)?;
    let mut pixels = header
        .body
        .iter()
        .filter(|c| !c.is_ascii_whitespace())
        .copied();
    for y in 0..header.height {
        for x in 0..header.width {
            match pixels.next() {
                Some(b'1') => bitmap.set(x, y, true),
                Some(b'0') => {}
                Some(_) => return Err(Error::Pbm("P1 raster holds something other than 0/1")),
                None => return Err(Error::Pbm("P1 raster is shorter than the header says")),
            }
        }
    }
    Ok(bitmap)
}

/// Writes a raw (P4) PBM.
pub fn write_p4(bitmap: &Bitmap) -> Vec<u8> {
    let header = format!("P4\n{} {}\n", bitmap.width(), bitmap.height());
    let mut out = Vec::with_capacity(header.len() + bitmap.packed().len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(bitmap.packed());
    out
}

/// Writes an ASCII (P1) PBM, 70 pixels per text line at most as the format asks.
pub fn write_p1(bitmap: &Bitmap) -> Vec<u8> {
    let mut out = format!("P1\n{} {}\n", bitmap.width(), bitmap.height()).into_bytes();
    for y in 0..bitmap.height() {
        for x in 0..bitmap.width() {
            out.push(if bitmap.get(x, y) { b'1' } else { b'0' });
            if (x + 1) % 70 == 0 || x + 1 == bitmap.width() {
                out.push(b'\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p1_and_p4_agree() {
        let mut bm = Bitmap::new(75, 3, Resolution::FINE).unwrap();
        for x in (0..75).step_by(3) {
            bm.set(x, 1, true);
        }
        bm.set(74, 2, true);
        let p4 = read(&write_p4(&bm), Resolution::FINE).unwrap();
        let p1 = read(&write_p1(&bm), Resolution::FINE).unwrap();
        assert_eq!(p4, bm);
        assert_eq!(p1, bm);
    }

    #[test]
    fn header_comments_are_skipped() {
        let data = b"P1\n# a comment\n3 # width\n2\n1 0 1\n0 1 0\n";
        let bm = read(data, Resolution::FINE).unwrap();
        assert!(bm.get(0, 0) && !bm.get(1, 0) && bm.get(2, 0) && bm.get(1, 1));
    }

    #[test]
    fn hostile_headers_are_refused_before_allocating() {
        assert!(matches!(
            read(b"P4\n1000000000 1\n", Resolution::FINE),
            Err(Error::BadWidth { .. })
        ));
        assert!(matches!(
            read(b"P4\n1728 999999999\n", Resolution::FINE),
            Err(Error::TooTall { .. })
        ));
        assert!(read(b"P4\n1728 10\n\0\0", Resolution::FINE).is_err());
        assert!(read(b"P4\n99999999999999999999 1\n", Resolution::FINE).is_err());
        assert!(read(b"P5\n1 1\n\0", Resolution::FINE).is_err());
        assert!(read(b"", Resolution::FINE).is_err());
    }
}
