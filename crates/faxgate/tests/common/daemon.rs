//! `faxgate serve` as a test runs it: started on a config with its log in a file,
//! stopped with SIGTERM (or killed outright), free loopback ports for its listeners,
//! bounded waits, its admin endpoint, and the faxes its virtual lines filed.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use super::pages::faxgate_binary;

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free TCP port")
}

/// Polls `ready` every 200 ms, at most `tries` times; fails the test naming `what`
/// when it never holds.
pub fn wait_for(tries: u32, what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..tries {
        if ready() {
            return;
        }
        thread::sleep(Duration::from_millis(200));
    }
    panic!("{what}: not reached");
}

/// A plain HTTP/1.1 GET on loopback: the status line and the body.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    Ok((status, body.to_owned()))
}

/// A running `faxgate serve`. Dropping it kills the process, so a failed test leaves
/// none behind.
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `faxgate serve --config config`, its stderr (the log) going to `log`.
    pub fn start(config: &str, log: PathBuf) -> Daemon {
        Daemon::start_logging(config, log, None)
    }

    /// The same with `RUST_LOG` set to `filter` (`faxgate=debug`, say).
    pub fn start_logging(config: &str, log: PathBuf, filter: Option<&str>) -> Daemon {
        let mut command = Command::new(faxgate_binary());
        command
            .args(["serve", "--config", config])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        if let Some(filter) = filter {
            command.env("RUST_LOG", filter);
        }
        let child = command.spawn().expect("faxgate serve starts");
        Daemon { child, log }
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the daemon gets no chance to hang up, release its claim or write anything.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("SIGKILL to faxgate serve");
        self.child.wait().expect("reaping faxgate serve");
    }

    /// SIGTERM, then waits (at most a minute) for the daemon to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("waiting for faxgate serve") {
                return status;
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("faxgate serve did not stop on SIGTERM:\n{}", self.log());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The faxes a virtual line's answering terminal filed in `dir`, in name order.
pub fn received_tiffs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "tif"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
