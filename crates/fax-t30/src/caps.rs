//! DIS/DTC (capabilities) and DCS (settings) information fields, T.30 Table 2, and the
//! negotiation that turns the far end's DIS into our DCS.
//!
//! Bit n of the table is bit (n-1) % 8 of octet (n-1) / 8, least significant first: the
//! order octets are sent in.

use std::fmt;

use fax_t4::Scheme;

/// High-speed modulation of the image channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Modulation {
    /// V.27 ter: 4800 and 2400 bit/s.
    V27ter,
    /// V.29: 9600 and 7200 bit/s.
    V29,
    /// V.17: 14400, 12000, 9600 and 7200 bit/s.
    V17,
}

impl fmt::Display for Modulation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Modulation::V27ter => "V.27ter",
            Modulation::V29 => "V.29",
            Modulation::V17 => "V.17",
        })
    }
}

/// A modulation at one bit rate: what training and image data run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// The modem.
    pub modulation: Modulation,
    /// Bits per second.
    pub bps: u32,
}

impl Rate {
    /// DCS bits 11-14 for this rate, as a 4-bit value with bit 11 in the least
    /// significant position.
    fn dcs_code(self) -> u8 {
        match (self.modulation, self.bps) {
            (Modulation::V17, 14400) => 0x08,
            (Modulation::V17, 12000) => 0x0a,
            (Modulation::V17, 9600) => 0x09,
            (Modulation::V17, _) => 0x0b,
            (Modulation::V29, 9600) => 0x01,
            (Modulation::V29, _) => 0x03,
            (Modulation::V27ter, 4800) => 0x02,
            (Modulation::V27ter, _) => 0x00,
        }
    }

    fn from_dcs_code(code: u8) -> Option<Rate> {
        FALLBACK.iter().copied().find(|r| r.dcs_code() == code)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.modulation, self.bps)
    }
}

/// The rates a sender tries, best first: after FTT it steps down this list to the next
/// rate both sides support (T.30 §5.3.2).
pub const FALLBACK: [Rate; 8] = [
    Rate {
        modulation: Modulation::V17,
        bps: 14400,
    },
    Rate {
        modulation: Modulation::V17,
        bps: 12000,
    },
    Rate {
        modulation: Modulation::V17,
        bps: 9600,
    },
    Rate {
        modulation: Modulation::V29,
        bps: 9600,
    },
    Rate {
        modulation: Modulation::V17,
        bps: 7200,
    },
    Rate {
        modulation: Modulation::V29,
        bps: 7200,
    },
    Rate {
        modulation: Modulation::V27ter,
        bps: 4800,
    },
    Rate {
        modulation: Modulation::V27ter,
        bps: 2400,
    },
];

/// Which modems a terminal has (DIS bits 11-14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Modems {
    /// V.27 ter at 4800 (2400 is always available as the fall-back mode).
    pub v27ter: bool,
    /// V.29.
    pub v29: bool,
    /// V.17.
    pub v17: bool,
}

impl Modems {
    /// All three.
    pub const ALL: Modems = Modems {
        v27ter: true,
        v29: true,
        v17: true,
    };

    /// Whether `rate` can be used with these modems.
    pub fn supports(self, rate: Rate) -> bool {
        match rate.modulation {
            Modulation::V17 => self.v17,
            Modulation::V29 => self.v29,
            Modulation::V27ter => self.v27ter || rate.bps == 2400,
        }
    }

    fn dis_code(self) -> u8 {
        match (self.v27ter, self.v29, self.v17) {
            (_, _, true) => 0x0b,
            (true, true, false) => 0x03,
            (false, true, false) => 0x01,
            (true, false, false) => 0x02,
            (false, false, false) => 0x00,
        }
    }

    fn from_dis_code(code: u8) -> Modems {
        match code {
            0x01 => Modems {
                v27ter: false,
                v29: true,
                v17: false,
            },
            0x02 => Modems {
                v27ter: true,
                v29: false,
                v17: false,
            },
            0x03 => Modems {
                v27ter: true,
                v29: true,
                v17: false,
            },
            // 0x0b is V.27 ter, V.29 and V.17; some terminals set other V.17 patterns
            // (bit 14 alone): read bit 14 as V.17 whatever the rest.
            c if c & 0x08 != 0 => Modems::ALL,
            _ => Modems {
                v27ter: false,
                v29: false,
                v17: false,
            },
        }
    }
}

