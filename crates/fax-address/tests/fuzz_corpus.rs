//! Replays the saved inputs of the `address_parse` fuzz target (seed corpus and crash
//! regressions) on stable Rust, through the same check the cargo-fuzz target runs, and
//! runs that check on the subjects of the addressing specification under every fuzz
//! setting.

use std::path::{Path, PathBuf};

#[path = "../../../fuzz/src/address.rs"]
mod fuzz_address;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file under `fuzz/{corpus,regressions}/address_parse/`, sorted so failures name
/// the same file every run.
fn saved_inputs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(fuzz_dir().join(kind).join("address_parse")).ok())
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
fn address_parse_inputs_parse_within_bound_and_read_back() {
    let inputs = saved_inputs();
    assert!(
        !inputs.is_empty(),
        "no address_parse corpus under {}",
        fuzz_dir().display()
    );
    let mut failures = Vec::new();
    for path in &inputs {
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let input = input.as_slice();
        if std::panic::catch_unwind(move || fuzz_address::check_address_parse(input)).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "failed inputs:\n{}",
        failures.join("\n")
    );
}

/// The subjects of the addressing specification, good and bad.
const SPECIFICATION_SUBJECTS: [&str; 20] = [
    "86-755-83235170/金恒科技",
    "755-83235170/金恒科技",
    "83235170/金恒科技",
    "83235170",
    "86-755-83235170/金恒科技; 86-755-83235180/傲发科技",
    "10-666666/张三;20-777777/李四;86-755-888888/王五",
    "852-0-999999",
    "0-0-123",
    "86-755-83235170|AF90000098/金恒科技|张三",
    "86-755-83235170|AF90000098/金恒科技",
    "86-755-83235170 /金恒科技|张三",
    "83235170|AF90000098/金恒科技",
    "AF90000098/金恒科技",
    "AF90000098",
    "075583235170",
    "",
    "755-8323A170",
    "86-755-/x",
    "86-755-83235170|AF9000009",
    "８６－７５５－８３２３５１７０｜ａｆ９０００００９８／金恒科技｜张三；；",
];

#[test]
fn specification_subjects_pass_the_fuzz_check_under_every_setting() {
    for selector in 0..4 {
        for subject in SPECIFICATION_SUBJECTS {
            fuzz_address::check_address_parse(&fuzz_address::seed(selector, subject));
        }
    }
}
