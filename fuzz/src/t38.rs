//! How the fax-t38 fuzz targets read their input, and what they check.
//!
//! Shared by the cargo-fuzz targets and by the replay test in `crates/fax-t38/tests`
//! (which includes this file by path), so a saved input means the same thing in both.
//! Depends on `fax_t38` and `std` only.

use std::collections::{HashMap, HashSet};

use fax_t38::ifp::{self, DataType, Field, FieldType, IfpPacket, Indicator, Version};
use fax_t38::{
    Error, ErrorRecovery, Received, ReceiverConfig, SenderConfig, UdptlReceiver, UdptlSender, Via,
};

/// `ifp_decode` input: one byte choosing the T.38 version (low two bits), then the packet.
///
/// Checks: no panic; a packet that decodes re-encodes to a packet that decodes to the same
/// value, never longer than the input; [`ifp::encoded_len`] agrees with [`ifp::decode`].
pub fn check_ifp_decode(input: &[u8]) {
    let Some((&selector, bytes)) = input.split_first() else {
        return;
    };
    let version = version_from(selector);
    let decoded = ifp::decode(bytes, version);
    let Ok(packet) = decoded else {
        // A packet that does not decode as a whole may still have a decodable prefix.
        if let Ok(length) = ifp::encoded_len(bytes, version) {
            assert!(
                length < bytes.len(),
                "whole packet refused, yet all of it parsed"
            );
            assert!(
                matches!(decoded, Err(Error::TrailingBytes { .. })),
                "{decoded:?}"
            );
        }
        return;
    };
    assert_eq!(ifp::encoded_len(bytes, version), Ok(bytes.len()));
    match ifp::encode(&packet, version) {
        Ok(again) => {
            assert!(again.len() <= bytes.len(), "re-encoding grew: {packet:?}");
            assert_eq!(ifp::decode(&again, version).as_ref(), Ok(&packet));
        }
        // Version 0 reads the V.8/V.34/V.33 additions but does not send them.
        Err(Error::NotInVersion { .. }) => assert_eq!(version, Version::V0),
        Err(error) => panic!("{packet:?} decoded but does not encode: {error}"),
    }
}

fn version_from(selector: u8) -> Version {
    Version::ALL
        .get(usize::from(selector & 0x03))
        .copied()
        .unwrap_or(Version::V0)
}

/// `udptl_receive` input. The first byte's low bit picks the mode:
///
/// - 0, raw datagrams: byte 1 sets the receiver (version in bits 0-1, reorder window in
///   bits 2-5, hold time in bit 6: 0 = 20 ms, 1 = 1 s); then repeated records of a length
///   byte, that many datagram bytes and a byte of time step (in ms) before the next one.
///   Checks: no panic; what comes out is one consistent sequence (each packet or loss
///   report follows the last, jumps aside), every packet non-empty, the counts match, and a
///   deadline, once reached, is never the deadline again.
/// - 1, a sender, a lossy link and a receiver: bytes 1-3 set error recovery, maximum
///   datagram and version; then each packet is a fate byte (drop, duplicate, hold back,
///   time step) and a description of an IFP packet (see [`packet_from`]). Checks: datagrams
///   within the maximum; a packet refused only when it cannot fit; every packet handed
///   back exactly once, in order, with the bytes that were sent, or reported lost.
pub fn check_udptl_receive(input: &[u8]) {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        check_raw_datagrams(rest);
    } else {
        check_lossy_link(rest);
    }
}

fn receiver_config(byte: u8) -> ReceiverConfig {
    ReceiverConfig {
        version: version_from(byte),
        reorder_window: u16::from((byte >> 2) & 0x0F),
        max_hold_us: if byte & 0x40 == 0 { 20_000 } else { 1_000_000 },
    }
}

/// Follows the receiver's output and checks that it forms one sequence.
#[derive(Default)]
struct Sequence {
    expected: Option<u16>,
    packets: u64,
    lost: u64,
}

