//! T.4 / T.6 decoders: total, bounded, and resynchronising on damage.

use crate::bitmap::{MAX_WIDTH, stride_for};
use crate::bits::BitReader;
use crate::codes::{
    BLACK_LOOKUP_BITS, BLACK_RUNS, BLACK_RUNS_FAST, BLACK_RUNS_SINGLE, EOL, FAST_LOOKUP_BITS,
    MODE_LOOKUP_BITS, MODES, PAIR_LOOKUP_BITS, RUN_PAIRS, RunEntry, RunPair, SINGLE_LOOKUP_BITS,
    WHITE_LOOKUP_BITS, WHITE_RUN_CODES, WHITE_RUNS, WHITE_RUNS_FAST, WHITE_RUNS_SINGLE,
    pair_code_ends_run, pair_code_goes_on_bit, pair_code_run,
};
use crate::runs::{
    ChangeList, DENSE_ROW_PIXELS_PER_CHANGE, ROW_SPAN, SENTINELS, paint_words, row_words,
};
use crate::{Bitmap, Error, Resolution, Scheme};

/// Bounds on what a decoder will build, whatever the data claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Rows decoded at most; data past this is ignored and the page ends with
    /// [`PageEnd::RowLimit`].
    pub max_rows: u32,
}

impl Default for DecodeLimits {
    /// 20 000 rows: a 2.5 m page at 196 lpi, ten times any real fax page.
    fn default() -> Self {
        DecodeLimits { max_rows: 20_000 }
    }
}

/// How to decode a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The scheme the data was coded with. For MR the K factor does not matter: the tag
    /// bit after every EOL says how each line is coded.
    pub scheme: Scheme,
    /// Pixels per line.
    pub width: u32,
    /// The number of rows, when a container (TIFF) says so. The page then ends after this
    /// many rows; missing rows are filled white and counted as bad. `None` (the phone
    /// line) decodes until RTC/EOFB or the end of the data.
    pub rows: Option<u32>,
    /// MH/MR: whether lines start with EOL codes (true for T.4 line data and TIFF Class F).
    /// Fill bits before an EOL are always accepted. `false` means MH without EOLs, every
    /// row starting on a byte boundary: TIFF Compression 2 ("CCITT RLE"), the counterpart
    /// of [`crate::EncodeOptions::eol`] = false. Ignored for MMR.
    pub eol: bool,
    /// Resolution to tag the decoded bitmap with.
    pub resolution: Resolution,
    /// Bounds on memory and work.
    pub limits: DecodeLimits,
}

impl DecodeOptions {
    /// Options for data of `scheme` and `width` with EOLs (MH/MR), unknown height, fine
    /// resolution and default limits.
    pub fn new(scheme: Scheme, width: u32) -> DecodeOptions {
        DecodeOptions {
            scheme,
            width,
            rows: None,
            eol: scheme != Scheme::Mmr,
            resolution: Resolution::FINE,
            limits: DecodeLimits::default(),
        }
    }
}

/// Why decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageEnd {
    /// MH/MR: the return-to-control sequence (six EOLs) was found.
    Rtc,
    /// MMR: the end-of-facsimile-block code was found.
    Eofb,
    /// The number of rows given in [`DecodeOptions::rows`] was reached.
    RowCount,
    /// The data ran out before any end marker.
    EndOfData,
    /// MMR: a code error; nothing after it can be decoded (T.6 has no resync point).
    Damaged,
    /// [`DecodeLimits::max_rows`] was reached.
    RowLimit,
}

/// A decoded page and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedPage {
    /// The pixels. Bad rows are replaced by the row above (white for the first).
    pub bitmap: Bitmap,
    /// Rows that could not be decoded.
    pub bad_rows: u32,
    /// Longest run of consecutive bad rows.
    pub longest_bad_run: u32,
    /// Why decoding stopped.
    pub end: PageEnd,
}

