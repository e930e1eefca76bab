//! `faxgate job work`: the scheduler's worker. It claims due jobs for its lines (each
//! line's channel limit holds across every worker and node, because the store counts
//! a line's open calls when claiming), keeps each claim's lease alive while the call
//! runs, and records the result, which the retry policy turns into the next call or a
//! final state.
//!
//! Line drivers: `t38` calls the line's T.38 far end with the call of `faxgate fax
//! send --t38`; `record` is a dry run that dials nobody and appends each call to a
//! file. Before a T.38 call the request's documents are rendered to a fax TIFF once
//! with the `[render]` settings, header line included (a blob shared by every
//! recipient and retry); a cover page, when asked for, is drawn per recipient at call
//! time and sent first. A job addressed to a fax ID of
//! this server is filed in that user's inbox without a call and mailed to the user as
//! a PDF (queued with the filing, sent by the mail sender of `faxgate serve`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use fax_address::AddressSettings;
use fax_queue::{
    AttemptReport, BlobRef, BlobStore, CallOutcome, Claim, DeliveryFilter, DeliveryState,
    InboxEntry, NewOutgoing, OutcomeClass, Store, UserKey,
};
use serde_json::{Value, json};
use tokio::sync::{Mutex, watch};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::config::{Config, LineConfig, LineKind};
use crate::fax_cmd::{self, CallControl, CallEnd, Local};
use crate::queue_cmd::{QueueSettings, now};

/// `faxgate job work` options.
#[derive(Debug, clap::Args)]
pub struct WorkArgs {
    /// The line to work, a [[line]] of the config file (or any name with --driver
    /// record). Without it, every configured line is worked, each with its channels
    /// (with --driver record, as dry runs).
    #[arg(long)]
    line: Option<String>,
    /// How many calls the line carries at once [default: the line's channels in the
    /// config, or 1].
    #[arg(long)]
    channels: Option<u32>,
    /// This worker's name in leases and attempts (default: host name and process id).
    #[arg(long)]
    worker: Option<String>,
    /// Claim once, finish those calls, and exit.
    #[arg(long, conflicts_with = "until_idle")]
    once: bool,
    /// Exit when no job is waiting or running any more.
    #[arg(long)]
    until_idle: bool,
    /// The lease, overriding [scheduler] lease_seconds.
    #[arg(long, value_name = "SECONDS")]
    lease_seconds: Option<u64>,
    /// The line driver [default: the configured line's kind; record with
    /// --record-file]. `t38`: calls the line's T.38 far end. `record`: a dry-run line
    /// that calls nobody and appends one JSON line per call event to --record-file.
    #[arg(long, value_enum)]
    driver: Option<DriverKind>,
    /// Where the record driver writes.
    #[arg(long, value_name = "FILE", required_if_eq("driver", "record"))]
    record_file: Option<PathBuf>,
    /// How long each recorded call takes.
    #[arg(long, value_name = "MILLISECONDS", default_value_t = 0)]
    call_ms: u64,
    /// With the record driver, the receiver confirms one page every this many
    /// milliseconds from the start of the call, until the job's pages are all
    /// confirmed or the call ends (0: pages count only when the call ends).
    #[arg(long, value_name = "MILLISECONDS", default_value_t = 0)]
    page_ms: u64,
    /// How each recorded call ends: sent, busy, no-answer, rejected, invalid-number,
    /// fax-failure, incompatible, line-down.
    #[arg(long, value_name = "CLASS", default_value = "sent")]
    outcome: OutcomeClass,
}

/// Line drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriverKind {
    /// A dry-run line: records calls, dials nobody.
    Record,
    /// T.38 to the line's far end (UDPTL over UDP).
    T38,
}

/// What every call of this worker shares.
struct WorkerContext {
    store: Store,
    blobs: BlobStore,
    address: AddressSettings,
    lease: Duration,
    /// Where documents are unpacked for rendering: inside the data directory, which only
    /// faxgate reads, since faxes often carry private data.
    scratch_dir: PathBuf,
    /// The data directory: virtual lines file what they receive under it.
    data_dir: PathBuf,
    /// One rendering at a time in this worker: two channels starting recipients of one
    /// request render it once, and converters do not compete for memory. It guards the
    /// renderings made lately, for requests of the same documents.
    render_lock: Mutex<RenderCache>,
    /// Counters for `faxgate serve`'s status and metrics.
    stats: Arc<crate::serve::Stats>,
    /// The gateway's address, the From of the mail that hands an inbox fax to its
    /// owner.
    mail_from: String,
    /// Turns true when the calls still running are to be handed back (shutdown after
    /// the grace period): they hang up and their claims are released.
    handback: watch::Sender<bool>,
    /// `[render]`: page geometry, fonts, limits, header line and cover page.
    render: fax_render::RenderConfig,
}

#[derive(Debug, Clone)]
enum Driver {
    Record(RecordLine),
    T38(Arc<LineConfig>),
}

struct Line {
    name: String,
    channels: u32,
    driver: Driver,
    busy: u32,
}

fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}

fn lines(config: &Config, args: &WorkArgs) -> anyhow::Result<Vec<Line>> {
    if let Some(channels) = args.channels
        && channels == 0
    {
        bail!("--channels must be at least 1");
    }
    let record = match (args.driver, &args.record_file) {
        (Some(DriverKind::Record), _) | (None, Some(_)) => Some(RecordLine {
            file: args.record_file.clone().unwrap_or_default(),
            call_time: Duration::from_millis(args.call_ms),
            page_time: Duration::from_millis(args.page_ms),
            outcome: args.outcome,
        }),
        _ => None,
    };
    let configured = |name: &str| config.lines.iter().find(|line| line.name == name);
    let line_of = |line: &LineConfig| Line {
        name: line.name.clone(),
        channels: args.channels.unwrap_or(line.channels),
        driver: match line.kind {
            // A virtual line is a T.38 line whose far end is started for each call.
            LineKind::T38 | LineKind::Virtual => Driver::T38(Arc::new(line.clone())),
        },
        busy: 0,
    };
    let record_line = |line: &LineConfig, record: &RecordLine| Line {
        name: line.name.clone(),
        channels: args.channels.unwrap_or(line.channels),
        driver: Driver::Record(record.clone()),
        busy: 0,
    };
    match (&args.line, record) {
        (Some(name), Some(record)) => Ok(vec![Line {
            name: name.clone(),
            channels: args
                .channels
                .or_else(|| configured(name).map(|line| line.channels))
                .unwrap_or(1),
            driver: Driver::Record(record),
            busy: 0,
        }]),
        (None, Some(_)) if config.lines.is_empty() => {
            bail!("--driver record needs --line NAME, or [[line]] sections in the config file")
        }
        // A dry run of the configured lines: their names and channels, nobody called.
        (None, Some(record)) => Ok(config
            .lines
            .iter()
            .map(|line| record_line(line, &record))
            .collect()),
        (Some(name), None) => match configured(name) {
            Some(line) => Ok(vec![line_of(line)]),
            None => bail!(
                "no [[line]] named {name:?} in the config file (--driver record works any \
                 name as a dry run)"
            ),
        },
        (None, None) if config.lines.is_empty() => {
            bail!(
                "the config file has no [[line]]: give --config FILE, or --line NAME --driver record"
            )
        }
        (None, None) => Ok(config.lines.iter().map(line_of).collect()),
    }
}

