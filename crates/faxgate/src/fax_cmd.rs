//! `faxgate fax send` and `faxgate fax receive`: one T.38 fax call over UDP.
//!
//! The call itself is `fax_t38::Terminal` around `fax_t30::Engine`; this module owns
//! the socket, the clock and the files, and prints the one-line JSON result.
//! [`send_pages`] is the same call for the queue's T.38 line driver (`faxgate job
//! work`), which also follows the confirmed pages and can hang up.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fax_t30::{Config, Engine, Outcome, ReceivedPage, Role, Status};
use fax_t38::terminal::{Event, Terminal, TerminalConfig};
use fax_tiff::{CleanFaxData, CodedPage, FaxQuality, WriteOptions, Writer};
use serde::Serialize;

/// Options shared by both directions.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// Offer/use error correction mode.
    pub ecm: bool,
    /// Our station identifier.
    pub ident: String,
    /// Print the T.30 transcript on stderr.
    pub trace: bool,
    /// Give up after this long.
    pub timeout: Duration,
    /// UDPTL redundancy depth.
    pub redundancy: usize,
    /// T.38 local TCF instead of transferred TCF.
    pub local_tcf: bool,
    /// T.38 version (0 to 3).
    pub t38_version: u8,
    /// The highest bit rate offered (14400, 9600, 4800 or 2400).
    pub max_rate: u32,
    /// How many times faster than a phone line the call runs (1: real time). Both ends
    /// of a call must agree: every T.30 timer and the modem pacing run on this clock,
    /// which only makes sense when both are faxgate's own (the virtual line).
    pub speed: u32,
}

/// What a driver of queued calls uses to follow a call and stop it.
pub struct CallControl<'a> {
    /// Called with the pages confirmed so far, each time that count grows.
    pub on_progress: &'a mut dyn FnMut(u32),
    /// Set from another thread to hang up (the job was cancelled or its lease lost).
    pub hang_up: &'a AtomicBool,
}

/// Where a call is placed from.
#[derive(Debug, Clone)]
pub enum Local {
    /// This UDP port on every address (0: any free port).
    Port(u16),
    /// This address and port.
    Bind(String),
}

/// How a call ended.
#[derive(Debug)]
pub struct CallEnd {
    /// The T.30 outcome.
    pub outcome: Outcome,
    /// Pages received (when receiving or polling).
    pub pages: Vec<ReceivedPage>,
    /// Whether anything at all came back from the far end: without it nobody answered.
    pub heard_far_end: bool,
    /// Whether the far end's address refused our datagrams (ICMP port unreachable).
    pub refused: bool,
    /// Whether the call ended because [`CallControl::hang_up`] was set.
    pub hung_up: bool,
}

/// The JSON line both commands end with.
#[derive(Debug, Serialize)]
struct CallReport {
    result: &'static str,
    t30_status: u32,
    status_text: String,
    pages: u32,
    remote_ident: String,
    bit_rate: u32,
    ecm: bool,
    compression: &'static str,
    duration_s: f64,
}

impl CallReport {
    fn new(outcome: &Outcome) -> CallReport {
        let settings = outcome.settings;
        CallReport {
            result: if outcome.status == Status::Ok {
                "ok"
            } else {
                "failed"
            },
            t30_status: outcome.status.code(),
            status_text: match &outcome.detail {
                Some(detail) if outcome.status != Status::Ok => {
                    format!("{} ({detail})", outcome.status.text())
                }
                _ => outcome.status.text().to_string(),
            },
            pages: outcome.pages,
            remote_ident: outcome.remote_ident.clone().unwrap_or_default(),
            bit_rate: settings.map_or(0, |s| s.rate.bps),
            ecm: settings.is_some_and(|s| s.ecm.is_some()),
            compression: settings.map_or("", |s| s.compression.standard_name()),
            duration_s: (outcome.duration.as_secs_f64() * 10.0).round() / 10.0,
        }
    }
}

fn engine_config(role: Role, options: &CallOptions) -> Config {
    let mut config = Config::new(role);
    config.ident = options.ident.clone();
    if !options.ecm {
        config.capabilities.ecm = false;
        config.capabilities.mmr = false;
    }
    // Each modem's top rate: leaving out the faster modems caps what DCS may choose.
    let modems = &mut config.capabilities.modems;
    if options.max_rate < 14_400 {
        modems.v17 = false;
    }
    if options.max_rate < 9600 {
        modems.v29 = false;
    }
    if options.max_rate < 4800 {
        modems.v27ter = false;
    }
    config
}

