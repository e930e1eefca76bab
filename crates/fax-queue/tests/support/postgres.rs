//! A throw-away PostgreSQL server for tests: `initdb` in a temporary folder, `postgres`
//! on a free loopback port, one database per test.
//!
//! One server serves a whole test binary (starting one takes a second or two). Test
//! binaries end without running destructors of statics, so a small watchdog shell
//! stops the server and removes its folder once the test process is gone, however it
//! ended. PostgreSQL refuses to run as root; as root the server runs as the `postgres`
//! user the Debian package creates. A missing PostgreSQL fails the test, naming the
//! script that installs it.
//!
//! Shared by the tests of `fax-queue` and `faxgate` (`#[path]` include), so it uses
//! nothing but the standard library.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A running server.
pub struct PostgresServer {
    bin: PathBuf,
    port: u16,
    /// The folder holding the cluster and the socket.
    pub dir: PathBuf,
    /// The server process.
    pub pid: u32,
}

/// The server of this test binary, started on first use.
pub fn server() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(PostgresServer::start)
}

/// A new, empty database on the shared server; its `postgres://` URL.
pub fn fresh_database(name: &str) -> String {
    server().create_database(name)
}

fn bin_dir() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.path().join("bin"))
                .filter(|bin| bin.join("postgres").exists() && bin.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    // The newest major version installed.
    candidates.sort_by_key(|bin| {
        bin.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    candidates.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: \
             run scripts/test, which installs the postgresql package"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command run as the server's owner: ourselves, or `postgres` when we are root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        // setpriv execs in place (unlike su or runuser), so the pid we get is the
        // program's own.
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    // The kernel hands out a free ephemeral port, never PostgreSQL's 5432.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("finding a free loopback port")
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl PostgresServer {
    // The server and its watchdog outlive the test process on purpose: the watchdog
    // stops the server after we are gone, and init reaps both.
    #[allow(clippy::zombie_processes)]
    fn start() -> PostgresServer {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(format!("faxgate-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the server folder");
        if is_root() {
            run(
                Command::new("chown").arg("postgres:postgres").arg(&dir),
                "chown of the server folder",
            );
        }
        let data = dir.join("data");
        run(
            as_owner(&bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
                .args(["--locale", "C"]),
            "initdb",
        );
        let port = free_port();
        let log = std::fs::File::create(dir.join("server.log")).expect("creating server.log");
        let child = as_owner(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args(["-c", "listen_addresses=127.0.0.1"])
            // A test server: durability is not what is tested here, speed is welcome.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting postgres");
        let pid = child.id();
        // Stops the server (SIGINT: fast shutdown) once this test process is gone.
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; kill -INT {pid}; \
                 for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 {pid} 2>/dev/null || break; sleep 0.5; done; \
                 kill -KILL {pid} 2>/dev/null; rm -rf '{dir}'",
                me = std::process::id(),
                dir = dir.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the watchdog");
        let server = PostgresServer {
            bin,
            port,
            dir,
            pid,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = TcpStream::connect(("127.0.0.1", port)).is_ok()
                && Command::new(server.bin.join("pg_isready"))
                    .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                    .status()
                    .is_ok_and(|status| status.success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start; see {}",
                server.dir.join("server.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a database named after the test (made unique) and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let database = format!("t{}_{clean}", COUNTER.fetch_add(1, Ordering::Relaxed));
        run(
            Command::new(self.bin.join("createdb"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
                .arg(&database),
            "createdb",
        );
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}
