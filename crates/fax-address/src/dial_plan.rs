//! The dial plan: numbers as senders write them, resolved against the server's own
//! country and area into a kind, a dial string and an E.164 number.

use crate::config::DialPlanConfig;
use crate::error::Error;
use crate::number::{E164_MAX_DIGITS, Extension, PhoneNumber, PublicNumber};
use crate::recipient::Kind;

/// Where the server is and how its line dials, checked once from a [`DialPlanConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialPlan {
    country: String,
    area: Option<String>,
    international_prefix: String,
    trunk_prefix: String,
    outside_line_prefix: String,
    extension_length: u8,
    max_local_length: u8,
}

impl Default for DialPlan {
    /// The settings of [`DialPlanConfig::default`].
    fn default() -> DialPlan {
        DialPlan {
            country: "86".to_owned(),
            area: Some("755".to_owned()),
            international_prefix: "00".to_owned(),
            trunk_prefix: "0".to_owned(),
            outside_line_prefix: String::new(),
            extension_length: 3,
            max_local_length: 8,
        }
    }
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

fn digits_setting(
    setting: &'static str,
    value: &str,
    lengths: std::ops::RangeInclusive<usize>,
    expected: &'static str,
) -> Result<String, Error> {
    if all_digits(value) && lengths.contains(&value.len()) {
        Ok(value.to_owned())
    } else {
        Err(Error::InvalidSetting {
            setting,
            value: value.to_owned(),
            expected,
        })
    }
}

impl DialPlan {
    /// Checks a configured dial plan: every prefix and code is digits only, the country
    /// code is a possible one, the area code is given without the trunk prefix, and
    /// the trunk and international prefixes differ.
    pub fn new(config: &DialPlanConfig) -> Result<DialPlan, Error> {
        let country = digits_setting(
            "dial_plan.country_code",
            &config.country_code,
            1..=3,
            "1 to 3 digits, not starting with 0",
        )?;
        if country.starts_with('0') {
            return Err(Error::InvalidSetting {
                setting: "dial_plan.country_code",
                value: country,
                expected: "1 to 3 digits, not starting with 0",
            });
        }
        let international_prefix = digits_setting(
            "dial_plan.international_prefix",
            &config.international_prefix,
            1..=4,
            "1 to 4 digits",
        )?;
        let trunk_prefix = digits_setting(
            "dial_plan.trunk_prefix",
            &config.trunk_prefix,
            0..=4,
            "up to 4 digits (empty if the country has no trunk prefix)",
        )?;
        if trunk_prefix == international_prefix {
            return Err(Error::InvalidSetting {
                setting: "dial_plan.trunk_prefix",
                value: trunk_prefix,
                expected: "a prefix other than the international prefix",
            });
        }
        let outside_line_prefix = digits_setting(
            "dial_plan.outside_line_prefix",
            &config.outside_line_prefix,
            0..=4,
            "up to 4 digits (empty if the line dials out directly)",
        )?;
        let area = match config.area_code.as_str() {
            "" | "0" => None,
            area => {
                let area = digits_setting(
                    "dial_plan.area_code",
                    area,
                    1..=(E164_MAX_DIGITS - 1 - country.len()),
                    "digits without the trunk prefix (0 or empty: no area code)",
                )?;
                if !trunk_prefix.is_empty() && area.starts_with(&trunk_prefix) {
                    return Err(Error::InvalidSetting {
                        setting: "dial_plan.area_code",
                        value: area,
                        expected: "digits without the trunk prefix (0 or empty: no area code)",
                    });
                }
                Some(area)
            }
        };
        let extension_length = config.extension_length;
        if !(1..=8).contains(&extension_length) {
            return Err(Error::InvalidSetting {
                setting: "dial_plan.extension_length",
                value: extension_length.to_string(),
                expected: "a number of digits from 1 to 8",
            });
        }
        let max_local_length = config.max_local_length;
        if !(1..=15).contains(&max_local_length) {
            return Err(Error::InvalidSetting {
                setting: "dial_plan.max_local_length",
                value: max_local_length.to_string(),
                expected: "a number of digits from 1 to 15",
            });
        }
        Ok(DialPlan {
            country,
            area,
            international_prefix,
            trunk_prefix,
            outside_line_prefix,
            extension_length,
            max_local_length,
        })
    }

    /// The server's country code (`86`).
    pub fn country_code(&self) -> &str {
        &self.country
    }

