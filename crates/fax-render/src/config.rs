//! The `[render]` section of faxgate's configuration file: how documents become pages,
//! and the limits on converting them. Plain data with defaults; the binary turns it into
//! a [`PageSetup`], [`Limits`] and the settings of the converters it runs.

use std::path::PathBuf;

use crate::{Limits, Margins, PageSetup, Paper};

/// Vertical resolution of the pages made from documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResolutionSetting {
    /// 204 x 196: small print stays legible.
    #[default]
    Fine,
    /// 204 x 98: half the lines, half the time on the line.
    Standard,
}

/// How LibreOffice is run for office files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfficeSetting {
    /// Kept running between documents when python3-uno is installed, else per document.
    #[default]
    Auto,
    /// Kept running between documents; an error if that cannot be done.
    Warm,
    /// Started afresh for every document.
    Cold,
}

/// The program that rasterizes PDF pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PdfRendererSetting {
    /// Poppler when installed, else Ghostscript.
    #[default]
    Auto,
    /// Poppler (pdftoppm, pdfinfo).
    Poppler,
    /// Ghostscript.
    Ghostscript,
}

/// The `[render]` section.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RenderConfig {
    /// Resolution of the pages.
    pub resolution: ResolutionSetting,
    /// Paper text and images are laid out for.
    pub paper: Paper,
    /// Margin around text and images, in millimetres.
    pub margin_mm: f32,
    /// Font size of text documents, in points.
    pub font_size_pt: f32,
    /// Font families tried before the defaults (DejaVu Sans Mono, then a CJK face).
    pub fonts: Vec<String>,
    /// Font files or directories searched besides the system's.
    pub font_paths: Vec<PathBuf>,
    /// Most pages one document (and one fax) may have.
    pub max_pages: usize,
    /// Wall-clock limit on converting one document, in seconds.
    pub timeout_seconds: u64,
    /// Memory limit of a converter, in MiB.
    pub max_memory_mib: u64,
    /// How LibreOffice runs.
    pub office: OfficeSetting,
    /// Which program rasterizes PDF.
    pub pdf_renderer: PdfRendererSetting,
    /// Print the header line (date, sender, number, "Page n/m") on every page.
    pub header: bool,
    /// The station's fax number as printed on the header line and the cover page
    /// (`+44 20 7946 0000`); empty prints none.
    pub header_number: String,
    /// Font size of the header line, in points.
    pub header_font_size_pt: f32,
    /// Minutes east of UTC for the dates on the header line and the cover page.
    pub utc_offset_minutes: i32,
    /// Put a cover page in front of every fax.
    pub cover_page: bool,
}

impl Default for RenderConfig {
    fn default() -> Self {
        let limits = Limits::default();
        RenderConfig {
            resolution: ResolutionSetting::Fine,
            paper: Paper::A4,
            margin_mm: Margins::default().top_mm,
            font_size_pt: 10.0,
            fonts: Vec::new(),
            font_paths: Vec::new(),
            max_pages: limits.max_pages,
            timeout_seconds: 300,
            max_memory_mib: 1024,
            office: OfficeSetting::Auto,
            pdf_renderer: PdfRendererSetting::Auto,
            header: true,
            header_number: String::new(),
            header_font_size_pt: 9.0,
            utc_offset_minutes: 0,
            cover_page: false,
        }
    }
}

impl RenderConfig {
    /// The page geometry these settings ask for.
    pub fn page_setup(&self) -> PageSetup {
        PageSetup {
            resolution: match self.resolution {
                ResolutionSetting::Fine => fax_t4::Resolution::FINE,
                ResolutionSetting::Standard => fax_t4::Resolution::STANDARD,
            },
            paper: self.paper,
            margins: Margins {
                top_mm: self.margin_mm,
                bottom_mm: self.margin_mm,
                left_mm: self.margin_mm,
                right_mm: self.margin_mm,
            },
        }
    }

    /// The limits for one document.
    pub fn limits(&self) -> Limits {
        Limits {
            max_pages: self.max_pages,
            max_decoder_alloc: self.max_memory_mib.saturating_mul(1 << 20),
            ..Limits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_fine_a4_with_the_default_limits() {
        let config = RenderConfig::default();
        assert_eq!(config.page_setup(), PageSetup::default());
        assert_eq!(config.limits().max_pages, 200);
        assert_eq!(config.limits().max_decoder_alloc, 1 << 30);
    }
}