/// Vertical resolution of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VerticalResolution {
    /// 3.85 lines/mm (98 lpi).
    Standard,
    /// 7.7 lines/mm (196 lpi).
    Fine,
    /// 15.4 lines/mm (391 lpi).
    Superfine,
}

impl VerticalResolution {
    /// Lines per inch, as TIFF records them.
    pub fn lpi(self) -> u16 {
        match self {
            VerticalResolution::Standard => 98,
            VerticalResolution::Fine => 196,
            VerticalResolution::Superfine => 391,
        }
    }

    /// The T.4 class of a page's resolution.
    pub fn of_lpi(lpi: u16) -> VerticalResolution {
        match lpi {
            0..150 => VerticalResolution::Standard,
            150..300 => VerticalResolution::Fine,
            _ => VerticalResolution::Superfine,
        }
    }
}

/// Coding scheme of the image data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compression {
    /// T.4 one-dimensional.
    Mh,
    /// T.4 two-dimensional.
    Mr,
    /// T.6 (needs ECM).
    Mmr,
}

impl Compression {
    /// The name the JSON uses: T.4 1-D, T.4 2-D, T.6.
    pub fn standard_name(self) -> &'static str {
        match self {
            Compression::Mh => "T.4 1-D",
            Compression::Mr => "T.4 2-D",
            Compression::Mmr => "T.6",
        }
    }

    /// The codec scheme for a page of `resolution`; MR's K follows T.4 (2 at
    /// standard, 4 above), unlimited under ECM.
    pub fn scheme(self, resolution: VerticalResolution, ecm: bool) -> Scheme {
        match self {
            Compression::Mh => Scheme::Mh,
            Compression::Mmr => Scheme::Mmr,
            Compression::Mr if ecm => Scheme::Mr {
                k: fax_t4::KFactor::Unlimited,
            },
            Compression::Mr => Scheme::mr_for_lpi(resolution.lpi()),
        }
    }
}

/// Scan line width (DIS bits 17-18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageWidth {
    /// 215 mm, 1728 pixels.
    A4,
    /// 255 mm, 2048 pixels.
    B4,
    /// 303 mm, 2432 pixels.
    A3,
}

impl PageWidth {
    /// Pixels per line at 8 pels/mm.
    pub fn pixels(self) -> u32 {
        match self {
            PageWidth::A4 => 1728,
            PageWidth::B4 => 2048,
            PageWidth::A3 => 2432,
        }
    }

    /// The width class of a page `pixels` wide (at 204 dpi), if it is a T.4 width.
    pub fn of_pixels(pixels: u32) -> Option<PageWidth> {
        match pixels {
            1728 => Some(PageWidth::A4),
            2048 => Some(PageWidth::B4),
            2432 => Some(PageWidth::A3),
            _ => None,
        }
    }
}

/// Recording length (DIS bits 19-20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageLength {
    /// 297 mm.
    A4,
    /// 364 mm.
    B4,
    /// No limit.
    Unlimited,
}

/// Minimum scan line time the receiver needs (DIS bits 21-23), in milliseconds at
/// standard resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScanLineTime {
    /// Milliseconds per line at 3.85 lines/mm: 0, 5, 10, 20 or 40.
    pub ms: u8,
    /// Whether finer resolutions need only half of it (T7.7 = 1/2 T3.85).
    pub half_at_fine: bool,
}

impl ScanLineTime {
    /// No minimum.
    pub const ZERO: ScanLineTime = ScanLineTime {
        ms: 0,
        half_at_fine: false,
    };

    fn dis_code(self) -> u8 {
        match (self.ms, self.half_at_fine) {
            (0, _) => 7,
            (5, _) => 1,
            (10, false) => 2,
            (10, true) => 6,
            (20, true) => 3,
            (40, false) => 4,
            (40, true) => 5,
            _ => 0,
        }
    }

