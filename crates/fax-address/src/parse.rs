//! The subject grammar, read in one left-to-right scan.
//!
//! ```text
//! subject   = entry *( ";" entry )              empty entries are skipped
//! entry     = address [ "/" name1 [ "|" name2 ] ]
//! address   = number [ "|" fax-id ] | fax-id     fax-id alone: starts with a letter
//! number    = [ [ country "-" ] area "-" ] digits
//! ```
//!
//! Full-width forms (`；` `－` `／` `｜`, digits, letters) read as their ASCII forms in the
//! address; names keep what was written. Spaces around any part are ignored.
//!
//! Linear by construction: the scan visits each character once and appends it to at most
//! one field; the checks that follow each touch a field a bounded number of times, and
//! build outputs whose size is the field's plus the dial plan's prefixes. Every loop
//! counts its steps in [`Work`], so tests hold the parser to that bound rather than
//! trusting this comment.

use crate::config::AddressSettings;
use crate::error::{Error, Part, Separator};
use crate::fax_id::FaxId;
use crate::number::PhoneNumber;
use crate::recipient::{Kind, Name, Recipient};

/// One entry of a subject: a recipient, or why the entry does not make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the subject, from 0; empty entries (doubled `;`) are not counted.
    pub index: usize,
    /// The entry as written, trimmed.
    pub input: String,
    /// The recipient, or what is wrong with the entry.
    pub result: Result<Recipient, Error>,
}

/// How much work parsing a subject took, counted by the parser's own loops.
///
/// The parser promises `steps <= MAX_STEPS_PER_BYTE * bytes + MAX_STEPS_PER_ENTRY *
/// entries` for a subject of `bytes` bytes ([`Work::within_bound`]); the per-entry term
/// covers the dial plan's prefixes, which every number's dial string carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Characters scanned, and bytes checked, copied or written.
    pub steps: usize,
    /// Non-empty entries seen (including one over the maximum, where the scan stops).
    pub entries: usize,
}

impl Work {
    /// Steps allowed per byte of subject.
    pub const MAX_STEPS_PER_BYTE: usize = 12;
    /// Steps allowed per entry, on top.
    pub const MAX_STEPS_PER_ENTRY: usize = 64;

    /// Whether this work stays within the promised bound for a subject of `bytes` bytes.
    pub fn within_bound(&self, bytes: usize) -> bool {
        self.steps <= Work::MAX_STEPS_PER_BYTE * bytes + Work::MAX_STEPS_PER_ENTRY * self.entries
    }
}

/// Full-width forms (U+FF01 to U+FF5E), as Chinese input methods produce them, as their
/// ASCII originals; the ideographic space as a space.
fn fold_width(ch: char) -> char {
    match ch {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(ch) - 0xFEE0).unwrap_or(ch),
        '\u{3000}' => ' ',
        _ => ch,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Address,
    Name1,
    Name2,
}

/// The fields of the entry being scanned, as written (address folded to ASCII).
/// Reused from entry to entry, so a long subject does not allocate per entry.
struct Fields {
    section: Section,
    /// The number's parts between `-`; a fourth and later part are not kept, the dash
    /// count says they were there.
    parts: [String; 3],
    dashes: usize,
    has_bar: bool,
    fax_id: String,
    name1: String,
    name2: String,
    misplaced: Option<Separator>,
    /// Nothing but white space so far.
    blank: bool,
}

impl Fields {
    fn new() -> Fields {
        Fields {
            section: Section::Address,
            parts: Default::default(),
            dashes: 0,
            has_bar: false,
            fax_id: String::new(),
            name1: String::new(),
            name2: String::new(),
            misplaced: None,
            blank: true,
        }
    }

    fn clear(&mut self) {
        self.section = Section::Address;
        for part in &mut self.parts {
            part.clear();
        }
        self.dashes = 0;
        self.has_bar = false;
        self.fax_id.clear();
        self.name1.clear();
        self.name2.clear();
        self.misplaced = None;
        self.blank = true;
    }

