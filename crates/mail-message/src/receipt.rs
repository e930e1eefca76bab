//! Receipts: the mails that tell a sender what became of a fax request.
//!
//! Two kinds, both built from plain data so the job queue (or anything else) can ask for
//! them: [`result_receipt`] once every recipient has a final result, and
//! [`problem_receipt`] for a request the sender can fix (bad Subject, no attachment, an
//! attachment that cannot be converted, too large, too many recipients).
//!
//! Every receipt is `multipart/mixed`: a `text/plain` part in the sender's language
//! (UTF-8, base64), an `application/json` part with the same facts for machines (field
//! names below), and, only when the caller hands the bytes, the sent pages as one PDF. The
//! headers make it a reply that robots leave alone: `In-Reply-To` and `References` the
//! original Message-ID, `Auto-Submitted: auto-replied` (RFC 3834) and
//! [`RECEIPT_HEADER`](crate::RECEIPT_HEADER), which the intake ignores.
//!
//! JSON (`receipt.json`), every key always present (`null` when unknown):
//!
//! ```text
//! faxgate_receipt  1 (format version)
//! kind             "result" | "problem"
//! request          { subject, sender, message_id }
//! result:  summary "sent" | "partly-sent" | "failed"
//!          recipients [ { name1, name2, number, fax_id, status ("sent" | "failed" |
//!                         "cancelled" | "refused"), pages_sent, pages_total,
//!                         duration_seconds, bit_rate, remote_station_id, attempts,
//!                         reason } ]
//! problem: verdict (as `faxgate mail inspect` prints it), message (the explanation in
//!          English), documents [ name ], not_faxed [ { part, content_type, reason } ]
//! ```
//!
//! Nothing here reads a clock or draws random numbers: the Date and Message-ID of the
//! receipt come from the caller.

use std::fmt::Write as _;

use serde::Serialize;

use crate::decode::{base64_encode, base64_encode_lines};
use crate::lang::Language;
use crate::loops::RECEIPT_HEADER;
use crate::parts::NotFaxed;
use crate::request::{MailRequest, Problem, Verdict};

/// The boundary of every receipt. `=_` never occurs in base64 text, and every part
/// is base64, so the boundary cannot occur inside a part.
const BOUNDARY: &str = "=_faxgate_receipt";

/// The headers of a receipt that the caller decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHeaders {
    /// The gateway's address (`From`), such as `Fax Gateway <fax@example.com>`.
    pub from: String,
    /// The sender of the request (`To`).
    pub to: String,
    /// The receipt's own Message-ID, without angle brackets.
    pub message_id: String,
    /// The `Date` header value (RFC 5322), from the caller's clock.
    pub date: String,
}

/// The request a receipt answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// The Subject as the sender wrote it (decoded).
    pub subject: String,
    /// The sender's address.
    pub sender: String,
    /// The request's Message-ID, without angle brackets, when it had one.
    pub message_id: Option<String>,
    /// The language to write in.
    pub language: Language,
}

impl RequestInfo {
    /// The request as the intake read it, for the receipt that answers it.
    pub fn from_request(request: &MailRequest) -> RequestInfo {
        RequestInfo {
            subject: request.subject.clone(),
            sender: request.sender.clone().unwrap_or_default(),
            message_id: request.message_id.clone(),
            language: request.language,
        }
    }
}

/// The final state of one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaxStatus {
    /// Every page was sent and confirmed.
    Sent,
    /// Sending failed after every attempt.
    Failed,
    /// Cancelled by the sender or an administrator.
    Cancelled,
    /// Not attempted: refused by the destination policy.
    Refused,
}

impl FaxStatus {
    fn word(self, language: Language) -> &'static str {
        match (self, language) {
            (FaxStatus::Sent, Language::En) => "sent",
            (FaxStatus::Failed, Language::En) => "failed",
            (FaxStatus::Cancelled, Language::En) => "cancelled",
            (FaxStatus::Refused, Language::En) => "not sent (refused)",
            (FaxStatus::Sent, Language::Zh) => "发送成功",
            (FaxStatus::Failed, Language::Zh) => "发送失败",
            (FaxStatus::Cancelled, Language::Zh) => "已取消",
            (FaxStatus::Refused, Language::Zh) => "未发送（被拒绝）",
        }
    }
}