fn terminal_config(options: &CallOptions) -> TerminalConfig {
    let mut config = TerminalConfig::default();
    config.sender.error_recovery = fax_t38::udptl::ErrorRecovery::Redundancy {
        depth: options.redundancy,
    };
    if options.local_tcf {
        config.tcf = fax_t38::terminal::TcfMode::Local;
    }
    if let Ok(version) = fax_t38::Version::try_from(options.t38_version) {
        config.version = version;
        config.receiver = fax_t38::ReceiverConfig::new(version);
    }
    config
}

fn resolve(address: &str) -> Result<SocketAddr> {
    address
        .to_socket_addrs()
        .with_context(|| format!("{address}: not a HOST:PORT address"))?
        .next()
        .with_context(|| format!("{address}: resolves to no address"))
}

/// Reads the pages of a fax TIFF to send.
fn read_document(file: &Path) -> Result<Vec<fax_t4::Bitmap>> {
    let data = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let reader = fax_tiff::Reader::new(&data)
        .with_context(|| format!("{}: not a usable TIFF", file.display()))?;
    let mut pages = Vec::new();
    for index in 0..reader.page_count() {
        let page = reader
            .decode_page(index)
            .with_context(|| format!("{}: page {}", file.display(), index + 1))?;
        pages.push(page.bitmap);
    }
    if pages.is_empty() {
        bail!("{}: no pages", file.display());
    }
    Ok(pages)
}

/// A socket for calling `remote` from `local`, connected to `remote`.
///
/// Connected, the kernel reports an ICMP port unreachable from the far end as
/// `ConnectionRefused` on the next send or receive; an unconnected socket never hears
/// of it, and a dead peer would only show as silence until the call timeout. It also
/// hands us only datagrams from `remote`'s address and port: a stranger's datagrams
/// are dropped before they reach the call (so the far end must answer from the port
/// we call, as T.38 gateways and `faxgate fax receive` do).
fn calling_socket(remote: SocketAddr, local: &Local) -> Result<UdpSocket> {
    let bind = match local {
        Local::Port(port) if remote.is_ipv4() => format!("0.0.0.0:{port}"),
        Local::Port(port) => format!("[::]:{port}"),
        Local::Bind(address) => address.clone(),
    };
    let socket = UdpSocket::bind(&bind).with_context(|| format!("cannot bind UDP {bind}"))?;
    socket
        .connect(remote)
        .with_context(|| format!("cannot connect UDP {bind} to {remote}"))?;
    Ok(socket)
}

/// How a call ends when the far end's address refuses our datagrams before anything
/// came back from it: nothing is listening there (the peer is down, or the address is
/// wrong), so nobody answered.
fn refused_outcome(terminal: &Terminal, remote: SocketAddr, now: Duration) -> Outcome {
    Outcome {
        status: Status::NoAnswer,
        pages: terminal.engine().confirmed_pages(),
        remote_ident: None,
        settings: terminal.engine().settings(),
        duration: now,
        detail: Some(format!(
            "the T.38 peer at {remote} refused the call (ICMP port unreachable)"
        )),
    }
}

/// Sends `file` to the T.38 endpoint at `remote`. Returns whether the fax went through.
pub fn send(file: &Path, remote: &str, local_port: u16, options: &CallOptions) -> Result<bool> {
    let pages = read_document(file)?;
    let end = send_pages(pages, remote, &Local::Port(local_port), options, None)?;
    report(&end.outcome)?;
    Ok(end.outcome.status == Status::Ok)
}

/// Calls the T.38 endpoint at `remote` from `local` and sends `pages`: the call of
/// `faxgate fax send`, for any driver.
pub fn send_pages(
    pages: Vec<fax_t4::Bitmap>,
    remote: &str,
    local: &Local,
    options: &CallOptions,
    control: Option<CallControl<'_>>,
) -> Result<CallEnd> {
    let remote = resolve(remote)?;
    let socket = calling_socket(remote, local)?;
    let engine = Engine::sender(engine_config(Role::Caller, options), pages);
    let terminal = Terminal::new(engine, terminal_config(options)).context("T.38 settings")?;
    run(socket, Some(remote), terminal, options, control)
}

