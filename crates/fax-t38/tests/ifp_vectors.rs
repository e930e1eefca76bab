//! Known-answer vectors for IFP packets and UDPTL datagrams.
//!
//! Sources, named on each vector:
//!
//! - SpanDSP: the bytes SpanDSP 0.0.6's T.38 core (`t38_core_send_indicator`,
//!   `t38_core_send_data`, `t38_core_send_data_multi_field`, Debian's libspandsp2) hands to
//!   its transmit callback, with `t38_set_t38_version` set as the vector says.
//! - PER: asn1tools 0.169 (an independent ASN.1 aligned PER codec) encoding the T.38
//!   modules `T38(1998)` and `T38(2002)` as published in the ITU-T ASN.1 database (the
//!   copies Wireshark's T.38 dissector keeps in `epan/dissectors/asn1/t38/`), with the open
//!   types written as OCTET STRING, which PER encodes the same way.
//!
//! Where the two disagree (V.8/V.34 field types past `cm-message`, and field headers
//! without data followed by another field), the vector is PER's and says so; SpanDSP never
//! sends the second kind.

use fax_t38::ifp::{self, DataType, Field, FieldType, IfpPacket, Indicator, Version};
use fax_t38::{Datagram, Recovery};

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).expect("ASCII");
            u8::from_str_radix(text, 16).expect("hex digits")
        })
        .collect()
}

fn data(data_type: DataType, fields: &[(FieldType, &[u8])]) -> IfpPacket {
    IfpPacket::Data {
        data_type,
        fields: fields.iter().map(|&(t, d)| Field::new(t, d)).collect(),
    }
}

/// Checks that `packet` encodes to `expected` in `version` and decodes back.
fn check(version: Version, packet: IfpPacket, expected: &str) {
    let expected = hex(expected);
    assert_eq!(
        ifp::encode(&packet, version).as_deref(),
        Ok(expected.as_slice()),
        "encode {packet} in {version:?}"
    );
    assert_eq!(
        ifp::decode(&expected, version).as_ref(),
        Ok(&packet),
        "decode {expected:02x?} in {version:?}"
    );
}

#[test]
fn indicators() {
    // SpanDSP and PER: data-field absent, t30-indicator, no extension, 4-bit index.
    check(Version::V0, IfpPacket::Indicator(Indicator::NoSignal), "00");
    check(Version::V0, IfpPacket::Indicator(Indicator::Cng), "02");
    check(Version::V0, IfpPacket::Indicator(Indicator::Ced), "04");
    check(
        Version::V0,
        IfpPacket::Indicator(Indicator::V21Preamble),
        "06",
    );
    check(
        Version::V1,
        IfpPacket::Indicator(Indicator::V29_9600Training),
        "0e",
    );
    check(
        Version::V0,
        IfpPacket::Indicator(Indicator::V17_14400LongTraining),
        "1e",
    );
    // SpanDSP and PER: extension bit, then the addition's index as a normally small number.
    check(
        Version::V1,
        IfpPacket::Indicator(Indicator::V8Ansam),
        "20 00",
    );
    check(
        Version::V2,
        IfpPacket::Indicator(Indicator::V8Signal),
        "20 40",
    );
    check(
        Version::V3,
        IfpPacket::Indicator(Indicator::V34CcRetrain),
        "21 00",
    );
    check(
        Version::V3,
        IfpPacket::Indicator(Indicator::V33_14400Training),
        "21 80",
    );
}

#[test]
fn data_types_without_fields() {
    // SpanDSP: a data packet with no fields leaves data-field out.
    check(Version::V0, data(DataType::V21, &[]), "40");
    check(Version::V0, data(DataType::V17_14400, &[]), "50");
    // SpanDSP and PER (`t30-data` v33-14400, an addition).
    check(Version::V3, data(DataType::V33_14400, &[]), "61 40");
    check(Version::V1, data(DataType::V8, &[]), "60 00");
}

#[test]
fn single_fields() {
    // SpanDSP, versions 0 and 1: version 0 has a presence bit and 3 bits of field type;
    // version 1 adds the extension bit between them.
    let three: &[u8] = &[0x00, 0x01, 0x02];
    check(
        Version::V0,
        data(DataType::V21, &[(FieldType::HdlcData, three)]),
        "c0 01 80 0002 000102",
    );
    check(
        Version::V1,
        data(DataType::V21, &[(FieldType::HdlcData, three)]),
        "c0 01 80 0002 000102",
    );
    check(
        Version::V0,
        data(DataType::V21, &[(FieldType::HdlcFcsOk, &[])]),
        "c0 01 20",
    );
    check(
        Version::V1,
        data(DataType::V21, &[(FieldType::HdlcFcsOk, &[])]),
        "c0 01 10",
    );
    check(
        Version::V0,
        data(DataType::V21, &[(FieldType::T4NonEcmSigEnd, &[])]),
        "c0 01 70",
    );
    check(
        Version::V2,
        data(DataType::V21, &[(FieldType::T4NonEcmSigEnd, &[])]),
        "c0 01 38",
    );
    check(
        Version::V0,
        data(DataType::V21, &[(FieldType::T4NonEcmData, three)]),
        "c0 01 e0 0002 000102",
    );
    check(
        Version::V1,
        data(DataType::V21, &[(FieldType::T4NonEcmData, three)]),
        "c0 01 b0 0002 000102",
    );
    // SpanDSP and PER: cm-message, the first field-type addition.
    check(
        Version::V3,
        data(DataType::V8, &[(FieldType::CmMessage, &[0x01])]),
        "e0 00 01 c0 00 0000 01",
    );
    // PER: jm-message is addition 1: presence, extension, small-number bit, then 000001.
    // SpanDSP writes c0 40 here, placing the index two bits lower, as for indicators.
    check(
        Version::V1,
        data(DataType::V21, &[(FieldType::JmMessage, three)]),
        "c0 01 c0 80 0002 000102",
    );
    check(
        Version::V3,
        data(DataType::V21, &[(FieldType::V34Rate, three)]),
        "c0 01 c1 80 0002 000102",
    );
}

