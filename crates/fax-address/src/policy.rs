//! The destination policy: which recipients a sender may reach, and what becomes of a
//! request with bad recipients. Fax gateways are a classic target of toll fraud, so the
//! checks here run on every recipient before anything is dialled.

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

use crate::config::{AddressSettings, OnBadRecipient, PolicyConfig};
use crate::error::{BadEntry, Error};
use crate::number::E164_MAX_DIGITS;
use crate::recipient::{Kind, Recipient};

/// Who may send where, checked once from a [`PolicyConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    default_max_kind: Kind,
    /// E.164 digits without `+`, and whether numbers starting with them may be dialled.
    rules: Vec<(String, bool)>,
    on_bad_recipient: OnBadRecipient,
}

impl Default for Policy {
    /// The settings of [`PolicyConfig::default`]: national calls at most, no prefix
    /// rules, refuse the whole request on any bad recipient.
    fn default() -> Policy {
        Policy {
            default_max_kind: Kind::National,
            rules: Vec::new(),
            on_bad_recipient: OnBadRecipient::RefuseAll,
        }
    }
}

fn prefix_digits(setting: &'static str, prefix: &str) -> Result<String, Error> {
    match prefix.strip_prefix('+') {
        Some(digits)
            if digits.len() <= E164_MAX_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(digits.to_owned())
        }
        _ => Err(Error::InvalidSetting {
            setting,
            value: prefix.to_owned(),
            expected: "\"+\" and the first digits of E.164 numbers, like \"+86900\"",
        }),
    }
}

impl Policy {
    /// Checks the prefix lists: each entry `+` and up to 15 digits (`+` alone matches
    /// every public number), no prefix both allowed and denied.
    pub fn new(config: &PolicyConfig) -> Result<Policy, Error> {
        let mut rules = Vec::new();
        for prefix in &config.deny_prefixes {
            rules.push((prefix_digits("policy.deny_prefixes", prefix)?, false));
        }
        for prefix in &config.allow_prefixes {
            let digits = prefix_digits("policy.allow_prefixes", prefix)?;
            if rules
                .iter()
                .any(|(denied, allow)| !allow && *denied == digits)
            {
                return Err(Error::InvalidSetting {
                    setting: "policy.allow_prefixes",
                    value: prefix.clone(),
                    expected: "a prefix that is not also in deny_prefixes",
                });
            }
            rules.push((digits, true));
        }
        Ok(Policy {
            default_max_kind: config.default_max_kind,
            rules,
            on_bad_recipient: config.on_bad_recipient,
        })
    }

    /// The highest kind of call for senders whose account does not say.
    pub fn default_max_kind(&self) -> Kind {
        self.default_max_kind
    }

    /// What happens to a request with bad recipients.
    pub fn on_bad_recipient(&self) -> OnBadRecipient {
        self.on_bad_recipient
    }

    /// Whether a sender allowed calls up to `max_kind` may send to `recipient`. The
    /// kind is checked first, then the longest matching prefix rule on the E.164 number.
    /// Extensions and fax IDs alone have no E.164 number and only the kind applies.
    pub fn check(&self, recipient: &Recipient, max_kind: Kind) -> Result<(), Error> {
        if recipient.kind() > max_kind {
            return Err(Error::KindNotAllowed {
                kind: recipient.kind(),
                limit: max_kind,
            });
        }
        let Some(digits) = recipient.e164().and_then(|e164| e164.strip_prefix('+')) else {
            return Ok(());
        };
        let longest = self
            .rules
            .iter()
            .filter(|(prefix, _)| digits.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len());
        match longest {
            Some((prefix, false)) => Err(Error::PrefixDenied {
                prefix: format!("+{prefix}"),
            }),
            _ => Ok(()),
        }
    }
}

/// What to do with one subject: the recipients to send to (each destination once, in
/// subject order) and the bad entries, which the receipt names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The recipients to send to; never empty.
    pub recipients: Vec<Recipient>,
    /// Recipients not sent to, with the reason. Empty unless the policy says
    /// [`OnBadRecipient::SendToValid`].
    pub refused: Vec<BadEntry>,
}

// A fixed hasher keeps this crate deterministic; the number of recipients is bounded by
// the settings, so hash flooding has nothing to gain.
type FixedState = BuildHasherDefault<DefaultHasher>;

impl AddressSettings {
    /// Reads a subject and applies the policy for a sender allowed calls up to
    /// `max_kind` (their account's limit, or [`Policy::default_max_kind`]).
    ///
    /// Destinations named twice are sent once, under the names first given. Bad entries
    /// (wrong grammar, or refused by the policy) refuse the whole request as
    /// [`Error::Refused`], naming each, unless the policy says
    /// [`OnBadRecipient::SendToValid`] and a valid recipient is left. An empty subject or
    /// too many recipients refuse the request in any case.
    pub fn plan(&self, subject: &str, max_kind: Kind) -> Result<Plan, Error> {
        let entries = self.parse(subject)?;
        let mut recipients: Vec<Recipient> = Vec::new();
        let mut refused = Vec::new();
        let mut seen: HashSet<(Option<String>, Option<String>), FixedState> = HashSet::default();
        for entry in entries {
            let checked = entry
                .result
                .and_then(|recipient| self.policy.check(&recipient, max_kind).map(|()| recipient));
            match checked {
                Ok(recipient) => {
                    let (destination, fax_id) = recipient.destination_key();
                    let key = (destination.map(str::to_owned), fax_id.map(str::to_owned));
                    if seen.insert(key) {
                        recipients.push(recipient);
                    }
                }
                Err(reason) => refused.push(BadEntry {
                    index: entry.index,
                    input: entry.input,
                    reason,
                }),
            }
        }
        if !refused.is_empty()
            && (self.policy.on_bad_recipient == OnBadRecipient::RefuseAll || recipients.is_empty())
        {
            return Err(Error::Refused { entries: refused });
        }
        Ok(Plan {
            recipients,
            refused,
        })
    }
}
