//! T.30 HDLC frames: address, control, facsimile control field (FCF), information field.
//!
//! Frames here are the octets between the flags, without the FCS (the physical layer
//! checks and strips it and says whether it was good). Octets are in the order they are
//! sent, each with its first-transmitted bit in the least significant position, which is
//! how T.38 carries them and how SpanDSP writes its FCF constants.

use std::fmt;

/// Every T.30 frame's address octet.
pub const ADDRESS: u8 = 0xff;
/// Control octet of a frame that is not the last of its burst.
pub const CONTROL_NOT_FINAL: u8 = 0x03;
/// Control octet of the last frame of a burst (the P/F bit set).
pub const CONTROL_FINAL: u8 = 0x13;

/// The X bit of the FCF: set by the station that received a valid DIS, so that a
/// station can tell its own echoed frames from the far end's.
pub const X_BIT: u8 = 0x01;

/// Longest information field faxgate accepts: an ECM frame (256 octets of data plus the
/// frame number) is the longest T.30 sends.
pub const MAX_INFO_LEN: usize = 260;

/// The facsimile control field values of T.30 Table 1 (and T.4 Annex A for FCD/RCP),
/// without the X bit. Variant order follows the table: initial identification, command
/// to send, pre-message response, post-message commands, post-message responses, other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fcf {
    /// Digital identification signal: the called station's capabilities.
    Dis,
    /// Called subscriber identification.
    Csi,
    /// Non-standard facilities.
    Nsf,
    /// Digital transmit command (polling).
    Dtc,
    /// Calling subscriber identification.
    Cig,
    /// Non-standard facilities command.
    Nsc,
    /// Digital command signal: the settings the sender chose.
    Dcs,
    /// Transmitting subscriber identification.
    Tsi,
    /// Non-standard facilities set-up.
    Nss,
    /// Sub-address.
    Sub,
    /// Password / sender identification.
    Sid,
    /// Continue to correct (ECM).
    Ctc,
    /// Confirmation to receive: training was good.
    Cfr,
    /// Failure to train.
    Ftt,
    /// Response for continue to correct (ECM).
    Ctr,
    /// End of message: a page follows after a return to phase B.
    Eom,
    /// Multipage signal: another page follows with the same settings.
    Mps,
    /// End of procedure: that was the last page.
    Eop,
    /// Procedure interrupt, end of message.
    PriEom,
    /// Procedure interrupt, multipage.
    PriMps,
    /// Procedure interrupt, end of procedure.
    PriEop,
    /// Partial page signal (ECM), followed by a post-message command octet.
    Pps,
    /// End of retransmission (ECM).
    Eor,
    /// Receiver ready? (ECM flow control).
    Rr,
    /// Message confirmation: the page was received well.
    Mcf,
    /// Retrain positive: the page was acceptable, retrain before the next.
    Rtp,
    /// Retrain negative: the page was not acceptable.
    Rtn,
    /// Procedure interrupt positive.
    Pip,
    /// Procedure interrupt negative.
    Pin,
    /// Partial page request (ECM): the frames still missing.
    Ppr,
    /// Receive not ready (ECM flow control).
    Rnr,
    /// Response for end of retransmission (ECM).
    Err,
    /// Disconnect.
    Dcn,
    /// Command repeat: the last frame was received in error.
    Crp,
    /// Field not valid.
    Fnv,
    /// Facsimile coded data (ECM, T.4 Annex A).
    Fcd,
    /// Return to control for partial page (ECM, T.4 Annex A).
    Rcp,
}

