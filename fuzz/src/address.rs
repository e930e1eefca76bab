//! How the fax-address fuzz target reads its input, and what it checks.
//!
//! Shared by the cargo-fuzz target and by the replay test in `crates/fax-address/tests`
//! (which includes this file by path), so a saved input means the same thing in both.
//! Depends on `fax_address` and `std` only.

use fax_address::{
    AddressConfig, AddressSettings, Error, Kind, OnBadRecipient, Recipient, format_subject,
};

/// The settings the first input byte chooses (low two bits): the defaults (Shenzhen);
/// behind a PBX (outside line 9, 4-digit extensions, at most 5 recipients, fax IDs
/// `fx` + 6 digits, send to the valid recipients); a country without area codes or trunk
/// prefix (Hong Kong); North America with prefix rules.
pub fn settings_from(selector: u8) -> AddressSettings {
    let mut config = AddressConfig::default();
    match selector & 0x03 {
        1 => {
            config.max_recipients = 5;
            config.dial_plan.outside_line_prefix = "9".into();
            config.dial_plan.extension_length = 4;
            config.fax_id.prefix = "fx".into();
            config.fax_id.digits = 6;
            config.policy.on_bad_recipient = OnBadRecipient::SendToValid;
        }
        2 => {
            config.dial_plan.country_code = "852".into();
            config.dial_plan.area_code = String::new();
            config.dial_plan.international_prefix = "001".into();
            config.dial_plan.trunk_prefix = String::new();
        }
        3 => {
            config.dial_plan.country_code = "1".into();
            config.dial_plan.area_code = "416".into();
            config.dial_plan.international_prefix = "011".into();
            config.dial_plan.trunk_prefix = "1".into();
            config.dial_plan.max_local_length = 7;
            config.policy.deny_prefixes = vec!["+1900".into(), "+".into()];
            config.policy.allow_prefixes = vec!["+1".into(), "+44".into()];
        }
        _ => {}
    }
    let Ok(settings) = AddressSettings::new(&config) else {
        panic!("fuzz settings {selector} are invalid");
    };
    settings
}

/// `address_parse` input: one byte choosing the settings ([`settings_from`]), then the
/// subject (UTF-8; invalid sequences become U+FFFD, as a mail decoder would leave them).
///
/// Checks: no panic; the parser's work stays within its linear bound
/// ([`fax_address::Work::within_bound`]); entries are numbered in order, each input a
/// trimmed, non-empty piece of the subject; every error has a message; every recipient
/// is consistent (a dial string unless a fax ID alone, an E.164 number of `+` and at most
/// 15 digits) and reads back as itself when formatted, alone and all together; the policy
/// under every limit never panics and never plans an empty send.
pub fn check_address_parse(input: &[u8]) {
    let Some((&selector, subject)) = input.split_first() else {
        return;
    };
    let subject = String::from_utf8_lossy(subject);
    let settings = settings_from(selector);
    let (result, work) = settings.parse_with_work(&subject);
    assert!(
        work.within_bound(subject.len()),
        "{work:?} for {} bytes",
        subject.len()
    );
    match &result {
        Ok(entries) => {
            assert!(!entries.is_empty() && entries.len() <= settings.max_recipients());
            let mut recipients = Vec::new();
            for (index, entry) in entries.iter().enumerate() {
                assert_eq!(entry.index, index);
                assert!(!entry.input.is_empty() && entry.input.trim() == entry.input);
                assert!(subject.contains(entry.input.as_str()));
                match &entry.result {
                    Ok(recipient) => {
                        check_recipient(&settings, recipient);
                        recipients.push(recipient.clone());
                    }
                    Err(error) => check_message(error),
                }
            }
            if !recipients.is_empty() {
                let formatted = format_subject(&recipients);
                assert_eq!(
                    read_back(&settings, &formatted),
                    recipients,
                    "{formatted:?}"
                );
            }
        }
        Err(Error::EmptySubject) => {
            assert!(
                subject
                    .chars()
                    .all(|c| c.is_whitespace() || c == ';' || c == '；')
            );
        }
        Err(Error::TooManyRecipients { max, index, input }) => {
            assert_eq!(
                (*max, *index),
                (settings.max_recipients(), settings.max_recipients())
            );
            assert!(subject.contains(input.as_str()));
        }
        Err(error) => panic!("a subject as a whole failed with {error:?}"),
    }
    for limit in [
        Kind::FaxId,
        Kind::Internal,
        Kind::Local,
        Kind::National,
        Kind::International,
    ] {
        match settings.plan(&subject, limit) {
            Ok(plan) => {
                assert!(!plan.recipients.is_empty());
                for recipient in &plan.recipients {
                    assert!(recipient.kind() <= limit);
                }
            }
            Err(Error::Refused { entries }) => {
                assert!(!entries.is_empty());
                for entry in &entries {
                    check_message(&entry.reason);
                }
            }
            Err(error) => assert!(result.is_err(), "plan failed as a whole: {error:?}"),
        }
    }
}

fn check_recipient(settings: &AddressSettings, recipient: &Recipient) {
    assert_eq!(recipient.dial().is_none(), recipient.kind() == Kind::FaxId);
    assert!(recipient.fax_id().is_some() || recipient.number().is_some());
    if let Some(dial) = recipient.dial() {
        assert!(!dial.is_empty() && dial.bytes().all(|b| b.is_ascii_digit()));
    }
    if let Some(e164) = recipient.e164() {
        let digits = e164.strip_prefix('+').unwrap_or_default();
        assert!((2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()));
    }
    let alone = recipient.to_string();
    assert_eq!(
        read_back(settings, &alone),
        std::slice::from_ref(recipient),
        "{alone:?}"
    );
}

fn check_message(error: &Error) {
    assert!(!error.to_string().is_empty(), "{error:?} has no message");
}

fn read_back(settings: &AddressSettings, subject: &str) -> Vec<Recipient> {
    let Ok(entries) = settings.parse(subject) else {
        panic!("formatted subject {subject:?} does not parse");
    };
    entries
        .into_iter()
        .map(|entry| match entry.result {
            Ok(recipient) => recipient,
            Err(error) => panic!("formatted entry {:?}: {error}", entry.input),
        })
        .collect()
}

/// A seed: the selector byte, then the subject.
pub fn seed(selector: u8, subject: &str) -> Vec<u8> {
    let mut input = vec![selector];
    input.extend_from_slice(subject.as_bytes());
    input
}
