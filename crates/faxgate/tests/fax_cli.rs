//! `faxgate fax send / receive / poll` against each other over loopback UDP, in real
//! time: the commands as a user runs them, their JSON lines and exit codes, and the
//! pages that arrive. The calls run side by side on their own ports.

mod common;

use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use common::pages::{compare_pages, faxgate_binary, make_fax_tiff};
use common::parallel::side_by_side;
use common::scratch::Scratch;
use common::spandsp::free_udp_port_pair;

fn faxgate(args: &[&str]) -> Command {
    let mut command = Command::new(faxgate_binary());
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn json(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "{e}: {stdout:?}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Runs the answering side, then (after it is listening) the calling side.
fn call(answering: Command, calling: Command) -> (Output, Output) {
    let mut answering = answering;
    let mut calling = calling;
    let answerer = answering.spawn().expect("answering side starts");
    thread::sleep(Duration::from_millis(300));
    let caller = calling
        .spawn()
        .expect("calling side starts")
        .wait_with_output()
        .expect("calling side ran");
    let answerer = answerer.wait_with_output().expect("answering side ran");
    (caller, answerer)
}

struct Case {
    name: &'static str,
    /// Extra options for both sides.
    options: &'static [&'static str],
    /// Whether the answering side is polled for the document.
    polling: bool,
    ecm: bool,
}

#[test]
fn faxgate_sends_receives_and_polls_itself() {
    let scratch = Scratch::new("fax-cli");
    let input = scratch.path("in.tif");
    make_fax_tiff(
        &["testdata/ccitt/ccitt2.pbm", "testdata/ccitt/ccitt6.pbm"],
        "mh",
        &input,
    );
    let cases = [
        Case {
            name: "send/receive, ECM",
            options: &[],
            polling: false,
            ecm: true,
        },
        Case {
            name: "send/receive, no ECM, local TCF",
            options: &["--no-ecm", "--tcf", "local"],
            polling: false,
            ecm: false,
        },
        Case {
            name: "poll, T.38 version 3",
            options: &["--t38-version", "3"],
            polling: true,
            ecm: true,
        },
    ];
    let results: Vec<(Output, Output)> = side_by_side(&cases, |i, case| {
        let (a, b) = free_udp_port_pair();
        let listen = format!("127.0.0.1:{b}");
        let input = input.to_str().expect("utf-8 path").to_owned();
        let output = scratch.path(&format!("out{i}.tif"));
        let output = output.to_str().expect("utf-8 path").to_owned();
        let (mut answering, mut calling) = if case.polling {
            (
                faxgate(&["fax", "send", "--t38-listen", &listen, &input]),
                faxgate(&["fax", "poll", "--t38", &listen, "-o", &output]),
            )
        } else {
            (
                faxgate(&["fax", "receive", "--t38-listen", &listen, "-o", &output]),
                faxgate(&["fax", "send", "--t38", &listen, &input]),
            )
        };
        let port = a.to_string();
        calling.args(["--local-port", &port]);
        for side in [&mut answering, &mut calling] {
            side.args(case.options)
                .args(["--timeout", "120", "--trace"]);
        }
        answering.args(["--ident", "ANSWERER"]);
        calling.args(["--ident", "CALLER"]);
        call(answering, calling)
    });
    for (i, (case, (caller, answerer))) in cases.iter().zip(&results).enumerate() {
        for (side, output, far) in [
            ("caller", caller, "ANSWERER"),
            ("answerer", answerer, "CALLER"),
        ] {
            let report = json(output);
            let what = format!(
                "{}: {side}: {report}\n{}",
                case.name,
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(output.status.success(), "{what}");
            assert_eq!(report["result"], "ok", "{what}");
            assert_eq!(report["t30_status"], 0, "{what}");
            assert_eq!(report["pages"], 2, "{what}");
            assert_eq!(report["remote_ident"], far, "{what}");
            assert_eq!(report["bit_rate"], 14400, "{what}");
            assert_eq!(report["ecm"], case.ecm, "{what}");
            let coding = if case.ecm { "T.6" } else { "T.4 2-D" };
            assert_eq!(report["compression"], coding, "{what}");
        }
        compare_pages(&input, &scratch.path(&format!("out{i}.tif")))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    }
    // The transcript is on stderr with --trace.
    let trace = String::from_utf8_lossy(&results[2].0.stderr);
    assert!(trace.contains("-> DTC"), "{trace}");
}

#[test]
fn a_receiver_nobody_calls_gives_up_with_a_result_line() {
    let scratch = Scratch::new("fax-cli-timeout");
    let (port, _) = free_udp_port_pair();
    let out = faxgate(&[
        "fax",
        "receive",
        "--t38-listen",
        &format!("127.0.0.1:{port}"),
        "-o",
        scratch.path("never.tif").to_str().expect("utf-8"),
        "--timeout",
        "1",
    ])
    .output()
    .expect("ran");
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["result"], "failed");
    assert_eq!(report["pages"], 0);
    assert!(!scratch.path("never.tif").exists());
}

#[test]
fn sending_a_file_that_is_not_a_fax_is_a_clear_error() {
    let scratch = Scratch::new("fax-cli-bad");
    let bad = scratch.path("bad.tif");
    std::fs::write(&bad, b"this is not a TIFF").expect("write");
    let out = faxgate(&[
        "fax",
        "send",
        "--t38",
        "127.0.0.1:9",
        bad.to_str().expect("utf-8"),
    ])
    .output()
    .expect("ran");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.tif: not a usable TIFF"), "{stderr}");
    let usage = faxgate(&["fax", "send", "x.tif"]).output().expect("ran");
    assert_eq!(
        usage.status.code(),
        Some(2),
        "neither --t38 nor --t38-listen"
    );
}
