//! Plain text to pages: encoding detection, line breaking (words for Latin, between
//! characters for CJK, per Unicode UAX #14), tabs, form feeds, and glyphs drawn with
//! real fonts.

use std::collections::{BTreeSet, HashMap};

use ab_glyph::{Font, GlyphId, PxScale, ScaleFont, point};
use encoding_rs::Encoding;
use fax_t4::Bitmap;

use crate::fonts::FontSet;
use crate::{Error, Fidelity, Limits, Note, PageSetup, Rendered};

/// How text is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    /// Font size in points. At 10 pt a monospaced Latin face fits 84 columns between
    /// 15 mm margins.
    pub font_size_pt: f32,
    /// Distance between baselines, in multiples of the font size.
    pub line_spacing: f32,
    /// Tab stops every this many widths of the main face's space.
    pub tab_columns: u32,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle {
            font_size_pt: 10.0,
            line_spacing: 1.25,
            tab_columns: 8,
        }
    }
}

/// Text decoded from bytes, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The encoding's WHATWG name.
    pub encoding: &'static str,
    /// Whether the encoding was guessed (no BOM, not valid UTF-8).
    pub guessed: bool,
    /// How many malformed sequences became U+FFFD.
    pub replaced: usize,
}

/// UTF-16 without a byte order mark: most code units of Latin text have a zero high
/// byte, so one byte position is mostly zero and the other almost never.
fn utf16_without_bom(data: &[u8]) -> Option<&'static Encoding> {
    if data.len() < 4 || !data.len().is_multiple_of(2) {
        return None;
    }
    let sample = &data[..data.len().min(4096)];
    let zeros = |offset: usize| {
        sample
            .iter()
            .skip(offset)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (zeros(0), zeros(1));
    let half = sample.len() / 2;
    if odd * 10 > half * 3 && even * 50 < half {
        Some(encoding_rs::UTF_16LE)
    } else if even * 10 > half * 3 && odd * 50 < half {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Decodes text: a byte order mark wins, then valid UTF-8, then UTF-16 recognised by its
/// zero bytes, then a statistical guess over legacy encodings (GBK/GB18030, Big5,
/// Shift_JIS, EUC-KR, windows-125x, ...). GBK is decoded as GB18030, its superset.
pub fn decode(data: &[u8]) -> Decoded {
    let (encoding, body, guessed) = if let Some((encoding, bom)) = Encoding::for_bom(data) {
        (encoding, &data[bom..], false)
    } else if std::str::from_utf8(data).is_ok() {
        (encoding_rs::UTF_8, data, false)
    } else if let Some(encoding) = utf16_without_bom(data) {
        (encoding, data, true)
    } else {
        let mut detector = chardetng::EncodingDetector::new();
        detector.feed(data, true);
        (detector.guess(None, false), data, true)
    };
    let (text, _) = encoding.decode_without_bom_handling(body);
    let replaced = text.chars().filter(|&c| c == '\u{fffd}').count();
    Decoded {
        text: text.into_owned(),
        encoding: encoding.name(),
        guessed,
        replaced,
    }
}

/// Whether bytes look like plain text in some encoding: a BOM, or no NUL bytes, few
/// control characters and few undecodable sequences.
pub fn looks_like_text(data: &[u8]) -> bool {
    if Encoding::for_bom(data).is_some() || utf16_without_bom(data).is_some() {
        return true;
    }
    let sample = &data[..data.len().min(65_536)];
    if sample.is_empty() || sample.contains(&0) {
        return false;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
        .count();
    if controls * 100 > sample.len() {
        return false;
    }
    let decoded = decode(sample);
    decoded.replaced * 100 <= decoded.text.chars().count().max(1)
}

/// Decodes and renders a text file's bytes.
pub fn render_bytes(
    data: &[u8],
    fonts: &FontSet,
    setup: &PageSetup,
    style: &TextStyle,
    limits: &Limits,
) -> Result<Rendered, Error> {
    let decoded = decode(data);
    let mut rendered = render(&decoded.text, fonts, setup, style, limits)?;
    let mut notes = vec![Note::Encoding {
        encoding: decoded.encoding.to_string(),
        guessed: decoded.guessed,
    }];
    if decoded.replaced > 0 {
        notes.push(Note::MalformedText {
            replaced: decoded.replaced,
        });
    }
    notes.append(&mut rendered.fidelity.notes);
    rendered.fidelity.notes = notes;
    Ok(rendered)
}

/// A glyph's pixels, relative to the pen position on the baseline.
struct GlyphImage {
    left: i32,
    top: i32,
    width: u32,
    /// Row-major, `true` = black.
    pixels: Vec<bool>,
}

/// A character placed on a line.
#[derive(Clone, Copy)]
struct Placed {
    x: f32,
    face: usize,
    glyph: GlyphId,
    /// The character, when no face has a glyph for it.
    missing: Option<char>,
}

/// A character's face, glyph and advance; `missing` when no face has it.
#[derive(Clone, Copy)]
struct Shaped {
    face: usize,
    glyph: GlyphId,
    advance: f32,
    missing: bool,
}

struct Typesetter<'a> {
    fonts: &'a FontSet,
    scale: PxScale,
    coverage_threshold: f32,
    shapes: HashMap<char, Shaped>,
    glyphs: HashMap<(usize, GlyphId), Option<GlyphImage>>,
}

impl Typesetter<'_> {
    fn shape(&mut self, ch: char) -> Shaped {
        if let Some(shaped) = self.shapes.get(&ch) {
            return *shaped;
        }
        let (face, glyph, missing) = match self.fonts.lookup(ch) {
            Some((face, glyph)) => (face, glyph, false),
            // The main face's .notdef: the box readers know means "lost character".
            None => (0, GlyphId(0), true),
        };
        let font = self.fonts.faces()[face].font();
        let advance = font.as_scaled(self.scale).h_advance(glyph);
        let shaped = Shaped {
            face,
            glyph,
            advance,
            missing,
        };
        self.shapes.insert(ch, shaped);
        shaped
    }

    fn draw(&mut self, page: &mut Bitmap, placed: Placed, baseline: i32, left: i32) {
        let (fonts, scale, threshold) = (self.fonts, self.scale, self.coverage_threshold);
        let image = self
            .glyphs
            .entry((placed.face, placed.glyph))
            .or_insert_with(|| {
                let font = fonts.faces()[placed.face].font();
                let outlined = font
                    .outline_glyph(placed.glyph.with_scale_and_position(scale, point(0.0, 0.0)))?;
                let bounds = outlined.px_bounds();
                let width = bounds.width() as u32;
                let height = bounds.height() as u32;
                let mut pixels = vec![false; (width * height) as usize];
                outlined.draw(|x, y, coverage| {
                    if coverage >= threshold
                        && let Some(pixel) = pixels.get_mut((y * width + x) as usize)
                    {
                        *pixel = true;
                    }
                });
                Some(GlyphImage {
                    left: bounds.min.x as i32,
                    top: bounds.min.y as i32,
                    width,
                    pixels,
                })
            });
        let Some(image) = image else { return };
        let origin_x = left + placed.x.round() as i32 + image.left;
        let origin_y = baseline + image.top;
        for (index, _) in image.pixels.iter().enumerate().filter(|(_, black)| **black) {
            let x = origin_x + (index as u32 % image.width) as i32;
            let y = origin_y + (index as u32 / image.width) as i32;
            if x >= 0 && y >= 0 && (x as u32) < page.width() && (y as u32) < page.height() {
                page.set(x as u32, y as u32, true);
            }
        }
    }
}

/// Lines of one page, each a list of placed characters.
type PageLines = Vec<Vec<Placed>>;

/// Renders text onto pages: `\n`, `\r\n` and `\r` end lines, form feed (`\f`) starts a
/// new page, tabs jump to the next stop, long lines wrap at the break opportunities of
/// UAX #14 (spaces for Latin, between ideographs for CJK) or, for a word longer than a
/// line, anywhere.
pub fn render(
    text: &str,
    fonts: &FontSet,
    setup: &PageSetup,
    style: &TextStyle,
    limits: &Limits,
) -> Result<Rendered, Error> {
    if !(style.font_size_pt >= 2.0 && style.font_size_pt <= 200.0) || style.line_spacing < 0.5 {
        return Err(Error::Setup(format!(
            "font size {} pt, line spacing {}",
            style.font_size_pt, style.line_spacing
        )));
    }
    let (left, top, area_w, area_h) = setup.text_area()?;
    let em_x = style.font_size_pt / 72.0 * setup.x_dpi();
    let em_y = style.font_size_pt / 72.0 * setup.y_dpi();
    let scale = PxScale { x: em_x, y: em_y };
    let line_height = em_y * style.line_spacing;
    let ascent = fonts.faces()[0].font().as_scaled(scale).ascent();
    let lines_per_page = ((area_h as f32 / line_height).floor() as usize).max(1);
    let mut setter = Typesetter {
        fonts,
        scale,
        // Thin strokes lose half their height at standard resolution: keep them.
        coverage_threshold: if setup.resolution.is_standard() {
            0.35
        } else {
            0.5
        },
        shapes: HashMap::new(),
        glyphs: HashMap::new(),
    };
    let space = setter.shape(' ').advance.max(1.0);
    let tab = space * style.tab_columns.max(1) as f32;
    let max_x = area_w as f32;

    let mut pages: Vec<PageLines> = Vec::new();
    let mut wrapped_lines = 0usize;
    let chunks: Vec<&str> = text.split('\u{c}').collect();
    let last_chunk = chunks.len() - 1;
    for (chunk_index, chunk) in chunks.iter().enumerate() {
        // Whitespace after the last form feed is no page.
        if chunk_index == last_chunk && chunk_index > 0 && chunk.trim().is_empty() {
            break;
        }
        let mut lines: Vec<Vec<Placed>> = Vec::new();
        let chunk = chunk.strip_suffix('\n').unwrap_or(chunk);
        let chunk = chunk.strip_suffix('\r').unwrap_or(chunk);
        for paragraph in chunk.split('\n') {
            let paragraph = paragraph.strip_suffix('\r').unwrap_or(paragraph);
            let mut wrapped = false;
            for part in paragraph.split('\r') {
                let before = lines.len();
                set_paragraph(part, &mut setter, max_x, tab, &mut lines);
                wrapped |= lines.len() > before + 1;
            }
            wrapped_lines += usize::from(wrapped);
            if pages.len() + lines.len() / lines_per_page > limits.max_pages {
                return Err(Error::TooLarge {
                    what: "pages",
                    got: (pages.len() + lines.len() / lines_per_page) as u64,
                    max: limits.max_pages as u64,
                });
            }
        }
        let mut chunk_pages: Vec<PageLines> =
            lines.chunks(lines_per_page).map(<[_]>::to_vec).collect();
        if chunk_pages.is_empty() {
            chunk_pages.push(Vec::new());
        }
        pages.extend(chunk_pages);
    }
    if pages.len() > limits.max_pages {
        return Err(Error::TooLarge {
            what: "pages",
            got: pages.len() as u64,
            max: limits.max_pages as u64,
        });
    }

    let mut rendered = Rendered {
        pages: Vec::with_capacity(pages.len()),
        fidelity: Fidelity::default(),
    };
    for (page_index, lines) in pages.iter().enumerate() {
        let mut page = Bitmap::new(setup.width(), setup.height(), setup.resolution)?;
        for (line_index, line) in lines.iter().enumerate() {
            let baseline = top as f32 + line_index as f32 * line_height + ascent;
            for &placed in line {
                setter.draw(&mut page, placed, baseline.round() as i32, left as i32);
            }
        }
        rendered.pages.push(page);
        let lost: Vec<char> = lines.iter().flatten().filter_map(|p| p.missing).collect();
        if !lost.is_empty() {
            let chars: BTreeSet<char> = lost.iter().copied().collect();
            rendered.fidelity.notes.push(Note::MissingGlyphs {
                page: page_index + 1,
                count: lost.len(),
                chars: chars.into_iter().take(20).collect(),
            });
        }
    }
    if wrapped_lines > 0 {
        rendered.fidelity.notes.push(Note::LinesWrapped {
            lines: wrapped_lines,
        });
    }
    rendered.note_blank_pages();
    Ok(rendered)
}

/// Sets one paragraph (no line ends) into lines no wider than `max_x`.
fn set_paragraph(
    paragraph: &str,
    setter: &mut Typesetter<'_>,
    max_x: f32,
    tab: f32,
    lines: &mut Vec<Vec<Placed>>,
) {
    let next_tab = |x: f32| ((x / tab).floor() + 1.0) * tab;
    let mut line: Vec<Placed> = Vec::new();
    let mut x = 0.0f32;
    let mut start = 0;
    for (end, _) in unicode_linebreak::linebreaks(paragraph) {
        let segment = &paragraph[start..end];
        start = end;
        // Width up to the segment's last visible character: trailing spaces may hang
        // past the margin.
        let mut probe = x;
        let mut visible_end = x;
        for ch in segment.chars() {
            if ch == '\t' {
                probe = next_tab(probe);
            } else if !ch.is_control() {
                probe += setter.shape(ch).advance;
                if !ch.is_whitespace() {
                    visible_end = probe;
                }
            }
        }
        if x > 0.0 && visible_end > max_x {
            lines.push(std::mem::take(&mut line));
            x = 0.0;
        }
        for ch in segment.chars() {
            if ch == '\t' {
                x = next_tab(x).min(max_x);
                continue;
            }
            if ch.is_control() {
                continue;
            }
            let shaped = setter.shape(ch);
            if x + shaped.advance > max_x + 0.5 {
                if ch.is_whitespace() {
                    continue;
                }
                if x > 0.0 {
                    lines.push(std::mem::take(&mut line));
                    x = 0.0;
                }
            }
            if !ch.is_whitespace() {
                line.push(Placed {
                    x,
                    face: shaped.face,
                    glyph: shaped.glyph,
                    missing: shaped.missing.then_some(ch),
                });
            }
            x += shaped.advance;
        }
    }
    lines.push(line);
}

/// One size of text set line by line at fixed places: the header line and the cover
/// page, where the layout is the caller's, not the flow of a document.
pub(crate) struct LineSetter<'a> {
    setter: Typesetter<'a>,
    /// Distance from the top of a line to its baseline, in rows.
    pub(crate) ascent: f32,
    /// Distance from the baseline down to the lowest descender, in rows (positive).
    pub(crate) descent: f32,
}

