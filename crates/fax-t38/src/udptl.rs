//! UDPTL (T.38 clause 9.1): IFP packets numbered and wrapped in UDP datagrams with error
//! recovery, since UDP neither retransmits nor keeps order.
//!
//! ```text
//! UDPTLPacket ::= SEQUENCE {
//!     seq-number          INTEGER (0..65535),
//!     primary-ifp-packet  TYPE-IDENTIFIER.&Type(IFPPacket),
//!     error-recovery      CHOICE {
//!         secondary-ifp-packets  SEQUENCE OF TYPE-IDENTIFIER.&Type(IFPPacket),
//!         fec-info               SEQUENCE { fec-npackets INTEGER,
//!                                           fec-data     SEQUENCE OF OCTET STRING } } }
//! ```
//!
//! Two kinds of error recovery:
//!
//! - Redundancy: each datagram repeats the packets sent just before it, newest first, so a
//!   lost packet comes back with any of the next few datagrams.
//! - Parity FEC: each datagram carries `entries` parity blocks over `span` earlier packets.
//!   T.38 leaves the grouping to implementations; this follows the one every deployed stack
//!   shares (SpanDSP's, also in Asterisk and FreeSWITCH): block `m` of the datagram numbered
//!   `s` is the XOR of packets `s + m - j * entries` for `j` in `1..=span`, each zero-padded
//!   to the longest of them. One missing packet of a group is rebuilt from the others.
//!
//! [`UdptlSender`] builds datagrams within the far end's maximum datagram size;
//! [`UdptlReceiver`] takes datagrams in any order, any number of times, and hands back
//! each packet once, in sequence order, saying which ones it could not recover.

use std::collections::VecDeque;

use crate::Error;
use crate::ifp::{self, Version};
use crate::per::{BitReader, BitWriter, FRAGMENT_UNIT, open_type_len};

/// The error recovery part of a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// `secondary-ifp-packets`: copies of the packets sent before this one, newest first
    /// (sequence number - 1, - 2, ...).
    Redundancy(Vec<Vec<u8>>),
    /// `fec-info`: parity over earlier packets.
    Fec {
        /// `fec-npackets`: how many packets each parity block covers.
        span: u32,
        /// `fec-data`: the parity blocks; their number is the interleaving stride.
        entries: Vec<Vec<u8>>,
    },
}

/// One UDPTL datagram, as carried in a UDP payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// `seq-number`.
    pub seq: u16,
    /// `primary-ifp-packet`: the encoded IFP packet with this sequence number.
    pub primary: Vec<u8>,
    /// `error-recovery`.
    pub recovery: Recovery,
}

impl Datagram {
    /// Parses a UDP payload. Every count and length is checked against the bytes present
    /// before anything is allocated for it; bytes after the end are refused.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = BitReader::new(bytes);
        let seq = reader.read_bits(16, "seq-number")? as u16;
        let primary = reader.read_open_type("primary-ifp-packet")?;
        if primary.is_empty() {
            return Err(Error::Malformed("empty primary IFP packet"));
        }
        let recovery = if reader.read_bit("error-recovery")? {
            let span = read_fec_npackets(&mut reader)?;
            let entries = read_open_types(&mut reader, "fec-data")?;
            Recovery::Fec { span, entries }
        } else {
            let packets = read_open_types(&mut reader, "secondary-ifp-packets")?;
            if packets.iter().any(Vec::is_empty) {
                return Err(Error::Malformed("empty secondary IFP packet"));
            }
            Recovery::Redundancy(packets)
        };
        match bytes.len() - reader.octets_consumed() {
            0 => Ok(Self {
                seq,
                primary,
                recovery,
            }),
            count => Err(Error::TrailingBytes { count }),
        }
    }

    /// Encodes the datagram.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut writer = BitWriter::new();
        writer.write_bits(u32::from(self.seq), 16);
        writer.write_open_type(&self.primary);
        match &self.recovery {
            Recovery::Redundancy(packets) => {
                writer.write_bit(false);
                write_open_types(&mut writer, packets)?;
            }
            Recovery::Fec { span, entries } => {
                writer.write_bit(true);
                let value = integer_octets(*span);
                writer.write_short_length(value.len());
                writer.write_octets(&value);
                write_open_types(&mut writer, entries)?;
            }
        }
        Ok(writer.into_bytes())
    }
}

