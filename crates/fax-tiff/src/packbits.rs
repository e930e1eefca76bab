//! PackBits (TIFF compression 32773): Apple's byte-oriented run-length coding.

/// Unpacks `data` into at most `expected` bytes. Stops early when the data runs out, so a
/// truncated strip yields the rows it does hold; bytes past `expected` are ignored, as
/// TIFF readers do with strips that overrun.
pub(crate) fn unpack(data: &[u8], expected: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(expected);
    let mut pos = 0;
    while out.len() < expected {
        let Some(&header) = data.get(pos) else { break };
        pos += 1;
        let room = expected - out.len();
        match header as i8 {
            // 0..=127: copy the next n + 1 bytes literally.
            n @ 0..=127 => {
                let len = n as usize + 1;
                let end = (pos + len).min(data.len());
                let literal = &data[pos..end];
                out.extend_from_slice(&literal[..literal.len().min(room)]);
                pos += len;
            }
            // -128 is a no-op, kept for compatibility with old Macintosh writers.
            -128 => {}
            // -127..=-1: repeat the next byte 1 - n times.
            n => {
                let Some(&byte) = data.get(pos) else { break };
                pos += 1;
                let len = (1 - i16::from(n)) as usize;
                out.extend(std::iter::repeat_n(byte, len.min(room)));
            }
        }
    }
    out
}

/// Packs one row. TIFF wants every row packed on its own so that rows can be found
/// without unpacking the strip.
pub(crate) fn pack_row(row: &[u8], out: &mut Vec<u8>) {
    let mut pos = 0;
    while pos < row.len() {
        let byte = row[pos];
        let run = row[pos..]
            .iter()
            .take(128)
            .take_while(|&&b| b == byte)
            .count();
        if run >= 2 {
            // 1 - run, as a signed byte: -1 (2 copies) down to -127 (128 copies).
            out.push((1 - run as i16) as u8);
            out.push(byte);
            pos += run;
            continue;
        }
        // A literal stretch ends where a run of three starts: a run of two costs as
        // much either way, and breaking a literal for it would cost a header byte.
        let start = pos;
        while pos < row.len() && pos - start < 128 {
            if pos + 2 < row.len() && row[pos] == row[pos + 1] && row[pos] == row[pos + 2] {
                break;
            }
            pos += 1;
        }
        out.push((pos - start - 1) as u8);
        out.extend_from_slice(&row[start..pos]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_runs_literals_and_long_rows() {
        let mut row: Vec<u8> = vec![0; 300];
        row.extend((0..=255u8).cycle().take(400));
        row.extend([7, 7, 1, 2, 2, 2, 3]);
        let mut packed = Vec::new();
        pack_row(&row, &mut packed);
        assert!(packed.len() < row.len() + row.len() / 128 + 2);
        assert_eq!(unpack(&packed, row.len()), row);
    }

    #[test]
    fn apple_example_decodes() {
        // The example from TIFF 6.0 section 9.
        let packed = [
            0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7,
            0xaa,
        ];
        let expected = [
            0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0xaa, 0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0x22,
            0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        ];
        assert_eq!(unpack(&packed, expected.len()), expected);
    }

    #[test]
    fn hostile_data_is_bounded() {
        assert_eq!(unpack(&[0x81, 0xff], 10).len(), 10);
        assert_eq!(unpack(&[0x7f, 1, 2], 100), vec![1, 2]);
        assert_eq!(unpack(&[0xff], 100), Vec::<u8>::new());
        assert_eq!(unpack(&[0x80; 50], 100), Vec::<u8>::new());
    }
}
