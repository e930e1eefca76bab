//! The dial plan as a table: a server's settings, what a sender writes, and the kind, dial
//! string and E.164 number that come out.

use fax_address::{AddressConfig, AddressSettings, DialPlanConfig, Error, Kind};

/// Settings of a server in `country`/`area` with the given prefixes; the rest default.
fn server(
    country: &str,
    area: &str,
    international: &str,
    trunk: &str,
    outside_line: &str,
) -> AddressSettings {
    let mut dial_plan = DialPlanConfig::default();
    dial_plan.country_code = country.into();
    dial_plan.area_code = area.into();
    dial_plan.international_prefix = international.into();
    dial_plan.trunk_prefix = trunk.into();
    dial_plan.outside_line_prefix = outside_line.into();
    let mut config = AddressConfig::default();
    config.dial_plan = dial_plan;
    AddressSettings::new(&config).expect("valid dial plan")
}

/// `kind dial e164` of the only recipient of `subject`.
fn route(settings: &AddressSettings, subject: &str) -> String {
    let entries = settings.parse(subject).expect("one entry");
    let recipient = match &entries[..] {
        [entry] => entry.result.clone().expect("a valid recipient"),
        _ => panic!("{subject:?} has {} entries", entries.len()),
    };
    format!(
        "{} {} {}",
        recipient.kind(),
        recipient.dial().unwrap_or("-"),
        recipient.e164().unwrap_or("-")
    )
}

#[test]
fn the_specification_examples_in_shenzhen() {
    let shenzhen = AddressSettings::default();
    let table = [
        ("86-755-83235170", "local 83235170 +8675583235170"),
        ("10-666666", "national 010666666 +8610666666"),
        ("852-0-999999", "international 00852999999 +852999999"),
        ("0-0-123", "internal 123 -"),
        ("AF90000098", "fax-id - -"),
    ];
    for (subject, expected) in table {
        assert_eq!(route(&shenzhen, subject), expected, "{subject}");
    }
}

#[test]
fn outside_line_prefix_goes_before_every_outside_number_but_not_extensions() {
    let behind_a_pbx = server("86", "755", "00", "0", "9");
    let table = [
        ("83235170", "local 983235170 +8675583235170"),
        ("10-666666", "national 9010666666 +8610666666"),
        ("852-0-999999", "international 900852999999 +852999999"),
        ("0-0-123", "internal 123 -"),
    ];
    for (subject, expected) in table {
        assert_eq!(route(&behind_a_pbx, subject), expected, "{subject}");
    }
}

#[test]
fn country_without_area_codes_or_trunk_prefix() {
    let hong_kong = server("852", "", "001", "", "");
    let table = [
        ("99999999", "local 99999999 +85299999999"),
        ("852-0-99999999", "local 99999999 +85299999999"),
        (
            "86-755-83235170",
            "international 0018675583235170 +8675583235170",
        ),
        // No trunk prefix, so a leading 0 is no sign of an area code.
        ("0-0-123", "internal 123 -"),
    ];
    for (subject, expected) in table {
        assert_eq!(route(&hong_kong, subject), expected, "{subject}");
    }
}

#[test]
fn north_american_prefixes() {
    let toronto = server("1", "416", "011", "1", "");
    let table = [
        ("5550123", "local 5550123 +14165550123"),
        ("212-5550123", "national 12125550123 +12125550123"),
        ("1-212-5550123", "national 12125550123 +12125550123"),
        (
            "44-20-79460000",
            "international 011442079460000 +442079460000",
        ),
    ];
    for (subject, expected) in table {
        assert_eq!(route(&toronto, subject), expected, "{subject}");
    }
    // A number written alone that starts with the trunk prefix: the area code is in it.
    let entries = toronto.parse("14165550123").unwrap();
    assert_eq!(
        entries[0].result.as_ref().unwrap_err().to_string(),
        "write the area code and number separately: 416-5550123"
    );
}

#[test]
fn own_country_with_area_zero_when_the_server_has_no_area() {
    let hong_kong = server("852", "0", "001", "", "");
    assert_eq!(hong_kong.dial_plan().area_code(), None);
    assert_eq!(
        route(&hong_kong, "0-99999999"),
        "local 99999999 +85299999999"
    );
}

#[test]
fn kind_order_is_the_order_of_cost() {
    assert!(Kind::FaxId < Kind::Internal);
    assert!(Kind::Internal < Kind::Local);
    assert!(Kind::Local < Kind::National);
    assert!(Kind::National < Kind::International);
}

#[test]
fn extension_length_is_configurable() {
    let mut config = AddressConfig::default();
    config.dial_plan.extension_length = 4;
    let settings = AddressSettings::new(&config).unwrap();
    assert_eq!(route(&settings, "0-0-1234"), "internal 1234 -");
    let entries = settings.parse("0-0-123").unwrap();
    assert_eq!(
        entries[0].result,
        Err(Error::ExtensionLength { expected: 4 })
    );
}

#[test]
fn max_local_length_is_configurable() {
    let mut config = AddressConfig::default();
    config.dial_plan.max_local_length = 7;
    let settings = AddressSettings::new(&config).unwrap();
    assert_eq!(route(&settings, "8323517"), "local 8323517 +867558323517");
    let entries = settings.parse("83235170").unwrap();
    assert_eq!(entries[0].result, Err(Error::LocalNumberTooLong { max: 7 }));
}

#[test]
fn bad_dial_plans_are_refused_naming_the_setting() {
    type Change = fn(&mut DialPlanConfig);
    let cases: [(&str, Change); 9] = [
        ("dial_plan.country_code", |c| c.country_code = "086".into()),
        ("dial_plan.country_code", |c| c.country_code = "8612".into()),
        ("dial_plan.country_code", |c| c.country_code = "+86".into()),
        ("dial_plan.area_code", |c| c.area_code = "0755".into()),
        ("dial_plan.area_code", |c| c.area_code = "75x".into()),
        ("dial_plan.international_prefix", |c| {
            c.international_prefix = String::new()
        }),
        ("dial_plan.trunk_prefix", |c| c.trunk_prefix = "00".into()),
        ("dial_plan.outside_line_prefix", |c| {
            c.outside_line_prefix = "9,".into()
        }),
        ("dial_plan.extension_length", |c| c.extension_length = 0),
    ];
    for (setting, change) in cases {
        let mut config = AddressConfig::default();
        change(&mut config.dial_plan);
        match AddressSettings::new(&config) {
            Err(Error::InvalidSetting { setting: named, .. }) => assert_eq!(named, setting),
            other => panic!("{setting}: {other:?}"),
        }
    }
    let mut config = AddressConfig::default();
    config.dial_plan.country_code = "086".into();
    assert_eq!(
        AddressSettings::new(&config).unwrap_err().to_string(),
        "invalid setting dial_plan.country_code = \"086\": 1 to 3 digits, not starting with 0"
    );
}
