//! The mail intake ledger: which messages were taken in from which mailbox, and what
//! became of each.
//!
//! A fetched message is recorded here in one transaction after its raw bytes are in
//! the blob store, and only then deleted on the server. So a message on the server is
//! either unknown here (fetch it) or known by its unique ID (just delete it); a message
//! that reappears under another unique ID (a server that rebuilt its ID list, or the
//! same mail in two mailboxes) is recognised by Message-ID and content digest and
//! recorded as a duplicate, which never becomes a second fax.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Error;
use crate::model::{BlobRef, RequestId, Timestamp};
use crate::store::Store;

/// A row's key in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntakeId(pub i64);

/// A message to record.
#[derive(Debug, Clone)]
pub struct NewIntake<'a> {
    /// The mailbox it came from (its ledger name).
    pub mailbox: &'a str,
    /// The server's unique ID of it in that mailbox.
    pub uidl: &'a str,
    /// Its Message-ID header (empty if it had none).
    pub message_id: &'a str,
    /// Its raw bytes, already stored (the reference is the SHA-256 digest).
    pub raw_blob: &'a BlobRef,
    /// Its content digest without the fields each delivery adds (`Received`, ...), so
    /// one message delivered twice has one digest (`mail_message::content_digest`).
    pub digest: &'a str,
    /// Its size in bytes.
    pub size: u64,
    /// What became of it, in words (`pending`, `queued`, `refused: ...`).
    pub verdict: &'a str,
    /// The fax request made from it, if any.
    pub request: Option<RequestId>,
}

/// What recording a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Recorded as new.
    Recorded(IntakeId),
    /// Recorded as a duplicate of an earlier message with the same Message-ID and
    /// content: no new request must be made for it.
    Duplicate {
        /// This message's row.
        id: IntakeId,
        /// The row of the message taken in first.
        of: IntakeId,
    },
    /// This unique ID of this mailbox was recorded before: nothing changed.
    AlreadyRecorded(IntakeId),
}

/// One row of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeEntry {
    /// The row.
    pub id: IntakeId,
    /// The mailbox.
    pub mailbox: String,
    /// The unique ID.
    pub uidl: String,
    /// The Message-ID (empty if none).
    pub message_id: String,
    /// The raw message.
    pub raw_blob: BlobRef,
    /// Its size.
    pub size: u64,
    /// What became of it.
    pub verdict: String,
    /// The earlier row it duplicates.
    pub duplicate_of: Option<IntakeId>,
    /// The request made from it.
    pub request: Option<RequestId>,
    /// When it was taken in.
    pub taken_at: Timestamp,
}

const INTAKE_COLUMNS: &str = "id, mailbox, uidl, message_id, raw_blob, size, verdict, \
    duplicate_of, request_id, taken_at";

fn entry(row: &AnyRow) -> Result<IntakeEntry, Error> {
    let blob: String = row.try_get(4)?;
    Ok(IntakeEntry {
        id: IntakeId(row.try_get(0)?),
        mailbox: row.try_get(1)?,
        uidl: row.try_get(2)?,
        message_id: row.try_get(3)?,
        raw_blob: blob
            .parse()
            .map_err(|_| Error::Corrupt(format!("mail intake blob reference {blob:?}")))?,
        size: u64::try_from(row.try_get::<i64, _>(5)?).unwrap_or(0),
        verdict: row.try_get(6)?,
        duplicate_of: row.try_get::<Option<i64>, _>(7)?.map(IntakeId),
        request: row.try_get::<Option<i64>, _>(8)?.map(RequestId),
        taken_at: Timestamp(row.try_get(9)?),
    })
}

