//! Helpers shared by the integration tests: test data paths and a TIFF builder that can
//! write the malformed files a hostile sender would.

#![allow(dead_code)]

use std::path::PathBuf;

use fax_t4::{Bitmap, Resolution};

/// The repository's `testdata/` directory.
pub fn testdata(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(relative)
}

/// This crate's own fixtures.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// CCITT chart `n` (1..=8) from its PBM, tagged fine.
pub fn chart(n: u32) -> Bitmap {
    let data = read(&testdata(&format!("ccitt/ccitt{n}.pbm")));
    fax_t4::pbm::read(&data, Resolution::FINE).expect("chart PBMs are valid")
}

/// Where two bitmaps first differ, for a readable failure.
pub fn first_difference(a: &Bitmap, b: &Bitmap) -> Option<String> {
    if (a.width(), a.height()) != (b.width(), b.height()) {
        return Some(format!(
            "size {}x{} vs {}x{}",
            a.width(),
            a.height(),
            b.width(),
            b.height()
        ));
    }
    a.rows()
        .zip(b.rows())
        .position(|(x, y)| x != y)
        .map(|row| format!("row {row} differs"))
}

/// A directory entry for [`build`]: tag, field type, count, and value bytes in the
/// file's byte order (inline when four bytes or fewer, else appended and pointed to).
pub struct Entry {
    pub tag: u16,
    pub field_type: u16,
    pub count: u32,
    pub value: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Little,
    Big,
}

impl Order {
    pub fn u16(self, v: u16) -> [u8; 2] {
        match self {
            Order::Little => v.to_le_bytes(),
            Order::Big => v.to_be_bytes(),
        }
    }
    pub fn u32(self, v: u32) -> [u8; 4] {
        match self {
            Order::Little => v.to_le_bytes(),
            Order::Big => v.to_be_bytes(),
        }
    }
    pub fn short(self, tag: u16, v: u16) -> Entry {
        Entry {
            tag,
            field_type: 3,
            count: 1,
            value: self.u16(v).to_vec(),
        }
    }
    pub fn long(self, tag: u16, v: u32) -> Entry {
        Entry {
            tag,
            field_type: 4,
            count: 1,
            value: self.u32(v).to_vec(),
        }
    }
    pub fn longs(self, tag: u16, vs: &[u32]) -> Entry {
        Entry {
            tag,
            field_type: 4,
            count: vs.len() as u32,
            value: vs.iter().flat_map(|&v| self.u32(v)).collect(),
        }
    }
    pub fn rational(self, tag: u16, num: u32, den: u32) -> Entry {
        let mut value = self.u32(num).to_vec();
        value.extend(self.u32(den));
        Entry {
            tag,
            field_type: 5,
            count: 1,
            value,
        }
    }
}

/// One page to build: its entries, and strips to place before the directory. Entries
/// named StripOffsets (273) get the strips' offsets filled in when `fill_offsets`.
pub struct PageSpec {
    pub entries: Vec<Entry>,
    pub strips: Vec<Vec<u8>>,
}

/// Lays out a TIFF: header, then per page its strips, its directory and its values.
/// StripOffsets and StripByteCounts are added from the strips unless the page has them.
pub fn build(order: Order, pages: Vec<PageSpec>) -> Vec<u8> {
    let mut out = match order {
        Order::Little => b"II".to_vec(),
        Order::Big => b"MM".to_vec(),
    };
    out.extend(order.u16(42));
    let mut next_at = out.len();
    out.extend([0; 4]);
    for page in pages {
        let mut offsets = Vec::new();
        for strip in &page.strips {
            offsets.push(out.len() as u32);
            out.extend(strip);
        }
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let mut entries = page.entries;
        if !entries.iter().any(|e| e.tag == 273) {
            entries.push(order.longs(273, &offsets));
        }
        if !entries.iter().any(|e| e.tag == 279) {
            let counts: Vec<u32> = page.strips.iter().map(|s| s.len() as u32).collect();
            entries.push(order.longs(279, &counts));
        }
        entries.sort_by_key(|e| e.tag);
        let ifd = out.len();
        out[next_at..next_at + 4].copy_from_slice(&order.u32(ifd as u32));
        let mut extra_at = ifd + 2 + 12 * entries.len() + 4;
        let mut extra = Vec::new();
        out.extend(order.u16(entries.len() as u16));
        for e in &entries {
            out.extend(order.u16(e.tag));
            out.extend(order.u16(e.field_type));
            out.extend(order.u32(e.count));
            if e.value.len() <= 4 {
                let mut inline = e.value.clone();
                inline.resize(4, 0);
                out.extend(inline);
            } else {
                out.extend(order.u32(extra_at as u32));
                extra.extend(&e.value);
                if extra.len() % 2 == 1 {
                    extra.push(0);
                }
                extra_at = ifd + 2 + 12 * entries.len() + 4 + extra.len();
            }
        }
        next_at = out.len();
        out.extend([0; 4]);
        out.extend(extra);
    }
    out
}

/// The usual entries of a bilevel page, without strips.
pub fn bilevel_entries(order: Order, width: u32, height: u32, compression: u16) -> Vec<Entry> {
    vec![
        order.long(256, width),
        order.long(257, height),
        order.short(258, 1),
        order.short(259, compression),
        order.short(262, 0),
        order.short(277, 1),
        order.long(278, height),
        order.rational(282, 204, 1),
        order.rational(283, 196, 1),
        order.short(296, 2),
    ]
}
