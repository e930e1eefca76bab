//! The mail that hands a user a fax filed in their inbox: "You have received a fax".
//!
//! A fax addressed to a user's fax ID is filed at once, without a call; [`inbox_mail`]
//! then tells the owner who sent it (the request's sender and Subject), how many pages
//! it has and when it arrived, in the user's language, with the pages attached as one
//! PDF named `fax-<id>.pdf`.
//!
//! The mail is `multipart/mixed`: a `text/plain` part (UTF-8, base64) and the PDF. It is
//! not a reply to anything, so it says `Auto-Submitted: auto-generated` (RFC 3834), and
//! carries [`RECEIPT_HEADER`](crate::RECEIPT_HEADER) with the value `inbox`, so the
//! intake never takes it for a fax request if the owner's mailbox is also the
//! gateway's.
//!
//! Nothing here reads a clock or draws random numbers: the Date, Message-ID and
//! received time come from the caller.

use std::fmt::Write as _;

use crate::decode::base64_encode_lines;
use crate::lang::Language;
use crate::loops::RECEIPT_HEADER;
use crate::receipt::{encode_words, header_safe, message_id_header};

/// The boundary of every inbox mail: `=_` never occurs in base64 text and every part is
/// base64, so it cannot occur inside a part.
const BOUNDARY: &str = "=_faxgate_inbox";

/// What [`inbox_mail`] writes about one filed fax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxFax<'a> {
    /// The gateway's address (`From`), such as `Fax Gateway <fax@example.com>`.
    pub from: &'a str,
    /// The owner's address (`To`).
    pub to: &'a str,
    /// The `Date` header value (RFC 5322), from the caller's clock.
    pub date: &'a str,
    /// The mail's own Message-ID, without angle brackets.
    pub message_id: &'a str,
    /// What names the fax (the job that filed it): the attachment is `fax-<id>.pdf`.
    pub fax: &'a str,
    /// Who sent it: the request's sender (an address or a station identifier).
    pub sender: &'a str,
    /// The Subject of the request, if it had one.
    pub subject: Option<&'a str>,
    /// Its pages.
    pub pages: u32,
    /// When it arrived, as the caller writes times (`2026-11-29T03:00:00Z`).
    pub received: &'a str,
    /// The owner's language.
    pub language: Language,
    /// The fax as one PDF.
    pub pdf: &'a [u8],
}

/// The attachment's file name: only characters safe in a quoted MIME parameter and a
/// file system, since the ID is the caller's but the name ends up on the owner's disk.
fn file_name(fax: &str) -> String {
    let id: String = fax
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("fax-{id}.pdf")
}

fn body(fax: &InboxFax<'_>) -> String {
    let subject = fax.subject.map(header_safe).filter(|s| !s.is_empty());
    let sender = header_safe(fax.sender);
    let mut text = String::new();
    match fax.language {
        Language::En => {
            text.push_str("You have received a fax.\n\n");
            let _ = writeln!(text, "From:     {sender}");
            if let Some(subject) = &subject {
                let _ = writeln!(text, "Subject:  {subject}");
            }
            let _ = writeln!(text, "Pages:    {}", fax.pages);
            let _ = writeln!(text, "Received: {}", fax.received);
            let _ = writeln!(
                text,
                "\nThe fax is attached as {}.\n\n\
                 This is an automatic message from the fax gateway.",
                file_name(fax.fax)
            );
        }
        Language::Zh => {
            text.push_str("您收到一份传真。\n\n");
            let _ = writeln!(text, "发件人：{sender}");
            if let Some(subject) = &subject {
                let _ = writeln!(text, "主题：{subject}");
            }
            let _ = writeln!(text, "页数：{}", fax.pages);
            let _ = writeln!(text, "收到时间：{}", fax.received);
            let _ = writeln!(
                text,
                "\n传真见附件 {}。\n\n此邮件由传真网关自动发送。",
                file_name(fax.fax)
            );
        }
    }
    text
}

fn mail_subject(fax: &InboxFax<'_>) -> String {
    let sender = header_safe(fax.sender);
    match fax.language {
        Language::En => format!(
            "You have received a fax from {sender} ({} pages)",
            fax.pages
        ),
        Language::Zh => format!("您收到来自 {sender} 的传真（{} 页）", fax.pages),
    }
}

