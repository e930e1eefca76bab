//! A minimal SMTP submission client (RFC 5321, STARTTLS RFC 3207, AUTH PLAIN and LOGIN
//! RFC 4954): what receipts and the connection test need, nothing more (no pipelining,
//! no queue: the caller retries).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Error;
use crate::config::SmtpConfig;
use crate::tls::{self, MailStream, TlsMode};

/// Who a message is from and to, as told to the server (not the headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// MAIL FROM (empty: the null sender `<>`, for bounces).
    pub from: String,
    /// RCPT TO, one or more.
    pub to: Vec<String>,
}

/// A server reply: code and text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    pub(crate) lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }
}

/// Longest reply line accepted, and most lines in one reply.
const MAX_REPLY_LINE: usize = 4096;
const MAX_REPLY_LINES: usize = 200;

pub(crate) struct SmtpSession {
    stream: Option<MailStream>,
    timeout: Duration,
    input: Vec<u8>,
    /// The EHLO keywords (upper case) with their parameters.
    pub(crate) extensions: Vec<String>,
}

fn check_address(address: &str) -> Result<(), Error> {
    if address.bytes().any(|b| b <= b' ' || b == b'<' || b == b'>') {
        return Err(Error::Config {
            what: "mail address".into(),
            reason: format!("{address:?} cannot be sent in an SMTP envelope"),
        });
    }
    Ok(())
}

impl SmtpSession {
    /// Wraps a connected stream and reads the greeting.
    pub(crate) async fn start(stream: MailStream, timeout: Duration) -> Result<SmtpSession, Error> {
        let mut session = SmtpSession {
            stream: Some(stream),
            timeout,
            input: Vec::new(),
            extensions: Vec::new(),
        };
        session.expect("greeting", 220).await?;
        Ok(session)
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.stream.as_ref().is_some_and(MailStream::is_tls)
    }

    async fn read_line(&mut self) -> Result<String, Error> {
        loop {
            if let Some(end) = self.input.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.input.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
            }
            if self.input.len() > MAX_REPLY_LINE {
                return Err(Error::Protocol {
                    context: "SMTP".into(),
                    reason: "reply line too long".into(),
                });
            }
            let stream = self.stream.as_mut().ok_or(mail_pop3::Error::Closed)?;
            let mut buffer = [0u8; 4096];
            let count = match tokio::time::timeout(self.timeout, stream.read(&mut buffer)).await {
                Err(_) => return Err(Error::Timeout("waiting for the SMTP server".into())),
                Ok(result) => result?,
            };
            if count == 0 {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the SMTP server closed the connection",
                )));
            }
            self.input.extend_from_slice(&buffer[..count]);
        }
    }

    pub(crate) async fn reply(&mut self) -> Result<Reply, Error> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line().await?;
            let malformed = || Error::Protocol {
                context: "SMTP".into(),
                reason: format!(
                    "malformed reply line {:?}",
                    line.chars().take(60).collect::<String>()
                ),
            };
            let code = line
                .get(..3)
                .and_then(|digits| digits.parse::<u16>().ok())
                .filter(|code| (200..600).contains(code))
                .ok_or_else(malformed)?;
            let separator = line.as_bytes().get(3).copied();
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if lines.len() > MAX_REPLY_LINES {
                return Err(malformed());
            }
            match separator {
                Some(b'-') => continue,
                None | Some(b' ') => return Ok(Reply { code, lines }),
                Some(_) => return Err(malformed()),
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let stream = self.stream.as_mut().ok_or(mail_pop3::Error::Closed)?;
        match tokio::time::timeout(self.timeout, async {
            stream.write_all(bytes).await?;
            stream.flush().await
        })
        .await
        {
            Err(_) => Err(Error::Timeout("sending to the SMTP server".into())),
            Ok(result) => Ok(result?),
        }
    }

    async fn expect(&mut self, what: &str, code: u16) -> Result<Reply, Error> {
        let reply = self.reply().await?;
        if reply.code != code {
            return Err(Error::Refused {
                command: what.into(),
                reply: reply.text(),
            });
        }
        Ok(reply)
    }

    /// Sends a command line and checks the reply code.
    pub(crate) async fn command(
        &mut self,
        line: &str,
        shown: &str,
        code: u16,
    ) -> Result<Reply, Error> {
        self.send(format!("{line}\r\n").as_bytes()).await?;
        self.expect(shown, code).await
    }

    pub(crate) async fn ehlo(&mut self, name: &str) -> Result<(), Error> {
        let reply = self.command(&format!("EHLO {name}"), "EHLO", 250).await?;
        self.extensions = reply
            .lines
            .iter()
            .skip(1)
            .map(|line| line.to_ascii_uppercase())
            .collect();
        Ok(())
    }

    pub(crate) fn has_extension(&self, keyword: &str) -> bool {
        self.extensions
            .iter()
            .any(|line| line.split_ascii_whitespace().next() == Some(keyword))
    }

    pub(crate) fn auth_mechanisms(&self) -> Vec<String> {
        self.extensions
            .iter()
            .filter_map(|line| {
                let mut words = line.split_ascii_whitespace();
                (words.next() == Some("AUTH")).then(|| words.map(str::to_owned).collect::<Vec<_>>())
            })
            .flatten()
            .collect()
    }

    pub(crate) async fn starttls(
        &mut self,
        config: std::sync::Arc<rustls::ClientConfig>,
        host: &str,
        helo: &str,
    ) -> Result<(), Error> {
        if !self.has_extension("STARTTLS") {
            return Err(Error::Protocol {
                context: "STARTTLS".into(),
                reason: "the SMTP server does not offer STARTTLS".into(),
            });
        }
        self.command("STARTTLS", "STARTTLS", 220).await?;
        if !self.input.is_empty() {
            // Bytes sent before the handshake would count as sent under TLS.
            return Err(Error::Protocol {
                context: "STARTTLS".into(),
                reason: "the server sent data before the TLS handshake".into(),
            });
        }
        let plain = self.stream.take().ok_or(mail_pop3::Error::Closed)?;
        self.stream = Some(plain.upgrade(config, host, self.timeout).await?);
        // RFC 3207: forget what was learnt before TLS and ask again.
        self.ehlo(helo).await
    }

    pub(crate) async fn auth(&mut self, user: &str, password: &str) -> Result<(), Error> {
        let mechanisms = self.auth_mechanisms();
        if mechanisms.iter().any(|m| m == "PLAIN") {
            let token = BASE64.encode(format!("\0{user}\0{password}"));
            self.command(&format!("AUTH PLAIN {token}"), "AUTH PLAIN", 235)
                .await?;
            return Ok(());
        }
        if mechanisms.iter().any(|m| m == "LOGIN") {
            self.command("AUTH LOGIN", "AUTH LOGIN", 334).await?;
            self.command(&BASE64.encode(user), "AUTH LOGIN (user)", 334)
                .await?;
            self.command(&BASE64.encode(password), "AUTH LOGIN (password)", 235)
                .await?;
            return Ok(());
        }
        Err(Error::Protocol {
            context: "AUTH".into(),
            reason: format!(
                "the server offers no PLAIN or LOGIN authentication{}",
                if self.is_tls() {
                    ""
                } else {
                    " (many offer it only under TLS)"
                }
            ),
        })
    }

    pub(crate) async fn quit(&mut self) -> Result<(), Error> {
        let result = self.command("QUIT", "QUIT", 221).await.map(drop);
        if let Some(stream) = self.stream.as_mut() {
            let _ = tokio::time::timeout(self.timeout, stream.shutdown()).await;
        }
        result
    }

    async fn transaction(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<(), Error> {
        check_address(&envelope.from)?;
        if envelope.to.is_empty() {
            return Err(Error::Config {
                what: "envelope".into(),
                reason: "no recipient".into(),
            });
        }
        let body_8bit = if self.has_extension("8BITMIME") && raw.iter().any(|&b| b >= 0x80) {
            " BODY=8BITMIME"
        } else {
            ""
        };
        self.command(
            &format!("MAIL FROM:<{}>{body_8bit}", envelope.from),
            "MAIL FROM",
            250,
        )
        .await?;
        for to in &envelope.to {
            check_address(to)?;
            // 251 "user not local; will forward" is a success too.
            self.send(format!("RCPT TO:<{to}>\r\n").as_bytes()).await?;
            let reply = self.reply().await?;
            if reply.code != 250 && reply.code != 251 {
                return Err(Error::Refused {
                    command: "RCPT TO".into(),
                    reply: reply.text(),
                });
            }
        }
        self.command("DATA", "DATA", 354).await?;
        self.send(&dot_stuff(raw)).await?;
        self.expect("the message (end of DATA)", 250).await?;
        Ok(())
    }
}

