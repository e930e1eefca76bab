//! `faxgate serve`: the gateway daemon, and `faxgate status`, which reads its state.
//!
//! One process runs, side by side on one async runtime: the SMTP intake listener, the
//! mailbox loop (POP3 or IMAP, when `[mailbox]` is set), the worker over every line,
//! and the receipt loop (queue a receipt for every finished mailed request; send
//! queued mail through `[smtp]` when it is set, else leave it queued and log it).
//! Jobs of a worker that died are taken back at start. SIGINT or SIGTERM stops the
//! intakes and the claiming, lets the calls in progress finish for the grace period,
//! then hands the rest back to the queue (their claims released). A status snapshot
//! (intakes, lines, queue depth, counters, last errors) is written to
//! `<data_dir>/status.json` periodically and served on the admin port: `GET /status`
//! (JSON) and `GET /metrics` (Prometheus text).
//!
//! Without a configuration file it starts on embedded defaults: SQLite and blobs under
//! `./faxgate-data`, the SMTP intake on 127.0.0.1:2525, one virtual line.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use fax_queue::{AttemptReport, BlobStore, DeliveryFilter, DeliveryState, Store};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::{Config, LineConfig};
use crate::queue_cmd::{QueueSettings, now, settings_from, time_text};

/// The data directory of `faxgate serve` and `faxgate status` when the configuration
/// names none.
pub const SERVE_DATA_DIR: &str = crate::queue_cmd::DEFAULT_DATA_DIR;

/// The `[admin]` section: the status and metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the HTTP endpoint (`GET /status`, `GET /metrics`); empty: none.
    pub listen: String,
    /// How often `<data_dir>/status.json` is rewritten, in seconds.
    pub status_interval_seconds: u64,
}

impl Default for AdminConfig {
    fn default() -> AdminConfig {
        AdminConfig {
            listen: "127.0.0.1:9925".to_owned(),
            status_interval_seconds: 5,
        }
    }
}

/// The `[serve]` section: the daemon's own pace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// On shutdown, how long calls in progress may run on before they are hung up and
    /// handed back to the queue, in seconds.
    pub shutdown_grace_seconds: u64,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            shutdown_grace_seconds: 30,
        }
    }
}

/// `faxgate serve` options.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// faxgate's configuration file (see config/faxgate.example.toml); without it the
    /// embedded defaults apply: data under ./faxgate-data, the SMTP intake on
    /// 127.0.0.1:2525, one virtual line, the admin endpoint on 127.0.0.1:9925.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `faxgate status` options.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The configuration file `faxgate serve` runs with (for its data directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory, instead of the configuration's.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print the snapshot as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What the worker counts, for the status and the metrics.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Counters>,
    /// Signalled when a request is made in this process, so the worker claims it
    /// without waiting for its next poll.
    requests_made: tokio::sync::Notify,
    /// Signalled when mail may have become due (a delivery ended, a message was taken
    /// in), so receipts go out at once rather than at the sender's next timed pass.
    mail_due: tokio::sync::Notify,
}

#[derive(Debug, Default, Clone)]
struct Counters {
    /// Calls (and inbox filings) ended, by outcome.
    deliveries: BTreeMap<String, u64>,
    /// Pages the receivers confirmed.
    pages: u64,
    /// Calls ended per line.
    calls: BTreeMap<String, u64>,
    /// Calls in progress per line.
    busy: BTreeMap<String, u32>,
    conversions: u64,
    conversion_seconds: f64,
    /// Fax requests made, by source (email, cli, ...).
    requests: BTreeMap<String, u64>,
    /// Messages the intakes took in, by intake and verdict.
    messages: BTreeMap<(String, String), u64>,
    errors: VecDeque<(String, String, String)>,
}

impl Counters {
    /// The messages taken in, as the status lists them.
    fn messages_json(&self) -> Value {
        self.messages
            .iter()
            .map(|((intake, verdict), count)| {
                json!({"intake": intake, "verdict": verdict, "count": count})
            })
            .collect()
    }
}