/// Decodes one page. Returns an error only for bad options or data with no decodable
/// row at all; damage after the first good row is reported in [`DecodedPage`].
pub fn decode(data: &[u8], options: &DecodeOptions) -> Result<DecodedPage, Error> {
    let width = options.width;
    if width == 0 || width > MAX_WIDTH {
        return Err(Error::BadWidth {
            width,
            max: MAX_WIDTH,
        });
    }
    let (row_cap, end_at_cap) = match options.rows {
        Some(rows) if rows > options.limits.max_rows => {
            return Err(Error::TooTall {
                height: rows,
                max: options.limits.max_rows,
            });
        }
        Some(rows) => (rows, PageEnd::RowCount),
        None => (options.limits.max_rows, PageEnd::RowLimit),
    };
    let mut page = PageBuilder::new(width, options.rows);
    let mut lines = LineDecoder::new(width);
    let mut reader = BitReader::new(data);
    let end = match options.scheme {
        Scheme::Mmr => decode_t6(&mut reader, &mut lines, &mut page, row_cap, end_at_cap),
        Scheme::Mh | Scheme::Mr { .. } if !options.eol => {
            decode_aligned_mh(&mut reader, &mut lines, &mut page, row_cap, end_at_cap)
        }
        Scheme::Mh => decode_t4(
            &mut reader,
            &mut lines,
            &mut page,
            row_cap,
            end_at_cap,
            false,
        ),
        Scheme::Mr { .. } => decode_t4(
            &mut reader,
            &mut lines,
            &mut page,
            row_cap,
            end_at_cap,
            true,
        ),
    };
    if let Some(rows) = options.rows {
        // A container promised this many rows; the missing ones are damage.
        while page.rows < rows {
            page.push_missing();
        }
    }
    if page.good_rows == 0 && page.bad_rows > 0 {
        return Err(Error::Corrupt {
            scheme: options.scheme,
            bit_offset: reader.position().min(data.len() as u64 * 8),
            reason: "no row could be decoded",
        });
    }
    let (bad_rows, longest_bad_run, rows) = (page.bad_rows, page.longest_bad_run, page.rows);
    let bitmap = Bitmap::from_packed(width, rows, options.resolution, page.into_data())?;
    Ok(DecodedPage {
        bitmap,
        bad_rows,
        longest_bad_run,
        end,
    })
}

/// T.4 data with EOLs: MH, or MR with a tag bit after every EOL.
fn decode_t4(
    r: &mut BitReader<'_>,
    lines: &mut LineDecoder,
    page: &mut PageBuilder,
    row_cap: u32,
    end_at_cap: PageEnd,
    two_dimensional: bool,
) -> PageEnd {
    // Whether the last row was lost; MR 2-D rows coded against it are lost too, until
    // the next 1-D row restarts the chain.
    let mut reference_lost = false;
    loop {
        if page.rows >= row_cap {
            return end_at_cap;
        }
        let mut one_dimensional = true;
        if r.peek(EOL.len as u32) == u32::from(EOL.code) {
            // An EOL with no fill before it, as TIFF Class F and most senders code
            // lines: taken from one peek, where the general path below counts zeros.
            r.consume(EOL.len as u32);
            if two_dimensional {
                one_dimensional = r.peek(1) == 1;
                r.consume(1);
            }
            // A 1 bit among the next eleven is line data (past the end the reader yields
            // zeros): neither RTC nor the end of the data.
            if r.peek(11) == 0
                && let Some(end) = end_after_eol(r)
            {
                return end;
            }
            if take_white_row(r, lines, page, one_dimensional, reference_lost) {
                reference_lost = false;
                continue;
            }
            if let Some(end) = decode_row(r, lines, page, one_dimensional, &mut reference_lost) {
                return end;
            }
            continue;
        }
        let zeros = r.count_zeros();
        if zeros >= r.remaining() {
            return PageEnd::EndOfData;
        }
        if zeros >= 11 {
            r.skip(zeros + 1);
            if two_dimensional {
                one_dimensional = r.peek(1) == 1;
                r.consume(1);
            }
            if let Some(end) = end_after_eol(r) {
                return end;
            }
        } else if page.rows > 0 || page.bad_rows > 0 {
            // Line data where an EOL belongs: we are out of step. Find the next EOL.
            page.push_bad();
            reference_lost = true;
            if resync(r) {
                continue;
            }
            return PageEnd::EndOfData;
        }
        // else: a first line without its leading EOL; take it as it comes.
        if let Some(end) = decode_row(r, lines, page, one_dimensional, &mut reference_lost) {
            return end;
        }
    }
}

