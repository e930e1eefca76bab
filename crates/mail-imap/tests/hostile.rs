//! No bytes from a server make the engine panic, whatever state it is in.

use std::time::Instant;

use mail_imap::{Client, Config, Limits};
use proptest::prelude::*;

fn client_in(stage: u8) -> (Client, Instant) {
    let now = Instant::now();
    let config = Config {
        limits: Limits {
            max_line: 512,
            max_literal: 4096,
        },
        ..Config::default()
    };
    let mut client = Client::new(config);
    if stage == 0 {
        return (client, now);
    }
    let script: &[&[u8]] = &[
        b"* OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS MOVE AUTH=PLAIN] hi\r\n",
        b"F0001 OK in\r\n",
        b"F0002 OK [READ-WRITE] sel\r\n",
    ];
    let _ = client.handle_input(now, script[0]);
    if stage >= 2 {
        let _ = client.login(now, "u", "p");
        let _ = client.handle_input(now, script[1]);
    }
    if stage >= 3 {
        let _ = client.select(now, "INBOX");
        let _ = client.handle_input(now, script[2]);
        let _ = match stage {
            3 => client.uid_fetch(now, &[1, 2]),
            4 => client.idle(now),
            _ => client.uid_search_undeleted(now),
        };
    }
    (client, now)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(stage in 0u8..6, chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..8)) {
        let (mut client, now) = client_in(stage);
        for chunk in chunks {
            if client.handle_input(now, &chunk).is_err() {
                break;
            }
            while client.poll_event().is_some() {}
        }
    }

    #[test]
    fn response_shaped_bytes_never_panic(stage in 0u8..6, lines in prop::collection::vec(
        prop::string::string_regex(r#"(\* |\+ |F000[1-4] )?([0-9]{1,11} )?(OK|NO|BAD|BYE|FETCH|EXISTS|SEARCH|CAPABILITY)?( \[[A-Z -9]{0,20}\]?)?( \(?(UID|BODY\[\]|RFC822\.SIZE|FLAGS)? ?(\{[0-9]{1,5}\}\r\n)?[ -~]{0,20}\)?)*\r\n"#).expect("regex"),
        1..10)) {
        let (mut client, now) = client_in(stage);
        for line in lines {
            if client.handle_input(now, line.as_bytes()).is_err() {
                break;
            }
            while client.poll_event().is_some() {}
        }
    }
}