/// How many recent errors the status keeps.
const ERRORS_KEPT: usize = 10;

impl Stats {
    fn with(&self, change: impl FnOnce(&mut Counters)) {
        if let Ok(mut counters) = self.inner.lock() {
            change(&mut counters);
        }
    }

    fn counters(&self) -> Counters {
        self.inner
            .lock()
            .map(|counters| counters.clone())
            .unwrap_or_default()
    }

    /// A request's documents were rendered, taking `time`.
    pub fn converted(&self, time: Duration) {
        self.with(|c| {
            c.conversions += 1;
            c.conversion_seconds += time.as_secs_f64();
        });
    }

    /// A fax request from `source` was made (stored with its deliveries).
    pub fn request_made(&self, source: &str) {
        self.with(|c| *c.requests.entry(source.to_owned()).or_default() += 1);
        // Kept as a permit when the worker is busy: it then claims once more.
        self.requests_made.notify_one();
    }

    /// Returns when a request is made after (or, unclaimed, before) the call.
    pub async fn new_request(&self) {
        self.requests_made.notified().await;
    }

    /// A delivery ended or a message was stored: a receipt or an inbox mail may be due.
    pub fn mail_may_be_due(&self) {
        // Kept as a permit when the sender is mid-pass: it then runs once more.
        self.mail_due.notify_one();
    }

    /// Returns when mail may have become due after (or, unseen, before) the call.
    pub async fn mail_due(&self) {
        self.mail_due.notified().await;
    }

    /// The `intake` ("smtp", "mailbox") took a message in with this verdict
    /// ("accepted", a refusal, "duplicate").
    pub fn message_taken(&self, intake: &str, verdict: &str) {
        self.with(|c| {
            *c.messages
                .entry((intake.to_owned(), verdict.to_owned()))
                .or_default() += 1;
        });
    }

    /// Requests made from `source` so far.
    #[cfg(test)]
    pub(crate) fn requests_made(&self, source: &str) -> u64 {
        self.counters().requests.get(source).copied().unwrap_or(0)
    }

    /// Renderings made so far.
    #[cfg(test)]
    pub(crate) fn conversions(&self) -> u64 {
        self.counters().conversions
    }

    /// Messages the `intake` took in with `verdict` so far, and the kinds counted.
    #[cfg(test)]
    pub(crate) fn messages_taken(&self, intake: &str, verdict: &str) -> (u64, usize) {
        let counters = self.counters();
        let key = (intake.to_owned(), verdict.to_owned());
        (
            counters.messages.get(&key).copied().unwrap_or(0),
            counters.messages.len(),
        )
    }

    /// A call on `line` ended and was recorded.
    pub fn call_ended(&self, line: &str, report: &AttemptReport) {
        self.with(|c| {
            *c.deliveries
                .entry(report.outcome.class.as_str().to_owned())
                .or_default() += 1;
            c.pages += u64::from(report.outcome.pages_confirmed);
            *c.calls.entry(line.to_owned()).or_default() += 1;
        });
    }

    /// `line` carries `busy` calls now.
    pub fn set_busy(&self, line: &str, busy: u32) {
        self.with(|c| {
            c.busy.insert(line.to_owned(), busy);
        });
    }

    /// Something went wrong in `source` (kept among the last errors).
    pub fn error(&self, source: &str, text: String) {
        self.with(|c| {
            if c.errors.len() == ERRORS_KEPT {
                c.errors.pop_front();
            }
            c.errors
                .push_back((time_text(now()), source.to_owned(), text));
        });
    }
}

/// Where `faxgate serve` keeps its data with this configuration.
pub fn data_dir_of(config: &Config) -> PathBuf {
    config
        .store
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(SERVE_DATA_DIR))
}

