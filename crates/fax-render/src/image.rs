//! Raster images (PNG, JPEG, GIF, BMP, TIFF) to pages.
//!
//! Bilevel fax TIFFs keep their pages as they are (the caller brings them to fax width
//! and resolution); everything else is decoded to grey, fitted to the page and either
//! thresholded (line art) or halftoned (photos), see [`crate::grey`].

use std::io::Cursor;

use crate::grey::{Binarize, GreyImage, check_dimensions, place_on_page};
use crate::sniff::ImageFormat;
use crate::{Error, Limits, PageSetup, Rendered};

/// Resolution assumed for images that do not state one (screenshots, photos): the
/// common screen value, so a 1000-pixel-wide screenshot prints about 25 cm wide and is
/// scaled to the page.
const ASSUMED_DPI: f32 = 96.0;

/// Renders one image file's bytes onto pages.
pub fn render(
    data: &[u8],
    format: ImageFormat,
    setup: &PageSetup,
    limits: &Limits,
) -> Result<Rendered, Error> {
    if format == ImageFormat::Tiff
        && let Some(rendered) = bilevel_tiff(data, limits)?
    {
        return Ok(rendered);
    }
    let grey = decode_grey(data, format, limits)?;
    place_on_page(&grey, setup, Binarize::Auto)
}

/// The pages of a bilevel TIFF as they are, or `None` if the TIFF is not one fax-tiff
/// reads (colour, grey, LZW, ...).
fn bilevel_tiff(data: &[u8], limits: &Limits) -> Result<Option<Rendered>, Error> {
    let Ok(reader) = fax_tiff::Reader::new(data) else {
        return Ok(None);
    };
    if reader.page_count() > limits.max_pages {
        return Err(Error::TooLarge {
            what: "pages",
            got: reader.page_count() as u64,
            max: limits.max_pages as u64,
        });
    }
    let mut pages = Vec::with_capacity(reader.page_count());
    for index in 0..reader.page_count() {
        match reader.decode_page(index) {
            Ok(decoded) => pages.push(decoded.bitmap),
            // A first page fax-tiff cannot decode: let the general decoder try.
            Err(_) if index == 0 => return Ok(None),
            Err(error) => {
                return Err(Error::Damaged {
                    kind: "TIFF image",
                    reason: format!("page {}: {error}", index + 1),
                });
            }
        }
    }
    let mut rendered = Rendered {
        pages,
        fidelity: Default::default(),
    };
    rendered.note_blank_pages();
    Ok(Some(rendered))
}

fn kind_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG image",
        ImageFormat::Jpeg => "JPEG image",
        ImageFormat::Gif => "GIF image",
        ImageFormat::Bmp => "BMP image",
        ImageFormat::Tiff => "TIFF image",
    }
}

/// Decodes to 8-bit grey, refusing images whose header claims more than `limits`
/// allow before any pixel memory is allocated. Transparent areas become white.
pub fn decode_grey(data: &[u8], format: ImageFormat, limits: &Limits) -> Result<GreyImage, Error> {
    let kind = kind_name(format);
    let damaged = |error: ::image::ImageError| match error {
        ::image::ImageError::Limits(limit) => Error::DecoderLimit(limit.to_string()),
        other => Error::Damaged {
            kind,
            reason: other.to_string(),
        },
    };
    let image_format = match format {
        ImageFormat::Png => ::image::ImageFormat::Png,
        ImageFormat::Jpeg => ::image::ImageFormat::Jpeg,
        ImageFormat::Gif => ::image::ImageFormat::Gif,
        ImageFormat::Bmp => ::image::ImageFormat::Bmp,
        ImageFormat::Tiff => ::image::ImageFormat::Tiff,
    };
    let reader = |data| {
        let mut reader = ::image::ImageReader::with_format(Cursor::new(data), image_format);
        let mut image_limits = ::image::Limits::default();
        image_limits.max_image_width = Some(limits.max_image_side);
        image_limits.max_image_height = Some(limits.max_image_side);
        image_limits.max_alloc = Some(limits.max_decoder_alloc);
        reader.limits(image_limits);
        reader
    };
    let (width, height) = reader(data).into_dimensions().map_err(damaged)?;
    check_dimensions(u64::from(width), u64::from(height), limits)?;
    let image = reader(data).decode().map_err(damaged)?;
    let rgba = image.to_rgba8();
    let mut grey = Vec::with_capacity(width as usize * height as usize);
    for pixel in rgba.pixels() {
        let [r, g, b, a] = pixel.0;
        // ITU-R BT.601 luma, composited over white paper.
        let luma = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000;
        let alpha = u32::from(a);
        grey.push(((luma * alpha + 255 * (255 - alpha)) / 255) as u8);
    }
    Ok(GreyImage {
        width,
        height,
        x_dpi: ASSUMED_DPI,
        y_dpi: ASSUMED_DPI,
        data: grey,
    })
}
