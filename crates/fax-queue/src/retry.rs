//! The retry policy: what to do with a delivery after a call, as a pure function.
//!
//! `decide(policy, delivery, outcome, now)` reads nothing but its arguments, so every
//! rule here is tested without a database or a clock. The defaults follow HylaFAX, the
//! fax server most installations know: a busy line is tried again after 3 minutes, no
//! answer and dropped lines after 5, a failed fax session after 1 minute; at most 12
//! calls and 3 failed fax sessions per job, and nothing after 3 hours.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::Error;
use crate::model::Timestamp;

/// How a call ended, grouped by what the scheduler should do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeClass {
    /// Every page confirmed.
    Sent,
    /// The number was busy.
    Busy,
    /// Nobody answered, or no fax machine did.
    NoAnswer,
    /// The call was refused (SIP 403/603, a rejecting exchange).
    Rejected,
    /// The number does not exist or cannot be dialled.
    InvalidNumber,
    /// A fax machine answered but the fax session failed (training, protocol, hang-up,
    /// unreadable pages). Pages it confirmed need not be sent again.
    FaxFailure,
    /// The two machines have no mode in common: calling again cannot help.
    Incompatible,
    /// Our document could not be turned into pages for this receiver.
    Document,
    /// Our side could not call: the line, trunk or network was down.
    LineDown,
    /// The worker died or lost its lease during the call; what happened is unknown.
    Interrupted,
}

impl OutcomeClass {
    /// The class of a finished T.30 session.
    ///
    /// `NoAnswer` (no DIS before T1) means no fax machine answered, which HylaFAX files
    /// with "no carrier"; a receiver that is not ready (out of paper) is worth calling
    /// again, so it is a fax failure rather than a refusal.
    pub fn from_t30(status: fax_t30::Status) -> OutcomeClass {
        use fax_t30::Status;
        match status {
            Status::Ok => OutcomeClass::Sent,
            Status::NoAnswer => OutcomeClass::NoAnswer,
            Status::Incompatible => OutcomeClass::Incompatible,
            Status::Document => OutcomeClass::Document,
            Status::TrainingFailed
            | Status::NoResponse
            | Status::PageRejected
            | Status::RemoteDisconnected
            | Status::Protocol
            | Status::NoCommand
            | Status::PageTooLarge
            | Status::NotReceiving => OutcomeClass::FaxFailure,
            // A status added to the engine later: calling again is the safe guess.
            _ => OutcomeClass::FaxFailure,
        }
    }

    /// The class of a SIP final response that ended call set-up (RFC 3261 codes).
    pub fn from_sip(code: u16) -> OutcomeClass {
        match code {
            200..=299 => OutcomeClass::Sent,
            486 | 600 => OutcomeClass::Busy,
            408 | 480 | 487 => OutcomeClass::NoAnswer,
            403 | 603 => OutcomeClass::Rejected,
            404 | 410 | 484 | 485 | 604 => OutcomeClass::InvalidNumber,
            488 | 606 => OutcomeClass::Incompatible,
            _ => OutcomeClass::LineDown,
        }
    }

    /// Whether a fax machine took part: such failures count against `max_tries`.
    pub fn reached_fax(self) -> bool {
        matches!(
            self,
            OutcomeClass::Sent | OutcomeClass::FaxFailure | OutcomeClass::Incompatible
        )
    }

    /// The name used in storage, the config and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeClass::Sent => "sent",
            OutcomeClass::Busy => "busy",
            OutcomeClass::NoAnswer => "no-answer",
            OutcomeClass::Rejected => "rejected",
            OutcomeClass::InvalidNumber => "invalid-number",
            OutcomeClass::FaxFailure => "fax-failure",
            OutcomeClass::Incompatible => "incompatible",
            OutcomeClass::Document => "document",
            OutcomeClass::LineDown => "line-down",
            OutcomeClass::Interrupted => "interrupted",
        }
    }
}

impl FromStr for OutcomeClass {
    type Err = Error;
    fn from_str(text: &str) -> Result<OutcomeClass, Error> {
        [
            OutcomeClass::Sent,
            OutcomeClass::Busy,
            OutcomeClass::NoAnswer,
            OutcomeClass::Rejected,
            OutcomeClass::InvalidNumber,
            OutcomeClass::FaxFailure,
            OutcomeClass::Incompatible,
            OutcomeClass::Document,
            OutcomeClass::LineDown,
            OutcomeClass::Interrupted,
        ]
        .into_iter()
        .find(|class| class.as_str() == text)
        .ok_or_else(|| Error::Invalid {
            what: "outcome class",
            value: text.to_owned(),
        })
    }
}