/// Waits on `listen` to be polled and sends `file` to the poller.
pub fn send_when_polled(file: &Path, listen: &str, options: &CallOptions) -> Result<bool> {
    let pages = read_document(file)?;
    let address = resolve(listen)?;
    let socket = UdpSocket::bind(address).with_context(|| format!("cannot bind UDP {address}"))?;
    let engine = Engine::sender(engine_config(Role::Answerer, options), pages);
    let terminal = Terminal::new(engine, terminal_config(options)).context("T.38 settings")?;
    let end = run(socket, None, terminal, options, None)?;
    report(&end.outcome)?;
    Ok(end.outcome.status == Status::Ok)
}

/// Calls `remote`, polls its document and writes it to `output`.
pub fn poll(remote: &str, local_port: u16, output: &Path, options: &CallOptions) -> Result<bool> {
    let remote = resolve(remote)?;
    let socket = calling_socket(remote, &Local::Port(local_port))?;
    let engine = Engine::receiver(engine_config(Role::Caller, options));
    let terminal = Terminal::new(engine, terminal_config(options)).context("T.38 settings")?;
    let CallEnd { outcome, pages, .. } = run(socket, Some(remote), terminal, options, None)?;
    if !pages.is_empty() {
        write_received(output, &pages, &outcome)?;
    }
    report(&outcome)?;
    Ok(outcome.status == Status::Ok && !pages.is_empty())
}

/// Waits for a T.38 call on `listen` and writes the fax to `output`. Returns whether a
/// fax was received completely.
pub fn receive(listen: &str, output: &Path, options: &CallOptions) -> Result<bool> {
    let address = resolve(listen)?;
    let socket = UdpSocket::bind(address).with_context(|| format!("cannot bind UDP {address}"))?;
    let engine = Engine::receiver(engine_config(Role::Answerer, options));
    let terminal = Terminal::new(engine, terminal_config(options)).context("T.38 settings")?;
    let CallEnd { outcome, pages, .. } = run(socket, None, terminal, options, None)?;
    if !pages.is_empty() {
        write_received(output, &pages, &outcome)?;
    }
    report(&outcome)?;
    Ok(outcome.status == Status::Ok && !pages.is_empty())
}

/// Answers one T.38 call on `socket` (already bound, so the caller can be told where)
/// and receives the fax: the virtual line's terminal.
/// Setting `hang_up` gives up waiting (the caller could not call).
pub fn answer(socket: UdpSocket, options: &CallOptions, hang_up: &AtomicBool) -> Result<CallEnd> {
    let engine = Engine::receiver(engine_config(Role::Answerer, options));
    let terminal = Terminal::new(engine, terminal_config(options)).context("T.38 settings")?;
    let mut ignore = |_| {};
    let control = CallControl {
        on_progress: &mut ignore,
        hang_up,
    };
    run(socket, None, terminal, options, Some(control))
}

fn report(outcome: &Outcome) -> Result<()> {
    let line = serde_json::to_string(&CallReport::new(outcome)).context("JSON")?;
    println!("{line}");
    Ok(())
}

