//! Two T.38 terminals joined by a simulated UDP path on virtual time, with seeded loss,
//! reordering and duplication. Shared by the tests and the CPU-time example.

#![allow(dead_code)]

use std::collections::BinaryHeap;
use std::time::Duration;

use fax_t30::{Outcome, ReceivedPage};
use fax_t38::terminal::{Event, Terminal};

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn chance(&mut self, per_mille: u64) -> bool {
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
pub struct Path {
    pub loss: u64,
    pub duplicate: u64,
    /// Datagrams delayed by up to 60 ms extra (so they overtake each other).
    pub reorder: u64,
}

pub struct Call {
    pub outcomes: [Option<Outcome>; 2],
    pub pages: Vec<ReceivedPage>,
    pub transcripts: [Vec<String>; 2],
    pub virtual_time: Duration,
}

pub fn run(terminals: [Terminal; 2], path: Path, seed: u64) -> Call {
    run_checked(terminals, path, seed, |_| {})
}

/// [`run`], calling `check` on every datagram sent.
pub fn run_checked(
    mut terminals: [Terminal; 2],
    path: Path,
    seed: u64,
    check: impl Fn(&[u8]),
) -> Call {
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
                check(&datagram);
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
