//! Sender and receiver over a seeded lossy link: every packet comes out once, in order,
//! unchanged, or is reported lost, and only packets nothing could bring back are lost.

use std::collections::BTreeMap;

use fax_t38::ifp::{self, DataType, Field, FieldType, IfpPacket, Indicator, Version};
use fax_t38::{
    Error, ErrorRecovery, Received, ReceiverConfig, SenderConfig, UdptlReceiver, UdptlSender, Via,
};

/// A small deterministic generator (xorshift64*), so every run sees the same link.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Encoded IFP packets of a plausible call: indicators, V.21 frames, image data of
/// varying length.
fn call_packets(count: usize, version: Version, rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let packet = match i % 5 {
                0 => IfpPacket::Indicator(Indicator::V21Preamble),
                1 => IfpPacket::Data {
                    data_type: DataType::V21,
                    fields: vec![
                        Field::new(FieldType::HdlcData, [0xFF, 0x13, 0x80, i as u8]),
                        Field::new(FieldType::HdlcFcsOk, []),
                    ],
                },
                _ => {
                    let length = (rng.next() % 120 + 1) as usize;
                    let data: Vec<u8> = (0..length).map(|_| rng.next() as u8).collect();
                    IfpPacket::Data {
                        data_type: DataType::V17_14400,
                        fields: vec![Field::new(FieldType::T4NonEcmData, data)],
                    }
                }
            };
            ifp::encode(&packet, version).expect("encodable")
        })
        .collect()
}

/// What came out of a receiver, checked for order and content against what was sent.
#[derive(Default, Debug)]
struct Outcome {
    delivered: BTreeMap<u16, Via>,
    lost: Vec<u16>,
}

/// Drains `receiver`, checking each item against `sent` (indexed from `first_seq`) and that
/// items follow each other.
fn drain(
    receiver: &mut UdptlReceiver,
    now_us: u64,
    sent: &[Vec<u8>],
    first_seq: u16,
    expected: &mut Option<u16>,
    outcome: &mut Outcome,
) {
    while let Some(item) = receiver.next(now_us) {
        match item {
            Received::Ifp { seq, ifp, via } => {
                if let Some(e) = *expected {
                    assert_eq!(seq, e, "out of order");
                }
                *expected = Some(seq.wrapping_add(1));
                let index = usize::from(seq.wrapping_sub(first_seq));
                assert_eq!(
                    Some(&ifp),
                    sent.get(index),
                    "packet {seq} ({via:?}) changed"
                );
                assert!(outcome.delivered.insert(seq, via).is_none(), "{seq} twice");
            }
            Received::Lost {
                first_seq: first,
                count,
            } => {
                if let Some(e) = *expected {
                    assert_eq!(first, e, "loss report out of order");
                }
                *expected = Some(first.wrapping_add(count));
                outcome
                    .lost
                    .extend((0..count).map(|i| first.wrapping_add(i)));
            }
            Received::Jump { .. } => panic!("the numbering never jumps here"),
        }
    }
}

/// Link behaviour for one run.
struct Link {
    loss_percent: u64,
    duplicate_percent: u64,
    /// Chance that a datagram is held back and sent after the next one or two.
    reorder_percent: u64,
    /// The receiver's reorder window.
    window: u16,
}

