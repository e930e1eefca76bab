//! The client engine against server transcripts: what it sends, what it reports.

use std::time::{Duration, Instant};

use mail_imap::{Client, Config, Done, Error, Event, Fetched, Mailbox, State};

struct Session {
    client: Client,
    now: Instant,
}

impl Session {
    fn new() -> Self {
        Session {
            client: Client::new(Config::default()),
            now: Instant::now(),
        }
    }

    fn server(&mut self, bytes: &str) -> Vec<Event> {
        self.client
            .handle_input(self.now, bytes.as_bytes())
            .expect("server bytes accepted");
        std::iter::from_fn(|| self.client.poll_event()).collect()
    }

    fn sent(&mut self) -> String {
        String::from_utf8(self.client.take_output()).expect("client sends text")
    }

    fn greeted(caps: &str) -> Self {
        let mut s = Session::new();
        let events = s.server(&format!("* OK [CAPABILITY {caps}] Dovecot ready.\r\n"));
        assert_eq!(events, vec![Event::Greeting { preauth: false }]);
        s
    }

    fn selected(caps: &str) -> Self {
        let mut s = Session::greeted(caps);
        s.client.login(s.now, "fax", "secret").expect("login");
        s.sent();
        s.server("F0001 OK Logged in\r\n");
        s.client.select(s.now, "INBOX").expect("select");
        s.sent();
        s.server(
            "* 0 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\nF0002 OK [READ-WRITE] Select completed\r\n",
        );
        s
    }
}

const CAPS: &str = "IMAP4rev1 SASL-IR LOGIN-REFERRALS IDLE UIDPLUS MOVE AUTH=PLAIN STARTTLS";

#[test]
fn login_select_search_fetch_move() {
    let mut s = Session::greeted(CAPS);
    assert!(s.client.capabilities().has("idle"));

    s.client
        .login(s.now, "fax@example.org", "pa ss\"word")
        .expect("login");
    assert_eq!(
        s.sent(),
        "F0001 LOGIN fax@example.org \"pa ss\\\"word\"\r\n"
    );
    assert_eq!(
        s.server("F0001 OK [CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS] Logged in\r\n"),
        vec![Event::Done(Done::Login)]
    );
    assert_eq!(s.client.state(), State::Authenticated);

    s.client.select(s.now, "INBOX").expect("select");
    assert_eq!(s.sent(), "F0002 SELECT INBOX\r\n");
    let events = s.server(concat!(
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Flags permitted.\r\n",
        "* 2 EXISTS\r\n",
        "* 0 RECENT\r\n",
        "* OK [UIDVALIDITY 1700000000] UIDs valid\r\n",
        "* OK [UIDNEXT 9] Predicted next UID\r\n",
        "F0002 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n",
    ));
    assert_eq!(
        events,
        vec![Event::Done(Done::Select(Mailbox {
            uid_validity: Some(1_700_000_000),
            uid_next: Some(9),
            exists: 2,
            read_only: false
        }))]
    );

    s.client.uid_search_undeleted(s.now).expect("search");
    assert_eq!(s.sent(), "F0003 UID SEARCH UNDELETED\r\n");
    assert_eq!(
        s.server("* SEARCH 8 5\r\nF0003 OK Search completed\r\n"),
        vec![Event::Done(Done::Search(vec![5, 8]))]
    );

    s.client.uid_fetch(s.now, &[5]).expect("fetch");
    assert_eq!(
        s.sent(),
        "F0004 UID FETCH 5 (UID RFC822.SIZE BODY.PEEK[])\r\n"
    );
    // Delivered in pieces, split inside the literal, as TCP may.
    let reply = "* 1 FETCH (UID 5 RFC822.SIZE 14 BODY[] {14}\r\nSubject: x\r\n\r\n)\r\nF0004 OK Fetch completed\r\n";
    let (a, b) = reply.split_at(40);
    assert_eq!(s.server(a), vec![]);
    assert_eq!(
        s.server(b),
        vec![Event::Done(Done::Fetch(vec![Fetched {
            uid: 5,
            size: Some(14),
            body: b"Subject: x\r\n\r\n".to_vec()
        }]))]
    );

    s.client.uid_move(s.now, &[5], "Faxed").expect("move");
    assert_eq!(s.sent(), "F0005 UID MOVE 5 Faxed\r\n");
    assert_eq!(
        s.server("* OK [COPYUID 1 5 1] Moved\r\n* 1 EXPUNGE\r\nF0005 OK Move completed\r\n"),
        vec![Event::Expunged(1), Event::Done(Done::Move)]
    );

    s.client.logout(s.now).expect("logout");
    assert_eq!(s.sent(), "F0006 LOGOUT\r\n");
    assert_eq!(
        s.server("* BYE Logging out\r\nF0006 OK Logout completed.\r\n"),
        vec![Event::Done(Done::Logout)]
    );
    assert_eq!(s.client.state(), State::LoggedOut);
}