/// Takes a white row after an EOL, coded the one way a white row codes (1-D: the white
/// run of the whole width; 2-D against a white reference: V0) and followed by fill or
/// the next EOL, with one peek. Returns false, having consumed nothing, for any other
/// row. A page is mostly white rows, and for them the general path's work per row
/// (decoding, painting, checking) costs more than their few codes.
#[inline(always)]
fn take_white_row(
    r: &mut BitReader<'_>,
    lines: &mut LineDecoder,
    page: &mut PageBuilder,
    one_dimensional: bool,
    reference_lost: bool,
) -> bool {
    let (code, len) = if one_dimensional {
        match lines.white_line {
            Some(white_line) => white_line,
            None => return false,
        }
    } else if !reference_lost && lines.reference_is_white() {
        (1, 1)
    } else {
        return false;
    };
    // Then eleven zeros: fill or an EOL, as a row must end. Zeros past the end of the
    // data end it too, but the codes themselves must all be there.
    if r.peek(len + 11) != code << 11 || r.remaining() < u64::from(len) {
        return false;
    }
    r.consume(len);
    page.push_white(1);
    lines.accept_white();
    true
}

/// What follows an EOL when it is not line data: another EOL (RTC) or the end of the
/// data. `None` when a line follows.
fn end_after_eol(r: &BitReader<'_>) -> Option<PageEnd> {
    // EOL straight after EOL carries no line: that is RTC.
    let next_zeros = r.count_zeros();
    if next_zeros >= r.remaining() {
        Some(PageEnd::EndOfData)
    } else if next_zeros >= 11 {
        Some(PageEnd::Rtc)
    } else {
        None
    }
}

/// Decodes the row after an EOL (or the first row) and adds it to the page, good or bad.
/// Returns the page's end if the data ran out while looking for the next EOL.
#[inline(always)]
fn decode_row(
    r: &mut BitReader<'_>,
    lines: &mut LineDecoder,
    page: &mut PageBuilder,
    one_dimensional: bool,
    reference_lost: &mut bool,
) -> Option<PageEnd> {
    // A damaged code can swallow the zeros of the next EOL; resynchronising from the
    // start of the line finds that EOL, since line data never holds eleven zeros.
    let line_start = r.position();
    let decoded = if one_dimensional {
        lines.decode_1d(r)
    } else if *reference_lost {
        Err(LineError)
    } else {
        lines.decode_2d(r)
    };
    if decoded.is_ok() && trailer_is_fill_then_eol(r) {
        page.push_good(lines.current().as_slice());
        lines.accept();
        *reference_lost = false;
        None
    } else {
        page.push_bad();
        *reference_lost = true;
        r.seek(line_start);
        if resync(r) {
            None
        } else {
            Some(PageEnd::EndOfData)
        }
    }
}

/// MH without EOLs, each row starting on a byte boundary (TIFF Compression 2).
fn decode_aligned_mh(
    r: &mut BitReader<'_>,
    lines: &mut LineDecoder,
    page: &mut PageBuilder,
    row_cap: u32,
    end_at_cap: PageEnd,
) -> PageEnd {
    loop {
        if page.rows >= row_cap {
            return end_at_cap;
        }
        if r.exhausted() {
            return PageEnd::EndOfData;
        }
        if lines.decode_1d(r).is_err() {
            // No EOL to resynchronise on: the rest of the strip is lost.
            return PageEnd::Damaged;
        }
        page.push_good(lines.current().as_slice());
        lines.accept();
        r.align_to_byte();
    }
}

/// T.6: 2-D lines back to back, ended by EOFB. One error loses the rest of the page.
fn decode_t6(
    r: &mut BitReader<'_>,
    lines: &mut LineDecoder,
    page: &mut PageBuilder,
    row_cap: u32,
    end_at_cap: PageEnd,
) -> PageEnd {
    const EOFB: u32 = 0b0000_0000_0001_0000_0000_0001;
    loop {
        if page.rows >= row_cap {
            return end_at_cap;
        }
        // Every mode code has a 1 bit among its first seven; EOFB and the zeros past the
        // end of the data have none. So one peek tells a line from the page's end.
        if r.peek(7) == 0 {
            if r.peek(24) == EOFB && r.remaining() >= 24 {
                return PageEnd::Eofb;
            }
            if r.count_zeros() >= r.remaining() {
                return PageEnd::EndOfData;
            }
        } else if lines.reference_is_white() {
            // Against a white reference a white row is V0, one 1 bit: a blank stretch of
            // the page is a string of ones, taken at once (up to 32 rows).
            let white_rows = (!r.peek(32)).leading_zeros().min(row_cap - page.rows);
            if white_rows > 0 {
                r.consume(white_rows);
                page.push_white(white_rows);
                continue;
            }
        }
        if lines.decode_2d(r).is_err() {
            return PageEnd::Damaged;
        }
        page.push_good(lines.current().as_slice());
        lines.accept();
    }
}

