//! Support for the IMAP intake tests and the IDLE latency example: the project's
//! Dovecot and Postfix (`scripts/mail-servers`), a minimal SMTP submission to Postfix,
//! and a durable file-backed message sink.
//!
//! One pair of servers serves a whole test binary. Test binaries end without running
//! destructors of statics, so a watchdog shell stops the servers and removes their
//! folder once the process is gone, however it ended.

#![allow(dead_code)]

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use mail_net::{
    IncomingMessage, MailboxConfig, MailboxProtocol, MessageSink, SinkError, TakenIn, TlsMode,
};

/// The running servers: what `scripts/mail-servers start` printed.
pub struct MailServers {
    /// KEY=VALUE lines.
    pub env: HashMap<String, String>,
    /// Their folder.
    pub dir: PathBuf,
}

impl MailServers {
    /// A port by key (`IMAPS`, `IMAP`, `SMTP`, ...).
    pub fn port(&self, key: &str) -> u16 {
        self.env[&format!("MAIL_{key}_PORT")].parse().expect("port")
    }

    /// The CA that signed the servers' certificate.
    pub fn ca_file(&self) -> PathBuf {
        PathBuf::from(&self.env["MAIL_CA_FILE"])
    }

    /// The Maildir of a user (`fax`, `alice`, `bob`).
    pub fn maildir(&self, user: &str) -> PathBuf {
        self.dir.join("mail").join(user).join("Maildir")
    }

