//! Files libtiff's `fax2tiff` makes from raw fax data (as it comes off a phone line:
//! EOLs, RTC, first bit in the least significant position) decode with our reader to
//! exactly what libtiff decodes from them, and that is the page that went in (fax2tiff
//! keeps the RTC's empty lines as a few white rows at the bottom): G3 1-D and 2-D input,
//! G3 2-D (EOL-aligned) and G4 output.
//!
//! Needs libtiff-tools and netpbm, which `scripts/test` installs; without them the test
//! fails.

mod common;

use std::process::Command;

use common::pages::repo_path;
use common::scratch::Scratch;
use fax_t4::{EncodeOptions, KFactor, Resolution, Scheme};

#[test]
fn fax2tiff_output_decodes_to_the_pixels_sent() {
    let scratch = Scratch::new("fax2tiff");
    let chart = std::fs::read(repo_path("testdata/ccitt/ccitt5.pbm")).expect("chart");
    let page = fax_t4::pbm::read(&chart, Resolution::FINE).expect("pbm");
    for (input_flag, scheme) in [("-1", Scheme::Mh), ("-2", Scheme::Mr { k: KFactor::K4 })] {
        let mut raw = fax_t4::encode(&page, &EncodeOptions::line(scheme, 0));
        fax_t4::bits::reverse_bits_in_place(&mut raw);
        let raw_path = scratch.path("page.raw");
        std::fs::write(&raw_path, &raw).expect("write raw");
        for output_flag in ["-7", "-8"] {
            let out = scratch.path(&format!("fax2tiff{input_flag}{output_flag}.tif"));
            let status = Command::new("fax2tiff")
                .args([
                    input_flag,
                    "-L",
                    output_flag,
                    "-R",
                    "196",
                    "-X",
                    "1728",
                    "-o",
                ])
                .arg(&out)
                .arg(&raw_path)
                .output()
                .unwrap_or_else(|e| panic!("fax2tiff not runnable ({e}): run scripts/test"));
            assert!(
                status.status.success(),
                "fax2tiff {input_flag} {output_flag}: {}",
                String::from_utf8_lossy(&status.stderr)
            );
            let data = std::fs::read(&out).expect("fax2tiff wrote a file");
            let reader = fax_tiff::Reader::new(&data).expect("our reader takes fax2tiff's TIFF");
            assert_eq!(reader.page_count(), 1);
            let ours = reader.decode_page(0).expect("decodes");
            let what = format!("fax2tiff {input_flag} {output_flag}");
            assert_eq!(ours.bad_rows, 0, "{what}");
            // libtiff's own reading of the same file.
            let pnm = Command::new("tifftopnm")
                .arg(&out)
                .output()
                .unwrap_or_else(|e| panic!("tifftopnm not runnable ({e}): run scripts/test"));
            assert!(pnm.status.success(), "tifftopnm on {what}");
            let libtiff = fax_t4::pbm::read(&pnm.stdout, Resolution::FINE).expect("tifftopnm PBM");
            assert_eq!(
                (ours.bitmap.width(), ours.bitmap.height()),
                (libtiff.width(), libtiff.height()),
                "{what}: size"
            );
            assert!(
                ours.bitmap.packed() == libtiff.packed(),
                "{what}: our pixels differ from libtiff's"
            );
            // And that is the chart, plus at most the RTC's few white rows.
            let extra = ours.bitmap.height() - page.height();
            assert!(extra <= 6, "{what}: {extra} extra rows");
            let stride = page.stride();
            let (top, bottom) = ours.bitmap.packed().split_at(page.packed().len());
            assert!(top == page.packed(), "{what}: pixels differ from the chart");
            assert!(
                bottom.iter().all(|&b| b == 0),
                "{what}: extra rows not white"
            );
            assert_eq!(bottom.len(), extra as usize * stride);
        }
    }
}
