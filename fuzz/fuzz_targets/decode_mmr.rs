//! The MMR decoder on arbitrary data; the first bytes choose width, rows and options.
#![no_main]

use fax_t4::Scheme;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| faxgate_fuzz::t4::check_decode(Scheme::Mmr, input));
