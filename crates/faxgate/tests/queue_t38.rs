//! The worker's T.38 line driver from the command line: a queued request with several
//! recipients rendered once and faxed over T.38 to `faxgate fax receive`, one recipient
//! filed in a user's inbox by fax ID without a call, an unknown fax ID refused, a line
//! whose far end is down (its port closed: the call is refused at once) and one whose
//! far end never answers, each retried as the policy says and then given up, and a
//! call hung up when its job is cancelled. The lease is short, so it is renewed several
//! times during each call.
//!
//! Calls run in real time over loopback UDP, with a one-page text document so each
//! takes a few seconds.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::scratch::Scratch;
use common::spandsp::free_udp_port_pair;
use serde_json::Value;

struct Store<'a> {
    config: &'a Path,
    data_dir: &'a Path,
}

impl Store<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_faxgate"));
        command
            .args(args)
            .arg("--config")
            .arg(self.config)
            .arg("--data-dir")
            .arg(self.data_dir)
            .env("RUST_LOG", "faxgate=debug")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().expect("running faxgate");
        assert!(
            output.status.success(),
            "faxgate {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let output = self.run(&with_json);
        serde_json::from_slice(&output.stdout).expect("JSON output")
    }

    /// Queues `document` from li to every one of `to`; the jobs' ids.
    fn submit(&self, to: &[&str], document: &str) -> Vec<String> {
        let mut args = vec!["job", "submit", "--user", "li@example.com"];
        for recipient in to {
            args.extend(["--to", recipient]);
        }
        args.push(document);
        self.json(&args)["jobs"]
            .as_array()
            .expect("job ids")
            .iter()
            .map(|id| id.to_string())
            .collect()
    }
}

/// `faxgate fax receive` listening on `listen`, given time to bind before a call comes.
fn receiver(listen: &str, output: &Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_faxgate"))
        .args([
            "fax",
            "receive",
            "--t38-listen",
            listen,
            "--ident",
            "RECEIVER",
        ])
        .args(["--timeout", "120", "-o"])
        .arg(output)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the receiver");
    std::thread::sleep(Duration::from_millis(300));
    child
}