    fn from_dis_code(code: u8) -> ScanLineTime {
        let (ms, half_at_fine) = match code & 7 {
            1 => (5, false),
            2 => (10, false),
            3 => (20, true),
            4 => (40, false),
            5 => (40, true),
            6 => (10, true),
            7 => (0, false),
            _ => (20, false),
        };
        ScanLineTime { ms, half_at_fine }
    }

    /// The time that applies at `resolution`.
    pub fn at(self, resolution: VerticalResolution) -> u8 {
        if self.half_at_fine && resolution != VerticalResolution::Standard {
            self.ms / 2
        } else {
            self.ms
        }
    }
}

fn dcs_scan_code(ms: u8) -> u8 {
    match ms {
        0 => 7,
        1..=5 => 1,
        6..=10 => 2,
        11..=20 => 0,
        _ => 4,
    }
}

fn dcs_scan_ms(code: u8) -> u8 {
    match code & 7 {
        1 => 5,
        2 => 10,
        4 => 40,
        7 => 0,
        _ => 20,
    }
}

/// A bit field of T.30 Table 2, at most [`MAX_OCTETS`] octets.
#[derive(Clone, PartialEq, Eq)]
struct Bits {
    octets: [u8; MAX_OCTETS],
}

/// Octets of a DIS/DCS faxgate reads; later octets are ignored.
const MAX_OCTETS: usize = 16;

impl Bits {
    fn new() -> Bits {
        Bits {
            octets: [0; MAX_OCTETS],
        }
    }

    fn from_octets(info: &[u8]) -> Bits {
        let mut bits = Bits::new();
        let n = info.len().min(MAX_OCTETS);
        bits.octets[..n].copy_from_slice(&info[..n]);
        bits
    }

    fn get(&self, bit: usize) -> bool {
        self.octets[(bit - 1) / 8] & (1 << ((bit - 1) % 8)) != 0
    }

    fn set(&mut self, bit: usize, value: bool) {
        let mask = 1 << ((bit - 1) % 8);
        if value {
            self.octets[(bit - 1) / 8] |= mask;
        } else {
            self.octets[(bit - 1) / 8] &= !mask;
        }
    }

    /// Bits `first..first + count` as a number, bit `first` least significant.
    fn field(&self, first: usize, count: usize) -> u8 {
        (0..count).fold(0, |v, i| v | (u8::from(self.get(first + i)) << i))
    }

    fn set_field(&mut self, first: usize, count: usize, value: u8) {
        for i in 0..count {
            self.set(first + i, value & (1 << i) != 0);
        }
    }

    /// The octets to send: three, or as many as the highest set bit needs, with the
    /// extend bits (24, 32, 40, ...) of every octet but the last set.
    fn to_octets(&self) -> Vec<u8> {
        let mut last = 3;
        for i in (3..MAX_OCTETS).rev() {
            // Ignore extend bits when deciding how long the field is.
            if self.octets[i] & 0x7f != 0 {
                last = i + 1;
                break;
            }
        }
        let mut out = self.octets[..last].to_vec();
        for (i, octet) in out.iter_mut().enumerate().skip(2) {
            if i + 1 < last {
                *octet |= 0x80;
            } else {
                *octet &= !0x80;
            }
        }
        out
    }
}

/// Why a DIS or DCS could not be used. The peer's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CapsError {
    /// Peer: DIS/DCS shorter than the three octets every terminal sends.
    #[error("DIS/DCS of {0} octets is shorter than the 3 octets T.30 requires")]
    TooShort(usize),
    /// Peer: a DCS rate code no modem has.
    #[error("DCS selects reserved signalling rate code {0:#03x}")]
    ReservedRate(u8),
    /// Peer: a DCS width code that is invalid.
    #[error("DCS selects an invalid recording width")]
    BadWidth,
}

