//! The built-in SMTP intake listener: the tokio shell around `mail-smtpd` sessions.
//!
//! It accepts connections on the configured address (loopback by default), runs one
//! [`mail_smtpd::Session`] per connection, upgrades to TLS on STARTTLS with the
//! configured certificate, and hands every message with its envelope to an
//! [`EnvelopeSink`]. The client hears `250` only after the sink returned `Ok`, that is
//! after the message is durably stored; a sink error becomes `451` (try again later) or
//! `554`, and the client keeps its copy.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use mail_smtpd::{Output, Refusal, Session};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::Error;
use crate::tls::{MailStream, server_config};

/// The `[smtpd]` section: faxgate's own SMTP intake listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpdConfig {
    /// Run the listener.
    pub enabled: bool,
    /// Address and port to listen on. Loopback by default: mail from other hosts should
    /// come through the site's mail server, which does spam filtering and SPF/DKIM.
    pub listen: String,
    /// The name in the greeting and in EHLO replies (defaults to `localhost`).
    pub hostname: String,
    /// Largest message accepted, in bytes (announced with the SIZE extension).
    pub max_message_bytes: usize,
    /// Most recipients (fax numbers) per message.
    pub max_recipients: usize,
    /// Most connections served at once; more are told `421` and closed.
    pub max_connections: usize,
    /// PEM certificate chain for STARTTLS; with `tls_key_file`, STARTTLS is offered.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for STARTTLS.
    pub tls_key_file: Option<PathBuf>,
    /// Refuse mail (530) until the client has started TLS.
    pub require_tls: bool,
    /// Seconds a client may stay silent between commands (RFC 5321 suggests 300).
    pub command_timeout_seconds: u64,
    /// Seconds a client may stay silent inside DATA (RFC 5321 suggests 600).
    pub data_timeout_seconds: u64,
}

impl Default for SmtpdConfig {
    fn default() -> Self {
        SmtpdConfig {
            enabled: false,
            listen: "127.0.0.1:2525".into(),
            hostname: "localhost".into(),
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 50,
            max_connections: 20,
            tls_cert_file: None,
            tls_key_file: None,
            require_tls: false,
            command_timeout_seconds: 300,
            data_timeout_seconds: 600,
        }
    }
}

impl SmtpdConfig {
    /// The session settings these options give, checked.
    pub fn session_config(&self) -> Result<mail_smtpd::Config, Error> {
        let tls_available = match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(_), Some(_)) => true,
            (None, None) => false,
            _ => {
                return Err(Error::Config {
                    what: "[smtpd] tls_cert_file and tls_key_file".into(),
                    reason: "give both or neither".into(),
                });
            }
        };
        if self.max_connections == 0 {
            return Err(Error::Config {
                what: "[smtpd] max_connections".into(),
                reason: "must be above 0".into(),
            });
        }
        let config = mail_smtpd::Config {
            hostname: self.hostname.clone(),
            max_message_bytes: self.max_message_bytes,
            max_recipients: self.max_recipients,
            tls_available,
            require_tls: self.require_tls,
            command_timeout: Duration::from_secs(self.command_timeout_seconds),
            data_timeout: Duration::from_secs(self.data_timeout_seconds),
            ..mail_smtpd::Config::default()
        };
        config.validate().map_err(|error| Error::Config {
            what: "[smtpd]".into(),
            reason: error.to_string(),
        })?;
        Ok(config)
    }
}

/// A message received by the listener: envelope and raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The client's address.
    pub peer: SocketAddr,
    /// The name the client gave in EHLO or HELO.
    pub helo: String,
    /// Reverse path (empty for a bounce).
    pub mail_from: String,
    /// Forward paths as given: `number@fax.domain`, `FAX=+number@fax.domain`, or an
    /// ordinary address whose message names the numbers in its Subject.
    pub rcpt_to: Vec<String>,
    /// The message came over TLS.
    pub tls: bool,
}

/// Why a sink did not take a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkRefusal {
    /// Storage failed or is full: the client should try again later (451).
    Temporary(String),
    /// The message must not be retried (554).
    Permanent(String),
}

/// Where the listener puts messages.
pub trait EnvelopeSink: Send + Sync + 'static {
    /// Stores the message durably before returning `Ok`: the client is told the mail
    /// is accepted as soon as this returns, and will not send it again.
    fn deliver(
        &self,
        envelope: &Envelope,
        message: &[u8],
    ) -> impl Future<Output = Result<(), SinkRefusal>> + Send;
}