fn received(child: Child) -> Value {
    let output = child.wait_with_output().expect("receiver ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "receiver failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("receiver's JSON")
}

/// Queues `to` for li and works `line` until the queue is idle; the job as shown then,
/// checked to have failed after two dials that each ended with `outcome`.
fn dialled_until_given_up(
    store: &Store<'_>,
    line: &str,
    to: &str,
    document: &str,
    outcome: &str,
) -> Value {
    let job = store.submit(&[to], document).remove(0);
    store.run(&["job", "work", "--line", line, "--until-idle"]);
    let failed = store.json(&["job", "show", &job]);
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["result"]
            .as_str()
            .is_some_and(|r| r.contains("gave up after 2 calls")),
        "{failed}"
    );
    let outcomes: Vec<&str> = failed["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["outcome"].as_str().expect("outcome"))
        .collect();
    assert_eq!(outcomes, [outcome, outcome], "{failed}");
    failed
}

#[test]
fn worker_faxes_over_t38_files_fax_ids_and_retries_a_dead_line() {
    let scratch = Scratch::new("queue-t38");
    let (peer, dead) = free_udp_port_pair();
    // A far end that takes every datagram and answers none: its port is open, so
    // nothing bounces and only the call timeout ends a call to it.
    let mute = UdpSocket::bind("127.0.0.1:0").expect("binding the mute far end");
    let mute_port = mute.local_addr().expect("its address").port();
    let config = scratch.path("faxgate.toml");
    std::fs::write(
        &config,
        format!(
            "[retry]\nmax_dials = 2\n\n[retry.no_answer]\nretry = true\ndelay_seconds = 0\n\n\
             [retry.line_down]\nretry = true\ndelay_seconds = 0\n\n\
             [scheduler]\nlease_seconds = 3\n\n\
             [[line]]\nname = \"gateway\"\nremote = \"127.0.0.1:{peer}\"\n\
             local_bind = \"127.0.0.1:0\"\nident = \"FAXGATE\"\ncall_timeout_seconds = 120\n\n\
             [[line]]\nname = \"dead\"\nremote = \"127.0.0.1:{dead}\"\n\
             local_bind = \"127.0.0.1:0\"\ncall_timeout_seconds = 2\n\n\
             [[line]]\nname = \"mute\"\nremote = \"127.0.0.1:{mute_port}\"\n\
             local_bind = \"127.0.0.1:0\"\ncall_timeout_seconds = 2\n\n\
             [[line]]\nname = \"silent\"\nremote = \"127.0.0.1:{mute_port}\"\n\
             local_bind = \"127.0.0.1:0\"\ncall_timeout_seconds = 120\n"
        ),
    )
    .expect("writing the config");
    let data_dir = scratch.path("data");
    let store = Store {
        config: &config,
        data_dir: &data_dir,
    };
    store.run(&[
        "user",
        "add",
        "--name",
        "Li Wei",
        "--email",
        "li@example.com",
    ]);
    store.run(&[
        "user",
        "add",
        "--name",
        "Zhang Min",
        "--email",
        "zhang@example.com",
        "--fax-id",
        "AF90000098",
    ]);
    let document = scratch.path("letter.txt");
    std::fs::write(&document, "Quarterly figures attached.\n").expect("writing a document");
    let document = document.display().to_string();
    let jobs = store.submit(
        &["83235170", "83235171", "AF90000098", "AF12345678"],
        &document,
    );
    assert_eq!(jobs.len(), 4);

    // One channel: each run claims the next job and calls a fresh receiver.
    let listen = format!("127.0.0.1:{peer}");
    let mut logs = Vec::new();
    for (i, job) in jobs[..2].iter().enumerate() {
        let output = scratch.path(&format!("received-{i}.tif"));
        let peer = receiver(&listen, &output);
        let worker = store.run(&["job", "work", "--line", "gateway", "--once"]);
        let report = received(peer);
        assert_eq!(report["result"], "ok", "{report}");
        assert_eq!(report["pages"], 1, "{report}");
        assert_eq!(report["remote_ident"], "FAXGATE", "{report}");
        let shown = store.json(&["job", "show", job]);
        assert_eq!(shown["state"], "sent", "{shown}");
        let attempt = &shown["attempts"][0];
        assert_eq!(attempt["line"], "gateway");
        assert_eq!(attempt["outcome"], "sent", "{shown}");
        assert_eq!(attempt["pages_sent"], 1, "{shown}");
        assert_eq!(attempt["pages_total"], 1, "{shown}");
        assert_eq!(attempt["bit_rate"], 14400, "{shown}");
        assert_eq!(attempt["ecm"], true, "{shown}");
        assert_eq!(attempt["remote_ident"], "RECEIVER", "{shown}");
        assert_eq!(attempt["t30_status"], 0, "{shown}");
        assert_eq!(shown["total_pages"], 1);
        logs.push(String::from_utf8_lossy(&worker.stderr).into_owned());
    }
    // Rendered by the first recipient's job, reused by the second; spans name the job
    // and the call.
    assert!(logs[0].contains("documents rendered"), "{}", logs[0]);
    assert!(!logs[1].contains("documents rendered"), "{}", logs[1]);
    assert!(logs[1].contains("reusing the rendered fax"), "{}", logs[1]);
    assert!(
        logs[0].contains(&format!("job_id={}", jobs[0])),
        "{}",
        logs[0]
    );
    assert!(logs[0].contains("call_id="), "{}", logs[0]);
    assert!(!logs[0].contains("83235170"), "numbers stay out of the log");

    // The fax ID of a user goes to their inbox without a call; an unknown one fails.
    store.run(&["job", "work", "--line", "gateway", "--until-idle"]);
    let filed = store.json(&["job", "show", &jobs[2]]);
    assert_eq!(filed["state"], "sent", "{filed}");
    assert!(
        filed["result"]
            .as_str()
            .is_some_and(|r| r.contains("inbox of AF90000098")),
        "{filed}"
    );
    let inbox = store.json(&["inbox", "--user", "zhang@example.com"]);
    assert_eq!(inbox.as_array().map(Vec::len), Some(1), "{inbox}");
    assert_eq!(inbox[0]["pages"], 1);
    assert_eq!(inbox[0]["sender"], "li@example.com");
    let file = inbox[0]["file"].as_str().expect("inbox file");
    assert!(
        std::fs::read(file).is_ok_and(|tiff| tiff.starts_with(b"II") || tiff.starts_with(b"MM"))
    );
    let unknown = store.json(&["job", "show", &jobs[3]]);
    assert_eq!(unknown["state"], "failed", "{unknown}");
    assert!(
        unknown["result"]
            .as_str()
            .is_some_and(|r| r.contains("no user of this server has the fax ID AF12345678")),
        "{unknown}"
    );

    // A document that cannot be made into fax pages fails the job without a call.
    let garbage = scratch.path("garbage.bin");
    let mut state = 0x2545_f491_u32;
    let bytes: Vec<u8> = (0..3000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            state.to_be_bytes()[0]
        })
        .collect();
    std::fs::write(&garbage, bytes).expect("writing a document");
    let job = store
        .submit(&["83235175"], &garbage.display().to_string())
        .remove(0);
    store.run(&["job", "work", "--line", "gateway", "--until-idle"]);
    let refused = store.json(&["job", "show", &job]);
    assert_eq!(refused["state"], "failed", "{refused}");
    assert_eq!(refused["attempts"][0]["outcome"], "document", "{refused}");
    assert!(
        refused["result"]
            .as_str()
            .is_some_and(|r| r.contains("could not be made into fax pages")),
        "{refused}"
    );

    // An unknown fax ID with a number is dialled. Nobody listens behind the dead
    // line: the call is refused at once, the line counts as down, it is called again
    // at once (the policy's delay here), then given up after max_dials.
    let failed = dialled_until_given_up(
        &store,
        "dead",
        "83235172|AF12345679",
        &document,
        "line-down",
    );
    assert!(
        failed["attempts"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("refused the call")),
        "{failed}"
    );
    // Behind the mute line something takes the call and never answers: no answer
    // after the call timeout, called again, given up.
    dialled_until_given_up(&store, "mute", "83235174", &document, "no-answer");

    // A job cancelled during its call: the worker learns it when it next renews the
    // lease and hangs up.
    let job = store.submit(&["83235173"], &document).remove(0);
    let worker = store
        .command(&["job", "work", "--line", "silent", "--until-idle"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting a worker");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while store.json(&["job", "show", &job])["state"] != "active" {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    store.run(&["job", "cancel", &job]);
    let status = worker.wait_with_output().expect("worker ran").status;
    assert!(status.success());
    let cancelled = store.json(&["job", "show", &job]);
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    assert_eq!(
        cancelled["attempts"][0]["outcome"], "interrupted",
        "{cancelled}"
    );
    assert!(
        cancelled["result"]
            .as_str()
            .is_some_and(|r| r.contains("hung up")),
        "{cancelled}"
    );
}
