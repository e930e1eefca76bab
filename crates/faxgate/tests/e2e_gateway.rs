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

use std::path::Path;
use std::sync::Mutex;

use common::cli::{faxgate_json, page_count};
use common::daemon::{Daemon, free_tcp_port, http_get, received_tiffs, wait_for};
use common::mail::{
    Attachment, DOMAIN, add_mail_user, collect_mail, fax_mail, fax_mail_to, fetch_mailbox,
    receipt_answering, receipt_kind, submit, submit_to,
};
use common::mail_servers::servers;
use common::postgres;
use common::scratch::Scratch;
use common::spandsp::{PeerArgs, PeerResult, Role, free_udp_port_pair, spawn_peer, wait_result};
use serde_json::Value;

const BOB_FAX_ID: &str = "AF90000098";
const NUMBER: &str = "83235170";
const PEER_IDENT: &str = "SPANDSP PEER";

/// Long enough for the two-page call at real time (about 20 s). A call to a closed
/// port does not wait for it: the refusal ends the call at once.
const CALL_TIMEOUT_SECONDS: u32 = 45;

/// The POP3S cases share the fax@ mailbox and alice's: they take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

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

/// The documents of alice's fax mail: a PDF and a GBK text.
fn with_documents(user: &str, subject: &str, message_id: &str, pdf: &[u8]) -> Vec<u8> {
    fax_mail(
        user,
        subject,
        message_id,
        &[
            Attachment {
                content_type: "application/pdf",
                name: "figures.pdf",
                data: pdf,
            },
            Attachment {
                content_type: "text/plain; charset=gbk",
                name: "notice.txt",
                data: GBK_TEXT,
            },
        ],
    )
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

    add_mail_user(config, "Alice", "alice", "zh", None);
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

    let daemon = Daemon::start_logging(config, scratch.path("serve.log"), Some("faxgate=debug"));

    let subject = format!("{NUMBER}/深圳公司|张三; {BOB_FAX_ID}");
    let pdf = one_page_pdf();
    submit(
        "alice",
        &with_documents("alice", &subject, "e2e-main@faxgate.test", &pdf),
    );
    // carol has a mailbox but is no user of the gateway.
    submit(
        "carol",
        &fax_mail("carol", NUMBER, "e2e-stranger@faxgate.test", &[]),
    );
    submit(
        "alice",
        &fax_mail("alice", "请传真给张三", "e2e-bad@faxgate.test", &[]),
    );

    let peer: PeerResult = wait_result(peer).expect("the SpanDSP receiver's report");
    assert!(
        peer.succeeded(),
        "SpanDSP: {peer:?}\nfaxgate:\n{}",
        daemon.log()
    );
    assert_eq!(peer.remote_ident, "FAXGATE");
    assert_eq!(peer.pages, 2, "the PDF's page and the text's: {peer:?}");

    // The SpanDSP receiver has hung up and its port is closed: the next request's
    // call is refused at once (no wait for the call timeout), the line counts as down,
    // it is dialled again at once (the policy's delay here), and the request is
    // reported failed after max_dials with the reason. Sent now, its receipt can go
    // out in the same pass of the receipt sender as the others.
    submit(
        "alice",
        &with_documents("alice", "83235171/Dead Line", "e2e-dead@faxgate.test", &pdf),
    );

    let mails = collect_mail("alice", 240, |mails| {
        mails.iter().filter(|m| receipt_kind(m) == "result").count() == 2
            && mails.iter().any(|m| receipt_kind(m) == "problem")
    });
    let problem = receipt_answering(&mails, "problem", "e2e-bad@faxgate.test");
    assert_eq!(problem["verdict"], "bad-subject", "{problem}");

    let receipt = receipt_answering(&mails, "result", "e2e-main@faxgate.test");
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
    assert_eq!(
        jobs.len(),
        3,
        "only alice's good mails made jobs (two and the dead line's): {jobs:?}"
    );
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

    // The dead line's request: dialled twice, refused both times, reported failed.
    let receipt = receipt_answering(&mails, "result", "e2e-dead@faxgate.test");
    assert_eq!(receipt["summary"], "failed", "{receipt}");
    let recipient = &receipt["recipients"][0];
    assert_eq!(recipient["status"], "failed", "{receipt}");
    assert_eq!(recipient["attempts"], 2, "{receipt}");
    assert_eq!(recipient["pages_sent"], 0, "{receipt}");
    assert!(
        recipient["reason"]
            .as_str()
            .is_some_and(|r| r.contains("refused the call")),
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
    let shown = faxgate_json(&[
        "job",
        "show",
        &dead["id"].to_string(),
        "--json",
        "--config",
        config,
    ]);
    let attempts = shown["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{shown}");
    assert!(
        attempts.iter().all(|a| a["outcome"] == "line-down"),
        "both dials refused, the line down: {shown}"
    );
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

/// How many messages `user`'s IMAP folder `folder` holds (its Maildir files).
fn folder_count(user: &str, folder: &str) -> usize {
    let maildir = servers()
        .dir
        .join("mail")
        .join(user)
        .join("Maildir")
        .join(format!(".{folder}"));
    ["new", "cur"]
        .iter()
        .map(|sub| {
            std::fs::read_dir(maildir.join(sub))
                .map(|entries| entries.count())
                .unwrap_or(0)
        })
        .sum()
}

/// The daemon's mailbox intake as `GET /status` shows it.
fn mailbox_status(admin_port: u16) -> Value {
    let (status, body) = http_get(admin_port, "/status").unwrap_or_default();
    if !status.contains("200") {
        return Value::Null;
    }
    serde_json::from_str::<Value>(&body)
        .map(|snapshot| snapshot["intakes"]["mailbox"].clone())
        .unwrap_or(Value::Null)
}

/// The gateway's mailbox in the IMAP case, and the user who mails it: mailboxes of
/// their own, so the case runs beside the POP3S ones (which use fax@ and alice's).
const IMAP_GATEWAY: &str = "dave";
const IMAP_SENDER: &str = "erin";

/// The IMAP intake of `faxgate serve`: the gateway's mailbox watched over STARTTLS with
/// IDLE (and a poll interval of an hour, so only IDLE can bring the mail in while the
/// test waits), a user's mail faxed to a virtual line (a real T.30 call over T.38 on
/// loopback, unpaced) and receipted through Postfix, and the message moved to the
/// processed folder only once its job is stored.
#[test]
fn mail_taken_in_by_imap_idle_is_faxed_and_receipted_on_sqlite() {
    let scratch = Scratch::new("e2e-imap");
    let servers = servers();
    for user in [IMAP_GATEWAY, IMAP_SENDER] {
        fetch_mailbox(user);
    }
    let processed_before = folder_count(IMAP_GATEWAY, "Faxed");
    let admin_port = free_tcp_port();
    let data_dir = scratch.path("data");
    let config = scratch.path("faxgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\ndata_dir = {data:?}\n\n\
             [mailbox]\nprotocol = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\n\
             tls = \"starttls\"\nca_file = {ca:?}\n\
             user = \"{IMAP_GATEWAY}@{DOMAIN}\"\npassword = \"{IMAP_GATEWAY}-pw\"\n\
             poll_interval_seconds = 3600\nidle = true\nprocessed_folder = \"Faxed\"\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {submission}\nca_file = {ca:?}\n\
             user = \"{IMAP_GATEWAY}@{DOMAIN}\"\npassword = \"{IMAP_GATEWAY}-pw\"\n\
             from = \"{IMAP_GATEWAY}@{DOMAIN}\"\n\n\
             [smtpd]\nenabled = false\n\n\
             [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\n\
             [serve]\nshutdown_grace_seconds = 0\n\n\
             [[line]]\nname = \"box\"\nkind = \"virtual\"\n",
            data = data_dir.display().to_string(),
            imap = servers.port("IMAP"),
            submission = servers.port("SUBMISSION"),
            ca = servers.ca_file().display().to_string(),
        ),
    )
    .expect("writing the config");
    let config = config.to_str().expect("utf-8 path");
    add_mail_user(config, "Erin", IMAP_SENDER, "zh", None);

    let mut daemon =
        Daemon::start_logging(config, scratch.path("serve.log"), Some("faxgate=debug"));
    // The first pass over the empty folder is done and the connection stays open: the
    // intake is in IDLE (mail arriving just before is reported when IDLE starts).
    wait_for(150, "the IMAP intake idling", || {
        let mailbox = mailbox_status(admin_port);
        mailbox["polls"] == 1 && mailbox["connected"] == true
    });

    let text = "传真测试 fax test\r\n".as_bytes();
    submit_to(
        IMAP_SENDER,
        IMAP_GATEWAY,
        &fax_mail_to(
            IMAP_SENDER,
            IMAP_GATEWAY,
            "755-83235170/Company",
            "e2e-imap@faxgate.test",
            &[Attachment {
                content_type: "text/plain; charset=UTF-8",
                name: "notice.txt",
                data: text,
            }],
        ),
    );

    // Seen in the processed folder, the message already has its job in the store (the
    // store is read after the folder).
    let mut jobs = Value::Null;
    wait_for(300, "the message moved to the processed folder", || {
        if folder_count(IMAP_GATEWAY, "Faxed") <= processed_before {
            return false;
        }
        jobs = faxgate_json(&["job", "list", "--json", "--config", config]);
        true
    });
    assert_eq!(
        jobs.as_array().map(Vec::len),
        Some(1),
        "moved before its job was stored: {jobs}\n{}",
        daemon.log()
    );
    assert_eq!(
        servers.mailbox_count(IMAP_GATEWAY),
        0,
        "nothing left in INBOX"
    );

    let mails = collect_mail(IMAP_SENDER, 240, |mails| {
        mails.iter().any(|m| receipt_kind(m) == "result")
    });
    let receipt = receipt_answering(&mails, "result", "e2e-imap@faxgate.test");
    assert_eq!(receipt["summary"], "sent", "{receipt}");
    assert_eq!(receipt["recipients"][0]["pages_sent"], 1, "{receipt}");

    // One pass at start, one woken by IDLE: no poll brought the mail in.
    let mailbox = mailbox_status(admin_port);
    assert_eq!(mailbox["polls"], 2, "{mailbox}");
    assert_eq!(mailbox["stored"], 1, "{mailbox}");
    assert_eq!(mailbox["deleted"], 1, "{mailbox}");
    assert!(mailbox["last_error"].is_null(), "{mailbox}");

    let filed = received_tiffs(&data_dir.join("virtual/box"));
    assert_eq!(filed.len(), 1, "{}", daemon.log());
    assert_eq!(page_count(&filed[0]), 1);
    let exit = daemon.terminate();
    assert!(exit.success(), "{exit}\n{}", daemon.log());
}
