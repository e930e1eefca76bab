//! The code tables of T.4 §4.1 (Tables 1–3 and the 2-D mode codes of Table 4), written
//! in the standard's notation, and the decode lookup tables built from them at compile
//! time.

/// One code word: its bits right-aligned in `code`, `len` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Code {
    pub code: u16,
    pub len: u8,
}

/// Parses a code word written as a string of '0'/'1'.
const fn c(bits: &str) -> Code {
    let b = bits.as_bytes();
    let mut code = 0u16;
    let mut i = 0;
    while i < b.len() {
        code = (code << 1) | (b[i] - b'0') as u16;
        i += 1;
    }
    Code {
        code,
        len: b.len() as u8,
    }
}

/// White terminating codes, run lengths 0–63 (T.4 Table 2a).
#[rustfmt::skip]
pub(crate) const WHITE_TERMINATING: [Code; 64] = [
    c("00110101"), c("000111"), c("0111"), c("1000"), c("1011"), c("1100"), c("1110"), c("1111"),
    c("10011"), c("10100"), c("00111"), c("01000"), c("001000"), c("000011"), c("110100"),
    c("110101"), c("101010"), c("101011"), c("0100111"), c("0001100"), c("0001000"),
    c("0010111"), c("0000011"), c("0000100"), c("0101000"), c("0101011"), c("0010011"),
    c("0100100"), c("0011000"), c("00000010"), c("00000011"), c("00011010"), c("00011011"),
    c("00010010"), c("00010011"), c("00010100"), c("00010101"), c("00010110"), c("00010111"),
    c("00101000"), c("00101001"), c("00101010"), c("00101011"), c("00101100"), c("00101101"),
    c("00000100"), c("00000101"), c("00001010"), c("00001011"), c("01010010"), c("01010011"),
    c("01010100"), c("01010101"), c("00100100"), c("00100101"), c("01011000"), c("01011001"),
    c("01011010"), c("01011011"), c("01001010"), c("01001011"), c("00110010"), c("00110011"),
    c("00110100"),
];

/// Black terminating codes, run lengths 0–63 (T.4 Table 2b).
#[rustfmt::skip]
pub(crate) const BLACK_TERMINATING: [Code; 64] = [
    c("0000110111"), c("010"), c("11"), c("10"), c("011"), c("0011"), c("0010"), c("00011"),
    c("000101"), c("000100"), c("0000100"), c("0000101"), c("0000111"), c("00000100"),
    c("00000111"), c("000011000"), c("0000010111"), c("0000011000"), c("0000001000"),
    c("00001100111"), c("00001101000"), c("00001101100"), c("00000110111"), c("00000101000"),
    c("00000010111"), c("00000011000"), c("000011001010"), c("000011001011"),
    c("000011001100"), c("000011001101"), c("000001101000"), c("000001101001"),
    c("000001101010"), c("000001101011"), c("000011010010"), c("000011010011"),
    c("000011010100"), c("000011010101"), c("000011010110"), c("000011010111"),
    c("000001101100"), c("000001101101"), c("000011011010"), c("000011011011"),
    c("000001010100"), c("000001010101"), c("000001010110"), c("000001010111"),
    c("000001100100"), c("000001100101"), c("000001010010"), c("000001010011"),
    c("000000100100"), c("000000110111"), c("000000111000"), c("000000100111"),
    c("000000101000"), c("000001011000"), c("000001011001"), c("000000101011"),
    c("000000101100"), c("000001011010"), c("000001100110"), c("000001100111"),
];

/// White make-up codes for 64, 128, … 1728 (T.4 Table 3a), index = run / 64 - 1.
#[rustfmt::skip]
const WHITE_MAKEUP: [Code; 27] = [
    c("11011"), c("10010"), c("010111"), c("0110111"), c("00110110"), c("00110111"),
    c("01100100"), c("01100101"), c("01101000"), c("01100111"), c("011001100"),
    c("011001101"), c("011010010"), c("011010011"), c("011010100"), c("011010101"),
    c("011010110"), c("011010111"), c("011011000"), c("011011001"), c("011011010"),
    c("011011011"), c("010011000"), c("010011001"), c("010011010"), c("011000"),
    c("010011011"),
];

