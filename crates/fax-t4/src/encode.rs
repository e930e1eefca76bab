//! T.4 / T.6 encoders.

use crate::bitmap::{MAX_WIDTH, last_byte_mask, stride_for};
use crate::bits::BitWriter;
use crate::codes::{
    BLACK_RUN_CODES, Code, EOL, HORIZONTAL, MAX_MAKEUP, MAX_RUN_CODE, PASS, VERTICAL,
    WHITE_RUN_CODES, makeup,
};
use crate::runs::{ChangeList, changes_of_row};
use crate::{Bitmap, Error, KFactor, Scheme};

/// How to code a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// MH, MR (with K) or MMR.
    pub scheme: Scheme,
    /// MH: write an EOL before every line. Line transmission and TIFF Class F need it.
    /// `false` writes TIFF Compression 2 ("CCITT RLE"): no EOLs, every row starting on a
    /// byte boundary. MR always writes EOLs (its tag bits follow them); MMR never does.
    pub eol: bool,
    /// MH/MR: insert zero fill bits so that every EOL ends on a byte boundary (TIFF
    /// T4Options bit 2). Ignored for MMR.
    pub byte_align_eol: bool,
    /// Append the end-of-page marker: RTC (six EOLs) for MH/MR, EOFB for MMR.
    pub end_of_page: bool,
    /// MH/MR: lines shorter than this many bits (counting the EOL that starts them) are
    /// padded with fill bits. It is the minimum scan line time T.30 negotiates, times the
    /// bit rate. Ignored for MMR.
    pub min_bits_per_line: u32,
}

impl EncodeOptions {
    /// What a TIFF Class F file holds: EOL before every line, no fill, no RTC (libtiff's
    /// defaults), EOFB for MMR.
    pub fn tiff(scheme: Scheme) -> EncodeOptions {
        EncodeOptions {
            scheme,
            eol: scheme != Scheme::Mmr,
            byte_align_eol: false,
            end_of_page: scheme == Scheme::Mmr,
            min_bits_per_line: 0,
        }
    }

    /// What goes down a phone line in non-ECM mode: EOLs, RTC, and padding to the
    /// negotiated minimum line length.
    pub fn line(scheme: Scheme, min_bits_per_line: u32) -> EncodeOptions {
        EncodeOptions {
            scheme,
            eol: true,
            byte_align_eol: false,
            end_of_page: true,
            min_bits_per_line,
        }
    }
}

/// Codes a page one row at a time.
#[derive(Debug)]
pub struct Encoder {
    width: u32,
    options: EncodeOptions,
    out: BitWriter,
    /// Changing elements of the previous row (the reference line), with sentinels.
    reference: ChangeList,
    /// Changing elements of the row being coded.
    current: ChangeList,
    rows: u32,
    /// Bit position where the current line's EOL began, for minimum-length padding.
    line_start: u64,
}

impl Encoder {
    /// An encoder for rows of `width` pixels.
    pub fn new(width: u32, options: EncodeOptions) -> Result<Encoder, Error> {
        if width == 0 || width > MAX_WIDTH {
            return Err(Error::BadWidth {
                width,
                max: MAX_WIDTH,
            });
        }
        Ok(Encoder {
            width,
            options,
            out: BitWriter::with_capacity(stride_for(width) * 64),
            reference: ChangeList::white(width),
            current: ChangeList::new(width),
            rows: 0,
            line_start: 0,
        })
    }

    /// Codes one packed row (at least `stride_for(width)` bytes; 1 = black, MSB first).
    pub fn encode_row(&mut self, row: &[u8]) -> Result<(), Error> {
        let stride = stride_for(self.width);
        let Some(row) = row.get(..stride) else {
            return Err(Error::RowLength {
                width: self.width,
                expected: stride,
                got: row.len(),
            });
        };
        let mask = last_byte_mask(self.width);
        if row[stride - 1] & !mask != 0 {
            // Padding bits must not leak into the image; code a cleaned copy.
            let mut clean = row.to_vec();
            clean[stride - 1] &= mask;
            changes_of_row(&clean, self.width, &mut self.current);
        } else {
            changes_of_row(row, self.width, &mut self.current);
        }
        self.code_current();
        Ok(())
    }

