//! The example configuration in `config/` loads, is valid, and states the defaults: the
//! comments there are the documentation of the defaults, so they must not drift.

use std::path::Path;

use fax_address::{AddressConfig, AddressSettings, Error};
use serde::Deserialize;

/// The part of the configuration file this crate reads. The file's other sections
/// belong to other crates (faxgate's `Config` refuses unknown ones), so they are
/// skipped here.
#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    address: AddressConfig,
}

fn example() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/faxgate.example.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn example_config_loads_and_states_every_default() {
    let file: File = toml::from_str(&example()).expect("example config parses");
    assert_eq!(file.address, AddressConfig::default());
    assert_eq!(
        AddressSettings::new(&file.address).expect("example config is valid"),
        AddressSettings::default()
    );
}

#[test]
fn commented_deny_list_of_the_example_is_valid() {
    let text = example().replace(
        "deny_prefixes = []",
        "deny_prefixes = [\"+881\", \"+882\", \"+883\", \"+1900\", \"+449\"]",
    );
    let file: File = toml::from_str(&text).expect("parses");
    assert_eq!(file.address.policy.deny_prefixes.len(), 5);
    AddressSettings::new(&file.address).expect("valid");
}

#[test]
fn empty_section_means_defaults() {
    let file: File = toml::from_str("[address]\n").expect("parses");
    assert_eq!(file.address, AddressConfig::default());
    let file: File = toml::from_str("").expect("parses");
    assert_eq!(file.address, AddressConfig::default());
}

#[test]
fn misspelt_setting_is_an_error() {
    let error = toml::from_str::<File>("[address.dial_plan]\ncountry = \"86\"\n").unwrap_err();
    assert!(
        error.to_string().contains("unknown field `country`"),
        "{error}"
    );
    let error =
        toml::from_str::<File>("[address.policy]\ndefault_max_kind = \"world\"\n").unwrap_err();
    assert!(
        error.to_string().contains("unknown variant `world`"),
        "{error}"
    );
}

#[test]
fn values_are_checked_when_settings_are_built() {
    let file: File =
        toml::from_str("[address.fax_id]\nprefix = \"A1\"\n").expect("parses as a string");
    assert!(matches!(
        AddressSettings::new(&file.address),
        Err(Error::InvalidSetting {
            setting: "fax_id.prefix",
            ..
        })
    ));
}