/// Black make-up codes for 64, 128, … 1728 (T.4 Table 3b), index = run / 64 - 1.
#[rustfmt::skip]
const BLACK_MAKEUP: [Code; 27] = [
    c("0000001111"), c("000011001000"), c("000011001001"), c("000001011011"),
    c("000000110011"), c("000000110100"), c("000000110101"), c("0000001101100"),
    c("0000001101101"), c("0000001001010"), c("0000001001011"), c("0000001001100"),
    c("0000001001101"), c("0000001110010"), c("0000001110011"), c("0000001110100"),
    c("0000001110101"), c("0000001110110"), c("0000001110111"), c("0000001010010"),
    c("0000001010011"), c("0000001010100"), c("0000001010101"), c("0000001011010"),
    c("0000001011011"), c("0000001100100"), c("0000001100101"),
];

/// Extended make-up codes for 1792 … 2560, shared by both colours (T.4 Table 3, note),
/// index = run / 64 - 28.
#[rustfmt::skip]
const EXTENDED_MAKEUP: [Code; 13] = [
    c("00000001000"), c("00000001100"), c("00000001101"), c("000000010010"),
    c("000000010011"), c("000000010100"), c("000000010101"), c("000000010110"),
    c("000000010111"), c("000000011100"), c("000000011101"), c("000000011110"),
    c("000000011111"),
];

/// End of line: eleven zeros and a one.
pub(crate) const EOL: Code = c("000000000001");

/// 2-D mode codes (T.4 Table 4).
pub(crate) const PASS: Code = c("0001");
pub(crate) const HORIZONTAL: Code = c("001");
/// Vertical modes indexed by a1 - b1 + 3: VL3, VL2, VL1, V0, VR1, VR2, VR3.
#[rustfmt::skip]
pub(crate) const VERTICAL: [Code; 7] = [
    c("0000010"), c("000010"), c("010"), c("1"), c("011"), c("000011"), c("0000011"),
];

/// Longest run one make-up code covers.
pub(crate) const MAX_MAKEUP: u32 = 2560;

/// The make-up code for `run` (a multiple of 64 between 64 and 2560).
pub(crate) fn makeup(run: u32, white: bool) -> Code {
    let index = (run / 64) as usize;
    if index >= 28 {
        EXTENDED_MAKEUP[index - 28]
    } else if white {
        WHITE_MAKEUP[index - 1]
    } else {
        BLACK_MAKEUP[index - 1]
    }
}

/// A run's whole code (make-up, if any, then terminating), for runs up to
/// [`MAX_MAKEUP`] + 63: bits 0-25 the code right-aligned, 26-31 its length (at most 25).
/// One table look-up and one write per run is what makes the encoder fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunCode(u32);

impl RunCode {
    #[inline(always)]
    pub const fn code(self) -> u32 {
        self.0 & 0x03ff_ffff
    }

    #[inline(always)]
    pub const fn len(self) -> u32 {
        self.0 >> 26
    }
}

/// Longest run one [`RunCode`] covers.
pub(crate) const MAX_RUN_CODE: u32 = MAX_MAKEUP + 63;

const fn run_codes(
    terminating: &[Code; 64],
    makeup: &[Code; 27],
) -> [RunCode; MAX_RUN_CODE as usize + 1] {
    let mut table = [RunCode(0); MAX_RUN_CODE as usize + 1];
    let mut run = 0;
    while run <= MAX_RUN_CODE as usize {
        let term = terminating[run % 64];
        let (code, len) = if run < 64 {
            (term.code as u32, term.len as u32)
        } else {
            let index = run / 64;
            let m = if index >= 28 {
                EXTENDED_MAKEUP[index - 28]
            } else {
                makeup[index - 1]
            };
            (
                ((m.code as u32) << term.len) | term.code as u32,
                m.len as u32 + term.len as u32,
            )
        };
        table[run] = RunCode(len << 26 | code);
        run += 1;
    }
    table
}

/// Whole codes of white runs 0..=2623.
pub(crate) static WHITE_RUN_CODES: [RunCode; MAX_RUN_CODE as usize + 1] =
    run_codes(&WHITE_TERMINATING, &WHITE_MAKEUP);
/// Whole codes of black runs 0..=2623.
pub(crate) static BLACK_RUN_CODES: [RunCode; MAX_RUN_CODE as usize + 1] =
    run_codes(&BLACK_TERMINATING, &BLACK_MAKEUP);

/// What a run-length lookup found, packed into one word so the hot loop tests a
/// single field: bits 0-7 code length, 8-15 kind, 16-30 run length, and bit 31 set
/// unless the code ends a run. The code length is the low byte so that shifting the bit
/// buffer by it takes no extraction: on the decoder's critical path, table load to next
/// table load, every cycle counts. Bit 31 lets a 1-D decoder tell a run's end by
/// arithmetic instead of a branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunEntry(u32);

