//! Mail the gateway sends (receipts), and taking a mail in as a fax request.
//!
//! Both ends of the mail side meet the queue in single transactions here:
//!
//! - [`Store::take_in_mail`] records a fetched message in the intake ledger together
//!   with the request made from it (or the problem receipt that answers it): a crash
//!   before the commit leaves nothing (the message is still on the server and is
//!   fetched again), a crash after it leaves both, and the ledger's unique ID and
//!   content checks keep a message fetched twice from becoming two faxes.
//! - [`Store::queue_receipt`] marks a finished request receipted and queues its
//!   receipt in one transaction, so each request gets exactly one.
//! - [`Store::finish_to_inbox`] queues the mail that hands a fax filed in a user's
//!   inbox to its owner in the transaction that files it.
//!
//! Queued mail is sent by the binary's mail sender, which claims due mail for a while
//! ([`Store::claim_outgoing`]) and reports each try. Sending is at least once: a crash
//! after the server accepted a mail and before it was marked sent sends it again.

use std::time::Duration;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Error;
use crate::intake::{IntakeId, IntakeOutcome, Known, NewIntake, insert_row, known};
use crate::model::{DeliveryDetail, DeliveryId, NewRequest, RequestId, Timestamp};
use crate::store::{Store, insert_request};

/// A row of the outgoing mail table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutgoingId(pub i64);

impl std::fmt::Display for OutgoingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where an outgoing mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutgoingState {
    /// Waiting to be sent (again).
    Queued,
    /// Accepted by the SMTP server.
    Sent,
    /// Given up: the server refused it for good.
    Failed,
}

impl OutgoingState {
    /// The state as stored (`queued`, `sent`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingState::Queued => "queued",
            OutgoingState::Sent => "sent",
            OutgoingState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<OutgoingState, Error> {
        match text {
            "queued" => Ok(OutgoingState::Queued),
            "sent" => Ok(OutgoingState::Sent),
            "failed" => Ok(OutgoingState::Failed),
            other => Err(Error::Corrupt(format!("outgoing mail state {other:?}"))),
        }
    }
}

/// A mail to queue.
#[derive(Debug, Clone, Copy)]
pub struct NewOutgoing<'a> {
    /// What it is (`problem`, `result`, `inbox`).
    pub kind: &'a str,
    /// The one recipient (the sender of the request, or the owner of an inbox).
    pub rcpt_to: &'a str,
    /// The whole message, headers and body (UTF-8: receipts are ASCII with encoded
    /// words and base64 parts).
    pub message: &'a [u8],
}

/// A queued or sent mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The row.
    pub id: OutgoingId,
    /// What it is (`problem`, `result`).
    pub kind: String,
    /// The request it reports on, if any.
    pub request: Option<RequestId>,
    /// The message taken in that it answers, if any.
    pub intake: Option<IntakeId>,
    /// The recipient.
    pub rcpt_to: String,
    /// The whole message.
    pub message: Vec<u8>,
    /// Where it stands.
    pub state: OutgoingState,
    /// Tries made so far.
    pub tries: u32,
    /// When it may be tried next.
    pub next_attempt_at: Timestamp,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When the server accepted it.
    pub sent_at: Option<Timestamp>,
}

/// What [`Store::take_in_mail`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTakenIn {
    /// The ledger's answer: new, a duplicate, or known by its unique ID.
    pub outcome: IntakeOutcome,
    /// The request and its deliveries, when one was made (new messages only).
    pub request: Option<(RequestId, Vec<DeliveryId>)>,
    /// The reply queued, if any (new messages only).
    pub reply: Option<OutgoingId>,
}

const OUTGOING_COLUMNS: &str = "id, kind, request_id, intake_id, rcpt_to, message, state, \
    tries, next_attempt_at, last_error, created_at, sent_at";

fn outgoing_from_row(row: &AnyRow) -> Result<OutgoingMail, Error> {
    let message: String = row.try_get(5)?;
    Ok(OutgoingMail {
        id: OutgoingId(row.try_get(0)?),
        kind: row.try_get(1)?,
        request: row.try_get::<Option<i64>, _>(2)?.map(RequestId),
        intake: row.try_get::<Option<i64>, _>(3)?.map(IntakeId),
        rcpt_to: row.try_get(4)?,
        message: message.into_bytes(),
        state: OutgoingState::parse(&row.try_get::<String, _>(6)?)?,
        tries: u32::try_from(row.try_get::<i64, _>(7)?).unwrap_or(u32::MAX),
        next_attempt_at: Timestamp(row.try_get(8)?),
        last_error: row.try_get(9)?,
        created_at: Timestamp(row.try_get(10)?),
        sent_at: row.try_get::<Option<i64>, _>(11)?.map(Timestamp),
    })
}

