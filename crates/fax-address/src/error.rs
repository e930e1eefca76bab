//! What can be wrong with a subject, a recipient or the settings.
//!
//! Messages about a subject go back to the person who sent the mail, in a receipt: they
//! are plain English, say what to write instead, and never use words like "token".

use std::fmt;

use crate::fax_id::FaxIdFormat;
use crate::recipient::Kind;

/// Everything that can go wrong in this crate. Each variant says whose fault it is.
///
/// Variants about one recipient reach the caller inside an [`Entry`](crate::Entry) or a
/// [`BadEntry`], next to the entry as written; their messages therefore do not repeat it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Sender: the subject names no recipient (it is empty, or only spaces and `;`).
    #[error(
        "the subject names no recipient: write the fax number in the subject, \
         for example 755-83235170/Company"
    )]
    EmptySubject,
    /// Sender: the subject names more recipients than the server's maximum. Nothing is
    /// sent, whatever [`OnBadRecipient`](crate::OnBadRecipient) says.
    #[error("too many recipients: one mail may name at most {max}")]
    TooManyRecipients {
        /// The configured maximum.
        max: usize,
        /// Position (from 0) of the first recipient over the maximum.
        index: usize,
        /// That recipient as written.
        input: String,
    },
    /// Sender or policy: recipients that cannot be sent to, and the request as a whole is
    /// refused: either [`OnBadRecipient::RefuseAll`](crate::OnBadRecipient::RefuseAll) is
    /// in force, or no recipient is left. Each entry names one bad recipient and why.
    #[error("{}", refused_message(entries))]
    Refused {
        /// The bad recipients, in subject order (never empty).
        entries: Vec<BadEntry>,
    },
    /// Sender: a character that does not belong in a number (a letter, a space inside the
    /// digits, a comma).
    #[error("{}", invalid_character_message(*part, *character))]
    InvalidCharacter {
        /// Where it was found.
        part: Part,
        /// The character as written.
        character: char,
    },
    /// Sender: a part of the address is empty (`86-755-/Company`, `|AF90000098`).
    #[error("the {part} is missing")]
    MissingPart {
        /// The part that is empty.
        part: Part,
    },
    /// Sender: more than two `-` in one number.
    #[error("too many \"-\": write the country code, area code and number, like 86-755-83235170")]
    TooManyDashes,
    /// Sender: a `/` or `|` where the grammar has no place for it.
    #[error("{0}")]
    MisplacedSeparator(Separator),
    /// Sender: a number written alone that starts with the national trunk prefix (`0`), so
    /// it cannot be a local number: the area code is written into it.
    #[error("{}", needs_area_message(suggestion.as_deref(), trunk_prefix))]
    NeedsAreaCode {
        /// The same number written the way the grammar wants (`755-83235170`), when the
        /// digits show where the area code ends (it is the server's own).
        suggestion: Option<String>,
        /// The national trunk prefix written in front.
        trunk_prefix: String,
    },
    /// Sender: a number written alone that starts with `+` or the international prefix
    /// (`00`), or holds the server's own country code: the country code is written into it.
    #[error("{}", needs_country_message(suggestion.as_deref()))]
    NeedsCountryCode {
        /// The same number written the way the grammar wants (`86-755-83235170`), when the
        /// digits show where country and area code end.
        suggestion: Option<String>,
    },
    /// Sender: a number written alone that is longer than a local number can be.
    #[error(
        "a number written alone is a local number, and a local number has at most {max} \
         digits: write the area code and number separately, like area-number"
    )]
    LocalNumberTooLong {
        /// The configured maximum length of a local number.
        max: u8,
    },
    /// Sender: a fax ID was expected (after `|`, or an address starting with a letter) and
    /// this is not one.
    #[error("\"{written}\" is not a fax ID: a fax ID is {format}, like {}", format.example())]
    InvalidFaxId {
        /// What was written, as read (full-width forms already folded).
        written: String,
        /// The fax ID format of this server.
        format: FaxIdFormat,
    },
    /// Sender: a `|` after the number with nothing behind it.
    #[error(
        "nothing follows \"|\": write the fax ID after it, like {}, or leave out the \"|\"",
        format.example()
    )]
    MissingFaxId {
        /// The fax ID format of this server.
        format: FaxIdFormat,
    },
    /// Sender: a country code that does not exist (more than 3 digits, or starting with 0).
    #[error(
        "\"{written}\" is not a country code: country codes have 1 to 3 digits and do not \
         start with 0"
    )]
    InvalidCountryCode {
        /// What was written.
        written: String,
    },
    /// Sender: an area code of the server's own country written with the trunk prefix twice
    /// (`00755`).
    #[error("\"{written}\" is not an area code")]
    InvalidAreaCode {
        /// What was written.
        written: String,
    },
    /// Sender: country code `0` with an area code other than `0`; country 0 exists only as
    /// `0-0-extension`.
    #[error(
        "country code 0 is only for extensions of this fax server's phone system, \
         written 0-0-extension"
    )]
    CountryZeroNeedsAreaZero,
    /// Sender: an internal extension (`0-0-123`) with the wrong number of digits.
    #[error("an extension of this fax server's phone system has {expected} digits")]
    ExtensionLength {
        /// The configured extension length.
        expected: u8,
    },
    /// Sender: more digits than any phone number has (E.164 allows 15, country code
    /// included).
    #[error(
        "the number is too long: a phone number has at most {max} digits, country code included"
    )]
    TooManyDigits {
        /// The maximum (15).
        max: usize,
    },
    /// Sender: a name holds a control character (other than spaces and tabs), which would
    /// end up on the fax header and in receipts.
    #[error("the name contains an invisible control character")]
    ControlCharacterInName,
    /// Policy: the sender may not place calls of this kind.
    #[error(
        "faxes to {} are not allowed for you: you may send to {} at most",
        kind.plural(),
        limit.plural()
    )]
    KindNotAllowed {
        /// The kind of call the recipient needs.
        kind: Kind,
        /// The highest kind the sender may place.
        limit: Kind,
    },
    /// Policy: the administrator has blocked numbers starting with this prefix.
    #[error("faxes to numbers starting with {prefix} are blocked by the administrator")]
    PrefixDenied {
        /// The deny rule that matched, in E.164 form (`+86900`).
        prefix: String,
    },
    /// Config: a setting the administrator gave is not usable.
    #[error("invalid setting {setting} = {value:?}: {expected}")]
    InvalidSetting {
        /// The setting, as named in the configuration (`dial_plan.country_code`).
        setting: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
}

