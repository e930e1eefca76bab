//! Fonts for text pages: an ordered list of faces, the first that has a glyph for a
//! character draws it.

use std::path::Path;

use ab_glyph::{Font, FontVec, GlyphId};

use crate::Error;

/// One loaded font face (a file, or one face of a TrueType collection).
pub struct Face {
    name: String,
    font: FontVec,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Face")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Face {
    /// A face from font file bytes (TrueType, OpenType; `index` picks a face of a
    /// collection, 0 otherwise).
    pub fn from_bytes(name: impl Into<String>, data: Vec<u8>, index: u32) -> Result<Face, Error> {
        let name = name.into();
        let font = FontVec::try_from_vec_and_index(data, index)
            .map_err(|e| Error::Font(format!("{name}: {e}")))?;
        Ok(Face { name, font })
    }

    /// A face read from a font file.
    pub fn from_file(name: impl Into<String>, path: &Path, index: u32) -> Result<Face, Error> {
        let name = name.into();
        let data = std::fs::read(path)
            .map_err(|e| Error::Font(format!("{name}: reading {}: {e}", path.display())))?;
        Face::from_bytes(name, data, index)
    }

    /// The name given when loading.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn font(&self) -> &FontVec {
        &self.font
    }

    /// The glyph for `ch`, if the face has one.
    pub(crate) fn glyph(&self, ch: char) -> Option<GlyphId> {
        let id = self.font.glyph_id(ch);
        (id.0 != 0).then_some(id)
    }
}

/// Faces in order of preference: the first is the main text face (its metrics set the
/// line height and tab stops), the rest are fallbacks for characters it lacks (a CJK
/// face after a Latin one).
#[derive(Debug)]
pub struct FontSet {
    faces: Vec<Face>,
}

impl FontSet {
    /// Fails when `faces` is empty.
    pub fn new(faces: Vec<Face>) -> Result<FontSet, Error> {
        if faces.is_empty() {
            return Err(Error::Font("no font faces given".into()));
        }
        Ok(FontSet { faces })
    }

    /// The faces in order of preference.
    pub fn faces(&self) -> &[Face] {
        &self.faces
    }

    /// The first face with a glyph for `ch`: (face index, glyph).
    pub(crate) fn lookup(&self, ch: char) -> Option<(usize, GlyphId)> {
        self.faces
            .iter()
            .enumerate()
            .find_map(|(index, face)| face.glyph(ch).map(|glyph| (index, glyph)))
    }
}
