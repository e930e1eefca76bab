//! Mail that must never be answered: bounces, automatic replies, mailing lists and the
//! gateway's own receipts. Answering any of them can start a mail loop between two
//! robots, so such mail is dropped without a word.

use mail_parser::Message;
use serde::Serialize;

/// The header every receipt of this gateway carries; mail with it is never answered.
pub const RECEIPT_HEADER: &str = "X-Faxgate-Receipt";

/// Why a message is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LoopReason {
    /// A non-delivery report: empty Return-Path or envelope sender, MAILER-DAEMON, or a
    /// `multipart/report`.
    Bounce,
    /// An automatic reply (Auto-Submitted other than `no`, X-Autoreply, X-Autorespond).
    AutoReply,
    /// Bulk or list mail (Precedence bulk, junk or list; List-Id).
    Bulk,
    /// One of this gateway's own receipts.
    OwnReceipt,
}

impl LoopReason {
    /// The reason as a stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            LoopReason::Bounce => "bounce",
            LoopReason::AutoReply => "auto-reply",
            LoopReason::Bulk => "bulk",
            LoopReason::OwnReceipt => "own-receipt",
        }
    }
}

/// The raw value of the first header `name` of the top-level message, unfolded and
/// trimmed.
pub(crate) fn header_value(message: &Message<'_>, name: &str) -> Option<String> {
    header_values(message, name).into_iter().next()
}

/// Every raw value of header `name` of the top-level message, in order.
pub(crate) fn header_values(message: &Message<'_>, name: &str) -> Vec<String> {
    let Some(root) = message.parts.first() else {
        return Vec::new();
    };
    root.headers
        .iter()
        .filter(|header| header.name().eq_ignore_ascii_case(name))
        .filter_map(|header| {
            let start = usize::try_from(header.offset_start()).ok()?;
            let end = usize::try_from(header.offset_end()).ok()?;
            let raw = message.raw_message.get(start..end)?;
            let text = String::from_utf8_lossy(raw).replace(['\r', '\n'], "");
            Some(text.trim().to_owned())
        })
        .collect()
}

/// Why `message` must not be answered, if it must not. `envelope_sender` is the SMTP
/// `MAIL FROM` when known (`Some("")` for the null sender of bounces).
pub(crate) fn loop_reason(
    message: &Message<'_>,
    envelope_sender: Option<&str>,
    from_address: Option<&str>,
    saw_report: bool,
) -> Option<LoopReason> {
    if header_value(message, RECEIPT_HEADER).is_some() {
        return Some(LoopReason::OwnReceipt);
    }
    let null_sender = |value: &str| {
        let inner = value
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        inner.is_empty()
    };
    if envelope_sender.is_some_and(null_sender)
        || header_value(message, "Return-Path").is_some_and(|v| null_sender(&v))
    {
        return Some(LoopReason::Bounce);
    }
    if from_address.is_some_and(|address| {
        let local = address.split('@').next().unwrap_or_default();
        local.eq_ignore_ascii_case("mailer-daemon")
    }) {
        return Some(LoopReason::Bounce);
    }
    if saw_report {
        return Some(LoopReason::Bounce);
    }
    if let Some(value) = header_value(message, "Auto-Submitted") {
        let keyword = value.split(';').next().unwrap_or_default().trim();
        if !keyword.eq_ignore_ascii_case("no") {
            return Some(LoopReason::AutoReply);
        }
    }
    if header_value(message, "X-Autoreply").is_some()
        || header_value(message, "X-Autorespond").is_some()
    {
        return Some(LoopReason::AutoReply);
    }
    if let Some(value) = header_value(message, "Precedence") {
        let value = value.to_ascii_lowercase();
        if matches!(value.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some(LoopReason::Bulk);
        }
    }
    if header_value(message, "List-Id").is_some() {
        return Some(LoopReason::Bulk);
    }
    None
}
