//! Error correction mode bookkeeping (T.30 Annex A, T.4 Annex A): a page's coded data
//! cut into numbered frames, grouped in blocks of up to 256 frames; the partial page
//! signal (PPS) that ends a block; the partial page request (PPR) map of frames to send
//! again.

use crate::frame::{Fcf, Frame, X_BIT};

/// Frames in a block at most (frame numbers are one octet).
pub const FRAMES_PER_BLOCK: usize = 256;
/// Octets in a PPR frame map: one bit per frame of a block.
pub const PPR_MAP_LEN: usize = FRAMES_PER_BLOCK / 8;
/// T.30 Annex A: after this many PPRs for one block the sender must decide to
/// continue at a lower rate (CTC) or stop correcting (EOR).
pub const PPRS_BEFORE_CTC: u32 = 4;

/// The sending side of one page: its frames and which still need to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageBlocks {
    frame_size: usize,
    data: Vec<u8>,
    /// Index of the block being sent.
    block: usize,
    /// Frames of the current block still to (re)send.
    pending: Vec<bool>,
}

impl PageBlocks {
    /// Cuts `data` into frames of `frame_size` octets (the last may be shorter).
    pub fn new(data: Vec<u8>, frame_size: usize) -> PageBlocks {
        let mut blocks = PageBlocks {
            frame_size: frame_size.max(1),
            data,
            block: 0,
            pending: Vec::new(),
        };
        blocks.pending = vec![true; blocks.frames_in_block()];
        blocks
    }

    /// Blocks this page needs.
    pub fn block_count(&self) -> usize {
        self.data
            .len()
            .div_ceil(self.frame_size * FRAMES_PER_BLOCK)
            .max(1)
    }

    /// Index of the block being sent (counts from 0).
    pub fn block(&self) -> usize {
        self.block
    }

    /// Whether the current block is the page's last.
    pub fn is_last_block(&self) -> bool {
        self.block + 1 >= self.block_count()
    }

    /// Frames in the current block.
    pub fn frames_in_block(&self) -> usize {
        let start = self.block * self.frame_size * FRAMES_PER_BLOCK;
        let left = self.data.len().saturating_sub(start);
        left.div_ceil(self.frame_size).clamp(1, FRAMES_PER_BLOCK)
    }

    /// The FCD frames still pending in the current block, then three RCP frames.
    pub fn burst(&self) -> Vec<Frame> {
        let start = self.block * self.frame_size * FRAMES_PER_BLOCK;
        let mut frames = Vec::new();
        for (n, pending) in self.pending.iter().enumerate() {
            if !pending {
                continue;
            }
            let from = (start + n * self.frame_size).min(self.data.len());
            let to = (from + self.frame_size).min(self.data.len());
            let mut info = Vec::with_capacity(1 + to - from);
            info.push(n as u8);
            info.extend_from_slice(&self.data[from..to]);
            frames.push(Frame::new(Fcf::Fcd, info));
        }
        for _ in 0..3 {
            frames.push(Frame::bare(Fcf::Rcp));
        }
        frames
    }

    /// Applies a PPR: only the frames it names remain pending. Returns how many.
    pub fn apply_ppr(&mut self, map: &[u8]) -> usize {
        for (n, pending) in self.pending.iter_mut().enumerate() {
            *pending = map.get(n / 8).is_some_and(|b| b & (1 << (n % 8)) != 0);
        }
        self.pending.iter().filter(|p| **p).count()
    }

    /// Moves to the next block; false if the page had no more.
    pub fn next_block(&mut self) -> bool {
        if self.is_last_block() {
            return false;
        }
        self.block += 1;
        self.pending = vec![true; self.frames_in_block()];
        true
    }
}

/// The content of a PPS (or EOR) frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialPage {
    /// The post-page command this block ends with (MPS, EOP, EOM, ...), or `None` for
    /// PPS-NULL (more blocks of the same page follow).
    pub command: Option<Fcf>,
    /// Page counter, modulo 256.
    pub page: u8,
    /// Block counter, modulo 256.
    pub block: u8,
    /// Frames in the block.
    pub frames: usize,
}

impl PartialPage {
    /// The PPS information field; `x_bit` as on the PPS frame itself.
    pub fn to_info(self, x_bit: bool) -> Vec<u8> {
        let fcf2 = match self.command {
            Some(fcf) => fcf.code() | if x_bit { X_BIT } else { 0 },
            None => 0x00,
        };
        vec![
            fcf2,
            self.page,
            self.block,
            (self.frames.clamp(1, FRAMES_PER_BLOCK) - 1) as u8,
        ]
    }

