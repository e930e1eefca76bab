//! IFP packets (T.38 clause 7), encoded in ASN.1 aligned PER as the ASN.1 module of T.38
//! Annex A prescribes.
//!
//! ```text
//! IFPPacket ::= SEQUENCE { type-of-msg Type-of-msg, data-field Data-Field OPTIONAL }
//! Type-of-msg ::= CHOICE { t30-indicator ENUMERATED {...}, t30-data ENUMERATED {...} }
//! Data-Field ::= SEQUENCE OF SEQUENCE {
//!     field-type ENUMERATED {...},
//!     field-data OCTET STRING (SIZE (1..65535)) OPTIONAL }
//! ```
//!
//! Two editions of the module are in use, and the negotiated [`Version`] picks one:
//!
//! - Version 0 uses the 1998 module, whose `field-type` has no extension marker: a field
//!   header is a presence bit and 3 bits of type, and two fields without data share an
//!   octet.
//! - Versions 1 to 3 use the corrected module, where `field-type` is extensible (adding
//!   `cm-message`, `jm-message`, `ci-message` and `v34rate`): a presence bit, an extension
//!   bit and 3 bits of type for the eight original types.
//!
//! In both, the indicator and data-type enumerations are extensible. Their additions (V.8,
//! V.34 and V.33) are sent only from version 1 on, but they are accepted in every version,
//! since the bits cannot mean anything else.
//!
//! Field headers are bit-fields, not octets: a field without data is followed by the next
//! field's header in the same octet, as PER packs it.
//!
//! Where SpanDSP, the reference implementation, departs from PER, this module follows PER
//! (as Wireshark's dissector does):
//!
//! - SpanDSP reads and writes every version-1+ field header as a whole octet. The two
//!   agree on everything SpanDSP sends, where a field without data is only ever the last
//!   one; a packet for SpanDSP should keep to that.
//! - SpanDSP writes the field-type additions after `cm-message` two bits too low (the
//!   indicator layout): `jm-message`, `ci-message` and `v34rate` only matter for V.34.

use std::fmt;

use crate::Error;
use crate::per::{BitReader, BitWriter, FRAGMENT_UNIT};

