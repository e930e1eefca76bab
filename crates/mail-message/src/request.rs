//! One mail judged: the fax request it makes, or why it makes none.

use std::collections::HashSet;

use fax_address::{AddressSettings, BadEntry, Error as AddressError, Kind, Recipient};
use mail_parser::{Address, MessageParser};
use serde::Serialize;

use crate::auth::{SenderDirectory, authenticated, split_pin};
use crate::config::{IntakeConfig, OnUnconvertible};
use crate::decode::decode_header_text;
use crate::envelope::{EnvelopeRecipient, envelope_recipient};
use crate::error::Error;
use crate::lang::{Language, has_cjk};
use crate::loops::{LoopReason, header_value, header_values, loop_reason};
use crate::parts::{Document, NotFaxed, Walk, cid_references};

/// What the gateway does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// A fax request: recipients and documents are known.
    Accepted,
    /// The sender is not a user allowed to fax by mail (or failed the PIN or
    /// authentication check). Dropped without reply: the From address may be forged.
    Unauthorized,
    /// The Subject (or the fax address) names no valid recipient.
    BadSubject,
    /// Nothing to fax: no attachment.
    NoAttachment,
    /// An attachment cannot be converted to fax pages.
    Unconvertible,
    /// A bounce, automatic reply, list mail or receipt: dropped without reply.
    Ignored,
    /// The message is larger than allowed.
    TooLarge,
    /// More recipients than allowed.
    TooManyRecipients,
}

impl Verdict {
    /// The verdict as a stable name (`bad-subject`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Unauthorized => "unauthorized",
            Verdict::BadSubject => "bad-subject",
            Verdict::NoAttachment => "no-attachment",
            Verdict::Unconvertible => "unconvertible",
            Verdict::Ignored => "ignored",
            Verdict::TooLarge => "too-large",
            Verdict::TooManyRecipients => "too-many-recipients",
        }
    }

    /// Whether the sender gets a receipt explaining what to change. Unauthorized and
    /// ignored mail gets none: answering forged or automatic mail makes backscatter and
    /// loops.
    pub fn answers_sender(self) -> bool {
        !matches!(self, Verdict::Unauthorized | Verdict::Ignored)
    }
}

/// Why an unauthorized sender was refused (logged, never told to the sender).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Unauthorized {
    /// The message has no usable From address.
    NoSender,
    /// No user has this address.
    UnknownSender,
    /// The user may not fax by mail.
    NoPermission,
    /// The required PIN is missing or wrong.
    Pin,
    /// The required SPF, DKIM or DMARC result is missing.
    Authentication,
}

/// The detail behind a verdict other than accepted: what a receipt or a log says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// See [`Verdict::Ignored`].
    Ignored(LoopReason),
    /// See [`Verdict::Unauthorized`].
    Unauthorized(Unauthorized),
    /// See [`Verdict::TooLarge`].
    TooLarge {
        /// The message size in bytes.
        size: u64,
        /// The configured maximum.
        max: u64,
    },
    /// See [`Verdict::BadSubject`]: the address parser's error, as the sender reads it.
    BadSubject(AddressError),
    /// See [`Verdict::TooManyRecipients`].
    TooManyRecipients {
        /// The most recipients allowed.
        max: usize,
    },
    /// See [`Verdict::NoAttachment`].
    NoAttachment,
    /// See [`Verdict::Unconvertible`]: the parts concerned are in
    /// [`MailRequest::not_faxed`].
    Unconvertible,
}

