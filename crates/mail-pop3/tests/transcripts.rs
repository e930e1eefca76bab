//! Sessions as transcripts: what the client sends (`C:`) and what it makes of the
//! server's answers (`S:` fed in, events noted as `=`).

use mail_pop3::{Client, Command, Error, Event, Limits, State, apop_digest};

fn sent(client: &mut Client) -> Vec<String> {
    let mut lines = Vec::new();
    while let Some(bytes) = client.poll_transmit() {
        lines.push(String::from_utf8(bytes).expect("commands are text"));
    }
    lines
}

fn events(client: &mut Client) -> Vec<Event> {
    let mut all = Vec::new();
    while let Some(event) = client.poll_event() {
        all.push(event);
    }
    all
}

fn greeted(greeting: &str) -> Client {
    let mut client = Client::new(Limits::default());
    client.handle_input(greeting.as_bytes()).expect("greeting");
    let _ = events(&mut client);
    client
}

fn logged_in() -> Client {
    let mut client = greeted("+OK ready\r\n");
    client.user("fax@faxgate.test").expect("USER");
    client.handle_input(b"+OK\r\n").expect("USER answer");
    client.pass("secret").expect("PASS");
    client
        .handle_input(b"+OK Logged in.\r\n")
        .expect("PASS answer");
    let _ = sent(&mut client);
    let _ = events(&mut client);
    client
}

