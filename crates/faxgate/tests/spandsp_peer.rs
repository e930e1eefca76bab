//! SpanDSP sending to SpanDSP over loopback UDP, two processes of the test peer
//! (`tests/spandsp/spandsp_peer.c`): proves the peer (its UDPTL framing, redundancy and
//! recovery, simulated loss, result line) before it is pointed at our engine, and
//! measures the wall time of reference calls, the figure our engine is held to.
//!
//! T.38 calls run in real time, so the cases run side by side, each on its own ports.
//! The timing table is printed (see it with `--nocapture`) and written to
//! `target/spandsp-peer/spandsp-to-spandsp.txt`.
//!
//! Needs `libspandsp-dev`, which `scripts/test` installs; without it the tests fail.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::time::{Duration, Instant};

use common::pages::{differing_rows, make_fax_tiff};
use common::parallel::side_by_side;
use common::scratch::Scratch;
use common::spandsp::{
    Compression, PeerArgs, PeerResult, Role, free_udp_port_pair, peer_binary, peer_dir, spawn_peer,
    wait_result,
};

const ONE_PAGE: &[&str] = &["testdata/ccitt/ccitt1.pbm"];
const THREE_PAGES: &[&str] = &[
    "testdata/ccitt/ccitt1.pbm",
    "testdata/ccitt/ccitt2.pbm",
    "testdata/ccitt/ccitt3.pbm",
];

const SENDER_IDENT: &str = "+49 30 1111";
const RECEIVER_IDENT: &str = "+49 30 2222";

/// Each call runs in real time; this bounds one that hangs.
const PEER_TIMEOUT_S: u32 = 400;

struct Case {
    name: &'static str,
    pages: &'static [&'static str],
    ecm: bool,
    /// The only coding both ends allow, so it is the one the call must use.
    compression: Compression,
    /// Datagrams dropped in each direction.
    loss_percent: f64,
    t38_version: u8,
}

const CASES: [Case; 8] = [
    Case {
        name: "no ECM, MH, 1 page",
        pages: ONE_PAGE,
        ecm: false,
        compression: Compression::Mh,
        loss_percent: 0.0,
        t38_version: 0,
    },
    Case {
        name: "no ECM, MR, 3 pages",
        pages: THREE_PAGES,
        ecm: false,
        compression: Compression::Mr,
        loss_percent: 0.0,
        t38_version: 0,
    },
    Case {
        name: "ECM, MR, 1 page",
        pages: ONE_PAGE,
        ecm: true,
        compression: Compression::Mr,
        loss_percent: 0.0,
        t38_version: 2,
    },
    Case {
        name: "ECM, MMR, 1 page",
        pages: ONE_PAGE,
        ecm: true,
        compression: Compression::Mmr,
        loss_percent: 0.0,
        t38_version: 0,
    },
    Case {
        name: "ECM, MMR, 3 pages",
        pages: THREE_PAGES,
        ecm: true,
        compression: Compression::Mmr,
        loss_percent: 0.0,
        t38_version: 3,
    },
    Case {
        name: "no ECM, MR, 1 page, 5% loss",
        pages: ONE_PAGE,
        ecm: false,
        compression: Compression::Mr,
        loss_percent: 5.0,
        t38_version: 0,
    },
    Case {
        name: "ECM, MH, 1 page, 5% loss",
        pages: ONE_PAGE,
        ecm: true,
        compression: Compression::Mh,
        loss_percent: 5.0,
        t38_version: 0,
    },
    Case {
        name: "ECM, MMR, 3 pages, 5% loss",
        pages: THREE_PAGES,
        ecm: true,
        compression: Compression::Mmr,
        loss_percent: 5.0,
        t38_version: 0,
    },
];

/// UDPTL redundancy depth of every case.
const REDUNDANCY: u8 = 2;

struct Outcome {
    sender: Result<PeerResult, String>,
    receiver: Result<PeerResult, String>,
    wall: Duration,
    problems: Vec<String>,
    /// Tolerated damage, shown in the table.
    note: String,
}

