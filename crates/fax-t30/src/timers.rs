//! T.30 timers (§5.4.3): a closed set, so the engine can always say why it woke up.

use std::fmt;
use std::time::Duration;

/// The timers T.30 defines (T3, operator intervention, has no place in an unattended
/// gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// T1: a calling terminal waiting for the far end to identify itself (DIS), or an
    /// answering one waiting for the first command.
    T1,
    /// T2: waiting for a command after a response, or for image data after CFR/MCF.
    T2,
    /// T4: waiting for the response to a command; on expiry the command is repeated.
    T4,
    /// T5: ECM flow control, waiting for the receiver to become ready (RR/RNR).
    T5,
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timer::T1 => "T1",
            Timer::T2 => "T2",
            Timer::T4 => "T4",
            Timer::T5 => "T5",
        })
    }
}

/// Timer durations; the defaults are T.30's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// T1, 35 s ± 5 s.
    pub t1: Duration,
    /// T2, 6 s ± 1 s.
    pub t2: Duration,
    /// T4, 3 s ± 15 % (manual terminals use 4.5 s; automatic ones 3 s).
    pub t4: Duration,
    /// T5, 60 s ± 5 s.
    pub t5: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_secs(35),
            t2: Duration::from_secs(6),
            t4: Duration::from_millis(3000),
            t5: Duration::from_secs(60),
        }
    }
}

impl Timers {
    /// The duration of `timer`.
    pub fn duration(&self, timer: Timer) -> Duration {
        match timer {
            Timer::T1 => self.t1,
            Timer::T2 => self.t2,
            Timer::T4 => self.t4,
            Timer::T5 => self.t5,
        }
    }
}
