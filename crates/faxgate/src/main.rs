//! faxgate: fax server and email-to-fax gateway.
//!
//! This binary is the edge of the system: it owns files, the clock and the command line,
//! and hands bytes to the pure crates (`fax-t4`, `fax-tiff`) that do the work. Errors from
//! those crates get the file and page they concern attached here.

#![forbid(unsafe_code)]

mod convert;
mod tiff_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Fax server and email-to-fax gateway.
#[derive(Debug, Parser)]
#[command(name = "faxgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert PBM and TIFF images into one multi-page fax TIFF (TIFF Class F).
    ///
    /// Every page of every input becomes a page of OUTPUT, in order. Pages come out
    /// 1728 pixels wide at 204 dpi, the A4 width every fax machine takes: wider pages
    /// are scaled down, narrower ones are centred on a white page.
    Convert(ConvertArgs),
    /// Inspect and decode TIFF files.
    #[command(subcommand)]
    Tiff(TiffCommand),
}

#[derive(Debug, clap::Args)]
struct ConvertArgs {
    /// PBM (P1 or P4) or TIFF files; all pages of each TIFF are taken.
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert::run(&args),
        Command::Tiff(TiffCommand::Info { file }) => tiff_cmd::info(&file),
        Command::Tiff(TiffCommand::Extract { file, output }) => tiff_cmd::extract(&file, &output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("faxgate: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
