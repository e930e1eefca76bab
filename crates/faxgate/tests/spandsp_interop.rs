//! faxgate against SpanDSP over T.38 on loopback UDP, in real time, both directions:
//! `faxgate fax send` to SpanDSP's receiving terminal and SpanDSP's sending terminal to
//! `faxgate fax receive`, with ECM on and off, MH, MR and MMR, standard and fine, one
//! and five pages, with and without packet loss. Received pages are compared pixel by
//! pixel with the ones sent.
//!
//! The calls run side by side, each on its own ports, so the matrix takes as long as
//! its longest call. Durations are printed next to SpanDSP-to-SpanDSP figures measured
//! the same way (`spandsp_peer.rs`).
//!
//! Needs `libspandsp-dev`, which `scripts/test` installs; without it the tests fail.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::pages::{differing_rows, faxgate_binary, repo_path};
use common::parallel::side_by_side;
use common::scratch::Scratch;
use common::spandsp::{
    Compression, PeerArgs, PeerResult, Role, free_udp_port_pair, peer_binary, spawn_peer,
    wait_result,
};

const FAXGATE_IDENT: &str = "+852 2222 0000";
const SPANDSP_IDENT: &str = "+49 30 1111";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// `faxgate fax send` calls SpanDSP's receiving terminal.
    FaxgateSends,
    /// SpanDSP's sending terminal calls `faxgate fax receive`.
    FaxgateReceives,
}

struct Case {
    name: &'static str,
    direction: Direction,
    charts: &'static [u8],
    fine: bool,
    ecm: bool,
    /// The codings SpanDSP allows; the call must use the best of them.
    compression: Compression,
    /// Datagrams SpanDSP drops on the way out, in percent.
    loss_percent: f64,
    /// T.38 version both ends speak.
    t38_version: u8,
}

const ONE: &[u8] = &[1];
const FIVE: &[u8] = &[1, 2, 6, 8, 5];

const CASES: [Case; 10] = [
    Case {
        name: "send, ECM MMR fine, 1 page",
        direction: Direction::FaxgateSends,
        charts: ONE,
        fine: true,
        ecm: true,
        compression: Compression::Mmr,
        loss_percent: 0.0,
        t38_version: 0,
    },
    Case {
        name: "send, no ECM, MH standard, 1 page",
        direction: Direction::FaxgateSends,
        charts: ONE,
        fine: false,
        ecm: false,
        compression: Compression::Mh,
        loss_percent: 0.0,
        t38_version: 0,
    },
    Case {
        name: "send, no ECM, MR fine, 5 pages",
        direction: Direction::FaxgateSends,
        charts: FIVE,
        fine: true,
        ecm: false,
        compression: Compression::Mr,
        loss_percent: 0.0,
        t38_version: 0,
    },
    Case {
        name: "send, ECM MR standard, 1 page, 5% loss",
        direction: Direction::FaxgateSends,
        charts: ONE,
        fine: false,
        ecm: true,
        compression: Compression::Mr,
        loss_percent: 5.0,
        t38_version: 0,
    },
    Case {
        name: "send, ECM MMR fine, 5 pages, 5% loss, T.38 v3",
        direction: Direction::FaxgateSends,
        charts: FIVE,
        fine: true,
        ecm: true,
        compression: Compression::Mmr,
        loss_percent: 5.0,
        t38_version: 3,
    },
    Case {
        name: "receive, ECM MMR fine, 1 page",
        direction: Direction::FaxgateReceives,
        charts: ONE,
        fine: true,
        ecm: true,
        compression: Compression::Mmr,
        loss_percent: 0.0,
        t38_version: 0,
    },
    Case {
        name: "receive, no ECM, MR fine, 1 page",
        direction: Direction::FaxgateReceives,
        charts: ONE,
        fine: true,
        ecm: false,
        compression: Compression::Mr,
        loss_percent: 0.0,
        t38_version: 0,
    },
    Case {
        name: "receive, no ECM, MH standard, 5 pages",
        direction: Direction::FaxgateReceives,
        charts: FIVE,
        fine: false,
        ecm: false,
        compression: Compression::Mh,
        loss_percent: 0.0,
        t38_version: 0,
    },
    Case {
        name: "receive, ECM MMR fine, 5 pages, 5% loss, T.38 v2",
        direction: Direction::FaxgateReceives,
        charts: FIVE,
        fine: true,
        ecm: true,
        compression: Compression::Mmr,
        loss_percent: 5.0,
        t38_version: 2,
    },
    Case {
        name: "receive, no ECM, MR fine, 1 page, 5% loss",
        direction: Direction::FaxgateReceives,
        charts: ONE,
        fine: true,
        ecm: false,
        compression: Compression::Mr,
        loss_percent: 5.0,
        t38_version: 0,
    },
];

