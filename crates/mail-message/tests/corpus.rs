//! The message corpus (`tests/messages/`): mail in the shapes real clients write it,
//! each test named for what it pins.

use fax_address::{AddressSettings, Kind};
use mail_message::{
    Envelope, Intake, IntakeConfig, Language, LoopReason, MailRequest, OnUnconvertible, Problem,
    SenderAccount, SenderDirectory, SkipReason, Unauthorized, Verdict,
};

/// Two users: wangwu@example.com (PIN 4711) and every other corpus sender, all allowed
/// to fax by mail; nobody@example.com exists without the permission.
struct Users;

impl SenderDirectory for Users {
    fn find(&self, address: &str) -> Option<SenderAccount> {
        let known = [
            "lisi@example.com",
            "wangwu@example.com",
            "zhaoliu@example.com",
            "chenqi@example.com",
            "liuba@example.com",
            "zhoujiu@example.com",
            "wushi@gmail.example",
            "12345678@qq.example",
            "zhengshiyi@example.com",
        ];
        if address == "nobody@example.com" {
            return Some(SenderAccount {
                email_to_fax: false,
                max_kind: Kind::National,
                language: None,
                has_pin: false,
            });
        }
        known.contains(&address).then(|| SenderAccount {
            email_to_fax: true,
            max_kind: Kind::International,
            language: None,
            has_pin: address == "wangwu@example.com",
        })
    }

    fn pin_matches(&self, address: &str, pin: &str) -> bool {
        address == "wangwu@example.com" && pin == "4711"
    }
}

