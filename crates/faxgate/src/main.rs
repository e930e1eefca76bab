//! faxgate: fax server and email-to-fax gateway.
//!
//! This binary is the edge of the system: it owns files, sockets, the database, the
//! clock and the command line, and hands bytes to the library crates that do the work
//! (`fax-t4`, `fax-tiff`, `fax-render`, `fax-t30`, `fax-t38`, `fax-address`, and
//! `fax-queue` for storage). Errors from those crates get the file, page or record they
//! concern attached here.

#![forbid(unsafe_code)]

mod address_cmd;
mod config;
mod convert;
mod demo;
mod fax_cmd;
mod intake;
mod job_cmd;
mod mail_cmd;
mod mail_intake;
mod queue_cmd;
mod receipts;
mod render_edge;
mod send_cmd;
mod serve;
#[cfg(test)]
mod test_users;
mod tiff_cmd;
mod user_cmd;
mod virtual_line;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Fax server and email-to-fax gateway.
#[derive(Debug, Parser)]
#[command(name = "faxgate", version, about)]
struct Cli {
    /// How log lines on stderr are written: "text" (one readable line each) or "json"
    /// (one JSON object per line: timestamp in RFC 3339 UTC with microseconds, level,
    /// fields, and the spans they happened in, e.g. the request and the call).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The `--log-format` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors and scripts.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert documents into one multi-page fax TIFF (TIFF Class F).
    ///
    /// Inputs may be fax images (PBM, bilevel TIFF), plain text (UTF-8, UTF-16, GBK,
    /// Big5, ... detected), PDF (rasterized by Ghostscript), images (PNG, JPEG, GIF, BMP,
    /// TIFF: photos halftoned, line art thresholded) and office files (through
    /// LibreOffice); the kind is read from the content. Every page of every input
    /// becomes a page of OUTPUT, in order. Pages come out 1728 pixels wide at 204 dpi,
    /// the A4 width every fax machine takes: wider fax pages are scaled down, narrower
    /// ones are centred on a white page. What the fax loses against the documents
    /// (missing glyphs, scaled pages, halftoned pictures, ...) is printed on stderr.
    Convert(ConvertArgs),
    /// Inspect and decode TIFF files.
    #[command(subcommand)]
    Tiff(TiffCommand),
    /// Send, receive or poll one fax over T.38 (fax over IP, UDPTL over UDP).
    #[command(subcommand)]
    Fax(FaxCommand),
    /// Fax addressing: the recipients named in a fax mail's Subject.
    #[command(subcommand)]
    Address(AddressCommand),
    /// Mail to fax: what the gateway does with a message.
    #[command(subcommand)]
    Mail(mail_cmd::MailCommand),
    /// Users of the gateway: add, list, show, change, remove.
    User {
        #[command(subcommand)]
        command: user_cmd::UserCommand,
        #[command(flatten)]
        store: queue_cmd::StoreArgs,
    },
    /// Fax jobs (one per recipient): list, show, cancel, retry, submit, and the worker
    /// that calls them.
    Job {
        #[command(subcommand)]
        command: job_cmd::JobCommand,
        #[command(flatten)]
        store: queue_cmd::StoreArgs,
    },
    /// Run the gateway: SMTP intake, mailbox, the worker over every line, receipts,
    /// the admin endpoint; until SIGINT or SIGTERM.
    ///
    /// Without --config it starts on embedded defaults: SQLite and blobs under
    /// ./faxgate-data, the SMTP intake on 127.0.0.1:2525, one virtual line (faxgate's
    /// own answering fax terminal, filing what it receives under
    /// ./faxgate-data/virtual/virtual/), status and metrics on http://127.0.0.1:9925.
    Serve(serve::ServeArgs),
    /// Queue a fax request (the recipients in Subject syntax, documents of any kind)
    /// for `faxgate serve` to send, as a mail to the gateway would; --wait follows it
    /// to the end and prints the result table (exit 0 only if every fax was sent).
    ///
    /// Without --config or --data-dir the store is faxgate serve's default,
    /// ./faxgate-data.
    Send(send_cmd::SendArgs),
    /// The gateway end to end in seconds: faxgate serve on a temporary directory, a
    /// demo user, a mail with a Chinese Subject and a PDF and a text attachment through
    /// the SMTP intake, faxed over T.38 and T.30 to the virtual line; prints the
    /// progress, the receipt and where the sent and received TIFFs are.
    Demo(demo::DemoArgs),
    /// Show what `faxgate serve` is doing (the status file it writes periodically).
    Status(serve::StatusArgs),
    /// Faxes delivered to a user's fax ID, newest first.
    Inbox {
        /// The user: an address, a fax ID or an id.
        #[arg(long)]
        user: fax_queue::UserKey,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        store: queue_cmd::StoreArgs,
    },
    /// What a user sent, with each recipient's result, newest first.
    Outbox {
        /// The user: an address, a fax ID or an id.
        #[arg(long)]
        user: fax_queue::UserKey,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        store: queue_cmd::StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AddressCommand {
    /// Read a Subject the way the gateway does, and print its recipients as JSON.
    ///
    /// The Subject names recipients separated by ";", each
    /// [country-][area-]number[|FAXID][/name1[|name2]] or FAXID[/name1[|name2]], e.g.
    /// "86-755-83235170|AF90000098/Company|Person; 10-666666". Prints
    /// {"recipients":[...]}, each recipient an object with country, area, number,
    /// fax_id, name1, name2, kind (fax-id, internal, local, national or international),
    /// dial (what the PBX or modem dials) and e164 (what a SIP trunk wants); absent
    /// fields are null, and a destination named twice is listed once. Exits 0. If a
    /// recipient is wrong or not allowed, prints
    /// {"error":"...","recipient_index":N,"input":"..."} for the first bad one (N counts
    /// from 0) and exits 1.
    ///
    /// Without --config the built-in settings apply: country code 86 and area code 755
    /// (Shenzhen), international prefix 00, trunk prefix 0, no outside-line prefix,
    /// 3-digit extensions, local numbers of at most 8 digits, fax IDs AF followed by 8
    /// digits, at most 100 recipients, and any bad recipient refusing the whole mail;
    /// the gateway limits new users to national calls (policy.default_max_kind), which
    /// --max-kind checks here. config/faxgate.example.toml shows them all.
    Parse {
        /// Configuration file (TOML) whose [address] section sets the dial plan, the fax
        /// ID format and the destination policy.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Check the subject for a sender who may place calls up to this kind [default:
        /// no per-sender limit, only the configured prefix rules].
        #[arg(long, value_enum, value_name = "KIND")]
        max_kind: Option<KindArg>,
        /// The Subject, as one argument (quote it).
        subject: String,
    },
}

/// The kinds of call, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    /// Fax IDs of this server only: no call is placed.
    FaxId,
    /// Extensions of the server's phone system.
    Internal,
    /// Numbers in the server's own area.
    Local,
    /// Numbers in the server's own country.
    National,
    /// Any number.
    International,
}

impl KindArg {
    fn kind(self) -> fax_address::Kind {
        match self {
            KindArg::FaxId => fax_address::Kind::FaxId,
            KindArg::Internal => fax_address::Kind::Internal,
            KindArg::Local => fax_address::Kind::Local,
            KindArg::National => fax_address::Kind::National,
            KindArg::International => fax_address::Kind::International,
        }
    }
}

#[derive(Debug, Subcommand)]
enum FaxCommand {
    /// Call a T.38 endpoint and send a fax TIFF.
    ///
    /// Prints one JSON line with the result and exits 0 only if every page was
    /// confirmed by the receiver.
    Send {
        /// The T.38 endpoint (UDPTL) to call and send to.
        #[arg(long, value_name = "HOST:PORT", required_unless_present = "t38_listen")]
        t38: Option<String>,
        /// Instead of calling, wait on this address to be polled: answer, offer the
        /// document in DIS and send it when the caller asks (DTC).
        #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["t38", "local_port"])]
        t38_listen: Option<String>,
        /// Local UDP port to send from (0: any free port).
        #[arg(long, value_name = "P", default_value_t = 0)]
        local_port: u16,
        #[command(flatten)]
        call: CallArgs,
        /// The fax to send: a TIFF (any compression faxgate reads); pages are converted
        /// to what the receiver accepts.
        file: PathBuf,
    },
    /// Call a T.38 endpoint and poll it: fetch the document it has waiting.
    ///
    /// Prints one JSON line with the result and exits 0 only if a document was
    /// received completely.
    Poll {
        /// The T.38 endpoint (UDPTL) to call.
        #[arg(long, value_name = "HOST:PORT")]
        t38: String,
        /// Local UDP port to call from (0: any free port).
        #[arg(long, value_name = "P", default_value_t = 0)]
        local_port: u16,
        /// Where to write the fetched document.
        #[arg(short, long, value_name = "OUT.tif")]
        output: PathBuf,
        #[command(flatten)]
        call: CallArgs,
    },
    /// Wait for a T.38 call and receive a fax into a TIFF Class F file.
    ///
    /// The far end's address is learned from its first packet. Prints one JSON line
    /// with the result and exits 0 only if a fax was received completely.
    Receive {
        /// Address and UDP port to listen on.
        #[arg(long, value_name = "HOST:PORT")]
        t38_listen: String,
        /// Where to write the received fax (with the received-fax quality tags and the
        /// sender's identifier).
        #[arg(short, long, value_name = "OUT.tif")]
        output: PathBuf,
        #[command(flatten)]
        call: CallArgs,
    },
}

#[derive(Debug, clap::Args)]
struct CallArgs {
    /// Use error correction mode when the far end has it (the default).
    #[arg(long, overrides_with = "no_ecm")]
    ecm: bool,
    /// Never use error correction mode (and so never MMR).
    #[arg(long)]
    no_ecm: bool,
    /// Our station identifier (up to 20 characters, usually the fax number).
    #[arg(long, value_name = "ID", default_value = "")]
    ident: String,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    timeout: u64,
    /// UDPTL redundancy: how many earlier packets each datagram repeats.
    #[arg(long, value_name = "N", default_value_t = 3)]
    redundancy: usize,
    /// How the training check crosses the network (T38FaxRateManagement): transferred
    /// (the TCF travels as data) or local (it is not sent; both ends must agree).
    #[arg(long, value_enum, default_value_t = TcfArg::Transferred)]
    tcf: TcfArg,
    /// T.38 version of the IFP packets (T38FaxVersion), 0 to 3; both ends must agree.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
    t38_version: u8,
    /// Print the T.30 transcript (frames, training, pages) on stderr.
    #[arg(long)]
    trace: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TcfArg {
    /// transferredTCF.
    Transferred,
    /// localTCF.
    Local,
}

impl CallArgs {
    fn options(&self) -> fax_cmd::CallOptions {
        fax_cmd::CallOptions {
            ecm: !self.no_ecm,
            ident: self.ident.clone(),
            trace: self.trace,
            timeout: std::time::Duration::from_secs(self.timeout),
            redundancy: self.redundancy,
            local_tcf: self.tcf == TcfArg::Local,
            t38_version: self.t38_version,
            max_rate: 14_400,
            speed: 1,
        }
    }
}

#[derive(Debug, clap::Args)]
struct ConvertArgs {
    /// Documents: PBM, TIFF (all pages), text, PDF, PNG, JPEG, GIF, BMP, office files.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// The fax TIFF to write (overwritten if it exists).
    #[arg(short, long, value_name = "OUT.tif")]
    output: PathBuf,
    /// How to code the pages. MH is the default because every fax machine accepts it;
    /// MR and MMR make smaller files that some old machines cannot take.
    #[arg(long, value_enum, default_value_t = CompressionArg::Mh)]
    compression: CompressionArg,
    /// Vertical resolution of the output: standard (98 lpi) or fine (196 lpi). Pages at
    /// another resolution are scaled to it. Without this option pages keep a fax
    /// resolution they already have, and pages at any other resolution become fine
    /// (or standard, below 150 lpi).
    #[arg(long, value_enum)]
    resolution: Option<ResolutionArg>,
    /// What resolution PBM inputs are at, since PBM files do not say. Fine (204 x 196
    /// dpi) is what fax renderers produce; say standard for 204 x 98 dpi images.
    #[arg(long, value_enum, default_value_t = ResolutionArg::Fine)]
    pbm_resolution: ResolutionArg,
    /// Paper that text, images and PDF pages are laid out for.
    #[arg(long, value_enum, default_value_t = PaperArg::A4)]
    paper: PaperArg,
    /// Margin around text and images, in millimetres.
    #[arg(long, value_name = "MM", default_value_t = 15.0)]
    margin_mm: f32,
    /// Font size of text documents, in points.
    #[arg(long, value_name = "PT", default_value_t = 10.0)]
    font_size: f32,
    /// Font family for text documents, before the defaults (DejaVu Sans Mono, then a
    /// CJK face: Noto Sans CJK or WenQuanYi Zen Hei); may be repeated.
    #[arg(long, value_name = "FAMILY")]
    font: Vec<String>,
    /// Font file or directory to search besides the system's fonts; may be repeated.
    #[arg(long, value_name = "PATH")]
    font_path: Vec<PathBuf>,
    /// Write the fidelity report of every input as JSON to FILE ("-": stdout).
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
    /// Give up on an external conversion (PDF, office file) after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    timeout: u64,
    /// Memory limit for external converters and image decoding, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    max_memory_mib: u64,
    /// Refuse documents (and faxes) of more pages than this.
    #[arg(long, value_name = "N", default_value_t = 200)]
    max_pages: usize,
    /// LibreOffice's soffice program for office files [default: soffice on PATH].
    #[arg(long, value_name = "PATH")]
    soffice: Option<PathBuf>,
    #[command(flatten)]
    pages: convert::PageArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PaperArg {
    /// ISO A4.
    A4,
    /// US Letter.
    Letter,
}

impl PaperArg {
    fn paper(self) -> fax_render::Paper {
        match self {
            PaperArg::A4 => fax_render::Paper::A4,
            PaperArg::Letter => fax_render::Paper::Letter,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CompressionArg {
    /// T.4 one-dimensional (Modified Huffman).
    Mh,
    /// T.4 two-dimensional (Modified READ), K = 2 at standard and 4 at fine resolution.
    Mr,
    /// T.6 (Modified Modified READ), the smallest.
    Mmr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ResolutionArg {
    /// 204 x 98 dpi.
    Standard,
    /// 204 x 196 dpi.
    Fine,
}

impl ResolutionArg {
    fn resolution(self) -> fax_t4::Resolution {
        match self {
            ResolutionArg::Standard => fax_t4::Resolution::STANDARD,
            ResolutionArg::Fine => fax_t4::Resolution::FINE,
        }
    }
}

#[derive(Debug, Subcommand)]
enum TiffCommand {
    /// Describe every page of a TIFF file as JSON: an array with one object per page.
    Info {
        /// The TIFF file.
        file: PathBuf,
    },
    /// Decode every page of a TIFF file to DIR/page-001.pbm, page-002.pbm, ...
    ///
    /// Pages with damaged rows are written anyway and reported on stderr.
    Extract {
        /// The TIFF file.
        file: PathBuf,
        /// Directory for the PBM files, created if missing.
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
    },
}

/// Logs (the worker's spans per job and call) go to stderr; RUST_LOG chooses the detail
/// (default: faxgate's own messages at info, other crates' warnings).
/// Either format stamps each line with the UTC time to the microsecond.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,faxgate=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Convert(args) => convert::run(&args).map(|()| true),
        Command::Tiff(TiffCommand::Info { file }) => tiff_cmd::info(&file).map(|()| true),
        Command::Tiff(TiffCommand::Extract { file, output }) => {
            tiff_cmd::extract(&file, &output).map(|()| true)
        }
        Command::Fax(FaxCommand::Send {
            t38,
            t38_listen,
            local_port,
            call,
            file,
        }) => match (t38, t38_listen) {
            (_, Some(listen)) => fax_cmd::send_when_polled(&file, &listen, &call.options()),
            (Some(remote), None) => fax_cmd::send(&file, &remote, local_port, &call.options()),
            (None, None) => Err(anyhow::anyhow!(
                "give --t38 HOST:PORT or --t38-listen HOST:PORT"
            )),
        },
        Command::Fax(FaxCommand::Poll {
            t38,
            local_port,
            output,
            call,
        }) => fax_cmd::poll(&t38, local_port, &output, &call.options()),
        Command::Fax(FaxCommand::Receive {
            t38_listen,
            output,
            call,
        }) => fax_cmd::receive(&t38_listen, &output, &call.options()),
        Command::Address(AddressCommand::Parse {
            config,
            max_kind,
            subject,
        }) => address_cmd::parse(config.as_deref(), max_kind.map(KindArg::kind), &subject),
        Command::Mail(command) => mail_cmd::run(command),
        Command::Serve(args) => serve::run(&args),
        Command::Status(args) => serve::status(&args),
        Command::Send(args) => send_cmd::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::User { command, store } => user_cmd::run(command, &store),
        Command::Job { command, store } => job_cmd::run(command, &store),
        Command::Outbox { user, limit, store } => job_cmd::outbox(&user, limit, &store),
        Command::Inbox { user, limit, store } => job_cmd::inbox(&user, limit, &store),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("faxgate: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
