//! `faxgate send`: a fax request from the command line, the same kind an email makes
//! (the recipients in Subject syntax, the documents stored as blobs, one delivery per
//! recipient), queued for `faxgate serve` to send; `--wait` follows it to the end.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use fax_address::AddressSettings;
use fax_queue::{
    BlobStore, DeliveryDetail, DeliveryId, DeliveryState, NewRequest, Permission, Source, Store,
    User,
};
use serde_json::json;

use crate::queue_cmd::{StoreArgs, block_on, now, print_json};

/// `faxgate send` options.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The recipients, as in a fax mail's Subject: `86-755-83235170/Name; 0-0-123`,
    /// fax IDs too. It is also the request's subject on receipts.
    #[arg(long, value_name = "RECIPIENTS")]
    to: String,
    /// The sender: the address of a user with the email or api permission [default:
    /// the store's only user].
    #[arg(long, value_name = "EMAIL")]
    from: Option<String>,
    /// Follow the request until every recipient is final, then print the results;
    /// exit 0 only if every fax was sent.
    #[arg(long)]
    wait: bool,
    /// With --wait, give up waiting after this many seconds (the request stays queued).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    wait_timeout: u64,
    /// The documents, in order (any kind faxgate convert takes).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

use crate::intake::kind_of;

async fn sender(store: &Store, from: Option<&str>) -> anyhow::Result<User> {
    let users = store.users().await.context("reading the users")?;
    let user = match from {
        Some(from) => users
            .into_iter()
            .find(|user| {
                user.emails
                    .iter()
                    .any(|email| email.as_str().eq_ignore_ascii_case(from))
            })
            .with_context(|| {
                format!("--from {from}: no user has this address (faxgate user add)")
            })?,
        None => {
            let mut users = users;
            if users.len() != 1 {
                bail!("give --from EMAIL: the sender must be one of the store's users");
            }
            users.remove(0)
        }
    };
    if !(user.permissions.has(Permission::EmailToFax) || user.permissions.has(Permission::Api)) {
        bail!(
            "{} may not send faxes: give the user the email or api permission (faxgate user \
             change)",
            user.emails.first().map(|e| e.as_str()).unwrap_or_default()
        );
    }
    Ok(user)
}

/// Runs `faxgate send`.
pub fn run(args: &SendArgs) -> anyhow::Result<bool> {
    let config = args.store.config()?;
    let settings = args.store.settings()?;
    let address = AddressSettings::new(&config.address).context("[address]")?;
    block_on(async {
        let store = settings.open().await?;
        let user = sender(&store, args.from.as_deref()).await?;
        let plan = address
            .plan(&args.to, kind_of(user.max_destination))
            .map_err(|error| anyhow::anyhow!("--to {:?}: {error}", args.to))?;
        let blobs = BlobStore::open(settings.blob_dir())?;
        let documents = crate::job_cmd::store_documents(&blobs, &args.files)?;
        let now = now();
        let request = NewRequest {
            source: Source::Cli,
            user: Some(user.id),
            sender: user
                .emails
                .first()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            subject: args.to.clone(),
            documents,
            raw_mail: None,
            // The canonical Subject entries, as the mail intake stores them.
            destinations: plan.recipients.iter().map(ToString::to_string).collect(),
            priority: 0,
            send_at: now,
            total_pages: None,
        };
        let (request_id, jobs) = store.enqueue(&request, now).await?;
        let ids: Vec<i64> = jobs.iter().map(|j| j.0).collect();
        if !args.wait {
            if args.store.json {
                print_json(&json!({ "request": request_id.0, "jobs": ids }))?;
            } else {
                println!("request {request_id} queued: jobs {ids:?}");
            }
            store.close().await;
            return Ok(true);
        }
        eprintln!("request {request_id} queued: jobs {ids:?}; waiting for faxgate serve");
        let details = follow(&store, &jobs, Duration::from_secs(args.wait_timeout), false).await?;
        store.close().await;
        let all_sent = details
            .iter()
            .all(|detail| detail.delivery.state == DeliveryState::Sent);
        if args.store.json {
            let results: Vec<_> = details
                .iter()
                .map(|detail| crate::receipts::recipient_result(&address, detail, None))
                .collect();
            print_json(&json!({
                "request": request_id.0,
                "jobs": ids,
                "all_sent": all_sent,
                "recipients": results,
            }))?;
        } else {
            print_table(&address, &details);
        }
        Ok(all_sent)
    })
}

/// Polls the jobs until all are final (or `limit` passes), showing their progress (on
/// stderr, or stdout) as it changes.
pub async fn follow(
    store: &Store,
    jobs: &[DeliveryId],
    limit: Duration,
    to_stdout: bool,
) -> anyhow::Result<Vec<DeliveryDetail>> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut shown = String::new();
    loop {
        let mut details = Vec::with_capacity(jobs.len());
        for job in jobs {
            details.push(store.delivery_detail(*job).await?);
        }
        let line = details
            .iter()
            .map(|detail| {
                let delivery = &detail.delivery;
                let pages = match delivery.total_pages {
                    Some(total) => format!(" {}/{total} pages", delivery.resume_page),
                    None if delivery.resume_page > 0 => format!(" {} pages", delivery.resume_page),
                    None => String::new(),
                };
                format!(
                    "{}: {}{pages}{}",
                    delivery.destination,
                    delivery.state.as_str(),
                    if delivery.attempts > 0 {
                        format!(" (call {})", delivery.attempts)
                    } else {
                        String::new()
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        if line != shown {
            if to_stdout {
                println!("    {line}");
                let _ = std::io::stdout().flush();
            } else {
                eprintln!("  {line}");
                let _ = std::io::stderr().flush();
            }
            shown = line;
        }
        if details
            .iter()
            .all(|detail| detail.delivery.state.is_final())
        {
            return Ok(details);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "gave up waiting after {} s: the request stays queued",
                limit.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn print_table(address: &AddressSettings, details: &[DeliveryDetail]) {
    let rows: Vec<[String; 6]> = details
        .iter()
        .map(|detail| {
            let result = crate::receipts::recipient_result(address, detail, None);
            [
                result
                    .number
                    .clone()
                    .or(result.fax_id.clone())
                    .unwrap_or_default(),
                [result.name1.clone(), result.name2.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" | "),
                detail.delivery.state.as_str().to_owned(),
                format!("{}/{}", result.pages_sent, result.pages_total),
                result.attempts.to_string(),
                detail.delivery.result.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["number", "name", "status", "pages", "calls", "result"];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let print = |cells: &[String]| {
        let mut line = String::new();
        for (cell, width) in cells.iter().zip(widths) {
            line.push_str(cell);
            line.push_str(&" ".repeat(width.saturating_sub(cell.chars().count()) + 2));
        }
        println!("{}", line.trim_end());
    };
    print(&header.map(str::to_owned));
    for row in &rows {
        print(row);
    }
}