/// Everything the status snapshot reads.
struct Daemon {
    config: Arc<Config>,
    store: Store,
    stats: Arc<Stats>,
    smtpd: Option<Arc<Mutex<mail_net::smtpd::ListenerStatus>>>,
    mailbox: Option<Arc<Mutex<mail_net::IntakeStatus>>>,
    receipts: Arc<Mutex<crate::receipts::SenderStatus>>,
    started_at: String,
    state: Mutex<&'static str>,
}

impl Daemon {
    async fn snapshot(&self) -> Value {
        let counters = self.stats.counters();
        let mut queue = serde_json::Map::new();
        for (name, state) in [
            ("queued", DeliveryState::Queued),
            ("active", DeliveryState::Active),
        ] {
            let filter = DeliveryFilter {
                state: Some(state),
                user: None,
                limit: 0,
            };
            match self.store.deliveries(&filter).await {
                Ok(deliveries) => {
                    queue.insert(name.to_owned(), json!(deliveries.len()));
                }
                Err(error) => self.stats.error("store", error.to_string()),
            }
        }
        let lines: Vec<Value> = self
            .config
            .lines
            .iter()
            .map(|line| {
                let busy = counters.busy.get(&line.name).copied().unwrap_or(0);
                json!({
                    "name": line.name,
                    "kind": match line.kind {
                        crate::config::LineKind::T38 => "t38",
                        crate::config::LineKind::Virtual => "virtual",
                    },
                    "channels": line.channels,
                    "busy": busy,
                    "free": line.channels.saturating_sub(busy),
                    "calls": counters.calls.get(&line.name).copied().unwrap_or(0),
                })
            })
            .collect();
        let smtpd = self
            .smtpd
            .as_ref()
            .and_then(|status| status.lock().ok().map(|s| json!(*s)));
        let mailbox = self
            .mailbox
            .as_ref()
            .and_then(|status| status.lock().ok().map(|s| json!(*s)));
        let receipts = self.receipts.lock().ok().map(|s| json!(*s));
        let errors: Vec<Value> = counters
            .errors
            .iter()
            .map(|(at, source, text)| json!({"at": at, "source": source, "error": text}))
            .collect();
        let state = self.state.lock().map(|s| *s).unwrap_or("running");
        let messages = counters.messages_json();
        json!({
            "state": state,
            "pid": std::process::id(),
            "started_at": self.started_at,
            "updated_at": time_text(now()),
            "admin": self.config.admin.listen,
            "intakes": { "smtp": smtpd, "mailbox": mailbox },
            "receipts": receipts,
            "lines": lines,
            "queue": queue,
            "requests": counters.requests,
            "messages": messages,
            "deliveries": counters.deliveries,
            "pages_sent": counters.pages,
            "conversions": counters.conversions,
            "conversion_seconds": counters.conversion_seconds,
            "last_errors": errors,
        })
    }

    async fn write_status(&self, data_dir: &Path) {
        let snapshot = self.snapshot().await;
        let path = data_dir.join("status.json");
        let temporary = data_dir.join("status.json.new");
        // Written aside and renamed, so a reader never sees half a file.
        let written = serde_json::to_vec_pretty(&snapshot)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&temporary, bytes))
            .and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(error) = written {
            warn!(file = %path.display(), %error, "cannot write the status file");
        }
    }
}