fn message_text(mail: &NewOutgoing<'_>) -> Result<String, Error> {
    String::from_utf8(mail.message.to_vec()).map_err(|_| Error::Invalid {
        what: "outgoing mail (UTF-8 text)",
        value: mail.kind.to_owned(),
    })
}

pub(crate) async fn insert_outgoing(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    mail: &NewOutgoing<'_>,
    request: Option<RequestId>,
    intake: Option<IntakeId>,
    now: Timestamp,
) -> Result<OutgoingId, Error> {
    let id: i64 = sqlx::query(
        "INSERT INTO outgoing_mail (kind, request_id, intake_id, rcpt_to, message, state, \
         tries, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6) RETURNING id",
    )
    .bind(mail.kind)
    .bind(request.map(|r| r.0))
    .bind(intake.map(|i| i.0))
    .bind(mail.rcpt_to)
    .bind(message_text(mail)?)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    Ok(OutgoingId(id))
}

impl Store {
    /// Records a fetched message in the intake ledger and, in the same transaction,
    /// stores the request made from it (one delivery per destination) and queues the
    /// reply to its sender, if any. A message whose unique ID is recorded already
    /// changes nothing; one with the Message-ID and content of an earlier message is
    /// recorded as its duplicate with no request and no reply. The raw bytes and the
    /// documents must already be in the blob store. `message.request` is ignored: the
    /// ledger row points at the request made here.
    pub async fn take_in_mail(
        &self,
        message: &NewIntake<'_>,
        request: Option<&NewRequest>,
        reply: Option<&NewOutgoing<'_>>,
        now: Timestamp,
    ) -> Result<MailTakenIn, Error> {
        if let Some(request) = request
            && request.destinations.is_empty()
        {
            return Err(Error::Invalid {
                what: "request (at least one destination)",
                value: request.subject.clone(),
            });
        }
        let mut tx = self.write_tx().await?;
        let original = match known(&mut tx, message).await? {
            Known::Recorded(id) => {
                tx.commit().await?;
                return Ok(MailTakenIn {
                    outcome: IntakeOutcome::AlreadyRecorded(id),
                    request: None,
                    reply: None,
                });
            }
            Known::CopyOf(of) => Some(of),
            Known::New => None,
        };
        let made = match (original, request) {
            (None, Some(request)) => Some(insert_request(&mut tx, request, now).await?),
            _ => None,
        };
        let id = insert_row(
            &mut tx,
            message,
            original,
            made.as_ref().map(|(request, _)| *request),
            now,
        )
        .await?;
        let reply = match (original, reply) {
            (None, Some(reply)) => Some(
                insert_outgoing(
                    &mut tx,
                    reply,
                    made.as_ref().map(|(r, _)| *r),
                    Some(id),
                    now,
                )
                .await?,
            ),
            _ => None,
        };
        tx.commit().await?;
        Ok(MailTakenIn {
            outcome: match original {
                Some(of) => IntakeOutcome::Duplicate { id, of },
                None => IntakeOutcome::Recorded(id),
            },
            request: made,
            reply,
        })
    }