    fn code_current(&mut self) {
        match self.options.scheme {
            Scheme::Mh => {
                if self.options.eol {
                    self.begin_line();
                    code_1d(&mut self.out, self.current.as_slice(), self.width);
                } else {
                    // TIFF "CCITT RLE": no EOLs, every row starts on a byte boundary.
                    code_1d(&mut self.out, self.current.as_slice(), self.width);
                    self.out.align();
                }
            }
            Scheme::Mr { k } => {
                let one_dimensional = match k {
                    KFactor::Every(k) => self.rows.is_multiple_of(k.get()),
                    KFactor::Unlimited => self.rows == 0,
                };
                self.begin_line();
                self.out.put(u32::from(one_dimensional), 1);
                if one_dimensional {
                    code_1d(&mut self.out, self.current.as_slice(), self.width);
                } else {
                    code_2d(
                        &mut self.out,
                        self.reference.as_slice(),
                        self.current.as_slice(),
                        self.width,
                    );
                }
            }
            Scheme::Mmr => code_2d(
                &mut self.out,
                self.reference.as_slice(),
                self.current.as_slice(),
                self.width,
            ),
        }
        std::mem::swap(&mut self.reference, &mut self.current);
        self.rows += 1;
    }

    /// Ends the previous line (padding it to the minimum length) and writes an EOL.
    fn begin_line(&mut self) {
        if self.rows > 0 || self.out.bit_len() > 0 {
            self.pad_line();
        }
        self.put_eol();
    }

    fn pad_line(&mut self) {
        let written = self.out.bit_len() - self.line_start;
        let min = u64::from(self.options.min_bits_per_line);
        if written < min {
            self.out.zeros((min - written) as u32);
        }
    }

    fn put_eol(&mut self) {
        if self.options.byte_align_eol {
            // Fill so that the EOL's final 1 bit is the last bit of a byte.
            let pad = (8 - (self.out.bit_len() + u64::from(EOL.len)) % 8) % 8;
            self.out.zeros(pad as u32);
        }
        self.line_start = self.out.bit_len();
        self.out.put(u32::from(EOL.code), u32::from(EOL.len));
    }

    /// Rows coded so far.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Ends the page (writing RTC/EOFB if asked) and returns the coded bytes, MSB first,
    /// the last byte padded with zero bits.
    pub fn finish(mut self) -> Vec<u8> {
        if self.options.end_of_page {
            match self.options.scheme {
                Scheme::Mmr => {
                    self.out.put(u32::from(EOL.code), u32::from(EOL.len));
                    self.out.put(u32::from(EOL.code), u32::from(EOL.len));
                }
                Scheme::Mh | Scheme::Mr { .. } => {
                    if self.rows > 0 {
                        self.pad_line();
                    }
                    let tagged = matches!(self.options.scheme, Scheme::Mr { .. });
                    for _ in 0..6 {
                        self.put_eol();
                        if tagged {
                            self.out.put(1, 1);
                        }
                    }
                }
            }
        } else if self.rows > 0 && self.options.scheme != Scheme::Mmr && self.options.eol {
            self.pad_line();
        }
        self.out.finish()
    }
}

/// Codes a whole page.
pub fn encode(bitmap: &Bitmap, options: &EncodeOptions) -> Vec<u8> {
    let mut encoder = match Encoder::new(bitmap.width(), *options) {
        Ok(e) => e,
        // A Bitmap's width is always valid, so this cannot happen; stay total anyway.
        Err(_) => return Vec::new(),
    };
    for row in bitmap.rows() {
        changes_of_row(row, encoder.width, &mut encoder.current);
        encoder.code_current();
    }
    encoder.finish()
}

#[inline]
fn put_code(out: &mut BitWriter, code: Code) {
    out.put(u32::from(code.code), u32::from(code.len));
}