/// A terminal's capabilities: the content of a DIS (or DTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// Bit 3: real-time Internet fax (T.38).
    pub t38: bool,
    /// Bit 9: has a document to send if polled.
    pub ready_to_transmit: bool,
    /// Bit 10: can receive faxes.
    pub ready_to_receive: bool,
    /// Bits 11-14.
    pub modems: Modems,
    /// Bit 15: 7.7 lines/mm.
    pub fine: bool,
    /// Bit 41: 15.4 lines/mm.
    pub superfine: bool,
    /// Bit 16: MR.
    pub mr: bool,
    /// Bit 31: MMR (only usable with ECM).
    pub mmr: bool,
    /// Bit 27: error correction mode.
    pub ecm: bool,
    /// Bit 7: 64-octet ECM frames preferred.
    pub ecm_64_preferred: bool,
    /// Bits 17-18: widest page.
    pub max_width: PageWidth,
    /// Bits 19-20: longest page.
    pub max_length: PageLength,
    /// Bits 21-23.
    pub scan_line_time: ScanLineTime,
}

impl Capabilities {
    /// What faxgate offers by default: every modem, fine and superfine, MR, MMR, ECM,
    /// A3 width, unlimited length, no scan line minimum.
    pub fn faxgate() -> Capabilities {
        Capabilities {
            t38: false,
            ready_to_transmit: false,
            ready_to_receive: true,
            modems: Modems::ALL,
            fine: true,
            superfine: true,
            mr: true,
            mmr: true,
            ecm: true,
            ecm_64_preferred: false,
            max_width: PageWidth::A3,
            max_length: PageLength::Unlimited,
            scan_line_time: ScanLineTime::ZERO,
        }
    }

    /// The DIS/DTC information field.
    pub fn to_octets(&self) -> Vec<u8> {
        let mut b = Bits::new();
        b.set(3, self.t38);
        b.set(7, self.ecm_64_preferred);
        b.set(9, self.ready_to_transmit);
        b.set(10, self.ready_to_receive);
        b.set_field(11, 4, self.modems.dis_code());
        b.set(15, self.fine);
        b.set(16, self.mr);
        b.set_field(
            17,
            2,
            match self.max_width {
                PageWidth::A4 => 0,
                PageWidth::B4 => 1,
                PageWidth::A3 => 2,
            },
        );
        b.set_field(
            19,
            2,
            match self.max_length {
                PageLength::A4 => 0,
                PageLength::B4 => 1,
                PageLength::Unlimited => 2,
            },
        );
        b.set_field(21, 3, self.scan_line_time.dis_code());
        b.set(27, self.ecm);
        b.set(31, self.mmr);
        b.set(41, self.superfine);
        b.to_octets()
    }

    /// Reads a DIS/DTC information field.
    pub fn from_octets(info: &[u8]) -> Result<Capabilities, CapsError> {
        if info.len() < 3 {
            return Err(CapsError::TooShort(info.len()));
        }
        let b = Bits::from_octets(info);
        // An extend bit of 0 means the octets after it are absent, whatever was sent.
        let present = |bit: usize| {
            let octet = (bit - 1) / 8;
            (2..octet).all(|i| b.get(8 * (i + 1))) && octet < info.len()
        };
        let ecm = b.get(27);
        Ok(Capabilities {
            t38: b.get(3),
            ecm_64_preferred: b.get(7),
            ready_to_transmit: b.get(9),
            ready_to_receive: b.get(10),
            modems: Modems::from_dis_code(b.field(11, 4)),
            fine: b.get(15),
            superfine: present(41) && b.get(41),
            mr: b.get(16),
            // MMR is only meaningful together with ECM.
            mmr: present(31) && b.get(31) && ecm,
            ecm,
            max_width: match b.field(17, 2) {
                1 => PageWidth::B4,
                2 | 3 => PageWidth::A3,
                _ => PageWidth::A4,
            },
            max_length: match b.field(19, 2) {
                1 => PageLength::B4,
                2 | 3 => PageLength::Unlimited,
                _ => PageLength::A4,
            },
            scan_line_time: ScanLineTime::from_dis_code(b.field(21, 3)),
        })
    }
}

/// Size of ECM frames (DCS bit 28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcmFrameSize {
    /// 256 octets of data per frame.
    Octets256,
    /// 64 octets of data per frame.
    Octets64,
}

impl EcmFrameSize {
    /// Data octets per frame.
    pub fn octets(self) -> usize {
        match self {
            EcmFrameSize::Octets256 => 256,
            EcmFrameSize::Octets64 => 64,
        }
    }
}

