//! Mail taken in as a request in one transaction, receipts queued exactly once, and
//! the outgoing mail table's tries, on both backends.

#[path = "support/postgres.rs"]
mod postgres;

use std::path::PathBuf;
use std::time::Duration;

use fax_queue::*;

const T0: Timestamp = Timestamp(1_700_000_000_000);

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn sqlite_store(name: &str) -> (Store, TempDir) {
    let dir =
        std::env::temp_dir().join(format!("fax-queue-outgoing-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open_data_dir(&dir)
        .await
        .expect("opening SQLite store");
    (store, TempDir(dir))
}

macro_rules! both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let (store, _dir) = super::sqlite_store(stringify!($scenario)).await;
                    super::$scenario(store).await;
                }
            )+
        }
        mod postgresql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let url = super::postgres::fresh_database(stringify!($scenario));
                    let store = fax_queue::Store::open(&url).await.expect("opening PostgreSQL store");
                    super::$scenario(store).await;
                }
            )+
        }
    };
}

both_backends!(
    mail_and_its_request_are_recorded_together_once,
    problem_reply_is_queued_with_the_ledger_row,
    receipt_is_queued_once_when_every_delivery_is_final,
    outgoing_mail_is_claimed_retried_and_given_up,
);

fn message<'a>(uidl: &'a str, blob: &'a BlobRef, verdict: &'a str) -> NewIntake<'a> {
    NewIntake {
        mailbox: "pop3://fax@mail.example",
        uidl,
        message_id: "<a@example.com>",
        raw_blob: blob,
        digest: blob.as_str(),
        size: 42,
        verdict,
        request: None,
    }
}

fn request(raw: &BlobRef) -> NewRequest {
    NewRequest {
        source: Source::Email,
        user: None,
        sender: "li@example.com".to_owned(),
        subject: "86-755-83235170; 86-10-12345678".to_owned(),
        documents: vec![Document {
            name: "report.txt".to_owned(),
            blob: BlobRef::of(b"report"),
        }],
        raw_mail: Some(raw.clone()),
        destinations: vec!["86-755-83235170".to_owned(), "86-10-12345678".to_owned()],
        priority: 0,
        send_at: T0,
        total_pages: None,
    }
}

async fn mail_and_its_request_are_recorded_together_once(store: Store) {
    let raw = BlobRef::of(b"the mail");
    let first = store
        .take_in_mail(
            &message("1", &raw, "accepted"),
            Some(&request(&raw)),
            None,
            T0,
        )
        .await
        .expect("taking in");
    let IntakeOutcome::Recorded(id) = first.outcome else {
        panic!("not recorded: {first:?}");
    };
    let (request_id, deliveries) = first.request.expect("a request");
    assert_eq!(deliveries.len(), 2);
    assert_eq!(first.reply, None);
    let entries = store.intake_entries(None).await.expect("ledger");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, id);
    assert_eq!(entries[0].request, Some(request_id));
    assert_eq!(entries[0].verdict, "accepted");

    // The same unique ID again (a poll that died before DELE): nothing new.
    let again = store
        .take_in_mail(
            &message("1", &raw, "accepted"),
            Some(&request(&raw)),
            None,
            T0,
        )
        .await
        .expect("taking in again");
    assert_eq!(again.outcome, IntakeOutcome::AlreadyRecorded(id));
    assert_eq!(again.request, None);
    // The same mail under another unique ID: a duplicate, no second request.
    let copy = store
        .take_in_mail(
            &message("2", &raw, "accepted"),
            Some(&request(&raw)),
            None,
            T0,
        )
        .await
        .expect("taking in a copy");
    assert!(matches!(copy.outcome, IntakeOutcome::Duplicate { of, .. } if of == id));
    assert_eq!(copy.request, None);
    let all = store
        .deliveries(&DeliveryFilter::default())
        .await
        .expect("deliveries");
    assert_eq!(all.len(), 2);
}

