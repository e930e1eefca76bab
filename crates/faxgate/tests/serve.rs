//! `faxgate serve` as an operator runs it: a temporary data directory, free ports, a
//! virtual line. A mail submitted to the SMTP intake (by swaks) becomes a fax that the
//! worker sends over T.30 and T.38 to the virtual line's terminal, which files it;
//! `faxgate send --wait` does the same from the command line; the admin endpoint and
//! `faxgate status` report it; SIGTERM stops the daemon cleanly. Virtual-line calls
//! run unpaced, so the whole test takes seconds. Waits are bounded by counting polls,
//! never asserted on.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::{add_user, faxgate, faxgate_json, page_count};
use common::daemon::{Daemon, free_tcp_port, http_get, received_tiffs, wait_for};
use common::scratch::Scratch;
use serde_json::Value;

/// What the virtual line `box` filed under `data_dir`.
fn filed_by_box(data_dir: &Path) -> Vec<PathBuf> {
    received_tiffs(&data_dir.join("virtual/box"))
}

#[test]
fn serve_takes_mail_faxes_it_to_the_virtual_line_and_stops_on_sigterm() {
    let scratch = Scratch::new("serve");
    let data_dir = scratch.path("data");
    let smtp_port = free_tcp_port();
    let admin_port = free_tcp_port();
    let config = scratch.path("faxgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\ndata_dir = {data_dir:?}\n\n[smtpd]\nenabled = true\nlisten = \
             \"127.0.0.1:{smtp_port}\"\n\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
             status_interval_seconds = 1\n\n[serve]\n\
             shutdown_grace_seconds = 5\n\n[[line]]\nname = \"box\"\nkind = \"virtual\"\n"
        ),
    )
    .expect("writing the config");
    let config = config.to_str().expect("utf-8 path").to_owned();
    add_user(&config, "Alice", "alice@example.org", &[]);

    let mut daemon = Daemon::start(&config, scratch.path("serve.log"));
    wait_for(150, "the admin endpoint answering", || {
        http_get(admin_port, "/status").is_ok()
    });

    // A mail to the SMTP intake: one number in the Subject, a text attachment.
    let text = scratch.path("note.txt");
    std::fs::write(&text, "A fax from the SMTP intake.\nSecond line.\n").expect("attachment");
    let swaks = Command::new("swaks")
        .args(["--server", "127.0.0.1", "--port", &smtp_port.to_string()])
        .args(["--ehlo", "client.test", "--timeout", "20"])
        .args([
            "--from",
            "alice@example.org",
            "--to",
            "fax@fax.faxgate.test",
        ])
        .args(["--header", "Subject: 755-83235170/Company"])
        .args(["--attach-type", "text/plain", "--attach"])
        .arg(format!("@{}", text.display()))
        .output()
        .expect("swaks runs (scripts/test installs it)");
    assert!(
        swaks.status.success(),
        "swaks: {}",
        String::from_utf8_lossy(&swaks.stdout)
    );

    let mut jobs = Value::Null;
    wait_for(300, "the mailed fax sent", || {
        jobs = faxgate_json(&["job", "list", "--json", "--config", &config]);
        jobs.as_array()
            .is_some_and(|jobs| jobs.len() == 1 && jobs[0]["state"] == "sent")
    });
    let job = &jobs[0];
    assert_eq!(job["destination"], "86-755-83235170/Company", "{job}");
    let tiffs = filed_by_box(&data_dir);
    assert_eq!(tiffs.len(), 1, "{}", daemon.log());
    assert_eq!(page_count(&tiffs[0]), 1);
    let record = std::fs::read_to_string(data_dir.join("virtual/box/received.jsonl"))
        .expect("the virtual line's record");
    let record: Value = serde_json::from_str(record.trim()).expect("one JSON line");
    assert_eq!(record["pages"], 1);
    assert_eq!(record["complete"], true);

    // The CLI way in: two documents, two recipients, followed to the end.
    let other = scratch.path("other.txt");
    std::fs::write(&other, "A second document.\n").expect("document");
    let sent = faxgate(&[
        "send",
        "--config",
        &config,
        "--from",
        "alice@example.org",
        "--to",
        "0-0-123/Front desk; 83235171",
        "--wait",
        "--wait-timeout",
        "120",
        text.to_str().expect("utf-8 path"),
        other.to_str().expect("utf-8 path"),
    ]);
    let table = String::from_utf8_lossy(&sent.stdout);
    assert!(
        sent.status.success(),
        "{table}\n{}\n{}",
        String::from_utf8_lossy(&sent.stderr),
        daemon.log()
    );
    assert!(table.starts_with("number"), "{table}");
    assert_eq!(
        table.lines().filter(|l| l.contains(" sent ")).count(),
        2,
        "{table}"
    );
    assert!(table.contains("Front desk"), "{table}");
    assert!(table.contains("2/2"), "{table}");
    let tiffs = filed_by_box(&data_dir);
    assert_eq!(tiffs.len(), 3);
    for tiff in &tiffs[1..] {
        assert_eq!(page_count(tiff), 2, "{}", tiff.display());
    }

    // A sender who is not a user is refused before anything is queued.
    let refused = faxgate(&[
        "send",
        "--config",
        &config,
        "--from",
        "mallory@example.org",
        "--to",
        "83235170",
        text.to_str().expect("utf-8 path"),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no user has this address"));

    let (status, body) = http_get(admin_port, "/status").expect("GET /status");
    assert!(status.contains("200"), "{status}");
    let snapshot: Value = serde_json::from_str(&body).expect("status JSON");
    assert_eq!(snapshot["state"], "running");
    assert_eq!(snapshot["deliveries"]["sent"], 3, "{snapshot:#}");
    assert_eq!(snapshot["pages_sent"], 5, "{snapshot:#}");
    assert_eq!(snapshot["lines"][0]["name"], "box");
    assert_eq!(snapshot["lines"][0]["calls"], 3);
    assert_eq!(snapshot["queue"]["queued"], 0);
    assert_eq!(snapshot["intakes"]["smtp"]["messages_accepted"], 1);
    // No [smtp]: receipts are queued, not sent.
    assert_eq!(snapshot["receipts"]["unsent"], true, "{snapshot:#}");
    let (status, metrics) = http_get(admin_port, "/metrics").expect("GET /metrics");
    assert!(status.contains("200"), "{status}");
    for expected in [
        "faxgate_requests_total{source=\"email\"} 1",
        "faxgate_requests_total{source=\"cli\"} 1",
        "faxgate_messages_total{intake=\"smtp\",verdict=\"accepted\"} 1",
        "faxgate_deliveries_total{result=\"sent\"} 3",
        "faxgate_pages_sent_total 5",
        "faxgate_line_busy{line=\"box\"} 0",
        "faxgate_queue_depth{state=\"queued\"} 0",
        "faxgate_conversion_seconds_count 2",
    ] {
        assert!(metrics.contains(expected), "{expected}:\n{metrics}");
    }
    let (status, _) = http_get(admin_port, "/nothing").expect("GET /nothing");
    assert!(status.contains("404"), "{status}");

    // faxgate status reads the file the daemon writes.
    wait_for(50, "the status file showing the faxes", || {
        faxgate_json(&["status", "--config", &config, "--json"])["deliveries"]["sent"] == 3
    });
    let shown = faxgate(&["status", "--config", &config]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("line box (virtual)"), "{shown}");

    let exit = daemon.terminate();
    assert!(exit.success(), "{exit}\n{}", daemon.log());
    let last = faxgate_json(&["status", "--config", &config, "--json"]);
    assert_eq!(last["state"], "stopped");
    let log = daemon.log();
    assert!(log.contains("faxgate stopped"), "{log}");
    // Logs carry a span per call naming the request, the job and the call.
    assert!(
        log.contains("call{request=1 job_id=1 call_id=1 line=box}"),
        "{log}"
    );
}

#[test]
fn a_call_in_progress_at_shutdown_is_handed_back_and_sent_after_a_restart() {
    let scratch = Scratch::new("serve-handback");
    let data_dir = scratch.path("data");
    let admin_port = free_tcp_port();
    // A line paced like a phone line, so the call is still running at SIGTERM; no grace.
    let config_text = |realtime: bool| {
        format!(
            "[store]\ndata_dir = {data_dir:?}\n\n[admin]\nlisten = \
             \"127.0.0.1:{admin_port}\"\nstatus_interval_seconds = 1\n\n[serve]\n\
             shutdown_grace_seconds = 0\n\n[[line]]\nname = \"box\"\nkind = \"virtual\"\n\
             realtime = {realtime}\n"
        )
    };
    let config = scratch.path("faxgate.toml");
    std::fs::write(&config, config_text(true)).expect("writing the config");
    let config = config.to_str().expect("utf-8 path").to_owned();
    add_user(&config, "Alice", "alice@example.org", &[]);
    let mut daemon = Daemon::start(&config, scratch.path("serve1.log"));
    let text = scratch.path("note.txt");
    std::fs::write(&text, "Handed back and sent again.\n").expect("document");
    let queued = faxgate(&[
        "send",
        "--config",
        &config,
        "--from",
        "alice@example.org",
        "--to",
        "83235170",
        text.to_str().expect("utf-8 path"),
    ]);
    assert!(
        queued.status.success(),
        "{}",
        String::from_utf8_lossy(&queued.stderr)
    );
    wait_for(300, "the call under way", || {
        daemon.log().contains("documents rendered")
    });
    let exit = daemon.terminate();
    assert!(exit.success(), "{exit}\n{}", daemon.log());
    let log = daemon.log();
    assert!(log.contains("job handed back"), "{log}");
    let jobs = faxgate_json(&["job", "list", "--json", "--config", &config]);
    assert_eq!(jobs[0]["state"], "queued", "{jobs}");
    assert_eq!(
        jobs[0]["tries"], 0,
        "a hand-back is not a failed try: {jobs}"
    );
    drop(daemon);

    // Restarted (unpaced now), the job goes out once.
    std::fs::write(&config, config_text(false)).expect("rewriting the config");
    let mut daemon = Daemon::start(&config, scratch.path("serve2.log"));
    wait_for(300, "the handed-back fax sent", || {
        faxgate_json(&["job", "list", "--json", "--config", &config])[0]["state"] == "sent"
    });
    assert_eq!(filed_by_box(&data_dir).len(), 1, "{}", daemon.log());
    let exit = daemon.terminate();
    assert!(exit.success(), "{exit}\n{}", daemon.log());
}

#[test]
fn the_demo_faxes_its_mail_to_the_virtual_line() {
    let scratch = Scratch::new("demo");
    let dir = scratch.path("run");
    let demo = faxgate(&["demo", "--dir", dir.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    // A PDF page and a text page, sent and received; the receipt is in Chinese.
    assert!(stdout.contains("sent 2/2 pages"), "{stdout}");
    assert!(stdout.contains("发送成功"), "{stdout}");
    assert!(
        stdout.contains("faxgate serve stopped (SIGTERM)"),
        "{stdout}"
    );
    assert_eq!(page_count(&dir.join("sent.tif")), 2);
    let received = received_tiffs(&dir.join("data/virtual/virtual"));
    assert_eq!(received.len(), 1, "{stdout}");
    assert_eq!(page_count(&received[0]), 2);
}
