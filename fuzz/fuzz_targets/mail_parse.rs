//! A raw message through the intake (MIME, encoded words, recipients, loop and sender
//! checks) and the problem receipt; the first byte chooses the intake settings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| faxgate_fuzz::mail::check_mail_parse(input));
