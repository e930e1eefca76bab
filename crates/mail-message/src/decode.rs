//! Header text as people wrote it: RFC 2047 encoded words, joined before decoding.
//!
//! Outlook and Foxmail fold long subjects into several encoded words and cut the bytes
//! between them wherever the line ends, often inside a two-byte GBK character. Decoding
//! word by word (as generic parsers do) turns both halves into replacement characters,
//! so adjacent words of one charset are joined as bytes first and decoded once.

use encoding_rs::Encoding;

/// Base64 as mail writes it, tolerant of missing padding and stray characters (line
/// breaks, spaces): undecodable input yields what could be read, never a panic.
pub(crate) fn base64_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in text {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xFF) as u8);
        }
    }
    out
}

/// Base64 with line breaks every 76 characters (RFC 2045).
pub(crate) fn base64_encode_lines(data: &[u8]) -> String {
    let text = base64_encode(data);
    let mut out = String::with_capacity(text.len() + text.len() / 76 * 2 + 2);
    for (index, chunk) in text.as_bytes().chunks(76).enumerate() {
        if index > 0 {
            out.push_str("\r\n");
        }
        // Base64 output is ASCII.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

/// Plain base64 with padding.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0);
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let triple = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        for (index, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                out.push(char::from(ALPHABET[((triple >> shift) & 0x3F) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The `Q` encoding of RFC 2047: `_` is a space, `=XX` a byte.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut index = 0;
    while let Some(&byte) = text.get(index) {
        match byte {
            b'_' => out.push(b' '),
            b'=' => {
                let high = text.get(index + 1).copied().and_then(hex_value);
                let low = text.get(index + 2).copied().and_then(hex_value);
                if let (Some(high), Some(low)) = (high, low) {
                    out.push((high << 4) | low);
                    index += 2;
                } else {
                    out.push(b'=');
                }
            }
            _ => out.push(byte),
        }
        index += 1;
    }
    out
}

/// The encoding a MIME charset label names; GB2312 is read as GBK (its superset, which
/// is what Chinese clients actually write under that label).
pub(crate) fn charset(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches('"');
    // RFC 2231 allows a language after `*`: `utf-8*zh-cn`.
    let label = label.split('*').next().unwrap_or(label);
    Encoding::for_label(label.as_bytes())
}

/// Bytes in `encoding` (UTF-8 when unknown) as text; bad sequences become U+FFFD.
pub(crate) fn decode_bytes(bytes: &[u8], encoding: Option<&'static Encoding>) -> String {
    let encoding = encoding.unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

/// Raw 8-bit header bytes, as some clients send them without encoded words: UTF-8 if
/// they are, else GB18030 (which reads GB2312 and GBK too), the usual source of 8-bit
/// Chinese headers.
pub(crate) fn decode_raw_8bit(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => decode_bytes(bytes, Some(encoding_rs::GB18030)),
    }
}

/// One encoded word at the start of `text`: (charset, decoded bytes, length used).
fn encoded_word(text: &[u8]) -> Option<(&[u8], Vec<u8>, usize)> {
    let rest = text.strip_prefix(b"=?")?;
    let charset_end = rest.iter().position(|&b| b == b'?')?;
    let charset = rest.get(..charset_end)?;
    let after_charset = rest.get(charset_end + 1..)?;
    let encoding = *after_charset.first()?;
    if after_charset.get(1) != Some(&b'?') {
        return None;
    }
    let payload_area = after_charset.get(2..)?;
    let mut end = None;
    for index in 0..payload_area.len() {
        if payload_area.get(index..index + 2) == Some(b"?=".as_slice()) {
            end = Some(index);
            break;
        }
        // An encoded word never holds white space; a missing `?=` must not swallow
        // the rest of the header.
        if payload_area
            .get(index)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            return None;
        }
    }
    let end = end?;
    let payload = payload_area.get(..end)?;
    let bytes = match encoding {
        b'B' | b'b' => base64_decode(payload),
        b'Q' | b'q' => q_decode(payload),
        _ => return None,
    };
    let used = 2 + charset_end + 1 + 2 + end + 2;
    Some((charset, bytes, used))
}

/// Unstructured header text (a Subject, a quoted file name) decoded: folding removed,
/// encoded words decoded with adjacent words of one charset joined as bytes, white space
/// between encoded words dropped (RFC 2047 section 6.2), 8-bit text read as UTF-8 or
/// GB18030.
pub fn decode_header_text(raw: &[u8]) -> String {
    // Unfold: a line break followed by white space is not part of the value.
    let mut unfolded = Vec::with_capacity(raw.len());
    let mut index = 0;
    while let Some(&byte) = raw.get(index) {
        if byte == b'\r' || byte == b'\n' {
            index += 1;
            continue;
        }
        unfolded.push(byte);
        index += 1;
    }
    let text = unfolded.as_slice();

    let mut out = String::new();
    // Bytes of a run of encoded words in one charset, not yet decoded.
    let mut pending: Vec<u8> = Vec::new();
    let mut pending_charset: Vec<u8> = Vec::new();
    // Plain text since the last encoded word: dropped if only white space between two
    // words, else kept.
    let mut plain: Vec<u8> = Vec::new();
    let mut last_was_word = false;
    let flush = |out: &mut String, pending: &mut Vec<u8>, label: &[u8]| {
        if !pending.is_empty() {
            let label = String::from_utf8_lossy(label);
            out.push_str(&decode_bytes(pending, charset(&label)));
            pending.clear();
        }
    };
    let mut index = 0;
    while index < text.len() {
        let rest = text.get(index..).unwrap_or_default();
        if let Some((label, bytes, used)) = encoded_word(rest) {
            let joinable = last_was_word && plain.iter().all(|b| b.is_ascii_whitespace());
            if joinable && label.eq_ignore_ascii_case(&pending_charset) {
                pending.extend_from_slice(&bytes);
            } else {
                flush(&mut out, &mut pending, &pending_charset);
                if !joinable {
                    out.push_str(&decode_raw_8bit(&plain));
                }
                pending_charset = label.to_vec();
                pending = bytes;
            }
            plain.clear();
            last_was_word = true;
            index += used;
        } else {
            let byte = text.get(index).copied().unwrap_or(b' ');
            plain.push(byte);
            if last_was_word && !byte.is_ascii_whitespace() {
                flush(&mut out, &mut pending, &pending_charset);
                last_was_word = false;
            }
            index += 1;
        }
    }
    flush(&mut out, &mut pending, &pending_charset);
    out.push_str(&decode_raw_8bit(&plain));
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(text).0.into_owned()
    }

    #[test]
    fn base64_round_trips_every_length() {
        for length in 0..40 {
            let data: Vec<u8> = (0..length).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64_decode(base64_encode(&data).as_bytes()), data);
        }
    }

    #[test]
    fn gbk_character_split_between_words_decodes_whole() {
        let bytes = gbk("传真测试");
        let (first, second) = bytes.split_at(3);
        let raw = format!(
            "=?GB2312?B?{}?=\r\n =?GB2312?B?{}?= 755-83235170",
            base64_encode(first),
            base64_encode(second)
        );
        assert_eq!(decode_header_text(raw.as_bytes()), "传真测试 755-83235170");
    }

    #[test]
    fn plain_text_between_words_is_kept() {
        let raw = "=?utf-8?Q?a?= b =?utf-8?Q?c_d?=";
        assert_eq!(decode_header_text(raw.as_bytes()), "a b c d");
    }

    #[test]
    fn text_before_a_word_keeps_its_space() {
        let raw = "Fax to =?utf-8?B?5byg5LiJ?=";
        assert_eq!(decode_header_text(raw.as_bytes()), "Fax to 张三");
    }

    #[test]
    fn broken_words_are_text() {
        assert_eq!(decode_header_text(b"=?utf-8?B?abc"), "=?utf-8?B?abc");
        assert_eq!(decode_header_text(b"=?x?Z?abc?="), "=?x?Z?abc?=");
    }

    #[test]
    fn raw_gbk_bytes_read_as_gb18030() {
        assert_eq!(decode_header_text(&gbk("报价")), "报价");
    }
}
