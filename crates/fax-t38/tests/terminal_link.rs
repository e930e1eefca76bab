//! Two T.38 terminals (our sender, our receiver) over a simulated UDP path on virtual
//! time, with seeded loss, reordering and duplication: pages must arrive identical.

use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use fax_t4::{Bitmap, Resolution};
use fax_t30::{Config, Engine, Outcome, ReceivedPage, Role, Status};
use fax_t38::terminal::{Event, Terminal, TerminalConfig};
use fax_t38::udptl::ErrorRecovery;

fn chart(n: usize) -> Bitmap {
    let path = format!(
        "{}/../../testdata/ccitt/ccitt{n}.pbm",
        env!("CARGO_MANIFEST_DIR")
    );
    fax_t4::pbm::read(&std::fs::read(path).expect("chart"), Resolution::FINE).expect("pbm")
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

#[derive(Debug, PartialEq, Eq)]
struct InFlight {
    at: Duration,
    seq: u64,
    to: usize,
    datagram: Vec<u8>,
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.at.cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Path impairments, per mille of datagrams.
#[derive(Clone, Copy, Default)]
struct Path {
    loss: u64,
    duplicate: u64,
    /// Datagrams delayed by up to 60 ms extra (so they overtake each other).
    reorder: u64,
}

struct Call {
    outcomes: [Option<Outcome>; 2],
    pages: Vec<ReceivedPage>,
    transcripts: [Vec<String>; 2],
    virtual_time: Duration,
}

fn run(mut terminals: [Terminal; 2], path: Path, seed: u64) -> Call {
    let mut rng = Rng(seed.max(1));
    let mut net: BinaryHeap<InFlight> = BinaryHeap::new();
    let mut seq = 0;
    let mut now = Duration::ZERO;
    let mut outcomes: [Option<Outcome>; 2] = [None, None];
    let mut pages = Vec::new();
    for t in terminals.iter_mut() {
        t.start(now);
    }
    let base_delay = Duration::from_millis(20);
    while now < Duration::from_secs(3600) {
        for i in 0..2 {
            while let Some(datagram) = terminals[i].poll_datagram() {
                if rng.chance(path.loss) {
                    continue;
                }
                let copies = if rng.chance(path.duplicate) { 2 } else { 1 };
                for _ in 0..copies {
                    let extra = if rng.chance(path.reorder) {
                        Duration::from_millis(rng.next() % 60)
                    } else {
                        Duration::ZERO
                    };
                    seq += 1;
                    net.push(InFlight {
                        at: now + base_delay + extra,
                        seq,
                        to: 1 - i,
                        datagram: datagram.clone(),
                    });
                }
            }
            while let Some(event) = terminals[i].poll_event() {
                match event {
                    Event::Page(p) => pages.push(p),
                    Event::Done(o) => outcomes[i] = Some(o),
                }
            }
        }
        if terminals.iter().all(Terminal::is_done) && net.is_empty() {
            break;
        }
        let next_net = net.peek().map(|d| d.at);
        let next_timer = terminals.iter().filter_map(Terminal::deadline).min();
        let Some(next) = [next_net, next_timer].into_iter().flatten().min() else {
            break;
        };
        now = now.max(next);
        if next_net == Some(next) {
            if let Some(d) = net.pop() {
                terminals[d.to].handle_datagram(now, &d.datagram);
            }
        } else {
            for t in terminals.iter_mut() {
                t.handle_timeout(now);
            }
        }
    }
    Call {
        outcomes,
        pages,
        transcripts: [
            terminals[0].engine().transcript().to_vec(),
            terminals[1].engine().transcript().to_vec(),
        ],
        virtual_time: now,
    }
}

fn terminals(pages: Vec<Bitmap>, ecm: bool, depth: usize) -> [Terminal; 2] {
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
    [
        Terminal::new(Engine::sender(tx, pages), config).expect("config"),
        Terminal::new(Engine::receiver(rx), config).expect("config"),
    ]
}

fn assert_delivered(call: &Call, pages: &[Bitmap]) {
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
    let call = run(terminals(pages.clone(), false, 2), Path::default(), 1);
    assert_delivered(&call, &pages);
    let caller = call.transcripts[0].join("\n");
    assert!(caller.contains("-> DCS V.17 14400 fine MR"), "{caller}");
}

#[test]
fn ecm_pages_cross_a_lossy_reordering_duplicating_path() {
    let pages: Vec<Bitmap> = (1..=10).map(|i| chart(1 + (i - 1) % 8)).collect();
    let wall = Instant::now();
    let call = run(
        terminals(pages.clone(), true, 3),
        Path {
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
        let call = run(
            terminals(pages.clone(), false, 3),
            Path {
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
