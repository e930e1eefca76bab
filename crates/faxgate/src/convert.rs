//! `faxgate convert`: documents in (fax images, text, images, PDF, office files), one
//! fax TIFF out.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use fax_render::annotate::{self, Cover, DateTime, Header};
use fax_render::fonts::FontSet;
use fax_render::sniff::{ImageFormat, Kind};
use fax_render::text::TextStyle;
use fax_render::{Fidelity, Limits, Margins, PageSetup, Rendered};
use fax_t4::bitmap::widths;
use fax_t4::{Bitmap, Resolution, Scheme};
use fax_tiff::{PageEncoding, WriteOptions, Writer};

use crate::render_edge::{self, Office, OfficeMode, PdfRenderer, Safety};
use crate::{CompressionArg, ConvertArgs};

/// `faxgate convert` options for what is added to the pages and how converters run;
/// flattened into the command's arguments.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct PageArgs {
    /// How LibreOffice runs for office files: kept running between documents (warm,
    /// needs python3-uno), started afresh for each (cold), or warm when possible
    /// (auto).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = OfficeMode::Auto)]
    pub(crate) office: OfficeMode,
    /// The program that rasterizes PDF pages (and office files, once converted).
    #[arg(long, value_enum, value_name = "PROGRAM", default_value_t = PdfRenderer::Auto)]
    pub(crate) pdf_renderer: PdfRenderer,
    /// Convert text and images in this process. Without it they are converted by a
    /// child `faxgate convert --in-process` under the memory and time limits, so that
    /// a hostile file can at worst kill the child.
    #[arg(long, hide = true)]
    pub(crate) in_process: bool,
    /// Print a header line at the top of every page, as fax machines do: date and
    /// time, this text (a name, or anything), the --header-number, "Page n/m".
    #[arg(long, value_name = "TEXT")]
    pub(crate) header: Option<String>,
    /// The sender's name for the header line (same as --header).
    #[arg(long, value_name = "NAME", conflicts_with = "header")]
    pub(crate) header_from: Option<String>,
    /// The sender's fax number for the header line (turns the header on).
    #[arg(long, value_name = "NUMBER")]
    pub(crate) header_number: Option<String>,
    /// Font size of the header line, in points.
    #[arg(long, value_name = "PT", default_value_t = 9.0)]
    pub(crate) header_font_size: f32,
    /// Minutes east of UTC for the date and time on the header and cover page (the
    /// time is SOURCE_DATE_EPOCH when set, else the clock).
    #[arg(
        long,
        value_name = "MINUTES",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub(crate) utc_offset_minutes: i32,
    /// Add a cover page addressed to NAME (given twice: two lines, e.g. a person and
    /// a company).
    #[arg(long, value_name = "NAME")]
    pub(crate) cover_to: Vec<String>,
    /// The sender on the cover page [default: the header's name].
    #[arg(long, value_name = "NAME")]
    pub(crate) cover_from: Option<String>,
    /// A note printed on the cover page (lines wrap; "-" reads it from stdin).
    #[arg(long, value_name = "TEXT")]
    pub(crate) cover_note: Option<String>,
    /// Pages sent in front of these ones but made apart from them (the worker's cover
    /// page, made per recipient): the header numbers pages from N+1 of the total
    /// plus N.
    #[arg(long, value_name = "N", default_value_t = 0, hide = true)]
    pub(crate) header_pages_before: usize,
}

impl PageArgs {
    /// The header line asked for, if any.
    fn header(&self, date_time: DateTime) -> Option<Header> {
        if self.header.is_none() && self.header_from.is_none() && self.header_number.is_none() {
            return None;
        }
        Some(Header {
            date_time,
            sender_name: self
                .header
                .clone()
                .or_else(|| self.header_from.clone())
                .unwrap_or_default(),
            sender_number: self.header_number.clone().unwrap_or_default(),
            font_size_pt: self.header_font_size,
        })
    }

    /// Whether a cover page is asked for.
    fn wants_cover(&self) -> bool {
        !self.cover_to.is_empty() || self.cover_from.is_some() || self.cover_note.is_some()
    }
}

