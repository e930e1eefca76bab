//! The subject grammar of the addressing specification, on the server it describes
//! (country 86, area 755): every example that must parse, parsed exactly as described,
//! and every one that must fail, failing with the message the sender will read.

use fax_address::{AddressSettings, Entry, Error, Part, Recipient, Separator};

/// A recipient as one line, every field shown: country, area, number, fax ID, name1,
/// name2, kind, dial string, E.164; `-` for an absent field.
fn describe(recipient: &Recipient) -> String {
    let show = |field: Option<&str>| field.unwrap_or("-").to_owned();
    [
        show(recipient.country()),
        show(recipient.area()),
        show(recipient.number()),
        show(recipient.fax_id().map(|id| id.as_str())),
        show(recipient.name1().map(|name| name.as_str())),
        show(recipient.name2().map(|name| name.as_str())),
        recipient.kind().to_string(),
        show(recipient.dial()),
        show(recipient.e164()),
    ]
    .join(" ")
}

fn parse(subject: &str) -> Vec<Entry> {
    AddressSettings::default()
        .parse(subject)
        .unwrap_or_else(|error| panic!("{subject:?}: {error}"))
}

/// Every entry of `subject` described, or the test fails naming the bad entry.
fn recipients(subject: &str) -> Vec<String> {
    parse(subject)
        .iter()
        .map(|entry| match &entry.result {
            Ok(recipient) => describe(recipient),
            Err(error) => panic!("{subject:?}, entry {:?}: {error}", entry.input),
        })
        .collect()
}

/// The error of the only entry of `subject`.
fn entry_error(subject: &str) -> Error {
    let entries = parse(subject);
    assert_eq!(entries.len(), 1, "{subject:?}");
    match &entries[0].result {
        Ok(recipient) => panic!("{subject:?} parsed as {}", describe(recipient)),
        Err(error) => error.clone(),
    }
}

const JINHENG: &str = "86 755 83235170 - 金恒科技 - local 83235170 +8675583235170";

#[test]
fn country_area_number_and_company() {
    assert_eq!(recipients("86-755-83235170/金恒科技"), [JINHENG]);
}

#[test]
fn area_number_takes_the_server_country() {
    assert_eq!(recipients("755-83235170/金恒科技"), [JINHENG]);
}

#[test]
fn number_alone_takes_the_server_country_and_area() {
    assert_eq!(recipients("83235170/金恒科技"), [JINHENG]);
    assert_eq!(
        recipients("83235170"),
        ["86 755 83235170 - - - local 83235170 +8675583235170"]
    );
}

#[test]
fn two_recipients_separated_by_semicolon_and_space() {
    assert_eq!(
        recipients("86-755-83235170/金恒科技; 86-755-83235180/傲发科技"),
        [
            JINHENG,
            "86 755 83235180 - 傲发科技 - local 83235180 +8675583235180"
        ]
    );
}

#[test]
fn other_areas_are_national_own_area_is_local() {
    assert_eq!(
        recipients("10-666666/张三;20-777777/李四;86-755-888888/王五"),
        [
            "86 10 666666 - 张三 - national 010666666 +8610666666",
            "86 20 777777 - 李四 - national 020777777 +8620777777",
            "86 755 888888 - 王五 - local 888888 +86755888888",
        ]
    );
}

#[test]
fn area_zero_means_no_area_code() {
    assert_eq!(
        recipients("852-0-999999"),
        ["852 - 999999 - - - international 00852999999 +852999999"]
    );
}

#[test]
fn country_zero_area_zero_is_an_internal_extension() {
    assert_eq!(recipients("0-0-123"), ["- - 123 - - - internal 123 -"]);
}

#[test]
fn number_fax_id_company_and_person() {
    assert_eq!(
        recipients("86-755-83235170|AF90000098/金恒科技|张三"),
        ["86 755 83235170 AF90000098 金恒科技 张三 local 83235170 +8675583235170"]
    );
}

#[test]
fn number_fax_id_and_company() {
    assert_eq!(
        recipients("86-755-83235170|AF90000098/金恒科技"),
        ["86 755 83235170 AF90000098 金恒科技 - local 83235170 +8675583235170"]
    );
}

#[test]
fn space_before_the_slash_is_ignored() {
    assert_eq!(
        recipients("86-755-83235170 /金恒科技|张三"),
        ["86 755 83235170 - 金恒科技 张三 local 83235170 +8675583235170"]
    );
}

