//! Throughput and latency of the queue on SQLite and PostgreSQL: deliveries enqueued
//! per second, deliveries claimed and finished per second, and the latency of one
//! claim. Not a test (tests never assert on time):
//!
//! ```sh
//! cargo run --release -p fax-queue --example queue_bench [DELIVERIES]
//! ```
//!
//! SQLite runs on a file in a temporary folder with the store's own settings (WAL,
//! synchronous FULL). PostgreSQL runs on a server the test helper starts, tuned for
//! tests (fsync off): its figures show the queue's own cost, not a disk's.

#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::time::{Duration, Instant};

use fax_queue::*;

const LEASE: Duration = Duration::from_secs(60);

fn request(destinations: usize) -> NewRequest {
    NewRequest {
        source: Source::Api,
        user: None,
        sender: "bench@example.com".to_owned(),
        subject: "bench".to_owned(),
        documents: vec![Document {
            name: "page.tif".to_owned(),
            blob: BlobRef::of(b"page"),
        }],
        raw_mail: None,
        destinations: (0..destinations).map(|n| format!("+8610{n:08}")).collect(),
        priority: 0,
        send_at: Timestamp(0),
        total_pages: Some(1),
    }
}

fn report() -> AttemptReport {
    AttemptReport {
        outcome: CallOutcome {
            class: OutcomeClass::Sent,
            pages_confirmed: 1,
        },
        pages_total: Some(1),
        bit_rate: Some(14400),
        ecm: Some(true),
        remote_ident: None,
        t30_code: Some(0),
        reason: "fax completed".to_owned(),
    }
}

async fn bench(name: &str, store: Store, deliveries: usize) {
    let now = Timestamp(1_000);
    // Enqueue: requests of one recipient (the common mail) and of ten.
    let start = Instant::now();
    for _ in 0..deliveries / 2 {
        store.enqueue(&request(1), now).await.expect("enqueue");
    }
    let single = start.elapsed();
    let start = Instant::now();
    for _ in 0..deliveries / 20 {
        store.enqueue(&request(10), now).await.expect("enqueue");
    }
    let batched = start.elapsed();
    let per_second = |count: usize, time: Duration| count as f64 / time.as_secs_f64();
    println!(
        "{name:<10} enqueue: {:>7.0} deliveries/s (1 per request), {:>7.0}/s (10 per request)",
        per_second(deliveries / 2, single),
        per_second(deliveries / 2, batched)
    );

    // Claim one at a time and finish each: one worker, one channel.
    let total = deliveries / 2 / 20 * 20 + deliveries / 2;
    let mut latencies = Vec::with_capacity(total);
    let start = Instant::now();
    let mut done = 0;
    while done < total / 2 {
        let claim_start = Instant::now();
        let claims = store
            .claim("bench", 1, "w", LEASE, now)
            .await
            .expect("claim");
        latencies.push(claim_start.elapsed());
        for claim in &claims {
            store.finish(claim, &report(), now).await.expect("finish");
        }
        done += claims.len();
    }
    let one_by_one = start.elapsed();
    // Claim ten at a time.
    let start = Instant::now();
    let mut done_batched = 0;
    loop {
        let claims = store
            .claim("bench", 10, "w", LEASE, now)
            .await
            .expect("claim");
        if claims.is_empty() {
            break;
        }
        for claim in &claims {
            store.finish(claim, &report(), now).await.expect("finish");
        }
        done_batched += claims.len();
    }
    let ten_at_a_time = start.elapsed();
    latencies.sort();
    let percentile = |p: usize| latencies[(latencies.len() - 1) * p / 100];
    println!(
        "{name:<10} claim+finish: {:>7.0} deliveries/s (1 per claim), {:>7.0}/s (10 per claim); \
         claim latency p50 {:.2} ms, p99 {:.2} ms",
        per_second(done, one_by_one),
        per_second(done_batched, ten_at_a_time),
        percentile(50).as_secs_f64() * 1000.0,
        percentile(99).as_secs_f64() * 1000.0,
    );
    store.close().await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let deliveries: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let dir = std::env::temp_dir().join(format!("fax-queue-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sqlite = Store::open_data_dir(&dir).await.expect("SQLite store");
    bench("sqlite", sqlite, deliveries).await;
    let _ = std::fs::remove_dir_all(&dir);
    let postgres = Store::open(&postgres::fresh_database("bench"))
        .await
        .expect("PostgreSQL store");
    bench("postgresql", postgres, deliveries).await;
}