/// `fec-npackets` is an unconstrained INTEGER: a length, then that many octets of two's
/// complement. Four octets hold any count that makes sense.
fn read_fec_npackets(reader: &mut BitReader<'_>) -> Result<u32, Error> {
    let length = reader.read_count("fec-npackets")?;
    if !(1..=4).contains(&length) {
        return Err(Error::Malformed("fec-npackets length outside 1..=4"));
    }
    let octets = reader.read_octets(length, "fec-npackets")?;
    if octets.first().is_some_and(|first| first & 0x80 != 0) {
        return Err(Error::Malformed("negative fec-npackets"));
    }
    Ok(octets
        .iter()
        .fold(0u32, |value, &octet| (value << 8) | u32::from(octet)))
}

/// The shortest two's complement octets of a non-negative `value`.
fn integer_octets(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    // Drop leading zero octets while the next octet's top bit keeps the value positive.
    let mut start = 0;
    while start < 3
        && bytes.get(start) == Some(&0)
        && bytes.get(start + 1).is_some_and(|next| next & 0x80 == 0)
    {
        start += 1;
    }
    let mut octets = Vec::with_capacity(5);
    if bytes.get(start).is_some_and(|first| first & 0x80 != 0) {
        octets.push(0);
    }
    octets.extend_from_slice(bytes.get(start..).unwrap_or(&[]));
    octets
}

fn read_open_types(reader: &mut BitReader<'_>, what: &'static str) -> Result<Vec<Vec<u8>>, Error> {
    let count = reader.read_count(what)?;
    // Each item takes at least its length octet.
    if count > reader.bits_left() / 8 {
        return Err(Error::Truncated { what });
    }
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        items.push(reader.read_open_type(what)?);
    }
    Ok(items)
}

fn write_open_types(writer: &mut BitWriter, items: &[Vec<u8>]) -> Result<(), Error> {
    if items.len() >= FRAGMENT_UNIT {
        return Err(Error::TooManyItems { count: items.len() });
    }
    writer.write_short_length(items.len());
    for item in items {
        writer.write_open_type(item);
    }
    Ok(())
}

/// Which error recovery a sender adds to its datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorRecovery {
    /// Repeat the `depth` packets sent before each one (0 = no recovery).
    Redundancy {
        /// How many earlier packets each datagram repeats, at most [`MAX_REDUNDANCY_DEPTH`].
        depth: usize,
    },
    /// Parity FEC: `entries` parity blocks per datagram, each over `span` packets.
    Fec {
        /// Packets per parity block, at least 1.
        span: usize,
        /// Parity blocks per datagram, at least 1; `span * entries` at most
        /// [`MAX_FEC_PACKETS`].
        entries: usize,
    },
}

/// The most earlier packets a sender repeats in one datagram. SpanDSP, and Asterisk, which
/// shares its UDPTL code, throw away a datagram carrying 16 or more.
pub const MAX_REDUNDANCY_DEPTH: usize = 15;

/// The most packets a sender's parity may reach back over (`span * entries`). SpanDSP keeps
/// 16 packets, its own included, to repair from.
pub const MAX_FEC_PACKETS: usize = 15;

/// The smallest datagram that can carry anything: sequence number, a one-octet IFP packet
/// with its length, and an empty error recovery.
const MIN_DATAGRAM: usize = 6;

/// Settings of a [`UdptlSender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Error recovery to add.
    pub error_recovery: ErrorRecovery,
    /// The far end's largest datagram (SDP `T38FaxMaxDatagram`), in octets of UDP payload.
    pub max_datagram: usize,
    /// Sequence number of the first datagram (T.38 starts at 0).
    pub first_seq: u16,
}