/// Codes one run of `run` pixels of the given colour: make-up codes, then a terminating
/// code (T.4 §4.1.1).
#[inline(always)]
fn put_run(out: &mut BitWriter, mut run: u32, white: bool) {
    while run > MAX_RUN_CODE {
        put_code(out, makeup(MAX_MAKEUP, white));
        run -= MAX_MAKEUP;
    }
    let codes = if white {
        &WHITE_RUN_CODES
    } else {
        &BLACK_RUN_CODES
    };
    let code = codes[run as usize];
    out.put(code.code(), code.len());
}

/// One-dimensional coding: alternating white and black runs, starting with white, taken
/// a white and a black run at a time (see [`put_run_pair`]).
fn code_1d(out: &mut BitWriter, changes: &[u32], width: u32) {
    let mut pos = 0u32;
    for pair in changes.chunks(2) {
        let white_end = pair[0].min(width);
        let Some(&black_end) = pair.get(1).filter(|_| white_end < width) else {
            // The line ends on a white run (or the list does, which a finished one never
            // does before `width`).
            put_run(out, white_end - pos, true);
            return;
        };
        let black_end = black_end.min(width);
        put_run_pair(out, white_end - pos, black_end - white_end);
        if black_end >= width {
            return;
        }
        pos = black_end;
    }
}

/// Codes a white run and the black run after it. When both codes fit in one 32-bit word
/// they go out as one: the writer's work per code word is a chain of dependent steps, and
/// a page of short runs (dithering, halftone) is mostly such pairs.
#[inline(always)]
fn put_run_pair(out: &mut BitWriter, white: u32, black: u32) {
    if white <= MAX_RUN_CODE && black <= MAX_RUN_CODE {
        let (first, second) = (
            WHITE_RUN_CODES[white as usize],
            BLACK_RUN_CODES[black as usize],
        );
        let len = first.len() + second.len();
        if len <= 32 {
            // `first.len() >= 2`, so the shift stays below 32.
            out.put(first.code() << second.len() | second.code(), len);
            return;
        }
    }
    put_run(out, white, true);
    put_run(out, black, false);
}

/// Two-dimensional coding of `current` against `reference` (T.4 §4.2.1.3): pass,
/// vertical and horizontal modes, decided exactly as the standard's flow chart does.
/// Both lists end with the sentinels (see `runs`).
fn code_2d(out: &mut BitWriter, reference: &[u32], current: &[u32], width: u32) {
    // a0 starts on the imaginary white pixel left of the row, written as 0 here: no
    // change can be left of it, and runs are measured from pixel 0.
    let mut a0 = 0u32;
    // Index of a1 in `current`; its parity is the colour of a0 (even = white).
    let mut a = 0usize;
    // Index of b1 in `reference`: the first change right of a0 of the colour opposite
    // a0's, so always of the same parity as `a`.
    let mut b = 0usize;
    loop {
        let a1 = current[a];
        let (b1, b2) = (reference[b], reference[b + 1]);
        if b2 < a1 {
            put_code(out, PASS);
            a0 = b2;
            b += 2;
        } else {
            let delta = i64::from(a1) - i64::from(b1);
            if (-3..=3).contains(&delta) {
                put_code(out, VERTICAL[(delta + 3) as usize]);
                a0 = a1;
                a += 1;
                if a0 >= width {
                    break;
                }
                // The colour flipped, so b1 is a neighbour of the old one: the left one
                // if that is still right of a0 (only after VL), else the right one.
                if b > 0 && reference[b - 1] > a0 {
                    b -= 1;
                } else {
                    b += 1;
                }
            } else {
                let a2 = current[a + 1];
                let white = a.is_multiple_of(2);
                put_code(out, HORIZONTAL);
                put_run(out, a1 - a0, white);
                put_run(out, a2 - a1, !white);
                a0 = a2;
                a += 2;
            }
        }
        if a0 >= width {
            break;
        }
        while reference[b] <= a0 {
            b += 2;
        }
    }
}