fn run_case(index: usize, case: &Case, scratch: &Scratch) -> Outcome {
    let input = scratch.path(&format!("case{index}-sent.tif"));
    let output = scratch.path(&format!("case{index}-received.tif"));
    make_fax_tiff(case.pages, case.compression.flag(), &input);

    let (sender_port, receiver_port) = free_udp_port_pair();
    let configure = |args: &mut PeerArgs, ident: &str, seed: u32| {
        args.ecm = case.ecm;
        args.ident = Some(ident.to_owned());
        args.compressions = vec![case.compression];
        args.redundancy = Some(REDUNDANCY);
        args.loss_percent = case.loss_percent;
        args.seed = seed;
        args.timeout_s = PEER_TIMEOUT_S;
        args.t38_version = case.t38_version;
    };
    let mut receiver_args = PeerArgs::new(receiver_port, sender_port, &output);
    configure(&mut receiver_args, RECEIVER_IDENT, 1000 + index as u32);
    let mut sender_args = PeerArgs::new(sender_port, receiver_port, &input);
    configure(&mut sender_args, SENDER_IDENT, 1 + index as u32);

    let started = Instant::now();
    let receiver = spawn_peer(Role::Receive, &receiver_args);
    let sender = spawn_peer(Role::Send, &sender_args);
    let sender = wait_result(sender);
    let receiver = wait_result(receiver);
    let wall = started.elapsed();

    let mut problems = Vec::new();
    let pages = case.pages.len() as u32;
    for (side, result, far_ident) in [
        ("sender", &sender, RECEIVER_IDENT),
        ("receiver", &receiver, SENDER_IDENT),
    ] {
        let result = match result {
            Ok(result) => result,
            Err(e) => {
                problems.push(format!("{side}: {e}"));
                continue;
            }
        };
        if !result.succeeded() {
            problems.push(format!(
                "{side}: {} (T.30 status {}: {}), exit code {:?}",
                result.result, result.t30_status, result.status_text, result.exit_code
            ));
        }
        if result.pages != pages {
            problems.push(format!("{side}: {} pages, not {pages}", result.pages));
        }
        if result.ecm != case.ecm {
            problems.push(format!("{side}: ECM {}, not {}", result.ecm, case.ecm));
        }
        if result.line_compression() != Some(case.compression) {
            problems.push(format!(
                "{side}: coded {:?} on the line, not {:?}",
                result.compression, case.compression
            ));
        }
        if result.remote_ident != far_ident {
            problems.push(format!(
                "{side}: far end identified as {:?}, not {far_ident:?}",
                result.remote_ident
            ));
        }
        match result.udptl_stats() {
            None => problems.push(format!("{side}: no UDPTL summary on stderr")),
            Some(stats) if stats.malformed > 0 => {
                problems.push(format!("{side}: {} malformed datagrams", stats.malformed));
            }
            Some(_) => {}
        }
    }
    // The image data flows from the sender, so that is where loss has to be made up for
    // (the few packets going back are mostly covered by SpanDSP's repeats).
    if case.loss_percent > 0.0 {
        let sent = sender.as_ref().ok().and_then(PeerResult::udptl_stats);
        let received = receiver.as_ref().ok().and_then(PeerResult::udptl_stats);
        if let (Some(sent), Some(received)) = (sent, received)
            && (sent.dropped == 0 || received.recovered == 0)
        {
            problems.push(format!(
                "a lossy link should drop packets and the redundancy recover them: \
                 sender {sent:?}, receiver {received:?}"
            ));
        }
    }
    let mut note = String::new();
    match differing_rows(&input, &output) {
        Err(e) => problems.push(format!("received pages differ from the sent ones: {e}")),
        Ok(pages) if pages.iter().all(Vec::is_empty) => {}
        Ok(pages) => {
            let rows: usize = pages.iter().map(Vec::len).sum();
            // Without ECM nothing repairs image data that the redundancy could not bring
            // back (three datagrams lost in a row, at redundancy 2): damaged rows are then
            // what a real fax would show, not a fault of the peer. Anything else must
            // arrive intact.
            let unrecovered = receiver
                .as_ref()
                .ok()
                .and_then(PeerResult::udptl_stats)
                .map_or(0, |s| s.unrecovered);
            if case.ecm || unrecovered == 0 {
                problems.push(format!(
                    "{rows} received rows differ from the sent ones (rows per page: {:?})",
                    pages.iter().map(Vec::len).collect::<Vec<_>>()
                ));
            } else {
                note = format!("{rows} rows damaged by {unrecovered} unrecovered packets");
            }
        }
    }
    Outcome {
        sender,
        receiver,
        wall,
        problems,
        note,
    }
}

