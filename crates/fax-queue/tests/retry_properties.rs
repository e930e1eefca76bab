//! Properties of the retry policy over many random deliveries and outcomes (a seeded
//! generator: every run checks the same cases, and a failure names its case).
//!
//! Each case plays one delivery to its end: random outcomes, the policy's decisions
//! applied the way the store applies them, until it is done or given up.

use std::time::Duration;

use fax_queue::{
    CallOutcome, Decision, OutcomeClass, RetryConfig, RetryPolicy, RetryState, Timestamp, decide,
};

/// SplitMix64: small, fast, and the same numbers on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const CLASSES: [OutcomeClass; 10] = [
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
];

fn random_rule(rng: &mut Rng) -> fax_queue::retry::ClassRuleConfig {
    fax_queue::retry::ClassRuleConfig {
        retry: rng.chance(70),
        delay_seconds: rng.below(900),
    }
}

fn random_policy(rng: &mut Rng) -> RetryPolicy {
    if rng.chance(30) {
        return RetryPolicy::default();
    }
    RetryConfig {
        busy: random_rule(rng),
        no_answer: random_rule(rng),
        rejected: random_rule(rng),
        invalid_number: random_rule(rng),
        fax_failure: random_rule(rng),
        incompatible: random_rule(rng),
        line_down: random_rule(rng),
        interrupted: random_rule(rng),
        max_dials: 1 + rng.below(15) as u32,
        max_tries: 1 + rng.below(5) as u32,
        max_total_seconds: 60 + rng.below(6 * 3600),
    }
    .validate()
    .expect("random config is valid")
}

#[test]
fn retry_policy_properties_hold_for_random_deliveries() {
    let mut rng = Rng(0x00fa_c5ad_dee5_2024);
    for case in 0..20_000 {
        let policy = random_policy(&mut rng);
        let total_pages = (!rng.chance(10)).then(|| 1 + rng.below(20) as u32);
        let window_start = Timestamp(1_700_000_000_000 + rng.below(1_000_000) as i64);
        let mut state = RetryState {
            dials: 0,
            tries: 0,
            resume_page: 0,
            total_pages,
            window_start,
        };
        let mut now = window_start;
        let deadline = window_start.plus(policy.max_total);
        let mut calls = 0u32;
        loop {
            calls += 1;
            assert!(
                calls <= policy.max_dials,
                "case {case}: more calls than max_dials"
            );
            state.dials += 1;
            // A call lasts up to ten minutes.
            now = now.plus(Duration::from_millis(rng.below(600_000)));
            let class = CLASSES[rng.below(CLASSES.len() as u64) as usize];
            let remaining = total_pages.map_or(20, |t| t - state.resume_page);
            let pages_confirmed = if class.reached_fax() || class == OutcomeClass::Interrupted {
                rng.below(u64::from(remaining) + 1) as u32
            } else {
                0
            };
            if class.reached_fax() && class != OutcomeClass::Sent {
                state.tries += 1;
            }
            let outcome = CallOutcome {
                class,
                pages_confirmed,
            };
            let decision = decide(&policy, &state, &outcome, now);
            // Deterministic: the same arguments, the same answer.
            assert_eq!(
                decision,
                decide(&policy, &state, &outcome, now),
                "case {case}"
            );
            match decision {
                Decision::Done => {
                    let all = total_pages.is_some_and(|t| state.resume_page + pages_confirmed >= t);
                    assert!(
                        class == OutcomeClass::Sent || all,
                        "case {case}: done after {class} with pages left"
                    );
                    break;
                }
                Decision::GiveUp { reason } => {
                    assert!(!reason.is_empty(), "case {case}: give up without a reason");
                    assert_ne!(class, OutcomeClass::Sent, "case {case}: gave up a sent fax");
                    break;
                }
                Decision::RetryAt { at, resume_page } => {
                    let rule = policy.rule(class).expect("a retried class has a rule");
                    assert!(rule.retry, "case {case}: retried {class}, a no-retry class");
                    assert!(class != OutcomeClass::Sent && class != OutcomeClass::Document);
                    assert!(at >= now, "case {case}: retry planned in the past");
                    assert_eq!(at, now.plus(rule.delay), "case {case}: wrong delay");
                    assert!(at <= deadline, "case {case}: retry past the total time");
                    assert!(
                        state.dials < policy.max_dials,
                        "case {case}: past max_dials"
                    );
                    assert!(
                        !class.reached_fax() || state.tries < policy.max_tries,
                        "case {case}: past max_tries"
                    );
                    assert!(
                        resume_page >= state.resume_page,
                        "case {case}: went back a page"
                    );
                    assert_eq!(
                        resume_page,
                        (state.resume_page + pages_confirmed).min(total_pages.unwrap_or(u32::MAX)),
                        "case {case}: resume page is not the first unconfirmed one"
                    );
                    if let Some(total) = total_pages {
                        assert!(resume_page < total, "case {case}: retry with nothing left");
                    }
                    state.resume_page = resume_page;
                    now = at;
                }
            }
        }
    }
}

#[test]
fn no_retry_classes_give_up_at_the_first_call_whatever_the_state() {
    let policy = RetryPolicy::default();
    let mut rng = Rng(7);
    for _ in 0..1000 {
        let state = RetryState {
            dials: 1 + rng.below(3) as u32,
            tries: rng.below(2) as u32,
            resume_page: 0,
            total_pages: Some(10),
            window_start: Timestamp(0),
        };
        for class in [
            OutcomeClass::Rejected,
            OutcomeClass::InvalidNumber,
            OutcomeClass::Incompatible,
            OutcomeClass::Document,
        ] {
            let outcome = CallOutcome {
                class,
                pages_confirmed: 0,
            };
            let decision = decide(&policy, &state, &outcome, Timestamp(rng.below(1000) as i64));
            assert!(matches!(decision, Decision::GiveUp { .. }), "{class}");
        }
    }
}