impl Default for SenderConfig {
    /// Three redundant packets, 400-octet datagrams (what SpanDSP assumes when SDP says
    /// nothing), numbering from 0.
    fn default() -> Self {
        Self {
            error_recovery: ErrorRecovery::Redundancy { depth: 3 },
            max_datagram: 400,
            first_seq: 0,
        }
    }
}

fn validate_recovery(recovery: ErrorRecovery) -> Result<(), Error> {
    match recovery {
        ErrorRecovery::Redundancy { depth } if depth > MAX_REDUNDANCY_DEPTH => Err(
            Error::InvalidConfig("redundancy depth over MAX_REDUNDANCY_DEPTH"),
        ),
        ErrorRecovery::Fec { span, entries }
            if span == 0 || entries == 0 || span.saturating_mul(entries) > MAX_FEC_PACKETS =>
        {
            Err(Error::InvalidConfig(
                "FEC span and entries must be at least 1, with span * entries at most MAX_FEC_PACKETS",
            ))
        }
        _ => Ok(()),
    }
}

/// How many earlier packets `recovery` needs kept.
fn history_needed(recovery: ErrorRecovery) -> usize {
    match recovery {
        ErrorRecovery::Redundancy { depth } => depth,
        ErrorRecovery::Fec { span, entries } => span * entries,
    }
}

/// Turns encoded IFP packets into UDPTL datagrams.
#[derive(Debug, Clone)]
pub struct UdptlSender {
    config: SenderConfig,
    next_seq: u16,
    /// Packets already sent, newest first, as many as the error recovery needs.
    history: VecDeque<Vec<u8>>,
}

impl UdptlSender {
    /// A sender whose first datagram carries `config.first_seq`.
    pub fn new(config: SenderConfig) -> Result<Self, Error> {
        validate_recovery(config.error_recovery)?;
        if config.max_datagram < MIN_DATAGRAM {
            return Err(Error::InvalidConfig("max_datagram below 6 octets"));
        }
        Ok(Self {
            config,
            next_seq: config.first_seq,
            history: VecDeque::new(),
        })
    }

    /// The current settings.
    pub fn config(&self) -> SenderConfig {
        self.config
    }

    /// Changes the error recovery from the next datagram on (T.38 lets it differ from one
    /// datagram to the next, e.g. less redundancy for bulky image data).
    pub fn set_error_recovery(&mut self, recovery: ErrorRecovery) -> Result<(), Error> {
        validate_recovery(recovery)?;
        self.config.error_recovery = recovery;
        Ok(())
    }

    /// The sequence number the next datagram will carry.
    pub fn next_seq(&self) -> u16 {
        self.next_seq
    }

    /// Wraps the encoded IFP packet `ifp` in the next datagram, with as much error recovery
    /// as fits the far end's maximum datagram: redundant copies are dropped oldest first,
    /// parity blocks by lowering their number. When even the bare packet does not fit, the
    /// packet is refused, nothing is sent and the sequence number stays unused.
    pub fn packetize(&mut self, ifp: &[u8]) -> Result<Vec<u8>, Error> {
        if ifp.is_empty() {
            return Err(Error::EmptyIfp);
        }
        let max = self.config.max_datagram;
        let recovery = match self.config.error_recovery {
            ErrorRecovery::Redundancy { depth } => {
                // Choice bit padded to an octet, then a one-octet count.
                let mut size = 2 + open_type_len(ifp.len()) + 2;
                if size > max {
                    return Err(Error::DatagramTooLarge { needed: size, max });
                }
                let mut packets = Vec::new();
                for packet in self.history.iter().take(depth) {
                    size += open_type_len(packet.len());
                    if size > max {
                        break;
                    }
                    packets.push(packet.clone());
                }
                Recovery::Redundancy(packets)
            }
            ErrorRecovery::Fec { span, entries } => self.fec_recovery(ifp.len(), span, entries)?,
        };
        let datagram = Datagram {
            seq: self.next_seq,
            primary: ifp.to_vec(),
            recovery,
        };
        let bytes = datagram.to_bytes()?;
        debug_assert!(bytes.len() <= max);
        self.history.push_front(datagram.primary);
        self.history
            .truncate(history_needed(self.config.error_recovery));
        self.next_seq = self.next_seq.wrapping_add(1);
        Ok(bytes)
    }