#[test]
fn user_pass_login_and_fetch() {
    let mut client = Client::new(Limits::default());
    assert_eq!(client.state(), State::AwaitGreeting);
    client
        .handle_input(b"+OK Dovecot ready.\r\n")
        .expect("greeting");
    assert_eq!(
        events(&mut client),
        vec![Event::Greeting {
            text: "Dovecot ready.".into(),
            apop_timestamp: None
        }]
    );
    client.user("fax@faxgate.test").expect("USER");
    assert_eq!(sent(&mut client), vec!["USER fax@faxgate.test\r\n"]);
    client.handle_input(b"+OK\r\n").expect("answer");
    assert_eq!(events(&mut client), vec![Event::UserAccepted]);
    client.pass("fax-pw").expect("PASS");
    assert_eq!(sent(&mut client), vec!["PASS fax-pw\r\n"]);
    client.handle_input(b"+OK Logged in.\r\n").expect("answer");
    assert_eq!(events(&mut client), vec![Event::LoggedIn]);
    assert_eq!(client.state(), State::Transaction);

    client.uidl().expect("UIDL");
    assert_eq!(sent(&mut client), vec!["UIDL\r\n"]);
    client
        .handle_input(b"+OK\r\n1 000000016b0b94cc\r\n2 000000026b0b94cc\r\n.\r\n")
        .expect("listing");
    assert_eq!(
        events(&mut client),
        vec![Event::UniqueIds(vec![
            (1, "000000016b0b94cc".into()),
            (2, "000000026b0b94cc".into())
        ])]
    );

    client.retr(1).expect("RETR");
    assert_eq!(sent(&mut client), vec!["RETR 1\r\n"]);
    client
        .handle_input(b"+OK 42 octets\r\nSubject: x\r\n\r\n..leading dot\r\n.\r\n")
        .expect("message");
    assert_eq!(
        events(&mut client),
        vec![Event::Message {
            number: 1,
            data: b"Subject: x\r\n\r\n.leading dot\r\n".to_vec()
        }]
    );

    client.dele(1).expect("DELE");
    client
        .handle_input(b"+OK Marked to be deleted.\r\n")
        .expect("answer");
    assert_eq!(events(&mut client), vec![Event::Deleted(1)]);
    client.quit().expect("QUIT");
    assert_eq!(sent(&mut client), vec!["DELE 1\r\n", "QUIT\r\n"]);
    client
        .handle_input(b"+OK Logging out.\r\n")
        .expect("answer");
    assert_eq!(events(&mut client), vec![Event::Closed]);
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn message_split_across_reads_at_every_byte() {
    let wire: &[u8] = b"+OK\r\nA: b\r\n\r\n...\r\n.x\r\nend\r\n.\r\n";
    for split in 0..=wire.len() {
        let mut client = logged_in();
        client.retr(3).expect("RETR");
        client.handle_input(&wire[..split]).expect("first part");
        client.handle_input(&wire[split..]).expect("second part");
        assert_eq!(
            events(&mut client),
            vec![Event::Message {
                number: 3,
                data: b"A: b\r\n\r\n..\r\nx\r\nend\r\n".to_vec()
            }],
            "split at {split}"
        );
    }
}

#[test]
fn apop_digest_matches_rfc_1939_example() {
    // RFC 1939, section 7.
    assert_eq!(
        apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"),
        "c4c9334bac560ecc979e58001b3e22fb"
    );
    let mut client = greeted("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n");
    assert_eq!(
        client.apop_timestamp(),
        Some("<1896.697170952@dbc.mtview.ca.us>")
    );
    client.apop("mrose", "tanstaaf").expect("APOP");
    assert_eq!(
        sent(&mut client),
        vec!["APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"]
    );
    client
        .handle_input(b"+OK maildrop has 1 message\r\n")
        .expect("answer");
    assert_eq!(events(&mut client), vec![Event::LoggedIn]);
}

#[test]
fn apop_without_timestamp_is_unsupported() {
    let mut client = greeted("+OK ready\r\n");
    assert_eq!(
        client.apop("fax", "pw"),
        Err(Error::Unsupported("APOP (no timestamp in the greeting)"))
    );
}

#[test]
fn capa_then_stls_hands_off_and_forgets() {
    let mut client = greeted("+OK ready\r\n");
    client.capa().expect("CAPA");
    client
        .handle_input(b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n")
        .expect("capabilities");
    let Some(Event::Capabilities(capabilities)) = client.poll_event() else {
        panic!("no capabilities");
    };
    assert!(capabilities.stls && capabilities.user && capabilities.uidl);
    assert_eq!(capabilities.sasl, vec!["PLAIN", "LOGIN"]);
    client.stls().expect("STLS");
    client
        .handle_input(b"+OK Begin TLS negotiation now.\r\n")
        .expect("answer");
    assert_eq!(events(&mut client), vec![Event::StartTls]);
    assert_eq!(client.state(), State::TlsHandoff);
    assert!(!client.wants_input());
    assert!(matches!(client.user("x"), Err(Error::WrongState { .. })));
    client.tls_established().expect("handshake done");
    assert_eq!(client.state(), State::Authorization);
    assert_eq!(sent(&mut client), vec!["CAPA\r\n", "STLS\r\n"]);
}

#[test]
fn bytes_after_stls_answer_are_an_injection() {
    let mut client = greeted("+OK ready\r\n");
    client.stls().expect("STLS");
    let error = client
        .handle_input(b"+OK Begin TLS\r\n+OK Logged in.\r\n")
        .expect_err("injection");
    assert!(matches!(error, Error::Protocol { .. }), "{error}");
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.handle_input(b"x"), Err(Error::Closed));
}

#[test]
fn wrong_password_is_refused_not_an_error() {
    let mut client = greeted("+OK ready\r\n");
    client.user("fax").expect("USER");
    client.handle_input(b"+OK\r\n").expect("answer");
    client.pass("wrong").expect("PASS");
    client
        .handle_input(b"-ERR [AUTH] Authentication failed.\r\n")
        .expect("answer");
    assert_eq!(
        events(&mut client),
        vec![
            Event::UserAccepted,
            Event::Refused {
                command: Command::Pass,
                text: "[AUTH] Authentication failed.".into()
            }
        ]
    );
    assert_eq!(client.state(), State::Authorization);
}

#[test]
fn commands_out_of_turn_are_the_callers_fault() {
    let mut client = Client::new(Limits::default());
    assert_eq!(client.user("fax"), Err(Error::Busy(Command::User)));
    let mut client = greeted("+OK\r\n");
    assert!(matches!(
        client.retr(1),
        Err(Error::WrongState {
            command: Command::Retr,
            state: State::Authorization
        })
    ));
    assert_eq!(
        client.user("a\r\nDELE 1"),
        Err(Error::InvalidArgument(Command::User))
    );
    let mut client = logged_in();
    client.uidl().expect("UIDL");
    assert_eq!(client.retr(1), Err(Error::Busy(Command::Retr)));
    assert_eq!(
        client.retr(0).err(),
        Some(Error::InvalidArgument(Command::Retr))
    );
}

#[test]
fn stat_and_list() {
    let mut client = logged_in();
    client.stat().expect("STAT");
    client.handle_input(b"+OK 2 320\r\n").expect("answer");
    client.list().expect("LIST");
    client
        .handle_input(b"+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n")
        .expect("answer");
    assert_eq!(
        events(&mut client),
        vec![
            Event::Stat {
                count: 2,
                size: 320
            },
            Event::Listing(vec![(1, 120), (2, 200)])
        ]
    );
}

#[test]
fn oversized_message_is_refused_before_it_is_buffered() {
    let mut client = Client::new(Limits {
        max_message: 100,
        ..Limits::default()
    });
    client.handle_input(b"+OK\r\n").expect("greeting");
    client.user("u").expect("USER");
    client.handle_input(b"+OK\r\n").expect("answer");
    client.pass("p").expect("PASS");
    client.handle_input(b"+OK\r\n").expect("answer");
    client.retr(1).expect("RETR");
    client.handle_input(b"+OK\r\n").expect("status");
    let error = client.handle_input(&[b'a'; 200]).expect_err("too large");
    assert_eq!(
        error,
        Error::TooLarge {
            what: "a message",
            limit: 100
        }
    );
}

#[test]
fn overlong_status_line_is_refused() {
    let mut client = Client::new(Limits {
        max_line: 64,
        ..Limits::default()
    });
    let error = client.handle_input(&[b'+'; 65]).expect_err("too long");
    assert_eq!(
        error,
        Error::TooLarge {
            what: "a line",
            limit: 64
        }
    );
}

#[test]
fn garbage_status_is_a_protocol_error() {
    let mut client = Client::new(Limits::default());
    let error = client.handle_input(b"HELLO\r\n").expect_err("not POP3");
    assert_eq!(
        error,
        Error::Protocol {
            expected: "a greeting",
            got: "HELLO".into()
        }
    );
}

#[test]
fn unsolicited_line_is_a_protocol_error() {
    let mut client = logged_in();
    assert!(matches!(
        client.handle_input(b"+OK surprise\r\n"),
        Err(Error::Protocol { .. })
    ));
}

#[test]
fn bad_uidl_lines_are_protocol_errors() {
    for bad in [
        &b"+OK\r\n0 abc\r\n.\r\n"[..],
        b"+OK\r\nx abc\r\n.\r\n",
        b"+OK\r\n1\r\n.\r\n",
        b"+OK\r\n1 \xff\xfe\r\n.\r\n",
    ] {
        let mut client = logged_in();
        client.uidl().expect("UIDL");
        assert!(
            matches!(client.handle_input(bad), Err(Error::Protocol { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn quit_refused_reports_and_closes() {
    let mut client = logged_in();
    client.quit().expect("QUIT");
    client
        .handle_input(b"-ERR Some deleted messages were not removed\r\n")
        .expect("answer");
    assert_eq!(
        events(&mut client),
        vec![Event::Refused {
            command: Command::Quit,
            text: "Some deleted messages were not removed".into()
        }]
    );
    assert_eq!(client.state(), State::Closed);
}