#[test]
fn long_field_data() {
    // SpanDSP: 300 octets of V.17 14400 image data, the length sent as 300 - 1.
    let image: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let mut expected = String::from("d0 01 b0 012b");
    for byte in &image {
        expected.push_str(&format!("{byte:02x}"));
    }
    check(
        Version::V1,
        data(DataType::V17_14400, &[(FieldType::T4NonEcmData, &image)]),
        &expected,
    );
}

#[test]
fn frame_and_fcs_in_one_packet() {
    // SpanDSP's usual V.21 packet: the frame's octets and hdlc-fcs-OK(-sig-end) together.
    let frame: &[u8] = &[0x00, 0x01];
    check(
        Version::V0,
        data(
            DataType::V21,
            &[(FieldType::HdlcData, frame), (FieldType::HdlcFcsOk, &[])],
        ),
        "c0 02 80 0001 0001 20",
    );
    check(
        Version::V1,
        data(
            DataType::V21,
            &[
                (FieldType::HdlcData, frame),
                (FieldType::HdlcFcsOkSigEnd, &[]),
            ],
        ),
        "c0 02 80 0001 0001 20",
    );
    // PER: the same with FF 13, both editions.
    check(
        Version::V0,
        data(
            DataType::V21,
            &[
                (FieldType::HdlcData, &[0xFF, 0x13]),
                (FieldType::HdlcFcsOk, &[]),
            ],
        ),
        "c0 02 80 0001 ff13 20",
    );
    check(
        Version::V2,
        data(
            DataType::V21,
            &[
                (FieldType::HdlcData, &[0xFF, 0x13]),
                (FieldType::HdlcFcsOk, &[]),
            ],
        ),
        "c0 02 80 0001 ff13 10",
    );
}

#[test]
fn field_headers_without_data_are_packed() {
    // PER: two data-less version-0 headers share one octet (SpanDSP reads this form too).
    check(
        Version::V0,
        data(
            DataType::V21,
            &[(FieldType::HdlcFcsOk, &[]), (FieldType::HdlcSigEnd, &[])],
        ),
        "c0 02 21",
    );
    // PER: version 1+ headers are 5 bits, so the second starts at bit 5 of the first octet.
    check(
        Version::V2,
        data(
            DataType::V21,
            &[(FieldType::HdlcFcsOk, &[]), (FieldType::HdlcSigEnd, &[])],
        ),
        "c0 02 10 40",
    );
    check(
        Version::V2,
        data(
            DataType::V21,
            &[(FieldType::HdlcFcsOk, &[]), (FieldType::HdlcData, &[0x01])],
        ),
        "c0 02 1400 0000 01",
    );
    check(
        Version::V3,
        data(
            DataType::V8,
            &[(FieldType::V34Rate, &[]), (FieldType::JmMessage, &[])],
        ),
        "e0 00 02 41 a0 40",
    );
}

#[test]
fn version_0_reads_additions_it_cannot_send() {
    // The 1998 enumerations already carry the extension marker, so the bits are unambiguous.
    assert_eq!(
        ifp::decode(&hex("20 00"), Version::V0),
        Ok(IfpPacket::Indicator(Indicator::V8Ansam))
    );
    assert!(ifp::encode(&IfpPacket::Indicator(Indicator::V8Ansam), Version::V0).is_err());
}

fn datagram(seq: u16, primary: &str, recovery: Recovery) -> Datagram {
    Datagram {
        seq,
        primary: hex(primary),
        recovery,
    }
}

/// Checks that `datagram` encodes to `expected` and parses back.
fn check_datagram(datagram: Datagram, expected: &str) {
    let expected = hex(expected);
    assert_eq!(datagram.to_bytes().as_deref(), Ok(expected.as_slice()));
    assert_eq!(Datagram::parse(&expected), Ok(datagram));
}

#[test]
fn udptl_datagrams() {
    // PER: sequence number, primary as an open type, choice bit padded to an octet, count,
    // secondaries newest first.
    check_datagram(
        datagram(
            0x1234,
            "02",
            Recovery::Redundancy(vec![hex("00"), hex("06")]),
        ),
        "1234 01 02 00 02 01 00 01 06",
    );
    // PER: fec-npackets as an unconstrained integer (length, two's complement octets).
    check_datagram(
        datagram(
            0x1234,
            "02",
            Recovery::Fec {
                span: 3,
                entries: vec![hex("0102")],
            },
        ),
        "1234 01 02 80 01 03 01 02 0102",
    );
    check_datagram(
        datagram(
            1,
            "02",
            Recovery::Fec {
                span: 200,
                entries: vec![],
            },
        ),
        "0001 01 02 80 02 00c8 00",
    );
    // PER: an open type of 200 octets takes a two-octet length.
    let long = "02".repeat(200);
    check_datagram(
        datagram(1, &long, Recovery::Redundancy(vec![])),
        &format!("0001 80c8 {long} 00 00"),
    );
}
