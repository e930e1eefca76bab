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
            buf: vec![width; width as usize + SENTINELS],
            len: 0,
        }
    }

    /// A list that holds only the sentinels: an all-white line.
    pub fn white(width: u32) -> ChangeList {
        ChangeList {
            buf: vec![width; width as usize + SENTINELS],
            len: SENTINELS,
        }
    }

    #[inline(always)]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn last(&self) -> Option<u32> {
        self.len.checked_sub(1).map(|i| self.buf[i])
    }

    #[inline(always)]
    pub fn push(&mut self, pos: u32) {
        self.buf[self.len] = pos;
        self.len += 1;
    }

    #[inline(always)]
    pub fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
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

/// Paints a row from its changing elements (sentinels allowed) into `words`, a row as
/// big-endian 64-bit words, all zero on entry (see [`take_words`]); at least
/// `width.div_ceil(64)` of them. Positions are clamped to the row.
///
/// Spans are set a word at a time, where most runs on a page fit in one word: cheaper
/// than setting bytes span by span.
pub(crate) fn paint_words(changes: &[u32], width: u32, words: &mut [u64]) {
    let mut pairs = changes.chunks_exact(2);
    for pair in pairs.by_ref() {
        let (start, end) = (pair[0], pair[1].min(width));
        if start >= width {
            return;
        }
        set_span(words, start, end);
    }
    if let [start] = pairs.remainder() {
        // An odd list: black runs to the end of the row.
        set_span(words, *start, width);
    }
}

/// Moves a row painted by [`paint_words`] into `row` (its packed bytes) and zeroes the
/// words again, so the next row starts clean without a separate pass to clear them.
pub(crate) fn take_words(words: &mut [u64], row: &mut [u8]) {
    let mut chunks = row.chunks_exact_mut(8);
    let mut words = words.iter_mut();
    for (chunk, word) in chunks.by_ref().zip(words.by_ref()) {
        chunk.copy_from_slice(&std::mem::take(word).to_be_bytes());
    }
    let rest = chunks.into_remainder();
    if let Some(word) = words.next().filter(|_| !rest.is_empty()) {
        rest.copy_from_slice(&std::mem::take(word).to_be_bytes()[..rest.len()]);
    }
}

/// Sets bits [start, end) of a row held as big-endian 64-bit words.
#[inline(always)]
fn set_span(words: &mut [u64], start: u32, end: u32) {
    if start >= end {
        return;
    }
    let (first, last) = ((start / 64) as usize, ((end - 1) / 64) as usize);
    let head = u64::MAX >> (start % 64);
    let tail = u64::MAX << (63 - (end - 1) % 64);
    if first == last {
        words[first] |= head & tail;
        return;
    }
    words[first] |= head;
    for word in &mut words[first + 1..last] {
        *word = u64::MAX;
    }
    words[last] |= tail;
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
                let mut words = vec![0u64; 200];
                paint_words(out.as_slice(), width, &mut words);
                let mut painted = vec![0x5a; stride];
                take_words(&mut words, &mut painted);
                assert_eq!(painted, row, "width {width}");
                assert!(words.iter().all(|&w| w == 0), "width {width}");
            }
        }
    }
}
