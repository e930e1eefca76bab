//! One SMTP server session: states, commands and replies.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Settings of the listener, shared by its sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The name the server greets with and announces in EHLO.
    pub hostname: String,
    /// Largest message accepted, in bytes after dot-unstuffing (announced as SIZE).
    pub max_message_bytes: usize,
    /// Most recipients in one transaction; more get `452` (RFC 5321 4.5.3.1.10).
    pub max_recipients: usize,
    /// Longest command line, CRLF included. RFC 5321 asks for 512 at least; extensions
    /// (SIZE=, BODY=) add a little, so the default is generous.
    pub max_command_line: usize,
    /// STARTTLS is offered (the caller has a certificate and key).
    pub tls_available: bool,
    /// Mail is refused (530) until the client has started TLS.
    pub require_tls: bool,
    /// Idle time allowed between commands (RFC 5321 4.5.3.2.7 suggests 5 minutes).
    pub command_timeout: Duration,
    /// Idle time allowed inside DATA (RFC 5321 4.5.3.2.6 suggests 10 minutes).
    pub data_timeout: Duration,
    /// Bad commands tolerated before the session is closed with 421.
    pub max_errors: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hostname: "localhost".into(),
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 100,
            max_command_line: 2048,
            tls_available: false,
            require_tls: false,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(600),
            max_errors: 10,
        }
    }
}

impl Config {
    /// Checks the settings once, before the listener starts.
    pub fn validate(&self) -> Result<(), Error> {
        if self.hostname.is_empty()
            || !self
                .hostname
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
        {
            return Err(Error::Config {
                name: "hostname",
                reason: "must be a non-empty name without spaces",
            });
        }
        if self.max_message_bytes == 0 {
            return Err(Error::Config {
                name: "max_message_bytes",
                reason: "must be above 0",
            });
        }
        if self.max_recipients == 0 {
            return Err(Error::Config {
                name: "max_recipients",
                reason: "must be above 0",
            });
        }
        if self.max_command_line < 512 {
            return Err(Error::Config {
                name: "max_command_line",
                reason: "RFC 5321 requires at least 512",
            });
        }
        if self.require_tls && !self.tls_available {
            return Err(Error::Config {
                name: "require_tls",
                reason: "needs a certificate and key for STARTTLS",
            });
        }
        Ok(())
    }
}

/// A message received, waiting for the caller's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Identifies the message in [`Session::accept`] and [`Session::refuse`].
    pub id: u64,
    /// The name the client gave in EHLO or HELO.
    pub helo: String,
    /// Reverse path (empty for a bounce, `<>`).
    pub mail_from: String,
    /// Forward paths, in order, as given (the fax number may be in them).
    pub rcpt_to: Vec<String>,
    /// The message as received, dot-unstuffed, without the final `.` line.
    pub data: Vec<u8>,
    /// The message came over TLS.
    pub tls: bool,
    /// The client declared `BODY=8BITMIME`.
    pub eight_bit: bool,
    /// The client declared `SMTPUTF8`.
    pub smtputf8: bool,
    /// The client said EHLO (not HELO).
    pub ehlo: bool,
}

impl Message {
    /// The `Received:` trace line RFC 5321 4.4 asks a receiving server to put on top
    /// of the message, CRLF-terminated and folded. `peer` is the client's address,
    /// `date` the time of receipt in RFC 5322 form (the caller owns the clock).
    /// The recipient is named only when there is one (more would show every
    /// recipient to each of them).
    pub fn trace_header(&self, hostname: &str, peer: &str, date: &str) -> String {
        // RFC 3848's protocol names.
        let protocol = match (self.ehlo, self.tls, self.smtputf8) {
            (false, _, _) => "SMTP",
            (true, false, false) => "ESMTP",
            (true, true, false) => "ESMTPS",
            (true, false, true) => "UTF8SMTP",
            (true, true, true) => "UTF8SMTPS",
        };
        let helo: String = self
            .helo
            .chars()
            .filter(|c| !c.is_control() && *c != '(' && *c != ')')
            .take(255)
            .collect();
        let mut header = format!(
            "Received: from {helo} ({peer})\r\n\tby {hostname} (faxgate) with {protocol} id {}",
            self.id
        );
        if let [only] = self.rcpt_to.as_slice() {
            header.push_str(&format!("\r\n\tfor <{only}>"));
        }
        header.push_str(&format!("; {date}\r\n"));
        header
    }
}

