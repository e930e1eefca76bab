//! Who may fax: the From address must belong to a user with the email-to-fax
//! permission; optionally the sender's PIN in the Subject, and the verdict of this site's
//! own mail server on SPF, DKIM or DMARC (`Authentication-Results`, RFC 8601).
//!
//! The checks are not done here (that needs DNS): the receiving mail server does them
//! and writes its verdict into the message. Only headers under an `authserv-id` the
//! administrator trusts count; that server must remove headers claiming its id from
//! incoming mail (Postfix with OpenDKIM/OpenDMARC does), as RFC 8601 section 5 asks.

use fax_address::Kind;

use crate::config::RequireAuth;
use crate::lang::Language;

/// What the gateway knows of a sender's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderAccount {
    /// Whether the user may send faxes by mail.
    pub email_to_fax: bool,
    /// The highest kind of call the user may place.
    pub max_kind: Kind,
    /// The user's language, for receipts.
    pub language: Option<Language>,
    /// Whether the user has a PIN.
    pub has_pin: bool,
}

/// The user accounts, as the caller's store holds them (this crate has no database).
pub trait SenderDirectory {
    /// The account of the user one of whose addresses is `address` (lower case).
    fn find(&self, address: &str) -> Option<SenderAccount>;
    /// Whether `pin` is the PIN of the user with `address`.
    fn pin_matches(&self, address: &str, pin: &str) -> bool;
}

/// A directory with no users: every sender is unauthorized.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoUsers;

impl SenderDirectory for NoUsers {
    fn find(&self, _address: &str) -> Option<SenderAccount> {
        None
    }
    fn pin_matches(&self, _address: &str, _pin: &str) -> bool {
        false
    }
}

/// A PIN at the start of the Subject: `PIN=1234;` (any case, full-width forms as input
/// methods write them, spaces around). Returns the PIN and the rest of the Subject.
pub fn split_pin(subject: &str) -> (Option<String>, &str) {
    let trimmed = subject.trim_start();
    let mut chars = trimmed.char_indices();
    let mut matched = String::new();
    let mut end_of_prefix = None;
    for (at, ch) in chars.by_ref() {
        let folded = fold(ch);
        matched.push(folded.to_ascii_uppercase());
        if matched.len() == 4 {
            end_of_prefix = Some(at + ch.len_utf8());
            break;
        }
    }
    let Some(prefix_end) = end_of_prefix.filter(|_| matched == "PIN=") else {
        return (None, subject);
    };
    let rest = trimmed.get(prefix_end..).unwrap_or_default();
    let Some((pin_part, after)) =
        rest.char_indices()
            .find(|&(_, c)| fold(c) == ';')
            .map(|(at, c)| {
                (
                    rest.get(..at).unwrap_or_default(),
                    rest.get(at + c.len_utf8()..).unwrap_or_default(),
                )
            })
    else {
        return (None, subject);
    };
    let pin: String = pin_part.trim().chars().map(fold).collect();
    if pin.is_empty() || !pin.chars().all(|c| c.is_ascii_digit()) {
        return (None, subject);
    }
    (Some(pin), after)
}

fn fold(ch: char) -> char {
    match ch {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(ch) - 0xFEE0).unwrap_or(ch),
        _ => ch,
    }
}

/// `domain` is `from_domain` or related to it as parent or subdomain: a relaxed
/// alignment without the public suffix list, strict enough that an unrelated domain
/// never aligns.
fn aligned(domain: &str, from_domain: &str) -> bool {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let from_domain = from_domain
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if domain.is_empty() || !domain.contains('.') {
        return false;
    }
    domain == from_domain
        || from_domain.ends_with(&format!(".{domain}"))
        || domain.ends_with(&format!(".{from_domain}"))
}

/// Whether the trusted `Authentication-Results` headers show what `required` asks for
/// the From domain.
pub(crate) fn authenticated(
    required: RequireAuth,
    trusted_ids: &[String],
    headers: &[String],
    from_domain: &str,
) -> bool {
    if required == RequireAuth::None {
        return true;
    }
    for header in headers {
        let mut clauses = header.split(';');
        let authserv = clauses
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or_default();
        if !trusted_ids
            .iter()
            .any(|id| id.eq_ignore_ascii_case(authserv))
        {
            continue;
        }
        for clause in clauses {
            let mut words = clause.split_whitespace();
            let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else {
                continue;
            };
            if !result.eq_ignore_ascii_case("pass") {
                continue;
            }
            let properties: Vec<(String, String)> = words
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.trim_matches('"').to_owned()))
                .collect();
            let property_domain = |names: &[&str]| {
                properties
                    .iter()
                    .find(|(k, _)| names.contains(&k.as_str()))
                    .map(|(_, v)| v.rsplit('@').next().unwrap_or_default().to_owned())
            };
            let ok = match (required, method.to_ascii_lowercase().as_str()) {
                (RequireAuth::Spf, "spf") => property_domain(&["smtp.mailfrom", "smtp.helo"])
                    .is_some_and(|d| aligned(&d, from_domain)),
                (RequireAuth::Dkim, "dkim") => property_domain(&["header.d", "header.i"])
                    .is_some_and(|d| aligned(&d, from_domain)),
                (RequireAuth::Dmarc, "dmarc") => {
                    property_domain(&["header.from"]).is_none_or(|d| aligned(&d, from_domain))
                }
                _ => false,
            };
            if ok {
                return true;
            }
        }
        // Only the topmost trusted header counts: it is the one this site's server added.
        return false;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_prefix_is_split_off() {
        assert_eq!(
            split_pin("PIN=1234;755-83235170"),
            (Some("1234".to_owned()), "755-83235170")
        );
        assert_eq!(split_pin(" pin = 1234 ; 755"), (None, " pin = 1234 ; 755"));
        assert_eq!(
            split_pin("pin=1234 ; 755"),
            (Some("1234".to_owned()), " 755")
        );
        assert_eq!(
            split_pin("ＰＩＮ＝１２３４；755"),
            (Some("1234".to_owned()), "755")
        );
        assert_eq!(split_pin("755-83235170"), (None, "755-83235170"));
        assert_eq!(split_pin("PIN=12a4;755"), (None, "PIN=12a4;755"));
        assert_eq!(split_pin("PIN"), (None, "PIN"));
    }

    #[test]
    fn only_trusted_results_count() {
        let headers = vec![
            "mx.example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"
                .to_owned(),
        ];
        let trusted = vec!["mx.example.com".to_owned()];
        assert!(authenticated(
            RequireAuth::Dkim,
            &trusted,
            &headers,
            "example.com"
        ));
        assert!(authenticated(
            RequireAuth::Dmarc,
            &trusted,
            &headers,
            "example.com"
        ));
        assert!(!authenticated(
            RequireAuth::Spf,
            &trusted,
            &headers,
            "example.com"
        ));
        assert!(!authenticated(
            RequireAuth::Dkim,
            &trusted,
            &headers,
            "evil.example"
        ));
        let other = vec!["mx.evil.example".to_owned()];
        assert!(!authenticated(
            RequireAuth::Dkim,
            &other,
            &headers,
            "example.com"
        ));
        assert!(authenticated(RequireAuth::None, &other, &[], "example.com"));
    }

    #[test]
    fn alignment_is_relaxed_but_not_loose() {
        assert!(aligned("mail.example.com", "example.com"));
        assert!(aligned("example.com", "sub.example.com"));
        assert!(!aligned("badexample.com", "example.com"));
        assert!(!aligned("com", "example.com"));
    }
}
