//! The SMTP intake listener against a real client (swaks): STARTTLS, pipelining, the
//! size limit, TLS required, refusals from the sink, the connection limit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mail_net::smtpd::{Envelope, EnvelopeSink, SinkRefusal, SmtpListener, SmtpdConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;

#[derive(Default)]
struct MemorySink {
    messages: Mutex<Vec<(Envelope, Vec<u8>)>>,
    refuse: Option<SinkRefusal>,
}

impl EnvelopeSink for MemorySink {
    async fn deliver(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SinkRefusal> {
        if let Some(refusal) = &self.refuse {
            return Err(refusal.clone());
        }
        self.messages
            .lock()
            .expect("lock")
            .push((envelope.clone(), message.to_vec()));
        Ok(())
    }
}

struct Running {
    port: u16,
    status: Arc<Mutex<mail_net::smtpd::ListenerStatus>>,
    sink: Arc<MemorySink>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn start(config: SmtpdConfig, sink: MemorySink) -> Running {
        let config = SmtpdConfig {
            enabled: true,
            listen: "127.0.0.1:0".into(),
            ..config
        };
        let listener = SmtpListener::bind(&config).await.expect("binds");
        let port = listener.local_addr().expect("addr").port();
        let status = listener.status();
        let sink = Arc::new(sink);
        let (stop, stopped) = oneshot::channel::<()>();
        let task_sink = Arc::clone(&sink);
        let task = tokio::spawn(async move {
            listener
                .run(task_sink, async {
                    let _ = stopped.await;
                })
                .await
                .expect("listener runs");
        });
        Running {
            port,
            status,
            sink,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.expect("listener task");
    }

    fn messages(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.sink.messages.lock().expect("lock").clone()
    }
}

/// A throw-away certificate for `localhost` (openssl, as the mail server script does).
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args([
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs (install it with scripts/test)");
    assert!(status.success(), "openssl failed");
    (cert, key)
}

/// A folder removed when the test ends.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("faxgate-smtpd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

struct Swaks {
    status: std::process::ExitStatus,
    transcript: String,
}

async fn swaks(port: u16, args: &[&str]) -> Swaks {
    let output = tokio::process::Command::new("swaks")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--ehlo",
            "client.test",
        ])
        .args(["--from", "alice@example.org", "--timeout", "20"])
        .args(args)
        .output()
        .await
        .expect("swaks runs (scripts/test installs it)");
    let transcript = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    Swaks {
        status: output.status,
        transcript,
    }
}

const MESSAGE: &str = "From: alice@example.org\r\nTo: fax@fax.faxgate.test\r\nSubject: 755-83235170/Company\r\nMessage-ID: <m1@example.org>\r\n\r\nplease fax this\r\n.a line that starts with a dot\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_pipelining_deliver_exact_bytes_and_envelope() {
    let dir = temp_dir("tls");
    let (cert, key) = certificate(&dir);
    let data = dir.join("message.eml");
    // swaks ends the data with CRLF "." CRLF itself.
    std::fs::write(&data, MESSAGE.strip_suffix("\r\n").unwrap_or(MESSAGE)).expect("write message");
    let config = SmtpdConfig {
        tls_cert_file: Some(cert),
        tls_key_file: Some(key),
        require_tls: true,
        hostname: "fax.faxgate.test".into(),
        ..SmtpdConfig::default()
    };
    let server = Running::start(config, MemorySink::default()).await;
    let data_arg = format!("@{}", data.display());
    let run = swaks(
        server.port,
        &[
            "--to",
            "FAX=+8675583235170@fax.faxgate.test,075583235170@fax.faxgate.test",
            "--tls",
            "--pipeline",
            "--data",
            &data_arg,
        ],
    )
    .await;
    assert!(run.status.success(), "{}", run.transcript);
    assert!(
        run.transcript.contains("250 2.0.0 OK queued as"),
        "{}",
        run.transcript
    );
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let (envelope, bytes) = &messages[0];
    assert!(envelope.tls);
    assert_eq!(envelope.helo, "client.test");
    assert_eq!(envelope.mail_from, "alice@example.org");
    assert_eq!(
        envelope.rcpt_to,
        vec![
            "FAX=+8675583235170@fax.faxgate.test",
            "075583235170@fax.faxgate.test"
        ]
    );
    // The trace line on top (RFC 5321 4.4), then the message exactly as sent.
    let text = String::from_utf8_lossy(bytes);
    let (trace, rest) = text.split_once(" +0000\r\n").expect("a Received line");
    assert!(trace.starts_with("Received: from client.test ([127.0.0.1])\r\n\tby fax.faxgate.test (faxgate) with ESMTPS id 1;"), "{trace}");
    assert_eq!(rest, MESSAGE);
    let status = server.status.lock().expect("status").clone();
    assert_eq!(
        (status.messages_accepted, status.messages_refused),
        (1, 0),
        "{status:?}"
    );
    assert!(status.last_message_ms.is_some());
    assert_eq!(status.listening.map(|a| a.port()), Some(server.port));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_mail_refused_when_tls_is_required() {
    let dir = temp_dir("require");
    let (cert, key) = certificate(&dir);
    let config = SmtpdConfig {
        tls_cert_file: Some(cert),
        tls_key_file: Some(key),
        require_tls: true,
        ..SmtpdConfig::default()
    };
    let server = Running::start(config, MemorySink::default()).await;
    let run = swaks(server.port, &["--to", "1@fax.faxgate.test"]).await;
    assert!(!run.status.success());
    assert!(run.transcript.contains("530 5.7.0"), "{}", run.transcript);
    assert!(server.messages().is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_message_refused_with_552_then_the_next_one_passes() {
    let dir = temp_dir("size");
    let big = dir.join("big.eml");
    let body = "x".repeat(76) + "\r\n";
    std::fs::write(&big, format!("Subject: big\r\n\r\n{}", body.repeat(100))).expect("write");
    let small = dir.join("small.eml");
    std::fs::write(&small, "Subject: small\r\n\r\nhi\r\n").expect("write");
    let config = SmtpdConfig {
        max_message_bytes: 4000,
        ..SmtpdConfig::default()
    };
    let server = Running::start(config, MemorySink::default()).await;

    // swaks sends no SIZE= parameter, so the limit is found while reading DATA.
    let run = swaks(
        server.port,
        &[
            "--to",
            "1@fax.faxgate.test",
            "--data",
            &format!("@{}", big.display()),
        ],
    )
    .await;
    assert!(!run.status.success());
    assert!(run.transcript.contains("552 5.3.4"), "{}", run.transcript);
    assert!(server.messages().is_empty());

    let run = swaks(
        server.port,
        &[
            "--to",
            "1@fax.faxgate.test",
            "--pipeline",
            "--data",
            &format!("@{}", small.display()),
        ],
    )
    .await;
    assert!(run.status.success(), "{}", run.transcript);
    assert_eq!(server.messages().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_failure_is_a_temporary_refusal() {
    let sink = MemorySink {
        refuse: Some(SinkRefusal::Temporary("store unavailable".into())),
        ..MemorySink::default()
    };
    let server = Running::start(SmtpdConfig::default(), sink).await;
    let run = swaks(server.port, &["--to", "1@fax.faxgate.test"]).await;
    assert!(!run.status.success());
    assert!(
        run.transcript.contains("451 4.3.0 store unavailable"),
        "{}",
        run.transcript
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_get_421() {
    let config = SmtpdConfig {
        max_connections: 1,
        hostname: "fax.test".into(),
        ..SmtpdConfig::default()
    };
    let server = Running::start(config, MemorySink::default()).await;
    let first = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    let mut first = BufReader::new(first);
    let mut line = String::new();
    first.read_line(&mut line).await.expect("greeting");
    assert!(line.starts_with("220 fax.test"), "{line}");

    let second = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    let mut second = BufReader::new(second);
    line.clear();
    second.read_line(&mut line).await.expect("reply");
    assert!(line.starts_with("421 4.3.2"), "{line}");

    first.get_mut().write_all(b"QUIT\r\n").await.expect("quit");
    line.clear();
    first.read_line(&mut line).await.expect("221");
    assert!(line.starts_with("221"), "{line}");
    server.stop().await;
}
