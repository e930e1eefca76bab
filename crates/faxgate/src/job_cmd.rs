//! `faxgate job list|show|cancel|retry|submit|work` and `faxgate outbox`: fax jobs on
//! the configured store. A job is one delivery: one recipient of a request.
//!
//! `job work` is the scheduler's worker for one line: it claims due jobs under a lease,
//! renews the lease while each call runs, and records the result, which the retry
//! policy turns into the next call or a final state. Lines are driven by a line
//! driver; today the only one is `record`, a dry-run line that dials nobody and
//! appends each call to a file, for trying out the queue and for testing it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use fax_queue::{
    AttemptReport, BlobStore, CallOutcome, Claim, DeliveryFilter, DeliveryId, DeliveryState,
    Document, NewRequest, OutcomeClass, Source, Store, UserKey,
};
use serde_json::{Value, json};

use crate::queue_cmd::{
    QueueSettings, StoreArgs, actor, block_on, delivery_json, now, print_json, time_text,
};

#[derive(Debug, clap::Subcommand)]
pub enum JobCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state: queued, active, sent, failed, cancelled.
        #[arg(long)]
        state: Option<DeliveryState>,
        /// Only jobs of this user (id, address or fax ID).
        #[arg(long)]
        user: Option<UserKey>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show a job with its request and every call made for it.
    Show {
        /// The job's id.
        id: DeliveryId,
    },
    /// Cancel a job: at once if it waits, when the call ends if one is running.
    Cancel {
        /// The job's id.
        id: DeliveryId,
    },
    /// Queue a failed or cancelled job again (with fresh retry limits, from the first
    /// page not yet confirmed), or make a waiting job due now.
    Retry {
        /// The job's id.
        id: DeliveryId,
    },
    /// Queue documents for one or more recipients, as the given user.
    Submit {
        /// The sender (id, address or fax ID).
        #[arg(long)]
        user: UserKey,
        /// A recipient's number (repeat for several; one job each).
        #[arg(long = "to", value_name = "NUMBER", required = true)]
        destinations: Vec<String>,
        /// The subject for the receipts.
        #[arg(long, default_value = "")]
        subject: String,
        /// Higher goes first.
        #[arg(long, default_value_t = 0)]
        priority: i64,
        /// Not before this many seconds from now.
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        delay: u64,
        /// How many pages the documents make, when known.
        #[arg(long)]
        pages: Option<u32>,
        /// The documents, in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Work jobs off one line: claim due jobs, call, record the results.
    Work(WorkArgs),
}

