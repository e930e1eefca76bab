//! The MIME tree walked into documents to fax and parts not faxed, each with its reason.
//!
//! The body is never faxed: the Subject addresses the fax, the attachments are the fax.
//! Images the HTML body shows through `cid:` (signature logos, pasted pictures) belong to
//! the body; any other attachment, inline or not (Apple Mail puts a PDF inline in the
//! body), is a document. Forwarded messages (`message/rfc822`) are opened: their
//! attachments are documents, their text is body.

use std::collections::HashSet;

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};
use serde::Serialize;

use crate::decode::decode_header_text;

/// How deep forwarded messages and multiparts are followed; mail-parser bounds its own
/// nesting too, this keeps the walk's stack small whatever it hands over.
const MAX_DEPTH: usize = 32;

/// A document to fax, in the order it appears in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The file name, unique within the request (a second `scan.pdf` is `scan (2).pdf`).
    pub name: String,
    /// The MIME type as the mail declared it, lower case (`application/pdf`).
    pub content_type: String,
    /// The decoded content.
    pub data: Vec<u8>,
}

/// Why a part is not faxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SkipReason {
    /// The message text (plain or HTML): the body is not faxed.
    Body,
    /// An image the HTML body shows through `cid:`, such as a signature logo.
    BodyImage,
    /// A cryptographic signature (S/MIME, OpenPGP).
    Signature,
    /// A delivery or read report.
    Report,
    /// Outlook's TNEF container (`winmail.dat`) that is damaged; intact ones are opened
    /// and their attachments faxed.
    Tnef,
    /// An attachment of a type that cannot be converted to fax pages.
    Unsupported,
    /// An attachment with no content.
    Empty,
}

impl SkipReason {
    /// The reason as a stable name (`body`, `body-image`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Body => "body",
            SkipReason::BodyImage => "body-image",
            SkipReason::Signature => "signature",
            SkipReason::Report => "report",
            SkipReason::Tnef => "tnef",
            SkipReason::Unsupported => "unsupported",
            SkipReason::Empty => "empty",
        }
    }

    /// Whether the sender meant this part to be faxed and it cannot be: these refuse the
    /// request (or are named in the receipt, as configured).
    pub fn is_unconvertible(self) -> bool {
        matches!(self, SkipReason::Tnef | SkipReason::Unsupported)
    }

    /// The reason in plain English.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Body => "the message text is not faxed, only the attachments",
            SkipReason::BodyImage => {
                "an image shown inside the message text (such as a signature logo)"
            }
            SkipReason::Signature => "a digital signature of the message",
            SkipReason::Report => "a delivery or read report",
            SkipReason::Tnef => {
                "a damaged Outlook winmail.dat container, which cannot be opened: set Outlook \
                 to send in HTML or plain text format and attach the files again"
            }
            SkipReason::Unsupported => "this type of file cannot be converted to a fax",
            SkipReason::Empty => "the attachment is empty",
        }
    }
}

/// A part of the message that is not faxed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotFaxed {
    /// The file name, or a description of the part (`message text (text/plain)`).
    pub part: String,
    /// The MIME type, lower case.
    pub content_type: String,
    /// Why not.
    pub reason: SkipReason,
}

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub documents: Vec<Document>,
    pub not_faxed: Vec<NotFaxed>,
    /// A `multipart/report` or `message/delivery-status` part was seen.
    pub saw_report: bool,
    names: HashSet<String>,
    unnamed: usize,
}

fn content_type_of(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => match &part.body {
            PartType::Html(_) => "text/html".to_owned(),
            PartType::Text(_) => "text/plain".to_owned(),
            PartType::Message(_) => "message/rfc822".to_owned(),
            PartType::Multipart(_) => "multipart/mixed".to_owned(),
            _ => "application/octet-stream".to_owned(),
        },
    }
}

/// The value of parameter `name` in a raw Content-Type or Content-Disposition header, as
/// written (quotes removed), for names whose encoded words must be decoded as a whole.
fn raw_parameter(raw: &[u8], name: &str) -> Option<Vec<u8>> {
    let lower: Vec<u8> = raw.iter().map(u8::to_ascii_lowercase).collect();
    let needle = format!("{name}=");
    let mut from = 0;
    while let Some(found) = lower.get(from..).and_then(|rest| {
        rest.windows(needle.len())
            .position(|w| w == needle.as_bytes())
    }) {
        let start = from + found;
        let before = start.checked_sub(1).and_then(|i| lower.get(i)).copied();
        if matches!(before, Some(b';' | b' ' | b'\t' | b'\n' | b'\r')) {
            let value = raw.get(start + needle.len()..)?;
            if let Some(quoted) = value.strip_prefix(b"\"") {
                let end = quoted
                    .iter()
                    .position(|&b| b == b'"')
                    .unwrap_or(quoted.len());
                return quoted.get(..end).map(<[u8]>::to_vec);
            }
            let end = value
                .iter()
                .position(|&b| b == b';' || b.is_ascii_whitespace())
                .unwrap_or(value.len());
            return value.get(..end).map(<[u8]>::to_vec);
        }
        from = start + 1;
    }
    None
}

