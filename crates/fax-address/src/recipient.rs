//! A recipient as the grammar and the dial plan leave it.

use std::fmt;

use serde::Deserialize;

use crate::error::Error;
use crate::fax_id::FaxId;
use crate::number::PhoneNumber;

/// What kind of call reaching a recipient takes, from cheapest to dearest. The order is
/// the one the policy compares with: a sender allowed `National` may also place `Local`
/// and `Internal` calls and send to fax IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A fax ID alone: an account on this server, no call is placed.
    FaxId,
    /// An extension of the server's own phone system (`0-0-123`).
    Internal,
    /// A number in the server's own area.
    Local,
    /// A number in the server's own country, outside its area.
    National,
    /// A number in another country.
    International,
}

impl Kind {
    /// The name used in JSON and configuration: `fax-id`, `internal`, `local`,
    /// `national`, `international`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FaxId => "fax-id",
            Kind::Internal => "internal",
            Kind::Local => "local",
            Kind::National => "national",
            Kind::International => "international",
        }
    }

    /// How messages to senders name destinations of this kind.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            Kind::FaxId => "fax IDs",
            Kind::Internal => "internal extensions",
            Kind::Local => "local numbers",
            Kind::National => "national numbers",
            Kind::International => "international numbers",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recipient's name (company or person): trimmed, never empty, free of the separators
/// `;` `/` `|` (ASCII or full-width) and of control characters other than white space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    /// Trims `text`; `None` when nothing is left. The scanner has already taken every
    /// separator out, so only control characters remain to refuse.
    pub(crate) fn new(text: &str) -> Result<Option<Name>, Error> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(Error::ControlCharacterInName);
        }
        Ok(Some(Name(text.to_owned())))
    }

    /// The name as written, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One recipient of a fax: where it goes (a number, a fax ID or both), who it is for,
/// and how the dial plan reaches it.
///
/// Built only by [`AddressSettings::parse`](crate::AddressSettings::parse): a number
/// or a fax ID is always present, and `kind`, `dial` and `e164` agree with the number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recipient {
    pub(crate) number: Option<PhoneNumber>,
    pub(crate) fax_id: Option<FaxId>,
    pub(crate) name1: Option<Name>,
    pub(crate) name2: Option<Name>,
    pub(crate) kind: Kind,
    pub(crate) dial: Option<String>,
    pub(crate) e164: Option<String>,
}

impl Recipient {
    /// The number, if one was given.
    pub fn phone_number(&self) -> Option<&PhoneNumber> {
        self.number.as_ref()
    }

    /// The country code of a public number (`86`).
    pub fn country(&self) -> Option<&str> {
        match &self.number {
            Some(PhoneNumber::Public(number)) => Some(number.country()),
            _ => None,
        }
    }

    /// The area code of a public number that has one (`755`).
    pub fn area(&self) -> Option<&str> {
        match &self.number {
            Some(PhoneNumber::Public(number)) => number.area(),
            _ => None,
        }
    }

    /// The subscriber number of a public number, or the digits of an extension.
    pub fn number(&self) -> Option<&str> {
        match &self.number {
            Some(PhoneNumber::Public(number)) => Some(number.subscriber()),
            Some(PhoneNumber::Extension(extension)) => Some(extension.as_str()),
            None => None,
        }
    }

    /// The fax ID, if one was given.
    pub fn fax_id(&self) -> Option<&FaxId> {
        self.fax_id.as_ref()
    }

    /// The first name (usually the company).
    pub fn name1(&self) -> Option<&Name> {
        self.name1.as_ref()
    }

    /// The second name (usually the person).
    pub fn name2(&self) -> Option<&Name> {
        self.name2.as_ref()
    }

    /// What kind of call reaches the recipient: the number's kind, or [`Kind::FaxId`]
    /// when there is no number.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// What the PBX or modem dials (outside-line, trunk and international prefixes
    /// included); `None` for a fax ID alone.
    pub fn dial(&self) -> Option<&str> {
        self.dial.as_deref()
    }

    /// The E.164 form a SIP trunk wants (`+8675583235170`); `None` for internal
    /// extensions and fax IDs alone.
    pub fn e164(&self) -> Option<&str> {
        self.e164.as_deref()
    }

    /// What makes two recipients the same destination, whatever their names: the E.164
    /// number (or the extension's digits) and the fax ID. Two spellings that dial the
    /// same line (`755-83235170`, `86-7558-3235170`) are one destination.
    pub(crate) fn destination_key(&self) -> (Option<&str>, Option<&str>) {
        // An E.164 number starts with "+", an extension never does: no clash.
        let destination = self.e164().or(self.dial());
        (destination, self.fax_id().map(FaxId::as_str))
    }
}

impl fmt::Display for Recipient {
    /// The recipient as a subject entry, in canonical form: the number with all three
    /// parts, the fax ID in upper case, the names trimmed (`86-755-83235170|AF90000098/
    /// Company|Person`). Parsing it with the same settings gives this recipient back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.number, &self.fax_id) {
            (Some(number), Some(fax_id)) => write!(f, "{number}|{fax_id}")?,
            (Some(number), None) => write!(f, "{number}")?,
            (None, Some(fax_id)) => write!(f, "{fax_id}")?,
            // Not built by the parser; written as nothing rather than failing.
            (None, None) => {}
        }
        if self.name1.is_some() || self.name2.is_some() {
            f.write_str("/")?;
            if let Some(name1) = &self.name1 {
                f.write_str(name1.as_str())?;
            }
            if let Some(name2) = &self.name2 {
                write!(f, "|{name2}")?;
            }
        }
        Ok(())
    }
}

/// Recipients as a subject, `; ` between them: the inverse of
/// [`AddressSettings::parse`](crate::AddressSettings::parse) for the same settings.
pub fn format_subject(recipients: &[Recipient]) -> String {
    let entries: Vec<String> = recipients.iter().map(Recipient::to_string).collect();
    entries.join("; ")
}
