//! Our calling terminal against our answering terminal over a simulated line, on
//! virtual time: clean calls, capability mismatches, line damage, and calls that fail.

mod common;

use std::time::Duration;

use common::{Impairments, run_call};
use fax_t4::{Bitmap, Resolution};
use fax_t30::caps::{Modems, ScanLineTime};
use fax_t30::{Config, Engine, Role, Status};

fn chart(n: usize) -> Bitmap {
    let path = format!(
        "{}/../../testdata/ccitt/ccitt{n}.pbm",
        env!("CARGO_MANIFEST_DIR")
    );
    fax_t4::pbm::read(&std::fs::read(path).expect("chart"), Resolution::FINE).expect("pbm")
}

fn sender(pages: Vec<Bitmap>) -> Engine {
    let mut config = Config::new(Role::Caller);
    config.ident = "+852 5550 0001".into();
    Engine::sender(config, pages)
}

fn receiver(config: impl FnOnce(&mut Config)) -> Engine {
    let mut c = Config::new(Role::Answerer);
    c.ident = "+44 20 7946 0000".into();
    config(&mut c);
    Engine::receiver(c)
}

/// A receiver without error correction: the non-ECM procedure.
fn plain_receiver(config: impl FnOnce(&mut Config)) -> Engine {
    receiver(|c| {
        c.capabilities.ecm = false;
        c.capabilities.mmr = false;
        config(c);
    })
}

const LIMIT: Duration = Duration::from_secs(600);

#[test]
fn three_fine_pages_arrive_identical() {
    let pages = vec![chart(1), chart(2), chart(3)];
    let call = run_call(
        [sender(pages.clone()), plain_receiver(|_| {})],
        Impairments::default(),
        1,
        LIMIT,
    );
    let [tx, rx] = &call.outcomes;
    let tx = tx.as_ref().expect("sender finished");
    let rx = rx.as_ref().expect("receiver finished");
    assert_eq!(tx.status, Status::Ok, "{:#?}", call.transcripts);
    assert_eq!(rx.status, Status::Ok, "{:#?}", call.transcripts);
    assert_eq!(tx.pages, 3);
    assert_eq!(rx.pages, 3);
    assert_eq!(tx.remote_ident.as_deref(), Some("+44 20 7946 0000"));
    assert_eq!(rx.remote_ident.as_deref(), Some("+852 5550 0001"));
    assert_eq!(call.pages.len(), 3);
    for (got, sent) in call.pages.iter().zip(&pages) {
        assert_eq!(got.bad_rows, 0);
        assert_eq!(&got.bitmap, sent);
    }
    let caller = call.transcripts[0].join("\n");
    assert!(caller.contains("-> DCS V.17 14400 fine MR"), "{caller}");
    assert!(caller.contains("<- CFR"), "{caller}");
    assert!(caller.contains("-> MPS\n<- MCF"), "{caller}");
    assert!(caller.contains("-> EOP\n<- MCF\n-> DCN"), "{caller}");
    // Three MR pages (85 kB) at 14400 bit/s take under two minutes of line time.
    assert!(
        call.virtual_time < Duration::from_secs(120),
        "{:?}",
        call.virtual_time
    );
}

#[test]
fn an_old_receiver_gets_standard_resolution_mh_at_v29() {
    let pages = vec![chart(4), chart(5)];
    let call = run_call(
        [
            sender(pages.clone()),
            plain_receiver(|c| {
                c.capabilities.modems = Modems {
                    v27ter: true,
                    v29: true,
                    v17: false,
                };
                c.capabilities.fine = false;
                c.capabilities.superfine = false;
                c.capabilities.mr = false;
                c.capabilities.scan_line_time = ScanLineTime {
                    ms: 20,
                    half_at_fine: false,
                };
            }),
        ],
        Impairments::default(),
        2,
        LIMIT,
    );
    assert_eq!(
        call.outcomes[0].as_ref().map(|o| o.status),
        Some(Status::Ok),
        "{:#?}",
        call.transcripts
    );
    let caller = call.transcripts[0].join("\n");
    assert!(caller.contains("-> DCS V.29 9600 standard MH"), "{caller}");
    for (got, sent) in call.pages.iter().zip(&pages) {
        let expected = fax_t4::convert::to_vertical_resolution(sent, 98).expect("convert");
        assert_eq!(got.bitmap.resolution().y_dpi, 98);
        assert_eq!(got.bitmap.packed(), expected.packed());
    }
}