    fn misplace(&mut self, separator: Separator) {
        self.misplaced.get_or_insert(separator);
    }

    /// One character of the entry (never `;`): a separator moves on to the next field,
    /// anything else is appended to the current one.
    fn push(&mut self, original: char, folded: char) {
        if !folded.is_whitespace() {
            self.blank = false;
        }
        match self.section {
            Section::Address => match folded {
                '/' => self.section = Section::Name1,
                '|' if self.has_bar => self.misplace(Separator::SecondFaxId),
                '|' => self.has_bar = true,
                '-' if !self.has_bar => self.dashes += 1,
                _ if self.has_bar => self.fax_id.push(folded),
                _ => {
                    if let Some(part) = self.parts.get_mut(self.dashes) {
                        part.push(folded);
                    }
                }
            },
            Section::Name1 => match folded {
                '/' => self.misplace(Separator::SecondSlash),
                '|' => self.section = Section::Name2,
                _ => self.name1.push(original),
            },
            Section::Name2 => match folded {
                '/' => self.misplace(Separator::SecondSlash),
                '|' => self.misplace(Separator::ThirdName),
                _ => self.name2.push(original),
            },
        }
    }
}

/// Which parts a number written with `dashes` dashes has, left to right.
fn parts_for(dashes: usize) -> &'static [Part] {
    match dashes {
        0 => &[Part::Number],
        1 => &[Part::AreaCode, Part::Number],
        _ => &[Part::CountryCode, Part::AreaCode, Part::Number],
    }
}

/// `text` as digits, or why not. `allow_plus`: a `+` may stand in front (reported back).
fn digits(
    text: &str,
    part: Part,
    allow_plus: bool,
    work: &mut Work,
) -> Result<(bool, String), Error> {
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) if allow_plus => (true, rest),
        _ => (false, text),
    };
    if rest.is_empty() {
        return Err(Error::MissingPart { part });
    }
    for character in rest.chars() {
        work.steps += 1;
        if !character.is_ascii_digit() {
            return Err(Error::InvalidCharacter { part, character });
        }
    }
    work.steps += rest.len();
    Ok((plus, rest.to_owned()))
}

impl AddressSettings {
    /// Reads a subject into its entries, each a [`Recipient`] or the reason it is not
    /// one. Only a subject with no entry at all ([`Error::EmptySubject`]) or with more
    /// than [`max_recipients`](AddressSettings::max_recipients)
    /// ([`Error::TooManyRecipients`]) is an error as a whole. The policy is not applied:
    /// see [`plan`](AddressSettings::plan).
    pub fn parse(&self, subject: &str) -> Result<Vec<Entry>, Error> {
        self.parse_with_work(subject).0
    }

    /// [`parse`](AddressSettings::parse), also reporting the work it took.
    pub fn parse_with_work(&self, subject: &str) -> (Result<Vec<Entry>, Error>, Work) {
        let mut work = Work::default();
        let result = self.scan(subject, &mut work);
        (result, work)
    }

    fn scan(&self, subject: &str, work: &mut Work) -> Result<Vec<Entry>, Error> {
        let mut entries = Vec::new();
        let mut fields = Fields::new();
        let mut start = 0;
        for (at, original) in subject.char_indices() {
            work.steps += 1;
            let folded = fold_width(original);
            if folded == ';' {
                let raw = subject.get(start..at).unwrap_or_default();
                self.finish(&mut entries, &fields, raw, work)?;
                fields.clear();
                start = at + original.len_utf8();
            } else {
                fields.push(original, folded);
            }
        }
        let raw = subject.get(start..).unwrap_or_default();
        self.finish(&mut entries, &fields, raw, work)?;
        if entries.is_empty() {
            return Err(Error::EmptySubject);
        }
        Ok(entries)
    }

