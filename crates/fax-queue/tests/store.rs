//! The store's behaviour, one suite run against both backends: each scenario is an
//! async function taking a fresh store, instantiated once on SQLite (a file in a
//! temporary folder) and once on PostgreSQL (a database on the test server).

#[path = "support/postgres.rs"]
mod postgres;

use std::path::PathBuf;
use std::time::Duration;

use fax_queue::*;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const LEASE: Duration = Duration::from_secs(60);

fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * 1000)
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn sqlite_store(name: &str) -> (Store, TempDir) {
    let dir = std::env::temp_dir().join(format!("fax-queue-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open_data_dir(&dir)
        .await
        .expect("opening SQLite store");
    (store, TempDir(dir))
}

async fn postgres_store(name: &str) -> Store {
    let url = postgres::fresh_database(name);
    Store::open(&url).await.expect("opening PostgreSQL store")
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
                    let store = super::postgres_store(stringify!($scenario)).await;
                    super::$scenario(store).await;
                }
            )+
        }
    };
}

both_backends!(
    users_are_added_found_changed_and_removed_with_audit,
    enqueue_is_atomic_and_shows_in_the_outbox,
    claims_respect_channels_priority_and_send_time,
    busy_is_retried_and_success_is_final,
    fax_failure_resumes_from_first_unconfirmed_page_then_gives_up,
    expired_lease_is_interrupted_and_taken_over,
    lost_lease_refuses_renewal_and_result,
    cancel_and_retry,
    concurrent_claims_never_share_a_delivery,
    inbox_holds_faxes_for_a_user,
    worker_killed_after_the_last_confirmed_page_does_not_send_again,
    a_request_is_rendered_once_for_every_recipient,
    delivery_to_a_fax_id_files_the_fax_and_finishes_at_once,
    a_fax_id_without_mail_is_only_filed,
);

fn email(text: &str) -> EmailAddress {
    text.parse().expect("valid address")
}

fn new_user(name: &str, address: &str) -> NewUser {
    NewUser {
        display_name: name.to_owned(),
        emails: vec![email(address)],
        permissions: "email,web".parse().expect("valid"),
        max_destination: DestinationKind::National,
        fax_id: None,
        locale: Locale::Zh,
        pin: None,
    }
}

fn request(user: Option<UserId>, destinations: &[&str]) -> NewRequest {
    NewRequest {
        source: Source::Email,
        user,
        sender: "li@example.com".to_owned(),
        subject: "quarterly report".to_owned(),
        documents: vec![Document {
            name: "report.pdf".to_owned(),
            blob: BlobRef::of(b"report"),
        }],
        raw_mail: Some(BlobRef::of(b"raw mail")),
        destinations: destinations.iter().map(|d| (*d).to_owned()).collect(),
        priority: 0,
        send_at: T0,
        total_pages: Some(5),
    }
}

fn report(class: OutcomeClass, pages: u32) -> AttemptReport {
    AttemptReport {
        outcome: CallOutcome {
            class,
            pages_confirmed: pages,
        },
        pages_total: Some(5),
        bit_rate: Some(14400),
        ecm: Some(true),
        remote_ident: Some("+86 10 1234 5678".to_owned()),
        t30_code: class.reached_fax().then_some(0),
        reason: class.as_str().to_owned(),
    }
}

