//! SpanDSP as a fax peer: builds `tests/spandsp/spandsp_peer.c` (a T.38 terminal on
//! SpanDSP over loopback UDP) once per test run, starts it as a sender or a receiver and
//! reads the JSON line it ends with.
//!
//! The peer links `libspandsp-dev` (and libtiff), which `scripts/test` installs. Set
//! `FAXGATE_SPANDSP_TRACE=1` (or a SpanDSP log level, 1 to 10) to have every peer log
//! SpanDSP's view of the call on its stderr, which a failing test prints.

#![allow(dead_code)]

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::ffi::OsString;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::ErrorKind;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;

/// Which side of the call the peer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The calling terminal: sends `--file`.
    Send,
    /// The answering terminal: writes what it receives to `-o`.
    Receive,
}

impl Role {
    fn arg(self) -> &'static str {
        match self {
            Role::Send => "send",
            Role::Receive => "receive",
        }
    }
}

/// A fax coding scheme, as the peer's `--compression` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// T.4 one-dimensional (Modified Huffman).
    Mh,
    /// T.4 two-dimensional (Modified READ).
    Mr,
    /// T.6 (Modified Modified READ); ECM only.
    Mmr,
}

impl Compression {
    /// The name used by the peer's `--compression` and by `faxgate convert`.
    pub fn flag(self) -> &'static str {
        match self {
            Compression::Mh => "mh",
            Compression::Mr => "mr",
            Compression::Mmr => "mmr",
        }
    }

    /// Reads the `compression` field of a result line: SpanDSP's names ("T.4 1-D",
    /// "T.4 2-D", "T.6") or ours ("mh", "mr", "mmr").
    pub fn from_report(name: &str) -> Option<Compression> {
        match name {
            "T.4 1-D" | "mh" => Some(Compression::Mh),
            "T.4 2-D" | "mr" => Some(Compression::Mr),
            "T.6" | "mmr" => Some(Compression::Mmr),
            _ => None,
        }
    }
}

/// The command line of one peer, beyond its role.
#[derive(Debug, Clone)]
pub struct PeerArgs {
    /// Our UDP port on 127.0.0.1 (`--listen`).
    pub listen_port: u16,
    /// The far end's UDP port on 127.0.0.1 (`--remote`).
    pub remote_port: u16,
    /// The TIFF to send (`--file`), or where to write the received pages (`-o`).
    pub file: PathBuf,
    /// Offer error correction mode.
    pub ecm: bool,
    /// Our station identifier (TSI or CSI).
    pub ident: Option<String>,
    /// Codings to allow; empty allows MH, MR and MMR.
    pub compressions: Vec<Compression>,
    /// Secondary IFPs carried in each UDPTL packet; `None` keeps the peer's default (3).
    pub redundancy: Option<u8>,
    /// Share of outgoing datagrams to drop, in percent.
    pub loss_percent: f64,
    /// Seed of the loss pattern.
    pub seed: u32,
    /// The peer gives up (and reports a failure) after this many seconds.
    pub timeout_s: u32,
    /// T.38 version, 0 to 3.
    pub t38_version: u8,
    /// SpanDSP log level for the peer's stderr; 0 is quiet, 5 is SpanDSP's T.30 flow.
    /// Defaults to `FAXGATE_SPANDSP_TRACE`.
    pub trace_level: u8,
    /// Further arguments, passed as they are.
    pub extra: Vec<String>,
}

impl PeerArgs {
    /// Arguments for a peer on `listen_port` talking to `remote_port`, with the peer's
    /// defaults: ECM offered, every coding, no loss, a 300 s limit, T.38 version 0.
    pub fn new(listen_port: u16, remote_port: u16, file: impl Into<PathBuf>) -> PeerArgs {
        PeerArgs {
            listen_port,
            remote_port,
            file: file.into(),
            ecm: true,
            ident: None,
            compressions: Vec::new(),
            redundancy: None,
            loss_percent: 0.0,
            seed: 1,
            timeout_s: 300,
            t38_version: 0,
            trace_level: trace_level_from_env(),
            extra: Vec::new(),
        }
    }

    /// The full command line for `role`.
    pub fn to_args(&self, role: Role) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            role.arg().into(),
            "--listen".into(),
            format!("127.0.0.1:{}", self.listen_port).into(),
            "--remote".into(),
            format!("127.0.0.1:{}", self.remote_port).into(),
            match role {
                Role::Send => "--file",
                Role::Receive => "-o",
            }
            .into(),
            self.file.clone().into(),
            if self.ecm { "--ecm" } else { "--no-ecm" }.into(),
            "--timeout".into(),
            self.timeout_s.to_string().into(),
            "--version".into(),
            self.t38_version.to_string().into(),
        ];
        if let Some(ident) = &self.ident {
            args.extend(["--ident".into(), ident.into()]);
        }
        if !self.compressions.is_empty() {
            let list: Vec<&str> = self.compressions.iter().map(|c| c.flag()).collect();
            args.extend(["--compression".into(), list.join(",").into()]);
        }
        if let Some(redundancy) = self.redundancy {
            args.extend(["--redundancy".into(), redundancy.to_string().into()]);
        }
        if self.loss_percent > 0.0 {
            args.extend([
                "--loss".into(),
                self.loss_percent.to_string().into(),
                "--seed".into(),
                self.seed.to_string().into(),
            ]);
        }
        if self.trace_level > 0 {
            args.extend(["--trace-level".into(), self.trace_level.to_string().into()]);
        }
        args.extend(self.extra.iter().map(OsString::from));
        args
    }
}

