//! The client state machine.

use std::collections::VecDeque;

use crate::error::{Error, excerpt};

/// Sizes the engine accepts from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest status line or listing line, CRLF included (RFC 2449 allows 512).
    pub max_line: usize,
    /// Largest message, as sent on the wire (dot-stuffed, CRLF line ends).
    pub max_message: usize,
    /// Most entries a UIDL or LIST answer may have.
    pub max_listing: usize,
    /// Longest multi-line CAPA answer, in bytes.
    pub max_capa: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // Generous: some servers put long texts in -ERR answers.
            max_line: 4096,
            max_message: 64 * 1024 * 1024,
            max_listing: 100_000,
            max_capa: 64 * 1024,
        }
    }
}

/// The commands the engine can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// CAPA (RFC 2449).
    Capa,
    /// STLS (RFC 2595).
    Stls,
    /// USER name.
    User,
    /// PASS secret.
    Pass,
    /// APOP name digest.
    Apop,
    /// STAT.
    Stat,
    /// LIST (all messages).
    List,
    /// UIDL (all messages).
    Uidl,
    /// RETR n.
    Retr,
    /// DELE n.
    Dele,
    /// NOOP.
    Noop,
    /// RSET.
    Rset,
    /// QUIT.
    Quit,
}

/// Where the session is: while a command is in flight, the state names the answer it
/// waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Connected; waiting for the server's greeting.
    AwaitGreeting,
    /// AUTHORIZATION state, no command in flight.
    Authorization,
    /// Waiting for the answer to CAPA.
    AwaitCapa,
    /// Waiting for the answer to STLS.
    AwaitStls,
    /// STLS accepted: the driver runs the TLS handshake, then calls
    /// [`Client::tls_established`].
    TlsHandoff,
    /// Waiting for the answer to USER.
    AwaitUser,
    /// Waiting for the answer to PASS.
    AwaitPass,
    /// Waiting for the answer to APOP.
    AwaitApop,
    /// TRANSACTION state, no command in flight.
    Transaction,
    /// Waiting for the answer to STAT.
    AwaitStat,
    /// Waiting for the answer to LIST.
    AwaitList,
    /// Waiting for the answer to UIDL.
    AwaitUidl,
    /// Waiting for a message (RETR).
    AwaitRetr,
    /// Waiting for the answer to DELE.
    AwaitDele,
    /// Waiting for the answer to NOOP.
    AwaitNoop,
    /// Waiting for the answer to RSET.
    AwaitRset,
    /// Waiting for the answer to QUIT (the UPDATE state: deletions are committed when
    /// the server says +OK).
    AwaitQuit,
    /// The session is over.
    Closed,
}

/// What the server offers (the CAPA answer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// STLS offered.
    pub stls: bool,
    /// USER/PASS offered.
    pub user: bool,
    /// UIDL offered.
    pub uidl: bool,
    /// SASL mechanisms offered (upper case).
    pub sasl: Vec<String>,
    /// Every capability line as sent.
    pub raw: Vec<String>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The server greeted; `apop_timestamp` is the `<...>` token APOP needs, if any.
    Greeting {
        /// The greeting's text after `+OK `.
        text: String,
        /// The APOP timestamp, brackets included.
        apop_timestamp: Option<String>,
    },
    /// The CAPA answer.
    Capabilities(Capabilities),
    /// STLS accepted: run the TLS handshake now, then call `tls_established`.
    StartTls,
    /// USER accepted: send PASS next.
    UserAccepted,
    /// PASS or APOP accepted: the TRANSACTION state begins.
    LoggedIn,
    /// The STAT answer.
    Stat {
        /// Messages in the mailbox.
        count: u64,
        /// Their total size in octets.
        size: u64,
    },
    /// The LIST answer: message number and size.
    Listing(Vec<(u32, u64)>),
    /// The UIDL answer: message number and unique ID.
    UniqueIds(Vec<(u32, String)>),
    /// A message: its bytes as the server holds them, dot-unstuffing undone, line ends
    /// as sent (CRLF).
    Message {
        /// Its number in this session.
        number: u32,
        /// Its raw bytes.
        data: Vec<u8>,
    },
    /// DELE accepted: the message is marked, and removed when QUIT succeeds.
    Deleted(u32),
    /// NOOP or RSET accepted.
    Done(Command),
    /// QUIT accepted: marked messages are gone, the server closes the connection.
    Closed,
    /// The server answered -ERR; the session goes on (except after QUIT, where the
    /// server failed to remove marked messages and closes anyway).
    Refused {
        /// The command refused.
        command: Command,
        /// The server's text.
        text: String,
    },
}

