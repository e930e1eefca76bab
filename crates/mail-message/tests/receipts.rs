//! Receipts, read back the way a mail client reads them (mail-parser).

use fax_address::AddressSettings;
use mail_message::receipt::{
    FaxStatus, ReceiptHeaders, RecipientResult, RequestInfo, RequestResult, problem_receipt,
    result_receipt,
};
use mail_message::{
    Envelope, Intake, IntakeConfig, Language, LoopReason, NoUsers, Problem, RECEIPT_HEADER,
    SenderAccount, SenderDirectory, Verdict,
};
use mail_parser::{MessageParser, MimeHeaders};

fn headers() -> ReceiptHeaders {
    ReceiptHeaders {
        from: "Fax Gateway <fax@example.com>".to_owned(),
        to: "lisi@example.com".to_owned(),
        message_id: "receipt-1@fax.example.com".to_owned(),
        date: "Sat, 28 Nov 2026 10:00:00 +0800".to_owned(),
    }
}

fn result(language: Language) -> RequestResult {
    RequestResult {
        request: RequestInfo {
            subject: "755-83235170/深圳市某某公司|张经理;021-87654321".to_owned(),
            sender: "lisi@example.com".to_owned(),
            message_id: Some("orig-1@client.example.com".to_owned()),
            language,
        },
        recipients: vec![
            RecipientResult {
                name1: Some("深圳市某某公司".to_owned()),
                name2: Some("张经理".to_owned()),
                number: Some("755-83235170".to_owned()),
                fax_id: Some("AF90000098".to_owned()),
                status: FaxStatus::Sent,
                pages_sent: 3,
                pages_total: 3,
                duration_seconds: 95,
                bit_rate: Some(14400),
                remote_station_id: Some("+86 755 8323 5170".to_owned()),
                attempts: 1,
                reason: None,
            },
            RecipientResult {
                name1: None,
                name2: None,
                number: Some("021-87654321".to_owned()),
                fax_id: None,
                status: FaxStatus::Failed,
                pages_sent: 1,
                pages_total: 3,
                duration_seconds: 40,
                bit_rate: Some(9600),
                remote_station_id: None,
                attempts: 3,
                reason: Some("the line was busy on every attempt".to_owned()),
            },
        ],
    }
}

