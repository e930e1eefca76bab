//! Temporary directories for tests.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// A directory of its own for one test, removed when dropped unless the test is failing
/// (then it is kept, and its path printed, for a look at what was sent and received).
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh, empty directory named for the test and this process.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("faxgate-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("creating a temporary directory");
        Scratch(dir)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// A file in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}
