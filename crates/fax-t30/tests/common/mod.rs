//! Two engines joined by a simulated half-duplex line on virtual time: signals take
//! as long as they would on a real line, data only reaches a receiver listening for
//! that modem and rate, and a seeded generator corrupts or drops V.21 frames.

#![allow(dead_code)]

use std::collections::BinaryHeap;
use std::time::Duration;

use fax_t30::{Engine, Input, Output, ReceivedPage, Rx, Tone, Tx};

/// Small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.next() % 100 < u64::from(percent)
    }
}

/// What arrives at an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Delivery {
    Frame(Vec<u8>, bool),
    EcmFrame {
        rate: fax_t30::Rate,
        octets: Vec<u8>,
        ok: bool,
    },
    Data {
        rate: fax_t30::Rate,
        data: Vec<u8>,
    },
    DataEnd(fax_t30::Rate),
    TxDone,
}

#[derive(Debug, PartialEq, Eq)]
struct Event {
    at: Duration,
    seq: u64,
    to: usize,
    what: Delivery,
}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Earliest first (BinaryHeap is a max-heap).
        other.at.cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Line impairments.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impairments {
    /// Percent of V.21 frames delivered with a bad FCS.
    pub corrupt_frames: u32,
    /// Percent of V.21 frames lost entirely.
    pub drop_frames: u32,
    /// Percent of TCF bursts spoiled by a burst of ones.
    pub spoil_tcf: u32,
    /// Octets of page data flipped per page (line noise).
    pub page_bit_errors: u32,
    /// Percent of ECM frames delivered with a bad FCS.
    pub corrupt_ecm_frames: u32,
}

/// The result of a simulated call.
pub struct CallResult {
    pub outcomes: [Option<fax_t30::Outcome>; 2],
    pub pages: Vec<ReceivedPage>,
    pub transcripts: [Vec<String>; 2],
    pub virtual_time: Duration,
}

/// Runs two engines (index 0 and 1) against each other until both are done or
/// `limit` of virtual time has passed.
pub fn run_call(
    mut engines: [Engine; 2],
    impairments: Impairments,
    seed: u64,
    limit: Duration,
) -> CallResult {
    let mut rng = Rng::new(seed);
    let mut queue: BinaryHeap<Event> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut rx = [Rx::V21, Rx::V21];
    // When each side's transmitter is next free.
    let mut tx_free = [Duration::ZERO; 2];
    let mut outcomes: [Option<fax_t30::Outcome>; 2] = [None, None];
    let mut pages = Vec::new();
    let mut now = Duration::ZERO;
    for e in engines.iter_mut() {
        e.start(now);
    }
    loop {
        // Drain both engines' outputs.
        let mut deadlines = [None, None];
        for i in 0..2 {
            loop {
                match engines[i].poll_output() {
                    Output::Transmit(tx) => {
                        let start = tx_free[i].max(now) + Duration::from_millis(75);
                        let (end, deliveries) = signal(tx, start, &mut rng, impairments);
                        tx_free[i] = end;
                        for (at, what) in deliveries {
                            seq += 1;
                            queue.push(Event {
                                at,
                                seq,
                                to: 1 - i,
                                what,
                            });
                        }
                        seq += 1;
                        queue.push(Event {
                            at: end,
                            seq,
                            to: i,
                            what: Delivery::TxDone,
                        });
                    }
                    Output::Receive(mode) => rx[i] = mode,
                    Output::Page(page) => pages.push(page),
                    Output::Done(outcome) => outcomes[i] = Some(outcome),
                    Output::Wait(deadline) => {
                        deadlines[i] = deadline;
                        break;
                    }
                }
            }
        }
        if outcomes.iter().all(Option::is_some) || now > limit {
            break;
        }
        // The next thing to happen.
        let next_event = queue.peek().map(|e| e.at);
        let next_deadline = deadlines
            .iter()
            .enumerate()
            .filter(|(i, _)| outcomes[*i].is_none())
            .filter_map(|(_, d)| *d)
            .min();
        let next = match (next_event, next_deadline) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        now = now.max(next);
        if next_event == Some(next) {
            let Some(event) = queue.pop() else { break };
            let to = event.to;
            if outcomes[to].is_some() {
                continue;
            }
            match event.what {
                Delivery::TxDone => engines[to].handle_input(now, Input::TxDone),
                Delivery::Frame(octets, fcs_ok) => engines[to].handle_input(
                    now,
                    Input::Frame {
                        octets: &octets,
                        fcs_ok,
                    },
                ),
                Delivery::EcmFrame { rate, octets, ok } => {
                    if rx[to] == Rx::Ecm(rate) {
                        engines[to].handle_input(
                            now,
                            Input::EcmFrame {
                                octets: &octets,
                                fcs_ok: ok,
                            },
                        );
                    }
                }
                Delivery::Data { rate, data } => {
                    if listening_at(rx[to], rate) {
                        engines[to].handle_input(now, Input::Data(&data));
                    }
                }
                Delivery::DataEnd(rate) => {
                    if listening_at(rx[to], rate) {
                        engines[to].handle_input(now, Input::DataEnd);
                    }
                }
            }
        } else {
            for e in engines.iter_mut() {
                e.handle_timeout(now);
            }
        }
    }
    let transcripts = [
        engines[0].transcript().to_vec(),
        engines[1].transcript().to_vec(),
    ];
    CallResult {
        outcomes,
        pages,
        transcripts,
        virtual_time: now,
    }
}

