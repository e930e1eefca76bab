//! PDF pages rasterized by poppler: `pdfinfo` for the page sizes and `pdfimages -list`
//! for the pages with pictures (side by side; not run on a file with no image
//! dictionary in it), then `pdftoppm` for the pixels.
//!
//! Each page is rendered at the resolution that makes it fit the fax page exactly (so
//! nothing is resampled afterwards and text stays as crisp as the rasterizer drew it),
//! turned a quarter anticlockwise if it is landscape (as Ghostscript's `-dPDFFitPage`
//! turns it), and centred. Pages without pictures are drawn one bit per pixel
//! (`-mono`): a third less work for pdftoppm than grey (no alpha channel composited, an
//! eighth of the bytes through the pipe), the same pixels as grey drawn without
//! anti-aliasing and thresholded, and nothing left to halftone. Pages with pictures,
//! and pages where the bilevel drawing turned out screened (a grey fill or shading,
//! which pdftoppm dithers finely and which codes badly), are drawn in grey and
//! halftoned by `fax-render`. Consecutive pages of one size and mode share a pdftoppm
//! run (a long run is cut into one part per core); runs go side by side, one per core.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, Result, bail};
use fax_render::grey::{GreyImage, GreyView};
use fax_render::{Note, PageSetup, Rendered};

use super::{Safety, ScratchDir, pgm_bytes, run_limited, run_limited_capturing};

/// One page's size in points, as shown (after its /Rotate).
#[derive(Debug, Clone, Copy, PartialEq)]
struct PageSize {
    width: f64,
    height: f64,
}

/// How one page is rasterized.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Plan {
    /// Horizontal and vertical resolution for pdftoppm, in dots per inch.
    rx: f64,
    ry: f64,
    /// Turned a quarter anticlockwise after rendering.
    turned: bool,
    /// The scale relative to the fax resolution (1.0 = natural size).
    scale: f64,
}

/// Scales that differ from 1 by less than this are not worth a note: US Letter is
/// 1734 pixels wide at 204 dpi and is fitted to the 1728 of a fax page.
const UNREMARKABLE_SCALE: f64 = 0.03;

fn plan(size: PageSize, setup: &PageSetup) -> Plan {
    let (page_w, page_h) = (f64::from(setup.width()), f64::from(setup.height()));
    let (x_dpi, y_dpi) = (f64::from(setup.x_dpi()), f64::from(setup.y_dpi()));
    let (w_in, h_in) = (size.width / 72.0, size.height / 72.0);
    let turned = size.width > size.height;
    // A turned page's width runs down the fax page and its height across.
    let (across_in, down_in) = if turned { (h_in, w_in) } else { (w_in, h_in) };
    let scale = (page_w / (across_in * x_dpi))
        .min(page_h / (down_in * y_dpi))
        .clamp(1e-3, 1e3);
    let (rx, ry) = if turned {
        (y_dpi * scale, x_dpi * scale)
    } else {
        (x_dpi * scale, y_dpi * scale)
    };
    Plan {
        rx,
        ry,
        turned,
        scale,
    }
}

/// Page sizes from `pdfinfo -f 1 -l N`: lines "Page    3 size: 792 x 612 pts" and
/// "Page    3 rot:   90".
fn parse_pdfinfo(text: &str) -> Result<(usize, Vec<PageSize>)> {
    let mut pages = None;
    let mut sizes: Vec<PageSize> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Pages:") {
            pages = rest.trim().parse::<usize>().ok();
            continue;
        }
        let Some(rest) = line.strip_prefix("Page ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(number), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<usize>() else {
            continue;
        };
        match what {
            "size:" => {
                let width = words.next().and_then(|w| w.parse::<f64>().ok());
                let _x = words.next();
                let height = words.next().and_then(|h| h.parse::<f64>().ok());
                if let (Some(width), Some(height)) = (width, height)
                    && width.is_finite()
                    && height.is_finite()
                    && width > 1.0
                    && height > 1.0
                    && number == sizes.len() + 1
                {
                    sizes.push(PageSize { width, height });
                }
            }
            "rot:" => {
                let rot = words
                    .next()
                    .and_then(|r| r.parse::<i64>().ok())
                    .unwrap_or(0);
                if rot.rem_euclid(180) == 90
                    && let Some(size) = sizes.get_mut(number.wrapping_sub(1))
                {
                    std::mem::swap(&mut size.width, &mut size.height);
                }
            }
            _ => {}
        }
    }
    let pages = pages.context("pdfinfo gave no page count")?;
    Ok((pages, sizes))
}