/// The run of entries that are no run code: past [`crate::bitmap::MAX_WIDTH`].
const NO_RUN: u32 = 0x7fff;

/// Bit 31: the code does not end a run.
const RUN_GOES_ON: u32 = 1 << 31;

// Only the terminating kind has its bit FAST_LOOKUP_BITS - 8 set: bit FAST_LOOKUP_BITS
// of an entry is then 1 exactly where the code ends a run, which is the bit that flips
// the colour (see [`RunEntry::colour_flip`]).
const KIND_TERMINATING: u32 = 1 << (FAST_LOOKUP_BITS - 8);
const KIND_MAKEUP: u32 = 4;
const KIND_EOL: u32 = 8;
const KIND_INVALID: u32 = 12;
const KIND_LONGER: u32 = 16;

impl RunEntry {
    /// No code word starts with these bits. Its run is longer than any line, so a
    /// decoder that adds it up without looking at the kind still stops (and fails).
    pub const INVALID: RunEntry = RunEntry(RUN_GOES_ON | NO_RUN << 16 | KIND_INVALID << 8);
    /// An EOL (or, with more zeros, fill before one); its run is as for
    /// [`RunEntry::INVALID`], since an EOL ends a line only between runs.
    pub const EOL: RunEntry = RunEntry(RUN_GOES_ON | NO_RUN << 16 | KIND_EOL << 8 | 12);
    /// First-level tables only: the code is longer; look in the full table.
    pub const LONGER: RunEntry = RunEntry(RUN_GOES_ON | KIND_LONGER << 8);

    /// Whether this first-level entry sends the look-up on to the full table.
    #[inline(always)]
    pub const fn is_longer(self) -> bool {
        // No other kind has this bit: one bit test, one instruction before a select.
        self.0 & KIND_LONGER << 8 != 0
    }

    /// A terminating code: the run ends.
    pub const fn terminating(run: u16, len: u8) -> RunEntry {
        RunEntry((run as u32) << 16 | KIND_TERMINATING << 8 | len as u32)
    }

    /// A make-up code: more code words follow for this run.
    pub const fn makeup(run: u16, len: u8) -> RunEntry {
        RunEntry(RUN_GOES_ON | (run as u32) << 16 | KIND_MAKEUP << 8 | len as u32)
    }

    #[inline(always)]
    pub const fn is_terminating(self) -> bool {
        self.0 & RUN_GOES_ON == 0
    }

    /// 1 for a terminating code, 0 for any other entry.
    #[inline(always)]
    pub const fn ends_run(self) -> u32 {
        (self.0 >> FAST_LOOKUP_BITS) & 1
    }

    /// [`RunEntry::ends_run`] shifted to bit [`FAST_LOOKUP_BITS`]: XOR-ed into a colour
    /// kept as 0 (white) or this bit (black), it flips the colour with one operation.
    #[inline(always)]
    pub const fn colour_flip(self) -> u32 {
        self.0 & 1 << FAST_LOOKUP_BITS
    }

    /// The entry as a code half of a [`RunPair`]: run in bits 16-30, bit 31 set unless
    /// the code ends a run.
    #[inline(always)]
    pub const fn code_half(self) -> u32 {
        self.0
    }

    #[inline(always)]
    pub const fn is_makeup(self) -> bool {
        self.kind() == KIND_MAKEUP
    }

    #[inline(always)]
    const fn kind(self) -> u32 {
        (self.0 >> 8) & 0xff
    }

    /// Pixels this code word adds to the run.
    #[inline(always)]
    pub const fn run(self) -> u32 {
        (self.0 >> 16) & 0x7fff
    }

    /// Bits in the code word.
    #[inline(always)]
    pub const fn code_len(self) -> u32 {
        self.0 & 0xff
    }
}

/// Bits looked up at once for white runs; the longest white code is 12 bits.
pub(crate) const WHITE_LOOKUP_BITS: u32 = 12;
/// Bits looked up at once for black runs; the longest black code is 13 bits.
pub(crate) const BLACK_LOOKUP_BITS: u32 = 13;

const fn place(table: &mut [RunEntry], bits: u32, code: Code, entry: RunEntry) {
    let shift = bits - code.len as u32;
    let start = (code.code as usize) << shift;
    let end = start + (1usize << shift);
    let mut i = start;
    while i < end {
        table[i] = entry;
        i += 1;
    }
}

