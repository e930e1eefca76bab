//! The classic TIFF container: header, image file directories (IFDs) and tag values.
//! Every offset and count read here is checked against the file before it is used.

use crate::Error;
use crate::tags::{self, field};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn u16(self, bytes: [u8; 2]) -> u16 {
        match self {
            ByteOrder::Little => u16::from_le_bytes(bytes),
            ByteOrder::Big => u16::from_be_bytes(bytes),
        }
    }

    fn u32(self, bytes: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(bytes),
            ByteOrder::Big => u32::from_be_bytes(bytes),
        }
    }
}

/// One 12-byte directory entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) tag: u16,
    pub(crate) field_type: u16,
    pub(crate) count: u32,
    /// The value itself when it fits in four bytes, else its offset.
    value_or_offset: [u8; 4],
}

/// One image file directory.
#[derive(Debug)]
pub(crate) struct Ifd {
    pub(crate) entries: Vec<Entry>,
    /// Offset of the next directory; 0 ends the chain.
    pub(crate) next: u32,
}

impl Ifd {
    pub(crate) fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }
}

/// A TIFF file held in memory, with its byte order.
#[derive(Clone, Copy)]
pub(crate) struct File<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) order: ByteOrder,
}

impl std::fmt::Debug for File<'_> {
    // The bytes themselves would drown any debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("len", &self.data.len())
            .field("order", &self.order)
            .finish()
    }
}

impl<'a> File<'a> {
    /// Reads the 8-byte header; returns the file and the offset of the first directory.
    pub(crate) fn parse_header(data: &'a [u8]) -> Result<(File<'a>, u32), Error> {
        let order = match data.get(..2) {
            Some(b"II") => ByteOrder::Little,
            Some(b"MM") => ByteOrder::Big,
            Some(_) => {
                return Err(Error::NotTiff {
                    reason: "the byte-order mark is neither II nor MM",
                });
            }
            None => {
                return Err(Error::NotTiff {
                    reason: "the data is too short for a TIFF header",
                });
            }
        };
        let magic = data.get(2..4).map(|b| order.u16([b[0], b[1]]));
        match magic {
            Some(42) => {}
            Some(43) => return Err(Error::BigTiff),
            Some(_) => {
                return Err(Error::NotTiff {
                    reason: "the version number is not 42",
                });
            }
            None => {
                return Err(Error::NotTiff {
                    reason: "the data is too short for a TIFF header",
                });
            }
        }
        let file = File { data, order };
        let first = file.u32_at(4).ok_or(Error::NotTiff {
            reason: "the data is too short for a TIFF header",
        })?;
        Ok((file, first))
    }

    pub(crate) fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn u32_at(&self, offset: usize) -> Option<u32> {
        let b = self.data.get(offset..offset.checked_add(4)?)?;
        Some(self.order.u32([b[0], b[1], b[2], b[3]]))
    }