/// The grey raster turned a quarter anticlockwise: its top row becomes the left
/// column, read upwards. The reference [`place_on_page`] is checked against.
#[cfg(test)]
fn turn_anticlockwise(grey: &GreyImage) -> GreyImage {
    let (w, h) = (grey.width as usize, grey.height as usize);
    let mut data = vec![255u8; w * h];
    for (y, row) in grey.data.chunks_exact(w.max(1)).enumerate() {
        for (x, &g) in row.iter().enumerate() {
            // New size h x w; pixel (x, y) goes to column y, row w - 1 - x.
            data[(w - 1 - x) * h + y] = g;
        }
    }
    GreyImage {
        width: h as u32,
        height: w as u32,
        x_dpi: grey.y_dpi,
        y_dpi: grey.x_dpi,
        data,
    }
}

/// `grey` centred on a white raster of exactly the page's size; a pixel or two of a
/// rounded-up raster is cut off. Returns whether ink was cut.
#[cfg(test)]
fn centre_on_page(grey: &GreyImage, setup: &PageSetup) -> (GreyImage, bool) {
    let (pw, ph) = (setup.width() as usize, setup.height() as usize);
    let (w, h) = (grey.width as usize, grey.height as usize);
    let mut data = vec![255u8; pw * ph];
    let mut cut = false;
    let (dx, sx) = if w <= pw {
        ((pw - w) / 2, 0)
    } else {
        (0, (w - pw) / 2)
    };
    let (dy, sy) = if h <= ph {
        ((ph - h) / 2, 0)
    } else {
        (0, (h - ph) / 2)
    };
    let copy_w = w.min(pw);
    for (y, row) in grey.data.chunks_exact(w.max(1)).enumerate() {
        let kept = y >= sy && y - sy < ph;
        if !kept {
            cut |= row.iter().any(|&g| g < 128);
            continue;
        }
        cut |= row[..sx]
            .iter()
            .chain(&row[sx + copy_w..])
            .any(|&g| g < 128);
        let target = (dy + y - sy) * pw + dx;
        data[target..target + copy_w].copy_from_slice(&row[sx..sx + copy_w]);
    }
    (
        GreyImage {
            width: pw as u32,
            height: ph as u32,
            x_dpi: setup.x_dpi(),
            y_dpi: setup.y_dpi(),
            data,
        },
        cut,
    )
}

/// Where a raster lands on the page along one axis: `(target offset, source offset,
/// length copied)`. A shorter raster is centred, a longer one loses equal parts at both
/// ends.
fn span(len: usize, page: usize) -> (usize, usize, usize) {
    if len <= page {
        ((page - len) / 2, 0, len)
    } else {
        (0, (len - page) / 2, page)
    }
}

/// Whether any sample is dark enough to count as ink.
fn has_ink(samples: &[u8]) -> bool {
    samples.iter().fold(0u8, |any, &g| any | u8::from(g < 128)) != 0
}

