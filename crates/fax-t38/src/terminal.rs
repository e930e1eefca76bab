//! A T.38 terminal: the T.30 engine carried over IFP packets in UDPTL datagrams.
//!
//! Outgoing signals become the IFP sequences a fax gateway would send for them (an
//! indicator for the tone or the modem's training, then data paced at the modem's bit
//! rate, then the end of the signal); incoming IFP packets become the frames, page data
//! and signal ends the engine understands. Like the engine, the terminal is sans-IO:
//! datagrams and the time come in, datagrams and a deadline go out.
//!
//! HDLC octets and non-ECM image data travel most significant bit first in T.38,
//! the reverse of the engine's line order; the terminal reverses them both ways.

use std::collections::VecDeque;
use std::time::Duration;

use fax_t30::caps::{Modulation, Rate};
use fax_t30::{Engine, Input, Outcome, Output, ReceivedPage, Rx, Tone, Tx};

use crate::Error;
use crate::ifp::{self, DataType, Field, FieldType, IfpPacket, Indicator, Version};
use crate::udptl::{Received, ReceiverConfig, SenderConfig, UdptlReceiver, UdptlSender};

/// How a terminal sends and receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalConfig {
    /// T.38 version spoken (IFP encoding).
    pub version: Version,
    /// UDPTL sending: error recovery and the largest datagram the far end takes.
    pub sender: SenderConfig,
    /// UDPTL receiving: reordering window.
    pub receiver: ReceiverConfig,
    /// Data is sent in packets covering this much line time.
    pub chunk: Duration,
    /// Indicators and signal ends are sent this many times (the same datagram again), so
    /// that one lost datagram cannot hide a change of signal.
    pub repeats: u32,
    /// How the training check crosses the IP network (T38FaxRateManagement).
    pub tcf: TcfMode,
}

/// T.38's two ways of handling the training check (TCF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcfMode {
    /// "transferredTCF": the sender's TCF travels as data and the receiver judges it.
    #[default]
    Transferred,
    /// "localTCF": TCF is not sent over IP; an IP network cannot damage a modem
    /// signal, so the receiving side takes the check as passed.
    Local,
}

impl Default for TerminalConfig {
    fn default() -> Self {
        TerminalConfig {
            version: Version::V0,
            sender: SenderConfig::default(),
            receiver: ReceiverConfig::new(Version::V0),
            chunk: Duration::from_millis(30),
            repeats: 3,
            tcf: TcfMode::Transferred,
        }
    }
}

/// What the terminal reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A page was received and confirmed.
    Page(ReceivedPage),
    /// The call is over.
    Done(Outcome),
}

/// One IFP packet due at a time, sent `copies` times.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    at: Duration,
    packet: IfpPacket,
    copies: u32,
}

/// A T.30 engine speaking T.38.
#[derive(Debug)]
pub struct Terminal {
    engine: Engine,
    config: TerminalConfig,
    udptl_tx: UdptlSender,
    udptl_rx: UdptlReceiver,
    now: Duration,
    started: bool,
    /// Transmissions the engine asked for, not yet begun.
    tx_queue: VecDeque<Tx>,
    /// The transmission in progress as timed steps, and when it ends.
    plan: VecDeque<Step>,
    plan_end: Option<Duration>,
    /// When the transmitter is next free (signals are separated by silence).
    tx_free_at: Duration,
    datagrams: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    engine_deadline: Option<Duration>,
    done: bool,
    // Receive state.
    last_indicator: Option<Indicator>,
    hdlc: Vec<u8>,
    hdlc_damaged: bool,
    /// A high-speed signal is in progress whose end the engine has not been told.
    high_speed_open: bool,
    errors: u64,
}

fn reverse(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b.reverse_bits()).collect()
}

fn data_type(rate: Rate) -> DataType {
    match (rate.modulation, rate.bps) {
        (Modulation::V27ter, 2400) => DataType::V27_2400,
        (Modulation::V27ter, _) => DataType::V27_4800,
        (Modulation::V29, 7200) => DataType::V29_7200,
        (Modulation::V29, _) => DataType::V29_9600,
        (Modulation::V17, 7200) => DataType::V17_7200,
        (Modulation::V17, 9600) => DataType::V17_9600,
        (Modulation::V17, 12000) => DataType::V17_12000,
        (Modulation::V17, _) => DataType::V17_14400,
    }
}

