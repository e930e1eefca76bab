//! The job queue from the command line: users, jobs and the outbox as an operator uses
//! them, a worker killed with SIGKILL in the middle of a call (and after the last page
//! was confirmed), and two workers sharing one PostgreSQL queue while one of them is
//! killed.
//!
//! Workers use the `record` line driver, which dials nobody and appends each call to a
//! file: these tests are about the scheduler, not the fax.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::postgres;
use common::scratch::Scratch;
use serde_json::Value;

/// Where a test's store is: a data directory (SQLite), or that plus a PostgreSQL URL.
struct Target {
    data_dir: PathBuf,
    url: Option<String>,
}

impl Target {
    fn args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_owned(), self.data_dir.display().to_string()];
        if let Some(url) = &self.url {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_faxgate"));
        command.args(args).args(self.args());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .expect("running faxgate")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "faxgate {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        serde_json::from_str(&self.ok(&with_json)).expect("JSON output")
    }

    fn spawn_worker(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting a worker")
    }
}

fn sqlite_target(scratch: &Scratch) -> Target {
    Target {
        data_dir: scratch.path("data"),
        url: None,
    }
}

fn postgres_target(scratch: &Scratch, name: &str) -> Target {
    Target {
        data_dir: scratch.path("data"),
        url: Some(postgres::fresh_database(name)),
    }
}

