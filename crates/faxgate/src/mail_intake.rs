//! The mail intake's sink on the job store: a fetched message's raw bytes go into the
//! blob store (written, synced, renamed), then one ledger row records it; only then
//! may the intake delete it on the server.

use fax_queue::{BlobStore, IntakeOutcome, NewIntake, Store};
use mail_net::{IncomingMessage, MessageSink, SinkError, TakenIn};

use crate::queue_cmd::now;

/// The verdict a message gets until the request made from it is decided.
pub const PENDING: &str = "pending";

/// Stores fetched messages in the blob store and the intake ledger.
pub struct StoreSink {
    /// The job store (the ledger).
    pub store: Store,
    /// Where raw messages are kept.
    pub blobs: BlobStore,
}

/// The Message-ID header of a raw message (unfolded, trimmed), or "" without one.
pub fn message_id(raw: &[u8]) -> String {
    let header_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let text = String::from_utf8_lossy(&raw[..header_end]);
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim_end().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let mut value = value.to_owned();
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
    String::new()
}

impl MessageSink for StoreSink {
    async fn is_known(&self, mailbox: &str, uidl: &str) -> Result<bool, SinkError> {
        Ok(self.store.intake_known(mailbox, uidl).await?)
    }

    async fn take_in(&self, message: IncomingMessage<'_>) -> Result<TakenIn, SinkError> {
        let blob = self.blobs.put(message.raw)?;
        let message_id = message_id(message.raw);
        let outcome = self
            .store
            .record_intake(
                &NewIntake {
                    mailbox: message.mailbox,
                    uidl: message.uidl,
                    message_id: &message_id,
                    raw_blob: &blob,
                    size: u64::try_from(message.raw.len()).unwrap_or(u64::MAX),
                    verdict: PENDING,
                    request: None,
                },
                now(),
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

#[cfg(test)]
mod tests {
    use super::message_id;

    #[test]
    fn message_id_is_found_unfolded_in_any_case() {
        assert_eq!(
            message_id(b"From: a\r\nMESSAGE-ID:\r\n <x@y>\r\n\r\nMessage-ID: <body>\r\n"),
            "<x@y>"
        );
        assert_eq!(message_id(b"Subject: x\n\nMessage-ID: <body>\n"), "");
        assert_eq!(message_id(b"Message-Id: <a@b>\n\nbody"), "<a@b>");
    }
}
