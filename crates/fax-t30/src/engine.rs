//! The T.30 state machine, phases A to E, with and without error correction mode.
//!
//! Which end called and which end sends the document are independent: the usual call
//! has the caller send and the answerer receive; polling turns it round (the caller
//! asks with DTC, the answerer sends). The protocol halves below are the transmitter
//! (`transmitter_frame`) and the receiver (`receiver_frame`); the role only decides
//! phase A (CNG or CED), who sends DIS, and the X bit.
//!
//! The engine is driven by a physical layer through [`Engine::handle_input`] and
//! [`Engine::handle_timeout`], and tells it what to do through [`Engine::poll_output`].
//! Time is a [`Duration`] since the start of the call, always passed in.

use std::collections::VecDeque;
use std::time::Duration;

use fax_t4::{Bitmap, DecodeOptions, EncodeOptions, Resolution};

use crate::caps::{
    Capabilities, FALLBACK, PageWidth, SendPreferences, Settings, VerticalResolution,
    choose_settings, next_slower,
};
use crate::ecm::{BlockReceiver, PPRS_BEFORE_CTC, PageBlocks, PartialPage};
use crate::frame::{Fcf, Frame};
use crate::ident;
use crate::outcome::{Outcome, Status};
use crate::timers::{Timer, Timers};

/// Which end of the call this terminal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Dialled out: sends CNG and waits for DIS; then sends its document, or (when it
    /// has none) polls the far end's with DTC.
    Caller,
    /// Answered: sends CED and DIS; then receives, or (when it has a document and says
    /// so in DIS) waits to be polled and sends it.
    Answerer,
}

/// Call tones of phase A.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Calling tone, 1100 Hz.
    Cng,
    /// Called terminal identification, 2100 Hz.
    Ced,
}

/// Something for the physical layer to send. Items are sent in the order given, each
/// after the previous has finished (the physical layer inserts the 75 ms gaps T.30
/// asks for between signals), and each is acknowledged with [`Input::TxDone`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tx {
    /// A call tone.
    Tone(Tone),
    /// One burst of V.21 HDLC frames; the last has its final bit set.
    Frames(Vec<Frame>),
    /// The training check: 1.5 s of zeros at `rate`, after the modem's training.
    Tcf(crate::caps::Rate),
    /// A page of T.4 data (with EOLs and RTC) at `rate`, octets in line order (first
    /// bit in the least significant position).
    Image {
        /// Modem and bit rate.
        rate: crate::caps::Rate,
        /// The coded page.
        data: Vec<u8>,
    },
    /// An ECM block: HDLC frames (FCD ..., RCP x3) at `rate`.
    EcmBlock {
        /// Modem and bit rate.
        rate: crate::caps::Rate,
        /// The frames, in order.
        frames: Vec<Frame>,
    },
}

/// What the physical layer should listen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rx {
    /// V.21 HDLC control frames.
    V21,
    /// The training check at `rate` (V.21 frames may still arrive instead).
    Tcf(crate::caps::Rate),
    /// Page data at `rate` (V.21 frames may still arrive instead).
    Image(crate::caps::Rate),
    /// ECM frames at `rate`, delivered as [`Input::EcmFrame`] (V.21 frames may still
    /// arrive instead).
    Ecm(crate::caps::Rate),
}

/// An event from the physical layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// A V.21 HDLC control frame (without FCS); `fcs_ok` is false if its check
    /// sequence failed.
    Frame {
        /// The frame octets, first bit of each in the least significant position.
        octets: &'a [u8],
        /// Whether the frame check sequence was good.
        fcs_ok: bool,
    },
    /// A high-speed ECM frame (FCD or RCP, without FCS).
    EcmFrame {
        /// The frame octets, as for [`Input::Frame`].
        octets: &'a [u8],
        /// Whether the frame check sequence was good.
        fcs_ok: bool,
    },
    /// High-speed data (TCF or page), octets in line order.
    Data(&'a [u8]),
    /// The high-speed signal ended.
    DataEnd,
    /// The oldest [`Tx`] not yet acknowledged has been sent completely.
    TxDone,
}

/// A page the answering terminal accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPage {
    /// The decoded page; damaged rows repaired from the row above.
    pub bitmap: Bitmap,
    /// Rows that could not be decoded.
    pub bad_rows: u32,
    /// Longest run of consecutive bad rows.
    pub longest_bad_run: u32,
    /// The settings the page arrived with.
    pub settings: Settings,
}

/// What the engine asks of its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this (after anything sent before it).
    Transmit(Tx),
    /// Listen for this from now on.
    Receive(Rx),
    /// A page was received and confirmed; store it.
    Page(ReceivedPage),
    /// The call is over; hang up.
    Done(Outcome),
    /// Nothing more for now: wake the engine with [`Engine::handle_timeout`] at this
    /// time (if any), or when input arrives.
    Wait(Option<Duration>),
}

/// Engine configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Calling or answering.
    pub role: Role,
    /// Our station identifier (TSI when sending, CSI when receiving).
    pub ident: String,
    /// What we offer (answering) or allow ourselves (calling).
    pub capabilities: Capabilities,
    /// Timer durations.
    pub timers: Timers,
    /// Largest page, in coded octets, the receiver buffers.
    pub max_page_bytes: usize,
    /// Row limit for decoding received pages.
    pub max_page_rows: u32,
}

impl Config {
    /// Defaults for `role`: faxgate's capabilities, T.30's timers, 16 MiB and 20 000
    /// rows per received page.
    pub fn new(role: Role) -> Config {
        Config {
            role,
            ident: String::new(),
            capabilities: Capabilities::faxgate(),
            timers: Timers::default(),
            max_page_bytes: 16 << 20,
            max_page_rows: 20_000,
        }
    }
}

/// Commands are repeated this many times in all before the far end is given up on.
const MAX_TRIES: u32 = 3;
/// A page rejected (RTN) this many times ends the call.
const MAX_PAGE_REJECTS: u32 = 3;

