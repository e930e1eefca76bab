//! Two T.38 terminals (our sender, our receiver) over a simulated UDP path on virtual
//! time, with seeded loss, reordering and duplication: pages must arrive identical.

mod support;

use std::time::Instant;

use fax_t4::{Bitmap, Resolution};
use fax_t30::{Config, Engine, Role, Status};
use fax_t38::terminal::{TcfMode, Terminal, TerminalConfig};
use fax_t38::udptl::ErrorRecovery;

fn chart(n: usize) -> Bitmap {
    let path = format!(
        "{}/../../testdata/ccitt/ccitt{n}.pbm",
        env!("CARGO_MANIFEST_DIR")
    );
    fax_t4::pbm::read(&std::fs::read(path).expect("chart"), Resolution::FINE).expect("pbm")
}

fn terminals(pages: Vec<Bitmap>, ecm: bool, depth: usize) -> [Terminal; 2] {
    terminals_with(pages, ecm, depth, TcfMode::Transferred)
}

fn terminals_with(pages: Vec<Bitmap>, ecm: bool, depth: usize, tcf: TcfMode) -> [Terminal; 2] {
    let mut tx = Config::new(Role::Caller);
    tx.ident = "faxgate test".into();
    let mut rx = Config::new(Role::Answerer);
    rx.ident = "receiver".into();
    if !ecm {
        rx.capabilities.ecm = false;
        rx.capabilities.mmr = false;
    }
    let mut config = TerminalConfig::default();
    config.sender.error_recovery = ErrorRecovery::Redundancy { depth };
    config.tcf = tcf;
    [
        Terminal::new(Engine::sender(tx, pages), config).expect("config"),
        Terminal::new(Engine::receiver(rx), config).expect("config"),
    ]
}

fn assert_delivered(call: &support::Call, pages: &[Bitmap]) {
    let caller = call.transcripts[0].join("\n");
    let answerer = call.transcripts[1].join("\n");
    let tx = call.outcomes[0].as_ref().expect("sender finished");
    assert_eq!(tx.status, Status::Ok, "{caller}\n----\n{answerer}");
    assert_eq!(
        call.outcomes[1].as_ref().map(|o| o.status),
        Some(Status::Ok),
        "{answerer}"
    );
    assert_eq!(call.pages.len(), pages.len());
    for (got, sent) in call.pages.iter().zip(pages) {
        assert_eq!(&got.bitmap, sent);
    }
}

#[test]
fn non_ecm_pages_cross_a_clean_path() {
    let pages = vec![chart(1), chart(2)];
    let call = support::run(
        terminals(pages.clone(), false, 2),
        support::Path::default(),
        1,
    );
    assert_delivered(&call, &pages);
    let caller = call.transcripts[0].join("\n");
    assert!(caller.contains("-> DCS V.17 14400 fine MR"), "{caller}");
}

#[test]
fn ecm_pages_cross_a_lossy_reordering_duplicating_path() {
    let pages: Vec<Bitmap> = (1..=10).map(|i| chart(1 + (i - 1) % 8)).collect();
    let wall = Instant::now();
    let call = support::run(
        terminals(pages.clone(), true, 3),
        support::Path {
            loss: 50,
            duplicate: 20,
            reorder: 50,
        },
        7,
    );
    let elapsed = wall.elapsed();
    assert_delivered(&call, &pages);
    let caller = call.transcripts[0].join("\n");
    assert!(caller.contains("MMR ECM"), "{caller}");
    eprintln!(
        "10-page ECM fax at 5% loss: {:.1} s of line time, {:.3} s of wall time",
        call.virtual_time.as_secs_f64(),
        elapsed.as_secs_f64()
    );
}

#[test]
fn non_ecm_pages_survive_loss_thanks_to_redundancy() {
    let pages = vec![chart(3)];
    for seed in 1..=3 {
        let call = support::run(
            terminals(pages.clone(), false, 3),
            support::Path {
                loss: 50,
                duplicate: 10,
                reorder: 20,
            },
            seed,
        );
        let tx = call.outcomes[0].as_ref().expect("sender finished");
        assert_eq!(tx.status, Status::Ok, "seed {seed}");
        // Without ECM a burst of losses beyond the redundancy can damage rows; with depth
        // 3 at 5 % loss that is rare, and the receiver's quality check covers it.
        for page in &call.pages {
            assert!(page.bad_rows * 20 <= page.bitmap.height(), "seed {seed}");
        }
    }
}

#[test]
fn local_tcf_skips_the_training_data_and_still_delivers() {
    let pages = vec![chart(4)];
    let transferred = support::run(
        terminals(pages.clone(), false, 2),
        support::Path::default(),
        3,
    );
    let local = support::run(
        terminals_with(pages.clone(), false, 2, TcfMode::Local),
        support::Path::default(),
        3,
    );
    assert_delivered(&local, &pages);
    // The receiver judged a training check that never crossed the network.
    let answerer = local.transcripts[1].join("\n");
    assert!(
        answerer.contains("TCF: longest run of zeros 21600 bits"),
        "{answerer}"
    );
    // 1.5 s of TCF data is not sent, so the call is shorter.
    assert!(
        local.virtual_time + std::time::Duration::from_secs(1) < transferred.virtual_time,
        "{:?} vs {:?}",
        local.virtual_time,
        transferred.virtual_time
    );
}

#[test]
fn a_small_datagram_limit_splits_frames_and_still_delivers() {
    // Some gateways take T38FaxMaxDatagram of 72: every 256-octet ECM frame must be
    // sent in pieces, and no datagram may exceed the limit.
    let pages = vec![chart(8)];
    let mut config = TerminalConfig::default();
    config.sender.max_datagram = 72;
    config.sender.error_recovery = ErrorRecovery::Redundancy { depth: 1 };
    let mut caller = Config::new(Role::Caller);
    caller.ident = "faxgate test".into();
    let mut answerer = Config::new(Role::Answerer);
    answerer.ident = "receiver".into();
    let terminals = [
        Terminal::new(Engine::sender(caller, pages.clone()), config).expect("config"),
        Terminal::new(Engine::receiver(answerer), config).expect("config"),
    ];
    let call = support::run_checked(terminals, support::Path::default(), 5, |datagram| {
        assert!(
            datagram.len() <= 72,
            "datagram of {} octets",
            datagram.len()
        );
    });
    assert_delivered(&call, &pages);
}