/// faxgate's one-line JSON result.
#[derive(Debug, serde::Deserialize)]
struct FaxgateResult {
    result: String,
    t30_status: u32,
    status_text: String,
    pages: u32,
    remote_ident: String,
    bit_rate: u32,
    ecm: bool,
    compression: String,
    duration_s: f64,
}

struct Outcome {
    faxgate: Result<FaxgateResult, String>,
    spandsp: Result<PeerResult, String>,
    faxgate_stderr: String,
    problems: Vec<String>,
    note: String,
}

fn make_input(case: &Case, out: &Path) {
    let mut command = Command::new(faxgate_binary());
    command.arg("convert");
    for chart in case.charts {
        command.arg(repo_path(&format!("testdata/ccitt/ccitt{chart}.pbm")));
    }
    command
        .arg("-o")
        .arg(out)
        .args(["--compression", "mh"])
        .args(["--resolution", if case.fine { "fine" } else { "standard" }]);
    let output = command.output().expect("running faxgate convert");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run_case(index: usize, case: &Case, scratch: &Scratch) -> Outcome {
    let input = scratch.path(&format!("case{index}-sent.tif"));
    let output = scratch.path(&format!("case{index}-received.tif"));
    make_input(case, &input);
    let (faxgate_port, spandsp_port) = free_udp_port_pair();

    let spandsp_file = match case.direction {
        Direction::FaxgateSends => &output,
        Direction::FaxgateReceives => &input,
    };
    let mut args = PeerArgs::new(spandsp_port, faxgate_port, spandsp_file);
    args.ecm = case.ecm;
    args.ident = Some(SPANDSP_IDENT.to_owned());
    args.compressions = match case.compression {
        Compression::Mh => vec![Compression::Mh],
        Compression::Mr => vec![Compression::Mh, Compression::Mr],
        Compression::Mmr => vec![Compression::Mh, Compression::Mr, Compression::Mmr],
    };
    args.loss_percent = case.loss_percent;
    args.t38_version = case.t38_version;
    args.seed = 7 + index as u32;
    args.timeout_s = 400;

    let mut faxgate = Command::new(faxgate_binary());
    faxgate.args(["fax"]);
    match case.direction {
        Direction::FaxgateSends => {
            faxgate
                .args(["send", "--t38", &format!("127.0.0.1:{spandsp_port}")])
                .args(["--local-port", &faxgate_port.to_string()])
                .arg(&input);
        }
        Direction::FaxgateReceives => {
            faxgate
                .args([
                    "receive",
                    "--t38-listen",
                    &format!("127.0.0.1:{faxgate_port}"),
                ])
                .arg("-o")
                .arg(&output);
        }
    }
    faxgate
        .args(["--ident", FAXGATE_IDENT, "--trace", "--timeout", "400"])
        .args(["--t38-version", &case.t38_version.to_string()])
        .arg(if case.ecm { "--ecm" } else { "--no-ecm" })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    // The receiving side listens first.
    let (spandsp, faxgate_child) = match case.direction {
        Direction::FaxgateSends => {
            let peer = spawn_peer(Role::Receive, &args);
            thread::sleep(Duration::from_millis(300));
            (peer, faxgate.spawn().expect("starting faxgate"))
        }
        Direction::FaxgateReceives => {
            let child = faxgate.spawn().expect("starting faxgate");
            thread::sleep(Duration::from_millis(300));
            (spawn_peer(Role::Send, &args), child)
        }
    };
    let faxgate_output = faxgate_child.wait_with_output().expect("faxgate ran");
    let spandsp = wait_result(spandsp);
    let faxgate_stderr = String::from_utf8_lossy(&faxgate_output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&faxgate_output.stdout);
    let faxgate = stdout
        .lines()
        .last()
        .ok_or_else(|| "no result line".to_owned())
        .and_then(|line| {
            serde_json::from_str::<FaxgateResult>(line).map_err(|e| format!("{e}: {line}"))
        });

    let mut problems = Vec::new();
    let pages = case.charts.len() as u32;
    let want_coding = match case.compression {
        Compression::Mh => "T.4 1-D",
        Compression::Mr => "T.4 2-D",
        Compression::Mmr => "T.6",
    };
    match &faxgate {
        Err(e) => problems.push(format!("faxgate: {e}")),
        Ok(r) => {
            if r.result != "ok" || r.t30_status != 0 {
                problems.push(format!(
                    "faxgate: {} ({}: {})",
                    r.result, r.t30_status, r.status_text
                ));
            }
            if faxgate_output.status.success() != (r.result == "ok") {
                problems.push(format!(
                    "faxgate exit status {:?} for {}",
                    faxgate_output.status, r.result
                ));
            }
            if r.pages != pages {
                problems.push(format!("faxgate: {} pages, not {pages}", r.pages));
            }
            if r.ecm != case.ecm {
                problems.push(format!("faxgate: ECM {}, not {}", r.ecm, case.ecm));
            }
            if r.compression != want_coding {
                problems.push(format!(
                    "faxgate: coding {}, not {want_coding}",
                    r.compression
                ));
            }
            if r.remote_ident != SPANDSP_IDENT {
                problems.push(format!("faxgate: far end {:?}", r.remote_ident));
            }
            if r.bit_rate != 14400 {
                problems.push(format!("faxgate: {} bit/s", r.bit_rate));
            }
        }
    }
    match &spandsp {
        Err(e) => problems.push(format!("SpanDSP: {e}")),
        Ok(r) => {
            if !r.succeeded() {
                problems.push(format!(
                    "SpanDSP: {} ({}: {})",
                    r.result, r.t30_status, r.status_text
                ));
            }
            if r.pages != pages {
                problems.push(format!("SpanDSP: {} pages, not {pages}", r.pages));
            }
            if r.remote_ident != FAXGATE_IDENT {
                problems.push(format!("SpanDSP: far end {:?}", r.remote_ident));
            }
        }
    }
    let mut note = String::new();
    match differing_rows(&input, &output) {
        Err(e) => problems.push(format!("received pages: {e}")),
        Ok(rows) if rows.iter().all(Vec::is_empty) => {}
        Ok(rows) => {
            let count: usize = rows.iter().map(Vec::len).sum();
            // Without ECM, image data the redundancy could not bring back is damage a
            // real fax would show too; tolerated only when packets were really lost.
            let unrecovered = spandsp
                .as_ref()
                .ok()
                .and_then(PeerResult::udptl_stats)
                .map_or(0, |s| s.unrecovered);
            if case.ecm
                || case.loss_percent == 0.0
                || (unrecovered == 0 && case.direction == Direction::FaxgateSends)
            {
                problems.push(format!("{count} received rows differ from the sent ones"));
            } else {
                note = format!("{count} rows damaged by lost packets");
            }
        }
    }
    Outcome {
        faxgate,
        spandsp,
        faxgate_stderr,
        problems,
        note,
    }
}

#[test]
fn faxgate_and_spandsp_exchange_faxes_in_every_mode() {
    peer_binary();
    let scratch = Scratch::new("spandsp-interop");
    let started = Instant::now();
    let outcomes: Vec<Outcome> =
        side_by_side(&CASES, |index, case| run_case(index, case, &scratch));
    let mut table = String::from("faxgate <-> SpanDSP 0.0.6 over T.38, real time (seconds)\n");
    let _ = writeln!(table, "{:<44} {:>8} {:>8}", "case", "faxgate", "SpanDSP");
    for (case, outcome) in CASES.iter().zip(&outcomes) {
        let ours = outcome
            .faxgate
            .as_ref()
            .map_or("-".to_owned(), |r| format!("{:.1}", r.duration_s));
        let theirs = outcome
            .spandsp
            .as_ref()
            .map_or("-".to_owned(), |r| format!("{:.1}", r.duration_s));
        let _ = writeln!(
            table,
            "{:<44} {ours:>8} {theirs:>8}  {}",
            case.name, outcome.note
        );
    }
    let _ = writeln!(
        table,
        "{} calls side by side in {:.1} s",
        CASES.len(),
        started.elapsed().as_secs_f64()
    );
    println!("{table}");
    let _ = std::fs::write(
        common::spandsp::peer_dir().join("faxgate-spandsp.txt"),
        &table,
    );

    let mut report = String::new();
    for (case, outcome) in CASES.iter().zip(&outcomes) {
        if outcome.problems.is_empty() {
            continue;
        }
        let _ = writeln!(report, "== {}", case.name);
        for p in &outcome.problems {
            let _ = writeln!(report, "   {p}");
        }
        let _ = writeln!(report, "-- faxgate transcript:\n{}", outcome.faxgate_stderr);
        if let Ok(r) = &outcome.spandsp {
            let _ = writeln!(report, "-- SpanDSP stderr:\n{}", r.stderr);
        }
    }
    assert!(report.is_empty(), "{table}\n{report}");
}
