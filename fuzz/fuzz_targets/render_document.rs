//! Image, greyscale raster and text-encoding paths of the document renderer on
//! arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| faxgate_fuzz::render::check_render(input));
