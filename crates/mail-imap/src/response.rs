//! Server responses: framing (lines and the literals inside them) and parsing.
//!
//! A response is one line, or several when it carries literals (`{n}` CRLF then `n`
//! bytes). [`Framer`] finds where a complete response ends without copying; [`parse`]
//! reads one complete response. Both are total: any bytes give a value or an [`Error`].

use crate::error::{Error, excerpt};

/// Bounds on what a server may send before anything is allocated for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line outside literals, in bytes (CRLF included).
    pub max_line: usize,
    /// Largest single literal (a message body), in bytes.
    pub max_literal: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // 64 KiB covers any sane CAPABILITY or SEARCH line of a fax mailbox; 64 MiB is
        // well above the largest fax request mail a gateway should take.
        Limits {
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
        }
    }
}

/// Status of a tagged or untagged condition response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`.
    Ok,
    /// `NO`.
    No,
    /// `BAD`.
    Bad,
    /// `PREAUTH` (greeting only).
    PreAuth,
    /// `BYE`.
    Bye,
}

impl Status {
    /// The status as IMAP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        }
    }
}

/// A response code (`[UIDVALIDITY 3857529045]`), the ones a fax intake acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// `[UIDVALIDITY n]`.
    UidValidity(u32),
    /// `[UIDNEXT n]`.
    UidNext(u32),
    /// `[CAPABILITY ...]`.
    Capability(Vec<String>),
    /// `[READ-ONLY]`: the mailbox cannot be changed, so nothing could be expunged.
    ReadOnly,
    /// `[READ-WRITE]`.
    ReadWrite,
    /// Any other code, as sent.
    Other(String),
}

/// One data item of a FETCH response that the intake asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchData {
    /// Message sequence number.
    pub seq: u32,
    /// `UID`.
    pub uid: Option<u32>,
    /// `RFC822.SIZE`.
    pub size: Option<u32>,
    /// `BODY[]` (the whole message), `None` if absent or `NIL`.
    pub body: Option<Vec<u8>>,
}

/// One parsed server response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `+ text`: the server waits for the rest of a command (or accepted IDLE).
    Continuation(String),
    /// `tag STATUS [code] text`.
    Tagged {
        /// The command's tag.
        tag: String,
        /// OK, NO or BAD.
        status: Status,
        /// Response code, if any.
        code: Option<Code>,
        /// Human-readable text.
        text: String,
    },
    /// `* STATUS [code] text`.
    Condition {
        /// OK, NO, BAD, PREAUTH or BYE.
        status: Status,
        /// Response code, if any.
        code: Option<Code>,
        /// Human-readable text.
        text: String,
    },
    /// `* CAPABILITY ...`.
    Capability(Vec<String>),
    /// `* n EXISTS`.
    Exists(u32),
    /// `* n RECENT`.
    Recent(u32),
    /// `* n EXPUNGE`.
    Expunge(u32),
    /// `* SEARCH n n ...`.
    Search(Vec<u32>),
    /// `* n FETCH (...)`.
    Fetch(FetchData),
    /// Any other untagged data (`FLAGS`, `LIST`, `VANISHED`, ...), ignored by the intake.
    Other(String),
}

/// Finds complete responses in a byte buffer.
#[derive(Debug, Clone, Default)]
pub struct Framer {
    /// Where scanning resumes: the responses's bytes before it are known complete up to
    /// a literal's end or an earlier line.
    scanned: usize,
}

impl Framer {
    /// Length of the first complete response in `buf`, `None` if more bytes are needed.
    /// `buf` must start at a response boundary and only grow between calls until a
    /// response is taken, after which [`Framer::reset`] is called.
    pub fn frame(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, Error> {
        loop {
            let rest = &buf[self.scanned..];
            let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > limits.max_line {
                    return Err(Error::LineTooLong {
                        max: limits.max_line,
                    });
                }
                return Ok(None);
            };
            if lf + 1 > limits.max_line {
                return Err(Error::LineTooLong {
                    max: limits.max_line,
                });
            }
            let line_end = self.scanned + lf + 1;
            let line = trim_crlf(&buf[self.scanned..line_end]);
            match literal_size(line) {
                None => {
                    self.scanned = 0;
                    return Ok(Some(line_end));
                }
                Some(size) => {
                    if size > limits.max_literal as u64 {
                        return Err(Error::LiteralTooLarge {
                            size,
                            max: limits.max_literal,
                        });
                    }
                    // Bounded by max_literal, which is a usize.
                    let literal_end = line_end + size as usize;
                    if buf.len() < literal_end {
                        return Ok(None);
                    }
                    self.scanned = literal_end;
                }
            }
        }
    }