const fn run_table<const N: usize>(
    bits: u32,
    terminating: &[Code; 64],
    makeup: &[Code; 27],
) -> [RunEntry; N] {
    let mut table = [RunEntry::INVALID; N];
    let mut i = 0;
    while i < 64 {
        let entry = RunEntry::terminating(i as u16, terminating[i].len);
        place(&mut table, bits, terminating[i], entry);
        i += 1;
    }
    i = 0;
    while i < 27 {
        let entry = RunEntry::makeup(((i + 1) * 64) as u16, makeup[i].len);
        place(&mut table, bits, makeup[i], entry);
        i += 1;
    }
    i = 0;
    while i < 13 {
        let entry = RunEntry::makeup(((i + 28) * 64) as u16, EXTENDED_MAKEUP[i].len);
        place(&mut table, bits, EXTENDED_MAKEUP[i], entry);
        i += 1;
    }
    place(&mut table, bits, EOL, RunEntry::EOL);
    table
}

/// White-run decode table, indexed by the next 12 bits.
pub(crate) static WHITE_RUNS: [RunEntry; 1 << WHITE_LOOKUP_BITS] =
    run_table::<{ 1 << WHITE_LOOKUP_BITS }>(WHITE_LOOKUP_BITS, &WHITE_TERMINATING, &WHITE_MAKEUP);
/// Black-run decode table, indexed by the next 13 bits.
pub(crate) static BLACK_RUNS: [RunEntry; 1 << BLACK_LOOKUP_BITS] =
    run_table::<{ 1 << BLACK_LOOKUP_BITS }>(BLACK_LOOKUP_BITS, &BLACK_TERMINATING, &BLACK_MAKEUP);

/// Bits of the first, small look-up: codes this short (most of a page's) are found in
/// a 512-entry table that stays in the L1 cache; longer ones in the full table. Nine
/// bits take in the white make-up codes up to 1728 and the black terminating codes up to
/// run 12, which an eight-bit table would send on.
pub(crate) const FAST_LOOKUP_BITS: u32 = 9;

/// The first-level table: the full table's entry where the code fits in [`FAST_LOOKUP_BITS`], else
/// [`RunEntry::LONGER`].
const fn fast_table(full: &[RunEntry], full_bits: u32) -> [RunEntry; 1 << FAST_LOOKUP_BITS] {
    first_level::<{ 1 << FAST_LOOKUP_BITS }>(full, full_bits, FAST_LOOKUP_BITS)
}

/// A first-level table of `bits` bits (N = 2^bits entries) from a full one.
const fn first_level<const N: usize>(
    full: &[RunEntry],
    full_bits: u32,
    bits: u32,
) -> [RunEntry; N] {
    let mut table = [RunEntry::LONGER; N];
    let mut i = 0;
    while i < N {
        let entry = full[i << (full_bits - bits)];
        if entry.kind() != KIND_INVALID && entry.code_len() <= bits {
            table[i] = entry;
        }
        i += 1;
    }
    table
}

/// Bits of the first look-up of a 1-D line read one code at a time: one more than
/// [`FAST_LOOKUP_BITS`] takes in black runs up to 18 and make-up 64 (4 KiB per colour),
/// which text has on many lines and which would otherwise go on to the full table
/// through a mispredicted branch.
pub(crate) const SINGLE_LOOKUP_BITS: u32 = 10;

/// First-level white-run table for 1-D lines, indexed by the next
/// [`SINGLE_LOOKUP_BITS`] bits.
pub(crate) static WHITE_RUNS_SINGLE: [RunEntry; 1 << SINGLE_LOOKUP_BITS] =
    first_level::<{ 1 << SINGLE_LOOKUP_BITS }>(&WHITE_RUNS, WHITE_LOOKUP_BITS, SINGLE_LOOKUP_BITS);
/// First-level black-run table for 1-D lines, as [`WHITE_RUNS_SINGLE`].
pub(crate) static BLACK_RUNS_SINGLE: [RunEntry; 1 << SINGLE_LOOKUP_BITS] =
    first_level::<{ 1 << SINGLE_LOOKUP_BITS }>(&BLACK_RUNS, BLACK_LOOKUP_BITS, SINGLE_LOOKUP_BITS);

