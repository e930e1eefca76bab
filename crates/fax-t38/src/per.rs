//! The few pieces of ASN.1 aligned PER (ITU-T X.691) that T.38 uses: bit-fields,
//! octet alignment, unconstrained length determinants and open types.
//!
//! Bits are numbered from the most significant bit of the first octet, as X.691 draws them.

use crate::Error;

/// Lengths of 16K and more are sent in fragments of 1 to 4 times this many units
/// (X.691 11.9.3.8).
pub(crate) const FRAGMENT_UNIT: usize = 0x4000;

/// Reads bit-fields and octet-aligned fields from a packet, refusing to read past its end.
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    bit_pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, bit_pos: 0 }
    }

    /// Whole bits left before the end of the packet.
    pub(crate) fn bits_left(&self) -> usize {
        (self.bytes.len() * 8).saturating_sub(self.bit_pos)
    }

    /// Reads `count` (at most 32) bits as an unsigned number, first bit most significant.
    pub(crate) fn read_bits(&mut self, count: u32, what: &'static str) -> Result<u32, Error> {
        debug_assert!(count <= 32);
        if (count as usize) > self.bits_left() {
            return Err(Error::Truncated { what });
        }
        let mut value = 0u32;
        for _ in 0..count {
            let byte = self.bytes.get(self.bit_pos / 8).copied().unwrap_or(0);
            let bit = (byte >> (7 - (self.bit_pos % 8))) & 1;
            value = (value << 1) | u32::from(bit);
            self.bit_pos += 1;
        }
        Ok(value)
    }

    pub(crate) fn read_bit(&mut self, what: &'static str) -> Result<bool, Error> {
        Ok(self.read_bits(1, what)? == 1)
    }

    /// Skips to the next octet boundary. Padding bits are not checked: X.691 has encoders
    /// set them to zero but gives a decoder nothing to gain from refusing other values.
    pub(crate) fn align(&mut self) {
        self.bit_pos = self.bit_pos.div_ceil(8) * 8;
    }

    /// The octet offset of the next unread bit, counting a partly read octet as read.
    pub(crate) fn octets_consumed(&self) -> usize {
        self.bit_pos.div_ceil(8)
    }

    /// Reads `count` octets after aligning.
    pub(crate) fn read_octets(
        &mut self,
        count: usize,
        what: &'static str,
    ) -> Result<&'a [u8], Error> {
        self.align();
        let start = self.bit_pos / 8;
        let octets = start
            .checked_add(count)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or(Error::Truncated { what })?;
        self.bit_pos += count * 8;
        Ok(octets)
    }

    pub(crate) fn read_u8(&mut self, what: &'static str) -> Result<u8, Error> {
        let octets = self.read_octets(1, what)?;
        Ok(octets.first().copied().unwrap_or(0))
    }

    /// Reads an unconstrained length determinant (X.691 11.9.3.6 to 11.9.3.8), after
    /// aligning.
    pub(crate) fn read_length(&mut self, what: &'static str) -> Result<Length, Error> {
        let first = self.read_u8(what)?;
        match first >> 6 {
            0b00 | 0b01 => Ok(Length::Final(usize::from(first))),
            0b10 => {
                let second = self.read_u8(what)?;
                Ok(Length::Final(
                    (usize::from(first & 0x3F) << 8) | usize::from(second),
                ))
            }
            _ => match first & 0x3F {
                multiplier @ 1..=4 => Ok(Length::Fragment(usize::from(multiplier) * FRAGMENT_UNIT)),
                _ => Err(Error::Malformed("fragment size outside 16K..=64K")),
            },
        }
    }

    /// Reads a length determinant that T.38 only ever needs in its short forms (a count of
    /// items in a SEQUENCE OF). A fragmented count would announce 16K items or more, which no
    /// T.38 packet carries.
    pub(crate) fn read_count(&mut self, what: &'static str) -> Result<usize, Error> {
        match self.read_length(what)? {
            Length::Final(count) => Ok(count),
            Length::Fragment(_) => Err(Error::Malformed("fragmented item count")),
        }
    }

    /// Reads an open type (or unconstrained OCTET STRING): a length determinant and that
    /// many octets, reassembling fragments.
    pub(crate) fn read_open_type(&mut self, what: &'static str) -> Result<Vec<u8>, Error> {
        let mut content = Vec::new();
        loop {
            match self.read_length(what)? {
                Length::Final(count) => {
                    content.extend_from_slice(self.read_octets(count, what)?);
                    return Ok(content);
                }
                Length::Fragment(count) => {
                    content.extend_from_slice(self.read_octets(count, what)?);
                }
            }
        }
    }
}

/// A decoded length determinant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Length {
    /// The last (or only) part: this many units, then the encoding goes on.
    Final(usize),
    /// A fragment of this many units; another length determinant follows them.
    Fragment(usize),
}

/// Builds a packet from bit-fields and octet-aligned fields.
#[derive(Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    bit_len: usize,
}

