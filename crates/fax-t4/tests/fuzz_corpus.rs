//! Replays the saved fuzz inputs (seed corpora and crash regressions) on stable Rust,
//! through the same checks the cargo-fuzz targets run.

use std::path::{Path, PathBuf};

// Not every helper of the shared file (seed builders) is used here.
#[allow(dead_code)]
#[path = "../../../fuzz/src/t4.rs"]
mod fuzz_t4;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file under `fuzz/{corpus,regressions}/<target>/` for targets whose name starts
/// with `prefix`, sorted so failures name the same file every run.
fn saved_inputs(prefix: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(targets) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for target in targets.flatten() {
            if !target.file_name().to_string_lossy().starts_with(prefix) {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(target.path()) else {
                continue;
            };
            files.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file() && !is_readme(p)),
            );
        }
    }
    files.sort();
    files
}

fn is_readme(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("README.md"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `check` on `input`, turning a panic into a message that names the file.
fn replay(
    path: &Path,
    what: &str,
    check: impl FnOnce() + std::panic::UnwindSafe,
) -> Option<String> {
    std::panic::catch_unwind(check)
        .err()
        .map(|_| format!("{} ({what})", path.display()))
}

#[test]
fn decode_inputs_pass_every_decoder() {
    let inputs = saved_inputs("decode_");
    assert!(
        !inputs.is_empty(),
        "no decode corpus under {}",
        fuzz_dir().display()
    );
    let mut failures = Vec::new();
    for path in &inputs {
        let input = read(path);
        for scheme in fuzz_t4::DECODE_SCHEMES {
            let input = input.as_slice();
            failures.extend(replay(path, &format!("{scheme:?}"), move || {
                fuzz_t4::check_decode(scheme, input)
            }));
        }
    }
    assert!(
        failures.is_empty(),
        "failed inputs:\n{}",
        failures.join("\n")
    );
}

#[test]
fn roundtrip_inputs_come_back_unchanged() {
    let inputs = saved_inputs("roundtrip");
    assert!(
        !inputs.is_empty(),
        "no round-trip corpus under {}",
        fuzz_dir().display()
    );
    let mut failures = Vec::new();
    for path in &inputs {
        let input = read(path);
        let input = input.as_slice();
        failures.extend(replay(path, "roundtrip", move || {
            fuzz_t4::check_roundtrip(input)
        }));
    }
    assert!(
        failures.is_empty(),
        "failed inputs:\n{}",
        failures.join("\n")
    );
}

#[test]
fn seed_headers_mean_what_they_say() {
    let header = fuzz_t4::decode_header(true, Some(40));
    let case = fuzz_t4::DecodeCase::from_input(fax_t4::Scheme::Mh, &header);
    assert_eq!(case.options.width, 1728);
    assert_eq!(case.options.rows, Some(40));
    assert!(case.options.eol);
    assert!(case.data.is_empty());

    let mut page = fax_t4::Bitmap::new(300, 7, fax_t4::Resolution::FINE).expect("valid size");
    page.set(299, 6, true);
    let input = fuzz_t4::RoundtripCase::input_for(&page, 160);
    let case = fuzz_t4::RoundtripCase::from_input(&input);
    assert_eq!(case.bitmap, page);
    assert_eq!(case.min_bits_per_line, 160);
}