/// Sends `packets` through a sender and the link into a receiver; a clean tail of extra
/// packets flushes out whatever the lossy stretch left pending. Returns the outcome and
/// which datagrams of the lossy stretch arrived.
fn run(
    recovery: ErrorRecovery,
    link: &Link,
    packets: &[Vec<u8>],
    first_seq: u16,
    seed: u64,
    version: Version,
) -> (Outcome, Vec<bool>) {
    let mut rng = Rng(seed);
    let mut sender = UdptlSender::new(SenderConfig {
        error_recovery: recovery,
        max_datagram: 1400,
        first_seq,
    })
    .expect("valid configuration");
    let mut config = ReceiverConfig::new(version);
    config.reorder_window = link.window;
    config.max_hold_us = 10_000_000;
    let mut receiver = UdptlReceiver::new(config).expect("valid configuration");

    let tail = 6;
    let mut arrived = vec![false; packets.len()];
    let mut held: Vec<(usize, Vec<u8>, u32)> = Vec::new();
    let mut outcome = Outcome::default();
    let mut expected = None;
    let mut now_us = 0;
    let all = packets.len() + tail;
    let filler = ifp::encode(&IfpPacket::Indicator(Indicator::NoSignal), version).expect("ok");
    let mut sent = packets.to_vec();
    sent.extend(std::iter::repeat_n(filler, tail));
    for (index, packet) in sent.iter().enumerate() {
        let datagram = sender.packetize(packet).expect("fits");
        now_us += 20_000;
        let lossy = index < packets.len();
        let mut to_send = Vec::new();
        if !lossy || !rng.chance(link.loss_percent) {
            if lossy && rng.chance(link.reorder_percent) {
                held.push((index, datagram.clone(), 1 + (rng.next() % 2) as u32));
            } else {
                to_send.push((index, datagram.clone()));
            }
            if lossy && rng.chance(link.duplicate_percent) {
                to_send.push((index, datagram));
            }
        }
        // Held datagrams go out after one or two later ones.
        held.retain_mut(|(i, d, wait)| {
            if *wait == 0 || index + 1 == all {
                to_send.push((*i, d.clone()));
                false
            } else {
                *wait -= 1;
                true
            }
        });
        for (i, bytes) in to_send {
            if let Some(flag) = arrived.get_mut(i) {
                *flag = true;
            }
            receiver.receive(&bytes, now_us).expect("our own datagram");
            drain(
                &mut receiver,
                now_us,
                &sent,
                first_seq,
                &mut expected,
                &mut outcome,
            );
        }
    }
    for (i, bytes, _) in held {
        if let Some(flag) = arrived.get_mut(i) {
            *flag = true;
        }
        receiver.receive(&bytes, now_us).expect("our own datagram");
    }
    drain(
        &mut receiver,
        now_us,
        &sent,
        first_seq,
        &mut expected,
        &mut outcome,
    );
    let stats = receiver.stats();
    assert_eq!(stats.delivered(), outcome.delivered.len() as u64);
    assert_eq!(stats.lost, outcome.lost.len() as u64);
    (outcome, arrived)
}

#[test]
fn clean_link_delivers_everything_as_primary() {
    let mut rng = Rng(1);
    let packets = call_packets(200, Version::V2, &mut rng);
    for recovery in [
        ErrorRecovery::Redundancy { depth: 0 },
        ErrorRecovery::Redundancy { depth: 3 },
        ErrorRecovery::Fec {
            span: 3,
            entries: 3,
        },
    ] {
        let link = Link {
            loss_percent: 0,
            duplicate_percent: 0,
            reorder_percent: 0,
            window: 8,
        };
        let (outcome, _) = run(recovery, &link, &packets, 0, 7, Version::V2);
        assert_eq!(outcome.delivered.len(), 206, "{recovery:?}");
        assert!(outcome.lost.is_empty());
        assert!(outcome.delivered.values().all(|&via| via == Via::Primary));
    }
}

#[test]
fn redundancy_depth_2_recovers_everything_recoverable_at_10_percent_loss() {
    let mut rng = Rng(2);
    let packets = call_packets(2000, Version::V1, &mut rng);
    let link = Link {
        loss_percent: 10,
        duplicate_percent: 5,
        reorder_percent: 5,
        window: 8,
    };
    let (outcome, arrived) = run(
        ErrorRecovery::Redundancy { depth: 2 },
        &link,
        &packets,
        0xFC00, // wraps past 65535 half-way
        0x7438_1005,
        Version::V1,
    );
    // Packet k can come back only in datagrams k, k+1, k+2; the tail always arrives.
    let recoverable = |k: usize| (k..=k + 2).any(|i| arrived.get(i).copied().unwrap_or(true));
    let mut lost_expected = Vec::new();
    for k in 0..packets.len() {
        let seq = 0xFC00u16.wrapping_add(k as u16);
        if recoverable(k) {
            assert!(
                outcome.delivered.contains_key(&seq),
                "{seq} was recoverable"
            );
        } else {
            lost_expected.push(seq);
        }
    }
    assert_eq!(outcome.lost, lost_expected);
    assert_eq!(
        outcome.delivered.len() + outcome.lost.len(),
        packets.len() + 6
    );
    // About a tenth of the datagrams were dropped; each of those packets came back as a
    // copy or was reported lost.
    let missing: Vec<usize> = (0..packets.len()).filter(|&k| !arrived[k]).collect();
    assert!(
        (150..=260).contains(&missing.len()),
        "{} dropped",
        missing.len()
    );
    for k in missing {
        let seq = 0xFC00u16.wrapping_add(k as u16);
        let via = outcome.delivered.get(&seq);
        assert!(
            via == Some(&Via::Redundancy) || outcome.lost.contains(&seq),
            "{seq}: {via:?}"
        );
    }
    assert!(
        !outcome.lost.is_empty() && outcome.lost.len() < 10,
        "{:?}",
        outcome.lost
    );
}