/// The Prometheus text of a status snapshot.
fn metrics(snapshot: &Value) -> String {
    let mut out = String::new();
    let number = |value: &Value| value.as_f64().unwrap_or(0.0);
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        &mut out,
        "faxgate_requests_total",
        "counter",
        "Fax requests made, by source: mail taken in as a request (not mail dropped or \
         answered with a problem receipt), and requests of other sources (faxgate send) \
         once this node rendered them.",
    );
    for source in ["email", "cli"] {
        let count = number(&snapshot["requests"][source]);
        let _ = writeln!(out, "faxgate_requests_total{{source=\"{source}\"}} {count}");
    }
    if let Some(sources) = snapshot["requests"].as_object() {
        for (source, count) in sources {
            if source != "email" && source != "cli" {
                let _ = writeln!(
                    out,
                    "faxgate_requests_total{{source=\"{source}\"}} {}",
                    number(count)
                );
            }
        }
    }
    family(
        &mut out,
        "faxgate_messages_total",
        "counter",
        "Messages the SMTP intake and the mailbox took in, by intake and verdict.",
    );
    for message in snapshot["messages"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "faxgate_messages_total{{intake=\"{}\",verdict=\"{}\"}} {}",
            message["intake"].as_str().unwrap_or_default(),
            message["verdict"].as_str().unwrap_or_default(),
            number(&message["count"])
        );
    }
    family(
        &mut out,
        "faxgate_deliveries_total",
        "counter",
        "Calls and inbox filings ended, by result.",
    );
    if let Some(results) = snapshot["deliveries"].as_object() {
        for (result, count) in results {
            let _ = writeln!(
                out,
                "faxgate_deliveries_total{{result=\"{result}\"}} {}",
                number(count)
            );
        }
    }
    family(
        &mut out,
        "faxgate_pages_sent_total",
        "counter",
        "Pages the receivers confirmed.",
    );
    let _ = writeln!(
        out,
        "faxgate_pages_sent_total {}",
        number(&snapshot["pages_sent"])
    );
    family(
        &mut out,
        "faxgate_line_channels",
        "gauge",
        "Calls each line can carry at once.",
    );
    family(
        &mut out,
        "faxgate_line_busy",
        "gauge",
        "Calls in progress on each line.",
    );
    family(
        &mut out,
        "faxgate_line_calls_total",
        "counter",
        "Calls ended on each line.",
    );
    for line in snapshot["lines"].as_array().into_iter().flatten() {
        let name = line["name"].as_str().unwrap_or_default();
        for (metric, key) in [
            ("faxgate_line_channels", "channels"),
            ("faxgate_line_busy", "busy"),
            ("faxgate_line_calls_total", "calls"),
        ] {
            let _ = writeln!(out, "{metric}{{line=\"{name}\"}} {}", number(&line[key]));
        }
    }
    family(
        &mut out,
        "faxgate_queue_depth",
        "gauge",
        "Deliveries waiting (queued) and in a call (active).",
    );
    for state in ["queued", "active"] {
        let _ = writeln!(
            out,
            "faxgate_queue_depth{{state=\"{state}\"}} {}",
            number(&snapshot["queue"][state])
        );
    }
    family(
        &mut out,
        "faxgate_conversion_seconds",
        "summary",
        "Time spent rendering requests' documents to fax pages.",
    );
    let _ = writeln!(
        out,
        "faxgate_conversion_seconds_sum {}",
        number(&snapshot["conversion_seconds"])
    );
    let _ = writeln!(
        out,
        "faxgate_conversion_seconds_count {}",
        number(&snapshot["conversions"])
    );
    out
}

/// Runs `faxgate serve` until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> anyhow::Result<bool> {
    let mut config = Config::load(args.config.as_deref())?;
    if config.store.data_dir.is_none() {
        config.store.data_dir = Some(PathBuf::from(SERVE_DATA_DIR));
    }
    if args.config.is_none() {
        // The embedded defaults take mail on the built-in SMTP intake.
        config.smtpd.enabled = true;
    }
    if config.lines.is_empty() {
        config.lines.push(LineConfig::default_virtual());
    }
    let settings = settings_from(&config)?;
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(serve(config, settings))?;
    Ok(true)
}