    /// The server's area code (`755`), or `None` where its country has none.
    pub fn area_code(&self) -> Option<&str> {
        self.area.as_deref()
    }

    /// Dialled before a country code (`00`).
    pub fn international_prefix(&self) -> &str {
        &self.international_prefix
    }

    /// Dialled before an area code of the own country (`0`); may be empty.
    pub fn trunk_prefix(&self) -> &str {
        &self.trunk_prefix
    }

    /// Dialled before every outside number to get a line from the PBX (`9`); may be empty.
    pub fn outside_line_prefix(&self) -> &str {
        &self.outside_line_prefix
    }

    /// How many digits an internal extension has.
    pub fn extension_length(&self) -> u8 {
        self.extension_length
    }

    /// The most digits a local number (one written alone) may have.
    pub fn max_local_length(&self) -> u8 {
        self.max_local_length
    }

    /// What kind of call `number` is from here, what to dial for it, and its E.164 form
    /// (none for an extension).
    pub(crate) fn route(&self, number: &PhoneNumber) -> (Kind, String, Option<String>) {
        let number = match number {
            PhoneNumber::Extension(extension) => {
                return (Kind::Internal, extension.as_str().to_owned(), None);
            }
            PhoneNumber::Public(number) => number,
        };
        let area = number.area.as_deref().unwrap_or("");
        let kind = if number.country != self.country {
            Kind::International
        } else if number.area == self.area {
            Kind::Local
        } else {
            Kind::National
        };
        let mut dial = self.outside_line_prefix.clone();
        match kind {
            Kind::International => {
                dial.push_str(&self.international_prefix);
                dial.push_str(&number.country);
                dial.push_str(area);
            }
            Kind::National if number.area.is_some() => {
                dial.push_str(&self.trunk_prefix);
                dial.push_str(area);
            }
            // Local, and national numbers without an area code, are dialled as they are.
            _ => {}
        }
        dial.push_str(&number.subscriber);
        let e164 = format!("+{}{area}{}", number.country, number.subscriber);
        (kind, dial, Some(e164))
    }

    /// A number written alone: a local number, unless it shows the country or area code
    /// written into it, which is refused with the spelling the grammar wants.
    pub(crate) fn lone_number(&self, digits: &str, plus: bool) -> Result<PhoneNumber, Error> {
        if plus {
            return Err(Error::NeedsCountryCode {
                suggestion: self.suggest_from_country(digits),
            });
        }
        if let Some(rest) = digits.strip_prefix(self.international_prefix.as_str()) {
            return Err(Error::NeedsCountryCode {
                suggestion: self.suggest_from_country(rest),
            });
        }
        if !self.trunk_prefix.is_empty()
            && let Some(rest) = digits.strip_prefix(self.trunk_prefix.as_str())
        {
            return Err(Error::NeedsAreaCode {
                suggestion: self.suggest_from_area(rest),
                trunk_prefix: self.trunk_prefix.clone(),
            });
        }
        if digits.len() > usize::from(self.max_local_length) {
            if let Some(suggestion) = self.suggest_from_country(digits) {
                return Err(Error::NeedsCountryCode {
                    suggestion: Some(suggestion),
                });
            }
            if let Some(suggestion) = self.suggest_from_area(digits) {
                return Err(Error::NeedsAreaCode {
                    suggestion: Some(suggestion),
                    trunk_prefix: self.trunk_prefix.clone(),
                });
            }
            return Err(Error::LocalNumberTooLong {
                max: self.max_local_length,
            });
        }
        self.public(self.country.clone(), self.area.clone(), digits)
    }

    /// `area-number`: a number in the server's own country.
    pub(crate) fn area_number(&self, area: &str, subscriber: &str) -> Result<PhoneNumber, Error> {
        let area = self.own_country_area(area)?;
        self.public(self.country.clone(), area, subscriber)
    }

    /// `country-area-number`, where `country` may be written with `+` (`plus`) or the
    /// international prefix in front, as people copy it from letterheads.
    pub(crate) fn full_number(
        &self,
        country: &str,
        plus: bool,
        area: &str,
        subscriber: &str,
    ) -> Result<PhoneNumber, Error> {
        if !plus && country == "0" {
            if area != "0" {
                return Err(Error::CountryZeroNeedsAreaZero);
            }
            if subscriber.len() != usize::from(self.extension_length) {
                return Err(Error::ExtensionLength {
                    expected: self.extension_length,
                });
            }
            return Ok(PhoneNumber::Extension(Extension(subscriber.to_owned())));
        }
        let code = match country.strip_prefix(self.international_prefix.as_str()) {
            Some(code) if !plus => code,
            _ => country,
        };
        if code.is_empty() || code.len() > 3 || code.starts_with('0') {
            return Err(Error::InvalidCountryCode {
                written: if plus {
                    format!("+{country}")
                } else {
                    country.to_owned()
                },
            });
        }
        let area = if code == self.country {
            self.own_country_area(area)?
        } else if area == "0" {
            None
        } else {
            // Foreign area codes are kept as written: some countries (Italy) keep the
            // leading 0 after the country code, so it cannot be taken for a trunk prefix.
            Some(area.to_owned())
        };
        self.public(code.to_owned(), area, subscriber)
    }