#[test]
fn failed_training_falls_back_and_refusal_at_every_rate_ends_the_call() {
    // Every TCF spoiled: the sender walks down all eight rates, then gives up.
    let call = run_call(
        [sender(vec![chart(2)]), plain_receiver(|_| {})],
        Impairments {
            spoil_tcf: 100,
            ..Impairments::default()
        },
        3,
        LIMIT,
    );
    let tx = call.outcomes[0].as_ref().expect("sender finished");
    assert_eq!(tx.status, Status::TrainingFailed);
    assert_eq!(
        tx.status.text(),
        "receiver refused the training at all rates"
    );
    let caller = call.transcripts[0].join("\n");
    for rate in ["V.17 14400", "V.17 12000", "V.29 9600", "V.27ter 2400"] {
        assert!(
            caller.contains(&format!("-> TCF {rate}")),
            "{rate}: {caller}"
        );
    }
    assert_eq!(caller.matches("<- FTT").count(), 8, "{caller}");

    // Half the TCFs spoiled: the call still completes, possibly at a lower rate.
    let call = run_call(
        [sender(vec![chart(2)]), plain_receiver(|_| {})],
        Impairments {
            spoil_tcf: 50,
            ..Impairments::default()
        },
        4,
        LIMIT,
    );
    assert_eq!(
        call.outcomes[0].as_ref().map(|o| o.status),
        Some(Status::Ok)
    );
    assert_eq!(call.pages.len(), 1);
}

#[test]
fn lost_and_corrupted_frames_are_repeated_and_never_change_the_pages() {
    let pages = vec![chart(6), chart(7)];
    let mut completed = 0;
    for seed in 1..=24 {
        let call = run_call(
            [sender(pages.clone()), plain_receiver(|_| {})],
            Impairments {
                corrupt_frames: 10,
                drop_frames: 10,
                ..Impairments::default()
            },
            seed,
            LIMIT,
        );
        let tx = call.outcomes[0].as_ref().expect("sender finished");
        // Whatever happened, every page the receiver stored is one that was sent,
        // in order and intact.
        for (got, sent) in call.pages.iter().zip(&pages) {
            assert_eq!(&got.bitmap, sent, "seed {seed}");
        }
        match tx.status {
            Status::Ok => {
                completed += 1;
                assert_eq!(call.pages.len(), 2, "seed {seed}: {:#?}", call.transcripts);
            }
            Status::NoResponse | Status::RemoteDisconnected | Status::NoAnswer => {}
            other => panic!("seed {seed}: unexpected {other:?}: {:#?}", call.transcripts),
        }
    }
    // With 20 % of frames damaged most calls still make it thanks to the repeats.
    assert!(completed >= 16, "only {completed} of 24 calls completed");
}

#[test]
fn a_slightly_damaged_page_is_accepted_with_rtp() {
    let call = run_call(
        [sender(vec![chart(3)]), plain_receiver(|_| {})],
        Impairments {
            page_bit_errors: 40,
            ..Impairments::default()
        },
        5,
        LIMIT,
    );
    let tx = call.outcomes[0].as_ref().expect("sender finished");
    let caller = call.transcripts[0].join("\n");
    assert!(caller.contains("-> EOP\n<- RTP\n-> DCN"), "{caller}");
    assert_eq!(tx.status, Status::Ok);
    assert_eq!(call.pages.len(), 1);
    let page = &call.pages[0];
    assert!(page.bad_rows > 0 && page.bad_rows * 20 <= page.bitmap.height());
}

#[test]
fn a_badly_damaged_page_is_rejected_sent_again_and_finally_given_up() {
    let call = run_call(
        [sender(vec![chart(3)]), plain_receiver(|_| {})],
        Impairments {
            page_bit_errors: 3000,
            ..Impairments::default()
        },
        6,
        LIMIT,
    );
    let tx = call.outcomes[0].as_ref().expect("sender finished");
    let caller = call.transcripts[0].join("\n");
    assert_eq!(caller.matches("<- RTN").count(), 3, "{caller}");
    // Each rejection retrains one rate lower before the page goes again.
    assert!(caller.contains("-> DCS V.17 12000 fine MR"), "{caller}");
    assert_eq!(tx.status, Status::PageRejected, "{caller}");
    assert!(call.pages.is_empty());
}