#[derive(Debug, clap::Args)]
pub struct WorkArgs {
    /// The line's name; its channel limit holds across all workers of the line.
    #[arg(long)]
    line: String,
    /// How many calls the line carries at once.
    #[arg(long, default_value_t = 1)]
    channels: u32,
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
    /// The line driver. `record`: a dry-run line that calls nobody and appends one JSON
    /// line per call event to --record-file.
    #[arg(long, value_enum, default_value_t = DriverKind::Record)]
    driver: DriverKind,
    /// Where the record driver writes.
    #[arg(long, value_name = "FILE", required_if_eq("driver", "record"))]
    record_file: Option<PathBuf>,
    /// How long each recorded call takes.
    #[arg(long, value_name = "MILLISECONDS", default_value_t = 0)]
    call_ms: u64,
    /// How each recorded call ends: sent, busy, no-answer, rejected, invalid-number,
    /// fax-failure, incompatible, line-down.
    #[arg(long, value_name = "CLASS", default_value = "sent")]
    outcome: OutcomeClass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriverKind {
    /// A dry-run line: records calls, dials nobody.
    Record,
}

/// Runs a `job` subcommand.
pub fn run(command: JobCommand, store_args: &StoreArgs) -> anyhow::Result<bool> {
    let settings = store_args.settings()?;
    let json = store_args.json;
    block_on(async move {
        let store = settings.open().await?;
        let result = match command {
            JobCommand::List { state, user, limit } => {
                let user = match user {
                    Some(key) => Some(store.user(&key).await?.id),
                    None => None,
                };
                let filter = DeliveryFilter { state, user, limit };
                let jobs = store.deliveries(&filter).await.context("listing jobs")?;
                if json {
                    print_json(&Value::Array(jobs.iter().map(delivery_json).collect()))?;
                } else {
                    for job in &jobs {
                        println!(
                            "{:>6}  {:<9}  {:<20}  {}",
                            job.id,
                            job.state.as_str(),
                            job.destination,
                            job.result.as_deref().unwrap_or("")
                        );
                    }
                }
                Ok(true)
            }
            JobCommand::Show { id } => show(&store, id, json).await,
            JobCommand::Cancel { id } => {
                let job = store.cancel(id, &actor(), now()).await?;
                report_job(&job, json, "cancel")
            }
            JobCommand::Retry { id } => {
                let job = store.retry(id, &actor(), now()).await?;
                report_job(&job, json, "retry")
            }
            JobCommand::Submit {
                user,
                destinations,
                subject,
                priority,
                delay,
                pages,
                files,
            } => {
                let user = store.user(&user).await?;
                let blobs = BlobStore::open(settings.blob_dir())?;
                let mut documents = Vec::with_capacity(files.len());
                for file in &files {
                    let content = std::fs::read(file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let name = file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let blob = blobs
                        .put(&content)
                        .with_context(|| format!("storing {}", file.display()))?;
                    documents.push(Document { name, blob });
                }
                let now = now();
                let request = NewRequest {
                    source: Source::Cli,
                    user: Some(user.id),
                    sender: user
                        .emails
                        .first()
                        .map(|e| e.to_string())
                        .unwrap_or_default(),
                    subject,
                    documents,
                    raw_mail: None,
                    destinations,
                    priority,
                    send_at: now.plus(Duration::from_secs(delay)),
                    total_pages: pages,
                };
                let (request_id, jobs) = store.enqueue(&request, now).await?;
                let ids: Vec<i64> = jobs.iter().map(|j| j.0).collect();
                if json {
                    print_json(&json!({ "request": request_id.0, "jobs": ids }))?;
                } else {
                    println!("request {request_id}: jobs {ids:?}");
                }
                Ok(true)
            }
            JobCommand::Work(args) => work(&store, &settings, &args).await,
        };
        store.close().await;
        result
    })
}

fn report_job(job: &fax_queue::Delivery, json: bool, what: &str) -> anyhow::Result<bool> {
    if json {
        print_json(&delivery_json(job))?;
    } else {
        println!("job {}: {} ({what})", job.id, job.state);
    }
    Ok(true)
}

async fn show(store: &Store, id: DeliveryId, json: bool) -> anyhow::Result<bool> {
    let detail = store.delivery_detail(id).await?;
    let request = &detail.request;
    if json {
        let mut value = delivery_json(&detail.delivery);
        value["request"] = json!({
            "id": request.id.0,
            "user": request.user.map(|u| u.0),
            "source": request.source.as_str(),
            "sender": request.sender,
            "subject": request.subject,
            "documents": request.documents.iter().map(|d| json!({
                "name": d.name, "blob": d.blob.as_str(),
            })).collect::<Vec<_>>(),
            "raw_mail": request.raw_mail.as_ref().map(|b| b.as_str()),
            "created_at": time_text(request.created_at),
        });
        value["attempts"] = detail
            .attempts
            .iter()
            .map(|a| {
                json!({
                    "id": a.id.0,
                    "line": a.line,
                    "worker": a.worker,
                    "started_at": time_text(a.started_at),
                    "ended_at": a.ended_at.map(time_text),
                    "pages_sent": a.pages_sent,
                    "pages_total": a.pages_total,
                    "bit_rate": a.bit_rate,
                    "ecm": a.ecm,
                    "remote_ident": a.remote_ident,
                    "t30_status": a.t30_code,
                    "outcome": a.outcome,
                    "reason": a.reason,
                })
            })
            .collect();
        print_json(&value)?;
    } else {
        let job = &detail.delivery;
        println!("job {}  {}  to {}", job.id, job.state, job.destination);
        println!(
            "  request {} from {} ({}): {}",
            request.id, request.sender, request.source, request.subject
        );
        if let Some(result) = &job.result {
            println!("  result: {result}");
        }
        if job.state == DeliveryState::Queued {
            println!("  next call: {}", time_text(job.next_attempt_at));
        }
        for a in &detail.attempts {
            println!(
                "  call {} on {} by {}: {} .. {}  {}  {}",
                a.id,
                a.line,
                a.worker,
                time_text(a.started_at),
                a.ended_at
                    .map(time_text)
                    .unwrap_or_else(|| "(running)".into()),
                a.outcome.as_deref().unwrap_or("-"),
                a.reason.as_deref().unwrap_or("")
            );
        }
    }
    Ok(true)
}

/// Runs `faxgate outbox`.
pub fn outbox(user: &UserKey, limit: u32, store_args: &StoreArgs) -> anyhow::Result<bool> {
    let settings = store_args.settings()?;
    let json = store_args.json;
    block_on(async move {
        let store = settings.open().await?;
        let user = store.user(user).await?;
        let entries = store
            .outbox(user.id, limit)
            .await
            .context("reading the outbox")?;
        if json {
            let list = entries
                .iter()
                .map(|e| {
                    let mut value = delivery_json(&e.delivery);
                    value["subject"] = json!(e.subject);
                    value["source"] = json!(e.source.as_str());
                    value["submitted_at"] = json!(time_text(e.created_at));
                    value
                })
                .collect();
            print_json(&Value::Array(list))?;
        } else {
            for e in &entries {
                println!(
                    "{}  job {:>6}  {:<9}  {:<20}  {}  {}",
                    time_text(e.created_at),
                    e.delivery.id,
                    e.delivery.state.as_str(),
                    e.delivery.destination,
                    e.subject,
                    e.delivery.result.as_deref().unwrap_or("")
                );
            }
        }
        store.close().await;
        Ok(true)
    })
}

fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}

/// The dry-run line: one JSON line per event, flushed at once so a killed worker's
/// record is complete up to the kill.
#[derive(Debug, Clone)]
struct RecordLine {
    file: PathBuf,
    call_time: Duration,
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