#[test]
fn parity_fec_recovers_isolated_losses() {
    let mut rng = Rng(3);
    let packets = call_packets(1500, Version::V3, &mut rng);
    let link = Link {
        loss_percent: 5,
        duplicate_percent: 3,
        reorder_percent: 3,
        // Parity reaches back span * entries = 9 packets: wait long enough for it.
        window: 16,
    };
    let (span, entries) = (3usize, 3usize);
    let (outcome, arrived) = run(
        ErrorRecovery::Fec { span, entries },
        &link,
        &packets,
        100,
        0x7438_2002,
        Version::V3,
    );
    let by_fec = outcome
        .delivered
        .values()
        .filter(|&&via| via == Via::Fec)
        .count();
    assert!(by_fec > 40, "only {by_fec} packets rebuilt from parity");
    // A lost packet is always rebuilt when some datagram after the first full one carries
    // a block over it (packet k is member j of block m of datagram k + j * entries - m)
    // and the block's other packets all arrived.
    for k in 0..packets.len() {
        if arrived.get(k).copied().unwrap_or(true) {
            continue;
        }
        let arrived_or_tail = |i: usize| arrived.get(i).copied().unwrap_or(true);
        let rebuildable = (1..=span).any(|j| {
            (0..entries).any(|m| {
                let carrier = k + j * entries - m;
                let others_arrived =
                    (1..=span).all(|i| match (carrier + m).checked_sub(i * entries) {
                        Some(member) => member == k || arrived_or_tail(member),
                        None => false,
                    });
                carrier >= span * entries && arrived_or_tail(carrier) && others_arrived
            })
        });
        let seq = 100u16.wrapping_add(k as u16);
        if rebuildable {
            assert_eq!(
                outcome.delivered.get(&seq),
                Some(&Via::Fec),
                "{seq} was rebuildable"
            );
        }
    }
    assert_eq!(
        outcome.delivered.len() + outcome.lost.len(),
        packets.len() + 6
    );
}

#[test]
fn datagrams_respect_the_far_ends_maximum() {
    let mut rng = Rng(4);
    let packets = call_packets(300, Version::V0, &mut rng);
    for recovery in [
        ErrorRecovery::Redundancy { depth: 5 },
        ErrorRecovery::Fec {
            span: 2,
            entries: 4,
        },
    ] {
        let max_datagram = 160;
        let mut sender = UdptlSender::new(SenderConfig {
            error_recovery: recovery,
            max_datagram,
            first_seq: 0,
        })
        .expect("valid configuration");
        let mut receiver =
            UdptlReceiver::new(ReceiverConfig::new(Version::V0)).expect("valid configuration");
        let mut trimmed = 0;
        for packet in &packets {
            let datagram = sender.packetize(packet).expect("fits bare");
            assert!(
                datagram.len() <= max_datagram,
                "{} > {max_datagram}",
                datagram.len()
            );
            let parsed = fax_t38::Datagram::parse(&datagram).expect("valid");
            let full = match (recovery, &parsed.recovery) {
                (ErrorRecovery::Redundancy { depth }, fax_t38::Recovery::Redundancy(copies)) => {
                    copies.len() == depth.min(usize::from(parsed.seq))
                }
                (
                    ErrorRecovery::Fec { entries, .. },
                    fax_t38::Recovery::Fec {
                        entries: blocks, ..
                    },
                ) => parsed.seq < 8 || blocks.len() == entries,
                _ => panic!("wrong kind of recovery"),
            };
            trimmed += usize::from(!full);
            receiver.receive(&datagram, 0).expect("our own datagram");
        }
        assert!(trimmed > 0, "{recovery:?}: the limit never bit");
        let mut count = 0;
        while let Some(item) = receiver.next(0) {
            assert!(matches!(
                item,
                Received::Ifp {
                    via: Via::Primary,
                    ..
                }
            ));
            count += 1;
        }
        assert_eq!(count, packets.len());
    }
}

