//! Replays the saved inputs of the `tiff_read` fuzz target (seed corpus and crash
//! regressions) on stable Rust, through the same checks the target runs.

#[path = "../../../fuzz/src/tiff.rs"]
mod fuzz_tiff;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn tiff_inputs_parse_and_decode_within_limits() {
    let fuzz = replay::fuzz_dir(env!("CARGO_MANIFEST_DIR"));
    replay::replay_all(&fuzz, "tiff_read", fuzz_tiff::check_tiff);
}
