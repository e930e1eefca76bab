//! `faxgate tiff info` and `faxgate tiff extract`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use fax_tiff::{PageInfo, Photometric, Reader, ResolutionUnit};
use serde::Serialize;

/// One page as `tiff info` prints it.
#[derive(Debug, Serialize)]
struct PageJson {
    /// Position in the file, from 1.
    page: usize,
    width: u32,
    height: u32,
    /// Dots per inch (converted from centimetres if need be).
    x_resolution: u16,
    y_resolution: u16,
    resolution_unit: &'static str,
    /// True when the file gives no usable resolution and a fax resolution was assumed.
    resolution_assumed: bool,
    compression: String,
    fill_order: u16,
    photometric: &'static str,
    encoded_bytes: u64,
    strips: usize,
    rows_per_strip: u32,
    /// The PageNumber tag: [page from 0, total or 0 if unknown].
    #[serde(skip_serializing_if = "Option::is_none")]
    page_number: Option<[u16; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bad_fax_lines: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clean_fax_data: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consecutive_bad_fax_lines: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    software: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_time: Option<String>,
}

impl From<&PageInfo> for PageJson {
    fn from(info: &PageInfo) -> PageJson {
        PageJson {
            page: info.index + 1,
            width: info.width,
            height: info.height,
            x_resolution: info.resolution.x_dpi,
            y_resolution: info.resolution.y_dpi,
            resolution_unit: match info.resolution_unit {
                ResolutionUnit::None => "none",
                ResolutionUnit::Inch => "inch",
                ResolutionUnit::Centimetre => "centimetre",
            },
            resolution_assumed: !info.resolution_from_tags,
            compression: info.coding_name().into_owned(),
            fill_order: info.fill_order.code(),
            photometric: match info.photometric {
                Photometric::WhiteIsZero => "white-is-zero",
                Photometric::BlackIsZero => "black-is-zero",
            },
            encoded_bytes: info.encoded_bytes,
            strips: info.strips,
            rows_per_strip: info.rows_per_strip,
            page_number: info.page_number.map(|(n, total)| [n, total]),
            bad_fax_lines: info.bad_fax_lines,
            clean_fax_data: info.clean_fax_data,
            consecutive_bad_fax_lines: info.consecutive_bad_fax_lines,
            software: info.software.clone(),
            image_description: info.image_description.clone(),
            date_time: info.date_time.clone(),
        }
    }
}

fn read_tiff(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

pub(crate) fn info(path: &Path) -> Result<()> {
    let data = read_tiff(path)?;
    let reader = Reader::new(&data).with_context(|| format!("{}", path.display()))?;
    let pages: Vec<PageJson> = reader.pages().iter().map(PageJson::from).collect();
    let mut json = serde_json::to_string_pretty(&pages).context("formatting JSON")?;
    json.push('\n');
    match std::io::stdout().lock().write_all(json.as_bytes()) {
        // The reader went away (`| head`): nothing is wrong with the file.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("writing to standard output"),
    }
}

pub(crate) fn extract(path: &Path, dir: &Path) -> Result<()> {
    let data = read_tiff(path)?;
    let reader = Reader::new(&data).with_context(|| format!("{}", path.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut failed = 0;
    for index in 0..reader.page_count() {
        let number = index + 1;
        let page = match reader.decode_page(index) {
            Ok(page) => page,
            Err(error) => {
                // Keep going: the other pages of a received fax are still worth having.
                eprintln!("faxgate: error: {}: {error}", path.display());
                failed += 1;
                continue;
            }
        };
        if page.bad_rows > 0 {
            eprintln!(
                "faxgate: warning: {}: page {number}: {} damaged rows (longest run {}); \
                 written as decoded",
                path.display(),
                page.bad_rows,
                page.longest_bad_run
            );
        }
        let out = dir.join(format!("page-{number:03}.pbm"));
        std::fs::write(&out, fax_t4::pbm::write_p4(&page.bitmap))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if failed > 0 {
        bail!(
            "{}: {failed} of {} pages could not be decoded",
            path.display(),
            reader.page_count()
        );
    }
    Ok(())
}