/// Runs `faxgate job work`.
pub async fn work(
    store: &Store,
    settings: &QueueSettings,
    config: &Config,
    args: &WorkArgs,
) -> anyhow::Result<bool> {
    let lease = match args.lease_seconds {
        Some(seconds) if !(1..=3600).contains(&seconds) => {
            bail!("--lease-seconds must be between 1 and 3600")
        }
        Some(seconds) => Duration::from_secs(seconds),
        None => settings.lease,
    };
    let mut lines = lines(config, args)?;
    let context = Arc::new(WorkerContext {
        store: store.clone(),
        blobs: BlobStore::open(settings.blob_dir())?,
        address: AddressSettings::new(&config.address).context("[address]")?,
        lease,
        scratch_dir: settings.data_dir.join("tmp"),
        data_dir: settings.data_dir.clone(),
        render_lock: Mutex::default(),
        stats: Arc::default(),
        mail_from: config.smtp.from.clone(),
        handback: watch::channel(false).0,
        render: config.render.clone(),
    });
    let worker = args.worker.clone().unwrap_or_else(worker_name);
    let recovered = store
        .recover_expired(now())
        .await
        .context("taking back jobs of workers that died")?;
    if !recovered.is_empty() {
        info!(
            count = recovered.len(),
            "took back jobs of workers that died"
        );
    }
    let mut calls = tokio::task::JoinSet::new();
    loop {
        let mut claimed = false;
        for (index, line) in lines.iter_mut().enumerate() {
            if line.busy >= line.channels {
                continue;
            }
            let claims = store
                .claim(&line.name, line.channels, &worker, lease, now())
                .await
                .with_context(|| format!("claiming jobs for line {}", line.name))?;
            for claim in claims {
                claimed = true;
                line.busy += 1;
                let span = info_span!(
                    "job",
                    job_id = claim.delivery.id.0,
                    call_id = claim.attempt.0,
                    line = %claim.line
                );
                let call = run_call(context.clone(), claim, line.driver.clone());
                calls.spawn(async move { (index, call.await) }.instrument(span));
            }
        }
        if args.once {
            while let Some(done) = calls.join_next().await {
                done.context("a call task failed")?.1?;
            }
            return Ok(true);
        }
        while let Some(done) = calls.try_join_next() {
            let (index, result) = done.context("a call task failed")?;
            lines[index].busy = lines[index].busy.saturating_sub(1);
            result?;
        }
        if !claimed {
            if args.until_idle && calls.is_empty() && is_idle(store).await? {
                return Ok(true);
            }
            // Wait for a call to end or for the next poll, whichever is first.
            tokio::select! {
                Some(done) = calls.join_next(), if !calls.is_empty() => {
                    let (index, result) = done.context("a call task failed")?;
                    lines[index].busy = lines[index].busy.saturating_sub(1);
                    result?;
                }
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }
}

/// The worker of `faxgate serve`: works `lines` until `shutdown` turns true, then
/// claims nothing more, lets the calls in progress finish for up to `grace`, and hands
/// back the ones still running. A failing store is logged and tried again.
pub async fn serve(
    store: &Store,
    settings: &QueueSettings,
    config: &Config,
    line_configs: &[LineConfig],
    stats: Arc<crate::serve::Stats>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) -> anyhow::Result<()> {
    let mut lines: Vec<Line> = line_configs
        .iter()
        .map(|line| Line {
            name: line.name.clone(),
            channels: line.channels,
            driver: Driver::T38(Arc::new(line.clone())),
            busy: 0,
        })
        .collect();
    let context = Arc::new(WorkerContext {
        store: store.clone(),
        blobs: BlobStore::open(settings.blob_dir())?,
        address: AddressSettings::new(&config.address).context("[address]")?,
        lease: settings.lease,
        scratch_dir: settings.data_dir.join("tmp"),
        data_dir: settings.data_dir.clone(),
        render_lock: Mutex::default(),
        stats: stats.clone(),
        mail_from: config.smtp.from.clone(),
        handback: watch::channel(false).0,
        render: config.render.clone(),
    });
    let worker = worker_name();
    let mut calls = tokio::task::JoinSet::new();
    let ended =
        |stats: &crate::serve::Stats,
         lines: &mut [Line],
         done: Result<(usize, anyhow::Result<()>), tokio::task::JoinError>| {
            match done {
                Ok((index, result)) => {
                    lines[index].busy = lines[index].busy.saturating_sub(1);
                    stats.set_busy(&lines[index].name, lines[index].busy);
                    if let Err(error) = result {
                        warn!(error = %format!("{error:#}"), "a call's record failed");
                        stats.error("worker", format!("{error:#}"));
                    }
                }
                Err(error) => stats.error("worker", format!("a call task failed: {error}")),
            }
        };
    for line in &lines {
        stats.set_busy(&line.name, 0);
    }
    while !*shutdown.borrow() {
        let mut claimed = false;
        for (index, line) in lines.iter_mut().enumerate() {
            if line.busy >= line.channels {
                continue;
            }
            let claims = match store
                .claim(&line.name, line.channels, &worker, context.lease, now())
                .await
            {
                Ok(claims) => claims,
                Err(error) => {
                    warn!(line = %line.name, error = %error, "claiming jobs failed");
                    stats.error(
                        "worker",
                        format!("claiming jobs for {}: {error}", line.name),
                    );
                    continue;
                }
            };
            for claim in claims {
                claimed = true;
                line.busy += 1;
                stats.set_busy(&line.name, line.busy);
                let span = info_span!(
                    "call",
                    request = claim.delivery.request.0,
                    job_id = claim.delivery.id.0,
                    call_id = claim.attempt.0,
                    line = %claim.line
                );
                let call = run_call(context.clone(), claim, line.driver.clone());
                calls.spawn(async move { (index, call.await) }.instrument(span));
            }
        }
        while let Some(done) = calls.try_join_next() {
            ended(&stats, &mut lines, done);
        }
        if !claimed {
            tokio::select! {
                Some(done) = calls.join_next(), if !calls.is_empty() => {
                    ended(&stats, &mut lines, done);
                }
                _ = shutdown.changed() => {}
                // A request the intake just made is claimed at once; the poll finds
                // those of other processes (`faxgate send`, other nodes) and retries.
                () = stats.new_request() => {}
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }
    if !calls.is_empty() {
        info!(
            calls = calls.len(),
            grace_seconds = grace.as_secs(),
            "waiting for the calls in progress"
        );
    }
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        tokio::select! {
            done = calls.join_next() => match done {
                Some(done) => ended(&stats, &mut lines, done),
                None => break,
            },
            () = tokio::time::sleep_until(deadline) => {
                info!(calls = calls.len(), "grace period over: handing the calls back");
                context.handback.send_replace(true);
                while let Some(done) = calls.join_next().await {
                    ended(&stats, &mut lines, done);
                }
                break;
            }
        }
    }
    Ok(())
}

async fn is_idle(store: &Store) -> anyhow::Result<bool> {
    for state in [DeliveryState::Queued, DeliveryState::Active] {
        let filter = DeliveryFilter {
            state: Some(state),
            user: None,
            limit: 1,
        };
        if !store.deliveries(&filter).await?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// How a job ended on the line side.
enum Ended {
    /// A call was made (or could not be): record it.
    Call(AttemptReport),
    /// The job was for a user of this server: file it in their inbox.
    Inbox {
        user: fax_queue::UserId,
        entry: InboxEntry,
        /// The mail to the owner (recipient, message), queued with the filing.
        mail: Option<(String, Vec<u8>)>,
        report: AttemptReport,
    },
}

/// One job with its lease kept alive; the call is hung up as soon as the lease is lost
/// or the job is cancelled, so two nodes never call for one job at once. Pages the
/// receiver confirms are recorded as they come: if this process dies after the last
/// one, recovery knows the fax went through and does not send it again.
async fn run_call(context: Arc<WorkerContext>, claim: Claim, driver: Driver) -> anyhow::Result<()> {
    info!(
        from_page = claim.delivery.resume_page,
        attempt = claim.delivery.attempts,
        "job claimed"
    );
    let hang_up = Arc::new(AtomicBool::new(false));
    let (progress, mut confirmed) = watch::channel(0u32);
    let lease = context.lease;
    let call = job(
        context.clone(),
        claim.clone(),
        driver,
        hang_up.clone(),
        progress,
    );
    tokio::pin!(call);
    let renew_every = lease / 3;
    let mut next_renewal = tokio::time::Instant::now() + renew_every;
    let mut progress_open = true;
    let mut handback = context.handback.subscribe();
    let mut handing_back = *handback.borrow();
    let mut handback_open = true;
    let ended = loop {
        let pages = tokio::select! {
            ended = &mut call => break ended,
            changed = handback.changed(), if !handing_back && handback_open => {
                if changed.is_err() {
                    handback_open = false;
                } else if *handback.borrow_and_update() {
                    info!("shutting down: hanging up to hand the job back");
                    hang_up.store(true, Ordering::Relaxed);
                    handing_back = true;
                }
                continue;
            }
            changed = confirmed.changed(), if progress_open => {
                if changed.is_err() {
                    progress_open = false;
                    continue;
                }
                let pages = *confirmed.borrow_and_update();
                debug!(pages_confirmed = pages, "page confirmed");
                Some(pages)
            }
            () = tokio::time::sleep_until(next_renewal) => None,
        };
        next_renewal = tokio::time::Instant::now() + renew_every;
        match context.store.renew(&claim, lease, pages, now()).await {
            Ok(renewed) if renewed.cancel_requested => {
                if !hang_up.swap(true, Ordering::Relaxed) {
                    info!("job cancelled: hanging up");
                }
            }
            Ok(_) => {}
            Err(fax_queue::Error::LeaseLost(_)) => {
                hang_up.store(true, Ordering::Relaxed);
                warn!("lease lost: call abandoned, another worker has the job");
                return Ok(());
            }
            Err(error) => {
                hang_up.store(true, Ordering::Relaxed);
                return Err(error).context("renewing a lease");
            }
        }
    };
    // A job this worker cannot handle (its blob unreadable, say) is recorded as a
    // failed call, for the retry policy to judge, rather than ending the worker and
    // leaving the job to be taken back and fail the same way on every node.
    let ended = ended.unwrap_or_else(|error| {
        warn!(error = %format!("{error:#}"), "the job could not be worked");
        Ended::Call(no_call(
            OutcomeClass::LineDown,
            format!("this side could not work the job: {error:#}"),
        ))
    });
    let sent = matches!(&ended, Ended::Call(report) | Ended::Inbox { report, .. }
        if report.outcome.class == OutcomeClass::Sent);
    if handing_back && !sent {
        // Stopped by shutdown, not by the far end: the job goes back to the queue as it
        // was (with the pages confirmed so far), without counting as a failed try.
        context
            .store
            .release(&claim, now())
            .await
            .context("handing a job back")?;
        info!("job handed back");
        return Ok(());
    }
    let finished = match &ended {
        Ended::Call(report) => context.store.finish(&claim, report, now()).await,
        Ended::Inbox {
            user,
            entry,
            mail,
            report,
        } => {
            let mail = mail.as_ref().map(|(rcpt_to, message)| NewOutgoing {
                kind: "inbox",
                rcpt_to,
                message,
            });
            context
                .store
                .finish_to_inbox(&claim, *user, entry, mail.as_ref(), report, now())
                .await
        }
    };
    let report = match &ended {
        Ended::Call(report) | Ended::Inbox { report, .. } => report,
    };
    match finished {
        Ok(decision) => {
            context.stats.call_ended(&claim.line, report);
            context.stats.mail_may_be_due();
            info!(
                outcome = report.outcome.class.as_str(),
                pages_confirmed = report.outcome.pages_confirmed,
                bit_rate = report.bit_rate,
                t30_status = report.t30_code,
                decision = ?decision,
                "job call ended"
            );
            Ok(())
        }
        Err(fax_queue::Error::LeaseLost(_)) => {
            warn!("lease lost before the result was recorded");
            Ok(())
        }
        Err(error) => Err(error).context("recording a call's result"),
    }
}

/// What the line does with one claimed job.
async fn job(
    context: Arc<WorkerContext>,
    claim: Claim,
    driver: Driver,
    hang_up: Arc<AtomicBool>,
    progress: watch::Sender<u32>,
) -> anyhow::Result<Ended> {
    match driver {
        Driver::Record(line) => line
            .call(&claim, &hang_up, &progress)
            .await
            .map(Ended::Call),
        Driver::T38(line) => t38_job(&context, &claim, line, hang_up, progress).await,
    }
}

/// The mail that hands a fax filed in `user`'s inbox to them: recipient and message,
/// or `None` for a user with no address.
fn inbox_mail(
    context: &WorkerContext,
    claim: &Claim,
    user: &fax_queue::User,
    request: &fax_queue::Request,
    (tiff, pages): (&BlobRef, u32),
    at: fax_queue::Timestamp,
) -> anyhow::Result<Option<(String, Vec<u8>)>> {
    let Some(to) = user.emails.first() else {
        return Ok(None);
    };
    let content = context
        .blobs
        .get(tiff)
        .context("reading the rendered fax")?;
    let pdf = fax_tiff::tiff_to_pdf(&content).context("making the fax a PDF")?;
    let fax = claim.delivery.id.to_string();
    let message_id = crate::intake::new_message_id("inbox", &fax, &context.mail_from, at);
    let date = crate::intake::mail_date(at);
    let received = crate::queue_cmd::time_text(at);
    let message = mail_message::inbox::inbox_mail(&mail_message::inbox::InboxFax {
        from: &context.mail_from,
        to: to.as_str(),
        date: &date,
        message_id: &message_id,
        fax: &fax,
        sender: &request.sender,
        subject: Some(request.subject.as_str()).filter(|s| !s.is_empty()),
        pages,
        received: &received,
        language: match user.locale {
            fax_queue::Locale::Zh => mail_message::Language::Zh,
            fax_queue::Locale::En => mail_message::Language::En,
        },
        pdf: &pdf,
    });
    Ok(Some((to.as_str().to_owned(), message)))
}

/// A report for a job that ended without a fax session.
fn no_call(class: OutcomeClass, reason: String) -> AttemptReport {
    AttemptReport {
        outcome: CallOutcome {
            class,
            pages_confirmed: 0,
        },
        pages_total: None,
        bit_rate: None,
        ecm: None,
        remote_ident: None,
        t30_code: None,
        reason,
    }
}

/// Whom a destination names: a user of this server (by fax ID), or a number to dial.
enum Destination {
    User(fax_queue::User),
    Dial,
    Unknown(String),
}

async fn destination(context: &WorkerContext, destination: &str) -> anyhow::Result<Destination> {
    // A destination the address rules cannot read is dialled as written: the intake
    // checked it, and only the line knows what it can reach.
    let Ok(plan) = context
        .address
        .plan(destination, fax_address::Kind::International)
    else {
        return Ok(Destination::Dial);
    };
    let Some(recipient) = plan.recipients.first() else {
        return Ok(Destination::Dial);
    };
    let Some(fax_id) = recipient.fax_id() else {
        return Ok(Destination::Dial);
    };
    let key = match fax_id.as_str().parse() {
        Ok(fax_id) => UserKey::FaxId(fax_id),
        Err(_) => return Ok(Destination::Unknown(fax_id.as_str().to_owned())),
    };
    match context.store.user(&key).await {
        Ok(user) => Ok(Destination::User(user)),
        Err(fax_queue::Error::NotFound { .. }) if recipient.dial().is_some() => {
            Ok(Destination::Dial)
        }
        Err(fax_queue::Error::NotFound { .. }) => {
            Ok(Destination::Unknown(fax_id.as_str().to_owned()))
        }
        Err(error) => Err(error).context("looking up a fax ID"),
    }
}

/// A job on a T.38 line: the rendered fax to a fax ID's inbox, or a call.
async fn t38_job(
    context: &Arc<WorkerContext>,
    claim: &Claim,
    line: Arc<LineConfig>,
    hang_up: Arc<AtomicBool>,
    progress: watch::Sender<u32>,
) -> anyhow::Result<Ended> {
    let request = claim.delivery.request;
    let target = destination(context, &claim.delivery.destination).await?;
    if let Destination::Unknown(fax_id) = &target {
        return Ok(Ended::Call(no_call(
            OutcomeClass::InvalidNumber,
            format!("no user of this server has the fax ID {fax_id}, and no number was given"),
        )));
    }
    let (tiff, total_pages) = match rendered(context, claim).await {
        Ok(rendered) => rendered,
        Err(error) => {
            warn!(error = %format!("{error:#}"), "documents could not be rendered");
            return Ok(Ended::Call(no_call(
                OutcomeClass::Document,
                format!("the documents could not be made into fax pages: {error:#}"),
            )));
        }
    };
    if let Destination::User(user) = target {
        let detail = context.store.delivery_detail(claim.delivery.id).await?;
        let received_at = now();
        // The rendered pages are numbered with the cover counted ("Page 2/2" on a
        // one-page fax), so the inbox copy gets its cover too, addressed like a called
        // recipient's: the fax reads the same wherever it lands.
        let (tiff, total_pages) = if context.render.cover_page {
            match with_cover(context, claim, &user, &tiff).await {
                Ok(filed) => filed,
                Err(error) => {
                    warn!(error = %format!("{error:#}"), "the cover page could not be made");
                    return Ok(Ended::Call(no_call(
                        OutcomeClass::Document,
                        format!("the cover page could not be made: {error:#}"),
                    )));
                }
            }
        } else {
            (tiff, total_pages)
        };
        let mail = inbox_mail(
            context,
            claim,
            &user,
            &detail.request,
            (&tiff, total_pages),
            received_at,
        )
        .unwrap_or_else(|error| {
            // The fax is in the inbox either way; a mail that cannot be made must
            // not keep it from being filed.
            warn!(error = %format!("{error:#}"), "the inbox fax could not be mailed");
            None
        });
        info!(
            pages = total_pages,
            mailed = mail.is_some(),
            "filed in the inbox of a fax ID"
        );
        return Ok(Ended::Inbox {
            user: user.id,
            entry: InboxEntry {
                received_at,
                sender: detail.request.sender,
                tiff,
                pages: total_pages,
            },
            mail,
            report: AttemptReport {
                outcome: CallOutcome {
                    class: OutcomeClass::Sent,
                    pages_confirmed: total_pages.saturating_sub(claim.delivery.resume_page),
                },
                pages_total: Some(total_pages.saturating_sub(claim.delivery.resume_page)),
                bit_rate: None,
                ecm: None,
                remote_ident: None,
                t30_code: None,
                reason: format!("filed in the inbox of {} (no call)", user.fax_id),
            },
        });
    }
    let content = context
        .blobs
        .get(&tiff)
        .context("reading the rendered fax")?;
    let mut pages =
        fax_pages(&content).with_context(|| format!("request {request}: rendered fax"))?;
    if context.render.cover_page {
        // Made per recipient, in front of the pages shared by every recipient; the
        // resume page counts it, so a call resuming past it does not send it again.
        match recipient_cover(context, claim, &pages, Vec::new()).await {
            Ok(page) => pages.insert(0, page),
            Err(error) => {
                warn!(error = %format!("{error:#}"), "the cover page could not be made");
                return Ok(Ended::Call(no_call(
                    OutcomeClass::Document,
                    format!("the cover page could not be made: {error:#}"),
                )));
            }
        }
    }
    let from = usize::try_from(claim.delivery.resume_page).unwrap_or(usize::MAX);
    if from >= pages.len() {
        // Every page was confirmed by an earlier call.
        return Ok(Ended::Call(AttemptReport {
            outcome: CallOutcome {
                class: OutcomeClass::Sent,
                pages_confirmed: 0,
            },
            pages_total: Some(0),
            ..no_call(
                OutcomeClass::Sent,
                "every page was already confirmed".to_owned(),
            )
        }));
    }
    let pages = pages.split_off(from);
    let sending = u32::try_from(pages.len()).unwrap_or(u32::MAX);
    let mut answering = None;
    let remote = match line.kind {
        LineKind::Virtual => {
            let terminal = crate::virtual_line::Terminal::start(&context.data_dir, &line, claim)?;
            let address = terminal.address().to_string();
            answering = Some(terminal);
            address
        }
        LineKind::T38 => match line.remote.clone() {
            Some(remote) => remote,
            None => bail!("line {}: no remote address", line.name),
        },
    };
    let local = Local::Bind(line.local_bind.clone());
    let options = line.call_options();
    debug!(pages = sending, from_page = from, %remote, "calling");
    let span = tracing::Span::current();
    let call = tokio::task::spawn_blocking(move || {
        let _call = span.enter();
        // The moment the call goes out, for latency figures (mail landed -> call):
        // send_pages binds its socket and sends the first T.38 packet (CNG) straight
        // away, with nothing to wait for in between.
        info!(call_placed = true, pages = sending, "placing the call");
        let mut on_progress = |pages: u32| {
            // The worker gone means the job is over anyway.
            let _ = progress.send(pages);
        };
        fax_cmd::send_pages(
            pages,
            &remote,
            &local,
            &options,
            Some(CallControl {
                on_progress: &mut on_progress,
                hang_up: &hang_up,
            }),
        )
    });
    let end = call.await.context("the call's thread failed")?;
    if let Some(terminal) = answering {
        // What the far end filed is its own business: a failure there shows in the
        // call's outcome, and is logged.
        // A caller that never got through, or hung up, leaves the terminal nothing
        // to wait for.
        let abandon = end
            .as_ref()
            .map_or(true, |end| !end.heard_far_end || end.hung_up);
        match terminal.finish(abandon).await {
            Ok(Some(filed)) => info!(file = %filed.display(), "the virtual line filed the fax"),
            Ok(None) => {}
            Err(error) => {
                warn!(error = %format!("{error:#}"), "the virtual line's terminal failed")
            }
        }
    }
    let end = match end {
        Ok(end) => end,
        Err(error) => {
            return Ok(Ended::Call(AttemptReport {
                pages_total: Some(sending),
                ..no_call(
                    OutcomeClass::LineDown,
                    format!("the call could not be placed: {error:#}"),
                )
            }));
        }
    };
    Ok(Ended::Call(call_report(&end, sending)))
}

/// The cover page for this claim's recipient, drawn now in front of `pages`: the
/// destination's names (else `fallback_names`), the request's sender, the page count
/// with the cover.
async fn recipient_cover(
    context: &WorkerContext,
    claim: &Claim,
    pages: &[fax_t4::Bitmap],
    fallback_names: Vec<String>,
) -> anyhow::Result<fax_t4::Bitmap> {
    let detail = context.store.delivery_detail(claim.delivery.id).await?;
    let sender = sender_name(context, &detail.request).await;
    let date_time = fax_render::annotate::DateTime::from_unix(
        now().millis().div_euclid(1000),
        context.render.utc_offset_minutes,
    );
    let mut cover = cover_text(
        context,
        &claim.delivery.destination,
        &sender,
        pages.len(),
        date_time,
    );
    if cover.to.is_empty() {
        cover.to = fallback_names;
    }
    let render = context.render.clone();
    let resolution = pages
        .first()
        .map_or(fax_t4::Resolution::FINE, |page| page.resolution());
    tokio::task::spawn_blocking(move || cover_page(&render, &cover, &sender, resolution))
        .await
        .context("the cover page's thread failed")?
}

/// The inbox copy of the rendered fax `tiff` for `user`: their cover page in front,
/// stored as a blob of its own. Returns it and its page count.
async fn with_cover(
    context: &WorkerContext,
    claim: &Claim,
    user: &fax_queue::User,
    tiff: &BlobRef,
) -> anyhow::Result<(BlobRef, u32)> {
    let content = context
        .blobs
        .get(tiff)
        .context("reading the rendered fax")?;
    let mut pages = fax_pages(&content)?;
    // A fax ID written without names is addressed to the account's owner.
    let owner = std::iter::once(user.display_name.clone())
        .filter(|name| !name.is_empty())
        .collect();
    let cover = recipient_cover(context, claim, &pages, owner).await?;
    pages.insert(0, cover);
    let count = u32::try_from(pages.len()).unwrap_or(u32::MAX);
    let filed = tokio::task::spawn_blocking(move || {
        // MMR: what the rendered fax is stored in, and the most compact.
        fax_tiff::write(
            &pages,
            fax_tiff::PageEncoding::Ccitt(fax_t4::Scheme::Mmr),
            &fax_tiff::WriteOptions::default(),
        )
    })
    .await
    .context("the inbox copy's thread failed")?
    .context("writing the inbox copy")?;
    let blob = context
        .blobs
        .put(&filed)
        .context("storing the inbox copy")?;
    Ok((blob, count))
}

/// The attempt record of a T.38 call.
fn call_report(end: &CallEnd, sending: u32) -> AttemptReport {
    let outcome = &end.outcome;
    let settings = outcome.settings;
    let text = match &outcome.detail {
        Some(detail) if outcome.status != fax_t30::Status::Ok => {
            format!("{} ({detail})", outcome.status.text())
        }
        _ => outcome.status.text().to_string(),
    };
    let (class, reason) = if end.hung_up {
        (
            OutcomeClass::Interrupted,
            "hung up: the job was cancelled".to_owned(),
        )
    } else if !end.heard_far_end && end.refused {
        (
            OutcomeClass::LineDown,
            // The call's own words name the address that refused.
            outcome.detail.clone().unwrap_or_else(|| {
                "the T.38 far end refused the call (nothing listening there)".to_owned()
            }),
        )
    } else if !end.heard_far_end {
        (
            OutcomeClass::NoAnswer,
            format!("no answer: nothing came back from the T.38 far end ({text})"),
        )
    } else {
        (OutcomeClass::from_t30(outcome.status), text)
    };
    AttemptReport {
        outcome: CallOutcome {
            class,
            pages_confirmed: outcome.pages.min(sending),
        },
        pages_total: Some(sending),
        bit_rate: settings.map(|s| s.rate.bps),
        ecm: settings.map(|s| s.ecm.is_some()),
        remote_ident: outcome.remote_ident.clone().filter(|s| !s.is_empty()),
        t30_code: end.heard_far_end.then(|| outcome.status.code()),
        reason,
    }
}

/// The pages of a fax TIFF.
fn fax_pages(content: &[u8]) -> anyhow::Result<Vec<fax_t4::Bitmap>> {
    let reader = fax_tiff::Reader::new(content).context("not a usable TIFF")?;
    let mut pages = Vec::with_capacity(reader.page_count());
    for index in 0..reader.page_count() {
        let page = reader
            .decode_page(index)
            .with_context(|| format!("page {}", index + 1))?;
        pages.push(page.bitmap);
    }
    if pages.is_empty() {
        bail!("no pages");
    }
    Ok(pages)
}

/// Renderings this worker made lately, by what decides their pixels: the same documents
/// with the same `[render]` settings and header sender, in the same minute (the header
/// line shows it), make the same fax. A request like an earlier one (the same form
/// mailed again and again) takes that blob instead of converting again.
#[derive(Debug, Default)]
struct RenderCache {
    entries: std::collections::HashMap<String, (BlobRef, u32)>,
}

/// Entries kept before the cache starts afresh: renderings are reused within minutes,
/// so a small bound loses little.
const RENDER_CACHE_ENTRIES: usize = 256;

impl RenderCache {
    /// The key of `documents` rendered with `render` for `sender` at `at`.
    fn key(
        render: &fax_render::RenderConfig,
        sender: &str,
        documents: &[fax_queue::Document],
        at: fax_queue::Timestamp,
    ) -> String {
        let minute = if render.header {
            at.millis().div_euclid(60_000).to_string()
        } else {
            String::new()
        };
        let mut key = minute;
        for word in convert_argv(render, sender, Path::new("-")) {
            key.push('\0');
            key.push_str(&word.to_string_lossy());
        }
        for document in documents {
            key.push('\n');
            key.push_str(document.blob.as_str());
            key.push('\0');
            key.push_str(&document.name);
        }
        key
    }

    fn insert(&mut self, key: String, rendered: (BlobRef, u32)) {
        if self.entries.len() >= RENDER_CACHE_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(key, rendered);
    }
}

/// The request's documents as one fax TIFF (blob) and its page count: rendered by the
/// first job of the request that needs them, then reused by every recipient and retry
/// (and by a later request of the same documents, see [`RenderCache`]).
async fn rendered(context: &Arc<WorkerContext>, claim: &Claim) -> anyhow::Result<(BlobRef, u32)> {
    let request = claim.delivery.request;
    let mut cache = context.render_lock.lock().await;
    if let Some(rendered) = context.store.rendered(request).await? {
        debug!(blob = %rendered.0, "reusing the rendered fax");
        return Ok(rendered);
    }
    let detail = context.store.delivery_detail(claim.delivery.id).await?;
    let sender = sender_name(context, &detail.request).await;
    let key = RenderCache::key(&context.render, &sender, &detail.request.documents, now());
    let (stored, ours) = if let Some((blob, pages)) = cache.entries.get(&key).cloned() {
        let stored = context.store.set_rendered(request, &blob, pages).await?;
        info!(pages = stored.1, blob = %stored.0, cached = true, "documents rendered");
        let ours = stored.0 == blob;
        (stored, ours)
    } else {
        let mut documents = Vec::with_capacity(detail.request.documents.len());
        for document in &detail.request.documents {
            let content = context
                .blobs
                .get(&document.blob)
                .with_context(|| format!("reading document {:?}", document.name))?;
            documents.push((document.name.clone(), content));
        }
        if documents.is_empty() {
            bail!("the request has no documents");
        }
        let scratch = context.scratch_dir.join(format!(
            "faxgate-render-{}-{}",
            std::process::id(),
            request.0
        ));
        let started = std::time::Instant::now();
        let converted = tokio::task::spawn_blocking({
            let scratch = scratch.clone();
            let settings = context.render.clone();
            move || render(&scratch, &documents, &settings, &sender)
        })
        .await
        .context("the rendering thread failed");
        let _ = std::fs::remove_dir_all(&scratch);
        let tiff = converted??;
        context.stats.converted(started.elapsed());
        let pages = u32::try_from(fax_pages(&tiff)?.len()).unwrap_or(u32::MAX);
        let blob = context
            .blobs
            .put(&tiff)
            .context("storing the rendered fax")?;
        let stored = context.store.set_rendered(request, &blob, pages).await?;
        info!(pages = stored.1, blob = %stored.0, "documents rendered");
        cache.insert(key, stored.clone());
        let ours = stored.0 == blob;
        (stored, ours)
    };
    // Requests from the mail intakes are counted when they are made; the others are
    // made by another process (`faxgate send`), and counted once, by the node whose
    // rendering was kept.
    if ours && detail.request.source != fax_queue::Source::Email {
        context.stats.request_made(detail.request.source.as_str());
    }
    Ok(stored)
}

/// The sender as the header line and the cover page name them: the request's user's
/// display name, else the address the request came from.
async fn sender_name(context: &WorkerContext, request: &fax_queue::Request) -> String {
    if let Some(user) = request.user {
        match context.store.user(&UserKey::Id(user)).await {
            Ok(user) if !user.display_name.trim().is_empty() => return user.display_name,
            Ok(_) => {}
            Err(error) => {
                // The sender's address still says who sent it.
                debug!(error = %error, "the request's user could not be read");
            }
        }
    }
    request.sender.clone()
}

/// `faxgate convert`'s command line for the `[render]` settings: the worker renders
/// exactly as the command would with these options, so there is one conversion path.
fn convert_argv(
    render: &fax_render::RenderConfig,
    header_from: &str,
    output: &Path,
) -> Vec<std::ffi::OsString> {
    use fax_render::{OfficeSetting, PdfRendererSetting, ResolutionSetting};

    let mut argv: Vec<std::ffi::OsString> =
        vec!["convert".into(), "-o".into(), output.as_os_str().to_owned()];
    let mut option = |name: &str, value: String| {
        argv.push(format!("--{name}").into());
        argv.push(value.into());
    };
    option(
        "resolution",
        match render.resolution {
            ResolutionSetting::Fine => "fine",
            ResolutionSetting::Standard => "standard",
        }
        .into(),
    );
    option(
        "paper",
        match render.paper {
            fax_render::Paper::A4 => "a4",
            fax_render::Paper::Letter => "letter",
        }
        .into(),
    );
    option("margin-mm", render.margin_mm.to_string());
    option("font-size", render.font_size_pt.to_string());
    for family in &render.fonts {
        option("font", family.clone());
    }
    option("timeout", render.timeout_seconds.to_string());
    option("max-memory-mib", render.max_memory_mib.to_string());
    option("max-pages", render.max_pages.to_string());
    option(
        "office",
        match render.office {
            OfficeSetting::Auto => "auto",
            OfficeSetting::Warm => "warm",
            OfficeSetting::Cold => "cold",
        }
        .into(),
    );
    option(
        "pdf-renderer",
        match render.pdf_renderer {
            PdfRendererSetting::Auto => "auto",
            PdfRendererSetting::Poppler => "poppler",
            PdfRendererSetting::Ghostscript => "ghostscript",
        }
        .into(),
    );
    if render.header {
        option("header-from", header_from.to_owned());
        option("header-number", render.header_number.clone());
        option("header-font-size", render.header_font_size_pt.to_string());
        option("utc-offset-minutes", render.utc_offset_minutes.to_string());
        // The cover page is made per recipient at call time, in front of these pages.
        option(
            "header-pages-before",
            usize::from(render.cover_page).to_string(),
        );
    }
    for path in &render.font_paths {
        argv.push("--font-path".into());
        argv.push(path.as_os_str().to_owned());
    }
    argv
}

/// `faxgate convert`'s arguments, parsed as the command line would be.
#[derive(clap::Parser)]
struct Convert {
    #[command(flatten)]
    args: crate::ConvertArgs,
}

/// Renders documents with `faxgate convert` and the `[render]` settings, in `scratch`.
fn render(
    scratch: &Path,
    documents: &[(String, Vec<u8>)],
    render: &fax_render::RenderConfig,
    header_from: &str,
) -> anyhow::Result<Vec<u8>> {
    use clap::Parser;

    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let output = scratch.join("fax.tif");
    let mut argv = convert_argv(render, header_from, &output);
    for (index, (name, content)) in documents.iter().enumerate() {
        // The sender's file name only as a hint (converters read the content); never
        // as a path.
        let extension = Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .filter(|e| e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or("bin");
        let path = scratch.join(format!("document-{index}.{extension}"));
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        argv.push(path.into_os_string());
    }
    let convert = Convert::try_parse_from(argv).context("conversion settings")?;
    crate::convert::run(&convert.args)?;
    std::fs::read(&output).with_context(|| format!("reading {}", output.display()))
}

/// What the cover page for one recipient says: the names of the destination's Subject
/// entry (`number|FAXID/Name1|Name2`), the sender, and the pages of the whole fax.
fn cover_text(
    context: &WorkerContext,
    destination: &str,
    sender: &str,
    document_pages: usize,
    date_time: fax_render::annotate::DateTime,
) -> fax_render::annotate::Cover {
    let names = context
        .address
        .plan(destination, fax_address::Kind::International)
        .ok()
        .and_then(|plan| plan.recipients.into_iter().next())
        .map(|recipient| recipient_names(&recipient))
        .unwrap_or_default();
    fax_render::annotate::Cover {
        to: names,
        from: sender.to_owned(),
        from_number: context.render.header_number.clone(),
        date_time: Some(date_time),
        pages: document_pages + 1,
        note: String::new(),
    }
}

/// The recipient's names as the cover page prints them: Name1 and Name2, those given.
fn recipient_names(recipient: &fax_address::Recipient) -> Vec<String> {
    [recipient.name1(), recipient.name2()]
        .into_iter()
        .flatten()
        .map(|name| name.as_str().to_owned())
        .collect()
}

/// The cover page for one recipient, with the header line as page 1 when headers are
/// on, at the resolution of the document's first page.
fn cover_page(
    render: &fax_render::RenderConfig,
    cover: &fax_render::annotate::Cover,
    header_from: &str,
    resolution: fax_t4::Resolution,
) -> anyhow::Result<fax_t4::Bitmap> {
    use fax_render::annotate;

    let (fonts, _notes) = crate::render_edge::find_fonts(&render.fonts, &render.font_paths)?;
    let setup = fax_render::PageSetup {
        resolution,
        ..render.page_setup()
    };
    let mut pages = annotate::cover_page(cover, &fonts, &setup)
        .context("the cover page")?
        .pages;
    if render.header {
        let header = annotate::Header {
            date_time: cover
                .date_time
                .unwrap_or_else(|| annotate::DateTime::from_unix(0, 0)),
            sender_name: header_from.to_owned(),
            sender_number: render.header_number.clone(),
            font_size_pt: render.header_font_size_pt,
        };
        annotate::stamp_headers_numbered(&mut pages, &header, &fonts, 1, cover.pages)
            .context("the cover page's header line")?;
    }
    pages.into_iter().next().context("no cover page was drawn")
}

/// The dry-run line: one JSON line per event, flushed at once so a killed worker's
/// record is complete up to the kill.
#[derive(Debug, Clone)]
struct RecordLine {
    file: PathBuf,
    call_time: Duration,
    /// One page confirmed every this long (zero: none during the call).
    page_time: Duration,
    outcome: OutcomeClass,
}

impl RecordLine {
    fn append(&self, event: &Value) -> anyhow::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .with_context(|| format!("opening {}", self.file.display()))?;
        // One write per line: O_APPEND keeps lines of concurrent workers whole.
        file.write_all(format!("{event}\n").as_bytes())
            .with_context(|| format!("writing {}", self.file.display()))?;
        Ok(())
    }

    async fn call(
        &self,
        claim: &Claim,
        hang_up: &AtomicBool,
        progress: &watch::Sender<u32>,
    ) -> anyhow::Result<AttemptReport> {
        let event = |name: &str| {
            json!({
                "event": name,
                "job": claim.delivery.id.0,
                "destination": claim.delivery.destination,
                "worker": claim.worker,
                "line": claim.line,
                "from_page": claim.delivery.resume_page,
            })
        };
        self.append(&event("dial"))?;
        let remaining = claim
            .delivery
            .total_pages
            .map(|t| t.saturating_sub(claim.delivery.resume_page));
        let start = tokio::time::Instant::now();
        let deadline = start + self.call_time;
        let mut confirmed = 0;
        while tokio::time::Instant::now() < deadline {
            if hang_up.load(Ordering::Relaxed) {
                self.append(&event("hang-up"))?;
                return Ok(AttemptReport {
                    outcome: CallOutcome {
                        class: OutcomeClass::Interrupted,
                        pages_confirmed: confirmed,
                    },
                    ..no_call(
                        OutcomeClass::Interrupted,
                        "hung up: the job was cancelled".to_owned(),
                    )
                });
            }
            if !self.page_time.is_zero() {
                let elapsed = start.elapsed().as_millis() / self.page_time.as_millis().max(1);
                let due = u32::try_from(elapsed).unwrap_or(u32::MAX);
                let due = remaining.map_or(due, |r| due.min(r));
                if due > confirmed {
                    confirmed = due;
                    let mut page = event("page");
                    page["pages_confirmed"] = json!(confirmed);
                    self.append(&page)?;
                    // The worker gone means the job is over anyway.
                    let _ = progress.send(confirmed);
                }
            }
            let left = deadline - tokio::time::Instant::now();
            tokio::time::sleep(left.min(Duration::from_millis(20))).await;
        }
        let pages_confirmed = match self.outcome {
            OutcomeClass::Sent => remaining.unwrap_or(1),
            _ => confirmed,
        };
        self.append(&event(self.outcome.as_str()))?;
        Ok(AttemptReport {
            outcome: CallOutcome {
                class: self.outcome,
                pages_confirmed,
            },
            pages_total: remaining,
            bit_rate: None,
            ecm: None,
            remote_ident: None,
            t30_code: None,
            reason: format!("dry run: {}", self.outcome),
        })
    }
}

#[cfg(test)]
mod tests {
    use mail_parser::{MessageParser, MimeHeaders};

    use super::*;

    /// A fax to a user's fax ID, worked on a T.38 line: filed in the user's inbox
    /// without a call, and mailed to them, the pages attached as one PDF.
    #[tokio::test]
    async fn a_fax_id_delivery_is_filed_and_mailed_as_a_pdf() {
        use fax_queue::{Document, Locale, NewRequest, Source};
        let dir = std::env::temp_dir().join(format!("faxgate-worker-inbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open_data_dir(&dir).await.expect("store");
        let zhang = store
            .add_user(
                &crate::test_users::mail_sender("Zhang", "zhang@example.com", Locale::Zh, None),
                "test",
                now(),
            )
            .await
            .expect("user");
        let blobs = BlobStore::open(dir.join("blobs")).expect("blobs");
        let (request, deliveries) = store
            .enqueue(
                &NewRequest {
                    source: Source::Email,
                    user: None,
                    sender: "li@example.com".into(),
                    subject: "季度报表".into(),
                    documents: vec![Document {
                        name: "a.txt".into(),
                        blob: blobs.put(b"fax me").expect("document"),
                    }],
                    raw_mail: None,
                    destinations: vec![zhang.fax_id.to_string()],
                    priority: 0,
                    send_at: now(),
                    total_pages: None,
                },
                now(),
            )
            .await
            .expect("enqueued");
        // Rendered already (three pages), so the test needs no fonts or converters.
        let pages: Vec<_> = (0..3)
            .map(|_| fax_t4::Bitmap::new(1728, 50, fax_t4::Resolution::STANDARD).expect("page"))
            .collect();
        let tiff = fax_tiff::write(
            &pages,
            fax_tiff::PageEncoding::Ccitt(fax_t4::Scheme::Mh),
            &fax_tiff::WriteOptions::default(),
        )
        .expect("tiff");
        let blob = blobs.put(&tiff).expect("blob");
        store
            .set_rendered(request, &blob, 3)
            .await
            .expect("rendered");
        let config = Config::default();
        let line: LineConfig =
            toml::from_str("name = \"gateway\"\nremote = \"127.0.0.1:1\"").expect("line");
        let context = Arc::new(WorkerContext {
            store: store.clone(),
            blobs,
            address: AddressSettings::new(&config.address).expect("address"),
            lease: Duration::from_secs(60),
            scratch_dir: dir.join("tmp"),
            data_dir: dir.clone(),
            render_lock: Mutex::default(),
            stats: Arc::default(),
            mail_from: "Fax Gateway <fax@example.com>".into(),
            handback: watch::channel(false).0,
            render: config.render.clone(),
        });
        let claim = store
            .claim("gateway", 1, "test", Duration::from_secs(60), now())
            .await
            .expect("claims")
            .remove(0);
        run_call(context, claim, Driver::T38(Arc::new(line)))
            .await
            .expect("worked");

        let delivery = store.delivery(deliveries[0]).await.expect("delivery");
        assert_eq!(delivery.state, DeliveryState::Sent);
        assert_eq!(store.inbox(zhang.id, 0).await.expect("inbox").len(), 1);
        let queued = store.outgoing_mail(None).await.expect("outgoing");
        assert_eq!(queued.len(), 1, "one mail per filed fax");
        assert_eq!(queued[0].kind, "inbox");
        assert_eq!(queued[0].rcpt_to, "zhang@example.com");
        let message = MessageParser::default()
            .parse(&queued[0].message)
            .expect("mail parses");
        assert!(
            message
                .subject()
                .is_some_and(|s| s.contains("li@example.com") && s.contains("3 页")),
            "{:?}",
            message.subject()
        );
        let text = message.body_text(0).expect("text");
        assert!(text.contains("季度报表"), "{text}");
        let pdf = message.attachment(0).expect("PDF part");
        assert_eq!(
            pdf.content_type().map(|t| t.c_type.as_ref()),
            Some("application")
        );
        assert_eq!(
            pdf.attachment_name(),
            Some(format!("fax-{}.pdf", deliveries[0]).as_str())
        );
        let pdf = pdf.contents();
        assert!(pdf.starts_with(b"%PDF-"));
        let pdf_text = String::from_utf8_lossy(pdf);
        assert_eq!(
            pdf_text.matches("/Type /Page ").count(),
            3,
            "one PDF page per fax page"
        );
        assert!(pdf_text.contains("/Count 3"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn end(status: fax_t30::Status, pages: u32, heard: bool, refused: bool) -> CallEnd {
        CallEnd {
            outcome: fax_t30::Outcome {
                status,
                pages,
                remote_ident: Some("REMOTE".to_owned()),
                settings: None,
                duration: Duration::from_secs(20),
                detail: None,
            },
            pages: Vec::new(),
            heard_far_end: heard,
            refused,
            hung_up: false,
        }
    }

    #[test]
    fn calls_are_classed_by_what_came_back() {
        use fax_t30::Status;
        let sent = call_report(&end(Status::Ok, 3, true, false), 3);
        assert_eq!(sent.outcome.class, OutcomeClass::Sent);
        assert_eq!(sent.outcome.pages_confirmed, 3);
        assert_eq!(sent.t30_code, Some(0));
        assert_eq!(sent.remote_ident.as_deref(), Some("REMOTE"));

        let silent = call_report(&end(Status::NoResponse, 0, false, false), 3);
        assert_eq!(silent.outcome.class, OutcomeClass::NoAnswer);
        assert_eq!(silent.t30_code, None, "no fax session, no T.30 status");

        let mut refusal = end(Status::NoResponse, 0, false, true);
        refusal.outcome.detail =
            Some("the T.38 peer at 127.0.0.1:9 refused the call (ICMP port unreachable)".into());
        let refused = call_report(&refusal, 3);
        assert_eq!(refused.outcome.class, OutcomeClass::LineDown);
        assert_eq!(
            Some(refused.reason.as_str()),
            refusal.outcome.detail.as_deref(),
            "the reason names the address that refused"
        );

        let broken = call_report(&end(Status::RemoteDisconnected, 2, true, false), 3);
        assert_eq!(broken.outcome.class, OutcomeClass::FaxFailure);
        assert_eq!(broken.outcome.pages_confirmed, 2, "resent from page 3");

        let mut cancelled = end(Status::RemoteDisconnected, 1, true, false);
        cancelled.hung_up = true;
        let cancelled = call_report(&cancelled, 3);
        assert_eq!(cancelled.outcome.class, OutcomeClass::Interrupted);
        assert_eq!(cancelled.outcome.pages_confirmed, 1);
    }

    /// Whether `line` (drawn by `render_line`, 4 pixels of white either side) is on
    /// `page` with its text starting `left` pixels from the edge, at some row of the
    /// top `band` rows.
    fn line_on_page(page: &fax_t4::Bitmap, line: &fax_t4::Bitmap, left: u32, band: u32) -> bool {
        let x0 = left - 4;
        (0..band).any(|dy| {
            (0..line.height()).all(|y| {
                let page_y = dy + y;
                page_y < page.height()
                    && (0..line.width()).all(|x| line.get(x, y) == page.get(x0 + x, page_y))
            })
        })
    }

    /// Whether `page` carries the header's "Page n/m" label at its right margin (40
    /// pixels in, within 2 pixels of where the header puts it, in the top 40 rows).
    fn numbered(
        page: &fax_t4::Bitmap,
        n: usize,
        m: usize,
        fonts: &fax_render::fonts::FontSet,
        size_pt: f32,
    ) -> bool {
        let label = fax_render::annotate::render_line(
            &fax_render::annotate::page_label(n, m),
            fonts,
            size_pt,
            page.resolution(),
        )
        .expect("label");
        let left = page.width() - 40 - (label.width() - 8);
        (left.saturating_sub(2)..=left + 2).any(|at| line_on_page(page, &label, at, 40))
    }

    /// A request of one fax TIFF page to `destinations`, in a store under `dir`, and a
    /// worker context with `[render] header = true, cover_page = true`.
    async fn cover_setup(
        dir: &Path,
        destinations: &[&str],
    ) -> (
        Store,
        Arc<WorkerContext>,
        Vec<fax_queue::DeliveryId>,
        Config,
    ) {
        use fax_queue::{Document, NewRequest, Source};

        let _ = std::fs::remove_dir_all(dir);
        let store = Store::open_data_dir(dir).await.expect("store");
        let blobs = BlobStore::open(dir.join("blobs")).expect("blobs");
        // A fax TIFF document: converted in this process, no converter programs.
        let mut page = fax_t4::Bitmap::new(1728, 600, fax_t4::Resolution::FINE).expect("page");
        for y in 300..340 {
            for x in 400..1300 {
                page.set(x, y, true);
            }
        }
        let document = fax_tiff::write(
            &[page],
            fax_tiff::PageEncoding::Ccitt(fax_t4::Scheme::Mh),
            &fax_tiff::WriteOptions::default(),
        )
        .expect("tiff");
        let (_, deliveries) = store
            .enqueue(
                &NewRequest {
                    source: Source::Email,
                    user: None,
                    sender: "li@example.com".into(),
                    subject: String::new(),
                    documents: vec![Document {
                        name: "report.tif".into(),
                        blob: blobs.put(&document).expect("document"),
                    }],
                    raw_mail: None,
                    destinations: destinations.iter().map(|d| d.to_string()).collect(),
                    priority: 0,
                    send_at: now(),
                    total_pages: None,
                },
                now(),
            )
            .await
            .expect("enqueued");
        let mut config = Config::default();
        config.render.header = true;
        config.render.cover_page = true;
        config.render.header_number = "+86 755 8323 5100".into();
        let context = Arc::new(WorkerContext {
            store: store.clone(),
            blobs,
            address: AddressSettings::new(&config.address).expect("address"),
            lease: Duration::from_secs(60),
            scratch_dir: dir.join("tmp"),
            data_dir: dir.to_path_buf(),
            render_lock: Mutex::default(),
            stats: Arc::default(),
            mail_from: "Fax Gateway <fax@example.com>".into(),
            handback: watch::channel(false).0,
            render: config.render.clone(),
        });
        (store, context, deliveries, config)
    }

    /// `[render] header = true, cover_page = true`: each of two recipients gets its own
    /// cover page in front of the document pages, the pages carry the header line
    /// numbered over the whole fax, and the pages arrive over a virtual line as drawn.
    #[tokio::test]
    async fn a_request_to_two_recipients_gets_a_cover_each_and_the_header_line() {
        use fax_render::annotate;

        let dir = std::env::temp_dir().join(format!("faxgate-worker-cover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let destinations = [
            (
                "86-755-83235170/Alice Smith|ACME Ltd",
                vec!["Alice Smith", "ACME Ltd"],
            ),
            ("86-755-83235171/Bob Jones", vec!["Bob Jones"]),
        ];
        let (store, context, deliveries, config) =
            cover_setup(&dir, &destinations.clone().map(|(d, _)| d)).await;
        let line: LineConfig = toml::from_str("name = \"box\"\nkind = \"virtual\"").expect("line");
        let line = Arc::new(line);
        let (fonts, _) = crate::render_edge::find_fonts(&[], &[]).expect("fonts");
        let box_dir = crate::virtual_line::line_dir(&dir, "box");
        let mut covers = Vec::new();
        for _ in &destinations {
            // The minutes the header and cover may show: those the call spans.
            let started = now().millis().div_euclid(60_000);
            let claim = store
                .claim("box", 1, "test", Duration::from_secs(60), now())
                .await
                .expect("claims")
                .remove(0);
            let destination = claim.delivery.destination.clone();
            let before: Vec<PathBuf> = tiffs_in(&box_dir);
            run_call(context.clone(), claim, Driver::T38(line.clone()))
                .await
                .expect("worked");
            let ended = now().millis().div_euclid(60_000);
            let filed: Vec<PathBuf> = tiffs_in(&box_dir)
                .into_iter()
                .filter(|path| !before.contains(path))
                .collect();
            assert_eq!(filed.len(), 1, "one fax filed per call");
            let received = fax_pages(&std::fs::read(&filed[0]).expect("read")).expect("pages");
            assert_eq!(received.len(), 2, "cover and document page");
            let names = &destinations
                .iter()
                .find(|(d, _)| *d == destination)
                .expect("a destination of the request")
                .1;
            let minutes: Vec<i64> = (started..=ended).collect();
            // Page 1 is this recipient's cover, header "Page 1/2" on it.
            let cover_matches = minutes.iter().any(|minute| {
                let date_time = annotate::DateTime::from_unix(minute * 60, 0);
                let cover = annotate::Cover {
                    to: names.iter().map(|n| n.to_string()).collect(),
                    from: "li@example.com".into(),
                    from_number: "+86 755 8323 5100".into(),
                    date_time: Some(date_time),
                    pages: 2,
                    note: String::new(),
                };
                let expected = cover_page(
                    &config.render,
                    &cover,
                    "li@example.com",
                    received[0].resolution(),
                )
                .expect("cover");
                expected == received[0]
            });
            assert!(cover_matches, "page 1 is the cover for {destination}");
            // Page 2 carries the header line: date, sender, number, and "Page 2/2".
            let header_matches = minutes.iter().any(|minute| {
                let header = annotate::Header {
                    date_time: annotate::DateTime::from_unix(minute * 60, 0),
                    sender_name: "li@example.com".into(),
                    sender_number: "+86 755 8323 5100".into(),
                    font_size_pt: config.render.header_font_size_pt,
                };
                let text = annotate::render_line(
                    &header.text(),
                    &fonts,
                    header.font_size_pt,
                    received[1].resolution(),
                )
                .expect("line");
                line_on_page(&received[1], &text, 40, 40)
            });
            assert!(header_matches, "page 2 carries the header line");
            assert!(
                numbered(
                    &received[1],
                    2,
                    2,
                    &fonts,
                    config.render.header_font_size_pt
                ),
                "page 2 is numbered 2/2"
            );
            covers.push(received[0].clone());
        }
        assert_ne!(covers[0], covers[1], "each recipient has their own cover");
        for delivery in deliveries {
            let delivery = store.delivery(delivery).await.expect("delivery");
            assert_eq!(delivery.state, DeliveryState::Sent);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A call resuming after the confirmed cover page sends only the document pages,
    /// numbered as in the whole fax ("Page 2/2"), and no cover again.
    #[tokio::test]
    async fn a_resumed_call_does_not_send_the_cover_again() {
        let dir =
            std::env::temp_dir().join(format!("faxgate-worker-resume-{}", std::process::id()));
        let (store, context, deliveries, config) =
            cover_setup(&dir, &["86-755-83235170/Alice Smith"]).await;
        let line: LineConfig = toml::from_str("name = \"box\"\nkind = \"virtual\"").expect("line");
        let mut claim = store
            .claim("box", 1, "test", Duration::from_secs(60), now())
            .await
            .expect("claims")
            .remove(0);
        // As after a call that had the cover page confirmed.
        claim.delivery.resume_page = 1;
        run_call(context, claim, Driver::T38(Arc::new(line)))
            .await
            .expect("worked");
        let filed = tiffs_in(&crate::virtual_line::line_dir(&dir, "box"));
        assert_eq!(filed.len(), 1);
        let received = fax_pages(&std::fs::read(&filed[0]).expect("read")).expect("pages");
        assert_eq!(received.len(), 1, "the document page only");
        let (fonts, _) = crate::render_edge::find_fonts(&[], &[]).expect("fonts");
        assert!(
            numbered(
                &received[0],
                2,
                2,
                &fonts,
                config.render.header_font_size_pt
            ),
            "the page is numbered 2/2"
        );
        let delivery = store.delivery(deliveries[0]).await.expect("delivery");
        assert_eq!(delivery.state, DeliveryState::Sent);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `[render] cover_page = true` and a fax ID recipient: the inbox copy gets the
    /// cover page a called recipient would (the destination's names, "Page 1/2"), so
    /// the document page's "Page 2/2" counts right; the mail's PDF has both pages.
    #[tokio::test]
    async fn a_fax_id_delivery_gets_its_cover_page_in_the_inbox() {
        use fax_queue::Locale;
        use fax_render::annotate;

        let dir =
            std::env::temp_dir().join(format!("faxgate-worker-inbox-cover-{}", std::process::id()));
        let (store, context, deliveries, config) =
            cover_setup(&dir, &["AF90000098/Zhang San|ACME Ltd"]).await;
        let zhang = store
            .add_user(
                &crate::test_users::mail_sender(
                    "Zhang",
                    "zhang@example.com",
                    Locale::En,
                    Some("AF90000098"),
                ),
                "test",
                now(),
            )
            .await
            .expect("user");
        let line: LineConfig =
            toml::from_str("name = \"gateway\"\nremote = \"127.0.0.1:1\"").expect("line");
        let started = now().millis().div_euclid(60_000);
        let claim = store
            .claim("gateway", 1, "test", Duration::from_secs(60), now())
            .await
            .expect("claims")
            .remove(0);
        run_call(context.clone(), claim, Driver::T38(Arc::new(line)))
            .await
            .expect("worked");
        let ended = now().millis().div_euclid(60_000);

        let delivery = store.delivery(deliveries[0]).await.expect("delivery");
        assert_eq!(delivery.state, DeliveryState::Sent);
        let inbox = store.inbox(zhang.id, 0).await.expect("inbox");
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].pages, 2, "cover and document page");
        let filed = fax_pages(&context.blobs.get(&inbox[0].tiff).expect("filed")).expect("pages");
        assert_eq!(filed.len(), 2);
        // Page 2 is the rendered page every recipient gets ("Page 2/2" on it).
        let (rendered, rendered_pages) = store
            .rendered(delivery.request)
            .await
            .expect("store")
            .expect("rendered");
        assert_eq!(rendered_pages, 1);
        let rendered = fax_pages(&context.blobs.get(&rendered).expect("blob")).expect("pages");
        assert_eq!(filed[1], rendered[0]);
        // Page 1 is the cover for the destination's names, "Page 1/2".
        let cover_matches = (started..=ended).any(|minute| {
            let cover = annotate::Cover {
                to: vec!["Zhang San".into(), "ACME Ltd".into()],
                from: "li@example.com".into(),
                from_number: "+86 755 8323 5100".into(),
                date_time: Some(annotate::DateTime::from_unix(minute * 60, 0)),
                pages: 2,
                note: String::new(),
            };
            cover_page(
                &config.render,
                &cover,
                "li@example.com",
                filed[0].resolution(),
            )
            .is_ok_and(|expected| expected == filed[0])
        });
        assert!(cover_matches, "page 1 is Zhang San's cover");
        let queued = store.outgoing_mail(None).await.expect("outgoing");
        assert_eq!(queued.len(), 1);
        let message = MessageParser::default()
            .parse(&queued[0].message)
            .expect("mail parses");
        let pdf = message.attachment(0).expect("PDF part").contents();
        assert!(String::from_utf8_lossy(pdf).contains("/Count 2"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A request made by `faxgate send` (another process) counts as a request once,
    /// when its documents are rendered, however many recipients it has; a mailed
    /// request is the intake's to count. A later request of the same documents and
    /// sender takes the same rendering without converting again.
    #[tokio::test]
    async fn a_cli_request_is_counted_once_and_a_like_request_reuses_its_rendering() {
        use fax_queue::{Document, Locale, NewRequest, Source};

        let dir = std::env::temp_dir().join(format!("faxgate-worker-count-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open_data_dir(&dir).await.expect("store");
        let user = store
            .add_user(
                &crate::test_users::mail_sender("Zhang", "zhang@example.com", Locale::En, None),
                "test",
                now(),
            )
            .await
            .expect("user");
        let config = Config::default();
        let context = Arc::new(WorkerContext {
            store: store.clone(),
            blobs: BlobStore::open(dir.join("blobs")).expect("blobs"),
            address: AddressSettings::new(&config.address).expect("address"),
            lease: Duration::from_secs(60),
            scratch_dir: dir.join("tmp"),
            data_dir: dir.clone(),
            render_lock: Mutex::default(),
            stats: Arc::default(),
            mail_from: "Fax Gateway <fax@example.com>".into(),
            handback: watch::channel(false).0,
            render: config.render.clone(),
        });
        // A fax TIFF document: converted in this process, no converter programs.
        let page = fax_t4::Bitmap::new(1728, 100, fax_t4::Resolution::FINE).expect("page");
        let document = fax_tiff::write(
            &[page],
            fax_tiff::PageEncoding::Ccitt(fax_t4::Scheme::Mh),
            &fax_tiff::WriteOptions::default(),
        )
        .expect("tiff");
        let blob = context.blobs.put(&document).expect("document");
        let mut requests = Vec::new();
        for source in [Source::Cli, Source::Email] {
            let (request, _) = store
                .enqueue(
                    &NewRequest {
                        source,
                        user: None,
                        sender: "li@example.com".into(),
                        subject: String::new(),
                        documents: vec![Document {
                            name: "a.tif".into(),
                            blob: blob.clone(),
                        }],
                        raw_mail: None,
                        // Twice the same inbox: two deliveries, one rendering.
                        destinations: vec![user.fax_id.to_string(), user.fax_id.to_string()],
                        priority: 0,
                        send_at: now(),
                        total_pages: None,
                    },
                    now(),
                )
                .await
                .expect("enqueued");
            requests.push(request);
        }
        let line: LineConfig =
            toml::from_str("name = \"gateway\"\nremote = \"127.0.0.1:1\"").expect("line");
        let line = Arc::new(line);
        for _ in 0..4 {
            let claim = store
                .claim("gateway", 1, "test", Duration::from_secs(60), now())
                .await
                .expect("claims")
                .remove(0);
            run_call(context.clone(), claim, Driver::T38(line.clone()))
                .await
                .expect("worked");
        }
        assert_eq!(store.inbox(user.id, 0).await.expect("inbox").len(), 4);
        assert_eq!(context.stats.requests_made("cli"), 1);
        assert_eq!(context.stats.requests_made("email"), 0);
        let first = store.rendered(requests[0]).await.expect("store");
        assert!(first.is_some());
        assert_eq!(store.rendered(requests[1]).await.expect("store"), first);
        assert_eq!(context.stats.conversions(), 1, "converted once");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Every `[render]` setting becomes a `faxgate convert` option it accepts, the
    /// defaults (an empty header number among them) included.
    #[test]
    fn render_settings_make_a_convert_command_line() {
        use clap::Parser;

        let mut render = fax_render::RenderConfig::default();
        let mut argv = convert_argv(&render, "li@example.com", Path::new("out.tif"));
        argv.push("in.txt".into());
        let convert = Convert::try_parse_from(argv).expect("defaults parse");
        assert_eq!(
            convert.args.pages.header_from.as_deref(),
            Some("li@example.com")
        );
        assert_eq!(convert.args.pages.header_pages_before, 0);
        render.resolution = fax_render::ResolutionSetting::Standard;
        render.paper = fax_render::Paper::Letter;
        render.cover_page = true;
        render.utc_offset_minutes = -300;
        render.fonts = vec!["Noto Sans Mono".into()];
        render.pdf_renderer = fax_render::PdfRendererSetting::Ghostscript;
        let mut argv = convert_argv(&render, "", Path::new("out.tif"));
        argv.push("in.txt".into());
        let convert = Convert::try_parse_from(argv).expect("settings parse");
        assert_eq!(convert.args.pages.header_pages_before, 1);
        assert_eq!(convert.args.pages.utc_offset_minutes, -300);
        assert_eq!(convert.args.font, ["Noto Sans Mono"]);
        render.header = false;
        let mut argv = convert_argv(&render, "", Path::new("out.tif"));
        argv.push("in.txt".into());
        let convert = Convert::try_parse_from(argv).expect("no header parses");
        assert!(convert.args.pages.header_from.is_none());
    }

    fn tiffs_in(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
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
}