/// `grey`, turned a quarter anticlockwise first when `turned` (its top row becomes the
/// left column, read upwards), centred on a white raster of exactly the page's size; a
/// pixel or two of a rounded-up raster is cut off. Returns whether ink was cut.
///
/// One pass straight into the page: turning and centring separately cost two full
/// page copies, and the turn walked the source a column at a time, one cache miss per
/// pixel; here eight source rows are read together.
fn place_on_page(grey: GreyView<'_>, turned: bool, setup: &PageSetup) -> (GreyImage, bool) {
    let (pw, ph) = (setup.width() as usize, setup.height() as usize);
    let (w, h) = (grey.width as usize, grey.height as usize);
    let mut data = vec![255u8; pw * ph];
    let mut cut = false;
    // Size as it will stand on the page.
    let (across, down) = if turned { (h, w) } else { (w, h) };
    let (dx, sx, copy_w) = span(across, pw);
    let (dy, sy, copy_h) = span(down, ph);
    let rows = grey.data.chunks_exact(w.max(1));
    if !turned {
        for (y, row) in rows.enumerate() {
            if y < sy || y - sy >= copy_h {
                cut |= has_ink(row);
                continue;
            }
            cut |= has_ink(&row[..sx]) || has_ink(&row[sx + copy_w..]);
            let target = (dy + y - sy) * pw + dx;
            data[target..target + copy_w].copy_from_slice(&row[sx..sx + copy_w]);
        }
    } else {
        // Page pixel (X, Y) of the turned raster is source pixel (w - 1 - Y, X): source
        // rows become page columns, source columns (right to left) page rows.
        // Source rows [sx, sx + copy_w) and columns (w - sy - copy_h, w - sy] are kept.
        let (col_lo, col_hi) = (w - sy - copy_h, w - sy);
        for (y, row) in rows.enumerate() {
            if y < sx || y - sx >= copy_w {
                cut |= has_ink(row);
            } else {
                cut |= has_ink(&row[..col_lo]) || has_ink(&row[col_hi..]);
            }
        }
        // Eight source rows at a time, read left to right together: each source
        // column gives 8 neighbouring bytes of one page row.
        const GROUP: usize = 8;
        let kept = &grey.data[sx * w..(sx + copy_w) * w];
        for (g, group) in kept.chunks(GROUP * w).enumerate() {
            let column = dx + g * GROUP;
            let n = group.len() / w;
            for x in col_lo..col_hi {
                let page_row = dy + (w - 1 - x) - sy;
                let target = &mut data[page_row * pw + column..page_row * pw + column + n];
                for (i, pixel) in target.iter_mut().enumerate() {
                    *pixel = group[i * w + x];
                }
            }
        }
    }
    (
        GreyImage {
            width: pw as u32,
            height: ph as u32,
            x_dpi: setup.x_dpi(),
            y_dpi: setup.y_dpi(),
            data,
        },
        cut,
    )
}

/// Page numbers (from 1) that `pdfimages -list` shows a picture on: lines
/// "   2     0 image     640   420  rgb ...". Stencil masks (one-bit shapes painted
/// in one colour) draw like text and do not count.
fn parse_pdfimages(text: &str) -> Vec<usize> {
    let mut pages: Vec<usize> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let page = words.next()?.parse::<usize>().ok()?;
            let _number = words.next()?;
            match words.next()? {
                "stencil" => None,
                _ => Some(page),
            }
        })
        .collect();
    pages.dedup();
    pages
}

/// Whether a byte is part of a PDF name or keyword: neither white space nor a
/// delimiter.
fn is_regular(byte: u8) -> bool {
    !matches!(
        byte,
        b'\0'
            | b'\t'
            | b'\n'
            | b'\x0c'
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

/// Whether the name starting at `window[0]` (a `/`) says "image" or "object stream"
/// (`last`: nothing follows the window; otherwise a name the window cuts is decided
/// when the next window shows it whole): `/Image` itself (the subtype of every image
/// XObject; `/ImageMask` comes with it) or `/ObjStm`. The procedure set names
/// `/ImageB`, `/ImageC` and `/ImageI`, which most PDF writers put on every page,
/// text-only or not, do not count. A name spelled with `#` escapes is not looked
/// for (a `#` is common in the binary of compressed streams): a picture it hides is
/// drawn bilevel first, found screened, and drawn again in grey.
fn names_a_picture(window: &[u8], last: bool) -> bool {
    let name = &window[1..];
    name.starts_with(b"ObjStm")
        || (name.starts_with(b"Image") && name.get(5).map_or(last, |&byte| !is_regular(byte)))
}

/// Whether the PDF may hold pictures: an image dictionary (`/Subtype /Image`) in plain
/// view, or object streams (`/ObjStm`) that could hide one. A file with neither has
/// none to ask `pdfimages` about, which saves its run on text-only documents.
/// Unreadable is "may".
fn may_show_pictures(pdf: &Path) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(pdf) else {
        return true;
    };
    // Each block is searched with the end of the one before: a name that starts there
    // is looked at again with the bytes that follow it.
    const CARRY: usize = 8;
    let mut buffer = vec![0u8; CARRY + (1 << 16)];
    let mut kept = 0;
    let search = |window: &[u8], last: bool| {
        window
            .iter()
            .enumerate()
            .any(|(at, &byte)| byte == b'/' && names_a_picture(&window[at..], last))
    };
    loop {
        let read = match file.read(&mut buffer[kept..]) {
            // The end of the last block once more, knowing that nothing follows.
            Ok(0) => return search(&buffer[..kept], true),
            Ok(read) => read,
            Err(_) => return true,
        };
        let window = &buffer[..kept + read];
        if search(window, false) {
            return true;
        }
        let tail = window.len().saturating_sub(CARRY);
        kept = window.len() - tail;
        buffer.copy_within(tail..tail + kept, 0);
    }
}

/// How pdftoppm draws a run of pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One bit per pixel (`-mono`): text and lines, a third less work than grey.
    Mono,
    /// Grey (`-gray`), halftoned here: pictures, and pages whose grey the bilevel
    /// rendering screened.
    Grey,
}

