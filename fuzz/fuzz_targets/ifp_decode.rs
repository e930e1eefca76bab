//! The IFP packet decoder on arbitrary bytes; the first byte chooses the T.38 version.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| faxgate_fuzz::t38::check_ifp_decode(input));
