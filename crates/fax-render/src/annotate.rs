//! What a fax machine adds to the pages it sends: the header line at the top of every
//! page (date and time, sender name and number, "page n/m") and a cover page.
//!
//! Both are drawn with the text renderer's fonts into the page rasters. The date and
//! time come in as an argument: this crate reads no clock.

use fax_t4::Bitmap;

use crate::fonts::FontSet;
use crate::text::LineSetter;
use crate::{Error, Fidelity, Note, PageSetup, Rendered};

/// A civil date and time, as printed on faxes (`2026-11-29 03:10`), in whatever zone
/// the caller chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month, 1-12.
    pub month: u8,
    /// Day of the month, 1-31.
    pub day: u8,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
}

impl DateTime {
    /// The civil date and time `unix_seconds` after 1970-01-01 00:00 UTC, shifted by
    /// `offset_minutes` east of UTC (0 for UTC).
    pub fn from_unix(unix_seconds: i64, offset_minutes: i32) -> DateTime {
        let local = unix_seconds + i64::from(offset_minutes) * 60;
        let days = local.div_euclid(86_400);
        let seconds = local.rem_euclid(86_400);
        // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar,
        // eras of 400 years as in Howard Hinnant's algorithm).
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
        DateTime {
            year: year.clamp(-9999, 9999) as i32,
            month: month as u8,
            day: day as u8,
            hour: (seconds / 3600) as u8,
            minute: (seconds / 60 % 60) as u8,
        }
    }
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }
}

/// The header line printed at the top of every page.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// When the fax is sent.
    pub date_time: DateTime,
    /// Who sends it (a person or a company), or free text for the whole left part of
    /// the line; may be empty.
    pub sender_name: String,
    /// The sender's fax number as it should be read (`+44 20 7946 0000`); may be
    /// empty.
    pub sender_number: String,
    /// Font size in points. Fax machines print the header small, about 8-9 pt.
    pub font_size_pt: f32,
}

impl Header {
    /// The header without the page label: date and time, name, number.
    pub fn text(&self) -> String {
        let mut text = self.date_time.to_string();
        for part in [&self.sender_name, &self.sender_number] {
            if !part.trim().is_empty() {
                text.push_str("   ");
                text.push_str(part.trim());
            }
        }
        text
    }
}

/// The page label at the right end of the header: `Page n/m`.
pub fn page_label(page: usize, pages: usize) -> String {
    format!("Page {page}/{pages}")
}

/// Left and right end of the header line, in pixels from the page edge (about 5 mm,
/// inside what every printer reaches).
const HEADER_SIDE: u32 = 40;

/// Rows of white space above and below the header text, at fine resolution (1 mm).
const HEADER_TOP_FINE: f32 = 8.0;

/// Height of the band at the top of a page that the header line takes, in rows.
pub fn header_band(header: &Header, fonts: &FontSet, setup: &PageSetup) -> Result<u32, Error> {
    let setter = LineSetter::new(fonts, header.font_size_pt, setup.resolution)?;
    Ok(band_rows(&setter, setup))
}

fn band_rows(setter: &LineSetter<'_>, setup: &PageSetup) -> u32 {
    let top = HEADER_TOP_FINE * setup.y_dpi() / 196.0;
    (top * 2.0 + setter.ascent + setter.descent).ceil() as u32
}

/// Prints the header line at the top of every page, page numbers counting from 1 to
/// `pages.len()`. The band it takes is cleared first, so that it stays legible on a
/// page printed to its top edge; a page that had ink there gets a [`Note::Cropped`].
/// The name is shortened (with "...") when the line would not fit.
pub fn stamp_headers(
    pages: &mut [Bitmap],
    header: &Header,
    fonts: &FontSet,
) -> Result<Fidelity, Error> {
    let total = pages.len();
    stamp_headers_numbered(pages, header, fonts, 1, total)
}

