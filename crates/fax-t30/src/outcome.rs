//! How a call ended, in numbers for programs and words for people.

use std::fmt;
use std::time::Duration;

use crate::caps::Settings;

/// The result of a call. The numeric code is stable: scripts and receipts rely on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// 0: every page was sent and confirmed (or received and confirmed).
    Ok,
    /// 1: no fax machine answered with its capabilities (T1 expired).
    NoAnswer,
    /// 2: the receiver refused the training check at every rate both sides have.
    TrainingFailed,
    /// 3: the far end stopped responding to commands (three repeats went unanswered).
    NoResponse,
    /// 4: the receiver rejected a page as unreadable too often (RTN).
    PageRejected,
    /// 5: the two machines have no mode in common.
    Incompatible,
    /// 6: the far end disconnected (DCN) before the document was complete.
    RemoteDisconnected,
    /// 7: the far end sent a frame that makes no sense at this point.
    Protocol,
    /// 8: the sending machine stopped sending commands or page data (T2 expired).
    NoCommand,
    /// 9: the document to send could not be prepared (no pages, or a page that cannot
    /// be converted to what the receiver takes).
    Document,
    /// 10: page data from the far end exceeded the size limit.
    PageTooLarge,
    /// 11: the receiver is not ready to receive (no receive capability in DIS).
    NotReceiving,
    /// 12: polling found no document at the far end (DIS without "ready to transmit").
    NothingToPoll,
}

impl Status {
    /// The stable numeric code (`t30_status` in JSON).
    pub fn code(self) -> u32 {
        match self {
            Status::Ok => 0,
            Status::NoAnswer => 1,
            Status::TrainingFailed => 2,
            Status::NoResponse => 3,
            Status::PageRejected => 4,
            Status::Incompatible => 5,
            Status::RemoteDisconnected => 6,
            Status::Protocol => 7,
            Status::NoCommand => 8,
            Status::Document => 9,
            Status::PageTooLarge => 10,
            Status::NotReceiving => 11,
            Status::NothingToPoll => 12,
        }
    }

    /// A sentence a person understands.
    pub fn text(self) -> &'static str {
        match self {
            Status::Ok => "fax completed",
            Status::NoAnswer => "no answer from a fax machine",
            Status::TrainingFailed => "receiver refused the training at all rates",
            Status::NoResponse => "the far end stopped responding",
            Status::PageRejected => "receiver rejected a page as unreadable",
            Status::Incompatible => "the fax machines have no mode in common",
            Status::RemoteDisconnected => "the far end hung up before the fax was complete",
            Status::Protocol => "the far end broke the fax protocol",
            Status::NoCommand => "the sending machine stopped sending",
            Status::Document => "the document could not be prepared for this receiver",
            Status::PageTooLarge => "a received page was larger than allowed",
            Status::NotReceiving => "the far end is not ready to receive a fax",
            Status::NothingToPoll => "the far end has no document to be polled",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// Everything known at the end of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Success, or why not.
    pub status: Status,
    /// Pages confirmed by the receiver (sending) or accepted (receiving).
    pub pages: u32,
    /// The far end's identifier (CSI when sending, TSI when receiving), if it sent one.
    pub remote_ident: Option<String>,
    /// The last settings in force, if negotiation got that far.
    pub settings: Option<Settings>,
    /// From the start of the call to the end.
    pub duration: Duration,
    /// A detail for the log: which frame or timer ended the call.
    pub detail: Option<String>,
}