/// A message as the gateway reads it.
#[derive(Debug, Clone)]
pub struct MailRequest {
    /// What to do with it.
    pub verdict: Verdict,
    /// The detail behind a verdict other than accepted.
    pub problem: Option<Problem>,
    /// The From address, lower case, display name dropped.
    pub sender: Option<String>,
    /// The Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The decoded Subject, PIN removed.
    pub subject: String,
    /// The language receipts to this sender are written in.
    pub language: Language,
    /// The recipients to fax, each once, in order.
    pub recipients: Vec<Recipient>,
    /// Recipients not faxed, with the reason (when the policy sends to the rest).
    pub refused: Vec<BadEntry>,
    /// Recipient addresses in the fax domain, when they gave the recipients.
    pub envelope_recipients: Vec<EnvelopeRecipient>,
    /// The documents to fax, in order of appearance, names unique.
    pub documents: Vec<Document>,
    /// Every part that is not faxed, and why.
    pub not_faxed: Vec<NotFaxed>,
    /// The message size in bytes.
    pub size: u64,
}

impl MailRequest {
    /// One line for an info-level log: the verdict and its reason, counts and sizes, and
    /// no personal data (no address, subject, number or file name), so dropped mail can
    /// be logged as the issue asks without logging who wrote to whom.
    pub fn log_line(&self) -> String {
        let reason = match &self.problem {
            None => "none".to_owned(),
            Some(Problem::Ignored(reason)) => reason.as_str().to_owned(),
            Some(Problem::Unauthorized(reason)) => match reason {
                Unauthorized::NoSender => "no-sender",
                Unauthorized::UnknownSender => "unknown-sender",
                Unauthorized::NoPermission => "no-permission",
                Unauthorized::Pin => "pin",
                Unauthorized::Authentication => "authentication",
            }
            .to_owned(),
            Some(Problem::TooLarge { .. }) => "too-large".to_owned(),
            Some(Problem::BadSubject(_)) => "bad-subject".to_owned(),
            Some(Problem::TooManyRecipients { .. }) => "too-many-recipients".to_owned(),
            Some(Problem::NoAttachment) => "no-attachment".to_owned(),
            Some(Problem::Unconvertible) => "unconvertible".to_owned(),
        };
        format!(
            "verdict={} reason={reason} recipients={} refused={} documents={} not_faxed={} bytes={}",
            self.verdict.as_str(),
            self.recipients.len(),
            self.refused.len(),
            self.documents.len(),
            self.not_faxed.len(),
            self.size,
        )
    }
}

/// What the transport knows beyond the message: the SMTP envelope, or the delivery
/// headers of a mailbox.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// `MAIL FROM` (`Some("")` for the null sender), when known.
    pub mail_from: Option<String>,
    /// `RCPT TO` addresses, when known. Without them, the To and Cc headers are read for
    /// addresses in the fax domain.
    pub rcpt_to: Vec<String>,
}

/// The intake policy, checked once: reads messages into [`MailRequest`]s.
#[derive(Debug, Clone)]
pub struct Intake {
    config: IntakeConfig,
    address: AddressSettings,
}

fn first_address(address: Option<&Address<'_>>) -> Option<String> {
    let address = address?;
    let first = match address {
        Address::List(list) => list.first()?.address.as_deref()?.to_owned(),
        Address::Group(groups) => groups
            .iter()
            .flat_map(|g| g.addresses.iter())
            .find_map(|a| a.address.as_deref())?
            .to_owned(),
    };
    let first = first.trim().to_lowercase();
    (first.contains('@') && !first.starts_with('@') && !first.ends_with('@')).then_some(first)
}

fn all_addresses(address: Option<&Address<'_>>) -> Vec<String> {
    match address {
        Some(Address::List(list)) => list
            .iter()
            .filter_map(|a| a.address.as_deref().map(str::to_owned))
            .collect(),
        Some(Address::Group(groups)) => groups
            .iter()
            .flat_map(|g| g.addresses.iter())
            .filter_map(|a| a.address.as_deref().map(str::to_owned))
            .collect(),
        None => Vec::new(),
    }
}

impl Intake {
    /// Checks the settings.
    pub fn new(config: IntakeConfig, address: AddressSettings) -> Result<Intake, Error> {
        config.validate()?;
        Ok(Intake { config, address })
    }

