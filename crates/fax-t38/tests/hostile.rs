//! Malformed packets and datagrams are refused with an error, never a panic, and nothing
//! large is allocated on a length the input cannot back.

use fax_t38::ifp::{self, DataType, Field, FieldType, IfpPacket, Indicator, Version};
use fax_t38::{Datagram, Error, ReceiverConfig, Recovery, UdptlReceiver};

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).expect("ASCII"), 16).expect("hex"))
        .collect()
}

#[test]
fn every_truncation_of_a_packet_is_refused() {
    let packets = [
        IfpPacket::Indicator(Indicator::V33_14400Training),
        IfpPacket::Data {
            data_type: DataType::V21,
            fields: vec![
                Field::new(FieldType::HdlcData, [0xFF, 0x13, 0x80, 0x00]),
                Field::new(FieldType::HdlcFcsOk, []),
                Field::new(FieldType::HdlcSigEnd, []),
            ],
        },
        IfpPacket::Data {
            data_type: DataType::V8,
            fields: vec![Field::new(FieldType::CmMessage, vec![0xE0; 200])],
        },
    ];
    for version in [Version::V1, Version::V3] {
        for packet in &packets {
            let bytes = ifp::encode(packet, version).expect("encodable");
            for cut in 0..bytes.len() {
                let prefix = bytes.get(..cut).expect("cut within the packet");
                assert!(
                    matches!(ifp::decode(prefix, version), Err(Error::Truncated { .. })),
                    "{packet} cut to {cut} bytes"
                );
            }
        }
    }
}

#[test]
fn counts_and_lengths_the_packet_cannot_hold() {
    for version in Version::ALL {
        // 127 and 16383 fields announced, none present.
        for bytes in [hex("c0 7f"), hex("c0 bf ff"), hex("c0 7f 80")] {
            assert_eq!(
                ifp::decode(&bytes, version),
                Err(Error::Truncated { what: "data-field" }),
                "{bytes:02x?}"
            );
        }
        // A fragmented count announces 16K fields or more: never a T.38 packet.
        assert!(matches!(
            ifp::decode(&hex("c0 c4"), version),
            Err(Error::Malformed(_))
        ));
        // A field of 65536 octets announced, three present.
        assert_eq!(
            ifp::decode(&hex("c0 01 80 ffff 010203"), version),
            Err(Error::Truncated { what: "field-data" })
        );
    }
}

#[test]
fn values_outside_the_enumerations() {
    let v1 = Version::V1;
    // t30-data root index 9 (the root has 0..=8).
    assert_eq!(
        ifp::decode(&hex("52"), v1),
        Err(Error::UnknownValue {
            what: "t30-data",
            value: 9
        })
    );
    // Indicator addition 7, one past v33-14400-training.
    assert_eq!(
        ifp::decode(&hex("21 c0"), v1),
        Err(Error::UnknownValue {
            what: "t30-indicator",
            value: 23
        })
    );
    // Field-type addition 4, one past v34rate.
    assert_eq!(
        ifp::decode(&hex("c0 01 42 00"), v1),
        Err(Error::UnknownValue {
            what: "field-type",
            value: 12
        })
    );
    // An addition numbered 64 or more.
    assert!(matches!(
        ifp::decode(&hex("30 00"), v1),
        Err(Error::UnknownValue { .. })
    ));
    // An indicator with a data field.
    assert!(matches!(
        ifp::decode(&hex("82 01 00"), v1),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn bytes_after_the_packet() {
    assert_eq!(
        ifp::decode(&hex("04 00"), Version::V0),
        Err(Error::TrailingBytes { count: 1 })
    );
    assert_eq!(
        ifp::decode(&hex("c0 01 10 ff ff"), Version::V2),
        Err(Error::TrailingBytes { count: 2 })
    );
    assert_eq!(
        ifp::decode(&[], Version::V0),
        Err(Error::Truncated { what: "IFP packet" })
    );
}

#[test]
fn random_bytes_never_panic_and_what_decodes_re_encodes() {
    let mut state = 0x5EED_u64;
    let mut decoded = 0;
    for round in 0..200_000u32 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let length = (state >> 59) as usize;
        let bytes: Vec<u8> = (0..length)
            .map(|i| (state.rotate_left(i as u32 * 8) >> 7) as u8 ^ i as u8)
            .collect();
        let version = Version::ALL[(round % 4) as usize];
        if let Ok(packet) = ifp::decode(&bytes, version) {
            decoded += 1;
            if let Ok(again) = ifp::encode(&packet, version) {
                assert_eq!(ifp::decode(&again, version), Ok(packet));
            }
        }
    }
    assert!(
        decoded > 0,
        "nothing decoded at all: the generator is useless"
    );
}

#[test]
fn malformed_datagrams() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("12", "half a sequence number"),
        ("1234", "no primary"),
        ("1234 05 0102", "primary cut short"),
        ("1234 00 00 00", "empty primary"),
        ("1234 01 02", "no error recovery"),
        ("1234 01 02 00 7f", "127 secondaries, none present"),
        ("1234 01 02 00 01 00", "empty secondary"),
        ("1234 01 02 00 c1", "fragmented secondary count"),
        ("1234 01 02 80 00 00", "fec-npackets of no octets"),
        (
            "1234 01 02 80 05 0000000001 00",
            "fec-npackets of five octets",
        ),
        ("1234 01 02 80 01 ff 00", "negative fec-npackets"),
        ("1234 01 02 80 01 03 7f", "127 FEC blocks, none present"),
        ("1234 01 02 00 00 00", "a byte after the end"),
        ("1234 c5 02 00 00", "fragment size out of range"),
    ];
    for &(text, why) in cases {
        let bytes = hex(text);
        assert!(Datagram::parse(&bytes).is_err(), "{why}: parsed");
        let mut receiver =
            UdptlReceiver::new(ReceiverConfig::new(Version::V0)).expect("valid configuration");
        assert!(receiver.receive(&bytes, 0).is_err(), "{why}: received");
        assert_eq!(receiver.next(1_000_000), None, "{why}: something came out");
        assert_eq!(receiver.stats().malformed, 1);
    }
}

#[test]
fn a_fragmented_primary_is_reassembled() {
    // 16K + 3 octets: a fragment of 16K, then a final length of 3 (X.691 11.9.3.8).
    let mut bytes = hex("0007 c1");
    bytes.extend(std::iter::repeat_n(0xAB, 0x4000));
    bytes.extend(hex("03 abab ab 00 00"));
    let datagram = Datagram::parse(&bytes).expect("valid");
    assert_eq!(datagram.primary.len(), 0x4003);
    assert_eq!(datagram.recovery, Recovery::Redundancy(vec![]));
    assert_eq!(datagram.to_bytes(), Ok(bytes));
}
