//! A message sink on the fax-queue store and blob directory, as the daemon wires it:
//! raw bytes into the blob store (synced), then one ledger row.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use fax_queue::{BlobStore, IntakeOutcome, NewIntake, Store, Timestamp};
use mail_net::{IncomingMessage, MessageSink, SinkError, TakenIn};

pub struct StoreSink {
    pub store: Store,
    pub blobs: BlobStore,
}

/// The Message-ID header of a raw message (unfolded, trimmed), or "".
pub fn message_id(raw: &[u8]) -> String {
    let header_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let text = String::from_utf8_lossy(&raw[..header_end]);
    let mut lines = text.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if line.len() > 11 && line[..11].eq_ignore_ascii_case("message-id:") {
            let mut value = line[11..].to_owned();
            while let Some(next) = lines.peek() {
                if next.starts_with([' ', '\t']) {
                    value.push_str(next);
                    lines.next();
                } else {
                    break;
                }
            }
            return value.trim().to_owned();
        }
    }
    String::new()
}

impl MessageSink for StoreSink {
    async fn is_known(&self, mailbox: &str, uidl: &str) -> Result<bool, SinkError> {
        Ok(self.store.intake_known(mailbox, uidl).await?)
    }

    async fn take_in(&self, message: IncomingMessage<'_>) -> Result<TakenIn, SinkError> {
        let blob = self.blobs.put(message.raw)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let message_id = message_id(message.raw);
        let outcome = self
            .store
            .record_intake(
                &NewIntake {
                    mailbox: message.mailbox,
                    uidl: message.uidl,
                    message_id: &message_id,
                    raw_blob: &blob,
                    // The raw bytes' digest: these tests re-fetch identical bytes.
                    digest: blob.as_str(),
                    size: message.raw.len() as u64,
                    verdict: "pending",
                    request: None,
                },
                Timestamp(now),
            )
            .await?;
        Ok(match outcome {
            IntakeOutcome::Recorded(_) => TakenIn::Stored,
            IntakeOutcome::Duplicate { .. } | IntakeOutcome::AlreadyRecorded(_) => {
                TakenIn::Duplicate
            }
        })
    }
}
