//! Times our codec the way `bench/libtiff_codec_bench.c` times libtiff, for
//! `scripts/bench-vs-libtiff`: each page coded as TIFF Class F holds it (MH and MR K=4
//! with an EOL before every row and no fill, MMR with EOFB), in memory.
//!
//! ```text
//! codec_bench [--iters N] [--reps R] PAGE.pbm...
//! ```
//!
//! Prints one tab-separated line per page and scheme:
//! `page scheme coded_bytes fnv1a64_of_coded encode_ns decode_ns`, where the times are
//! per page, the best of R repetitions of N runs each.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use fax_t4::{DecodeOptions, EncodeOptions, KFactor, Resolution, Scheme};

const SCHEMES: [(&str, Scheme); 3] = [
    ("mh", Scheme::Mh),
    ("mr", Scheme::Mr { k: KFactor::K4 }),
    ("mmr", Scheme::Mmr),
];

/// FNV-1a, 64 bit: a checksum both this program and the C one compute, to tell whether
/// the coded bytes are identical.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Time per run of `f`, the best of `reps` repetitions of `iters` runs.
fn best_of<T>(reps: u32, iters: u32, mut f: impl FnMut() -> T) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..reps {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        best = best.min(start.elapsed() / iters);
    }
    best
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut iters = 10;
    let mut reps = 5;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--iters" => iters = args.next().ok_or("--iters needs a value")?.parse()?,
            "--reps" => reps = args.next().ok_or("--reps needs a value")?.parse()?,
            _ => files.push(arg),
        }
    }
    if files.is_empty() || iters == 0 || reps == 0 {
        return Err("usage: codec_bench [--iters N] [--reps R] PAGE.pbm...".into());
    }

    for file in &files {
        let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let page =
            fax_t4::pbm::read(&data, Resolution::FINE).map_err(|e| format!("{file}: {e}"))?;
        let name = Path::new(file)
            .file_stem()
            .map_or_else(|| file.clone(), |s| s.to_string_lossy().into_owned());
        for (scheme_name, scheme) in SCHEMES {
            let options = EncodeOptions::tiff(scheme);
            let coded = fax_t4::encode(&page, &options);
            let mut decode_options = DecodeOptions::new(scheme, page.width());
            decode_options.rows = Some(page.height());
            let decoded = fax_t4::decode(&coded, &decode_options)?;
            if decoded.bitmap != page || decoded.bad_rows != 0 {
                return Err(format!("{name} {scheme_name}: round trip changed the page").into());
            }

            let encode_time = best_of(reps, iters, || fax_t4::encode(black_box(&page), &options));
            let decode_time = best_of(reps, iters, || {
                fax_t4::decode(black_box(&coded), &decode_options)
            });
            println!(
                "{name}\t{scheme_name}\t{}\t{:016x}\t{}\t{}",
                coded.len(),
                fnv1a64(&coded),
                encode_time.as_nanos(),
                decode_time.as_nanos()
            );
        }
    }
    Ok(())
}