/// The caller's reason for not taking a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Try again later (451): storage failed, the queue is full.
    Temporary(String),
    /// Never retry (554): the message is unacceptable.
    Permanent(String),
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the client.
    Send(Vec<u8>),
    /// Run the TLS server handshake now (the 220 is already in a preceding `Send`),
    /// then call [`Session::tls_started`].
    StartTls,
    /// Store this message, then call [`Session::accept`] or [`Session::refuse`].
    Message(Message),
    /// Close the connection (after writing everything before this).
    Close,
}

/// What the session waits for, in the order of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Greeted; waiting for EHLO or HELO.
    AwaitHelo,
    /// Waiting for MAIL.
    AwaitMail,
    /// MAIL given; waiting for RCPT (or DATA once one is accepted).
    AwaitRcpt,
    /// Reading the message.
    Data,
    /// The message is with the caller.
    AwaitVerdict,
    /// The caller runs the TLS handshake.
    TlsHandshake,
    /// QUIT, timeout or too many errors.
    Closed,
}

impl State {
    fn describe(self) -> &'static str {
        match self {
            State::AwaitHelo => "waiting for EHLO",
            State::AwaitMail => "waiting for MAIL",
            State::AwaitRcpt => "waiting for RCPT",
            State::Data => "reading DATA",
            State::AwaitVerdict => "waiting for a verdict",
            State::TlsHandshake => "starting TLS",
            State::Closed => "closed",
        }
    }
}

/// One SMTP server session.
#[derive(Debug)]
pub struct Session {
    config: Config,
    state: State,
    input: Vec<u8>,
    out: VecDeque<Output>,
    reply: Vec<u8>,
    deadline: Instant,
    helo: Option<String>,
    ehlo: bool,
    tls: bool,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    eight_bit: bool,
    smtputf8: bool,
    body: Vec<u8>,
    body_too_big: bool,
    data_line_start: bool,
    /// Discarding the rest of an over-long command line.
    skipping_line: bool,
    errors: u32,
    next_id: u64,
    verdict_for: Option<u64>,
}

impl Session {
    /// A session on a new connection: queues the 220 greeting.
    pub fn new(config: Config, now: Instant) -> Self {
        let deadline = now + config.command_timeout;
        let mut session = Session {
            config,
            state: State::AwaitHelo,
            input: Vec::new(),
            out: VecDeque::new(),
            reply: Vec::new(),
            deadline,
            helo: None,
            ehlo: false,
            tls: false,
            mail_from: None,
            rcpt_to: Vec::new(),
            eight_bit: false,
            smtputf8: false,
            body: Vec::new(),
            body_too_big: false,
            data_line_start: true,
            skipping_line: false,
            errors: 0,
            next_id: 1,
            verdict_for: None,
        };
        let greeting = format!("{} ESMTP faxgate", session.config.hostname);
        session.push_reply(220, &greeting);
        session.flush();
        session
    }

    /// A session for a connection the listener cannot serve now (too many connections):
    /// says 421 and closes.
    pub fn busy(config: Config, now: Instant) -> Self {
        let mut session = Session::new(config, now);
        session.out.clear();
        let text = format!(
            "4.3.2 {} too many connections, try again later",
            session.config.hostname
        );
        session.push_reply(421, &text);
        session.close();
        session
    }