async fn users_are_added_found_changed_and_removed_with_audit(store: Store) {
    let li = store
        .add_user(&new_user("Li Wei", "Li.Wei@Example.com"), "cli:root", T0)
        .await
        .expect("adds");
    assert_eq!(li.fax_id, FaxId::issue(li.id.0).expect("issues"));
    assert_eq!(li.emails, vec![email("li.wei@example.com")]);
    let duplicate = store
        .add_user(&new_user("Other", "li.wei@example.com"), "cli:root", T0)
        .await;
    assert!(
        matches!(duplicate, Err(Error::Conflict(_))),
        "{duplicate:?}"
    );
    let mut chosen = new_user("Ann", "ann@example.com");
    chosen.fax_id = Some("AF99990000".parse().expect("valid"));
    let ann = store
        .add_user(&chosen, "cli:root", at(1))
        .await
        .expect("adds");
    assert_eq!(ann.fax_id.as_str(), "AF99990000");

    for key in ["LI.WEI@example.com", li.fax_id.as_str(), &li.id.to_string()] {
        let found = store.user(&key.parse().expect("key")).await.expect("finds");
        assert_eq!(found, li, "{key}");
    }
    assert_eq!(
        store.users().await.expect("lists"),
        vec![li.clone(), ann.clone()]
    );

    let pin = PinHash::new(&"2468".parse().expect("pin"), &[1; 16]).expect("hash");
    let changes = UserChanges {
        permissions: Some("email,admin".parse().expect("valid")),
        emails: Some(vec![email("li@example.com"), email("li.wei@example.com")]),
        pin: Some(Some(pin)),
        locale: Some(Locale::En),
        ..UserChanges::default()
    };
    let changed = store
        .update_user(li.id, &changes, "cli:root", at(2))
        .await
        .expect("updates");
    assert!(changed.permissions.has(Permission::Admin));
    assert_eq!(changed.emails.len(), 2);
    assert!(
        changed
            .pin
            .as_ref()
            .is_some_and(|p| p.verify(&"2468".parse().expect("pin")))
    );
    let stolen = UserChanges {
        emails: Some(vec![email("li@example.com")]),
        ..UserChanges::default()
    };
    assert!(matches!(
        store.update_user(ann.id, &stolen, "cli:root", at(3)).await,
        Err(Error::Conflict(_))
    ));

    store
        .remove_user(ann.id, "cli:root", at(4))
        .await
        .expect("removes");
    assert!(matches!(
        store.user(&UserKey::Email(email("ann@example.com"))).await,
        Err(Error::NotFound { .. })
    ));
    let log = store.audit_log(0).await.expect("audit log");
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.remove", "user.set", "user.add", "user.add"]);
    assert!(log[1].detail.contains("pin=set") && !log[1].detail.contains("argon2"));
}

async fn enqueue_is_atomic_and_shows_in_the_outbox(store: Store) {
    let li = store
        .add_user(&new_user("Li Wei", "li@example.com"), "cli:root", T0)
        .await
        .expect("adds");
    let (request_id, deliveries) = store
        .enqueue(
            &request(Some(li.id), &["+861012345678", "+861087654321"]),
            T0,
        )
        .await
        .expect("enqueues");
    assert_eq!(deliveries.len(), 2);
    let detail = store.delivery_detail(deliveries[0]).await.expect("detail");
    assert_eq!(detail.request.id, request_id);
    assert_eq!(detail.request.documents[0].name, "report.pdf");
    assert_eq!(detail.delivery.state, DeliveryState::Queued);
    assert!(detail.attempts.is_empty());
    let outbox = store.outbox(li.id, 0).await.expect("outbox");
    assert_eq!(outbox.len(), 2);
    assert!(outbox.iter().all(|e| e.subject == "quarterly report"));

    assert!(store.enqueue(&request(None, &[]), T0).await.is_err());
    // A request whose user does not exist is refused whole: no delivery is left.
    let orphan = store
        .enqueue(&request(Some(UserId(9999)), &["1", "2"]), T0)
        .await;
    if orphan.is_err() {
        let all = store
            .deliveries(&DeliveryFilter::default())
            .await
            .expect("lists");
        assert_eq!(all.len(), 2);
    }
}

async fn claims_respect_channels_priority_and_send_time(store: Store) {
    let mut low = request(None, &["100", "101"]);
    low.priority = 0;
    store.enqueue(&low, T0).await.expect("enqueues");
    let mut high = request(None, &["200"]);
    high.priority = 10;
    store.enqueue(&high, T0).await.expect("enqueues");
    let mut later = request(None, &["300"]);
    later.priority = 20;
    later.send_at = at(3600);
    store.enqueue(&later, T0).await.expect("enqueues");

    let first = store
        .claim("trunk", 2, "w1", LEASE, at(1))
        .await
        .expect("claims");
    let numbers: Vec<&str> = first
        .iter()
        .map(|c| c.delivery.destination.as_str())
        .collect();
    assert_eq!(numbers, ["200", "100"]);
    assert!(
        first
            .iter()
            .all(|c| c.delivery.state == DeliveryState::Active)
    );
    // Both channels busy.
    assert!(
        store
            .claim("trunk", 2, "w2", LEASE, at(2))
            .await
            .expect("claims")
            .is_empty()
    );
    // Another line has channels of its own.
    let other = store
        .claim("modem", 1, "w3", LEASE, at(2))
        .await
        .expect("claims");
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].delivery.destination, "101");
    // The delayed one is not due yet.
    for claim in first.iter().chain(&other) {
        store
            .finish(claim, &report(OutcomeClass::Sent, 5), at(3))
            .await
            .expect("finishes");
    }
    assert!(
        store
            .claim("trunk", 2, "w1", LEASE, at(4))
            .await
            .expect("claims")
            .is_empty()
    );
    let due = store
        .claim("trunk", 2, "w1", LEASE, at(3600))
        .await
        .expect("claims");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].delivery.destination, "300");
    assert_eq!(store.next_due().await.expect("next due"), None);
}