pub(crate) fn run(args: &ConvertArgs) -> Result<()> {
    let options = WriteOptions {
        software: Some(format!("faxgate {}", env!("CARGO_PKG_VERSION"))),
        date_time: Some(tiff_date_time(now_for_output())),
        ..WriteOptions::default()
    };
    let setup = PageSetup {
        resolution: args
            .resolution
            .map(|r| r.resolution())
            .unwrap_or(Resolution::FINE),
        paper: args.paper.paper(),
        margins: Margins {
            top_mm: args.margin_mm,
            bottom_mm: args.margin_mm,
            left_mm: args.margin_mm,
            right_mm: args.margin_mm,
        },
    };
    let safety = Safety {
        timeout: Duration::from_secs(args.timeout),
        max_memory: args.max_memory_mib.saturating_mul(1 << 20),
        limits: Limits {
            max_pages: args.max_pages,
            max_decoder_alloc: args.max_memory_mib.saturating_mul(1 << 20),
            ..Limits::default()
        },
        pdf: args.pages.pdf_renderer,
    };
    let style = TextStyle {
        font_size_pt: args.font_size,
        ..TextStyle::default()
    };
    let mut fonts: Option<FontSet> = None;
    let mut office = Office::new(args.soffice.as_deref(), args.pages.office);
    let mut reports = Vec::with_capacity(args.inputs.len());
    let mut writer = Writer::new(options).context("preparing the TIFF writer")?;
    let mut total_pages = 0usize;
    // Every page first: the header's "n/m" and the cover page need the total.
    let mut fax_pages: Vec<Bitmap> = Vec::new();
    let mut page_names: Vec<String> = Vec::new();
    for input in &args.inputs {
        let document = load_document(
            input,
            args,
            &setup,
            &safety,
            &style,
            &mut fonts,
            &mut office,
        )?;
        total_pages += document.pages.len();
        if total_pages > args.max_pages {
            bail!(
                "{}: the fax would have more than {} pages (--max-pages)",
                input.display(),
                args.max_pages
            );
        }
        for (index, page) in document.pages.into_iter().enumerate() {
            let context = || format!("{}: page {}", input.display(), index + 1);
            let page = fax_page(page, args.resolution.map(|r| r.resolution().y_dpi))
                .with_context(context)?;
            fax_pages.push(page);
            page_names.push(context());
        }
        for note in &document.fidelity.notes {
            eprintln!("faxgate: {}: {note}", input.display());
        }
        reports.push(serde_json::json!({
            "input": input.display().to_string(),
            "kind": document.kind,
            "pages": document.page_count,
            "notes": document.fidelity.notes,
        }));
    }
    let date_time = DateTime::from_unix(
        i64::try_from(now_for_output()).unwrap_or(0),
        args.pages.utc_offset_minutes,
    );
    if args.pages.wants_cover() {
        let fonts = text_fonts(args, &mut fonts)?;
        let note = match args.pages.cover_note.as_deref() {
            Some("-") => std::io::read_to_string(std::io::stdin())
                .context("reading the cover note from stdin")?,
            Some(note) => note.to_string(),
            None => String::new(),
        };
        let cover = Cover {
            to: args.pages.cover_to.clone(),
            from: args
                .pages
                .cover_from
                .clone()
                .or_else(|| args.pages.header.clone())
                .or_else(|| args.pages.header_from.clone())
                .unwrap_or_default(),
            from_number: args.pages.header_number.clone().unwrap_or_default(),
            date_time: Some(date_time),
            pages: fax_pages.len() + 1,
            note,
        };
        let rendered = annotate::cover_page(&cover, fonts, &setup).context("the cover page")?;
        for note in &rendered.fidelity.notes {
            eprintln!("faxgate: cover page: {note}");
        }
        reports.insert(
            0,
            serde_json::json!({
                "input": "cover page",
                "kind": "cover",
                "pages": 1,
                "notes": rendered.fidelity.notes,
            }),
        );
        for page in rendered.pages.into_iter().rev() {
            fax_pages.insert(0, page);
            page_names.insert(0, "cover page".to_string());
        }
    }
    if fax_pages.len() > args.max_pages {
        bail!(
            "the fax would have more than {} pages (--max-pages)",
            args.max_pages
        );
    }
    if let Some(header) = args.pages.header(date_time) {
        let fonts = text_fonts(args, &mut fonts)?;
        let before = args.pages.header_pages_before;
        let total = fax_pages.len().saturating_add(before);
        let fidelity =
            annotate::stamp_headers_numbered(&mut fax_pages, &header, fonts, before + 1, total)
                .context("the header line")?;
        for note in &fidelity.notes {
            eprintln!("faxgate: header line: {note}");
        }
        reports.push(serde_json::json!({
            "input": "header line",
            "kind": "header",
            "pages": fax_pages.len(),
            "notes": fidelity.notes,
        }));
    }
    for (page, context) in fax_pages.iter().zip(&page_names) {
        let scheme = match args.compression {
            CompressionArg::Mh => Scheme::Mh,
            CompressionArg::Mr => Scheme::mr_for_lpi(page.resolution().y_dpi),
            CompressionArg::Mmr => Scheme::Mmr,
        };
        writer
            .add_page(page, PageEncoding::Ccitt(scheme))
            .with_context(|| context.clone())?;
    }
    let file = writer.finish().context("laying out the TIFF file")?;
    std::fs::write(&args.output, file)
        .with_context(|| format!("writing {}", args.output.display()))?;
    if let Some(path) = &args.report_json {
        let json = serde_json::to_string_pretty(&serde_json::json!({ "documents": reports }))
            .context("formatting the report")?;
        if path.as_os_str() == "-" {
            println!("{json}");
        } else {
            std::fs::write(path, json + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}

/// One input's pages, ready for [`fax_page`], and what the sender should know.
struct Document {
    kind: &'static str,
    page_count: usize,
    pages: Vec<Bitmap>,
    fidelity: Fidelity,
}

impl Document {
    fn new(kind: &'static str, rendered: Rendered) -> Document {
        Document {
            kind,
            page_count: rendered.pages.len(),
            pages: rendered.pages,
            fidelity: rendered.fidelity,
        }
    }
}

/// Reads one input and turns it into pages with the converter its content calls for.
fn load_document(
    path: &Path,
    args: &ConvertArgs,
    setup: &PageSetup,
    safety: &Safety,
    style: &TextStyle,
    fonts: &mut Option<FontSet>,
    office: &mut Office,
) -> Result<Document> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = || path.display().to_string();
    let extension = path.extension().and_then(|e| e.to_str());
    let rendered = match fax_render::sniff::sniff(&data, extension) {
        Some(Kind::Pbm) => {
            let pages = load_pages(path, &data, args.pbm_resolution.resolution())?;
            return Ok(Document::new(
                "pbm",
                Rendered {
                    pages,
                    fidelity: Fidelity::default(),
                },
            ));
        }
        // Fax TIFFs keep their own pages and damaged-row warnings.
        Some(Kind::Image(ImageFormat::Tiff)) if fax_tiff::Reader::new(&data).is_ok() => {
            let pages = load_pages(path, &data, args.pbm_resolution.resolution())?;
            return Ok(Document::new(
                "tiff",
                Rendered {
                    pages,
                    fidelity: Fidelity::default(),
                },
            ));
        }
        Some(Kind::Image(_) | Kind::Text) if !args.pages.in_process => {
            return isolated(path, args, setup, safety);
        }
        Some(Kind::Image(format)) => Document::new(
            "image",
            fax_render::image::render(&data, format, setup, &safety.limits).with_context(name)?,
        ),
        Some(Kind::Text) => {
            let mut substitutions = Vec::new();
            if fonts.is_none() {
                let (found, notes) = render_edge::find_fonts(&args.font, &args.font_path)?;
                *fonts = Some(found);
                substitutions = notes;
            }
            let fonts = text_fonts(args, fonts)?;
            let mut rendered =
                fax_render::text::render_bytes(&data, fonts, setup, style, &safety.limits)
                    .with_context(name)?;
            substitutions.append(&mut rendered.fidelity.notes);
            rendered.fidelity.notes = substitutions;
            Document::new("text", rendered)
        }
        Some(Kind::Pdf) => Document::new(
            "pdf",
            render_edge::render_pdf(path, setup, safety).with_context(name)?,
        ),
        Some(Kind::Office) => Document::new(
            "office",
            render_edge::render_office(path, office, setup, safety).with_context(name)?,
        ),
        _ => bail!(
            "{}: {}",
            path.display(),
            fax_render::Error::Unsupported {
                what: fax_render::sniff::describe(&data)
            }
        ),
    };
    Ok(rendered)
}

/// Converts a text or image file in a child process: this program's own `convert
/// --in-process`, under `prlimit` (memory, CPU) and the wall-clock limit. The child
/// writes lossless MMR pages and its report; the pages are read back here.
fn isolated(
    path: &Path,
    args: &ConvertArgs,
    setup: &PageSetup,
    safety: &Safety,
) -> Result<Document> {
    use std::ffi::OsString;
    let exe = std::env::current_exe().context("finding faxgate's own program")?;
    let scratch = render_edge::ScratchDir::new("isolated")?;
    let out = scratch.path().join("pages.tif");
    let report = scratch.path().join("report.json");
    let resolution = if setup.resolution.is_standard() {
        "standard"
    } else {
        "fine"
    };
    let paper = match setup.paper {
        fax_render::Paper::Letter => "letter",
        _ => "a4",
    };
    let mut child: Vec<OsString> = vec![
        "convert".into(),
        path.into(),
        "-o".into(),
        out.clone().into(),
        "--in-process".into(),
        "--compression".into(),
        "mmr".into(),
        "--resolution".into(),
        resolution.into(),
        "--paper".into(),
        paper.into(),
        "--margin-mm".into(),
        args.margin_mm.to_string().into(),
        "--font-size".into(),
        args.font_size.to_string().into(),
        "--max-pages".into(),
        args.max_pages.to_string().into(),
        "--max-memory-mib".into(),
        args.max_memory_mib.to_string().into(),
        "--report-json".into(),
        report.clone().into(),
    ];
    for family in &args.font {
        child.push("--font".into());
        child.push(family.into());
    }
    for font_path in &args.font_path {
        child.push("--font-path".into());
        child.push(font_path.into());
    }
    let finished = render_edge::run_limited(&exe, &child, scratch.path(), safety)?;
    if !finished.success {
        // The child's own error says what was wrong with the file; a child killed by a
        // limit says nothing.
        let reason = finished
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix("faxgate: error: "))
            .next_back()
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "{}: the conversion failed (out of memory or CPU time?): {}",
                    path.display(),
                    finished.stderr.lines().last().unwrap_or("no message")
                )
            });
        bail!("{reason}");
    }
    let data = std::fs::read(&out).context("reading the child's pages")?;
    let pages = load_pages(path, &data, setup.resolution)?;
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).context("the child's report")?)
            .context("the child's report")?;
    let document = &report["documents"][0];
    let notes: Vec<fax_render::Note> =
        serde_json::from_value(document["notes"].clone()).context("the child's report: notes")?;
    let kind = match document["kind"].as_str() {
        Some("text") => "text",
        _ => "image",
    };
    Ok(Document {
        kind,
        page_count: pages.len(),
        pages,
        fidelity: Fidelity { notes },
    })
}