#[test]
fn result_receipt_reads_back_with_both_parts_in_chinese() {
    let bytes = result_receipt(&result(Language::Zh), &headers(), None);
    let message = MessageParser::default().parse(&bytes).expect("parses");
    assert_eq!(
        message.subject(),
        Some("传真回执：755-83235170/深圳市某某公司|张经理;021-87654321")
    );
    assert_eq!(
        message.in_reply_to().as_text(),
        Some("orig-1@client.example.com")
    );
    assert_eq!(
        message.references().as_text(),
        Some("orig-1@client.example.com")
    );
    assert_eq!(
        message.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert!(message.header_raw(RECEIPT_HEADER).is_some());
    let text = message.body_text(0).expect("text part");
    assert!(text.contains("张经理"), "{text}");
    assert!(text.contains("1分35秒"), "{text}");
    assert!(text.contains("14400 bit/s"), "{text}");
    assert!(text.contains("the line was busy"), "{text}");
    assert!(text.contains("1 / 3"), "{text}");
    let json_part = message
        .attachments()
        .find(|p| p.attachment_name() == Some("receipt.json"))
        .expect("json part");
    assert!(json_part.is_content_type("application", "json"));
    let json: serde_json::Value = serde_json::from_slice(json_part.contents()).expect("json");
    assert_eq!(json["faxgate_receipt"], 1);
    assert_eq!(json["summary"], "partly-sent");
    assert_eq!(json["recipients"][0]["fax_id"], "AF90000098");
    assert_eq!(json["recipients"][0]["pages_sent"], 3);
    assert_eq!(json["recipients"][1]["status"], "failed");
    assert_eq!(json["recipients"][1]["attempts"], 3);
    assert_eq!(
        json["recipients"][1]["remote_station_id"],
        serde_json::Value::Null
    );
    assert_eq!(message.attachment_count(), 1);
}

#[test]
fn result_receipt_in_english_with_the_pages_attached() {
    let pdf = b"%PDF-1.4 pages";
    let bytes = result_receipt(&result(Language::En), &headers(), Some(pdf));
    let message = MessageParser::default().parse(&bytes).expect("parses");
    assert!(
        message
            .subject()
            .is_some_and(|s| s.starts_with("Fax receipt: "))
    );
    let text = message.body_text(0).expect("text part");
    assert!(text.contains("sent to 1 of 2 recipients"), "{text}");
    assert!(text.contains("1 min 35 s"), "{text}");
    // The summary table, columns lined up (the names are two columns per character).
    assert!(
        text.contains("#  Number        Recipient                Status  Pages"),
        "{text}"
    );
    assert!(
        text.contains("1  755-83235170  深圳市某某公司 / 张经理  sent    3/3"),
        "{text}"
    );
    assert!(
        text.contains("2  021-87654321  -                        failed  1/3"),
        "{text}"
    );
    let pdf_part = message
        .attachments()
        .find(|p| p.attachment_name() == Some("fax.pdf"))
        .expect("pdf part");
    assert_eq!(pdf_part.contents(), pdf);
}

/// One user, allowed to fax, who reads English.
struct English;

impl SenderDirectory for English {
    fn find(&self, address: &str) -> Option<SenderAccount> {
        (address == "wangwu@example.com").then_some(SenderAccount {
            email_to_fax: true,
            max_kind: fax_address::Kind::National,
            language: Some(Language::En),
            has_pin: false,
        })
    }
    fn pin_matches(&self, _: &str, _: &str) -> bool {
        false
    }
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/messages/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("corpus")
}

#[test]
fn problem_receipt_for_a_bad_subject_names_the_error_and_an_example() {
    let intake = Intake::new(IntakeConfig::default(), AddressSettings::default()).expect("valid");
    let request = intake.examine(&corpus("bad_subject.eml"), &Envelope::default(), &English);
    assert_eq!(request.verdict, Verdict::BadSubject);
    let bytes = problem_receipt(&request, &headers()).expect("a receipt");
    let message = MessageParser::default().parse(&bytes).expect("parses");
    assert_eq!(message.subject(), Some("Fax not sent: Quote for you"));
    let text = message.body_text(0).expect("text");
    assert!(text.contains("755-83235170/Company"), "{text}");
    let json_part = message.attachments().next().expect("json");
    let json: serde_json::Value = serde_json::from_slice(json_part.contents()).expect("json");
    assert_eq!(json["verdict"], "bad-subject");
    assert_eq!(json["kind"], "problem");
}

#[test]
fn problem_receipt_for_an_unsupported_attachment_lists_supported_types_in_chinese() {
    let intake = Intake::new(IntakeConfig::default(), AddressSettings::default()).expect("valid");
    let mut request = intake.examine(
        &corpus("unsupported_attachment.eml"),
        &Envelope::default(),
        &English,
    );
    assert_eq!(request.verdict, Verdict::Unconvertible);
    request.language = Language::Zh;
    let bytes = problem_receipt(&request, &headers()).expect("a receipt");
    let message = MessageParser::default().parse(&bytes).expect("parses");
    let text = message.body_text(0).expect("text");
    assert!(text.contains("photos.zip"), "{text}");
    assert!(text.contains("支持的类型"), "{text}");
    assert!(text.contains("PDF"), "{text}");
}

#[test]
fn no_receipt_for_unauthorized_or_ignored_mail() {
    let intake = Intake::new(IntakeConfig::default(), AddressSettings::default()).expect("valid");
    let request = intake.examine(&corpus("bad_subject.eml"), &Envelope::default(), &NoUsers);
    assert_eq!(request.verdict, Verdict::Unauthorized);
    assert!(problem_receipt(&request, &headers()).is_none());
    let request = intake.examine(&corpus("bounce.eml"), &Envelope::default(), &English);
    assert!(problem_receipt(&request, &headers()).is_none());
}

#[test]
fn own_receipt_sent_back_is_ignored() {
    let intake = Intake::new(IntakeConfig::default(), AddressSettings::default()).expect("valid");
    let mut bytes = b"Return-Path: <wangwu@example.com>\r\n".to_vec();
    bytes.extend(result_receipt(&result(Language::En), &headers(), None));
    let text = String::from_utf8_lossy(&bytes)
        .replace(
            "From: Fax Gateway <fax@example.com>",
            "From: wangwu@example.com",
        )
        .replace("Auto-Submitted: auto-replied\r\n", "");
    let request = intake.examine(text.as_bytes(), &Envelope::default(), &English);
    assert_eq!(
        request.problem,
        Some(Problem::Ignored(LoopReason::OwnReceipt))
    );
}