    /// Reads a PPS information field; `None` if it is malformed.
    pub fn from_info(info: &[u8]) -> Option<PartialPage> {
        let [fcf2, page, block, count, ..] = *info else {
            return None;
        };
        let command = match fcf2 & !X_BIT {
            0x00 => None,
            other => Some(Fcf::from_octet(other)?),
        };
        Some(PartialPage {
            command,
            page,
            block,
            frames: usize::from(count) + 1,
        })
    }
}

/// The receiving side of one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockReceiver {
    frames: Vec<Option<Vec<u8>>>,
}

impl Default for BlockReceiver {
    fn default() -> Self {
        BlockReceiver {
            frames: vec![None; FRAMES_PER_BLOCK],
        }
    }
}

impl BlockReceiver {
    /// Stores an FCD frame's information field (frame number, then data). Frames that
    /// are too long are refused (the peer's fault; they count as missing).
    pub fn store(&mut self, info: &[u8], max_frame: usize) {
        if let [number, data @ ..] = info
            && data.len() <= max_frame
        {
            self.frames[usize::from(*number)] = Some(data.to_vec());
        }
    }

    /// The PPR map for a block of `frames` frames, or `None` if every frame is here.
    pub fn missing(&self, frames: usize) -> Option<Vec<u8>> {
        let mut map = vec![0u8; PPR_MAP_LEN];
        let mut any = false;
        for n in 0..frames.min(FRAMES_PER_BLOCK) {
            if self.frames[n].is_none() {
                map[n / 8] |= 1 << (n % 8);
                any = true;
            }
        }
        any.then_some(map)
    }

    /// The block's data in frame order (missing frames skipped), and a fresh receiver.
    pub fn take(&mut self, frames: usize) -> Vec<u8> {
        let mut data = Vec::new();
        for slot in self.frames.iter_mut().take(frames.min(FRAMES_PER_BLOCK)) {
            if let Some(frame) = slot.take() {
                data.extend_from_slice(&frame);
            }
        }
        self.frames.iter_mut().for_each(|f| *f = None);
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_cut_into_blocks_of_frames() {
        let data: Vec<u8> = (0..256 * 256 + 300).map(|i| i as u8).collect();
        let mut page = PageBlocks::new(data.clone(), 256);
        assert_eq!(page.block_count(), 2);
        assert_eq!(page.frames_in_block(), 256);
        let burst = page.burst();
        assert_eq!(burst.len(), 256 + 3);
        assert_eq!(burst[5].info[0], 5);
        assert_eq!(&burst[5].info[1..], &data[5 * 256..6 * 256]);
        assert!(page.next_block());
        assert_eq!(page.frames_in_block(), 2);
        let burst = page.burst();
        assert_eq!(burst[1].info.len(), 1 + 44);
        assert!(!page.next_block());
    }

    #[test]
    fn ppr_leaves_only_the_named_frames() {
        let mut page = PageBlocks::new(vec![7; 64 * 20], 64);
        let mut map = vec![0u8; PPR_MAP_LEN];
        map[0] = 0b0000_0101; // frames 0 and 2
        map[2] = 0b1000_0000; // frame 23: beyond the block, ignored
        assert_eq!(page.apply_ppr(&map), 2);
        let burst = page.burst();
        let numbers: Vec<u8> = burst
            .iter()
            .filter(|f| f.fcf == Fcf::Fcd)
            .map(|f| f.info[0])
            .collect();
        assert_eq!(numbers, vec![0, 2]);
    }

    #[test]
    fn receiver_reports_missing_frames_and_reassembles() {
        let mut rx = BlockReceiver::default();
        rx.store(&[0, 1, 2], 256);
        rx.store(&[2, 5, 6], 256);
        let map = rx.missing(3).expect("frame 1 missing");
        assert_eq!(map[0], 0b010);
        rx.store(&[1, 3, 4], 256);
        assert!(rx.missing(3).is_none());
        assert_eq!(rx.take(3), vec![1, 2, 3, 4, 5, 6]);
        assert!(rx.missing(1).is_some());
        rx.store(&[], 256);
        rx.store(&[9; 300], 256);
        assert!(rx.missing(10).is_some());
    }

    #[test]
    fn pps_round_trips() {
        for command in [None, Some(Fcf::Mps), Some(Fcf::Eop), Some(Fcf::Eom)] {
            let pps = PartialPage {
                command,
                page: 3,
                block: 1,
                frames: 256,
            };
            assert_eq!(PartialPage::from_info(&pps.to_info(true)), Some(pps));
        }
        assert_eq!(PartialPage::from_info(&[0, 1]), None);
        assert_eq!(PartialPage::from_info(&[0x77, 0, 0, 0]), None);
    }
}
