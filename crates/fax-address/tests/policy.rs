//! The destination policy against toll fraud: per-sender limits on the kind of call,
//! administrator prefix rules, and what becomes of a request with bad recipients.

use fax_address::{
    AddressConfig, AddressSettings, BadEntry, Error, Kind, OnBadRecipient, Plan, PolicyConfig,
};

fn settings_with(change: impl FnOnce(&mut PolicyConfig)) -> AddressSettings {
    let mut config = AddressConfig::default();
    change(&mut config.policy);
    AddressSettings::new(&config).expect("valid policy")
}

/// The E.164 numbers (or fax IDs) a plan sends to.
fn destinations(plan: &Plan) -> Vec<String> {
    plan.recipients
        .iter()
        .map(|r| {
            r.e164()
                .or(r.dial())
                .or(r.fax_id().map(|id| id.as_str()))
                .unwrap_or("-")
                .to_owned()
        })
        .collect()
}

fn refused(error: Error) -> Vec<BadEntry> {
    match error {
        Error::Refused { entries } => entries,
        other => panic!("not a refusal: {other:?}"),
    }
}

#[test]
fn local_only_sender_is_refused_an_international_number_with_a_reason() {
    let settings = AddressSettings::default();
    let error = settings
        .plan("852-0-999999/Hong Kong", Kind::Local)
        .unwrap_err();
    let entries = refused(error.clone());
    assert_eq!(
        entries,
        [BadEntry {
            index: 0,
            input: "852-0-999999/Hong Kong".into(),
            reason: Error::KindNotAllowed {
                kind: Kind::International,
                limit: Kind::Local
            }
        }]
    );
    assert_eq!(
        entries[0].reason.to_string(),
        "faxes to international numbers are not allowed for you: you may send to local \
         numbers at most"
    );
    assert_eq!(
        error.to_string(),
        "1 recipient cannot be sent to, so nothing was sent: \"852-0-999999/Hong Kong\": \
         faxes to international numbers are not allowed for you: you may send to local \
         numbers at most"
    );
}

#[test]
fn local_only_sender_is_refused_national_numbers_but_not_local_ones() {
    let settings = AddressSettings::default();
    assert!(
        settings
            .plan("83235170; 0-0-123; AF90000098", Kind::Local)
            .is_ok()
    );
    let entries = refused(settings.plan("10-666666", Kind::Local).unwrap_err());
    assert_eq!(
        entries[0].reason,
        Error::KindNotAllowed {
            kind: Kind::National,
            limit: Kind::Local
        }
    );
}

#[test]
fn internal_only_sender_may_still_send_to_fax_ids() {
    let settings = AddressSettings::default();
    let plan = settings
        .plan("0-0-123; AF90000098", Kind::Internal)
        .unwrap();
    assert_eq!(destinations(&plan), ["123", "AF90000098"]);
    assert!(settings.plan("83235170", Kind::Internal).is_err());
}

#[test]
fn fresh_install_limits_senders_to_national_calls() {
    let settings = AddressSettings::default();
    assert_eq!(settings.policy().default_max_kind(), Kind::National);
    let limit = settings.policy().default_max_kind();
    assert!(settings.plan("10-666666", limit).is_ok());
    assert!(settings.plan("852-0-999999", limit).is_err());
}

#[test]
fn denied_premium_rate_prefix_is_refused_with_the_prefix_named() {
    let settings = settings_with(|policy| policy.deny_prefixes = vec!["+86900".into()]);
    let entries = refused(
        settings
            .plan("10-90012345; 0-90012345", Kind::International)
            .unwrap_err(),
    );
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].input, "0-90012345");
    assert_eq!(
        entries[0].reason.to_string(),
        "faxes to numbers starting with +86900 are blocked by the administrator"
    );
}

#[test]
fn deny_applies_however_the_number_is_written() {
    let settings = settings_with(|policy| policy.deny_prefixes = vec!["+881".into()]);
    for subject in ["881-0-6312345", "+881-0-6312345", "00881-0-6312345"] {
        let entries = refused(settings.plan(subject, Kind::International).unwrap_err());
        assert_eq!(
            entries[0].reason,
            Error::PrefixDenied {
                prefix: "+881".into()
            },
            "{subject}"
        );
    }
}