impl fmt::Display for OutcomeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one call achieved, as the retry policy needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOutcome {
    /// How it ended.
    pub class: OutcomeClass,
    /// Pages the receiver confirmed in this call, counted from the page it started at.
    pub pages_confirmed: u32,
}

/// Where a delivery stands, as the retry policy needs it (after the call is counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryState {
    /// Calls made in this window, the one just finished included.
    pub dials: u32,
    /// Failed fax sessions in this window, the one just finished included.
    pub tries: u32,
    /// The first page not yet confirmed before this call (0-based).
    pub resume_page: u32,
    /// Pages in the document, if known.
    pub total_pages: Option<u32>,
    /// When the window of the limits started (enqueued, or retried by hand).
    pub window_start: Timestamp,
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every page is confirmed: the delivery is sent.
    Done,
    /// Call again at `at`, starting with page `resume_page` (0-based).
    RetryAt {
        /// Not before this time.
        at: Timestamp,
        /// The first page not yet confirmed.
        resume_page: u32,
    },
    /// Stop trying.
    GiveUp {
        /// Why, in words for the sender's receipt.
        reason: String,
    },
}

/// What to do after one outcome class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassRule {
    /// Whether to call again at all.
    pub retry: bool,
    /// How long to wait first.
    pub delay: Duration,
}

/// The retry policy, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// After a busy line.
    pub busy: ClassRule,
    /// After no answer.
    pub no_answer: ClassRule,
    /// After a refused call.
    pub rejected: ClassRule,
    /// After an invalid number.
    pub invalid_number: ClassRule,
    /// After a failed fax session (resending from the first unconfirmed page).
    pub fax_failure: ClassRule,
    /// After no common mode.
    pub incompatible: ClassRule,
    /// After the line or network was down on our side.
    pub line_down: ClassRule,
    /// After a worker died mid-call.
    pub interrupted: ClassRule,
    /// Calls per delivery (HylaFAX's MaxDials).
    pub max_dials: u32,
    /// Failed fax sessions per delivery (HylaFAX's MaxTries).
    pub max_tries: u32,
    /// No call starts later than this after the delivery was queued (HylaFAX's kill time).
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryConfig::default()
            .validate()
            .unwrap_or_else(|_| unreachable!("the default retry config is valid"))
    }
}

impl RetryPolicy {
    /// The rule for `class`; `None` for classes that are never retried by nature (sent,
    /// a document we cannot render).
    pub fn rule(&self, class: OutcomeClass) -> Option<ClassRule> {
        match class {
            OutcomeClass::Sent | OutcomeClass::Document => None,
            OutcomeClass::Busy => Some(self.busy),
            OutcomeClass::NoAnswer => Some(self.no_answer),
            OutcomeClass::Rejected => Some(self.rejected),
            OutcomeClass::InvalidNumber => Some(self.invalid_number),
            OutcomeClass::FaxFailure => Some(self.fax_failure),
            OutcomeClass::Incompatible => Some(self.incompatible),
            OutcomeClass::LineDown => Some(self.line_down),
            OutcomeClass::Interrupted => Some(self.interrupted),
        }
    }
}

/// Decides what follows a call. `state` already counts the call that just ended.
pub fn decide(
    policy: &RetryPolicy,
    state: &RetryState,
    outcome: &CallOutcome,
    now: Timestamp,
) -> Decision {
    let confirmed = state.resume_page.saturating_add(outcome.pages_confirmed);
    let resume_page = match state.total_pages {
        Some(total) => confirmed.min(total),
        None => confirmed,
    };
    let all_confirmed = state.total_pages.is_some_and(|total| resume_page >= total);
    // The receiver confirmed the last page: the fax got through, whatever broke after.
    if outcome.class == OutcomeClass::Sent || all_confirmed {
        return Decision::Done;
    }
    let give_up = |reason: String| Decision::GiveUp { reason };
    let Some(rule) = policy.rule(outcome.class) else {
        return give_up(format!("{}: not retried", outcome.class));
    };
    if !rule.retry {
        return give_up(format!("{}: not retried", outcome.class));
    }
    if state.dials >= policy.max_dials {
        return give_up(format!(
            "{}: gave up after {} calls",
            outcome.class, state.dials
        ));
    }
    if outcome.class.reached_fax() && state.tries >= policy.max_tries {
        return give_up(format!(
            "{}: gave up after {} failed fax sessions",
            outcome.class, state.tries
        ));
    }
    let at = now.plus(rule.delay);
    let deadline = state.window_start.plus(policy.max_total);
    if at > deadline {
        return give_up(format!(
            "{}: no time left to call again (limit {} minutes)",
            outcome.class,
            policy.max_total.as_secs() / 60
        ));
    }
    Decision::RetryAt { at, resume_page }
}

