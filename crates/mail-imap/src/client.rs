//! The client engine: commands in, bytes out; server bytes in, events out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::response::{Code, FetchData, Framer, Limits, Response, Status, parse};

/// Settings of one client session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Bounds on what the server may send.
    pub limits: Limits,
    /// How long the server may take to answer a command (IDLE excluded).
    pub command_timeout: Duration,
    /// How long an IDLE runs before the client ends and restarts it. RFC 2177 lets a
    /// server drop a client idle for 30 minutes, so this must stay below 29.
    pub idle_refresh: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            command_timeout: Duration::from_secs(120),
            idle_refresh: Duration::from_secs(25 * 60),
        }
    }
}

/// What the session is doing, in the order of RFC 3501's state diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Connected, no greeting yet.
    AwaitGreeting,
    /// Greeted, not logged in.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// The server said BYE or the client logged out.
    LoggedOut,
    /// A fatal error happened; the connection must be dropped.
    Broken,
}

impl State {
    fn describe(self) -> &'static str {
        match self {
            State::AwaitGreeting => "waiting for the greeting",
            State::NotAuthenticated => "not logged in",
            State::Authenticated => "logged in without a selected mailbox",
            State::Selected => "in a selected mailbox",
            State::LoggedOut => "logged out",
            State::Broken => "broken",
        }
    }
}

/// The server's capabilities, as last announced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(Vec<String>);

impl Capabilities {
    /// Whether the server announced `name` (case-insensitive).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|c| c.eq_ignore_ascii_case(name))
    }

    /// Whether nothing is known (never asked, or discarded after STARTTLS).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What SELECT reported about the mailbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mailbox {
    /// UIDVALIDITY: UIDs only identify a message together with this value.
    pub uid_validity: Option<u32>,
    /// UIDNEXT, if announced.
    pub uid_next: Option<u32>,
    /// Number of messages.
    pub exists: u32,
    /// The server opened the mailbox read-only: nothing can be deleted or moved.
    pub read_only: bool,
}

/// A message fetched with `UID FETCH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its UID.
    pub uid: u32,
    /// RFC822.SIZE as the server reported it.
    pub size: Option<u32>,
    /// The raw message.
    pub body: Vec<u8>,
}

/// A command that completed with OK, and what it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// CAPABILITY: see [`Client::capabilities`].
    Capability,
    /// STARTTLS: the caller must now run the TLS handshake on the connection, then ask
    /// for CAPABILITY again (the old list is discarded, as RFC 3501 requires).
    StartTls,
    /// LOGIN or AUTHENTICATE.
    Login,
    /// SELECT.
    Select(Mailbox),
    /// CREATE.
    Create,
    /// UID SEARCH: the UIDs found, ascending.
    Search(Vec<u32>),
    /// UID FETCH: the messages that came back with a body.
    Fetch(Vec<Fetched>),
    /// UID FETCH of sizes only: `(uid, RFC822.SIZE)` pairs, ascending by UID.
    Sizes(Vec<(u32, u32)>),
    /// UID STORE.
    Store,
    /// EXPUNGE or UID EXPUNGE.
    Expunge,
    /// UID MOVE.
    Move,
    /// NOOP.
    Noop,
    /// IDLE ended after [`Client::done`].
    Idle,
    /// LOGOUT.
    Logout,
}

/// What the engine reports after server input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The greeting arrived; `preauth` if the server logged us in already.
    Greeting {
        /// The server greeted with PREAUTH.
        preauth: bool,
    },
    /// The command in flight completed with OK.
    Done(Done),
    /// The command in flight was refused (tagged NO or BAD). The session is still usable.
    Refused(Error),
    /// The server accepted IDLE and will now report new mail as it arrives.
    Idling,
    /// The mailbox now holds this many messages (new mail, when it grows).
    Exists(u32),
    /// The message with this sequence number was expunged.
    Expunged(u32),
}