/// Consecutive pages drawn by one pdftoppm run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    /// First page, counting from 1.
    first: usize,
    /// Pages in the run.
    count: usize,
    plan: Plan,
    mode: Mode,
}

/// Consecutive pages with the same plan and mode share a run.
fn runs(plans: &[(Plan, Mode)]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (index, &(plan, mode)) in plans.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if run.plan == plan && run.mode == mode => run.count += 1,
            _ => runs.push(Run {
                first: index + 1,
                count: 1,
                plan,
                mode,
            }),
        }
    }
    runs
}

/// Pages per pdftoppm run below which a run is not split: each run is a process that
/// starts (a few milliseconds) and parses the document again.
const SPLIT_FROM_PAGES: usize = 4;

/// Long runs cut into one part per core, so that a letter of many pages of one size
/// is drawn by all cores at once instead of by one pdftoppm after another page; the
/// parts keep the pages' order.
fn split_for_cores(runs: Vec<Run>, cores: usize) -> Vec<Run> {
    if cores <= 1 || runs.len() >= cores {
        return runs;
    }
    let mut split = Vec::with_capacity(cores);
    for run in runs {
        if run.count < SPLIT_FROM_PAGES {
            split.push(run);
            continue;
        }
        let parts = cores.min(run.count / 2);
        let mut first = run.first;
        for part in 0..parts {
            // The first parts take the remainder, a page each.
            let count = run.count / parts + usize::from(part < run.count % parts);
            split.push(Run {
                first,
                count,
                ..run
            });
            first += count;
        }
    }
    split
}

/// One page as it came out of a run.
enum Drawn {
    /// On the fax page: the page, whether ink was cut, whether grey was halftoned.
    Placed(fax_t4::Bitmap, bool, bool),
    /// Drawn bilevel, but the rasterizer screened grey on it: to be drawn in grey.
    Screened,
}

/// `jobs` run on up to as many threads as the machine has cores, results in order
/// (`None` for a job whose thread panicked). Each pdftoppm run is a process of its own,
/// so runs of pages of different sizes go side by side instead of one after the other.
fn side_by_side<J: Sync, T: Send>(jobs: &[J], work: impl Fn(&J) -> T + Sync) -> Vec<Option<T>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(jobs.len());
    if threads <= 1 {
        return jobs.iter().map(|job| Some(work(job))).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else { break };
                        done.push((index, work(job)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    });
    let mut ordered: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    for (index, result) in results.drain(..) {
        if let Some(slot) = ordered.get_mut(index) {
            *slot = Some(result);
        }
    }
    ordered
}