/// One class's rule as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRuleConfig {
    /// Whether to call again.
    pub retry: bool,
    /// Seconds to wait first.
    #[serde(default)]
    pub delay_seconds: u64,
}

impl ClassRuleConfig {
    const fn after(seconds: u64) -> ClassRuleConfig {
        ClassRuleConfig {
            retry: true,
            delay_seconds: seconds,
        }
    }

    const NEVER: ClassRuleConfig = ClassRuleConfig {
        retry: false,
        delay_seconds: 0,
    };
}

/// The `[retry]` section of the config; every field has the default noted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Default: retry after 180 s (HylaFAX JobReqBusy).
    pub busy: ClassRuleConfig,
    /// Default: retry after 300 s (JobReqNoAnswer).
    pub no_answer: ClassRuleConfig,
    /// Default: no retry.
    pub rejected: ClassRuleConfig,
    /// Default: no retry.
    pub invalid_number: ClassRuleConfig,
    /// Default: retry after 60 s (JobReqProto), from the first unconfirmed page.
    pub fax_failure: ClassRuleConfig,
    /// Default: no retry.
    pub incompatible: ClassRuleConfig,
    /// Default: retry after 300 s (JobReqNoCarrier).
    pub line_down: ClassRuleConfig,
    /// Default: retry at once.
    pub interrupted: ClassRuleConfig,
    /// Default: 12 (MaxDials).
    pub max_dials: u32,
    /// Default: 3 (MaxTries).
    pub max_tries: u32,
    /// Default: 10800 s, 3 hours (sendfax's kill time).
    pub max_total_seconds: u64,
}

impl Default for RetryConfig {
    fn default() -> RetryConfig {
        RetryConfig {
            busy: ClassRuleConfig::after(180),
            no_answer: ClassRuleConfig::after(300),
            rejected: ClassRuleConfig::NEVER,
            invalid_number: ClassRuleConfig::NEVER,
            fax_failure: ClassRuleConfig::after(60),
            incompatible: ClassRuleConfig::NEVER,
            line_down: ClassRuleConfig::after(300),
            interrupted: ClassRuleConfig::after(0),
            max_dials: 12,
            max_tries: 3,
            max_total_seconds: 3 * 3600,
        }
    }
}