/// After a line, only fill bits may come before the next EOL (or the end of the data).
/// A 1 bit earlier means the line decoded to the right width by accident.
fn trailer_is_fill_then_eol(r: &BitReader<'_>) -> bool {
    if r.peek(11) == 0 {
        return true;
    }
    let zeros = r.count_zeros();
    zeros >= 11 || zeros >= r.remaining()
}

/// Skips to the next EOL (leaving it unread). Returns false if the data ends first.
fn resync(r: &mut BitReader<'_>) -> bool {
    loop {
        let zeros = r.count_zeros();
        if zeros >= r.remaining() {
            r.skip(zeros);
            return false;
        }
        if zeros >= 11 {
            return true;
        }
        r.skip(zeros + 1);
    }
}

/// A line could not be decoded. Where and why does not matter to the caller: T.4
/// handles every error the same way (drop the line, find the next EOL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineError;

/// Decodes single lines into changing-element lists.
struct LineDecoder {
    width: u32,
    /// The reference line's changes (all white before the first line) and the line just
    /// decoded, with sentinels: `lists[current]` is the latter. The two trade places by
    /// flipping the index, not by swapping the lists, whose fields the line decoders
    /// have just written one by one: a block copy of them would wait on each store.
    lists: [ChangeList; 2],
    /// Index of the current line's list in `lists`.
    current: usize,
    /// The 1-D code of a white line (make-up and terminating code of the white run of
    /// the whole width, right-aligned, and its length), when it is short enough for
    /// [`take_white_row`] to peek at with the eleven zeros after it.
    white_line: Option<(u32, u32)>,
}

impl LineDecoder {
    fn new(width: u32) -> LineDecoder {
        let white_line = WHITE_RUN_CODES
            .get(width as usize)
            .map(|run| (run.code(), run.len()))
            .filter(|&(_, len)| len + 11 <= 32);
        LineDecoder {
            width,
            lists: [ChangeList::new(width), ChangeList::white(width)],
            current: 0,
            white_line,
        }
    }

    /// Makes the line just decoded the reference for the next.
    fn accept(&mut self) {
        self.current ^= 1;
    }

    /// Makes a white line the reference for the next (a white row taken whole).
    fn accept_white(&mut self) {
        let width = self.width;
        let reference = self.reference_mut();
        reference.clear();
        reference.finish(width);
    }

    /// Whether the reference line is white: only the sentinels.
    fn reference_is_white(&self) -> bool {
        self.reference().as_slice().len() == SENTINELS
    }

    /// The reference line's changes.
    #[inline(always)]
    fn reference(&self) -> &ChangeList {
        &self.lists[self.current ^ 1]
    }

    fn reference_mut(&mut self) -> &mut ChangeList {
        &mut self.lists[self.current ^ 1]
    }

    /// The current line's changes.
    #[inline(always)]
    fn current(&self) -> &ChangeList {
        &self.lists[self.current & 1]
    }

    /// The reference line's changes and, to write, the current line's.
    #[inline(always)]
    fn reference_and_current(&mut self) -> (&ChangeList, &mut ChangeList) {
        let [first, second] = &mut self.lists;
        if self.current == 0 {
            (second, first)
        } else {
            (first, second)
        }
    }
}

/// A 1-D line after a line with more changes than one per this many pixels is read a
/// pair of codes per look-up (see [`RunDecoder::step_single`]).
const PAIRED_ROW_PIXELS_PER_CHANGE: u32 = 24;

/// Decodes a one-dimensional line a pair of code words at a time ([`RUN_PAIRS`]), with
/// no branch on what each word is: a terminating code ends a run (the colour flips and
/// its end is a change), a make-up code only moves on. Which of the two comes next
/// depends on the picture, so a branch on it would be mispredicted often.
struct RunDecoder {
    /// Pixels decoded so far.
    pos: u32,
    /// Changes recorded so far.
    len: usize,
    /// Colour of the run being read: 0 white, else black. For pairs of codes it is the
    /// offset of its half of [`RUN_PAIRS`] (`1 << PAIR_LOOKUP_BITS` for black); the
    /// next look-up waits for it, so it is flipped with one XOR.
    colour: usize,
    /// The last change recorded (`u32::MAX` before the first): a terminating code of
    /// length zero right after it cancels it.
    last: u32,
}

