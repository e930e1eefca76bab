//! Bit order helpers.

/// Reverses the bit order of one byte (FillOrder 1 <-> 2).
pub const fn reverse_bits(byte: u8) -> u8 {
    byte.reverse_bits()
}

/// Reverses the bit order of every byte in place (FillOrder 1 <-> 2).
pub fn reverse_bits_in_place(data: &mut [u8]) {
    for b in data {
        *b = b.reverse_bits();
    }
}

/// Writes code words most-significant-bit first.
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    out: Vec<u8>,
    /// Pending bits, right-aligned.
    acc: u64,
    /// How many bits of `acc` are pending (always < 32 between calls).
    pending: u32,
}

impl BitWriter {
    pub fn with_capacity(bytes: usize) -> BitWriter {
        BitWriter {
            out: Vec::with_capacity(bytes),
            acc: 0,
            pending: 0,
        }
    }

    /// Appends the low `len` bits of `code` (len <= 32).
    #[inline]
    pub fn put(&mut self, code: u32, len: u32) {
        debug_assert!(len <= 32 && (len == 32 || code >> len == 0));
        self.acc = (self.acc << len) | u64::from(code);
        self.pending += len;
        if self.pending >= 32 {
            self.pending -= 32;
            let word = (self.acc >> self.pending) as u32;
            self.out.extend_from_slice(&word.to_be_bytes());
        }
    }

    /// Appends `n` zero bits.
    pub fn zeros(&mut self, mut n: u32) {
        while n > 0 {
            let k = n.min(32);
            self.put(0, k);
            n -= k;
        }
    }

    /// Pads with zeros to a byte boundary.
    pub fn align(&mut self) {
        let pad = (8 - self.bit_len() % 8) % 8;
        self.put(0, pad as u32);
    }

    /// Bits written so far.
    #[inline]
    pub fn bit_len(&self) -> u64 {
        self.out.len() as u64 * 8 + u64::from(self.pending)
    }

    /// Pads with zeros to a byte boundary and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let pad = (8 - self.pending % 8) % 8;
        self.put(0, pad);
        while self.pending >= 8 {
            self.pending -= 8;
            self.out.push((self.acc >> self.pending) as u8);
        }
        self.out
    }
}

/// Reads a bit string most-significant-bit first. Past the end it yields zeros, and
/// [`BitReader::exhausted`] says so; decoders check it so they always terminate.
#[derive(Debug)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load.
    next: usize,
    /// Buffered bits, left-aligned.
    buf: u64,
    /// Valid bits in `buf` (those past the end of data count as invalid).
    valid: u32,
    /// Bits consumed past the end of the data (read as zeros).
    overrun: u64,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> BitReader<'a> {
        let mut r = BitReader {
            data,
            next: 0,
            buf: 0,
            valid: 0,
            overrun: 0,
        };
        r.refill();
        r
    }

    #[inline]
    fn refill(&mut self) {
        if self.valid <= 32
            && let Some(chunk) = self.data.get(self.next..self.next + 4)
        {
            let mut w = [0u8; 4];
            w.copy_from_slice(chunk);
            self.buf |= u64::from(u32::from_be_bytes(w)) << (32 - self.valid);
            self.valid += 32;
            self.next += 4;
            return;
        }
        while self.valid <= 56 && self.next < self.data.len() {
            self.buf |= u64::from(self.data[self.next]) << (56 - self.valid);
            self.valid += 8;
            self.next += 1;
        }
    }

    /// The next `n` bits (1..=32), right-aligned, without consuming them.
    #[inline]
    pub fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    /// Consumes `n` bits (at most what one peek of 32 shows).
    #[inline]
    pub fn consume(&mut self, n: u32) {
        self.buf <<= n;
        if n > self.valid {
            self.overrun += u64::from(n - self.valid);
            self.valid = 0;
        } else {
            self.valid -= n;
        }
        self.refill();
    }

    /// Whether a code word was read past the end of the data (its tail was made up).
    #[inline]
    pub fn overran(&self) -> bool {
        self.overrun > 0
    }

    /// Bits consumed so far.
    pub fn position(&self) -> u64 {
        self.next as u64 * 8 - u64::from(self.valid) + self.overrun
    }

    /// Whether every bit of the data has been consumed.
    #[inline]
    pub fn exhausted(&self) -> bool {
        self.valid == 0 && self.next >= self.data.len()
    }

    /// Bits left in the data.
    pub fn remaining(&self) -> u64 {
        (self.data.len() - self.next) as u64 * 8 + u64::from(self.valid)
    }

    /// Zero bits before the next 1 bit, or [`BitReader::remaining`] if there is none.
    pub fn count_zeros(&self) -> u64 {
        let lz = self.buf.leading_zeros();
        if lz < self.valid {
            return u64::from(lz);
        }
        let mut zeros = u64::from(self.valid);
        for &byte in &self.data[self.next..] {
            if byte != 0 {
                return zeros + u64::from(byte.leading_zeros());
            }
            zeros += 8;
        }
        zeros
    }

    /// Consumes `n` bits, however many.
    pub fn skip(&mut self, mut n: u64) {
        while n > 0 {
            let k = n.min(32) as u32;
            self.consume(k);
            n -= u64::from(k);
        }
    }

    /// Moves to bit `position` (clamped to the end of the data).
    pub fn seek(&mut self, position: u64) {
        let position = position.min(self.data.len() as u64 * 8);
        self.next = (position / 8) as usize;
        self.buf = 0;
        self.valid = 0;
        self.overrun = 0;
        self.refill();
        self.consume((position % 8) as u32);
    }

    /// Skips to the next byte boundary.
    pub fn align_to_byte(&mut self) {
        let pos = self.position();
        let skip = ((8 - pos % 8) % 8) as u32;
        self.consume(skip);
    }
}