/// The training indicator for `rate`, and how long that training lasts on a line.
fn training(rate: Rate, long: bool) -> (Indicator, Duration) {
    let ms = |m| Duration::from_millis(m);
    match (rate.modulation, rate.bps, long) {
        (Modulation::V27ter, 2400, _) => (Indicator::V27_2400Training, ms(943)),
        (Modulation::V27ter, _, _) => (Indicator::V27_4800Training, ms(708)),
        (Modulation::V29, 7200, _) => (Indicator::V29_7200Training, ms(234)),
        (Modulation::V29, _, _) => (Indicator::V29_9600Training, ms(234)),
        (Modulation::V17, 7200, true) => (Indicator::V17_7200LongTraining, ms(1393)),
        (Modulation::V17, 7200, false) => (Indicator::V17_7200ShortTraining, ms(142)),
        (Modulation::V17, 9600, true) => (Indicator::V17_9600LongTraining, ms(1393)),
        (Modulation::V17, 9600, false) => (Indicator::V17_9600ShortTraining, ms(142)),
        (Modulation::V17, 12000, true) => (Indicator::V17_12000LongTraining, ms(1393)),
        (Modulation::V17, 12000, false) => (Indicator::V17_12000ShortTraining, ms(142)),
        (Modulation::V17, _, true) => (Indicator::V17_14400LongTraining, ms(1393)),
        (Modulation::V17, _, false) => (Indicator::V17_14400ShortTraining, ms(142)),
    }
}

fn is_training(indicator: Indicator) -> bool {
    !matches!(
        indicator,
        Indicator::NoSignal | Indicator::Cng | Indicator::Ced | Indicator::V21Preamble
    )
}

/// Line time of `octets` at `bps`.
fn line_time(octets: usize, bps: u32) -> Duration {
    Duration::from_micros(octets as u64 * 8 * 1_000_000 / u64::from(bps.max(1)))
}

/// Silence between signals (T.30 §5: 75 ms ± 20 ms).
const GAP: Duration = Duration::from_millis(75);
/// HDLC flags sent after training before the first frame.
const FLAGS: Duration = Duration::from_millis(200);
/// V.21 preamble: one second of flags.
const V21_PREAMBLE: Duration = Duration::from_secs(1);
/// CED lasts 2.6 to 4 s; SpanDSP sends 3 s.
const CED: Duration = Duration::from_millis(3000);

impl Terminal {
    /// A terminal around `engine`.
    pub fn new(engine: Engine, config: TerminalConfig) -> Result<Terminal, Error> {
        Ok(Terminal {
            engine,
            udptl_tx: UdptlSender::new(config.sender)?,
            udptl_rx: UdptlReceiver::new(config.receiver)?,
            config,
            now: Duration::ZERO,
            started: false,
            tx_queue: VecDeque::new(),
            plan: VecDeque::new(),
            plan_end: None,
            tx_free_at: Duration::ZERO,
            datagrams: VecDeque::new(),
            events: VecDeque::new(),
            engine_deadline: None,
            done: false,
            last_indicator: None,
            hdlc: Vec::new(),
            hdlc_damaged: false,
            high_speed_open: false,
            errors: 0,
        })
    }

    /// Starts the call at `now`.
    pub fn start(&mut self, now: Duration) {
        if self.started {
            return;
        }
        self.started = true;
        self.now = now;
        self.tx_free_at = now;
        self.engine.start(now);
        self.pump();
    }

    /// The engine (for its transcript and settings).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether the call is over and everything to send has been handed out.
    pub fn is_done(&self) -> bool {
        self.done && self.plan.is_empty() && self.datagrams.is_empty()
    }

    /// Datagrams or IFP packets from the far end that could not be used.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The next datagram to send, if any.
    pub fn poll_datagram(&mut self) -> Option<Vec<u8>> {
        self.datagrams.pop_front()
    }

    /// The next page or the end of the call, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When the terminal next needs [`Terminal::handle_timeout`].
    pub fn deadline(&self) -> Option<Duration> {
        let pacing = self.plan.front().map(|s| s.at).or(self.plan_end);
        let udptl = self.udptl_rx.deadline().map(Duration::from_micros);
        [pacing, self.engine_deadline, udptl]
            .into_iter()
            .flatten()
            .min()
    }

