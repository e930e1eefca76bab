//! Fax numbers carried by recipient addresses: `755-83235170@fax.example.com` (the
//! Subject grammar as the local part) and RFC 3192's
//! `FAX=+8675583235170/T33S=1234@fax.example.com` (an E.164 number, an optional
//! subaddress). Both become entries of the Subject grammar, so the same parser and
//! destination policy judge them.

use serde::Serialize;

/// A recipient address in the fax domain, and the Subject entry it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeRecipient {
    /// The address as given.
    pub address: String,
    /// The local part as a Subject entry (`86-755-83235170`).
    pub entry: String,
    /// The T.33 subaddress of an RFC 3192 address (`/T33S=1234`), if any.
    pub subaddress: Option<String>,
}

/// Country code lengths of E.164 (ITU-T E.164 Annex to Operational Bulletin): codes of
/// one digit are 1 and 7; these of two digits; every other code has three.
const TWO_DIGIT_CODES: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

fn country_code_length(digits: &str) -> usize {
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGIT_CODES.iter().any(|code| digits.starts_with(code)) {
        2
    } else {
        3
    }
}

/// An E.164 number (`+` and digits, RFC 3191 allows `-` and `.` between them) as a
/// Subject entry: `country-0-rest`, the grammar's form of a number with no area code
/// split out; the dial plan gives the same E.164 number back.
fn e164_entry(written: &str, own_country: &str, own_area: Option<&str>) -> Option<String> {
    let digits: String = written
        .strip_prefix('+')?
        .chars()
        .filter(|c| !matches!(c, '-' | '.'))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The server's own area is split out, so the number reads (and is dialled) as local.
    if let Some(rest) = digits.strip_prefix(own_country)
        && let Some(area) = own_area
        && let Some(local) = rest.strip_prefix(area)
        && !local.is_empty()
    {
        return Some(format!("{own_country}-{area}-{local}"));
    }
    let split = country_code_length(&digits).min(digits.len());
    let (country, rest) = digits.split_at(split);
    Some(format!("{country}-0-{rest}"))
}

/// The fax recipient an address in `fax_domain` stands for, or `None` if the address is
/// elsewhere. The entry may still be invalid: the grammar judges it, and the sender
/// hears why.
pub fn envelope_recipient(
    address: &str,
    fax_domain: &str,
    own_country: &str,
    own_area: Option<&str>,
) -> Option<EnvelopeRecipient> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = address.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(fax_domain) || local.is_empty() {
        return None;
    }
    let local = local.trim_matches('"');
    let (entry, subaddress) = if local.len() >= 4
        && local
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("FAX="))
    {
        // RFC 3192: FAX=global-phone, then optional /T33S=subaddress (other
        // qualifiers are not defined for fax).
        let value = local.get(4..).unwrap_or_default();
        let mut pieces = value.split('/');
        let number = pieces.next().unwrap_or_default();
        let mut subaddress = None;
        for qualifier in pieces {
            if let Some((name, value)) = qualifier.split_once('=')
                && name.eq_ignore_ascii_case("T33S")
            {
                subaddress = Some(value.to_owned());
            }
        }
        let entry = e164_entry(number, own_country, own_area).unwrap_or_else(|| number.to_owned());
        (entry, subaddress)
    } else if local.starts_with('+') {
        let entry = e164_entry(local, own_country, own_area).unwrap_or_else(|| local.to_owned());
        (entry, None)
    } else {
        // The Subject grammar itself; `/` and `|` are legal in a local part, and a
        // name after `/` rarely survives mail software, so only the address is expected.
        (local.to_owned(), None)
    };
    Some(EnvelopeRecipient {
        address: address.to_owned(),
        entry,
        subaddress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(address: &str) -> Option<String> {
        envelope_recipient(address, "fax.example.com", "86", Some("755")).map(|r| r.entry)
    }

    #[test]
    fn rfc3192_own_area_reads_as_local() {
        assert_eq!(
            entry("FAX=+8675583235170@fax.example.com").as_deref(),
            Some("86-755-83235170")
        );
    }

    #[test]
    fn rfc3192_foreign_number_splits_the_country_code() {
        assert_eq!(
            entry("fax=+1-202-555-1234@FAX.example.com").as_deref(),
            Some("1-0-2025551234")
        );
        assert_eq!(
            entry("FAX=+442079460000@fax.example.com").as_deref(),
            Some("44-0-2079460000")
        );
    }

    #[test]
    fn rfc3192_subaddress_is_kept() {
        let recipient = envelope_recipient(
            "FAX=+8675583235170/T33S=6789@fax.example.com",
            "fax.example.com",
            "86",
            Some("755"),
        );
        assert_eq!(
            recipient.and_then(|r| r.subaddress).as_deref(),
            Some("6789")
        );
    }

    #[test]
    fn grammar_local_part_passes_through() {
        assert_eq!(
            entry("755-83235170@fax.example.com").as_deref(),
            Some("755-83235170")
        );
        assert_eq!(
            entry("<83235170@fax.example.com>").as_deref(),
            Some("83235170")
        );
    }

    #[test]
    fn other_domains_are_not_fax_recipients() {
        assert_eq!(entry("83235170@example.com"), None);
        assert_eq!(entry("no-at-sign"), None);
        assert_eq!(entry("@fax.example.com"), None);
    }
}