#[test]
fn local_number_with_fax_id() {
    assert_eq!(
        recipients("83235170|AF90000098/金恒科技"),
        ["86 755 83235170 AF90000098 金恒科技 - local 83235170 +8675583235170"]
    );
}

#[test]
fn fax_id_alone_with_and_without_company() {
    assert_eq!(
        recipients("AF90000098/金恒科技"),
        ["- - - AF90000098 金恒科技 - fax-id - -"]
    );
    assert_eq!(
        recipients("AF90000098"),
        ["- - - AF90000098 - - fax-id - -"]
    );
}

#[test]
fn fax_id_is_matched_case_insensitively() {
    assert_eq!(
        recipients("af90000098; 83235170|Af90000098"),
        [
            "- - - AF90000098 - - fax-id - -",
            "86 755 83235170 AF90000098 - - local 83235170 +8675583235170"
        ]
    );
}

#[test]
fn full_width_separators_and_digits_read_as_ascii() {
    assert_eq!(
        recipients(
            "８６－７５５－８３２３５１７０｜ＡＦ９０００００９８／金恒科技｜张三；１０－６６６６６６"
        ),
        [
            "86 755 83235170 AF90000098 金恒科技 张三 local 83235170 +8675583235170",
            "86 10 666666 - - - national 010666666 +8610666666",
        ]
    );
}

#[test]
fn names_keep_full_width_letters_and_dashes() {
    assert_eq!(
        recipients("83235170/ＡＢＣ－科技|Jean-Pierre"),
        ["86 755 83235170 - ＡＢＣ－科技 Jean-Pierre local 83235170 +8675583235170"]
    );
}

#[test]
fn trailing_and_doubled_semicolons_are_ignored() {
    assert_eq!(recipients("83235170;"), recipients("83235170"));
    assert_eq!(recipients(";;83235170;; ;"), recipients("83235170"));
    assert_eq!(
        recipients("83235170；；10-666666；"),
        recipients("83235170;10-666666")
    );
    let entries = parse("83235170;;;755-8323A170");
    assert_eq!(entries[1].index, 1, "empty entries are not counted");
}

#[test]
fn spaces_around_every_part_are_ignored() {
    assert_eq!(
        recipients("  86 - 755 - 83235170 | AF90000098 /  金恒科技  |  张三  ;  "),
        ["86 755 83235170 AF90000098 金恒科技 张三 local 83235170 +8675583235170"]
    );
    // The ideographic space of Chinese input methods, and tabs of a folded header.
    assert_eq!(
        recipients("\u{3000}83235170\u{3000}/\u{3000}金恒科技\t"),
        [JINHENG]
    );
}

#[test]
fn names_may_hold_spaces_inside() {
    assert_eq!(
        recipients("83235170/Golden Star Ltd|Zhang  San"),
        ["86 755 83235170 - Golden Star Ltd Zhang  San local 83235170 +8675583235170"]
    );
}

#[test]
fn person_without_company() {
    assert_eq!(
        recipients("83235170/|张三"),
        ["86 755 83235170 - - 张三 local 83235170 +8675583235170"]
    );
    assert_eq!(
        recipients("83235170/"),
        ["86 755 83235170 - - - local 83235170 +8675583235170"]
    );
}

#[test]
fn area_code_written_with_the_trunk_prefix_is_the_same_area() {
    assert_eq!(recipients("0755-83235170/金恒科技"), [JINHENG]);
    assert_eq!(recipients("86-0755-83235170/金恒科技"), [JINHENG]);
    assert_eq!(
        recipients("010-666666"),
        ["86 10 666666 - - - national 010666666 +8610666666"]
    );
}

#[test]
fn country_code_written_with_plus_or_international_prefix() {
    assert_eq!(recipients("+86-755-83235170/金恒科技"), [JINHENG]);
    assert_eq!(recipients("0086-755-83235170/金恒科技"), [JINHENG]);
    assert_eq!(
        recipients("＋852-0-999999"),
        ["852 - 999999 - - - international 00852999999 +852999999"]
    );
}

#[test]
fn foreign_area_codes_keep_their_leading_zero() {
    // Italy dials the 0 after the country code.
    assert_eq!(
        recipients("39-06-12345678"),
        ["39 06 12345678 - - - international 00390612345678 +390612345678"]
    );
}