/// What the listener has done, for the daemon and the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListenerStatus {
    /// The address bound.
    pub listening: Option<SocketAddr>,
    /// Connections open now.
    pub connections: usize,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Messages the sink stored.
    pub messages_accepted: u64,
    /// Messages the sink refused.
    pub messages_refused: u64,
    /// When the last message was stored (milliseconds since the Unix epoch, as in
    /// the mailbox intakes' status).
    pub last_message_ms: Option<u64>,
    /// The last connection error (I/O, TLS, timeout), if any.
    pub last_error: Option<String>,
}

/// A bound listener, ready to [`SmtpListener::run`].
pub struct SmtpListener {
    listener: TcpListener,
    session: mail_smtpd::Config,
    tls: Option<Arc<rustls::ServerConfig>>,
    max_connections: usize,
    status: Arc<Mutex<ListenerStatus>>,
}

/// How long a TLS handshake and a single write may take.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

impl SmtpListener {
    /// Checks the settings, loads the TLS certificate and binds the address.
    pub async fn bind(config: &SmtpdConfig) -> Result<Self, Error> {
        let session = config.session_config()?;
        let tls = match (&config.tls_cert_file, &config.tls_key_file) {
            (Some(cert), Some(key)) => Some(server_config(cert, key)?),
            _ => None,
        };
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|error| Error::Config {
                what: format!("[smtpd] listen {}", config.listen),
                reason: error.to_string(),
            })?;
        let status = ListenerStatus {
            listening: listener.local_addr().ok(),
            ..Default::default()
        };
        Ok(SmtpListener {
            listener,
            session,
            tls,
            max_connections: config.max_connections,
            status: Arc::new(Mutex::new(status)),
        })
    }

    /// The address actually bound (port 0 picks a free one).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.listener.local_addr()?)
    }

    /// A handle on the listener's status, updated as it runs.
    pub fn status(&self) -> Arc<Mutex<ListenerStatus>> {
        Arc::clone(&self.status)
    }

    /// Serves connections until `shutdown` completes. Connections in progress finish on
    /// their own (each is bounded by its timeouts).
    pub async fn run<S: EnvelopeSink>(
        self,
        sink: Arc<S>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        let limit = Arc::new(Semaphore::new(self.max_connections));
        let session = Arc::new(self.session);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => return Ok(()),
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        // Out of file descriptors and the like: note it and keep going.
                        set_error(&self.status, format!("accept: {error}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let config = (*session).clone();
            let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
                tokio::spawn(async move {
                    let busy = Session::busy(config, Instant::now());
                    let _ = drive(
                        busy,
                        MailStream::Plain(stream),
                        peer,
                        None,
                        None::<Arc<S>>,
                        None,
                    )
                    .await;
                });
                continue;
            };
            if let Ok(mut status) = self.status.lock() {
                status.connections += 1;
                status.connections_total += 1;
            }
            let tls = self.tls.clone();
            let sink = Arc::clone(&sink);
            let status = Arc::clone(&self.status);
            tokio::spawn(async move {
                let session = Session::new(config, Instant::now());
                let result = drive(
                    session,
                    MailStream::Plain(stream),
                    peer,
                    tls,
                    Some(sink),
                    Some(&status),
                )
                .await;
                if let Err(error) = result {
                    set_error(&status, format!("{peer}: {error}"));
                }
                if let Ok(mut status) = status.lock() {
                    status.connections = status.connections.saturating_sub(1);
                }
                drop(permit);
            });
        }
    }
}

fn set_error(status: &Mutex<ListenerStatus>, error: String) {
    if let Ok(mut status) = status.lock() {
        status.last_error = Some(error);
    }
}