/// (FCF, octet value without the X bit). One table for both directions.
const CODES: [(Fcf, u8); 37] = [
    (Fcf::Dis, 0x80),
    (Fcf::Csi, 0x40),
    (Fcf::Nsf, 0x20),
    (Fcf::Dtc, 0x81),
    (Fcf::Cig, 0x41),
    (Fcf::Nsc, 0x21),
    (Fcf::Dcs, 0x82),
    (Fcf::Tsi, 0x42),
    (Fcf::Nss, 0x22),
    (Fcf::Sub, 0xc2),
    (Fcf::Sid, 0xa2),
    (Fcf::Ctc, 0x12),
    (Fcf::Cfr, 0x84),
    (Fcf::Ftt, 0x44),
    (Fcf::Ctr, 0xc4),
    (Fcf::Eom, 0x8e),
    (Fcf::Mps, 0x4e),
    (Fcf::Eop, 0x2e),
    (Fcf::PriEom, 0x9e),
    (Fcf::PriMps, 0x5e),
    (Fcf::PriEop, 0x3e),
    (Fcf::Pps, 0xbe),
    (Fcf::Eor, 0xce),
    (Fcf::Rr, 0x6e),
    (Fcf::Mcf, 0x8c),
    (Fcf::Rtp, 0xcc),
    (Fcf::Rtn, 0x4c),
    (Fcf::Pip, 0xac),
    (Fcf::Pin, 0x2c),
    (Fcf::Ppr, 0xbc),
    (Fcf::Rnr, 0xec),
    (Fcf::Err, 0x1c),
    (Fcf::Dcn, 0xfa),
    (Fcf::Crp, 0x1a),
    (Fcf::Fnv, 0xca),
    (Fcf::Fcd, 0x06),
    (Fcf::Rcp, 0x86),
];

impl Fcf {
    /// The octet value, X bit clear.
    pub fn code(self) -> u8 {
        CODES
            .iter()
            .find(|(f, _)| *f == self)
            .map_or(0, |(_, c)| *c)
    }

    /// Frames of the initial identification group (DIS, CSI, NSF, DTC, CIG, NSC) carry
    /// no X bit: they are sent before either side knows who is who.
    /// FCD and RCP, which travel in the high-speed image channel, have none either.
    pub fn has_x_bit(self) -> bool {
        !matches!(
            self,
            Fcf::Dis | Fcf::Csi | Fcf::Nsf | Fcf::Dtc | Fcf::Cig | Fcf::Nsc | Fcf::Fcd | Fcf::Rcp
        )
    }

    /// Parses an FCF octet, ignoring the X bit where the frame type has one.
    pub fn from_octet(octet: u8) -> Option<Fcf> {
        CODES
            .iter()
            .find(|(f, c)| *c == octet || (f.has_x_bit() && *c == octet & !X_BIT))
            .map(|(f, _)| *f)
    }

    /// The short name T.30 uses.
    pub fn name(self) -> &'static str {
        match self {
            Fcf::Dis => "DIS",
            Fcf::Csi => "CSI",
            Fcf::Nsf => "NSF",
            Fcf::Dtc => "DTC",
            Fcf::Cig => "CIG",
            Fcf::Nsc => "NSC",
            Fcf::Dcs => "DCS",
            Fcf::Tsi => "TSI",
            Fcf::Nss => "NSS",
            Fcf::Sub => "SUB",
            Fcf::Sid => "SID",
            Fcf::Ctc => "CTC",
            Fcf::Cfr => "CFR",
            Fcf::Ftt => "FTT",
            Fcf::Ctr => "CTR",
            Fcf::Eom => "EOM",
            Fcf::Mps => "MPS",
            Fcf::Eop => "EOP",
            Fcf::PriEom => "PRI-EOM",
            Fcf::PriMps => "PRI-MPS",
            Fcf::PriEop => "PRI-EOP",
            Fcf::Pps => "PPS",
            Fcf::Eor => "EOR",
            Fcf::Rr => "RR",
            Fcf::Mcf => "MCF",
            Fcf::Rtp => "RTP",
            Fcf::Rtn => "RTN",
            Fcf::Pip => "PIP",
            Fcf::Pin => "PIN",
            Fcf::Ppr => "PPR",
            Fcf::Rnr => "RNR",
            Fcf::Err => "ERR",
            Fcf::Dcn => "DCN",
            Fcf::Crp => "CRP",
            Fcf::Fnv => "FNV",
            Fcf::Fcd => "FCD",
            Fcf::Rcp => "RCP",
        }
    }
}

impl fmt::Display for Fcf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why octets are not a T.30 frame. Always the peer's fault (or the line's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Peer or line: fewer than the three octets of address, control and FCF.
    #[error("frame of {0} octets is too short for address, control and FCF")]
    TooShort(usize),
    /// Peer or line: the address octet is not 0xff.
    #[error("frame address is {0:#04x}, not 0xff")]
    BadAddress(u8),
    /// Peer or line: the control octet is neither 0x03 nor 0x13.
    #[error("frame control octet is {0:#04x}, not 0x03 or 0x13")]
    BadControl(u8),
    /// Peer: an FCF this implementation does not know.
    #[error("unknown facsimile control field {0:#04x}")]
    UnknownFcf(u8),
    /// Peer: an information field longer than any T.30 frame has.
    #[error("information field of {0} octets is longer than any T.30 frame")]
    TooLong(usize),
}