/// A POP3 client session.
#[derive(Debug)]
pub struct Client {
    state: State,
    limits: Limits,
    input: Vec<u8>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    apop_timestamp: Option<String>,
    /// A multi-line answer under way: whether its +OK line was seen.
    multiline_started: bool,
    body: Vec<u8>,
    capa_lines: Vec<String>,
    capa_bytes: usize,
    listing: Vec<Vec<u8>>,
    retr_number: u32,
    dele_number: u32,
    /// Set by an error: the session is dead and every later call says `Closed`.
    failed: bool,
}

/// The APOP digest: MD5 of the greeting's timestamp (brackets included) followed by the
/// shared secret, in lower-case hex (RFC 1939, section 7).
pub fn apop_digest(timestamp: &str, secret: &str) -> String {
    let mut input = Vec::with_capacity(timestamp.len() + secret.len());
    input.extend_from_slice(timestamp.as_bytes());
    input.extend_from_slice(secret.as_bytes());
    format!("{:x}", md5::compute(&input))
}

fn valid_argument(text: &str) -> bool {
    !text.is_empty() && !text.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// The line's text without its line end.
fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

enum Status {
    Ok(String),
    Err(String),
}

fn parse_status(line: &[u8], expected: &'static str) -> Result<Status, Error> {
    let text = strip_eol(line);
    let rest_text =
        |rest: &[u8]| String::from_utf8_lossy(rest.strip_prefix(b" ").unwrap_or(rest)).into_owned();
    if let Some(rest) = text.strip_prefix(b"+OK")
        && (rest.is_empty() || rest[0] == b' ')
    {
        return Ok(Status::Ok(rest_text(rest)));
    }
    if let Some(rest) = text.strip_prefix(b"-ERR")
        && (rest.is_empty() || rest[0] == b' ')
    {
        return Ok(Status::Err(rest_text(rest)));
    }
    Err(Error::Protocol {
        expected,
        got: excerpt(text),
    })
}

fn apop_timestamp(text: &str) -> Option<String> {
    let start = text.find('<')?;
    let end = start + text[start..].find('>')?;
    let token = &text[start..=end];
    // RFC 1939: a msg-id, so printable ASCII without spaces; anything else is not a
    // timestamp APOP can use.
    if token.len() > 2 && token.bytes().all(|b| b.is_ascii_graphic()) {
        Some(token.to_owned())
    } else {
        None
    }
}

impl Client {
    /// A session on a fresh connection, waiting for the greeting.
    pub fn new(limits: Limits) -> Client {
        Client {
            state: State::AwaitGreeting,
            limits,
            input: Vec::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            apop_timestamp: None,
            multiline_started: false,
            body: Vec::new(),
            capa_lines: Vec::new(),
            capa_bytes: 0,
            listing: Vec::new(),
            retr_number: 0,
            dele_number: 0,
            failed: false,
        }
    }

    /// Where the session is.
    pub fn state(&self) -> State {
        self.state
    }

    /// The APOP timestamp of the greeting, if it had one.
    pub fn apop_timestamp(&self) -> Option<&str> {
        self.apop_timestamp.as_deref()
    }

    /// Bytes to send to the server, in order.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next thing that happened.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether a command waits for its answer (or the greeting is still due): the
    /// driver reads from the server only then.
    pub fn wants_input(&self) -> bool {
        !matches!(
            self.state,
            State::Authorization | State::Transaction | State::TlsHandoff | State::Closed
        )
    }

    /// The TLS handshake after STLS has completed: back to AUTHORIZATION, with every
    /// earlier capability forgotten (RFC 2595: ask CAPA again).
    pub fn tls_established(&mut self) -> Result<(), Error> {
        if self.state != State::TlsHandoff {
            return Err(Error::WrongState {
                command: Command::Stls,
                state: self.state,
            });
        }
        self.state = State::Authorization;
        Ok(())
    }

    fn issue(
        &mut self,
        command: Command,
        allowed: State,
        next: State,
        line: String,
    ) -> Result<(), Error> {
        if self.failed || self.state == State::Closed {
            return Err(Error::Closed);
        }
        if self.state != allowed {
            let in_flight = !matches!(
                self.state,
                State::Authorization | State::Transaction | State::TlsHandoff
            );
            return Err(if in_flight {
                Error::Busy(command)
            } else {
                Error::WrongState {
                    command,
                    state: self.state,
                }
            });
        }
        self.state = next;
        self.multiline_started = false;
        self.transmit.push_back(format!("{line}\r\n").into_bytes());
        Ok(())
    }

    /// CAPA (in AUTHORIZATION).
    pub fn capa(&mut self) -> Result<(), Error> {
        self.capa_lines.clear();
        self.capa_bytes = 0;
        self.issue(
            Command::Capa,
            State::Authorization,
            State::AwaitCapa,
            "CAPA".into(),
        )
    }

    /// STLS (in AUTHORIZATION).
    pub fn stls(&mut self) -> Result<(), Error> {
        self.issue(
            Command::Stls,
            State::Authorization,
            State::AwaitStls,
            "STLS".into(),
        )
    }

    /// USER name.
    pub fn user(&mut self, name: &str) -> Result<(), Error> {
        if !valid_argument(name) {
            return Err(Error::InvalidArgument(Command::User));
        }
        self.issue(
            Command::User,
            State::Authorization,
            State::AwaitUser,
            format!("USER {name}"),
        )
    }

    /// PASS secret (after USER was accepted).
    pub fn pass(&mut self, secret: &str) -> Result<(), Error> {
        if !valid_argument(secret) {
            return Err(Error::InvalidArgument(Command::Pass));
        }
        self.issue(
            Command::Pass,
            State::Authorization,
            State::AwaitPass,
            format!("PASS {secret}"),
        )
    }

    /// APOP name digest, from the greeting's timestamp.
    pub fn apop(&mut self, name: &str, secret: &str) -> Result<(), Error> {
        if !valid_argument(name) || name.contains(' ') || secret.contains(['\r', '\n']) {
            return Err(Error::InvalidArgument(Command::Apop));
        }
        let timestamp = self
            .apop_timestamp
            .clone()
            .ok_or(Error::Unsupported("APOP (no timestamp in the greeting)"))?;
        let digest = apop_digest(&timestamp, secret);
        self.issue(
            Command::Apop,
            State::Authorization,
            State::AwaitApop,
            format!("APOP {name} {digest}"),
        )
    }

    /// STAT.
    pub fn stat(&mut self) -> Result<(), Error> {
        self.issue(
            Command::Stat,
            State::Transaction,
            State::AwaitStat,
            "STAT".into(),
        )
    }

    /// LIST of every message.
    pub fn list(&mut self) -> Result<(), Error> {
        self.listing.clear();
        self.issue(
            Command::List,
            State::Transaction,
            State::AwaitList,
            "LIST".into(),
        )
    }

    /// UIDL of every message.
    pub fn uidl(&mut self) -> Result<(), Error> {
        self.listing.clear();
        self.issue(
            Command::Uidl,
            State::Transaction,
            State::AwaitUidl,
            "UIDL".into(),
        )
    }

    /// RETR n.
    pub fn retr(&mut self, number: u32) -> Result<(), Error> {
        if number == 0 {
            return Err(Error::InvalidArgument(Command::Retr));
        }
        self.body.clear();
        self.issue(
            Command::Retr,
            State::Transaction,
            State::AwaitRetr,
            format!("RETR {number}"),
        )?;
        self.retr_number = number;
        Ok(())
    }

    /// DELE n: marks the message; the server removes it when QUIT succeeds.
    pub fn dele(&mut self, number: u32) -> Result<(), Error> {
        if number == 0 {
            return Err(Error::InvalidArgument(Command::Dele));
        }
        self.issue(
            Command::Dele,
            State::Transaction,
            State::AwaitDele,
            format!("DELE {number}"),
        )?;
        self.dele_number = number;
        Ok(())
    }

    /// NOOP.
    pub fn noop(&mut self) -> Result<(), Error> {
        self.issue(
            Command::Noop,
            State::Transaction,
            State::AwaitNoop,
            "NOOP".into(),
        )
    }

    /// RSET: unmarks every message marked for deletion.
    pub fn rset(&mut self) -> Result<(), Error> {
        self.issue(
            Command::Rset,
            State::Transaction,
            State::AwaitRset,
            "RSET".into(),
        )
    }

    /// QUIT: in TRANSACTION, commits the deletions (UPDATE state).
    pub fn quit(&mut self) -> Result<(), Error> {
        let from = match self.state {
            State::Authorization | State::TlsHandoff => self.state,
            _ => State::Transaction,
        };
        self.issue(Command::Quit, from, State::AwaitQuit, "QUIT".into())
    }

    /// Bytes received from the server. Events become available through
    /// [`Client::poll_event`]. After an error the session is dead.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Closed);
        }
        self.input.extend_from_slice(bytes);
        let result = self.process();
        if result.is_err() {
            self.failed = true;
            self.state = State::Closed;
            self.input.clear();
        }
        result
    }

    fn process(&mut self) -> Result<(), Error> {
        let mut consumed = 0;
        let result = loop {
            let rest = &self.input[consumed..];
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                break self.check_partial(rest.len());
            };
            let line = rest[..=end].to_vec();
            consumed += end + 1;
            if let Err(error) = self.line(&line) {
                break Err(error);
            }
            if self.state == State::TlsHandoff && consumed < self.input.len() {
                // Anything the server sent after accepting STLS would be read as if it
                // came under TLS: the classic STARTTLS command injection.
                break Err(Error::Protocol {
                    expected: "nothing before the TLS handshake",
                    got: excerpt(&self.input[consumed..]),
                });
            }
        };
        self.input.drain(..consumed);
        result
    }

    /// A line without its end yet: bounded by the limit of what is being read.
    fn check_partial(&self, pending: usize) -> Result<(), Error> {
        let in_message = self.state == State::AwaitRetr && self.multiline_started;
        if in_message {
            if self.body.len() + pending > self.limits.max_message {
                return Err(Error::TooLarge {
                    what: "a message",
                    limit: self.limits.max_message,
                });
            }
        } else if pending > self.limits.max_line {
            return Err(Error::TooLarge {
                what: "a line",
                limit: self.limits.max_line,
            });
        }
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<(), Error> {
        let multiline = matches!(
            self.state,
            State::AwaitCapa | State::AwaitList | State::AwaitUidl | State::AwaitRetr
        );
        if multiline && self.multiline_started {
            return self.multiline_line(line);
        }
        if line.len() > self.limits.max_line {
            return Err(Error::TooLarge {
                what: "a line",
                limit: self.limits.max_line,
            });
        }
        let (expected, command) = match self.state {
            State::AwaitGreeting => ("a greeting", None),
            State::AwaitCapa => ("an answer to CAPA", Some(Command::Capa)),
            State::AwaitStls => ("an answer to STLS", Some(Command::Stls)),
            State::AwaitUser => ("an answer to USER", Some(Command::User)),
            State::AwaitPass => ("an answer to PASS", Some(Command::Pass)),
            State::AwaitApop => ("an answer to APOP", Some(Command::Apop)),
            State::AwaitStat => ("an answer to STAT", Some(Command::Stat)),
            State::AwaitList => ("an answer to LIST", Some(Command::List)),
            State::AwaitUidl => ("an answer to UIDL", Some(Command::Uidl)),
            State::AwaitRetr => ("an answer to RETR", Some(Command::Retr)),
            State::AwaitDele => ("an answer to DELE", Some(Command::Dele)),
            State::AwaitNoop => ("an answer to NOOP", Some(Command::Noop)),
            State::AwaitRset => ("an answer to RSET", Some(Command::Rset)),
            State::AwaitQuit => ("an answer to QUIT", Some(Command::Quit)),
            State::Authorization | State::Transaction | State::TlsHandoff | State::Closed => {
                return Err(Error::Protocol {
                    expected: "nothing (no command in flight)",
                    got: excerpt(strip_eol(line)),
                });
            }
        };
        let status = parse_status(line, expected)?;
        let Some(command) = command else {
            // The greeting.
            return match status {
                Status::Ok(text) => {
                    self.apop_timestamp = apop_timestamp(&text);
                    self.events.push_back(Event::Greeting {
                        apop_timestamp: self.apop_timestamp.clone(),
                        text,
                    });
                    self.state = State::Authorization;
                    Ok(())
                }
                Status::Err(text) => {
                    // The server does not want us (busy, blocked): it closes.
                    self.events.push_back(Event::Refused {
                        command: Command::Quit,
                        text,
                    });
                    self.state = State::Closed;
                    Ok(())
                }
            };
        };
        let text = match status {
            Status::Err(text) => {
                self.state = match command {
                    Command::Capa
                    | Command::Stls
                    | Command::User
                    | Command::Pass
                    | Command::Apop => State::Authorization,
                    Command::Quit => State::Closed,
                    _ => State::Transaction,
                };
                self.events.push_back(Event::Refused { command, text });
                return Ok(());
            }
            Status::Ok(text) => text,
        };
        match self.state {
            State::AwaitCapa | State::AwaitList | State::AwaitUidl | State::AwaitRetr => {
                self.multiline_started = true;
            }
            State::AwaitStls => {
                self.state = State::TlsHandoff;
                self.events.push_back(Event::StartTls);
            }
            State::AwaitUser => {
                self.state = State::Authorization;
                self.events.push_back(Event::UserAccepted);
            }
            State::AwaitPass | State::AwaitApop => {
                self.state = State::Transaction;
                self.events.push_back(Event::LoggedIn);
            }
            State::AwaitStat => {
                let mut words = text.split_ascii_whitespace();
                let count = words.next().and_then(|w| w.parse::<u64>().ok());
                let size = words.next().and_then(|w| w.parse::<u64>().ok());
                let (Some(count), Some(size)) = (count, size) else {
                    return Err(Error::Protocol {
                        expected: "+OK count size",
                        got: excerpt(text.as_bytes()),
                    });
                };
                self.state = State::Transaction;
                self.events.push_back(Event::Stat { count, size });
            }
            State::AwaitDele => {
                self.state = State::Transaction;
                self.events.push_back(Event::Deleted(self.dele_number));
            }
            State::AwaitNoop | State::AwaitRset => {
                self.state = State::Transaction;
                self.events.push_back(Event::Done(command));
            }
            State::AwaitQuit => {
                self.state = State::Closed;
                self.events.push_back(Event::Closed);
            }
            _ => {}
        }
        Ok(())
    }

    /// One line of a multi-line answer (after its +OK line).
    fn multiline_line(&mut self, line: &[u8]) -> Result<(), Error> {
        let content = strip_eol(line);
        if content == b"." {
            return self.multiline_end();
        }
        // Dot-stuffing: a line starting with "." was sent with one more.
        let unstuffed = if content.first() == Some(&b'.') {
            &line[1..]
        } else {
            line
        };
        match self.state {
            State::AwaitRetr => {
                if self.body.len() + unstuffed.len() > self.limits.max_message {
                    return Err(Error::TooLarge {
                        what: "a message",
                        limit: self.limits.max_message,
                    });
                }
                self.body.extend_from_slice(unstuffed);
            }
            State::AwaitCapa => {
                self.capa_bytes += line.len();
                if self.capa_bytes > self.limits.max_capa {
                    return Err(Error::TooLarge {
                        what: "a CAPA answer",
                        limit: self.limits.max_capa,
                    });
                }
                self.capa_lines
                    .push(String::from_utf8_lossy(strip_eol(unstuffed)).into_owned());
            }
            _ => {
                if line.len() > self.limits.max_line {
                    return Err(Error::TooLarge {
                        what: "a line",
                        limit: self.limits.max_line,
                    });
                }
                if self.listing.len() >= self.limits.max_listing {
                    return Err(Error::TooLarge {
                        what: "a listing",
                        limit: self.limits.max_listing,
                    });
                }
                self.listing.push(strip_eol(unstuffed).to_vec());
            }
        }
        Ok(())
    }

    fn multiline_end(&mut self) -> Result<(), Error> {
        self.multiline_started = false;
        match self.state {
            State::AwaitRetr => {
                self.state = State::Transaction;
                self.events.push_back(Event::Message {
                    number: self.retr_number,
                    data: std::mem::take(&mut self.body),
                });
            }
            State::AwaitCapa => {
                self.state = State::Authorization;
                let raw = std::mem::take(&mut self.capa_lines);
                let mut capabilities = Capabilities::default();
                for line in &raw {
                    let mut words = line.split_ascii_whitespace();
                    match words.next().map(str::to_ascii_uppercase).as_deref() {
                        Some("STLS") => capabilities.stls = true,
                        Some("USER") => capabilities.user = true,
                        Some("UIDL") => capabilities.uidl = true,
                        Some("SASL") => {
                            capabilities.sasl = words.map(str::to_ascii_uppercase).collect();
                        }
                        _ => {}
                    }
                }
                capabilities.raw = raw;
                self.events.push_back(Event::Capabilities(capabilities));
            }
            State::AwaitList => {
                self.state = State::Transaction;
                let mut entries = Vec::with_capacity(self.listing.len());
                for line in std::mem::take(&mut self.listing) {
                    let (number, size) = number_and_word(&line, "LIST entry: number size")?;
                    let size = size.parse::<u64>().map_err(|_| Error::Protocol {
                        expected: "LIST entry: number size",
                        got: excerpt(&line),
                    })?;
                    entries.push((number, size));
                }
                self.events.push_back(Event::Listing(entries));
            }
            State::AwaitUidl => {
                self.state = State::Transaction;
                let mut entries = Vec::with_capacity(self.listing.len());
                for line in std::mem::take(&mut self.listing) {
                    let (number, uid) = number_and_word(&line, "UIDL entry: number unique-id")?;
                    // RFC 1939: 1 to 70 characters from 0x21 to 0x7E.
                    if uid.is_empty() || uid.len() > 70 {
                        return Err(Error::Protocol {
                            expected: "a unique-id of 1 to 70 characters",
                            got: excerpt(&line),
                        });
                    }
                    entries.push((number, uid.to_owned()));
                }
                self.events.push_back(Event::UniqueIds(entries));
            }
            _ => {}
        }
        Ok(())
    }
}

/// `n word` of a listing line; the word printable ASCII.
fn number_and_word<'a>(line: &'a [u8], expected: &'static str) -> Result<(u32, &'a str), Error> {
    let malformed = || Error::Protocol {
        expected,
        got: excerpt(line),
    };
    let text = std::str::from_utf8(line).map_err(|_| malformed())?;
    let mut words = text.split(' ').filter(|w| !w.is_empty());
    let number = words
        .next()
        .and_then(|w| w.parse::<u32>().ok())
        .filter(|&n| n > 0)
        .ok_or_else(malformed)?;
    let word = words.next().ok_or_else(malformed)?;
    if !word.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(malformed());
    }
    Ok((number, word))
}