/// The T.38 version in use on a call (SDP `T38FaxVersion`), which decides how some values
/// are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// T.38 (1998): the original ASN.1, whose `field-type` cannot be extended.
    V0,
    /// Version 1: the corrected ASN.1.
    V1,
    /// Version 2.
    V2,
    /// Version 3: V.34 (and V.33) relay; same encoding as version 1.
    V3,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Version; 4] = [Version::V0, Version::V1, Version::V2, Version::V3];

    /// The number SDP uses for this version.
    pub fn number(self) -> u8 {
        match self {
            Version::V0 => 0,
            Version::V1 => 1,
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// Whether the extension additions of the enumerations may be sent.
    fn has_extensions(self) -> bool {
        self != Version::V0
    }
}

impl TryFrom<u8> for Version {
    type Error = Error;

    fn try_from(number: u8) -> Result<Self, Error> {
        Version::ALL
            .into_iter()
            .find(|v| v.number() == number)
            .ok_or(Error::UnsupportedVersion(number))
    }
}

/// Declares an enumeration of the T.38 ASN.1 with its variants in the standard's order
/// (the order is the encoding), how many of them form the root (before the `...`), and
/// their names in the standard's notation.
macro_rules! asn1_enum {
    (
        $(#[$meta:meta])*
        $name:ident, what = $what:literal, root = $root:literal, root_bits = $root_bits:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order of the standard.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The value's name in the T.38 ASN.1 module.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Position in the enumeration: root values first, then extension additions.
            fn ordinal(self) -> u32 {
                self as u32
            }

            /// Whether `version` defines this value.
            pub fn in_version(self, version: Version) -> bool {
                self.ordinal() < Self::ROOT || version.has_extensions()
            }
        }

        impl Asn1Enum for $name {
            const ROOT: u32 = $root;
            const ROOT_BITS: u32 = $root_bits;
            const WHAT: &'static str = $what;

            fn from_ordinal(ordinal: u32) -> Option<Self> {
                Self::ALL.get(usize::try_from(ordinal).ok()?).copied()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

asn1_enum! {
    /// `t30-indicator`: a signal starting (or stopping) on the line.
    Indicator, what = "t30-indicator", root = 16, root_bits = 4 {
        /// `no-signal`.
        NoSignal = "no-signal",
        /// `cng`: the calling tone.
        Cng = "cng",
        /// `ced`: the called terminal identification tone.
        Ced = "ced",
        /// `v21-preamble`: flags before V.21 HDLC frames.
        V21Preamble = "v21-preamble",
        /// `v27-2400-training`.
        V27_2400Training = "v27-2400-training",
        /// `v27-4800-training`.
        V27_4800Training = "v27-4800-training",
        /// `v29-7200-training`.
        V29_7200Training = "v29-7200-training",
        /// `v29-9600-training`.
        V29_9600Training = "v29-9600-training",
        /// `v17-7200-short-training`.
        V17_7200ShortTraining = "v17-7200-short-training",
        /// `v17-7200-long-training`.
        V17_7200LongTraining = "v17-7200-long-training",
        /// `v17-9600-short-training`.
        V17_9600ShortTraining = "v17-9600-short-training",
        /// `v17-9600-long-training`.
        V17_9600LongTraining = "v17-9600-long-training",
        /// `v17-12000-short-training`.
        V17_12000ShortTraining = "v17-12000-short-training",
        /// `v17-12000-long-training`.
        V17_12000LongTraining = "v17-12000-long-training",
        /// `v17-14400-short-training`.
        V17_14400ShortTraining = "v17-14400-short-training",
        /// `v17-14400-long-training`.
        V17_14400LongTraining = "v17-14400-long-training",
        /// `v8-ansam` (extension, version 1 and later).
        V8Ansam = "v8-ansam",
        /// `v8-signal` (extension).
        V8Signal = "v8-signal",
        /// `v34-cntl-channel-1200` (extension).
        V34CntlChannel1200 = "v34-cntl-channel-1200",
        /// `v34-pri-channel` (extension).
        V34PriChannel = "v34-pri-channel",
        /// `v34-CC-retrain` (extension).
        V34CcRetrain = "v34-CC-retrain",
        /// `v33-12000-training` (extension).
        V33_12000Training = "v33-12000-training",
        /// `v33-14400-training` (extension).
        V33_14400Training = "v33-14400-training",
    }
}

asn1_enum! {
    /// `t30-data`: the modulation (and rate) the data of a packet was carried by.
    DataType, what = "t30-data", root = 9, root_bits = 4 {
        /// `v21`: 300 bit/s, the T.30 control channel.
        V21 = "v21",
        /// `v27-2400`.
        V27_2400 = "v27-2400",
        /// `v27-4800`.
        V27_4800 = "v27-4800",
        /// `v29-7200`.
        V29_7200 = "v29-7200",
        /// `v29-9600`.
        V29_9600 = "v29-9600",
        /// `v17-7200`.
        V17_7200 = "v17-7200",
        /// `v17-9600`.
        V17_9600 = "v17-9600",
        /// `v17-12000`.
        V17_12000 = "v17-12000",
        /// `v17-14400`.
        V17_14400 = "v17-14400",
        /// `v8` (extension, version 1 and later).
        V8 = "v8",
        /// `v34-pri-rate` (extension).
        V34PriRate = "v34-pri-rate",
        /// `v34-CC-1200` (extension).
        V34Cc1200 = "v34-CC-1200",
        /// `v34-pri-ch` (extension).
        V34PriCh = "v34-pri-ch",
        /// `v33-12000` (extension).
        V33_12000 = "v33-12000",
        /// `v33-14400` (extension).
        V33_14400 = "v33-14400",
    }
}

asn1_enum! {
    /// `field-type`: what the data of one field is.
    FieldType, what = "field-type", root = 8, root_bits = 3 {
        /// `hdlc-data`: octets of an HDLC frame, without its FCS.
        HdlcData = "hdlc-data",
        /// `hdlc-sig-end`: the HDLC carrier stopped.
        HdlcSigEnd = "hdlc-sig-end",
        /// `hdlc-fcs-OK`: the frame so far ended with a good FCS.
        HdlcFcsOk = "hdlc-fcs-OK",
        /// `hdlc-fcs-BAD`: the frame so far ended with a bad FCS.
        HdlcFcsBad = "hdlc-fcs-BAD",
        /// `hdlc-fcs-OK-sig-end`: good FCS, and the carrier stopped.
        HdlcFcsOkSigEnd = "hdlc-fcs-OK-sig-end",
        /// `hdlc-fcs-BAD-sig-end`: bad FCS, and the carrier stopped.
        HdlcFcsBadSigEnd = "hdlc-fcs-BAD-sig-end",
        /// `t4-non-ecm-data`: image data outside ECM.
        T4NonEcmData = "t4-non-ecm-data",
        /// `t4-non-ecm-sig-end`: the last image data, and the carrier stopped.
        T4NonEcmSigEnd = "t4-non-ecm-sig-end",
        /// `cm-message`: V.8 CM (extension, version 1 and later).
        CmMessage = "cm-message",
        /// `jm-message`: V.8 JM (extension).
        JmMessage = "jm-message",
        /// `ci-message`: V.8 CI (extension).
        CiMessage = "ci-message",
        /// `v34rate`: the V.34 primary channel rate (extension).
        V34Rate = "v34rate",
    }
}

/// One element of `data-field`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// What the data is.
    pub field_type: FieldType,
    /// The `field-data` octets; empty when the field carries none (T.38 allows 1 to 65535
    /// octets when present).
    pub data: Vec<u8>,
}

impl Field {
    /// A field of `field_type` carrying `data` (empty for none).
    pub fn new(field_type: FieldType, data: impl Into<Vec<u8>>) -> Self {
        Self {
            field_type,
            data: data.into(),
        }
    }
}

/// One IFP packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IfpPacket {
    /// `t30-indicator`.
    Indicator(Indicator),
    /// `t30-data`, with its fields (none when `data-field` is absent).
    Data {
        /// The modulation the data belongs to.
        data_type: DataType,
        /// The fields, in order.
        fields: Vec<Field>,
    },
}

impl fmt::Display for IfpPacket {
    /// The packet in the standard's notation: `ced`, `v21 hdlc-data[3] hdlc-fcs-OK`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IfpPacket::Indicator(indicator) => write!(f, "{indicator}"),
            IfpPacket::Data { data_type, fields } => {
                write!(f, "{data_type}")?;
                for field in fields {
                    write!(f, " {}", field.field_type)?;
                    if !field.data.is_empty() {
                        write!(f, "[{}]", field.data.len())?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Largest `field-data`: `OCTET STRING (SIZE (1..65535))`.
const MAX_FIELD_DATA: usize = 0xFFFF;

/// Extension additions are numbered as a "normally small" whole number (X.691 11.6): a zero
/// bit and 6 bits while below 64, which is every addition T.38 defines.
const SMALL_NUMBER_BITS: u32 = 6;

/// Encodes `packet` as `version` prescribes. Fails only for what `version` cannot carry:
/// values it does not define, field data over 65535 octets, 16K fields or more.
pub fn encode(packet: &IfpPacket, version: Version) -> Result<Vec<u8>, Error> {
    let mut writer = BitWriter::new();
    match packet {
        IfpPacket::Indicator(indicator) => {
            if !indicator.in_version(version) {
                return Err(Error::NotInVersion {
                    what: indicator.name(),
                    version,
                });
            }
            writer.write_bit(false); // data-field absent
            writer.write_bit(false); // t30-indicator
            write_extensible(
                &mut writer,
                indicator.ordinal(),
                Indicator::ROOT,
                Indicator::ROOT_BITS,
            );
        }
        IfpPacket::Data { data_type, fields } => {
            if !data_type.in_version(version) {
                return Err(Error::NotInVersion {
                    what: data_type.name(),
                    version,
                });
            }
            // A data packet without fields is sent with data-field absent rather than as an
            // empty list, as SpanDSP does.
            writer.write_bit(!fields.is_empty());
            writer.write_bit(true); // t30-data
            write_extensible(
                &mut writer,
                data_type.ordinal(),
                DataType::ROOT,
                DataType::ROOT_BITS,
            );
            if !fields.is_empty() {
                write_fields(&mut writer, fields, version)?;
            }
        }
    }
    Ok(writer.into_bytes())
}

fn write_fields(writer: &mut BitWriter, fields: &[Field], version: Version) -> Result<(), Error> {
    if fields.len() >= FRAGMENT_UNIT {
        return Err(Error::TooManyItems {
            count: fields.len(),
        });
    }
    writer.write_short_length(fields.len());
    for field in fields {
        if field.data.len() > MAX_FIELD_DATA {
            return Err(Error::FieldTooLong {
                len: field.data.len(),
            });
        }
        if !field.field_type.in_version(version) {
            return Err(Error::NotInVersion {
                what: field.field_type.name(),
                version,
            });
        }
        writer.write_bit(!field.data.is_empty());
        if version.has_extensions() {
            write_extensible(
                writer,
                field.field_type.ordinal(),
                FieldType::ROOT,
                FieldType::ROOT_BITS,
            );
        } else {
            writer.write_bits(field.field_type.ordinal(), FieldType::ROOT_BITS);
        }
        if let Some(length_minus_one) = field.data.len().checked_sub(1) {
            // The length is a constrained number (range 65535), so a two-octet aligned
            // field holding length - 1.
            writer.align();
            writer.write_bits(length_minus_one as u32, 16);
            writer.write_octets(&field.data);
        }
    }
    Ok(())
}

/// An extensible ENUMERATED: extension bit, then the root index in `root_bits` bits or the
/// addition's index as a normally small number.
fn write_extensible(writer: &mut BitWriter, ordinal: u32, root: u32, root_bits: u32) {
    if let Some(addition) = ordinal.checked_sub(root) {
        writer.write_bit(true);
        writer.write_bit(false); // small number
        writer.write_bits(addition, SMALL_NUMBER_BITS);
    } else {
        writer.write_bit(false);
        writer.write_bits(ordinal, root_bits);
    }
}

/// Decodes one IFP packet that fills `bytes` exactly (bar the padding bits of its last
/// octet).
pub fn decode(bytes: &[u8], version: Version) -> Result<IfpPacket, Error> {
    let (packet, consumed) = decode_prefix(bytes, version)?;
    match bytes.len() - consumed {
        0 => Ok(packet),
        count => Err(Error::TrailingBytes { count }),
    }
}

/// The length of the IFP packet at the start of `bytes`. Packets rebuilt from parity FEC
/// come back zero-padded to the longest packet of their group; this finds where the real
/// packet ends.
pub fn encoded_len(bytes: &[u8], version: Version) -> Result<usize, Error> {
    decode_prefix(bytes, version).map(|(_, consumed)| consumed)
}

/// Decodes the IFP packet at the start of `bytes`; returns it and the octets it took.
fn decode_prefix(bytes: &[u8], version: Version) -> Result<(IfpPacket, usize), Error> {
    let mut reader = BitReader::new(bytes);
    let data_field_present = reader.read_bit("IFP packet")?;
    let is_data = reader.read_bit("type-of-msg")?;
    let packet = if is_data {
        let data_type = read_extensible::<DataType>(&mut reader)?;
        let fields = if data_field_present {
            read_fields(&mut reader, version)?
        } else {
            Vec::new()
        };
        IfpPacket::Data { data_type, fields }
    } else {
        let indicator = read_extensible::<Indicator>(&mut reader)?;
        if data_field_present {
            // Valid ASN.1, but meaningless: T.38 gives indicators no data.
            return Err(Error::Malformed("indicator with a data field"));
        }
        IfpPacket::Indicator(indicator)
    };
    Ok((packet, reader.octets_consumed()))
}

/// Reads an extensible ENUMERATED of type `E`.
fn read_extensible<E: Asn1Enum>(reader: &mut BitReader<'_>) -> Result<E, Error> {
    let ordinal = if reader.read_bit(E::WHAT)? {
        if reader.read_bit(E::WHAT)? {
            // An addition numbered 64 or more: no T.38 edition has that many.
            return Err(Error::UnknownValue {
                what: E::WHAT,
                value: u32::MAX,
            });
        }
        E::ROOT + reader.read_bits(SMALL_NUMBER_BITS, E::WHAT)?
    } else {
        // The root index has spare values (9 of 16 for t30-data); they are not additions.
        let index = reader.read_bits(E::ROOT_BITS, E::WHAT)?;
        if index >= E::ROOT {
            return Err(Error::UnknownValue {
                what: E::WHAT,
                value: index,
            });
        }
        index
    };
    E::from_ordinal(ordinal).ok_or(Error::UnknownValue {
        what: E::WHAT,
        value: ordinal,
    })
}

/// What the codec needs to know of an enumeration of the ASN.1 module.
trait Asn1Enum: Sized {
    /// How many values come before the extension marker.
    const ROOT: u32;
    /// Bits of a root index.
    const ROOT_BITS: u32;
    /// The enumeration's name in the module, for errors.
    const WHAT: &'static str;
    /// The value at this position (root values first, then additions).
    fn from_ordinal(ordinal: u32) -> Option<Self>;
}

fn read_fields(reader: &mut BitReader<'_>, version: Version) -> Result<Vec<Field>, Error> {
    let count = reader.read_count("data-field")?;
    // Every field takes at least its header bits; refuse a count the packet cannot hold
    // before allocating anything for it.
    let header_bits = if version.has_extensions() { 5 } else { 4 };
    if count.saturating_mul(header_bits) > reader.bits_left() {
        return Err(Error::Truncated { what: "data-field" });
    }
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let data_present = reader.read_bit("field")?;
        let field_type = if version.has_extensions() {
            read_extensible::<FieldType>(reader)?
        } else {
            let ordinal = reader.read_bits(FieldType::ROOT_BITS, FieldType::WHAT)?;
            FieldType::from_ordinal(ordinal).ok_or(Error::UnknownValue {
                what: FieldType::WHAT,
                value: ordinal,
            })?
        };
        let data = if data_present {
            reader.align();
            let length = reader.read_bits(16, "field-data length")? as usize + 1;
            reader.read_octets(length, "field-data")?.to_vec()
        } else {
            Vec::new()
        };
        fields.push(Field { field_type, data });
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_additions_match_the_asn1_module() {
        assert_eq!(Indicator::ALL.len(), 16 + 7);
        assert_eq!(DataType::ALL.len(), 9 + 6);
        assert_eq!(FieldType::ALL.len(), 8 + 4);
        assert_eq!(
            Indicator::V17_14400LongTraining.ordinal(),
            Indicator::ROOT - 1
        );
        assert_eq!(DataType::V17_14400.ordinal(), DataType::ROOT - 1);
        assert_eq!(FieldType::T4NonEcmSigEnd.ordinal(), FieldType::ROOT - 1);
        const {
            assert!(1 << Indicator::ROOT_BITS >= Indicator::ROOT);
            assert!(1 << DataType::ROOT_BITS >= DataType::ROOT);
            assert!(1 << FieldType::ROOT_BITS >= FieldType::ROOT);
        }
    }

    #[test]
    fn version_numbers_round_trip() {
        for version in Version::ALL {
            assert_eq!(Version::try_from(version.number()), Ok(version));
        }
        assert_eq!(Version::try_from(4), Err(Error::UnsupportedVersion(4)));
    }

    #[test]
    fn encoded_len_finds_the_end_before_padding() {
        let packet = IfpPacket::Data {
            data_type: DataType::V21,
            fields: vec![Field::new(FieldType::HdlcData, [0xFF, 0x03])],
        };
        for version in Version::ALL {
            let mut bytes = encode(&packet, version).expect("encodable");
            let length = bytes.len();
            bytes.extend_from_slice(&[0, 0, 0]);
            assert_eq!(encoded_len(&bytes, version), Ok(length));
            assert_eq!(
                decode(&bytes, version),
                Err(Error::TrailingBytes { count: 3 })
            );
        }
    }

    #[test]
    fn display_uses_the_standard_names() {
        let packet = IfpPacket::Data {
            data_type: DataType::V21,
            fields: vec![
                Field::new(FieldType::HdlcData, [1, 2, 3]),
                Field::new(FieldType::HdlcFcsOk, []),
            ],
        };
        assert_eq!(packet.to_string(), "v21 hdlc-data[3] hdlc-fcs-OK");
        assert_eq!(IfpPacket::Indicator(Indicator::Ced).to_string(), "ced");
    }
}