impl RetryConfig {
    /// Checks the section and turns it into a policy.
    pub fn validate(&self) -> Result<RetryPolicy, Error> {
        let config_error = |reason: &str| Error::Config(format!("[retry] {reason}"));
        if self.max_dials == 0 {
            return Err(config_error("max_dials must be at least 1"));
        }
        if self.max_tries == 0 {
            return Err(config_error("max_tries must be at least 1"));
        }
        // A week: past that a fax is no longer news, and the sums stay far from overflow.
        const WEEK: u64 = 7 * 24 * 3600;
        if self.max_total_seconds == 0 || self.max_total_seconds > WEEK {
            return Err(config_error(
                "max_total_seconds must be between 1 and 604800",
            ));
        }
        let rules = [
            self.busy,
            self.no_answer,
            self.rejected,
            self.invalid_number,
            self.fax_failure,
            self.incompatible,
            self.line_down,
            self.interrupted,
        ];
        if rules.iter().any(|rule| rule.delay_seconds > WEEK) {
            return Err(config_error("delay_seconds must be at most 604800"));
        }
        let rule = |config: ClassRuleConfig| ClassRule {
            retry: config.retry,
            delay: Duration::from_secs(config.delay_seconds),
        };
        Ok(RetryPolicy {
            busy: rule(self.busy),
            no_answer: rule(self.no_answer),
            rejected: rule(self.rejected),
            invalid_number: rule(self.invalid_number),
            fax_failure: rule(self.fax_failure),
            incompatible: rule(self.incompatible),
            line_down: rule(self.line_down),
            interrupted: rule(self.interrupted),
            max_dials: self.max_dials,
            max_tries: self.max_tries,
            max_total: Duration::from_secs(self.max_total_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn state(dials: u32, tries: u32) -> RetryState {
        RetryState {
            dials,
            tries,
            resume_page: 0,
            total_pages: Some(5),
            window_start: Timestamp(0),
        }
    }

    fn outcome(class: OutcomeClass, pages: u32) -> CallOutcome {
        CallOutcome {
            class,
            pages_confirmed: pages,
        }
    }

    #[test]
    fn busy_is_retried_after_three_minutes_by_default() {
        let decision = decide(
            &RetryPolicy::default(),
            &state(1, 0),
            &outcome(OutcomeClass::Busy, 0),
            Timestamp(MINUTE),
        );
        assert_eq!(
            decision,
            Decision::RetryAt {
                at: Timestamp(4 * MINUTE),
                resume_page: 0
            }
        );
    }

    #[test]
    fn rejected_and_invalid_numbers_are_not_retried() {
        for class in [OutcomeClass::Rejected, OutcomeClass::InvalidNumber] {
            let decision = decide(
                &RetryPolicy::default(),
                &state(1, 0),
                &outcome(class, 0),
                Timestamp(0),
            );
            assert!(matches!(decision, Decision::GiveUp { .. }), "{class}");
        }
    }

    #[test]
    fn fax_failure_resends_from_the_first_unconfirmed_page() {
        let mut before = state(2, 1);
        before.resume_page = 1;
        let decision = decide(
            &RetryPolicy::default(),
            &before,
            &outcome(OutcomeClass::FaxFailure, 2),
            Timestamp(0),
        );
        assert_eq!(
            decision,
            Decision::RetryAt {
                at: Timestamp(MINUTE),
                resume_page: 3
            }
        );
    }

    #[test]
    fn a_failure_after_the_last_page_was_confirmed_is_done() {
        let decision = decide(
            &RetryPolicy::default(),
            &state(1, 1),
            &outcome(OutcomeClass::FaxFailure, 5),
            Timestamp(0),
        );
        assert_eq!(decision, Decision::Done);
    }

    #[test]
    fn third_failed_fax_session_gives_up() {
        let decision = decide(
            &RetryPolicy::default(),
            &state(3, 3),
            &outcome(OutcomeClass::FaxFailure, 0),
            Timestamp(0),
        );
        assert!(
            matches!(decision, Decision::GiveUp { reason } if reason.contains("3 failed fax sessions"))
        );
    }

    #[test]
    fn no_call_is_planned_past_the_total_time() {
        let decision = decide(
            &RetryPolicy::default(),
            &state(1, 0),
            &outcome(OutcomeClass::NoAnswer, 0),
            Timestamp(178 * MINUTE),
        );
        assert!(matches!(decision, Decision::GiveUp { reason } if reason.contains("no time left")));
    }

    #[test]
    fn t30_statuses_map_to_classes() {
        use fax_t30::Status;
        assert_eq!(OutcomeClass::from_t30(Status::Ok), OutcomeClass::Sent);
        assert_eq!(
            OutcomeClass::from_t30(Status::NoAnswer),
            OutcomeClass::NoAnswer
        );
        assert_eq!(
            OutcomeClass::from_t30(Status::Incompatible),
            OutcomeClass::Incompatible
        );
        assert_eq!(
            OutcomeClass::from_t30(Status::Document),
            OutcomeClass::Document
        );
        for status in [
            Status::TrainingFailed,
            Status::NoResponse,
            Status::PageRejected,
            Status::RemoteDisconnected,
            Status::Protocol,
            Status::NotReceiving,
        ] {
            assert_eq!(
                OutcomeClass::from_t30(status),
                OutcomeClass::FaxFailure,
                "{status}"
            );
        }
        assert_eq!(OutcomeClass::from_sip(486), OutcomeClass::Busy);
        assert_eq!(OutcomeClass::from_sip(404), OutcomeClass::InvalidNumber);
        assert_eq!(OutcomeClass::from_sip(603), OutcomeClass::Rejected);
        assert_eq!(OutcomeClass::from_sip(503), OutcomeClass::LineDown);
    }

    #[test]
    fn config_limits_are_checked() {
        let zero_dials = RetryConfig {
            max_dials: 0,
            ..RetryConfig::default()
        };
        assert!(zero_dials.validate().is_err());
        let long_delay = RetryConfig {
            busy: ClassRuleConfig::after(8 * 24 * 3600),
            ..RetryConfig::default()
        };
        assert!(long_delay.validate().is_err());
    }
}
