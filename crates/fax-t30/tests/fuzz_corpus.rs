//! Replays the saved inputs of the `t30_frames` fuzz target on stable Rust, through the
//! same checks the cargo-fuzz target runs, plus a seed built here.

#[path = "../../../fuzz/src/t30.rs"]
mod fuzz_t30;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn saved_t30_inputs_replay_cleanly() {
    let fuzz = replay::fuzz_dir(env!("CARGO_MANIFEST_DIR"));
    replay::replay_all(&fuzz, "t30_frames", fuzz_t30::check_t30_frames);
}

#[test]
fn the_seed_drives_a_receiver_through_a_page() {
    let seed = fuzz_t30::receiver_seed();
    fuzz_t30::check_t30_frames(&seed);
}