/// Runs one session over one connection.
async fn drive<S: EnvelopeSink>(
    mut session: Session,
    mut stream: MailStream,
    peer: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    sink: Option<Arc<S>>,
    status: Option<&Mutex<ListenerStatus>>,
) -> Result<(), Error> {
    let mut buf = vec![0u8; 64 * 1024];
    let hostname = session.hostname().to_owned();
    let hostname = hostname.as_str();
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                Output::Send(bytes) => write_all(&mut stream, &bytes).await?,
                Output::StartTls => {
                    let Some(config) = tls.clone() else {
                        return Err(Error::Protocol {
                            context: "STARTTLS".into(),
                            reason: "offered without a certificate".into(),
                        });
                    };
                    stream = stream.upgrade_server(config, IO_TIMEOUT).await?;
                    session.tls_started(Instant::now());
                }
                Output::Message(message) => {
                    let envelope = Envelope {
                        peer,
                        helo: message.helo.clone(),
                        mail_from: message.mail_from.clone(),
                        rcpt_to: message.rcpt_to.clone(),
                        tls: message.tls,
                    };
                    let peer_literal = match peer.ip() {
                        std::net::IpAddr::V4(ip) => format!("[{ip}]"),
                        std::net::IpAddr::V6(ip) => format!("[IPv6:{ip}]"),
                    };
                    let trace = message.trace_header(
                        hostname,
                        &peer_literal,
                        &rfc5322_date(SystemTime::now()),
                    );
                    let mut stored = Vec::with_capacity(trace.len() + message.data.len());
                    stored.extend_from_slice(trace.as_bytes());
                    stored.extend_from_slice(&message.data);
                    let verdict = match &sink {
                        Some(sink) => sink.deliver(&envelope, &stored).await,
                        None => Err(SinkRefusal::Temporary("not accepting mail now".into())),
                    };
                    let now = Instant::now();
                    let counted = verdict.is_ok();
                    let result = match verdict {
                        Ok(()) => session.accept(now, message.id),
                        Err(SinkRefusal::Temporary(text)) => {
                            session.refuse(now, message.id, Refusal::Temporary(text))
                        }
                        Err(SinkRefusal::Permanent(text)) => {
                            session.refuse(now, message.id, Refusal::Permanent(text))
                        }
                    };
                    result.map_err(|error| Error::Protocol {
                        context: "SMTP session".into(),
                        reason: error.to_string(),
                    })?;
                    if let Some(Ok(mut status)) = status.map(Mutex::lock) {
                        if counted {
                            status.messages_accepted += 1;
                            status.last_message_ms = Some(now_ms());
                        } else {
                            status.messages_refused += 1;
                        }
                    }
                }
                Output::Close => {
                    let _ = tokio::time::timeout(IO_TIMEOUT, stream.shutdown()).await;
                    return Ok(());
                }
            }
        }
        let read = stream.read(&mut buf);
        let n = match session.poll_timeout() {
            Some(deadline) => {
                let deadline = tokio::time::Instant::from_std(deadline);
                match tokio::time::timeout_at(deadline, read).await {
                    Ok(result) => result?,
                    Err(_) => {
                        session.handle_timeout(Instant::now());
                        continue;
                    }
                }
            }
            None => read.await?,
        };
        if n == 0 {
            session.handle_eof();
            continue;
        }
        session
            .handle_input(Instant::now(), &buf[..n])
            .map_err(|error| Error::Protocol {
                context: "SMTP session".into(),
                reason: error.to_string(),
            })?;
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An RFC 5322 date in UTC (`Sun, 29 Nov 2026 03:00:00 +0000`) for the trace line.
fn rfc5322_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (hour, minute, second) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = WEEKDAYS[(days % 7) as usize];
    let month_name = MONTHS[(month - 1).clamp(0, 11) as usize];
    format!("{weekday}, {day:02} {month_name} {year} {hour:02}:{minute:02}:{second:02} +0000")
}

async fn write_all(stream: &mut MailStream, bytes: &[u8]) -> Result<(), Error> {
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match tokio::time::timeout(IO_TIMEOUT, write).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(Error::Timeout("writing to an SMTP client".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_dates() {
        let at = |secs| std::time::UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(rfc5322_date(at(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(at(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 +0000"
        );
        assert_eq!(
            rfc5322_date(at(1_795_921_200)),
            "Sun, 29 Nov 2026 03:00:00 +0000"
        );
    }

    #[test]
    fn defaults_listen_on_loopback_2525() {
        let config = SmtpdConfig::default();
        assert_eq!(config.listen, "127.0.0.1:2525");
        assert!(config.session_config().is_ok());
    }

    #[test]
    fn half_a_tls_pair_is_a_config_error() {
        let config = SmtpdConfig {
            tls_cert_file: Some("cert.pem".into()),
            ..SmtpdConfig::default()
        };
        assert!(matches!(config.session_config(), Err(Error::Config { .. })));
    }

    #[test]
    fn section_parses_with_unknown_keys_refused() {
        let config: SmtpdConfig =
            toml::from_str("listen = \"127.0.0.1:2626\"\nmax_recipients = 5\n").expect("parses");
        assert_eq!(config.max_recipients, 5);
        assert!(toml::from_str::<SmtpdConfig>("lisen = \"x\"\n").is_err());
    }
}