impl RunDecoder {
    fn new() -> RunDecoder {
        RunDecoder {
            pos: 0,
            len: 0,
            colour: 0,
            last: u32::MAX,
        }
    }

    /// Decodes one or two code words into `changes` (which has room for every position
    /// up to `width`). Returns true when the line is over: a run ended at `width` or
    /// beyond, or a code word that is no run (its entry's run is past any line) or ran
    /// past it. Consumes at most 13 bits.
    #[inline(always)]
    fn step_pair(&mut self, r: &mut BitReader<'_>, changes: &mut [u32], width: u32) -> bool {
        // Below 2048: the bounds check is a predicted branch, off the path from one
        // look-up to the next, where masking the index would be on it.
        let mut pair = RUN_PAIRS[self.colour | r.peek(PAIR_LOOKUP_BITS) as usize];
        if pair.is_longer() {
            pair = RunPair::single(if self.colour == 0 {
                WHITE_RUNS[r.peek(WHITE_LOOKUP_BITS) as usize]
            } else {
                BLACK_RUNS[r.peek(BLACK_LOOKUP_BITS) as usize]
            });
        }
        r.consume_buffered(pair.code_len());
        self.colour ^= pair.colour_flip();
        if self.code(pair.first(), changes, width) {
            // The line ended on the first code: a second one belongs to what follows
            // (the next row of aligned MH, or damage), so it is given back. Rare: at
            // the end of a line with EOLs, the EOL's zeros are no second code.
            if pair.second_len() != 0 {
                give_back(r, pair.second_len());
            }
            return true;
        }
        self.code(pair.second(), changes, width)
    }

    /// Decodes one code word, as [`RunDecoder::step_pair`] does two. On text, where
    /// long white runs take two codes of their own (make-up and terminating), few codes
    /// pair up, and the smaller table and the work of one code per look-up win.
    #[inline(always)]
    fn step_single(&mut self, r: &mut BitReader<'_>, changes: &mut [u32], width: u32) -> bool {
        // The colour picks the table as a pointer, off the path from one look-up to the
        // next: that path is only load, shift of the buffer, shift for the index.
        let table = if self.colour == 0 {
            &WHITE_RUNS_SINGLE
        } else {
            &BLACK_RUNS_SINGLE
        };
        let mut entry = table[r.peek(SINGLE_LOOKUP_BITS) as usize];
        // A branch, mispredicted about once a line on text with long black runs; a
        // select instead (both look-ups every time) costs more, since it lengthens the
        // path from one look-up to the next on every code.
        if entry.is_longer() {
            entry = if self.colour == 0 {
                WHITE_RUNS[r.peek(WHITE_LOOKUP_BITS) as usize]
            } else {
                BLACK_RUNS[r.peek(BLACK_LOOKUP_BITS) as usize]
            };
        }
        r.consume_buffered(entry.code_len());
        self.colour ^= entry.colour_flip() as usize;
        self.code(entry.code_half(), changes, width)
    }

    /// Takes in one code word (a code half of a [`RunPair`]); returns true when the line
    /// is over (see [`RunDecoder::step`]).
    #[inline(always)]
    fn code(&mut self, code: u32, changes: &mut [u32], width: u32) -> bool {
        self.pos += pair_code_run(code);
        let ends_run = pair_code_ends_run(code);
        // Written ahead; counted only if the code ends a run.
        if let Some(slot) = changes.get_mut(self.len) {
            *slot = self.pos;
        }
        // A code that does not end a run can never match: its probe has bit 31 set, and
        // no position has. One compare, where `terminating && ..` would also branch on
        // the kind of code, which is the mispredicted one.
        let probe = self.pos | pair_code_goes_on_bit(code);
        if probe == self.last {
            // A zero-length run: the colour changes back at once.
            self.cancel_last(changes);
        } else {
            self.len += ends_run as usize;
            self.last = if ends_run != 0 { self.pos } else { self.last };
        }
        // A run ends the line at `width`; a make-up code only past it.
        self.pos + ends_run > width
    }

    /// Takes back the last change (after a run of length zero).
    #[cold]
    fn cancel_last(&mut self, changes: &[u32]) {
        self.len -= 1;
        self.last = match self.len.checked_sub(1) {
            Some(i) => changes[i],
            None => u32::MAX,
        };
    }

    /// The number of changes of a line that ended well: exactly at `width`, on a
    /// terminating code. The change recorded there is the line's end, not a change.
    fn finish(&self, width: u32) -> Result<usize, LineError> {
        if self.pos == width && self.last == width {
            Ok(self.len - 1)
        } else {
            Err(LineError)
        }
    }
}