    /// `len` bytes at `offset`, or [`Error::OutOfBounds`] naming `what`.
    pub(crate) fn slice(
        &self,
        page: usize,
        what: &'static str,
        offset: u64,
        len: u64,
    ) -> Result<&'a [u8], Error> {
        let out_of_bounds = || Error::OutOfBounds {
            page,
            what,
            offset,
            len,
            file_len: self.len(),
        };
        let end = offset.checked_add(len).ok_or_else(out_of_bounds)?;
        if end > self.len() {
            return Err(out_of_bounds());
        }
        // Both fit in usize: they are at most the length of a slice.
        self.data
            .get(offset as usize..end as usize)
            .ok_or_else(out_of_bounds)
    }

    /// Reads the directory at `offset`, refusing more than `max_entries` entries before
    /// reading any of them.
    pub(crate) fn read_ifd(
        &self,
        page: usize,
        offset: u32,
        max_entries: u16,
    ) -> Result<Ifd, Error> {
        let offset = u64::from(offset);
        let count_bytes = self.slice(page, "image directory", offset, 2)?;
        let count = self.order.u16([count_bytes[0], count_bytes[1]]);
        if count > max_entries {
            return Err(Error::TooManyEntries {
                page,
                entries: count,
                max: max_entries,
            });
        }
        let body = self.slice(
            page,
            "image directory",
            offset + 2,
            u64::from(count) * 12 + 4,
        )?;
        let mut entries = Vec::with_capacity(usize::from(count));
        for raw in body.chunks_exact(12) {
            entries.push(Entry {
                tag: self.order.u16([raw[0], raw[1]]),
                field_type: self.order.u16([raw[2], raw[3]]),
                count: self.order.u32([raw[4], raw[5], raw[6], raw[7]]),
                value_or_offset: [raw[8], raw[9], raw[10], raw[11]],
            });
        }
        let tail = &body[body.len() - 4..];
        let next = self.order.u32([tail[0], tail[1], tail[2], tail[3]]);
        Ok(Ifd { entries, next })
    }

    /// Value `index` of an integer tag (BYTE, SHORT or LONG).
    pub(crate) fn uint(&self, page: usize, entry: &Entry, index: u32) -> Result<u32, Error> {
        let tag = tags::name(entry.tag);
        if index >= entry.count {
            return Err(Error::TagValue {
                page,
                tag,
                value: u64::from(entry.count),
                reason: "too few values",
            });
        }
        let size: u64 = match entry.field_type {
            field::BYTE => 1,
            field::SHORT => 2,
            field::LONG => 4,
            other => {
                return Err(Error::TagType {
                    page,
                    tag,
                    field_type: other,
                });
            }
        };
        let bytes = self.values(page, entry, size)?;
        let start = (u64::from(index) * size) as usize;
        let value = match size {
            1 => bytes.get(start).map(|&b| u32::from(b)),
            2 => bytes
                .get(start..start + 2)
                .map(|b| u32::from(self.order.u16([b[0], b[1]]))),
            _ => bytes
                .get(start..start + 4)
                .map(|b| self.order.u32([b[0], b[1], b[2], b[3]])),
        };
        value.ok_or(Error::TagValue {
            page,
            tag,
            value: u64::from(entry.count),
            reason: "too few values",
        })
    }

    /// The value bytes of an entry whose values are `size` bytes each: inline in the
    /// entry when they fit in four bytes, else at the offset it holds.
    fn values(&self, page: usize, entry: &Entry, size: u64) -> Result<Inline<'a>, Error> {
        let len = size * u64::from(entry.count);
        if len <= 4 {
            return Ok(Inline::Entry(entry.value_or_offset));
        }
        let offset = u64::from(self.order.u32(entry.value_or_offset));
        self.slice(page, tags::name(entry.tag), offset, len)
            .map(Inline::File)
    }

    /// A RATIONAL tag's first value as (numerator, denominator).
    pub(crate) fn rational(&self, page: usize, entry: &Entry) -> Result<(u32, u32), Error> {
        if entry.field_type != field::RATIONAL {
            return Err(Error::TagType {
                page,
                tag: tags::name(entry.tag),
                field_type: entry.field_type,
            });
        }
        if entry.count == 0 {
            return Err(Error::TagValue {
                page,
                tag: tags::name(entry.tag),
                value: 0,
                reason: "too few values",
            });
        }
        let offset = u64::from(self.order.u32(entry.value_or_offset));
        let b = self.slice(page, tags::name(entry.tag), offset, 8)?;
        Ok((
            self.order.u32([b[0], b[1], b[2], b[3]]),
            self.order.u32([b[4], b[5], b[6], b[7]]),
        ))
    }

    /// An ASCII tag as text, up to the first NUL and at most `max_len` bytes; bytes that
    /// are not printable ASCII become U+FFFD.
    pub(crate) fn ascii(
        &self,
        page: usize,
        entry: &Entry,
        max_len: usize,
    ) -> Result<String, Error> {
        if entry.field_type != field::ASCII {
            return Err(Error::TagType {
                page,
                tag: tags::name(entry.tag),
                field_type: entry.field_type,
            });
        }
        let bytes = self.values(page, entry, 1)?;
        let bytes = bytes.as_slice();
        let bytes = &bytes[..bytes.len().min(entry.count as usize)];
        let text = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
        Ok(text
            .iter()
            .take(max_len)
            .map(|&b| {
                if b == b' ' || b.is_ascii_graphic() {
                    char::from(b)
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            })
            .collect())
    }
}

/// Values stored in the entry itself or in the file.
enum Inline<'a> {
    Entry([u8; 4]),
    File(&'a [u8]),
}

impl Inline<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Inline::Entry(bytes) => bytes,
            Inline::File(bytes) => bytes,
        }
    }

    fn get<I: std::slice::SliceIndex<[u8]>>(&self, index: I) -> Option<&I::Output> {
        self.as_slice().get(index)
    }
}
