//! How the mail-message fuzz target reads its input, and what it checks.
//!
//! Shared by the cargo-fuzz target and by the replay test in `crates/mail-message/tests`
//! (which includes this file by path). Depends on `mail_message`, `mail_parser`,
//! `fax_address` and `std` only.

use fax_address::{AddressSettings, Kind};
use mail_message::receipt::{ReceiptHeaders, problem_receipt};
use mail_message::{
    Envelope, Intake, IntakeConfig, OnUnconvertible, RECEIPT_HEADER, SenderAccount,
    SenderDirectory, Verdict,
};

/// Every sender is a user allowed to fax anywhere, with PIN 1234, so the input reaches
/// every stage of the intake.
struct Everyone;

impl SenderDirectory for Everyone {
    fn find(&self, _address: &str) -> Option<SenderAccount> {
        Some(SenderAccount {
            email_to_fax: true,
            max_kind: Kind::International,
            language: None,
            has_pin: true,
        })
    }
    fn pin_matches(&self, _address: &str, pin: &str) -> bool {
        pin == "1234"
    }
}

/// The intake settings the first input byte chooses: bit 0 a fax domain
/// (`fax.example.com`), bit 1 PIN required, bit 2 fax the convertible rest, bit 3 a
/// 4 KiB message limit.
pub fn intake_from(selector: u8) -> Intake {
    let mut config = IntakeConfig::default();
    if selector & 0x01 != 0 {
        config.fax_domain = Some("fax.example.com".into());
    }
    config.require_pin = selector & 0x02 != 0;
    if selector & 0x04 != 0 {
        config.on_unconvertible = OnUnconvertible::FaxRest;
    }
    if selector & 0x08 != 0 {
        config.max_message_bytes = 4096;
    }
    let Ok(intake) = Intake::new(config, AddressSettings::default()) else {
        panic!("fuzz settings {selector} are invalid");
    };
    intake
}

/// `mail_parse` input: one byte choosing the settings ([`intake_from`]), then a raw
/// message.
///
/// Checks: no panic; an accepted request has recipients and documents, document names
/// are non-empty and unique (ignoring case) and no document is empty; a request the
/// sender can fix gets a receipt, others none; every receipt parses back as a mail with
/// the receipt header, so the intake would never answer it.
pub fn check_mail_parse(input: &[u8]) {
    let Some((&selector, message)) = input.split_first() else {
        return;
    };
    let intake = intake_from(selector);
    let envelope = Envelope {
        mail_from: None,
        rcpt_to: Vec::new(),
    };
    let request = intake.examine(message, &envelope, &Everyone);
    if request.verdict == Verdict::Accepted {
        assert!(
            !request.recipients.is_empty(),
            "accepted without recipients"
        );
        assert!(!request.documents.is_empty(), "accepted without documents");
    }
    let mut names = std::collections::HashSet::new();
    for document in &request.documents {
        assert!(!document.name.is_empty(), "a document without a name");
        assert!(!document.data.is_empty(), "an empty document");
        assert!(
            names.insert(document.name.to_lowercase()),
            "two documents named {:?}",
            document.name
        );
    }
    let headers = ReceiptHeaders {
        from: "Fax Gateway <fax@example.com>".into(),
        to: request.sender.clone().unwrap_or_default(),
        message_id: "receipt@fax.example.com".into(),
        date: "Sat, 28 Nov 2026 10:00:00 +0800".into(),
    };
    let receipt = problem_receipt(&request, &headers);
    let answers = request.verdict.answers_sender() && request.verdict != Verdict::Accepted;
    assert_eq!(
        receipt.is_some(),
        answers,
        "receipt for {:?}",
        request.verdict
    );
    if let Some(receipt) = receipt {
        let Some(parsed) = mail_parser::MessageParser::default().parse(&receipt) else {
            panic!("a receipt that does not parse");
        };
        assert!(
            parsed.header_raw(RECEIPT_HEADER).is_some(),
            "receipt header lost"
        );
        let back = intake.examine(&receipt, &envelope, &Everyone);
        assert_eq!(
            back.verdict,
            Verdict::Ignored,
            "a receipt would be answered"
        );
    }
}
