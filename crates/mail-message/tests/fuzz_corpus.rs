//! Replays the saved inputs of the `mail_parse` fuzz target (seed corpus and crash
//! regressions) on stable Rust, through the same check the cargo-fuzz target runs.

#[path = "../../../fuzz/src/mail.rs"]
mod fuzz_mail;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn mail_parse_inputs_get_verdicts_and_receipts_that_are_never_answered() {
    let fuzz = replay::fuzz_dir(env!("CARGO_MANIFEST_DIR"));
    replay::replay_all(&fuzz, "mail_parse", fuzz_mail::check_mail_parse);
}
