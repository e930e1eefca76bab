//! A fax TIFF as a PDF: one PDF page per fax page, each page one bilevel image holding
//! the page's T.6 (MMR) coded data, so the PDF is about as small as the TIFF and any
//! PDF reader shows it.
//!
//! A page that is stored as a single MMR strip with 0 meaning white is copied as it is
//! (its bits put most significant first if the TIFF stores them the other way round);
//! any other page (MH, MR, several
//! strips, the other fill order, PackBits, uncompressed) is decoded and coded again as
//! MMR. The image is drawn at the page's own resolution (204 x 98 or 204 x 196 dpi for a
//! fax), so the PDF page has the size of the paper the fax was sent on.
//!
//! The samples a `/CCITTFaxDecode` filter delivers are 0 for black unless `/BlackIs1
//! true` is given. With `/DeviceGray` and one bit per component 0 is black, so this
//! writer says `/BlackIs1 false`: a black run of the fax is painted black. (`/BlackIs1
//! true` would need a `/Decode [1 0]` array beside it to come out the same way.) This
//! is independent of the bit order of the coded data, which PDF always reads most
//! significant bit first.

use std::fmt::Write as _;

use fax_t4::{EncodeOptions, Scheme};

use crate::read::{Compression, FillOrder, Photometric, Reader};
use crate::{Error, PageInfo};

/// One page's image: its size, resolution and MMR data.
struct PdfPage {
    width: u32,
    height: u32,
    x_dpi: u16,
    y_dpi: u16,
    mmr: Vec<u8>,
}

/// Converts a fax TIFF (any coding [`Reader`] decodes) to a PDF document with one page
/// per TIFF page.
///
/// Errors are those of reading the TIFF: a page that does not decode at all fails the
/// whole document rather than leaving a blank sheet in it.
pub fn tiff_to_pdf(tiff: &[u8]) -> Result<Vec<u8>, Error> {
    let reader = Reader::new(tiff)?;
    let mut pages = Vec::with_capacity(reader.page_count());
    for info in reader.pages() {
        pages.push(pdf_page(&reader, info)?);
    }
    Ok(write_pdf(&pages))
}

/// Whether a page's stored data is what `/CCITTFaxDecode /K -1` reads, once its bits
/// are put most significant first: one MMR strip (strips are coded independently, so
/// several do not make one image), no uncompressed mode, 0 is white.
fn mmr_as_stored(info: &PageInfo) -> bool {
    info.compression == Compression::T6
        && info.t6_options == 0
        && info.photometric == Photometric::WhiteIsZero
        && info.strips == 1
}

fn pdf_page(reader: &Reader<'_>, info: &PageInfo) -> Result<PdfPage, Error> {
    let resolution = info.resolution;
    let mmr = if mmr_as_stored(info) {
        let mut data = reader
            .strip_data(info.index)?
            .into_iter()
            .next()
            .unwrap_or_default()
            .to_vec();
        // PDF reads coded data most significant bit first; most fax TIFFs store it
        // the other way round, as it travels on the line.
        if info.fill_order == FillOrder::LsbFirst {
            fax_t4::bits::reverse_bits_in_place(&mut data);
        }
        data
    } else {
        let decoded = reader.decode_page(info.index)?;
        fax_t4::encode(&decoded.bitmap, &EncodeOptions::tiff(Scheme::Mmr))
    };
    Ok(PdfPage {
        width: info.width,
        height: info.height,
        // A zero resolution would make the page infinitely large; take a fax's.
        x_dpi: if resolution.x_dpi == 0 {
            204
        } else {
            resolution.x_dpi
        },
        y_dpi: if resolution.y_dpi == 0 {
            196
        } else {
            resolution.y_dpi
        },
        mmr,
    })
}

/// Size in PDF points (1/72 inch) of `pixels` at `dpi`, as PDF writes a real number.
///
/// Rounded down to 1/10000 point: a renderer asked for the page at `dpi` gets a raster
/// size a hair under `pixels`, which it rounds (up or to nearest) to exactly `pixels`,
/// where rounding to nearest hundredth could give one row too many.
fn points(pixels: u32, dpi: u16) -> String {
    let scaled = u64::from(pixels) * 72 * 10_000 / u64::from(dpi);
    format!("{}.{:04}", scaled / 10_000, scaled % 10_000)
}