    fn fec_recovery(&self, ifp_len: usize, span: usize, entries: usize) -> Result<Recovery, Error> {
        let max = self.config.max_datagram;
        // Choice bit padded to an octet, fec-npackets (length and one octet), the count.
        let base = 2 + open_type_len(ifp_len) + 4;
        if base > max {
            return Err(Error::DatagramTooLarge { needed: base, max });
        }
        // Until enough packets have been sent, cover only those that exist, as SpanDSP
        // does: fewer blocks, and no span at all before the first full one.
        let sent = self.history.len();
        let (span, mut entries) = if sent < span * entries {
            (if sent < span { 0 } else { span }, sent / span)
        } else {
            (span, entries)
        };
        loop {
            let blocks = parity_blocks(&self.history, span, entries);
            let size: usize = base + blocks.iter().map(|b| open_type_len(b.len())).sum::<usize>();
            if size <= max || entries == 0 {
                return Ok(Recovery::Fec {
                    span: span as u32,
                    entries: blocks,
                });
            }
            // Fewer blocks, regrouped: every datagram states its own stride.
            entries -= 1;
        }
    }
}

/// The parity blocks of a datagram sent after `history` (newest first): block `m` covers
/// the packets `j * entries - m` back, for `j` in `1..=span`.
fn parity_blocks(history: &VecDeque<Vec<u8>>, span: usize, entries: usize) -> Vec<Vec<u8>> {
    (0..entries)
        .map(|m| {
            let mut block: Vec<u8> = Vec::new();
            for j in 1..=span {
                let age = j * entries - m;
                if let Some(packet) = history.get(age - 1) {
                    xor_into(&mut block, packet);
                }
            }
            block
        })
        .collect()
}

/// `acc ^= packet`, the shorter of the two taken as zero-padded.
fn xor_into(acc: &mut Vec<u8>, packet: &[u8]) {
    if acc.len() < packet.len() {
        acc.resize(packet.len(), 0);
    }
    for (a, p) in acc.iter_mut().zip(packet) {
        *a ^= p;
    }
}

/// How a delivered packet reached the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// As the primary packet of its own datagram.
    Primary,
    /// As a redundant copy in a later datagram.
    Redundancy,
    /// Rebuilt from parity FEC.
    Fec,
}

/// What the receiver hands back, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// The encoded IFP packet numbered `seq`.
    Ifp {
        /// Its sequence number.
        seq: u16,
        /// The encoded IFP packet (decode it with [`crate::ifp::decode`]).
        ifp: Vec<u8>,
        /// How it arrived.
        via: Via,
    },
    /// `count` packets from `first_seq` on never arrived and could not be recovered; the
    /// caller's protocol has to cope (a T.30 engine treats the frame or image data as
    /// damaged).
    Lost {
        /// The first missing sequence number.
        first_seq: u16,
        /// How many in a row, wrapping at 65536.
        count: u16,
    },
    /// The peer's numbering jumped far from where it was (a restart, or a stream switched
    /// under us): an unknown number of packets may be missing before `seq`, which is where
    /// delivery carries on.
    Jump {
        /// The sequence number that was expected next.
        expected_seq: u16,
        /// The sequence number that arrived.
        seq: u16,
    },
}