#[test]
fn sizes_before_bodies() {
    let mut s = Session::selected(CAPS);
    s.client.uid_fetch_sizes(s.now, &[4, 9]).expect("sizes");
    assert_eq!(s.sent(), "F0003 UID FETCH 4,9 (UID RFC822.SIZE)\r\n");
    assert_eq!(
        s.server(concat!(
            "* 2 FETCH (RFC822.SIZE 70000000 UID 9)\r\n",
            "* 1 FETCH (UID 4 RFC822.SIZE 1200)\r\n",
            "* 1 FETCH (FLAGS (\\Seen))\r\n",
            "F0003 OK Fetch completed\r\n"
        )),
        vec![Event::Done(Done::Sizes(vec![(4, 1200), (9, 70_000_000)]))]
    );
}

#[test]
fn create_quotes_names_with_spaces() {
    let mut s = Session::selected(CAPS);
    s.client.create(s.now, "Faxes sent").expect("create");
    assert_eq!(s.sent(), "F0003 CREATE \"Faxes sent\"\r\n");
    assert_eq!(
        s.server("F0003 NO [ALREADYEXISTS] Mailbox already exists\r\n"),
        vec![Event::Refused(Error::Refused {
            command: "CREATE",
            status: "NO",
            text: "Mailbox already exists".into()
        })]
    );
    assert_eq!(s.client.state(), State::Selected);
}

#[test]
fn store_deleted_then_uid_expunge() {
    let mut s = Session::selected(CAPS);
    s.client
        .uid_store_deleted(s.now, &[3, 4, 5, 9])
        .expect("store");
    assert_eq!(
        s.sent(),
        "F0003 UID STORE 3:5,9 +FLAGS.SILENT (\\Deleted)\r\n"
    );
    assert_eq!(
        s.server("F0003 OK Store completed\r\n"),
        vec![Event::Done(Done::Store)]
    );
    s.client.uid_expunge(s.now, &[3, 4, 5, 9]).expect("expunge");
    assert_eq!(s.sent(), "F0004 UID EXPUNGE 3:5,9\r\n");
    assert_eq!(
        s.server("* 1 EXPUNGE\r\nF0004 OK Expunge completed\r\n"),
        vec![Event::Expunged(1), Event::Done(Done::Expunge)]
    );
}

#[test]
fn uid_expunge_needs_uidplus() {
    let mut s = Session::selected("IMAP4rev1 IDLE");
    assert_eq!(
        s.client.uid_expunge(s.now, &[1]),
        Err(Error::MissingCapability {
            capability: "UIDPLUS"
        })
    );
    s.client.expunge(s.now).expect("plain expunge");
    assert_eq!(s.sent(), "F0003 EXPUNGE\r\n");
}

#[test]
fn authenticate_plain_with_and_without_initial_response() {
    let mut s = Session::greeted("IMAP4rev1 AUTH=PLAIN SASL-IR");
    s.client
        .authenticate_plain(s.now, "fax", "secret")
        .expect("auth");
    assert_eq!(s.sent(), "F0001 AUTHENTICATE PLAIN AGZheABzZWNyZXQ=\r\n");
    assert_eq!(
        s.server("F0001 OK Logged in\r\n"),
        vec![Event::Done(Done::Login)]
    );

    let mut s = Session::greeted("IMAP4rev1 AUTH=PLAIN");
    s.client
        .authenticate_plain(s.now, "fax", "secret")
        .expect("auth");
    assert_eq!(s.sent(), "F0001 AUTHENTICATE PLAIN\r\n");
    assert_eq!(s.server("+ \r\n"), vec![]);
    assert_eq!(s.sent(), "AGZheABzZWNyZXQ=\r\n");
    assert_eq!(
        s.server("F0001 OK Logged in\r\n"),
        vec![Event::Done(Done::Login)]
    );
}

#[test]
fn login_sends_non_ascii_password_as_literal() {
    let mut s = Session::greeted(CAPS);
    s.client.login(s.now, "fax", "pässword").expect("login");
    assert_eq!(s.sent(), "F0001 LOGIN fax {9}\r\n");
    assert_eq!(s.server("+ OK\r\n"), vec![]);
    assert_eq!(s.sent(), "pässword\r\n");
    assert_eq!(
        s.server("F0001 OK Logged in\r\n"),
        vec![Event::Done(Done::Login)]
    );
}