/// Moves the reader back by `bits` just consumed.
#[cold]
#[inline(never)]
fn give_back(r: &mut BitReader<'_>, bits: u32) {
    r.seek(r.position() - u64::from(bits));
}

/// Reads one run of at most `width`: make-up codes, then a terminating code.
///
/// The common run, one terminating code, takes no refill: the caller refills before a
/// pair of runs, and two terminating codes (at most 8 + 12 bits) plus the second peek
/// fit in the 56 bits a refill leaves. A make-up code goes the slow way, which refills
/// as it goes and on leaving.
#[inline(always)]
fn read_run(r: &mut BitReader<'_>, width: u32, white: bool) -> Result<u32, LineError> {
    let entry = lookup_run(r, white);
    r.consume_buffered(entry.code_len());
    if entry.is_terminating() {
        return Ok(entry.run());
    }
    let (reader, run) = read_made_up_run(r.clone(), width, white, entry);
    *r = reader;
    run
}

/// The table entry for the run code at the reader, from the small table when the code is
/// short (most of a page's are), else from the full one.
#[inline(always)]
fn lookup_run(r: &BitReader<'_>, white: bool) -> RunEntry {
    let (fast, full, full_bits) = if white {
        (&WHITE_RUNS_FAST, &WHITE_RUNS[..], WHITE_LOOKUP_BITS)
    } else {
        (&BLACK_RUNS_FAST, &BLACK_RUNS[..], BLACK_LOOKUP_BITS)
    };
    let entry = fast[r.peek(FAST_LOOKUP_BITS) as usize];
    if entry.is_longer() {
        full[r.peek(full_bits) as usize]
    } else {
        entry
    }
}

/// The rest of a run that began with `first`, already consumed: more make-up codes,
/// then a terminating one. Leaves the buffer refilled, as [`read_run`] promises.
///
/// Inlined, with the reader going in and out by value, so that the caller's copy stays
/// in registers: out of line, the reader would go through memory as a block, loaded
/// wider than its fields were stored, which stalls (see [`BitReader::copy`]). White runs
/// of 64 pixels and more, common in text, come this way.
#[inline(always)]
fn read_made_up_run<'a>(
    mut r: BitReader<'a>,
    width: u32,
    white: bool,
    first: RunEntry,
) -> (BitReader<'a>, Result<u32, LineError>) {
    let mut entry = first;
    let mut total = 0u32;
    loop {
        if !entry.is_makeup() {
            return (r, Err(LineError));
        }
        total += entry.run();
        if total > width {
            return (r, Err(LineError));
        }
        r.refill();
        entry = lookup_run(&r, white);
        r.consume_buffered(entry.code_len());
        if entry.is_terminating() {
            r.refill();
            return (r, Ok(total + entry.run()));
        }
    }
}

impl LineDecoder {
    /// One-dimensional line: alternating white and black runs to exactly `width`.
    fn decode_1d(&mut self, reader: &mut BitReader<'_>) -> Result<(), LineError> {
        // See `BitReader` on why a copy.
        let mut r = reader.copy();
        let decoded = self.decode_1d_with(&mut r);
        // Callers expect the buffer topped up, as after any `consume`.
        r.refill();
        reader.set(&r);
        decoded
    }

