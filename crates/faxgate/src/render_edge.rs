//! The outside-world half of document rendering: finding fonts on this machine, and
//! running the external converters (Ghostscript for PDF, LibreOffice for office files)
//! as child processes with a time limit, a memory limit and a page limit.
//!
//! Everything else (text, images, turning grey rasters into fax pages) is
//! `fax-render`, which does no I/O beyond reading the font files named here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fax_render::fonts::{Face, FontSet};
use fax_render::{Limits, Note, PageSetup, Rendered};

mod office;
mod poppler;

pub(crate) use office::{Office, OfficeMode};

/// Limits on one conversion, enforced here for child processes and passed on to
/// `fax-render` for in-process work.
#[derive(Debug, Clone)]
pub(crate) struct Safety {
    /// Wall-clock limit for one external conversion.
    pub timeout: Duration,
    /// Address-space limit for external converters, in bytes.
    pub max_memory: u64,
    /// Pages per document and image size limits.
    pub limits: Limits,
    /// Which program rasterizes PDF.
    pub pdf: PdfRenderer,
}

/// The program that rasterizes PDF pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PdfRenderer {
    /// Poppler (pdftoppm) when installed, else Ghostscript.
    Auto,
    /// Poppler's pdftoppm and pdfinfo (Debian package poppler-utils): the faster.
    Poppler,
    /// Ghostscript (Debian package ghostscript).
    Ghostscript,
}

/// Preferred main faces for text pages: monospaced, because plain text is laid out in
/// columns by its writers.
const MAIN_FAMILIES: &[&str] = &["DejaVu Sans Mono", "Noto Sans Mono", "Liberation Mono"];

/// Fallback faces for Chinese, Japanese and Korean, best first.
const CJK_FAMILIES: &[&str] = &[
    "Noto Sans Mono CJK SC",
    "Noto Sans CJK SC",
    "WenQuanYi Zen Hei Mono",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
];

/// Finds fonts: the system's font directories plus `extra_paths` (files or
/// directories), the families asked for first, then the defaults. Returns the set and
/// the substitution notes (a wanted family that is not installed).
pub(crate) fn find_fonts(
    wanted: &[String],
    extra_paths: &[PathBuf],
) -> Result<(FontSet, Vec<Note>)> {
    let mut db = fontdb::Database::new();
    db.load_system_fonts();
    for path in extra_paths {
        if path.is_dir() {
            db.load_fonts_dir(path);
        } else {
            db.load_font_file(path)
                .with_context(|| format!("loading font file {}", path.display()))?;
        }
    }
    let mut notes = Vec::new();
    let mut faces = Vec::new();
    for family in wanted {
        match load_family(&db, fontdb::Family::Name(family), family)? {
            Some(face) => faces.push(face),
            None => notes.push(Note::FontSubstituted {
                wanted: family.clone(),
                used: "the default faces".into(),
            }),
        }
    }
    let mut main_found = false;
    for family in MAIN_FAMILIES {
        if let Some(face) = load_family(&db, fontdb::Family::Name(family), family)? {
            faces.push(face);
            main_found = true;
            break;
        }
    }
    if !main_found
        && wanted.is_empty()
        && let Some(face) = load_family(&db, fontdb::Family::Monospace, "monospace")?
    {
        // Any monospaced face beats none.
        notes.push(Note::FontSubstituted {
            wanted: MAIN_FAMILIES[0].into(),
            used: "the system's monospace face".into(),
        });
        faces.push(face);
    }
    for family in CJK_FAMILIES {
        if let Some(face) = load_family(&db, fontdb::Family::Name(family), family)? {
            faces.push(face);
            break;
        }
    }
    if faces.is_empty() {
        bail!(
            "no usable font found for text pages; install fonts-dejavu-core and \
             fonts-wqy-zenhei (or fonts-noto-cjk), or name a font file with --font-path"
        );
    }
    Ok((FontSet::new(faces)?, notes))
}

/// The best face of a family, if installed.
fn load_family(
    db: &fontdb::Database,
    family: fontdb::Family<'_>,
    name: &str,
) -> Result<Option<Face>> {
    let query = fontdb::Query {
        families: &[family],
        ..fontdb::Query::default()
    };
    let Some(id) = db.query(&query) else {
        return Ok(None);
    };
    let face = db
        .with_face_data(id, |data, index| {
            Face::from_bytes(name, data.to_vec(), index)
        })
        .with_context(|| format!("font {name}: unreadable"))?
        .with_context(|| format!("font {name}"))?;
    Ok(Some(face))
}

