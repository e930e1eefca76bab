//! Rows as lists of changing elements, the form both coding schemes work in.
//!
//! A changing element is the position of a pixel whose colour differs from the pixel to
//! its left; the pixel left of the row is an imaginary white one. Even indices are
//! changes to black, odd ones changes back to white. Every list the codec builds ends
//! with [`SENTINELS`] copies of `width`, so the 2-D coders can look up b1 and b2 (and
//! step past them) without running off the end.

/// How many `width` entries end a change list.
pub(crate) const SENTINELS: usize = 4;

/// A change list in a buffer sized once for the widest possible line, so appending
/// never reallocates. Lists are strictly increasing and below `width`, so a line holds
/// at most `width` changes plus the sentinels.
#[derive(Debug, Clone)]
pub(crate) struct ChangeList {
    buf: Vec<u32>,
    len: usize,
}

impl ChangeList {
    /// An empty list for lines of `width` pixels.
    pub fn new(width: u32) -> ChangeList {
        ChangeList {
            buf: vec![width; width as usize + 1 + SENTINELS],
            len: 0,
        }
    }

    /// A list that holds only the sentinels: an all-white line.
    pub fn white(width: u32) -> ChangeList {
        ChangeList {
            buf: vec![width; width as usize + 1 + SENTINELS],
            len: SENTINELS,
        }
    }

    #[inline(always)]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    #[inline(always)]
    pub fn push(&mut self, pos: u32) {
        self.buf[self.len] = pos;
        self.len += 1;
    }

    /// The whole buffer, for a decoder that writes changes ahead of counting them; room
    /// for every position 0..=width plus the sentinels.
    #[inline(always)]
    pub fn buffer_mut(&mut self) -> &mut [u32] {
        &mut self.buf
    }

    /// Counts the first `len` entries of [`ChangeList::buffer_mut`] as the list.
    #[inline(always)]
    pub fn set_len(&mut self, len: usize) {
        debug_assert!(len <= self.buf.len() - SENTINELS);
        self.len = len;
    }

    /// Ends the line with the sentinels.
    pub fn finish(&mut self, width: u32) {
        self.buf[self.len..self.len + SENTINELS].fill(width);
        self.len += SENTINELS;
    }

    /// The changes, sentinels included once finished.
    #[inline(always)]
    pub fn as_slice(&self) -> &[u32] {
        &self.buf[..self.len]
    }
}

/// Replaces `out` with the changing elements of a packed row of `width` pixels, then
/// the sentinels. The row's padding bits must be zero.
pub(crate) fn changes_of_row(row: &[u8], width: u32, out: &mut ChangeList) {
    out.clear();
    let mut carry = 0u64; // colour of the pixel left of the current word
    let mut base = 0u32;
    let mut chunks = row.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_be_bytes(word);
        push_transitions(w ^ ((w >> 1) | (carry << 63)), base, width, out);
        carry = w & 1;
        base += 64;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        let w = u64::from_be_bytes(word);
        push_transitions(w ^ ((w >> 1) | (carry << 63)), base, width, out);
    }
    out.finish(width);
}

#[inline]
fn push_transitions(mut transitions: u64, base: u32, width: u32, out: &mut ChangeList) {
    while transitions != 0 {
        let offset = transitions.leading_zeros();
        let pos = base + offset;
        if pos >= width {
            // The change back to white in the zero padding past the last pixel.
            return;
        }
        out.push(pos);
        transitions &= !(1u64 << (63 - offset));
    }
}

/// 64-pixel words in the widest row ([`crate::bitmap::MAX_WIDTH`]).
pub(crate) const ROW_WORDS: usize = crate::bitmap::MAX_WIDTH.div_ceil(64) as usize;

/// Eight of a row's packed bytes, in memory order (a big-endian value).
pub(crate) type RowWord = [u8; 8];

/// A row as 64-bit words, as many as the widest row has, so that word indices masked to
/// it need no bounds check. A row of `width` pixels uses the first `width.div_ceil(64)`;
/// bytes past its own are only ever written with zeros (no pixel lies there).
pub(crate) type RowWords = [RowWord; ROW_WORDS];

/// Bytes [`row_words`] takes from a row's start: a page painted row after row in one
/// buffer needs this much room from the start of its last row.
pub(crate) const ROW_SPAN: usize = ROW_WORDS * 8;

/// The words of the row that starts at `row` in `data`, which must hold [`ROW_SPAN`]
/// bytes from there; `None` if it does not.
pub(crate) fn row_words(data: &mut [u8], row: usize) -> Option<&mut RowWords> {
    data.get_mut(row..row + ROW_SPAN)?
        .as_chunks_mut::<8>()
        .0
        .try_into()
        .ok()
}

