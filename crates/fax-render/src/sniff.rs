//! What kind of document a file holds, from its first bytes (and, for the office
//! formats that are ZIP or OLE2 containers, its file name extension).

/// The supported types, for error messages.
pub const SUPPORTED: &str = "plain text (UTF-8, UTF-16, GBK/GB18030, Big5, ...), PDF, \
    PNG, JPEG, GIF, BMP, TIFF, PBM, and office files (.doc .docx .xls .xlsx .ppt .pptx \
    .odt .ods .odp .rtf .wri .wps .et)";

/// Office file name extensions handed to an office suite for conversion to PDF.
pub const OFFICE_EXTENSIONS: &[&str] = &[
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "wri", "wps", "et",
];

/// A document kind, deciding which converter takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Plain text in some encoding.
    Text,
    /// PDF: needs an external rasterizer.
    Pdf,
    /// A raster image the [`crate::image`] module decodes.
    Image(ImageFormat),
    /// Portable bitmap (P1/P4): already bilevel.
    Pbm,
    /// An office document: needs an office suite to become PDF first.
    Office,
}

/// Raster image formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG (JFIF, Exif).
    Jpeg,
    /// GIF (the first frame).
    Gif,
    /// Windows BMP.
    Bmp,
    /// TIFF: bilevel fax TIFFs keep their pages, others are decoded as images.
    Tiff,
}

/// Sniffs `data`; `extension` (lower or upper case, without the dot) only tells office
/// containers apart from other ZIP or OLE2 files. `None` means unsupported.
pub fn sniff(data: &[u8], extension: Option<&str>) -> Option<Kind> {
    let extension = extension.map(str::to_ascii_lowercase);
    let office_ext = extension
        .as_deref()
        .is_some_and(|e| OFFICE_EXTENSIONS.contains(&e));
    let starts = |magic: &[u8]| data.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some(Kind::Image(ImageFormat::Png));
    }
    if starts(b"\xff\xd8\xff") {
        return Some(Kind::Image(ImageFormat::Jpeg));
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some(Kind::Image(ImageFormat::Gif));
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Some(Kind::Image(ImageFormat::Tiff));
    }
    if starts(b"BM") && data.len() >= 26 && extension.as_deref() != Some("txt") {
        return Some(Kind::Image(ImageFormat::Bmp));
    }
    if starts(b"P1") || starts(b"P4") {
        return Some(Kind::Pbm);
    }
    // PDF readers accept the header anywhere in the first kilobyte.
    let head = &data[..data.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Some(Kind::Pdf);
    }
    // ZIP (OOXML, OpenDocument), OLE2 (.doc .xls .ppt .wps .et), Write (.wri).
    let container = starts(b"PK\x03\x04")
        || starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
        || starts(b"\x31\xbe\0\0")
        || starts(b"\x32\xbe\0\0");
    if container {
        return office_ext.then_some(Kind::Office);
    }
    if starts(b"{\\rtf") {
        return Some(Kind::Office);
    }
    if crate::text::looks_like_text(data) {
        return Some(Kind::Text);
    }
    None
}

/// A short description of unsupported data for error messages: its first bytes.
pub fn describe(data: &[u8]) -> String {
    if data.is_empty() {
        return "empty file".into();
    }
    let head: String = data
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    format!("{} bytes starting {head}", data.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_win_over_extensions() {
        assert_eq!(sniff(b"%PDF-1.4\n", Some("txt")), Some(Kind::Pdf));
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n....", Some("pdf")),
            Some(Kind::Image(ImageFormat::Png))
        );
        assert_eq!(sniff(b"hello\n", None), Some(Kind::Text));
        assert_eq!(sniff(b"PK\x03\x04rest", Some("DOCX")), Some(Kind::Office));
        assert_eq!(sniff(b"PK\x03\x04rest", Some("zip")), None);
        assert_eq!(sniff(b"{\\rtf1 hello}", None), Some(Kind::Office));
        assert_eq!(sniff(b"\0\x01\x02\x03\xff\xfe\x00\x00", None), None);
    }
}
