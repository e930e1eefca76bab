//! Connections to mail servers: plain TCP, implicit TLS (POP3S 995, IMAPS 993, SMTPS
//! 465) and the STARTTLS upgrade of a plain connection (POP3 STLS, IMAP STARTTLS, SMTP
//! STARTTLS), on rustls with the ring provider.
//!
//! Trust is the system's CA store plus, optionally, one PEM file of private CAs (an
//! office CA, or the test servers' CA). Server certificates are always verified: a fax
//! gateway holds mailbox passwords, and a man in the middle would get them.
//!
//! Each step is its own function (`resolve`, `connect_tcp`, `handshake`) so the
//! connection test can report which one failed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::Error;

/// How a connection to a mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (POP3S on 995, IMAPS on 993, SMTPS on 465).
    #[default]
    Implicit,
    /// Plain connection upgraded by STLS / STARTTLS before logging in; refused if the
    /// server does not offer it.
    Starttls,
    /// No TLS at all: passwords cross the network in the clear. Only for a server on the
    /// same host or a trusted network.
    None,
}

/// What a client needs to verify servers.
#[derive(Debug, Clone, Default)]
pub struct TrustSettings {
    /// A PEM file of extra CA certificates trusted beside the system's.
    pub ca_file: Option<PathBuf>,
    /// Leave the system's CA store out (only the `ca_file` CAs are trusted).
    pub no_system_roots: bool,
}

/// A TLS client configuration trusting the system's CAs and those of `ca_file`.
pub fn client_config(trust: &TrustSettings) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    if !trust.no_system_roots {
        // Certificates the system store holds but rustls cannot parse are skipped, as
        // every TLS client does: one odd root must not break mail.
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            let _ = roots.add(cert);
        }
    }
    if let Some(path) = &trust.ca_file {
        let mut added = 0;
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|error| Error::Config {
                what: format!("CA file {}", path.display()),
                reason: error.to_string(),
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::Config {
                what: format!("CA file {}", path.display()),
                reason: "holds no certificate".into(),
            });
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| Error::Config {
        what: "TLS".into(),
        reason: error.to_string(),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TLS server configuration from a PEM certificate chain and a PEM private key (for
/// faxgate's own SMTP listener, and test servers).
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain = read_certs(cert_file)?;
    if chain.is_empty() {
        return Err(Error::Config {
            what: format!("certificate file {}", cert_file.display()),
            reason: "holds no certificate".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|error| Error::Config {
        what: format!("key file {}", key_file.display()),
        reason: error.to_string(),
    })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| Error::Config {
        what: "TLS".into(),
        reason: error.to_string(),
    })?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|error| Error::Config {
        what: format!("certificate {}", cert_file.display()),
        reason: error.to_string(),
    })?;
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let iter = CertificateDer::pem_file_iter(path).map_err(|error| Error::Config {
        what: format!("certificate file {}", path.display()),
        reason: error.to_string(),
    })?;
    iter.collect::<Result<Vec<_>, _>>()
        .map_err(|error| Error::Config {
            what: format!("certificate file {}", path.display()),
            reason: error.to_string(),
        })
}

/// Resolves `host:port` (DNS, or a literal address) within `timeout`.
pub async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, Error> {
    let lookup = tokio::net::lookup_host((host, port));
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(timeout, lookup).await {
        Err(_) => return Err(Error::Timeout(format!("resolving {host}"))),
        Ok(Err(source)) => {
            return Err(Error::Resolve {
                host: host.to_owned(),
                source,
            });
        }
        Ok(Ok(addrs)) => addrs.collect(),
    };
    if addrs.is_empty() {
        return Err(Error::Resolve {
            host: host.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        });
    }
    Ok(addrs)
}

/// Connects to the first of `addrs` that answers, each within `timeout`.
pub async fn connect_tcp(addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // Commands are small and answered one at a time: do not wait to fill packets.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(source)) => {
                last = Some(Error::Connect {
                    addr: *addr,
                    source,
                })
            }
            Err(_) => last = Some(Error::Timeout(format!("connecting to {addr}"))),
        }
    }
    Err(last.unwrap_or_else(|| Error::Timeout("connecting: no address".into())))
}