/// Drives the terminal with a real socket and clock until the call ends (or `control`
/// hangs it up). With `remote` given, `socket` is connected to it (a calling socket):
/// a refusal from the far end then ends the call at once.
fn run(
    socket: UdpSocket,
    mut remote: Option<SocketAddr>,
    mut terminal: Terminal,
    options: &CallOptions,
    mut control: Option<CallControl<'_>>,
) -> Result<CallEnd> {
    let started = Instant::now();
    let speed = options.speed.max(1);
    // The call's clock: real time, or faster for an unpaced call between two of
    // faxgate's own terminals.
    let clock = || started.elapsed() * speed;
    let mut buf = vec![0u8; 65536];
    let mut pages = Vec::new();
    let mut outcome = None;
    let mut transcript_shown = 0;
    let mut confirmed = 0;
    let mut heard_far_end = false;
    let mut refused = false;
    let connected = remote.is_some();
    if connected {
        terminal.start(Duration::ZERO);
    }
    loop {
        let now = clock();
        if let Some(to) = remote {
            while let Some(datagram) = terminal.poll_datagram() {
                let sent = if connected {
                    socket.send(&datagram)
                } else {
                    socket.send_to(&datagram, to)
                };
                match sent {
                    Ok(_) => {}
                    Err(e) if connected && e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        refused = true;
                        break;
                    }
                    Err(e) => return Err(e).with_context(|| format!("sending to {to}")),
                }
            }
        }
        while let Some(event) = terminal.poll_event() {
            match event {
                Event::Page(page) => pages.push(page),
                Event::Done(o) => outcome = Some(o),
            }
        }
        if options.trace {
            for line in &terminal.engine().transcript()[transcript_shown..] {
                eprintln!("{line}");
            }
            transcript_shown = terminal.engine().transcript().len();
        }
        if let Some(control) = &mut control {
            let now_confirmed = terminal.engine().confirmed_pages();
            if now_confirmed > confirmed {
                confirmed = now_confirmed;
                (control.on_progress)(confirmed);
            }
        }
        let end = |outcome: Outcome, pages: Vec<ReceivedPage>, hung_up: bool| CallEnd {
            outcome,
            pages,
            heard_far_end,
            refused,
            hung_up,
        };
        if let Some(o) = &outcome
            && terminal.is_done()
        {
            return Ok(end(o.clone(), pages, false));
        }
        // Only a peer never heard from is down. One that answered and then closed its
        // port has had our DCN (the receiver hangs up as soon as it has it, while the
        // rest of our last frames is still going out) or left mid-call: the call's own
        // frames and timers tell which.
        if refused
            && !heard_far_end
            && let Some(to) = remote
        {
            let outcome = match &outcome {
                Some(o) => o.clone(),
                None => refused_outcome(&terminal, to, now),
            };
            return Ok(end(outcome, pages, false));
        }
        if control
            .as_ref()
            .is_some_and(|c| c.hang_up.load(Ordering::Relaxed))
        {
            let outcome = Outcome {
                status: Status::RemoteDisconnected,
                pages: terminal.engine().confirmed_pages(),
                remote_ident: None,
                settings: terminal.engine().settings(),
                duration: now,
                detail: Some("hung up by this side".into()),
            };
            return Ok(end(outcome, pages, true));
        }
        if now > options.timeout {
            let outcome = outcome.unwrap_or(Outcome {
                status: if remote.is_some() {
                    Status::NoResponse
                } else {
                    Status::NoAnswer
                },
                pages: pages.len() as u32,
                remote_ident: None,
                settings: terminal.engine().settings(),
                duration: now,
                detail: Some("timed out".into()),
            });
            return Ok(end(outcome, pages, false));
        }
        let wait = terminal
            .deadline()
            .map_or(Duration::from_millis(500), |d| {
                d.saturating_sub(now) / speed
            })
            .clamp(Duration::from_micros(100), Duration::from_millis(500));
        socket
            .set_read_timeout(Some(wait))
            .context("socket timeout")?;
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let now = clock();
                heard_far_end = true;
                if remote.is_none() {
                    // The far end is whoever sends first.
                    remote = Some(from);
                    terminal.start(now);
                }
                terminal.handle_datagram(now, &buf[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                terminal.handle_timeout(clock());
            }
            // A datagram of ours bounced: before the far end was heard, the next round
            // ends the call. (An answering socket is not connected, and on some systems
            // still hears of a bounce to a caller that already left: the call's own
            // timers judge that.)
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                refused |= connected;
                terminal.handle_timeout(clock());
            }
            Err(e) => return Err(e).context("receiving"),
        }
    }
}

