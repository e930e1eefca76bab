//! The mail intake ledger on both backends: a message is known by its unique ID once
//! recorded, recorded once however often it is offered, and a copy under another
//! unique ID is a duplicate.

#[path = "support/postgres.rs"]
mod postgres;

use std::path::PathBuf;

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
    let dir = std::env::temp_dir().join(format!("fax-queue-intake-{}-{name}", std::process::id()));
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
    recorded_message_is_known_by_unique_id,
    same_unique_id_is_recorded_once,
    same_content_under_new_unique_id_is_a_duplicate,
    verdict_is_updated,
);

fn message<'a>(uidl: &'a str, message_id: &'a str, blob: &'a BlobRef) -> NewIntake<'a> {
    NewIntake {
        mailbox: "pop3://fax@mail.example",
        uidl,
        message_id,
        raw_blob: blob,
        digest: blob.as_str(),
        size: 42,
        verdict: "pending",
        request: None,
    }
}

async fn recorded_message_is_known_by_unique_id(store: Store) {
    let blob = BlobRef::of(b"Subject: 1\r\n\r\nbody\r\n");
    assert!(
        !store
            .intake_known("pop3://fax@mail.example", "u1")
            .await
            .expect("known")
    );
    let outcome = store
        .record_intake(&message("u1", "<1@x>", &blob), T0)
        .await
        .expect("record");
    assert!(matches!(outcome, IntakeOutcome::Recorded(_)));
    assert!(
        store
            .intake_known("pop3://fax@mail.example", "u1")
            .await
            .expect("known")
    );
    assert!(
        !store
            .intake_known("pop3://other@mail.example", "u1")
            .await
            .expect("known")
    );
    let entries = store.intake_entries(None).await.expect("entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].uidl, "u1");
    assert_eq!(entries[0].message_id, "<1@x>");
    assert_eq!(entries[0].raw_blob, blob);
    assert_eq!(entries[0].verdict, "pending");
    assert_eq!(entries[0].taken_at, T0);
}

async fn same_unique_id_is_recorded_once(store: Store) {
    let blob = BlobRef::of(b"m");
    let first = store
        .record_intake(&message("u1", "<1@x>", &blob), T0)
        .await
        .expect("record");
    let IntakeOutcome::Recorded(id) = first else {
        panic!("{first:?}");
    };
    let again = store
        .record_intake(&message("u1", "<1@x>", &blob), T0)
        .await
        .expect("record again");
    assert_eq!(again, IntakeOutcome::AlreadyRecorded(id));
    assert_eq!(store.intake_entries(None).await.expect("entries").len(), 1);
}

async fn same_content_under_new_unique_id_is_a_duplicate(store: Store) {
    let blob = BlobRef::of(b"same bytes");
    let IntakeOutcome::Recorded(first) = store
        .record_intake(&message("u1", "<1@x>", &blob), T0)
        .await
        .expect("record")
    else {
        panic!("not recorded");
    };
    let second = store
        .record_intake(&message("u2", "<1@x>", &blob), T0)
        .await
        .expect("record copy");
    let IntakeOutcome::Duplicate { id, of } = second else {
        panic!("{second:?}");
    };
    assert_eq!(of, first);
    assert!(
        store
            .intake_known("pop3://fax@mail.example", "u2")
            .await
            .expect("known")
    );
    // Same Message-ID, other content: a different message (a resent, edited mail).
    let other = BlobRef::of(b"other bytes");
    assert!(matches!(
        store
            .record_intake(&message("u3", "<1@x>", &other), T0)
            .await
            .expect("record"),
        IntakeOutcome::Recorded(_)
    ));
    assert_eq!(
        store
            .intake_find_content("<1@x>", blob.as_str())
            .await
            .expect("find"),
        Some(first)
    );
    let entries = store
        .intake_entries(Some("pop3://fax@mail.example"))
        .await
        .expect("entries");
    assert_eq!(entries.len(), 3);
    let copy = entries.iter().find(|e| e.id == id).expect("copy row");
    assert_eq!(copy.duplicate_of, Some(first));
    assert!(
        copy.verdict.starts_with("duplicate of intake"),
        "{}",
        copy.verdict
    );
}

async fn verdict_is_updated(store: Store) {
    let blob = BlobRef::of(b"v");
    let IntakeOutcome::Recorded(id) = store
        .record_intake(&message("u1", "", &blob), T0)
        .await
        .expect("record")
    else {
        panic!("not recorded");
    };
    store
        .set_intake_verdict(id, "refused: no recipient", None, Timestamp(T0.0 + 1))
        .await
        .expect("verdict");
    let entries = store.intake_entries(None).await.expect("entries");
    assert_eq!(entries[0].verdict, "refused: no recipient");
    assert!(matches!(
        store.set_intake_verdict(IntakeId(999), "x", None, T0).await,
        Err(Error::NotFound { .. })
    ));
}
