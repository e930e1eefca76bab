//! An arbitrary small page through every scheme and option set and back, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| faxgate_fuzz::t4::check_roundtrip(input));