/// Prints the header line as [`stamp_headers`] does, numbering the pages from `first`
/// of `total`: for pages that are sent after others made apart from them (a cover
/// page made per recipient in front of a document rendered once). Fidelity notes
/// name pages by their number in the whole fax.
pub fn stamp_headers_numbered(
    pages: &mut [Bitmap],
    header: &Header,
    fonts: &FontSet,
    first: usize,
    total: usize,
) -> Result<Fidelity, Error> {
    let mut fidelity = Fidelity::default();
    let mut setters: Vec<(fax_t4::Resolution, LineSetter<'_>)> = Vec::new();
    let text = header.text();
    for (index, page) in pages.iter_mut().enumerate() {
        let resolution = page.resolution();
        let setup = PageSetup {
            resolution,
            ..PageSetup::default()
        };
        let slot = match setters.iter().position(|(r, _)| *r == resolution) {
            Some(slot) => slot,
            None => {
                setters.push((
                    resolution,
                    LineSetter::new(fonts, header.font_size_pt, resolution)?,
                ));
                setters.len() - 1
            }
        };
        let setter = &mut setters[slot].1;
        let band = band_rows(setter, &setup).min(page.height());
        let mut inked = false;
        for y in 0..band {
            let row = page.row_mut(y);
            inked |= row.iter().any(|b| *b != 0);
            row.fill(0);
        }
        let number = first + index;
        if inked {
            fidelity.notes.push(Note::Cropped { page: number });
        }
        let top = HEADER_TOP_FINE * setup.y_dpi() / 196.0;
        let baseline = (top + setter.ascent).round() as i32;
        let label = page_label(number, total);
        let label_width = setter.width(&label).ceil() as u32;
        let right = page.width().saturating_sub(HEADER_SIDE);
        let label_left = right.saturating_sub(label_width);
        let room = label_left.saturating_sub(HEADER_SIDE + 2 * setter.width("  ") as u32) as f32;
        let left_text = fit(setter, &text, room);
        let mut missing = setter.draw(page, &left_text, HEADER_SIDE as i32, baseline);
        missing.extend(setter.draw(page, &label, label_left as i32, baseline));
        if !missing.is_empty() {
            fidelity.notes.push(missing_note(number, &missing));
        }
    }
    Ok(fidelity)
}

/// One line of text alone on a white bitmap just large enough for it (4 pixels of
/// white on either side), drawn exactly as the header and the cover page draw it: for
/// previews and for checking pages by comparison.
pub fn render_line(
    text: &str,
    fonts: &FontSet,
    font_size_pt: f32,
    resolution: fax_t4::Resolution,
) -> Result<Bitmap, Error> {
    let mut setter = LineSetter::new(fonts, font_size_pt, resolution)?;
    let width = setter.width(text).ceil() as u32 + 8;
    let height = (setter.ascent + setter.descent).ceil() as u32 + 2;
    let mut line = Bitmap::new(width.max(8), height, resolution)?;
    let baseline = setter.ascent.round() as i32 + 1;
    setter.draw(&mut line, text, 4, baseline);
    Ok(line)
}

/// `text`, shortened with "..." to fit `room` pixels.
fn fit(setter: &mut LineSetter<'_>, text: &str, room: f32) -> String {
    if setter.width(text) <= room {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>() + "...";
        if setter.width(&candidate) <= room {
            return candidate;
        }
    }
    String::new()
}

fn missing_note(page: usize, missing: &[char]) -> Note {
    let distinct: std::collections::BTreeSet<char> = missing.iter().copied().collect();
    Note::MissingGlyphs {
        page,
        count: missing.len(),
        chars: distinct.into_iter().take(20).collect(),
    }
}

/// What the cover page says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cover {
    /// The recipient: one or two lines (a name and a company, or a department).
    pub to: Vec<String>,
    /// The sender's name.
    pub from: String,
    /// The sender's fax number, if it is to be printed.
    pub from_number: String,
    /// When the fax is sent.
    pub date_time: Option<DateTime>,
    /// Pages of the whole fax, this cover page included.
    pub pages: usize,
    /// Free text under the details: the mail's body, a note; may be empty. Lines wrap;
    /// what does not fit on the page is cut (and noted).
    pub note: String,
}

/// Font size of the cover page's title.
const COVER_TITLE_PT: f32 = 28.0;
/// Font size of the cover page's details and note.
const COVER_TEXT_PT: f32 = 12.0;