    /// Requests that came by mail, have deliveries, all of them final (sent, failed,
    /// cancelled), and no receipt yet: oldest first, at most `limit` (0: all).
    pub async fn requests_awaiting_receipt(&self, limit: u32) -> Result<Vec<RequestId>, Error> {
        let rows = sqlx::query(
            "SELECT r.id FROM requests r WHERE r.source = 'email' AND r.receipted_at IS NULL \
             AND EXISTS (SELECT 1 FROM deliveries d WHERE d.request_id = r.id) \
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.request_id = r.id \
                             AND d.state IN ('queued', 'active')) \
             ORDER BY r.id LIMIT $1",
        )
        .bind(if limit == 0 {
            i64::MAX
        } else {
            i64::from(limit)
        })
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(RequestId(row.try_get(0)?)))
            .collect()
    }

    /// Every delivery of a request with its calls, in the request's order.
    pub async fn request_deliveries(
        &self,
        request: RequestId,
    ) -> Result<Vec<DeliveryDetail>, Error> {
        let ids: Vec<i64> =
            sqlx::query("SELECT id FROM deliveries WHERE request_id = $1 ORDER BY id")
                .bind(request.0)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
        let mut details = Vec::with_capacity(ids.len());
        for id in ids {
            details.push(self.delivery_detail(DeliveryId(id)).await?);
        }
        Ok(details)
    }

    /// Marks a request receipted and queues `receipt` in one transaction, if every
    /// delivery of it is still final and it has no receipt yet; `None` otherwise (a
    /// receipt was queued before, or a delivery was retried meanwhile). `receipt` is
    /// `None` for a request nobody can be told about (no sender address): it is only
    /// marked.
    pub async fn queue_receipt(
        &self,
        request: RequestId,
        receipt: Option<&NewOutgoing<'_>>,
        now: Timestamp,
    ) -> Result<Option<Option<OutgoingId>>, Error> {
        let mut tx = self.write_tx().await?;
        let marked = sqlx::query(
            "UPDATE requests SET receipted_at = $1 WHERE id = $2 AND receipted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.request_id = $2 \
                             AND d.state IN ('queued', 'active'))",
        )
        .bind(now.0)
        .bind(request.0)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            tx.commit().await?;
            return Ok(None);
        }
        let id = match receipt {
            Some(receipt) => {
                Some(insert_outgoing(&mut tx, receipt, Some(request), None, now).await?)
            }
            None => None,
        };
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Due queued mail, oldest first, at most `limit`, each held for `hold` (its next
    /// try moved past it) so a second sender leaves it alone while this one tries.
    pub async fn claim_outgoing(
        &self,
        now: Timestamp,
        hold: Duration,
        limit: u32,
    ) -> Result<Vec<OutgoingMail>, Error> {
        let mut tx = self.write_tx().await?;
        let lock = match self.backend() {
            crate::store::Backend::Sqlite => "",
            crate::store::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let rows = sqlx::query(&format!(
            "SELECT {OUTGOING_COLUMNS} FROM outgoing_mail WHERE state = 'queued' \
             AND next_attempt_at <= $1 ORDER BY id LIMIT $2{lock}"
        ))
        .bind(now.0)
        .bind(i64::from(limit.max(1)))
        .fetch_all(&mut *tx)
        .await?;
        let mails = rows
            .iter()
            .map(outgoing_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let until = now.plus(hold);
        for mail in &mails {
            sqlx::query("UPDATE outgoing_mail SET next_attempt_at = $1 WHERE id = $2")
                .bind(until.0)
                .bind(mail.id.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(mails)
    }

    /// Records a try of an outgoing mail: accepted (`Ok`), refused for now (try again
    /// at `retry_at`), or refused for good (`retry_at` is `None`).
    pub async fn outgoing_tried(
        &self,
        id: OutgoingId,
        result: Result<(), (&str, Option<Timestamp>)>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let query = match result {
            Ok(()) => sqlx::query(
                "UPDATE outgoing_mail SET state = 'sent', tries = tries + 1, sent_at = $1, \
                 last_error = NULL WHERE id = $2",
            )
            .bind(now.0)
            .bind(id.0),
            Err((error, Some(retry_at))) => sqlx::query(
                "UPDATE outgoing_mail SET tries = tries + 1, last_error = $1, \
                 next_attempt_at = $2 WHERE id = $3",
            )
            .bind(error.to_owned())
            .bind(retry_at.0)
            .bind(id.0),
            Err((error, None)) => sqlx::query(
                "UPDATE outgoing_mail SET state = 'failed', tries = tries + 1, \
                 last_error = $1 WHERE id = $2",
            )
            .bind(error.to_owned())
            .bind(id.0),
        };
        let done = query.execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound {
                what: "outgoing mail",
                key: id.0.to_string(),
            });
        }
        Ok(())
    }

    /// Outgoing mail, oldest first; only in `state` if given.
    pub async fn outgoing_mail(
        &self,
        state: Option<OutgoingState>,
    ) -> Result<Vec<OutgoingMail>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTGOING_COLUMNS} FROM outgoing_mail WHERE ($1 IS NULL OR state = $1) \
             ORDER BY id"
        ))
        .bind(state.map(|s| s.as_str().to_owned()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outgoing_from_row).collect()
    }
}