async fn busy_is_retried_and_success_is_final(store: Store) {
    let (_, ids) = store
        .enqueue(&request(None, &["555"]), T0)
        .await
        .expect("enqueues");
    let claim = store
        .claim("trunk", 1, "w1", LEASE, T0)
        .await
        .expect("claims")
        .remove(0);
    let decision = store
        .finish(&claim, &report(OutcomeClass::Busy, 0), at(30))
        .await
        .expect("finishes");
    assert_eq!(
        decision,
        Decision::RetryAt {
            at: at(30 + 180),
            resume_page: 0
        }
    );
    assert!(
        store
            .claim("trunk", 1, "w1", LEASE, at(60))
            .await
            .expect("claims")
            .is_empty()
    );
    assert_eq!(store.next_due().await.expect("next due"), Some(at(210)));
    let claim = store
        .claim("trunk", 1, "w1", LEASE, at(210))
        .await
        .expect("claims")
        .remove(0);
    assert_eq!(claim.delivery.dials, 2);
    let decision = store
        .finish(&claim, &report(OutcomeClass::Sent, 5), at(300))
        .await
        .expect("finishes");
    assert_eq!(decision, Decision::Done);
    let detail = store.delivery_detail(ids[0]).await.expect("detail");
    assert_eq!(detail.delivery.state, DeliveryState::Sent);
    assert_eq!(detail.delivery.finished_at, Some(at(300)));
    assert_eq!(detail.attempts.len(), 2);
    let last = &detail.attempts[1];
    assert_eq!(last.ended_at, Some(at(300)));
    assert_eq!(last.pages_sent, Some(5));
    assert_eq!(last.bit_rate, Some(14400));
    assert_eq!(last.ecm, Some(true));
    assert_eq!(last.remote_ident.as_deref(), Some("+86 10 1234 5678"));
    assert_eq!(last.outcome.as_deref(), Some("sent"));
    assert_eq!(detail.attempts[0].outcome.as_deref(), Some("busy"));
}

async fn fax_failure_resumes_from_first_unconfirmed_page_then_gives_up(store: Store) {
    let (_, ids) = store
        .enqueue(&request(None, &["555"]), T0)
        .await
        .expect("enqueues");
    let mut now = T0;
    let mut resumes = Vec::new();
    loop {
        let mut claims = store
            .claim("trunk", 1, "w1", LEASE, now)
            .await
            .expect("claims");
        let Some(claim) = claims.pop() else { break };
        resumes.push(claim.delivery.resume_page);
        now = at((now.0 - T0.0) / 1000 + 100);
        match store
            .finish(&claim, &report(OutcomeClass::FaxFailure, 1), now)
            .await
            .expect("finishes")
        {
            Decision::RetryAt { at, .. } => now = at,
            _ => break,
        }
    }
    // Three failed sessions (the default limit), each one page further on.
    assert_eq!(resumes, [0, 1, 2]);
    let delivery = store.delivery(ids[0]).await.expect("delivery");
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert_eq!(delivery.resume_page, 3);
    assert!(
        delivery
            .result
            .as_deref()
            .is_some_and(|r| r.contains("3 failed fax sessions"))
    );
}