    /// The name the session greets with (for the trace line).
    pub fn hostname(&self) -> &str {
        &self.config.hostname
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called; `None` while the caller holds a
    /// message or runs the TLS handshake (the caller times those itself).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::AwaitVerdict | State::TlsHandshake | State::Closed => None,
            _ => Some(self.deadline),
        }
    }

    /// Closes an idle session with 421 once its deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            let text = format!("4.4.2 {} timeout, closing connection", self.config.hostname);
            self.push_reply(421, &text);
            self.close();
        }
    }

    /// Whether the session has ended (a `Close` was queued).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Bytes read from the client.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), Error> {
        match self.state {
            State::Closed | State::TlsHandshake => {
                return Err(Error::WrongState {
                    state: self.state.describe(),
                });
            }
            _ => {}
        }
        self.input.extend_from_slice(bytes);
        self.process();
        // After processing, so DATA gets its own, longer timeout.
        self.touch(now);
        Ok(())
    }

    /// The client closed its side: nothing more will come.
    pub fn handle_eof(&mut self) {
        if self.state != State::Closed {
            self.state = State::Closed;
            self.out.push_back(Output::Close);
        }
    }

    /// The TLS handshake succeeded: the session starts over (RFC 3207 4.2: the client
    /// must say EHLO again, and nothing said before TLS counts).
    pub fn tls_started(&mut self, now: Instant) {
        if self.state != State::TlsHandshake {
            return;
        }
        self.tls = true;
        self.helo = None;
        self.ehlo = false;
        self.reset_transaction();
        self.state = State::AwaitHelo;
        self.touch(now);
    }

    /// The message is stored durably: reply 250.
    pub fn accept(&mut self, now: Instant, id: u64) -> Result<(), Error> {
        self.take_verdict(id)?;
        self.push_reply(250, &format!("2.0.0 OK queued as {id}"));
        self.after_verdict(now);
        Ok(())
    }

    /// The message was not stored: reply 451 or 554.
    pub fn refuse(&mut self, now: Instant, id: u64, refusal: Refusal) -> Result<(), Error> {
        self.take_verdict(id)?;
        match refusal {
            Refusal::Temporary(text) => self.push_reply(451, &format!("4.3.0 {}", one_line(&text))),
            Refusal::Permanent(text) => self.push_reply(554, &format!("5.6.0 {}", one_line(&text))),
        }
        self.after_verdict(now);
        Ok(())
    }

    fn take_verdict(&mut self, id: u64) -> Result<(), Error> {
        if self.state != State::AwaitVerdict || self.verdict_for != Some(id) {
            return Err(Error::NoSuchMessage { id });
        }
        self.verdict_for = None;
        Ok(())
    }

    fn after_verdict(&mut self, now: Instant) {
        self.state = State::AwaitMail;
        self.touch(now);
        // Commands pipelined behind the message (RSET, MAIL, QUIT) wait in the buffer.
        self.process();
    }

    fn touch(&mut self, now: Instant) {
        let timeout = if self.state == State::Data {
            self.config.data_timeout
        } else {
            self.config.command_timeout
        };
        self.deadline = now + timeout;
    }

    fn close(&mut self) {
        self.flush();
        self.state = State::Closed;
        self.input.clear();
        self.out.push_back(Output::Close);
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
        self.eight_bit = false;
        self.smtputf8 = false;
        self.body = Vec::new();
        self.body_too_big = false;
    }

    fn push_reply(&mut self, code: u16, text: &str) {
        self.reply
            .extend_from_slice(format!("{code} {text}\r\n").as_bytes());
    }

    fn push_multiline(&mut self, code: u16, lines: &[String]) {
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            self.reply
                .extend_from_slice(format!("{code}{sep}{line}\r\n").as_bytes());
        }
    }

    /// Replies go out together: with PIPELINING the client reads them as a batch.
    fn flush(&mut self) {
        if !self.reply.is_empty() {
            self.out
                .push_back(Output::Send(std::mem::take(&mut self.reply)));
        }
    }

    fn process(&mut self) {
        let input = std::mem::take(&mut self.input);
        let mut pos = 0;
        loop {
            match self.state {
                State::Data => {
                    let (used, ended) = self.data_step(&input[pos..]);
                    pos += used;
                    if ended {
                        self.end_of_data();
                        continue;
                    }
                    break;
                }
                State::AwaitHelo | State::AwaitMail | State::AwaitRcpt => {
                    let rest = &input[pos..];
                    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                        if rest.len() > self.config.max_command_line {
                            // Drop what we have; the rest of the line goes when its LF comes.
                            pos = input.len();
                            if !self.skipping_line {
                                self.skipping_line = true;
                                self.bad_command(500, "5.5.6 line too long");
                            }
                        }
                        break;
                    };
                    let line = rest[..lf].to_vec();
                    pos += lf + 1;
                    if self.skipping_line {
                        self.skipping_line = false;
                        continue;
                    }
                    if line.len() + 1 > self.config.max_command_line {
                        self.bad_command(500, "5.5.6 line too long");
                        continue;
                    }
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    let starttls = self.command(line);
                    if starttls {
                        // RFC 3207 5: anything pipelined after STARTTLS was sent in the
                        // clear and must not be read as if it came over TLS.
                        pos = input.len();
                        break;
                    }
                }
                State::AwaitVerdict | State::TlsHandshake | State::Closed => break,
            }
            if self.state == State::Closed {
                break;
            }
        }
        if self.state != State::Closed {
            self.input = input.get(pos..).unwrap_or_default().to_vec();
        }
        // Replies queued before a Message or StartTls went out ahead of it; these follow.
        self.flush();
    }

    /// Reads message bytes from `input`; returns bytes used and whether the final `.`
    /// line was reached.
    fn data_step(&mut self, input: &[u8]) -> (usize, bool) {
        let mut pos = 0;
        while pos < input.len() {
            if self.data_line_start && input[pos] == b'.' {
                match (input.get(pos + 1), input.get(pos + 2)) {
                    (None, _) => return (pos, false),
                    (Some(b'\n'), _) => return (pos + 2, true),
                    (Some(b'\r'), None) => return (pos, false),
                    (Some(b'\r'), Some(b'\n')) => return (pos + 3, true),
                    // A stuffed dot (RFC 5321 4.5.2): drop it, keep the rest.
                    _ => pos += 1,
                }
            }
            let rest = &input[pos..];
            let (n, line_end) = match rest.iter().position(|&b| b == b'\n') {
                Some(lf) => (lf + 1, true),
                None => (rest.len(), false),
            };
            if !self.body_too_big {
                if self.body.len() + n > self.config.max_message_bytes {
                    // Keep reading to the end so the session stays in step; keep nothing.
                    self.body_too_big = true;
                    self.body = Vec::new();
                } else {
                    self.body.extend_from_slice(&rest[..n]);
                }
            }
            self.data_line_start = line_end;
            pos += n;
        }
        (pos, false)
    }

    fn end_of_data(&mut self) {
        if self.body_too_big {
            let text = format!(
                "5.3.4 message too big: the limit is {} bytes",
                self.config.max_message_bytes
            );
            self.push_reply(552, &text);
            self.reset_transaction();
            self.state = State::AwaitMail;
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let message = Message {
            id,
            helo: self.helo.clone().unwrap_or_default(),
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            data: std::mem::take(&mut self.body),
            tls: self.tls,
            eight_bit: self.eight_bit,
            smtputf8: self.smtputf8,
            ehlo: self.ehlo,
        };
        self.reset_transaction();
        self.flush();
        self.out.push_back(Output::Message(message));
        self.verdict_for = Some(id);
        self.state = State::AwaitVerdict;
    }

    fn bad_command(&mut self, code: u16, text: &str) {
        self.push_reply(code, text);
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            let text = format!(
                "4.7.0 {} too many errors, closing connection",
                self.config.hostname
            );
            self.push_reply(421, &text);
            self.close();
        }
    }

    /// Runs one command line; returns true when TLS is to start.
    fn command(&mut self, line: &[u8]) -> bool {
        let Ok(line) = std::str::from_utf8(line) else {
            self.bad_command(500, "5.5.2 command is not valid UTF-8");
            return false;
        };
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb, arg.trim()),
            None => (line, ""),
        };
        let verb = verb.to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => self.helo(&verb, arg),
            "MAIL" => self.mail(arg),
            "RCPT" => self.rcpt(arg),
            "DATA" => self.data(arg),
            "RSET" => {
                self.reset_transaction();
                if self.state != State::AwaitHelo {
                    self.state = State::AwaitMail;
                }
                self.push_reply(250, "2.0.0 OK");
            }
            "NOOP" => self.push_reply(250, "2.0.0 OK"),
            "QUIT" => {
                let text = format!("2.0.0 {} closing connection", self.config.hostname);
                self.push_reply(221, &text);
                self.close();
            }
            "VRFY" => self.push_reply(252, "2.5.0 cannot verify, but will accept the message"),
            "HELP" => self.push_reply(214, "2.0.0 see RFC 5321"),
            "STARTTLS" => return self.starttls(arg),
            "EXPN" | "TURN" | "ETRN" | "BDAT" | "AUTH" | "SEND" | "SOML" | "SAML" => {
                self.bad_command(502, "5.5.1 command not implemented");
            }
            _ => self.bad_command(500, "5.5.2 command not recognized"),
        }
        false
    }

    fn helo(&mut self, verb: &str, arg: &str) {
        if arg.is_empty() || arg.contains(char::is_control) {
            self.bad_command(501, "5.5.4 a domain or address literal is required");
            return;
        }
        self.reset_transaction();
        self.helo = Some(arg.to_owned());
        self.ehlo = verb == "EHLO";
        self.state = State::AwaitMail;
        let greet = format!("{} greets {}", self.config.hostname, arg);
        if !self.ehlo {
            self.push_reply(250, &greet);
            return;
        }
        let mut lines = vec![
            greet,
            format!("SIZE {}", self.config.max_message_bytes),
            "8BITMIME".to_owned(),
            "PIPELINING".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
            "SMTPUTF8".to_owned(),
        ];
        if self.config.tls_available && !self.tls {
            lines.push("STARTTLS".to_owned());
        }
        self.push_multiline(250, &lines);
    }

    fn starttls(&mut self, arg: &str) -> bool {
        if !self.config.tls_available || self.tls {
            self.bad_command(502, "5.5.1 STARTTLS not available");
            return false;
        }
        if !arg.is_empty() {
            self.bad_command(501, "5.5.4 STARTTLS takes no parameters");
            return false;
        }
        if self.state == State::AwaitRcpt {
            self.bad_command(503, "5.5.1 STARTTLS inside a mail transaction");
            return false;
        }
        self.push_reply(220, "2.0.0 ready to start TLS");
        self.flush();
        self.out.push_back(Output::StartTls);
        self.state = State::TlsHandshake;
        true
    }

    fn mail(&mut self, arg: &str) {
        match self.state {
            State::AwaitHelo => return self.bad_command(503, "5.5.1 say EHLO first"),
            State::AwaitRcpt => return self.bad_command(503, "5.5.1 nested MAIL command"),
            _ => {}
        }
        if self.config.require_tls && !self.tls {
            self.bad_command(530, "5.7.0 must issue a STARTTLS command first");
            return;
        }
        let Some((path, params)) = parse_path(arg, "FROM:") else {
            return self.bad_command(501, "5.5.4 syntax: MAIL FROM:<address>");
        };
        let mut eight_bit = false;
        let mut smtputf8 = false;
        for param in params.split(' ').filter(|p| !p.is_empty()) {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(size) if size > self.config.max_message_bytes as u64 => {
                        let text = format!(
                            "5.3.4 message too big: the limit is {} bytes",
                            self.config.max_message_bytes
                        );
                        self.push_reply(552, &text);
                        return;
                    }
                    Ok(_) => {}
                    Err(_) => return self.bad_command(501, "5.5.4 bad SIZE parameter"),
                },
                "BODY" => match value.to_ascii_uppercase().as_str() {
                    "7BIT" => eight_bit = false,
                    "8BITMIME" => eight_bit = true,
                    _ => return self.bad_command(501, "5.5.4 bad BODY parameter"),
                },
                "SMTPUTF8" if value.is_empty() => smtputf8 = true,
                _ => return self.bad_command(555, "5.5.4 unsupported MAIL parameter"),
            }
        }
        if !path.is_ascii() && !smtputf8 {
            return self.bad_command(553, "5.6.7 non-ASCII address without SMTPUTF8");
        }
        self.mail_from = Some(path);
        self.eight_bit = eight_bit;
        self.smtputf8 = smtputf8;
        self.state = State::AwaitRcpt;
        self.push_reply(250, "2.1.0 OK");
    }

    fn rcpt(&mut self, arg: &str) {
        if self.state != State::AwaitRcpt {
            return self.bad_command(503, "5.5.1 need MAIL before RCPT");
        }
        let Some((path, params)) = parse_path(arg, "TO:") else {
            return self.bad_command(501, "5.5.4 syntax: RCPT TO:<address>");
        };
        if !params.trim().is_empty() {
            return self.bad_command(555, "5.5.4 unsupported RCPT parameter");
        }
        if path.is_empty() {
            return self.bad_command(501, "5.1.3 empty recipient");
        }
        if !path.is_ascii() && !self.smtputf8 {
            return self.bad_command(553, "5.6.7 non-ASCII address without SMTPUTF8");
        }
        if self.rcpt_to.len() >= self.config.max_recipients {
            // Not counted as an error: the client is told to send the rest later.
            self.push_reply(452, "4.5.3 too many recipients");
            return;
        }
        self.rcpt_to.push(path);
        self.push_reply(250, "2.1.5 OK");
    }

    fn data(&mut self, arg: &str) {
        if !arg.is_empty() {
            return self.bad_command(501, "5.5.4 DATA takes no parameters");
        }
        if self.state != State::AwaitRcpt || self.rcpt_to.is_empty() {
            let text = if self.state == State::AwaitRcpt {
                "5.5.1 no valid recipients"
            } else {
                "5.5.1 need MAIL and RCPT before DATA"
            };
            return self.bad_command(503, text);
        }
        self.push_reply(354, "end data with <CR><LF>.<CR><LF>");
        self.body = Vec::new();
        self.body_too_big = false;
        self.data_line_start = true;
        self.state = State::Data;
    }
}

/// `FROM:<path> params` → (path without brackets and source route, params).
fn parse_path<'a>(arg: &'a str, keyword: &str) -> Option<(String, &'a str)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    // Some clients put a space after the colon; accepting it costs nothing.
    let rest = arg[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let close = rest.find('>')?;
    let mut path = &rest[..close];
    let params = &rest[close + 1..];
    if !params.is_empty() && !params.starts_with(' ') {
        return None;
    }
    // A source route (`@a,@b:user@c`) is ignored, as RFC 5321 4.1.1.3 allows.
    if path.starts_with('@') {
        path = &path[path.find(':')? + 1..];
    }
    if path.len() > 256 || path.contains(|c: char| c.is_control() || c == ' ' || c == '<') {
        return None;
    }
    Some((path.to_owned(), params.trim()))
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(400)
        .collect()
}