    #[inline(always)]
    fn decode_1d_with(&mut self, r: &mut BitReader<'_>) -> Result<(), LineError> {
        let width = self.width;
        let mut line = RunDecoder::new();
        let (reference, current) = self.reference_and_current();
        let changes = current.buffer_mut();
        // A step takes at most 13 bits and peeks at most 13: four steps fit in the 56
        // bits a refill leaves. Text lines refill every three, which measures faster
        // there (a line often ends before the fourth). Past the end of the data the
        // reader yields zeros, which are no run code, so the loop ends; the overrun
        // check below rejects a line finished on them.
        // A line much like the one before: many changes there, many pairs of short runs
        // here (see `RunDecoder::step_single`).
        let dense = reference.as_slice().len() > (width / PAIRED_ROW_PIXELS_PER_CHANGE) as usize;
        if dense {
            'line: loop {
                r.refill();
                for _ in 0..4 {
                    if line.step_pair(r, changes, width) {
                        break 'line;
                    }
                }
            }
        } else {
            'line: loop {
                r.refill();
                for _ in 0..3 {
                    if line.step_single(r, changes, width) {
                        break 'line;
                    }
                }
            }
        }
        let len = line.finish(width)?;
        if r.overran() {
            return Err(LineError);
        }
        current.set_len(len);
        current.finish(width);
        Ok(())
    }

    /// Two-dimensional line coded against `self.reference`.
    fn decode_2d(&mut self, reader: &mut BitReader<'_>) -> Result<(), LineError> {
        // See `BitReader` on why a copy.
        let mut r = reader.copy();
        // Against a reference line of many short runs (halftone, dithering) the line is
        // coded much the same, and its decoding runs best with other trade-offs.
        let dense =
            self.reference().as_slice().len() > (self.width / DENSE_ROW_PIXELS_PER_CHANGE) as usize;
        let decoded = if dense {
            self.decode_2d_with::<true>(&mut r)
        } else {
            self.decode_2d_with::<false>(&mut r)
        };
        // Callers expect the buffer topped up, as after any `consume`.
        r.refill();
        reader.set(&r);
        decoded
    }

    /// [`LineDecoder::decode_2d`] for a reference line that is `DENSE` with changes or
    /// not.
    #[inline(always)]
    fn decode_2d_with<const DENSE: bool>(
        &mut self,
        r: &mut BitReader<'_>,
    ) -> Result<(), LineError> {
        let width = self.width;
        let (reference, current) = self.reference_and_current();
        let reference = reference.as_slice();
        let changes = current.buffer_mut();
        // Changes so far: its parity is the colour of a0 (even: white).
        let mut len = 0usize;
        // a0 starts on the imaginary white pixel left of the row, written as 0 here: no
        // change can be left of it, and runs are measured from pixel 0.
        let mut a0 = 0u32;
        // Index of b1: the first reference change right of a0 whose colour is opposite
        // a0's. Its parity always equals that of `len`, so moving it keeps to steps of
        // two except where a change of colour flips the parity.
        let mut b = 0usize;
        loop {
            let mode = MODES[r.peek(MODE_LOOKUP_BITS) as usize];
            r.consume_short(mode.code_len());
            // Branches on the mode, not arithmetic: vertical modes are most of a page, so
            // the first branch is mostly predicted, and while it is the next code word is
            // decoded before a0 and b1 are known.
            if mode.is_vertical() {
                let delta = mode.delta();
                // Left of pixel 0 wraps to a huge value and fails the width test.
                let a1 = reference[b].wrapping_add_signed(delta);
                if a1 < a0 || a1 > width {
                    return Err(LineError);
                }
                push_change_from(changes, &mut len, width, a1, a0);
                a0 = a1;
                if a0 >= width {
                    break;
                }
                // The colour flipped: b1 is now a neighbour of the old b1, the one on the
                // left if that is still right of a0 (only possible after VL).
                if DENSE {
                    // A branch, mispredicted often: short runs make VL and a step back
                    // a toss-up. Still faster there than waiting for the test, since
                    // while the branch is predicted the next code word is decoded
                    // before b1 is known.
                    if delta < 0 && b > 0 && reference[b - 1] > a0 {
                        b -= 1;
                    } else {
                        b += 1;
                    }
                } else {
                    // Text and line art: arithmetic, since there a branch on VL follows
                    // the edges of the picture and costs more than the three tests
                    // (non-short-circuit `&`).
                    let back = (delta < 0) & (b > 0) & (reference[b.saturating_sub(1)] > a0);
                    b = b + 1 - 2 * usize::from(back);
                }
            } else if mode.is_pass() {
                a0 = reference[b + 1];
                if a0 >= width {
                    break;
                }
                b += 2;
            } else if mode.is_horizontal() {
                let white = len.is_multiple_of(2);
                r.refill();
                let run1 = read_run(r, width, white)?;
                let run2 = read_run(r, width, !white)?;
                let a1 = a0 + run1;
                let a2 = a1 + run2;
                if a2 > width {
                    return Err(LineError);
                }
                push_change_from(changes, &mut len, width, a1, a0);
                push_change_from(changes, &mut len, width, a2, a1);
                a0 = a2;
                if a0 >= width {
                    break;
                }
            } else {
                // Past the end of the data the reader yields zeros, which no mode code
                // is, so the loop ends here; the check after it catches a line that
                // ended on made-up bits.
                return Err(LineError);
            }
            while reference[b] <= a0 {
                b += 2;
            }
        }
        if r.overran() {
            return Err(LineError);
        }
        current.set_len(len);
        current.finish(width);
        Ok(())
    }
}

