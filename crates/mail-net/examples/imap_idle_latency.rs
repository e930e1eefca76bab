//! IDLE pickup latency: the time from Postfix accepting a message (its `250` to DATA)
//! to the IMAP watch loop handing that message to the sink, with Postfix delivering to
//! Dovecot over LMTP and the loop waiting in IDLE over IMAPS.
//!
//! ```text
//! cargo run --release -p mail-net --example imap_idle_latency [-- MESSAGES]
//! ```
//!
//! Starts the project's test mail servers (`scripts/mail-servers`, needs root).

#[path = "../tests/imap_support/mod.rs"]
mod imap_support;

use std::sync::Mutex;
use std::time::Duration;

use imap_support::{FileSink, fax_mail, send_via_postfix, servers};
use mail_net::IntakeStatus;
use mail_net::imap::run_imap_loop;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let servers = servers();
    let mut config = servers.imap_config("fax");
    config.poll_interval_seconds = 3600;
    let sink = FileSink::new(&servers.dir.join("latency-sink"));
    let status = Mutex::new(IntakeStatus::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    let watcher = run_imap_loop(&config, &sink, &status, stop_rx);
    let measure = async {
        while status
            .lock()
            .map(|s| s.polls == 0 || !s.connected)
            .unwrap_or(true)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut latencies = Vec::new();
        let mut delivery = Vec::new();
        for n in 0..rounds {
            // Let the loop finish its pass and settle into IDLE.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let accepted = tokio::task::spawn_blocking(move || {
                send_via_postfix(servers, "fax@faxgate.test", &fax_mail(n, "latency"))
            })
            .await
            .expect("sent");
            // When the message lands in the Maildir: splits the figure into Postfix's
            // delivery (queue manager, LMTP) and Dovecot's IDLE notice plus our fetch.
            let delivered = loop {
                if imap_support::maildir_count(servers, "fax", "") > 0
                    || sink.arrivals.lock().map(|a| a.len() > n).unwrap_or(false)
                {
                    break std::time::Instant::now();
                }
                tokio::time::sleep(Duration::from_micros(500)).await;
            };
            let arrived = loop {
                let found = sink
                    .arrivals
                    .lock()
                    .map(|a| a.get(n).map(|(_, at)| *at))
                    .unwrap_or(None);
                if let Some(at) = found {
                    break at;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            };
            latencies.push(arrived.saturating_duration_since(accepted));
            delivery.push(delivered.saturating_duration_since(accepted));
        }
        stop_tx.send(true).expect("stop");
        (latencies, delivery)
    };
    let ((), (mut latencies, mut delivery)) = tokio::join!(watcher, measure);
    latencies.sort();
    delivery.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "IDLE pickup latency over {} messages (Postfix 250 -> sink): min {:.1} ms, median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        latencies.len(),
        ms(latencies[0]),
        ms(pick(0.5)),
        ms(pick(0.95)),
        ms(latencies[latencies.len() - 1])
    );
    println!(
        "  of which Postfix 250 -> message in the Maildir (Postfix queue manager, LMTP, Dovecot): median {:.1} ms",
        ms(delivery[delivery.len() / 2])
    );
    let status = status.lock().map(|s| s.clone()).unwrap_or_default();
    println!("intake status: {status:?}");
}