/// Settings of a [`UdptlReceiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// The negotiated T.38 version: packets rebuilt from parity come back padded, and are
    /// cut back to the IFP packet they hold by decoding it.
    pub version: Version,
    /// A missing packet is given up once a packet this many sequence numbers later has
    /// arrived and nothing brought it back (0: as soon as anything later arrives). At most
    /// [`MAX_REORDER_WINDOW`].
    pub reorder_window: u16,
    /// ... or once later packets have waited this many microseconds behind it.
    pub max_hold_us: u64,
}

impl ReceiverConfig {
    /// Defaults for `version`: a window of 8 packets, and at most 200 ms of waiting.
    pub fn new(version: Version) -> Self {
        Self {
            version,
            reorder_window: 8,
            max_hold_us: 200_000,
        }
    }
}

/// Counts kept by a [`UdptlReceiver`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Datagrams accepted.
    pub datagrams: u64,
    /// Datagrams refused as malformed.
    pub malformed: u64,
    /// Datagrams whose primary packet had already been seen or given up.
    pub duplicates: u64,
    /// Packets handed back as they arrived in their own datagram.
    pub delivered_primary: u64,
    /// Packets handed back from a redundant copy.
    pub delivered_redundancy: u64,
    /// Packets handed back rebuilt from parity.
    pub delivered_fec: u64,
    /// Packets reported lost.
    pub lost: u64,
    /// Jumps in the peer's numbering.
    pub jumps: u64,
    /// FEC information ignored because its span or stride is beyond what is kept.
    pub fec_ignored: u64,
}

impl ReceiverStats {
    /// Packets handed back, however they arrived.
    pub fn delivered(&self) -> u64 {
        self.delivered_primary + self.delivered_redundancy + self.delivered_fec
    }
}

/// The largest `reorder_window`.
pub const MAX_REORDER_WINDOW: u16 = 128;

/// Packets kept after delivery, so that parity reaching back over them still works.
const HISTORY: u64 = 64;

/// Undelivered packets kept ahead of the first missing one; a datagram further ahead forces
/// the oldest gaps out as lost.
const MAX_AHEAD: u64 = 256;

/// A sequence number further than this from the last one is a jump, not a loss (the value
/// SpanDSP uses).
const JUMP_DISTANCE: i64 = 2000;

/// Internal sequence numbers do not wrap: the first datagram is numbered from here, high
/// enough that anything reaching back from it stays positive.
const STREAM_START: u64 = 1 << 32;

#[derive(Debug, Clone, Default)]
struct Slot {
    ifp: Option<Vec<u8>>,
    via: Option<Via>,
    /// When the packet (or what rebuilt it) arrived, in the caller's microseconds.
    arrived_us: u64,
    /// Whether this slot's own datagram has been seen (as opposed to only a copy).
    datagram_seen: bool,
    fec: Option<FecInfo>,
}

#[derive(Debug, Clone)]
struct FecInfo {
    span: u64,
    blocks: Vec<Vec<u8>>,
}

/// Puts datagrams back in order and recovers lost packets. Feed it with [`receive`],
/// drain it with [`next`] after each call, and call [`next`] again at [`deadline`] if one
/// is set.
///
/// [`receive`]: UdptlReceiver::receive
/// [`next`]: UdptlReceiver::next
/// [`deadline`]: UdptlReceiver::deadline
#[derive(Debug, Clone)]
pub struct UdptlReceiver {
    config: ReceiverConfig,
    /// Internal number of `slots[0]`.
    base: u64,
    slots: VecDeque<Slot>,
    /// Internal number of the next packet to hand back.
    next: u64,
    /// Internal number of the latest datagram seen; `None` before the first one.
    highest: Option<u64>,
    out: VecDeque<Received>,
    stats: ReceiverStats,
}

impl UdptlReceiver {
    /// A receiver that takes the first datagram it sees as the start of the stream.
    pub fn new(config: ReceiverConfig) -> Result<Self, Error> {
        if config.reorder_window > MAX_REORDER_WINDOW {
            return Err(Error::InvalidConfig(
                "reorder_window over MAX_REORDER_WINDOW",
            ));
        }
        Ok(Self {
            config,
            base: STREAM_START,
            slots: VecDeque::new(),
            next: STREAM_START,
            highest: None,
            out: VecDeque::new(),
            stats: ReceiverStats::default(),
        })
    }