    /// Forget progress: the next call starts on a new response.
    pub fn reset(&mut self) {
        self.scanned = 0;
    }
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `Some(n)` when a line ends in a literal announcement `{n}` (or `{n+}`).
fn literal_size(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits
        .iter()
        .try_fold(0u64, |n, &d| Some(n * 10 + u64::from(d - b'0')))
}

/// Parse one complete response as framed by [`Framer`].
pub fn parse(bytes: &[u8]) -> Result<Response, Error> {
    let mut cur = Cursor { buf: bytes, pos: 0 };
    let result = parse_response(&mut cur);
    result.map_err(|reason| Error::Malformed {
        reason,
        excerpt: excerpt(bytes),
    })
}

type Parsed<T> = Result<T, &'static str>;

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Parsed<()> {
        if self.eat(byte) { Ok(()) } else { Err(what) }
    }

    fn at_line_end(&self) -> bool {
        matches!(self.peek(), None | Some(b'\r') | Some(b'\n'))
    }

    /// Bytes up to the end of the line (CRLF excluded).
    fn rest_of_line(&mut self) -> &'a [u8] {
        let start = self.pos;
        while !self.at_line_end() {
            self.pos += 1;
        }
        &self.buf[start..self.pos]
    }

    fn atom(&mut self) -> Parsed<&'a [u8]> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_atom_char(b) {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            Err("expected an atom")
        } else {
            Ok(&self.buf[start..self.pos])
        }
    }

    fn number(&mut self) -> Parsed<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = &self.buf[start..self.pos];
        if digits.is_empty() {
            return Err("expected a number");
        }
        std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("number out of range")
    }

    fn quoted(&mut self) -> Parsed<Vec<u8>> {
        self.expect(b'"', "expected a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r') | Some(b'\n') => return Err("unterminated quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b @ (b'"' | b'\\')) => {
                            out.push(b);
                            self.pos += 1;
                        }
                        _ => return Err("bad escape in quoted string"),
                    }
                }
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    fn literal(&mut self) -> Parsed<&'a [u8]> {
        self.expect(b'{', "expected a literal")?;
        let size = self.number()? as usize;
        self.eat(b'+');
        self.expect(b'}', "bad literal announcement")?;
        self.eat(b'\r');
        self.expect(b'\n', "literal announcement not at the end of a line")?;
        let end = self.pos.checked_add(size).ok_or("literal too long")?;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or("literal shorter than announced")?;
        self.pos = end;
        Ok(bytes)
    }

    /// `nstring`: NIL, a quoted string or a literal.
    fn nstring(&mut self) -> Parsed<Option<Vec<u8>>> {
        match self.peek() {
            Some(b'"') => self.quoted().map(Some),
            Some(b'{') => self.literal().map(|b| Some(b.to_vec())),
            _ => {
                let atom = self.atom()?;
                if atom.eq_ignore_ascii_case(b"NIL") {
                    Ok(None)
                } else {
                    Err("expected a string")
                }
            }
        }
    }

    /// Skips any value: atom, number, string, literal or a (nested) list. Depth is
    /// bounded so a hostile server cannot exhaust the stack.
    fn skip_value(&mut self, depth: usize) -> Parsed<()> {
        if depth > 64 {
            return Err("lists nested too deeply");
        }
        match self.peek() {
            Some(b'"') => self.quoted().map(drop),
            Some(b'{') => self.literal().map(drop),
            Some(b'(') => {
                self.pos += 1;
                loop {
                    if self.eat(b')') {
                        return Ok(());
                    }
                    self.skip_value(depth + 1)?;
                    if !self.eat(b' ') && self.peek() != Some(b')') {
                        return Err("bad list");
                    }
                }
            }
            Some(b'\\') => {
                // A flag (`\Seen`).
                self.pos += 1;
                self.atom().map(drop)
            }
            _ => self.atom().map(drop),
        }
    }
}

fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

fn parse_response(cur: &mut Cursor<'_>) -> Parsed<Response> {
    if cur.eat(b'+') {
        cur.eat(b' ');
        let text = String::from_utf8_lossy(cur.rest_of_line()).into_owned();
        return Ok(Response::Continuation(text));
    }
    if cur.eat(b'*') {
        cur.expect(b' ', "expected a space after '*'")?;
        return parse_untagged(cur);
    }
    let tag = cur.atom()?;
    let tag = String::from_utf8_lossy(tag).into_owned();
    cur.expect(b' ', "expected a space after the tag")?;
    let status = parse_status(cur.atom()?).ok_or("unknown tagged status")?;
    if matches!(status, Status::PreAuth | Status::Bye) {
        return Err("PREAUTH or BYE in a tagged response");
    }
    let (code, text) = parse_resp_text(cur)?;
    Ok(Response::Tagged {
        tag,
        status,
        code,
        text,
    })
}