fn message(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/messages/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn intake_with(config: IntakeConfig) -> Intake {
    Intake::new(config, AddressSettings::default()).expect("valid settings")
}

fn examine(name: &str) -> MailRequest {
    intake_with(IntakeConfig::default()).examine(&message(name), &Envelope::default(), &Users)
}

fn document_names(request: &MailRequest) -> Vec<&str> {
    request.documents.iter().map(|d| d.name.as_str()).collect()
}

fn skipped(request: &MailRequest) -> Vec<(&str, SkipReason)> {
    request
        .not_faxed
        .iter()
        .map(|p| (p.part.as_str(), p.reason))
        .collect()
}

#[test]
fn gbk_subject_with_folded_encoded_words() {
    let request = examine("outlook_gb2312_split_subject.eml");
    assert_eq!(request.subject, "755-83235170/深圳市某某公司|张经理");
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(request.sender.as_deref(), Some("lisi@example.com"));
    let recipient = &request.recipients[0];
    assert_eq!(
        recipient.name1().map(|n| n.as_str()),
        Some("深圳市某某公司")
    );
    assert_eq!(recipient.name2().map(|n| n.as_str()), Some("张经理"));
    assert_eq!(request.language, Language::Zh);
}

#[test]
fn gb2312_file_name_split_mid_character() {
    let request = examine("outlook_gb2312_split_subject.eml");
    assert_eq!(document_names(&request), ["报价单2026.pdf"]);
    assert_eq!(request.documents[0].content_type, "application/pdf");
    assert!(request.documents[0].data.starts_with(b"%PDF-1.4"));
}

#[test]
fn winmail_dat_attachment_is_faxed_under_its_long_name() {
    let request = examine("outlook_winmail_dat.eml");
    assert_eq!(
        request.verdict,
        Verdict::Accepted,
        "{:?}",
        request.not_faxed
    );
    assert_eq!(document_names(&request), ["第三季度报告.pdf"]);
    assert!(request.documents[0].data.starts_with(b"%PDF-1.4"));
}

#[test]
fn damaged_winmail_dat_is_unconvertible_with_advice() {
    let request = examine("outlook_winmail_dat_damaged.eml");
    assert_eq!(request.verdict, Verdict::Unconvertible);
    assert!(skipped(&request).contains(&("winmail.dat", SkipReason::Tnef)));
}

#[test]
fn foxmail_gbk_subject_with_two_recipients_and_office_file() {
    let request = examine("foxmail_gbk.eml");
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(
        request.subject,
        "86-10-12345678/北京办事处;755-83235170|AF90000098"
    );
    assert_eq!(request.recipients.len(), 2);
    assert_eq!(document_names(&request), ["合同.docx"]);
}

#[test]
fn gb18030_four_byte_character_in_subject() {
    let request = examine("foxmail_gb18030.eml");
    assert_eq!(request.subject, "755-83235170/㐀记商行");
    assert_eq!(request.verdict, Verdict::Accepted);
}

#[test]
fn rfc2231_continued_file_name() {
    let request = examine("thunderbird_utf8_rfc2231.eml");
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(request.subject, "755-83235170/深圳分公司");
    assert_eq!(document_names(&request), ["年度报告第一部分.pdf"]);
    // Content-Language: en-US wins over the Chinese in the subject.
    assert_eq!(request.language, Language::En);
}

#[test]
fn apple_mail_inline_pdf_and_image_are_documents() {
    let request = examine("apple_mail_inline_pdf.eml");
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(document_names(&request), ["Quote.pdf", "Photo.png"]);
    let bodies = skipped(&request)
        .iter()
        .filter(|(_, reason)| *reason == SkipReason::Body)
        .count();
    assert_eq!(bodies, 3, "{:?}", request.not_faxed);
}

#[test]
fn signature_logo_referenced_by_cid_is_not_faxed() {
    let request = examine("signature_logo_cid.eml");
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(document_names(&request), ["order.pdf"]);
    assert!(skipped(&request).contains(&("logo.png", SkipReason::BodyImage)));
}

#[test]
fn gmail_alternative_inside_mixed() {
    let request = examine("webmail_gmail_alternative_in_mixed.eml");
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(document_names(&request), ["page1.pdf", "page2.png"]);
    assert_eq!(request.recipients.len(), 2);
}

#[test]
fn big5_subject_and_gbk_file_name_from_qq_mail() {
    let request = examine("webmail_qqmail_big5.eml");
    assert_eq!(request.subject, "755-83235170/臺灣分公司");
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(document_names(&request), ["说明.txt"]);
}

#[test]
fn forwarded_message_attachment_is_a_document() {
    let request = examine("forwarded_rfc822.eml");
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(document_names(&request), ["contract.pdf"]);
    let bodies = skipped(&request)
        .iter()
        .filter(|(_, reason)| *reason == SkipReason::Body)
        .count();
    assert_eq!(bodies, 2);
}

#[test]
fn two_attachments_with_the_same_name_never_collide() {
    let request = examine("same_name_twice.eml");
    assert_eq!(document_names(&request), ["scan.pdf", "scan (2).pdf"]);
    assert_ne!(request.documents[0].data, request.documents[1].data);
}

#[test]
fn bounce_is_ignored() {
    let request = examine("bounce.eml");
    assert_eq!(request.verdict, Verdict::Ignored);
    assert_eq!(request.problem, Some(Problem::Ignored(LoopReason::Bounce)));
}

#[test]
fn auto_reply_from_a_user_is_ignored() {
    let request = examine("auto_reply.eml");
    assert_eq!(request.verdict, Verdict::Ignored);
    assert_eq!(
        request.problem,
        Some(Problem::Ignored(LoopReason::AutoReply))
    );
}

#[test]
fn null_envelope_sender_is_a_bounce() {
    let envelope = Envelope {
        mail_from: Some(String::new()),
        rcpt_to: Vec::new(),
    };
    let request = intake_with(IntakeConfig::default()).examine(
        &message("foxmail_gb18030.eml"),
        &envelope,
        &Users,
    );
    assert_eq!(request.problem, Some(Problem::Ignored(LoopReason::Bounce)));
}

#[test]
fn no_attachment_means_the_body_is_not_faxed() {
    let request = examine("no_attachment.eml");
    assert_eq!(request.verdict, Verdict::NoAttachment);
    assert!(request.verdict.answers_sender());
}

#[test]
fn bad_subject_carries_the_parser_error() {
    let request = examine("bad_subject.eml");
    assert_eq!(request.verdict, Verdict::BadSubject);
    assert!(matches!(request.problem, Some(Problem::BadSubject(_))));
}

#[test]
fn unsupported_attachment_refuses_by_default() {
    let request = examine("unsupported_attachment.eml");
    assert_eq!(request.verdict, Verdict::Unconvertible);
    assert!(skipped(&request).contains(&("photos.zip", SkipReason::Unsupported)));
}

#[test]
fn unsupported_attachment_with_fax_rest_sends_the_others() {
    let mut config = IntakeConfig::default();
    config.on_unconvertible = OnUnconvertible::FaxRest;
    let request = intake_with(config).examine(
        &message("unsupported_attachment.eml"),
        &Envelope::default(),
        &Users,
    );
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(document_names(&request), ["a.pdf"]);
}

#[test]
fn unknown_sender_is_unauthorized() {
    let mut raw = message("no_attachment.eml");
    let text = String::from_utf8_lossy(&raw).replace("wangwu@example.com", "stranger@example.org");
    raw = text.into_bytes();
    let request = intake_with(IntakeConfig::default()).examine(&raw, &Envelope::default(), &Users);
    assert_eq!(request.verdict, Verdict::Unauthorized);
    assert!(!request.verdict.answers_sender());
}

#[test]
fn sender_match_ignores_case_and_display_name() {
    let raw = String::from_utf8_lossy(&message("foxmail_gb18030.eml"))
        .replace(
            "From: zhaoliu@example.com",
            "From: \"Someone Else\" <ZhaoLiu@EXAMPLE.com>",
        )
        .into_bytes();
    let request = intake_with(IntakeConfig::default()).examine(&raw, &Envelope::default(), &Users);
    assert_eq!(request.sender.as_deref(), Some("zhaoliu@example.com"));
    assert_eq!(request.verdict, Verdict::Accepted);
}

#[test]
fn user_without_permission_is_unauthorized() {
    let raw = String::from_utf8_lossy(&message("foxmail_gb18030.eml"))
        .replace("From: zhaoliu@example.com", "From: nobody@example.com")
        .into_bytes();
    let request = intake_with(IntakeConfig::default()).examine(&raw, &Envelope::default(), &Users);
    assert_eq!(
        request.problem,
        Some(Problem::Unauthorized(Unauthorized::NoPermission))
    );
}

#[test]
fn pin_is_stripped_before_the_recipients_are_read() {
    let mut config = IntakeConfig::default();
    config.require_pin = true;
    let intake = intake_with(config);
    let request = intake.examine(&message("pin_subject.eml"), &Envelope::default(), &Users);
    assert_eq!(request.verdict, Verdict::Accepted);
    assert_eq!(request.subject, "755-83235170");
    let wrong = String::from_utf8_lossy(&message("pin_subject.eml"))
        .replace("PIN=4711", "PIN=1234")
        .into_bytes();
    let request = intake.examine(&wrong, &Envelope::default(), &Users);
    assert_eq!(
        request.problem,
        Some(Problem::Unauthorized(Unauthorized::Pin))
    );
    // Required, but the sender has none: refused.
    let request = intake.examine(
        &message("foxmail_gb18030.eml"),
        &Envelope::default(),
        &Users,
    );
    assert_eq!(
        request.problem,
        Some(Problem::Unauthorized(Unauthorized::Pin))
    );
}

#[test]
fn rfc3192_and_number_addresses_in_the_fax_domain() {
    let mut config = IntakeConfig::default();
    config.fax_domain = Some("fax.example.com".to_owned());
    let request = intake_with(config).examine(
        &message("rfc3192_fax_address.eml"),
        &Envelope::default(),
        &Users,
    );
    assert_eq!(request.verdict, Verdict::Accepted, "{:?}", request.problem);
    let numbers: Vec<_> = request.recipients.iter().map(|r| r.e164()).collect();
    assert_eq!(numbers, [Some("+8675583235170"), None]);
    assert_eq!(request.recipients[1].kind(), Kind::Internal);
    assert_eq!(
        request.envelope_recipients[0].subaddress.as_deref(),
        Some("6789")
    );
}

#[test]
fn smtp_envelope_recipients_take_precedence_over_headers() {
    let mut config = IntakeConfig::default();
    config.fax_domain = Some("fax.example.com".to_owned());
    let envelope = Envelope {
        mail_from: Some("wangwu@example.com".to_owned()),
        rcpt_to: vec!["021-87654321@fax.example.com".to_owned()],
    };
    let request =
        intake_with(config).examine(&message("rfc3192_fax_address.eml"), &envelope, &Users);
    assert_eq!(request.recipients.len(), 1);
    assert_eq!(request.recipients[0].e164(), Some("+862187654321"));
}

#[test]
fn too_large_is_refused_with_the_sizes() {
    let mut config = IntakeConfig::default();
    config.max_message_bytes = 100;
    let request = intake_with(config).examine(
        &message("foxmail_gb18030.eml"),
        &Envelope::default(),
        &Users,
    );
    assert_eq!(request.verdict, Verdict::TooLarge);
}

#[test]
fn too_many_recipients_is_its_own_verdict() {
    let mut config = IntakeConfig::default();
    config.max_recipients = Some(1);
    let request = intake_with(config).examine(
        &message("webmail_gmail_alternative_in_mixed.eml"),
        &Envelope::default(),
        &Users,
    );
    assert_eq!(request.verdict, Verdict::TooManyRecipients);
    assert_eq!(request.problem, Some(Problem::TooManyRecipients { max: 1 }));
}

#[test]
fn trusted_authentication_results_are_required_when_configured() {
    let mut config = IntakeConfig::default();
    config.require_auth = mail_message::RequireAuth::Dmarc;
    config.trusted_authserv_ids = vec!["mx.example.com".to_owned()];
    let intake = intake_with(config);
    let plain = message("foxmail_gb18030.eml");
    let request = intake.examine(&plain, &Envelope::default(), &Users);
    assert_eq!(
        request.problem,
        Some(Problem::Unauthorized(Unauthorized::Authentication))
    );
    let mut signed =
        b"Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n".to_vec();
    signed.extend_from_slice(&plain);
    let request = intake.examine(&signed, &Envelope::default(), &Users);
    assert_eq!(request.verdict, Verdict::Accepted);
}

#[test]
fn every_corpus_message_gets_a_verdict() {
    let dir = format!("{}/tests/messages", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("corpus") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let raw = std::fs::read(&path).expect("read");
        let request =
            intake_with(IntakeConfig::default()).examine(&raw, &Envelope::default(), &Users);
        assert!(request.message_id.is_some(), "{}", path.display());
        count += 1;
    }
    assert!(count >= 19);
}

#[test]
fn too_large_bounce_is_still_ignored() {
    let mut config = IntakeConfig::default();
    config.max_message_bytes = 100;
    let request = intake_with(config).examine(&message("bounce.eml"), &Envelope::default(), &Users);
    assert_eq!(request.verdict, Verdict::Ignored);
}

#[test]
fn log_line_has_no_personal_data() {
    let request = examine("outlook_gb2312_split_subject.eml");
    let line = request.log_line();
    assert_eq!(
        line,
        "verdict=accepted reason=none recipients=1 refused=0 documents=1 not_faxed=1 bytes=1755"
    );
    let request = intake_with(IntakeConfig::default()).examine(
        &message("bad_subject.eml"),
        &Envelope::default(),
        &mail_message::NoUsers,
    );
    assert!(
        request
            .log_line()
            .starts_with("verdict=unauthorized reason=unknown-sender ")
    );
}
