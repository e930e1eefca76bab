//! The SMTP intake listener fed by the real Postfix: Postfix relays mail for the fax
//! domain to our listener with STARTTLS (TLS mandatory on Postfix's side) and
//! pipelining, and a message over our announced size limit is not sent: Postfix
//! bounces it to the sender.

mod imap_support;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imap_support::{maildir_count, send_via_postfix, servers, wait_delivered};
use mail_net::smtpd::{Envelope, EnvelopeSink, SinkRefusal, SmtpListener, SmtpdConfig};

#[derive(Default)]
struct MemorySink {
    messages: Mutex<Vec<(Envelope, Vec<u8>)>>,
}

impl EnvelopeSink for MemorySink {
    async fn deliver(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SinkRefusal> {
        self.messages
            .lock()
            .expect("lock")
            .push((envelope.clone(), message.to_vec()));
        Ok(())
    }
}

fn postfix(servers: &imap_support::MailServers, args: &[&str]) {
    let etc = servers.dir.join("postfix/etc");
    let status = Command::new("postconf")
        .arg("-c")
        .arg(&etc)
        .arg("-e")
        .args(args)
        .status()
        .expect("postconf runs");
    assert!(status.success());
    let status = Command::new("postfix")
        .arg("-c")
        .arg(&etc)
        .arg("reload")
        .status()
        .expect("postfix reload");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_relays_to_the_listener_over_starttls() {
    let servers = servers();
    let tls = servers.dir.join("tls");
    let config = SmtpdConfig {
        enabled: true,
        listen: "127.0.0.1:0".into(),
        hostname: "fax.faxgate.test".into(),
        max_message_bytes: 4000,
        tls_cert_file: Some(tls.join("server.pem")),
        tls_key_file: Some(tls.join("server.key")),
        require_tls: true,
        ..SmtpdConfig::default()
    };
    let listener = SmtpListener::bind(&config).await.expect("binds");
    let port = listener.local_addr().expect("addr").port();
    let sink = Arc::new(MemorySink::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(listener.run(Arc::clone(&sink), async {
        let _ = stopped.await;
    }));

    postfix(
        servers,
        &[
            &format!("transport_maps = inline:{{fax.faxgate.test=smtp:[127.0.0.1]:{port}}}"),
            "relay_domains = fax.faxgate.test",
            "smtp_tls_security_level = encrypt",
        ],
    );

    let message = "From: alice@faxgate.test\r\nTo: FAX=+8675583235170@fax.faxgate.test\r\n\
                   Subject: invoice\r\nMessage-ID: <relay-1@faxgate.test>\r\n\r\nplease fax\r\n";
    let to = "FAX=+8675583235170@fax.faxgate.test";
    let sink_ref = Arc::clone(&sink);
    tokio::task::spawn_blocking(move || send_via_postfix(servers, to, message))
        .await
        .expect("sent");
    wait_for(|| !sink_ref.messages.lock().expect("lock").is_empty()).await;
    let (envelope, bytes) = sink.messages.lock().expect("lock")[0].clone();
    assert!(envelope.tls, "Postfix must have used STARTTLS");
    assert_eq!(envelope.helo, "mail.faxgate.test");
    assert_eq!(envelope.mail_from, "alice@faxgate.test");
    assert_eq!(envelope.rcpt_to, vec![to.to_owned()]);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.starts_with(
            "Received: from mail.faxgate.test ([127.0.0.1])\r\n\tby fax.faxgate.test (faxgate) with ESMTPS id "
        ),
        "{text}"
    );
    assert!(
        text.contains("Message-ID: <relay-1@faxgate.test>\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nplease fax\r\n"), "{text}");

    // Over the limit: Postfix reads our SIZE announcement and does not even try; it
    // bounces the message to the sender, whose mailbox is on the same server. (A client
    // that ignores SIZE gets 552 after DATA: see smtpd_listener.rs.)
    let bounces_before = maildir_count(servers, "alice", "");
    let big = format!(
        "From: alice@faxgate.test\r\nSubject: big\r\nMessage-ID: <relay-big@faxgate.test>\r\n\r\n{}",
        "x".repeat(70)
            .repeat(100)
            .chars()
            .collect::<Vec<_>>()
            .chunks(70)
            .map(|c| c.iter().collect::<String>() + "\r\n")
            .collect::<String>()
    );
    tokio::task::spawn_blocking(move || send_via_postfix(servers, to, &big))
        .await
        .expect("sent");
    wait_delivered(servers, "alice", "", bounces_before + 1);
    let bounce = newest_message(&servers.maildir("alice"));
    assert!(
        bounce.contains("exceeds size limit 4000 of server"),
        "{bounce}"
    );
    assert_eq!(sink.messages.lock().expect("lock").len(), 1);

    let _ = stop.send(());
    task.await.expect("task").expect("listener");
}

fn newest_message(maildir: &std::path::Path) -> String {
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = ["new", "cur"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(maildir.join(sub)).into_iter().flatten())
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    let (_, path) = files.pop().expect("a message");
    String::from_utf8_lossy(&std::fs::read(path).expect("read")).into_owned()
}

/// Waits for Postfix to deliver, giving up after a minute.
async fn wait_for(mut done: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not delivered within a minute");
}
