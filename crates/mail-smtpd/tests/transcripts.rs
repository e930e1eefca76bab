//! The session engine against client transcripts.

use std::time::{Duration, Instant};

use mail_smtpd::{Config, Message, Output, Refusal, Session};

struct Harness {
    session: Session,
    now: Instant,
    messages: Vec<Message>,
    starttls: bool,
    closed: bool,
}

impl Harness {
    fn new(config: Config) -> (Self, String) {
        let now = Instant::now();
        let mut h = Harness {
            session: Session::new(config, now),
            now,
            messages: Vec::new(),
            starttls: false,
            closed: false,
        };
        let greeting = h.drain();
        (h, greeting)
    }

    fn drain(&mut self) -> String {
        let mut sent = Vec::new();
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Send(bytes) => sent.extend_from_slice(&bytes),
                Output::StartTls => self.starttls = true,
                Output::Message(m) => self.messages.push(m),
                Output::Close => self.closed = true,
            }
        }
        String::from_utf8(sent).expect("replies are text")
    }

    fn client(&mut self, bytes: &str) -> String {
        self.session
            .handle_input(self.now, bytes.as_bytes())
            .expect("input taken");
        self.drain()
    }
}

fn config() -> Config {
    Config {
        hostname: "fax.example.org".into(),
        max_message_bytes: 1000,
        max_recipients: 2,
        ..Config::default()
    }
}

#[test]
fn one_message_with_dot_unstuffing() {
    let (mut h, greeting) = Harness::new(config());
    assert_eq!(greeting, "220 fax.example.org ESMTP faxgate\r\n");
    assert_eq!(
        h.client("EHLO client.example\r\n"),
        concat!(
            "250-fax.example.org greets client.example\r\n",
            "250-SIZE 1000\r\n",
            "250-8BITMIME\r\n",
            "250-PIPELINING\r\n",
            "250-ENHANCEDSTATUSCODES\r\n",
            "250 SMTPUTF8\r\n"
        )
    );
    assert_eq!(
        h.client("MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME\r\n"),
        "250 2.1.0 OK\r\n"
    );
    assert_eq!(
        h.client("RCPT TO:<8675583235170@fax.example.org>\r\n"),
        "250 2.1.5 OK\r\n"
    );
    assert_eq!(
        h.client("RCPT TO:<FAX=+8675583235170@fax.example.org>\r\n"),
        "250 2.1.5 OK\r\n"
    );
    assert_eq!(
        h.client("DATA\r\n"),
        "354 end data with <CR><LF>.<CR><LF>\r\n"
    );
    // Split mid-line and right after a dot, as TCP may.
    assert_eq!(h.client("Subject: x\r\n\r\n..leading dot\r\n."), "");
    assert_eq!(h.client("\r"), "");
    assert_eq!(h.client("\n"), "");
    assert_eq!(h.messages.len(), 1);
    let m = &h.messages[0];
    assert_eq!(m.mail_from, "a@example.org");
    assert_eq!(
        m.rcpt_to,
        vec![
            "8675583235170@fax.example.org",
            "FAX=+8675583235170@fax.example.org"
        ]
    );
    assert_eq!(m.data, b"Subject: x\r\n\r\n.leading dot\r\n");
    assert!(m.eight_bit);
    assert_eq!(
        m.trace_header(
            "fax.example.org",
            "[127.0.0.1]",
            "Sun, 29 Nov 2026 03:00:00 +0000"
        ),
        format!(
            "Received: from client.example ([127.0.0.1])\r\n\tby fax.example.org (faxgate) \
             with ESMTP id {}; Sun, 29 Nov 2026 03:00:00 +0000\r\n",
            m.id
        )
    );
    assert_eq!(
        h.session.poll_timeout(),
        None,
        "no timeout while the caller stores"
    );
    let id = m.id;
    h.session.accept(h.now, id).expect("verdict");
    assert_eq!(h.drain(), format!("250 2.0.0 OK queued as {id}\r\n"));
    assert_eq!(
        h.client("QUIT\r\n"),
        "221 2.0.0 fax.example.org closing connection\r\n"
    );
    assert!(h.closed);
}

