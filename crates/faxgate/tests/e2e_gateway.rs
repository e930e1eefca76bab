//! The gateway end to end, as a site runs it: `faxgate serve` fetches its public
//! mailbox from the project's Dovecot over POP3S, a fax mail that alice submitted
//! through Postfix names a number and bob's fax ID, a PDF and a GBK text become fax
//! pages, the number is called over T.38 by a SpanDSP receiver in real time, bob's
//! copy is filed in his inbox and mailed to him, and alice's receipt (sent through
//! Postfix as fax@) is read back from her mailbox and checked against what SpanDSP
//! says it received; SpanDSP's pages are pixel for pixel the ones filed for bob.
//! Beside it, in the same run: a stranger's mail makes no job and no reply, a bad
//! Subject makes an explanatory receipt, and a request whose call nobody answers (the
//! receiver has hung up) is dialled again per the retry policy and reported failed
//! with the reason. The whole scenario runs once on SQLite and once on PostgreSQL.
//!
//! Waits are bounded loops over the mailboxes and the store, never asserted on.

mod common;
#[path = "../../mail-net/tests/support/mail_servers.rs"]
mod mail_servers;
#[path = "../../fax-queue/tests/support/postgres.rs"]
mod postgres;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use common::scratch::Scratch;
use common::spandsp::{PeerArgs, PeerResult, Role, free_udp_port_pair, spawn_peer, wait_result};
use mail_net::smtp::{Envelope, send_mail};
use mail_net::{
    FetchOptions, IncomingMessage, MailboxConfig, MessageSink, SinkError, SmtpConfig, TakenIn,
    TlsMode, fetch_once,
};
use mail_servers::servers;
use serde_json::Value;

const DOMAIN: &str = "faxgate.test";
const BOB_FAX_ID: &str = "AF90000098";
const NUMBER: &str = "83235170";
const PEER_IDENT: &str = "SPANDSP PEER";

/// Long enough for the two-page call at real time (about 20 s), short enough that
/// the calls nobody answers give up soon.
const CALL_TIMEOUT_SECONDS: u32 = 45;