/// Records a change at `pos`, or cancels the last one if it is at the same place (a
/// zero-length run), keeping the list strictly increasing. Changes at `width` or right of
/// it are not recorded.
#[inline(always)]
fn push_change(changes: &mut [u32], len: &mut usize, pos: u32) {
    if let Some(last) = len.checked_sub(1)
        && changes.get(last) == Some(&pos)
    {
        *len = last;
    } else if let Some(slot) = changes.get_mut(*len) {
        *slot = pos;
        *len += 1;
    }
}

/// [`push_change`] for a change at `pos` made from position `from` (a0 or a1), which is
/// never left of the last change: only `pos == from` can cancel a change, so the list
/// is looked at only then. Changes at `width` or right of it are not recorded.
#[inline(always)]
fn push_change_from(changes: &mut [u32], len: &mut usize, width: u32, pos: u32, from: u32) {
    if pos >= width {
        return;
    }
    if pos > from {
        if let Some(slot) = changes.get_mut(*len) {
            *slot = pos;
            *len += 1;
        }
    } else {
        push_change(changes, len, pos);
    }
}

/// Accumulates rows and the damage statistics T.30 and TIFF-F need.
///
/// The counters that every row updates together (`rows`, `good_rows`) are kept apart
/// (`repr(C)`, in this order): side by side, the compiler updates them as one 8-byte
/// vector, and the next row's 8-byte load of them then waits on the 4-byte store of
/// a row counted alone (white rows, bad rows).
#[repr(C)]
struct PageBuilder {
    rows: u32,
    width: u32,
    good_rows: u32,
    bad_run: u32,
    bad_rows: u32,
    longest_bad_run: u32,
    stride: usize,
    /// The rows so far, then zeros to at least [`ROW_SPAN`] bytes past the last row's
    /// start, so that a row is painted in place, word by word (see [`row_words`]).
    data: Vec<u8>,
}

impl PageBuilder {
    fn new(width: u32, rows: Option<u32>) -> PageBuilder {
        let stride = stride_for(width);
        let promised =
            rows.and_then(|rows| stride.checked_mul(rows as usize)?.checked_add(ROW_SPAN));
        let data = match promised {
            // The page a container promises (already bounded by the limits) is built
            // anyway, if only from white missing rows: zeroed in one go, its rows need
            // no clearing one by one, and white ones no writing at all.
            Some(len) => vec![0; len],
            // Room for a typical fine-resolution A4 page.
            None => Vec::with_capacity(stride * 2400),
        };
        PageBuilder {
            width,
            stride,
            data,
            rows: 0,
            good_rows: 0,
            bad_rows: 0,
            bad_run: 0,
            longest_bad_run: 0,
        }
    }

    /// Adds a white row and returns where it starts.
    fn add_row(&mut self) -> usize {
        let start = self.rows as usize * self.stride;
        if self.data.len() < start + ROW_SPAN {
            self.data.resize(start + ROW_SPAN, 0);
        }
        start
    }

    /// The packed rows, without the slack after them.
    fn into_data(mut self) -> Vec<u8> {
        self.data.truncate(self.rows as usize * self.stride);
        self.data
    }

    /// `count` good white rows.
    fn push_white(&mut self, count: u32) {
        for _ in 0..count {
            self.add_row();
            self.rows += 1;
        }
        self.good_rows += count;
        self.bad_run = 0;
    }

    fn push_good(&mut self, changes: &[u32]) {
        let start = self.add_row();
        if let Some(words) = row_words(&mut self.data, start) {
            paint_words(changes, self.width, words);
        }
        self.rows += 1;
        self.good_rows += 1;
        self.bad_run = 0;
    }

    /// A row that was there but could not be decoded: repeat the row above (T.4 Annex
    /// suggests this as the least visible repair), white for the first row.
    fn push_bad(&mut self) {
        let start = self.add_row();
        if start >= self.stride {
            self.data.copy_within(start - self.stride..start, start);
        }
        self.count_bad();
    }

    /// A row that never arrived: white.
    fn push_missing(&mut self) {
        self.add_row();
        self.count_bad();
    }

    fn count_bad(&mut self) {
        self.rows += 1;
        self.bad_rows += 1;
        self.bad_run += 1;
        self.longest_bad_run = self.longest_bad_run.max(self.bad_run);
    }
}