/// The settings a sender chose: the content of a DCS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settings {
    /// Modem and bit rate.
    pub rate: Rate,
    /// Vertical resolution.
    pub resolution: VerticalResolution,
    /// Coding scheme.
    pub compression: Compression,
    /// Error correction mode and its frame size, if used.
    pub ecm: Option<EcmFrameSize>,
    /// Page width.
    pub width: PageWidth,
    /// Page length.
    pub length: PageLength,
    /// Minimum scan line time at this resolution, milliseconds.
    pub scan_line_ms: u8,
}

impl Settings {
    /// Minimum coded bits per line at this rate and scan line time: what the encoder
    /// must pad short lines to.
    pub fn min_bits_per_line(&self) -> u32 {
        self.rate.bps * u32::from(self.scan_line_ms) / 1000
    }

    /// The DCS information field.
    pub fn to_octets(&self) -> Vec<u8> {
        let mut b = Bits::new();
        b.set(10, true);
        b.set_field(11, 4, self.rate.dcs_code());
        b.set(15, self.resolution == VerticalResolution::Fine);
        b.set(16, self.compression == Compression::Mr);
        b.set_field(
            17,
            2,
            match self.width {
                PageWidth::A4 => 0,
                PageWidth::B4 => 1,
                PageWidth::A3 => 2,
            },
        );
        b.set_field(
            19,
            2,
            match self.length {
                PageLength::A4 => 0,
                PageLength::B4 => 1,
                PageLength::Unlimited => 2,
            },
        );
        b.set_field(21, 3, dcs_scan_code(self.scan_line_ms));
        b.set(27, self.ecm.is_some());
        b.set(28, self.ecm == Some(EcmFrameSize::Octets64));
        b.set(31, self.compression == Compression::Mmr);
        b.set(41, self.resolution == VerticalResolution::Superfine);
        b.to_octets()
    }

    /// Reads a DCS information field.
    pub fn from_octets(info: &[u8]) -> Result<Settings, CapsError> {
        if info.len() < 3 {
            return Err(CapsError::TooShort(info.len()));
        }
        let b = Bits::from_octets(info);
        let code = b.field(11, 4);
        let rate = Rate::from_dcs_code(code).ok_or(CapsError::ReservedRate(code))?;
        let ecm = b.get(27).then_some(if b.get(28) {
            EcmFrameSize::Octets64
        } else {
            EcmFrameSize::Octets256
        });
        let long = info.len() > 5 && b.get(24) && b.get(32);
        let resolution = if long && b.get(41) {
            VerticalResolution::Superfine
        } else if b.get(15) {
            VerticalResolution::Fine
        } else {
            VerticalResolution::Standard
        };
        let compression = if info.len() > 3 && b.get(24) && b.get(31) {
            Compression::Mmr
        } else if b.get(16) {
            Compression::Mr
        } else {
            Compression::Mh
        };
        Ok(Settings {
            rate,
            resolution,
            compression,
            ecm,
            width: match b.field(17, 2) {
                0 => PageWidth::A4,
                1 => PageWidth::B4,
                2 => PageWidth::A3,
                _ => return Err(CapsError::BadWidth),
            },
            length: match b.field(19, 2) {
                1 => PageLength::B4,
                2 | 3 => PageLength::Unlimited,
                _ => PageLength::A4,
            },
            scan_line_ms: if ecm.is_some() {
                0
            } else {
                dcs_scan_ms(b.field(21, 3))
            },
        })
    }
}

impl fmt::Display for Settings {
    /// `V.17 14400 fine MMR ECM`: how transcripts show a DCS.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let res = match self.resolution {
            VerticalResolution::Standard => "standard",
            VerticalResolution::Fine => "fine",
            VerticalResolution::Superfine => "superfine",
        };
        let comp = match self.compression {
            Compression::Mh => "MH",
            Compression::Mr => "MR",
            Compression::Mmr => "MMR",
        };
        write!(f, "{} {res} {comp}", self.rate)?;
        if self.ecm.is_some() {
            write!(f, " ECM")?;
        }
        if self.width != PageWidth::A4 {
            write!(f, " {:?}", self.width)?;
        }
        Ok(())
    }
}