    /// The intake settings.
    pub fn config(&self) -> &IntakeConfig {
        &self.config
    }

    /// Reads `raw` (one message, as received) sent by way of `envelope`, for the users
    /// of `senders`. Never fails and never panics: every message gets a verdict.
    pub fn examine(
        &self,
        raw: &[u8],
        envelope: &Envelope,
        senders: &dyn SenderDirectory,
    ) -> MailRequest {
        let size = u64::try_from(raw.len()).unwrap_or(u64::MAX);
        let mut request = MailRequest {
            verdict: Verdict::Accepted,
            problem: None,
            sender: None,
            message_id: None,
            subject: String::new(),
            language: self.config.default_language,
            recipients: Vec::new(),
            refused: Vec::new(),
            envelope_recipients: Vec::new(),
            documents: Vec::new(),
            not_faxed: Vec::new(),
            size,
        };
        let refuse = |request: &mut MailRequest, verdict: Verdict, problem: Problem| {
            request.verdict = verdict;
            request.problem = Some(problem);
        };
        // A message over the limit is refused whatever it holds: its headers are enough
        // to decide whom to tell, and its body is not decoded at all.
        let too_large = size > self.config.max_message_bytes;
        let parser = MessageParser::default();
        let parsed = if too_large {
            parser.parse_headers(raw)
        } else {
            parser.parse(raw)
        };
        let Some(message) = parsed else {
            // Not a message at all: nobody to answer.
            refuse(
                &mut request,
                Verdict::Unauthorized,
                Problem::Unauthorized(Unauthorized::NoSender),
            );
            return request;
        };
        request.sender = first_address(message.from());
        request.message_id = message
            .message_id()
            .map(|id| id.trim_matches(['<', '>']).to_owned());
        let raw_subject = message
            .parts
            .first()
            .and_then(|root| {
                root.headers
                    .iter()
                    .find(|h| h.name().eq_ignore_ascii_case("Subject"))
            })
            .and_then(|h| {
                let start = usize::try_from(h.offset_start()).ok()?;
                let end = usize::try_from(h.offset_end()).ok()?;
                message.raw_message.get(start..end)
            });
        let full_subject = raw_subject.map(decode_header_text).unwrap_or_default();
        let (pin, subject_rest) = split_pin(&full_subject);
        let subject = subject_rest.trim().to_owned();
        request.subject = subject.clone();

        let mut cids = HashSet::new();
        cid_references(&message, 0, &mut cids);
        let mut walk = Walk::default();
        if too_large {
            walk.saw_report = header_value(&message, "Content-Type")
                .is_some_and(|value| value.to_ascii_lowercase().starts_with("multipart/report"));
        } else if !message.parts.is_empty() {
            walk.part(&message, 0, &cids, 0);
        }

        // Loops first: whatever else is wrong, an automatic message is never answered.
        if let Some(reason) = loop_reason(
            &message,
            envelope.mail_from.as_deref(),
            request.sender.as_deref(),
            walk.saw_report,
        ) {
            request.not_faxed = walk.not_faxed;
            request.documents = walk.documents;
            refuse(&mut request, Verdict::Ignored, Problem::Ignored(reason));
            return request;
        }

        // The language: the user's, else the message's, else the configured default.
        let content_language = header_value(&message, "Content-Language")
            .or_else(|| header_value(&message, "Accept-Language"))
            .and_then(|tag| Language::from_tag(tag.split(',').next().unwrap_or_default()));
        request.language = content_language.unwrap_or(if has_cjk(&full_subject) {
            Language::Zh
        } else {
            self.config.default_language
        });
        request.documents = walk.documents;
        request.not_faxed = walk.not_faxed;

        // Who sent it.
        let Some(sender) = request.sender.clone() else {
            refuse(
                &mut request,
                Verdict::Unauthorized,
                Problem::Unauthorized(Unauthorized::NoSender),
            );
            return request;
        };
        let Some(account) = senders.find(&sender) else {
            refuse(
                &mut request,
                Verdict::Unauthorized,
                Problem::Unauthorized(Unauthorized::UnknownSender),
            );
            return request;
        };
        if let Some(language) = account.language {
            request.language = language;
        }
        if !account.email_to_fax {
            refuse(
                &mut request,
                Verdict::Unauthorized,
                Problem::Unauthorized(Unauthorized::NoPermission),
            );
            return request;
        }
        let from_domain = sender.rsplit('@').next().unwrap_or_default();
        if !authenticated(
            self.config.require_auth,
            &self.config.trusted_authserv_ids,
            &header_values(&message, "Authentication-Results"),
            from_domain,
        ) {
            refuse(
                &mut request,
                Verdict::Unauthorized,
                Problem::Unauthorized(Unauthorized::Authentication),
            );
            return request;
        }
        let pin_needed = self.config.require_pin || account.has_pin && pin.is_some();
        if pin_needed {
            let matches = account.has_pin
                && pin
                    .as_deref()
                    .is_some_and(|pin| senders.pin_matches(&sender, pin));
            if !matches {
                refuse(
                    &mut request,
                    Verdict::Unauthorized,
                    Problem::Unauthorized(Unauthorized::Pin),
                );
                return request;
            }
        }

        if too_large {
            refuse(
                &mut request,
                Verdict::TooLarge,
                Problem::TooLarge {
                    size,
                    max: self.config.max_message_bytes,
                },
            );
            return request;
        }

        // To whom: addresses in the fax domain, else the Subject.
        let mut addresses: Vec<String> = envelope.rcpt_to.clone();
        if addresses.is_empty() {
            addresses.extend(all_addresses(message.to()));
            addresses.extend(all_addresses(message.cc()));
        }
        if let Some(domain) = &self.config.fax_domain {
            let dial_plan = self.address.dial_plan();
            request.envelope_recipients = addresses
                .iter()
                .filter_map(|a| {
                    envelope_recipient(a, domain, dial_plan.country_code(), dial_plan.area_code())
                })
                .collect();
        }
        let written = if request.envelope_recipients.is_empty() {
            subject.clone()
        } else {
            request
                .envelope_recipients
                .iter()
                .map(|r| r.entry.as_str())
                .collect::<Vec<_>>()
                .join(";")
        };
        let max_kind: Kind = account.max_kind;
        match self.address.plan(&written, max_kind) {
            Ok(plan) => {
                let limit = self.config.max_recipients.unwrap_or(usize::MAX);
                if plan.recipients.len() + plan.refused.len() > limit {
                    refuse(
                        &mut request,
                        Verdict::TooManyRecipients,
                        Problem::TooManyRecipients { max: limit },
                    );
                    return request;
                }
                request.recipients = plan.recipients;
                request.refused = plan.refused;
            }
            Err(AddressError::TooManyRecipients { max, .. }) => {
                let max = self
                    .config
                    .max_recipients
                    .map_or(max, |limit| limit.min(max));
                refuse(
                    &mut request,
                    Verdict::TooManyRecipients,
                    Problem::TooManyRecipients { max },
                );
                return request;
            }
            Err(error) => {
                refuse(
                    &mut request,
                    Verdict::BadSubject,
                    Problem::BadSubject(error),
                );
                return request;
            }
        }

        // What to fax.
        let unconvertible = request
            .not_faxed
            .iter()
            .any(|part| part.reason.is_unconvertible());
        if request.documents.is_empty() {
            if unconvertible {
                refuse(&mut request, Verdict::Unconvertible, Problem::Unconvertible);
            } else {
                refuse(&mut request, Verdict::NoAttachment, Problem::NoAttachment);
            }
            return request;
        }
        if unconvertible && self.config.on_unconvertible == OnUnconvertible::Refuse {
            refuse(&mut request, Verdict::Unconvertible, Problem::Unconvertible);
            return request;
        }
        request
    }
}
