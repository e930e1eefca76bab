//! Settings as the administrator writes them ([`AddressConfig`], serde), and as the rest
//! of the crate uses them ([`AddressSettings`], checked once).

use serde::Deserialize;

use crate::dial_plan::DialPlan;
use crate::error::Error;
use crate::fax_id::FaxIdFormat;
use crate::policy::Policy;
use crate::recipient::Kind;

/// The `[address]` section of the configuration. Every field has a default, so an empty
/// section (or none) is valid; unknown fields are refused, so a misspelt setting is an
/// error rather than silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct AddressConfig {
    /// The most recipients one mail may name (default 100).
    pub max_recipients: usize,
    /// Where the server is and how its line dials.
    pub dial_plan: DialPlanConfig,
    /// The form of this server's fax IDs.
    pub fax_id: FaxIdConfig,
    /// Who may send where.
    pub policy: PolicyConfig,
}

impl Default for AddressConfig {
    fn default() -> AddressConfig {
        AddressConfig {
            max_recipients: 100,
            dial_plan: DialPlanConfig::default(),
            fax_id: FaxIdConfig::default(),
            policy: PolicyConfig::default(),
        }
    }
}

/// `[address.dial_plan]`. Codes and prefixes are strings of digits, so leading zeros
/// survive.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct DialPlanConfig {
    /// The server's country code, without `+` (default `86`).
    pub country_code: String,
    /// The server's area code, without the trunk prefix (default `755`); `0` or empty
    /// where the country has no area codes.
    pub area_code: String,
    /// Dialled before a foreign country code (default `00`).
    pub international_prefix: String,
    /// Dialled before an area code of the own country (default `0`); empty where the
    /// country has none.
    pub trunk_prefix: String,
    /// Dialled before every outside number to get a line from the PBX, such as `9`
    /// (default empty: the line dials out directly).
    pub outside_line_prefix: String,
    /// How many digits an extension of the server's phone system has (default 3).
    pub extension_length: u8,
    /// The most digits of a local number; a longer number written alone is refused with a
    /// hint to write the area code separately (default 8).
    pub max_local_length: u8,
}

impl Default for DialPlanConfig {
    fn default() -> DialPlanConfig {
        DialPlanConfig {
            country_code: "86".to_owned(),
            area_code: "755".to_owned(),
            international_prefix: "00".to_owned(),
            trunk_prefix: "0".to_owned(),
            outside_line_prefix: String::new(),
            extension_length: 3,
            max_local_length: 8,
        }
    }
}

/// `[address.fax_id]`: a fax ID is `prefix` followed by `digits` digits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct FaxIdConfig {
    /// 1 to 8 letters A-Z, matched in any case (default `AF`).
    pub prefix: String,
    /// How many digits follow (default 8).
    pub digits: u8,
}

impl Default for FaxIdConfig {
    fn default() -> FaxIdConfig {
        FaxIdConfig {
            prefix: "AF".to_owned(),
            digits: 8,
        }
    }
}

/// `[address.policy]`: who may send where.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PolicyConfig {
    /// The highest kind of call a sender may place unless their account says otherwise
    /// (default `national`: international calls, the usual target of toll fraud, must
    /// be granted).
    pub default_max_kind: Kind,
    /// E.164 prefixes (`+86900`) never dialled, such as premium-rate ranges.
    pub deny_prefixes: Vec<String>,
    /// E.164 prefixes dialled even inside a denied range. Of all rules that match a
    /// number, the longest prefix decides; a number no rule matches is allowed.
    pub allow_prefixes: Vec<String>,
    /// What to do with a mail some of whose recipients are invalid or refused (default
    /// `refuse-all`).
    pub on_bad_recipient: OnBadRecipient,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            default_max_kind: Kind::National,
            deny_prefixes: Vec::new(),
            allow_prefixes: Vec::new(),
            on_bad_recipient: OnBadRecipient::RefuseAll,
        }
    }
}

/// What happens to a request when some of its recipients are invalid or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnBadRecipient {
    /// Send nothing, and name every bad recipient in the receipt: a typo in one number
    /// should not have the fax go to half the list.
    RefuseAll,
    /// Send to the valid recipients, and name the bad ones in the receipt.
    SendToValid,
}

/// Everything this crate needs to read a subject, checked once from an
/// [`AddressConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressSettings {
    pub(crate) max_recipients: usize,
    pub(crate) dial_plan: DialPlan,
    pub(crate) fax_id_format: FaxIdFormat,
    pub(crate) policy: Policy,
}

impl Default for AddressSettings {
    /// The settings of [`AddressConfig::default`], without the round trip through checks
    /// they are known to pass (a unit test holds the two together).
    fn default() -> AddressSettings {
        AddressSettings {
            max_recipients: 100,
            dial_plan: DialPlan::default(),
            fax_id_format: FaxIdFormat::default(),
            policy: Policy::default(),
        }
    }
}

impl AddressSettings {
    /// Checks every setting; the error names the first bad one.
    pub fn new(config: &AddressConfig) -> Result<AddressSettings, Error> {
        if config.max_recipients == 0 {
            return Err(Error::InvalidSetting {
                setting: "max_recipients",
                value: config.max_recipients.to_string(),
                expected: "at least 1",
            });
        }
        Ok(AddressSettings {
            max_recipients: config.max_recipients,
            dial_plan: DialPlan::new(&config.dial_plan)?,
            fax_id_format: FaxIdFormat::new(&config.fax_id.prefix, config.fax_id.digits)?,
            policy: Policy::new(&config.policy)?,
        })
    }

    /// The most recipients one subject may name.
    pub fn max_recipients(&self) -> usize {
        self.max_recipients
    }

    /// The dial plan.
    pub fn dial_plan(&self) -> &DialPlan {
        &self.dial_plan
    }

    /// The form of this server's fax IDs.
    pub fn fax_id_format(&self) -> &FaxIdFormat {
        &self.fax_id_format
    }

    /// The destination policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_the_default_config_checked() {
        assert_eq!(
            AddressSettings::new(&AddressConfig::default()).unwrap(),
            AddressSettings::default()
        );
    }

    #[test]
    fn zero_recipients_is_refused() {
        let config = AddressConfig {
            max_recipients: 0,
            ..AddressConfig::default()
        };
        assert!(matches!(
            AddressSettings::new(&config),
            Err(Error::InvalidSetting {
                setting: "max_recipients",
                ..
            })
        ));
    }
}