/// A directory removed when dropped, for a converter's output and profile.
pub(crate) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(crate) fn new(purpose: &str) -> Result<ScratchDir> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "faxgate-{purpose}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("creating scratch directory {}", path.display()))?;
        Ok(ScratchDir(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a finished child process left behind.
pub(crate) struct Finished {
    /// Whether it exited with status 0.
    pub(crate) success: bool,
    /// Its stderr (and its stdout, unless captured).
    pub(crate) stderr: String,
    /// Its stdout, when captured.
    pub(crate) stdout: Vec<u8>,
}

/// Runs `program args` under `prlimit` (address space and CPU time) with a wall-clock
/// timeout; the child is killed when the time is up. stderr (and stdout) go to a file
/// in `scratch`, so a chatty child can never block on a full pipe.
pub(crate) fn run_limited(
    program: &Path,
    args: &[std::ffi::OsString],
    scratch: &Path,
    safety: &Safety,
) -> Result<Finished> {
    run_limited_capturing(program, args, scratch, safety, None)
}

/// [`run_limited`], with stdout read through a pipe instead when `capture` is given:
/// at most that many bytes are kept (the child is stopped past it). Page rasters come
/// this way: no disk between the rasterizer and the halftone.
pub(crate) fn run_limited_capturing(
    program: &Path,
    args: &[std::ffi::OsString],
    scratch: &Path,
    safety: &Safety,
    capture: Option<u64>,
) -> Result<Finished> {
    use std::io::Read;
    let stderr_path = scratch.join("stderr.txt");
    let stderr = std::fs::File::create(&stderr_path).context("creating the converter's log")?;
    let stdout = match capture {
        Some(_) => Stdio::piped(),
        None => Stdio::from(stderr.try_clone().context("creating the converter's log")?),
    };
    let cpu_seconds = safety.timeout.as_secs().max(1);
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--as={}", safety.max_memory))
        .arg(format!("--cpu={cpu_seconds}"))
        .arg("--")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    let mut child = command
        .spawn()
        .context("starting prlimit (util-linux) to run the converter")?;
    let reader = match (capture, child.stdout.take()) {
        (Some(limit), Some(pipe)) => Some(std::thread::spawn(move || {
            // Room for all the pages up front (up to a sane size): growing by doubling
            // copied the pages several times over and faulted in fresh memory each time.
            let mut data = Vec::with_capacity(limit.min(1 << 26) as usize);
            // One byte past the limit tells "too much" from "exactly the limit".
            let read = pipe.take(limit.saturating_add(1)).read_to_end(&mut data);
            read.map(|_| data)
        })),
        _ => None,
    };
    let started = Instant::now();
    let mut output_done: Option<Instant> = None;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the converter")? {
            break status;
        }
        if started.elapsed() > safety.timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{} took longer than {} s and was stopped",
                program.display(),
                safety.timeout.as_secs()
            );
        }
        if output_done.is_none() && reader.as_ref().is_some_and(|r| r.is_finished()) {
            output_done = Some(Instant::now());
        }
        // Output read to the limit and the child still writing: it would block on the
        // full pipe until the timeout. A second to exit after closing its output is
        // plenty for a child that has finished.
        if output_done.is_some_and(|t| t.elapsed() > Duration::from_secs(1)) {
            let _ = child.kill();
            break child.wait().context("waiting for the converter")?;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = match reader {
        Some(reader) => {
            let data = reader
                .join()
                .map_err(|_| anyhow::anyhow!("reading the converter's output failed"))?
                .context("reading the converter's output")?;
            if capture.is_some_and(|limit| data.len() as u64 > limit) {
                bail!(
                    "{} produced more than {} bytes of pages, the limit",
                    program.display(),
                    capture.unwrap_or(0)
                );
            }
            data
        }
        None => Vec::new(),
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    Ok(Finished {
        success: status.success(),
        stderr,
        stdout,
    })
}

/// Bytes of `pages` grey page rasters as PGM: the most a rasterizer may send.
pub(crate) fn pgm_bytes(setup: &PageSetup, pages: usize) -> u64 {
    let page = u64::from(setup.width()) * u64::from(setup.height()) + 64;
    page.saturating_mul(pages as u64)
}

/// Finds an executable on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Rasterizes a PDF with the renderer `safety.pdf` names (poppler if installed, by
/// default), in grey at the setup's resolution, and halftones it into fax pages.
pub(crate) fn render_pdf(pdf: &Path, setup: &PageSetup, safety: &Safety) -> Result<Rendered> {
    let poppler = || Some((on_path("pdfinfo")?, on_path("pdftoppm")?));
    match (safety.pdf, poppler()) {
        (PdfRenderer::Auto | PdfRenderer::Poppler, Some((pdfinfo, pdftoppm))) => {
            poppler::render_pdf(&pdfinfo, &pdftoppm, pdf, setup, safety)
        }
        (PdfRenderer::Poppler, None) => bail!(
            "poppler (pdftoppm, pdfinfo) is needed to rasterize PDF files and is not \
             installed; install the Debian package poppler-utils"
        ),
        _ => render_pdf_ghostscript(pdf, setup, safety),
    }
}

/// Rasterizes a PDF with Ghostscript, in grey at the setup's resolution and page size
/// (pages fitted and, if landscape, turned), without anti-aliasing so text and lines
/// stay crisp; `fax-render` then halftones what grey remains.
fn render_pdf_ghostscript(pdf: &Path, setup: &PageSetup, safety: &Safety) -> Result<Rendered> {
    let gs = on_path("gs").context(
        "Ghostscript (gs) is needed to rasterize PDF files and is not installed; \
         install the Debian package ghostscript",
    )?;
    let scratch = ScratchDir::new("pdf")?;
    let max_pages = safety.limits.max_pages;
    let args: Vec<std::ffi::OsString> = vec![
        "-q".into(),
        "-dSAFER".into(),
        "-dBATCH".into(),
        "-dNOPAUSE".into(),
        "-dNOPROMPT".into(),
        "-sDEVICE=pgmraw".into(),
        format!("-r{}x{}", setup.x_dpi(), setup.y_dpi()).into(),
        format!("-g{}x{}", setup.width(), setup.height()).into(),
        "-dFIXEDMEDIA".into(),
        "-dPDFFitPage".into(),
        "-dTextAlphaBits=1".into(),
        "-dGraphicsAlphaBits=1".into(),
        // One page more than allowed tells a long document from one at the limit.
        format!("-dLastPage={}", max_pages + 1).into(),
        // Pages come through a pipe, one PGM after another.
        "-sOutputFile=-".into(),
        "-f".into(),
        pdf.into(),
    ];
    let finished = run_limited_capturing(
        &gs,
        &args,
        scratch.path(),
        safety,
        Some(pgm_bytes(setup, max_pages + 1)),
    )?;
    let log = &finished.stderr;
    if log.contains("requires a password") || log.contains("Password") {
        bail!("the PDF is encrypted with a password; send it without the password protection");
    }
    // Ghostscript repairs many damaged files and says so on stderr; pages it produced
    // and a clean exit are taken.
    if !finished.success || finished.stdout.is_empty() {
        let first_lines: Vec<&str> = log
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(4)
            .collect();
        bail!(
            "Ghostscript could not read the PDF (damaged or not a PDF): {}",
            first_lines.join(" / ")
        );
    }
    let mut limits = safety.limits;
    limits.max_pages = max_pages + 1;
    let rasters = fax_render::grey::parse_pgm_stream(
        &finished.stdout,
        setup.x_dpi(),
        setup.y_dpi(),
        &limits,
    )?;
    if rasters.len() > max_pages {
        bail!("the PDF has more than {max_pages} pages, the limit");
    }
    Ok(fax_render::grey::pages_from_rasters(&rasters, setup)?)
}

/// Converts an office document to PDF with LibreOffice (see [`office`]), then
/// rasterizes the PDF.
pub(crate) fn render_office(
    document: &Path,
    office: &mut Office,
    setup: &PageSetup,
    safety: &Safety,
) -> Result<Rendered> {
    let scratch = ScratchDir::new("office-out")?;
    let pdf = office.convert(document, scratch.path(), safety)?;
    render_pdf(&pdf, setup, safety)
}
