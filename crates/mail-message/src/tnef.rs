//! Outlook's TNEF container (`winmail.dat`, MS-OXTNEF): the attachments inside it.
//!
//! Outlook in rich-text mode wraps every attachment into one `application/ms-tnef` part
//! that other mail programs show as `winmail.dat`. Only what a fax needs is read: each
//! attachment's file name (the long name from its MAPI properties, else the 8.3 title)
//! and its data. A damaged container yields the attachments read before the damage, and
//! says so; nothing is trusted beyond the bytes present.

/// The first four bytes of every TNEF stream (little-endian).
const SIGNATURE: u32 = 0x223E_9F78;
const LEVEL_MESSAGE: u8 = 0x01;
const LEVEL_ATTACHMENT: u8 = 0x02;
const ATT_OEM_CODEPAGE: u32 = 0x0006_9007;
const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACHMENT: u32 = 0x0006_9005;

/// MAPI property types (MS-OXCDATA 2.11.1).
const PT_SHORT: u16 = 0x0002;
const PT_LONG: u16 = 0x0003;
const PT_FLOAT: u16 = 0x0004;
const PT_DOUBLE: u16 = 0x0005;
const PT_CURRENCY: u16 = 0x0006;
const PT_APPTIME: u16 = 0x0007;
const PT_ERROR: u16 = 0x000A;
const PT_BOOLEAN: u16 = 0x000B;
const PT_OBJECT: u16 = 0x000D;
const PT_I8: u16 = 0x0014;
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_SYSTIME: u16 = 0x0040;
const PT_CLSID: u16 = 0x0048;
const PT_BINARY: u16 = 0x0102;
const MV_FLAG: u16 = 0x1000;

const PR_ATTACH_DATA_BIN: u16 = 0x3701;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;

/// One attachment found in the container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TnefAttachment {
    pub name: Option<String>,
    pub data: Vec<u8>,
}

/// What a container held.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Tnef {
    pub attachments: Vec<TnefAttachment>,
    /// The stream ended inside an attribute, or was not TNEF at all.
    pub damaged: bool,
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(len)?;
        let slice = self.data.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([
            *b.first()?,
            *b.get(1)?,
            *b.get(2)?,
            *b.get(3)?,
        ]))
    }
    fn len(&mut self) -> Option<usize> {
        self.u32().and_then(|n| usize::try_from(n).ok())
    }
    /// Skips to the next multiple of 4 from the start of the property block.
    fn align4(&mut self) -> Option<()> {
        let pad = (4 - self.at % 4) % 4;
        self.take(pad).map(|_| ())
    }
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

fn codepage(number: u32) -> &'static encoding_rs::Encoding {
    match number {
        936 => encoding_rs::GBK,
        54936 => encoding_rs::GB18030,
        950 => encoding_rs::BIG5,
        932 => encoding_rs::SHIFT_JIS,
        949 => encoding_rs::EUC_KR,
        65001 => encoding_rs::UTF_8,
        1250 => encoding_rs::WINDOWS_1250,
        1251 => encoding_rs::WINDOWS_1251,
        _ => encoding_rs::WINDOWS_1252,
    }
}

fn string8(bytes: &[u8], encoding: &'static encoding_rs::Encoding) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let (text, _, _) = encoding.decode(bytes.get(..end).unwrap_or_default());
    text.trim().to_owned()
}

fn unicode(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0)
        .collect();
    String::from_utf16_lossy(&units).trim().to_owned()
}

/// The long file name and the data held in an attachment's MAPI properties
/// (MS-OXTNEF 2.1.3.4). Stops quietly at anything it cannot read.
fn mapi_properties(
    block: &[u8],
    encoding: &'static encoding_rs::Encoding,
) -> (Option<String>, Option<Vec<u8>>) {
    let mut reader = Reader { data: block, at: 0 };
    let mut long_name = None;
    let mut data = None;
    let Some(count) = reader.u32() else {
        return (None, None);
    };
    for _ in 0..count {
        let (Some(kind), Some(id)) = (reader.u16(), reader.u16()) else {
            break;
        };
        if id >= 0x8000 {
            // A named property: its GUID and its name or number.
            if reader.take(16).is_none() {
                break;
            }
            match reader.u32() {
                Some(0) => {
                    if reader.u32().is_none() {
                        break;
                    }
                }
                Some(_) => {
                    let Some(len) = reader.len() else { break };
                    if reader.take(len).is_none() || reader.align4().is_none() {
                        break;
                    }
                }
                None => break,
            }
        }
        let multi = kind & MV_FLAG != 0;
        let base = kind & !MV_FLAG;
        let fixed = match base {
            PT_SHORT | PT_LONG | PT_FLOAT | PT_ERROR | PT_BOOLEAN => Some(4),
            PT_DOUBLE | PT_CURRENCY | PT_APPTIME | PT_I8 | PT_SYSTIME => Some(8),
            PT_CLSID => Some(16),
            PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT => None,
            _ => break,
        };
        match fixed {
            Some(size) => {
                let values = if multi { reader.len() } else { Some(1) };
                let Some(total) = values.and_then(|n| n.checked_mul(size)) else {
                    break;
                };
                if reader.take(total).is_none() {
                    break;
                }
            }
            None => {
                let Some(values) = reader.len() else { break };
                let mut ok = true;
                for _ in 0..values {
                    let Some(len) = reader.len() else {
                        ok = false;
                        break;
                    };
                    let Some(value) = reader.take(len) else {
                        ok = false;
                        break;
                    };
                    if reader.align4().is_none() {
                        ok = false;
                        break;
                    }
                    match (id, base) {
                        (PR_ATTACH_LONG_FILENAME, PT_UNICODE) => long_name = Some(unicode(value)),
                        (PR_ATTACH_LONG_FILENAME, PT_STRING8) => {
                            long_name = Some(string8(value, encoding));
                        }
                        (PR_ATTACH_DATA_BIN, PT_BINARY) => data = Some(value.to_vec()),
                        _ => {}
                    }
                }
                if !ok {
                    break;
                }
            }
        }
    }
    (long_name.filter(|n| !n.is_empty()), data)
}