/// States, named for what they wait for, in the order of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Not started.
    Idle,
    // Calling terminal.
    /// Phase B: waiting for DIS (T1), to send or to poll.
    AwaitDis,
    /// Polled: DIS (ready to transmit) sent; waiting for DTC (T4 to repeat, until T1).
    AwaitDtc,
    /// DCS and TCF sent (or being sent); waiting for CFR/FTT (T4).
    AwaitCfr { tries: u32 },
    /// A page is being sent.
    SendingPage,
    /// Post-page command sent; waiting for MCF/RTP/RTN (T4).
    AwaitPageResponse { command: Fcf, tries: u32 },
    /// An ECM block (or its corrections) is being sent.
    SendingBlock,
    /// PPS sent; waiting for MCF/PPR/RNR (T4).
    AwaitPpsResponse { tries: u32 },
    /// CTC sent after repeated PPRs; waiting for CTR (T4).
    AwaitCtr { tries: u32 },
    /// EOR sent at the lowest rate; waiting for ERR (T4).
    AwaitErr { tries: u32 },
    /// DCN being sent.
    Disconnecting,
    // Answering terminal.
    /// DIS sent; waiting for DCS (T4 to repeat DIS, until T1).
    AwaitDcs,
    /// Waiting for the training check (T2).
    AwaitTcf,
    /// Waiting for page data (T2).
    AwaitPage,
    /// Waiting for the frames of an ECM block (T2).
    AwaitEcmBlock,
    /// ECM block ended; waiting for PPS (T2).
    AwaitPps,
    /// Page data ended; waiting for the post-page command (T2).
    AwaitPostPage,
    /// Last page confirmed; waiting for DCN (T2).
    AwaitDcn,
    /// The call is over.
    Done,
}

/// A T.30 terminal.
#[derive(Debug)]
pub struct Engine {
    /// Whether this terminal sends the document (else it receives one).
    sending: bool,
    config: Config,
    state: State,
    outputs: VecDeque<Output>,
    /// Transmissions handed out and not yet acknowledged.
    pending_tx: usize,
    /// Timer to start once every pending transmission is done.
    timer_after_tx: Option<Timer>,
    timer: Option<(Timer, Duration)>,
    /// Answering: when the far end has had long enough to send DCS (T1).
    t1_deadline: Option<Duration>,
    started_at: Duration,
    now: Duration,
    transcript: Vec<String>,
    remote_ident: Option<String>,
    remote_caps: Option<Capabilities>,
    settings: Option<Settings>,
    /// Calling: the pages to send, and the next one.
    pages: Vec<Bitmap>,
    next_page: usize,
    confirmed_pages: u32,
    page_rejects: u32,
    /// Calling: index into FALLBACK of the fastest rate still allowed.
    max_rate_index: usize,
    /// Calling: the page in flight, coded for the current settings.
    coded_page: Option<Vec<u8>>,
    /// Answering: TCF statistics and page data as they arrive.
    tcf_zero_run: u64,
    tcf_longest_zero_run: u64,
    page_data: Vec<u8>,
    page_overflow: bool,
    /// Answering: the last response sent, to repeat if the command is repeated.
    last_response: Option<Frame>,
    /// Calling, ECM: the page in flight as blocks of frames, PPRs for this block,
    /// pages sent (the PPS page counter), and when RNR flow control started.
    blocks: Option<PageBlocks>,
    pprs: u32,
    pages_started: u32,
    rnr_since: Option<Duration>,
    /// Answering, ECM: the block being received and the last block acknowledged.
    block_rx: BlockReceiver,
    last_block: Option<(u8, u8)>,
    /// Answering: T2 expiries in a row while waiting for the sender.
    t2_expiries: u32,
    /// Answering, ECM: the PPS of the block being corrected (for EOR).
    last_pps: Option<PartialPage>,
}

impl Engine {
    /// A terminal that will send `pages`: when calling, the usual sender; when answering,
    /// a polled terminal that offers them in DIS and sends them on DTC.
    pub fn sender(config: Config, pages: Vec<Bitmap>) -> Engine {
        Engine::new(config, pages)
    }

    /// A terminal that will receive: when answering, the usual receiver; when calling,
    /// a poller that fetches the far end's document.
    pub fn receiver(config: Config) -> Engine {
        let mut engine = Engine::new(config, Vec::new());
        engine.sending = false;
        engine
    }

    fn new(config: Config, pages: Vec<Bitmap>) -> Engine {
        Engine {
            sending: true,
            config,
            state: State::Idle,
            outputs: VecDeque::new(),
            pending_tx: 0,
            timer_after_tx: None,
            timer: None,
            t1_deadline: None,
            started_at: Duration::ZERO,
            now: Duration::ZERO,
            transcript: Vec::new(),
            remote_ident: None,
            remote_caps: None,
            settings: None,
            pages,
            next_page: 0,
            confirmed_pages: 0,
            page_rejects: 0,
            max_rate_index: 0,
            coded_page: None,
            tcf_zero_run: 0,
            tcf_longest_zero_run: 0,
            page_data: Vec::new(),
            page_overflow: false,
            last_response: None,
            blocks: None,
            pprs: 0,
            pages_started: 0,
            rnr_since: None,
            block_rx: BlockReceiver::default(),
            last_block: None,
            t2_expiries: 0,
            last_pps: None,
        }
    }

    /// Starts the call (phase A) at `now`.
    pub fn start(&mut self, now: Duration) {
        if self.state != State::Idle {
            return;
        }
        self.now = now;
        self.started_at = now;
        if self.sending && self.pages.is_empty() {
            self.finish(Status::Document, Some("no pages to send".into()));
            return;
        }
        match self.config.role {
            Role::Caller => {
                self.transmit(Tx::Tone(Tone::Cng));
                self.log("-> CNG".into());
                self.receive(Rx::V21);
                self.state = State::AwaitDis;
                self.set_timer(Timer::T1);
            }
            Role::Answerer => {
                self.transmit(Tx::Tone(Tone::Ced));
                self.log("-> CED".into());
                self.t1_deadline = Some(now + self.config.timers.t1);
                self.send_dis();
            }
        }
    }

    /// Whether the call is over.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The transcript so far, one line per signal (`-> DCS V.17 14400 fine MR`).
    pub fn transcript(&self) -> &[String] {
        &self.transcript
    }

    /// Pages the receiver has confirmed so far (sending) or accepted (receiving). A
    /// sender's driver records it as the call goes, so a call cut off after the last
    /// confirmation is known to have delivered the fax.
    pub fn confirmed_pages(&self) -> u32 {
        self.confirmed_pages
    }

    /// The settings in force, once negotiated.
    pub fn settings(&self) -> Option<Settings> {
        self.settings
    }

    /// When the engine next needs [`Engine::handle_timeout`], and for which timer.
    pub fn deadline(&self) -> Option<(Timer, Duration)> {
        self.timer
    }

    /// The next thing to do; [`Output::Wait`] when there is nothing more for now.
    pub fn poll_output(&mut self) -> Output {
        self.outputs
            .pop_front()
            .unwrap_or(Output::Wait(self.timer.map(|(_, at)| at)))
    }