#[test]
fn nobody_answering_ends_with_no_answer_after_t1() {
    // The far end never sends anything: a receiver that is already done.
    let mut silent = plain_receiver(|_| {});
    let mut config = Config::new(Role::Caller);
    config.ident = "x".into();
    let caller = Engine::sender(config, vec![chart(1)]);
    // Drive the caller alone.
    let mut caller = caller;
    caller.start(Duration::ZERO);
    let mut now = Duration::ZERO;
    let mut outcome = None;
    for _ in 0..100 {
        match caller.poll_output() {
            fax_t30::Output::Transmit(_) => {
                caller.handle_input(now, fax_t30::Input::TxDone);
            }
            fax_t30::Output::Wait(Some(at)) => {
                now = at;
                caller.handle_timeout(now);
            }
            fax_t30::Output::Done(o) => {
                outcome = Some(o);
                break;
            }
            _ => {}
        }
    }
    let outcome = outcome.expect("caller gave up");
    assert_eq!(outcome.status, Status::NoAnswer);
    assert_eq!(outcome.status.text(), "no answer from a fax machine");
    assert_eq!(outcome.duration, Duration::from_secs(35));
    silent.start(Duration::ZERO);
}

fn ecm_receiver(frame_64: bool) -> Engine {
    receiver(|c| c.capabilities.ecm_64_preferred = frame_64)
}

#[test]
fn ecm_mmr_pages_arrive_identical() {
    let pages = vec![chart(1), chart(8)];
    let call = run_call(
        [sender(pages.clone()), ecm_receiver(false)],
        Impairments::default(),
        11,
        LIMIT,
    );
    assert_eq!(
        call.outcomes[0].as_ref().map(|o| o.status),
        Some(Status::Ok),
        "{:#?}",
        call.transcripts
    );
    assert_eq!(
        call.outcomes[1].as_ref().map(|o| o.status),
        Some(Status::Ok)
    );
    let caller = call.transcripts[0].join("\n");
    assert!(
        caller.contains("-> DCS V.17 14400 fine MMR ECM"),
        "{caller}"
    );
    assert!(caller.contains("-> PPS-MPS\n<- MCF"), "{caller}");
    assert!(caller.contains("-> PPS-EOP\n<- MCF\n-> DCN"), "{caller}");
    assert_eq!(call.pages.len(), 2);
    for (got, sent) in call.pages.iter().zip(&pages) {
        assert_eq!(&got.bitmap, sent);
    }
}

#[test]
fn ecm_corrections_resend_only_the_damaged_frames() {
    let pages = vec![chart(3), chart(4)];
    let call = run_call(
        [sender(pages.clone()), ecm_receiver(true)],
        Impairments {
            corrupt_ecm_frames: 5,
            ..Impairments::default()
        },
        12,
        LIMIT,
    );
    let caller = call.transcripts[0].join("\n");
    assert_eq!(
        call.outcomes[0].as_ref().map(|o| o.status),
        Some(Status::Ok),
        "{caller}"
    );
    assert!(caller.contains("<- PPR"), "{caller}");
    assert!(caller.contains("frames to send again"), "{caller}");
    for (got, sent) in call.pages.iter().zip(&pages) {
        assert_eq!(got.bad_rows, 0);
        assert_eq!(&got.bitmap, sent);
    }
    assert_eq!(call.pages.len(), 2);
}

#[test]
fn a_page_larger_than_one_block_goes_in_several() {
    let path = format!(
        "{}/../../testdata/docs/stress-dither_poppler-mono_1728x2292.pbm",
        env!("CARGO_MANIFEST_DIR")
    );
    let page =
        fax_t4::pbm::read(&std::fs::read(path).expect("pbm"), Resolution::FINE).expect("pbm");
    let call = run_call(
        [sender(vec![page.clone()]), ecm_receiver(false)],
        Impairments {
            corrupt_ecm_frames: 1,
            ..Impairments::default()
        },
        13,
        Duration::from_secs(3600),
    );
    let caller = call.transcripts[0].join("\n");
    assert_eq!(
        call.outcomes[0].as_ref().map(|o| o.status),
        Some(Status::Ok),
        "{caller}"
    );
    // 515 kB of MMR in 64 kB blocks.
    assert!(caller.contains("-> block 8 of page 1"), "{caller}");
    assert!(caller.contains("-> PPS-NULL\n<- MCF"), "{caller}");
    assert_eq!(call.pages.len(), 1);
    assert_eq!(call.pages[0].bitmap, page);
}

#[test]
fn persistent_ecm_errors_step_the_rate_down_with_ctc() {
    let call = run_call(
        [sender(vec![chart(5)]), ecm_receiver(false)],
        Impairments {
            corrupt_ecm_frames: 60,
            ..Impairments::default()
        },
        14,
        Duration::from_secs(3600),
    );
    let caller = call.transcripts[0].join("\n");
    assert!(caller.contains("-> CTC"), "{caller}");
    assert!(caller.contains("<- CTR"), "{caller}");
    // Either it got through at a lower rate or gave up cleanly; never wrong pixels.
    let tx = call.outcomes[0].as_ref().expect("finished");
    assert!(
        matches!(tx.status, Status::Ok | Status::PageRejected),
        "{caller}"
    );
    for page in &call.pages {
        assert_eq!(page.bitmap, chart(5));
    }
}