/// What the sender wants to send and may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendPreferences {
    /// Our own capabilities (modems, codings, ECM we allow).
    pub local: Capabilities,
    /// Resolution of the document's pages.
    pub resolution: VerticalResolution,
    /// Width of the document's pages.
    pub width: PageWidth,
}

/// Chooses the DCS for `prefs` against the far end's DIS: the best common rate at or
/// below `max_rate_index` in [`FALLBACK`], MMR over MR over MH, ECM when both have it,
/// the document's resolution and width where the receiver takes them (lower otherwise,
/// and the pages are converted). Returns `None` when no rate at or below the index is
/// common.
pub fn choose_settings(
    prefs: &SendPreferences,
    remote: &Capabilities,
    max_rate_index: usize,
) -> Option<Settings> {
    let local = &prefs.local;
    let rate = FALLBACK
        .iter()
        .skip(max_rate_index)
        .copied()
        .find(|r| local.modems.supports(*r) && remote.modems.supports(*r))?;
    let frame_size = if remote.ecm_64_preferred {
        EcmFrameSize::Octets64
    } else {
        EcmFrameSize::Octets256
    };
    let ecm = (local.ecm && remote.ecm).then_some(frame_size);
    let compression = if ecm.is_some() && local.mmr && remote.mmr {
        Compression::Mmr
    } else if local.mr && remote.mr {
        Compression::Mr
    } else {
        Compression::Mh
    };
    let resolution = match prefs.resolution {
        VerticalResolution::Superfine if remote.superfine && local.superfine => {
            VerticalResolution::Superfine
        }
        VerticalResolution::Superfine | VerticalResolution::Fine if remote.fine && local.fine => {
            VerticalResolution::Fine
        }
        _ => VerticalResolution::Standard,
    };
    let width = prefs.width.min(remote.max_width).min(local.max_width);
    let scan_line_ms = if ecm.is_some() {
        0
    } else {
        remote.scan_line_time.at(resolution)
    };
    Some(Settings {
        rate,
        resolution,
        compression,
        ecm,
        width,
        length: remote.max_length.min(local.max_length),
        scan_line_ms,
    })
}

