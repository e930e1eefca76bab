/// What a sender should know about a conversion: everything that makes the fax differ
/// from the document they sent. Page numbers count from 1 within the document.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fidelity {
    /// The notes, in the order they were found.
    pub notes: Vec<Note>,
}

/// One thing lost or changed on the way to fax pages.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Note {
    /// Text was read in this character encoding (detected, or from a byte order mark).
    Encoding {
        /// The encoding's WHATWG name ("UTF-8", "GBK", "Big5", ...).
        encoding: String,
        /// Whether it was guessed from the bytes rather than marked by a BOM or valid
        /// UTF-8; a wrong guess garbles the text.
        guessed: bool,
    },
    /// Some bytes were not valid in the encoding and became U+FFFD.
    MalformedText {
        /// How many replacement characters were produced.
        replaced: usize,
    },
    /// A wanted font was not found and another stands in for it.
    FontSubstituted {
        /// What was asked for.
        wanted: String,
        /// What is used instead.
        used: String,
    },
    /// Characters no font has a glyph for: they print as empty boxes ("tofu").
    MissingGlyphs {
        /// The page they are on.
        page: usize,
        /// How many characters.
        count: usize,
        /// The distinct characters (at most 20).
        chars: String,
    },
    /// Lines longer than the text area were wrapped.
    LinesWrapped {
        /// How many source lines needed wrapping.
        lines: usize,
    },
    /// A page or image was scaled to fit the page.
    Scaled {
        /// The page.
        page: usize,
        /// The scale factor in percent (100 = unchanged).
        percent: u32,
    },
    /// Part of a page was cut off.
    Cropped {
        /// The page.
        page: usize,
    },
    /// A page came out entirely white.
    BlankPage {
        /// The page.
        page: usize,
    },
    /// Continuous tones (a photo, a grey fill) were turned into a dot pattern.
    Halftoned {
        /// The page.
        page: usize,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Encoding { encoding, guessed } => {
                let how = if *guessed { "guessed" } else { "read" };
                write!(f, "text encoding {how} as {encoding}")
            }
            Note::MalformedText { replaced } => {
                write!(
                    f,
                    "{replaced} malformed byte sequences replaced by \u{fffd}"
                )
            }
            Note::FontSubstituted { wanted, used } => {
                write!(f, "font {wanted:?} not found, {used:?} used instead")
            }
            Note::MissingGlyphs { page, count, chars } => write!(
                f,
                "page {page}: {count} characters have no glyph in any font and print as boxes: {chars}"
            ),
            Note::LinesWrapped { lines } => write!(f, "{lines} long lines wrapped"),
            Note::Scaled { page, percent } => write!(f, "page {page}: scaled to {percent}%"),
            Note::Cropped { page } => write!(f, "page {page}: cropped"),
            Note::BlankPage { page } => write!(f, "page {page}: blank"),
            Note::Halftoned { page } => write!(f, "page {page}: grey tones halftoned"),
        }
    }
}