#[test]
fn pipelined_transaction_gets_replies_in_order_and_waits_for_the_verdict() {
    let (mut h, _) = Harness::new(config());
    h.client("EHLO c\r\n");
    let replies = h.client(concat!(
        "MAIL FROM:<>\r\n",
        "RCPT TO:<1@fax>\r\n",
        "RCPT TO:<2@fax>\r\n",
        "RCPT TO:<3@fax>\r\n",
        "DATA\r\n",
        "hello\r\n",
        ".\r\n",
        "QUIT\r\n",
    ));
    assert_eq!(
        replies,
        concat!(
            "250 2.1.0 OK\r\n",
            "250 2.1.5 OK\r\n",
            "250 2.1.5 OK\r\n",
            "452 4.5.3 too many recipients\r\n",
            "354 end data with <CR><LF>.<CR><LF>\r\n",
        )
    );
    assert_eq!(h.messages.len(), 1);
    assert_eq!(h.messages[0].mail_from, "");
    assert!(!h.closed, "QUIT waits behind the verdict");
    let id = h.messages[0].id;
    h.session
        .refuse(h.now, id, Refusal::Temporary("store full".into()))
        .expect("verdict");
    assert_eq!(
        h.drain(),
        "451 4.3.0 store full\r\n221 2.0.0 fax.example.org closing connection\r\n"
    );
    assert!(h.closed);
}

#[test]
fn oversized_message_gets_552_and_the_session_stays_in_step() {
    let (mut h, _) = Harness::new(config());
    h.client("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@fax>\r\nDATA\r\n");
    let line = "x".repeat(98) + "\r\n";
    for _ in 0..20 {
        assert_eq!(h.client(&line), "");
    }
    assert_eq!(
        h.client(".\r\n"),
        "552 5.3.4 message too big: the limit is 1000 bytes\r\n"
    );
    assert!(h.messages.is_empty());
    assert_eq!(h.client("MAIL FROM:<a@b>\r\n"), "250 2.1.0 OK\r\n");
    assert_eq!(
        h.client("RCPT TO:<1@fax>\r\nDATA\r\nsmall\r\n.\r\n"),
        "250 2.1.5 OK\r\n354 end data with <CR><LF>.<CR><LF>\r\n"
    );
    assert_eq!(h.messages.len(), 1);
}

#[test]
fn declared_size_over_the_limit_refused_at_mail() {
    let (mut h, _) = Harness::new(config());
    h.client("EHLO c\r\n");
    assert_eq!(
        h.client("MAIL FROM:<a@b> SIZE=1001\r\n"),
        "552 5.3.4 message too big: the limit is 1000 bytes\r\n"
    );
    assert_eq!(
        h.client("RCPT TO:<1@fax>\r\n"),
        "503 5.5.1 need MAIL before RCPT\r\n"
    );
}

#[test]
fn bad_sequences_and_unknown_commands() {
    let (mut h, _) = Harness::new(Config {
        max_errors: 20,
        ..config()
    });
    assert_eq!(
        h.client("MAIL FROM:<a@b>\r\n"),
        "503 5.5.1 say EHLO first\r\n"
    );
    assert_eq!(h.client("HELO c\r\n"), "250 fax.example.org greets c\r\n");
    assert_eq!(
        h.client("DATA\r\n"),
        "503 5.5.1 need MAIL and RCPT before DATA\r\n"
    );
    assert_eq!(
        h.client("MAIL FROM:<a@b>\r\nDATA\r\n"),
        "250 2.1.0 OK\r\n503 5.5.1 no valid recipients\r\n"
    );
    assert_eq!(
        h.client("MAIL FROM:<c@d>\r\n"),
        "503 5.5.1 nested MAIL command\r\n"
    );
    assert_eq!(
        h.client("RSET\r\nRCPT TO:<1@fax>\r\n"),
        "250 2.0.0 OK\r\n503 5.5.1 need MAIL before RCPT\r\n"
    );
    assert_eq!(h.client("FOO\r\n"), "500 5.5.2 command not recognized\r\n");
    assert_eq!(
        h.client("EXPN list\r\n"),
        "502 5.5.1 command not implemented\r\n"
    );
    assert_eq!(
        h.client("STARTTLS\r\n"),
        "502 5.5.1 STARTTLS not available\r\n"
    );
    assert_eq!(
        h.client("MAIL FROM:a@b\r\n"),
        "501 5.5.4 syntax: MAIL FROM:<address>\r\n"
    );
    assert_eq!(
        h.client("MAIL FROM:<a@b> FOO=1\r\n"),
        "555 5.5.4 unsupported MAIL parameter\r\n"
    );
    assert_eq!(
        h.client("NOOP\r\nVRFY x\r\n"),
        "250 2.0.0 OK\r\n252 2.5.0 cannot verify, but will accept the message\r\n"
    );
}