/// Index of the first [`FALLBACK`] rate slower than `rate`.
pub fn next_slower(rate: Rate) -> usize {
    FALLBACK
        .iter()
        .position(|r| *r == rate)
        .map_or(FALLBACK.len(), |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dcs_rate_codes_match_the_table() {
        // T.30 Table 2, bits 11-14 of DCS, written in transmission order in the
        // standard (bit 11 first): 0001 = V.17 14400, 0101 = 12000, 1001 = 9600,
        // 1101 = 7200, 1000 = V.29 9600, 1100 = 7200, 0100 = V.27ter 4800, 0000 = 2400.
        let table = [
            ("0001", 14400, Modulation::V17),
            ("0101", 12000, Modulation::V17),
            ("1001", 9600, Modulation::V17),
            ("1101", 7200, Modulation::V17),
            ("1000", 9600, Modulation::V29),
            ("1100", 7200, Modulation::V29),
            ("0100", 4800, Modulation::V27ter),
            ("0000", 2400, Modulation::V27ter),
        ];
        for (bits, bps, modulation) in table {
            let code = bits
                .bytes()
                .enumerate()
                .fold(0u8, |v, (i, c)| v | (u8::from(c == b'1') << i));
            let rate = Rate { modulation, bps };
            assert_eq!(rate.dcs_code(), code, "{rate}");
            assert_eq!(Rate::from_dcs_code(code), Some(rate));
        }
    }

    #[test]
    fn capabilities_round_trip() {
        let mut caps = Capabilities::faxgate();
        caps.ecm = true;
        caps.mmr = true;
        assert_eq!(Capabilities::from_octets(&caps.to_octets()), Ok(caps));
        caps.superfine = false;
        caps.mmr = false;
        caps.ecm = false;
        caps.modems = Modems {
            v27ter: true,
            v29: true,
            v17: false,
        };
        caps.max_width = PageWidth::A4;
        caps.scan_line_time = ScanLineTime {
            ms: 20,
            half_at_fine: true,
        };
        let octets = caps.to_octets();
        assert_eq!(octets.len(), 3, "no extension needed");
        assert_eq!(Capabilities::from_octets(&octets), Ok(caps));
    }

    #[test]
    fn a_typical_dis_reads_as_expected() {
        // A DIS as a common G3 machine sends it: V.27ter+V.29+V.17, fine, MR, A4,
        // unlimited length, 20 ms, ECM, MMR (octets 00 ee f8 ..): bit 10, 11, 12, 14,
        // 15, 16 in octet 2; bits 20, 24 (extend) in octet 3... checked bit by bit.
        let mut b = Bits::new();
        for bit in [10, 11, 12, 14, 15, 16, 20, 24, 27, 31, 32] {
            b.set(bit, true);
        }
        let octets = &b.octets[..5];
        let caps = Capabilities::from_octets(octets).unwrap();
        assert_eq!(caps.modems, Modems::ALL);
        assert!(caps.fine && caps.mr && caps.ecm && caps.mmr && caps.ready_to_receive);
        assert_eq!(caps.max_width, PageWidth::A4);
        assert_eq!(caps.max_length, PageLength::Unlimited);
        assert_eq!(caps.scan_line_time.ms, 20);
    }

    #[test]
    fn settings_round_trip() {
        for rate in FALLBACK {
            for resolution in [
                VerticalResolution::Standard,
                VerticalResolution::Fine,
                VerticalResolution::Superfine,
            ] {
                for (compression, ecm) in [
                    (Compression::Mh, None),
                    (Compression::Mr, None),
                    (Compression::Mh, Some(EcmFrameSize::Octets256)),
                    (Compression::Mmr, Some(EcmFrameSize::Octets64)),
                ] {
                    let s = Settings {
                        rate,
                        resolution,
                        compression,
                        ecm,
                        width: PageWidth::B4,
                        length: PageLength::Unlimited,
                        scan_line_ms: if ecm.is_some() { 0 } else { 10 },
                    };
                    assert_eq!(Settings::from_octets(&s.to_octets()), Ok(s), "{s}");
                }
            }
        }
    }

    #[test]
    fn negotiation_takes_the_best_common_mode() {
        let mut local = Capabilities::faxgate();
        local.ecm = true;
        local.mmr = true;
        let prefs = SendPreferences {
            local,
            resolution: VerticalResolution::Fine,
            width: PageWidth::A4,
        };
        let s = choose_settings(&prefs, &local, 0).unwrap();
        assert_eq!(s.to_string(), "V.17 14400 fine MMR ECM");

        let mut old = Capabilities::faxgate();
        old.modems = Modems {
            v27ter: true,
            v29: true,
            v17: false,
        };
        old.ecm = false;
        old.mmr = false;
        old.fine = false;
        old.scan_line_time = ScanLineTime {
            ms: 20,
            half_at_fine: false,
        };
        let s = choose_settings(&prefs, &old, 0).unwrap();
        assert_eq!(s.to_string(), "V.29 9600 standard MR");
        assert_eq!(s.scan_line_ms, 20);
        assert_eq!(s.min_bits_per_line(), 192);
        // After FTT at 9600 the next rate both have is V.29 7200.
        let s = choose_settings(&prefs, &old, next_slower(s.rate)).unwrap();
        assert_eq!(
            s.rate,
            Rate {
                modulation: Modulation::V29,
                bps: 7200
            }
        );
        assert!(choose_settings(&prefs, &old, FALLBACK.len()).is_none());
    }

    #[test]
    fn short_or_reserved_fields_are_errors() {
        assert_eq!(
            Capabilities::from_octets(&[0, 0]),
            Err(CapsError::TooShort(2))
        );
        // DCS rate code 0101 in bits 11-14 reversed order = 0x05: reserved.
        let mut b = Bits::new();
        b.set_field(11, 4, 0x05);
        assert_eq!(
            Settings::from_octets(&b.octets[..3]),
            Err(CapsError::ReservedRate(0x05))
        );
    }
}