async fn serve(config: Config, settings: QueueSettings) -> anyhow::Result<()> {
    let store = settings.open().await?;
    let blobs = BlobStore::open(settings.blob_dir())?;
    let recovered = store
        .recover_expired(now())
        .await
        .context("taking back the jobs of workers that died")?;
    if !recovered.is_empty() {
        info!(
            count = recovered.len(),
            "took back the jobs of workers that died"
        );
    }
    let stop = crate::intake::shutdown_on_signals()?;
    let config = Arc::new(config);
    let stats = Arc::new(Stats::default());
    let pipeline = Arc::new(
        crate::intake::MailPipeline::new(store.clone(), blobs.clone(), &config)?
            .counting(stats.clone()),
    );
    let mut tasks = tokio::task::JoinSet::new();

    let mut smtpd_status = None;
    if config.smtpd.enabled {
        let listener = crate::intake::bind_smtp_listener(&config.smtpd).await?;
        smtpd_status = Some(listener.status());
        let pipeline = pipeline.clone();
        let stop = stop.clone();
        let stats = stats.clone();
        tasks.spawn(async move {
            if let Err(error) = crate::intake::run_smtp_listener(listener, pipeline, stop).await {
                warn!(error = %format!("{error:#}"), "the SMTP intake stopped");
                stats.error("smtpd", format!("{error:#}"));
            }
        });
    }

    let mut mailbox_status = None;
    if config.mailbox.is_enabled() {
        let status = Arc::new(Mutex::new(mail_net::IntakeStatus::default()));
        mailbox_status = Some(status.clone());
        let config = config.clone();
        let pipeline = pipeline.clone();
        let stop = stop.clone();
        let stats = stats.clone();
        tasks.spawn(async move {
            if let Err(error) =
                crate::intake::run_mailbox(&config.mailbox, &pipeline, &status, stop).await
            {
                warn!(error = %format!("{error:#}"), "the mailbox intake stopped");
                stats.error("mailbox", format!("{error:#}"));
            }
        });
    }

    // Receipts: queued for every finished mailed request, sent through [smtp] when it is
    // set; without it they stay queued (the sender's status says so, and each is logged).
    let receipts = Arc::new(Mutex::new(crate::receipts::SenderStatus::default()));
    {
        let config = config.clone();
        let store = store.clone();
        let blobs = blobs.clone();
        let status = receipts.clone();
        let stop = stop.clone();
        let stats = stats.clone();
        tasks.spawn(async move {
            if let Err(error) =
                crate::receipts::run_sender(&config, &store, &blobs, &status, Some(&stats), stop)
                    .await
            {
                warn!(error = %format!("{error:#}"), "the receipt sender stopped");
                stats.error("receipts", format!("{error:#}"));
            }
        });
    }

    let worker = {
        let store = store.clone();
        let settings = settings.clone();
        let stats = stats.clone();
        let stop = stop.clone();
        let grace = Duration::from_secs(config.serve.shutdown_grace_seconds);
        // The whole configuration: [render] (header line, cover page) and [smtp] from
        // shape what the worker sends and files.
        let config = config.clone();
        tokio::spawn(async move {
            crate::worker::serve(
                &store,
                &settings,
                &config,
                &config.lines,
                stats,
                stop,
                grace,
            )
            .await
        })
    };

    let daemon = Arc::new(Daemon {
        config,
        store: store.clone(),
        stats: stats.clone(),
        smtpd: smtpd_status,
        mailbox: mailbox_status,
        receipts,
        started_at: time_text(now()),
        state: Mutex::new("running"),
    });
    if !daemon.config.admin.listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&daemon.config.admin.listen)
            .await
            .with_context(|| format!("[admin] listen {}", daemon.config.admin.listen))?;
        info!(listen = %listener.local_addr()?, "admin endpoint listening (/status, /metrics)");
        let daemon = daemon.clone();
        let stop = stop.clone();
        tasks.spawn(async move { admin(listener, daemon, stop).await });
    }
    {
        let daemon = daemon.clone();
        let data_dir = settings.data_dir.clone();
        let every = Duration::from_secs(daemon.config.admin.status_interval_seconds.max(1));
        let mut stop = stop.clone();
        tasks.spawn(async move {
            loop {
                daemon.write_status(&data_dir).await;
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    return;
                }
            }
        });
    }
    info!(data_dir = %settings.data_dir.display(), "faxgate serving");

    crate::intake::stopped(stop.clone()).await;
    info!("shutting down: no new mail or calls");
    if let Ok(mut state) = daemon.state.lock() {
        *state = "stopping";
    }
    match worker.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => warn!(error = %format!("{error:#}"), "the worker failed"),
        Err(error) => warn!(%error, "the worker task failed"),
    }
    while tasks.join_next().await.is_some() {}
    if let Ok(mut state) = daemon.state.lock() {
        *state = "stopped";
    }
    daemon.write_status(&settings.data_dir).await;
    store.close().await;
    info!("faxgate stopped");
    Ok(())
}

