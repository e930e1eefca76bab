//! T.30 frame parsing and both engines driven by arbitrary events.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| faxgate_fuzz::t30::check_t30_frames(input));
