//! Replays the saved inputs of the fax-t38 fuzz targets (seed corpora and crash
//! regressions) on stable Rust, through the same checks the cargo-fuzz targets run.

// Not every helper of the shared file (seed builders) is used here.
#[allow(dead_code)]
#[path = "../../../fuzz/src/t38.rs"]
mod fuzz_t38;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

fn replay_all(target: &str, check: fn(&[u8])) {
    replay::replay_all(&replay::fuzz_dir(env!("CARGO_MANIFEST_DIR")), target, check);
}

#[test]
fn ifp_decode_inputs_decode_or_fail_cleanly() {
    replay_all("ifp_decode", fuzz_t38::check_ifp_decode);
}

#[test]
fn udptl_receive_inputs_keep_sequence_and_content() {
    replay_all("udptl_receive", fuzz_t38::check_udptl_receive);
}