impl Sequence {
    fn take(&mut self, item: &Received) {
        match item {
            Received::Ifp { seq, ifp, .. } => {
                assert!(!ifp.is_empty(), "empty packet {seq}");
                if let Some(expected) = self.expected {
                    assert_eq!(*seq, expected, "out of order");
                }
                self.expected = Some(seq.wrapping_add(1));
                self.packets += 1;
            }
            Received::Lost { first_seq, count } => {
                assert!(*count > 0, "empty loss report");
                if let Some(expected) = self.expected {
                    assert_eq!(*first_seq, expected, "loss report out of order");
                }
                self.expected = Some(first_seq.wrapping_add(*count));
                self.lost += u64::from(*count);
            }
            Received::Jump { expected_seq, .. } => {
                if let Some(expected) = self.expected {
                    assert_eq!(*expected_seq, expected, "jump from the wrong place");
                }
                // After a jump the stream starts again wherever the peer now is.
                self.expected = None;
            }
        }
    }
}

fn drain(receiver: &mut UdptlReceiver, now_us: u64, sequence: &mut Sequence) -> Vec<Received> {
    let mut items = Vec::new();
    while let Some(item) = receiver.next(now_us) {
        sequence.take(&item);
        items.push(item);
    }
    items
}

fn check_raw_datagrams(input: &[u8]) {
    let Some((&config, mut rest)) = input.split_first() else {
        return;
    };
    let Ok(mut receiver) = UdptlReceiver::new(receiver_config(config)) else {
        panic!("a valid receiver configuration was refused");
    };
    let mut sequence = Sequence::default();
    let mut now_us = 0u64;
    while let Some((&length, tail)) = rest.split_first() {
        let length = usize::from(length).min(tail.len());
        let (datagram, tail) = tail.split_at(length);
        let (&step, tail) = tail.split_first().unwrap_or((&0, &[]));
        rest = tail;
        let _ = receiver.receive(datagram, now_us);
        drain(&mut receiver, now_us, &mut sequence);
        let next_us = now_us + u64::from(step) * 1000;
        if let Some(deadline) = receiver.deadline() {
            assert!(
                deadline > now_us,
                "a deadline already passed was not acted on"
            );
            if deadline <= next_us {
                drain(&mut receiver, deadline, &mut sequence);
                if let Some(later) = receiver.deadline() {
                    assert!(
                        later > deadline,
                        "deadline {deadline} reached, still pending"
                    );
                }
            }
        }
        now_us = next_us;
    }
    let stats = receiver.stats();
    assert_eq!(stats.delivered(), sequence.packets);
    assert_eq!(stats.lost, sequence.lost);
}

/// An IFP packet described by the bytes at the start of `input`; returns it and the rest.
///
/// First byte: bit 7 clear, an indicator (index in the low bits, modulo their number);
/// set, a data packet of data type `(b >> 2) & 0x0F` with `b & 0x03` fields, each field a
/// type byte (index modulo the number of types) and a length byte (0: no data) followed by
/// that many data bytes. Values the version does not define fall back to ones it does.
pub fn packet_from(input: &[u8], version: Version) -> (IfpPacket, &[u8]) {
    let Some((&first, mut rest)) = input.split_first() else {
        return (IfpPacket::Indicator(Indicator::NoSignal), input);
    };
    let defined = |index: usize, all: usize, root: usize| {
        if version == Version::V0 {
            index % root
        } else {
            index % all
        }
    };
    if first & 0x80 == 0 {
        let index = defined(usize::from(first), Indicator::ALL.len(), 16);
        let indicator = Indicator::ALL
            .get(index)
            .copied()
            .unwrap_or(Indicator::NoSignal);
        return (IfpPacket::Indicator(indicator), rest);
    }
    let index = defined(usize::from((first >> 2) & 0x0F), DataType::ALL.len(), 9);
    let data_type = DataType::ALL.get(index).copied().unwrap_or(DataType::V21);
    let mut fields = Vec::new();
    for _ in 0..(first & 0x03) {
        let (&kind, tail) = rest.split_first().unwrap_or((&0, &[]));
        let (&length, tail) = tail.split_first().unwrap_or((&0, &[]));
        let length = usize::from(length).min(tail.len());
        let (data, tail) = tail.split_at(length);
        rest = tail;
        let index = defined(usize::from(kind), FieldType::ALL.len(), 8);
        let field_type = FieldType::ALL
            .get(index)
            .copied()
            .unwrap_or(FieldType::HdlcData);
        fields.push(Field::new(field_type, data));
    }
    (IfpPacket::Data { data_type, fields }, rest)
}

/// The fate byte of a packet in the lossy-link mode.
const FATE_DROP: u8 = 0x01;
const FATE_DUPLICATE: u8 = 0x02;
const FATE_HOLD: u8 = 0x04;