/// The fonts for text, the header line and the cover page, found on first use.
fn text_fonts<'a>(args: &ConvertArgs, fonts: &'a mut Option<FontSet>) -> Result<&'a FontSet> {
    if fonts.is_none() {
        let (found, notes) = render_edge::find_fonts(&args.font, &args.font_path)?;
        for note in notes {
            eprintln!("faxgate: {note}");
        }
        *fonts = Some(found);
    }
    fonts.as_ref().context("fonts were just loaded")
}

/// Every page of a PBM or TIFF file.
fn load_pages(path: &Path, data: &[u8], pbm_resolution: Resolution) -> Result<Vec<Bitmap>> {
    match fax_render::sniff::sniff(data, None) {
        Some(Kind::Pbm) => {
            let page = fax_t4::pbm::read(data, pbm_resolution)
                .with_context(|| format!("{}: unreadable PBM", path.display()))?;
            Ok(vec![page])
        }
        Some(Kind::Image(ImageFormat::Tiff)) => {
            let reader = fax_tiff::Reader::new(data)
                .with_context(|| format!("{}: unreadable TIFF", path.display()))?;
            let mut pages = Vec::with_capacity(reader.page_count());
            for index in 0..reader.page_count() {
                let decoded = reader
                    .decode_page(index)
                    .with_context(|| format!("{}: cannot decode", path.display()))?;
                if decoded.bad_rows > 0 {
                    eprintln!(
                        "faxgate: warning: {}: page {}: {} damaged rows (longest run {}); \
                         converted as decoded",
                        path.display(),
                        index + 1,
                        decoded.bad_rows,
                        decoded.longest_bad_run
                    );
                }
                pages.push(decoded.bitmap);
            }
            Ok(pages)
        }
        _ => bail!("{}: not a PBM (P1/P4) or TIFF file", path.display()),
    }
}

