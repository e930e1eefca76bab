//! Replays the saved inputs of the `t30_frames` fuzz target on stable Rust, through the
//! same checks the cargo-fuzz target runs, plus a seed built here.

use std::path::{Path, PathBuf};

#[path = "../../../fuzz/src/t30.rs"]
mod fuzz_t30;

fn saved_inputs() -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(fuzz.join(kind).join("t30_frames")).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn saved_t30_inputs_replay_cleanly() {
    let inputs = saved_inputs();
    assert!(!inputs.is_empty(), "no t30_frames corpus");
    for path in inputs {
        let input = std::fs::read(&path).expect("readable");
        fuzz_t30::check_t30_frames(&input);
    }
}

#[test]
fn the_seed_drives_a_receiver_through_a_page() {
    let seed = fuzz_t30::receiver_seed();
    fuzz_t30::check_t30_frames(&seed);
}
