//! Writes the seed inputs of the fax-t4 fuzz targets: slices of the CCITT charts coded by
//! our encoder with each scheme and option set, behind the header the targets expect.
//!
//! ```text
//! cargo run -p fax-t4 --example t4_fuzz_seeds [-- OUT_DIR]    # default: fuzz/corpus
//! ```
//!
//! Seeds only need to reach the interesting code paths; `cargo fuzz cmin` prunes them.

use std::path::{Path, PathBuf};

use fax_t4::{Bitmap, EncodeOptions, KFactor, Resolution, Scheme};

#[allow(dead_code)]
#[path = "../../../fuzz/src/t4.rs"]
mod fuzz_t4;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(name: &str) -> Result<Bitmap, Box<dyn std::error::Error>> {
    let path = repo_root().join("testdata").join(name);
    let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(fax_t4::pbm::read(&data, Resolution::FINE)?)
}

/// Rows `first..first + count` of `page`, columns `0..width`.
fn crop(page: &Bitmap, first: u32, count: u32, width: u32) -> Result<Bitmap, fax_t4::Error> {
    let mut out = Bitmap::new(width, count, page.resolution())?;
    for y in 0..count {
        for x in 0..width {
            out.set(x, y, page.get(x, first + y));
        }
    }
    Ok(out)
}

struct Writer {
    dir: PathBuf,
    files: usize,
    bytes: usize,
}

impl Writer {
    fn put(&mut self, target: &str, name: &str, data: &[u8]) -> std::io::Result<()> {
        let dir = self.dir.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), data)?;
        self.files += 1;
        self.bytes += data.len();
        Ok(())
    }
}

fn scheme_name(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Mh => "mh",
        Scheme::Mr {
            k: KFactor::Unlimited,
        } => "mr-kinf",
        Scheme::Mr {
            k: KFactor::Every(k),
        } if k.get() == 2 => "mr-k2",
        Scheme::Mr { .. } => "mr-k4",
        Scheme::Mmr => "mmr",
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("fuzz/corpus"));
    let mut out = Writer {
        dir,
        files: 0,
        bytes: 0,
    };

    let chart1 = load("ccitt/ccitt1.pbm")?;
    let chart2 = load("ccitt/ccitt2.pbm")?;
    let chart8 = load("ccitt/ccitt8.pbm")?;
    let dither = load("docs/stress-dither_poppler-mono_1728x2292.pbm")?;

    // Full-width slices: typed text, line drawing, the inverted block, dithering.
    let slices = [
        ("ccitt1-text", crop(&chart1, 1140, 12, 1728)?),
        ("ccitt2-drawing", crop(&chart2, 900, 12, 1728)?),
        ("ccitt8-inverted", crop(&chart8, 1900, 6, 1728)?),
        ("dither", crop(&dither, 1000, 3, 1728)?),
    ];
    let line_min_bits = 1728 / 10; // 10 ms scan line time at 17 280 bit/s, roughly
    for (name, slice) in &slices {
        let rows = Some(slice.height() as u16);
        for scheme in fuzz_t4::ALL_SCHEMES {
            let target = match scheme {
                Scheme::Mh => "decode_mh",
                Scheme::Mr { .. } => "decode_mr",
                Scheme::Mmr => "decode_mmr",
            };
            let mut sets = vec![
                ("tiff", EncodeOptions::tiff(scheme), rows),
                ("line", EncodeOptions::line(scheme, line_min_bits), None),
            ];
            if scheme == Scheme::Mh {
                let no_eol = EncodeOptions {
                    eol: false,
                    ..EncodeOptions::tiff(scheme)
                };
                sets.push(("noeol", no_eol, rows));
            }
            if matches!(
                scheme,
                Scheme::Mr {
                    k: KFactor::Unlimited
                }
            ) {
                let aligned = EncodeOptions {
                    byte_align_eol: true,
                    end_of_page: true,
                    ..EncodeOptions::tiff(scheme)
                };
                sets.push(("aligned", aligned, None));
            }
            for (set_name, options, rows) in sets {
                let eol = options.eol && scheme != Scheme::Mmr;
                let mut input = fuzz_t4::decode_header(eol, rows).to_vec();
                input.extend_from_slice(&fax_t4::encode(slice, &options));
                let file = format!("{name}-{}-{set_name}", scheme_name(scheme));
                out.put(target, &file, &input)?;

                // The same with a burst of damage in the middle, for the resync paths.
                let middle =
                    fuzz_t4::DECODE_HEADER_LEN + (input.len() - fuzz_t4::DECODE_HEADER_LEN) / 2;
                for b in input.iter_mut().skip(middle).take(3) {
                    *b ^= 0x5a;
                }
                out.put(target, &format!("{file}-damaged"), &input)?;
            }
        }
    }

    // Small pages for the round trip: text, the inverted block, dithering, a narrow
    // column, and a page of one odd width.
    let pages = [
        ("ccitt1-text", crop(&chart1, 1140, 16, 256)?),
        ("ccitt8-inverted", crop(&chart8, 1900, 4, 1728)?),
        ("dither", crop(&dither, 1000, 16, 200)?),
        ("ccitt2-narrow", crop(&chart2, 900, 24, 13)?),
        ("ccitt1-odd-width", crop(&chart1, 1140, 8, 1001)?),
    ];
    for (name, page) in &pages {
        let input = fuzz_t4::RoundtripCase::input_for(page, line_min_bits);
        out.put("roundtrip", name, &input)?;
    }

    println!(
        "wrote {} seeds, {} bytes, under {}",
        out.files,
        out.bytes,
        out.dir.display()
    );
    Ok(())
}
