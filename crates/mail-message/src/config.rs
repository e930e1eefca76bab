//! The `[intake]` section: what the gateway accepts from mail, and from whom.

use serde::Deserialize;

use crate::error::Error;
use crate::lang::Language;

/// Which sender authentication the gateway demands beyond the From address, which
/// anyone can forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequireAuth {
    /// The From address alone (default).
    #[default]
    None,
    /// SPF passed for an envelope sender in the From domain.
    Spf,
    /// A DKIM signature of the From domain passed.
    Dkim,
    /// DMARC passed (SPF or DKIM aligned with the From domain, as the receiving server
    /// judged it).
    Dmarc,
}

impl RequireAuth {
    /// The name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            RequireAuth::None => "none",
            RequireAuth::Spf => "spf",
            RequireAuth::Dkim => "dkim",
            RequireAuth::Dmarc => "dmarc",
        }
    }
}

/// What happens to a request some of whose attachments cannot be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnUnconvertible {
    /// Send nothing; the receipt names each attachment and why (default): a fax missing
    /// a page the sender thinks was sent is worse than no fax.
    #[default]
    Refuse,
    /// Fax the documents that convert; the receipt names the others.
    FaxRest,
}

/// The `[intake]` section of the configuration. Every key has a default; unknown keys
/// are refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct IntakeConfig {
    /// The mail domain whose addresses carry a fax number (`755-83235170@fax.example.com`,
    /// RFC 3192 `FAX=+8675583235170@fax.example.com`). Default: none, recipients come
    /// from the Subject only.
    pub fax_domain: Option<String>,
    /// Sender authentication beyond the From address (default `none`).
    pub require_auth: RequireAuth,
    /// The `authserv-id`s (RFC 8601) of this site's own mail servers, whose
    /// `Authentication-Results` headers are trusted; a header from anyone else is
    /// ignored, since a sender can write one too. Needed when `require_auth` is not `none`.
    pub trusted_authserv_ids: Vec<String>,
    /// Whether every request must carry the sender's PIN, as `PIN=1234;` at the start of
    /// the Subject (default false).
    pub require_pin: bool,
    /// The language of receipts for senders whose account and mail do not say
    /// (default `zh`).
    pub default_language: Language,
    /// What happens to a request with an attachment that cannot be converted (default
    /// `refuse`).
    pub on_unconvertible: OnUnconvertible,
    /// The largest message accepted, in bytes as received (default 25 MiB).
    pub max_message_bytes: u64,
    /// The most recipients one mail may name here; at most `[address] max_recipients`
    /// applies in any case (default: that limit alone).
    pub max_recipients: Option<usize>,
    /// Whether receipts carry the sent pages as one PDF (default false: faxes often
    /// carry private data that should not sit in mailboxes).
    pub receipt_attach_pages: bool,
}

impl Default for IntakeConfig {
    fn default() -> IntakeConfig {
        IntakeConfig {
            fax_domain: None,
            require_auth: RequireAuth::None,
            trusted_authserv_ids: Vec::new(),
            require_pin: false,
            default_language: Language::Zh,
            on_unconvertible: OnUnconvertible::Refuse,
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: None,
            receipt_attach_pages: false,
        }
    }
}

impl IntakeConfig {
    /// Checks the settings that can be wrong on their own; the error names the first.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(domain) = &self.fax_domain {
            let valid = !domain.is_empty()
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                && !domain.starts_with('.')
                && !domain.ends_with('.');
            if !valid {
                return Err(Error::InvalidSetting {
                    setting: "intake.fax_domain",
                    value: domain.clone(),
                    expected: "a mail domain such as fax.example.com",
                });
            }
        }
        if self.require_auth != RequireAuth::None && self.trusted_authserv_ids.is_empty() {
            return Err(Error::InvalidSetting {
                setting: "intake.trusted_authserv_ids",
                value: String::new(),
                expected: "the authserv-id of this site's mail server, needed when require_auth is not none",
            });
        }
        if self.max_message_bytes == 0 {
            return Err(Error::InvalidSetting {
                setting: "intake.max_message_bytes",
                value: "0".to_owned(),
                expected: "at least 1",
            });
        }
        if self.max_recipients == Some(0) {
            return Err(Error::InvalidSetting {
                setting: "intake.max_recipients",
                value: "0".to_owned(),
                expected: "at least 1",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_from_toml() {
        let config: IntakeConfig = toml::from_str(
            r#"
            fax_domain = "fax.example.com"
            require_auth = "dmarc"
            trusted_authserv_ids = ["mx.example.com"]
            require_pin = true
            default_language = "en"
            on_unconvertible = "fax-rest"
            max_message_bytes = 1048576
            max_recipients = 20
            receipt_attach_pages = true
            "#,
        )
        .expect("parses");
        assert_eq!(config.require_auth, RequireAuth::Dmarc);
        assert_eq!(config.on_unconvertible, OnUnconvertible::FaxRest);
        assert_eq!(config.default_language, Language::En);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<IntakeConfig>("fax_domian = \"x\"").is_err());
        let config: IntakeConfig = toml::from_str("require_auth = \"spf\"").expect("parses");
        assert!(
            config.validate().is_err(),
            "spf without a trusted authserv-id"
        );
        let config: IntakeConfig = toml::from_str("fax_domain = \"a b\"").expect("parses");
        assert!(config.validate().is_err());
    }
}