fn trace_level_from_env() -> u8 {
    match std::env::var("FAXGATE_SPANDSP_TRACE") {
        Ok(value) if value.trim().is_empty() => 0,
        Ok(value) => value.trim().parse().unwrap_or(5),
        Err(_) => 0,
    }
}

// ---------------------------------------------------------------------------------------
// Building the peer

const PEER_SOURCE: &str = "tests/spandsp/spandsp_peer.c";

/// The peer program, compiled on first use. Every test in a run shares one build;
/// test binaries running side by side rebuild only when the source or the flags changed,
/// and each replaces the program by an atomic rename, so none sees a half-written file.
///
/// Panics with advice to run `scripts/test` when gcc, pkg-config or `libspandsp-dev` is
/// missing.
pub fn peer_binary() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build_peer) {
        Ok(path) => path.clone(),
        Err(message) => panic!("{message}"),
    }
}

/// Where the peer is built: `target/spandsp-peer` (or its equivalent under another
/// target directory).
pub fn peer_dir() -> PathBuf {
    let faxgate = Path::new(env!("CARGO_BIN_EXE_faxgate"));
    // target/<profile>/faxgate -> target/spandsp-peer
    faxgate
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("spandsp-peer"))
        .unwrap_or_else(|| std::env::temp_dir().join("faxgate-spandsp-peer"))
}

fn build_peer() -> Result<PathBuf, String> {
    const INSTALL_HINT: &str = "the SpanDSP interop tests need gcc, pkg-config and \
        libspandsp-dev (Debian 12: SpanDSP 0.0.6); run scripts/test, which installs them";

    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(PEER_SOURCE);
    let source_text =
        fs::read(&source).map_err(|e| format!("reading {}: {e}", source.display()))?;

    let pkg_config = Command::new("pkg-config")
        .args(["--cflags", "--libs", "spandsp", "libtiff-4"])
        .output()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => format!("pkg-config is not installed: {INSTALL_HINT}"),
            _ => format!("running pkg-config: {e}"),
        })?;
    if !pkg_config.status.success() {
        return Err(format!(
            "pkg-config does not know spandsp or libtiff-4 ({}): {INSTALL_HINT}",
            String::from_utf8_lossy(&pkg_config.stderr).trim()
        ));
    }
    let link_flags: Vec<String> = String::from_utf8_lossy(&pkg_config.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let compile_flags = ["-O2", "-Wall", "-Wextra"];

    let mut hasher = DefaultHasher::new();
    source_text.hash(&mut hasher);
    compile_flags.hash(&mut hasher);
    link_flags.hash(&mut hasher);
    let stamp = format!("{:016x}\n", hasher.finish());

    let dir = peer_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let binary = dir.join("spandsp_peer");
    let stamp_path = dir.join("spandsp_peer.stamp");
    if binary.is_file() && fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return Ok(binary);
    }

    let unique = format!("{}.{}", std::process::id(), hasher.finish());
    let temporary = dir.join(format!("spandsp_peer.{unique}.tmp"));
    let gcc = Command::new("gcc")
        .args(compile_flags)
        .arg("-o")
        .arg(&temporary)
        .arg(&source)
        .args(&link_flags)
        .output()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => format!("gcc is not installed: {INSTALL_HINT}"),
            _ => format!("running gcc: {e}"),
        })?;
    let diagnostics = String::from_utf8_lossy(&gcc.stderr);
    if !gcc.status.success() {
        let _ = fs::remove_file(&temporary);
        let hint = if diagnostics.contains("spandsp.h") || diagnostics.contains("-lspandsp") {
            INSTALL_HINT
        } else {
            "the peer does not compile"
        };
        return Err(format!(
            "building {}: {hint}\n{diagnostics}",
            source.display()
        ));
    }
    if !diagnostics.trim().is_empty() {
        eprintln!("gcc warnings for {}:\n{diagnostics}", source.display());
    }
    fs::rename(&temporary, &binary)
        .map_err(|e| format!("moving the peer to {}: {e}", binary.display()))?;
    let temporary_stamp = dir.join(format!("spandsp_peer.stamp.{unique}.tmp"));
    fs::write(&temporary_stamp, &stamp)
        .and_then(|()| fs::rename(&temporary_stamp, &stamp_path))
        .map_err(|e| format!("writing {}: {e}", stamp_path.display()))?;
    Ok(binary)
}

