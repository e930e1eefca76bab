//! The TIFF reader on arbitrary files: parse with the default limits, decode every page.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| faxgate_fuzz::tiff::check_tiff(input));