fn check_lossy_link(input: &[u8]) {
    let [recovery, max, version, rest @ ..] = input else {
        return;
    };
    let error_recovery = if recovery & 0x80 == 0 {
        ErrorRecovery::Redundancy {
            depth: usize::from(recovery & 0x0F),
        }
    } else {
        let span = usize::from((recovery & 0x03) + 1);
        let entries = usize::from(((recovery >> 2) & 0x03) + 1);
        ErrorRecovery::Fec { span, entries }
    };
    let max_datagram = 6 + usize::from(*max) * 2;
    let version = version_from(*version);
    let Ok(mut sender) = UdptlSender::new(SenderConfig {
        error_recovery,
        max_datagram,
        first_seq: 0xFFF0,
    }) else {
        return;
    };
    let mut config = ReceiverConfig::new(version);
    config.reorder_window = 4;
    let Ok(mut receiver) = UdptlReceiver::new(config) else {
        panic!("a valid receiver configuration was refused");
    };

    let mut sent: HashMap<u16, Vec<u8>> = HashMap::new();
    let mut held: Option<Vec<u8>> = None;
    let mut sequence = Sequence::default();
    let mut seen: HashSet<u16> = HashSet::new();
    let mut now_us = 0u64;
    let mut rest = rest;
    // Few enough packets that sequence numbers do not come round again.
    for _ in 0..2000 {
        let Some((&fate, tail)) = rest.split_first() else {
            break;
        };
        let (packet, tail) = packet_from(tail, version);
        rest = tail;
        let Ok(ifp) = ifp::encode(&packet, version) else {
            panic!("{packet:?} is defined in {version:?} but does not encode");
        };
        let seq = sender.next_seq();
        let datagram = match sender.packetize(&ifp) {
            Ok(datagram) => datagram,
            Err(Error::DatagramTooLarge { needed, max }) => {
                assert!(needed > max && max == max_datagram);
                assert_eq!(sender.next_seq(), seq, "a refused packet used a number");
                continue;
            }
            Err(error) => panic!("packetize: {error}"),
        };
        assert!(datagram.len() <= max_datagram, "datagram over the maximum");
        sent.insert(seq, ifp);
        now_us += u64::from(fate >> 4) * 5_000;
        let deliver = |bytes: &[u8], now_us: u64, receiver: &mut UdptlReceiver| {
            let Ok(()) = receiver.receive(bytes, now_us) else {
                panic!("our own datagram was refused");
            };
        };
        if fate & FATE_DROP == 0 {
            if fate & FATE_HOLD != 0 && held.is_none() {
                held = Some(datagram.clone());
            } else {
                deliver(&datagram, now_us, &mut receiver);
                if let Some(earlier) = held.take() {
                    deliver(&earlier, now_us, &mut receiver);
                }
            }
            if fate & FATE_DUPLICATE != 0 {
                deliver(&datagram, now_us, &mut receiver);
            }
        }
        for item in drain(&mut receiver, now_us, &mut sequence) {
            if let Received::Ifp { seq, ifp, via } = item {
                assert!(seen.insert(seq), "packet {seq} handed back twice");
                assert_eq!(sent.get(&seq), Some(&ifp), "packet {seq} ({via:?}) changed");
                if via != Via::Primary {
                    assert!(error_recovery != ErrorRecovery::Redundancy { depth: 0 });
                }
            } else if let Received::Jump { .. } = item {
                panic!("our own numbering jumped");
            }
        }
    }
    let stats = receiver.stats();
    assert_eq!(stats.delivered(), sequence.packets);
    assert_eq!(stats.lost, sequence.lost);
}

/// Seeds for `ifp_decode`: each of `packets` encoded in `version`, behind its selector byte.
pub fn ifp_seed(version: Version, ifp: &[u8]) -> Vec<u8> {
    let mut input = vec![version.number()];
    input.extend_from_slice(ifp);
    input
}

/// A raw-datagram seed for `udptl_receive`: the receiver byte, then each datagram with its
/// length and a 20 ms step. Datagrams over 255 bytes are left out.
pub fn raw_datagrams_seed(config: u8, datagrams: &[Vec<u8>]) -> Vec<u8> {
    let mut input = vec![0x00, config];
    for datagram in datagrams.iter().filter(|d| d.len() <= 255) {
        input.push(datagram.len() as u8);
        input.extend_from_slice(datagram);
        input.push(20);
    }
    input
}