/// The admin endpoint: plain HTTP/1.1, one request per connection.
async fn admin(
    listener: tokio::net::TcpListener,
    daemon: Arc<Daemon>,
    stop: watch::Receiver<bool>,
) {
    let stop_accepting = crate::intake::stopped(stop);
    tokio::pin!(stop_accepting);
    loop {
        let stream = tokio::select! {
            () = &mut stop_accepting => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    warn!(%error, "admin endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let daemon = daemon.clone();
        tokio::spawn(async move {
            let answered =
                tokio::time::timeout(Duration::from_secs(10), answer(stream, &daemon)).await;
            if let Ok(Err(error)) = answered {
                warn!(%error, "admin endpoint: request failed");
            }
        });
    }
}

async fn answer(mut stream: tokio::net::TcpStream, daemon: &Daemon) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    // Only the head is read: the endpoint takes no bodies.
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&request);
    let mut words = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let path = target.split('?').next().unwrap_or_default();
    let (status, kind, body) = match (method, path) {
        ("GET", "/status") => {
            let snapshot = daemon.snapshot().await;
            ("200 OK", "application/json", format!("{snapshot:#}\n"))
        }
        ("GET", "/metrics") => {
            let snapshot = daemon.snapshot().await;
            ("200 OK", "text/plain; version=0.0.4", metrics(&snapshot))
        }
        ("GET", _) => (
            "404 Not Found",
            "text/plain",
            "try /status or /metrics\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_owned(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Runs `faxgate status`: prints the snapshot `faxgate serve` last wrote.
pub fn status(args: &StatusArgs) -> anyhow::Result<bool> {
    let config = Config::load(args.config.as_deref())?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| data_dir_of(&config));
    let path = data_dir.join("status.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (is faxgate serve running with this data directory?)",
            path.display()
        )
    })?;
    let snapshot: Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a status file", path.display()))?;
    if args.json {
        println!("{snapshot:#}");
        return Ok(true);
    }
    let text = |value: &Value| match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    println!(
        "faxgate {} (pid {}), since {}, as of {}",
        text(&snapshot["state"]),
        text(&snapshot["pid"]),
        text(&snapshot["started_at"]),
        text(&snapshot["updated_at"])
    );
    let smtp = &snapshot["intakes"]["smtp"];
    if !smtp.is_null() {
        println!(
            "SMTP intake {}: {} message(s) taken in, {} refused, last error {}",
            text(&smtp["listening"]),
            text(&smtp["messages_accepted"]),
            text(&smtp["messages_refused"]),
            text(&smtp["last_error"])
        );
    }
    let mailbox = &snapshot["intakes"]["mailbox"];
    if !mailbox.is_null() {
        println!(
            "mailbox {}: {} poll(s), {} stored, last error {}",
            text(&mailbox["mailbox"]),
            text(&mailbox["polls"]),
            text(&mailbox["stored"]),
            text(&mailbox["last_error"])
        );
    }
    for line in snapshot["lines"].as_array().into_iter().flatten() {
        println!(
            "line {} ({}): {} of {} channel(s) busy, {} call(s)",
            text(&line["name"]),
            text(&line["kind"]),
            text(&line["busy"]),
            text(&line["channels"]),
            text(&line["calls"])
        );
    }
    println!(
        "queue: {} waiting, {} in a call; {} page(s) sent",
        text(&snapshot["queue"]["queued"]),
        text(&snapshot["queue"]["active"]),
        text(&snapshot["pages_sent"])
    );
    if let Some(results) = snapshot["deliveries"].as_object()
        && !results.is_empty()
    {
        let list: Vec<String> = results.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("deliveries: {}", list.join(", "));
    }
    for error in snapshot["last_errors"].as_array().into_iter().flatten() {
        println!(
            "error {} {}: {}",
            text(&error["at"]),
            text(&error["source"]),
            text(&error["error"])
        );
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The metric lines of `text` that start with `name{`.
    fn lines<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        let prefix = format!("{name}{{");
        text.lines()
            .filter(|line| line.starts_with(&prefix))
            .collect()
    }

    /// Requests count fax requests made (by source), not messages: a mail dropped or
    /// answered with a problem receipt is a message with its verdict, and no request.
    #[test]
    fn requests_count_fax_requests_and_messages_count_mail_by_verdict() {
        let stats = Stats::default();
        stats.message_taken("smtp", "accepted");
        stats.request_made("email");
        stats.message_taken("smtp", "unauthorized");
        stats.message_taken("mailbox", "bad-subject");
        stats.message_taken("mailbox", "accepted");
        stats.request_made("email");
        stats.message_taken("mailbox", "duplicate");
        stats.request_made("cli");
        let counters = stats.counters();
        let snapshot = json!({
            "requests": counters.requests,
            "messages": counters.messages_json(),
        });
        let text = metrics(&snapshot);
        assert!(
            text.contains("# TYPE faxgate_requests_total counter\n"),
            "{text}"
        );
        assert_eq!(
            lines(&text, "faxgate_requests_total"),
            [
                "faxgate_requests_total{source=\"email\"} 2",
                "faxgate_requests_total{source=\"cli\"} 1",
            ]
        );
        assert!(
            text.contains("# TYPE faxgate_messages_total counter\n"),
            "{text}"
        );
        assert_eq!(
            lines(&text, "faxgate_messages_total"),
            [
                "faxgate_messages_total{intake=\"mailbox\",verdict=\"accepted\"} 1",
                "faxgate_messages_total{intake=\"mailbox\",verdict=\"bad-subject\"} 1",
                "faxgate_messages_total{intake=\"mailbox\",verdict=\"duplicate\"} 1",
                "faxgate_messages_total{intake=\"smtp\",verdict=\"accepted\"} 1",
                "faxgate_messages_total{intake=\"smtp\",verdict=\"unauthorized\"} 1",
            ]
        );
    }

    /// A request made while the worker was busy is not lost: its next wait for new
    /// requests returns at once.
    #[tokio::test]
    async fn a_request_made_wakes_the_worker() {
        let stats = Stats::default();
        stats.request_made("email");
        // A guard against a hang, not a measurement: a stored wake-up returns at once.
        tokio::time::timeout(Duration::from_secs(60), stats.new_request())
            .await
            .expect("woken by the request");
    }

    /// A delivery ended while the receipt sender was mid-pass is not lost: its next
    /// wait returns at once instead of after its timed interval.
    #[tokio::test]
    async fn mail_that_may_be_due_wakes_the_receipt_sender() {
        let stats = Stats::default();
        stats.mail_may_be_due();
        // A guard against a hang, not a measurement: a stored wake-up returns at once.
        tokio::time::timeout(Duration::from_secs(60), stats.mail_due())
            .await
            .expect("woken by the ended delivery");
    }

    /// A daemon that has made no request yet still shows both sources at zero, so a
    /// rate over the counter starts from the first scrape.
    #[test]
    fn request_counters_start_at_zero() {
        let text = metrics(&json!({}));
        assert_eq!(
            lines(&text, "faxgate_requests_total"),
            [
                "faxgate_requests_total{source=\"email\"} 0",
                "faxgate_requests_total{source=\"cli\"} 0",
            ]
        );
        assert!(lines(&text, "faxgate_messages_total").is_empty());
    }
}