#[test]
fn login_refused_is_an_event_and_session_stays_usable() {
    let mut s = Session::greeted(CAPS);
    s.client.login(s.now, "fax", "wrong").expect("login");
    s.sent();
    assert_eq!(
        s.server("F0001 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
        vec![Event::Refused(Error::Refused {
            command: "LOGIN",
            status: "NO",
            text: "Authentication failed.".into()
        })]
    );
    assert_eq!(s.client.state(), State::NotAuthenticated);
    s.client.login(s.now, "fax", "right").expect("second try");
}

#[test]
fn starttls_discards_capabilities_and_refuses_injected_bytes() {
    let mut s = Session::greeted(CAPS);
    s.client.starttls(s.now).expect("starttls");
    assert_eq!(s.sent(), "F0001 STARTTLS\r\n");
    assert_eq!(
        s.server("F0001 OK Begin TLS negotiation now.\r\n"),
        vec![Event::Done(Done::StartTls)]
    );
    assert!(s.client.capabilities().is_empty());

    let mut s = Session::greeted(CAPS);
    s.client.starttls(s.now).expect("starttls");
    let injected = s
        .client
        .handle_input(s.now, b"F0001 OK Begin TLS\r\n* 5 EXISTS\r\n");
    assert!(
        matches!(injected, Err(Error::Unexpected { .. })),
        "{injected:?}"
    );
    assert_eq!(s.client.state(), State::Broken);

    let mut s = Session::greeted("IMAP4rev1");
    assert_eq!(
        s.client.starttls(s.now),
        Err(Error::MissingCapability {
            capability: "STARTTLS"
        })
    );
}

#[test]
fn idle_reports_new_mail_and_ends_with_done() {
    let mut s = Session::selected(CAPS);
    s.client.idle(s.now).expect("idle");
    assert_eq!(s.sent(), "F0003 IDLE\r\n");
    assert_eq!(s.server("+ idling\r\n"), vec![Event::Idling]);
    assert_eq!(
        s.server("* 1 EXISTS\r\n* 1 RECENT\r\n"),
        vec![Event::Exists(1)]
    );
    s.client.done(s.now).expect("done");
    assert_eq!(s.sent(), "DONE\r\n");
    assert_eq!(
        s.server("F0003 OK Idle completed.\r\n"),
        vec![Event::Done(Done::Idle)]
    );
    assert!(!s.client.busy());
}

#[test]
fn done_before_the_continuation_waits_for_it() {
    let mut s = Session::selected(CAPS);
    s.client.idle(s.now).expect("idle");
    s.sent();
    s.client.done(s.now).expect("done");
    assert_eq!(s.sent(), "");
    assert_eq!(s.server("+ idling\r\n"), vec![]);
    assert_eq!(s.sent(), "DONE\r\n");
    assert_eq!(
        s.server("F0003 OK Idle completed.\r\n"),
        vec![Event::Done(Done::Idle)]
    );
}

#[test]
fn idle_restarts_itself_before_the_server_limit() {
    let mut s = Session::selected(CAPS);
    s.client.idle(s.now).expect("idle");
    s.sent();
    s.server("+ idling\r\n");
    let (deadline, timer) = s.client.poll_timeout().expect("a refresh deadline");
    assert_eq!(timer, mail_imap::Timer::IdleRefresh);
    assert!(deadline - s.now < Duration::from_secs(29 * 60));
    s.now = deadline;
    s.client.handle_timeout(s.now).expect("refresh");
    assert_eq!(s.sent(), "DONE\r\n");
    // The restart is invisible to the caller: no Done, a fresh IDLE.
    assert_eq!(s.server("F0003 OK Idle completed.\r\n"), vec![]);
    assert_eq!(s.sent(), "F0004 IDLE\r\n");
    assert_eq!(s.server("+ idling\r\n"), vec![Event::Idling]);
    assert_eq!(
        s.client.poll_timeout().map(|(d, _)| d),
        Some(deadline + Config::default().idle_refresh)
    );
}

#[test]
fn silent_server_times_out() {
    let mut s = Session::selected(CAPS);
    s.client.noop(s.now).expect("noop");
    let (deadline, timer) = s.client.poll_timeout().expect("deadline");
    assert_eq!(timer, mail_imap::Timer::Command);
    s.client
        .handle_timeout(deadline - Duration::from_millis(1))
        .expect("not yet");
    assert_eq!(
        s.client.handle_timeout(deadline),
        Err(Error::Timeout { command: "NOOP" })
    );
}

#[test]
fn unexpected_bye_and_unknown_tags_are_server_faults() {
    let mut s = Session::selected(CAPS);
    assert!(matches!(
        s.client
            .handle_input(s.now, b"* BYE Server shutting down\r\n"),
        Err(Error::Bye { .. })
    ));
    let mut s = Session::selected(CAPS);
    assert!(matches!(
        s.client.handle_input(s.now, b"Z99 OK what\r\n"),
        Err(Error::Unexpected { .. })
    ));
}

#[test]
fn preauth_greeting_skips_login() {
    let mut s = Session::new();
    assert_eq!(
        s.server("* PREAUTH ready\r\n"),
        vec![Event::Greeting { preauth: true }]
    );
    assert_eq!(s.client.state(), State::Authenticated);
}

#[test]
fn commands_in_the_wrong_state_are_caller_errors() {
    let mut s = Session::greeted(CAPS);
    assert!(matches!(
        s.client.uid_fetch(s.now, &[1]),
        Err(Error::WrongState { .. })
    ));
    s.client.noop(s.now).expect("noop");
    assert!(matches!(
        s.client.noop(s.now),
        Err(Error::WrongState { .. })
    ));
    assert_eq!(
        s.client
            .login(s.now, "fax\r\nA1 LOGOUT", "x")
            .err()
            .map(|_| ()),
        Some(())
    );
}