fn parse_status(atom: &[u8]) -> Option<Status> {
    [
        (&b"OK"[..], Status::Ok),
        (b"NO", Status::No),
        (b"BAD", Status::Bad),
        (b"PREAUTH", Status::PreAuth),
        (b"BYE", Status::Bye),
    ]
    .into_iter()
    .find(|(name, _)| atom.eq_ignore_ascii_case(name))
    .map(|(_, status)| status)
}

fn parse_resp_text(cur: &mut Cursor<'_>) -> Parsed<(Option<Code>, String)> {
    // Some servers send "OK" with no text at all; RFC 3501 asks for a space and text.
    if !cur.eat(b' ') {
        return if cur.at_line_end() {
            Ok((None, String::new()))
        } else {
            Err("expected a space")
        };
    }
    let code = if cur.eat(b'[') {
        let start = cur.pos;
        while cur
            .peek()
            .is_some_and(|b| b != b']' && b != b'\r' && b != b'\n')
        {
            cur.pos += 1;
        }
        let raw = &cur.buf[start..cur.pos];
        cur.expect(b']', "unterminated response code")?;
        cur.eat(b' ');
        Some(parse_code(raw))
    } else {
        None
    };
    let text = String::from_utf8_lossy(cur.rest_of_line()).into_owned();
    Ok((code, text))
}