/// Both stores share one fax@ mailbox and alice's: their runs take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn faxgate(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_faxgate"))
        .args(args)
        .output()
        .expect("running faxgate");
    assert!(
        output.status.success(),
        "faxgate {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn faxgate_json(args: &[&str]) -> Value {
    let output = faxgate(args);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "faxgate {args:?} printed no JSON ({error}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free TCP port")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn base64(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (n, chunk) in data.chunks(3).enumerate() {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |bits, (i, b)| bits | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[(bits >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
        // Lines of 76 characters, as MIME asks.
        if n % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out
}

fn unbase64(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        bits = bits << 6 | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// A one-page PDF with a line of text: a short call keeps the real-time run modest.
fn one_page_pdf() -> Vec<u8> {
    let content = "BT /F1 24 Tf 72 720 Td (Quarterly figures, page one) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
         /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// "传真测试 (fax test)" in GBK, as a Chinese mail program attaches a text file.
const GBK_TEXT: &[u8] = b"\xb4\xab\xd5\xe6\xb2\xe2\xca\xd4 (fax test)\r\n";

/// A fax mail from `from` with `subject`; with `attachments`, a PDF and a GBK text.
fn fax_mail(from: &str, subject: &str, message_id: &str, attachments: bool) -> Vec<u8> {
    let mut mail = format!(
        "From: {from}@{DOMAIN}\r\nTo: fax@{DOMAIN}\r\n\
         Subject: =?UTF-8?B?{subject}?=\r\nMessage-ID: <{message_id}>\r\n\
         Date: Sun, 29 Nov 2026 04:00:00 +0800\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n",
        subject = base64(subject.as_bytes()),
        body = base64("请发送附件。".as_bytes()),
    );
    if attachments {
        mail.push_str(&format!(
            "--b1\r\nContent-Type: application/pdf; name=\"figures.pdf\"\r\n\
             Content-Disposition: attachment; filename=\"figures.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n\
             --b1\r\nContent-Type: text/plain; charset=gbk; name=\"notice.txt\"\r\n\
             Content-Disposition: attachment; filename=\"notice.txt\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{text}\r\n",
            pdf = base64(&one_page_pdf()),
            text = base64(GBK_TEXT),
        ));
    }
    mail.push_str("--b1--\r\n");
    mail.into_bytes()
}

fn submit(user: &str, raw: &[u8]) {
    let servers = servers();
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: servers.port("SUBMISSION"),
        tls: TlsMode::Starttls,
        ca_file: Some(servers.ca_file()),
        user: format!("{user}@{DOMAIN}"),
        password: Some(format!("{user}-pw")),
        from: format!("{user}@{DOMAIN}"),
        ..SmtpConfig::default()
    };
    let envelope = Envelope {
        from: format!("{user}@{DOMAIN}"),
        to: vec![format!("fax@{DOMAIN}")],
    };
    runtime()
        .block_on(send_mail(&smtp, &envelope, raw))
        .expect("submitting through Postfix");
}

/// Keeps what a fetch hands over.
#[derive(Default)]
struct Collect(Mutex<Vec<Vec<u8>>>);

impl MessageSink for Collect {
    async fn is_known(&self, _mailbox: &str, _uidl: &str) -> Result<bool, SinkError> {
        Ok(false)
    }

    async fn take_in(&self, message: IncomingMessage<'_>) -> Result<TakenIn, SinkError> {
        self.0
            .lock()
            .map_err(|_| "poisoned")?
            .push(message.raw.to_vec());
        Ok(TakenIn::Stored)
    }
}

/// Every message in `user`'s mailbox, fetched (and removed) over POP3S.
fn fetch_mailbox(user: &str) -> Vec<String> {
    let servers = servers();
    let config = MailboxConfig {
        host: "127.0.0.1".into(),
        port: servers.port("POP3S"),
        tls: TlsMode::Implicit,
        ca_file: Some(servers.ca_file()),
        user: format!("{user}@{DOMAIN}"),
        password: Some(format!("{user}-pw")),
        timeout_seconds: 30,
        ..MailboxConfig::default()
    };
    let sink = Collect::default();
    runtime()
        .block_on(fetch_once(&config, &sink, FetchOptions::default()))
        .expect("fetching the mailbox");
    let messages = sink.0.into_inner().expect("messages");
    messages
        .iter()
        .map(|raw| String::from_utf8_lossy(raw).into_owned())
        .collect()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The receipt's JSON part, decoded.
fn receipt_json(message: &str) -> Value {
    let part = message
        .split("--=_faxgate_receipt")
        .find(|part| part.contains("Content-Type: application/json"))
        .expect("a JSON part");
    let body = part.split("\r\n\r\n").nth(1).expect("a part body");
    serde_json::from_slice(&unbase64(body)).expect("the JSON part parses")
}

/// Collects `user`'s mail until `done` holds for what has come, polling every
/// 500 ms at most `tries` times.
fn collect_mail(user: &str, tries: u32, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut mails = Vec::new();
    for _ in 0..tries {
        mails.extend(fetch_mailbox(user));
        if done(&mails) {
            return mails;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("{user}'s mailbox never held what was awaited: {mails:#?}");
}

fn receipt_kind(mail: &str) -> &str {
    header(mail, "X-Faxgate-Receipt").unwrap_or("")
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn gateway_end_to_end(scratch: &Scratch, database_url: Option<&str>) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let servers = servers();
    // Leftovers of the other store's run must not be read as this one's.
    for user in ["fax", "alice", "bob", "carol"] {
        fetch_mailbox(user);
    }
    let (peer_port, line_port) = free_udp_port_pair();
    let database = database_url
        .map(|url| format!("database_url = {url:?}\n"))
        .unwrap_or_default();
    let config = scratch.path("faxgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\ndata_dir = {data:?}\n{database}\n\
             [mailbox]\nhost = \"127.0.0.1\"\nport = {pop3s}\nca_file = {ca:?}\n\
             user = \"fax@{DOMAIN}\"\npassword = \"fax-pw\"\npoll_interval_seconds = 1\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {submission}\nca_file = {ca:?}\n\
             user = \"fax@{DOMAIN}\"\npassword = \"fax-pw\"\nfrom = \"fax@{DOMAIN}\"\n\n\
             [smtpd]\nenabled = false\n\n\
             [admin]\nlisten = \"127.0.0.1:{admin}\"\n\n\
             [serve]\nshutdown_grace_seconds = 0\n\n\
             [retry]\nmax_dials = 2\n\n[retry.no_answer]\nretry = true\ndelay_seconds = 0\n\n\
             [retry.line_down]\nretry = true\ndelay_seconds = 0\n\n\
             [[line]]\nname = \"spandsp\"\nkind = \"t38\"\nremote = \"127.0.0.1:{peer_port}\"\n\
             local_bind = \"127.0.0.1:{line_port}\"\nident = \"FAXGATE\"\n\
             call_timeout_seconds = {call_timeout}\n",
            data = scratch.path("data").display().to_string(),
            pop3s = servers.port("POP3S"),
            submission = servers.port("SUBMISSION"),
            ca = servers.ca_file().display().to_string(),
            admin = free_tcp_port(),
            call_timeout = CALL_TIMEOUT_SECONDS,
        ),
    )
    .expect("writing the config");
    let config = config.to_str().expect("utf-8 path");

    faxgate_json(&[
        "user",
        "add",
        "--name",
        "Alice",
        "--email",
        &format!("alice@{DOMAIN}"),
        "--permissions",
        "email",
        "--max-destination",
        "international",
        "--locale",
        "zh",
        "--json",
        "--config",
        config,
    ]);
    let bob = faxgate_json(&[
        "user",
        "add",
        "--name",
        "Bob",
        "--email",
        &format!("bob@{DOMAIN}"),
        "--fax-id",
        BOB_FAX_ID,
        "--json",
        "--config",
        config,
    ]);
    assert_eq!(bob["fax_id"], BOB_FAX_ID, "{bob}");

    // The answering terminal waits for the gateway's call.
    let received = scratch.path("spandsp-received.tif");
    let mut peer_args = PeerArgs::new(peer_port, line_port, &received);
    peer_args.ident = Some(PEER_IDENT.to_owned());
    peer_args.timeout_s = 240;
    let peer = spawn_peer(Role::Receive, &peer_args);

    let log = scratch.path("serve.log");
    let _daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_faxgate"))
            .args(["serve", "--config", config])
            .env("RUST_LOG", "faxgate=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("faxgate serve starts"),
    );

    let subject = format!("{NUMBER}/深圳公司|张三; {BOB_FAX_ID}");
    submit(
        "alice",
        &fax_mail("alice", &subject, "e2e-main@faxgate.test", true),
    );
    // carol has a mailbox but is no user of the gateway.
    submit(
        "carol",
        &fax_mail("carol", NUMBER, "e2e-stranger@faxgate.test", false),
    );
    submit(
        "alice",
        &fax_mail("alice", "请传真给张三", "e2e-bad@faxgate.test", false),
    );

    let peer: PeerResult = wait_result(peer).expect("the SpanDSP receiver's report");
    assert!(
        peer.succeeded(),
        "SpanDSP: {peer:?}\nfaxgate:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(peer.remote_ident, "FAXGATE");
    assert_eq!(peer.pages, 2, "the PDF's page and the text's: {peer:?}");

    let mails = collect_mail("alice", 240, |mails| {
        mails.iter().any(|m| receipt_kind(m) == "result")
            && mails.iter().any(|m| receipt_kind(m) == "problem")
    });
    let problem = mails
        .iter()
        .find(|m| receipt_kind(m) == "problem")
        .expect("a problem receipt");
    assert_eq!(receipt_json(problem)["verdict"], "bad-subject");
    assert_eq!(
        header(problem, "In-Reply-To"),
        Some("<e2e-bad@faxgate.test>")
    );

    let result = mails
        .iter()
        .find(|m| receipt_kind(m) == "result")
        .expect("a result receipt");
    assert_eq!(
        header(result, "In-Reply-To"),
        Some("<e2e-main@faxgate.test>")
    );
    let receipt = receipt_json(result);
    assert_eq!(receipt["summary"], "sent", "{receipt}");
    let recipients = receipt["recipients"].as_array().expect("recipients");
    assert_eq!(recipients.len(), 2, "{receipt}");
    let called = recipients
        .iter()
        .find(|r| r["number"].as_str().is_some_and(|n| n.ends_with(NUMBER)))
        .unwrap_or_else(|| panic!("the called recipient: {receipt}"));
    assert_eq!(called["status"], "sent", "{called}");
    assert_eq!(called["pages_sent"], peer.pages, "{called}");
    assert_eq!(called["pages_total"], peer.pages, "{called}");
    assert_eq!(called["remote_station_id"], PEER_IDENT, "{called}");
    assert_eq!(called["bit_rate"], peer.bit_rate, "{called}");
    let filed = recipients
        .iter()
        .find(|r| r["fax_id"] == BOB_FAX_ID)
        .unwrap_or_else(|| panic!("bob's recipient: {receipt}"));
    assert_eq!(filed["status"], "sent", "{filed}");
    assert_eq!(filed["pages_sent"], peer.pages, "{filed}");

    // The call's record agrees with SpanDSP on error correction too.
    let jobs = faxgate_json(&["job", "list", "--json", "--config", config]);
    let jobs = jobs.as_array().expect("jobs");
    assert_eq!(jobs.len(), 2, "only alice's good mail made jobs: {jobs:?}");
    let call = jobs
        .iter()
        .find(|job| {
            job["destination"]
                .as_str()
                .is_some_and(|d| d.contains(NUMBER))
        })
        .expect("the called job");
    let shown = faxgate_json(&[
        "job",
        "show",
        &call["id"].to_string(),
        "--json",
        "--config",
        config,
    ]);
    let attempt = &shown["attempts"][0];
    assert_eq!(attempt["ecm"], peer.ecm, "{shown}");
    assert_eq!(attempt["bit_rate"], peer.bit_rate, "{shown}");
    assert_eq!(attempt["remote_ident"], PEER_IDENT, "{shown}");

    let inbox = faxgate_json(&[
        "inbox",
        "--user",
        &format!("bob@{DOMAIN}"),
        "--json",
        "--config",
        config,
    ]);
    assert_eq!(inbox.as_array().map(Vec::len), Some(1), "{inbox}");
    assert_eq!(inbox[0]["pages"], peer.pages, "{inbox}");
    // One rendering serves both recipients: the pages SpanDSP received over the call
    // are, pixel for pixel, the ones filed for bob without a call.
    let filed_file = inbox[0]["file"].as_str().expect("the inbox file");
    common::pages::compare_pages(Path::new(filed_file), &received)
        .unwrap_or_else(|problems| panic!("SpanDSP received other pages: {problems}"));
    let bob_mail = collect_mail("bob", 240, |mails| {
        mails.iter().any(|m| receipt_kind(m) == "inbox")
    });
    let notice = bob_mail
        .iter()
        .find(|m| receipt_kind(m) == "inbox")
        .expect("the inbox notice");
    assert!(notice.contains("Content-Type: application/pdf"), "{notice}");

    // The stranger got nothing back and made no job (counted above).
    assert_eq!(servers.mailbox_count("carol"), 0);

    // The SpanDSP receiver has hung up and its port is closed: the next request's
    // call is not answered, is dialled again at once (the policy's delay here), and
    // is reported failed after max_dials with the reason.
    submit(
        "alice",
        &fax_mail("alice", "83235171/Dead Line", "e2e-dead@faxgate.test", true),
    );
    let mails = collect_mail("alice", 400, |mails| {
        mails.iter().any(|m| receipt_kind(m) == "result")
    });
    let result = mails
        .iter()
        .find(|m| receipt_kind(m) == "result")
        .expect("a result receipt");
    assert_eq!(
        header(result, "In-Reply-To"),
        Some("<e2e-dead@faxgate.test>")
    );
    let receipt = receipt_json(result);
    assert_eq!(receipt["summary"], "failed", "{receipt}");
    let recipient = &receipt["recipients"][0];
    assert_eq!(recipient["status"], "failed", "{receipt}");
    assert_eq!(recipient["attempts"], 2, "{receipt}");
    assert_eq!(recipient["pages_sent"], 0, "{receipt}");
    assert!(
        recipient["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{receipt}"
    );
    let jobs = faxgate_json(&["job", "list", "--json", "--config", config]);
    let dead = jobs
        .as_array()
        .expect("jobs")
        .iter()
        .find(|job| {
            job["destination"]
                .as_str()
                .is_some_and(|d| d.contains("83235171"))
        })
        .expect("the dead line's job");
    assert_eq!(dead["state"], "failed", "{dead}");
    assert_eq!(dead["dials"], 2, "{dead}");
}

#[test]
fn mailed_fax_reaches_spandsp_and_an_inbox_on_sqlite() {
    let scratch = Scratch::new("e2e-sqlite");
    gateway_end_to_end(&scratch, None);
}

#[test]
fn mailed_fax_reaches_spandsp_and_an_inbox_on_postgres() {
    let scratch = Scratch::new("e2e-postgres");
    gateway_end_to_end(&scratch, Some(&postgres::fresh_database("e2e_gateway")));
}
