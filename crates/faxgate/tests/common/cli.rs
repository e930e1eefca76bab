//! Running the `faxgate` binary as an operator does, and reading what it prints.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::pages::faxgate_binary;

/// Runs `faxgate args` and returns what it printed, whatever its exit status.
pub fn faxgate(args: &[&str]) -> Output {
    Command::new(faxgate_binary())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running faxgate")
}

/// Runs `faxgate args`, with `stdin` written to its standard input when given, and
/// fails the test unless it succeeds.
pub fn faxgate_with(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(faxgate_binary())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running faxgate");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("writing to faxgate");
    }
    let output = child.wait_with_output().expect("running faxgate");
    assert!(
        output.status.success(),
        "faxgate {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `faxgate args` and fails the test unless it succeeds.
pub fn faxgate_ok(args: &[&str]) -> Output {
    faxgate_with(args, None)
}

/// Runs `faxgate args` (a `--json` command), fails the test unless it succeeds, and
/// parses what it printed.
pub fn faxgate_json(args: &[&str]) -> Value {
    let output = faxgate_ok(args);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "faxgate {args:?} printed no JSON ({error}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The pages of a TIFF file, as `faxgate tiff info` counts them.
pub fn page_count(tiff: &Path) -> usize {
    let info = faxgate_json(&["tiff", "info", tiff.to_str().expect("utf-8 path")]);
    info.as_array().map_or(0, Vec::len)
}

/// Works every queued job of `config` with the dry-run line driver (`job work --line
/// dry`, two channels, until the queue is idle), which dials nobody and records each
/// call in `record`.
pub fn work_dry_until_idle(config: &str, record: &Path) {
    faxgate_ok(&[
        "job",
        "work",
        "--line",
        "dry",
        "--channels",
        "2",
        "--until-idle",
        "--record-file",
        record.to_str().expect("utf-8 path"),
        "--config",
        config,
    ]);
}

/// Adds a user named `name` with the e-mail address `email` to `config`'s store,
/// with `extra` options of `faxgate user add`.
pub fn add_user(config: &str, name: &str, email: &str, extra: &[&str]) {
    let mut args = vec![
        "user", "add", "--config", config, "--name", name, "--email", email,
    ];
    args.extend_from_slice(extra);
    faxgate_ok(&args);
}