#[test]
fn own_country_without_area_code_is_national_and_dialled_as_written() {
    assert_eq!(
        recipients("0-4008123456"),
        ["86 - 4008123456 - - - national 4008123456 +864008123456"]
    );
}

#[test]
fn every_entry_keeps_its_input_and_index() {
    let entries = parse(" 83235170/金恒科技 ;755-8323A170; AF1 ");
    let summary: Vec<(usize, &str, bool)> = entries
        .iter()
        .map(|entry| (entry.index, entry.input.as_str(), entry.result.is_ok()))
        .collect();
    assert_eq!(
        summary,
        [
            (0, "83235170/金恒科技", true),
            (1, "755-8323A170", false),
            (2, "AF1", false)
        ]
    );
}

// What must fail, and the message the sender reads.

#[test]
fn area_code_written_into_the_number_gets_the_split_as_hint() {
    let error = entry_error("075583235170");
    assert_eq!(
        error,
        Error::NeedsAreaCode {
            suggestion: Some("755-83235170".into()),
            trunk_prefix: "0".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "write the area code and number separately: 755-83235170"
    );
}

#[test]
fn other_area_written_into_the_number_gets_a_general_hint() {
    assert_eq!(
        entry_error("01066666666").to_string(),
        "write the area code and number separately, without the \"0\" in front, like \
         area-number"
    );
}

#[test]
fn number_too_long_for_a_local_number() {
    assert_eq!(
        entry_error("123456789").to_string(),
        "a number written alone is a local number, and a local number has at most 8 digits: \
         write the area code and number separately, like area-number"
    );
    assert_eq!(
        entry_error("75583235170").to_string(),
        "write the area code and number separately: 755-83235170"
    );
}

#[test]
fn country_code_written_into_the_number_gets_the_split_as_hint() {
    for subject in ["8675583235170", "+8675583235170", "008675583235170"] {
        assert_eq!(
            entry_error(subject).to_string(),
            "write the country code, area code and number separately: 86-755-83235170",
            "{subject}"
        );
    }
    assert_eq!(
        entry_error("00852999999").to_string(),
        "write the country code, area code and number separately, like country-area-number \
         (area 0 if there is none)"
    );
}

#[test]
fn empty_subject() {
    let message = "the subject names no recipient: write the fax number in the subject, for \
                   example 755-83235170/Company";
    for subject in ["", "   ", ";", " ; ；\u{3000};"] {
        let error = AddressSettings::default().parse(subject).unwrap_err();
        assert_eq!(error, Error::EmptySubject, "{subject:?}");
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn letter_in_a_number() {
    let error = entry_error("755-8323A170");
    assert_eq!(
        error,
        Error::InvalidCharacter {
            part: Part::Number,
            character: 'A'
        }
    );
    assert_eq!(
        error.to_string(),
        "the fax number may contain only digits, not \"A\""
    );
    assert_eq!(
        entry_error("7a5-83235170").to_string(),
        "the area code may contain only digits, not \"a\""
    );
    assert_eq!(
        entry_error("8x-755-83235170").to_string(),
        "the country code may contain only digits, not \"x\""
    );
}

#[test]
fn space_or_comma_inside_a_number() {
    assert_eq!(
        entry_error("8323 5170").to_string(),
        "the fax number may contain only digits, not spaces"
    );
    assert_eq!(
        entry_error("83235170,83235180").to_string(),
        "the fax number may contain only digits, not \",\": separate recipients with \";\""
    );
    // The full-width comma of Chinese input methods reads as a comma, like the other forms.
    assert_eq!(
        entry_error("83235170，83235180").to_string(),
        "the fax number may contain only digits, not \",\": separate recipients with \";\""
    );
    assert_eq!(
        entry_error("83235170、83235180").to_string(),
        "the fax number may contain only digits, not \"、\": separate recipients with \";\""
    );
}

#[test]
fn empty_number() {
    let error = entry_error("86-755-/x");
    assert_eq!(error, Error::MissingPart { part: Part::Number });
    assert_eq!(error.to_string(), "the fax number is missing");
    assert_eq!(
        entry_error("/金恒科技").to_string(),
        "the fax number is missing"
    );
    assert_eq!(
        entry_error("|AF90000098").to_string(),
        "the fax number is missing"
    );
    assert_eq!(
        entry_error("-83235170").to_string(),
        "the area code is missing"
    );
    assert_eq!(
        entry_error("-0-83235170").to_string(),
        "the country code is missing"
    );
}

#[test]
fn fax_id_of_the_wrong_form() {
    let message = |written: &str| {
        format!(
            "\"{written}\" is not a fax ID: a fax ID is AF followed by 8 digits, like AF12345678"
        )
    };
    for (subject, written) in [
        ("86-755-83235170|AF9000009", "AF9000009"),
        ("83235170|AF900000981/金恒科技", "AF900000981"),
        ("83235170|90000098", "90000098"),
        ("AF9000009/金恒科技", "AF9000009"),
        ("AG90000098", "AG90000098"),
        ("AF 90000098", "AF 90000098"),
    ] {
        let error = entry_error(subject);
        assert!(
            matches!(&error, Error::InvalidFaxId { written: w, .. } if w == written),
            "{subject}: {error:?}"
        );
        assert_eq!(error.to_string(), message(written), "{subject}");
    }
}

#[test]
fn bar_with_nothing_after_it() {
    assert_eq!(
        entry_error("83235170|/金恒科技").to_string(),
        "nothing follows \"|\": write the fax ID after it, like AF12345678, or leave out the \"|\""
    );
}

#[test]
fn too_many_recipients() {
    let settings = AddressSettings::default();
    let hundred = vec!["83235170"; 100].join(";");
    assert_eq!(settings.parse(&hundred).unwrap().len(), 100);
    let subject = format!("{hundred};10-666666");
    let error = settings.parse(&subject).unwrap_err();
    assert_eq!(
        error,
        Error::TooManyRecipients {
            max: 100,
            index: 100,
            input: "10-666666".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "too many recipients: one mail may name at most 100"
    );
    // Empty entries do not count towards the maximum.
    assert!(settings.parse(&format!("{hundred};;; ;")).is_ok());
}

#[test]
fn too_many_dashes() {
    assert_eq!(
        entry_error("86-755-8323-5170").to_string(),
        "too many \"-\": write the country code, area code and number, like 86-755-83235170"
    );
}

#[test]
fn separators_out_of_place() {
    assert_eq!(
        entry_error("83235170|AF90000098|AF90000099"),
        Error::MisplacedSeparator(Separator::SecondFaxId)
    );
    assert_eq!(
        entry_error("83235170/金恒科技/张三"),
        Error::MisplacedSeparator(Separator::SecondSlash)
    );
    assert_eq!(
        entry_error("83235170/金恒科技|张三|李四").to_string(),
        "at most two names per recipient: write /company|person, and separate recipients \
         with \";\""
    );
}

#[test]
fn country_codes_that_cannot_exist() {
    assert_eq!(
        entry_error("8612-755-83235170").to_string(),
        "\"8612\" is not a country code: country codes have 1 to 3 digits and do not start \
         with 0"
    );
    assert_eq!(
        entry_error("+0-0-123"),
        Error::InvalidCountryCode {
            written: "+0".into()
        }
    );
    assert_eq!(
        entry_error("0-755-83235170").to_string(),
        "country code 0 is only for extensions of this fax server's phone system, written \
         0-0-extension"
    );
}

#[test]
fn extension_of_the_wrong_length() {
    assert_eq!(
        entry_error("0-0-1234").to_string(),
        "an extension of this fax server's phone system has 3 digits"
    );
}

#[test]
fn number_longer_than_e164_allows() {
    assert_eq!(
        entry_error("852-0-1234567890123").to_string(),
        "the number is too long: a phone number has at most 15 digits, country code included"
    );
}

#[test]
fn trunk_prefix_twice_is_not_an_area_code() {
    assert_eq!(
        entry_error("00755-83235170").to_string(),
        "\"00755\" is not an area code"
    );
}

#[test]
fn control_character_in_a_name() {
    assert_eq!(
        entry_error("83235170/金恒\u{7}科技"),
        Error::ControlCharacterInName
    );
}

#[test]
fn plus_only_before_a_country_code() {
    assert_eq!(
        entry_error("+755-83235170"),
        Error::InvalidCharacter {
            part: Part::AreaCode,
            character: '+'
        }
    );
    assert_eq!(
        entry_error("86-+755-83235170"),
        Error::InvalidCharacter {
            part: Part::AreaCode,
            character: '+'
        }
    );
}

#[test]
fn the_first_problem_from_the_left_is_named() {
    assert_eq!(
        entry_error("8x-7y5-83235170|AF1"),
        Error::InvalidCharacter {
            part: Part::CountryCode,
            character: 'x'
        }
    );
}