/// Makes a page fit to send: A4 width at 204 dpi, and the vertical resolution asked for
/// (or, with none asked for, the nearest fax resolution).
fn fax_page(page: Bitmap, y_dpi: Option<u16>) -> Result<Bitmap> {
    let mut page = match page.width() {
        w if w > widths::A4 => fax_t4::convert::reduce_width(&page, widths::A4)
            .context("reducing the page to A4 width")?,
        w if w < widths::A4 => centred_on_a4(&page)?,
        _ => page,
    };
    // 1728 pixels across A4 is 8 pels/mm whatever the source called it.
    let resolution = page.resolution();
    page.set_resolution(Resolution {
        x_dpi: Resolution::FINE.x_dpi,
        ..resolution
    });
    let target = y_dpi.unwrap_or(match resolution.y_dpi {
        fax @ (98 | 196 | 391) => fax,
        below if below < 150 => Resolution::STANDARD.y_dpi,
        _ => Resolution::FINE.y_dpi,
    });
    if page.resolution().y_dpi != target {
        page = fax_t4::convert::to_vertical_resolution(&page, target)
            .context("changing the vertical resolution")?;
    }
    Ok(page)
}

/// A page narrower than A4, centred on a white A4-wide page. The offset is rounded to
/// whole bytes so rows are copied, not shifted bit by bit.
fn centred_on_a4(page: &Bitmap) -> Result<Bitmap> {
    let offset = ((widths::A4 - page.width()) / 2 / 8) as usize;
    let mut out = Bitmap::with_width(widths::A4, page.resolution())?;
    let mut row = vec![0u8; out.stride()];
    for source in page.rows() {
        row.fill(0);
        row[offset..offset + source.len()].copy_from_slice(source);
        out.push_row(&row)?;
    }
    Ok(out)
}