    /// An area code of the server's own country: `0` for none; a trunk prefix written in
    /// front (`0755`, as numbers are printed nationally) is dropped.
    fn own_country_area(&self, area: &str) -> Result<Option<String>, Error> {
        if area == "0" {
            return Ok(None);
        }
        if self.trunk_prefix.is_empty() {
            return Ok(Some(area.to_owned()));
        }
        match area.strip_prefix(self.trunk_prefix.as_str()) {
            None => Ok(Some(area.to_owned())),
            // "0" left over would read back as "no area code" ("10" with trunk prefix 1).
            Some(stripped)
                if !stripped.is_empty()
                    && stripped != "0"
                    && !stripped.starts_with(&self.trunk_prefix) =>
            {
                Ok(Some(stripped.to_owned()))
            }
            Some(_) => Err(Error::InvalidAreaCode {
                written: area.to_owned(),
            }),
        }
    }

    fn public(
        &self,
        country: String,
        area: Option<String>,
        subscriber: &str,
    ) -> Result<PhoneNumber, Error> {
        let digits = country.len() + area.as_ref().map_or(0, String::len) + subscriber.len();
        if digits > E164_MAX_DIGITS {
            return Err(Error::TooManyDigits {
                max: E164_MAX_DIGITS,
            });
        }
        Ok(PhoneNumber::Public(PublicNumber {
            country,
            area,
            subscriber: subscriber.to_owned(),
        }))
    }

    /// `digits` starts with the own country code, then the own area code (if any), then a
    /// possible local number: that split, as the grammar wants it written.
    fn suggest_from_country(&self, digits: &str) -> Option<String> {
        let rest = digits.strip_prefix(self.country.as_str())?;
        match &self.area {
            Some(area) => {
                let local = rest.strip_prefix(area.as_str())?;
                self.possible_local(local)
                    .then(|| format!("{}-{area}-{local}", self.country))
            }
            None => self
                .possible_local(rest)
                .then(|| format!("{}-0-{rest}", self.country)),
        }
    }

    /// `digits` starts with the own area code, then a possible local number.
    fn suggest_from_area(&self, digits: &str) -> Option<String> {
        let area = self.area.as_deref()?;
        let local = digits.strip_prefix(area)?;
        self.possible_local(local)
            .then(|| format!("{area}-{local}"))
    }

    fn possible_local(&self, digits: &str) -> bool {
        !digits.is_empty()
            && digits.len() <= usize::from(self.max_local_length)
            && (self.trunk_prefix.is_empty() || !digits.starts_with(&self.trunk_prefix))
            && !digits.starts_with(&self.international_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> DialPlan {
        DialPlan::default()
    }

    #[test]
    fn default_plan_is_the_default_config_checked() {
        assert_eq!(DialPlan::new(&DialPlanConfig::default()).unwrap(), plan());
    }

    #[test]
    fn trunk_prefix_on_own_area_is_dropped_but_not_twice() {
        assert_eq!(
            plan().own_country_area("0755").unwrap().as_deref(),
            Some("755")
        );
        assert_eq!(plan().own_country_area("0").unwrap(), None);
        assert!(plan().own_country_area("00755").is_err());
        assert!(plan().own_country_area("0").is_ok());
    }

    #[test]
    fn suggestions_only_where_the_digits_are_unambiguous() {
        let plan = plan();
        assert_eq!(
            plan.suggest_from_area("75583235170").as_deref(),
            Some("755-83235170")
        );
        assert_eq!(plan.suggest_from_area("1066666666"), None);
        assert_eq!(plan.suggest_from_area("755"), None);
        assert_eq!(
            plan.suggest_from_country("8675583235170").as_deref(),
            Some("86-755-83235170")
        );
        assert_eq!(plan.suggest_from_country("852999999"), None);
    }
}
