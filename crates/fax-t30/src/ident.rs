//! Station identifiers (TSI, CSI, CIG): 20 characters, sent last character first.

/// Octets in an identifier field.
pub const IDENT_LEN: usize = 20;

/// Encodes an identifier: printable ASCII only (others become spaces), at most 20
/// characters, right-aligned and reversed as T.30 §5.3.6.2.4 sends it.
pub fn encode(ident: &str) -> Vec<u8> {
    let mut chars: Vec<u8> = ident
        .bytes()
        .map(|c| if (0x20..0x7f).contains(&c) { c } else { b' ' })
        .take(IDENT_LEN)
        .collect();
    while chars.len() < IDENT_LEN {
        chars.insert(0, b' ');
    }
    chars.reverse();
    chars
}

/// Decodes an identifier field: reversed, trimmed, non-printable octets dropped.
pub fn decode(field: &[u8]) -> String {
    let text: String = field
        .iter()
        .rev()
        .take(IDENT_LEN)
        .filter(|c| (0x20..0x7f).contains(*c))
        .map(|&c| char::from(c))
        .collect();
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_reversed_and_padded() {
        let field = encode("+852 1234");
        assert_eq!(field.len(), 20);
        assert_eq!(&field[..9], b"4321 258+");
        assert!(field[9..].iter().all(|&c| c == b' '));
        assert_eq!(decode(&field), "+852 1234");
        assert_eq!(
            decode(&encode("a very long identifier text")),
            "a very long identifi"
        );
        assert_eq!(decode(&[0xff, b'1', 0]), "1");
    }
}