/// First-level white-run table, indexed by the next [`FAST_LOOKUP_BITS`] bits.
pub(crate) static WHITE_RUNS_FAST: [RunEntry; 1 << FAST_LOOKUP_BITS] = fast_table(
    &run_table::<{ 1 << WHITE_LOOKUP_BITS }>(WHITE_LOOKUP_BITS, &WHITE_TERMINATING, &WHITE_MAKEUP),
    WHITE_LOOKUP_BITS,
);
/// First-level black-run table, indexed by the next [`FAST_LOOKUP_BITS`] bits.
pub(crate) static BLACK_RUNS_FAST: [RunEntry; 1 << FAST_LOOKUP_BITS] = fast_table(
    &run_table::<{ 1 << BLACK_LOOKUP_BITS }>(BLACK_LOOKUP_BITS, &BLACK_TERMINATING, &BLACK_MAKEUP),
    BLACK_LOOKUP_BITS,
);

/// Bits of the look-up that finds up to two run codes at once, for 1-D lines: enough
/// for the pair of a short white and a short black run that text edges and dithering are
/// made of, while both colours' tables (16 KiB) stay in the L1 cache.
pub(crate) const PAIR_LOOKUP_BITS: u32 = 10;

/// Up to two consecutive run codes found by one look-up, so that a 1-D decoder waits for
/// one table load per pair of codes instead of one per code.
///
/// The low half describes the first code: bits 0-7 the length of both codes (what the
/// bit buffer shifts by), bit 8 set when the first code is longer than
/// [`PAIR_LOOKUP_BITS`] (the decoder then looks in the full table), bit
/// [`PAIR_LOOKUP_BITS`] set when the pair changes the colour (one of the two ends a run),
/// bits 16-30 its run and bit 31 set unless it ends a run, as in [`RunEntry`]. The high
/// half describes the second code the same way, bits 0-7 its own length; where no second
/// code fits in the look-up, it is length 0, run 0, not ending a run: a no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunPair(u64);

const PAIR_LONGER: u32 = 1 << 8;

/// The second code of a pair that has none.
const NO_CODE: RunEntry = RunEntry(RUN_GOES_ON);

impl RunPair {
    /// First-level entry: the first code is longer than the look-up.
    pub const LONGER: RunPair = RunPair((RUN_GOES_ON | PAIR_LONGER) as u64);

    /// Two codes, the second read in the colour the first leaves.
    const fn new(first: RunEntry, second: RunEntry) -> RunPair {
        let len = first.code_len() + second.code_len();
        let flip = (first.ends_run() ^ second.ends_run()) << PAIR_LOOKUP_BITS;
        let low = (first.0 & 0xffff_0000) | flip | len;
        let high = (second.0 & 0xffff_0000) | second.code_len();
        RunPair(low as u64 | (high as u64) << 32)
    }

    /// One code alone (any entry of the full tables, EOL and invalid ones included).
    #[inline(always)]
    pub const fn single(code: RunEntry) -> RunPair {
        RunPair::new(code, NO_CODE)
    }

    #[inline(always)]
    pub const fn is_longer(self) -> bool {
        self.0 & PAIR_LONGER as u64 != 0
    }

    /// Bits in both codes.
    #[inline(always)]
    pub const fn code_len(self) -> u32 {
        (self.0 & 0xff) as u32
    }

    /// Bits in the second code (0 if there is none).
    #[inline(always)]
    pub const fn second_len(self) -> u32 {
        ((self.0 >> 32) & 0xff) as u32
    }

    /// The change of colour over both codes, as the offset between the colours' halves
    /// of [`RUN_PAIRS`]: XOR-ed into the current offset, it gives the next.
    #[inline(always)]
    pub const fn colour_flip(self) -> usize {
        (self.0 & 1 << PAIR_LOOKUP_BITS) as usize
    }

    /// The first code: bits 16-30 its run, bit 31 set unless it ends a run.
    #[inline(always)]
    pub const fn first(self) -> u32 {
        self.0 as u32
    }