/// The "You have received a fax" mail to the owner of an inbox, ready to send (CRLF
/// line ends, ASCII: the text is base64 and the Subject RFC 2047 encoded words).
pub fn inbox_mail(fax: &InboxFax<'_>) -> Vec<u8> {
    let mut out = String::new();
    let _ = write!(out, "From: {}\r\n", header_safe(fax.from));
    let _ = write!(out, "To: {}\r\n", header_safe(fax.to));
    let _ = write!(out, "Subject: {}\r\n", encode_words(&mail_subject(fax)));
    let _ = write!(out, "Date: {}\r\n", header_safe(fax.date));
    let _ = write!(out, "Message-ID: {}\r\n", message_id_header(fax.message_id));
    out.push_str("Auto-Submitted: auto-generated\r\n");
    let _ = write!(out, "{RECEIPT_HEADER}: inbox\r\n");
    out.push_str("MIME-Version: 1.0\r\n");
    let _ = write!(
        out,
        "Content-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\r\n\r\n"
    );
    let _ = write!(
        out,
        "--{BOUNDARY}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Language: {}\r\nContent-Disposition: inline\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
        fax.language.as_str()
    );
    out.push_str(&base64_encode_lines(body(fax).as_bytes()));
    let name = file_name(fax.fax);
    let _ = write!(
        out,
        "\r\n--{BOUNDARY}\r\nContent-Type: application/pdf; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    );
    out.push_str(&base64_encode_lines(fax.pdf));
    let _ = write!(out, "\r\n--{BOUNDARY}--\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use mail_parser::{MessageParser, MimeHeaders};

    use super::*;

    fn fax(language: Language) -> InboxFax<'static> {
        InboxFax {
            from: "Fax Gateway <fax@example.com>",
            to: "zhang@example.com",
            date: "Sun, 29 Nov 2026 03:00:00 +0000",
            message_id: "faxgate.inbox.7.1@example.com",
            fax: "7",
            sender: "li@example.com\r\nBcc: evil@example.com",
            subject: Some("季度报表 Q3"),
            pages: 3,
            received: "2026-11-29T03:00:00Z",
            language,
            pdf: b"%PDF-1.4\n%fake\n",
        }
    }

    #[test]
    fn parses_with_text_and_pdf_in_english() {
        let raw = inbox_mail(&fax(Language::En));
        assert!(raw.is_ascii());
        let message = MessageParser::default().parse(&raw).expect("parses");
        assert_eq!(
            message.subject(),
            Some("You have received a fax from li@example.comBcc: evil@example.com (3 pages)")
        );
        assert_eq!(
            message.header_raw(RECEIPT_HEADER).map(str::trim),
            Some("inbox")
        );
        assert!(message.header_raw("Bcc").is_none(), "no header injection");
        let text = message.body_text(0).expect("text part");
        assert!(text.contains("You have received a fax."), "{text}");
        assert!(text.contains("Subject:  季度报表 Q3"), "{text}");
        assert!(text.contains("Pages:    3"), "{text}");
        assert!(text.contains("2026-11-29T03:00:00Z"), "{text}");
        let pdf = message.attachment(0).expect("pdf part");
        assert_eq!(pdf.attachment_name(), Some("fax-7.pdf"));
        assert_eq!(pdf.contents(), b"%PDF-1.4\n%fake\n");
    }

    #[test]
    fn chinese_subject_is_encoded_words() {
        let raw = inbox_mail(&fax(Language::Zh));
        assert!(raw.is_ascii());
        let message = MessageParser::default().parse(&raw).expect("parses");
        assert!(
            message
                .subject()
                .is_some_and(|s| s.starts_with("您收到来自")),
            "{:?}",
            message.subject()
        );
        let text = message.body_text(0).expect("text part");
        assert!(text.contains("您收到一份传真。"), "{text}");
        assert!(text.contains("页数：3"), "{text}");
    }

    #[test]
    fn attachment_name_keeps_only_safe_characters() {
        assert_eq!(file_name("12\"; x=\r\n/../y"), "fax-12xy.pdf");
    }
}
