//! The content digest that recognises one message delivered twice.
//!
//! Every hop that delivers a message puts its own trace fields on top of the header
//! (RFC 5321 4.4: `Received`, `Return-Path`; and by custom `Delivered-To`,
//! `X-Original-To`, `Authentication-Results`, `Received-SPF`, ARC sets, spam and virus
//! scanner verdicts). A message that Postfix accepts twice, or that reaches the
//! mailbox by two routes, therefore differs in its raw bytes although the sender sent
//! it once. The digest covers everything else: the sender's own header fields, in
//! order, and the body, byte for byte. Two messages with the same Message-ID and the
//! same digest are one message, and must not become two faxes.

use sha2::{Digest, Sha256};

/// Header fields added in transit, by name (lower case); a field whose name starts
/// with one of `TRANSIT_PREFIXES` counts too.
const TRANSIT_FIELDS: &[&str] = &[
    "received",
    "return-path",
    "delivered-to",
    "x-original-to",
    "authentication-results",
    "received-spf",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "x-uidl",
    "status",
    "x-status",
    "x-keywords",
    "content-length",
];

/// Name prefixes of scanner verdicts that filters add on the way.
const TRANSIT_PREFIXES: &[&str] = &[
    "x-spam-",
    "x-virus-",
    "x-amavis-",
    "x-ms-exchange-organization-",
];

/// The SHA-256 (lower-case hex) of `raw` without the header fields added in transit.
///
/// Line ends are taken as they are (CRLF and LF differ): every intake hands the
/// message over as the server stored it, so one message arrives with one form.
pub fn content_digest(raw: &[u8]) -> String {
    let mut hasher = Sha256::new();
    let (header, body) = split_header(raw);
    let mut skipping = false;
    for line in lines(header) {
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        if !folded {
            skipping = is_transit_field(line);
        }
        if !skipping {
            hasher.update(line);
        }
    }
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The header block (up to and including its last line end) and the rest (the
/// empty line and the body). A message without an empty line is all header.
fn split_header(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut start = 0;
    while start < raw.len() {
        let end = raw[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |at| start + at + 1);
        let line = &raw[start..end];
        if line == b"\n" || line == b"\r\n" {
            return raw.split_at(start);
        }
        start = end;
    }
    (raw, &[])
}

/// The lines of `block`, each with its line end.
fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block.split_inclusive(|&b| b == b'\n')
}

fn is_transit_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        // Not a field (mbox "From " line, damage): keep it in the digest.
        return false;
    };
    let name = String::from_utf8_lossy(&line[..colon])
        .trim()
        .to_ascii_lowercase();
    TRANSIT_FIELDS.contains(&name.as_str())
        || TRANSIT_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"From: alice@example.com\r\n\
Subject: 10-666666\r\n\
Message-ID: <1@example.com>\r\n\
\r\n\
body\r\n";

    #[test]
    fn trace_fields_of_a_second_delivery_do_not_change_the_digest() {
        let redelivered = [
            b"Return-Path: <alice@example.com>\r\n\
Delivered-To: fax@faxgate.test\r\n\
Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n\
\tby mx.faxgate.test (Postfix) with ESMTPS id 4ABC\r\n\
\tfor <fax@faxgate.test>; Sun, 29 Nov 2026 04:40:00 +0000 (UTC)\r\n\
X-Spam-Status: No, score=-1.0\r\n"
                .as_slice(),
            MESSAGE,
        ]
        .concat();
        assert_eq!(content_digest(MESSAGE), content_digest(&redelivered));
    }

    #[test]
    fn the_senders_fields_and_body_count() {
        let other_subject = String::from_utf8_lossy(MESSAGE).replace("666666", "666667");
        let other_body = String::from_utf8_lossy(MESSAGE).replace("body", "bodY");
        assert_ne!(
            content_digest(MESSAGE),
            content_digest(other_subject.as_bytes())
        );
        assert_ne!(
            content_digest(MESSAGE),
            content_digest(other_body.as_bytes())
        );
    }

    #[test]
    fn a_field_folded_under_a_trace_field_is_dropped_with_it() {
        let a = b"Received: by a\r\n\tfor <x>\r\nSubject: s\r\n\r\nb".as_slice();
        let b = b"Received: by b\r\n\tfor <y>; later\r\nSubject: s\r\n\r\nb".as_slice();
        assert_eq!(content_digest(a), content_digest(b));
    }

    #[test]
    fn a_body_line_that_looks_like_a_trace_field_counts() {
        let a = b"Subject: s\r\n\r\nReceived: one\r\n".as_slice();
        let b = b"Subject: s\r\n\r\nReceived: two\r\n".as_slice();
        assert_ne!(content_digest(a), content_digest(b));
    }

    #[test]
    fn headerless_and_empty_input_have_a_digest() {
        assert_eq!(content_digest(b"").len(), 64);
        assert_eq!(content_digest(b"no colon here").len(), 64);
    }
}
