//! Helpers of the mail intake: the Message-ID a message is recorded under in the
//! intake ledger. The pipeline itself (message to fax request) is `intake`.

/// The Message-ID header of a raw message (unfolded, trimmed), or "" without one.
pub fn message_id(raw: &[u8]) -> String {
    let header_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let text = String::from_utf8_lossy(&raw[..header_end]);
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim_end().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let mut value = value.to_owned();
        while let Some(next) = lines.peek() {
            if next.starts_with([' ', '\t']) {
                value.push_str(next);
                lines.next();
            } else {
                break;
            }
        }
        return value.trim().to_owned();
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::message_id;

    #[test]
    fn message_id_is_found_unfolded_in_any_case() {
        assert_eq!(
            message_id(b"From: a\r\nMESSAGE-ID:\r\n <x@y>\r\n\r\nMessage-ID: <body>\r\n"),
            "<x@y>"
        );
        assert_eq!(message_id(b"Subject: x\n\nMessage-ID: <body>\n"), "");
        assert_eq!(message_id(b"Message-Id: <a@b>\n\nbody"), "<a@b>");
    }
}