async fn expired_lease_is_interrupted_and_taken_over(store: Store) {
    let (_, ids) = store
        .enqueue(&request(None, &["555"]), T0)
        .await
        .expect("enqueues");
    let claim = store
        .claim("trunk", 1, "dead", LEASE, T0)
        .await
        .expect("claims")
        .remove(0);
    store
        .renew(&claim, LEASE, Some(2), at(30))
        .await
        .expect("renews");
    // Still leased at 89 s; the line's only channel is busy.
    assert!(
        store
            .claim("trunk", 1, "alive", LEASE, at(89))
            .await
            .expect("claims")
            .is_empty()
    );
    let taken = store
        .claim("trunk", 1, "alive", LEASE, at(91))
        .await
        .expect("claims");
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].delivery.id, ids[0]);
    // The two pages confirmed before the worker died are not sent again.
    assert_eq!(taken[0].delivery.resume_page, 2);
    let detail = store.delivery_detail(ids[0]).await.expect("detail");
    assert_eq!(detail.attempts[0].outcome.as_deref(), Some("interrupted"));
    assert_eq!(detail.attempts[0].ended_at, Some(at(91)));
    assert_eq!(detail.attempts[1].worker, "alive");
    assert!(detail.attempts[1].ended_at.is_none());

    // Recovery at start does the same without claiming.
    let claim = taken.into_iter().next().expect("claim");
    assert_eq!(
        store.recover_expired(at(100)).await.expect("recovers"),
        Vec::<DeliveryId>::new()
    );
    assert_eq!(
        store.recover_expired(at(200)).await.expect("recovers"),
        vec![ids[0]]
    );
    assert_eq!(
        store.delivery(ids[0]).await.expect("delivery").state,
        DeliveryState::Queued
    );
    assert!(matches!(
        store
            .finish(&claim, &report(OutcomeClass::Sent, 3), at(201))
            .await,
        Err(Error::LeaseLost(_))
    ));
}

async fn lost_lease_refuses_renewal_and_result(store: Store) {
    store
        .enqueue(&request(None, &["555"]), T0)
        .await
        .expect("enqueues");
    let slow = store
        .claim("trunk", 1, "slow", LEASE, T0)
        .await
        .expect("claims")
        .remove(0);
    let fast = store
        .claim("trunk", 1, "fast", LEASE, at(61))
        .await
        .expect("claims")
        .remove(0);
    assert!(matches!(
        store.renew(&slow, LEASE, None, at(62)).await,
        Err(Error::LeaseLost(_))
    ));
    assert!(matches!(
        store
            .finish(&slow, &report(OutcomeClass::Sent, 5), at(62))
            .await,
        Err(Error::LeaseLost(_))
    ));
    store
        .renew(&fast, LEASE, None, at(62))
        .await
        .expect("renews");
    store
        .finish(&fast, &report(OutcomeClass::Sent, 5), at(63))
        .await
        .expect("finishes");
    // Released claims are not counted as calls.
    let (_, ids) = store
        .enqueue(&request(None, &["556"]), at(64))
        .await
        .expect("enqueues");
    let claim = store
        .claim("trunk", 1, "w", LEASE, at(64))
        .await
        .expect("claims")
        .remove(0);
    store.release(&claim, at(65)).await.expect("releases");
    let delivery = store.delivery(ids[0]).await.expect("delivery");
    assert_eq!((delivery.state, delivery.dials), (DeliveryState::Queued, 0));
    assert!(
        store
            .delivery_detail(ids[0])
            .await
            .expect("detail")
            .attempts
            .is_empty()
    );
}

async fn cancel_and_retry(store: Store) {
    let (_, ids) = store
        .enqueue(&request(None, &["1", "2"]), T0)
        .await
        .expect("enqueues");
    let cancelled = store
        .cancel(ids[1], "cli:root", at(1))
        .await
        .expect("cancels");
    assert_eq!(cancelled.state, DeliveryState::Cancelled);
    assert!(matches!(
        store.cancel(ids[1], "cli:root", at(1)).await,
        Err(Error::Conflict(_))
    ));

    let claim = store
        .claim("trunk", 1, "w", LEASE, at(2))
        .await
        .expect("claims")
        .remove(0);
    assert_eq!(claim.delivery.id, ids[0]);
    let asked = store.cancel(ids[0], "cli:root", at(3)).await.expect("asks");
    assert_eq!(asked.state, DeliveryState::Active);
    assert!(
        store
            .renew(&claim, LEASE, None, at(4))
            .await
            .expect("renews")
            .cancel_requested
    );
    store
        .finish(&claim, &report(OutcomeClass::Busy, 0), at(5))
        .await
        .expect("finishes");
    let delivery = store.delivery(ids[0]).await.expect("delivery");
    assert_eq!(delivery.state, DeliveryState::Cancelled);

    let retried = store
        .retry(ids[0], "cli:root", at(10))
        .await
        .expect("retries");
    assert_eq!(retried.state, DeliveryState::Queued);
    assert_eq!((retried.dials, retried.attempts), (0, 1));
    assert_eq!(retried.next_attempt_at, at(10));
    let log = store.audit_log(0).await.expect("audit");
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["job.retry", "job.cancel", "job.cancel"]);
    assert!(matches!(
        store.retry(DeliveryId(999), "x", at(11)).await,
        Err(Error::NotFound { .. })
    ));
}