#[test]
fn a_packet_that_cannot_fit_is_refused_and_uses_no_number() {
    let mut sender = UdptlSender::new(SenderConfig {
        error_recovery: ErrorRecovery::Redundancy { depth: 2 },
        max_datagram: 72,
        first_seq: 5,
    })
    .expect("valid configuration");
    assert!(sender.packetize(&[0x06]).is_ok());
    assert_eq!(
        sender.packetize(&[0xC0; 80]),
        Err(Error::DatagramTooLarge {
            needed: 2 + 1 + 80 + 2,
            max: 72
        })
    );
    assert_eq!(sender.next_seq(), 6);
    assert_eq!(sender.packetize(&[]), Err(Error::EmptyIfp));
    // The largest packet that fits alone: 2 + 1 + 67 + 2 = 72.
    let datagram = sender.packetize(&[0x04; 67]).expect("fits exactly");
    assert_eq!(datagram.len(), 72);
    let parsed = fax_t38::Datagram::parse(&datagram).expect("valid");
    assert_eq!(parsed.recovery, fax_t38::Recovery::Redundancy(vec![]));
}

#[test]
fn invalid_settings_are_refused() {
    let config = |error_recovery, max_datagram| SenderConfig {
        error_recovery,
        max_datagram,
        first_seq: 0,
    };
    for (recovery, max) in [
        (ErrorRecovery::Redundancy { depth: 16 }, 400),
        (
            ErrorRecovery::Fec {
                span: 0,
                entries: 3,
            },
            400,
        ),
        (
            ErrorRecovery::Fec {
                span: 4,
                entries: 4,
            },
            400,
        ),
        (ErrorRecovery::Redundancy { depth: 1 }, 5),
    ] {
        assert!(
            matches!(
                UdptlSender::new(config(recovery, max)),
                Err(Error::InvalidConfig(_))
            ),
            "{recovery:?} {max}"
        );
    }
    let mut receiver = ReceiverConfig::new(Version::V0);
    receiver.reorder_window = 129;
    assert!(UdptlReceiver::new(receiver).is_err());
}

#[test]
fn a_gap_is_given_up_after_the_hold_time() {
    let mut sender = UdptlSender::new(SenderConfig {
        error_recovery: ErrorRecovery::Redundancy { depth: 0 },
        ..SenderConfig::default()
    })
    .expect("valid configuration");
    let mut config = ReceiverConfig::new(Version::V0);
    config.reorder_window = 8;
    config.max_hold_us = 200_000;
    let mut receiver = UdptlReceiver::new(config).expect("valid configuration");
    let first = sender.packetize(&[0x02]).expect("fits");
    let _lost = sender.packetize(&[0x04]).expect("fits");
    let third = sender.packetize(&[0x06]).expect("fits");

    receiver.receive(&first, 1_000_000).expect("valid");
    assert!(matches!(
        receiver.next(1_000_000),
        Some(Received::Ifp { seq: 0, .. })
    ));
    receiver.receive(&third, 1_050_000).expect("valid");
    assert_eq!(
        receiver.next(1_050_000),
        None,
        "held for the missing packet"
    );
    assert_eq!(receiver.deadline(), Some(1_250_000));
    assert_eq!(receiver.next(1_249_999), None);
    assert_eq!(
        receiver.next(1_250_000),
        Some(Received::Lost {
            first_seq: 1,
            count: 1
        })
    );
    assert!(matches!(
        receiver.next(1_250_000),
        Some(Received::Ifp { seq: 2, .. })
    ));
    assert_eq!(receiver.deadline(), None);
    // Too late now: the packet given up is not handed back after all.
    let mut resend = UdptlSender::new(SenderConfig {
        error_recovery: ErrorRecovery::Redundancy { depth: 0 },
        first_seq: 1,
        ..SenderConfig::default()
    })
    .expect("valid configuration");
    let late = resend.packetize(&[0x04]).expect("fits");
    receiver.receive(&late, 1_300_000).expect("valid");
    assert_eq!(receiver.next(1_300_000), None);
    assert_eq!(receiver.stats().duplicates, 1);
}

