//! SQLite under the load the daemon and the command line put on one file together.
//! A `faxgate job list` / `job show` process opens its own pool on the daemon's file,
//! checks the schema and reads; the daemon claims, renews and finishes in between. No
//! call may fail with "database is locked": a reader gets a snapshot without waiting
//! for any writer, and a writer never queues behind a reader.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fax_queue::*;
use sqlx::Connection;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const LEASE: Duration = Duration::from_secs(60);
/// Deliveries the worker takes through claim, renewals and finish.
const JOBS: usize = 40;
/// Renewals per call, as a long call would make.
const RENEWALS: usize = 5;
/// Concurrent command-line readers.
const READERS: usize = 6;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn at(millis: i64) -> Timestamp {
    Timestamp(T0.0 + millis)
}

fn request(destination: &str) -> NewRequest {
    NewRequest {
        source: Source::Email,
        user: None,
        sender: "li@example.com".to_owned(),
        subject: "lock test".to_owned(),
        documents: vec![Document {
            name: "page.txt".to_owned(),
            blob: BlobRef::of(b"page"),
        }],
        raw_mail: None,
        destinations: vec![destination.to_owned()],
        priority: 0,
        send_at: T0,
        total_pages: Some(RENEWALS as u32),
    }
}

fn sent(pages: u32) -> AttemptReport {
    AttemptReport {
        outcome: CallOutcome {
            class: OutcomeClass::Sent,
            pages_confirmed: pages,
        },
        pages_total: Some(pages),
        bit_rate: Some(14400),
        ecm: Some(true),
        remote_ident: None,
        t30_code: Some(0),
        reason: "sent".to_owned(),
    }
}

