//! Content-addressed files: raw mails, original documents, rendered TIFFs.
//!
//! A blob lives at `DIR/ab/cdef...` where `abcdef...` is the SHA-256 of its content, so
//! storing the same document twice costs nothing and a reference can be checked. A
//! blob is written to a temporary file, flushed to disk, renamed into place and the
//! directory flushed too: after a crash a blob is either complete or absent, and a
//! database row that names it is only written after `put` returned.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::model::BlobRef;

/// The blob directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

impl BlobStore {
    /// Opens (and creates if missing) the blob directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<BlobStore, Error> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_error(format!("creating {}", dir.display())))?;
        Ok(BlobStore { dir })
    }

    /// Where the blob `blob` is (or would be) stored.
    pub fn path(&self, blob: &BlobRef) -> PathBuf {
        let (fan, rest) = blob.as_str().split_at(2);
        self.dir.join(fan).join(rest)
    }

    /// Stores `content` durably and returns its reference.
    pub fn put(&self, content: &[u8]) -> Result<BlobRef, Error> {
        let blob = BlobRef::of(content);
        let path = self.path(&blob);
        if path.exists() {
            return Ok(blob);
        }
        let fan_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.dir.clone());
        fs::create_dir_all(&fan_dir)
            .map_err(io_error(format!("creating {}", fan_dir.display())))?;
        // The process id keeps two processes that store the same blob from sharing a
        // temporary file; the rename makes whichever finishes last win with equal bytes.
        let temp = fan_dir.join(format!(".{}.{}.tmp", blob.as_str(), std::process::id()));
        let written = (|| {
            let mut file = fs::File::create(&temp)?;
            file.write_all(content)?;
            file.sync_all()?;
            fs::rename(&temp, &path)?;
            sync_dir(&fan_dir)?;
            sync_dir(&self.dir)
        })();
        if let Err(source) = written {
            let _ = fs::remove_file(&temp);
            return Err(Error::Io {
                context: format!("writing {}", path.display()),
                source,
            });
        }
        Ok(blob)
    }

    /// Reads a blob back, checking that its content still matches its name.
    pub fn get(&self, blob: &BlobRef) -> Result<Vec<u8>, Error> {
        let path = self.path(blob);
        let content = fs::read(&path).map_err(io_error(format!("reading {}", path.display())))?;
        if BlobRef::of(&content) != *blob {
            return Err(Error::Corrupt(format!(
                "blob {} does not match its content",
                path.display()
            )));
        }
        Ok(content)
    }
}

/// Flushes a directory's entries, so a rename in it survives a power cut.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_get_round_trips_and_detects_damage() {
        let dir = std::env::temp_dir().join(format!("fax-queue-blob-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = BlobStore::open(&dir).expect("opens");
        let blob = store.put(b"page one").expect("stores");
        assert_eq!(store.put(b"page one").expect("stores again"), blob);
        assert_eq!(store.get(&blob).expect("reads"), b"page one");
        let leftovers: Vec<_> = fs::read_dir(store.path(&blob).parent().expect("fan dir"))
            .expect("lists")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        fs::write(store.path(&blob), b"tampered").expect("overwrites");
        assert!(matches!(store.get(&blob), Err(Error::Corrupt(_))));
        let _ = fs::remove_dir_all(&dir);
    }
}
