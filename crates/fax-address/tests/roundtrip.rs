//! Properties of the grammar: recipients written out and read back are the same
//! recipients; every accepted spelling of a recipient (full-width forms, spaces, `+`,
//! trunk prefix, fax ID case, extra `;`) reads as its canonical one; and arbitrary text
//! never breaks the parser or its work bound.

use fax_address::{AddressSettings, Recipient, format_subject};
use proptest::prelude::*;

/// What a generated recipient should read as.
#[derive(Debug, Clone)]
struct Expected {
    /// `None`: an extension (`0-0-...`) or a fax ID alone.
    country: Option<String>,
    area: Option<String>,
    number: Option<String>,
    fax_id: Option<String>,
    name1: Option<String>,
    name2: Option<String>,
}

fn digits(
    first: &'static str,
    len: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = String> {
    (
        proptest::string::string_regex(first).expect("regex"),
        proptest::collection::vec(0u8..10, len),
    )
        .prop_map(|(head, tail)| {
            head + &tail
                .iter()
                .map(|d| char::from(b'0' + d))
                .collect::<String>()
        })
}

/// A public number: own country or another, own area or another or none; local-length
/// subscriber numbers that do not start with 0.
fn public_number() -> impl Strategy<Value = (String, Option<String>, String)> {
    let country = prop_oneof![Just("86".to_owned()), digits("[1-9]", 0..=2)];
    let area = prop_oneof![
        Just(None),
        Just(Some("755".to_owned())),
        digits("[1-9]", 0..=3).prop_map(Some)
    ];
    let subscriber = digits("[1-9]", 0..=7);
    (country, area, subscriber)
}

/// Name text without separators or control characters, possibly with spaces around.
fn name() -> impl Strategy<Value = Option<String>> {
    let text =
        proptest::string::string_regex("[ a-zA-Z金恒科技傲发张三ＡＢ－\\-\u{3000}.()]{0,12}")
            .expect("regex");
    prop_oneof![Just(None), text.prop_map(Some)]
}

fn fax_id() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        (
            prop_oneof![Just("AF"), Just("af"), Just("Af"), Just("ＡＦ")],
            digits("[0-9]", 7..=7)
        )
            .prop_map(|(prefix, digits)| Some(format!("{prefix}{digits}")))
    ]
}

/// Full-width forms of digits and ASCII punctuation, as a Chinese input method types them.
fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Spelling {
    full_width: bool,
    spaces: bool,
    short_form: bool,
    country_mark: u8,
    trunk_on_area: bool,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u8..3,
        any::<bool>(),
    )
        .prop_map(
            |(full_width, spaces, short_form, country_mark, trunk_on_area)| Spelling {
                full_width,
                spaces,
                short_form,
                country_mark,
                trunk_on_area,
            },
        )
}

/// One recipient written in `spelling`, and what it should read as.
fn entry() -> impl Strategy<Value = (String, Expected)> {
    let address = prop_oneof![
        public_number().prop_map(|(c, a, s)| (Some((c, a, s)), false)),
        Just((None, true)),  // an extension
        Just((None, false)), // a fax ID alone (forced below)
    ];
    (
        address,
        digits("[0-9]", 2..=2),
        fax_id(),
        name(),
        name(),
        spelling(),
    )
        .prop_map(
            |((public, extension), ext_digits, fax_id, name1, name2, spelling)| {
                let fax_id = match (&public, extension, fax_id) {
                    (None, false, None) => Some("AF12345678".to_owned()),
                    (_, _, fax_id) => fax_id,
                };
                let gap = if spelling.spaces { " " } else { "" };
                let dash = format!("{gap}-{gap}");
                let mut address = String::new();
                let mut expected = Expected {
                    country: None,
                    area: None,
                    number: None,
                    fax_id: fax_id
                        .as_ref()
                        .map(|id| full_width_folded(id).to_ascii_uppercase()),
                    name1: name1
                        .as_ref()
                        .map(|n| n.trim().to_owned())
                        .filter(|n| !n.is_empty()),
                    name2: name2
                        .as_ref()
                        .map(|n| n.trim().to_owned())
                        .filter(|n| !n.is_empty()),
                };
                if extension {
                    address = format!("0{dash}0{dash}{ext_digits}");
                    expected.number = Some(ext_digits);
                } else if let Some((country, area, subscriber)) = public {
                    let own = country == "86";
                    let area_text = area.clone().unwrap_or_else(|| "0".into());
                    let local = own && area.as_deref() == Some("755");
                    if spelling.short_form && local {
                        address = subscriber.clone();
                    } else if spelling.short_form && own {
                        let trunk = if spelling.trunk_on_area && area.is_some() {
                            "0"
                        } else {
                            ""
                        };
                        address = format!("{trunk}{area_text}{dash}{subscriber}");
                    } else {
                        let mark = match spelling.country_mark {
                            1 => "+",
                            2 => "00",
                            _ => "",
                        };
                        let trunk = if own && spelling.trunk_on_area && area.is_some() {
                            "0"
                        } else {
                            ""
                        };
                        address =
                            format!("{mark}{country}{dash}{trunk}{area_text}{dash}{subscriber}");
                    }
                    expected.country = Some(country);
                    expected.area = area;
                    expected.number = Some(subscriber);
                }
                if let Some(fax_id) = &fax_id {
                    if !address.is_empty() {
                        address.push_str(gap);
                        address.push('|');
                        address.push_str(gap);
                    }
                    address.push_str(fax_id);
                }
                if spelling.full_width {
                    address = full_width(&address);
                }
                let mut text = format!("{gap}{address}{gap}");
                if name1.is_some() || name2.is_some() {
                    text.push(if spelling.full_width { '／' } else { '/' });
                    text.push_str(name1.as_deref().unwrap_or(""));
                    if let Some(name2) = &name2 {
                        text.push(if spelling.full_width { '｜' } else { '|' });
                        text.push_str(name2);
                    }
                }
                (text, expected)
            },
        )
}

