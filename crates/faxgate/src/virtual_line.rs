//! The virtual line's far end: faxgate's own answering fax terminal on loopback.
//!
//! For each call on a `kind = "virtual"` line an answering T.38 terminal is bound to
//! an ephemeral UDP port on 127.0.0.1 and the worker calls it there, so the job goes
//! through the same T.30 session, T.38 packets and UDP sockets as a call to a real
//! gateway. What the terminal receives is filed as a TIFF under the data directory,
//! `virtual/<line>/<timestamp>-<call>.tif`, and recorded as one JSON line in
//! `virtual/<line>/received.jsonl`: a fax machine in a box, for demos and trials.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use fax_queue::Claim;
use serde_json::json;

use crate::config::LineConfig;
use crate::fax_cmd;
use crate::queue_cmd::{now, time_text};

/// One answering terminal, waiting for or in one call.
pub struct Terminal {
    address: SocketAddr,
    give_up: Arc<AtomicBool>,
    call: tokio::task::JoinHandle<anyhow::Result<Option<PathBuf>>>,
}

/// Where a virtual line files what it receives.
pub fn line_dir(data_dir: &Path, line: &str) -> PathBuf {
    data_dir.join("virtual").join(line)
}

impl Terminal {
    /// Binds the terminal and starts waiting for the call of `claim`.
    pub fn start(data_dir: &Path, line: &LineConfig, claim: &Claim) -> anyhow::Result<Terminal> {
        let socket =
            UdpSocket::bind("127.0.0.1:0").context("binding the virtual line's UDP port")?;
        let address = socket.local_addr().context("the virtual line's UDP port")?;
        let dir = line_dir(data_dir, &line.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut options = line.call_options();
        // The terminal answers with its own identity, not the calling side's.
        options.ident = "FAXGATE VIRTUAL".to_owned();
        let give_up = Arc::new(AtomicBool::new(false));
        let call_id = claim.attempt.0;
        let destination = claim.delivery.destination.clone();
        let job = claim.delivery.id.0;
        let call = tokio::task::spawn_blocking({
            let give_up = give_up.clone();
            move || {
                let end = fax_cmd::answer(socket, &options, &give_up)?;
                if end.pages.is_empty() {
                    return Ok(None);
                }
                let stamp: String = time_text(now())
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect();
                let file = dir.join(format!("{stamp}-{call_id}.tif"));
                fax_cmd::write_received(&file, &end.pages, &end.outcome)?;
                let record = json!({
                    "file": file,
                    "received_at": time_text(now()),
                    "job": job,
                    "destination": destination,
                    "pages": end.pages.len(),
                    "complete": end.outcome.status == fax_t30::Status::Ok,
                    "t30_status": end.outcome.status.code(),
                    "remote_ident": end.outcome.remote_ident,
                });
                let log = dir.join("received.jsonl");
                let mut out = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .with_context(|| format!("opening {}", log.display()))?;
                out.write_all(format!("{record}\n").as_bytes())
                    .with_context(|| format!("writing {}", log.display()))?;
                Ok(Some(file))
            }
        });
        Ok(Terminal {
            address,
            give_up,
            call,
        })
    }

    /// Where the worker calls.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Waits for the call to end on this side; with `abandon` (the caller never got
    /// through) stops waiting for it. Gives the file the fax was filed in.
    pub async fn finish(self, abandon: bool) -> anyhow::Result<Option<PathBuf>> {
        if abandon {
            self.give_up.store(true, Ordering::Relaxed);
        }
        self.call
            .await
            .context("the virtual line's thread failed")?
    }
}
