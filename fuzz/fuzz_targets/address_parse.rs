//! The Subject grammar, dial plan and policy on arbitrary text; the first byte chooses
//! the server's settings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| faxgate_fuzz::address::check_address_parse(input));
