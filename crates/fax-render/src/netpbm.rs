//! Streams of binary netpbm images (`P4` bilevel, `P5` grey), one after another, as
//! PDF rasterizers write them to a pipe. The raster bytes stay in the caller's buffer:
//! a page is placed on the fax page straight from there.

use crate::{Error, Limits};

/// Which binary netpbm format a stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `P4`: one bit per pixel, rows padded to whole bytes.
    Pbm,
    /// `P5` with maxval 255: one byte per pixel.
    Pgm,
}

impl Kind {
    /// What errors call a stream of this kind.
    fn name(self) -> &'static str {
        match self {
            Kind::Pbm => "bilevel page raster",
            Kind::Pgm => "greyscale page raster",
        }
    }

    fn magic(self) -> &'static [u8] {
        match self {
            Kind::Pbm => b"P4",
            Kind::Pgm => b"P5",
        }
    }

    /// Bytes of a `width` x `height` raster (dimensions already checked).
    fn raster_len(self, width: u64, height: u64) -> usize {
        match self {
            Kind::Pbm => (width as usize).div_ceil(8) * height as usize,
            Kind::Pgm => (width * height) as usize,
        }
    }
}

/// One image of a stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame<'a> {
    pub width: u32,
    pub height: u32,
    /// The raster as the format lays it out.
    pub data: &'a [u8],
}

/// Splits a stream of `kind` images, checking each header against `limits` before its
/// raster is used, and the page count before another page is taken.
pub(crate) fn frames<'a>(
    mut data: &'a [u8],
    kind: Kind,
    limits: &Limits,
) -> Result<Vec<Frame<'a>>, Error> {
    let damaged = |reason: &str| Error::Damaged {
        kind: kind.name(),
        reason: reason.into(),
    };
    let mut images = Vec::new();
    loop {
        data = skip_whitespace(data);
        if data.is_empty() {
            break;
        }
        if images.len() >= limits.max_pages {
            return Err(Error::TooLarge {
                what: "pages",
                got: images.len() as u64 + 1,
                max: limits.max_pages as u64,
            });
        }
        if !data.starts_with(kind.magic()) {
            return Err(damaged(match kind {
                Kind::Pbm => "not a binary PBM (P4)",
                Kind::Pgm => "not a binary PGM (P5)",
            }));
        }
        data = &data[2..];
        let width = header_number(&mut data).ok_or_else(|| damaged("bad header number"))?;
        let height = header_number(&mut data).ok_or_else(|| damaged("bad header number"))?;
        if kind == Kind::Pgm {
            let maxval = header_number(&mut data).ok_or_else(|| damaged("bad header number"))?;
            if maxval != 255 {
                return Err(damaged("only 8-bit PGM is read"));
            }
        }
        crate::grey::check_dimensions(width, height, limits)?;
        // Exactly one whitespace byte separates the header from the raster.
        data = data.get(1..).ok_or_else(|| damaged("truncated header"))?;
        let len = kind.raster_len(width, height);
        let raster = data.get(..len).ok_or_else(|| {
            damaged(match kind {
                Kind::Pbm => "truncated rows",
                Kind::Pgm => "truncated samples",
            })
        })?;
        images.push(Frame {
            width: width as u32,
            height: height as u32,
            data: raster,
        });
        data = &data[len..];
    }
    Ok(images)
}

fn skip_whitespace(data: &[u8]) -> &[u8] {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    &data[start..]
}

/// A header number after whitespace and `#` comments: decimal, at most nine digits (so a
/// hostile header cannot overflow before the limits are checked).
fn header_number(data: &mut &[u8]) -> Option<u64> {
    loop {
        match data.first() {
            Some(b'#') => {
                let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
                *data = &data[end..];
            }
            Some(b) if b.is_ascii_whitespace() => *data = &data[1..],
            _ => break,
        }
    }
    let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let number = std::str::from_utf8(&data[..digits]).ok()?.parse().ok()?;
    *data = &data[digits..];
    Some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn damaged(result: Result<Vec<Frame<'_>>, Error>) -> String {
        match result {
            Err(Error::Damaged { reason, .. }) => reason,
            other => panic!("expected a damaged stream, got {other:?}"),
        }
    }

    #[test]
    fn pages_follow_one_another_with_comments_in_headers() {
        let mut stream = b"P4\n# drawn\n9 2\n".to_vec();
        stream.extend_from_slice(&[0xff, 0x80, 0x00, 0x00]);
        stream.extend_from_slice(b"\nP4 8 1\n\x81");
        let pages = frames(&stream, Kind::Pbm, &Limits::default()).expect("two pages");
        assert_eq!(pages.len(), 2);
        assert_eq!((pages[0].width, pages[0].height), (9, 2));
        assert_eq!(pages[0].data, &[0xff, 0x80, 0x00, 0x00]);
        assert_eq!(pages[1].data, &[0x81]);

        let grey = frames(b"P5 2 1 255\n\x00\xff", Kind::Pgm, &Limits::default()).expect("grey");
        assert_eq!(grey[0].data, &[0x00, 0xff]);
    }

    #[test]
    fn hostile_headers_are_refused_before_use() {
        let limits = Limits::default();
        assert_eq!(
            damaged(frames(b"P5 1 1 255\n\x00", Kind::Pbm, &limits)),
            "not a binary PBM (P4)"
        );
        assert_eq!(
            damaged(frames(b"P5 1 1 65535\n\x00\x00", Kind::Pgm, &limits)),
            "only 8-bit PGM is read"
        );
        assert_eq!(
            damaged(frames(b"P4 1234567890 1\n", Kind::Pbm, &limits)),
            "bad header number"
        );
        assert_eq!(
            damaged(frames(b"P4 8", Kind::Pbm, &limits)),
            "bad header number"
        );
        assert_eq!(
            damaged(frames(b"P4 16 2\n\x00\x00\x00", Kind::Pbm, &limits)),
            "truncated rows"
        );
        assert_eq!(
            damaged(frames(b"P5 2 2 255\n\x00", Kind::Pgm, &limits)),
            "truncated samples"
        );
        assert!(matches!(
            frames(b"P4 100000 100000\n", Kind::Pbm, &limits),
            Err(Error::TooLarge { .. })
        ));
        let one_page = Limits {
            max_pages: 1,
            ..Limits::default()
        };
        assert!(matches!(
            frames(b"P4 8 1\n\x00P4 8 1\n\x00", Kind::Pbm, &one_page),
            Err(Error::TooLarge { what: "pages", .. })
        ));
    }
}