    /// An IMAP `[mailbox]` for `user` over implicit TLS.
    pub fn imap_config(&self, user: &str) -> MailboxConfig {
        MailboxConfig {
            protocol: MailboxProtocol::Imap,
            host: "127.0.0.1".into(),
            port: self.port("IMAPS"),
            tls: TlsMode::Implicit,
            ca_file: Some(self.ca_file()),
            user: format!("{user}@faxgate.test"),
            password: Some(format!("{user}-pw")),
            timeout_seconds: 20,
            ..MailboxConfig::default()
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The servers of this process, started on first use.
pub fn servers() -> &'static MailServers {
    static SERVERS: OnceLock<MailServers> = OnceLock::new();
    SERVERS.get_or_init(start)
}

fn start() -> MailServers {
    let dir = std::env::temp_dir().join(format!("faxgate-imap-test-{}", std::process::id()));
    let script = repo_root().join("scripts/mail-servers");
    let output = Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg(&dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/mail-servers runs");
    assert!(
        output.status.success(),
        "scripts/mail-servers start failed (it needs root and installs Dovecot and Postfix)"
    );
    let env: HashMap<String, String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect();
    let me = std::process::id();
    let watchdog = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; bash '{}' stop '{}'; rm -rf '{}'",
        script.display(),
        dir.display(),
        dir.display()
    );
    // Not waited for: it must outlive this process (init reaps it).
    #[allow(clippy::zombie_processes)]
    let _watchdog = Command::new("setsid")
        .args(["sh", "-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watchdog starts");
    MailServers { env, dir }
}

/// Tests of one binary share the fax mailboxes: one at a time.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Sends one message through Postfix's SMTP port (plain, loopback: Postfix takes mail
/// for its own domain from `mynetworks`), and returns when Postfix said `250` to the
/// data: the moment the message is Postfix's responsibility.
pub fn send_via_postfix(servers: &MailServers, to: &str, message: &str) -> Instant {
    let stream =
        TcpStream::connect(("127.0.0.1", servers.port("SMTP"))).expect("connect to Postfix");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut expect = |code: &str| {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("reply");
            assert!(
                line.starts_with(code),
                "Postfix said {line:?}, expected {code}"
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    };
    expect("220");
    writer.write_all(b"EHLO test.client\r\n").expect("write");
    expect("250");
    writer
        .write_all(b"MAIL FROM:<alice@faxgate.test>\r\n")
        .expect("write");
    expect("250");
    writer
        .write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
        .expect("write");
    expect("250");
    writer.write_all(b"DATA\r\n").expect("write");
    expect("354");
    let mut data = String::new();
    let message = message.strip_suffix("\r\n").unwrap_or(message);
    for line in message.split("\r\n") {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    writer.write_all(data.as_bytes()).expect("write");
    expect("250");
    let accepted = Instant::now();
    writer.write_all(b"QUIT\r\n").expect("write");
    accepted
}

/// A sink that stores each message in a file, synced, before it returns: what the
/// real ledger guarantees, in a form a crashed process leaves behind for inspection.
/// Duplicates are recognised by content (a stable hash of the bytes).
pub struct FileSink {
    dir: PathBuf,
    /// When each message was handed over (for the latency example).
    pub arrivals: Mutex<Vec<(String, Instant)>>,
}

impl FileSink {
    /// A sink writing into `dir` (created; kept across "restarts").
    pub fn new(dir: &Path) -> FileSink {
        for sub in ["messages", "keys"] {
            std::fs::create_dir_all(dir.join(sub)).expect("sink dir");
        }
        FileSink {
            dir: dir.to_owned(),
            arrivals: Mutex::new(Vec::new()),
        }
    }

    /// The stored messages, by content hash.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(self.dir.join("messages"))
            .expect("read")
            .map(|e| {
                let path = e.expect("entry").path();
                let bytes = std::fs::read(&path).expect("read");
                (path, bytes)
            })
            .collect();
        out.sort();
        out.into_iter().map(|(_, b)| b).collect()
    }

    fn key_path(&self, mailbox: &str, uidl: &str) -> PathBuf {
        let name: String = format!("{mailbox}#{uidl}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join("keys").join(name)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}

impl MessageSink for FileSink {
    async fn is_known(&self, mailbox: &str, uidl: &str) -> Result<bool, SinkError> {
        Ok(self.key_path(mailbox, uidl).exists())
    }

    async fn take_in(&self, message: IncomingMessage<'_>) -> Result<TakenIn, SinkError> {
        self.arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((message.uidl.to_owned(), Instant::now()));
        // std's DefaultHasher::new() has fixed keys: the same bytes hash the same in
        // every process.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        message.raw.hash(&mut hasher);
        let digest = format!("{:016x}", hasher.finish());
        let stored = self.dir.join("messages").join(&digest);
        let outcome = if stored.exists() {
            TakenIn::Duplicate
        } else {
            write_synced(&stored, message.raw)?;
            TakenIn::Stored
        };
        write_synced(
            &self.key_path(message.mailbox, message.uidl),
            digest.as_bytes(),
        )?;
        Ok(outcome)
    }
}

/// Message files in a Maildir folder (`""` for INBOX, `".Faxed"` for a folder).
pub fn maildir_count(servers: &MailServers, user: &str, folder: &str) -> usize {
    let base = servers.maildir(user).join(folder);
    ["new", "cur"]
        .iter()
        .map(|sub| {
            std::fs::read_dir(base.join(sub))
                .map(|d| d.count())
                .unwrap_or(0)
        })
        .sum()
}

/// Waits (polling the Maildir, bounded) until Postfix and Dovecot have delivered `n`
/// messages to the folder. Delivery is asynchronous after Postfix's 250.
pub fn wait_delivered(servers: &MailServers, user: &str, folder: &str, n: usize) {
    for _ in 0..600 {
        if maildir_count(servers, user, folder) >= n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "{n} message(s) not delivered to {user}'s {folder:?}; see the logs in {}",
        servers.dir.display()
    );
}

/// A fax request mail with a unique Message-ID.
pub fn fax_mail(n: usize, tag: &str) -> String {
    format!(
        "From: alice@faxgate.test\r\nTo: fax@faxgate.test\r\nSubject: 755-83235170/Company\r\n\
         Message-ID: <{tag}-{n}@faxgate.test>\r\n\r\nfax request {n}\r\n.dot line\r\n"
    )
}