impl Store {
    /// Whether the message with `uidl` from `mailbox` was recorded.
    pub async fn intake_known(&self, mailbox: &str, uidl: &str) -> Result<bool, Error> {
        let row = sqlx::query("SELECT id FROM mail_intake WHERE mailbox = $1 AND uidl = $2")
            .bind(mailbox)
            .bind(uidl)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The first recorded message with this Message-ID and content digest, if any.
    pub async fn intake_find_content(
        &self,
        message_id: &str,
        digest: &str,
    ) -> Result<Option<IntakeId>, Error> {
        let row = sqlx::query(
            "SELECT id FROM mail_intake WHERE message_id = $1 AND digest = $2 \
             AND duplicate_of IS NULL ORDER BY id LIMIT 1",
        )
        .bind(message_id)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => Some(IntakeId(row.try_get(0)?)),
            None => None,
        })
    }

    /// Records a taken-in message in one transaction: as new, as a duplicate of an
    /// earlier one with the same Message-ID and content, or not at all if its unique
    /// ID was recorded before. The raw bytes must already be in the blob store.
    pub async fn record_intake(
        &self,
        message: &NewIntake<'_>,
        now: Timestamp,
    ) -> Result<IntakeOutcome, Error> {
        let mut tx = self.write_tx().await?;
        let outcome = match known(&mut tx, message).await? {
            Known::Recorded(id) => IntakeOutcome::AlreadyRecorded(id),
            Known::CopyOf(of) => IntakeOutcome::Duplicate {
                id: insert_row(&mut tx, message, Some(of), None, now).await?,
                of,
            },
            Known::New => IntakeOutcome::Recorded(
                insert_row(&mut tx, message, None, message.request, now).await?,
            ),
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Sets what became of a message (once the request is made or refused).
    pub async fn set_intake_verdict(
        &self,
        id: IntakeId,
        verdict: &str,
        request: Option<RequestId>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let done = sqlx::query(
            "UPDATE mail_intake SET verdict = $1, request_id = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(verdict)
        .bind(request.map(|r| r.0))
        .bind(now.0)
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound {
                what: "mail intake entry",
                key: id.0.to_string(),
            });
        }
        Ok(())
    }

    /// The ledger's rows, oldest first; only `mailbox`'s if given.
    pub async fn intake_entries(&self, mailbox: Option<&str>) -> Result<Vec<IntakeEntry>, Error> {
        let rows = match mailbox {
            Some(mailbox) => {
                sqlx::query(&format!(
                    "SELECT {INTAKE_COLUMNS} FROM mail_intake WHERE mailbox = $1 ORDER BY id"
                ))
                .bind(mailbox)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {INTAKE_COLUMNS} FROM mail_intake ORDER BY id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(entry).collect()
    }
}

/// What the ledger knows of a message about to be recorded.
pub(crate) enum Known {
    /// Its mailbox and unique ID were recorded before (this row).
    Recorded(IntakeId),
    /// It is new under this unique ID but a copy (same Message-ID and content
    /// digest) of the message recorded first in this row.
    CopyOf(IntakeId),
    /// Never seen.
    New,
}

/// Looks `message` up in the ledger, inside the writer transaction that records it.
pub(crate) async fn known(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    message: &NewIntake<'_>,
) -> Result<Known, Error> {
    let recorded = sqlx::query("SELECT id FROM mail_intake WHERE mailbox = $1 AND uidl = $2")
        .bind(message.mailbox)
        .bind(message.uidl)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = recorded {
        return Ok(Known::Recorded(IntakeId(row.try_get(0)?)));
    }
    let original = sqlx::query(
        "SELECT id FROM mail_intake WHERE message_id = $1 AND digest = $2 \
         AND duplicate_of IS NULL ORDER BY id LIMIT 1",
    )
    .bind(message.message_id)
    .bind(message.digest)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match original {
        Some(row) => Known::CopyOf(IntakeId(row.try_get(0)?)),
        None => Known::New,
    })
}

/// Inserts the ledger row of `message`: a copy of `original` (its verdict says so and
/// it points at no request), or a new message made into `request`.
pub(crate) async fn insert_row(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    message: &NewIntake<'_>,
    original: Option<IntakeId>,
    request: Option<RequestId>,
    now: Timestamp,
) -> Result<IntakeId, Error> {
    let verdict = match original {
        Some(of) => format!("duplicate of intake {}", of.0),
        None => message.verdict.to_owned(),
    };
    let id: i64 = sqlx::query(
        "INSERT INTO mail_intake (mailbox, uidl, message_id, digest, raw_blob, size, \
         verdict, duplicate_of, request_id, taken_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(message.mailbox)
    .bind(message.uidl)
    .bind(message.message_id)
    .bind(message.digest)
    .bind(message.raw_blob.as_str())
    .bind(i64::try_from(message.size).unwrap_or(i64::MAX))
    .bind(&verdict)
    .bind(original.map(|of| of.0))
    .bind(if original.is_some() {
        None
    } else {
        request.map(|r| r.0)
    })
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    Ok(IntakeId(id))
}
