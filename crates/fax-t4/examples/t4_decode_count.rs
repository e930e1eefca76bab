//! Decodes pages once per scheme, for instruction counts under callgrind: repeatable on a
//! loaded machine where wall time is not.
//!
//! ```text
//! t4_decode_count [--scheme mh|mr|mmr] [--repeat N] PAGE.pbm...
//! valgrind --tool=callgrind --toggle-collect='fax_t4::decode::decode' \
//!     target/release/examples/t4_decode_count --scheme mmr testdata/ccitt/ccitt1.pbm
//! ```
//!
//! Each page is encoded as TIFF Class F holds it, then decoded once (or N times, for a
//! sampling profiler such as `perf record`) and checked against the original, so only
//! `fax_t4::decode` runs inside the toggled function.

use std::hint::black_box;

use fax_t4::{DecodeOptions, EncodeOptions, KFactor, Resolution, Scheme};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut schemes = vec![Scheme::Mh, Scheme::Mr { k: KFactor::K4 }, Scheme::Mmr];
    let mut repeat = 1u32;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scheme" => {
                schemes = match args.next().as_deref() {
                    Some("mh") => vec![Scheme::Mh],
                    Some("mr") => vec![Scheme::Mr { k: KFactor::K4 }],
                    Some("mmr") => vec![Scheme::Mmr],
                    _ => return Err("--scheme takes mh, mr or mmr".into()),
                }
            }
            "--repeat" => repeat = args.next().ok_or("--repeat needs a value")?.parse()?,
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        return Err("usage: t4_decode_count [--scheme mh|mr|mmr] [--repeat N] PAGE.pbm...".into());
    }
    for file in &files {
        let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let page =
            fax_t4::pbm::read(&data, Resolution::FINE).map_err(|e| format!("{file}: {e}"))?;
        for &scheme in &schemes {
            let coded = fax_t4::encode(&page, &EncodeOptions::tiff(scheme));
            let mut options = DecodeOptions::new(scheme, page.width());
            options.rows = Some(page.height());
            let decoded = fax_t4::decode(black_box(&coded), &options)?;
            for _ in 1..repeat {
                black_box(fax_t4::decode(black_box(&coded), &options)?);
            }
            if decoded.bitmap != page || decoded.bad_rows != 0 {
                return Err(format!("{file} {scheme:?}: round trip changed the page").into());
            }
        }
    }
    Ok(())
}