    /// Time has reached `now`: fires the running timer if it is due.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.now = now;
        let Some((timer, at)) = self.timer else {
            return;
        };
        if now < at {
            return;
        }
        self.timer = None;
        self.log(format!("-- {timer} expired"));
        self.on_timeout(timer);
    }

    /// An event from the physical layer at `now`.
    pub fn handle_input(&mut self, now: Duration, input: Input<'_>) {
        self.now = now;
        if self.state == State::Done {
            return;
        }
        match input {
            Input::TxDone => {
                self.pending_tx = self.pending_tx.saturating_sub(1);
                if self.pending_tx == 0 {
                    self.on_all_sent();
                }
            }
            Input::Frame { octets, fcs_ok } => {
                if !fcs_ok {
                    self.log("<- (frame with bad FCS)".into());
                    self.on_bad_frame();
                    return;
                }
                match Frame::parse(octets) {
                    Ok(frame) => self.on_frame(frame),
                    Err(e) => self.log(format!("<- (unusable frame: {e})")),
                }
            }
            Input::EcmFrame { octets, fcs_ok } => {
                // A damaged ECM frame is simply missing; the PPS exchange recovers it.
                if fcs_ok
                    && let Ok(frame) = Frame::parse(octets)
                    && matches!(frame.fcf, Fcf::Fcd | Fcf::Rcp)
                {
                    self.on_frame(frame);
                }
            }
            Input::Data(data) => self.on_data(data),
            Input::DataEnd => self.on_data_end(),
        }
    }

    // ---- output helpers ----

    fn transmit(&mut self, tx: Tx) {
        self.pending_tx += 1;
        self.outputs.push_back(Output::Transmit(tx));
    }

    fn receive(&mut self, rx: Rx) {
        self.outputs.push_back(Output::Receive(rx));
    }

    fn log(&mut self, line: String) {
        self.transcript.push(line);
    }

    fn set_timer(&mut self, timer: Timer) {
        self.timer = Some((timer, self.now + self.config.timers.duration(timer)));
    }

    /// Starts `timer` once every pending transmission has gone out (a response timer
    /// runs from the end of the command, not its start).
    fn set_timer_after_tx(&mut self, timer: Timer) {
        self.timer = None;
        if self.pending_tx == 0 {
            self.set_timer(timer);
        } else {
            self.timer_after_tx = Some(timer);
        }
    }

    fn on_all_sent(&mut self) {
        if let Some(timer) = self.timer_after_tx.take() {
            self.set_timer(timer);
        }
        match self.state {
            State::SendingPage => self.send_post_page_command(0),
            State::SendingBlock => self.send_pps(0),
            State::Disconnecting => self.finish(Status::Ok, None),
            _ => {}
        }
    }

    fn send_frames(&mut self, frames: Vec<Frame>) {
        let count = frames.len();
        let frames: Vec<Frame> = frames
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                f.x_bit = self.config.role == Role::Caller;
                f.last = i + 1 == count;
                f
            })
            .collect();
        for f in &frames {
            let line = format!("-> {}", describe(f));
            self.log(line);
        }
        self.transmit(Tx::Frames(frames));
    }

    fn finish(&mut self, status: Status, detail: Option<String>) {
        if self.state == State::Done {
            return;
        }
        self.state = State::Done;
        self.timer = None;
        let outcome = Outcome {
            status,
            pages: self.confirmed_pages,
            remote_ident: self.remote_ident.clone(),
            settings: self.settings,
            duration: self.now.saturating_sub(self.started_at),
            detail,
        };
        self.log(format!("== {} ({})", status.text(), status.code()));
        self.outputs.push_back(Output::Done(outcome));
    }

    /// Ends the call after telling the far end (DCN), for failures seen locally.
    fn abort(&mut self, status: Status, detail: String) {
        self.send_frames(vec![Frame::bare(Fcf::Dcn)]);
        self.finish(status, Some(detail));
    }

    // ---- events ----

    fn on_timeout(&mut self, timer: Timer) {
        match (&self.state, timer) {
            (State::AwaitDis, _) => self.finish(Status::NoAnswer, Some("T1 expired".into())),
            // A command went unanswered (T4): repeat it, or give up after three tries.
            (State::AwaitCfr { tries }, _) => {
                let tries = *tries;
                self.repeat_or_give_up(tries, "DCS", |e, t| e.send_dcs_and_tcf(t));
            }
            (State::AwaitPageResponse { command, tries }, _) => {
                let (command, tries) = (*command, *tries);
                self.repeat_or_give_up(tries, command.name(), |e, t| {
                    e.repeat_post_page_command(command, t)
                });
            }
            (State::AwaitPpsResponse { tries }, _) => {
                let tries = *tries;
                self.repeat_or_give_up(tries, "PPS", |e, t| e.send_pps(t));
            }
            (State::AwaitCtr { tries }, _) => {
                let tries = *tries;
                self.repeat_or_give_up(tries, "CTC", |e, t| e.send_ctc(t));
            }
            (State::AwaitErr { tries }, _) => {
                let tries = *tries;
                self.repeat_or_give_up(tries, "EOR", |e, t| e.send_eor(t));
            }
            (State::AwaitDcs | State::AwaitDtc, _) => {
                let command = if self.state == State::AwaitDtc {
                    "DTC"
                } else {
                    "DCS"
                };
                if self.t1_deadline.is_some_and(|t1| self.now >= t1) {
                    self.finish(Status::NoCommand, Some(format!("no {command} before T1")));
                } else if self.config.role == Role::Caller {
                    self.send_dtc();
                } else {
                    self.send_dis();
                }
            }
            (State::AwaitDcn, _) => {
                // Every page is confirmed; a lost DCN changes nothing.
                self.finish(Status::Ok, Some("no DCN after the last page".into()));
            }
            (
                State::AwaitTcf
                | State::AwaitPage
                | State::AwaitPostPage
                | State::AwaitEcmBlock
                | State::AwaitPps,
                _,
            ) => {
                // The sender may be repeating a command we answered (its T4 plus the
                // command's own length exceeds one T2): wait a few T2s before giving up.
                self.t2_expiries += 1;
                if self.t2_expiries >= MAX_TRIES {
                    self.finish(Status::NoCommand, Some(format!("{timer} expired")));
                } else {
                    self.set_timer(Timer::T2);
                }
            }
            _ => {}
        }
    }

    /// Repeats an unanswered command (`tries` repeats so far), or ends the call once
    /// it has gone out [`MAX_TRIES`] times.
    fn repeat_or_give_up(
        &mut self,
        tries: u32,
        command: &str,
        repeat: impl FnOnce(&mut Self, u32),
    ) {
        if tries + 1 >= MAX_TRIES {
            self.abort(Status::NoResponse, format!("no response to {command}"));
        } else {
            repeat(self, tries + 1);
        }
    }

    fn on_bad_frame(&mut self) {
        // A receiver asks for the command again; a sender waits for T4 and repeats it.
        // In these states a V.21 frame can only be a command (or a repeat of one).
        if matches!(
            self.state,
            State::AwaitPostPage
                | State::AwaitDcs
                | State::AwaitPps
                | State::AwaitEcmBlock
                | State::AwaitPage
                | State::AwaitDcn
        ) && self.last_response.is_some()
        {
            self.send_frames(vec![Frame::bare(Fcf::Crp)]);
            self.receive(Rx::V21);
        }
    }

    fn on_frame(&mut self, frame: Frame) {
        self.t2_expiries = 0;
        // ECM data frames are summed up per block, not logged one by one.
        if !matches!(frame.fcf, Fcf::Fcd | Fcf::Rcp) {
            self.log(format!("<- {}", describe(&frame)));
        }
        if frame.fcf == Fcf::Dcn {
            let status = match self.state {
                State::AwaitDcn | State::Disconnecting => Status::Ok,
                _ if !self.sending && self.confirmed_pages > 0 && self.state == State::AwaitDcs => {
                    Status::Ok
                }
                _ => Status::RemoteDisconnected,
            };
            self.finish(status, Some("DCN received".into()));
            return;
        }
        if self.sending {
            self.transmitter_frame(frame);
        } else {
            self.receiver_frame(frame);
        }
    }

    // ---- calling terminal ----

    fn transmitter_frame(&mut self, frame: Frame) {
        match (&self.state, frame.fcf) {
            (_, Fcf::Csi | Fcf::Cig) => self.remote_ident = Some(ident::decode(&frame.info)),
            (State::AwaitDtc, Fcf::Dtc) => match Capabilities::from_octets(&frame.info) {
                Ok(caps) => {
                    self.t1_deadline = None;
                    self.remote_caps = Some(caps);
                    self.send_dcs_and_tcf(0);
                }
                Err(e) => self.abort(Status::Protocol, format!("bad DTC: {e}")),
            },
            (_, Fcf::Nsf) => {}
            (State::AwaitDis | State::AwaitCfr { .. }, Fcf::Dis)
            | (State::AwaitCfr { .. }, Fcf::Dtc) => {
                let tries = match self.state {
                    State::AwaitCfr { tries } => tries + 1,
                    _ => 0,
                };
                if tries >= MAX_TRIES {
                    self.abort(Status::NoResponse, "DIS repeated after DCS".into());
                    return;
                }
                match Capabilities::from_octets(&frame.info) {
                    Ok(caps) if !caps.ready_to_receive => {
                        self.abort(Status::NotReceiving, "DIS bit 10 clear".into());
                    }
                    Ok(caps) => {
                        self.remote_caps = Some(caps);
                        self.send_dcs_and_tcf(tries);
                    }
                    Err(e) => self.abort(Status::Protocol, format!("bad DIS: {e}")),
                }
            }
            (State::AwaitCfr { .. }, Fcf::Cfr) => {
                // Later retrains (after RTP) start from the rate that worked.
                if let Some(s) = self.settings {
                    self.max_rate_index = next_slower(s.rate) - 1;
                }
                self.send_page();
            }
            (State::AwaitCfr { .. }, Fcf::Ftt) => {
                let Some(settings) = self.settings else {
                    return;
                };
                self.max_rate_index = next_slower(settings.rate);
                self.send_dcs_and_tcf(0);
            }
            (State::AwaitCfr { tries }, Fcf::Crp) => {
                let tries = *tries;
                self.send_dcs_and_tcf(tries + 1);
            }
            (State::AwaitPageResponse { command, .. }, response) => {
                let command = *command;
                self.caller_page_response(command, response);
            }
            (State::AwaitPpsResponse { tries }, response) => {
                let tries = *tries;
                self.caller_pps_response(tries, response, &frame.info);
            }
            (State::AwaitCtr { .. }, Fcf::Ctr) => {
                self.pprs = 0;
                self.send_block();
            }
            (State::AwaitErr { .. }, Fcf::Err) => {
                self.log("   block left uncorrected".into());
                self.caller_pps_response(0, Fcf::Mcf, &[]);
            }
            (_, other) => {
                self.log(format!("   ({other} ignored here)"));
            }
        }
    }

    /// Negotiates against the far end's DIS and sends TSI, DCS and the training check.
    fn send_dcs_and_tcf(&mut self, tries: u32) {
        let Some(remote) = self.remote_caps else {
            return;
        };
        let Some(first) = self.pages.first() else {
            return;
        };
        let prefs = SendPreferences {
            local: self.config.capabilities,
            resolution: VerticalResolution::of_lpi(first.resolution().y_dpi),
            width: PageWidth::of_pixels(first.width()).unwrap_or(PageWidth::A4),
        };
        let Some(settings) = choose_settings(&prefs, &remote, self.max_rate_index) else {
            let status = if self.max_rate_index == 0 {
                Status::Incompatible
            } else {
                Status::TrainingFailed
            };
            self.abort(status, "no rate left to try".into());
            return;
        };
        if self.settings.is_some_and(|s| s.rate != settings.rate) {
            self.log(format!("   falling back to {}", settings.rate));
        }
        self.settings = Some(settings);
        self.coded_page = None;
        let mut frames = Vec::new();
        if !self.config.ident.is_empty() {
            frames.push(Frame::new(Fcf::Tsi, ident::encode(&self.config.ident)));
        }
        frames.push(Frame::new(Fcf::Dcs, settings.to_octets()));
        self.send_frames(frames);
        self.transmit(Tx::Tcf(settings.rate));
        self.log(format!("-> TCF {}", settings.rate));
        self.receive(Rx::V21);
        self.state = State::AwaitCfr { tries };
        self.set_timer_after_tx(Timer::T4);
    }

    fn send_page(&mut self) {
        let Some(settings) = self.settings else {
            return;
        };
        let data = match self.coded_page.take() {
            Some(data) => data,
            None => match self.code_page(self.next_page, &settings) {
                Ok(data) => data,
                Err(detail) => {
                    self.abort(Status::Document, detail);
                    return;
                }
            },
        };
        self.log(format!(
            "-> page {} ({} octets at {})",
            self.next_page + 1,
            data.len(),
            settings.rate
        ));
        if let Some(frame_size) = settings.ecm {
            self.pages_started += 1;
            self.pprs = 0;
            self.blocks = Some(PageBlocks::new(data, frame_size.octets()));
            self.send_block();
            return;
        }
        // Kept until the page is confirmed, for a resend after RTN.
        self.coded_page = Some(data.clone());
        self.transmit(Tx::Image {
            rate: settings.rate,
            data,
        });
        self.timer = None;
        self.state = State::SendingPage;
    }

    /// Codes page `index` for `settings`: fitted to the negotiated width and
    /// resolution, coded with EOLs, minimum line length and RTC, in line bit order.
    fn code_page(&self, index: usize, settings: &Settings) -> Result<Vec<u8>, String> {
        let page = self
            .pages
            .get(index)
            .ok_or_else(|| format!("page {} does not exist", index + 1))?;
        let fitted = fit_page(page, settings)
            .map_err(|e| format!("page {} cannot be converted: {e}", index + 1))?;
        let scheme = settings
            .compression
            .scheme(settings.resolution, settings.ecm.is_some());
        // Under ECM the data is protected frame by frame: no line padding, and MMR
        // ends with EOFB as T.6 has it.
        let options = match (settings.ecm, scheme) {
            (Some(_), fax_t4::Scheme::Mmr) => EncodeOptions::tiff(scheme),
            (Some(_), _) => EncodeOptions::line(scheme, 0),
            (None, _) => EncodeOptions::line(scheme, settings.min_bits_per_line()),
        };
        let mut data = fax_t4::encode(&fitted, &options);
        fax_t4::bits::reverse_bits_in_place(&mut data);
        Ok(data)
    }

    fn post_page_command(&self) -> Fcf {
        if self.next_page + 1 < self.pages.len() {
            Fcf::Mps
        } else {
            Fcf::Eop
        }
    }

    fn send_post_page_command(&mut self, tries: u32) {
        let command = self.post_page_command();
        self.repeat_post_page_command(command, tries);
    }

    fn repeat_post_page_command(&mut self, command: Fcf, tries: u32) {
        self.send_frames(vec![Frame::bare(command)]);
        self.receive(Rx::V21);
        self.state = State::AwaitPageResponse { command, tries };
        self.set_timer_after_tx(Timer::T4);
    }

    fn caller_page_response(&mut self, command: Fcf, response: Fcf) {
        match response {
            Fcf::Mcf | Fcf::Pip | Fcf::Rtp => {
                self.confirmed_pages += 1;
                self.next_page += 1;
                self.page_rejects = 0;
                self.coded_page = None;
                if command == Fcf::Eop {
                    self.state = State::Disconnecting;
                    self.send_frames(vec![Frame::bare(Fcf::Dcn)]);
                    self.timer = None;
                } else if response == Fcf::Rtp {
                    // Retrain before the next page.
                    self.send_dcs_and_tcf(0);
                } else {
                    self.send_page();
                }
            }
            Fcf::Rtn | Fcf::Pin => {
                self.page_rejects += 1;
                if self.page_rejects >= MAX_PAGE_REJECTS {
                    self.abort(
                        Status::PageRejected,
                        format!(
                            "page {} rejected {} times",
                            self.next_page + 1,
                            self.page_rejects
                        ),
                    );
                    return;
                }
                // Retrain one rate lower and send the page again.
                if let Some(s) = self.settings {
                    self.max_rate_index = next_slower(s.rate).min(FALLBACK.len() - 1);
                }
                self.send_dcs_and_tcf(0);
            }
            Fcf::Crp => {
                let tries = match self.state {
                    State::AwaitPageResponse { tries, .. } => tries,
                    _ => 0,
                };
                self.repeat_post_page_command(command, tries + 1);
            }
            other => self.log(format!("   ({other} ignored here)")),
        }
    }

    // ---- calling terminal, ECM ----

    fn send_block(&mut self) {
        let (Some(settings), Some(blocks)) = (self.settings, self.blocks.as_ref()) else {
            return;
        };
        let frames = blocks.burst();
        let fcd = frames.iter().filter(|f| f.fcf == Fcf::Fcd).count();
        self.log(format!(
            "-> block {} of page {}: {fcd} frames at {}",
            blocks.block() + 1,
            self.next_page + 1,
            settings.rate
        ));
        let frames = frames
            .into_iter()
            .map(|mut f| {
                f.last = false;
                f
            })
            .collect();
        self.transmit(Tx::EcmBlock {
            rate: settings.rate,
            frames,
        });
        self.timer = None;
        self.state = State::SendingBlock;
    }

    fn send_pps(&mut self, tries: u32) {
        let Some(blocks) = self.blocks.as_ref() else {
            return;
        };
        let pps = PartialPage {
            command: blocks.is_last_block().then(|| self.post_page_command()),
            page: (self.pages_started.wrapping_sub(1) & 0xff) as u8,
            block: (blocks.block() & 0xff) as u8,
            frames: blocks.frames_in_block(),
        };
        let name = pps.command.map_or("NULL", Fcf::name);
        self.send_frames(vec![Frame::new(Fcf::Pps, pps.to_info(true))]);
        if let Some(line) = self.transcript.last_mut() {
            *line = format!("-> PPS-{name}");
        }
        self.receive(Rx::V21);
        self.state = State::AwaitPpsResponse { tries };
        self.set_timer_after_tx(Timer::T4);
    }

    /// End of retransmission: the block stays as the receiver has it.
    fn send_eor(&mut self, tries: u32) {
        let Some(blocks) = self.blocks.as_ref() else {
            return;
        };
        let command = blocks.is_last_block().then(|| self.post_page_command());
        let fcf2 = command.map_or(0x00, |c| c.code() | crate::frame::X_BIT);
        self.send_frames(vec![Frame::new(Fcf::Eor, vec![fcf2])]);
        self.receive(Rx::V21);
        self.state = State::AwaitErr { tries };
        self.set_timer_after_tx(Timer::T4);
    }

    fn send_ctc(&mut self, tries: u32) {
        let Some(settings) = self.settings else {
            return;
        };
        // CTC carries the first two octets of a DCS: the new rate in bits 11-14.
        let info = settings.to_octets().into_iter().take(2).collect();
        self.log(format!("   continuing to correct at {}", settings.rate));
        self.send_frames(vec![Frame::new(Fcf::Ctc, info)]);
        self.receive(Rx::V21);
        self.state = State::AwaitCtr { tries };
        self.set_timer_after_tx(Timer::T4);
    }

    fn caller_pps_response(&mut self, tries: u32, response: Fcf, info: &[u8]) {
        match response {
            Fcf::Mcf => {
                self.rnr_since = None;
                self.pprs = 0;
                let more = self.blocks.as_mut().is_some_and(PageBlocks::next_block);
                if more {
                    self.send_block();
                } else {
                    let command = self.post_page_command();
                    self.blocks = None;
                    self.caller_page_response(command, Fcf::Mcf);
                }
            }
            Fcf::Ppr => {
                self.rnr_since = None;
                let Some(blocks) = self.blocks.as_mut() else {
                    return;
                };
                let count = blocks.apply_ppr(info);
                self.log(format!("   {count} frames to send again"));
                if count == 0 {
                    // A PPR naming nothing: treat as confirmation of the block.
                    self.caller_pps_response(tries, Fcf::Mcf, info);
                    return;
                }
                self.pprs += 1;
                if self.pprs >= PPRS_BEFORE_CTC {
                    let Some(settings) = self.settings else {
                        return;
                    };
                    let slower = FALLBACK
                        .iter()
                        .skip(next_slower(settings.rate))
                        .copied()
                        .find(|r| {
                            self.remote_caps.is_some_and(|c| c.modems.supports(*r))
                                && self.config.capabilities.modems.supports(*r)
                        });
                    match slower {
                        Some(rate) => {
                            self.settings = Some(Settings { rate, ..settings });
                            self.pprs = 0;
                            self.send_ctc(0);
                        }
                        // No slower rate: stop correcting this block (EOR) and go on.
                        None => self.send_eor(0),
                    }
                } else {
                    self.send_block();
                }
            }
            Fcf::Rnr => {
                let since = *self.rnr_since.get_or_insert(self.now);
                if self.now.saturating_sub(since) > self.config.timers.t5 {
                    self.abort(Status::NoResponse, "receiver not ready until T5".into());
                } else {
                    self.send_frames(vec![Frame::bare(Fcf::Rr)]);
                    self.receive(Rx::V21);
                    self.state = State::AwaitPpsResponse { tries: 0 };
                    self.set_timer_after_tx(Timer::T4);
                }
            }
            Fcf::Crp => self.send_pps(tries + 1),
            other => self.log(format!("   ({other} ignored here)")),
        }
    }

    // ---- answering terminal ----

    /// DIS (with CSI): as a receiver, our capabilities; as a polled sender, also that a
    /// document is ready to go.
    fn send_dis(&mut self) {
        let mut caps = self.config.capabilities;
        caps.ready_to_receive = !self.sending;
        caps.ready_to_transmit = self.sending;
        let mut frames = Vec::new();
        if !self.config.ident.is_empty() {
            frames.push(Frame::new(Fcf::Csi, ident::encode(&self.config.ident)));
        }
        frames.push(Frame::new(Fcf::Dis, caps.to_octets()));
        self.send_frames(frames);
        self.receive(Rx::V21);
        self.state = if self.sending {
            State::AwaitDtc
        } else {
            State::AwaitDcs
        };
        self.set_timer_after_tx(Timer::T4);
    }

    /// Polling: CIG and DTC, our capabilities as a receiver, asking for the document.
    fn send_dtc(&mut self) {
        let mut caps = self.config.capabilities;
        caps.ready_to_receive = true;
        let mut frames = Vec::new();
        if !self.config.ident.is_empty() {
            frames.push(Frame::new(Fcf::Cig, ident::encode(&self.config.ident)));
        }
        frames.push(Frame::new(Fcf::Dtc, caps.to_octets()));
        self.send_frames(frames);
        self.receive(Rx::V21);
        self.state = State::AwaitDcs;
        self.t1_deadline = Some(self.now + self.config.timers.t1);
        self.set_timer_after_tx(Timer::T4);
    }

    fn receiver_frame(&mut self, frame: Frame) {
        match (&self.state, frame.fcf) {
            (_, Fcf::Tsi) => self.remote_ident = Some(ident::decode(&frame.info)),
            (State::AwaitDis, Fcf::Csi) => self.remote_ident = Some(ident::decode(&frame.info)),
            (State::AwaitDis, Fcf::Nsf) => {}
            (State::AwaitDis, Fcf::Dis) => match Capabilities::from_octets(&frame.info) {
                Ok(caps) if caps.ready_to_transmit => {
                    self.remote_caps = Some(caps);
                    self.send_dtc();
                }
                Ok(_) => self.abort(
                    Status::NothingToPoll,
                    "DIS bit 9 clear: no document to poll".into(),
                ),
                Err(e) => self.abort(Status::Protocol, format!("bad DIS: {e}")),
            },
            (_, Fcf::Nss | Fcf::Sub | Fcf::Sid) => {}
            (_, Fcf::Dcs) => match Settings::from_octets(&frame.info) {
                Ok(settings) => {
                    self.settings = Some(settings);
                    self.tcf_zero_run = 0;
                    self.tcf_longest_zero_run = 0;
                    self.receive(Rx::Tcf(settings.rate));
                    self.state = State::AwaitTcf;
                    self.set_timer(Timer::T2);
                }
                Err(e) => self.abort(Status::Protocol, format!("bad DCS: {e}")),
            },
            (_, Fcf::Crp) => {
                if let Some(response) = self.last_response.clone() {
                    self.send_frames(vec![response]);
                } else if self.config.role == Role::Caller {
                    self.send_dtc();
                } else {
                    self.send_dis();
                }
            }
            (_, Fcf::Fcd) => {
                if let Some(size) = self.settings.and_then(|s| s.ecm) {
                    self.block_rx.store(&frame.info, size.octets());
                }
                if self.state == State::AwaitEcmBlock {
                    // Frames are flowing: the sender is alive.
                    self.set_timer(Timer::T2);
                }
            }
            (State::AwaitEcmBlock, Fcf::Rcp) => self.await_pps(),
            (_, Fcf::Rcp) => {}
            (State::AwaitEcmBlock | State::AwaitPps | State::AwaitDcn, Fcf::Pps) => {
                match PartialPage::from_info(&frame.info) {
                    Some(pps) => self.answer_pps(pps),
                    None => self.abort(Status::Protocol, "malformed PPS".into()),
                }
            }
            (State::AwaitEcmBlock | State::AwaitPps, Fcf::Ctc) => {
                let Some(settings) = self.settings else {
                    return;
                };
                let mut dcs = settings.to_octets();
                for (i, octet) in frame.info.iter().take(2).enumerate() {
                    dcs[i] = *octet;
                }
                match Settings::from_octets(&dcs) {
                    Ok(new) => {
                        self.settings = Some(Settings {
                            rate: new.rate,
                            ..settings
                        });
                        self.respond(Frame::bare(Fcf::Ctr));
                        self.receive(Rx::Ecm(new.rate));
                        self.state = State::AwaitEcmBlock;
                        self.set_timer_after_tx(Timer::T2);
                    }
                    Err(e) => self.abort(Status::Protocol, format!("bad CTC: {e}")),
                }
            }
            (State::AwaitEcmBlock | State::AwaitPps, Fcf::Eor) => self.answer_eor(&frame.info),
            (State::AwaitEcmBlock | State::AwaitPps, Fcf::Rr) => {
                if let Some(response) = self.last_response.clone() {
                    self.send_frames(vec![response]);
                }
            }
            (State::AwaitPostPage, command @ (Fcf::Mps | Fcf::Eop | Fcf::Eom))
            | (State::AwaitPostPage, command @ (Fcf::PriMps | Fcf::PriEop | Fcf::PriEom)) => {
                self.answer_page(command);
            }
            (State::AwaitPage | State::AwaitDcn | State::AwaitDcs, command)
                if is_post_page(command) && self.page_data.is_empty() =>
            {
                // Our response was lost and the command repeated: answer it again.
                if let Some(response) = self.last_response.clone() {
                    self.send_frames(vec![response]);
                    self.after_response(command, true);
                } else {
                    self.answer_page(command);
                }
            }
            (_, other) => self.log(format!("   ({other} ignored here)")),
        }
    }

    fn on_data(&mut self, data: &[u8]) {
        self.t2_expiries = 0;
        match self.state {
            State::AwaitTcf => {
                for &octet in data {
                    if octet == 0 {
                        self.tcf_zero_run += 8;
                    } else {
                        // Count the zero bits around the first and last 1 bits too.
                        let run = self.tcf_zero_run + u64::from(octet.trailing_zeros());
                        self.tcf_longest_zero_run = self.tcf_longest_zero_run.max(run);
                        self.tcf_zero_run = u64::from(octet.leading_zeros());
                    }
                }
            }
            State::AwaitPage => {
                if self.page_data.len() + data.len() > self.config.max_page_bytes {
                    self.page_overflow = true;
                } else {
                    self.page_data.extend_from_slice(data);
                }
                // Data is flowing: the sender is alive.
                self.set_timer(Timer::T2);
            }
            _ => {}
        }
    }

    fn on_data_end(&mut self) {
        match self.state {
            State::AwaitEcmBlock => self.await_pps(),
            State::AwaitTcf => {
                self.tcf_longest_zero_run = self.tcf_longest_zero_run.max(self.tcf_zero_run);
                let Some(settings) = self.settings else {
                    return;
                };
                // T.30 §5.3.2: the check is 1.5 s of zeros; accept if at least one
                // second of it arrived unbroken.
                let good = self.tcf_longest_zero_run >= u64::from(settings.rate.bps);
                self.log(format!(
                    "   TCF: longest run of zeros {} bits at {}",
                    self.tcf_longest_zero_run, settings.rate
                ));
                if good {
                    self.respond(Frame::bare(Fcf::Cfr));
                    self.listen_for_page(settings);
                } else {
                    self.respond(Frame::bare(Fcf::Ftt));
                    self.receive(Rx::V21);
                    self.state = State::AwaitDcs;
                    self.set_timer_after_tx(Timer::T2);
                }
            }
            State::AwaitPage => {
                self.receive(Rx::V21);
                self.state = State::AwaitPostPage;
                self.set_timer(Timer::T2);
            }
            _ => {}
        }
    }

    fn respond(&mut self, frame: Frame) {
        self.last_response = Some(frame.clone());
        self.send_frames(vec![frame]);
    }

    /// Judges the page just received and answers the post-page command.
    fn answer_page(&mut self, command: Fcf) {
        let Some(settings) = self.settings else {
            self.abort(Status::Protocol, format!("{command} before DCS"));
            return;
        };
        if self.page_overflow {
            self.abort(Status::PageTooLarge, "page data over the limit".into());
            return;
        }
        let response = match self.decode_received_page(settings) {
            (Some(page), verdict) if verdict != Fcf::Rtn => {
                self.confirmed_pages += 1;
                self.outputs.push_back(Output::Page(page));
                verdict
            }
            _ => Fcf::Rtn,
        };
        self.respond(Frame::bare(response));
        self.after_response(command, response != Fcf::Rtn);
    }

    /// Decodes the page data received so far, and says what T.30 answer it deserves:
    /// MCF if perfect (or under ECM, where data arrives exact), RTP if readable, RTN if
    /// not. `None` if not a row could be decoded.
    fn decode_received_page(&mut self, settings: Settings) -> (Option<ReceivedPage>, Fcf) {
        let mut data = std::mem::take(&mut self.page_data);
        fax_t4::bits::reverse_bits_in_place(&mut data);
        let scheme = settings
            .compression
            .scheme(settings.resolution, settings.ecm.is_some());
        let mut options = DecodeOptions::new(scheme, settings.width.pixels());
        options.resolution = Resolution {
            x_dpi: 204,
            y_dpi: settings.resolution.lpi(),
        };
        options.limits.max_rows = self.config.max_page_rows;
        match fax_t4::decode(&data, &options) {
            Ok(page) if page.bitmap.height() > 0 => {
                let rows = page.bitmap.height();
                // T.30 leaves the threshold to the receiver: up to 5 % bad rows and no
                // burst over 10 is readable (RTP asks for a retrain); none is perfect.
                let verdict = if page.bad_rows == 0 || settings.ecm.is_some() {
                    Fcf::Mcf
                } else if page.bad_rows * 20 <= rows && page.longest_bad_run <= 10 {
                    Fcf::Rtp
                } else {
                    Fcf::Rtn
                };
                self.log(format!(
                    "   page {}: {} rows, {} bad, longest bad run {}",
                    self.confirmed_pages + 1,
                    rows,
                    page.bad_rows,
                    page.longest_bad_run
                ));
                let page = ReceivedPage {
                    bitmap: page.bitmap,
                    bad_rows: page.bad_rows,
                    longest_bad_run: page.longest_bad_run,
                    settings,
                };
                (Some(page), verdict)
            }
            Ok(_) => (None, Fcf::Rtn),
            Err(e) => {
                self.log(format!("   page undecodable: {e}"));
                (None, Fcf::Rtn)
            }
        }
    }

    /// Where to go after answering a post-page command.
    fn after_response(&mut self, command: Fcf, accepted: bool) {
        let Some(settings) = self.settings else {
            return;
        };
        let retrain = matches!(
            self.last_response.as_ref().map(|f| f.fcf),
            Some(Fcf::Rtp | Fcf::Rtn)
        );
        match command {
            Fcf::Eop | Fcf::PriEop if accepted => {
                self.receive(Rx::V21);
                self.state = State::AwaitDcn;
                self.set_timer_after_tx(Timer::T2);
            }
            Fcf::Eom | Fcf::PriEom if accepted => self.send_dis(),
            _ if retrain || !accepted => {
                self.receive(Rx::V21);
                self.state = State::AwaitDcs;
                self.set_timer_after_tx(Timer::T2);
            }
            _ => self.listen_for_page(settings),
        }
    }

    /// Gets ready for the next page's data (non-ECM) or first block (ECM).
    fn listen_for_page(&mut self, settings: Settings) {
        self.page_data.clear();
        self.page_overflow = false;
        if settings.ecm.is_some() {
            self.receive(Rx::Ecm(settings.rate));
            self.state = State::AwaitEcmBlock;
        } else {
            self.receive(Rx::Image(settings.rate));
            self.state = State::AwaitPage;
        }
        self.set_timer_after_tx(Timer::T2);
    }

    /// The block's frames ended: the PPS comes next, on V.21.
    fn await_pps(&mut self) {
        self.receive(Rx::V21);
        self.state = State::AwaitPps;
        self.set_timer(Timer::T2);
    }

    fn answer_pps(&mut self, pps: PartialPage) {
        let Some(settings) = self.settings else {
            return;
        };
        self.last_pps = Some(pps);
        let name = pps.command.map_or("NULL", Fcf::name);
        if let Some(line) = self.transcript.last_mut() {
            *line = format!("<- PPS-{name}");
        }
        if self.last_block == Some((pps.page, pps.block)) {
            // Our MCF was lost and the PPS repeated: confirm again, change nothing.
            self.respond(Frame::bare(Fcf::Mcf));
            match pps.command {
                Some(command) => self.after_response(command, true),
                None => self.listen_for_page_block(settings),
            }
            return;
        }
        if let Some(map) = self.block_rx.missing(pps.frames) {
            let count: u32 = map.iter().map(|b| b.count_ones()).sum();
            self.log(format!("   {count} frames missing"));
            self.respond(Frame::new(Fcf::Ppr, map));
            self.receive(Rx::Ecm(settings.rate));
            self.state = State::AwaitEcmBlock;
            self.set_timer_after_tx(Timer::T2);
            return;
        }
        let block = self.block_rx.take(pps.frames);
        if self.page_data.len() + block.len() > self.config.max_page_bytes {
            self.abort(Status::PageTooLarge, "page data over the limit".into());
            return;
        }
        self.page_data.extend_from_slice(&block);
        self.last_block = Some((pps.page, pps.block));
        match pps.command {
            None => {
                self.respond(Frame::bare(Fcf::Mcf));
                self.listen_for_page_block(settings);
            }
            Some(command) => self.answer_page(command),
        }
    }

    /// The sender stopped correcting this block (EOR): keep what arrived, confirm with
    /// ERR, and carry on; a page that ends here is stored with its damage.
    fn answer_eor(&mut self, info: &[u8]) {
        let (Some(settings), Some(pps)) = (self.settings, self.last_pps) else {
            self.abort(Status::Protocol, "EOR without a block".into());
            return;
        };
        let command = info
            .first()
            .and_then(|&fcf2| Fcf::from_octet(fcf2 & !crate::frame::X_BIT));
        let block = self.block_rx.take(pps.frames);
        if self.page_data.len() + block.len() > self.config.max_page_bytes {
            self.abort(Status::PageTooLarge, "page data over the limit".into());
            return;
        }
        self.page_data.extend_from_slice(&block);
        self.last_block = Some((pps.page, pps.block));
        match command.filter(|c| is_post_page(*c)) {
            Some(command) => {
                let (page, verdict) = self.decode_received_page(settings);
                if let Some(page) = page {
                    self.confirmed_pages += 1;
                    self.outputs.push_back(Output::Page(page));
                }
                self.log(format!("   page kept after EOR ({verdict})"));
                self.respond(Frame::bare(Fcf::Err));
                self.after_response(command, true);
            }
            None => {
                self.respond(Frame::bare(Fcf::Err));
                self.listen_for_page_block(settings);
            }
        }
    }

    /// More blocks of the same page follow.
    fn listen_for_page_block(&mut self, settings: Settings) {
        self.receive(Rx::Ecm(settings.rate));
        self.state = State::AwaitEcmBlock;
        self.set_timer_after_tx(Timer::T2);
    }
}

