//! `faxgate job list|show|cancel|retry|submit|work`, `faxgate outbox` and `faxgate
//! inbox`: fax jobs on the configured store. A job is one delivery: one recipient of a
//! request. `job work`, the scheduler's worker, is in `worker.rs`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use fax_queue::{
    BlobStore, DeliveryFilter, DeliveryId, DeliveryState, Document, NewRequest, Source, Store,
    UserKey,
};
use serde_json::{Value, json};

use crate::queue_cmd::{StoreArgs, actor, block_on, delivery_json, now, print_json, time_text};
use crate::worker::{self, WorkArgs};

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
    /// Work jobs off the lines: claim due jobs, call, record the results.
    ///
    /// Each [[line]] of the config file carries at most its channels' calls at once,
    /// across every worker sharing the store; jobs go out highest priority first, then
    /// the longest waiting, never before their send-at time. Jobs for a fax ID of this
    /// server go to that user's inbox without a call. Logs go to stderr (RUST_LOG sets
    /// the detail, e.g. RUST_LOG=faxgate=debug).
    Work(WorkArgs),
}

/// Runs a `job` subcommand.
pub fn run(command: JobCommand, store_args: &StoreArgs) -> anyhow::Result<bool> {
    let config = store_args.config()?;
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
                let documents = store_documents(&blobs, &files)?;
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
            JobCommand::Work(args) => worker::work(&store, &settings, &config, &args).await,
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

/// Runs `faxgate inbox`.
pub fn inbox(user: &UserKey, limit: u32, store_args: &StoreArgs) -> anyhow::Result<bool> {
    let settings = store_args.settings()?;
    let json = store_args.json;
    block_on(async move {
        let store = settings.open().await?;
        let user = store.user(user).await?;
        let entries = store
            .inbox(user.id, limit)
            .await
            .context("reading the inbox")?;
        let blobs = BlobStore::open(settings.blob_dir())?;
        if json {
            let list = entries
                .iter()
                .map(|e| {
                    json!({
                        "received_at": time_text(e.received_at),
                        "sender": e.sender,
                        "pages": e.pages,
                        "tiff": e.tiff.as_str(),
                        "file": blobs.path(&e.tiff).display().to_string(),
                    })
                })
                .collect();
            print_json(&Value::Array(list))?;
        } else {
            for e in &entries {
                println!(
                    "{}  {:>3} pages  {}  {}",
                    time_text(e.received_at),
                    e.pages,
                    e.sender,
                    blobs.path(&e.tiff).display()
                );
            }
        }
        store.close().await;
        Ok(true)
    })
}

/// Reads each file and stores it as a blob: the documents of a request made from the
/// command line, named by their file names.
pub(crate) fn store_documents(
    blobs: &BlobStore,
    files: &[PathBuf],
) -> anyhow::Result<Vec<Document>> {
    files
        .iter()
        .map(|file| {
            let content =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let blob = blobs
                .put(&content)
                .with_context(|| format!("storing {}", file.display()))?;
            Ok(Document { name, blob })
        })
        .collect()
}
