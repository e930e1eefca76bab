//! `faxgate demo`: the whole gateway on one machine in seconds. It starts `faxgate
//! serve` on a temporary directory (SQLite, blobs, the SMTP intake and the admin
//! endpoint on free loopback ports, one virtual line), adds a demo user, mails the
//! intake a message with a Chinese Subject and a PDF and a text attachment, follows
//! the fax over T.30 and T.38 to the virtual line's terminal, prints the receipt and
//! where the sent and received TIFFs are, and stops the daemon with SIGTERM.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use fax_address::AddressSettings;
use fax_queue::{BlobStore, DeliveryFilter, DeliveryState, OutgoingState};
use mail_message::Intake;

use crate::config::Config;
use crate::queue_cmd::{block_on, now, settings_from};

/// `faxgate demo` options.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Pace the fax call like a phone line (about half a minute a page) instead of
    /// running it as fast as the two terminals can.
    #[arg(long)]
    realtime: bool,
    /// The directory to run in (created; its contents are replaced) [default: a new
    /// directory under the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// The demo user's address.
const DEMO_USER: &str = "demo@example.org";
/// The demo fax: one recipient in Shenzhen, with a company and a person's name.
const DEMO_SUBJECT: &str = "86-755-83235170/深圳示例科技有限公司|王经理";
const DEMO_TEXT: &str = "faxgate 演示传真\n\n\
王经理您好：\n\n\
这是一份通过电子邮件发送的传真。网关收到邮件后，把附件转换成传真页，\n\
经 T.38 和 T.30 发送到虚拟线路上的传真机，再把回执寄回发件人。\n\n\
This fax was mailed to the gateway, rendered into fax pages, and sent over\n\
T.38 and T.30 to the fax terminal on the virtual line.\n";

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4 + data.len() / 57 * 2);
    for (index, chunk) in data.chunks(3).enumerate() {
        if index > 0 && index % 19 == 0 {
            out.push_str("\r\n");
        }
        let bytes = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let group = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        for position in 0..4 {
            if position <= chunk.len() {
                let sextet = (group >> (18 - 6 * position)) & 63;
                out.push(char::from(ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A one-page PDF (A4, Helvetica, no embedded font) written out with its cross
/// reference table.
fn sample_pdf() -> Vec<u8> {
    let lines = [
        "faxgate demo",
        "",
        "This page was attached to an email as a PDF.",
        "The gateway rendered it into a fax page and sent it over",
        "T.38 and T.30 to the answering terminal of its virtual line.",
    ];
    let mut content = String::from("BT /F1 24 Tf 72 760 Td 30 TL\n");
    for (index, line) in lines.iter().enumerate() {
        if index == 1 {
            content.push_str("/F1 14 Tf 20 TL\n");
        }
        let _ = writeln!(content, "({line}) Tj T*");
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        let _ = write!(pdf, "{} 0 obj\n{object}\nendobj\n", index + 1);
    }
    let xref = pdf.len();
    let _ = write!(pdf, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(pdf, "{offset:010} 00000 n ");
    }
    let _ = write!(
        pdf,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    pdf.into_bytes()
}

fn sample_mail() -> Vec<u8> {
    let boundary = "faxgate-demo-boundary";
    let mut mail = String::new();
    let _ = write!(
        mail,
        "From: Demo User <{DEMO_USER}>\r\nTo: fax@faxgate.test\r\n\
         Subject: =?UTF-8?B?{}?=\r\nDate: {}\r\nMessage-ID: <demo.{}.{}@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n",
        base64(DEMO_SUBJECT.as_bytes()),
        crate::intake::mail_date(now()),
        std::process::id(),
        now().0,
    );
    let _ = write!(
        mail,
        "--{boundary}\r\nContent-Type: application/pdf; name=\"page.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"page.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        base64(&sample_pdf())
    );
    let _ = write!(
        mail,
        "--{boundary}\r\nContent-Type: text/plain; charset=UTF-8; name=\"letter.txt\"\r\n\
         Content-Disposition: attachment; filename=\"letter.txt\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--{boundary}--\r\n",
        base64(DEMO_TEXT.as_bytes())
    );
    mail.into_bytes()
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The daemon, stopped (SIGTERM, then killed if it lingers) when dropped.
struct Daemon(Child);

impl Daemon {
    fn stop(&mut self) -> anyhow::Result<bool> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        for _ in 0..600 {
            if let Some(status) = self.0.try_wait()? {
                return Ok(status.success());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("faxgate serve did not stop within a minute of SIGTERM")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn step(text: &str) {
    println!("==> {text}");
}

/// Runs `faxgate demo`.
pub fn run(args: &DemoArgs) -> anyhow::Result<bool> {
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("faxgate-demo-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize().unwrap_or(dir);
    let data_dir = dir.join("data");
    let smtp_port = free_port()?;
    let admin_port = free_port()?;
    let config_path = dir.join("faxgate.toml");
    let config_text = format!(
        "# faxgate demo: the embedded defaults on free ports.\n[store]\ndata_dir = {data_dir:?}\n\n\
         [smtpd]\nenabled = true\nlisten = \"127.0.0.1:{smtp_port}\"\n\n[admin]\n\
         listen = \"127.0.0.1:{admin_port}\"\nstatus_interval_seconds = 1\n\n[[line]]\n\
         name = \"virtual\"\nkind = \"virtual\"\nident = \"FAXGATE DEMO\"\nrealtime = {}\n",
        args.realtime
    );
    std::fs::write(&config_path, &config_text)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let config = Config::parse(&config_text)?;
    let settings = settings_from(&config)?;
    let exe = std::env::current_exe().context("finding the faxgate binary")?;
    let config_arg = config_path.as_os_str();

    step(&format!("working in {}", dir.display()));
    let added = Command::new(&exe)
        .arg("user")
        .arg("add")
        .arg("--config")
        .arg(config_arg)
        .args(["--name", "Demo User", "--email", DEMO_USER])
        .args(["--max-destination", "international", "--locale", "zh"])
        .stdout(Stdio::null())
        .output()
        .context("running faxgate user add")?;
    if !added.status.success() {
        bail!(
            "adding the demo user failed: {}",
            String::from_utf8_lossy(&added.stderr)
        );
    }
    step(&format!("added the user {DEMO_USER}"));

    let log_path = dir.join("serve.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut daemon = Daemon(
        Command::new(&exe)
            .arg("serve")
            .arg("--config")
            .arg(config_arg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting faxgate serve")?,
    );
    let mut listening = false;
    for _ in 0..150 {
        if std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_ok() {
            listening = true;
            break;
        }
        if daemon.0.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !listening {
        bail!(
            "faxgate serve did not start; its log, {}:\n{}",
            log_path.display(),
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    }
    step(&format!(
        "faxgate serve is running: SMTP intake 127.0.0.1:{smtp_port}, status \
         http://127.0.0.1:{admin_port}/status, log {}",
        log_path.display()
    ));

    let all_sent = block_on(async {
        let smtp = mail_net::SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: smtp_port,
            tls: mail_net::TlsMode::None,
            from: DEMO_USER.to_owned(),
            ..mail_net::SmtpConfig::default()
        };
        let envelope = mail_net::smtp::Envelope {
            from: DEMO_USER.to_owned(),
            to: vec!["fax@faxgate.test".to_owned()],
        };
        mail_net::smtp::send_mail(&smtp, &envelope, &sample_mail())
            .await
            .context("mailing the SMTP intake")?;
        step(&format!(
            "mailed the intake: Subject \"{DEMO_SUBJECT}\", page.pdf and letter.txt attached"
        ));
        let store = settings.open().await?;
        let filter = DeliveryFilter {
            state: None,
            user: None,
            limit: 0,
        };
        let mut jobs = Vec::new();
        for _ in 0..100 {
            jobs = store.deliveries(&filter).await?;
            if !jobs.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if jobs.is_empty() {
            bail!("the mail made no fax job; see {}", log_path.display());
        }
        let ids: Vec<_> = jobs.iter().map(|job| job.id).collect();
        step("faxing (T.30 over T.38 to the virtual line):");
        let details =
            crate::send_cmd::follow(&store, &ids, Duration::from_secs(1800), true).await?;
        let all_sent = details
            .iter()
            .all(|detail| detail.delivery.state == DeliveryState::Sent);
        let request = details[0].delivery.request;

        // The daemon queues the receipt on its next pass; queuing it here (exactly once,
        // whoever is first) shows it at once.
        let blobs = BlobStore::open(settings.blob_dir())?;
        let address = AddressSettings::new(&config.address)?;
        let intake = Intake::new(config.intake.clone(), address.clone())?;
        let from = crate::intake::receipt_from(&config);
        crate::receipts::queue_receipts(&store, &blobs, &intake, &address, &from, now()).await?;
        let receipt = store
            .outgoing_mail(None::<OutgoingState>)
            .await?
            .into_iter()
            .find(|mail| mail.request == Some(request) && mail.kind != "problem");
        match receipt {
            Some(mail) => {
                let path = dir.join("receipt.eml");
                std::fs::write(&path, &mail.message)
                    .with_context(|| format!("writing {}", path.display()))?;
                step(&format!(
                    "the receipt to {} (queued for [smtp]; saved as {}):",
                    mail.rcpt_to,
                    path.display()
                ));
                print_receipt(&mail.message);
            }
            None => step("no receipt was queued"),
        }

        if let Some((blob, pages)) = store.rendered(request).await? {
            let sent = dir.join("sent.tif");
            std::fs::copy(blobs.path(&blob), &sent)
                .with_context(|| format!("writing {}", sent.display()))?;
            step(&format!(
                "sent: {} ({pages} page(s), as rendered)",
                sent.display()
            ));
        }
        let received = crate::virtual_line::line_dir(&data_dir, "virtual");
        for file in tiffs(&received) {
            step(&format!("received by the virtual line: {}", file.display()));
        }
        store.close().await;
        Ok(all_sent)
    });
    let stopped = daemon.stop()?;
    step(if stopped {
        "faxgate serve stopped (SIGTERM)"
    } else {
        "faxgate serve did not exit cleanly"
    });
    let all_sent = all_sent?;
    if !all_sent {
        step(&format!("the fax was not sent; see {}", log_path.display()));
    }
    Ok(all_sent && stopped)
}

fn tiffs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "tif"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Prints the receipt's addresses and its first text part (the receipt writer sends
/// every part in base64).
fn print_receipt(message: &[u8]) {
    let text = String::from_utf8_lossy(message);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut boundary = None;
    for line in head.lines() {
        if line.starts_with("From:") || line.starts_with("To:") {
            println!("    {line}");
        }
        if let Some((_, rest)) = line.split_once("boundary=\"") {
            boundary = rest.split('"').next().map(str::to_owned);
        }
    }
    let Some(boundary) = boundary else {
        return;
    };
    for part in body.split(&format!("--{boundary}")) {
        let Some((headers, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        if !headers.contains("text/plain") {
            continue;
        }
        let decoded = base64_decode(content);
        println!();
        for line in String::from_utf8_lossy(&decoded).lines() {
            println!("    {line}");
        }
        return;
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut group = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        group = group << 6 | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((group >> bits) as u8);
            group &= (1 << bits) - 1;
        }
    }
    out
}