    /// Counts so far.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// Takes one UDP payload that arrived at `now_us` (any monotonic microsecond count the
    /// caller keeps). A malformed datagram is refused and changes nothing.
    pub fn receive(&mut self, datagram: &[u8], now_us: u64) -> Result<(), Error> {
        let datagram = match Datagram::parse(datagram) {
            Ok(datagram) => datagram,
            Err(error) => {
                self.stats.malformed += 1;
                return Err(error);
            }
        };
        self.stats.datagrams += 1;
        let number = match self.highest {
            None => self.start(&datagram),
            Some(highest) => {
                let distance = i64::from(datagram.seq.wrapping_sub(highest as u16) as i16);
                if distance.abs() > JUMP_DISTANCE {
                    self.release_until(highest + 1);
                    self.out.push_back(Received::Jump {
                        expected_seq: self.next as u16,
                        seq: datagram.seq,
                    });
                    self.stats.jumps += 1;
                    self.start(&datagram)
                } else {
                    highest.saturating_add_signed(distance)
                }
            }
        };
        self.accept(number, datagram, now_us);
        self.advance(now_us);
        Ok(())
    }

    /// The next packet or loss report in sequence order, if one is ready at `now_us`.
    pub fn next(&mut self, now_us: u64) -> Option<Received> {
        self.advance(now_us);
        self.out.pop_front()
    }

    /// When a missing packet will be given up for the packets waiting behind it, if one is
    /// holding them: call [`next`](UdptlReceiver::next) then.
    pub fn deadline(&self) -> Option<u64> {
        self.holding_since()
            .map(|since| since.saturating_add(self.config.max_hold_us))
    }

    /// Resets the numbering to the first datagram of a stream (or of a restarted one) and
    /// returns its internal number. Its redundant copies are older packets the peer did
    /// send, so they are delivered first.
    fn start(&mut self, datagram: &Datagram) -> u64 {
        let number = STREAM_START + u64::from(datagram.seq);
        let earlier = match &datagram.recovery {
            Recovery::Redundancy(packets) => packets.len() as u64,
            Recovery::Fec { .. } => 0,
        };
        self.next = number - earlier.min(MAX_AHEAD);
        self.base = self.next;
        self.slots.clear();
        self.highest = Some(number);
        number
    }

    fn accept(&mut self, number: u64, datagram: Datagram, now_us: u64) {
        if number < self.next {
            self.stats.duplicates += 1;
            return;
        }
        if number - self.next > MAX_AHEAD {
            self.release_until(number - MAX_AHEAD);
        }
        self.ensure_slot(number);
        if self.highest.is_none_or(|highest| number > highest) {
            self.highest = Some(number);
        }
        let Some(slot) = self.slot_mut(number) else {
            return;
        };
        if slot.datagram_seen {
            self.stats.duplicates += 1;
            return;
        }
        slot.datagram_seen = true;
        if slot.ifp.is_none() {
            slot.ifp = Some(datagram.primary);
            slot.via = Some(Via::Primary);
            slot.arrived_us = now_us;
        }
        match datagram.recovery {
            Recovery::Redundancy(packets) => {
                for (back, packet) in (1u64..).zip(packets) {
                    let Some(earlier) = number.checked_sub(back).filter(|&n| n >= self.next) else {
                        break;
                    };
                    self.fill(earlier, packet, Via::Redundancy, now_us);
                }
            }
            Recovery::Fec { span, entries } => {
                let span = u64::from(span);
                let stride = entries.len() as u64;
                if span == 0 || stride == 0 {
                    return;
                }
                if span.saturating_mul(stride) > HISTORY {
                    self.stats.fec_ignored += 1;
                    return;
                }
                if let Some(slot) = self.slot_mut(number) {
                    slot.fec = Some(FecInfo {
                        span,
                        blocks: entries,
                    });
                }
                self.repair_from_parity(now_us);
            }
        }
    }