    /// Ends one entry: skipped if blank, refused if one too many, else read.
    fn finish(
        &self,
        entries: &mut Vec<Entry>,
        fields: &Fields,
        raw: &str,
        work: &mut Work,
    ) -> Result<(), Error> {
        if fields.blank {
            return Ok(());
        }
        work.entries += 1;
        let input = raw.trim().to_owned();
        work.steps += 2 * raw.len();
        let index = entries.len();
        if index >= self.max_recipients {
            return Err(Error::TooManyRecipients {
                max: self.max_recipients,
                index,
                input,
            });
        }
        let result = self.recipient(fields, work);
        entries.push(Entry {
            index,
            input,
            result,
        });
        Ok(())
    }

    fn recipient(&self, fields: &Fields, work: &mut Work) -> Result<Recipient, Error> {
        if let Some(separator) = fields.misplaced {
            return Err(Error::MisplacedSeparator(separator));
        }
        let (number, fax_id) = self.address(fields, work)?;
        work.steps += 3 * (fields.name1.len() + fields.name2.len());
        let name1 = Name::new(&fields.name1)?;
        let name2 = Name::new(&fields.name2)?;
        let (kind, dial, e164) = match &number {
            Some(number) => {
                let (kind, dial, e164) = self.dial_plan.route(number);
                work.steps += dial.len() + e164.as_ref().map_or(0, String::len);
                (kind, Some(dial), e164)
            }
            None => (Kind::FaxId, None, None),
        };
        Ok(Recipient {
            number,
            fax_id,
            name1,
            name2,
            kind,
            dial,
            e164,
        })
    }

    fn address(
        &self,
        fields: &Fields,
        work: &mut Work,
    ) -> Result<(Option<PhoneNumber>, Option<FaxId>), Error> {
        if fields.dashes > 2 {
            return Err(Error::TooManyDashes);
        }
        let written = fields.parts.get(..=fields.dashes).unwrap_or_default();
        let parts: Vec<&str> = written.iter().map(|part| part.trim()).collect();
        work.steps += written.iter().map(String::len).sum::<usize>();
        let first = parts.first().copied().unwrap_or_default();
        if fields.dashes == 0
            && !fields.has_bar
            && first.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            work.steps += first.len();
            return Ok((None, Some(self.fax_id_format.parse(first)?)));
        }
        let number = self.number(&parts, fields.dashes, work)?;
        if !fields.has_bar {
            return Ok((Some(number), None));
        }
        let fax_id = fields.fax_id.trim();
        work.steps += fields.fax_id.len();
        if fax_id.is_empty() {
            return Err(Error::MissingFaxId {
                format: self.fax_id_format.clone(),
            });
        }
        Ok((Some(number), Some(self.fax_id_format.parse(fax_id)?)))
    }

    fn number(&self, parts: &[&str], dashes: usize, work: &mut Work) -> Result<PhoneNumber, Error> {
        // Checked left to right, so the message names the first wrong part as written.
        let mut checked = Vec::with_capacity(parts.len());
        for (index, (text, part)) in parts.iter().zip(parts_for(dashes)).enumerate() {
            // `+` only before a country code, or a number written alone (for the hint).
            let allow_plus = index == 0 && dashes != 1;
            checked.push(digits(text, *part, allow_plus, work)?);
        }
        match checked.as_slice() {
            [(plus, number)] => self.dial_plan.lone_number(number, *plus),
            [(_, area), (_, number)] => self.dial_plan.area_number(area, number),
            [(plus, country), (_, area), (_, number)] => {
                self.dial_plan.full_number(country, *plus, area, number)
            }
            // parts_for has one to three parts and `address` refused more dashes.
            _ => Err(Error::TooManyDashes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_forms_and_the_ideographic_space() {
        assert_eq!(fold_width('；'), ';');
        assert_eq!(fold_width('－'), '-');
        assert_eq!(fold_width('／'), '/');
        assert_eq!(fold_width('｜'), '|');
        assert_eq!(fold_width('９'), '9');
        assert_eq!(fold_width('Ａ'), 'A');
        assert_eq!(fold_width('\u{3000}'), ' ');
        assert_eq!(fold_width('金'), '金');
    }
}