/// Why the engine wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// The command in flight has not been answered.
    Command,
    /// IDLE has run long enough and must be restarted before the server drops us.
    IdleRefresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Capability,
    StartTls,
    Login,
    Authenticate,
    Select,
    Create,
    Search,
    Fetch,
    Sizes,
    Store,
    Expunge,
    Move,
    Noop,
    Idle,
    Logout,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Capability => "CAPABILITY",
            Kind::StartTls => "STARTTLS",
            Kind::Login => "LOGIN",
            Kind::Authenticate => "AUTHENTICATE",
            Kind::Select => "SELECT",
            Kind::Create => "CREATE",
            Kind::Search => "UID SEARCH",
            Kind::Fetch | Kind::Sizes => "UID FETCH",
            Kind::Store => "UID STORE",
            Kind::Expunge => "EXPUNGE",
            Kind::Move => "UID MOVE",
            Kind::Noop => "NOOP",
            Kind::Idle => "IDLE",
            Kind::Logout => "LOGOUT",
        }
    }
}

#[derive(Debug)]
struct Pending {
    tag: String,
    kind: Kind,
    /// Pieces that follow a continuation request (literal data, a SASL response).
    parts: VecDeque<Vec<u8>>,
    deadline: Option<Instant>,
    mailbox: Mailbox,
    search: Vec<u32>,
    fetched: Vec<Fetched>,
    sizes: Vec<(u32, u32)>,
    /// IDLE: the server sent its continuation.
    idle_accepted: bool,
    /// IDLE: DONE is due (the caller asked, or the refresh timer fired) or already sent.
    done_wanted: bool,
    done_sent: bool,
    /// IDLE: DONE was sent by the refresh timer; restart IDLE on completion.
    refresh: bool,
    idle_since: Option<Instant>,
}

/// A sans-IO IMAP4rev1 client session.
///
/// Feed server bytes with [`Client::handle_input`], drain [`Client::poll_event`], send
/// what [`Client::take_output`] returns, and call [`Client::handle_timeout`] at
/// [`Client::poll_timeout`]. One command is in flight at a time.
#[derive(Debug)]
pub struct Client {
    config: Config,
    state: State,
    input: Vec<u8>,
    framer: Framer,
    output: Vec<u8>,
    events: VecDeque<Event>,
    pending: Option<Pending>,
    capabilities: Capabilities,
    next_tag: u32,
    /// Where a SELECT is going while in flight, to become `state` on OK.
    read_only: bool,
}

impl Client {
    /// A session on a freshly opened connection (the greeting is awaited).
    pub fn new(config: Config) -> Self {
        Client {
            config,
            state: State::AwaitGreeting,
            input: Vec::new(),
            framer: Framer::default(),
            output: Vec::new(),
            events: VecDeque::new(),
            pending: None,
            capabilities: Capabilities::default(),
            next_tag: 1,
            read_only: false,
        }
    }