async fn concurrent_claims_never_share_a_delivery(store: Store) {
    let destinations: Vec<String> = (0..60).map(|n| format!("{n:04}")).collect();
    let refs: Vec<&str> = destinations.iter().map(String::as_str).collect();
    store
        .enqueue(&request(None, &refs), T0)
        .await
        .expect("enqueues");
    let mut tasks = Vec::new();
    for worker in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("w{worker}");
            let mut done = Vec::new();
            for round in 0..40 {
                let now = at(round);
                let claims = store
                    .claim("trunk", 30, &name, LEASE, now)
                    .await
                    .expect("claims");
                for claim in claims {
                    store
                        .finish(&claim, &report(OutcomeClass::Sent, 5), now)
                        .await
                        .expect("finishes");
                    done.push(claim.delivery.id);
                }
                tokio::task::yield_now().await;
            }
            done
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), count, "a delivery was claimed twice");
    assert_eq!(count, 60);
    let sent = store
        .deliveries(&DeliveryFilter {
            state: Some(DeliveryState::Sent),
            ..DeliveryFilter::default()
        })
        .await
        .expect("lists");
    assert!(sent.iter().all(|d| d.attempts == 1));
}

async fn inbox_holds_faxes_for_a_user(store: Store) {
    let li = store
        .add_user(&new_user("Li Wei", "li@example.com"), "cli:root", T0)
        .await
        .expect("adds");
    let entry = InboxEntry {
        received_at: at(5),
        sender: "+861012345678".to_owned(),
        tiff: BlobRef::of(b"tiff"),
        pages: 2,
    };
    store
        .add_to_inbox(li.id, &entry, None)
        .await
        .expect("files");
    assert_eq!(store.inbox(li.id, 0).await.expect("inbox"), vec![entry]);
}

async fn worker_killed_after_the_last_confirmed_page_does_not_send_again(store: Store) {
    let (_, ids) = store
        .enqueue(&request(None, &["555", "666"]), T0)
        .await
        .expect("enqueues");
    let claims = store
        .claim("trunk", 2, "dies", LEASE, T0)
        .await
        .expect("claims");
    assert_eq!(claims.len(), 2);
    // The receiver confirmed all 5 pages of one and 4 of the other; the worker died
    // before recording either result.
    store
        .renew(&claims[0], LEASE, Some(5), at(20))
        .await
        .expect("records progress");
    store
        .renew(&claims[1], LEASE, Some(4), at(20))
        .await
        .expect("records progress");
    let mut recovered = store.recover_expired(at(200)).await.expect("recovers");
    recovered.sort();
    assert_eq!(recovered, ids);
    let done = store
        .delivery(claims[0].delivery.id)
        .await
        .expect("delivery");
    assert_eq!(done.state, DeliveryState::Sent, "{done:?}");
    assert_eq!(done.resume_page, 5);
    let rest = store
        .delivery(claims[1].delivery.id)
        .await
        .expect("delivery");
    assert_eq!(rest.state, DeliveryState::Queued);
    assert_eq!(rest.resume_page, 4, "only the last page is sent again");
}

async fn a_request_is_rendered_once_for_every_recipient(store: Store) {
    let mut new = request(None, &["555", "666"]);
    new.total_pages = None;
    let (request_id, ids) = store.enqueue(&new, T0).await.expect("enqueues");
    assert_eq!(store.rendered(request_id).await.expect("reads"), None);
    let first = BlobRef::of(b"rendered by one worker");
    let second = BlobRef::of(b"rendered by another");
    assert_eq!(
        store
            .set_rendered(request_id, &first, 3)
            .await
            .expect("records"),
        (first.clone(), 3)
    );
    // A second worker that rendered meanwhile gets the first rendering back.
    assert_eq!(
        store
            .set_rendered(request_id, &second, 4)
            .await
            .expect("records"),
        (first.clone(), 3)
    );
    assert_eq!(
        store.rendered(request_id).await.expect("reads"),
        Some((first, 3))
    );
    for id in ids {
        assert_eq!(
            store.delivery(id).await.expect("delivery").total_pages,
            Some(3)
        );
    }
}

