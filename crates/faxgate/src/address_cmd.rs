//! `faxgate address parse`: a Subject read the way the gateway reads it, as JSON.

use std::path::Path;

use anyhow::{Context, Result};
use fax_address::{AddressSettings, BadEntry, Error, Kind, Recipient};
use serde::Serialize;

use crate::config::Config;

/// The address settings from `path`'s `[address]` section, or the built-in ones
/// (Shenzhen, China) without it.
pub fn load_settings(path: Option<&Path>) -> Result<AddressSettings> {
    let config = Config::load(path)?;
    AddressSettings::new(&config.address).with_context(|| match path {
        Some(path) => format!("{}: [address]", path.display()),
        None => "[address]".to_owned(),
    })
}

/// One recipient as `address parse` prints it; absent fields are `null`, never left out,
/// so scripts can rely on every key.
#[derive(Debug, Serialize)]
pub(crate) struct RecipientJson<'a> {
    country: Option<&'a str>,
    area: Option<&'a str>,
    number: Option<&'a str>,
    fax_id: Option<&'a str>,
    name1: Option<&'a str>,
    name2: Option<&'a str>,
    kind: &'static str,
    dial: Option<&'a str>,
    e164: Option<&'a str>,
}

impl<'a> From<&'a Recipient> for RecipientJson<'a> {
    fn from(recipient: &'a Recipient) -> RecipientJson<'a> {
        RecipientJson {
            country: recipient.country(),
            area: recipient.area(),
            number: recipient.number(),
            fax_id: recipient.fax_id().map(|id| id.as_str()),
            name1: recipient.name1().map(|name| name.as_str()),
            name2: recipient.name2().map(|name| name.as_str()),
            kind: recipient.kind().as_str(),
            dial: recipient.dial(),
            e164: recipient.e164(),
        }
    }
}

/// A bad recipient: what is wrong, which one (from 0), as written.
#[derive(Debug, Serialize)]
pub(crate) struct BadEntryJson<'a> {
    error: String,
    recipient_index: usize,
    input: &'a str,
}

impl<'a> From<&'a BadEntry> for BadEntryJson<'a> {
    fn from(entry: &'a BadEntry) -> BadEntryJson<'a> {
        BadEntryJson {
            error: entry.reason.to_string(),
            recipient_index: entry.index,
            input: &entry.input,
        }
    }
}

#[derive(Debug, Serialize)]
struct PlanJson<'a> {
    recipients: Vec<RecipientJson<'a>>,
    /// Only when the policy sends to the valid recipients and some were not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    refused: Vec<BadEntryJson<'a>>,
}

/// Reads `subject` with the settings of `config` for a sender allowed calls up to
/// `max_kind` (default: no per-sender limit; the configured prefix rules still apply)
/// and prints the recipients as JSON. Returns `Ok(false)`, after printing the first bad recipient, when the request
/// is refused.
pub fn parse(config: Option<&Path>, max_kind: Option<Kind>, subject: &str) -> Result<bool> {
    let settings = load_settings(config)?;
    // A parse on its own speaks for no particular sender: every valid subject reads as
    // it would for one allowed international calls. --max-kind checks a sender's limit.
    let max_kind = max_kind.unwrap_or(Kind::International);
    let json = match settings.plan(subject, max_kind) {
        Ok(plan) => serde_json::to_string(&PlanJson {
            recipients: plan.recipients.iter().map(RecipientJson::from).collect(),
            refused: plan.refused.iter().map(BadEntryJson::from).collect(),
        })?,
        Err(error) => {
            println!(
                "{}",
                serde_json::to_string(&first_bad_entry(subject, &error))?
            );
            return Ok(false);
        }
    };
    println!("{json}");
    Ok(true)
}

/// The first bad recipient of a refused request. An empty subject has no recipient: it
/// is reported as recipient 0, written as the (blank) subject.
fn first_bad_entry<'a>(subject: &'a str, error: &'a Error) -> BadEntryJson<'a> {
    if let Error::Refused { entries } = error
        && let Some(first) = entries.first()
    {
        return BadEntryJson::from(first);
    }
    match error {
        Error::TooManyRecipients { index, input, .. } => BadEntryJson {
            error: error.to_string(),
            recipient_index: *index,
            input,
        },
        _ => BadEntryJson {
            error: error.to_string(),
            recipient_index: 0,
            input: subject.trim(),
        },
    }
}
