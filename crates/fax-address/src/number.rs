//! Phone numbers as the grammar reads them. Built only by the parser, so every value here
//! holds ASCII digits only and fits E.164.

use std::fmt;

/// The most digits of a public number, country code included (ITU-T E.164).
pub(crate) const E164_MAX_DIGITS: usize = 15;

/// A number a recipient is reached at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PhoneNumber {
    /// An extension of the server's own phone system, written `0-0-extension`.
    Extension(Extension),
    /// A number on the public network.
    Public(PublicNumber),
}

/// An internal extension: digits, as many as the dial plan's extension length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension(pub(crate) String);

impl Extension {
    /// The digits of the extension.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A public number: country code, area code if the destination has one, and the
/// subscriber number, without any prefix (`86`, `755`, `83235170`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicNumber {
    pub(crate) country: String,
    pub(crate) area: Option<String>,
    pub(crate) subscriber: String,
}

impl PublicNumber {
    /// The country code, 1 to 3 digits, never starting with 0.
    pub fn country(&self) -> &str {
        &self.country
    }

    /// The area code, or `None` where the destination has none (written as area `0`).
    /// Never carries the server's trunk prefix.
    pub fn area(&self) -> Option<&str> {
        self.area.as_deref()
    }

    /// The subscriber number.
    pub fn subscriber(&self) -> &str {
        &self.subscriber
    }
}

impl fmt::Display for PhoneNumber {
    /// The canonical form, which the grammar reads back as the same number: always three
    /// parts, so nothing depends on the server's defaults for country and area.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneNumber::Extension(extension) => write!(f, "0-0-{}", extension.0),
            PhoneNumber::Public(number) => write!(
                f,
                "{}-{}-{}",
                number.country,
                number.area.as_deref().unwrap_or("0"),
                number.subscriber
            ),
        }
    }
}