#[test]
fn a_gap_is_given_up_once_the_window_has_passed() {
    let mut sender = UdptlSender::new(SenderConfig {
        error_recovery: ErrorRecovery::Redundancy { depth: 0 },
        ..SenderConfig::default()
    })
    .expect("valid configuration");
    let mut config = ReceiverConfig::new(Version::V0);
    config.reorder_window = 3;
    let mut receiver = UdptlReceiver::new(config).expect("valid configuration");
    let datagrams: Vec<Vec<u8>> = (0..6u8)
        .map(|i| sender.packetize(&[i << 1]).expect("fits"))
        .collect();
    for (i, datagram) in datagrams.iter().enumerate() {
        if i != 1 {
            receiver.receive(datagram, 0).expect("valid");
        }
        let items: Vec<Received> = std::iter::from_fn(|| receiver.next(0)).collect();
        match i {
            0 => assert_eq!(items.len(), 1),
            1 => assert!(items.is_empty()),
            // 2 and 3 wait: only 1 and 2 sequence numbers past the gap.
            2 | 3 => assert!(items.is_empty(), "{items:?}"),
            4 => {
                assert_eq!(
                    items.first(),
                    Some(&Received::Lost {
                        first_seq: 1,
                        count: 1
                    })
                );
                assert_eq!(items.len(), 4);
            }
            _ => assert_eq!(items.len(), 1),
        }
    }
}

#[test]
fn duplicates_and_a_jump_in_numbering() {
    let mut sender = UdptlSender::new(SenderConfig::default()).expect("valid configuration");
    let mut receiver =
        UdptlReceiver::new(ReceiverConfig::new(Version::V0)).expect("valid configuration");
    let first = sender.packetize(&[0x02]).expect("fits");
    receiver.receive(&first, 0).expect("valid");
    receiver.receive(&first, 0).expect("valid");
    receiver.receive(&first, 0).expect("valid");
    assert!(matches!(
        receiver.next(0),
        Some(Received::Ifp { seq: 0, .. })
    ));
    assert_eq!(receiver.next(0), None);
    assert_eq!(receiver.stats().duplicates, 2);

    let mut restarted = UdptlSender::new(SenderConfig {
        error_recovery: ErrorRecovery::Redundancy { depth: 0 },
        first_seq: 40_000,
        ..SenderConfig::default()
    })
    .expect("valid configuration");
    receiver
        .receive(&restarted.packetize(&[0x04]).expect("fits"), 0)
        .expect("valid");
    assert_eq!(
        receiver.next(0),
        Some(Received::Jump {
            expected_seq: 1,
            seq: 40_000
        })
    );
    assert!(matches!(
        receiver.next(0),
        Some(Received::Ifp { seq: 40_000, .. })
    ));
}

#[test]
fn the_first_datagrams_copies_come_first() {
    // Joining a stream late: the first datagram seen repeats two earlier packets.
    let mut sender = UdptlSender::new(SenderConfig {
        error_recovery: ErrorRecovery::Redundancy { depth: 2 },
        ..SenderConfig::default()
    })
    .expect("valid configuration");
    let datagrams: Vec<Vec<u8>> = (1..=4u8)
        .map(|i| sender.packetize(&[i << 1]).expect("fits"))
        .collect();
    let mut receiver =
        UdptlReceiver::new(ReceiverConfig::new(Version::V0)).expect("valid configuration");
    receiver.receive(&datagrams[3], 0).expect("valid");
    let seqs: Vec<(u16, Via)> = std::iter::from_fn(|| receiver.next(0))
        .map(|item| match item {
            Received::Ifp { seq, via, .. } => (seq, via),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        seqs,
        [
            (1, Via::Redundancy),
            (2, Via::Redundancy),
            (3, Via::Primary)
        ]
    );
}