/// One T.30 frame.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// What the frame is.
    pub fcf: Fcf,
    /// Whether the X bit was (or is to be) set.
    pub x_bit: bool,
    /// Whether this is the last frame of its burst.
    pub last: bool,
    /// The facsimile information field.
    pub info: Vec<u8>,
}

impl Frame {
    /// A frame with an information field.
    pub fn new(fcf: Fcf, info: Vec<u8>) -> Frame {
        Frame {
            fcf,
            x_bit: false,
            last: true,
            info,
        }
    }

    /// A frame with no information field.
    pub fn bare(fcf: Fcf) -> Frame {
        Frame::new(fcf, Vec::new())
    }

    /// Parses the octets between the flags (FCS already removed).
    pub fn parse(octets: &[u8]) -> Result<Frame, FrameError> {
        let [address, control, fcf, info @ ..] = octets else {
            return Err(FrameError::TooShort(octets.len()));
        };
        if *address != ADDRESS {
            return Err(FrameError::BadAddress(*address));
        }
        let last = match *control {
            CONTROL_FINAL => true,
            CONTROL_NOT_FINAL => false,
            other => return Err(FrameError::BadControl(other)),
        };
        if info.len() > MAX_INFO_LEN {
            return Err(FrameError::TooLong(info.len()));
        }
        let kind = Fcf::from_octet(*fcf).ok_or(FrameError::UnknownFcf(*fcf))?;
        Ok(Frame {
            fcf: kind,
            x_bit: kind.has_x_bit() && fcf & X_BIT != 0,
            last,
            info: info.to_vec(),
        })
    }

    /// The octets to send (without FCS).
    pub fn to_octets(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.info.len());
        out.push(ADDRESS);
        out.push(if self.last {
            CONTROL_FINAL
        } else {
            CONTROL_NOT_FINAL
        });
        let x = if self.x_bit && self.fcf.has_x_bit() {
            X_BIT
        } else {
            0
        };
        out.push(self.fcf.code() | x);
        out.extend_from_slice(&self.info);
        out
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fcf)?;
        if !self.info.is_empty() {
            write!(f, " [{} octets]", self.info.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fcf_round_trips_with_and_without_x() {
        for (fcf, code) in CODES {
            for x in [false, true] {
                let frame = Frame {
                    fcf,
                    x_bit: x,
                    last: !x,
                    info: vec![1, 2, 3],
                };
                let octets = frame.to_octets();
                assert_eq!(octets[2] & !X_BIT, code & !X_BIT);
                let back = Frame::parse(&octets).unwrap();
                assert_eq!(back.fcf, fcf);
                assert_eq!(back.x_bit, x && fcf.has_x_bit());
                assert_eq!(back.last, !x);
            }
        }
    }

    #[test]
    fn codes_are_distinct_even_ignoring_x() {
        for (i, (a, ca)) in CODES.iter().enumerate() {
            for (b, cb) in &CODES[i + 1..] {
                let clash = if a.has_x_bit() || b.has_x_bit() {
                    ca & !X_BIT == cb & !X_BIT
                } else {
                    ca == cb
                };
                assert!(!clash, "{a} and {b} share {ca:#04x}/{cb:#04x}");
            }
        }
    }

    #[test]
    fn bad_frames_are_errors() {
        assert_eq!(Frame::parse(&[0xff, 0x13]), Err(FrameError::TooShort(2)));
        assert_eq!(
            Frame::parse(&[0xfe, 0x13, 0x80]),
            Err(FrameError::BadAddress(0xfe))
        );
        assert_eq!(
            Frame::parse(&[0xff, 0x12, 0x80]),
            Err(FrameError::BadControl(0x12))
        );
        assert_eq!(
            Frame::parse(&[0xff, 0x13, 0x77]),
            Err(FrameError::UnknownFcf(0x77))
        );
        let mut long = vec![0xff, 0x13, 0x06];
        long.resize(3 + MAX_INFO_LEN + 1, 0);
        assert_eq!(
            Frame::parse(&long),
            Err(FrameError::TooLong(MAX_INFO_LEN + 1))
        );
    }
}