    /// Time has reached `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.now = now.max(self.now);
        self.drain_udptl();
        self.engine.handle_timeout(self.now);
        self.pump();
    }

    /// A datagram from the far end arrived at `now`.
    pub fn handle_datagram(&mut self, now: Duration, datagram: &[u8]) {
        self.now = now.max(self.now);
        if self.udptl_rx.receive(datagram, micros(self.now)).is_err() {
            self.errors += 1;
        }
        self.drain_udptl();
        self.pump();
    }

    fn drain_udptl(&mut self) {
        while let Some(received) = self.udptl_rx.next(micros(self.now)) {
            match received {
                Received::Ifp { ifp, .. } => match ifp::decode(&ifp, self.config.version) {
                    Ok(packet) => self.on_packet(packet),
                    Err(_) => self.errors += 1,
                },
                Received::Lost { .. } | Received::Jump { .. } => {
                    // Whatever frame was being assembled lost part of itself.
                    if !self.hdlc.is_empty() {
                        self.hdlc_damaged = true;
                    }
                }
            }
        }
    }

    // ---- receiving ----

    fn on_packet(&mut self, packet: IfpPacket) {
        match packet {
            IfpPacket::Indicator(indicator) => {
                if self.last_indicator == Some(indicator) {
                    return; // a repeat
                }
                self.last_indicator = Some(indicator);
                self.hdlc.clear();
                self.hdlc_damaged = false;
                if self.high_speed_open && !is_training(indicator) {
                    // The carrier dropped without an explicit end.
                    self.high_speed_open = false;
                    self.engine.handle_input(self.now, Input::DataEnd);
                }
                if is_training(indicator) {
                    self.high_speed_open = true;
                }
            }
            IfpPacket::Data { data_type, fields } => {
                self.last_indicator = None;
                let v21 = data_type == DataType::V21;
                for field in fields {
                    self.on_field(v21, field);
                }
            }
        }
    }

    fn on_field(&mut self, v21: bool, field: Field) {
        match field.field_type {
            FieldType::HdlcData => self.hdlc.extend(reverse(&field.data)),
            FieldType::HdlcFcsOk
            | FieldType::HdlcFcsBad
            | FieldType::HdlcFcsOkSigEnd
            | FieldType::HdlcFcsBadSigEnd => {
                let good = matches!(
                    field.field_type,
                    FieldType::HdlcFcsOk | FieldType::HdlcFcsOkSigEnd
                ) && !self.hdlc_damaged;
                if !self.hdlc.is_empty() {
                    let octets = std::mem::take(&mut self.hdlc);
                    let input = if v21 {
                        Input::Frame {
                            octets: &octets,
                            fcs_ok: good,
                        }
                    } else {
                        Input::EcmFrame {
                            octets: &octets,
                            fcs_ok: good,
                        }
                    };
                    self.engine.handle_input(self.now, input);
                }
                self.hdlc_damaged = false;
                if matches!(
                    field.field_type,
                    FieldType::HdlcFcsOkSigEnd | FieldType::HdlcFcsBadSigEnd
                ) {
                    self.end_of_signal(v21);
                }
            }
            FieldType::HdlcSigEnd => {
                self.hdlc.clear();
                self.hdlc_damaged = false;
                self.end_of_signal(v21);
            }
            FieldType::T4NonEcmData if self.high_speed_open => {
                self.engine
                    .handle_input(self.now, Input::Data(&reverse(&field.data)));
            }
            FieldType::T4NonEcmSigEnd if self.high_speed_open => {
                if !field.data.is_empty() {
                    self.engine
                        .handle_input(self.now, Input::Data(&reverse(&field.data)));
                }
                self.end_of_signal(false);
            }
            _ => {}
        }
    }

    fn end_of_signal(&mut self, v21: bool) {
        if !v21 && self.high_speed_open {
            self.high_speed_open = false;
            self.engine.handle_input(self.now, Input::DataEnd);
        }
    }

    // ---- sending ----

    /// Runs the engine and the transmitter until neither has anything due now.
    fn pump(&mut self) {
        loop {
            let mut progressed = false;
            loop {
                match self.engine.poll_output() {
                    Output::Transmit(tx) => self.tx_queue.push_back(tx),
                    Output::Receive(Rx::Tcf(rate)) if self.config.tcf == TcfMode::Local => {
                        // Nothing will arrive: stand in for a perfect training check.
                        let zeros = vec![0u8; rate.bps as usize * 3 / 2 / 8];
                        self.engine.handle_input(self.now, Input::Data(&zeros));
                        self.engine.handle_input(self.now, Input::DataEnd);
                    }
                    Output::Receive(_) => {}
                    Output::Page(page) => self.events.push_back(Event::Page(page)),
                    Output::Done(outcome) => {
                        self.done = true;
                        self.events.push_back(Event::Done(outcome));
                    }
                    Output::Wait(deadline) => {
                        self.engine_deadline = deadline;
                        break;
                    }
                }
            }
            if self.plan.is_empty()
                && self.plan_end.is_none()
                && let Some(tx) = self.tx_queue.pop_front()
            {
                self.plan_transmission(tx);
                progressed = true;
            }
            while self.plan.front().is_some_and(|s| s.at <= self.now) {
                if let Some(step) = self.plan.pop_front() {
                    self.send_packet(&step.packet, step.copies);
                    progressed = true;
                }
            }
            if self.plan.is_empty() && self.plan_end.is_some_and(|end| end <= self.now) {
                self.plan_end = None;
                self.engine.handle_input(self.now, Input::TxDone);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
    }

    fn send_packet(&mut self, packet: &IfpPacket, copies: u32) {
        let Ok(ifp) = ifp::encode(packet, self.config.version) else {
            self.errors += 1;
            return;
        };
        // Copies share one sequence number, so the far end's UDPTL layer keeps only
        // the first that arrives (SpanDSP sends its repeats the same way).
        match self.udptl_tx.packetize(&ifp) {
            Ok(datagram) => {
                for _ in 1..copies.max(1) {
                    self.datagrams.push_back(datagram.clone());
                }
                self.datagrams.push_back(datagram);
            }
            Err(_) => self.errors += 1,
        }
    }

    /// Lays out a transmission as timed IFP packets, the way a gateway would send the
    /// signal: indicator, training time, data paced at the bit rate, end of signal.
    fn plan_transmission(&mut self, tx: Tx) {
        let repeats = self.config.repeats;
        let mut t = self.tx_free_at.max(self.now);
        let mut steps: Vec<Step> = Vec::new();
        let push = |steps: &mut Vec<Step>, at: Duration, packet: IfpPacket, copies: u32| {
            steps.push(Step { at, packet, copies });
        };
        let end = match tx {
            Tx::Tone(Tone::Cng) => {
                push(&mut steps, t, IfpPacket::Indicator(Indicator::Cng), repeats);
                t + Duration::from_millis(500)
            }
            Tx::Tone(Tone::Ced) => {
                t += Duration::from_millis(200);
                push(&mut steps, t, IfpPacket::Indicator(Indicator::Ced), repeats);
                t + CED
            }
            Tx::Frames(frames) => {
                push(
                    &mut steps,
                    t,
                    IfpPacket::Indicator(Indicator::V21Preamble),
                    repeats,
                );
                t += V21_PREAMBLE;
                let count = frames.len();
                for (i, frame) in frames.into_iter().enumerate() {
                    let last = i + 1 == count;
                    t = self.plan_hdlc_frame(&mut steps, t, DataType::V21, 300, &frame, last);
                }
                t + GAP
            }
            Tx::Tcf(rate) if self.config.tcf == TcfMode::Local => {
                // Only the training indicator; the far end makes its own check.
                let (indicator, train) = training(rate, true);
                push(&mut steps, t, IfpPacket::Indicator(indicator), repeats);
                t + train
            }
            Tx::Tcf(rate) => {
                let zeros = rate.bps as usize * 3 / 2 / 8;
                self.plan_high_speed(&mut steps, t, rate, true, vec![0; zeros])
            }
            Tx::Image { rate, data } => self.plan_high_speed(&mut steps, t, rate, false, data),
            Tx::EcmBlock { rate, frames } => {
                let (indicator, train) = training(rate, false);
                push(&mut steps, t, IfpPacket::Indicator(indicator), repeats);
                t += train + FLAGS;
                let dt = data_type(rate);
                let count = frames.len();
                for (i, frame) in frames.into_iter().enumerate() {
                    let last = i + 1 == count;
                    t = self.plan_hdlc_frame(&mut steps, t, dt, rate.bps, &frame, last);
                }
                push(
                    &mut steps,
                    t + GAP,
                    IfpPacket::Indicator(Indicator::NoSignal),
                    repeats,
                );
                t + GAP
            }
        };
        let end = end.max(steps.last().map_or(end, |s| s.at));
        self.plan = steps.into();
        self.plan_end = Some(end);
        self.tx_free_at = end + GAP;
    }

    /// One HDLC frame as paced data packets: its octets (in pieces small enough for the
    /// far end's datagram size), then FCS-OK (with the signal's end after the last frame
    /// of a burst). Returns when the frame has gone out on the line.
    fn plan_hdlc_frame(
        &self,
        steps: &mut Vec<Step>,
        mut t: Duration,
        data_type: DataType,
        bps: u32,
        frame: &fax_t30::Frame,
        last: bool,
    ) -> Duration {
        let octets = reverse(&frame.to_octets());
        let pieces: Vec<&[u8]> = octets.chunks(self.max_field()).collect();
        let count = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            // The FCS and closing flag take three more octets of line time.
            let extra = if i + 1 == count { 3 } else { 0 };
            t += line_time(piece.len() + extra, bps);
            let mut fields = vec![Field::new(FieldType::HdlcData, piece.to_vec())];
            if i + 1 == count {
                let end = if last {
                    FieldType::HdlcFcsOkSigEnd
                } else {
                    FieldType::HdlcFcsOk
                };
                // Data-less fields go last: SpanDSP refuses them before other fields.
                fields.push(Field::new(end, Vec::new()));
            }
            steps.push(Step {
                at: t,
                packet: IfpPacket::Data { data_type, fields },
                copies: if last && i + 1 == count {
                    self.config.repeats
                } else {
                    1
                },
            });
        }
        t
    }

    /// Largest data field that fits one datagram with the UDPTL and IFP framing
    /// (about 16 octets) around it.
    fn max_field(&self) -> usize {
        self.config.sender.max_datagram.saturating_sub(16).max(1)
    }

    /// Training, then non-ECM data in chunks of line time, the last marked as the end.
    fn plan_high_speed(
        &self,
        steps: &mut Vec<Step>,
        start: Duration,
        rate: Rate,
        long_training: bool,
        data: Vec<u8>,
    ) -> Duration {
        let repeats = self.config.repeats;
        let (indicator, train) = training(rate, long_training);
        let mut t = start;
        steps.push(Step {
            at: t,
            packet: IfpPacket::Indicator(indicator),
            copies: repeats,
        });
        t += train;
        let dt = data_type(rate);
        // Chunk size: the line time of one packet, within the datagram limit (leaving
        // room for the UDPTL header and IFP framing).
        let per_chunk = (rate.bps as usize * self.config.chunk.as_millis() as usize / 8000)
            .clamp(1, self.max_field());
        let chunks: Vec<&[u8]> = data.chunks(per_chunk).collect();
        let count = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let last = i + 1 == count;
            steps.push(Step {
                at: t,
                packet: IfpPacket::Data {
                    data_type: dt,
                    fields: vec![Field::new(
                        if last {
                            FieldType::T4NonEcmSigEnd
                        } else {
                            FieldType::T4NonEcmData
                        },
                        reverse(chunk),
                    )],
                },
                copies: if last { repeats } else { 1 },
            });
            t += line_time(chunk.len(), rate.bps);
        }
        if count == 0 {
            steps.push(Step {
                at: t,
                packet: IfpPacket::Data {
                    data_type: dt,
                    fields: vec![Field::new(FieldType::T4NonEcmSigEnd, Vec::new())],
                },
                copies: repeats,
            });
        }
        steps.push(Step {
            at: t + GAP,
            packet: IfpPacket::Indicator(Indicator::NoSignal),
            copies: repeats,
        });
        t + GAP
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
