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
///
/// Every `put` stores the whole 8-byte accumulator and advances by the complete bytes
/// in it, so there is no data-dependent branch per code word; the buffer keeps 8 bytes
/// of slack past the write position for that store.
#[derive(Debug)]
pub(crate) struct BitWriter {
    buf: Vec<u8>,
    /// Bytes complete in `buf`.
    pos: usize,
    /// Pending bits, left-aligned.
    acc: u64,
    /// How many bits of `acc` are pending (at most 7 between calls).
    pending: u32,
}

/// Room kept past `pos` so the unconditional 8-byte store always fits.
const SLACK: usize = 8;

impl BitWriter {
    pub fn with_capacity(bytes: usize) -> BitWriter {
        BitWriter {
            buf: vec![0; bytes.max(64) + SLACK],
            pos: 0,
            acc: 0,
            pending: 0,
        }
    }

    /// Appends the low `len` bits of `code` (len <= 32).
    #[inline(always)]
    pub fn put(&mut self, code: u32, len: u32) {
        debug_assert!(len <= 32 && (len == 32 || code >> len == 0));
        if len == 0 {
            return;
        }
        if self.pos + SLACK > self.buf.len() {
            self.grow();
        }
        self.acc |= u64::from(code) << (64 - self.pending - len);
        self.pending += len;
        self.buf[self.pos..self.pos + SLACK].copy_from_slice(&self.acc.to_be_bytes());
        let bytes = self.pending / 8;
        self.pos += bytes as usize;
        // At most 39 bits were pending, so the shift is below 64.
        self.acc <<= bytes * 8;
        self.pending -= bytes * 8;
    }

    #[cold]
    fn grow(&mut self) {
        let len = self.buf.len();
        self.buf.resize(len * 2 + SLACK, 0);
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
        self.pos as u64 * 8 + u64::from(self.pending)
    }

    /// Pads with zeros to a byte boundary and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.align();
        self.buf.truncate(self.pos);
        self.buf
    }
}

