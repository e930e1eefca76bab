//! Replaying saved fuzz inputs under `cargo test`: the seed corpora and crash
//! regressions of a target, each run through the target's check, with the failing files
//! named. Included by path from the libraries' `tests/fuzz_corpus.rs`; `std` only.

use std::path::{Path, PathBuf};

/// The repository's `fuzz/` directory, from a crate's manifest directory.
pub fn fuzz_dir(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir).join("../../fuzz")
}

/// Every file under `fuzz/{corpus,regressions}/<target>/`, sorted so failures name the
/// same file every run.
pub fn saved_inputs(fuzz_dir: &Path, target: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(fuzz_dir.join(kind).join(target)).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("README.md"))
        })
        .collect();
    files.sort();
    files
}

/// Runs `check` on every saved input of `target` (there must be some) and fails naming
/// every file whose check panicked.
pub fn replay_all(fuzz_dir: &Path, target: &str, check: fn(&[u8])) {
    let inputs = saved_inputs(fuzz_dir, target);
    assert!(
        !inputs.is_empty(),
        "no {target} corpus under {}",
        fuzz_dir.display()
    );
    let mut failures = Vec::new();
    for path in &inputs {
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let input = input.as_slice();
        if std::panic::catch_unwind(move || check(input)).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "failed inputs:\n{}",
        failures.join("\n")
    );
}