/// Writes received pages as TIFF Class F with the received-fax quality tags and the
/// sender's identifier.
pub fn write_received(output: &Path, pages: &[ReceivedPage], outcome: &Outcome) -> Result<()> {
    let mut writer = Writer::new(WriteOptions {
        software: Some(format!("faxgate {}", env!("CARGO_PKG_VERSION"))),
        image_description: outcome.remote_ident.clone().filter(|s| !s.is_empty()),
        ..WriteOptions::default()
    })
    .context("TIFF settings")?;
    for page in pages {
        // Store as MR (K = 4 at fine), compact and readable by everything.
        let scheme = fax_t4::Scheme::mr_for_lpi(page.bitmap.resolution().y_dpi);
        let data = fax_t4::encode(&page.bitmap, &fax_t4::EncodeOptions::tiff(scheme));
        writer
            .add_coded_page(CodedPage {
                width: page.bitmap.width(),
                height: page.bitmap.height(),
                resolution: page.bitmap.resolution(),
                scheme,
                byte_aligned_eols: false,
                data,
                quality: Some(FaxQuality {
                    bad_lines: page.bad_rows,
                    clean: if page.bad_rows == 0 {
                        CleanFaxData::Clean
                    } else {
                        CleanFaxData::Regenerated
                    },
                    consecutive_bad_lines: page.longest_bad_run,
                }),
            })
            .context("adding a received page")?;
    }
    let bytes = writer.finish().context("laying out the TIFF")?;
    std::fs::write(output, bytes).with_context(|| format!("{}: cannot write", output.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> CallOptions {
        CallOptions {
            ecm: true,
            ident: "CALLER".into(),
            trace: false,
            // Far beyond T1: only a refusal ends the call before the engine gives up.
            timeout: Duration::from_secs(120),
            redundancy: 3,
            local_tcf: false,
            t38_version: 0,
            max_rate: 14_400,
            speed: 1,
        }
    }

    /// A loopback UDP port with nothing listening on it.
    fn closed_port() -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("binding a loopback UDP port");
        socket.local_addr().expect("its address")
    }

    #[test]
    fn a_closed_t38_port_refuses_the_call_as_the_line_down() {
        let remote = closed_port();
        let page = fax_t4::Bitmap::new(1728, 50, fax_t4::Resolution::STANDARD).expect("page");
        let end = send_pages(
            vec![page],
            &remote.to_string(),
            &Local::Bind("127.0.0.1:0".into()),
            &options(),
            None,
        )
        .expect("the call is placed");
        assert!(end.refused, "{end:?}");
        assert!(!end.heard_far_end, "{end:?}");
        assert!(!end.hung_up);
        assert_eq!(end.outcome.status, Status::NoAnswer, "{end:?}");
        assert_eq!(
            end.outcome.detail,
            Some(format!(
                "the T.38 peer at {remote} refused the call (ICMP port unreachable)"
            ))
        );
    }

    #[test]
    fn a_far_end_that_answered_and_then_closed_its_port_is_not_taken_for_a_dead_line() {
        // Two of faxgate's own terminals, unpaced as on the virtual line.
        let mut options = options();
        options.speed = 20;
        let answering = UdpSocket::bind("127.0.0.1:0").expect("the answering socket");
        let remote = answering.local_addr().expect("address");
        let answerer_gone = std::sync::Arc::new(AtomicBool::new(false));
        let hang_up_answerer = answerer_gone.clone();
        let answer_options = options.clone();
        let answerer =
            std::thread::spawn(move || answer(answering, &answer_options, &hang_up_answerer));
        let pages = (0..2)
            .map(|_| fax_t4::Bitmap::new(1728, 50, fax_t4::Resolution::STANDARD).expect("page"))
            .collect();
        // The answerer leaves (its socket closed) once the first page is confirmed:
        // the caller's next datagrams bounce.
        let mut on_progress = |_confirmed: u32| answerer_gone.store(true, Ordering::Relaxed);
        let not_hanging_up = AtomicBool::new(false);
        let end = send_pages(
            pages,
            &remote.to_string(),
            &Local::Bind("127.0.0.1:0".into()),
            &options,
            Some(CallControl {
                on_progress: &mut on_progress,
                hang_up: &not_hanging_up,
            }),
        )
        .expect("the call is placed");
        let answered = answerer
            .join()
            .expect("the answerer's thread")
            .expect("the answerer ran");
        assert!(answered.hung_up, "{answered:?}");
        assert!(end.heard_far_end, "{end:?}");
        assert!(end.refused, "the caller's datagrams bounced: {end:?}");
        assert_eq!(end.outcome.pages, 1, "{end:?}");
        assert_ne!(end.outcome.status, Status::Ok, "{end:?}");
        assert_ne!(
            end.outcome.detail,
            Some(format!(
                "the T.38 peer at {remote} refused the call (ICMP port unreachable)"
            )),
            "the call's own timers end it: {end:?}"
        );
    }

    #[test]
    fn a_calling_socket_hears_only_the_far_end() {
        let far_end = UdpSocket::bind("127.0.0.1:0").expect("the far end's socket");
        let stranger = UdpSocket::bind("127.0.0.1:0").expect("a stranger's socket");
        let socket = calling_socket(
            far_end.local_addr().expect("address"),
            &Local::Bind("127.0.0.1:0".into()),
        )
        .expect("a calling socket");
        let ours = socket.local_addr().expect("our address");
        // Loopback keeps order: were the stranger's datagram let in, it would come first.
        stranger
            .send_to(b"stranger", ours)
            .expect("the stranger sends");
        far_end
            .send_to(b"far end", ours)
            .expect("the far end sends");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 16];
        let (n, from) = socket.recv_from(&mut buf).expect("a datagram");
        assert_eq!(&buf[..n], b"far end");
        assert_eq!(from, far_end.local_addr().expect("address"));
    }
}