/// The part's file name, decoded. mail-parser decodes encoded words one by one, which
/// breaks characters Outlook splits between words; such names are decoded again from the
/// raw header.
fn file_name(message: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    let parsed = part.attachment_name().map(str::to_owned);
    if parsed
        .as_deref()
        .is_some_and(|name| !name.contains('\u{FFFD}'))
    {
        return parsed;
    }
    for header in part.headers() {
        let header_name = header.name();
        if !(header_name.eq_ignore_ascii_case("Content-Disposition")
            || header_name.eq_ignore_ascii_case("Content-Type"))
        {
            continue;
        }
        let start = usize::try_from(header.offset_start()).ok()?;
        let end = usize::try_from(header.offset_end()).ok()?;
        let Some(raw) = message.raw_message.get(start..end) else {
            continue;
        };
        for parameter in ["filename", "name"] {
            if let Some(value) = raw_parameter(raw, parameter) {
                let decoded = decode_header_text(&value);
                if !decoded.is_empty() {
                    return Some(decoded);
                }
            }
        }
    }
    parsed
}

/// A file name safe to show and store: no directories (old clients send the sender's
/// full path), no control characters.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    cleaned.trim().trim_matches('.').trim().to_owned()
}

fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => "jpg",
        "image/gif" => "gif",
        "image/bmp" => "bmp",
        "image/tiff" => "tif",
        "text/plain" => "txt",
        "text/html" => "html",
        _ => "bin",
    }
}

fn is_signature(content_type: &str, name: Option<&str>) -> bool {
    matches!(
        content_type,
        "application/pkcs7-signature"
            | "application/x-pkcs7-signature"
            | "application/pgp-signature"
            | "application/pgp-keys"
    ) || name.is_some_and(|n| {
        let lower = n.to_ascii_lowercase();
        lower.ends_with(".p7s") || lower == "signature.asc"
    })
}

fn is_tnef(content_type: &str, name: Option<&str>) -> bool {
    content_type == "application/ms-tnef"
        || content_type == "application/vnd.ms-tnef"
        || name.is_some_and(|n| n.eq_ignore_ascii_case("winmail.dat"))
}

/// Every `cid:` the HTML bodies of `message` (and of messages inside it) refer to, as
/// Content-IDs without angle brackets, lower case.
pub(crate) fn cid_references(message: &Message<'_>, depth: usize, out: &mut HashSet<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    for part in &message.parts {
        match &part.body {
            PartType::Html(html) => {
                let lower = html.to_ascii_lowercase();
                let mut rest = lower.as_str();
                while let Some(at) = rest.find("cid:") {
                    let after = rest.get(at + 4..).unwrap_or_default();
                    let end = after
                        .find(['"', '\'', ')', '>', ' ', '\t', '\r', '\n'])
                        .unwrap_or(after.len());
                    out.insert(after.get(..end).unwrap_or_default().to_owned());
                    rest = after;
                }
            }
            PartType::Message(inner) => cid_references(inner, depth + 1, out),
            _ => {}
        }
    }
}