/// What one `faxgate job list` + `job show` process does: open (schema check
/// included), list, show the newest, close.
async fn cli_reader(dir: &Path, stop: &AtomicBool) -> Result<usize, String> {
    let mut rounds = 0;
    // At least a few rounds even if the worker is quick, then until it is done.
    while rounds < 3 || !stop.load(Ordering::Acquire) {
        let store = Store::open_data_dir(dir)
            .await
            .map_err(|error| format!("opening: {error}"))?;
        let list = store
            .deliveries(&DeliveryFilter::default())
            .await
            .map_err(|error| format!("listing: {error}"))?;
        if let Some(newest) = list.first() {
            store
                .delivery_detail(newest.id)
                .await
                .map_err(|error| format!("showing: {error}"))?;
        }
        store.close().await;
        rounds += 1;
    }
    Ok(rounds)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_renews_and_finishes_while_command_line_readers_open_the_store() {
    let dir =
        std::env::temp_dir().join(format!("fax-queue-concurrent-open-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _cleanup = TempDir(dir.clone());
    let daemon = Store::open_data_dir(&dir).await.expect("daemon opens");
    let stop = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let dir = dir.clone();
            let stop = Arc::clone(&stop);
            tokio::spawn(async move { cli_reader(&dir, &stop).await })
        })
        .collect();

    let worker = {
        let store = daemon.clone();
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let result = async {
                let mut clock = 0;
                for job in 0..JOBS {
                    clock += 1000;
                    store
                        .enqueue(&request(&format!("+8610{job:08}")), at(clock))
                        .await
                        .map_err(|error| format!("enqueueing: {error}"))?;
                    let claims = store
                        .claim("trunk", 1, "worker", LEASE, at(clock))
                        .await
                        .map_err(|error| format!("claiming: {error}"))?;
                    let claim = claims.first().ok_or("nothing claimed")?;
                    for page in 1..=RENEWALS {
                        clock += 10;
                        store
                            .renew(claim, LEASE, Some(page as u32), at(clock))
                            .await
                            .map_err(|error| format!("renewing a lease: {error}"))?;
                    }
                    store
                        .finish(claim, &sent(RENEWALS as u32), at(clock))
                        .await
                        .map_err(|error| format!("finishing: {error}"))?;
                }
                Ok::<(), String>(())
            }
            .await;
            stop.store(true, Ordering::Release);
            result
        })
    };

    let mut failures = Vec::new();
    if let Err(error) = worker.await.expect("worker task") {
        failures.push(format!("worker: {error}"));
    }
    for (index, reader) in readers.into_iter().enumerate() {
        if let Err(error) = reader.await.expect("reader task") {
            failures.push(format!("reader {index}: {error}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    let all = daemon
        .deliveries(&DeliveryFilter::default())
        .await
        .expect("lists");
    assert_eq!(all.len(), JOBS);
    assert!(
        all.iter().all(|d| d.state == DeliveryState::Sent),
        "{all:?}"
    );
    daemon.close().await;
}

/// A writer that holds SQLite's write lock for as long as it likes (on a loaded machine
/// a process holding it may not run for seconds) must not make a command-line reader
/// fail: opening the store, schema check included, and reading need no write lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_open_and_read_while_another_process_holds_the_write_lock() {
    let dir =
        std::env::temp_dir().join(format!("fax-queue-held-write-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _cleanup = TempDir(dir.clone());
    let daemon = Store::open_data_dir(&dir).await.expect("daemon opens");
    let (_, deliveries) = daemon
        .enqueue(&request("+861012345678"), T0)
        .await
        .expect("enqueues");
    let claim = daemon
        .claim("trunk", 1, "worker", LEASE, T0)
        .await
        .expect("claims")
        .pop()
        .expect("one claim");

    let url = format!("sqlite://{}", dir.join("faxgate.db").display());
    let mut holder = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("second connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .expect("takes the write lock");

    for _ in 0..READERS {
        let store = Store::open_data_dir(&dir)
            .await
            .expect("opens while the write lock is held");
        let list = store
            .deliveries(&DeliveryFilter::default())
            .await
            .expect("lists while the write lock is held");
        assert_eq!(list.len(), 1);
        let detail = store
            .delivery_detail(deliveries[0])
            .await
            .expect("shows while the write lock is held");
        assert_eq!(detail.delivery.state, DeliveryState::Active);
        store.close().await;
    }

    sqlx::query("COMMIT")
        .execute(&mut holder)
        .await
        .expect("releases the write lock");
    holder.close().await.expect("closes");
    daemon
        .renew(&claim, LEASE, Some(1), at(1000))
        .await
        .expect("renews once the lock is free");
    daemon
        .finish(&claim, &sent(1), at(2000))
        .await
        .expect("finishes");
    daemon.close().await;
}

/// A write lock held longer than the SQLite driver's default wait of 5 s (a writer
/// starved of CPU, or a commit stuck in a slow disk sync) delays the daemon's lease
/// renewal instead of failing it with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_waits_for_a_write_lock_held_past_the_driver_default() {
    let dir = std::env::temp_dir().join(format!("fax-queue-slow-writer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _cleanup = TempDir(dir.clone());
    let daemon = Store::open_data_dir(&dir).await.expect("daemon opens");
    daemon
        .enqueue(&request("+861012345678"), T0)
        .await
        .expect("enqueues");
    let claim = daemon
        .claim("trunk", 1, "worker", LEASE, T0)
        .await
        .expect("claims")
        .pop()
        .expect("one claim");

    let url = format!("sqlite://{}", dir.join("faxgate.db").display());
    let mut holder = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("second connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .expect("takes the write lock");
    let renewal = {
        let daemon = daemon.clone();
        let claim = claim.clone();
        tokio::spawn(async move { daemon.renew(&claim, LEASE, Some(1), at(1000)).await })
    };
    // Holding the lock, not measuring: the renewal must still be waiting when the
    // holder lets go, however long that took.
    tokio::time::sleep(Duration::from_secs(6)).await;
    sqlx::query("COMMIT")
        .execute(&mut holder)
        .await
        .expect("releases the write lock");
    holder.close().await.expect("closes");
    renewal
        .await
        .expect("renewal task")
        .expect("renews once the lock is free");
    daemon.close().await;
}