/// The record driver's events, as (event, job, worker).
fn events(file: &Path) -> Vec<(String, i64, String)> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("a JSON line");
            (
                value["event"].as_str().expect("event").to_owned(),
                value["job"].as_i64().expect("job"),
                value["worker"].as_str().expect("worker").to_owned(),
            )
        })
        .collect()
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_success(mut child: Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a worker") {
            assert!(status.success(), "{what} failed: {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn add_sender(target: &Target) {
    target.ok(&[
        "user",
        "add",
        "--name",
        "Li Wei",
        "--email",
        "li@example.com",
    ]);
}

fn submit(target: &Target, scratch: &Scratch, numbers: &[String]) -> Vec<i64> {
    let document = scratch.path("doc.txt");
    std::fs::write(&document, "page").expect("writing a document");
    let mut args = vec!["job", "submit", "--user", "li@example.com", "--pages", "3"];
    for number in numbers {
        args.extend(["--to", number.as_str()]);
    }
    let document = document.display().to_string();
    args.push(&document);
    let submitted = target.json(&args);
    submitted["jobs"]
        .as_array()
        .expect("job ids")
        .iter()
        .map(|id| id.as_i64().expect("id"))
        .collect()
}

#[test]
fn users_jobs_and_outbox_from_the_command_line() {
    let scratch = Scratch::new("queue-cli");
    let target = sqlite_target(&scratch);

    let li = target.json(&[
        "user",
        "add",
        "--name",
        "Li Wei",
        "--email",
        "Li@Example.com",
        "--email",
        "wei@example.com",
        "--permissions",
        "email,web,admin",
        "--locale",
        "en",
    ]);
    assert_eq!(li["fax_id"], "AF00000001");
    assert_eq!(li["emails"][0], "li@example.com");
    assert_eq!(li["pin"], false);
    // The database was created on first start, in the data directory.
    assert!(target.data_dir.join("faxgate.db").exists());

    let duplicate = target.run(&["user", "add", "--name", "X", "--email", "wei@example.com"]);
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already belongs"));

    let mut set = target
        .command(&[
            "user",
            "set",
            "AF00000001",
            "--pin-stdin",
            "--max-destination",
            "international",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting faxgate");
    {
        use std::io::Write;
        let mut stdin = set.stdin.take().expect("stdin");
        stdin.write_all(b"4711\n").expect("writing the PIN");
    }
    let output = set.wait_with_output().expect("user set");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let changed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(changed["pin"], true);
    assert_eq!(changed["max_destination"], "international");

    let shown = target.json(&["user", "show", "wei@example.com"]);
    assert_eq!(shown["id"], 1);
    let listed = target.json(&["user", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    let jobs = submit(
        &target,
        &scratch,
        &["+861012345678".to_owned(), "+861087654321".to_owned()],
    );
    assert_eq!(jobs, [1, 2]);
    let cancelled = target.json(&["job", "cancel", "2"]);
    assert_eq!(cancelled["state"], "cancelled");
    let record = scratch.path("calls.jsonl");
    let record_arg = record.display().to_string();
    target.ok(&[
        "job",
        "work",
        "--line",
        "sip",
        "--once",
        "--record-file",
        &record_arg,
        "--outcome",
        "busy",
    ]);
    let busy = target.json(&["job", "show", "1"]);
    assert_eq!(busy["state"], "queued");
    assert_eq!(busy["attempts"][0]["outcome"], "busy");
    assert_eq!(busy["request"]["documents"][0]["name"], "doc.txt");
    // Busy waits three minutes; retry makes it due now.
    target.ok(&[
        "job",
        "work",
        "--line",
        "sip",
        "--once",
        "--record-file",
        &record_arg,
    ]);
    assert_eq!(events(&record).len(), 2);
    target.ok(&["job", "retry", "1"]);
    target.ok(&[
        "job",
        "work",
        "--line",
        "sip",
        "--once",
        "--record-file",
        &record_arg,
    ]);
    let sent = target.json(&["job", "show", "1"]);
    assert_eq!(sent["state"], "sent");
    assert_eq!(sent["attempts"].as_array().map(Vec::len), Some(2));

    let queued = target.json(&["job", "list", "--state", "queued"]);
    assert_eq!(queued, Value::Array(Vec::new()));
    let outbox = target.json(&["outbox", "--user", "li@example.com"]);
    let states: Vec<&str> = outbox
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states, ["cancelled", "sent"]);
    assert!(
        target
            .ok(&["outbox", "--user", "AF00000001"])
            .contains("+861012345678")
    );

    target.ok(&["user", "remove", "li@example.com"]);
    let gone = target.run(&["user", "show", "li@example.com"]);
    assert!(!gone.status.success());
}

fn killed_worker_loses_nothing(target: &Target, scratch: &Scratch) {
    add_sender(target);
    let jobs = submit(target, scratch, &["+861012345678".to_owned()]);
    let record = scratch.path("calls.jsonl");
    let record_arg = record.display().to_string();
    let worker = target.spawn_worker(&[
        "job",
        "work",
        "--line",
        "sip",
        "--until-idle",
        "--worker",
        "doomed",
        "--record-file",
        &record_arg,
        "--call-ms",
        "600000",
        "--lease-seconds",
        "2",
    ]);
    wait_for("the first call", || !events(&record).is_empty());
    kill_hard(worker);
    let during = target.json(&["job", "show", &jobs[0].to_string()]);
    assert_eq!(during["state"], "active");
    assert!(during["attempts"][0]["ended_at"].is_null());

    // A new worker takes the job over once the dead one's lease has expired.
    let survivor = target.spawn_worker(&[
        "job",
        "work",
        "--line",
        "sip",
        "--until-idle",
        "--worker",
        "survivor",
        "--record-file",
        &record_arg,
        "--lease-seconds",
        "2",
    ]);
    wait_success(survivor, "the second worker");
    let after = target.json(&["job", "show", &jobs[0].to_string()]);
    assert_eq!(after["state"], "sent");
    let attempts = after["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["outcome"], "interrupted");
    assert_eq!(attempts[0]["worker"], "doomed");
    assert_eq!(attempts[1]["outcome"], "sent");
    assert_eq!(attempts[1]["worker"], "survivor");
    let record = events(&record);
    let sent: Vec<_> = record
        .iter()
        .filter(|(event, _, _)| event == "sent")
        .collect();
    assert_eq!(sent.len(), 1);
}

/// The receiver confirmed every page and the worker recorded that, then died before
/// recording the end of the call: the fax went through, and is not sent again.
fn killed_after_the_last_page_is_not_sent_again(target: &Target, scratch: &Scratch) {
    add_sender(target);
    let jobs = submit(target, scratch, &["+861012345678".to_owned()]);
    let job = jobs[0].to_string();
    let record = scratch.path("calls.jsonl");
    let record_arg = record.display().to_string();
    let worker = target.spawn_worker(&[
        "job",
        "work",
        "--line",
        "sip",
        "--until-idle",
        "--worker",
        "doomed",
        "--record-file",
        &record_arg,
        "--page-ms",
        "100",
        "--call-ms",
        "600000",
        "--lease-seconds",
        "2",
    ]);
    wait_for("all three pages confirmed and recorded", || {
        target.json(&["job", "show", &job])["attempts"][0]["pages_sent"] == 3
    });
    kill_hard(worker);
    let survivor = target.spawn_worker(&[
        "job",
        "work",
        "--line",
        "sip",
        "--until-idle",
        "--worker",
        "survivor",
        "--record-file",
        &record_arg,
        "--lease-seconds",
        "2",
    ]);
    wait_success(survivor, "the second worker");
    let after = target.json(&["job", "show", &job]);
    assert_eq!(after["state"], "sent", "{after}");
    assert_eq!(after["resume_page"], 3, "{after}");
    let attempts = after["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "no second call: {after}");
    assert_eq!(attempts[0]["outcome"], "interrupted");
    let dials = events(&record)
        .iter()
        .filter(|(event, _, _)| event == "dial")
        .count();
    assert_eq!(dials, 1);
}

#[test]
fn configured_lines_keep_their_channel_limits_and_priority() {
    let scratch = Scratch::new("queue-lines");
    let target = sqlite_target(&scratch);
    let config = scratch.path("faxgate.toml");
    std::fs::write(
        &config,
        "[[line]]\nname = \"one\"\nremote = \"127.0.0.1:9\"\nchannels = 1\n\n\
         [[line]]\nname = \"two\"\nremote = \"127.0.0.1:9\"\nchannels = 2\n",
    )
    .expect("writing the config");
    let config = config.display().to_string();
    add_sender(&target);
    let numbers: Vec<String> = (0..8).map(|n| format!("+8610555{n:04}")).collect();
    let mut jobs = submit(&target, &scratch, &numbers);
    let document = scratch.path("doc.txt").display().to_string();
    let urgent = target.json(&[
        "job",
        "submit",
        "--user",
        "li@example.com",
        "--to",
        "+861055509999",
        "--priority",
        "5",
        &document,
    ])["jobs"][0]
        .as_i64()
        .expect("job id");
    jobs.push(urgent);
    let record = scratch.path("calls.jsonl");
    let record_arg = record.display().to_string();
    // Every configured line, as dry runs.
    target.ok(&[
        "job",
        "work",
        "--config",
        &config,
        "--until-idle",
        "--record-file",
        &record_arg,
        "--call-ms",
        "200",
    ]);
    let text = std::fs::read_to_string(&record).expect("the record");
    let mut open: HashMap<String, usize> = HashMap::new();
    let mut most: HashMap<String, usize> = HashMap::new();
    let mut dialled = Vec::new();
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).expect("a JSON line");
        let name = event["line"].as_str().expect("line").to_owned();
        let calls = open.entry(name.clone()).or_default();
        match event["event"].as_str().expect("event") {
            "dial" => {
                *calls += 1;
                dialled.push(event["job"].as_i64().expect("job"));
            }
            _ => *calls -= 1,
        }
        let top = most.entry(name).or_default();
        *top = (*top).max(*calls);
    }
    assert_eq!(most.get("one"), Some(&1), "{text}");
    assert_eq!(most.get("two"), Some(&2), "{text}");
    assert_eq!(dialled.first(), Some(&urgent), "the urgent job goes first");
    dialled.sort_unstable();
    jobs.sort_unstable();
    assert_eq!(dialled, jobs, "every job called once");
}

fn kill_hard(mut child: Child) {
    // Child::kill sends SIGKILL: the worker gets no chance to clean up.
    child.kill().expect("killing the worker");
    child.wait().expect("reaping the worker");
}

#[test]
fn worker_killed_mid_call_on_sqlite_loses_nothing() {
    let scratch = Scratch::new("queue-crash-sqlite");
    killed_worker_loses_nothing(&sqlite_target(&scratch), &scratch);
}

#[test]
fn worker_killed_mid_call_on_postgres_loses_nothing() {
    let scratch = Scratch::new("queue-crash-postgres");
    killed_worker_loses_nothing(&postgres_target(&scratch, "crash"), &scratch);
}

#[test]
fn worker_killed_after_the_last_page_on_sqlite_does_not_send_again() {
    let scratch = Scratch::new("queue-last-page-sqlite");
    killed_after_the_last_page_is_not_sent_again(&sqlite_target(&scratch), &scratch);
}

#[test]
fn worker_killed_after_the_last_page_on_postgres_does_not_send_again() {
    let scratch = Scratch::new("queue-last-page-postgres");
    killed_after_the_last_page_is_not_sent_again(&postgres_target(&scratch, "last_page"), &scratch);
}

#[test]
fn two_nodes_on_postgres_one_killed_the_other_finishes_everything_once() {
    let scratch = Scratch::new("queue-two-nodes");
    let target = postgres_target(&scratch, "two_nodes");
    add_sender(&target);
    let numbers: Vec<String> = (0..24).map(|n| format!("+8610555{n:04}")).collect();
    let jobs = submit(&target, &scratch, &numbers);
    let record = scratch.path("calls.jsonl");
    let record_arg = record.display().to_string();
    // Each node has a line of its own (a SIP trunk with 3 channels); the queue is shared.
    let node = |name: &str, line: &str| {
        target.spawn_worker(&[
            "job",
            "work",
            "--line",
            line,
            "--channels",
            "3",
            "--until-idle",
            "--worker",
            name,
            "--record-file",
            &record_arg,
            "--call-ms",
            "300",
            "--lease-seconds",
            "2",
        ])
    };
    let node_a = node("node-a", "trunk-a");
    let node_b = node("node-b", "trunk-b");
    // Kill node A while it has calls running: after it dialled, before it finished
    // everything.
    wait_for("node A's third call", || {
        events(&record)
            .iter()
            .filter(|(event, _, worker)| event == "dial" && worker == "node-a")
            .count()
            >= 3
    });
    kill_hard(node_a);
    wait_success(node_b, "node B");

    let record = events(&record);
    let mut sent: HashMap<i64, usize> = HashMap::new();
    for (event, job, _) in &record {
        if event == "sent" {
            *sent.entry(*job).or_default() += 1;
        }
    }
    for job in &jobs {
        assert_eq!(
            sent.get(job),
            Some(&1),
            "job {job} was not sent exactly once"
        );
        let detail = target.json(&["job", "show", &job.to_string()]);
        assert_eq!(detail["state"], "sent", "job {job}");
        // Never two calls at once for one job: each call ended before the next began.
        let attempts = detail["attempts"].as_array().expect("attempts");
        for pair in attempts.windows(2) {
            let ended = pair[0]["ended_at"].as_str().expect("ended");
            let started = pair[1]["started_at"].as_str().expect("started");
            assert!(ended <= started, "job {job}: overlapping calls");
        }
    }
    let interrupted = jobs
        .iter()
        .filter(|job| {
            let detail = target.json(&["job", "show", &job.to_string()]);
            detail["attempts"][0]["outcome"] == "interrupted"
                && detail["attempts"][0]["worker"] == "node-a"
        })
        .count();
    assert!(interrupted >= 1, "node A was killed with no call running");
    let took_over = record
        .iter()
        .any(|(event, _, worker)| event == "dial" && worker == "node-b");
    assert!(took_over);
}