/// The result for one recipient, as the job queue knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipientResult {
    /// First name on the address (company), if given.
    pub name1: Option<String>,
    /// Second name (person), if given.
    pub name2: Option<String>,
    /// The number as the sender wrote it, or as dialled.
    pub number: Option<String>,
    /// The fax ID, if any.
    pub fax_id: Option<String>,
    /// The final state.
    pub status: FaxStatus,
    /// Pages confirmed by the far end.
    pub pages_sent: u32,
    /// Pages in the fax.
    pub pages_total: u32,
    /// Time on the line, in seconds (the last attempt).
    pub duration_seconds: u64,
    /// The signalling rate of the last attempt, in bit/s.
    pub bit_rate: Option<u32>,
    /// The far end's station identifier (TSI/CSI).
    pub remote_station_id: Option<String>,
    /// How many calls were made.
    pub attempts: u32,
    /// Why it failed, in plain words.
    pub reason: Option<String>,
}

/// The results of one request: what [`result_receipt`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestResult {
    /// The request.
    pub request: RequestInfo,
    /// One result per recipient, in the request's order.
    pub recipients: Vec<RecipientResult>,
}

fn summary(recipients: &[RecipientResult]) -> &'static str {
    let sent = recipients
        .iter()
        .filter(|r| r.status == FaxStatus::Sent)
        .count();
    if sent == recipients.len() && sent > 0 {
        "sent"
    } else if sent > 0 {
        "partly-sent"
    } else {
        "failed"
    }
}

