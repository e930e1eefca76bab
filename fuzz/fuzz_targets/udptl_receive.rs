//! The UDPTL receiver on arbitrary datagrams, and behind our sender over a lossy link.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| faxgate_fuzz::t38::check_udptl_receive(input));