fn listening_at(rx: Rx, rate: fax_t30::Rate) -> bool {
    matches!(rx, Rx::Tcf(r) | Rx::Image(r) if r == rate)
}

/// How long a signal takes and what the far end receives, when.
fn signal(
    tx: Tx,
    start: Duration,
    rng: &mut Rng,
    imp: Impairments,
) -> (Duration, Vec<(Duration, Delivery)>) {
    let bits =
        |n: usize, bps: u32| Duration::from_micros(n as u64 * 8 * 1_000_000 / u64::from(bps));
    match tx {
        Tx::Tone(Tone::Cng) => (start + Duration::from_millis(500), vec![]),
        Tx::Tone(Tone::Ced) => (start + Duration::from_millis(2600), vec![]),
        Tx::Frames(frames) => {
            // One second of preamble flags, then each frame with FCS and a flag.
            let mut t = start + Duration::from_secs(1);
            let mut out = Vec::new();
            for f in frames {
                let octets = f.to_octets();
                t += bits(octets.len() + 3, 300);
                if rng.chance(imp.drop_frames) {
                    continue;
                }
                let ok = !rng.chance(imp.corrupt_frames);
                out.push((t, Delivery::Frame(octets, ok)));
            }
            (t, out)
        }
        Tx::Tcf(rate) => {
            let training = Duration::from_millis(1400);
            let n = rate.bps as usize * 3 / 2 / 8;
            let mut data = vec![0u8; n];
            if rng.chance(imp.spoil_tcf) {
                for i in (0..n).step_by(n / 7) {
                    data[i] = 0xff;
                }
            }
            let end = start + training + bits(n, rate.bps);
            (
                end,
                vec![
                    (end, Delivery::Data { rate, data }),
                    (end, Delivery::DataEnd(rate)),
                ],
            )
        }
        Tx::EcmBlock { rate, frames } => {
            let training = Duration::from_millis(1400);
            let mut t = start + training;
            let mut out = Vec::new();
            for f in frames {
                let octets = f.to_octets();
                t += bits(octets.len() + 3, rate.bps);
                let ok = !rng.chance(imp.corrupt_ecm_frames);
                out.push((t, Delivery::EcmFrame { rate, octets, ok }));
            }
            (t, out)
        }
        Tx::Image { rate, mut data } => {
            for _ in 0..imp.page_bit_errors {
                if !data.is_empty() {
                    let i = (rng.next() % data.len() as u64) as usize;
                    data[i] ^= 1 << (rng.next() % 8);
                }
            }
            let training = Duration::from_millis(1400);
            let end = start + training + bits(data.len(), rate.bps);
            // Delivered in a few chunks, as a modem would.
            let mut out = Vec::new();
            let chunks = data.chunks(4096).map(<[u8]>::to_vec).collect::<Vec<_>>();
            let count = chunks.len().max(1) as u32;
            for (k, chunk) in chunks.into_iter().enumerate() {
                let at = start + training + (end - start - training) * (k as u32 + 1) / count;
                out.push((at, Delivery::Data { rate, data: chunk }));
            }
            out.push((end, Delivery::DataEnd(rate)));
            (end, out)
        }
    }
}