/// One recipient that will not be sent to, and why: the unit of a refusal and of a
/// receipt's list of failed recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry {
    /// Position of the entry in the subject, from 0, counting recipients (empty entries
    /// between doubled `;` are not counted).
    pub index: usize,
    /// The entry as written, trimmed.
    pub input: String,
    /// Why it is not sent to: a grammar or dial plan error, or a policy refusal.
    pub reason: Error,
}

impl fmt::Display for BadEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\": {}", self.input, self.reason)
    }
}

/// A part of an address, as error messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Part {
    /// The country code (`86` in `86-755-83235170`).
    CountryCode,
    /// The area code (`755`).
    AreaCode,
    /// The number itself (`83235170`), or the extension in `0-0-123`.
    Number,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::CountryCode => "country code",
            Part::AreaCode => "area code",
            Part::Number => "fax number",
        })
    }
}

/// A separator written where the grammar has no place for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Separator {
    /// A second `|` between the number and the `/`: one fax ID per recipient.
    SecondFaxId,
    /// A second `|` among the names: there are two names at most.
    ThirdName,
    /// A second `/`: one `/` separates the address from the names.
    SecondSlash,
}

impl fmt::Display for Separator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Separator::SecondFaxId => {
                "only one fax ID per recipient: write number|fax ID, and separate recipients \
                 with \";\""
            }
            Separator::ThirdName => {
                "at most two names per recipient: write /company|person, and separate \
                 recipients with \";\""
            }
            Separator::SecondSlash => {
                "only one \"/\" per recipient, between the number and the names: write \
                 number/company|person, and separate recipients with \";\""
            }
        })
    }
}

fn invalid_character_message(part: Part, character: char) -> String {
    if character.is_whitespace() {
        return format!("the {part} may contain only digits, not spaces");
    }
    let hint = match character {
        // The full-width comma arrives folded to ','; the ideographic one has no ASCII form.
        ',' | '、' => ": separate recipients with \";\"",
        _ => "",
    };
    format!("the {part} may contain only digits, not \"{character}\"{hint}")
}

fn needs_area_message(suggestion: Option<&str>, trunk_prefix: &str) -> String {
    match suggestion {
        Some(suggestion) => {
            format!("write the area code and number separately: {suggestion}")
        }
        None => format!(
            "write the area code and number separately, without the \"{trunk_prefix}\" in \
             front, like area-number"
        ),
    }
}

fn needs_country_message(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(suggestion) => {
            format!("write the country code, area code and number separately: {suggestion}")
        }
        None => "write the country code, area code and number separately, like \
                 country-area-number (area 0 if there is none)"
            .to_owned(),
    }
}

fn refused_message(entries: &[BadEntry]) -> String {
    let mut message = match entries.len() {
        1 => "1 recipient cannot be sent to, so nothing was sent: ".to_owned(),
        n => format!("{n} recipients cannot be sent to, so nothing was sent: "),
    };
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            message.push_str("; ");
        }
        message.push_str(&entry.to_string());
    }
    message
}