async fn delivery_to_a_fax_id_files_the_fax_and_finishes_at_once(store: Store) {
    let li = store
        .add_user(&new_user("Li Wei", "li@example.com"), "cli:root", T0)
        .await
        .expect("adds");
    let fax_id = li.fax_id.to_string();
    let (_, ids) = store
        .enqueue(&request(None, &[fax_id.as_str()]), T0)
        .await
        .expect("enqueues");
    let claim = store
        .claim("trunk", 1, "w", LEASE, T0)
        .await
        .expect("claims")
        .remove(0);
    let entry = InboxEntry {
        received_at: at(1),
        sender: "li@example.com".to_owned(),
        tiff: BlobRef::of(b"tiff"),
        pages: 5,
    };
    let mail = NewOutgoing {
        kind: "inbox",
        rcpt_to: "li@example.com",
        message: b"Subject: You have received a fax\r\n\r\npdf\r\n",
    };
    let decision = store
        .finish_to_inbox(
            &claim,
            li.id,
            &entry,
            Some(&mail),
            &report(OutcomeClass::Sent, 5),
            at(1),
        )
        .await
        .expect("files");
    assert_eq!(decision, Decision::Done);
    assert_eq!(store.inbox(li.id, 0).await.expect("inbox"), vec![entry]);
    // The mail to the owner is queued with the filing, exactly once.
    let queued = store.outgoing_mail(None).await.expect("outgoing");
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].kind, "inbox");
    assert_eq!(queued[0].rcpt_to, "li@example.com");
    assert_eq!(queued[0].request, Some(claim.delivery.request));
    assert_eq!(queued[0].state, OutgoingState::Queued);
    assert_eq!(queued[0].message, mail.message);
    assert_eq!(
        store.delivery(ids[0]).await.expect("delivery").state,
        DeliveryState::Sent
    );
    // A lost lease files nothing.
    assert!(matches!(
        store
            .finish_to_inbox(
                &claim,
                li.id,
                &store.inbox(li.id, 0).await.expect("inbox")[0],
                Some(&mail),
                &report(OutcomeClass::Sent, 5),
                at(2),
            )
            .await,
        Err(Error::LeaseLost(_))
    ));
    assert_eq!(store.inbox(li.id, 0).await.expect("inbox").len(), 1);
    assert_eq!(store.outgoing_mail(None).await.expect("outgoing").len(), 1);
}

async fn a_fax_id_without_mail_is_only_filed(store: Store) {
    let li = store
        .add_user(&new_user("Li Wei", "li@example.com"), "cli:root", T0)
        .await
        .expect("adds");
    let fax_id = li.fax_id.to_string();
    store
        .enqueue(&request(None, &[fax_id.as_str()]), T0)
        .await
        .expect("enqueues");
    let claim = store
        .claim("trunk", 1, "w", LEASE, T0)
        .await
        .expect("claims")
        .remove(0);
    let entry = InboxEntry {
        received_at: at(1),
        sender: "li@example.com".to_owned(),
        tiff: BlobRef::of(b"tiff"),
        pages: 1,
    };
    store
        .finish_to_inbox(
            &claim,
            li.id,
            &entry,
            None,
            &report(OutcomeClass::Sent, 1),
            at(1),
        )
        .await
        .expect("files");
    assert_eq!(store.inbox(li.id, 0).await.expect("inbox").len(), 1);
    assert!(
        store
            .outgoing_mail(None)
            .await
            .expect("outgoing")
            .is_empty()
    );
}

#[tokio::test]
async fn both_backends_have_the_same_schema() {
    let (sqlite, _dir) = sqlite_store("schema").await;
    let postgres = postgres_store("schema").await;
    let sqlite_schema = sqlite.schema_summary().await.expect("sqlite schema");
    let postgres_schema = postgres.schema_summary().await.expect("postgres schema");
    assert!(
        sqlite_schema
            .iter()
            .any(|c| c == "deliveries.lease_until integer")
    );
    assert_eq!(sqlite_schema, postgres_schema);
}

#[tokio::test]
async fn sqlite_store_is_one_wal_file_created_on_first_start() {
    let (store, dir) = sqlite_store("wal").await;
    assert!(dir.0.join("faxgate.db").exists());
    store.close().await;
    // Opening again migrates nothing and keeps the data.
    let store = Store::open_data_dir(&dir.0).await.expect("reopens");
    store
        .enqueue(&request(None, &["1"]), T0)
        .await
        .expect("enqueues");
    store.close().await;
    let store = Store::open_data_dir(&dir.0).await.expect("reopens");
    assert_eq!(
        store
            .deliveries(&DeliveryFilter::default())
            .await
            .expect("lists")
            .len(),
        1
    );
    assert!(dir.0.join("faxgate.db-wal").exists() || dir.0.join("faxgate.db-shm").exists());
}
