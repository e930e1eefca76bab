//! Documents to bilevel fax pages.
//!
//! `fax-render` turns what people attach to a fax mail into pages a fax machine can
//! print: plain text in any common encoding (Latin and CJK, [`text`]), raster images
//! ([`image`]), and greyscale or bilevel page rasters that an external PDF renderer
//! produced ([`grey`], [`mono`]). Every page comes out 1728 pixels wide (A4 at 8 pels/mm) at standard or
//! fine resolution, as a [`fax_t4::Bitmap`], together with a [`Fidelity`] report of what
//! the sender should know: fonts substituted, characters with no glyph, pages scaled or
//! cropped, blank pages, images halftoned. [`annotate`] adds what fax machines add:
//! a header line on every page and a cover page.
//!
//! It never spawns a process, opens a socket or reads the clock, and it reads no file
//! except font files whose paths its caller hands it ([`fonts::Face::from_file`]).
//! Rasterizing PDF and converting office files need external programs; the binary runs
//! them and brings their output here. Input is untrusted: sizes are checked against
//! [`Limits`] before anything large is allocated, and no input makes it panic.

#![forbid(unsafe_code)]

pub mod annotate;
mod config;
mod error;
pub mod fonts;
pub mod grey;
pub mod image;
pub mod mono;
mod netpbm;
mod report;
mod setup;
pub mod sniff;
pub mod text;

pub use config::{OfficeSetting, PdfRendererSetting, RenderConfig, ResolutionSetting};
pub use error::Error;
pub use report::{Fidelity, Note};
pub use setup::{Limits, Margins, PageSetup, Paper};

/// Pages rendered from one document, and what was lost or changed on the way.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The pages, 1728 pixels wide, at the setup's resolution, in document order.
    pub pages: Vec<fax_t4::Bitmap>,
    /// What the sender should know about the conversion.
    pub fidelity: Fidelity,
}

impl Rendered {
    /// Pages made elsewhere with what was noted on the way; every blank page is noted
    /// after those notes.
    pub fn from_pages(pages: Vec<fax_t4::Bitmap>, notes: Vec<Note>) -> Rendered {
        let mut rendered = Rendered {
            pages,
            fidelity: Fidelity { notes },
        };
        rendered.note_blank_pages();
        rendered
    }

    /// Notes every page that has no black pixel at all, so a sender learns that a page
    /// went out empty.
    pub(crate) fn note_blank_pages(&mut self) {
        for (index, page) in self.pages.iter().enumerate() {
            // Any black byte will do: counting every pixel cost more than the check.
            if page.packed().iter().all(|&byte| byte == 0) {
                self.fidelity
                    .notes
                    .push(Note::BlankPage { page: index + 1 });
            }
        }
    }
}