#[test]
fn ten_ecm_pages_through_a_lossy_line_arrive_identical() {
    let pages: Vec<Bitmap> = (0..10).map(|i| chart(1 + i % 8)).collect();
    let mut completed = 0;
    for seed in 20..26 {
        let call = run_call(
            [sender(pages.clone()), ecm_receiver(false)],
            Impairments {
                corrupt_ecm_frames: 5,
                corrupt_frames: 5,
                drop_frames: 5,
                ..Impairments::default()
            },
            seed,
            Duration::from_secs(3600),
        );
        let tx = call.outcomes[0].as_ref().expect("finished");
        for (got, sent) in call.pages.iter().zip(&pages) {
            assert_eq!(&got.bitmap, sent, "seed {seed}");
        }
        if tx.status == Status::Ok {
            completed += 1;
            assert_eq!(call.pages.len(), 10, "seed {seed}");
            assert_eq!(tx.pages, 10);
        } else {
            assert!(
                matches!(tx.status, Status::NoResponse | Status::RemoteDisconnected),
                "seed {seed}: {:?}\n{}",
                tx.status,
                call.transcripts[0].join("\n")
            );
        }
    }
    assert_eq!(completed, 6, "only {completed} of 6 completed");
}

#[test]
fn a_block_that_never_gets_through_at_the_lowest_rate_ends_with_eor() {
    // Only V.27ter at 2400 bit/s on the receiver: no rate to fall back to, so after four
    // PPRs the sender stops correcting (EOR) and the receiver keeps what it has (ERR).
    let call = run_call(
        [
            sender(vec![chart(2)]),
            receiver(|c| {
                c.capabilities.modems = Modems {
                    v27ter: false,
                    v29: false,
                    v17: false,
                }
            }),
        ],
        Impairments {
            corrupt_ecm_frames: 90,
            ..Impairments::default()
        },
        15,
        Duration::from_secs(3600),
    );
    let caller = call.transcripts[0].join("\n");
    let answerer = call.transcripts[1].join("\n");
    assert!(
        caller.contains("-> DCS V.27ter 2400 fine MMR ECM"),
        "{caller}"
    );
    assert!(caller.contains("-> EOR\n<- ERR"), "{caller}");
    assert!(answerer.contains("page kept after EOR"), "{answerer}");
    assert_eq!(
        call.outcomes[0].as_ref().map(|o| o.status),
        Some(Status::Ok)
    );
    assert_eq!(call.pages.len(), 1);
}

#[test]
fn polling_the_caller_fetches_the_answerers_document() {
    let pages = vec![chart(6), chart(1)];
    let mut poller = Config::new(Role::Caller);
    poller.ident = "poller".into();
    let mut polled = Config::new(Role::Answerer);
    polled.ident = "document server".into();
    let call = run_call(
        [
            Engine::receiver(poller),
            Engine::sender(polled, pages.clone()),
        ],
        Impairments::default(),
        16,
        LIMIT,
    );
    let caller = call.transcripts[0].join("\n");
    let answerer = call.transcripts[1].join("\n");
    assert!(
        caller.contains("-> CNG\n<- CSI \"document server\""),
        "{caller}"
    );
    assert!(caller.contains("-> CIG \"poller\"\n-> DTC"), "{caller}");
    assert!(answerer.contains("<- DTC"), "{answerer}");
    assert!(
        answerer.contains("-> DCS V.17 14400 fine MMR ECM"),
        "{answerer}"
    );
    for outcome in &call.outcomes {
        let outcome = outcome.as_ref().expect("finished");
        assert_eq!(outcome.status, Status::Ok, "{caller}\n----\n{answerer}");
        assert_eq!(outcome.pages, 2);
    }
    assert_eq!(
        call.outcomes[0]
            .as_ref()
            .and_then(|o| o.remote_ident.clone()),
        Some("document server".into())
    );
    for (got, sent) in call.pages.iter().zip(&pages) {
        assert_eq!(&got.bitmap, sent);
    }
    assert_eq!(call.pages.len(), 2);
}

#[test]
fn polling_a_terminal_with_nothing_to_send_says_so() {
    let call = run_call(
        [
            Engine::receiver(Config::new(Role::Caller)),
            plain_receiver(|_| {}),
        ],
        Impairments::default(),
        17,
        LIMIT,
    );
    let outcome = call.outcomes[0].as_ref().expect("finished");
    assert_eq!(outcome.status, Status::NothingToPoll);
    assert_eq!(
        outcome.status.text(),
        "the far end has no document to be polled"
    );
}
