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
