//! No client bytes make the session panic or hold more than its limits.

use std::time::Instant;

use mail_smtpd::{Config, Output, Session};
use proptest::prelude::*;

fn run(chunks: Vec<Vec<u8>>) {
    let now = Instant::now();
    let config = Config {
        max_message_bytes: 4096,
        max_recipients: 3,
        tls_available: true,
        ..Config::default()
    };
    let mut session = Session::new(config, now);
    for chunk in chunks {
        if session.handle_input(now, &chunk).is_err() {
            break;
        }
        while let Some(output) = session.poll_output() {
            match output {
                Output::Message(m) => {
                    assert!(m.data.len() <= 4096);
                    assert!(m.rcpt_to.len() <= 3);
                    let _ = session.accept(now, m.id);
                }
                Output::StartTls => session.tls_started(now),
                Output::Send(_) | Output::Close => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..8)) {
        run(chunks);
    }

    #[test]
    fn command_shaped_bytes_never_panic(lines in prop::collection::vec(
        prop::string::string_regex(r"(EHLO|HELO|MAIL FROM:|RCPT TO:|DATA|RSET|STARTTLS|QUIT|\.|NOOP)? ?<?[ -~]{0,12}>?( SIZE=[0-9]{0,12})?(\r\n|\n|\r)").expect("regex"),
        1..30)) {
        run(vec![lines.concat().into_bytes()]);
    }
}