fn is_post_page(fcf: Fcf) -> bool {
    matches!(
        fcf,
        Fcf::Mps | Fcf::Eop | Fcf::Eom | Fcf::PriMps | Fcf::PriEop | Fcf::PriEom
    )
}

/// A frame as the transcript shows it: DCS and DIS with their content, identifiers in
/// clear.
pub fn describe(frame: &Frame) -> String {
    match frame.fcf {
        Fcf::Dcs => match Settings::from_octets(&frame.info) {
            Ok(s) => format!("DCS {s}"),
            Err(e) => format!("DCS (invalid: {e})"),
        },
        Fcf::Dis | Fcf::Dtc => match Capabilities::from_octets(&frame.info) {
            Ok(c) => {
                let mut parts = vec![frame.fcf.name().to_string()];
                let m = c.modems;
                for (has, name) in [(m.v17, "V.17"), (m.v29, "V.29"), (m.v27ter, "V.27ter")] {
                    if has {
                        parts.push(name.into());
                    }
                }
                for (has, name) in [
                    (c.fine, "fine"),
                    (c.superfine, "superfine"),
                    (c.mr, "MR"),
                    (c.mmr, "MMR"),
                    (c.ecm, "ECM"),
                ] {
                    if has {
                        parts.push(name.into());
                    }
                }
                parts.join(" ")
            }
            Err(e) => format!("{} (invalid: {e})", frame.fcf),
        },
        Fcf::Tsi | Fcf::Csi | Fcf::Cig => {
            format!("{} \"{}\"", frame.fcf, ident::decode(&frame.info))
        }
        other => other.name().to_string(),
    }
}

/// Brings a page to the negotiated width and resolution.
fn fit_page(page: &Bitmap, settings: &Settings) -> Result<Bitmap, fax_t4::Error> {
    let width = settings.width.pixels();
    let mut page = if page.width() > width {
        fax_t4::convert::reduce_width(page, width)?
    } else if page.width() < width {
        // A narrow page is placed at the left of a white line of the right width.
        let mut wide = Bitmap::with_width(width, page.resolution())?;
        let mut row = vec![0u8; wide.stride()];
        for src in page.rows() {
            row.fill(0);
            row[..src.len()].copy_from_slice(src);
            wide.push_row(&row)?;
        }
        wide
    } else {
        page.clone()
    };
    let lpi = settings.resolution.lpi();
    if VerticalResolution::of_lpi(page.resolution().y_dpi) != settings.resolution {
        page = fax_t4::convert::to_vertical_resolution(&page, lpi)?;
    }
    page.set_resolution(Resolution {
        x_dpi: 204,
        y_dpi: lpi,
    });
    Ok(page)
}