/// Reads a TNEF stream.
pub(crate) fn read(data: &[u8]) -> Tnef {
    let mut result = Tnef::default();
    let mut reader = Reader { data, at: 0 };
    if reader.u32() != Some(SIGNATURE) || reader.u16().is_none() {
        result.damaged = true;
        return result;
    }
    let mut encoding = encoding_rs::WINDOWS_1252;
    let mut current: Option<TnefAttachment> = None;
    while !reader.done() {
        let (Some(level), Some(id), Some(len)) = (reader.u8(), reader.u32(), reader.len()) else {
            result.damaged = true;
            break;
        };
        let (Some(value), Some(_checksum)) = (reader.take(len), reader.u16()) else {
            result.damaged = true;
            break;
        };
        match (level, id) {
            (LEVEL_MESSAGE, ATT_OEM_CODEPAGE) => {
                if let Some(bytes) = value.get(..4) {
                    let number = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                    encoding = codepage(number);
                }
            }
            (LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA) => {
                if let Some(done) = current.take() {
                    result.attachments.push(done);
                }
                current = Some(TnefAttachment::default());
            }
            (LEVEL_ATTACHMENT, ATT_ATTACH_TITLE) => {
                let attachment = current.get_or_insert_with(TnefAttachment::default);
                if attachment.name.is_none() {
                    attachment.name = Some(string8(value, encoding)).filter(|n| !n.is_empty());
                }
            }
            (LEVEL_ATTACHMENT, ATT_ATTACH_DATA) => {
                current.get_or_insert_with(TnefAttachment::default).data = value.to_vec();
            }
            (LEVEL_ATTACHMENT, ATT_ATTACHMENT) => {
                let attachment = current.get_or_insert_with(TnefAttachment::default);
                let (long_name, data) = mapi_properties(value, encoding);
                if long_name.is_some() {
                    attachment.name = long_name;
                }
                if attachment.data.is_empty()
                    && let Some(data) = data
                {
                    attachment.data = data;
                }
            }
            _ => {}
        }
    }
    if let Some(done) = current.take() {
        result.attachments.push(done);
    }
    result.attachments.retain(|a| !a.data.is_empty());
    result
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn attribute(out: &mut Vec<u8>, level: u8, id: u32, value: &[u8]) {
        out.push(level);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
        let sum = value
            .iter()
            .fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
        out.extend_from_slice(&sum.to_le_bytes());
    }

    /// A container as Outlook writes one: code page, then per attachment its rendering
    /// data, 8.3 title, data and MAPI properties with the long name in UTF-16.
    pub(crate) fn sample(title: &str, long_name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = SIGNATURE.to_le_bytes().to_vec();
        out.extend_from_slice(&0x1234u16.to_le_bytes());
        attribute(&mut out, LEVEL_MESSAGE, 0x0008_9006, &[0, 0, 1, 0]);
        attribute(
            &mut out,
            LEVEL_MESSAGE,
            ATT_OEM_CODEPAGE,
            &[0xA8, 0x03, 0, 0, 0, 0, 0, 0],
        );
        attribute(
            &mut out,
            LEVEL_ATTACHMENT,
            ATT_ATTACH_REND_DATA,
            &[1, 0, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        let mut title_bytes = title.as_bytes().to_vec();
        title_bytes.push(0);
        attribute(&mut out, LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, &title_bytes);
        attribute(&mut out, LEVEL_ATTACHMENT, ATT_ATTACH_DATA, data);
        let mut props = Vec::new();
        props.extend_from_slice(&2u32.to_le_bytes());
        // PR_ATTACH_METHOD (PT_LONG) = 1
        props.extend_from_slice(&PT_LONG.to_le_bytes());
        props.extend_from_slice(&0x3705u16.to_le_bytes());
        props.extend_from_slice(&1u32.to_le_bytes());
        // PR_ATTACH_LONG_FILENAME (PT_UNICODE)
        props.extend_from_slice(&PT_UNICODE.to_le_bytes());
        props.extend_from_slice(&PR_ATTACH_LONG_FILENAME.to_le_bytes());
        props.extend_from_slice(&1u32.to_le_bytes());
        let mut name: Vec<u8> = long_name
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        name.extend_from_slice(&[0, 0]);
        props.extend_from_slice(&(name.len() as u32).to_le_bytes());
        props.extend_from_slice(&name);
        while props.len() % 4 != 0 {
            props.push(0);
        }
        attribute(&mut out, LEVEL_ATTACHMENT, ATT_ATTACHMENT, &props);
        out
    }

    #[test]
    fn long_name_and_data_are_read() {
        let tnef = read(&sample("REPORT~1.PDF", "季度报告.pdf", b"%PDF-1.4 x"));
        assert!(!tnef.damaged);
        assert_eq!(
            tnef.attachments,
            [TnefAttachment {
                name: Some("季度报告.pdf".into()),
                data: b"%PDF-1.4 x".to_vec()
            }]
        );
    }

    #[test]
    fn truncated_stream_keeps_what_was_read() {
        let full = sample("A.PDF", "a.pdf", b"%PDF-1.4 x");
        for cut in 0..full.len() {
            let _ = read(&full[..cut]);
        }
        assert!(read(&full[..full.len() - 3]).damaged);
        assert!(read(b"not tnef").damaged);
    }
}