/// Lines of a child's log for an error message.
fn first_lines(log: &str) -> String {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .take(4)
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Draws one run of pages with pdftoppm and places each on a fax page.
fn draw_run(
    pdftoppm: &Path,
    pdf: &Path,
    run: &Run,
    setup: &PageSetup,
    safety: &Safety,
    scratch: &Path,
) -> Result<Vec<Drawn>> {
    let scratch = scratch.join(format!("run-{}-{:?}", run.first, run.mode));
    std::fs::create_dir_all(&scratch).context("creating a scratch directory")?;
    let last = run.first + run.count - 1;
    let mode = match run.mode {
        Mode::Mono => "-mono",
        Mode::Grey => "-gray",
    };
    let args: Vec<OsString> = vec![
        mode.into(),
        // Crisp edges, as fax pages need: no anti-aliasing grey for the halftone.
        "-aa".into(),
        "no".into(),
        "-aaVector".into(),
        "no".into(),
        "-rx".into(),
        format!("{:.4}", run.plan.rx).into(),
        "-ry".into(),
        format!("{:.4}", run.plan.ry).into(),
        "-f".into(),
        run.first.to_string().into(),
        "-l".into(),
        last.to_string().into(),
        // No output root: the pages come through the pipe, one after another.
        pdf.into(),
    ];
    // A page rendered to fit is at most the fax page and a pixel or two.
    let most = match run.mode {
        Mode::Grey => pgm_bytes(setup, run.count),
        Mode::Mono => pgm_bytes(setup, run.count) / 8 + 64 * run.count as u64,
    }
    .saturating_mul(11)
        / 10;
    let finished = run_limited_capturing(pdftoppm, &args, &scratch, safety, Some(most))?;
    let mut limits = safety.limits;
    limits.max_pages = run.count;
    let failed = || {
        anyhow::anyhow!(
            "poppler could not render the PDF (damaged?): {}",
            first_lines(&finished.stderr)
        )
    };
    if !finished.success {
        return Err(failed());
    }
    let mut drawn = Vec::with_capacity(run.count);
    match run.mode {
        Mode::Grey => {
            let parsed = fax_render::grey::pgm_stream_views(&finished.stdout, &limits)
                .ok()
                .filter(|parsed| parsed.len() == run.count)
                .ok_or_else(failed)?;
            for grey in parsed {
                let (grey, cut) = place_on_page(grey, run.plan.turned, setup);
                let (page, halftoned) = fax_render::grey::page_from_raster(&grey, setup)?;
                drawn.push(Drawn::Placed(page, cut, halftoned));
            }
        }
        Mode::Mono => {
            let parsed = fax_render::mono::pbm_stream_views(&finished.stdout, &limits)
                .ok()
                .filter(|parsed| parsed.len() == run.count)
                .ok_or_else(failed)?;
            for bits in parsed {
                if fax_render::mono::is_screened(bits) {
                    drawn.push(Drawn::Screened);
                    continue;
                }
                let (page, cut) = fax_render::mono::place_on_page(bits, run.plan.turned, setup)?;
                drawn.push(Drawn::Placed(page, cut, false));
            }
        }
    }
    Ok(drawn)
}

/// Rasterizes a PDF with poppler: `pdfinfo` for the page sizes, `pdfimages` for the
/// pages with pictures and `pdftoppm` for the pixels. Pages without pictures are drawn
/// one bit per pixel; pages with pictures, and pages where that drew dithered grey, in
/// grey for the halftone.
pub(crate) fn render_pdf(
    pdfinfo: &Path,
    pdftoppm: &Path,
    pdf: &Path,
    setup: &PageSetup,
    safety: &Safety,
) -> Result<Rendered> {
    let scratch = ScratchDir::new("pdf")?;
    let max_pages = safety.limits.max_pages;
    // One page more than allowed tells a long document from one at the limit.
    let last = max_pages + 1;
    let range: Vec<OsString> = vec![
        "-f".into(),
        "1".into(),
        "-l".into(),
        last.to_string().into(),
    ];
    let info_args: Vec<OsString> = range.iter().cloned().chain([pdf.into()]).collect();
    let images_args: Vec<OsString> = ["-list".into()]
        .into_iter()
        .chain(range.iter().cloned())
        .chain([pdf.into()])
        .collect();
    // pdfimages sits beside pdftoppm; without it every page is drawn in grey.
    let pdfimages = pdftoppm.with_file_name("pdfimages");
    let info_dir = scratch.path().join("info");
    let images_dir = scratch.path().join("images");
    for dir in [&info_dir, &images_dir] {
        std::fs::create_dir_all(dir).context("creating a scratch directory")?;
    }
    // Both read the whole file; side by side they cost the time of one.
    let (info, images) = std::thread::scope(|scope| {
        let images = scope.spawn(|| {
            if !may_show_pictures(pdf) {
                // Nothing to find: every page starts bilevel (and a page that turns out
                // screened after all is drawn again in grey).
                return Some(Vec::new());
            }
            if !pdfimages.is_file() {
                return None;
            }
            run_limited(&pdfimages, &images_args, &images_dir, safety)
                .ok()
                .filter(|finished| finished.success)
                .map(|finished| parse_pdfimages(&finished.stderr))
        });
        let info = run_limited(pdfinfo, &info_args, &info_dir, safety);
        (info, images.join().unwrap_or(None))
    });
    let info = info?;
    if info.stderr.contains("Incorrect password") {
        bail!("the PDF is encrypted with a password; send it without the password protection");
    }
    let parsed = parse_pdfinfo(&info.stderr);
    let (pages, sizes) = match parsed {
        Ok((pages, sizes)) if info.success && pages > 0 && !sizes.is_empty() => (pages, sizes),
        _ => bail!(
            "poppler could not read the PDF (damaged or not a PDF): {}",
            first_lines(&info.stderr)
        ),
    };
    if pages > max_pages {
        bail!("the PDF has more than {max_pages} pages, the limit");
    }

    let plans: Vec<(Plan, Mode)> = sizes
        .iter()
        .enumerate()
        .map(|(index, size)| {
            let pictured = images
                .as_ref()
                .is_none_or(|pictured| pictured.contains(&(index + 1)));
            let mode = if pictured { Mode::Grey } else { Mode::Mono };
            (plan(*size, setup), mode)
        })
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let first_runs = split_for_cores(runs(&plans), cores);
    let draw = |run: &Run| draw_run(pdftoppm, pdf, run, setup, safety, scratch.path());
    let lost = || anyhow::anyhow!("rendering the PDF's pages failed unexpectedly");
    let mut drawn: Vec<Drawn> = Vec::with_capacity(plans.len());
    for result in side_by_side(&first_runs, draw) {
        drawn.append(&mut result.ok_or_else(lost)??);
    }
    if drawn.len() != plans.len() {
        return Err(lost());
    }
    // Pages the bilevel drawing screened, drawn again in grey; neighbours of one size
    // share a run.
    let mut again: Vec<Run> = Vec::new();
    for (index, _) in drawn
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d, Drawn::Screened))
    {
        let plan = plans[index].0;
        match again.last_mut() {
            Some(run) if run.first + run.count == index + 1 && run.plan == plan => run.count += 1,
            _ => again.push(Run {
                first: index + 1,
                count: 1,
                plan,
                mode: Mode::Grey,
            }),
        }
    }
    for (run, result) in again.iter().zip(side_by_side(&again, draw)) {
        let redrawn = result.ok_or_else(lost)??;
        for (offset, page) in redrawn.into_iter().enumerate() {
            if let Some(slot) = drawn.get_mut(run.first - 1 + offset) {
                *slot = page;
            }
        }
    }

    let mut notes = Vec::new();
    let mut halftoned = Vec::new();
    let mut fax_pages = Vec::with_capacity(drawn.len());
    for (index, (drawn, (plan, _))) in drawn.into_iter().zip(&plans).enumerate() {
        let page = index + 1;
        let Drawn::Placed(bitmap, cut, grey) = drawn else {
            bail!("poppler could not render page {page} of the PDF");
        };
        if (plan.scale - 1.0).abs() > UNREMARKABLE_SCALE {
            notes.push(Note::Scaled {
                page,
                percent: (plan.scale * 100.0).round() as u32,
            });
        }
        if cut {
            notes.push(Note::Cropped { page });
        }
        if grey {
            halftoned.push(Note::Halftoned { page });
        }
        fax_pages.push(bitmap);
    }
    notes.append(&mut halftoned);
    Ok(Rendered::from_pages(fax_pages, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fax_t4::Resolution;

    #[test]
    fn pages_with_pictures_from_pdfimages() {
        let text = "page   num  type   width height color comp bpc  enc interp  object ID x-ppi y-ppi size ratio\n\
            --------------------------------------------------------------------------------------------\n\
               2     0 image     640   420  rgb     3   8  jpeg   no         4  0    96    96 18.8K 2.4%\n\
               2     1 smask     640   420  gray    1   8  image  no         5  0    96    96 1K 1%\n\
               4     2 stencil    16    16  -       1   1  image  no         9  0    72    72 32B 100%\n\
               5     3 image      16    16  gray    1   8  image  no        10  0    72    72 32B 100%\n";
        assert_eq!(parse_pdfimages(text), vec![2, 5]);
        assert!(parse_pdfimages("Syntax Error: junk\n").is_empty());
    }

    #[test]
    fn pictures_are_looked_for_only_where_a_dictionary_may_say_so() {
        let dir = ScratchDir::new("pictures-test").expect("scratch");
        let write = |name: &str, data: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, data).expect("writes");
            path
        };
        // A needle cut by a 64 KiB block boundary is still found.
        let mut long = vec![b' '; (1 << 16) - 3];
        long.extend(b"/Subtype /Image >>");
        assert!(may_show_pictures(&write("cut.pdf", &long)));
        assert!(may_show_pictures(&write(
            "objstm.pdf",
            b"<< /Type /ObjStm /N 3 >>"
        )));
        assert!(may_show_pictures(&write(
            "mask.pdf",
            b"<</Subtype/Image/ImageMask true>>"
        )));
        assert!(may_show_pictures(&write("eof.pdf", b"/Subtype/Image")));
        // The procedure sets of a text-only page name no picture.
        assert!(!may_show_pictures(&write(
            "procset.pdf",
            b"/ProcSet [/PDF /Text /ImageB /ImageC /ImageI] /Font << /F1 5 0 R >>"
        )));
        // "/Image" cut by the end of the first block (the block and the 8 bytes kept
        // from the one before) with its "B" in the next.
        let mut procset = vec![b' '; 8 + (1 << 16) - 6];
        procset.extend(b"/ImageB /ImageC]");
        assert!(!may_show_pictures(&write("procset-cut.pdf", &procset)));
        assert!(!may_show_pictures(&write("text.pdf", &vec![b'x'; 200_000])));
        assert!(may_show_pictures(&dir.path().join("missing.pdf")));
    }

    #[test]
    fn long_runs_are_split_one_part_per_core() {
        let a4 = plan(
            PageSize {
                width: 595.276,
                height: 841.89,
            },
            &PageSetup::default(),
        );
        let run = |first, count| Run {
            first,
            count,
            plan: a4,
            mode: Mode::Mono,
        };
        let parts = |runs: Vec<Run>| -> Vec<(usize, usize)> {
            runs.iter().map(|r| (r.first, r.count)).collect()
        };
        assert_eq!(
            parts(split_for_cores(vec![run(1, 11)], 2)),
            [(1, 6), (7, 5)]
        );
        assert_eq!(
            parts(split_for_cores(vec![run(1, 10)], 4)),
            [(1, 3), (4, 3), (7, 2), (9, 2)]
        );
        assert_eq!(parts(split_for_cores(vec![run(1, 3)], 2)), [(1, 3)]);
        assert_eq!(parts(split_for_cores(vec![run(1, 10)], 1)), [(1, 10)]);
        // As many runs as cores already: left alone.
        assert_eq!(
            parts(split_for_cores(vec![run(1, 8), run(9, 8)], 2)),
            [(1, 8), (9, 8)]
        );
    }

    #[test]
    fn runs_group_consecutive_pages_of_one_plan_and_mode() {
        let fine = PageSetup::default();
        let a4 = plan(
            PageSize {
                width: 595.276,
                height: 841.89,
            },
            &fine,
        );
        let landscape = plan(
            PageSize {
                width: 792.0,
                height: 612.0,
            },
            &fine,
        );
        let pages = [
            (a4, Mode::Mono),
            (a4, Mode::Mono),
            (a4, Mode::Grey),
            (landscape, Mode::Grey),
            (a4, Mode::Mono),
        ];
        let got: Vec<(usize, usize, Mode)> = runs(&pages)
            .iter()
            .map(|r| (r.first, r.count, r.mode))
            .collect();
        assert_eq!(
            got,
            [
                (1, 2, Mode::Mono),
                (3, 1, Mode::Grey),
                (4, 1, Mode::Grey),
                (5, 1, Mode::Mono)
            ]
        );
        let squares: Vec<Option<usize>> = side_by_side(&[1usize, 2, 3, 4, 5, 6, 7], |n| n * n);
        assert_eq!(
            squares,
            [1, 4, 9, 16, 25, 36, 49].map(Some),
            "in order, whichever thread ran them"
        );
    }

    #[test]
    fn page_sizes_and_turns_from_pdfinfo() {
        let text = "Title: x\nPages:           3\n\
            Page    1 size:  595.276 x 841.89 pts (A4)\nPage    1 rot:   0\n\
            Page    2 size:  595.276 x 841.89 pts (A4)\nPage    2 rot:   90\n\
            Page    3 size:  792 x 612 pts (letter)\nPage    3 rot:   0\n";
        let (pages, sizes) = parse_pdfinfo(text).expect("parses");
        assert_eq!(pages, 3);
        assert_eq!(sizes.len(), 3);
        assert!(
            sizes[1].width > sizes[1].height,
            "rotated page shows landscape"
        );
        assert!(parse_pdfinfo("Syntax Error: junk\n").is_err());
    }

    #[test]
    fn pages_fit_the_fax_page_exactly() {
        let fine = PageSetup::default();
        let a4 = plan(
            PageSize {
                width: 595.276,
                height: 841.89,
            },
            &fine,
        );
        assert!(!a4.turned);
        // A4 is as tall as a fax page and 41 pixels narrower: natural size.
        assert!((a4.scale - 1.0).abs() < 0.001, "{a4:?}");
        assert!((841.89 / 72.0 * a4.ry - 2292.0).abs() < 0.5);
        assert!(595.276 / 72.0 * a4.rx <= 1728.0);
        let letter_landscape = plan(
            PageSize {
                width: 792.0,
                height: 612.0,
            },
            &fine,
        );
        assert!(letter_landscape.turned);
        // Turned: 8.5 in across at 204 dpi is 1734 pixels, scaled to 1728.
        assert!((612.0 / 72.0 * letter_landscape.ry - 1728.0).abs() < 0.5);
        let standard = PageSetup {
            resolution: Resolution::STANDARD,
            ..PageSetup::default()
        };
        let a4 = plan(
            PageSize {
                width: 595.276,
                height: 841.89,
            },
            &standard,
        );
        assert!((841.89 / 72.0 * a4.ry) <= f64::from(standard.height()) + 0.5);
    }

    fn view(grey: &GreyImage) -> GreyView<'_> {
        GreyView {
            width: grey.width,
            height: grey.height,
            data: &grey.data,
        }
    }

    #[test]
    fn placing_in_one_pass_matches_turning_then_centring() {
        let setup = PageSetup::default();
        let (pw, ph) = (setup.width(), setup.height());
        // Narrower, wider, shorter and taller than the page, with ink everywhere so
        // that whatever is cut shows.
        for (width, height) in [
            (pw - 41, ph),
            (pw + 3, ph - 7),
            (ph - 5, pw + 2),
            (ph + 4, pw - 9),
            (100, 60),
        ] {
            let data: Vec<u8> = (0..width * height)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
                .collect();
            let grey = GreyImage {
                width,
                height,
                x_dpi: 204.0,
                y_dpi: 196.0,
                data,
            };
            for turned in [false, true] {
                let reference = if turned {
                    centre_on_page(&turn_anticlockwise(&grey), &setup)
                } else {
                    centre_on_page(&grey, &setup)
                };
                let placed = place_on_page(view(&grey), turned, &setup);
                assert_eq!(
                    placed.1, reference.1,
                    "cut, {width}x{height} turned {turned}"
                );
                assert!(
                    placed.0 == reference.0,
                    "pixels differ, {width}x{height} turned {turned}"
                );
            }
        }
        // White margins cut off are not ink.
        let white = GreyImage {
            width: pw + 4,
            height: ph,
            x_dpi: 204.0,
            y_dpi: 196.0,
            data: vec![255; ((pw + 4) * ph) as usize],
        };
        assert!(!place_on_page(view(&white), false, &setup).1);
    }

    #[test]
    fn landscape_rasters_turn_anticlockwise() {
        // 3 wide, 2 high: top row 0 1 2, bottom row 3 4 5.
        let grey = GreyImage {
            width: 3,
            height: 2,
            x_dpi: 196.0,
            y_dpi: 204.0,
            data: vec![0, 1, 2, 3, 4, 5],
        };
        let turned = turn_anticlockwise(&grey);
        assert_eq!((turned.width, turned.height), (2, 3));
        // The top row now runs up the left column.
        assert_eq!(turned.data, vec![2, 5, 1, 4, 0, 3]);
        assert_eq!((turned.x_dpi, turned.y_dpi), (204.0, 196.0));
    }
}
