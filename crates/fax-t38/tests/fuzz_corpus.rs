//! Replays the saved inputs of the fax-t38 fuzz targets (seed corpora and crash
//! regressions) on stable Rust, through the same checks the cargo-fuzz targets run.

use std::path::{Path, PathBuf};

// Not every helper of the shared file (seed builders) is used here.
#[allow(dead_code)]
#[path = "../../../fuzz/src/t38.rs"]
mod fuzz_t38;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file under `fuzz/{corpus,regressions}/<target>/`, sorted so failures name the
/// same file every run.
fn saved_inputs(target: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(fuzz_dir().join(kind).join(target)).ok())
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

/// Runs `check` on every saved input of `target` and names the files that fail.
fn replay_all(target: &str, check: fn(&[u8])) {
    let inputs = saved_inputs(target);
    assert!(
        !inputs.is_empty(),
        "no {target} corpus under {}",
        fuzz_dir().display()
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

#[test]
fn ifp_decode_inputs_decode_or_fail_cleanly() {
    replay_all("ifp_decode", fuzz_t38::check_ifp_decode);
}

#[test]
fn udptl_receive_inputs_keep_sequence_and_content() {
    replay_all("udptl_receive", fuzz_t38::check_udptl_receive);
}