    /// The session's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The capabilities last announced by the server.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Whether a command is in flight (IDLE included).
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Bytes to write to the server, in order.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`Client::handle_timeout`], and why.
    pub fn poll_timeout(&self) -> Option<(Instant, Timer)> {
        let pending = self.pending.as_ref()?;
        if pending.kind == Kind::Idle && pending.idle_accepted && !pending.done_sent {
            let since = pending.idle_since?;
            return Some((since + self.config.idle_refresh, Timer::IdleRefresh));
        }
        pending.deadline.map(|d| (d, Timer::Command))
    }

    /// Act on the clock: restart a long IDLE, or fail a command the server sat on.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        let Some((deadline, timer)) = self.poll_timeout() else {
            return Ok(());
        };
        if now < deadline {
            return Ok(());
        }
        match timer {
            Timer::IdleRefresh => {
                if let Some(p) = self.pending.as_mut() {
                    p.refresh = true;
                    p.done_wanted = true;
                    p.done_sent = true;
                    p.deadline = Some(now + self.config.command_timeout);
                    self.output.extend_from_slice(b"DONE\r\n");
                }
                Ok(())
            }
            Timer::Command => {
                let command = self.pending.as_ref().map_or("a command", |p| p.kind.name());
                self.state = State::Broken;
                Err(Error::Timeout { command })
            }
        }
    }

    /// Feed bytes read from the server. A fatal error leaves the session
    /// [`State::Broken`]; refusals of a single command arrive as [`Event::Refused`].
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), Error> {
        if self.state == State::Broken {
            return Err(Error::WrongState {
                command: "read",
                state: self.state.describe(),
            });
        }
        self.input.extend_from_slice(bytes);
        let result = self.process(now);
        if result.is_err() {
            self.state = State::Broken;
        }
        result
    }

    fn process(&mut self, now: Instant) -> Result<(), Error> {
        while let Some(len) = self.framer.frame(&self.input, &self.config.limits)? {
            let response = parse(&self.input[..len]);
            self.input.drain(..len);
            self.framer.reset();
            self.on_response(now, response?)?;
        }
        Ok(())
    }

    fn on_response(&mut self, now: Instant, response: Response) -> Result<(), Error> {
        if self.state == State::AwaitGreeting {
            return self.on_greeting(response);
        }
        match response {
            Response::Continuation(text) => self.on_continuation(now, text),
            Response::Tagged {
                tag,
                status,
                code,
                text,
            } => self.on_tagged(now, tag, status, code, text),
            Response::Condition {
                status: Status::Bye,
                text,
                ..
            } => {
                let logging_out = self
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.kind == Kind::Logout);
                if logging_out {
                    Ok(())
                } else {
                    self.state = State::LoggedOut;
                    Err(Error::Bye { text })
                }
            }
            Response::Condition { code, .. } => {
                if let Some(code) = code {
                    self.on_code(code);
                }
                Ok(())
            }
            Response::Capability(caps) => {
                self.capabilities = Capabilities(caps);
                Ok(())
            }
            Response::Exists(n) => {
                match self.pending.as_mut() {
                    Some(p) if p.kind == Kind::Select => p.mailbox.exists = n,
                    _ => self.events.push_back(Event::Exists(n)),
                }
                Ok(())
            }
            Response::Expunge(n) => {
                self.events.push_back(Event::Expunged(n));
                Ok(())
            }
            Response::Search(uids) => {
                if let Some(p) = self.pending.as_mut().filter(|p| p.kind == Kind::Search) {
                    p.search.extend(uids);
                }
                Ok(())
            }
            Response::Fetch(data) => {
                self.on_fetch(data);
                Ok(())
            }
            Response::Recent(_) | Response::Other(_) => Ok(()),
        }
    }

    fn on_greeting(&mut self, response: Response) -> Result<(), Error> {
        let Response::Condition { status, code, text } = response else {
            return Err(Error::Unexpected {
                got: "something other than a greeting".into(),
                state: self.state.describe(),
            });
        };
        if let Some(code) = code {
            self.on_code(code);
        }
        match status {
            Status::Ok => {
                self.state = State::NotAuthenticated;
                self.events.push_back(Event::Greeting { preauth: false });
                Ok(())
            }
            Status::PreAuth => {
                self.state = State::Authenticated;
                self.events.push_back(Event::Greeting { preauth: true });
                Ok(())
            }
            Status::Bye => {
                self.state = State::LoggedOut;
                Err(Error::Bye { text })
            }
            Status::No | Status::Bad => Err(Error::Unexpected {
                got: format!("a {} greeting", status.as_str()),
                state: self.state.describe(),
            }),
        }
    }

    fn on_code(&mut self, code: Code) {
        match code {
            Code::Capability(caps) => self.capabilities = Capabilities(caps),
            Code::UidValidity(v) => {
                if let Some(p) = self.pending.as_mut() {
                    p.mailbox.uid_validity = Some(v);
                }
            }
            Code::UidNext(v) => {
                if let Some(p) = self.pending.as_mut() {
                    p.mailbox.uid_next = Some(v);
                }
            }
            Code::ReadOnly => self.read_only = true,
            Code::ReadWrite => self.read_only = false,
            Code::Other(_) => {}
        }
    }

    fn on_fetch(&mut self, data: FetchData) {
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        if p.kind == Kind::Sizes {
            if let (Some(uid), Some(size)) = (data.uid, data.size) {
                p.sizes.push((uid, size));
            }
            return;
        }
        if p.kind != Kind::Fetch {
            // Unsolicited (a flag change by another client): nothing to do.
            return;
        }
        if let (Some(uid), Some(body)) = (data.uid, data.body) {
            p.fetched.push(Fetched {
                uid,
                size: data.size,
                body,
            });
        }
    }

    fn on_continuation(&mut self, now: Instant, text: String) -> Result<(), Error> {
        let state = self.state.describe();
        let Some(p) = self.pending.as_mut() else {
            return Err(Error::Unexpected {
                got: format!("a continuation ({text})"),
                state,
            });
        };
        if p.kind == Kind::Idle {
            if p.idle_accepted {
                return Err(Error::Unexpected {
                    got: "a second IDLE continuation".into(),
                    state,
                });
            }
            p.idle_accepted = true;
            p.idle_since = Some(now);
            p.deadline = None;
            if p.done_wanted && !p.done_sent {
                p.done_sent = true;
                p.deadline = Some(now + self.config.command_timeout);
                self.output.extend_from_slice(b"DONE\r\n");
            } else {
                self.events.push_back(Event::Idling);
            }
            return Ok(());
        }
        match p.parts.pop_front() {
            Some(part) => {
                self.output.extend_from_slice(&part);
                Ok(())
            }
            None => Err(Error::Unexpected {
                got: format!("a continuation ({text}) for {}", p.kind.name()),
                state,
            }),
        }
    }

    fn on_tagged(
        &mut self,
        now: Instant,
        tag: String,
        status: Status,
        code: Option<Code>,
        text: String,
    ) -> Result<(), Error> {
        let matches = self.pending.as_ref().is_some_and(|p| p.tag == tag);
        if !matches {
            return Err(Error::Unexpected {
                got: format!("a reply to unknown tag {tag}"),
                state: self.state.describe(),
            });
        }
        if let Some(code) = code {
            self.on_code(code);
        }
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        if status != Status::Ok {
            if p.kind == Kind::Select {
                // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1).
                self.state = State::Authenticated;
            }
            self.events.push_back(Event::Refused(Error::Refused {
                command: p.kind.name(),
                status: status.as_str(),
                text,
            }));
            return Ok(());
        }
        let done = match p.kind {
            Kind::Capability => Done::Capability,
            Kind::StartTls => {
                if !self.input.is_empty() {
                    // Anything after the OK would be read as if it came over TLS.
                    return Err(Error::Unexpected {
                        got: "bytes after the STARTTLS reply".into(),
                        state: "starting TLS",
                    });
                }
                self.capabilities = Capabilities::default();
                Done::StartTls
            }
            Kind::Login | Kind::Authenticate => {
                self.state = State::Authenticated;
                Done::Login
            }
            Kind::Select => {
                self.state = State::Selected;
                let mut mailbox = p.mailbox;
                mailbox.read_only = self.read_only;
                Done::Select(mailbox)
            }
            Kind::Create => Done::Create,
            Kind::Search => {
                let mut uids = p.search;
                uids.sort_unstable();
                uids.dedup();
                Done::Search(uids)
            }
            Kind::Fetch => Done::Fetch(p.fetched),
            Kind::Sizes => {
                let mut sizes = p.sizes;
                sizes.sort_unstable();
                sizes.dedup_by_key(|(uid, _)| *uid);
                Done::Sizes(sizes)
            }
            Kind::Store => Done::Store,
            Kind::Expunge => Done::Expunge,
            Kind::Move => Done::Move,
            Kind::Noop => Done::Noop,
            Kind::Idle => {
                if p.refresh {
                    self.send(now, Kind::Idle, b"IDLE".to_vec(), VecDeque::new());
                    return Ok(());
                }
                Done::Idle
            }
            Kind::Logout => {
                self.state = State::LoggedOut;
                Done::Logout
            }
        };
        self.events.push_back(Event::Done(done));
        Ok(())
    }

    fn check(&self, kind: Kind, allowed: &[State]) -> Result<(), Error> {
        if self.pending.is_some() || !allowed.contains(&self.state) {
            let state = if self.pending.is_some() {
                "another command is in flight"
            } else {
                self.state.describe()
            };
            return Err(Error::WrongState {
                command: kind.name(),
                state,
            });
        }
        Ok(())
    }

    fn send(&mut self, now: Instant, kind: Kind, command: Vec<u8>, parts: VecDeque<Vec<u8>>) {
        let tag = format!("F{:04}", self.next_tag);
        self.next_tag = self.next_tag.wrapping_add(1);
        self.output.extend_from_slice(tag.as_bytes());
        self.output.push(b' ');
        self.output.extend_from_slice(&command);
        self.output.extend_from_slice(b"\r\n");
        let deadline = if kind == Kind::Idle {
            None
        } else {
            Some(now + self.config.command_timeout)
        };
        self.pending = Some(Pending {
            tag,
            kind,
            parts,
            deadline,
            mailbox: Mailbox::default(),
            search: Vec::new(),
            fetched: Vec::new(),
            sizes: Vec::new(),
            idle_accepted: false,
            done_wanted: false,
            done_sent: false,
            refresh: false,
            idle_since: None,
        });
    }

    const ANY: [State; 3] = [
        State::NotAuthenticated,
        State::Authenticated,
        State::Selected,
    ];

    /// `CAPABILITY`.
    pub fn capability(&mut self, now: Instant) -> Result<(), Error> {
        self.check(Kind::Capability, &Self::ANY)?;
        self.send(
            now,
            Kind::Capability,
            b"CAPABILITY".to_vec(),
            VecDeque::new(),
        );
        Ok(())
    }

    /// `NOOP`: lets the server report new mail when IDLE is not available.
    pub fn noop(&mut self, now: Instant) -> Result<(), Error> {
        self.check(Kind::Noop, &Self::ANY)?;
        self.send(now, Kind::Noop, b"NOOP".to_vec(), VecDeque::new());
        Ok(())
    }

    /// `STARTTLS`, refused locally if the server did not announce it.
    pub fn starttls(&mut self, now: Instant) -> Result<(), Error> {
        self.check(Kind::StartTls, &[State::NotAuthenticated])?;
        if !self.capabilities.has("STARTTLS") {
            return Err(Error::MissingCapability {
                capability: "STARTTLS",
            });
        }
        self.send(now, Kind::StartTls, b"STARTTLS".to_vec(), VecDeque::new());
        Ok(())
    }

    /// `LOGIN user password`; a value that cannot be quoted goes as a literal.
    pub fn login(&mut self, now: Instant, user: &str, password: &str) -> Result<(), Error> {
        self.check(Kind::Login, &[State::NotAuthenticated])?;
        if self.capabilities.has("LOGINDISABLED") {
            return Err(Error::MissingCapability {
                capability: "LOGIN (LOGINDISABLED)",
            });
        }
        let args = vec![
            astring(user.as_bytes(), "the user name")?,
            astring(password.as_bytes(), "the password")?,
        ];
        // A literal ends a segment: the server's continuation asks for the next one.
        let mut segments = Vec::new();
        let mut current = b"LOGIN".to_vec();
        for arg in args {
            current.push(b' ');
            match arg {
                Arg::Inline(bytes) => current.extend_from_slice(&bytes),
                Arg::Literal(bytes) => {
                    current.extend_from_slice(format!("{{{}}}", bytes.len()).as_bytes());
                    segments.push(std::mem::replace(&mut current, bytes));
                }
            }
        }
        segments.push(current);
        let line = segments.remove(0);
        let parts = segments
            .into_iter()
            .map(|mut part| {
                part.extend_from_slice(b"\r\n");
                part
            })
            .collect();
        self.send(now, Kind::Login, line, parts);
        Ok(())
    }

    /// `AUTHENTICATE PLAIN` (RFC 4616), with an initial response when the server takes
    /// one (SASL-IR).
    pub fn authenticate_plain(
        &mut self,
        now: Instant,
        user: &str,
        password: &str,
    ) -> Result<(), Error> {
        self.check(Kind::Authenticate, &[State::NotAuthenticated])?;
        if !self.capabilities.has("AUTH=PLAIN") {
            return Err(Error::MissingCapability {
                capability: "AUTH=PLAIN",
            });
        }
        let mut message = Vec::with_capacity(user.len() + password.len() + 2);
        message.push(0);
        message.extend_from_slice(user.as_bytes());
        message.push(0);
        message.extend_from_slice(password.as_bytes());
        let encoded = crate::base64::encode(&message);
        let mut line = b"AUTHENTICATE PLAIN".to_vec();
        let mut parts = VecDeque::new();
        if self.capabilities.has("SASL-IR") {
            line.push(b' ');
            line.extend_from_slice(encoded.as_bytes());
        } else {
            let mut part = encoded.into_bytes();
            part.extend_from_slice(b"\r\n");
            parts.push_back(part);
        }
        self.send(now, Kind::Authenticate, line, parts);
        Ok(())
    }

    /// `SELECT mailbox`.
    pub fn select(&mut self, now: Instant, mailbox: &str) -> Result<(), Error> {
        self.check(Kind::Select, &[State::Authenticated, State::Selected])?;
        let mut line = b"SELECT ".to_vec();
        line.extend_from_slice(&mailbox_name(mailbox)?);
        self.read_only = false;
        self.send(now, Kind::Select, line, VecDeque::new());
        Ok(())
    }

    /// `CREATE mailbox` (a processed folder that does not exist yet).
    pub fn create(&mut self, now: Instant, mailbox: &str) -> Result<(), Error> {
        self.check(Kind::Create, &[State::Authenticated, State::Selected])?;
        let mut line = b"CREATE ".to_vec();
        line.extend_from_slice(&mailbox_name(mailbox)?);
        self.send(now, Kind::Create, line, VecDeque::new());
        Ok(())
    }

    /// `UID SEARCH` for messages not yet marked deleted (a crash between STORE and
    /// EXPUNGE leaves some behind; they are already stored and must not come back).
    pub fn uid_search_undeleted(&mut self, now: Instant) -> Result<(), Error> {
        self.check(Kind::Search, &[State::Selected])?;
        self.send(
            now,
            Kind::Search,
            b"UID SEARCH UNDELETED".to_vec(),
            VecDeque::new(),
        );
        Ok(())
    }

    /// `UID FETCH uid (UID RFC822.SIZE BODY.PEEK[])`; PEEK so a failed intake leaves the
    /// message as it was.
    pub fn uid_fetch(&mut self, now: Instant, uids: &[u32]) -> Result<(), Error> {
        self.check(Kind::Fetch, &[State::Selected])?;
        let line = format!(
            "UID FETCH {} (UID RFC822.SIZE BODY.PEEK[])",
            sequence_set(uids)?
        );
        self.send(now, Kind::Fetch, line.into_bytes(), VecDeque::new());
        Ok(())
    }

    /// `UID FETCH uids (UID RFC822.SIZE)`: sizes first, so a message over the limit is
    /// never downloaded.
    pub fn uid_fetch_sizes(&mut self, now: Instant, uids: &[u32]) -> Result<(), Error> {
        self.check(Kind::Sizes, &[State::Selected])?;
        let line = format!("UID FETCH {} (UID RFC822.SIZE)", sequence_set(uids)?);
        self.send(now, Kind::Sizes, line.into_bytes(), VecDeque::new());
        Ok(())
    }

    /// `UID STORE uids +FLAGS.SILENT (\Deleted)`.
    pub fn uid_store_deleted(&mut self, now: Instant, uids: &[u32]) -> Result<(), Error> {
        self.check(Kind::Store, &[State::Selected])?;
        let line = format!(
            "UID STORE {} +FLAGS.SILENT (\\Deleted)",
            sequence_set(uids)?
        );
        self.send(now, Kind::Store, line.into_bytes(), VecDeque::new());
        Ok(())
    }

    /// `UID EXPUNGE uids` (UIDPLUS): removes only these messages, never another
    /// client's deleted mail.
    pub fn uid_expunge(&mut self, now: Instant, uids: &[u32]) -> Result<(), Error> {
        self.check(Kind::Expunge, &[State::Selected])?;
        if !self.capabilities.has("UIDPLUS") {
            return Err(Error::MissingCapability {
                capability: "UIDPLUS",
            });
        }
        let line = format!("UID EXPUNGE {}", sequence_set(uids)?);
        self.send(now, Kind::Expunge, line.into_bytes(), VecDeque::new());
        Ok(())
    }

    /// `EXPUNGE`: removes every message marked deleted in the mailbox.
    pub fn expunge(&mut self, now: Instant) -> Result<(), Error> {
        self.check(Kind::Expunge, &[State::Selected])?;
        self.send(now, Kind::Expunge, b"EXPUNGE".to_vec(), VecDeque::new());
        Ok(())
    }

    /// `UID MOVE uids mailbox` (RFC 6851).
    pub fn uid_move(&mut self, now: Instant, uids: &[u32], mailbox: &str) -> Result<(), Error> {
        self.check(Kind::Move, &[State::Selected])?;
        if !self.capabilities.has("MOVE") {
            return Err(Error::MissingCapability { capability: "MOVE" });
        }
        let mut line = format!("UID MOVE {} ", sequence_set(uids)?).into_bytes();
        line.extend_from_slice(&mailbox_name(mailbox)?);
        self.send(now, Kind::Move, line, VecDeque::new());
        Ok(())
    }

    /// `IDLE` (RFC 2177): new mail arrives as [`Event::Exists`] until [`Client::done`].
    pub fn idle(&mut self, now: Instant) -> Result<(), Error> {
        self.check(Kind::Idle, &[State::Selected])?;
        if !self.capabilities.has("IDLE") {
            return Err(Error::MissingCapability { capability: "IDLE" });
        }
        self.send(now, Kind::Idle, b"IDLE".to_vec(), VecDeque::new());
        // Until the server accepts, a silent server is a timeout like any command.
        if let Some(p) = self.pending.as_mut() {
            p.deadline = Some(now + self.config.command_timeout);
        }
        Ok(())
    }

    /// Ends IDLE (`DONE`). Completion arrives as [`Done::Idle`].
    pub fn done(&mut self, now: Instant) -> Result<(), Error> {
        let state = self.state.describe();
        let Some(p) = self.pending.as_mut().filter(|p| p.kind == Kind::Idle) else {
            return Err(Error::WrongState {
                command: "DONE",
                state,
            });
        };
        p.refresh = false;
        if p.done_wanted {
            return Ok(());
        }
        p.done_wanted = true;
        if p.idle_accepted {
            p.done_sent = true;
            p.deadline = Some(now + self.config.command_timeout);
            self.output.extend_from_slice(b"DONE\r\n");
        }
        Ok(())
    }

    /// `LOGOUT`.
    pub fn logout(&mut self, now: Instant) -> Result<(), Error> {
        self.check(Kind::Logout, &Self::ANY)?;
        self.send(now, Kind::Logout, b"LOGOUT".to_vec(), VecDeque::new());
        Ok(())
    }
}