fn parse_code(raw: &[u8]) -> Code {
    let text = String::from_utf8_lossy(raw);
    let mut words = text.split(' ');
    let name = words.next().unwrap_or_default().to_ascii_uppercase();
    let arg = words.next();
    let number = arg.and_then(|a| a.parse::<u32>().ok());
    match (name.as_str(), number) {
        ("UIDVALIDITY", Some(n)) => Code::UidValidity(n),
        ("UIDNEXT", Some(n)) => Code::UidNext(n),
        ("READ-ONLY", _) => Code::ReadOnly,
        ("READ-WRITE", _) => Code::ReadWrite,
        ("CAPABILITY", _) => Code::Capability(
            text.split(' ')
                .skip(1)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => Code::Other(text.into_owned()),
    }
}

fn parse_untagged(cur: &mut Cursor<'_>) -> Parsed<Response> {
    if cur.peek().is_some_and(|b| b.is_ascii_digit()) {
        let n = cur.number()?;
        cur.expect(b' ', "expected a space after the number")?;
        let name = cur.atom()?.to_ascii_uppercase();
        return match name.as_slice() {
            b"EXISTS" => Ok(Response::Exists(n)),
            b"RECENT" => Ok(Response::Recent(n)),
            b"EXPUNGE" => Ok(Response::Expunge(n)),
            b"FETCH" => {
                cur.expect(b' ', "expected a space after FETCH")?;
                parse_fetch(cur, n).map(Response::Fetch)
            }
            _ => Ok(Response::Other(
                String::from_utf8_lossy(cur.buf).into_owned(),
            )),
        };
    }
    let name = cur.atom()?;
    if let Some(status) = parse_status(name) {
        let (code, text) = parse_resp_text(cur)?;
        return Ok(Response::Condition { status, code, text });
    }
    match name.to_ascii_uppercase().as_slice() {
        b"CAPABILITY" => {
            let rest = String::from_utf8_lossy(cur.rest_of_line()).into_owned();
            Ok(Response::Capability(
                rest.split(' ')
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ))
        }
        b"SEARCH" => {
            let mut uids = Vec::new();
            while cur.eat(b' ') {
                if cur.at_line_end() {
                    break;
                }
                if cur.peek() == Some(b'(') {
                    // A MODSEQ tail (CONDSTORE); not asked for, so ignored.
                    cur.skip_value(0)?;
                    continue;
                }
                uids.push(cur.number()?);
            }
            Ok(Response::Search(uids))
        }
        _ => Ok(Response::Other(
            String::from_utf8_lossy(trim_crlf(cur.buf)).into_owned(),
        )),
    }
}

fn parse_fetch(cur: &mut Cursor<'_>, seq: u32) -> Parsed<FetchData> {
    let mut data = FetchData {
        seq,
        ..FetchData::default()
    };
    cur.expect(b'(', "expected '(' after FETCH")?;
    if cur.eat(b')') {
        return Ok(data);
    }
    loop {
        let name = cur.atom()?.to_ascii_uppercase();
        let is_body = name.as_slice() == b"BODY[" || name.as_slice() == b"RFC822";
        if name.ends_with(b"[") {
            // Section spec up to ']' (with BODY.PEEK[] asked, servers answer BODY[]).
            let mut section = Vec::new();
            while let Some(b) = cur.peek() {
                if b == b']' || b == b'\r' || b == b'\n' {
                    break;
                }
                section.push(b);
                cur.pos += 1;
            }
            cur.expect(b']', "unterminated section")?;
            if cur.eat(b'<') {
                cur.number()?;
                cur.expect(b'>', "unterminated origin octet")?;
            }
            cur.expect(b' ', "expected a space after a fetch item")?;
            if is_body && section.is_empty() {
                data.body = cur.nstring()?;
            } else {
                cur.skip_value(0)?;
            }
        } else {
            cur.expect(b' ', "expected a space after a fetch item")?;
            match name.as_slice() {
                b"UID" => data.uid = Some(cur.number()?),
                b"RFC822.SIZE" => data.size = Some(cur.number()?),
                b"RFC822" => data.body = cur.nstring()?,
                _ => cur.skip_value(0)?,
            }
        }
        if cur.eat(b')') {
            return Ok(data);
        }
        cur.expect(b' ', "expected a space between fetch items")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Response {
        let mut framer = Framer::default();
        let len = framer
            .frame(bytes, &Limits::default())
            .expect("frames")
            .expect("complete");
        assert_eq!(len, bytes.len());
        parse(bytes).expect("parses")
    }

    #[test]
    fn fetch_with_literal_body() {
        let r = one(b"* 3 FETCH (UID 42 RFC822.SIZE 5 BODY[] {5}\r\nab\r\nc FLAGS (\\Seen))\r\n");
        assert_eq!(
            r,
            Response::Fetch(FetchData {
                seq: 3,
                uid: Some(42),
                size: Some(5),
                body: Some(b"ab\r\nc".to_vec())
            })
        );
    }

    #[test]
    fn select_codes() {
        assert_eq!(
            one(b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"),
            Response::Condition {
                status: Status::Ok,
                code: Some(Code::UidValidity(3857529045)),
                text: "UIDs valid".into()
            }
        );
        assert_eq!(
            one(b"A2 OK [READ-WRITE] SELECT completed\r\n"),
            Response::Tagged {
                tag: "A2".into(),
                status: Status::Ok,
                code: Some(Code::ReadWrite),
                text: "SELECT completed".into()
            }
        );
    }

    #[test]
    fn search_and_exists() {
        assert_eq!(
            one(b"* SEARCH 2 84 882\r\n"),
            Response::Search(vec![2, 84, 882])
        );
        assert_eq!(one(b"* SEARCH\r\n"), Response::Search(vec![]));
        assert_eq!(one(b"* 18 EXISTS\r\n"), Response::Exists(18));
    }

    #[test]
    fn incomplete_literal_waits() {
        let mut framer = Framer::default();
        let limits = Limits::default();
        let full = b"* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n";
        for cut in 0..full.len() {
            assert_eq!(
                framer.frame(&full[..cut], &limits),
                Ok(None),
                "cut at {cut}"
            );
        }
        assert_eq!(framer.frame(full, &limits), Ok(Some(full.len())));
    }

    #[test]
    fn oversized_literal_refused_before_allocation() {
        let mut framer = Framer::default();
        let limits = Limits {
            max_line: 1024,
            max_literal: 100,
        };
        assert_eq!(
            framer.frame(b"* 1 FETCH (BODY[] {4294967296}\r\n", &limits),
            Err(Error::LiteralTooLarge {
                size: 4294967296,
                max: 100
            })
        );
    }

    #[test]
    fn long_line_refused() {
        let mut framer = Framer::default();
        let limits = Limits {
            max_line: 16,
            max_literal: 100,
        };
        assert_eq!(
            framer.frame(b"* OK aaaaaaaaaaaaaaaaaaaaaaaaa", &limits),
            Err(Error::LineTooLong { max: 16 })
        );
    }

    #[test]
    fn quoted_escapes() {
        let mut cur = Cursor {
            buf: br#""a\"b\\c""#,
            pos: 0,
        };
        assert_eq!(cur.quoted(), Ok(br#"a"b\c"#.to_vec()));
    }
}