impl<'a> LineSetter<'a> {
    pub(crate) fn new(
        fonts: &'a FontSet,
        size_pt: f32,
        resolution: fax_t4::Resolution,
    ) -> Result<LineSetter<'a>, Error> {
        if !(2.0..=200.0).contains(&size_pt) {
            return Err(Error::Setup(format!("font size {size_pt} pt")));
        }
        let scale = PxScale {
            x: size_pt / 72.0 * f32::from(fax_t4::Resolution::FINE.x_dpi),
            y: size_pt / 72.0 * f32::from(resolution.y_dpi),
        };
        let scaled = fonts.faces()[0].font().as_scaled(scale);
        Ok(LineSetter {
            ascent: scaled.ascent(),
            descent: -scaled.descent(),
            setter: Typesetter {
                fonts,
                scale,
                coverage_threshold: if resolution.is_standard() { 0.35 } else { 0.5 },
                shapes: HashMap::new(),
                glyphs: HashMap::new(),
            },
        })
    }

    /// Advance width of `text` on one line, in pixels.
    pub(crate) fn width(&mut self, text: &str) -> f32 {
        text.chars()
            .filter(|c| !c.is_control())
            .map(|c| self.setter.shape(c).advance)
            .sum()
    }

    /// Draws `text` on one line starting at `left`, baseline at `baseline`; returns the
    /// characters no face has.
    pub(crate) fn draw(
        &mut self,
        page: &mut Bitmap,
        text: &str,
        left: i32,
        baseline: i32,
    ) -> Vec<char> {
        let mut missing = Vec::new();
        let mut x = 0.0f32;
        for ch in text.chars().filter(|c| !c.is_control()) {
            let shaped = self.setter.shape(ch);
            if shaped.missing {
                missing.push(ch);
            }
            if !ch.is_whitespace() {
                let placed = Placed {
                    x,
                    face: shaped.face,
                    glyph: shaped.glyph,
                    missing: None,
                };
                self.setter.draw(page, placed, baseline, left);
            }
            x += shaped.advance;
        }
        missing
    }

    /// Breaks `text` into lines no wider than `max_x` pixels, where `render` would
    /// (tabs every 8 spaces), and returns each line's text.
    pub(crate) fn wrap(&mut self, text: &str, max_x: f32) -> Vec<String> {
        let tab = self.setter.shape(' ').advance.max(1.0) * 8.0;
        let mut out = Vec::new();
        for paragraph in text.lines() {
            let mut lines = Vec::new();
            set_paragraph(paragraph, &mut self.setter, max_x, tab, &mut lines);
            // Each placed line holds its visible characters in order: cut the
            // paragraph after as many.
            let mut rest = paragraph;
            for line in &lines {
                let mut visible = 0usize;
                let mut end = 0usize;
                for (index, ch) in rest.char_indices() {
                    if visible == line.len() {
                        break;
                    }
                    if !ch.is_control() && !ch.is_whitespace() {
                        visible += 1;
                    }
                    end = index + ch.len_utf8();
                }
                out.push(rest[..end].trim().replace('\t', "        "));
                rest = &rest[end..];
            }
        }
        out
    }
}