/// Lays out a cover page: the title "FAX", a rule, the recipient, sender, date and
/// page count, another rule, and the note.
pub fn cover_page(cover: &Cover, fonts: &FontSet, setup: &PageSetup) -> Result<Rendered, Error> {
    let (left, top, width, height) = setup.text_area()?;
    let mut page = Bitmap::new(setup.width(), setup.height(), setup.resolution)?;
    let mut missing = Vec::new();
    let mut title = LineSetter::new(fonts, COVER_TITLE_PT, setup.resolution)?;
    let mut text = LineSetter::new(fonts, COVER_TEXT_PT, setup.resolution)?;
    let line_height = (text.ascent + text.descent) * 1.3;
    let bottom = (top + height) as f32;
    let mut y = top as f32;

    let baseline = y + title.ascent;
    missing.extend(title.draw(&mut page, "FAX", left as i32, baseline.round() as i32));
    y = baseline + title.descent + line_height * 0.5;
    rule(&mut page, left, width, y.round() as u32, setup);
    y += line_height;

    let date = cover.date_time.map(|d| d.to_string()).unwrap_or_default();
    let pages = if cover.pages > 0 {
        format!("{} (including this page)", cover.pages)
    } else {
        String::new()
    };
    let mut rows: Vec<(&str, String)> = Vec::new();
    for (index, line) in cover.to.iter().filter(|l| !l.trim().is_empty()).enumerate() {
        rows.push((if index == 0 { "To:" } else { "" }, line.trim().to_string()));
    }
    for (label, value) in [
        ("From:", cover.from.trim().to_string()),
        ("Fax:", cover.from_number.trim().to_string()),
        ("Date:", date),
        ("Pages:", pages),
    ] {
        if !value.is_empty() {
            rows.push((label, value));
        }
    }
    let value_x = left + text.width("Pages:    ").ceil() as u32;
    for (label, value) in &rows {
        let baseline = (y + text.ascent).round() as i32;
        missing.extend(text.draw(&mut page, label, left as i32, baseline));
        let room = (left + width).saturating_sub(value_x) as f32;
        let value = fit(&mut text, value, room);
        missing.extend(text.draw(&mut page, &value, value_x as i32, baseline));
        y += line_height;
    }
    y += line_height * 0.5;
    rule(&mut page, left, width, y.round() as u32, setup);
    y += line_height;

    let mut fidelity = Fidelity::default();
    let mut cut = false;
    for line in text.wrap(&cover.note, width as f32) {
        if y + text.ascent + text.descent > bottom {
            cut = true;
            break;
        }
        let baseline = (y + text.ascent).round() as i32;
        missing.extend(text.draw(&mut page, &line, left as i32, baseline));
        y += line_height;
    }
    if !missing.is_empty() {
        fidelity.notes.push(missing_note(1, &missing));
    }
    if cut {
        fidelity.notes.push(Note::Cropped { page: 1 });
    }
    Ok(Rendered {
        pages: vec![page],
        fidelity,
    })
}

/// A horizontal rule about 0.5 mm thick.
fn rule(page: &mut Bitmap, left: u32, width: u32, y: u32, setup: &PageSetup) {
    let thickness = (setup.y_dpi() / 50.0).round().max(1.0) as u32;
    for row in y..(y + thickness).min(page.height()) {
        for x in left..(left + width).min(page.width()) {
            page.set(x, row, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time_from_unix_seconds() {
        let at = |s, offset| DateTime::from_unix(s, offset).to_string();
        assert_eq!(at(0, 0), "1970-01-01 00:00");
        assert_eq!(at(951_782_400, 0), "2000-02-29 00:00");
        assert_eq!(at(1_709_210_096, 0), "2024-02-29 12:34");
        assert_eq!(at(1_709_210_096, 60), "2024-02-29 13:34");
        assert_eq!(at(0, -300), "1969-12-31 19:00");
        assert_eq!(at(4_102_444_799, 0), "2099-12-31 23:59");
    }

    #[test]
    fn header_text_leaves_out_what_is_empty() {
        let mut header = Header {
            date_time: DateTime::from_unix(1_709_210_096, 0),
            sender_name: "ACME Ltd".into(),
            sender_number: " +44 20 7946 0000 ".into(),
            font_size_pt: 9.0,
        };
        assert_eq!(
            header.text(),
            "2024-02-29 12:34   ACME Ltd   +44 20 7946 0000"
        );
        header.sender_name.clear();
        assert_eq!(header.text(), "2024-02-29 12:34   +44 20 7946 0000");
        assert_eq!(page_label(2, 7), "Page 2/7");
    }
}