/// Runs the TLS handshake as a client over `stream` (at once for implicit TLS, or after
/// the server accepted STLS / STARTTLS), verifying the certificate against `host`.
pub async fn handshake(
    stream: TcpStream,
    config: Arc<rustls::ClientConfig>,
    host: &str,
    timeout: Duration,
) -> Result<MailStream, Error> {
    let name = ServerName::try_from(host.to_owned()).map_err(|_| Error::Config {
        what: "server name".into(),
        reason: format!("{host:?} is not a valid DNS name or IP address"),
    })?;
    let connector = TlsConnector::from(config);
    match tokio::time::timeout(timeout, connector.connect(name, stream)).await {
        Err(_) => Err(Error::Timeout(format!("TLS handshake with {host}"))),
        Ok(Err(source)) => Err(Error::Tls {
            host: host.to_owned(),
            source,
        }),
        Ok(Ok(tls)) => Ok(MailStream::ClientTls(Box::new(tls))),
    }
}

/// Accepts a TLS handshake as a server over `stream` (for faxgate's own listener).
pub async fn accept(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    timeout: Duration,
) -> Result<MailStream, Error> {
    let acceptor = TlsAcceptor::from(config);
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Err(_) => Err(Error::Timeout("TLS handshake with a client".into())),
        Ok(Err(source)) => Err(Error::Tls {
            host: "client".into(),
            source,
        }),
        Ok(Ok(tls)) => Ok(MailStream::ServerTls(Box::new(tls))),
    }
}

/// Resolves, connects and, for implicit TLS, runs the handshake. With
/// [`TlsMode::Starttls`] the connection is returned plain: the protocol driver asks for
/// the upgrade and then calls [`MailStream::upgrade`].
pub async fn connect(
    host: &str,
    port: u16,
    mode: TlsMode,
    config: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<MailStream, Error> {
    let addrs = resolve(host, port, timeout).await?;
    let tcp = connect_tcp(&addrs, timeout).await?;
    match mode {
        TlsMode::Implicit => handshake(tcp, config, host, timeout).await,
        TlsMode::Starttls | TlsMode::None => Ok(MailStream::Plain(tcp)),
    }
}

/// A connection to (or from) a mail peer, plain or under TLS.
#[derive(Debug)]
pub enum MailStream {
    /// Plain TCP (before STARTTLS, or with TLS switched off).
    Plain(TcpStream),
    /// TLS as the client.
    ClientTls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// TLS as the server.
    ServerTls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl MailStream {
    /// Whether the connection is under TLS.
    pub fn is_tls(&self) -> bool {
        !matches!(self, MailStream::Plain(_))
    }

    /// Upgrades a plain client connection after STLS / STARTTLS was accepted. Any bytes
    /// the driver had buffered past the server's positive answer must be treated as an
    /// attack (a command injection before the handshake) and the connection dropped
    /// instead.
    pub async fn upgrade(
        self,
        config: Arc<rustls::ClientConfig>,
        host: &str,
        timeout: Duration,
    ) -> Result<MailStream, Error> {
        match self {
            MailStream::Plain(tcp) => handshake(tcp, config, host, timeout).await,
            already => Err(Error::Protocol {
                context: "STARTTLS".into(),
                reason: if already.is_tls() {
                    "the connection is already under TLS".into()
                } else {
                    "not a plain connection".into()
                },
            }),
        }
    }

    /// Upgrades a plain server-side connection after answering STARTTLS.
    pub async fn upgrade_server(
        self,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> Result<MailStream, Error> {
        match self {
            MailStream::Plain(tcp) => accept(tcp, config, timeout).await,
            _ => Err(Error::Protocol {
                context: "STARTTLS".into(),
                reason: "the connection is already under TLS".into(),
            }),
        }
    }
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::ClientTls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            MailStream::ServerTls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::ClientTls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            MailStream::ServerTls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::ClientTls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            MailStream::ServerTls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::ClientTls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            MailStream::ServerTls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
