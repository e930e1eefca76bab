//! Replays the saved inputs of the `address_parse` fuzz target (seed corpus and crash
//! regressions) on stable Rust, through the same check the cargo-fuzz target runs, and
//! runs that check on the subjects of the addressing specification under every fuzz
//! setting.

#[path = "../../../fuzz/src/address.rs"]
mod fuzz_address;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn address_parse_inputs_parse_within_bound_and_read_back() {
    let fuzz = replay::fuzz_dir(env!("CARGO_MANIFEST_DIR"));
    replay::replay_all(&fuzz, "address_parse", fuzz_address::check_address_parse);
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