impl BitWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends the low `count` bits of `value`, most significant first.
    pub(crate) fn write_bits(&mut self, value: u32, count: u32) {
        for shift in (0..count).rev() {
            let bit = (value >> shift) & 1;
            if self.bit_len.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if bit == 1
                && let Some(last) = self.bytes.last_mut()
            {
                *last |= 0x80 >> (self.bit_len % 8);
            }
            self.bit_len += 1;
        }
    }

    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(u32::from(bit), 1);
    }

    /// Pads with zero bits to the next octet boundary.
    pub(crate) fn align(&mut self) {
        self.bit_len = self.bytes.len() * 8;
    }

    pub(crate) fn write_octets(&mut self, octets: &[u8]) {
        self.align();
        self.bytes.extend_from_slice(octets);
        self.bit_len = self.bytes.len() * 8;
    }

    /// Writes a length determinant in its short forms; `length` must be below 16K.
    pub(crate) fn write_short_length(&mut self, length: usize) {
        debug_assert!(length < FRAGMENT_UNIT);
        if length < 0x80 {
            self.write_octets(&[length as u8]);
        } else {
            self.write_octets(&[0x80 | (length >> 8) as u8, length as u8]);
        }
    }

    /// Writes an open type (or unconstrained OCTET STRING), in fragments when it is 16K
    /// octets or longer.
    pub(crate) fn write_open_type(&mut self, content: &[u8]) {
        let mut rest = content;
        while rest.len() >= FRAGMENT_UNIT {
            let multiplier = (rest.len() / FRAGMENT_UNIT).min(4);
            let (fragment, tail) = rest.split_at(multiplier * FRAGMENT_UNIT);
            self.write_octets(&[0xC0 | multiplier as u8]);
            self.write_octets(fragment);
            rest = tail;
        }
        // A length that is an exact multiple of 16K still ends with a (zero) final length.
        self.write_short_length(rest.len());
        self.write_octets(rest);
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Octets an open type of `length` octets takes, length determinants included.
pub(crate) fn open_type_len(length: usize) -> usize {
    let mut rest = length;
    let mut total = 0;
    while rest >= FRAGMENT_UNIT {
        let chunk = (rest / FRAGMENT_UNIT).min(4) * FRAGMENT_UNIT;
        total += 1 + chunk;
        rest -= chunk;
    }
    total + if rest < 0x80 { 1 } else { 2 } + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_pack_most_significant_first() {
        let mut writer = BitWriter::new();
        writer.write_bits(0b101, 3);
        writer.write_bits(0b11, 2);
        writer.write_octets(&[0xAB]);
        writer.write_bit(true);
        assert_eq!(writer.into_bytes(), [0b1011_1000, 0xAB, 0x80]);
    }

    #[test]
    fn lengths_in_all_three_forms() {
        for (length, expected) in [
            (0usize, &[0x00][..]),
            (0x7F, &[0x7F]),
            (0x80, &[0x80, 0x80]),
            (0x3FFF, &[0xBF, 0xFF]),
        ] {
            let mut writer = BitWriter::new();
            writer.write_short_length(length);
            assert_eq!(writer.into_bytes(), expected, "length {length}");
            let mut reader = BitReader::new(expected);
            assert_eq!(reader.read_length("t"), Ok(Length::Final(length)));
        }
    }

    #[test]
    fn open_types_fragment_at_16k_and_end_with_a_final_length() {
        for length in [0, 1, 127, 128, 0x3FFF, 0x4000, 0x4001, 0x10000, 0x14005] {
            let content: Vec<u8> = (0..length).map(|i| (i * 7) as u8).collect();
            let mut writer = BitWriter::new();
            writer.write_open_type(&content);
            let bytes = writer.into_bytes();
            assert_eq!(bytes.len(), open_type_len(length), "length {length}");
            let mut reader = BitReader::new(&bytes);
            assert_eq!(reader.read_open_type("t").as_deref(), Ok(&content[..]));
            assert_eq!(reader.octets_consumed(), bytes.len());
        }
        // 16K exactly: one fragment of 16K, then a zero final length (X.691 11.9.3.8.1).
        let mut writer = BitWriter::new();
        writer.write_open_type(&[0; 0x4000]);
        let bytes = writer.into_bytes();
        assert_eq!(bytes.first(), Some(&0xC1));
        assert_eq!(bytes.last(), Some(&0x00));
    }

    #[test]
    fn reads_stop_at_the_end() {
        let mut reader = BitReader::new(&[0xFF]);
        assert_eq!(reader.read_bits(7, "t"), Ok(0x7F));
        assert_eq!(
            reader.read_bits(2, "t"),
            Err(Error::Truncated { what: "t" })
        );
        let mut reader = BitReader::new(&[0x85]);
        assert!(reader.read_length("t").is_err());
        let mut reader = BitReader::new(&[0xC5]);
        assert!(reader.read_length("t").is_err());
        let mut reader = BitReader::new(&[0x03, 1, 2]);
        assert!(reader.read_open_type("t").is_err());
    }
}