/// Reads a bit string most-significant-bit first. Past the end of the data it reads
/// zeros; [`BitReader::overran`] says when a code word needed them, so decoders always
/// terminate.
///
/// Hot loops work on a reader held in a local (or one a caller holds in a local):
/// a reader reached through a reference, or whose address goes to a call that is not
/// inlined, lives in memory, and every code word then waits for the buffer's last store.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Byte offset of the first bit not yet in `buf`; may run past the end of `data`
    /// (the bytes there read as zero).
    next: usize,
    /// Buffered bits, left-aligned; bits below the `valid` ones are either zero or the
    /// same bits the next refill will load, so OR-ing a refill in is idempotent.
    buf: u64,
    /// Bits of `buf` that are counted as loaded. A full word like every other field:
    /// the reader is copied in and out of the line decoders whole, and an 8-byte load of
    /// a field last written by a 4-byte store cannot take the value from the store
    /// buffer, which stalls every line.
    valid: u64,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> BitReader<'a> {
        let mut r = BitReader {
            data,
            next: 0,
            buf: 0,
            valid: 0,
        };
        r.refill();
        r
    }

    /// A copy for a hot loop to hold in a local (see [`BitReader`]), field by field.
    ///
    /// Not [`Clone::clone`], which copies the struct as a block with 16-byte loads: the
    /// fields were just written one by one with 8-byte stores, and a load wider than the
    /// store it reads from cannot take its value from the store buffer, a stall of
    /// some 15 cycles on every line. `black_box` on each field keeps the compiler from
    /// merging the loads again.
    #[inline(always)]
    pub fn copy(&self) -> BitReader<'a> {
        BitReader {
            data: self.data,
            next: std::hint::black_box(self.next),
            buf: std::hint::black_box(self.buf),
            valid: std::hint::black_box(self.valid),
        }
    }

    /// Takes the state of a copy back (see [`BitReader::copy`]).
    #[inline(always)]
    pub fn set(&mut self, copy: &BitReader<'a>) {
        self.next = copy.next;
        self.buf = copy.buf;
        self.valid = copy.valid;
    }

    /// Tops the buffer up to at least 56 valid bits with one 8-byte load.
    #[inline(always)]
    pub fn refill(&mut self) {
        let word = match self.data.get(self.next..self.next + 8) {
            Some(chunk) => {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                u64::from_be_bytes(w)
            }
            None => tail_word(self.data, self.next),
        };
        self.buf |= word >> self.valid;
        let bytes = (63 - self.valid) / 8;
        self.next += bytes as usize;
        self.valid += bytes * 8;
    }

    /// Consumes `n` bits (at most 32), refilling only when fewer than 32 remain: for
    /// streams of short codes (2-D mode codes), where the refill is rarely needed and the
    /// branch is predictable.
    #[inline(always)]
    pub fn consume_short(&mut self, n: u32) {
        self.buf <<= n;
        self.valid -= u64::from(n);
        if self.valid < 32 {
            self.refill();
        }
    }

    /// Consumes `n` bits without refilling. The caller keeps count: after
    /// [`BitReader::refill`] at least 56 bits are buffered, and every peek must stay within
    /// the bits still buffered.
    #[inline(always)]
    pub fn consume_buffered(&mut self, n: u32) {
        debug_assert!(u64::from(n) <= self.valid);
        self.buf <<= n;
        self.valid -= u64::from(n);
    }

    /// The next `n` bits (1..=32), right-aligned, without consuming them.
    #[inline(always)]
    pub fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    /// Consumes `n` bits (at most 32) and tops the buffer up again. The refill runs
    /// every time: cheaper than a branch on the buffer level, which depends on the data
    /// and so mispredicts.
    #[inline(always)]
    pub fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.valid -= u64::from(n);
        self.refill();
    }

    /// Whether a code word was read past the end of the data (its tail was made up).
    #[inline(always)]
    pub fn overran(&self) -> bool {
        self.position() > self.data.len() as u64 * 8
    }

    /// Bits consumed so far.
    #[inline(always)]
    pub fn position(&self) -> u64 {
        self.next as u64 * 8 - self.valid
    }

    /// Whether every bit of the data has been consumed.
    pub fn exhausted(&self) -> bool {
        self.remaining() == 0
    }

    /// Bits left in the data.
    pub fn remaining(&self) -> u64 {
        (self.data.len() as u64 * 8).saturating_sub(self.position())
    }

    /// Zero bits before the next 1 bit, or [`BitReader::remaining`] if there is none.
    pub fn count_zeros(&self) -> u64 {
        let remaining = self.remaining();
        let lz = self.buf.leading_zeros();
        if u64::from(lz) < self.valid {
            return u64::from(lz).min(remaining);
        }
        let mut zeros = self.valid;
        for &byte in self.data.get(self.next..).unwrap_or(&[]) {
            if byte != 0 {
                return (zeros + u64::from(byte.leading_zeros())).min(remaining);
            }
            zeros += 8;
        }
        zeros.min(remaining)
    }

    /// Consumes `n` bits, however many.
    pub fn skip(&mut self, n: u64) {
        if n <= 32 {
            // The buffer always holds at least 32 bits after a refill.
            self.consume(n as u32);
        } else {
            self.seek(self.position().saturating_add(n));
        }
    }

    /// Moves to bit `position` (clamped to just past the end of the data).
    pub fn seek(&mut self, position: u64) {
        let position = position.min(self.data.len() as u64 * 8 + 8);
        self.next = (position / 8) as usize;
        self.buf = 0;
        self.valid = 0;
        self.refill();
        self.consume((position % 8) as u32);
    }

    /// Skips to the next byte boundary.
    pub fn align_to_byte(&mut self) {
        let pos = self.position();
        self.consume(((8 - pos % 8) % 8) as u32);
    }
}

/// The bytes of `data` from `next` on, zero-padded to a word (zeros past the end). It
/// takes the fields, not the reader: a reader whose address went to a call that is not
/// inlined would have to live in memory.
#[cold]
fn tail_word(data: &[u8], next: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(tail) = data.get(next..) {
        w[..tail.len()].copy_from_slice(tail);
    }
    u64::from_be_bytes(w)
}