enum Arg {
    Inline(Vec<u8>),
    Literal(Vec<u8>),
}

/// An astring: an atom when safe, a quoted string when it can be, else a literal.
fn astring(value: &[u8], what: &'static str) -> Result<Arg, Error> {
    if value.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err(Error::Unsendable { what });
    }
    let atom_safe = !value.is_empty()
        && value.iter().all(|&b| {
            b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\')
        });
    if atom_safe {
        return Ok(Arg::Inline(value.to_vec()));
    }
    if value.is_ascii() {
        let mut quoted = vec![b'"'];
        for &b in value {
            if b == b'"' || b == b'\\' {
                quoted.push(b'\\');
            }
            quoted.push(b);
        }
        quoted.push(b'"');
        return Ok(Arg::Inline(quoted));
    }
    Ok(Arg::Literal(value.to_vec()))
}

/// Mailbox names are sent quoted; non-ASCII names would need modified UTF-7, which
/// this engine does not write, so they are refused as configuration.
fn mailbox_name(name: &str) -> Result<Vec<u8>, Error> {
    if !name.is_ascii() || name.is_empty() {
        return Err(Error::Unsendable {
            what: "a mailbox name (empty or not ASCII)",
        });
    }
    match astring(name.as_bytes(), "the mailbox name")? {
        Arg::Inline(bytes) | Arg::Literal(bytes) => Ok(bytes),
    }
}

/// `1,3:5,9` from UIDs (sorted and deduplicated here).
fn sequence_set(uids: &[u32]) -> Result<String, Error> {
    let mut sorted: Vec<u32> = uids.iter().copied().filter(|&u| u > 0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let Some(&first) = sorted.first() else {
        return Err(Error::WrongState {
            command: "a UID command",
            state: "given no UID",
        });
    };
    let mut out = String::new();
    let (mut start, mut end) = (first, first);
    let flush = |out: &mut String, start: u32, end: u32| {
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
    };
    for &uid in &sorted[1..] {
        if uid == end + 1 {
            end = uid;
        } else {
            flush(&mut out, start, end);
            (start, end) = (uid, uid);
        }
    }
    flush(&mut out, start, end);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_sets() {
        assert_eq!(
            sequence_set(&[5, 1, 2, 3, 9, 10, 2]).ok(),
            Some("1:3,5,9:10".to_owned())
        );
        assert!(sequence_set(&[]).is_err());
    }
}