#[test]
fn too_many_errors_close_the_session() {
    let (mut h, _) = Harness::new(Config {
        max_errors: 3,
        ..config()
    });
    let replies = h.client("A\r\nB\r\nC\r\nD\r\n");
    assert_eq!(
        replies,
        concat!(
            "500 5.5.2 command not recognized\r\n",
            "500 5.5.2 command not recognized\r\n",
            "500 5.5.2 command not recognized\r\n",
            "421 4.7.0 fax.example.org too many errors, closing connection\r\n"
        )
    );
    assert!(h.closed);
}

#[test]
fn long_command_line_is_refused_once_and_skipped() {
    let (mut h, _) = Harness::new(config());
    let long = "NOOP ".to_string() + &"x".repeat(3000);
    assert_eq!(h.client(&long), "500 5.5.6 line too long\r\n");
    assert_eq!(h.client(&"y".repeat(3000)), "");
    assert_eq!(h.client("yyy\r\nNOOP\r\n"), "250 2.0.0 OK\r\n");
}

#[test]
fn starttls_restarts_the_session_and_drops_pipelined_plaintext() {
    let (mut h, _) = Harness::new(Config {
        tls_available: true,
        require_tls: true,
        ..config()
    });
    assert!(h.client("EHLO c\r\n").contains("250 STARTTLS\r\n"));
    assert_eq!(
        h.client("MAIL FROM:<a@b>\r\n"),
        "530 5.7.0 must issue a STARTTLS command first\r\n"
    );
    assert_eq!(
        h.client("STARTTLS\r\nMAIL FROM:<injected@x>\r\n"),
        "220 2.0.0 ready to start TLS\r\n"
    );
    assert!(h.starttls);
    assert!(
        h.session.handle_input(h.now, b"NOOP\r\n").is_err(),
        "no input during the handshake"
    );
    h.session.tls_started(h.now);
    assert_eq!(
        h.client("MAIL FROM:<a@b>\r\n"),
        "503 5.5.1 say EHLO first\r\n"
    );
    let ehlo = h.client("EHLO c\r\n");
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    h.client("MAIL FROM:<a@b>\r\nRCPT TO:<1@fax>\r\nDATA\r\nx\r\n.\r\n");
    assert!(h.messages[0].tls);
}

#[test]
fn idle_client_times_out_with_421() {
    let (mut h, _) = Harness::new(config());
    h.client("EHLO c\r\n");
    let deadline = h.session.poll_timeout().expect("deadline");
    assert_eq!(deadline, h.now + Duration::from_secs(300));
    h.session
        .handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(h.drain(), "");
    h.session.handle_timeout(deadline);
    assert_eq!(
        h.drain(),
        "421 4.4.2 fax.example.org timeout, closing connection\r\n"
    );
    assert!(h.closed);
}

#[test]
fn busy_listener_says_421() {
    let now = Instant::now();
    let mut session = Session::busy(config(), now);
    assert_eq!(
        session.poll_output(),
        Some(Output::Send(
            b"421 4.3.2 fax.example.org too many connections, try again later\r\n".to_vec()
        ))
    );
    assert_eq!(session.poll_output(), Some(Output::Close));
}

#[test]
fn wrong_verdict_is_a_caller_error() {
    let (mut h, _) = Harness::new(config());
    assert!(h.session.accept(h.now, 1).is_err());
}

#[test]
fn non_ascii_addresses_need_smtputf8() {
    let (mut h, _) = Harness::new(config());
    h.client("EHLO c\r\n");
    assert_eq!(
        h.client("MAIL FROM:<用户@example.cn>\r\n"),
        "553 5.6.7 non-ASCII address without SMTPUTF8\r\n"
    );
    assert_eq!(
        h.client("MAIL FROM:<用户@example.cn> SMTPUTF8\r\n"),
        "250 2.1.0 OK\r\n"
    );
}