    /// The second code, as [`RunPair::first`]; a no-op when there is none.
    #[inline(always)]
    pub const fn second(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// The run of a code half of a [`RunPair`].
#[inline(always)]
pub(crate) const fn pair_code_run(code: u32) -> u32 {
    (code >> 16) & 0x7fff
}

/// 1 if a code half of a [`RunPair`] ends a run, else 0.
#[inline(always)]
pub(crate) const fn pair_code_ends_run(code: u32) -> u32 {
    (code >> 31) ^ 1
}

/// Bit 31 of a code half of a [`RunPair`]: 0 for a terminating code, set for any other,
/// so that OR-ed into a position it makes one that no real position equals.
#[inline(always)]
pub(crate) const fn pair_code_goes_on_bit(code: u32) -> u32 {
    code & RUN_GOES_ON
}

/// The full-table entry for the code at the start of `bits`, the next
/// [`PAIR_LOOKUP_BITS`] bits of the data.
const fn full_entry(white: bool, bits: usize) -> RunEntry {
    if white {
        WHITE_RUNS[bits << (WHITE_LOOKUP_BITS - PAIR_LOOKUP_BITS)]
    } else {
        BLACK_RUNS[bits << (BLACK_LOOKUP_BITS - PAIR_LOOKUP_BITS)]
    }
}

/// Whether an entry is a run code (terminating or make-up), not EOL, invalid or longer.
const fn is_run_code(entry: RunEntry) -> bool {
    entry.kind() == KIND_TERMINATING || entry.kind() == KIND_MAKEUP
}

/// The pair entry for `bits` read in a run of colour `white`.
const fn pair_entry(white: bool, bits: usize) -> RunPair {
    let first = full_entry(white, bits);
    if !is_run_code(first) || first.code_len() > PAIR_LOOKUP_BITS {
        return RunPair::LONGER;
    }
    let len = first.code_len();
    // The bits after the first code, zero-padded: a code found there is the next one
    // only if it ends within the bits known.
    let rest = (bits << len) & ((1 << PAIR_LOOKUP_BITS) - 1);
    let second_white = white != (first.ends_run() == 1);
    let second = full_entry(second_white, rest);
    if is_run_code(second) && second.code_len() <= PAIR_LOOKUP_BITS - len {
        RunPair::new(first, second)
    } else {
        RunPair::single(first)
    }
}

/// Pair look-up for 1-D lines, white runs then black ones:
/// `RUN_PAIRS[colour << PAIR_LOOKUP_BITS | next bits]`.
pub(crate) static RUN_PAIRS: [RunPair; 2 << PAIR_LOOKUP_BITS] = {
    let mut table = [RunPair::LONGER; 2 << PAIR_LOOKUP_BITS];
    let mut i = 0;
    while i < 1 << PAIR_LOOKUP_BITS {
        table[i] = pair_entry(true, i);
        table[(1 << PAIR_LOOKUP_BITS) + i] = pair_entry(false, i);
        i += 1;
    }
    table
};

/// A 2-D mode found by lookup, packed into one word: bits 0-7 code length, 8-15 the
/// vertical offset a1 - b1 (two's complement), 16-23 the kind (one bit each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModeEntry(u32);

// One bit per kind, so that testing for one is a single bit test that a compiler does
// not merge with the others into a chain of compares: vertical modes, most of a page,
// are told apart with one branch.
const MODE_VERTICAL: u32 = 1;
const MODE_PASS: u32 = 2;
const MODE_HORIZONTAL: u32 = 4;
/// No mode code starts with these bits: seven zeros (the start of an EOL, EOFB or fill),
/// an extension code (which faxgate does not support) or garbage.
const MODE_INVALID: u32 = 0;

impl ModeEntry {
    const INVALID: ModeEntry = ModeEntry(MODE_INVALID << 16);

    const fn new(kind: u32, delta: i8, code: Code) -> ModeEntry {
        ModeEntry(kind << 16 | (delta as u8 as u32) << 8 | code.len as u32)
    }

    /// Bits in the code word (0 where no mode code starts).
    #[inline(always)]
    pub const fn code_len(self) -> u32 {
        self.0 & 0xff
    }

    /// a1 - b1 for vertical modes, from -3 to 3.
    #[inline(always)]
    pub const fn delta(self) -> i32 {
        (self.0 >> 8) as u8 as i8 as i32
    }

    #[inline(always)]
    pub const fn is_vertical(self) -> bool {
        self.0 & MODE_VERTICAL << 16 != 0
    }

    /// Pass mode.
    #[inline(always)]
    pub const fn is_pass(self) -> bool {
        self.0 & MODE_PASS << 16 != 0
    }

    #[inline(always)]
    pub const fn is_horizontal(self) -> bool {
        self.0 & MODE_HORIZONTAL << 16 != 0
    }
}

/// Bits looked up at once for 2-D mode codes; the longest is 7.
pub(crate) const MODE_LOOKUP_BITS: u32 = 7;

/// Mode decode table, indexed by the next 7 bits.
pub(crate) static MODES: [ModeEntry; 1 << MODE_LOOKUP_BITS] = {
    let mut table = [ModeEntry::INVALID; 1 << MODE_LOOKUP_BITS];
    let mut i = 0;
    while i < (1 << MODE_LOOKUP_BITS) {
        let mut d = 0;
        while d < 7 {
            let code = VERTICAL[d];
            if (i >> (MODE_LOOKUP_BITS - code.len as u32)) == code.code as usize {
                table[i] = ModeEntry::new(MODE_VERTICAL, d as i8 - 3, code);
            }
            d += 1;
        }
        if (i >> (MODE_LOOKUP_BITS - PASS.len as u32)) == PASS.code as usize {
            table[i] = ModeEntry::new(MODE_PASS, 0, PASS);
        } else if (i >> (MODE_LOOKUP_BITS - HORIZONTAL.len as u32)) == HORIZONTAL.code as usize {
            table[i] = ModeEntry::new(MODE_HORIZONTAL, 0, HORIZONTAL);
        }
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn all_run_codes(white: bool) -> Vec<(Code, u32)> {
        let term = if white {
            &WHITE_TERMINATING
        } else {
            &BLACK_TERMINATING
        };
        let mut v: Vec<(Code, u32)> = term
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, i as u32))
            .collect();
        for run in (64..=MAX_MAKEUP).step_by(64) {
            v.push((makeup(run, white), run));
        }
        v.push((EOL, u32::MAX));
        v
    }

    fn is_prefix(a: Code, b: Code) -> bool {
        a.len <= b.len && (b.code >> (b.len - a.len)) == a.code
    }

    #[test]
    fn run_codes_are_prefix_free() {
        for white in [true, false] {
            let codes = all_run_codes(white);
            for (i, (a, _)) in codes.iter().enumerate() {
                for (j, (b, _)) in codes.iter().enumerate() {
                    assert!(i == j || !is_prefix(*a, *b), "{a:?} prefixes {b:?}");
                }
            }
        }
    }

    #[test]
    fn run_codes_fill_the_code_space_except_zero_prefixes() {
        // Kraft sum: a complete prefix code sums to 1. T.4 leaves exactly the words that
        // begin with the EOL's leading zeros unused, which is what lets a receiver find
        // an EOL after an error.
        for (white, bits) in [(true, WHITE_LOOKUP_BITS), (false, BLACK_LOOKUP_BITS)] {
            let table: &[RunEntry] = if white { &WHITE_RUNS } else { &BLACK_RUNS };
            let invalid = table.iter().filter(|e| **e == RunEntry::INVALID).count();
            let used: f64 = all_run_codes(white)
                .iter()
                .map(|(c, _)| 0.5f64.powi(i32::from(c.len)))
                .sum();
            let free = invalid as f64 / f64::from(1u32 << bits);
            assert!((used + free - 1.0).abs() < 1e-12, "white={white}");
            // Every invalid word starts with at least 7 zeros (white) / 6 zeros (black)
            // except the gaps T.4 leaves.
            assert!(free < 0.02, "white={white} free={free}");
        }
    }

    #[test]
    fn first_level_tables_agree_with_the_full_ones() {
        for (fast, full, bits) in [
            (&WHITE_RUNS_FAST, &WHITE_RUNS[..], WHITE_LOOKUP_BITS),
            (&BLACK_RUNS_FAST, &BLACK_RUNS[..], BLACK_LOOKUP_BITS),
        ] {
            for (index, entry) in full.iter().enumerate() {
                let first = fast[index >> (bits - FAST_LOOKUP_BITS)];
                if !first.is_longer() {
                    assert_eq!(first, *entry, "index {index:#x}");
                }
            }
            // Every code of 8 bits or fewer is in the first level.
            assert!(fast.iter().filter(|e| !e.is_longer()).count() > 200);
        }
    }

    #[test]
    fn one_code_tables_agree_with_the_full_ones() {
        for (single, full, bits) in [
            (&WHITE_RUNS_SINGLE, &WHITE_RUNS[..], WHITE_LOOKUP_BITS),
            (&BLACK_RUNS_SINGLE, &BLACK_RUNS[..], BLACK_LOOKUP_BITS),
        ] {
            for (index, entry) in full.iter().enumerate() {
                let first = single[index >> (bits - SINGLE_LOOKUP_BITS)];
                if first.is_longer() {
                    assert!(
                        entry.code_len() > SINGLE_LOOKUP_BITS || !is_run(*entry),
                        "index {index:#x}"
                    );
                } else {
                    assert_eq!(first, *entry, "index {index:#x}");
                }
            }
        }
    }

    fn is_run(entry: RunEntry) -> bool {
        entry.is_terminating() || entry.is_makeup()
    }

    #[test]
    fn pair_table_holds_what_two_full_look_ups_find() {
        let full = |white: bool, bits: usize| -> RunEntry {
            if white {
                WHITE_RUNS[bits << (WHITE_LOOKUP_BITS - PAIR_LOOKUP_BITS)]
            } else {
                BLACK_RUNS[bits << (BLACK_LOOKUP_BITS - PAIR_LOOKUP_BITS)]
            }
        };
        let is_run = |e: RunEntry| e.is_terminating() || e.is_makeup();
        let mut pairs = 0;
        for white in [true, false] {
            let offset = if white { 0 } else { 1 << PAIR_LOOKUP_BITS };
            for bits in 0..1usize << PAIR_LOOKUP_BITS {
                let pair = RUN_PAIRS[offset | bits];
                let first = full(white, bits);
                if !is_run(first) || first.code_len() > PAIR_LOOKUP_BITS {
                    assert!(pair.is_longer(), "{white} {bits:#012b}");
                    continue;
                }
                assert!(!pair.is_longer());
                assert_eq!(pair.first() & 0xffff_0000, first.code_half() & 0xffff_0000);
                let rest = (bits << first.code_len()) & ((1 << PAIR_LOOKUP_BITS) - 1);
                let second_white = white != first.is_terminating();
                let second = full(second_white, rest);
                let fits = PAIR_LOOKUP_BITS - first.code_len();
                let paired = is_run(second) && second.code_len() <= fits;
                let (second_len, second_half) = if paired {
                    pairs += 1;
                    (second.code_len(), second.code_half() & 0xffff_0000)
                } else {
                    (0, RUN_GOES_ON)
                };
                assert_eq!(
                    pair.code_len(),
                    first.code_len() + second_len,
                    "{bits:#012b}"
                );
                assert_eq!(pair.second_len(), second_len, "{bits:#012b}");
                assert_eq!(pair.second() & 0xffff_0000, second_half, "{bits:#012b}");
                let white_after = second_white != (paired && second.is_terminating());
                assert_eq!(
                    pair.colour_flip() != 0,
                    white_after != white,
                    "{bits:#012b}"
                );
            }
        }
        // Short white and black runs pair up in most of the table.
        assert!(pairs > 1 << PAIR_LOOKUP_BITS, "{pairs}");
    }

    #[test]
    fn decode_tables_agree_with_the_code_lists() {
        for (white, bits) in [(true, WHITE_LOOKUP_BITS), (false, BLACK_LOOKUP_BITS)] {
            let table: &[RunEntry] = if white { &WHITE_RUNS } else { &BLACK_RUNS };
            for (code, run) in all_run_codes(white) {
                let index = (code.code as usize) << (bits - u32::from(code.len));
                let expected = if run == u32::MAX {
                    RunEntry::EOL
                } else if run < 64 {
                    RunEntry::terminating(run as u16, code.len)
                } else {
                    RunEntry::makeup(run as u16, code.len)
                };
                assert_eq!(table[index], expected);
            }
        }
        let vertical = |bits: usize| {
            let entry = MODES[bits];
            assert!(entry.is_vertical(), "{bits:#09b}");
            (entry.delta(), entry.code_len())
        };
        assert_eq!(vertical(0b1000000), (0, 1));
        assert_eq!(vertical(0b1111111), (0, 1));
        assert_eq!(vertical(0b0110000), (1, 3));
        assert_eq!(vertical(0b0100000), (-1, 3));
        assert_eq!(vertical(0b0000110), (2, 6));
        assert_eq!(vertical(0b0000100), (-2, 6));
        assert_eq!(vertical(0b0000011), (3, 7));
        assert_eq!(vertical(0b0000010), (-3, 7));
        let pass = MODES[0b0001000];
        assert!(pass.is_pass() && !pass.is_vertical());
        assert_eq!((pass.delta(), pass.code_len()), (0, 4));
        assert!(MODES[0b0010000].is_horizontal() && MODES[0b0010000].code_len() == 3);
        for invalid in [0b0000001, 0] {
            let entry = MODES[invalid];
            assert!(!entry.is_vertical() && !entry.is_pass() && !entry.is_horizontal());
            assert_eq!(entry.code_len(), 0);
        }
        // Every 7-bit word starting with a 1 to 6 zeros then a 1 is some mode code.
        for (bits, entry) in MODES.iter().enumerate().skip(2) {
            assert!(entry.code_len() > 0, "{bits:#09b}");
        }
    }
}
