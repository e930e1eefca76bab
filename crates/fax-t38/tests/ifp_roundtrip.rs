//! Every indicator, data type and field type through encode and decode in every version,
//! and seeded random packets with mixed fields.

use fax_t38::Error;
use fax_t38::ifp::{self, DataType, Field, FieldType, IfpPacket, Indicator, Version};

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn round_trip(packet: &IfpPacket, version: Version) {
    let bytes =
        ifp::encode(packet, version).unwrap_or_else(|e| panic!("{packet} in {version:?}: {e}"));
    assert_eq!(
        ifp::decode(&bytes, version).as_ref(),
        Ok(packet),
        "{packet} in {version:?}: {bytes:02x?}"
    );
    assert_eq!(ifp::encoded_len(&bytes, version), Ok(bytes.len()));
}

#[test]
fn every_indicator_in_every_version() {
    for version in Version::ALL {
        for &indicator in Indicator::ALL {
            let packet = IfpPacket::Indicator(indicator);
            if indicator.in_version(version) {
                round_trip(&packet, version);
            } else {
                assert_eq!(
                    ifp::encode(&packet, version),
                    Err(Error::NotInVersion {
                        what: indicator.name(),
                        version
                    })
                );
            }
        }
    }
    // Only the V.8, V.34 and V.33 additions are missing from version 0.
    let missing = Indicator::ALL
        .iter()
        .filter(|i| !i.in_version(Version::V0))
        .count();
    assert_eq!(missing, 7);
}

#[test]
fn every_data_type_and_field_type_in_every_version() {
    for version in Version::ALL {
        for &data_type in DataType::ALL {
            for &field_type in FieldType::ALL {
                for data in [&[][..], &[0x5A], &[0xFF, 0x00, 0x13]] {
                    let packet = IfpPacket::Data {
                        data_type,
                        fields: vec![Field::new(field_type, data)],
                    };
                    if data_type.in_version(version) && field_type.in_version(version) {
                        round_trip(&packet, version);
                    } else {
                        assert!(
                            matches!(
                                ifp::encode(&packet, version),
                                Err(Error::NotInVersion { .. })
                            ),
                            "{packet} in {version:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn field_data_lengths_at_the_limits() {
    for version in Version::ALL {
        for length in [1, 127, 128, 255, 256, 0x3FFF, 0x4000, 0xFFFF] {
            let data: Vec<u8> = (0..length).map(|i| (i * 31) as u8).collect();
            let packet = IfpPacket::Data {
                data_type: DataType::V17_14400,
                fields: vec![Field::new(FieldType::T4NonEcmData, data)],
            };
            round_trip(&packet, version);
        }
        let packet = IfpPacket::Data {
            data_type: DataType::V21,
            fields: vec![Field::new(FieldType::HdlcData, vec![0; 0x10000])],
        };
        assert_eq!(
            ifp::encode(&packet, version),
            Err(Error::FieldTooLong { len: 0x10000 })
        );
    }
}

#[test]
fn field_counts_in_both_length_forms() {
    // 127 fields take a one-octet count, 128 and more two octets; mixing fields with and
    // without data exercises the bit-packed headers at every offset.
    for version in Version::ALL {
        for count in [1, 2, 3, 7, 8, 9, 127, 128, 300] {
            let fields = (0..count)
                .map(|i| {
                    let field_type = FieldType::ALL
                        .get(i % if version == Version::V0 { 8 } else { 12 })
                        .copied()
                        .expect("index in range");
                    let data = if i % 3 == 0 {
                        vec![i as u8; i % 5 + 1]
                    } else {
                        vec![]
                    };
                    Field::new(field_type, data)
                })
                .collect();
            round_trip(
                &IfpPacket::Data {
                    data_type: DataType::V29_9600,
                    fields,
                },
                version,
            );
        }
    }
}

#[test]
fn seeded_random_packets() {
    let mut rng = Rng(0x7438_0000_0000_0001);
    for _ in 0..20_000 {
        let version = Version::ALL[rng.below(4)];
        let packet = if rng.below(3) == 0 {
            let candidates: Vec<Indicator> = Indicator::ALL
                .iter()
                .copied()
                .filter(|i| i.in_version(version))
                .collect();
            IfpPacket::Indicator(candidates[rng.below(candidates.len())])
        } else {
            let data_types: Vec<DataType> = DataType::ALL
                .iter()
                .copied()
                .filter(|d| d.in_version(version))
                .collect();
            let field_types: Vec<FieldType> = FieldType::ALL
                .iter()
                .copied()
                .filter(|f| f.in_version(version))
                .collect();
            let fields = (0..rng.below(6))
                .map(|_| {
                    let length = if rng.below(2) == 0 {
                        0
                    } else {
                        rng.below(40) + 1
                    };
                    let data: Vec<u8> = (0..length).map(|_| rng.next() as u8).collect();
                    Field::new(field_types[rng.below(field_types.len())], data)
                })
                .collect();
            IfpPacket::Data {
                data_type: data_types[rng.below(data_types.len())],
                fields,
            }
        };
        round_trip(&packet, version);
    }
}