/// Seconds since 1970 to stamp the file with: `SOURCE_DATE_EPOCH` when set, so that
/// builds and tests can make byte-identical files, else the clock.
fn now_for_output() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        })
}

/// A TIFF DateTime (`YYYY:MM:DD HH:MM:SS`, UTC) for seconds since 1970.
fn tiff_date_time(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let seconds = unix_seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{:04}:{:02}:{:02} {:02}:{:02}:{:02}",
        year.clamp(0, 9999),
        month,
        day,
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_is_utc_in_tiff_form() {
        assert_eq!(tiff_date_time(0), "1970:01:01 00:00:00");
        assert_eq!(tiff_date_time(951_782_400), "2000:02:29 00:00:00");
        assert_eq!(tiff_date_time(1_709_210_096), "2024:02:29 12:34:56");
        assert_eq!(tiff_date_time(4_102_444_799), "2099:12:31 23:59:59");
    }

    #[test]
    fn pages_become_a4_at_the_asked_resolution() {
        let mut narrow = Bitmap::new(100, 10, Resolution::FINE).expect("valid");
        narrow.set(0, 0, true);
        let page = fax_page(narrow, None).expect("converts");
        assert_eq!((page.width(), page.height()), (1728, 10));
        assert!(page.get(808, 0), "centred at a whole byte");
        assert_eq!(page.black_pixels(), 1);

        let wide = Bitmap::new(3456, 20, Resolution::ULTRAFINE).expect("valid");
        let page = fax_page(wide, Some(98)).expect("converts");
        assert_eq!(page.width(), 1728);
        assert_eq!(page.resolution(), Resolution::STANDARD);

        let scan = Bitmap::new(
            1728,
            200,
            Resolution {
                x_dpi: 200,
                y_dpi: 200,
            },
        )
        .expect("valid");
        let page = fax_page(scan, None).expect("converts");
        assert_eq!(page.resolution(), Resolution::FINE);
        assert_eq!(page.height(), 196);
    }
}