/// The message as DATA sends it: CRLF line ends, leading dots doubled, and the
/// terminating `.` line.
pub fn dot_stuff(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 64 + 5);
    let mut line_start = true;
    let mut previous = 0u8;
    for &byte in raw {
        if line_start && byte == b'.' {
            out.push(b'.');
        }
        if byte == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(byte);
        line_start = byte == b'\n';
        previous = byte;
    }
    if !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Connects and greets, secured as configured, and logs in if a user is set.
pub(crate) async fn open(config: &SmtpConfig) -> Result<SmtpSession, Error> {
    let timeout = config.timeout();
    let client_config = tls::client_config(&config.trust())?;
    let stream = tls::connect(
        &config.host,
        config.effective_port(),
        config.tls,
        client_config.clone(),
        timeout,
    )
    .await?;
    let mut session = SmtpSession::start(stream, timeout).await?;
    session.ehlo(&config.helo_name).await?;
    if config.tls == TlsMode::Starttls {
        session
            .starttls(client_config, &config.host, &config.helo_name)
            .await?;
    }
    if !config.user.is_empty() {
        let password = config.password()?.unwrap_or_default();
        session.auth(&config.user, &password).await?;
    }
    Ok(session)
}

/// Sends one message through the configured server: `raw` is the whole message
/// (headers and body) as it should arrive.
pub async fn send_mail(config: &SmtpConfig, envelope: &Envelope, raw: &[u8]) -> Result<(), Error> {
    config.check()?;
    let mut session = open(config).await?;
    session.transaction(envelope, raw).await?;
    session.quit().await
}

#[cfg(test)]
mod tests {
    use super::dot_stuff;

    #[test]
    fn dot_stuffing_doubles_leading_dots_and_ends_the_data() {
        assert_eq!(
            dot_stuff(b"a\r\n.b\r\n..\r\n.\r\nc\r\n"),
            b"a\r\n..b\r\n...\r\n..\r\nc\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b".first"), b"..first\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
    }

    #[test]
    fn bare_line_feeds_become_crlf() {
        assert_eq!(dot_stuff(b"a\nb\r\n.c\n"), b"a\r\nb\r\n..c\r\n.\r\n");
        assert_eq!(dot_stuff(b"no end"), b"no end\r\n.\r\n");
    }
}
