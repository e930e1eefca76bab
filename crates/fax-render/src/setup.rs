use fax_t4::Resolution;
use fax_t4::bitmap::widths;

/// Paper the pages are laid out for. Fax pages are 1728 pixels (215 mm) wide either
/// way; the paper decides the page height and the text area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    /// ISO A4, 210 x 297 mm.
    #[default]
    A4,
    /// US Letter, 8.5 x 11 in.
    Letter,
}

impl Paper {
    /// Height in millimetres.
    pub fn height_mm(self) -> f32 {
        match self {
            Paper::A4 => 297.0,
            Paper::Letter => 279.4,
        }
    }
}

/// White space left around text and images, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Margins {
    /// Top margin.
    pub top_mm: f32,
    /// Bottom margin.
    pub bottom_mm: f32,
    /// Left margin.
    pub left_mm: f32,
    /// Right margin.
    pub right_mm: f32,
}

impl Default for Margins {
    /// 15 mm all round: clear of the header line fax machines print at the top and of
    /// the few millimetres most printers cannot reach.
    fn default() -> Self {
        Margins {
            top_mm: 15.0,
            bottom_mm: 15.0,
            left_mm: 15.0,
            right_mm: 15.0,
        }
    }
}

/// The geometry of the pages to produce.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PageSetup {
    /// Standard (204 x 98) or fine (204 x 196); only the vertical resolution matters,
    /// pages are always 1728 pixels at 204 dpi across.
    pub resolution: Resolution,
    /// The paper, which sets the page height.
    pub paper: Paper,
    /// Margins for text and images (rasterized PDF pages carry their own).
    pub margins: Margins,
}

impl PageSetup {
    /// Page width in pixels: A4 width at 8 pels/mm, what every fax machine takes.
    pub fn width(&self) -> u32 {
        widths::A4
    }

    /// Page height in rows at the setup's vertical resolution (2292 for A4 fine, as
    /// Ghostscript makes it).
    pub fn height(&self) -> u32 {
        (self.paper.height_mm() / 25.4 * f32::from(self.resolution.y_dpi)).round() as u32
    }

    /// Horizontal dots per inch (always 204).
    pub fn x_dpi(&self) -> f32 {
        f32::from(Resolution::FINE.x_dpi)
    }

    /// Vertical lines per inch.
    pub fn y_dpi(&self) -> f32 {
        f32::from(self.resolution.y_dpi)
    }

    /// The printable area (left, top, width, height) in pixels, or an error when the
    /// margins leave none.
    pub fn text_area(&self) -> Result<(u32, u32, u32, u32), crate::Error> {
        let mm_x = |mm: f32| (mm.max(0.0) / 25.4 * self.x_dpi()).round() as u32;
        let mm_y = |mm: f32| (mm.max(0.0) / 25.4 * self.y_dpi()).round() as u32;
        let (left, right) = (mm_x(self.margins.left_mm), mm_x(self.margins.right_mm));
        let (top, bottom) = (mm_y(self.margins.top_mm), mm_y(self.margins.bottom_mm));
        let width = self.width().checked_sub(left + right).filter(|w| *w >= 64);
        let height = self.height().checked_sub(top + bottom).filter(|h| *h >= 32);
        match (width, height) {
            (Some(width), Some(height)) => Ok((left, top, width, height)),
            _ => Err(crate::Error::Setup(format!(
                "margins {:?} leave no printable area on a {:?} page",
                self.margins, self.paper
            ))),
        }
    }
}

/// Bounds on what one document may make this crate do. The defaults suit mail from
/// strangers: a fax of more than 200 pages is a mistake or an attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most pages one document may produce.
    pub max_pages: usize,
    /// Most pixels (width x height) an image may claim; checked in the header, before
    /// decoding.
    pub max_image_pixels: u64,
    /// Largest width or height an image may claim.
    pub max_image_side: u32,
    /// Most bytes the image decoder may allocate.
    pub max_decoder_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pages: 200,
            // A 600 dpi scan of A3 is about 70 Mpx.
            max_image_pixels: 100_000_000,
            max_image_side: 30_000,
            max_decoder_alloc: 1 << 30,
        }
    }
}