    /// Rebuilds every missing packet that parity now makes recoverable; one rebuilt packet
    /// can complete another group, so it goes round until nothing changes.
    fn repair_from_parity(&mut self, now_us: u64) {
        let Some(highest) = self.highest else {
            return;
        };
        loop {
            let mut repaired = false;
            for carrier in self.next + 1..=highest {
                let Some(fec) = self.slot(carrier).and_then(|slot| slot.fec.as_ref()) else {
                    continue;
                };
                let stride = fec.blocks.len() as u64;
                let mut rebuilt = Vec::new();
                for (m, block) in (0u64..).zip(&fec.blocks) {
                    // Members carrier + m - j * stride; none before what is kept.
                    let members: Option<Vec<u64>> = (1..=fec.span)
                        .map(|j| {
                            (carrier + m)
                                .checked_sub(j * stride)
                                .filter(|&n| n >= self.base)
                        })
                        .collect();
                    let Some(members) = members else {
                        continue;
                    };
                    if let Some((number, packet)) = self.rebuild(block, &members) {
                        rebuilt.push((number, packet));
                    }
                }
                for (number, packet) in rebuilt {
                    repaired |= self.fill(number, packet, Via::Fec, now_us);
                }
            }
            if !repaired {
                break;
            }
        }
    }

    /// The one missing, still awaited member of a parity group, rebuilt; `None` unless
    /// exactly one is missing and the block is consistent with the others.
    fn rebuild(&self, block: &[u8], members: &[u64]) -> Option<(u64, Vec<u8>)> {
        let mut missing = None;
        for &number in members {
            if self.slot(number)?.ifp.is_none() {
                if missing.is_some() {
                    return None;
                }
                missing = Some(number);
            }
        }
        let missing = missing.filter(|&n| n >= self.next)?;
        let mut packet = block.to_vec();
        for &number in members.iter().filter(|&&n| n != missing) {
            let other = self.slot(number)?.ifp.as_ref()?;
            if other.len() > packet.len() {
                // The block is shorter than a packet it claims to cover: not our grouping.
                return None;
            }
            xor_into(&mut packet, other);
        }
        if let Ok(length) = ifp::encoded_len(&packet, self.config.version) {
            packet.truncate(length);
        }
        (!packet.is_empty()).then_some((missing, packet))
    }

    /// Stores a recovered packet unless it is already there; says whether it was stored.
    fn fill(&mut self, number: u64, packet: Vec<u8>, via: Via, now_us: u64) -> bool {
        match self.slot_mut(number) {
            Some(slot) if slot.ifp.is_none() && !packet.is_empty() => {
                slot.ifp = Some(packet);
                slot.via = Some(via);
                slot.arrived_us = now_us;
                true
            }
            _ => false,
        }
    }

    /// Moves what is ready to the output: packets in order, and gaps that have waited long
    /// enough as losses.
    fn advance(&mut self, now_us: u64) {
        let Some(highest) = self.highest else {
            return;
        };
        while self.next <= highest {
            if self.deliver_next() {
                continue;
            }
            let waited_long = self
                .holding_since()
                .is_some_and(|since| now_us.saturating_sub(since) >= self.config.max_hold_us);
            if highest - self.next < u64::from(self.config.reorder_window) && !waited_long {
                break;
            }
            self.give_up_gap(highest + 1);
        }
        self.trim_history();
    }