/// Writes the document: catalog, page tree, then per page the page, its content stream
/// and its image, then the cross-reference table that PDF readers seek through.
fn write_pdf(pages: &[PdfPage]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    // The comment of high bytes tells transfer programs the file is binary.
    out.extend_from_slice(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
    // offsets[n - 1] is where object n starts.
    let mut offsets: Vec<usize> = Vec::new();
    let mut object = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        let number = offsets.len();
        out.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    // Objects: 1 catalog, 2 page tree, then 3 per page (page, content, image).
    let page_object = |index: usize| 3 + 3 * index;
    object(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    let mut kids = String::new();
    for index in 0..pages.len() {
        let _ = write!(kids, "{} 0 R ", page_object(index));
    }
    object(
        &mut out,
        format!("<< /Type /Pages /Kids [ {kids}] /Count {} >>", pages.len()).as_bytes(),
    );
    for (index, page) in pages.iter().enumerate() {
        let number = page_object(index);
        let (width, height) = (
            points(page.width, page.x_dpi),
            points(page.height, page.y_dpi),
        );
        object(
            &mut out,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] \
                 /Resources << /XObject << /Im0 {image} 0 R >> >> /Contents {content} 0 R >>",
                image = number + 2,
                content = number + 1,
            )
            .as_bytes(),
        );
        let content = format!("q {width} 0 0 {height} 0 0 cm /Im0 Do Q\n");
        object(&mut out, &stream(b"", content.as_bytes()));
        let dictionary = format!(
            "/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray \
             /BitsPerComponent 1 /Filter /CCITTFaxDecode \
             /DecodeParms << /K -1 /Columns {w} /Rows {h} /BlackIs1 false >> ",
            w = page.width,
            h = page.height,
        );
        object(&mut out, &stream(dictionary.as_bytes(), &page.mmr));
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n", offsets.len() + 1).as_bytes());
    // Every entry is exactly 20 bytes, end of line included, as readers count on.
    out.extend_from_slice(b"0000000000 65535 f \n");
    for offset in &offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A stream object's body: the dictionary entries given plus `/Length`, then the data.
fn stream(dictionary: &[u8], data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(data.len() + dictionary.len() + 64);
    body.extend_from_slice(b"<< ");
    body.extend_from_slice(dictionary);
    body.extend_from_slice(format!("/Length {} >>\nstream\n", data.len()).as_bytes());
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PageEncoding, WriteOptions};
    use fax_t4::{Bitmap, Resolution};

    fn page(resolution: Resolution) -> Bitmap {
        let mut bitmap = Bitmap::new(1728, 40, resolution).expect("bitmap");
        for y in 5..30 {
            for x in 100..400 {
                bitmap.set(x, y, true);
            }
        }
        bitmap
    }

    #[test]
    fn xref_offsets_point_at_their_objects() {
        let tiff = crate::write(
            &[page(Resolution::FINE), page(Resolution::STANDARD)],
            PageEncoding::Ccitt(Scheme::Mmr),
            &WriteOptions::default(),
        )
        .expect("tiff");
        let pdf = tiff_to_pdf(&tiff).expect("pdf");
        let text = String::from_utf8_lossy(&pdf);
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|rest| rest.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        assert!(pdf[start..].starts_with(b"xref\n0 9\n"));
        let table = String::from_utf8_lossy(&pdf[start..]);
        for (number, line) in table.lines().skip(3).take(8).enumerate() {
            let offset: usize = line[..10].parse().expect("offset");
            let head = format!("{} 0 obj\n", number + 1);
            assert!(
                pdf[offset..].starts_with(head.as_bytes()),
                "object {number}"
            );
        }
        assert!(text.contains("/Count 2"));
        // 1728 pixels at 204 dpi: 609.88 pt; 40 rows at 196 and at 98 lpi.
        assert!(text.contains("/MediaBox [0 0 609.8823 14.6938]"));
        assert!(text.contains("/MediaBox [0 0 609.8823 29.3877]"));
    }

    #[test]
    fn single_mmr_strips_are_copied_and_other_codings_coded_again() {
        let bitmap = page(Resolution::FINE);
        let mmr = fax_t4::encode(&bitmap, &EncodeOptions::tiff(Scheme::Mmr));
        let msb = crate::write(
            std::slice::from_ref(&bitmap),
            PageEncoding::Ccitt(Scheme::Mmr),
            &WriteOptions {
                fill_order: FillOrder::MsbFirst,
                ..WriteOptions::default()
            },
        )
        .expect("tiff");
        let pdf = tiff_to_pdf(&msb).expect("pdf");
        assert!(pdf.windows(mmr.len()).any(|w| w == mmr.as_slice()));

        let mh = crate::write(
            &[bitmap],
            PageEncoding::Ccitt(Scheme::Mh),
            &WriteOptions {
                fill_order: FillOrder::LsbFirst,
                ..WriteOptions::default()
            },
        )
        .expect("tiff");
        let pdf = tiff_to_pdf(&mh).expect("pdf");
        assert!(pdf.windows(mmr.len()).any(|w| w == mmr.as_slice()));
    }

    #[test]
    fn not_a_tiff_is_an_error() {
        assert!(tiff_to_pdf(b"%PDF-1.4").is_err());
    }
}