/// Paints a row from its changing elements (sentinels allowed) into `words`, all zero on
/// entry. Positions are clamped to `width`, and pixels past it stay zero.
///
/// The words are those of the page's own row ([`row_words`]): painted in place, a row
/// needs no move from a scratch row, nor that row cleared again.
pub(crate) fn paint_words(changes: &[u32], width: u32, words: &mut RowWords) {
    if changes.first().is_none_or(|&change| change >= width) {
        // A white row.
        return;
    }
    // Rows of many short runs (halftone, dithering) rarely cross a word boundary within
    // a span, which a branch then predicts well; on text they cross as the edges fall.
    if changes.len() > (width / DENSE_ROW_PIXELS_PER_CHANGE) as usize {
        paint_spans::<true>(changes, width, words);
    } else {
        paint_spans::<false>(changes, width, words);
    }
}

/// A row with more changes than one per this many pixels is painted as dense (see
/// [`paint_words`]): a dithered page has one per 2 to 3 pixels, a page of text about one
/// per 50.
pub(crate) const DENSE_ROW_PIXELS_PER_CHANGE: u32 = 6;

/// [`paint_words`] for a `DENSE` row or not.
#[inline(always)]
fn paint_spans<const DENSE: bool>(changes: &[u32], width: u32, words: &mut RowWords) {
    let mut painter = Painter::new();
    let mut pairs = changes.chunks_exact(2);
    for pair in pairs.by_ref() {
        let (start, end) = (pair[0], pair[1].min(width));
        if start >= width {
            return;
        }
        painter.span::<DENSE>(words, start, end);
    }
    if let [start] = pairs.remainder() {
        // An odd list: black runs to the end of the row.
        painter.span::<DENSE>(words, *start, width);
    }
}

/// Sets spans, left to right, in a zeroed row of words: most runs on a page fit in one.
///
/// The word being painted is kept in a register and stored whole after every span. An
/// OR into memory instead would make each span wait for the last one's store whenever
/// both fall in the same word, which is most of them.
struct Painter {
    /// Index of the word in `acc`.
    word: usize,
    /// That word's bits so far.
    acc: u64,
}

impl Painter {
    fn new() -> Painter {
        Painter { word: 0, acc: 0 }
    }

    /// Sets pixels [start, end) (below [`crate::bitmap::MAX_WIDTH`]); spans come in increasing order
    /// and do not overlap.
    #[inline(always)]
    fn span<const DENSE: bool>(&mut self, words: &mut RowWords, start: u32, end: u32) {
        if start >= end {
            return;
        }
        // Masking keeps the indices in the array at no cost; they are in it anyway.
        let first = (start / 64) as usize % ROW_WORDS;
        let last = ((end - 1) / 64) as usize % ROW_WORDS;
        let head = u64::MAX >> (start % 64);
        let tail = u64::MAX << (63 - (end - 1) % 64);
        // A new word starts from nothing; spans never come back to an earlier one.
        let acc = if first == self.word { self.acc } else { 0 };
        if DENSE && first == last {
            self.acc = acc | (head & tail);
            self.word = last;
            words[last] = self.acc.to_be_bytes();
            return;
        }
        // Whether the span crosses into a later word depends on where the picture's
        // edges fall, so it is selected, not branched on: both words are stored either
        // way (the same word twice when it does not cross).
        let crosses = first != last;
        let first_word = acc | if crosses { head } else { head & tail };
        words[first] = first_word.to_be_bytes();
        // Only spans of more than 64 pixels have whole words between their ends.
        for word in words.iter_mut().take(last).skip(first + 1) {
            *word = [0xff; 8];
        }
        self.acc = if crosses { tail } else { first_word };
        self.word = last;
        words[last] = self.acc.to_be_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_changes(row: &[u8], width: u32) -> Vec<u32> {
        let mut v = Vec::new();
        let mut prev = false;
        for x in 0..width {
            let black = row[(x / 8) as usize] & (0x80 >> (x % 8)) != 0;
            if black != prev {
                v.push(x);
                prev = black;
            }
        }
        v.extend([width; SENTINELS]);
        v
    }

    /// Small deterministic generator so the test needs no crate.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn changes_and_fill_match_a_naive_scan() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        for width in [1u32, 7, 8, 9, 63, 64, 65, 127, 128, 200, 1728, 2048, 2432] {
            let stride = width.div_ceil(8) as usize;
            for density in [0u64, 1, 3, 7, 15] {
                let mut row: Vec<u8> = (0..stride)
                    .map(|_| {
                        let r = xorshift(&mut seed);
                        match density {
                            0 => 0xff,
                            1 => r as u8,
                            d => {
                                if r.is_multiple_of(d + 1) {
                                    r as u8
                                } else {
                                    0
                                }
                            }
                        }
                    })
                    .collect();
                let last = row.len() - 1;
                row[last] &= crate::bitmap::last_byte_mask(width);
                let mut out = ChangeList::new(width);
                changes_of_row(&row, width, &mut out);
                assert_eq!(out.as_slice(), naive_changes(&row, width), "width {width}");
                let mut painted = vec![0; ROW_SPAN];
                let words = row_words(&mut painted, 0).expect("room for the widest row");
                paint_words(out.as_slice(), width, words);
                assert_eq!(painted[..stride], row, "width {width}");
                assert!(painted[stride..].iter().all(|&b| b == 0), "width {width}");
            }
        }
    }
}