// ---------------------------------------------------------------------------------------
// Ports

/// A UDP port on 127.0.0.1 that was free a moment ago and that no other caller in this
/// process has been given.
pub fn free_udp_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("binding a UDP socket on loopback");
        let port = socket.local_addr().expect("local address").port();
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if handed_out.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}

/// Two distinct free UDP ports on 127.0.0.1, one for each end of a call.
pub fn free_udp_port_pair() -> (u16, u16) {
    (free_udp_port(), free_udp_port())
}

// ---------------------------------------------------------------------------------------
// Running the peer

/// A running peer. Dropping it kills the process, so a failed test leaves none behind.
pub struct PeerProcess {
    child: Option<Child>,
    role: Role,
    command_line: String,
}

impl PeerProcess {
    /// The peer's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The operating system's process id.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts a SpanDSP peer (building it first if needed).
pub fn spawn_peer(role: Role, args: &PeerArgs) -> PeerProcess {
    let binary = peer_binary();
    let arguments = args.to_args(role);
    let command_line = std::iter::once(binary.as_os_str())
        .chain(arguments.iter().map(OsString::as_os_str))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let child = Command::new(&binary)
        .args(&arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command_line}: {e}"));
    PeerProcess {
        child: Some(child),
        role,
        command_line,
    }
}

/// What the peer printed when the call ended.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerResult {
    /// "ok" or "failed".
    pub result: String,
    /// SpanDSP's T.30 completion code (0 = OK).
    pub t30_status: i32,
    /// The completion code in words.
    pub status_text: String,
    /// Pages sent (sender) or received (receiver).
    pub pages: u32,
    /// The far end's station identifier.
    pub remote_ident: String,
    /// Image data rate of the last page, bits per second.
    pub bit_rate: u32,
    /// Whether error correction mode was used.
    pub ecm: bool,
    /// Coding on the line: "T.4 1-D", "T.4 2-D" or "T.6".
    pub compression: String,
    /// Wall time of the call as the peer measured it.
    pub duration_s: f64,
    /// The peer's exit code.
    #[serde(skip)]
    pub exit_code: Option<i32>,
    /// Everything the peer wrote on stderr (SpanDSP's log when tracing).
    #[serde(skip)]
    pub stderr: String,
}

impl PeerResult {
    /// The fax went through: "ok" and exit code 0.
    pub fn succeeded(&self) -> bool {
        self.result == "ok" && self.exit_code == Some(0)
    }

    /// The coding used on the line.
    pub fn line_compression(&self) -> Option<Compression> {
        Compression::from_report(&self.compression)
    }

    /// The peer's UDPTL counters, from the summary line it writes on stderr.
    pub fn udptl_stats(&self) -> Option<UdptlStats> {
        let line = self
            .stderr
            .lines()
            .rev()
            .find_map(|l| l.split_once("udptl: "))?
            .1;
        let mut stats = UdptlStats::default();
        for item in line.split(", ") {
            let (name, value) = item.split_once(' ')?;
            let value: u64 = value.trim().parse().ok()?;
            match name {
                "sent" => stats.sent = value,
                "dropped" => stats.dropped = value,
                "received" => stats.received = value,
                "duplicate" => stats.duplicates = value,
                "recovered" => stats.recovered = value,
                "unrecovered" => stats.unrecovered = value,
                "malformed" => stats.malformed = value,
                _ => {}
            }
        }
        Some(stats)
    }
}

/// Datagram counters of one peer's UDPTL layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdptlStats {
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams dropped on purpose (`--loss`).
    pub dropped: u64,
    /// Datagrams received.
    pub received: u64,
    /// Received datagrams whose IFP had already been handled (repeats, late packets).
    pub duplicates: u64,
    /// Lost IFPs rebuilt from the redundancy of later packets.
    pub recovered: u64,
    /// Lost IFPs the redundancy did not cover.
    pub unrecovered: u64,
    /// Datagrams that were not UDPTL.
    pub malformed: u64,
}

/// Waits for the peer to end and reads its result line. An error means the peer printed
/// no result at all (bad usage, a crash); it carries the command line and stderr.
pub fn wait_result(mut peer: PeerProcess) -> Result<PeerResult, String> {
    let child = peer.child.take().expect("the peer is running");
    let output = child
        .wait_with_output()
        .map_err(|e| format!("waiting for {}: {e}", peer.command_line))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty());
    let parsed = line.map(serde_json::from_str::<PeerResult>);
    match parsed {
        Some(Ok(mut result)) => {
            result.exit_code = output.status.code();
            result.stderr = stderr;
            Ok(result)
        }
        Some(Err(e)) => Err(format!(
            "{}\nprinted a result line that does not parse ({e}): {stdout}\nstderr:\n{stderr}",
            peer.command_line
        )),
        None => Err(format!(
            "{}\nended ({}) without a result line; stderr:\n{stderr}",
            peer.command_line, output.status
        )),
    }
}