async fn problem_reply_is_queued_with_the_ledger_row(store: Store) {
    let raw = BlobRef::of(b"bad subject");
    let reply = NewOutgoing {
        kind: "problem",
        rcpt_to: "li@example.com",
        message: b"Subject: fix it\r\n\r\nbody\r\n",
    };
    let taken = store
        .take_in_mail(&message("1", &raw, "bad-subject"), None, Some(&reply), T0)
        .await
        .expect("taking in");
    assert_eq!(taken.request, None);
    let queued = store
        .outgoing_mail(Some(OutgoingState::Queued))
        .await
        .expect("outgoing");
    assert_eq!(queued.len(), 1);
    assert_eq!(Some(queued[0].id), taken.reply);
    assert_eq!(queued[0].kind, "problem");
    assert_eq!(queued[0].message, reply.message);
    let IntakeOutcome::Recorded(id) = taken.outcome else {
        panic!("not recorded");
    };
    assert_eq!(queued[0].intake, Some(id));
}

async fn receipt_is_queued_once_when_every_delivery_is_final(store: Store) {
    let raw = BlobRef::of(b"the mail");
    let taken = store
        .take_in_mail(
            &message("1", &raw, "accepted"),
            Some(&request(&raw)),
            None,
            T0,
        )
        .await
        .expect("taking in");
    let (request_id, deliveries) = taken.request.expect("a request");
    assert!(
        store
            .requests_awaiting_receipt(0)
            .await
            .expect("awaiting")
            .is_empty()
    );
    store
        .cancel(deliveries[0], "test", T0)
        .await
        .expect("cancel");
    // One delivery still queued: no receipt yet.
    assert!(
        store
            .requests_awaiting_receipt(0)
            .await
            .expect("awaiting")
            .is_empty()
    );
    let receipt = NewOutgoing {
        kind: "result",
        rcpt_to: "li@example.com",
        message: b"Subject: receipt\r\n\r\n",
    };
    assert_eq!(
        store
            .queue_receipt(request_id, Some(&receipt), T0)
            .await
            .expect("queue"),
        None
    );
    store
        .cancel(deliveries[1], "test", T0)
        .await
        .expect("cancel");
    assert_eq!(
        store.requests_awaiting_receipt(0).await.expect("awaiting"),
        [request_id]
    );
    let details = store.request_deliveries(request_id).await.expect("details");
    assert_eq!(details.len(), 2);
    assert_eq!(details[0].delivery.id, deliveries[0]);
    let queued = store
        .queue_receipt(request_id, Some(&receipt), T0)
        .await
        .expect("queue");
    assert!(matches!(queued, Some(Some(_))));
    // Twice asked, once queued.
    assert_eq!(
        store
            .queue_receipt(request_id, Some(&receipt), T0)
            .await
            .expect("queue again"),
        None
    );
    assert!(
        store
            .requests_awaiting_receipt(0)
            .await
            .expect("awaiting")
            .is_empty()
    );
    assert_eq!(store.outgoing_mail(None).await.expect("outgoing").len(), 1);
}

async fn outgoing_mail_is_claimed_retried_and_given_up(store: Store) {
    for (uidl, content) in [("1", &b"one"[..]), ("2", &b"two"[..])] {
        let reply = NewOutgoing {
            kind: "problem",
            rcpt_to: "li@example.com",
            message: content,
        };
        let blob = BlobRef::of(content);
        let mut entry = message(uidl, &blob, "no-attachment");
        entry.message_id = uidl;
        store
            .take_in_mail(&entry, None, Some(&reply), T0)
            .await
            .expect("taking in");
    }
    let hold = Duration::from_secs(60);
    let claimed = store.claim_outgoing(T0, hold, 10).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    // Held: a second sender gets nothing meanwhile.
    assert!(
        store
            .claim_outgoing(T0, hold, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    store
        .outgoing_tried(claimed[0].id, Ok(()), T0)
        .await
        .expect("sent");
    let later = T0.plus(Duration::from_secs(30));
    store
        .outgoing_tried(claimed[1].id, Err(("451 try later", Some(later))), T0)
        .await
        .expect("retry");
    let again = store.claim_outgoing(later, hold, 10).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].tries, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("451 try later"));
    store
        .outgoing_tried(again[0].id, Err(("550 no such user", None)), later)
        .await
        .expect("gave up");
    let all = store.outgoing_mail(None).await.expect("outgoing");
    assert_eq!(all[0].state, OutgoingState::Sent);
    assert_eq!(all[0].sent_at, Some(T0));
    assert_eq!(all[1].state, OutgoingState::Failed);
    assert_eq!(all[1].tries, 2);
    assert!(
        store
            .claim_outgoing(later.plus(hold), hold, 10)
            .await
            .expect("claim")
            .is_empty()
    );
}