/// A header value with no line breaks or other control characters: a value that came
/// from a mail must not be able to add headers.
pub(crate) fn header_safe(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// `text` as RFC 2047 encoded words (UTF-8, base64), folded: each word at most 75
/// characters, split between characters.
pub(crate) fn encode_words(text: &str) -> String {
    let text = header_safe(text);
    if text.is_ascii() && text.len() < 60 {
        return text;
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for ch in text.chars() {
        // 45 bytes make 60 base64 characters: 12 + 60 = 72 per word.
        if chunk.len() + ch.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64_encode(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(ch);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64_encode(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

pub(crate) fn message_id_header(id: &str) -> String {
    format!("<{}>", header_safe(id).trim_matches(['<', '>']))
}

struct Part<'a> {
    content_type: &'a str,
    file_name: Option<&'a str>,
    language: Option<Language>,
    data: &'a [u8],
}

fn assemble(
    headers: &ReceiptHeaders,
    request: &RequestInfo,
    subject: &str,
    kind: &str,
    parts: &[Part<'_>],
) -> Vec<u8> {
    let mut out = String::new();
    let _ = write!(out, "From: {}\r\n", header_safe(&headers.from));
    let _ = write!(out, "To: {}\r\n", header_safe(&headers.to));
    let _ = write!(out, "Subject: {}\r\n", encode_words(subject));
    let _ = write!(out, "Date: {}\r\n", header_safe(&headers.date));
    let _ = write!(
        out,
        "Message-ID: {}\r\n",
        message_id_header(&headers.message_id)
    );
    if let Some(original) = &request.message_id {
        let original = message_id_header(original);
        let _ = write!(out, "In-Reply-To: {original}\r\nReferences: {original}\r\n");
    }
    out.push_str("Auto-Submitted: auto-replied\r\n");
    let _ = write!(out, "{RECEIPT_HEADER}: {kind}\r\n");
    out.push_str("MIME-Version: 1.0\r\n");
    let _ = write!(
        out,
        "Content-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\r\n\r\n"
    );
    for part in parts {
        let _ = write!(out, "--{BOUNDARY}\r\n");
        let _ = write!(out, "Content-Type: {}", part.content_type);
        if let Some(name) = part.file_name {
            let _ = write!(out, "; name=\"{name}\"");
        }
        out.push_str("\r\n");
        if let Some(language) = part.language {
            let _ = write!(out, "Content-Language: {}\r\n", language.as_str());
        }
        match part.file_name {
            Some(name) => {
                let _ = write!(
                    out,
                    "Content-Disposition: attachment; filename=\"{name}\"\r\n"
                );
            }
            None => out.push_str("Content-Disposition: inline\r\n"),
        }
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        out.push_str(&base64_encode_lines(part.data));
        out.push_str("\r\n");
    }
    let _ = write!(out, "--{BOUNDARY}--\r\n");
    out.into_bytes()
}

fn duration_words(seconds: u64, language: Language) -> String {
    let (minutes, seconds) = (seconds / 60, seconds % 60);
    match language {
        Language::En if minutes > 0 => format!("{minutes} min {seconds:02} s"),
        Language::En => format!("{seconds} s"),
        Language::Zh if minutes > 0 => format!("{minutes}分{seconds:02}秒"),
        Language::Zh => format!("{seconds}秒"),
    }
}

#[derive(Serialize)]
struct RequestJson<'a> {
    subject: &'a str,
    sender: &'a str,
    message_id: Option<&'a str>,
}

impl<'a> From<&'a RequestInfo> for RequestJson<'a> {
    fn from(request: &'a RequestInfo) -> RequestJson<'a> {
        RequestJson {
            subject: &request.subject,
            sender: &request.sender,
            message_id: request.message_id.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct ResultJson<'a> {
    faxgate_receipt: u32,
    kind: &'static str,
    request: RequestJson<'a>,
    summary: &'static str,
    recipients: &'a [RecipientResult],
}

/// Columns on a terminal or in a fixed-width mail font: East Asian wide characters
/// take two.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            '\u{1100}'..='\u{115F}'
            | '\u{2E80}'..='\u{A4CF}'
            | '\u{AC00}'..='\u{D7A3}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{FE30}'..='\u{FE4F}'
            | '\u{FF00}'..='\u{FF60}'
            | '\u{FFE0}'..='\u{FFE6}'
            | '\u{20000}'..='\u{3FFFD}' => 2,
            _ => 1,
        })
        .sum()
}

/// One line per recipient (number, names, status, pages), columns padded to line up in
/// a fixed-width font; the details follow below it.
fn summary_table(result: &RequestResult) -> String {
    let language = result.request.language;
    let header: [&str; 5] = match language {
        Language::En => ["#", "Number", "Recipient", "Status", "Pages"],
        Language::Zh => ["#", "号码", "收件人", "状态", "页数"],
    };
    let mut rows = vec![header.map(str::to_owned)];
    for (index, recipient) in result.recipients.iter().enumerate() {
        let names: Vec<&str> = [recipient.name1.as_deref(), recipient.name2.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        rows.push([
            (index + 1).to_string(),
            recipient
                .number
                .clone()
                .or_else(|| recipient.fax_id.clone())
                .unwrap_or_else(|| "-".to_owned()),
            if names.is_empty() {
                "-".to_owned()
            } else {
                names.join(" / ")
            },
            recipient.status.word(language).to_owned(),
            format!("{}/{}", recipient.pages_sent, recipient.pages_total),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(display_width(cell));
        }
    }
    let mut table = String::new();
    for row in &rows {
        let mut line = String::new();
        for (column, (cell, width)) in row.iter().zip(widths).enumerate() {
            line.push_str(cell);
            if column + 1 < row.len() {
                line.push_str(&" ".repeat(width - display_width(cell) + 2));
            }
        }
        table.push_str(line.trim_end());
        table.push('\n');
    }
    table
}

fn result_text(result: &RequestResult) -> String {
    let language = result.request.language;
    let en = language == Language::En;
    let mut text = String::new();
    let sent = result
        .recipients
        .iter()
        .filter(|r| r.status == FaxStatus::Sent)
        .count();
    let total = result.recipients.len();
    let _ = if en {
        writeln!(
            text,
            "Your fax \"{}\" was sent to {sent} of {total} recipients.\n",
            result.request.subject
        )
    } else {
        writeln!(
            text,
            "您的传真“{}”已发送给 {total} 个收件人中的 {sent} 个。\n",
            result.request.subject
        )
    };
    text.push_str(&summary_table(result));
    text.push('\n');
    let labels: [&str; 10] = if en {
        [
            "Recipient",
            "Number",
            "FAXID",
            "Status",
            "Pages sent",
            "Duration",
            "Rate",
            "Remote station",
            "Attempts",
            "Reason",
        ]
    } else {
        [
            "收件人",
            "号码",
            "传真号(FAXID)",
            "状态",
            "已发页数",
            "通话时长",
            "速率",
            "对方标识",
            "尝试次数",
            "失败原因",
        ]
    };
    for (index, recipient) in result.recipients.iter().enumerate() {
        let names: Vec<&str> = [recipient.name1.as_deref(), recipient.name2.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let dash = "-".to_owned();
        let values = [
            if names.is_empty() {
                dash.clone()
            } else {
                names.join(" / ")
            },
            recipient.number.clone().unwrap_or_else(|| dash.clone()),
            recipient.fax_id.clone().unwrap_or_else(|| dash.clone()),
            recipient.status.word(language).to_owned(),
            format!("{} / {}", recipient.pages_sent, recipient.pages_total),
            duration_words(recipient.duration_seconds, language),
            recipient
                .bit_rate
                .map_or_else(|| dash.clone(), |rate| format!("{rate} bit/s")),
            recipient
                .remote_station_id
                .clone()
                .unwrap_or_else(|| dash.clone()),
            recipient.attempts.to_string(),
            recipient.reason.clone().unwrap_or_else(|| dash.clone()),
        ];
        let _ = writeln!(text, "{}.", index + 1);
        for (label, value) in labels.iter().zip(values.iter()) {
            if label == &labels[9] && recipient.reason.is_none() {
                continue;
            }
            let _ = writeln!(text, "   {label}: {value}");
        }
        text.push('\n');
    }
    text.push_str(if en {
        "This is an automatic message from the fax gateway.\n"
    } else {
        "此邮件由传真网关自动发送。\n"
    });
    text
}

/// The receipt for a request whose every recipient has a final result. `pages_pdf`:
/// the sent pages as one PDF, attached only when the caller gives them (configured;
/// off by default).
pub fn result_receipt(
    result: &RequestResult,
    headers: &ReceiptHeaders,
    pages_pdf: Option<&[u8]>,
) -> Vec<u8> {
    let language = result.request.language;
    let subject = match language {
        Language::En => format!("Fax receipt: {}", result.request.subject),
        Language::Zh => format!("传真回执：{}", result.request.subject),
    };
    let text = result_text(result);
    let json = serde_json::to_string_pretty(&ResultJson {
        faxgate_receipt: 1,
        kind: "result",
        request: RequestJson::from(&result.request),
        summary: summary(&result.recipients),
        recipients: &result.recipients,
    })
    .unwrap_or_default();
    let mut parts = vec![
        Part {
            content_type: "text/plain; charset=utf-8",
            file_name: None,
            language: Some(language),
            data: text.as_bytes(),
        },
        Part {
            content_type: "application/json",
            file_name: Some("receipt.json"),
            language: None,
            data: json.as_bytes(),
        },
    ];
    if let Some(pdf) = pages_pdf {
        parts.push(Part {
            content_type: "application/pdf",
            file_name: Some("fax.pdf"),
            language: None,
            data: pdf,
        });
    }
    assemble(headers, &result.request, &subject, "result", &parts)
}

/// What the sender must change, in `language`, and the same in English for the JSON
/// part. `None` for verdicts that get no receipt.
fn problem_text(request: &MailRequest, language: Language) -> Option<String> {
    let problem = request.problem.as_ref()?;
    let en = language == Language::En;
    let example = "755-83235170/Company|Person; 86-10-12345678";
    let unconvertible: Vec<&NotFaxed> = request
        .not_faxed
        .iter()
        .filter(|part| part.reason.is_unconvertible())
        .collect();
    let list = |parts: &[&NotFaxed]| {
        parts
            .iter()
            .map(|part| {
                let why = match (part.reason, en) {
                    (crate::SkipReason::Tnef, false) => "Outlook 的 winmail.dat 封装无法打开：请将 Outlook 设为以 HTML 或纯文本格式发送，然后重新附加文件".to_owned(),
                    (_, false) => "此类文件无法转换为传真".to_owned(),
                    (reason, true) => reason.describe().to_owned(),
                };
                format!("  - {} ({}): {why}\n", part.part, part.content_type)
            })
            .collect::<String>()
    };
    let text = match problem {
        Problem::BadSubject(error) => {
            if en {
                format!(
                    "The fax was not sent: the subject does not name the recipients correctly.\n\n\
                     Problem: {error}\n\n\
                     Write each recipient's fax number in the subject, separated by \";\", \
                     optionally followed by \"/\" and the names, for example:\n\n    {example}\n"
                )
            } else {
                format!(
                    "传真未发送：邮件主题中的收件人写法有误。\n\n\
                     问题（英文说明）：{error}\n\n\
                     请在主题中写收件人的传真号码，多个收件人用“;”分隔，号码后可加“/”和名称，例如：\n\n    {example}\n"
                )
            }
        }
        Problem::NoAttachment => {
            if en {
                "The fax was not sent: the mail has no attachment. The message text itself is \
                 not faxed: attach the document to fax (PDF, image, office or text file) and send again.\n"
                    .to_owned()
            } else {
                "传真未发送：邮件没有附件。邮件正文不会被传真，请附上要传真的文件（PDF、图片、Office 文档或文本文件）后重新发送。\n"
                    .to_owned()
            }
        }
        Problem::Unconvertible => {
            let names = list(&unconvertible);
            let supported = fax_render::sniff::SUPPORTED;
            if en {
                format!(
                    "The fax was not sent: these attachments cannot be converted to a fax:\n\n{names}\n\
                     Supported types: {supported}.\nSave them in one of these formats and send again.\n"
                )
            } else {
                format!(
                    "传真未发送：以下附件无法转换为传真：\n\n{names}\n\
                     支持的类型：纯文本、PDF、PNG、JPEG、GIF、BMP、TIFF、PBM 以及 Office 文件（.doc .docx .xls .xlsx .ppt .pptx .odt .ods .odp .rtf .wri .wps .et）。\n\
                     请另存为以上格式之一后重新发送。\n"
                )
            }
        }
        Problem::TooLarge { size, max } => {
            let (size_mb, max_mb) = (*size as f64 / 1048576.0, *max as f64 / 1048576.0);
            if en {
                format!(
                    "The fax was not sent: the mail is {size_mb:.1} MB, and at most {max_mb:.1} MB is accepted. \
                     Send fewer or smaller attachments (for example scan in black and white at a lower \
                     resolution), or split them over several mails.\n"
                )
            } else {
                format!(
                    "传真未发送：邮件大小为 {size_mb:.1} MB，超过上限 {max_mb:.1} MB。请减少或压缩附件\
                     （例如以黑白、较低分辨率扫描），或分成多封邮件发送。\n"
                )
            }
        }
        Problem::TooManyRecipients { max } => {
            if en {
                format!(
                    "The fax was not sent: one mail may name at most {max} recipients. Split the \
                     recipients over several mails.\n"
                )
            } else {
                format!(
                    "传真未发送：一封邮件最多可写 {max} 个收件人，请将收件人分成多封邮件发送。\n"
                )
            }
        }
        Problem::Ignored(_) | Problem::Unauthorized(_) => return None,
    };
    let mut text = text;
    text.push_str(if en {
        "\nThis is an automatic message from the fax gateway.\n"
    } else {
        "\n此邮件由传真网关自动发送。\n"
    });
    Some(text)
}

#[derive(Serialize)]
struct ProblemJson<'a> {
    faxgate_receipt: u32,
    kind: &'static str,
    request: RequestJson<'a>,
    verdict: Verdict,
    message: String,
    documents: Vec<&'a str>,
    not_faxed: &'a [NotFaxed],
}

/// The receipt for a request the sender can fix, or `None` when the verdict gets no
/// receipt (accepted, unauthorized, ignored). The explanation says exactly what to
/// change, in the request's language.
pub fn problem_receipt(request: &MailRequest, headers: &ReceiptHeaders) -> Option<Vec<u8>> {
    if !request.verdict.answers_sender() || request.verdict == Verdict::Accepted {
        return None;
    }
    let language = request.language;
    let text = problem_text(request, language)?;
    let english = problem_text(request, Language::En)?;
    let info = RequestInfo::from_request(request);
    let json = serde_json::to_string_pretty(&ProblemJson {
        faxgate_receipt: 1,
        kind: "problem",
        request: RequestJson::from(&info),
        verdict: request.verdict,
        message: english.trim_end().to_owned(),
        documents: request.documents.iter().map(|d| d.name.as_str()).collect(),
        not_faxed: &request.not_faxed,
    })
    .ok()?;
    let subject = match language {
        Language::En => format!("Fax not sent: {}", request.subject),
        Language::Zh => format!("传真未发送：{}", request.subject),
    };
    let parts = [
        Part {
            content_type: "text/plain; charset=utf-8",
            file_name: None,
            language: Some(language),
            data: text.as_bytes(),
        },
        Part {
            content_type: "application/json",
            file_name: Some("receipt.json"),
            language: None,
            data: json.as_bytes(),
        },
    ];
    Some(assemble(headers, &info, &subject, "problem", &parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_stay_short_and_whole() {
        let subject = "传真回执：".repeat(20);
        let encoded = encode_words(&subject);
        for line in encoded.split("\r\n") {
            assert!(line.trim().len() <= 75, "{line}");
        }
        assert_eq!(
            crate::decode::decode_header_text(encoded.as_bytes()),
            subject
        );
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(display_width("755-83235170"), 12);
        assert_eq!(display_width("张经理"), 6);
        assert_eq!(display_width("ＡＢ"), 4);
    }

    #[test]
    fn header_values_cannot_add_headers() {
        assert_eq!(
            header_safe("a\r\nBcc: x@example.com"),
            "aBcc: x@example.com"
        );
    }
}