fn full_width_folded(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// country, area, number, fax ID, name1, name2.
fn read(recipient: &Recipient) -> [Option<String>; 6] {
    [
        recipient.country(),
        recipient.area(),
        recipient.number(),
        recipient.fax_id().map(|id| id.as_str()),
        recipient.name1().map(|n| n.as_str()),
        recipient.name2().map(|n| n.as_str()),
    ]
    .map(|field| field.map(str::to_owned))
}

fn parse_all(settings: &AddressSettings, subject: &str) -> Vec<Recipient> {
    settings
        .parse(subject)
        .unwrap_or_else(|error| panic!("{subject:?}: {error}"))
        .into_iter()
        .map(|entry| {
            entry
                .result
                .unwrap_or_else(|error| panic!("{subject:?}, {:?}: {error}", entry.input))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_spelling_reads_as_written_and_formats_back(
        entries in proptest::collection::vec(entry(), 1..6),
        separators in proptest::collection::vec(prop_oneof![Just(";"), Just("；"), Just("; "), Just(";;"), Just(" ; ；")], 6),
        trailing in prop_oneof![Just(""), Just(";"), Just(" ;; ")],
    ) {
        let settings = AddressSettings::default();
        let mut subject = String::new();
        for (i, (text, _)) in entries.iter().enumerate() {
            if i > 0 {
                subject.push_str(separators[i]);
            }
            subject.push_str(text);
        }
        subject.push_str(trailing);
        let recipients = parse_all(&settings, &subject);
        prop_assert_eq!(recipients.len(), entries.len());
        for (recipient, (text, expected)) in recipients.iter().zip(&entries) {
            let wanted = [
                expected.country.clone(),
                expected.area.clone(),
                expected.number.clone(),
                expected.fax_id.clone(),
                expected.name1.clone(),
                expected.name2.clone(),
            ];
            prop_assert_eq!(read(recipient), wanted, "{:?} in {:?}", text, subject);
        }
        let formatted = format_subject(&recipients);
        prop_assert_eq!(parse_all(&settings, &formatted), recipients, "{:?}", formatted);
    }

    #[test]
    fn arbitrary_text_parses_within_bound_and_what_parses_formats_back(
        subject in "[0-9０-９;；\\-－/／|｜+＋ \u{3000}aAfF金恒]{0,80}"
    ) {
        let settings = AddressSettings::default();
        let (result, work) = settings.parse_with_work(&subject);
        prop_assert!(work.within_bound(subject.len()), "{:?}: {:?}", subject, work);
        if let Ok(entries) = result {
            let recipients: Vec<Recipient> =
                entries.into_iter().filter_map(|entry| entry.result.ok()).collect();
            if !recipients.is_empty() {
                let formatted = format_subject(&recipients);
                prop_assert_eq!(parse_all(&settings, &formatted), recipients);
            }
        }
    }
}