#[test]
fn longest_matching_prefix_decides() {
    let settings = settings_with(|policy| {
        policy.deny_prefixes = vec!["+".into(), "+8690".into()];
        policy.allow_prefixes = vec!["+86".into(), "+869001".into()];
    });
    let allowed = |subject: &str| settings.plan(subject, Kind::International).is_ok();
    assert!(allowed("10-666666"), "+86 allowed");
    assert!(!allowed("0-9009999"), "+8690 denied");
    assert!(
        allowed("0-9001999"),
        "+869001 allowed inside the denied +8690"
    );
    assert!(!allowed("852-0-999999"), "everything else denied by +");
    // No E.164 number, no prefix rule: only the kind limit applies.
    assert!(allowed("0-0-123"));
    assert!(allowed("AF90000098"));
}

#[test]
fn kind_is_checked_before_prefixes() {
    let settings = settings_with(|policy| policy.deny_prefixes = vec!["+852".into()]);
    let entries = refused(settings.plan("852-0-999999", Kind::National).unwrap_err());
    assert!(matches!(entries[0].reason, Error::KindNotAllowed { .. }));
}

#[test]
fn by_default_one_bad_recipient_refuses_the_request_naming_each() {
    let settings = AddressSettings::default();
    let error = settings
        .plan(
            "83235170/金恒科技; 075583235170; 852-0-999999; 755-8323A170",
            Kind::National,
        )
        .unwrap_err();
    let entries = refused(error.clone());
    let named: Vec<(usize, &str)> = entries
        .iter()
        .map(|entry| (entry.index, entry.input.as_str()))
        .collect();
    assert_eq!(
        named,
        [
            (1, "075583235170"),
            (2, "852-0-999999"),
            (3, "755-8323A170")
        ]
    );
    assert_eq!(
        error.to_string(),
        "3 recipients cannot be sent to, so nothing was sent: \
         \"075583235170\": write the area code and number separately: 755-83235170; \
         \"852-0-999999\": faxes to international numbers are not allowed for you: you may \
         send to national numbers at most; \
         \"755-8323A170\": the fax number may contain only digits, not \"A\""
    );
}

#[test]
fn configured_to_send_to_the_valid_recipients() {
    let settings = settings_with(|policy| policy.on_bad_recipient = OnBadRecipient::SendToValid);
    let plan = settings
        .plan("83235170; 075583235170; 10-666666", Kind::National)
        .unwrap();
    assert_eq!(destinations(&plan), ["+8675583235170", "+8610666666"]);
    assert_eq!(plan.refused.len(), 1);
    assert_eq!(plan.refused[0].index, 1);
    // With no valid recipient left, the request is refused all the same.
    assert!(matches!(
        settings.plan("075583235170", Kind::National),
        Err(Error::Refused { .. })
    ));
}

#[test]
fn too_many_recipients_refuses_even_when_sending_to_the_valid_ones() {
    let settings = settings_with(|policy| policy.on_bad_recipient = OnBadRecipient::SendToValid);
    let subject = vec!["83235170"; 101].join(";");
    assert!(matches!(
        settings.plan(&subject, Kind::National),
        Err(Error::TooManyRecipients { index: 100, .. })
    ));
}

#[test]
fn duplicate_destinations_are_sent_once_under_the_first_names() {
    let settings = AddressSettings::default();
    let plan = settings
        .plan(
            "83235170/金恒科技; 86-755-83235170/Other; 0755-83235170; 10-666666; \
             AF90000098; af90000098/x; 83235170|AF90000098",
            Kind::National,
        )
        .unwrap();
    assert_eq!(
        destinations(&plan),
        [
            "+8675583235170",
            "+8610666666",
            "AF90000098",
            "+8675583235170"
        ]
    );
    assert_eq!(
        plan.recipients[0].name1().map(|name| name.as_str()),
        Some("金恒科技")
    );
    assert_eq!(
        plan.recipients[3].fax_id().map(|id| id.as_str()),
        Some("AF90000098")
    );
}

#[test]
fn bad_prefix_rules_are_refused_naming_the_setting() {
    for (deny, allow, setting) in [
        (vec!["86900"], vec![], "policy.deny_prefixes"),
        (vec!["+86 900"], vec![], "policy.deny_prefixes"),
        (vec![], vec!["+86x"], "policy.allow_prefixes"),
        (vec!["+86900"], vec!["+86900"], "policy.allow_prefixes"),
    ] {
        let mut config = AddressConfig::default();
        config.policy.deny_prefixes = deny.iter().map(|p| p.to_string()).collect();
        config.policy.allow_prefixes = allow.iter().map(|p| p.to_string()).collect();
        match AddressSettings::new(&config) {
            Err(Error::InvalidSetting { setting: named, .. }) => assert_eq!(named, setting),
            other => panic!("{deny:?} {allow:?}: {other:?}"),
        }
    }
}