impl Walk {
    fn unique_name(&mut self, wanted: &str) -> String {
        let (stem, extension) = match wanted.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
            _ => (wanted.to_owned(), String::new()),
        };
        let mut candidate = wanted.to_owned();
        let mut counter = 2;
        while !self.names.insert(candidate.to_lowercase()) {
            candidate = format!("{stem} ({counter}){extension}");
            counter += 1;
        }
        candidate
    }

    /// Walks part `id` of `message`.
    pub(crate) fn part(
        &mut self,
        message: &Message<'_>,
        id: u32,
        cids: &HashSet<String>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some(part) = message.part(id) else {
            return;
        };
        let content_type = content_type_of(part);
        match &part.body {
            PartType::Multipart(children) => {
                if content_type == "multipart/report" {
                    self.saw_report = true;
                }
                for &child in children {
                    // A part naming itself or an ancestor cannot come out of the parser,
                    // but the depth bound holds either way.
                    self.part(message, child, cids, depth + 1);
                }
            }
            PartType::Message(inner) => {
                if !inner.parts.is_empty() {
                    self.part(inner, 0, cids, depth + 1);
                }
            }
            PartType::Text(_)
            | PartType::Html(_)
            | PartType::Binary(_)
            | PartType::InlineBinary(_) => {
                self.leaf(message, part, content_type, cids);
            }
        }
    }

    fn leaf(
        &mut self,
        message: &Message<'_>,
        part: &MessagePart<'_>,
        content_type: String,
        cids: &HashSet<String>,
    ) {
        let name = file_name(message, part)
            .map(|n| clean_name(&n))
            .filter(|n| !n.is_empty());
        let is_attachment = part
            .content_disposition()
            .is_some_and(|cd| cd.ctype().eq_ignore_ascii_case("attachment"));
        let describe =
            |name: &Option<String>| name.clone().unwrap_or_else(|| format!("({content_type})"));
        if matches!(
            content_type.as_str(),
            "message/delivery-status" | "message/disposition-notification"
        ) {
            self.saw_report = true;
            self.skip(describe(&name), &content_type, SkipReason::Report);
            return;
        }
        if is_signature(&content_type, name.as_deref()) {
            self.skip(describe(&name), &content_type, SkipReason::Signature);
            return;
        }
        if is_tnef(&content_type, name.as_deref()) {
            let tnef = crate::tnef::read(part.contents());
            if tnef.damaged && tnef.attachments.is_empty() {
                self.skip(describe(&name), &content_type, SkipReason::Tnef);
            } else if tnef.attachments.is_empty() {
                // Only Outlook's rich-text copy of the body.
                self.skip(describe(&name), &content_type, SkipReason::Body);
            } else {
                for attachment in tnef.attachments {
                    let name = attachment
                        .name
                        .map(|n| clean_name(&n))
                        .filter(|n| !n.is_empty());
                    self.candidate(
                        name,
                        "application/octet-stream".to_owned(),
                        &attachment.data,
                    );
                }
                if tnef.damaged {
                    self.skip(describe(&name), &content_type, SkipReason::Tnef);
                }
            }
            return;
        }
        let is_text_body = matches!(part.body, PartType::Text(_) | PartType::Html(_))
            && content_type.starts_with("text/")
            && name.is_none()
            && !is_attachment;
        if is_text_body {
            self.skip(
                format!("message text ({content_type})"),
                &content_type,
                SkipReason::Body,
            );
            return;
        }
        let referenced = part
            .content_id()
            .map(|id| {
                id.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_ascii_lowercase()
            })
            .is_some_and(|id| cids.contains(&id));
        if referenced && content_type.starts_with("image/") {
            self.skip(describe(&name), &content_type, SkipReason::BodyImage);
            return;
        }
        self.candidate(name, content_type, part.contents());
    }

    /// A part the sender meant to fax: a document if it converts, else named as not.
    fn candidate(&mut self, name: Option<String>, content_type: String, data: &[u8]) {
        let wanted = match name {
            Some(name) => name,
            None => {
                self.unnamed += 1;
                format!(
                    "attachment-{}.{}",
                    self.unnamed,
                    extension_for(&content_type)
                )
            }
        };
        if data.is_empty() {
            self.skip(wanted, &content_type, SkipReason::Empty);
            return;
        }
        let extension = wanted
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        if fax_render::sniff::sniff(data, extension.as_deref()).is_none() {
            self.skip(wanted, &content_type, SkipReason::Unsupported);
            return;
        }
        let name = self.unique_name(&wanted);
        self.documents.push(Document {
            name,
            content_type,
            data: data.to_vec(),
        });
    }

    fn skip(&mut self, part: String, content_type: &str, reason: SkipReason) {
        self.not_faxed.push(NotFaxed {
            part,
            content_type: content_type.to_owned(),
            reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_parameter_reads_quoted_and_bare_values() {
        let raw = b" attachment;\r\n filename=\"=?GBK?B?sa28&?=\"; size=10";
        assert_eq!(
            raw_parameter(raw, "filename").as_deref(),
            Some(&b"=?GBK?B?sa28&?="[..])
        );
        assert_eq!(
            raw_parameter(b"text/plain; name=a.txt", "name").as_deref(),
            Some(&b"a.txt"[..])
        );
        // `filename=` must not match inside `xfilename=`.
        assert_eq!(raw_parameter(b"x; xname=a", "name"), None);
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\li\\报价单.pdf"), "报价单.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\u{7}b.pdf"), "ab.pdf");
    }

    #[test]
    fn same_names_get_numbers() {
        let mut walk = Walk::default();
        assert_eq!(walk.unique_name("scan.pdf"), "scan.pdf");
        assert_eq!(walk.unique_name("SCAN.pdf"), "SCAN (2).pdf");
        assert_eq!(walk.unique_name("scan.pdf"), "scan (3).pdf");
        assert_eq!(walk.unique_name("scan (2).pdf"), "scan (2) (2).pdf");
    }
}
