//! Test mail servers (Dovecot and Postfix from `scripts/mail-servers`), started once
//! per test binary in a temporary folder on free loopback ports.
//!
//! Test binaries end without running destructors of statics, so a small watchdog shell
//! stops the servers and removes the folder once the test process is gone.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The running servers.
pub struct MailServers {
    /// The folder everything lives in.
    pub dir: PathBuf,
    vars: HashMap<String, String>,
}

/// The servers of this test binary, started on first use.
pub fn servers() -> &'static MailServers {
    static SERVERS: OnceLock<MailServers> = OnceLock::new();
    SERVERS.get_or_init(MailServers::start)
}

impl MailServers {
    #[allow(clippy::zombie_processes)]
    fn start() -> MailServers {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mail-servers");
        let dir = std::env::temp_dir().join(format!("faxgate-mail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the mail server folder");
        let output = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("running scripts/mail-servers");
        assert!(
            output.status.success(),
            "scripts/mail-servers start failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // In a session of its own: a signal to the test's process group (a killed
        // `cargo test`) must not take the watchdog down before it stopped the servers.
        Command::new("setsid")
            .args(["sh", "-c"])
            .arg(format!(
                "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; \
                 bash '{script}' stop '{dir}'; rm -rf '{dir}'",
                me = std::process::id(),
                script = script.display(),
                dir = dir.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the watchdog");
        let vars = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.trim_matches('"').to_owned()))
            .collect();
        MailServers { dir, vars }
    }

    /// A value the script printed (`MAIL_POP3S_PORT`, ...).
    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("scripts/mail-servers printed no {key}"))
    }

    /// A port the script printed, by its name (`POP3S`, `SUBMISSION`, ...).
    pub fn port(&self, name: &str) -> u16 {
        self.var(&format!("MAIL_{name}_PORT"))
            .parse()
            .expect("a port number")
    }

    /// The CA that signed the servers' certificate.
    pub fn ca_file(&self) -> PathBuf {
        PathBuf::from(self.var("MAIL_CA_FILE"))
    }

    /// How many messages `user`'s mailbox holds (its Maildir files).
    pub fn mailbox_count(&self, user: &str) -> usize {
        let maildir = self.dir.join("mail").join(user).join("Maildir");
        ["new", "cur"]
            .iter()
            .map(|sub| {
                std::fs::read_dir(maildir.join(sub))
                    .map(|entries| entries.count())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Waits until `user`'s mailbox holds `count` messages (Postfix delivers over LMTP
    /// a moment after accepting).
    pub fn wait_for_mailbox(&self, user: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.mailbox_count(user) < count {
            assert!(
                Instant::now() < deadline,
                "{user}'s mailbox holds {} of {count} messages; see {}",
                self.mailbox_count(user),
                self.dir.join("log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