fn seconds(result: &Result<PeerResult, String>) -> String {
    match result {
        Ok(r) => format!("{:.1}", r.duration_s),
        Err(_) => "-".to_owned(),
    }
}

#[test]
fn spandsp_sends_to_spandsp_in_every_mode() {
    // Build before the threads start, so a missing library is one clear failure.
    peer_binary();
    let scratch = Scratch::new("spandsp-peer");
    let started = Instant::now();
    let outcomes: Vec<Outcome> =
        side_by_side(&CASES, |index, case| run_case(index, case, &scratch));
    let matrix_wall = started.elapsed();

    let mut table = String::from(
        "SpanDSP 0.0.6 -> SpanDSP 0.0.6, T.38 over loopback UDPTL, real time \
         (redundancy 2; seconds)\n",
    );
    let _ = writeln!(
        table,
        "{:<30} {:>5} {:>8} {:>6} {:>7} {:>9} {:>6}",
        "case", "pages", "coding", "rate", "sender", "receiver", "wall",
    );
    for (case, outcome) in CASES.iter().zip(&outcomes) {
        let (coding, rate) = match &outcome.sender {
            Ok(r) => (r.compression.clone(), r.bit_rate.to_string()),
            Err(_) => ("-".to_owned(), "-".to_owned()),
        };
        let row = format!(
            "{:<30} {:>5} {:>8} {:>6} {:>7} {:>9} {:>6.1}  {}",
            case.name,
            case.pages.len(),
            coding,
            rate,
            seconds(&outcome.sender),
            seconds(&outcome.receiver),
            outcome.wall.as_secs_f64(),
            outcome.note
        );
        let _ = writeln!(table, "{}", row.trim_end());
    }
    let _ = writeln!(
        table,
        "{} calls side by side in {:.1} s",
        CASES.len(),
        matrix_wall.as_secs_f64()
    );
    println!("{table}");
    let _ = fs::write(peer_dir().join("spandsp-to-spandsp.txt"), &table);

    let mut report = String::new();
    for (case, outcome) in CASES.iter().zip(&outcomes) {
        if outcome.problems.is_empty() {
            continue;
        }
        let _ = writeln!(report, "== {}", case.name);
        for problem in &outcome.problems {
            let _ = writeln!(report, "   {problem}");
        }
        for (side, result) in [("sender", &outcome.sender), ("receiver", &outcome.receiver)] {
            if let Ok(result) = result {
                let _ = writeln!(report, "-- {side} stderr:\n{}", result.stderr);
            }
        }
    }
    assert!(
        report.is_empty(),
        "SpanDSP to SpanDSP failed (FAXGATE_SPANDSP_TRACE=5 adds SpanDSP's log):\n{report}"
    );
}

#[test]
fn peer_without_a_caller_gives_up_with_a_result_line() {
    let scratch = Scratch::new("spandsp-peer-timeout");
    let (port, unused) = free_udp_port_pair();
    let mut args = PeerArgs::new(port, unused, scratch.path("never.tif"));
    args.timeout_s = 2;
    let result = wait_result(spawn_peer(Role::Receive, &args)).expect("a result line");
    assert_eq!(result.result, "failed");
    assert_eq!(result.exit_code, Some(1));
    assert_eq!(result.pages, 0);
    assert!(
        result.status_text.starts_with("timed out"),
        "status: {}",
        result.status_text
    );
}

#[test]
fn peer_refuses_incomplete_command_lines() {
    let scratch = Scratch::new("spandsp-peer-usage");
    let (port, other) = free_udp_port_pair();
    let mut args = PeerArgs::new(port, other, scratch.path("in.tif"));
    // A file that is not a TIFF: the sender refuses it before the call starts.
    fs::write(scratch.path("in.tif"), b"not a tiff").expect("writing");
    let error = wait_result(spawn_peer(Role::Send, &args)).expect_err("no result line");
    assert!(error.contains("cannot read"), "{error}");

    args.extra = vec!["--redundancy".to_owned(), "99".to_owned()];
    let error = wait_result(spawn_peer(Role::Receive, &args)).expect_err("no result line");
    assert!(error.contains("--redundancy"), "{error}");
}
