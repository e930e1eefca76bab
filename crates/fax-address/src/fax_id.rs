//! Fax IDs: fax accounts issued by this server (`AF90000098`).

use std::fmt;

use crate::error::Error;

/// The longest fax ID prefix a configuration may set.
const MAX_PREFIX_LEN: usize = 8;
/// The most digits a configuration may give a fax ID.
const MAX_DIGITS: u8 = 32;

/// The form of this server's fax IDs: a prefix of ASCII letters, then a fixed number of
/// digits. Checked once, when the settings are built; matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FaxIdFormat {
    /// Upper case, 1 to 8 ASCII letters; a prefix is required so a fax ID can never be
    /// mistaken for a number.
    prefix: String,
    digits: u8,
}

impl Default for FaxIdFormat {
    /// `AF` followed by 8 digits.
    fn default() -> FaxIdFormat {
        FaxIdFormat {
            prefix: "AF".to_owned(),
            digits: 8,
        }
    }
}

impl FaxIdFormat {
    /// Checks a configured format: `prefix` 1 to 8 ASCII letters (any case), `digits` 1 to
    /// 32.
    pub fn new(prefix: &str, digits: u8) -> Result<FaxIdFormat, Error> {
        if prefix.is_empty()
            || prefix.len() > MAX_PREFIX_LEN
            || !prefix.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(Error::InvalidSetting {
                setting: "fax_id.prefix",
                value: prefix.to_owned(),
                expected: "1 to 8 letters A-Z, so a fax ID never looks like a number",
            });
        }
        if digits == 0 || digits > MAX_DIGITS {
            return Err(Error::InvalidSetting {
                setting: "fax_id.digits",
                value: digits.to_string(),
                expected: "a number of digits from 1 to 32",
            });
        }
        Ok(FaxIdFormat {
            prefix: prefix.to_ascii_uppercase(),
            digits,
        })
    }

    /// The prefix, in upper case.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How many digits follow the prefix.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// A made-up fax ID of this form for messages (`AF12345678`).
    pub fn example(&self) -> String {
        let digits = (0..self.digits).map(|i| char::from(b'1' + (i % 9)));
        self.prefix.chars().chain(digits).collect()
    }

    /// Reads a fax ID: the prefix in any case, then exactly the configured number of
    /// digits, nothing else. `text` is already trimmed and folded to ASCII.
    pub fn parse(&self, text: &str) -> Result<FaxId, Error> {
        let invalid = || Error::InvalidFaxId {
            written: text.to_owned(),
            format: self.clone(),
        };
        // `get` rather than slicing: the text may hold multi-byte characters anywhere.
        let (Some(prefix), Some(digits)) =
            (text.get(..self.prefix.len()), text.get(self.prefix.len()..))
        else {
            return Err(invalid());
        };
        if !prefix.eq_ignore_ascii_case(&self.prefix)
            || digits.len() != usize::from(self.digits)
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        Ok(FaxId(format!("{}{digits}", self.prefix)))
    }
}

impl fmt::Display for FaxIdFormat {
    /// As messages describe it: `AF followed by 8 digits`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} followed by {} digits", self.prefix, self.digits)
    }
}

/// A fax ID of this server, in canonical form (prefix in upper case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaxId(String);

impl FaxId {
    /// The fax ID, prefix in upper case (`AF90000098`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_case_insensitively_and_stores_upper_case() {
        let format = FaxIdFormat::default();
        assert_eq!(format.parse("af90000098").unwrap().as_str(), "AF90000098");
        assert_eq!(format.parse("Af90000098").unwrap().as_str(), "AF90000098");
    }

    #[test]
    fn refuses_wrong_length_letters_and_multibyte_text() {
        let format = FaxIdFormat::default();
        for bad in [
            "AF9000009",
            "AF900000988",
            "AG90000098",
            "AF9000009X",
            "金恒",
            "A",
            "",
        ] {
            assert!(format.parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configured_format_is_checked_once() {
        assert_eq!(FaxIdFormat::new("fx", 6).unwrap().prefix(), "FX");
        assert!(FaxIdFormat::new("", 8).is_err());
        assert!(FaxIdFormat::new("A1", 8).is_err());
        assert!(FaxIdFormat::new("ABCDEFGHI", 8).is_err());
        assert!(FaxIdFormat::new("AF", 0).is_err());
        assert!(FaxIdFormat::new("AF", 33).is_err());
        assert_eq!(FaxIdFormat::new("FX", 3).unwrap().example(), "FX123");
    }
}