    /// Delivers the next packet if it is here.
    fn deliver_next(&mut self) -> bool {
        let number = self.next;
        let Some(slot) = self.slot(number) else {
            return false;
        };
        let (Some(ifp), Some(via)) = (slot.ifp.clone(), slot.via) else {
            return false;
        };
        *match via {
            Via::Primary => &mut self.stats.delivered_primary,
            Via::Redundancy => &mut self.stats.delivered_redundancy,
            Via::Fec => &mut self.stats.delivered_fec,
        } += 1;
        self.out.push_back(Received::Ifp {
            seq: number as u16,
            ifp,
            via,
        });
        self.next += 1;
        true
    }

    /// Reports the run of missing packets at the head as lost, stopping at the next packet
    /// that is here or at `limit`.
    fn give_up_gap(&mut self, limit: u64) {
        let first = self.next;
        while self.next < limit && self.slot(self.next).is_none_or(|slot| slot.ifp.is_none()) {
            self.next += 1;
        }
        let count = self.next - first;
        if count > 0 {
            self.stats.lost += count;
            self.out.push_back(Received::Lost {
                first_seq: first as u16,
                count: count as u16,
            });
        }
    }

    /// Hands back everything before `limit`, giving up what is missing.
    fn release_until(&mut self, limit: u64) {
        while self.next < limit {
            if !self.deliver_next() {
                self.give_up_gap(limit);
            }
        }
        self.trim_history();
    }

    /// When the packets now held behind the first missing one started waiting: the
    /// earliest arrival among them.
    fn holding_since(&self) -> Option<u64> {
        let highest = self.highest?;
        if self.slot(self.next).is_some_and(|slot| slot.ifp.is_some()) {
            return None;
        }
        (self.next + 1..=highest)
            .filter_map(|number| self.slot(number))
            .filter(|slot| slot.ifp.is_some())
            .map(|slot| slot.arrived_us)
            .min()
    }

    fn slot(&self, number: u64) -> Option<&Slot> {
        let index = usize::try_from(number.checked_sub(self.base)?).ok()?;
        self.slots.get(index)
    }

    fn slot_mut(&mut self, number: u64) -> Option<&mut Slot> {
        let index = usize::try_from(number.checked_sub(self.base)?).ok()?;
        self.slots.get_mut(index)
    }

    /// Makes room up to `number`, which callers keep within `MAX_AHEAD` of `next` plus the
    /// kept history.
    fn ensure_slot(&mut self, number: u64) {
        while self.base + (self.slots.len() as u64) <= number {
            self.slots.push_back(Slot::default());
        }
    }

    fn trim_history(&mut self) {
        while self.next.saturating_sub(self.base) > HISTORY {
            if self.slots.pop_front().is_none() {
                self.base = self.next - HISTORY;
                break;
            }
            self.base += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_the_fewest_octets() {
        assert_eq!(integer_octets(0), [0x00]);
        assert_eq!(integer_octets(3), [0x03]);
        assert_eq!(integer_octets(0x7F), [0x7F]);
        assert_eq!(integer_octets(0x80), [0x00, 0x80]);
        assert_eq!(integer_octets(200), [0x00, 0xC8]);
        assert_eq!(integer_octets(0x1234), [0x12, 0x34]);
        assert_eq!(integer_octets(u32::MAX), [0x00, 0xFF, 0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn parity_groups_interleave_by_the_number_of_blocks() {
        // History newest first: packet ages 1..=6 hold 1..=6.
        let history: VecDeque<Vec<u8>> = (1..=6u8).map(|age| vec![age]).collect();
        // span 3, 2 blocks: block 0 covers ages 2, 4, 6; block 1 covers ages 1, 3, 5.
        assert_eq!(
            parity_blocks(&history, 3, 2),
            [vec![2 ^ 4 ^ 6], vec![1 ^ 3 ^ 5]]
        );
    }

    #[test]
    fn xor_pads_the_shorter_with_zeros() {
        let mut acc = vec![0x0F];
        xor_into(&mut acc, &[0xF0, 0xAA]);
        assert_eq!(acc, [0xFF, 0xAA]);
        xor_into(&mut acc, &[0x01]);
        assert_eq!(acc, [0xFE, 0xAA]);
    }
}
