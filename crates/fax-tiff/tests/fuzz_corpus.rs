//! Replays the saved inputs of the `tiff_read` fuzz target (seed corpus and crash
//! regressions) on stable Rust, through the same checks the target runs.

use std::path::{Path, PathBuf};

#[path = "../../../fuzz/src/tiff.rs"]
mod fuzz_tiff;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file under `fuzz/{corpus,regressions}/tiff_read/`, sorted.
fn saved_inputs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(fuzz_dir().join(kind).join("tiff_read")).ok())
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

#[test]
fn tiff_inputs_parse_and_decode_within_limits() {
    let inputs = saved_inputs();
    assert!(
        !inputs.is_empty(),
        "no tiff_read corpus under {}",
        fuzz_dir().display()
    );
    let mut failures = Vec::new();
    for path in &inputs {
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let input = input.as_slice();
        if std::panic::catch_unwind(move || fuzz_tiff::check_tiff(input)).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "failed inputs:\n{}",
        failures.join("\n")
    );
}