    async fn call(&self, claim: &Claim) -> anyhow::Result<AttemptReport> {
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
        tokio::time::sleep(self.call_time).await;
        let remaining = claim
            .delivery
            .total_pages
            .map(|t| t.saturating_sub(claim.delivery.resume_page));
        let pages_confirmed = match self.outcome {
            OutcomeClass::Sent => remaining.unwrap_or(1),
            _ => 0,
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

async fn work(store: &Store, settings: &QueueSettings, args: &WorkArgs) -> anyhow::Result<bool> {
    let lease = match args.lease_seconds {
        Some(seconds) if !(1..=3600).contains(&seconds) => {
            bail!("--lease-seconds must be between 1 and 3600")
        }
        Some(seconds) => Duration::from_secs(seconds),
        None => settings.lease,
    };
    if args.channels == 0 {
        bail!("--channels must be at least 1");
    }
    let worker = args.worker.clone().unwrap_or_else(worker_name);
    let line = RecordLine {
        file: args.record_file.clone().unwrap_or_default(),
        call_time: Duration::from_millis(args.call_ms),
        outcome: args.outcome,
    };
    store
        .recover_expired(now())
        .await
        .context("taking back jobs of workers that died")?;
    let mut calls = tokio::task::JoinSet::new();
    loop {
        let free = args
            .channels
            .saturating_sub(u32::try_from(calls.len()).unwrap_or(u32::MAX));
        let claims = if free > 0 {
            store
                .claim(&args.line, args.channels, &worker, lease, now())
                .await
                .context("claiming jobs")?
        } else {
            Vec::new()
        };
        let claimed = !claims.is_empty();
        for claim in claims {
            calls.spawn(run_call(store.clone(), claim, line.clone(), lease));
        }
        if args.once {
            while let Some(done) = calls.join_next().await {
                done.context("a call task failed")??;
            }
            return Ok(true);
        }
        if !claimed {
            if args.until_idle && calls.is_empty() && is_idle(store).await? {
                return Ok(true);
            }
            // Wait for a call to end or for the next poll, whichever is first.
            tokio::select! {
                Some(done) = calls.join_next(), if !calls.is_empty() => {
                    done.context("a call task failed")??;
                }
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }
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

/// One call with its lease kept alive; the call is dropped (hung up) as soon as the
/// lease is lost, so two nodes never call for one job at once.
async fn run_call(
    store: Store,
    claim: Claim,
    line: RecordLine,
    lease: Duration,
) -> anyhow::Result<()> {
    let call = line.call(&claim);
    tokio::pin!(call);
    let renew_every = lease / 3;
    let report = loop {
        tokio::select! {
            report = &mut call => break report?,
            () = tokio::time::sleep(renew_every) => {
                match store.renew(&claim, lease, None, now()).await {
                    Ok(renewed) if renewed.cancel_requested => {
                        break AttemptReport {
                            outcome: CallOutcome { class: OutcomeClass::Interrupted, pages_confirmed: 0 },
                            pages_total: None,
                            bit_rate: None,
                            ecm: None,
                            remote_ident: None,
                            t30_code: None,
                            reason: "hung up: the job was cancelled".to_owned(),
                        };
                    }
                    Ok(_) => {}
                    Err(fax_queue::Error::LeaseLost(id)) => {
                        eprintln!("faxgate: job {id}: lease lost, call abandoned");
                        return Ok(());
                    }
                    Err(error) => return Err(error).context("renewing a lease"),
                }
            }
        }
    };
    match store.finish(&claim, &report, now()).await {
        Ok(_) => Ok(()),
        Err(fax_queue::Error::LeaseLost(id)) => {
            eprintln!("faxgate: job {id}: lease lost before the result was recorded");
            Ok(())
        }
        Err(error) => Err(error).context("recording a call's result"),
    }
}
